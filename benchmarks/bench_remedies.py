"""Benchmark: a whole placement check with remedies (what would make it suitable).

    python benchmarks/bench_remedies.py            # from the repository root, venv active
    python benchmarks/bench_remedies.py --quick

Times `Engine.check(resident, offer, remedies=True)` over every shipped resident
against every shipped offer (profiles as dicts, validated inside the timing, texts
rendered in bokmål), on each backend importable here, and the same check without
remedies beside it. Target: median <= 5 ms with remedies. `run()` returns
`[(name, value, target, held)]` for benchmarks/bench.py; values in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from roprules import Engine
from roprules.evaluation.backends import durable_available

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 5.0
AS_OF = "2026-12-01"


def _profiles(kind: str) -> list[dict[str, Any]]:
    folder = REPO / "profiles" / kind
    return [
        yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))
    ]


def _times(
    engine: Engine, pairs: Sequence[tuple[Any, Any]], remedies: bool, rounds: int
) -> list[float]:
    for resident, offer in pairs[:5]:  # warm up
        engine.check(resident, offer, as_of=AS_OF, remedies=remedies)
    times = []
    for _ in range(rounds):
        for resident, offer in pairs:
            start = time.perf_counter()
            engine.check(resident, offer, as_of=AS_OF, remedies=remedies)
            times.append((time.perf_counter() - start) * 1000)
    return times


def run(
    backend: str | None = None, quick: bool = False
) -> list[tuple[str, float, float | None, bool | None]]:
    """Median and p95 (ms) of a check with and without remedies, per backend."""
    residents, offers = _profiles("residents"), _profiles("offers")
    pairs = [(r, o) for r in residents for o in offers]
    rounds = 1 if quick else 3
    if backend is not None:
        backends: tuple[str, ...] = (backend,)
    else:
        backends = ("durable", "evaluator") if durable_available() else ("evaluator",)
    results: list[tuple[str, float, float | None, bool | None]] = []
    for backend in backends:
        with Engine.load(backend=backend) as engine:
            plain = _times(engine, pairs, False, rounds)
            remedied = _times(engine, pairs, True, rounds)
        median = statistics.median(remedied)
        p95 = statistics.quantiles(remedied, n=20)[-1]
        results.append(
            (f"check with remedies, median ({backend})", median, TARGET_MS, median <= TARGET_MS)
        )
        results.append((f"check with remedies, p95 ({backend})", p95, None, None))
        results.append(
            (f"check without remedies, median ({backend})", statistics.median(plain), None, None)
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    for name, value, target, held in rows:
        goal = f"target <= {target:g} ms: {'held' if held else 'MISSED'}" if target else ""
        print(f"{name:48} {value:7.2f} ms  {goal}")
    return 0 if all(held is not False for *_, held in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
