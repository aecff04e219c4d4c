"""The compiled closures of a condition answer as the tree-walking reference does.

`compile_evaluator` (its leaves), `compile_undetermined`, `compile_used` and
`compile_used_known` are the fast forms of `evaluate_leaf`, `undetermined_by` and
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
    compile_evaluator,
    compile_undetermined,
    compile_used,
    compile_used_known,
    evaluate_leaf,
    explain,
    leaves,
    undetermined_by,
)
from strategies import LATEST_DATE, offer_profiles, resident_profiles

ENGINE = Engine.load(backend="evaluator")
PARAMS = ENGINE.ruleset.params
RULES = ENGINE.ruleset.rules
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
        if reference.value is not None:  # the value known, as for a fired rule's finding
            found = {}
            used_known[reference.value](facts, found)
            assert found == reference.used, rule.id


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
    for path in list(facts)[:12]:
        _agree({k: v for k, v in facts.items() if k != path})


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
