"""The evaluator and durable_rules agree on every rule, for generated profiles.

On the durable backend durable_rules decides what fires; the three-valued
evaluator decides what is false or undetermined and explains each finding. They
must give the same answer for every rule and every fact, the two backends must
produce the same assessments, and the engine must never fail on valid input.
The durable comparisons are skipped where durable_rules cannot be imported.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import comparable, facts_of, needs_durable, shared_engine
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.outcome import verdict_of
from roprules.rulebase.conditions import explain, leaves
from strategies import full_profiles, offer_profiles, resident_profiles

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def check_agreement(engine, assessor, facts: dict[str, Any]) -> None:
    params = engine.ruleset.params
    for scope, durable in assessor.durable.items():
        fired = durable.fire(facts)
        for rule in assessor.rules_by_scope[scope]:
            value = rule.evaluate(facts)
            assert explain(rule.condition, facts, params).value is value, rule.id
            assert (value is True) == (rule.id in fired), (
                f"{rule.id}: evaluator says {value}, durable "
                f"{'fired' if rule.id in fired else 'did not fire'}; facts {facts}"
            )
        assert fired <= {r.id for r in assessor.rules_by_scope[scope]}


def check_assessments(engine, resident: dict[str, Any], offer: dict[str, Any]) -> None:
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    placement = engine.check(resident, offer)
    audit = engine.audit(offer)
    alone = engine.assess_resident(resident)
    rules = {r.id: r for r in engine.ruleset.rules}

    # the placement covers the offer's and the resident's own findings
    placement_ids = {f.rule_id for f in placement.findings}
    assert {f.rule_id for f in audit.findings} <= placement_ids
    assert {f.rule_id for f in alone.findings} <= placement_ids
    # findings are exactly the true rules, undetermined exactly the unknown ones
    expected_true = {rid for rid, r in rules.items() if r.evaluate(facts) is True}
    expected_unknown = {rid for rid, r in rules.items() if r.evaluate(facts) is None}
    assert placement_ids == expected_true
    assert {u.rule_id for u in placement.undetermined} == expected_unknown
    # every missing field is unknown in the facts and blocks an undetermined rule
    for missing in placement.missing:
        assert missing.field not in facts
        assert set(missing.rules) <= expected_unknown
    # the verdict follows the contract's order
    assert placement.verdict == verdict_of(
        [rules[i].severity for i in expected_true], [rules[i].severity for i in expected_unknown]
    )


@pytest.fixture(scope="module")
def durable_engine():
    return shared_engine("durable")


@pytest.fixture(scope="module")
def durable_assessor(durable_engine):
    return durable_engine._evaluator


@needs_durable
@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_evaluator_and_durable_agree(durable_engine, durable_assessor, resident, offer):
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    check_agreement(durable_engine, durable_assessor, facts)


def without_backend(model: Any) -> dict[str, Any]:
    return {k: v for k, v in comparable(model).items() if k != "backend"}


@needs_durable
@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_the_two_backends_give_the_same_assessments(resident, offer):
    durable, evaluator = shared_engine("durable"), shared_engine("evaluator")
    for method, args in (
        ("check", (resident, offer)),
        ("audit", (offer,)),
        ("assess_resident", (resident,)),
    ):
        first = getattr(durable, method)(*args)
        second = getattr(evaluator, method)(*args)
        assert (first.backend.name, second.backend.name) == ("durable", "evaluator")
        assert without_backend(first) == without_backend(second), method


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_engine_never_raises_and_is_consistent(each_engine, resident, offer):
    check_assessments(each_engine, resident, offer)


@pytest.mark.parametrize("variant", range(6))
def test_every_field_set_no_engine_error(each_engine, variant):
    resident, offer = full_profiles(variant)
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    assert all(f"resident.{k}" in facts or k == "id" for k in resident if k != "brukerplan")
    if each_engine.backend == "durable":
        check_agreement(each_engine, each_engine._evaluator, facts)
    check_assessments(each_engine, resident, offer)


@needs_durable
def test_every_leaf_true_at_once_no_durable_error(durable_engine, durable_assessor):
    """Facts chosen so that as many leaves as possible are true together (error 303)."""
    # Start from the "all true" variant and flip each field to the value most
    # leaves ask for, so that the number of true alpha conditions is maximal.
    votes: dict[str, dict[Any, int]] = {}
    for rule in durable_engine.ruleset.rules:
        for leaf in leaves(rule.condition):
            if isinstance(leaf.subject, str) and leaf.op == "eq":
                counts = votes.setdefault(leaf.subject, {})
                counts[leaf.operand] = counts.get(leaf.operand, 0) + 1
    resident, offer = full_profiles(0)
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    for path, counts in votes.items():
        if not isinstance(next(iter(counts)), dict):
            facts[path] = max(counts, key=counts.__getitem__)
    check_agreement(durable_engine, durable_assessor, facts)
    assert sum(r.evaluate(facts) is True for r in durable_engine.ruleset.rules) > 20
