"""`roprules rules lint`: checks beyond loading, for the people who keep the rules.

Loading already refuses a malformed rule base. The lint adds what reviewers
need to trust it as policy: every quote verbatim in the report, every worked
example behaving as labelled (in the evaluator *and* in durable_rules), no two
rules with the same condition, no condition that can never be true, texts that
only name facts the rule reads, and `advice` exactly for `info` severity.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from roprules.contract.fields import RULE_FIELDS
from roprules.contract.profiles import profile_to_facts
from roprules.evaluation.outcome import Evaluator
from roprules.rulebase.conditions import (
    AS_OF,
    NEGATED,
    AllOf,
    AnyOf,
    AtLeast,
    Condition,
    Leaf,
    MonthsSince,
    NotOf,
    ParamRef,
    add_months,
    at_least_combinations,
    evaluate_leaf,
)
from roprules.rulebase.ruleset import Rule, Ruleset, example_as_of, example_profiles

EXPECTED = {"fires": True, "silent": False, "undetermined": None}
GAP = " ... "
MAX_COMBINATIONS = 50_000


# --------------------------------------------------------------------------- quotes


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class ReportText:
    """The report with whitespace normalised, in three readings of a hyphen at a line end:
    as printed ("bo- og"), joined to a compound ("ROP-pasienter") and dropped ("for-hold")."""

    def __init__(self, text: str):
        line_end_hyphen = re.compile(r"-[ \t]*\n\s*")
        self.readings = (
            normalise(text),
            normalise(line_end_hyphen.sub("-", text)),
            normalise(line_end_hyphen.sub("", text)),
        )

    def contains(self, quote: str) -> bool:
        """Each part of the quote (split at ' ... ') found verbatim and in order."""
        return any(self._in_order(quote, reading) for reading in self.readings)

    @staticmethod
    def _in_order(quote: str, haystack: str) -> bool:
        position = 0
        for part in normalise(quote).split(GAP.strip()):
            part = part.strip()
            if not part:
                continue
            found = haystack.find(part, position)
            if found < 0:
                return False
            position = found + len(part)
        return True


def quote_problems(ruleset: Ruleset, report: ReportText) -> Iterator[str]:
    for rule in ruleset.rules:
        for index, source in enumerate(rule.spec.sources):
            if source.quote and source.section and not report.contains(source.quote):
                yield (
                    f"{rule.file}: {rule.id}: sources[{index}] (§{source.section}): quote not "
                    f"found verbatim in the report: «{source.quote[:80]}»"
                )


# --------------------------------------------------------------------------- examples


def example_facts(case: Mapping[str, Any], default_as_of: date | None = None) -> dict[str, Any]:
    """The facts of a worked example, measured from its `as_of` (see `example_as_of`)."""
    resident, offer = example_profiles(case)
    as_of = example_as_of(case, default_as_of)
    return {
        **profile_to_facts("resident", resident),
        **profile_to_facts("offer", offer),
        AS_OF: as_of.isoformat(),
    }


def example_problems(ruleset: Ruleset, assessor: Evaluator) -> Iterator[str]:
    for rule in ruleset.rules:
        for label, cases in rule.spec.examples.model_dump().items():
            for index, case in enumerate(cases):
                facts = example_facts(case, ruleset.law_as_of)
                value = rule.evaluate(facts)
                fired = rule.id in assessor.engines[rule.scope].fire(facts)
                expected = EXPECTED[label]
                if value is not expected:
                    yield (
                        f"{rule.file}: {rule.id}: examples.{label}[{index}]: the condition is "
                        f"{_truth(value)}, expected {_truth(expected)}"
                    )
                elif fired != (expected is True):
                    yield (
                        f"{rule.file}: {rule.id}: examples.{label}[{index}]: the "
                        f"{assessor.backend} backend {'fired' if fired else 'did not fire'}; "
                        "the evaluator disagrees"
                    )


def _truth(value: bool | None) -> str:
    return {True: "true", False: "false", None: "unknown"}[value]


# --------------------------------------------------------------------------- conditions


def canonical(node: Condition) -> Any:
    """A form in which conditions that differ only in the order of parts are equal."""
    if isinstance(node, Leaf):
        return ("leaf", repr(node.subject), node.op, repr(node.operand))
    if isinstance(node, NotOf):
        return ("not", canonical(node.part))
    parts = sorted((canonical(p) for p in node.parts), key=repr)
    if isinstance(node, AtLeast):
        return ("at_least", node.n, tuple(parts))
    return ("all" if isinstance(node, AllOf) else "any", tuple(parts))


def duplicate_condition_problems(ruleset: Ruleset) -> Iterator[str]:
    seen: dict[Any, Rule] = {}
    for rule in ruleset.rules:
        key = canonical(rule.condition)
        if key in seen:
            yield f"{rule.file}: {rule.id}: same condition as {seen[key].id}"
        else:
            seen[key] = rule


def _nnf(node: Condition, positive: bool = True) -> Condition:
    """Push `not` down to the leaves (three-valued: not L is true iff L is false)."""
    if isinstance(node, NotOf):
        return _nnf(node.part, not positive)
    if isinstance(node, Leaf):
        if positive:
            return node
        if node.op in ("is_set", "is_empty"):
            return Leaf(node.subject, node.op, not node.operand)
        return Leaf(node.subject, NEGATED[node.op], node.operand)
    if isinstance(node, AtLeast):
        return AnyOf(
            tuple(
                AllOf(tuple(_nnf(p, positive) for p in combination))
                for combination in at_least_combinations(node, positive)
            )
        )
    parts = tuple(_nnf(p, positive) for p in node.parts)
    conjunctive = isinstance(node, AllOf) == positive
    return AllOf(parts) if conjunctive else AnyOf(parts)


def _conjuncts(node: Condition) -> list[list[Leaf]]:
    """Disjunctive normal form of an NNF condition: a list of conjunctions."""
    if isinstance(node, Leaf):
        return [[node]]
    if isinstance(node, AnyOf):
        return [c for part in node.parts for c in _conjuncts(part)]
    assert isinstance(node, AllOf)
    result: list[list[Leaf]] = [[]]
    for part in node.parts:
        result = [left + right for left in result for right in _conjuncts(part)]
    return result


# The assessment date of the bounded search: dates are tried relative to it.
_SEARCH_AS_OF = date(2026, 1, 15)


def _candidates(path: str, leaves: list[Leaf], params: Mapping[str, Any]) -> list[Any]:
    spec = RULE_FIELDS[path]
    if spec.kind == "date":
        months = {0}
        for leaf in leaves:
            if isinstance(leaf.subject, MonthsSince) and leaf.subject.path == path:
                operand = leaf.operand
                value = params[operand.name] if isinstance(operand, ParamRef) else operand
                months.update({value - 1, value, value + 1})
        days = {add_months(_SEARCH_AS_OF, -m) for m in months if m >= 0}
        days |= {d - timedelta(days=1) for d in days}
        return [None, *sorted(d.isoformat() for d in days)]
    if spec.kind == "enum":
        return [None, *spec.values]
    if spec.kind == "bool":
        return [None, True, False]
    if spec.kind == "list":
        subsets = [
            tuple(c)
            for r in range(len(spec.values) + 1)
            for c in itertools.combinations(spec.values, r)
        ]
        return [None, *subsets]
    if spec.numeric:
        numbers = {0}
        for leaf in leaves:
            operand = leaf.operand
            value = params[operand.name] if isinstance(operand, ParamRef) else operand
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                numbers.update({value - 1, value, value + 1})
        return [None, *sorted(n for n in numbers if n >= 0)]
    return [None, "x"]


def satisfiable(node: Condition, params: Mapping[str, Any]) -> bool:
    """Whether some facts make the condition true (bounded search; unsure counts as yes)."""
    for conjunct in _conjuncts(_nnf(node)):
        paths = sorted({p for leaf in conjunct for p in leaf.fields()})
        options = [_candidates(p, conjunct, params) for p in paths]
        total = 1
        for option in options:
            total *= len(option)
        if total > MAX_COMBINATIONS:
            return True
        for values in itertools.product(*options):
            facts = {p: v for p, v in zip(paths, values, strict=True) if v is not None}
            facts[AS_OF] = _SEARCH_AS_OF.isoformat()
            if all(evaluate_leaf(leaf, facts, params) is True for leaf in conjunct):
                return True
    return False


def contradiction_problems(ruleset: Ruleset) -> Iterator[str]:
    for rule in ruleset.rules:
        if not satisfiable(rule.condition, ruleset.params):
            yield f"{rule.file}: {rule.id}: the condition can never be true (contradictory leaves)"


# --------------------------------------------------------------------------- texts


def text_problems(ruleset: Ruleset) -> Iterator[str]:
    for rule in ruleset.rules:
        read = rule.fields
        for path in rule.texts.paths:
            if not path.startswith("params.") and path not in read:
                yield (
                    f"{rule.file}: {rule.id}: the texts name {path}, which the condition does "
                    "not read (it may be unknown when the rule fires)"
                )
        if (rule.spec.kind == "advice") != (rule.spec.severity == "info"):
            yield f"{rule.file}: {rule.id}: kind 'advice' is for severity 'info' alone"


def render_problems(ruleset: Ruleset) -> Iterator[str]:
    """Every text of every rule rendered against every example of it, in both
    languages: a text that cannot be rendered, or leaves template syntax behind,
    is found here rather than in an assessment."""
    for rule in ruleset.rules:
        for label, cases in rule.spec.examples.model_dump().items():
            for index, case in enumerate(cases):
                facts = example_facts(case, ruleset.law_as_of)
                for part in ("explanation", "suggestion"):
                    for lang in ("nb", "en"):
                        example = f"examples.{label}[{index}]"
                        where = f"{rule.file}: {rule.id}: {part}.{lang} with {example}"
                        try:
                            text = rule.texts.render(part, lang, facts, ruleset.params)
                        except Exception as exc:  # reported as a problem, never raised
                            yield f"{where}: cannot be rendered ({type(exc).__name__})"
                            continue
                        if not text or "{{" in text or "{%" in text:
                            yield f"{where}: renders empty or with template syntax left"


def lint(ruleset: Ruleset, source: Path | None = None, *, backend: str = "auto") -> list[str]:
    """Every problem found; an empty list means the rule base passes.

    The examples run on `backend` (auto: durable_rules where it imports, so
    that durable and the evaluator are compared); the rest needs no backend.
    """
    assessor = Evaluator(ruleset, backend=backend)
    try:
        return _lint(ruleset, assessor, source)
    finally:
        assessor.close()


def durable_limit_problems(ruleset: Ruleset) -> Iterator[str]:
    """Rules durable_rules could not register (measured limits, durable_limits.py).

    The durable backend refuses such a rule base at load; the evaluator runs it,
    but the lint reports it on every backend so that the rule base stays portable.
    """
    from roprules.evaluation.backends import CompiledRule
    from roprules.evaluation.durable_limits import ruleset_limit_problems

    scopes = {
        scope: [CompiledRule(r.id, r.condition) for r in ruleset.rules if r.scope == scope]
        for scope in ("placement", "offer", "resident")
    }
    for problem in ruleset_limit_problems(scopes, ruleset.params):
        yield f"durable_rules limit: {problem}"


def _lint(ruleset: Ruleset, assessor: Evaluator, source: Path | None) -> list[str]:
    problems = [
        *durable_limit_problems(ruleset),
        *example_problems(ruleset, assessor),
        *duplicate_condition_problems(ruleset),
        *contradiction_problems(ruleset),
        *text_problems(ruleset),
        *render_problems(ruleset),
    ]
    if source is not None:
        report = ReportText(source.read_text(encoding="utf-8"))
        problems.extend(quote_problems(ruleset, report))
    return problems
