"""Benchmarks of roprules, all in one run over the same seeded data.

    python benchmarks/bench.py            # from the repository root, venv active
    python benchmarks/bench.py --quick    # a smaller run (~20 s)

Prints, side by side:
  (a) the floor: the compiled three-valued closures (`rule.evaluate(facts)`) of every
      placement, offer and resident rule over one placement's facts;
  (b) firing the same facts through the durable_rules adapter
      (`assessor.durable[scope].fire(facts)` for the three scopes);
  (c) a full placement assessment through the public API, `Engine.check(resident_dict,
      offer_dict)` with explanations rendered in nb (profiles validated from dicts);
  (d) a municipality matrix: 100 residents x 300 offers screened through
      `Engine.matrix` (verdicts and rule ids per cell, no texts; profiles given as
      dicts and validated inside the timing);
  (e) `roprules check` cold start as a whole process (shipped profiles);
  (f) resident-set size (VmRSS) before and after 200,000 assessments through the
      durable_rules adapter (`assessor.durable[scope].fire(facts)`, three scopes): the
      part that holds C-side session state; the full check is too slow for 200,000;
  (g) VmRSS before and after 300 load/close cycles: `with Engine(ruleset,
      backend="durable")` (every durable_rules ruleset registered and deleted
      again: the C-side part of Engine.load), plus 10 whole `Engine.load()` +
      `close()` (a whole load reads and checks the files, ~0.3 s each).
and whether each target holds on this machine (2 cores): the adapter's overhead
over durable_rules' own C calls on the same facts (b)/(b0) <= 1.3 ((b)/(a) is
reported as information),
(c) median <= 1 ms, (d) <= 10 s, (e) <= 0.5 s, (f) growth <= 5 MB,
(g) growth <= 10 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from roprules import Engine
from roprules.backends import durable_available
from roprules.conditions import ParamRef, Sum, leaves
from roprules.fields import FIELDS
from roprules.profiles import OfferProfile, ResidentProfile, profile_to_facts

REPO = Path(__file__).resolve().parents[1]
SHIPPED_RESIDENT = REPO / "profiles" / "residents" / "r01-high-risk-round-the-clock.yaml"
SHIPPED_OFFER = REPO / "profiles" / "offers" / "verdal-reinsholm.yaml"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SKIP = ("id", "name", "municipality")

# Valid ranges of the numeric fields (contract.md), by the last part of the path.
RANGES: dict[str, tuple[float, float]] = {
    "age": (16, 110),
    "floor_area_m2": (12, 120),
    "units": (1, 40),
    "contract_months": (1, 60),
    "max_tenure_months": (1, 60),
    "fire_risk_class": (1, 6),
}
BRUKERPLAN_RANGE = (1, 5)
DEFAULT_RANGE = (0, 3000)


# --------------------------------------------------------------------------- data


def numeric_thresholds(engine: Engine) -> dict[str, list[float]]:
    """The numbers the rules compare each numeric field with (constants and parameters)."""
    found: dict[str, set[float]] = {}
    params = engine.ruleset.params
    for rule in engine.ruleset.rules:
        for leaf in leaves(rule.condition):
            operand = leaf.operand
            if isinstance(operand, ParamRef):
                number = params[operand.name]
            elif isinstance(operand, (int, float)) and not isinstance(operand, bool):
                number = operand
            else:
                continue
            paths = leaf.subject.paths if isinstance(leaf.subject, Sum) else (leaf.subject,)
            for path in paths:
                found.setdefault(path, set()).add(number)
    return {path: sorted(numbers) for path, numbers in found.items()}


def value_range(path: str) -> tuple[float, float]:
    if ".brukerplan." in path:
        return BRUKERPLAN_RANGE
    return RANGES.get(path.rsplit(".", 1)[1], DEFAULT_RANGE)


def random_value(path: str, rng: random.Random, near: dict[str, list[float]]) -> Any:
    spec = FIELDS[path]
    if spec.kind == "bool":
        return rng.random() < 0.5
    if spec.kind == "enum":
        return rng.choice(spec.values)
    if spec.kind == "list":
        return [v for v in spec.values if rng.random() < 0.35]
    if spec.numeric:
        low, high = value_range(path)
        close = [n + d for n in near.get(path, ()) for d in (-1, 0, 1) if low <= n + d <= high]
        number = rng.choice(close) if close and rng.random() < 0.6 else rng.uniform(low, high)
        return int(number) if spec.kind == "int" else round(float(number), 1)
    if spec.kind == "date":
        return date.fromordinal(date(2020, 1, 1).toordinal() + rng.randrange(2000))
    raise AssertionError(spec)


def nest(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {"resident": {}, "offer": {}}
    for path, value in facts.items():
        *parents, last = path.split(".")
        current = nested
        for name in parents:
            current = current.setdefault(name, {})
        current[last] = value
    return nested


def random_profile(
    prefix: str, index: int, rng: random.Random, near: dict[str, list[float]]
) -> dict[str, Any]:
    """A valid, partial profile: each field known with a probability drawn per profile."""
    present = rng.choice((0.3, 0.6, 0.9, 1.0))
    facts = {
        path: random_value(path, rng, near)
        for path, spec in FIELDS.items()
        if path.startswith(prefix + ".")
        and spec.kind != "object"
        and path.rsplit(".", 1)[1] not in SKIP
        and path != "offer.type"
        and rng.random() < present
    }
    profile = {"id": f"{prefix[0].upper()}-{index}", **nest(facts)[prefix]}
    if prefix == "offer":
        profile["type"] = rng.choice(FIELDS["offer.type"].values)
        profile["name"] = f"Botilbud {index}"
    return profile


# --------------------------------------------------------------------------- measuring


def per_call(function: Callable[[Any], Any], items: Sequence[Any]) -> list[float]:
    """Seconds per call, one timing per item (after a short warm-up)."""
    for item in items[:20]:
        function(item)
    timings = []
    clock = time.perf_counter
    for item in items:
        started = clock()
        function(item)
        timings.append(clock() - started)
    return timings


def p95(values: Sequence[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} µs"


def verdict(held: bool) -> str:
    return "HELD" if held else "MISSED"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def measure_durable(
    assessor: Any, facts_list: Sequence[dict[str, Any]]
) -> tuple[list[float], list[float]]:
    """(b) the durable_rules adapter over the facts, and (b0) its C calls alone."""
    import durable_rules_engine as dre

    from roprules.engine import SESSION_ID

    # (b) durable
    engines = [assessor.durable[s] for s in ("placement", "offer", "resident")]

    def durable(facts: dict[str, Any]) -> None:
        for scope_engine in engines:
            scope_engine.fire(facts)

    # (b0) the share of (b) spent inside durable_rules' C library: the same facts,
    # encoded beforehand, through the calls the adapter makes (assert -> drain
    # actions -> retract, one reused session per group). It bounds what any adapter
    # can reach; (b)/(b0) is the adapter's own overhead.
    groups = [group for scope_engine in engines for group in scope_engine.groups]
    encoded = [
        [json.dumps({**g.encoder.encode(facts), "sid": SESSION_ID}) for g in groups]
        for facts in facts_list
    ]

    def durable_c_only(texts: list[str]) -> None:
        for group, text in zip(groups, texts, strict=True):
            handle = group._handle
            _, state = dre.assert_fact(handle, text)
            result = dre.start_action_for_state(handle, state)
            message = result[1] if result else None
            while message:
                message = dre.complete_and_start_action(handle, state)
            dre.retract_fact(handle, text)

    gc.collect()
    return per_call(durable, facts_list), per_call(durable_c_only, encoded)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--engine",
        choices=("auto", "durable", "evaluator"),
        default="auto",
        help="backend (auto: durable where durable_rules imports); the durable_rules "
        "figures (b), (f) and (g) need the durable backend",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    placements = 300 if quick else 2000
    matrix = (20, 60) if quick else (100, 300)
    cold_runs = 3 if quick else 5
    soak = 20_000 if quick else 200_000

    print(f"roprules benchmark{' (--quick)' if quick else ''}: {machine()}")
    started_all = time.perf_counter()
    load_started = time.perf_counter()
    engine = Engine.load(backend=args.engine)
    load_seconds = time.perf_counter() - load_started
    assessor = engine._assessor
    durable_backend = engine.backend == "durable"
    print(
        f"Engine.load(backend={args.engine!r}): {engine.backend} backend, {load_seconds:.2f} s, "
        f"{len(engine.ruleset.rules)} rules"
        + (
            ", groups: "
            + ", ".join(
                f"{g.label}={len(g.rule_ids)}" for s in assessor.durable.values() for g in s.groups
            )
            if durable_backend
            else ""
        )
    )
    if not durable_backend:
        why = "durable_rules cannot be imported here" if not durable_available() else "chosen"
        print(f"evaluator backend ({why}): (b), (f) and (g) measure durable_rules and are skipped")

    rng = random.Random(args.seed)
    near = numeric_thresholds(engine)
    pairs = [
        (random_profile("resident", i, rng, near), random_profile("offer", i, rng, near))
        for i in range(placements)
    ]
    facts_list = [
        {
            **profile_to_facts("resident", ResidentProfile.model_validate(r)),
            **profile_to_facts("offer", OfferProfile.model_validate(o)),
        }
        for r, o in pairs
    ]
    rules = [
        r for scope in ("placement", "offer", "resident") for r in assessor.rules_by_scope[scope]
    ]
    fired_counts = [sum(r.evaluate(f) is True for r in rules) for f in facts_list]
    print(
        f"data: {placements} seeded placements, {statistics.mean(map(len, facts_list)):.0f} "
        f"known facts and {statistics.mean(fired_counts):.1f} rules firing on average"
    )

    # (a) the floor
    def floor(facts: dict[str, Any]) -> None:
        for rule in rules:
            rule.evaluate(facts)

    # (c) the public API, full assessment with texts in nb
    def full(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
        engine.check(pair[0], pair[1], lang="nb", now=NOW)

    gc.collect()
    floor_t = per_call(floor, facts_list)
    durable_t, c_only_t = measure_durable(assessor, facts_list) if durable_backend else ([], [])
    full_t = per_call(full, pairs)

    print()
    print(f"{'':44} {'median':>11} {'p95':>11} {'mean':>11}")
    rows = [("(a) floor: compiled closures, every rule", floor_t)]
    if durable_backend:
        rows += [
            ("(b) durable_rules adapter, three scopes", durable_t),
            ("    of which inside durable_rules (C)", c_only_t),
        ]
    rows.append((f"(c) Engine.check(dicts), texts in nb, {engine.backend}", full_t))
    for label, timings in rows:
        print(
            f"{label:44} {us(statistics.median(timings))} {us(p95(timings))} "
            f"{us(statistics.mean(timings))}"
        )
    overhead = ratio = 0.0
    if durable_backend:
        ratio = statistics.median(durable_t) / statistics.median(floor_t)
        overhead = statistics.median(durable_t) / statistics.median(c_only_t)
        print(
            f"    adapter overhead (b)/(b0): {overhead:.2f}; (b)/(a) median ratio: "
            f"{ratio:.2f}; (c)/(b): "
            f"{statistics.median(full_t) / statistics.median(durable_t):.2f}; "
            f"durable_rules' own C calls alone / (a): "
            f"{statistics.median(c_only_t) / statistics.median(floor_t):.2f}"
        )

    # (d) the municipality matrix
    residents = [random_profile("resident", 10_000 + i, rng, near) for i in range(matrix[0])]
    offers = [random_profile("offer", 10_000 + i, rng, near) for i in range(matrix[1])]
    matrix_started = time.perf_counter()
    engine.matrix(residents, offers)
    matrix_seconds = time.perf_counter() - matrix_started
    cells = matrix[0] * matrix[1]
    print(
        f"(d) matrix {matrix[0]} residents x {matrix[1]} offers via Engine.matrix: "
        f"{matrix_seconds:.2f} s ({matrix_seconds / cells * 1e6:.0f} µs per cell)"
    )
    if cells < 100 * 300:
        matrix_seconds *= (100 * 300) / cells
        print(f"    (--quick) extrapolated to 100 x 300: {matrix_seconds:.2f} s")

    # (e) cold start of the command line
    command = [str(Path(sys.executable).parent / "roprules")]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "roprules.cli"]
    command += ["check", "--resident", str(SHIPPED_RESIDENT), "--offer", str(SHIPPED_OFFER)]
    cold = []
    for _ in range(cold_runs):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, cwd=REPO)
        cold.append(time.perf_counter() - started)
        if result.returncode != 0:
            print(f"    roprules check exited {result.returncode}: {result.stderr[-300:]!r}")
    cold_median = statistics.median(cold)
    print(
        f"(e) `roprules check` cold start: median {cold_median:.3f} s of {cold_runs} runs "
        f"(min {min(cold):.3f}, max {max(cold):.3f})"
    )

    growth = load_growth = 0.0
    if durable_backend:
        # (f) memory over many assessments: the durable_rules adapter, where the C-side
        # session state lives (a session not deleted costs ~1 MB)
        gc.collect()
        before = rss_mb()
        scope_engines = [assessor.durable[s] for s in ("placement", "offer", "resident")]
        soak_started = time.perf_counter()
        for i in range(soak):
            facts = facts_list[i % placements]
            for scope_engine in scope_engines:
                scope_engine.fire(facts)
        soak_seconds = time.perf_counter() - soak_started
        gc.collect()
        after = rss_mb()
        growth = after - before
        print(
            f"(f) VmRSS over {soak:,} assessments via assessor.durable[scope].fire(facts), "
            f"three scopes: {before:.1f} MB -> {after:.1f} MB (growth {growth:+.2f} MB; "
            f"{soak_seconds:.1f} s, {soak_seconds / soak * 1e6:.0f} µs each)"
        )

        # (g) memory over load/close cycles: the C-side rulesets must be freed
        ruleset = engine.ruleset
        for _ in range(20):  # warm-up
            Engine(ruleset, backend="durable").close()
        gc.collect()
        load_before = rss_mb()
        cycles_started = time.perf_counter()
        for _ in range(300):
            with Engine(ruleset, backend="durable"):
                pass
        for _ in range(10):
            Engine.load(backend="durable").close()
        cycles_seconds = time.perf_counter() - cycles_started
        gc.collect()
        load_growth = rss_mb() - load_before
        print(
            f"(g) VmRSS over 300 Engine(ruleset) + 10 Engine.load() load/close cycles: "
            f"{load_before:.1f} MB -> {load_before + load_growth:.1f} MB "
            f"(growth {load_growth:+.2f} MB; {cycles_seconds:.1f} s)"
        )

    print()
    print("targets (2-core machine):")
    durable_results = [
        ("(b)/(b0) adapter overhead <= 1.3", f"{overhead:.2f}", overhead <= 1.3),
        ("(f) RSS growth <= 5 MB", f"{growth:+.2f} MB", growth <= 5),
        ("(g) 300 load/close <= 10 MB", f"{load_growth:+.2f} MB", load_growth <= 10),
    ]
    results = [
        (
            "(c) median <= 1 ms",
            f"{statistics.median(full_t) * 1e3:.3f} ms",
            statistics.median(full_t) <= 1e-3,
        ),
        ("(d) 100 x 300 matrix <= 10 s", f"{matrix_seconds:.2f} s", matrix_seconds <= 10),
        ("(e) cold start <= 0.5 s", f"{cold_median:.3f} s", cold_median <= 0.5),
        *(durable_results if durable_backend else []),
    ]
    for label, figure, held in results:
        print(f"  {label:30} {figure:>12}  {verdict(held)}")
    print(f"total benchmark time: {time.perf_counter() - started_all:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
