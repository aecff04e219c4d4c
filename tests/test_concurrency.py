"""The public API from many threads gives exactly the sequential results.

durable_rules' C binding is not thread-safe (the default Host segfaults with
threads); the engine serialises every call into it with one lock. This test
runs 10,000 generated placements (plus offer audits and resident checks, in
both languages) once sequentially and once from 8 threads sharing one Engine,
and compares the full JSON of every assessment.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from roprules import Engine
from seeded_profiles import near_thresholds, random_profile
from strategies import bounds

THREADS = 8
PLACEMENTS = 10_000
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRESENCE = (0.2, 0.5, 0.8, 1.0)  # how likely each field is known, drawn per profile


# Numbers near the rules' thresholds, within the bounds the hypothesis strategies use.
NUMBERS = near_thresholds(bounds)


def random_profiles(rng: random.Random, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid partial resident and offer (tests/seeded_profiles.py); some offers with a
    name that must be escaped in every format."""
    resident = random_profile("resident", index, rng, NUMBERS, presence=PRESENCE)
    offer = random_profile("offer", index, rng, NUMBERS, presence=PRESENCE)
    if rng.random() < 0.3:
        offer["name"] = f"Botilbud {index} <b>&</b> Ø"
    return resident, offer


Job = Callable[[Engine], str]


def make_jobs(count: int, seed: int) -> list[Job]:
    rng = random.Random(seed)
    jobs: list[Job] = []
    for index in range(count):
        resident, offer = random_profiles(rng, index)
        lang = "en" if index % 3 == 0 else "nb"
        if index % 10 == 7:
            jobs.append(
                lambda e, o=offer, lang=lang: e.audit(o, lang=lang, now=NOW).model_dump_json()
            )
        elif index % 10 == 8:
            jobs.append(
                lambda e, r=resident, lang=lang: e.assess_resident(
                    r, lang=lang, now=NOW
                ).model_dump_json()
            )
        else:
            jobs.append(
                lambda e, r=resident, o=offer, lang=lang: e.check(
                    r, o, lang=lang, now=NOW
                ).model_dump_json()
            )
    return jobs


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    return make_jobs(PLACEMENTS, seed=20260101)


@pytest.fixture(scope="module")
def sequential(engine: Engine, jobs: list[Job]) -> list[str]:
    started = time.perf_counter()
    results = [job(engine) for job in jobs]
    elapsed = time.perf_counter() - started
    print(f"\nsequential: {len(jobs)} assessments in {elapsed:.1f} s")
    return results


def run_threaded(engine: Engine, jobs: list[Job], threads: int) -> list[str]:
    """Each thread takes every `threads`-th job, all threads released together."""
    results: list[str | None] = [None] * len(jobs)
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker(offset: int) -> None:
        barrier.wait()
        try:
            for index in range(offset, len(jobs), threads):
                results[index] = jobs[index](engine)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert not errors, errors[:3]
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def test_the_generated_placements_are_varied(engine: Engine, sequential: list[str]) -> None:
    verdicts = {
        v: sum(f'"verdict":"{v}"' in r for r in sequential)
        for v in (
            "unsuitable",
            "incomplete",
            "conditional",
            "suitable",
        )
    }
    assert all(count > 50 for count in verdicts.values()), verdicts


def test_eight_threads_give_the_sequential_results(
    engine: Engine, jobs: list[Job], sequential: list[str]
) -> None:
    started = time.perf_counter()
    threaded = run_threaded(engine, jobs, THREADS)
    elapsed = time.perf_counter() - started
    print(f"\n{THREADS} threads: {len(jobs)} assessments in {elapsed:.1f} s")
    mismatches = [i for i, (a, b) in enumerate(zip(sequential, threaded, strict=True)) if a != b]
    assert not mismatches, f"{len(mismatches)} differ, first at {mismatches[:5]}"


def test_threads_with_a_thread_pool_and_two_engines(
    engine: Engine, jobs: list[Job], sequential: list[str]
) -> None:
    """Two Engine instances share the C library's global state: still no cross-talk."""
    other = Engine.load()
    subset = list(range(0, len(jobs), 5))

    def run(position: int) -> str:
        index = subset[position]
        return jobs[index](other if position % 2 else engine)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(run, range(len(subset))))
    assert results == [sequential[i] for i in subset]


def test_rank_from_threads(engine: Engine, jobs: list[Job]) -> None:
    rng = random.Random(7)
    pairs = [random_profiles(rng, i) for i in range(40)]
    residents = [r for r, _ in pairs[:8]]
    offers = [o for _, o in pairs]
    expected = [engine.rank(r, offers, now=NOW).model_dump_json() for r in residents]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        got = list(pool.map(lambda r: engine.rank(r, offers, now=NOW).model_dump_json(), residents))
    assert got == expected
