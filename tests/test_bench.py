"""benchmarks/bench.py --quick runs end to end and names every target for every backend.

No timing is asserted: the figures of a smoke run on a shared machine mean little.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO
from roprules.evaluation.backends import durable_available


def test_bench_quick_runs_and_reports_every_target() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench.py"), "--quick"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    targets = result.stdout.split("\ntargets", 1)[1]
    backends = ["evaluator", *(["durable"] if durable_available() else [])]
    for backend in backends:
        lines = [line for line in targets.splitlines() if f" {backend} " in line]
        names = " ".join(lines)
        for target in ("(c) Engine.check median", "(e) `roprules check` cold start"):
            assert target in names, (backend, target)
        assert all(("HELD" in line) or ("information" in line) for line in lines), lines
    if durable_available():
        durable_lines = " ".join(line for line in targets.splitlines() if " durable " in line)
        assert "adapter overhead (b)/(b0)" in durable_lines
        assert "(f) RSS growth" in durable_lines
    # the other helpers' parts are reported, or their absence is
    for module in ("bench_matrix", "bench_remedies"):
        present = (REPO / "benchmarks" / f"{module}.py").is_file()
        assert present or f"benchmarks/{module}.py is not here yet" in result.stdout
    assert "total benchmark time" in result.stdout
    # the machine's speed at the start and the end, so that runs can be compared
    header, footer = result.stdout.split("\ntargets", 1)
    assert "machine speed probe (a fixed pure-Python workload, CPU): " in header
    assert " ms at the start, " in footer.splitlines()[0]
