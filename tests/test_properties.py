"""Properties of the engine over generated valid (partial) profiles.

- no exception from Engine.check / audit / assess_resident;
- the verdict follows from findings and undetermined rules exactly as contract.md
  defines it;
- the output is deterministic (same input twice: same JSON apart from created_at);
- three-valued logic is monotone: for a rule without `is_set` leaves, a value
  that is known (true or false) stays the same when one more field becomes known;
- the three-valued evaluator and durable_rules agree on what fires.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, comparable, facts_of, needs_durable, shared_engine
from roprules import Engine
from roprules.contract import brukerplan
from roprules.contract.assessment import Assessment
from roprules.contract.fields import RULE_FIELDS
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.rulebase.conditions import leaves
from strategies import offer_profiles, resident_profiles, value_strategy

SETTINGS = settings(
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SCOPE_RULES = {
    "placement": ("placement", "offer", "resident"),
    "offer": ("offer",),
    "resident": ("resident",),
}


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every property holds on every backend importable here."""
    return shared_engine(request.param)


def expected_verdict(assessment: Assessment) -> str:
    fired = {f.severity for f in assessment.findings}
    waiting = {u.severity for u in assessment.undetermined}
    if "critical" in fired:
        return "unsuitable"
    if "critical" in waiting:
        return "incomplete"
    if "major" in fired:
        return "conditional"
    return "suitable"


def check_assessment(engine: Engine, assessment: Assessment, facts: dict[str, Any]) -> None:
    """Verdict, findings, undetermined and missing, each against the evaluator alone."""
    assert assessment.verdict == expected_verdict(assessment)
    rules = [rule for rule in engine.ruleset.rules if rule.scope in SCOPE_RULES[assessment.scope]]
    true = {rule.id for rule in rules if rule.evaluate(facts) is True}
    unknown = {rule.id for rule in rules if rule.evaluate(facts) is None}
    assert {f.rule_id for f in assessment.findings} == true
    assert {u.rule_id for u in assessment.undetermined} == unknown
    for finding in assessment.findings:
        assert finding.severity == engine.ruleset.rule(finding.rule_id).severity
        assert finding.explanation and finding.title and finding.sources
    waiting_on: dict[str, set[str]] = {}
    for item in assessment.undetermined:
        assert item.waiting_on, item
        for path in item.waiting_on:
            assert path not in facts
            waiting_on.setdefault(path, set()).add(item.rule_id)
    assert {m.field: set(m.rules) for m in assessment.missing} == waiting_on
    for missing in assessment.missing:
        severities = [engine.ruleset.rule(r).severity for r in missing.rules]
        assert missing.severity == min(severities, key=SEVERITY_ORDER.__getitem__)
        assert missing.question


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles(), lang=st.sampled_from(["nb", "en"]))
def test_no_exception_and_verdict_follows_the_contract(
    engine: Engine, resident: dict[str, Any], offer: dict[str, Any], lang: str
) -> None:
    resident_model = ResidentProfile.model_validate(resident)
    offer_model = OfferProfile.model_validate(offer)
    placement = engine.check(resident, offer, lang=lang)
    check_assessment(engine, placement, facts_of(resident_model, offer_model))
    audit = engine.audit(offer, lang=lang)
    check_assessment(engine, audit, facts_of(None, offer_model))
    alone = engine.assess_resident(resident, lang=lang)
    check_assessment(engine, alone, facts_of(resident_model, None))
    assert placement.lang == audit.lang == alone.lang == lang
    assert (placement.resident_id, placement.offer_id) == (resident["id"], offer["id"])
    # the placement holds the offer's and the resident's own findings
    own = {f.rule_id for f in audit.findings} | {f.rule_id for f in alone.findings}
    assert own <= {f.rule_id for f in placement.findings}


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_deterministic(engine: Engine, resident: dict[str, Any], offer: dict[str, Any]) -> None:
    first = engine.check(copy.deepcopy(resident), copy.deepcopy(offer))
    second = engine.check(copy.deepcopy(resident), copy.deepcopy(offer))
    assert comparable(first) == comparable(second)
    dumped = [a.model_dump_json(exclude={"created_at"}) for a in (first, second)]
    assert dumped[0] == dumped[1]
    ranking = engine.rank(resident, [offer, offer])
    assert [r.assessment.model_dump(exclude={"created_at"}) for r in ranking.ranking] == [
        comparable(first)
    ] * 2


def _without_is_set(rule: Any) -> bool:
    return all(leaf.op != "is_set" for leaf in leaves(rule.condition))


def _set_path(profile: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")[1:]
    current = profile
    for name in parents:
        current = current.setdefault(name, {})
    current[leaf] = value


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles(), data=st.data())
def test_more_information_never_changes_a_known_result(
    engine: Engine, resident: dict[str, Any], offer: dict[str, Any], data: st.DataObject
) -> None:
    before = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    unknown = sorted(p for p in RULE_FIELDS if p not in before and p != "offer.type")
    if not unknown:
        return
    path = data.draw(st.sampled_from(unknown), label="field")
    value = data.draw(value_strategy(RULE_FIELDS[path]), label="value")
    resident2, offer2 = copy.deepcopy(resident), copy.deepcopy(offer)
    _set_path(resident2 if path.startswith("resident.") else offer2, path, value)
    after = facts_of(ResidentProfile.model_validate(resident2), OfferProfile.model_validate(offer2))
    # A deprecated field may derive its replacement (needs_coercion: false derives
    # coercion_need: none); nothing else appears.
    derived = {"resident.needs_coercion": {"resident.coercion_need"}}.get(path, set())
    derived |= {row.path for row in brukerplan.table() if path == row.source}
    assert set(before) | {path} <= set(after) <= set(before) | {path} | derived

    monotone = [rule for rule in engine.ruleset.rules if _without_is_set(rule)]
    for rule in monotone:
        old = rule.evaluate(before)
        if old is not None:
            assert rule.evaluate(after) is old, (rule.id, path, value)
    # and in the assessment: a finding of such a rule stays a finding
    first = engine.check(resident, offer)
    second = engine.check(resident2, offer2)
    kept = {r.id for r in monotone}
    assert {f.rule_id for f in first.findings} & kept <= {f.rule_id for f in second.findings}
    still_open = {u.rule_id for u in second.undetermined}
    assert still_open & kept <= {u.rule_id for u in first.undetermined}
    if first.verdict == "unsuitable" and all(
        _without_is_set(engine.ruleset.rule(f.rule_id))
        for f in first.findings
        if f.severity == "critical"
    ):
        assert second.verdict == "unsuitable"


@needs_durable
@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_evaluator_and_durable_agree(resident: dict[str, Any], offer: dict[str, Any]) -> None:
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    assessor = shared_engine("durable")._evaluator
    for scope in ("placement", "offer", "resident"):
        rules = assessor.rules_by_scope[scope]
        expected = {rule.id for rule in rules if rule.evaluate(facts) is True}
        assert assessor.durable[scope].fire(facts) == expected
        for group in assessor.durable[scope].groups:
            assert set(group.fire(facts)) == expected & set(group.rule_ids)


@SETTINGS
@given(
    resident=resident_profiles(),
    offers=st.lists(offer_profiles(), min_size=1, max_size=6),
)
def test_ranking_is_ordered_by_verdict(
    engine: Engine, resident: dict[str, Any], offers: list[dict[str, Any]]
) -> None:
    order = ["suitable", "conditional", "incomplete", "unsuitable"]
    ranking = engine.rank(resident, offers)
    verdicts = [order.index(r.verdict) for r in ranking.ranking]
    assert verdicts == sorted(verdicts)
    assert [r.rank for r in ranking.ranking] == list(range(1, len(offers) + 1))
    for ranked in ranking.ranking:
        assert ranked.verdict == expected_verdict(ranked.assessment)
