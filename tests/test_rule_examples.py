"""Every worked example of every rule, run three ways; and the criteria catalogue.

An example that `fires` must be true for the three-valued evaluator, fired by
the backend (durable_rules, and the evaluator backend), and reported as a
finding by a full assessment, on every backend importable here; `silent` must be
false everywhere; `undetermined` must be unknown, listed under `undetermined`
with the fields it waits on under `missing`.
"""

from __future__ import annotations

import re

import pytest

from conftest import BACKENDS, SPEC_DIR, facts_of, shared_engine
from roprules import Engine
from roprules.rulebase.conditions import explain
from roprules.rulebase.ruleset import example_profiles

RULES = shared_engine().ruleset.rules
EXAMPLES = [
    pytest.param(rule.id, label, index, id=f"{rule.id}-{label}-{index}")
    for rule in RULES
    for label, cases in rule.spec.examples.model_dump().items()
    for index in range(len(cases))
]
SCOPE_LETTERS = {"P": "placement", "O": "offer", "R": "resident"}


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    return shared_engine(request.param)


@pytest.fixture(scope="module")
def assessor(engine: Engine):
    return engine._evaluator


def run_scope(engine, scope, resident, offer):
    if scope == "placement":
        return engine.check(resident, offer)
    if scope == "offer":
        return engine.audit(offer)
    return engine.assess_resident(resident)


@pytest.mark.parametrize(("rule_id", "label", "index"), EXAMPLES)
def test_example(engine, assessor, rule_id, label, index):
    rule = engine.ruleset.rule(rule_id)
    case = getattr(rule.spec.examples, label)[index]
    resident, offer = example_profiles(case)
    facts = facts_of(resident, offer)

    value = rule.evaluate(facts)
    why = explain(rule.condition, facts, engine.ruleset.params)
    assert why.value is value
    fired = assessor.engines[rule.scope].fire(facts)
    assessment = run_scope(engine, rule.scope, resident, offer)
    finding_ids = {f.rule_id for f in assessment.findings}
    undetermined = {u.rule_id: u for u in assessment.undetermined}

    if label == "fires":
        assert value is True
        assert rule_id in fired
        assert rule_id in finding_ids
        finding = next(f for f in assessment.findings if f.rule_id == rule_id)
        assert finding.severity == rule.severity
        assert finding.kind == rule.spec.kind
        assert finding.explanation and finding.title and finding.sources
        # the facts reported are the ones that decided it, with their values
        for fact in finding.facts:
            if not fact.field.startswith("params."):
                assert facts.get(fact.field) == (
                    tuple(fact.value) if isinstance(fact.value, list) else fact.value
                )
    elif label == "silent":
        assert value is False
        assert rule_id not in fired
        assert rule_id not in finding_ids
        assert rule_id not in undetermined
    else:
        assert value is None
        assert rule_id not in fired
        assert rule_id not in finding_ids
        assert rule_id in undetermined
        waiting = set(undetermined[rule_id].waiting_on)
        assert waiting == set(why.waiting)
        assert waiting, "an undetermined rule waits on at least one field"
        missing = {m.field: m for m in assessment.missing}
        for path in waiting:
            assert path not in facts
            assert path in missing, f"{path} not listed under missing"
            assert rule_id in missing[path].rules
            assert missing[path].question


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_has_fires_and_silent_examples(rule):
    assert len(rule.spec.examples.fires) >= 1
    assert len(rule.spec.examples.silent) >= 1


def test_verdict_for_each_fires_example_follows_severity(engine):
    # A critical rule that fires makes its assessment unsuitable, whatever else fires.
    for rule in RULES:
        if rule.severity != "critical":
            continue
        for case in rule.spec.examples.fires:
            resident, offer = example_profiles(case)
            assessment = run_scope(engine, rule.scope, resident, offer)
            assert assessment.verdict == "unsuitable", rule.id


def catalogue_rows() -> list[tuple[str, str, str]]:
    text = (SPEC_DIR / "criteria.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9.-]+)` \| ([PORpor]) \| (\w+) \|", text, flags=re.M)
    return [(rule_id, letter.upper(), severity) for rule_id, letter, severity in rows]


CATALOGUE = catalogue_rows()


def test_catalogue_is_parsed():
    assert len(CATALOGUE) >= 80
    assert len({row[0] for row in CATALOGUE}) == len(CATALOGUE), "duplicate ids in catalogue"


@pytest.mark.parametrize(
    ("rule_id", "letter", "severity"), [pytest.param(*row, id=row[0]) for row in CATALOGUE]
)
def test_catalogue_rule_exists_with_scope_and_severity(engine, rule_id, letter, severity):
    ids = {rule.id for rule in engine.ruleset.rules}
    assert rule_id in ids, f"{rule_id} from criteria.md is not in the ruleset"
    rule = engine.ruleset.rule(rule_id)
    assert rule.scope == SCOPE_LETTERS[letter]
    assert rule.spec.severity == severity
