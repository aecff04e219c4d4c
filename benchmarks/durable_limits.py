"""Measure where durable_rules' `create_ruleset` stops returning, or fails.

    python benchmarks/durable_limits.py [--timeout 10] [--series wide,group,nested]

Each ruleset is created in a child process with a timeout (a definition past
the limit can hang the C library for ever with the GIL held). Rulesets have
the shape `roprules.evaluation.durable` compiles to: a sentinel rule and rules guarded by a
constant term, `{"$and": [guard, expression]}`. For each case it prints the
network's size as `roprules.evaluation.durable_limits.network_counts` reconstructs it
(the longest expression sequence of a rule, the most comparisons branching from
one alpha node, the most `$nex`/`$or` links off one node, the most rules ending
on one node) and what durable_rules did:
seconds to create and fire one fact, an error code, or "timeout". The figures
are recorded in docs/durable-notes.md and the bounds derived from them in
`roprules/durable_limits.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

from roprules.evaluation.durable_limits import network_counts

GUARD = {"roprules__fact": "assessment"}
SENTINEL = {"all": [{"m": GUARD}], "pri": 65535}

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import durable_rules_engine as dre
    definition = sys.stdin.read()
    started = time.perf_counter()
    try:
        handle = dre.create_ruleset("limits", definition)
    except dre.error as exc:
        print(json.dumps({"error": str(exc), "seconds": time.perf_counter() - started}))
        raise SystemExit(0)
    created = time.perf_counter() - started
    fact = json.dumps({"roprules__fact": "assessment", "sid": "s", "x0": "v0", "y0": "a"})
    try:
        _, state = dre.assert_fact(handle, fact)
        result = dre.start_action_for_state(handle, state)
        message = result[1] if result else None
        while message:
            message = dre.complete_and_start_action(handle, state)
        dre.delete_state(handle, "s")
        fired = "ok"
    except dre.error as exc:
        fired = str(exc)
    print(json.dumps({"seconds": created, "fire": fired}))
    """
)


def rule(expression: dict[str, Any]) -> dict[str, Any]:
    return {"all": [{"m": {"$and": [GUARD, expression]}}], "pri": 1}


def wide_any(n: int) -> dict[str, Any]:
    """One rule: an `any` of n equalities on one field."""
    return {"sentinel": SENTINEL, "r0": rule({"$or": [{"x0": f"v{i}"} for i in range(n)]})}


def group(rules: int, leaves: int) -> dict[str, Any]:
    """`rules` rules, each an `any` of `leaves` equalities on distinct fields."""
    definition: dict[str, Any] = {"sentinel": SENTINEL}
    for r in range(rules):
        definition[f"r{r}"] = rule({"$or": [{f"x{r * leaves + i}": "v"} for i in range(leaves)]})
    return definition


def group_all(rules: int, leaves: int) -> dict[str, Any]:
    """`rules` rules, each an `all` of `leaves` comparisons."""
    definition: dict[str, Any] = {"sentinel": SENTINEL}
    for r in range(rules):
        definition[f"r{r}"] = rule({"$and": [{f"x{r * leaves + i}": "v"} for i in range(leaves)]})
    return definition


def nested(anys: int, width: int = 2) -> dict[str, Any]:
    """One rule: an `all` of `anys` `any`s of `width` leaves (DNF width**anys terms)."""
    parts = [{"$or": [{f"y{k}": f"{chr(97 + i)}"} for i in range(width)]} for k in range(anys)]
    return {"sentinel": SENTINEL, "r0": rule({"$and": parts})}


def exists_tests(n: int) -> dict[str, Any]:
    """`n` rules, each one `is_set: false` test (`$nex`) on its own field."""
    definition: dict[str, Any] = {"sentinel": SENTINEL}
    for r in range(n):
        definition[f"r{r}"] = rule({"$nex": {f"x{r}": 1}})
    return definition


def same_ending(n: int) -> dict[str, Any]:
    """`n` rules with the same condition (they end on one alpha node)."""
    definition: dict[str, Any] = {"sentinel": SENTINEL}
    for r in range(n):
        definition[f"r{r}"] = rule({"x0": "v"})
    return definition


def shared_links(rules: int, anys: int = 10) -> dict[str, Any]:
    """`rules` rules, each an `any` of `anys` two-way `any`s that share one comparison."""
    definition: dict[str, Any] = {"sentinel": SENTINEL}
    for r in range(rules):
        parts = [{"$or": [{"x0": "a"}, {f"x{r}_{i}": "b"}]} for i in range(anys)]
        definition[f"r{r}"] = rule({"$or": parts})
    return definition


SERIES = {
    "wide": [
        (f"any of {n} on one field", lambda n=n: wide_any(n))
        for n in (100, 200, 400, 510, 511, 512, 513)
    ],
    "group": [
        (f"{r} rules x any of {leaves}", lambda r=r, leaves=leaves: group(r, leaves))
        for r, leaves in ((10, 20), (20, 20), (25, 20), (26, 20), (30, 20))
    ],
    "group_all": [
        (f"{r} rules x all of {leaves}", lambda r=r, leaves=leaves: group_all(r, leaves))
        for r, leaves in ((48, 10), (48, 40), (400, 2), (520, 2))
    ],
    "nested": [(f"all of {k} two-way anys", lambda k=k: nested(k)) for k in (8, 12, 13, 14, 16)],
    "exists": [(f"{n} is_set-false rules", lambda n=n: exists_tests(n)) for n in (64, 128, 129)],
    "links": [
        (f"{r} rules x any of {10} anys sharing a comparison", lambda r=r: shared_links(r))
        for r in (12, 13)
    ],
    "endings": [(f"{n} identical rules", lambda n=n: same_ending(n)) for n in (128, 256, 257)],
}


def measure(definition: dict[str, Any], timeout: float) -> dict[str, Any]:
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps(definition),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if result.returncode != 0:
        return {"crash": result.returncode, "stderr": result.stderr[-200:]}
    return json.loads(result.stdout)


def sizes(definition: dict[str, Any]) -> dict[str, int]:
    return network_counts((name, body["all"][0]["m"]) for name, body in definition.items())


def run(series: list[str], timeout: float) -> Iterator[str]:
    for name in series:
        for label, build in SERIES[name]:
            definition = build()
            counts = sizes(definition)
            outcome = measure(definition, timeout)
            if "timeout" in outcome:
                what = f"no return within {timeout:.0f} s"
            elif "crash" in outcome:
                what = f"child died ({outcome['crash']})"
            elif "error" in outcome:
                what = f"refused after {outcome['seconds']:.2f} s: {outcome['error']}"
            else:
                what = f"created in {outcome['seconds']:.3f} s, fire: {outcome['fire']}"
            yield (
                f"| {label} | {counts['sequence']} | {counts['children']} | "
                f"{counts['exists']} | {counts['endings']} | {what} |"
            )
            if "timeout" in outcome or "crash" in outcome:
                break  # larger cases of the same series only take longer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--series", default=",".join(SERIES))
    args = parser.parse_args(argv)
    print(
        "| case | sequence (one rule) | branches (one node) | exists links (one node) "
        "| rules (one node) | durable_rules |"
    )
    print("|---|---|---|---|---|---|")
    for line in run(args.series.split(","), args.timeout):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
