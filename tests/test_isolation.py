"""Assessments do not leak into one another: each runs in its own durable session."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest

from conftest import BACKENDS, comparable, facts_of, offer_file, resident_file, shared_engine
from roprules import Engine
from roprules.contract.intake import load_offer, load_resident

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EMPTY_RESIDENT = {"id": "R-empty"}
EMPTY_OFFER = {"id": "O-empty", "type": "small_house"}


@pytest.fixture(scope="module")
def pairs():
    """Placements with very different outcomes (many findings vs. few)."""
    return [
        (load_resident(resident_file("r01")), load_offer(offer_file("aalesund-gaseid"))),
        (load_resident(resident_file("r06")), load_offer(offer_file("ordinary-rental"))),
        (load_resident(resident_file("r05")), load_offer(offer_file("verdal-reinsholm"))),
        (load_resident(EMPTY_RESIDENT), load_offer(EMPTY_OFFER)),
    ]


@pytest.fixture(scope="module")
def baseline(engine, pairs):
    return [comparable(engine.check(r, o, now=NOW)) for r, o in pairs]


def test_pairs_differ(baseline):
    # the isolation checks below mean something only if the outcomes differ
    verdicts = {b["verdict"] for b in baseline}
    assert len(verdicts) >= 3
    assert len(baseline[0]["findings"]) > len(baseline[3]["findings"])


def test_interleaved_equals_alone(engine, pairs, baseline):
    order = [0, 1, 0, 1, 2, 0, 3, 1, 3, 2, 2, 0] * 5
    for index in order:
        resident, offer = pairs[index]
        assert comparable(engine.check(resident, offer, now=NOW)) == baseline[index]


def test_interleaved_scopes(engine, pairs):
    resident, offer = pairs[0]
    audit = comparable(engine.audit(offer, now=NOW))
    alone = comparable(engine.assess_resident(resident, now=NOW))
    for _ in range(5):
        engine.check(resident, offer, now=NOW)
        assert comparable(engine.audit(offer, now=NOW)) == audit
        engine.check(*pairs[3], now=NOW)
        assert comparable(engine.assess_resident(resident, now=NOW)) == alone


@pytest.mark.parametrize("backend", BACKENDS)
def test_fired_rule_does_not_leak_into_next_empty_fact(backend):
    assessor = shared_engine(backend)._evaluator
    truth_on_empty = {
        scope: {r.id for r in rules if r.evaluate({}) is True}
        for scope, rules in assessor.rules_by_scope.items()
    }
    resident, offer = load_resident(resident_file("r01")), load_offer(offer_file("aalesund-gaseid"))
    full = facts_of(resident, offer)
    for scope, durable in assessor.engines.items():
        assert durable.fire({}) == truth_on_empty[scope]
        fired = durable.fire(full)
        assert fired - truth_on_empty[scope], f"{scope}: r01 fires nothing beyond the empty case"
        assert durable.fire({}) == truth_on_empty[scope]
        assert durable.fire({}) == truth_on_empty[scope]


def test_empty_assessment_after_full_one(engine, pairs, baseline):
    engine.check(*pairs[0], now=NOW)
    empty = comparable(engine.check(*pairs[3], now=NOW))
    assert empty == baseline[3]
    leaked = {f["rule_id"] for f in empty["findings"]} - {
        f["rule_id"] for f in baseline[3]["findings"]
    }
    assert leaked == set()


def test_results_unchanged_after_2000_assessments(engine, pairs, baseline):
    cycle = itertools.cycle(range(len(pairs)))
    for _ in range(2000):
        index = next(cycle)
        engine.check(*pairs[index], now=NOW)
    for index, (resident, offer) in enumerate(pairs):
        assert comparable(engine.check(resident, offer, now=NOW)) == baseline[index]
    # and a freshly loaded engine agrees with the long-used one
    fresh = Engine.load()
    for index, (resident, offer) in enumerate(pairs):
        assert comparable(fresh.check(resident, offer, now=NOW)) == baseline[index]


def test_threads_share_one_engine_safely(engine, pairs, baseline):
    errors: list[str] = []

    def worker(start: int) -> None:
        for step in range(40):
            index = (start + step) % len(pairs)
            result = comparable(engine.check(*pairs[index], now=NOW))
            if result != baseline[index]:
                errors.append(f"thread {start} step {step}: pair {index} differs")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
