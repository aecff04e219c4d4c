"""Engines free durable_rules' C-side rulesets when closed or collected.

Each registered ruleset holds about 1 MB in the C library until
`delete_ruleset`; before `Engine.close()` 300 loads reached 433 MB.
"""

from __future__ import annotations

import gc

import pytest

from conftest import BACKENDS, needs_durable, offer_file, shared_engine
from roprules import Engine, EngineError

OFFER = offer_file("aalesund-gaseid")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@needs_durable
def test_rss_stays_flat_over_300_load_close_cycles():
    ruleset = shared_engine("durable").ruleset
    for _ in range(20):  # warm-up: allocator arenas, caches
        Engine(ruleset, backend="durable").close()
    gc.collect()
    before = rss_mb()
    for _ in range(300):  # the C-side part of Engine.load: every group registered anew
        with Engine(ruleset, backend="durable") as engine:
            assert engine.backend == "durable"
    for _ in range(5):  # and the whole load, files included
        Engine.load(backend="durable").close()
    gc.collect()
    after = rss_mb()
    assert after - before <= 10, f"RSS grew {after - before:.1f} MB over 300 load/close cycles"


@needs_durable
def test_close_deletes_every_session_and_ruleset(monkeypatch):
    """The mechanism behind the flat RSS (which freed memory reused by the allocator can
    hide): each group's session, then its ruleset, deleted once, at close."""
    import durable_rules_engine as dre

    calls: list[tuple[str, int]] = []
    for name in ("delete_state", "delete_ruleset"):
        real = getattr(dre, name)
        monkeypatch.setattr(
            dre,
            name,
            lambda handle, *a, _n=name, _r=real: calls.append((_n, handle)) or _r(handle, *a),
        )
    engine = Engine(shared_engine("durable").ruleset, backend="durable")
    handles = [g._handle for scope in engine._evaluator.engines.values() for g in scope.groups]
    assert len(handles) >= 3 and calls == []
    engine.close()
    assert sorted(calls) == sorted(
        [("delete_state", h) for h in handles] + [("delete_ruleset", h) for h in handles]
    )
    engine.close()
    assert len(calls) == 2 * len(handles)  # closing twice frees nothing twice


@needs_durable
def test_collected_engines_free_their_rulesets():
    ruleset = shared_engine("durable").ruleset
    for _ in range(20):
        Engine(ruleset, backend="durable")
    gc.collect()
    Engine(ruleset, backend="durable").close()  # the queued deletions run under the lock
    before = rss_mb()
    for _ in range(100):
        Engine(ruleset, backend="durable")  # never closed: collected at once
    gc.collect()
    Engine(ruleset, backend="durable").close()
    assert rss_mb() - before <= 10


@needs_durable
def test_a_closed_engine_refuses_to_assess():
    engine = Engine(shared_engine("durable").ruleset, backend="durable")
    assert engine.audit(OFFER).verdict
    engine.close()
    engine.close()  # twice is harmless
    with pytest.raises(EngineError, match="closed"):
        engine.audit(OFFER)


@pytest.mark.parametrize("backend", BACKENDS)
def test_context_manager_returns_the_engine_and_closes_it(backend):
    with Engine(shared_engine(backend).ruleset, backend=backend) as engine:
        first = engine.audit(OFFER)
    assert first.backend is not None and first.backend.name == backend
    with pytest.raises(EngineError, match="closed"):
        engine.audit(OFFER)
