"""The condition language: three-valued logic, operators, explanations, parse errors.

Every case is evaluated twice: by the three-valued evaluator (`compile_evaluator`
and `explain`) and by durable_rules through the compiled JSON form, which must
fire exactly when the evaluator says true.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from conftest import BACKENDS
from roprules.evaluation.backends import CompiledRule, ScopeEngine, make_scope_engine
from roprules.rulebase.conditions import (
    ConditionError,
    compile_evaluator,
    compile_undetermined,
    compile_used,
    compile_used_known,
    evaluate_leaf,
    explain,
    leaves,
    parse_condition,
    undetermined_by,
)

PARAMS = {"young_age_limit": 30, "max_heavy_users_together": 2}

# Two independent leaves, each made true, false or unknown by its own fact.
A = {"resident.dementia": {"eq": True}}
B = {"resident.uses_wheelchair": {"eq": True}}
TRUTHS = (True, False, None)


def facts_for(a: bool | None, b: bool | None) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if a is not None:
        facts["resident.dementia"] = a
    if b is not None:
        facts["resident.uses_wheelchair"] = b
    return facts


def kleene_and(x: bool | None, y: bool | None) -> bool | None:
    if x is False or y is False:
        return False
    if x is None or y is None:
        return None
    return True


def kleene_or(x: bool | None, y: bool | None) -> bool | None:
    if x is True or y is True:
        return True
    if x is None or y is None:
        return None
    return False


def kleene_not(x: bool | None) -> bool | None:
    return None if x is None else not x


def evaluate(data: Any, facts: dict[str, Any], params: dict[str, Any] = PARAMS) -> bool | None:
    node = parse_condition(data, "when", params)
    fast = compile_evaluator(node, params)(facts)
    reference = explain(node, facts, params)
    slow = reference.value
    assert fast is slow, f"compiled evaluator {fast} but explain {slow}"
    # the compiled forms of undetermined_by and of explain's facts agree too
    assert compile_undetermined(node, params)(facts) == undetermined_by(node, facts, params)
    used: dict[str, Any] = {}
    compile_used(node, params)(facts, used)
    assert used == reference.used
    if slow is not None:  # with the value known, as for a fired rule's finding
        used = {}
        compile_used_known(node, params, slow)(facts, used)
        assert used == reference.used
    return fast


# --------------------------------------------------------------------------- truth tables


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTHS, TRUTHS)))
def test_all_is_kleene_and(a, b):
    assert evaluate({"all": [A, B]}, facts_for(a, b)) is kleene_and(a, b)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTHS, TRUTHS)))
def test_any_is_kleene_or(a, b):
    assert evaluate({"any": [A, B]}, facts_for(a, b)) is kleene_or(a, b)


@pytest.mark.parametrize("a", TRUTHS)
def test_not_swaps_and_keeps_unknown(a):
    assert evaluate({"not": A}, facts_for(a, None)) is kleene_not(a)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTHS, TRUTHS)))
def test_nested_de_morgan(a, b):
    # not(all[A, B]) == any[not A, not B] in Kleene logic, too.
    facts = facts_for(a, b)
    left = evaluate({"not": {"all": [A, B]}}, facts)
    right = evaluate({"any": [{"not": A}, {"not": B}]}, facts)
    assert left is right is kleene_not(kleene_and(a, b))


def test_three_part_all_false_wins_over_unknown():
    c = {"offer.staffing": {"eq": "none"}}
    facts = {"resident.dementia": True, "offer.staffing": "daytime"}  # B unknown, C false
    assert evaluate({"all": [A, B, c]}, facts) is False
    assert evaluate({"any": [A, B, c]}, facts) is True


# --------------------------------------------------------------------------- operators

# (condition, facts that make it true, facts that make it false); {} makes it unknown.
OPERATOR_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "eq-enum": (
        {"offer.staffing": {"eq": "ambulant"}},
        {"offer.staffing": "ambulant"},
        {"offer.staffing": "daytime"},
    ),
    "eq-bool-false": (
        {"resident.dementia": {"eq": False}},
        {"resident.dementia": False},
        {"resident.dementia": True},
    ),
    "eq-number": (
        {"resident.age": {"eq": 40}},
        {"resident.age": 40},
        {"resident.age": 41},
    ),
    "ne-enum": (
        {"offer.staffing": {"ne": "round_the_clock"}},
        {"offer.staffing": "none"},
        {"offer.staffing": "round_the_clock"},
    ),
    "ne-bool": (
        {"offer.shielded_unit": {"ne": True}},
        {"offer.shielded_unit": False},
        {"offer.shielded_unit": True},
    ),
    "in": (
        {"offer.type": {"in": ["small_house", "ordinary"]}},
        {"offer.type": "ordinary"},
        {"offer.type": "institution"},
    ),
    "not_in": (
        {"offer.type": {"not_in": ["small_house", "ordinary"]}},
        {"offer.type": "institution"},
        {"offer.type": "small_house"},
    ),
    "lt": ({"resident.age": {"lt": 30}}, {"resident.age": 29}, {"resident.age": 30}),
    "lte": ({"resident.age": {"lte": 30}}, {"resident.age": 30}, {"resident.age": 31}),
    "gt": ({"resident.age": {"gt": 30}}, {"resident.age": 31}, {"resident.age": 30}),
    "gte": ({"resident.age": {"gte": 30}}, {"resident.age": 30}, {"resident.age": 29}),
    "gte-zero-is-known": (
        {"offer.co_residents.dementia": {"gte": 1}},
        {"offer.co_residents.dementia": 1},
        {"offer.co_residents.dementia": 0},
    ),
    "lt-float": (
        {"offer.building.floor_area_m2": {"lt": 40}},
        {"offer.building.floor_area_m2": 36.6},
        {"offer.building.floor_area_m2": 42.0},
    ),
    "contains": (
        {"offer.organisation.staff_competence": {"contains": "rop"}},
        {"offer.organisation.staff_competence": ("dementia", "rop")},
        {"offer.organisation.staff_competence": ("dementia",)},
    ),
    "contains-empty-list": (
        {"offer.organisation.staff_competence": {"contains": "rop"}},
        {"offer.organisation.staff_competence": ("rop",)},
        {"offer.organisation.staff_competence": ()},
    ),
    "not_contains": (
        {"offer.location.hazards": {"not_contains": "railway_shortcut"}},
        {"offer.location.hazards": ("motorway_crossing",)},
        {"offer.location.hazards": ("railway_shortcut", "motorway_crossing")},
    ),
    "is_empty-true": (
        {"offer.location.hazards": {"is_empty": True}},
        {"offer.location.hazards": ()},
        {"offer.location.hazards": ("railway_shortcut",)},
    ),
    "is_empty-false": (
        {"offer.location.hazards": {"is_empty": False}},
        {"offer.location.hazards": ("railway_shortcut",)},
        {"offer.location.hazards": ()},
    ),
    "param": (
        {"resident.age": {"lte": {"param": "young_age_limit"}}},
        {"resident.age": 30},
        {"resident.age": 31},
    ),
    "param-gte-count": (
        {"offer.co_residents.severe_substance_use": {"gte": {"param": "max_heavy_users_together"}}},
        {"offer.co_residents.severe_substance_use": 2},
        {"offer.co_residents.severe_substance_use": 1},
    ),
    "field-enum-ne-enum": (
        {
            "offer.organisation.service_model": {
                "ne": {"field": "offer.organisation.design_concept"}
            }
        },
        {
            "offer.organisation.service_model": "community",
            "offer.organisation.design_concept": "independent_dwellings",
        },
        {
            "offer.organisation.service_model": "community",
            "offer.organisation.design_concept": "community",
        },
    ),
    "field-enum-eq-enum": (
        {
            "offer.organisation.service_model": {
                "eq": {"field": "offer.organisation.design_concept"}
            }
        },
        {
            "offer.organisation.service_model": "independent_dwellings",
            "offer.organisation.design_concept": "independent_dwellings",
        },
        {
            "offer.organisation.service_model": "independent_dwellings",
            "offer.organisation.design_concept": "community",
        },
    ),
    "field-enum-in-list": (
        {"offer.type": {"in": {"field": "resident.preferred_offer_types"}}},
        {"offer.type": "ordinary", "resident.preferred_offer_types": ("small_house", "ordinary")},
        {"offer.type": "institution", "resident.preferred_offer_types": ("small_house",)},
    ),
    "field-enum-not-in-list": (
        {"offer.type": {"not_in": {"field": "resident.preferred_offer_types"}}},
        {"offer.type": "institution", "resident.preferred_offer_types": ("small_house",)},
        {"offer.type": "small_house", "resident.preferred_offer_types": ("small_house",)},
    ),
    "field-enum-in-empty-list": (
        {"offer.type": {"not_in": {"field": "resident.preferred_offer_types"}}},
        {"offer.type": "institution", "resident.preferred_offer_types": ()},
        {"offer.type": "ordinary", "resident.preferred_offer_types": ("ordinary",)},
    ),
    "sum": (
        {
            "sum": ["offer.co_residents.severe_substance_use", "offer.co_residents.dementia"],
            "gte": 3,
        },
        {"offer.co_residents.severe_substance_use": 2, "offer.co_residents.dementia": 1},
        {"offer.co_residents.severe_substance_use": 2, "offer.co_residents.dementia": 0},
    ),
    "sum-param": (
        {
            "sum": ["offer.co_residents.under_30", "offer.co_residents.dementia"],
            "lt": {"param": "max_heavy_users_together"},
        },
        {"offer.co_residents.under_30": 0, "offer.co_residents.dementia": 1},
        {"offer.co_residents.under_30": 1, "offer.co_residents.dementia": 1},
    ),
}


@pytest.fixture(scope="module", params=BACKENDS)
def durable_cases(request: pytest.FixtureRequest) -> ScopeEngine:
    """The operator cases (and their negations) as rules of each backend importable here."""
    rules = []
    for name, (condition, _, _) in OPERATOR_CASES.items():
        rules.append(CompiledRule(name, parse_condition(condition, name, PARAMS)))
        rules.append(CompiledRule(f"not-{name}", parse_condition({"not": condition}, name, PARAMS)))
    return make_scope_engine(request.param, "operators", rules, PARAMS)


@pytest.mark.parametrize("name", list(OPERATOR_CASES))
def test_operator_true_false_unknown(name):
    condition, true_facts, false_facts = OPERATOR_CASES[name]
    assert evaluate(condition, true_facts) is True
    assert evaluate(condition, false_facts) is False
    assert evaluate(condition, {}) is None
    assert evaluate({"not": condition}, true_facts) is False
    assert evaluate({"not": condition}, false_facts) is True
    assert evaluate({"not": condition}, {}) is None


@pytest.mark.parametrize("name", list(OPERATOR_CASES))
def test_operator_unknown_when_any_field_it_reads_is_unknown(name):
    condition, true_facts, false_facts = OPERATOR_CASES[name]
    node = parse_condition(condition, "when", PARAMS)
    for facts in (true_facts, false_facts):
        for path in facts:
            partial = {k: v for k, v in facts.items() if k != path}
            assert evaluate(condition, partial) is None, path
            # null counts as unknown as well as absence
            assert evaluate(condition, {**facts, path: None}) is None, path
    (leaf,) = leaves(node)
    assert set(leaf.fields()) == set(true_facts)


@pytest.mark.parametrize("name", list(OPERATOR_CASES))
def test_durable_fires_exactly_when_true(durable_cases, name):
    _, true_facts, false_facts = OPERATOR_CASES[name]
    for facts, expected in ((true_facts, True), (false_facts, False), ({}, None)):
        fired = durable_cases.fire(facts)
        assert (name in fired) is (expected is True), (facts, fired)
        assert (f"not-{name}" in fired) is (expected is False), (facts, fired)


@pytest.mark.parametrize(
    ("condition", "facts", "expected"),
    [
        ({"offer.staffing": {"is_set": True}}, {"offer.staffing": "none"}, True),
        ({"offer.staffing": {"is_set": True}}, {}, False),
        ({"offer.staffing": {"is_set": True}}, {"offer.staffing": None}, False),
        ({"offer.staffing": {"is_set": False}}, {}, True),
        ({"offer.staffing": {"is_set": False}}, {"offer.staffing": "none"}, False),
        ({"resident.dementia": {"is_set": True}}, {"resident.dementia": False}, True),
        ({"offer.location.hazards": {"is_set": True}}, {"offer.location.hazards": ()}, True),
        ({"offer.location.hazards": {"is_set": False}}, {"offer.location.hazards": ()}, False),
        ({"resident.danger_assessment_date": {"is_set": True}}, {}, False),
        (
            {"resident.danger_assessment_date": {"is_set": True}},
            {"resident.danger_assessment_date": "2025-01-01"},
            True,
        ),
        ({"not": {"resident.age": {"is_set": True}}}, {}, True),
    ],
)
def test_is_set_is_never_unknown(condition, facts, expected):
    assert evaluate(condition, facts) is expected
    rule = CompiledRule("x", parse_condition(condition, "when", PARAMS))
    for backend in BACKENDS:
        engine = make_scope_engine(backend, "is_set", [rule], PARAMS)
        assert ("x" in engine.fire(facts)) is expected, backend


def test_ne_on_unknown_is_unknown_not_true():
    node = parse_condition({"offer.staffing": {"ne": "round_the_clock"}}, "when", PARAMS)
    (leaf,) = leaves(node)
    assert evaluate_leaf(leaf, {}, PARAMS) is None
    assert evaluate_leaf(leaf, {"offer.staffing": None}, PARAMS) is None


def test_booleans_are_not_numbers():
    # True == 1 in Python; a bool leaf must not match a number, nor a number leaf a bool.
    assert evaluate({"resident.dementia": {"eq": True}}, {"resident.dementia": True}) is True
    rule = CompiledRule("age-1", parse_condition({"resident.age": {"lt": 5}}, "when", PARAMS))
    for backend in BACKENDS:
        engine = make_scope_engine(backend, "coercion", [rule], PARAMS)
        assert engine.fire({"resident.age": 4}) == {"age-1"}
        assert engine.fire({"resident.age": 5}) == set()


# --------------------------------------------------------------------------- explain()


def test_explain_unknown_reports_waiting_fields():
    condition = {
        "all": [
            {"resident.violence_risk": {"eq": "high"}},
            {"offer.staffing": {"ne": "round_the_clock"}},
        ]
    }
    node = parse_condition(condition, "when", PARAMS)
    why = explain(node, {"offer.staffing": "ambulant"}, PARAMS)
    assert why.value is None
    assert why.waiting == frozenset({"resident.violence_risk"})
    assert why.used == {"offer.staffing": "ambulant"}  # the known part is reported

    why = explain(node, {}, PARAMS)
    assert why.value is None
    assert why.waiting == frozenset({"resident.violence_risk", "offer.staffing"})


def test_explain_true_reports_used_facts():
    condition = {
        "all": [
            {"resident.violence_risk": {"eq": "high"}},
            {"offer.staffing": {"ne": "round_the_clock"}},
        ]
    }
    node = parse_condition(condition, "when", PARAMS)
    facts = {"resident.violence_risk": "high", "offer.staffing": "ambulant", "resident.age": 40}
    why = explain(node, facts, PARAMS)
    assert why.value is True
    assert why.waiting == frozenset()
    assert why.used == {"resident.violence_risk": "high", "offer.staffing": "ambulant"}


def test_explain_decisive_part_only():
    # all: false decided by one part, even while another part is unknown
    node = parse_condition({"all": [A, B]}, "when", PARAMS)
    why = explain(node, {"resident.dementia": False}, PARAMS)
    assert why.value is False
    assert why.waiting == frozenset()
    assert why.used == {"resident.dementia": False}
    # any: true decided by one part
    node = parse_condition({"any": [A, B]}, "when", PARAMS)
    why = explain(node, {"resident.uses_wheelchair": True}, PARAMS)
    assert why.value is True
    assert why.used == {"resident.uses_wheelchair": True}


def test_explain_reports_params_and_referenced_fields():
    node = parse_condition({"resident.age": {"lte": {"param": "young_age_limit"}}}, "w", PARAMS)
    why = explain(node, {"resident.age": 22}, PARAMS)
    assert why.value is True
    assert why.used == {"resident.age": 22, "params.young_age_limit": 30}

    node = parse_condition(OPERATOR_CASES["field-enum-in-list"][0], "w", PARAMS)
    why = explain(node, {"offer.type": "ordinary"}, PARAMS)
    assert why.value is None
    assert why.waiting == frozenset({"resident.preferred_offer_types"})


def test_explain_not_keeps_waiting():
    node = parse_condition({"not": {"any": [A, B]}}, "when", PARAMS)
    why = explain(node, {"resident.dementia": False}, PARAMS)
    assert why.value is None
    assert why.waiting == frozenset({"resident.uses_wheelchair"})


# --------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"resident.violense_risk": {"eq": "high"}}, "unknown field 'resident.violense_risk'"),
        ({"violence_risk": {"eq": "high"}}, "unknown field 'violence_risk'"),
        ({"resident.id": {"is_set": True}}, "unknown field 'resident.id'"),
        ({"resident.age": {"like": 3}}, "unknown operator 'like'"),
        ({"resident.violence_risk": {"eq": "hihg"}}, "'hihg' is not a value of"),
        ({"offer.type": {"in": ["small_house", "smal_house"]}}, "'smal_house' is not a value"),
        ({"offer.type": {"in": []}}, "non-empty list"),
        ({"offer.type": {"in": "small_house"}}, "non-empty list"),
        ({"resident.age": {"gt": "thirty"}}, "expected a number"),
        ({"resident.age": {"gt": True}}, "expected a number"),
        ({"resident.dementia": {"eq": "yes"}}, "expected true or false"),
        ({"resident.dementia": {"eq": 1}}, "expected true or false"),
        ({"resident.age": {"is_set": "yes"}}, "is_set expects true or false"),
        ({"offer.location.hazards": {"is_empty": 0}}, "is_empty expects true or false"),
        ({"resident.age": {"contains": 3}}, "operator 'contains' does not apply to a int field"),
        ({"offer.staffing": {"gt": 3}}, "operator 'gt' does not apply to a enum field"),
        (
            {"offer.organisation.staff_competence": {"contains": "nurse"}},
            "'nurse' is not a value",
        ),
        ({"resident.age": {"gt": {"param": "no_such_param"}}}, "unknown parameter 'no_such_param'"),
        ({"offer.staffing": {"eq": {"param": "young_age_limit"}}}, "can only be compared"),
        ({"resident.age": {"gt": {"value": 3}}}, "expected a value, {param: NAME}"),
        (
            {"offer.organisation.service_model": {"eq": {"field": "offer.staffing"}}},
            "eq cannot compare offer.organisation.service_model with offer.staffing",
        ),
        (
            {"offer.type": {"in": {"field": "offer.location.hazards"}}},
            "in cannot compare offer.type with offer.location.hazards",
        ),
        ({"resident.age": {"gt": 3, "lt": 5}}, "expected exactly one operator"),
        ({"resident.age": {}}, "expected exactly one operator"),
        (
            {"resident.age": {"gt": 3}, "resident.dementia": {"eq": True}},
            "a leaf names exactly one field",
        ),
        ({"all": {"resident.age": {"gt": 3}}}, "'all' expects a non-empty list"),
        ({"any": []}, "'any' expects a non-empty list"),
        ({"all": [A], "resident.age": {"gt": 3}}, "'all' must stand alone"),
        ({"not": []}, "expected a condition mapping"),
        ([A], "expected a condition mapping"),
        ({}, "expected a condition mapping"),
        ({"sum": ["resident.age"], "gt": 3}, "'sum' expects a list of at least two"),
        (
            {"sum": ["resident.age", "resident.dementia"], "gt": 3},
            "resident.dementia is not numeric",
        ),
        (
            {"sum": ["resident.age", "offer.units"], "gt": 3, "lt": 9},
            "expected exactly one operator",
        ),
        ({"sum": ["resident.age", "offer.units"], "contains": 3}, "'sum' supports"),
    ],
)
def test_parse_error_names_the_problem(data, expected):
    with pytest.raises(ConditionError) as info:
        parse_condition(data, "when", PARAMS)
    assert any(expected in message for message in info.value.messages), info.value.messages
    assert all(message.startswith("when") for message in info.value.messages)


def test_parse_error_lists_every_problem_with_its_place():
    data = {
        "all": [
            {"resident.violense_risk": {"eq": "high"}},
            {"offer.staffing": {"eq": "round_the_clok"}},
            {"any": [{"resident.age": {"gt": {"param": "nope"}}}]},
        ]
    }
    with pytest.raises(ConditionError) as info:
        parse_condition(data, "when", PARAMS)
    messages = info.value.messages
    assert len(messages) == 3, messages
    assert messages[0].startswith("when.all[0]") and "resident.violense_risk" in messages[0]
    assert messages[1].startswith("when.all[1].offer.staffing") and "round_the_clok" in messages[1]
    assert messages[2].startswith("when.all[2].any[0].resident.age") and "nope" in messages[2]
    assert "round_the_clok" in str(info.value)


def test_enum_error_lists_the_allowed_values():
    with pytest.raises(ConditionError) as info:
        parse_condition({"resident.violence_risk": {"eq": "hihg"}}, "when", PARAMS)
    (message,) = info.value.messages
    assert "resident.violence_risk" in message
    for value in ("low", "moderate", "high"):
        assert value in message
