"""Regression tests for every durable_rules pitfall in shared/spec/durable-rules-notes.md.

Against the shipped ruleset (`Engine.load()`): its assessor holds one
`DurableEngine` per rule scope, whose `groups` are `DurableGroup`s with
`.fire(facts)`, `.definition` and `.encoder`.

Tests that could hang (an infinite loop in C) or crash the interpreter (a
segfault) run in a child process with a timeout, so a regression shows up as a
failed test, not as a dead test session. Skipped where durable_rules cannot be
imported (Python 3.13+: the evaluator backend runs there).
"""

# ruff: noqa: E402 (durable_rules is imported, or the module skipped, before the rest)

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

dre = pytest.importorskip("durable_rules_engine", reason="durable_rules cannot be imported here")

import roprules.cli as cli
import roprules.evaluation.durable as engine_module
from conftest import REPO, comparable, facts_of, offer_file, resident_file
from roprules.contract.fields import FIELDS, RULE_FIELDS
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.durable import (
    MAX_RULES_PER_GROUP,
    SENTINEL_PRIORITY,
    CompiledRule,
    DurableGroup,
    EngineError,
)
from roprules.rulebase.conditions import (
    AllOf,
    AnyOf,
    Condition,
    FieldRef,
    Leaf,
    NotOf,
    ParamRef,
    Sum,
    evaluate_leaf,
    leaves,
    parse_condition,
)
from roprules.rulebase.durable_compile import (
    FALSE,
    TRUE,
    FactEncoder,
    fact_key,
    fnv1_32,
    fnv1a_32,
    hash_collisions,
)
from strategies import bounds, offer_profiles, resident_profiles, thresholds, unflatten

SCOPES = ("placement", "offer", "resident")
ABSENT = object()  # a field pinned to "unknown" while solving

# Two names with the same 32-bit FNV-1a hash, and two with the same FNV-1 hash.
FNV1A_PAIR = ("resident__k562789", "resident__k779192")
FNV1_PAIR = ("resident__k539599", "resident__k722382")


# --------------------------------------------------------------------------- helpers


def all_groups(assessor: Any) -> list[tuple[str, DurableGroup]]:
    return [(scope, group) for scope in SCOPES for group in assessor.durable[scope].groups]


def rules_of(engine: Any, group: DurableGroup) -> list[Any]:
    return [engine.ruleset.rule(rule_id) for rule_id in group.rule_ids]


def known(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v is not ABSENT}


def candidates(path: str, leaf: Leaf) -> list[Any]:
    """Values worth trying for one field: every enum value, both booleans, list extremes,
    numbers at and around every threshold, and unknown."""
    spec = RULE_FIELDS[path]
    if spec.kind == "bool":
        values: list[Any] = [True, False]
    elif spec.kind == "enum":
        values = list(spec.values)
    elif spec.kind == "list":
        values = [tuple(spec.values), ()] + [(v,) for v in spec.values]
    elif spec.numeric:
        low, high = bounds(path)
        near = {low, low + 1, high}
        for number in thresholds().get(path, ()):
            near.update({number - 1, number, number + 1})
        if isinstance(leaf.operand, (int, float)) and not isinstance(leaf.operand, bool):
            near.update({leaf.operand - 1, leaf.operand, leaf.operand + 1})
        ok = sorted(n for n in near if low <= n <= high and (spec.kind != "number" or n > 0))
        values = [int(n) if spec.kind == "int" else float(n) for n in ok]
    elif spec.kind == "date":
        values = ["2025-01-01"]
    else:
        values = ["Tekst"]
    return [*values, ABSENT]


def solutions(
    node: Condition, want: bool, facts: dict[str, Any], params: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Extensions of `facts` under which `node` evaluates to `want` (three-valued)."""
    if isinstance(node, NotOf):
        yield from solutions(node.part, not want, facts, params)
        return
    if isinstance(node, Leaf):
        open_paths = [p for p in dict.fromkeys(node.fields()) if p not in facts]
        for combo in itertools.product(*(candidates(p, node) for p in open_paths)):
            trial = {**facts, **dict(zip(open_paths, combo, strict=True))}
            if evaluate_leaf(node, known(trial), params) is want:
                yield trial
        return
    conjunctive = isinstance(node, AllOf) == want
    if conjunctive:
        yield from _conjunction(list(node.parts), want, facts, params)
    else:
        for part in node.parts:
            yield from solutions(part, want, facts, params)


def _conjunction(
    parts: list[Condition], want: bool, facts: dict[str, Any], params: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    if not parts:
        yield facts
        return
    for extended in itertools.islice(solutions(parts[0], want, facts, params), 50):
        yield from _conjunction(parts[1:], want, extended, params)


def solve(node: Condition, want: bool, facts: dict[str, Any], params: Mapping[str, Any]) -> Any:
    return next(iter(solutions(node, want, facts, params)), None)


def greedy(rules: list[Any], want: bool, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Facts that make as many of the rules `want` at once as a greedy search finds."""
    order = list(rules)
    random.Random(seed).shuffle(order)
    facts: dict[str, Any] = {}
    for rule in order:
        extended = solve(rule.condition, want, facts, params)
        if extended is not None:
            facts = extended
    return facts


def expected_fired(rules: list[Any], facts: Mapping[str, Any]) -> set[str]:
    return {rule.id for rule in rules if rule.evaluate(facts) is True}


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a snippet in a child interpreter; a hang or a segfault fails the test."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"durable_rules did not return within {timeout} s (an infinite loop?)")
    assert result.returncode == 0, (
        f"child exited with {result.returncode} (negative = killed by a signal, e.g. -11 "
        f"segfault)\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    )
    return result


@pytest.fixture(scope="module")
def worst_cases(engine: Any) -> dict[str, list[dict[str, Any]]]:
    """For each group, facts under which as many of its rules as possible fire at once."""
    params = engine.ruleset.params
    cases: dict[str, list[dict[str, Any]]] = {}
    for _, group in all_groups(engine._evaluator):
        rules = rules_of(engine, group)
        found = [known(greedy(rules, True, params, seed)) for seed in range(6)]
        cases[group.label] = sorted(found, key=lambda f: -len(expected_fired(rules, f)))
    return cases


# --------------------------------------------------------------------------- error 303


def test_groups_stay_small(assessor: Any) -> None:
    """One durable ruleset per theme chunk, well under the ~120 rules where 303 starts."""
    for _, group in all_groups(assessor):
        assert len(group.rule_ids) <= MAX_RULES_PER_GROUP <= 60
        assert len(group.definition) == len(group.rule_ids) + 1  # + the sentinel


def test_worst_case_facts_fire_many_rules_without_error_303(
    engine: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    best: dict[str, int] = {}
    for _, group in all_groups(engine._evaluator):
        rules = rules_of(engine, group)
        for facts in worst_cases[group.label]:
            fired = group.fire(facts)  # an error 303 raises EngineError here
            assert set(fired) == expected_fired(rules, facts)
        best[group.label] = len(group.fire(worst_cases[group.label][0]))
    # The search must really reach the worst case: most rules of every group at once.
    for _, group in all_groups(engine._evaluator):
        assert best[group.label] >= len(group.rule_ids) // 2, (group.label, best)


def test_worst_case_placement_through_the_public_api(
    engine: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    """Merge the worst cases of the placement groups into one valid placement."""
    facts: dict[str, Any] = {}
    for label, found in worst_cases.items():
        if label.startswith(("placement", "offer", "resident")):
            for path, value in found[0].items():
                facts.setdefault(path, value)
    nested = unflatten(facts)
    resident = {"id": "R-worst", **nested["resident"]}
    offer = {"id": "O-worst", "type": "small_house", **nested["offer"]}
    assessment = engine.check(resident, offer)  # validates the profiles, too
    assert assessment.verdict == "unsuitable"
    assert len(assessment.findings) >= 20


def test_every_leaf_true_where_possible(engine: Any, assessor: Any) -> None:
    """Alpha conditions count, not rules: make every satisfiable leaf true at once."""
    params = engine.ruleset.params
    for _, group in all_groups(assessor):
        facts: dict[str, Any] = {}
        for rule in rules_of(engine, group):
            for leaf in leaves(rule.condition):
                for want in (True, False):  # the compiled form holds both polarities
                    extended = solve(leaf, want, facts, params)
                    if extended is not None:
                        facts = extended
                        break
        facts = known(facts)
        assert set(group.fire(facts)) == expected_fired(rules_of(engine, group), facts)


# --------------------------------------------------------------------------- delete_state


def test_facts_under_which_no_rule_fires(engine: Any, assessor: Any) -> None:
    """No action runs (the sentinel matches the primer only): the fact reaches no rule,
    and deleting the session afterwards must not crash."""
    params = engine.ruleset.params
    for _, group in all_groups(assessor):
        rules = rules_of(engine, group)
        # The greedy search is a heuristic: the first shuffle that finds such facts serves.
        facts = next(
            (
                found
                for seed in range(20)
                if not expected_fired(
                    rules, found := known(greedy(rules, False, params, seed=seed))
                )
            ),
            {},
        )
        assert expected_fired(rules, facts) == set(), group.label
        for _ in range(50):
            assert group.fire(facts) == []


def test_no_rule_fires_in_a_fresh_group_in_a_child_process() -> None:
    """A new ruleset whose first sessions fire nothing (the reproduced segfault)."""
    run_isolated(
        """
        from roprules.rulebase.conditions import Leaf
        from roprules.evaluation.durable import CompiledRule, DurableGroup
        rules = [CompiledRule("t.old", Leaf("resident.age", "gt", 100)),
                 CompiledRule("t.risk", Leaf("resident.violence_risk", "eq", "high"))]
        group = DurableGroup("quiet", rules, {})
        for i in range(300):
            facts = [{}, {"resident.age": 20}, {"resident.violence_risk": "low"}][i % 3]
            assert group.fire(facts) == [], facts
        print("ok")
        """
    )


# --------------------------------------------------------------------------- infinite loop


def test_rule_on_an_absent_field_does_not_loop_in_a_child_process() -> None:
    """`is_set: false` compiles to `$nex`, which alone matches the session fact."""
    run_isolated(
        """
        from roprules.api import Engine
        from roprules.rulebase.conditions import Leaf, NotOf, leaves
        from roprules.evaluation.durable import CompiledRule, DurableGroup
        # a bare is_set: false rule in a group of its own
        group = DurableGroup("absent", [
            CompiledRule("t.unknown-risk", Leaf("resident.violence_risk", "is_set", False)),
            CompiledRule("t.not-known", NotOf(Leaf("offer.staffing", "is_set", True))),
        ], {})
        for _ in range(100):
            assert sorted(group.fire({})) == ["t.not-known", "t.unknown-risk"]
            assert group.fire({"resident.violence_risk": "low", "offer.staffing": "none"}) == []
        # every shipped rule with an is_set leaf, with its field absent and present
        engine = Engine.load()
        assessor = engine._evaluator
        checked = 0
        for rule in engine.ruleset.rules:
            for leaf in leaves(rule.condition):
                if leaf.op != "is_set":
                    continue
                for facts in ({}, {leaf.subject: "x"}):
                    fired = assessor.durable[rule.scope].fire(facts)
                    assert (rule.id in fired) == (rule.evaluate(facts) is True), (rule.id, facts)
                    checked += 1
        assert checked >= 2
        print("ok", checked)
        """
    )


def test_every_rule_is_guarded_by_a_constant_term(assessor: Any) -> None:
    for _, group in all_groups(assessor):
        for name, rule in group.definition.items():
            (pattern,) = rule["all"]
            expression = pattern["m"]
            guard = {engine_module.GUARD_KEY: engine_module.GUARD_VALUE}
            if name == engine_module.SENTINEL:
                # the sentinel matches the primer fact alone, never an assessment
                assert expression == {engine_module.PRIMER_KEY: engine_module.PRIMER_VALUE}
                assert expression != guard
                assert rule["pri"] == SENTINEL_PRIORITY
            else:
                assert expression["$and"][0] == guard, name
                assert rule["pri"] < SENTINEL_PRIORITY


# --------------------------------------------------------------------------- coercions

ALLOWED_OPERATORS = {"$and", "$or", "$neq", "$lt", "$lte", "$gt", "$gte", "$ex", "$nex", "$m"}


def _walk(expression: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(expression, dict):
        for key, value in expression.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(expression, list):
        for item in expression:
            yield from _walk(item)


def test_compiled_rules_use_only_operators_that_work(assessor: Any) -> None:
    """No `$in` (error 202), no list literals (error 102), no silently ignored operators,
    no booleans (which durable compares as numbers)."""
    for _, group in all_groups(assessor):
        for name, rule in group.definition.items():
            for key, value in _walk(rule["all"][0]["m"]):
                if key.startswith("$"):
                    assert key in ALLOWED_OPERATORS, (group.label, name, key)
                if isinstance(value, list):
                    assert key in ("$and", "$or"), (group.label, name, key)
                assert not isinstance(value, bool), (group.label, name, key, value)


def test_durable_coerces_booleans_and_numeric_strings() -> None:
    """The library behaviour the encoder works around (pinned durable-rules 2.0.28)."""

    def fired(rule: dict[str, Any], fact: dict[str, Any], name: str) -> bool:
        definition = {
            "sentinel": {"all": [{"m": {"g": "a"}}], "pri": 65535},
            "r": {"all": [{"m": {"$and": [{"g": "a"}, rule]}}], "pri": 1},
        }
        handle = dre.create_ruleset(f"pitfall_{name}", json.dumps(definition))
        names = []
        with engine_module._LOCK:
            try:
                _, state = dre.assert_fact(handle, json.dumps({"g": "a", "sid": "s", **fact}))
                result = dre.start_action_for_state(handle, state)
                message = result[1] if result else None
                while message:
                    names.append(message[2 : message.index('"', 2)])
                    message = dre.complete_and_start_action(handle, state)
            finally:
                dre.delete_state(handle, "s")
        return "r" in names

    assert fired({"x": 1}, {"x": True}, "bool_eq_1")  # True == 1 in durable
    assert fired({"x": 5}, {"x": "5"}, "str_eq_5")  # "5" == 5 in durable
    assert not fired({"x": 1}, {"x": "true"}, "strtrue_eq_1")  # the encoding avoids it
    assert not fired({"$neq": {"x": 1}}, {}, "neq_missing")  # $neq is false when missing
    # and the reason the collision check uses FNV-1a: durable confuses such names
    assert fired({FNV1A_PAIR[0]: 1}, {FNV1A_PAIR[1]: 1}, "fnv1a_collision")


def test_encoder_writes_booleans_as_strings() -> None:
    leaf = Leaf("resident.dementia", "eq", True)
    encoder = FactEncoder([leaf])
    key = fact_key("resident.dementia")
    assert encoder.encode({"resident.dementia": True})[key] == TRUE
    assert encoder.encode({"resident.dementia": False})[key] == FALSE
    assert (TRUE, FALSE) == ("t", "f")
    assert key not in encoder.encode({})


def test_boolean_true_does_not_match_a_number_one() -> None:
    """A bool field True and an int field compared to 1 in the same group."""
    rules = [
        CompiledRule("t.dementia", Leaf("resident.dementia", "eq", True)),
        CompiledRule("t.not-dementia", Leaf("resident.dementia", "ne", True)),
        CompiledRule("t.one-unit", Leaf("offer.units", "eq", 1)),
        CompiledRule("t.few-units", Leaf("offer.units", "lt", 5)),
        CompiledRule("t.not-one-staff", Leaf("offer.staff_on_duty", "ne", 1)),
        CompiledRule("t.area", Leaf("offer.building.floor_area_m2", "gte", 30)),
    ]
    group = DurableGroup("coercion", rules, {})
    cases = [
        {"resident.dementia": True, "offer.units": 7, "offer.staff_on_duty": 0},
        {"resident.dementia": False, "offer.units": 1, "offer.staff_on_duty": 1},
        {"resident.dementia": True, "offer.units": 1, "offer.staff_on_duty": 2},
        {"resident.dementia": True, "offer.building.floor_area_m2": 30.0},
        {"resident.dementia": False, "offer.building.floor_area_m2": 29.999},
        {"offer.units": 5, "offer.building.floor_area_m2": 30},
    ]
    from roprules.rulebase.conditions import compile_evaluator

    for facts in cases:
        expected = {r.rule_id for r in rules if compile_evaluator(r.condition, {})(facts) is True}
        assert set(group.fire(facts)) == expected, facts


def test_parser_refuses_comparisons_durable_would_coerce() -> None:
    from roprules.rulebase.conditions import ConditionError

    for bad in (
        {"resident.dementia": {"eq": 1}},  # bool field with a number
        {"offer.units": {"eq": True}},  # int field with a boolean
        {"offer.units": {"eq": "5"}},  # int field with a numeric string
        {"resident.violence_risk": {"lt": "moderate"}},  # strings order by raw bytes
        {"offer.name": {"eq": "x"}},  # free text is not compared
    ):
        with pytest.raises(ConditionError):
            parse_condition(bad, "when", {})


def test_no_enum_value_looks_like_a_number_or_boolean() -> None:
    """So `{x: 5}` matching "5" cannot turn an enum comparison into a numeric one."""
    for spec in FIELDS.values():
        for value in spec.values:
            assert not value.replace(".", "", 1).isdigit(), (spec.path, value)
            assert value not in (TRUE, FALSE, "true", "false"), (spec.path, value)


def test_bool_and_number_forms_give_the_same_results(engine: Any, assessor: Any) -> None:
    """Every bool field True/False, every number as int and as float: durable == evaluator."""
    params = engine.ruleset.params
    for scope in SCOPES:
        rules = assessor.rules_by_scope[scope]
        base: dict[str, Any] = {}
        for rule in rules:
            extended = solve(rule.condition, True, base, params)
            base = known(extended) if extended is not None else base
        for flip in (False, True):
            facts = dict(base)
            for path, value in base.items():
                if isinstance(value, bool) and flip:
                    facts[path] = not value
                elif isinstance(value, int) and not isinstance(value, bool) and flip:
                    facts[path] = float(value)
            assert assessor.durable[scope].fire(facts) == expected_fired(list(rules), facts)


# --------------------------------------------------------------------------- same-fact refs


def test_reference_to_a_missing_field_never_fires(engine: Any, assessor: Any) -> None:
    """durable makes every comparison with a missing referenced field true."""
    params = engine.ruleset.params
    with_refs = [
        rule
        for rule in engine.ruleset.rules
        if any(isinstance(leaf.operand, FieldRef) for leaf in leaves(rule.condition))
    ]
    assert with_refs, "the shipped rules use {field: ...} operands"
    for rule in with_refs:
        for leaf in leaves(rule.condition):
            if not isinstance(leaf.operand, FieldRef):
                continue
            for missing in (leaf.operand.path, leaf.subject):
                for want in (True, False):
                    facts = solve(rule.condition, want, {missing: ABSENT}, params)
                    if facts is None:
                        continue
                    facts = known(facts)
                    assert missing not in facts
                    fired = assessor.durable[rule.scope].fire(facts)
                    assert (rule.id in fired) == (rule.evaluate(facts) is True), (rule.id, facts)
            # and the bare case: only the subject known
            facts = {leaf.subject: candidates(leaf.subject, leaf)[0]}  # type: ignore[index]
            assert rule.id not in assessor.durable[rule.scope].fire(facts)


def test_sum_with_a_missing_part_never_fires(engine: Any, assessor: Any) -> None:
    for rule in engine.ruleset.rules:
        for leaf in leaves(rule.condition):
            if isinstance(leaf.subject, Sum):
                for path in leaf.subject.paths:
                    facts = {p: 1000 for p in leaf.subject.paths if p != path}
                    assert rule.id not in assessor.durable[rule.scope].fire(facts)


# --------------------------------------------------------------------------- hash collisions


def test_compiled_field_names_do_not_collide(assessor: Any) -> None:
    for _, group in all_groups(assessor):
        assert hash_collisions(group.encoder.keys()) == [], group.label
        assert hash_collisions([*group.encoder.keys(), "sid", "id", "$s"]) == [], group.label


def test_every_possible_field_name_is_collision_free() -> None:
    """Also the names a future rule could use: every field, list member and length."""
    encoder = FactEncoder([Leaf(path, "is_set", True) for path in RULE_FIELDS])
    assert hash_collisions(encoder.keys()) == []


def test_a_constructed_colliding_pair_is_detected() -> None:
    assert fnv1a_32(FNV1A_PAIR[0]) == fnv1a_32(FNV1A_PAIR[1])
    assert fnv1_32(FNV1_PAIR[0]) == fnv1_32(FNV1_PAIR[1])
    assert hash_collisions(["a", FNV1A_PAIR[0], "b", FNV1A_PAIR[1]]) == [FNV1A_PAIR]
    assert hash_collisions(list(FNV1_PAIR)) == [FNV1_PAIR]
    assert hash_collisions(["a", "b", "a"]) == []  # the same name twice is no collision


def test_a_colliding_group_is_refused_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FactEncoder, "keys", lambda self: ["roprules__fact", *FNV1A_PAIR])
    with pytest.raises(EngineError, match="collide"):
        DurableGroup("colliding", [CompiledRule("t.x", Leaf("resident.age", "gt", 1))], {})


def test_facts_stay_well_under_durables_property_limit(assessor: Any) -> None:
    """Error 302 at ~253 properties per fact."""
    for _, group in all_groups(assessor):
        assert len(group.encoder.keys()) + 1 < 200, group.label  # + sid


# --------------------------------------------------------------------------- engine errors

RESIDENT = resident_file("r01")
OFFER = offer_file("verdal-reinsholm")


@pytest.fixture(scope="module")
def placement() -> tuple[Any, Any]:
    return load_resident(RESIDENT), load_offer(OFFER)


def _failing(real: Any, fail_on: int) -> Any:
    calls = itertools.count(1)

    def wrapper(*args: Any) -> Any:
        if next(calls) == fail_on:
            raise dre.error("simulated durable_rules failure")
        return real(*args)

    return wrapper


@pytest.mark.parametrize(
    ("function", "which"),
    [
        ("assert_fact", "first"),  # the first group
        ("assert_fact", "second"),  # after one group succeeded: no partial result
        ("assert_fact", "last"),  # after every other group succeeded
        ("start_action_for_state", "last"),
        ("complete_and_start_action", "second"),  # in the middle of draining actions
    ],
)
def test_durable_failure_fails_the_assessment(
    engine: Any,
    placement: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    which: str,
) -> None:
    baseline = comparable(engine.check(*placement))
    group_labels = [g.label for _, g in all_groups(engine._evaluator)]
    fail_on = {"first": 1, "second": 2, "last": len(group_labels)}[which]
    monkeypatch.setattr(dre, function, _failing(getattr(dre, function), fail_on))
    with pytest.raises(EngineError) as caught:
        engine.check(*placement)
    message = str(caught.value)
    assert "simulated durable_rules failure" in message
    assert any(f"group {label}" in message for label in group_labels), message
    monkeypatch.undo()
    # the next assessment works again, with the same result as before
    assert comparable(engine.check(*placement)) == baseline
    assert comparable(engine.check(*placement)) == baseline


def test_durable_failure_through_the_cli(
    engine: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    monkeypatch.setattr(cli.Engine, "load", classmethod(lambda cls, *a, **k: engine))
    monkeypatch.setattr(dre, "assert_fact", _failing(dre.assert_fact, 2))
    out = tmp_path / "report.json"
    argv = ["check", "--resident", str(RESIDENT), "--offer", str(OFFER)]
    code = cli.main([*argv, "--format", "json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert "engine error" in captured.err and "group" in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_failed_state_deletion_does_not_leak_into_the_next_assessment(
    engine: Any, placement: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`delete_state` errors are swallowed; the next session must still start clean."""
    quiet_resident = load_resident(resident_file("r06"))
    quiet_offer = load_offer(offer_file("ordinary-rental"))
    baseline = comparable(engine.check(quiet_resident, quiet_offer))

    def refuse(*args: Any) -> None:
        raise dre.error("simulated delete_state failure")

    monkeypatch.setattr(dre, "delete_state", refuse)
    engine.check(*placement)  # many rules fire; their sessions are not deleted
    monkeypatch.undo()
    assert comparable(engine.check(quiet_resident, quiet_offer)) == baseline


@pytest.mark.parametrize(
    "function",
    ["assert_fact", "start_action_for_state", "complete_and_start_action", "retract_fact"],
)
def test_an_assessment_after_a_failed_one_is_unaffected(
    engine: Any, placement: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch, function: str
) -> None:
    """The session of a group is reused (assert, drain, retract); a failure at any step
    deletes it, so the next assessment, of the same facts or others, starts fresh."""
    quiet = (load_resident(resident_file("r06")), load_offer(offer_file("ordinary-rental")))
    baseline = comparable(engine.check(*placement))
    quiet_baseline = comparable(engine.check(*quiet))
    monkeypatch.setattr(dre, function, _failing(getattr(dre, function), 1))
    with pytest.raises(EngineError, match="simulated"):
        engine.check(*placement)
    monkeypatch.undo()
    assert comparable(engine.check(*placement)) == baseline  # the same fact again
    assert comparable(engine.check(*quiet)) == quiet_baseline
    assert comparable(engine.check(*placement)) == baseline


def test_a_fact_left_in_the_session_is_recovered(
    engine: Any, placement: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retraction and deletion both fail: the fact stays in the reused session, and its
    next assertion is only "observed" (no action). The group starts a fresh session."""
    baseline = comparable(engine.check(*placement))

    def refuse(*args: Any) -> None:
        raise dre.error("simulated failure")

    monkeypatch.setattr(dre, "retract_fact", refuse)
    monkeypatch.setattr(dre, "delete_state", refuse)
    with pytest.raises(EngineError):
        engine.check(*placement)
    monkeypatch.undo()
    assert comparable(engine.check(*placement)) == baseline


def test_a_different_fact_left_in_the_session_is_recovered(
    engine: Any, placement: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, but the next assessment is of other facts: every fact carries the same
    id, so the one left behind is found on the next assertion whatever its content, and
    the group starts a fresh session instead of matching beside it."""
    quiet = (load_resident(resident_file("r06")), load_offer(offer_file("ordinary-rental")))
    quiet_baseline = comparable(engine.check(*quiet))
    baseline = comparable(engine.check(*placement))

    def refuse(*args: Any) -> None:
        raise dre.error("simulated failure")

    monkeypatch.setattr(dre, "retract_fact", refuse)
    monkeypatch.setattr(dre, "delete_state", refuse)
    with pytest.raises(EngineError):
        engine.check(*placement)
    monkeypatch.undo()
    observed: list[int] = []
    real_assert = dre.assert_fact

    def watch(*args: Any) -> Any:
        result = real_assert(*args)
        if args[1] != engine_module.PRIMER_TEXT:  # assessments' facts only
            observed.append(result[0])
        return result

    monkeypatch.setattr(dre, "assert_fact", watch)
    assert comparable(engine.check(*quiet)) == quiet_baseline
    monkeypatch.undo()
    assert observed[0] != engine_module.RULES_OK  # the stale fact was found, then dropped
    assert comparable(engine.check(*placement)) == baseline


def test_one_session_per_group_is_reused(
    assessor: Any, monkeypatch: pytest.MonkeyPatch, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    """No session is deleted on the normal path: facts are retracted instead."""
    deleted: list[Any] = []
    real = dre.delete_state
    monkeypatch.setattr(dre, "delete_state", lambda *a: deleted.append(a) or real(*a))
    for _, group in all_groups(assessor):
        for facts in worst_cases[group.label][:2]:
            group.fire(facts)
            group.fire({})
    assert deleted == []


def test_a_placement_fires_its_scopes_groups_at_once_with_the_same_result(
    assessor: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    """`DurableFiring` (what `Evaluator.outcome` fires for an assessment) answers what
    the scopes' engines answer one at a time, and leaves every session empty."""
    cases = [facts for found in worst_cases.values() for facts in found]
    merged: dict[str, Any] = {}
    for found in worst_cases.values():
        merged.update(found[0])
    for scope, parts in (("placement", SCOPES), ("offer", ("offer",)), ("resident", ("resident",))):
        firing = assessor.durable_firings[scope]
        assert [g.label for g in firing.groups] == [
            g.label for part in parts for g in assessor.durable[part].groups
        ]
        for facts in [*cases, merged, {}]:
            expected = set().union(*(assessor.durable[part].fire(facts) for part in parts))
            assert firing.fire(facts) == expected
            for group in firing.groups:
                assert json.loads(dre.get_facts(group._handle, engine_module.SESSION_ID)) == []


def test_retracting_by_the_ids_alone_empties_the_session(
    assessor: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    """The fact is retracted with `RETRACT_TEXT` (its session and fact ids, not its
    content): no fact is left in the reused session, and the next fact, whatever its
    content, is asserted as new and fires as in a fresh group."""
    for _, group in all_groups(assessor):
        for facts in [*worst_cases[group.label][:3], {}]:
            fired = group.fire(facts)
            assert json.loads(dre.get_facts(group._handle, engine_module.SESSION_ID)) == []
            assert sorted(group.fire(facts)) == sorted(fired)
    assert json.loads(engine_module.RETRACT_TEXT) == {
        "sid": engine_module.SESSION_ID,
        "id": engine_module.FACT_ID,
    }


# --------------------------------------------------------------------------- sessions, events


def test_assert_collects_every_rule_not_only_the_first(
    engine: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    """`post` would consume the event at the first match; `assert_fact` must not."""
    for _, group in all_groups(engine._evaluator):
        facts = worst_cases[group.label][0]
        expected = expected_fired(rules_of(engine, group), facts)
        assert len(expected) >= 2, group.label
        assert set(group.fire(facts)) == expected


def test_a_group_lists_each_fired_rule_once(
    engine: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    for _, group in all_groups(engine._evaluator):
        for facts in worst_cases[group.label]:
            fired = group.fire(facts)
            assert len(fired) == len(set(fired)), (group.label, sorted(fired))


def test_the_engine_reports_each_fired_rule_once(
    engine: Any, assessor: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    for scope, group in all_groups(assessor):
        facts = worst_cases[group.label][0]
        fired = assessor.durable[scope].fire(facts)
        assert isinstance(fired, set)
        outcome = assessor.outcome(scope, facts)
        ids = [rule.id for rule in outcome.fired]
        assert len(ids) == len(set(ids))


def test_sessions_stay_under_the_live_session_limit(
    engine: Any, assessor: Any, worst_cases: dict[str, list[dict[str, Any]]]
) -> None:
    """At most 1024 live sessions per ruleset: 3000 firings must not hit it (one session
    per group is reused)."""
    group = assessor.durable["placement"].groups[0]
    facts = worst_cases[group.label][0]
    expected = set(group.fire(facts))
    for i in range(3000):
        assert set(group.fire(facts if i % 2 else {})) == (expected if i % 2 else set())


def test_assessment_results_are_unchanged_after_many_assessments(
    engine: Any, placement: tuple[Any, Any]
) -> None:
    before = comparable(engine.check(*placement))
    for _ in range(500):
        engine.check(*placement)
    assert comparable(engine.check(*placement)) == before


def test_priming_and_params_in_compiled_form(assessor: Any) -> None:
    """Parameters are inlined as numbers (durable has no parameter concept)."""
    for _, group in all_groups(assessor):
        text = json.dumps(group.definition)
        assert "param" not in text
        assert "None" not in text and "null" not in text


def test_facts_of_shipped_profiles_agree(engine: Any, assessor: Any) -> None:
    residents = sorted((REPO / "profiles" / "residents").glob("*.yaml"))
    offers = sorted((REPO / "profiles" / "offers").glob("*.yaml"))
    for resident_path, offer_path in itertools.product(residents, offers):
        facts = facts_of(load_resident(resident_path), load_offer(offer_path))
        for scope in SCOPES:
            rules = list(assessor.rules_by_scope[scope])
            assert assessor.durable[scope].fire(facts) == expected_fired(rules, facts)


def test_solver_sanity() -> None:
    """The test's own solver: a few known conditions."""
    leaf = Leaf("offer.units", "gt", ParamRef("p"))
    facts = solve(leaf, True, {}, {"p": 4})
    assert facts is not None and facts["offer.units"] > 4
    both = AllOf((Leaf("offer.staffing", "ne", "none"), NotOf(Leaf("offer.units", "is_set", True))))
    facts = solve(both, True, {}, {})
    assert facts is not None and known(facts).get("offer.units") is None
    either = AnyOf((Leaf("resident.dementia", "eq", True), Leaf("resident.age", "lt", 20)))
    facts = known(solve(either, False, {}, {}) or {})
    assert facts.get("resident.dementia") is False and facts.get("resident.age", 0) >= 20


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resident=resident_profiles(), offer=offer_profiles())
def test_the_fast_fact_text_is_the_encoded_facts(
    assessor: Any, resident: dict[str, Any], offer: dict[str, Any]
) -> None:
    """The JSON the adapter sends (value fragments looked up once computed) holds exactly
    what `FactEncoder.encode` gives, the first time a value is seen and every time after."""
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    for label, group in all_groups(assessor):
        expected = {**group.encoder.encode(facts), "sid": "x"}
        for _ in range(2):
            assert json.loads(group.encoder.text(facts, ',"sid":"x"')) == expected, label
