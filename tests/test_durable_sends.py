"""The durable fact carries only values some comparison could find true (`FactEncoder.sends`).

A property whose value makes every comparison on its key false is left out of the
fact sent to durable_rules: a comparison on a missing property is false too. These
tests hold that to durable_rules itself (the same rules fire with every value sent
and with the values left out) and pin what is always sent: the guard, keys whose
presence matters (`$ex`, `$nex`, same-fact references) and values whose comparison
durable_rules makes differently from Python (escaped or low characters, mixed kinds).
"""

from __future__ import annotations

import json
import operator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import facts_of, needs_durable, shared_engine
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.rulebase.conditions import Leaf
from roprules.rulebase.durable_compile import (
    GUARD_KEY,
    FactEncoder,
    fact_key,
    key_tests,
)
from strategies import offer_profiles, resident_profiles

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_key_tests_reads_each_comparison() -> None:
    tests = key_tests(
        [
            {"$and": [{"id": "a"}, {"f1": "t"}, {"$gt": {"f2": "p5000012"}}]},
            {"$or": [{"f1": "f"}, {"$ex": {"f3": 1}}, {"$nex": {"f4": 1}}]},
            {"$and": [{"$lt": {"f5": {"$m": "f6"}}}, {"f7_n": 0}, {"f8": "a b"}]},
        ]
    )
    assert tests["f1"] == ((operator.eq, "t"), (operator.eq, "f"))
    assert tests["f2"] == ((operator.gt, "p5000012"),)
    assert tests["f7_n"] == ((operator.eq, 0),)
    # always sent: the guard, existence tests, both sides of a reference, a constant
    # whose comparison durable_rules makes differently (a space sorts below '"')
    for key in (GUARD_KEY, "f3", "f4", "f5", "f6", "f8"):
        assert tests[key] is None, key


def test_sends_only_values_that_could_make_a_comparison_true() -> None:
    path = "resident.dementia"
    key = fact_key(path)
    encoder = FactEncoder(
        [Leaf(path, "eq", True)],
        key_tests([{"$and": [{"id": "a"}, {key: "t"}, {"$gte": {"n_": "p5000012"}}]}]),
    )
    assert encoder.sends(key, "t")
    assert not encoder.sends(key, "f")
    assert encoder.encode({path: True}) == {GUARD_KEY: "a", key: "t"}
    assert encoder.encode({path: False}) == {GUARD_KEY: "a"}
    assert json.loads(encoder.text({path: False})) == {GUARD_KEY: "a"}
    assert json.loads(encoder.text({path: True})) == {GUARD_KEY: "a", key: "t"}
    # order comparisons on number keys, decided as durable_rules decides them
    assert encoder.sends("n_", "p5000012")
    assert encoder.sends("n_", "p50000121")
    assert not encoder.sends("n_", "p5000011f")
    # not decided here: sent
    assert encoder.sends(key, "a\\b")  # an escape in the JSON text
    assert encoder.sends(key, "x y")  # a character below '"'
    assert encoder.sends(key, "ø")  # written as \u00f8
    assert encoder.sends(key, 1)  # another kind: durable_rules coerces
    assert encoder.sends(key, True)
    # a key no rule compares is never sent; without tests everything is
    assert not encoder.sends("f9999", "t")
    assert FactEncoder([Leaf(path, "eq", True)]).sends(key, "f")


@pytest.fixture(scope="module")
def durable_groups():
    return shared_engine("durable")._evaluator.durable_firings["placement"].groups


def _fired_with(group: Any, text: str) -> set[str]:
    """The rule ids durable_rules fires for one fact text in the group's ruleset."""
    import durable_rules_engine as dre

    from roprules.evaluation.durable import _LOCK, NOT_HANDLED, RETRACT_TEXT

    fired: set[str] = set()
    with _LOCK:
        if not group._primed:
            group._prime()
        result, state = dre.assert_fact(group._handle, text)
        if result == NOT_HANDLED:
            return fired
        assert result == 0, result
        started = dre.start_action_for_state(group._handle, state)
        message = started[1] if started else None
        while message:
            fired.add(group._rule_of_name[group._name_of(message)])
            message = dre.complete_and_start_action(group._handle, state)
        _, state = dre.retract_fact(group._handle, RETRACT_TEXT)
        assert not dre.start_action_for_state(group._handle, state)
    return fired


@needs_durable
@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_the_same_rules_fire_with_every_value_sent(durable_groups, resident, offer):
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    for group in durable_groups:
        everything = FactEncoder(group.conditions)  # no tests: every value sent
        full = everything.text(facts)
        sent = group.encoder.text(facts)
        assert len(sent) <= len(full)
        assert json.loads(sent).items() <= json.loads(full).items()
        assert _fired_with(group, sent) == _fired_with(group, full), group.label


@needs_durable
def test_shipped_profiles_fire_the_same_with_shorter_facts(durable_groups):
    import yaml

    from conftest import OFFERS_DIR, RESIDENTS_DIR

    residents = [yaml.safe_load(p.read_text()) for p in sorted(RESIDENTS_DIR.glob("*.yaml"))]
    offers = [yaml.safe_load(p.read_text()) for p in sorted(OFFERS_DIR.glob("*.yaml"))]
    shorter = 0
    for resident in residents:
        for offer in offers:
            facts = facts_of(
                ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer)
            )
            for group in durable_groups:
                full = FactEncoder(group.conditions).text(facts)
                sent = group.encoder.text(facts)
                shorter += len(sent) < len(full)
                assert _fired_with(group, sent) == _fired_with(group, full), group.label
    assert shorter  # values are left out on the shipped profiles
