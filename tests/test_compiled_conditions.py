"""The compiled closures of a condition answer as the tree-walking reference does.

`compile_evaluator` (its leaves), `compile_undetermined`, `compile_blocking`,
`compile_used` and `compile_used_known` are the fast forms of `evaluate_leaf`,
`undetermined_by` (`compile_blocking`: its fields with the value known to be unknown) and
`explain(...).used` (the last with the rule's value known), used on every assessment;
here every shipped rule and every leaf is held to the reference on generated partial
profiles (and on the same facts with each field removed in turn).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings

from roprules import Engine
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.outcome import assessment_facts
from roprules.rulebase.conditions import (
    AllOf,
    AnyOf,
    AtLeast,
    Condition,
    NotOf,
    compile_blocking,
    compile_evaluator,
    compile_undetermined,
    compile_used,
    compile_used_known,
    evaluate_leaf,
    explain,
    leaves,
    single_blocking_field,
    undetermined_by,
)
from strategies import LATEST_DATE, offer_profiles, resident_profiles

ENGINE = Engine.load(backend="evaluator")
PARAMS = ENGINE.ruleset.params
RULES = ENGINE.ruleset.rules


def _nodes(node: Condition) -> list[Condition]:
    """The condition and every condition within it (leaves too)."""
    if isinstance(node, NotOf):
        return [node, *_nodes(node.part)]
    if isinstance(node, (AllOf, AnyOf, AtLeast)):
        return [node, *(n for part in node.parts for n in _nodes(part))]
    return [node]


# Every condition of every rule and within it, with its `compile_blocking` and its
# `single_blocking_field`
BLOCKING = [
    (
        node,
        compile_evaluator(node, PARAMS),
        compile_blocking(node, PARAMS),
        single_blocking_field(node, PARAMS),
    )
    for rule in RULES
    for node in _nodes(rule.condition)
]
COMPILED = [
    (
        rule,
        compile_evaluator(rule.condition, PARAMS),
        compile_undetermined(rule.condition, PARAMS),
        compile_used(rule.condition, PARAMS),
        {value: compile_used_known(rule.condition, PARAMS, value) for value in (True, False)},
        [(leaf, compile_evaluator(leaf, PARAMS)) for leaf in leaves(rule.condition)],
    )
    for rule in RULES
]


def _agree(facts: dict[str, Any]) -> None:
    for rule, evaluate, waiting, used, used_known, compiled_leaves in COMPILED:
        for leaf, fast in compiled_leaves:
            assert fast(facts) is evaluate_leaf(leaf, facts, PARAMS), (rule.id, leaf)
        reference = explain(rule.condition, facts, PARAMS)
        assert evaluate(facts) is reference.value, rule.id
        value, blocking = waiting(facts)
        assert (value, blocking) == undetermined_by(rule.condition, facts, PARAMS), rule.id
        assert value is reference.value, rule.id
        found: dict[str, Any] = {}
        used(facts, found)
        assert found == reference.used, rule.id
        if value is None:  # the value known to be unknown, as for an undetermined rule
            assert compile_blocking(rule.condition, PARAMS)(facts) == blocking, rule.id
        if reference.value is not None:  # the value known, as for a fired rule's finding
            found = {}
            used_known[reference.value](facts, found)
            assert found == reference.used, rule.id


def _agree_blocking(facts: dict[str, Any]) -> None:
    for node, evaluate, blocking, single in BLOCKING:
        if evaluate(facts) is None:
            assert blocking(facts) == undetermined_by(node, facts, PARAMS)[1], node
            if single is not None:
                assert undetermined_by(node, facts, PARAMS)[1] == {single}, node


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(resident=resident_profiles(), offer=offer_profiles())
def test_compiled_forms_agree_with_the_reference(
    resident: dict[str, Any], offer: dict[str, Any]
) -> None:
    facts = assessment_facts(
        ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer), LATEST_DATE
    )
    _agree(facts)
    _agree_blocking(facts)
    for path in list(facts)[:12]:
        _agree({k: v for k, v in facts.items() if k != path})
        _agree_blocking({k: v for k, v in facts.items() if k != path})


def test_months_since_looked_up_once_gives_the_same_answer() -> None:
    """The months between two dates are kept once computed; a later assessment date or
    another date fact is another key."""
    months_rules = [
        (rule, evaluate)
        for rule, evaluate, *_ in COMPILED
        if "resident.danger_assessment_date" in rule.fields
    ]
    assert months_rules
    for as_of in (date(2025, 1, 31), date(2025, 3, 1), date(2026, 2, 28), date(2026, 3, 1)):
        for day in ("2024-08-31", "2024-09-01", "2025-01-31", date(2024, 8, 31)):
            facts = {"resident.danger_assessment_date": day, "as_of": as_of.isoformat()}
            for _ in range(2):
                for rule, evaluate in months_rules:
                    assert evaluate(facts) is explain(rule.condition, facts, PARAMS).value


def test_blocking_of_shapes_the_shipped_rules_leave_out() -> None:
    """`compile_blocking` on shapes where merging parts would be wrong: a negated "all"
    under an "all" (false with an unknown part: that part is not waited on), an "all"
    under an "any", "at least", `is_set` (never unknown) and a part with two fields."""
    from roprules.rulebase.conditions import parse_condition

    conditions = [
        {
            "all": [
                {"resident.age": {"gte": 18}},
                {
                    "not": {
                        "all": [
                            {"resident.dementia": {"eq": True}},
                            {"resident.household": {"eq": "single"}},
                        ]
                    }
                },
            ]
        },
        {
            "any": [
                {"resident.age": {"gte": 18}},
                {
                    "all": [
                        {"resident.dementia": {"eq": True}},
                        {"resident.household": {"eq": "single"}},
                    ]
                },
            ]
        },
        {
            "all": [
                {"resident.age": {"gte": 18}},
                {
                    "all": [
                        {"resident.dementia": {"eq": True}},
                        {"resident.household": {"is_set": True}},
                    ]
                },
            ]
        },
        {
            "at_least": {
                "n": 2,
                "of": [
                    {"resident.age": {"gte": 18}},
                    {"resident.dementia": {"eq": True}},
                    {"all": [{"resident.household": {"eq": "single"}}, {"offer.units": {"gt": 3}}]},
                ],
            }
        },
        {
            "all": [
                {"offer.units": {"gte": {"field": "offer.vacant_units"}}},
                {"resident.dementia": {"eq": True}},
            ]
        },
    ]
    values = {
        "resident.age": 30,
        "resident.dementia": False,
        "resident.household": "couple",
        "offer.units": 5,
        "offer.vacant_units": 2,
    }
    checked = 0
    for data in conditions:
        node = parse_condition(data, "when", PARAMS)
        evaluate, blocking = compile_evaluator(node, PARAMS), compile_blocking(node, PARAMS)
        single = single_blocking_field(node, PARAMS)
        for mask in range(1 << len(values)):
            facts = {k: v for i, (k, v) in enumerate(values.items()) if mask >> i & 1}
            for flip in (False, True):
                if flip and "resident.dementia" in facts:
                    facts = {**facts, "resident.dementia": True}
                if evaluate(facts) is None:
                    assert blocking(facts) == undetermined_by(node, facts, PARAMS)[1], data
                    if single is not None:
                        assert blocking(facts) == {single}, data
                    checked += 1
    assert checked > 50


def test_single_blocking_field_only_where_one_field_can_be_unknown() -> None:
    """`single_blocking_field`: one field for leaves that compare it with constants
    (`is_set` leaves on other fields aside); None where another field, a sum, a
    `months_since` (the assessment date) or a second field can leave it unknown."""
    from roprules.rulebase.conditions import parse_condition

    def single(data: dict[str, Any]) -> str | None:
        return single_blocking_field(parse_condition(data, "when", PARAMS), PARAMS)

    assert single({"resident.age": {"gte": 18}}) == "resident.age"
    assert (
        single(
            {
                "all": [
                    {"resident.age": {"gte": 18}},
                    {"not": {"resident.age": {"gt": 60}}},
                    {"resident.household": {"is_set": True}},
                ]
            }
        )
        == "resident.age"
    )
    assert single({"resident.household": {"is_set": True}}) is None  # never unknown
    assert single({"all": [{"resident.age": {"gte": 18}}, {"offer.units": {"gt": 3}}]}) is None
    assert single({"offer.units": {"gte": {"field": "offer.vacant_units"}}}) is None
    assert single({"sum": ["offer.units", "offer.vacant_units"], "gt": 3}) is None
    assert single({"months_since": "resident.danger_assessment_date", "gt": 6}) is None
