"""`at_least` and `months_since`: truth tables in the evaluator and in durable_rules.

Every case is decided three ways: the compiled evaluator, `explain`, and
durable_rules through the compiled JSON form (the condition and its negation),
which must fire exactly when the evaluator says true (resp. false).
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from roprules.evaluation.backends import CompiledRule
from roprules.report.plain import describe
from roprules.rulebase.conditions import (
    AS_OF,
    ConditionError,
    add_months,
    compile_evaluator,
    explain,
    months_value,
    parse_condition,
    undetermined_by,
)

PARAMS = {"max_danger_assessment_age_months": 6, "young_age_limit": 30}


def _durable_engine(groups: dict[str, list[CompiledRule]], params: dict[str, Any]) -> Any:
    """durable_rules' side of the truth tables; skipped where it cannot be imported (3.13+)."""
    pytest.importorskip("durable_rules_engine", reason="durable_rules cannot be imported here")
    from roprules.evaluation.durable import DurableEngine

    return DurableEngine(groups, params)


TRUTHS = (True, False, None)
FIELDS = ("resident.dementia", "resident.uses_wheelchair", "resident.psychosis")
PARTS = [{path: {"eq": True}} for path in FIELDS]


def facts_for(values: tuple[bool | None, ...]) -> dict[str, Any]:
    return {path: v for path, v in zip(FIELDS, values, strict=False) if v is not None}


def kleene_at_least(n: int, values: tuple[bool | None, ...]) -> bool | None:
    true = sum(v is True for v in values)
    unknown = sum(v is None for v in values)
    if true >= n:
        return True
    if true + unknown < n:
        return False
    return None


AT_LEAST = {f"at-least-{n}": {"at_least": {"n": n, "of": PARTS}} for n in (1, 2, 3)}
MONTHS = {
    f"months-{op}": {"months_since": "resident.danger_assessment_date", op: 6}
    for op in ("gt", "gte", "lt", "lte")
}
MONTHS["months-param"] = {
    "months_since": "resident.danger_assessment_date",
    "gt": {"param": "max_danger_assessment_age_months"},
}


@pytest.fixture(scope="module")
def durable() -> Any:
    rules = []
    for name, condition in {**AT_LEAST, **MONTHS}.items():
        rules.append(CompiledRule(name, parse_condition(condition, name, PARAMS)))
        rules.append(CompiledRule(f"not-{name}", parse_condition({"not": condition}, name, PARAMS)))
    return _durable_engine({"v21": rules}, PARAMS)


def decide(durable: Any, name: str, condition: Any, facts: dict[str, Any]):
    node = parse_condition(condition, name, PARAMS)
    fast = compile_evaluator(node, PARAMS)(facts)
    slow = explain(node, facts, PARAMS).value
    lean, _ = undetermined_by(node, facts, PARAMS)
    assert fast is slow is lean
    fired = durable.fire(facts)
    assert (name in fired) is (fast is True), (name, facts, fired)
    assert (f"not-{name}" in fired) is (fast is False), (name, facts, fired)
    return fast


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("values", list(itertools.product(TRUTHS, repeat=3)))
def test_at_least_truth_table(durable, n, values):
    name = f"at-least-{n}"
    assert decide(durable, name, AT_LEAST[name], facts_for(values)) is kleene_at_least(n, values)


def test_at_least_waits_on_its_unknown_parts_only():
    node = parse_condition(AT_LEAST["at-least-2"], "when", PARAMS)
    why = explain(node, {"resident.dementia": True}, PARAMS)
    assert why.value is None
    assert why.waiting == {"resident.uses_wheelchair", "resident.psychosis"}
    assert why.used == {"resident.dementia": True}
    # decided: the true parts are the facts that made it fire, nothing waits
    decided = explain(node, {"resident.dementia": True, "resident.psychosis": True}, PARAMS)
    assert decided.value is True
    assert decided.used == {"resident.dementia": True, "resident.psychosis": True}
    assert decided.waiting == frozenset()
    # false: too few can still be true; the false parts are reported
    false = explain(node, {"resident.dementia": False, "resident.uses_wheelchair": False}, PARAMS)
    assert false.value is False and false.waiting == frozenset()


def test_at_least_nests_inside_all_and_not(durable):
    condition = {
        "all": [
            {"resident.fire_risk": {"eq": "high"}},
            {"not": {"at_least": {"n": 2, "of": PARTS}}},
        ]
    }
    node = parse_condition(condition, "when", PARAMS)
    evaluate = compile_evaluator(node, PARAMS)
    facts = {"resident.fire_risk": "high", "resident.dementia": True}
    assert evaluate(facts) is None
    assert evaluate({**facts, "resident.psychosis": False, "resident.uses_wheelchair": False})


# --------------------------------------------------------------------------- months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2026, 3, 15), 12, date(2027, 3, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_last_day(day, months, expected):
    assert add_months(day, months) == expected


def _expected(op: str, day: date, as_of: date, n: int = 6) -> bool:
    target = add_months(day, n)
    return {
        "gt": target < as_of,
        "gte": target <= as_of,
        "lt": not target <= as_of,
        "lte": not target < as_of,
    }[op]


DAYS = [
    date(2025, 8, 31),  # + 6 months = 28 February 2026
    date(2025, 9, 1),
    date(2025, 9, 2),
    date(2025, 2, 28),
    date(2026, 2, 28),
    date(2024, 2, 29),
]
AS_OFS = [
    date(2026, 2, 27),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 3, 2),
    date(2026, 9, 1),
]


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
@pytest.mark.parametrize(("day", "as_of"), list(itertools.product(DAYS, AS_OFS)))
def test_months_since_follows_the_calendar_convention(durable, op, day, as_of):
    if day > as_of:
        pytest.skip("a date after as_of is refused as input")
    facts = {"resident.danger_assessment_date": day.isoformat(), AS_OF: as_of.isoformat()}
    name = f"months-{op}"
    assert decide(durable, name, MONTHS[name], facts) is _expected(op, day, as_of)


def test_thirty_first_of_august_plus_six_months_is_end_of_february(durable):
    facts = {"resident.danger_assessment_date": "2025-08-31", AS_OF: "2026-02-28"}
    assert decide(durable, "months-gte", MONTHS["months-gte"], facts) is True
    assert decide(durable, "months-gt", MONTHS["months-gt"], facts) is False
    facts[AS_OF] = "2026-03-01"
    assert decide(durable, "months-gt", MONTHS["months-gt"], facts) is True


def test_months_since_reads_the_parameter(durable):
    facts = {"resident.danger_assessment_date": "2026-01-01", AS_OF: "2026-07-02"}
    assert decide(durable, "months-param", MONTHS["months-param"], facts) is True
    facts[AS_OF] = "2026-07-01"
    assert decide(durable, "months-param", MONTHS["months-param"], facts) is False


@pytest.mark.parametrize(
    "facts",
    [{}, {AS_OF: "2026-07-01"}, {"resident.danger_assessment_date": "2026-01-01"}],
)
def test_months_since_is_unknown_without_a_date(durable, facts):
    for name in MONTHS:
        assert decide(durable, name, MONTHS[name], facts) is None


def test_months_since_waits_on_the_date_field():
    node = parse_condition(MONTHS["months-gt"], "when", PARAMS)
    assert explain(node, {AS_OF: "2026-07-01"}, PARAMS).waiting == {
        "resident.danger_assessment_date"
    }


def test_months_value_is_whole_months_plus_a_half_between_anniversaries():
    assert months_value(date(2026, 1, 1), date(2026, 7, 1)) == 6
    assert months_value(date(2026, 1, 1), date(2026, 7, 2)) == 6.5
    assert months_value(date(2026, 1, 1), date(2026, 6, 30)) == 5.5
    assert months_value(date(2026, 1, 1), date(2026, 1, 1)) == 0


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"at_least": {"n": 0, "of": PARTS}}, "from 1 to 3"),
        ({"at_least": {"n": 4, "of": PARTS}}, "from 1 to 3"),
        ({"at_least": {"n": True, "of": PARTS}}, "from 1 to 3"),
        ({"at_least": {"n": 1, "of": []}}, "non-empty list"),
        ({"at_least": {"n": 1}}, "expects {n: NUMBER, of:"),
        ({"at_least": {"n": 1, "of": PARTS}, "any": PARTS}, "must stand alone"),
        (
            {"at_least": {"n": 8, "of": [{f: {"eq": True}} for f in FIELDS] * 6}},
            "combinations",
        ),
        ({"months_since": "resident.age", "gt": 6}, "not a date field"),
        ({"months_since": "resident.danger_assessment_date", "eq": 6}, "supports"),
        ({"months_since": "resident.danger_assessment_date", "gt": 6.5}, "whole months"),
        ({"months_since": "resident.danger_assessment_date", "gt": True}, "whole months"),
        ({"months_since": "resident.danger_assessment_date", "gt": {"param": "nope"}}, "nope"),
        ({"months_since": "resident.nope", "gt": 6}, "unknown field"),
    ],
)
def test_parse_errors(condition, expected):
    with pytest.raises(ConditionError) as info:
        parse_condition(condition, "when", PARAMS)
    assert expected in str(info.value)


def test_plain_language_names_the_count_and_the_months():
    nb = describe(parse_condition(AT_LEAST["at-least-2"], "when", PARAMS), "nb", PARAMS)
    assert "minst 2 av disse" in nb
    en = describe(parse_condition(MONTHS["months-param"], "when", PARAMS), "en", PARAMS)
    assert "months since" in en and "max_danger_assessment_age_months" in en


# --------------------------------------------------------------------------- agreement


SYNTHETIC = {
    "outdated": {
        "all": [
            MONTHS["months-param"],
            {
                "any": [
                    {"resident.violence_risk": {"in": ["moderate", "high"]}},
                    {"resident.transition_from": {"in": ["hospital", "prison", "treatment"]}},
                ]
            },
        ]
    },
    "compound": {
        "all": [
            {"resident.fire_risk": {"eq": "high"}},
            {
                "at_least": {
                    "n": 2,
                    "of": [
                        {"offer.building.sprinkler": {"eq": "none"}},
                        {
                            "all": [
                                {"offer.building.sprinkler": {"eq": "standard"}},
                                {"resident.property_damage_risk": {"eq": "high"}},
                            ]
                        },
                        {"offer.location.fire_response_minutes": {"gt": 20}},
                        {"resident.uses_wheelchair": {"eq": True}},
                        {"offer.building.construction": {"eq": "temporary"}},
                    ],
                }
            },
        ]
    },
    "partner": {
        "all": [
            {"resident.household": {"eq": "couple"}},
            {"resident.violence_risk_towards": {"contains": "partner"}},
            {"not": {"at_least": {"n": 1, "of": [{"resident.psychosis": {"eq": True}}]}}},
        ]
    },
}


@pytest.fixture(scope="module")
def synthetic() -> Any:
    rules = [CompiledRule(n, parse_condition(c, n, PARAMS)) for n, c in SYNTHETIC.items()]
    rules += [
        CompiledRule(f"not-{n}", parse_condition({"not": c}, n, PARAMS))
        for n, c in SYNTHETIC.items()
    ]
    return _durable_engine({"synthetic": rules}, PARAMS)


def test_evaluator_and_durable_agree_on_generated_profiles(synthetic):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from conftest import facts_of
    from roprules.contract.profiles import OfferProfile, ResidentProfile
    from strategies import offer_profiles, resident_profiles

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        resident=resident_profiles(),
        offer=offer_profiles(),
        as_of=st.dates(min_value=date(2026, 11, 30), max_value=date(2028, 12, 31)),
    )
    def check(resident, offer, as_of):
        facts = facts_of(
            ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer), as_of
        )
        fired = synthetic.fire(facts)
        for name, condition in SYNTHETIC.items():
            value = compile_evaluator(parse_condition(condition, name, PARAMS), PARAMS)(facts)
            assert (name in fired) is (value is True), (name, facts)
            assert (f"not-{name}" in fired) is (value is False), (name, facts)

    check()


SIX = (
    "resident.dementia",
    "resident.uses_wheelchair",
    "resident.psychosis",
    "resident.smokes_indoors",
    "resident.child_contact",
    "resident.debt_problems",
)


@pytest.mark.parametrize("n", range(1, 7))
def test_wide_at_least_is_split_for_durable_and_still_agrees(n):
    """C(6, 3) = 20 combinations exceed durable_rules' 15 combinator nodes per
    expression (error 113): the compiled rule is split into several durable rules."""
    parts = [{path: {"eq": True}} for path in SIX[:5]]
    parts.append({"all": [{SIX[5]: {"eq": True}}, {"resident.fire_risk": {"eq": "high"}}]})
    condition = {"at_least": {"n": n, "of": parts}}
    rules = [
        CompiledRule("pos", parse_condition(condition, "pos", PARAMS)),
        CompiledRule("neg", parse_condition({"not": condition}, "neg", PARAMS)),
    ]
    engine = _durable_engine({"wide": rules}, PARAMS)
    evaluate = compile_evaluator(rules[0].condition, PARAMS)
    for values in itertools.product(TRUTHS, repeat=6):
        facts = {p: v for p, v in zip(SIX, values, strict=True) if v is not None}
        facts["resident.fire_risk"] = "high"
        value = evaluate(facts)
        assert value is kleene_at_least(n, values)
        fired = engine.fire(facts)
        assert ("pos" in fired) is (value is True), facts
        assert ("neg" in fired) is (value is False), facts


def test_a_condition_too_large_for_durable_is_refused_at_load(tmp_path):
    from minirules import rule, write_rules
    from roprules.rulebase.ruleset import RulesetError, load_ruleset

    nine = [*SIX, "resident.economy_follow_up", "resident.next_step_plan", "resident.dementia"]
    parts = [{p: {"eq": True}} for p in nine[:8]] + [{"resident.age": {"gt": 30}}]
    wide = {"at_least": {"n": 4, "of": parts}}  # C(9, 4) = 126 parts once split
    with pytest.raises(RulesetError) as info:
        load_ruleset(write_rules(tmp_path, [rule("test.wide", wide)]))
    (message,) = info.value.messages
    assert "test.wide: when: the condition is" in message and "durable_rules" in message
