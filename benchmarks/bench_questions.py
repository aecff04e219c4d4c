"""The cost of "questions that matter" (issue 11.2) on the benchmark data.

    python benchmarks/bench_questions.py          # from the repository root, venv active

Times `could_change_verdict` alone (the best of 5 runs per placement, so that other
load on the machine counts as little as possible) over the seeded placements of
benchmarks/bench.py and over every shipped resident against every shipped offer,
with the median by verdict. The target: it adds at most 0.1 ms (median) to a check;
above that it would be computed only when remedies are asked for.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from bench import make_data, p95
from roprules import Engine
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.outcome import SCOPE_RULES, assessment_facts, verdict_of
from roprules.evaluation.questions import could_change_verdict

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 1, 1)
TARGET_S = 100e-6


def main() -> int:
    engine = Engine.load(backend="evaluator")
    evaluator = engine._evaluator
    seeded = [  # bench.py's placements (seed 2020)
        (ResidentProfile.model_validate(r), OfferProfile.model_validate(o))
        for r, o in make_data(600, 2020)
    ]
    shipped = [
        (load_resident(r), load_offer(o))
        for r in sorted((REPO / "profiles" / "residents").glob("*.yaml"))
        for o in sorted((REPO / "profiles" / "offers").glob("*.yaml"))
    ]
    rules = [r for part in SCOPE_RULES["placement"] for r in evaluator.rules_by_scope[part]]
    clock = time.perf_counter
    held = True
    for name, items in (("seeded placements (bench.py)", seeded), ("shipped 11 x 10", shipped)):
        times: list[float] = []
        by_verdict: dict[str, list[float]] = defaultdict(list)
        for resident, offer in items:
            facts = assessment_facts(resident, offer, AS_OF)
            outcome = evaluator.outcome("placement", facts)
            verdict = verdict_of(
                [r.severity for r in outcome.fired], [r.severity for r, _ in outcome.undetermined]
            )
            best = float("inf")
            for _ in range(5):
                started = clock()
                could_change_verdict(engine.ruleset, rules, outcome, facts)
                best = min(best, clock() - started)
            times.append(best)
            by_verdict[verdict].append(best)
        median = statistics.median(times)
        held = held and median <= TARGET_S
        print(
            f"{name}: n={len(times)}, median {median * 1e6:.0f} µs, p95 {p95(times) * 1e6:.0f} µs,"
            f" mean {statistics.mean(times) * 1e6:.0f} µs; by verdict: "
            + ", ".join(
                f"{v} {len(t)} x median {statistics.median(t) * 1e6:.0f} µs"
                for v, t in sorted(by_verdict.items())
            )
        )
    verdict = "held" if held else "MISSED"
    print(f"target: median <= {TARGET_S * 1e6:.0f} µs added to a check: {verdict}")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
