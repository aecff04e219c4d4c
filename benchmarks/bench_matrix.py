"""The screening matrix of a whole city (issue 10 item 5), on one backend.

    python benchmarks/bench_matrix.py                      # auto backend, full run
    python benchmarks/bench_matrix.py --engine evaluator   # the evaluator backend
    python benchmarks/bench_matrix.py --quick              # a smaller run (~30 s)

Three figures, each with its target (bench.py calls `run()` and prints them too):

  per-cell µs, one core     `Engine.matrix(residents, offers)` in one process over
                            seeded, varied profiles (dicts, validated inside the
                            timing), the median of 3 runs divided by the cells;
                            target ≤ 60 µs
  workers speed-up          the same matrix with `workers=2` (two processes: this one
                            and a worker) against `workers=1`; target ≥ 1.7 on 2 cores
  1,000 × 1,000             a large city's allocation round, one million cells,
                            `workers=2`; target ≤ 60 s; its peak memory (max RSS of
                            this process, getrusage, and of the worker, VmHWM) is reported

The machine may be shared: the load average is printed before each figure, and
each timing's spread (min..max of the runs) next to its median.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from roprules import Engine

AS_OF = "2026-11-30"
SEED = 2020
TARGET_US_PER_CELL = 60.0
TARGET_SPEEDUP = 1.7
TARGET_CITY_SECONDS = 60.0

# The seeded profile generator shared with the tests (tests/seeded_profiles.py).
_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
from seeded_profiles import contract_range, mostly_small, random_profile  # noqa: E402

# --------------------------------------------------------------------------- data


# Numbers within the contract's ranges (3000 where it sets no maximum), small most of
# the time (tests/seeded_profiles.py); dates as JSON has them.
NUMBERS = mostly_small(lambda path: contract_range(path, 3000.0))


def profile(prefix: str, index: int, rng: random.Random) -> dict[str, Any]:
    """A valid, partial profile without BrukerPlan scores: this benchmark's recipe."""
    return random_profile(prefix, index, rng, NUMBERS, brukerplan=False, dates_as_text=True)


def city(residents: int, offers: int, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """Seeded, varied profiles; profiles that fail validation are drawn again."""
    from roprules.contract.profiles import OfferProfile, ResidentProfile

    rng = random.Random(seed)
    models = {"resident": ResidentProfile, "offer": OfferProfile}

    def valid(prefix: str, index: int) -> dict[str, Any]:
        while True:
            data = profile(prefix, index, rng)
            try:
                models[prefix].model_validate(data)
            except ValueError:
                continue
            return data

    return (
        [valid("resident", i) for i in range(residents)],
        [valid("offer", i) for i in range(offers)],
    )


# --------------------------------------------------------------------------- measuring


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    """The peak resident set of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workers_peak_rss_mb(engine: Engine) -> float:
    """The largest peak resident set (VmHWM) of the engine's matrix workers, MB; 0 if none.

    Read from /proc while they run: `getrusage(RUSAGE_CHILDREN)` is wrong for them, since
    a child's `ru_maxrss` also counts the memory it shared with this process between
    fork and exec: a worker started after this process had grown reported this
    process's peak (577 MB in bench.py, where the durable run comes first).
    """
    pool = getattr(engine, "_matrix_workers", None)
    peaks = [0.0]
    for process in getattr(pool, "pids", []) if pool is not None and pool.alive else []:
        try:
            with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return max(peaks)


def worker_cpu(engine: Engine) -> list[float]:
    """CPU seconds used so far by each matrix worker process (Linux /proc), [] if none."""
    pool = getattr(engine, "_matrix_workers", None)
    seconds = []
    for process in getattr(pool, "pids", []) if pool is not None and pool.alive else []:
        try:
            with open(f"/proc/{process.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return []
        seconds.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return seconds


def timed(
    engine: Engine, residents: list, offers: list, workers: int, runs: int
) -> tuple[list[float], list[float], list[list[float]]]:
    """Wall seconds, this process's CPU seconds and each worker's CPU seconds, per run."""
    wall, cpu, workers_cpu = [], [], []
    for _ in range(runs):
        before = worker_cpu(engine)
        started, started_cpu = time.perf_counter(), time.process_time()
        engine.matrix(residents, offers, as_of=AS_OF, workers=workers)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        after = worker_cpu(engine)
        workers_cpu.append([b - a for a, b in zip(before, after, strict=False)])
    return wall, cpu, workers_cpu


def spread(values: Sequence[float], scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"median {statistics.median(v):.3g} (min {min(v):.3g}, max {max(v):.3g})"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(backend: str, quick: bool = False) -> list[tuple[str, float, float | None, bool | None]]:
    """(name, value, target, held) of the matrix figures on one backend.

    The per-cell figure is this process's CPU time (`time.process_time`, one core):
    on a shared machine the wall time also counts the other jobs; both are printed
    (to stderr) with their spread.
    """
    results: list[tuple[str, float, float | None, bool | None]] = []
    with Engine.load(backend=backend) as engine:
        name = engine.backend
        size = (40, 100) if quick else (100, 300)
        residents, offers = city(*size)
        cells = size[0] * size[1]
        engine.matrix(residents[:2], offers[:5], as_of=AS_OF)  # warm
        say(f"[{name}] load average {load()}")
        wall, cpu, _ = timed(engine, residents, offers, 1, 3 if quick else 5)
        per_cell = statistics.median(cpu) / cells * 1e6
        say(
            f"[{name}] {size[0]} x {size[1]}, one process, µs per cell: CPU "
            f"{spread(cpu, 1e6 / cells)}; wall {spread(wall, 1e6 / cells)}"
        )
        results.append(
            (
                f"matrix µs per cell, one core ({name})",
                per_cell,
                TARGET_US_PER_CELL,
                per_cell <= TARGET_US_PER_CELL,
            )
        )
        if name == "durable":
            # For comparison: every cell's placement rules through durable_rules itself.
            from roprules.contract.profiles import OfferProfile, ResidentProfile
            from roprules.evaluation.matrix import screen_each_cell

            few = (10, 50) if quick else (20, 100)
            people = [ResidentProfile.model_validate(r) for r in residents[: few[0]]]
            places = [OfferProfile.model_validate(o) for o in offers[: few[1]]]
            started = time.process_time()
            screen_each_cell(engine._evaluator, people, places, as_of=date.fromisoformat(AS_OF))
            each = (time.process_time() - started) / (few[0] * few[1]) * 1e6
            say(
                f"[{name}] {few[0]} x {few[1]}, every cell through durable_rules: {each:.0f} µs CPU"
            )
            results.append(
                (
                    "matrix µs per cell, every cell via durable_rules (reference)",
                    each,
                    None,
                    None,
                )
            )
        big = (100, 300) if quick else (200, 600)
        residents, offers = city(*big, seed=SEED + 1)
        engine.matrix(residents[:4], offers[:5], as_of=AS_OF, workers=2)  # start the workers
        say(f"[{name}] load average {load()}")
        single, single_cpu, _ = timed(engine, residents, offers, 1, 3)
        double, parent_cpu, workers_cpu = timed(engine, residents, offers, 2, 3)
        speedup = statistics.median(single) / statistics.median(double)
        say(
            f"[{name}] {big[0]} x {big[1]} wall s, workers=1: {spread(single)}; "
            f"workers=2: {spread(double)}; speed-up {speedup:.2f} (load average {load()})"
        )
        if all(workers_cpu):
            # What two otherwise idle cores would give. This process and the worker share
            # the chunks (whoever is free takes the next), so the split follows the CPU each
            # got from a busy machine: on idle cores it evens out (half the total, the upper
            # figure); split as in this run, the busiest process bounds it (the lower one).
            one = statistics.median(single_cpu)
            runs = list(zip(parent_cpu, workers_cpu, strict=True))
            busiest = [max(parent, *busy) for parent, busy in runs]
            even = [(parent + sum(busy)) / 2 for parent, busy in runs]
            shown = [[round(x, 2) for x in w] for w in workers_cpu]
            say(
                f"[{name}] CPU s, workers=1: {spread(single_cpu)}; workers=2: this process "
                f"{spread(parent_cpu)}, the worker {shown}"
                f"; on two idle cores that is a speed-up of {one / statistics.median(even):.2f}"
                f" with the work split evenly, {one / statistics.median(busiest):.2f} as split here"
            )
        results.append(
            (
                f"matrix workers=2 speed-up, wall ({name})",
                speedup,
                TARGET_SPEEDUP,
                speedup >= TARGET_SPEEDUP,
            )
        )
        whole = (300, 300) if quick else (1000, 1000)
        residents, offers = city(*whole, seed=SEED + 2)
        say(f"[{name}] load average {load()}")
        started = time.perf_counter()
        matrix = engine.matrix(residents, offers, as_of=AS_OF, workers=2)
        seconds = time.perf_counter() - started
        count = sum(len(row.ranking) for row in matrix.rows)
        del matrix
        worker = workers_peak_rss_mb(engine)
        engine.close()
        parent = peak_rss_mb()
        peak = parent + worker  # at most: the parent and the worker at their peaks
        scaled = seconds * 1_000_000 / count
        say(
            f"[{name}] {whole[0]} x {whole[1]}, workers=2: {seconds:.1f} s wall, "
            f"{count} cells, peak RSS: this process {parent:.0f} MB, a worker ≤ {worker:.0f} MB "
            f"(load average {load()})"
        )
        label = "1,000 x 1,000" if not quick else "300 x 300 scaled to 1,000 x 1,000"
        results.append(
            (
                f"matrix {label}, 2 workers, s ({name}; peak RSS {peak:.0f} MB)",
                scaled,
                TARGET_CITY_SECONDS,
                scaled <= TARGET_CITY_SECONDS,
            )
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--engine", choices=("auto", "durable", "evaluator"), default="auto")
    args = parser.parse_args(argv)
    print(f"roprules matrix benchmark: {os.cpu_count()} cores, load average {load()}")
    for name, value, target, held in run(args.engine, quick=args.quick):
        if target is None:
            print(f"  {name:<72} {value:9.2f}  (information)")
            continue
        relation = ">=" if "speed-up" in name else "<="
        verdict = "HELD" if held else "MISSED"
        print(f"  {name:<72} {value:9.2f}  target {relation} {target:g}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
