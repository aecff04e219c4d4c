"""Rule bases past durable_rules' limits are refused at load, quickly, naming the rule.

Past its fixed C arrays durable_rules' `create_ruleset` fails (errors 107, 108,
113) or never returns (512 comparisons branching from one node). The measured
limits are in docs/durable-notes.md; `roprules.evaluation.durable_limits` checks every
definition against bounds below them before any call into C. Each rule base
here is built to hit one limit and run through the command line in a child
process under a 5-second timeout, so a regression fails the test, not the run.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BACKENDS, REPO, RULES_DIR, needs_durable, offer_file
from roprules import Engine, RulesetError
from roprules.evaluation.backends import CompiledRule, make_scope_engine
from roprules.evaluation.durable_limits import (
    MAX_CHILDREN,
    MAX_EXISTS_LINKS,
    MAX_SEQUENCE,
    network_counts,
    ruleset_limit_problems,
)
from roprules.rulebase.conditions import AllOf, AnyOf, Leaf, NotOf, compile_evaluator

TEMPLATE_ID = "location.far-from-shop"  # an offer rule; new rules copy its texts
SHOP = "offer.location.distance_to_shop_m"
OFFER = offer_file("aalesund-gaseid")
TIMEOUT = 5.0


# --------------------------------------------------------------------------- rule bases


def wide_any(n: int) -> dict[str, Any]:
    """An `any` of n equalities on one field."""
    return {"any": [{SHOP: {"eq": i}} for i in range(n)]}


def nested(k: int) -> dict[str, Any]:
    """An `all` of k two-way `any`s (the issue's error-113 case at k = 16)."""
    return {"all": [{"any": [{SHOP: {"gt": i}}, {"offer.units": {"lt": i}}]} for i in range(k)]}


def write_rule_base(tmp_path: Path, conditions: list[dict[str, Any]]) -> tuple[Path, list[str]]:
    """The shipped rules plus one rule per condition, in the file of the template rule."""
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules_dir)
    (path,) = [p for p in rules_dir.rglob("*.yaml") if f"id: {TEMPLATE_ID}\n" in p.read_text()]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    (template,) = [r for r in data["rules"] if r["id"] == TEMPLATE_ID]
    ids = []
    for index, condition in enumerate(conditions):
        rule = copy.deepcopy(template)
        rule["id"] = f"location.limit-test-{index}"
        # keep the template's own test, so that its texts and examples stay valid
        rule["when"] = {"any": [copy.deepcopy(template["when"]), condition]}
        data["rules"].append(rule)
        ids.append(rule["id"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return rules_dir, ids


CASES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "wide-any-600": lambda: [wide_any(600)],  # 512 branches from one node never return
    "group-60x20": lambda: [  # the "group of ~25 rules with ~20 leaves each"
        {"any": [{SHOP: {"eq": 1000 * r + i}} for i in range(20)]} for r in range(60)
    ],
    "links-60x10": lambda: [  # one comparison feeding > 128 `any`s: error 107
        {"any": [{"any": [{SHOP: {"eq": 1}}, {SHOP: {"eq": 1000 * r + i}}]} for i in range(10)]}
        for r in range(60)
    ],
}


def run_cli(*argv: str, timeout: float = TIMEOUT) -> tuple[int, str, float]:
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "roprules.cli", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"roprules {' '.join(argv)} did not return within {timeout} s")
    return result.returncode, result.stderr, time.perf_counter() - started


@needs_durable
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["check", "lint"])
def test_durable_refuses_rule_bases_past_the_limits(tmp_path, case, command):
    rules_dir, ids = write_rule_base(tmp_path, CASES[case]())
    if command == "check":
        argv = ["--engine", "durable", "audit", "--offer", str(OFFER), "--rules", str(rules_dir)]
    else:
        argv = ["--engine", "durable", "rules", "lint", "--rules", str(rules_dir)]
    code, stderr, seconds = run_cli(*argv)
    assert code == 2, stderr[-2000:]
    assert seconds < TIMEOUT
    assert "Traceback" not in stderr
    assert any(rule_id in stderr for rule_id in ids), stderr[-2000:]
    assert "at most" in stderr  # the bound is named


@pytest.mark.parametrize("case", list(CASES))
def test_lint_reports_the_limits_on_the_evaluator_backend(tmp_path, case):
    """The evaluator runs such a rule base; the lint says it cannot run on durable_rules."""
    rules_dir, ids = write_rule_base(tmp_path, CASES[case]())
    with Engine.load(rules_dir, backend="evaluator") as engine:
        assert engine.audit(OFFER).verdict
    argv = ["--engine", "evaluator", "rules", "lint", "--rules", str(rules_dir)]
    code, stderr, _ = run_cli(*argv, timeout=120)  # the whole lint runs; no hang possible
    assert code == 2
    assert "durable_rules limit" in stderr
    assert any(rule_id in stderr for rule_id in ids)


# --------------------------------------------------------------------------- the bounds


def compiled(label: str, conditions: list[Any]) -> list[CompiledRule]:
    return [CompiledRule(f"t.{label}-{i}", c) for i, c in enumerate(conditions)]


def shop(op: str, value: Any) -> Leaf:
    return Leaf(SHOP, op, value)


@needs_durable
def test_just_inside_the_bounds_is_registered():
    """The bounds are not too tight: rules at each bound load and fire correctly."""
    cases = {
        "wide": [AnyOf(tuple(shop("eq", i) for i in range(MAX_CHILDREN - 1)))],
        # 2 for the guard's all, 2 for the all, 2 per any
        "nested": [
            AllOf(
                tuple(
                    AnyOf((shop("gt", i), Leaf("offer.units", "lt", i)))
                    for i in range((MAX_SEQUENCE - 4) // 2)
                )
            )
        ],
        "exists": [
            AnyOf(
                (
                    NotOf(Leaf("offer.units", "is_set", True)),
                    *(AnyOf((shop("eq", 3), shop("eq", 100 * r + i))) for i in range(10)),
                )
            )
            for r in range((MAX_EXISTS_LINKS - 1) // 10)
        ],
    }
    for label, conditions in cases.items():
        rules = compiled(label, conditions)
        assert ruleset_limit_problems({"offer": rules}, {}) == [], label
        engine = make_scope_engine("durable", "offer", rules, {})
        facts = {SHOP: 3, "offer.units": 0}
        expected = {r.rule_id for r in rules if compile_evaluator(r.condition, {})(facts)}
        assert expected and engine.fire(facts) == expected, label
        engine.close()


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([AnyOf(tuple(shop("eq", i) for i in range(MAX_CHILDREN + 1)))], "at most 384"),
        (
            [
                AnyOf(tuple(AnyOf((shop("eq", 1), shop("eq", 100 * r + i))) for i in range(10)))
                for r in range(MAX_EXISTS_LINKS // 10 + 1)
            ],
            "error 303 at 65",
        ),
    ],
    ids=["branches", "exists"],
)
def test_bounds_are_checked_before_durable_is_called(conditions, expected):
    rules = compiled("x", conditions)
    problems = ruleset_limit_problems({"offer": rules}, {})
    assert problems and expected in " ".join(problems)
    assert any("t.x-" in p for p in problems)
    for backend in BACKENDS:
        if backend == "durable":
            started = time.perf_counter()
            with pytest.raises(RulesetError) as caught:
                make_scope_engine(backend, "offer", rules, {})
            assert time.perf_counter() - started < TIMEOUT
            assert caught.value.messages == problems
        else:  # no such limit in the evaluator
            make_scope_engine(backend, "offer", rules, {}).fire({SHOP: 1})


def test_the_shipped_rules_are_well_inside_the_bounds():
    engine = Engine.load(backend="evaluator")
    scopes = {
        scope: [CompiledRule(r.id, r.condition) for r in engine.ruleset.rules if r.scope == scope]
        for scope in ("placement", "offer", "resident")
    }
    assert ruleset_limit_problems(scopes, engine.ruleset.params) == []


def test_network_counts_match_the_measured_shapes():
    """The reconstruction counts what benchmarks/durable_limits.py measured."""
    guard = {"roprules__fact": "assessment"}

    def rule(expression: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "r", {"$and": [guard, expression]}

    wide = network_counts([("s", guard), rule({"$or": [{"x": f"v{i}"} for i in range(512)]})])
    assert wide["children"] == 512
    nested16 = [{"$or": [{f"y{k}": "a"}, {f"y{k}": "b"}]} for k in range(16)]
    assert network_counts([rule({"$and": nested16})])["sequence"] == 36
    same = network_counts([rule({"x": "v"}) for _ in range(257)])
    assert same["endings"] == 257


# An `all` of 16 two-way `any`s (error 113 as one durable rule) is split into a few
# durable rules under one rule id (durable_compile.durable_expressions), so the
# expression-length bound cannot be reached; a condition that would need more parts
# than MAX_DISJUNCTS is refused at load on every backend, as a rule-base error.


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_deep_condition_is_split_and_agrees_with_the_evaluator(backend):
    rules = compiled(
        "deep", [AllOf(tuple(AnyOf((shop("gt", i), shop("lt", -i))) for i in range(16)))]
    )
    assert ruleset_limit_problems({"offer": rules}, {}) == []
    engine = make_scope_engine(backend, "offer", rules, {})
    try:
        for value in (-20, 0, 5, 20):
            facts = {SHOP: value}
            expected = {r.rule_id for r in rules if compile_evaluator(r.condition, {})(facts)}
            assert engine.fire(facts) == expected, value
    finally:
        engine.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_condition_too_deep_to_split_is_refused_at_load(tmp_path, backend):
    rules_dir, ids = write_rule_base(tmp_path, [nested(40)])
    argv = ["--engine", backend, "audit", "--offer", str(OFFER), "--rules", str(rules_dir)]
    code, stderr, seconds = run_cli(*argv)
    assert code == 2 and seconds < TIMEOUT and "Traceback" not in stderr
    assert ids[0] in stderr and "parts once split" in stderr
