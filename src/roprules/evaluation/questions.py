"""Questions that matter: which missing facts could change the verdict (issue 11.2).

For every field an assessment is missing, the rules that wait on it are
evaluated again with the field set, in turn, to each value that matters to
them (every enum value, both truth values, the numbers the rules compare it
with and just above and below them, lists with and without the values the
rules test), while every other unknown stays unknown. The field *could change
the verdict* if any of those values gives a verdict other than the current one.
Only the compiled three-valued closures (`Rule.evaluate`) of the rules that
read the field are run; no texts.

Also here: the severity-weighted completeness of an assessment (the share of its
rules that could be evaluated) and the count of open questions by severity.
No texts, no messages: the wording is the report's.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from roprules.contract.fields import RULE_FIELDS, field_registry
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.rulebase.conditions import (
    AS_OF,
    COMPARISONS,
    FieldRef,
    Leaf,
    MonthsSince,
    ParamRef,
    Sum,
    Truth,
    add_months,
    evaluate_leaf,
    leaves,
)
from roprules.rulebase.ruleset import Rule, Ruleset

# The weight of a rule by its severity in `completeness` (documented in the contract
# docs): a critical rule that cannot be evaluated weighs three times a minor one.
SEVERITY_WEIGHTS: dict[str, int] = {"critical": 3, "major": 2, "minor": 1, "info": 1}

# The severities the verdict depends on (contract.md: critical and major only).
_VERDICT_SEVERITIES = frozenset({"critical", "major"})

# A list field whose rules test more values than this gets a sample of subsets
# (none, each alone, all, all but each) instead of every subset.
_MAX_POWER_SET = 4


class _Outcome(Protocol):
    fired: tuple[Rule, ...]
    undetermined: tuple[tuple[Rule, frozenset[str]], ...]


def verdict_of_counts(fired: Mapping[str, int], undetermined: Mapping[str, int]) -> str:
    """The verdict (`verdict_of`, contract.md) from counts of rules by severity: what
    `verdict_of` answers for the severities counted (not zero), asked of the counts
    directly (this runs for each value `could_change_verdict` tries)."""
    if fired.get("critical"):
        return "unsuitable"
    if undetermined.get("critical"):
        return "incomplete"
    if fired.get("major"):
        return "conditional"
    return "suitable"


# ------------------------------------------------------------------ candidate values


@dataclass(frozen=True)
class _FieldIndex:
    """What the rule base tests of one field: fixed candidates and the leaves that need facts."""

    values: tuple[Any, ...]  # candidates that do not depend on the other facts
    dynamic: tuple[Leaf, ...]  # sums, field-to-field comparisons, months_since
    is_set_readers: frozenset[str]  # ids of rules with an is_set leaf on the field
    # `values` that `could_change_verdict` tries: one of each set of values on which
    # every leaf reading the field gives the same answer (`_distinct`)
    tried: tuple[Any, ...] = ()


class _ScopeIndex:
    """What `could_change_verdict` needs of a scope's rules, gathered once per scope."""

    def __init__(self, scope_rules: Sequence[Rule]):
        self.rules = scope_rules  # kept: the index is found by the identity of this tuple
        self.by_id = {r.id: r for r in scope_rules}
        self.critical = frozenset(r.id for r in scope_rules if r.severity == "critical")
        self.verdict_rules = frozenset(
            r.id for r in scope_rules if r.severity in _VERDICT_SEVERITIES
        )

    def movers(
        self, current: str, fired: Iterable[Rule], fired_counts: Mapping[str, int]
    ) -> frozenset[str]:
        """The ids of `_relevant(current, scope_rules, fired ids, fired_counts)`: the
        scope's rules whose change of state could move the current verdict."""
        if current == "incomplete":
            return self.critical
        if current == "suitable":
            return self.verdict_rules
        in_scope = self.by_id
        if current == "unsuitable":
            fired_critical = [r.id for r in fired if r.severity == "critical" and r.id in in_scope]
            if len(fired_critical) != fired_counts["critical"]:
                return frozenset()
            return frozenset(fired_critical)
        fired_major = [r.id for r in fired if r.severity == "major" and r.id in in_scope]
        if len(fired_major) != fired_counts["major"]:
            return self.critical
        return self.critical.union(fired_major)


class _RulesetIndex:
    def __init__(self, ruleset: Ruleset):
        self._scopes: dict[int, _ScopeIndex] = {}
        tested: dict[str, list[Leaf]] = {}
        readers: dict[str, set[str]] = {}
        for rule in ruleset.rules:
            for leaf in leaves(rule.condition):
                for path in leaf.fields():
                    tested.setdefault(path, []).append(leaf)
                    if leaf.op == "is_set":
                        readers.setdefault(path, set()).add(rule.id)
        params = ruleset.params
        # rule id -> the fields it tests with is_set
        self.is_set_fields: dict[str, tuple[str, ...]] = {}
        for path, ids in readers.items():
            for rule_id in ids:
                self.is_set_fields[rule_id] = (*self.is_set_fields.get(rule_id, ()), path)
        # Each field's index is built when a check first asks for it (`field`): a
        # process that makes one check (the CLI) builds the few it tries, not all ~120.
        self._tested = tested
        self._readers = readers
        self._params = params
        self._fields: dict[str, _FieldIndex] = {}

    def field(self, path: str) -> _FieldIndex | None:
        """The index of the rules' leaves reading `path` (None: no rule reads it).

        Built on first use and kept; two threads asking at once may both build it, and
        build the same."""
        entry = self._fields.get(path)
        if entry is None:
            found = self._tested.get(path)
            if found is None:
                return None
            readers = frozenset(self._readers.get(path, ()))
            entry = self._fields[path] = _index(path, found, self._params, readers)
        return entry

    def scope(self, scope_rules: Sequence[Rule]) -> _ScopeIndex:
        """The index of a scope's rules, by the identity of the (cached) sequence given;
        a sequence not seen before is indexed (a few at most are kept)."""
        found = self._scopes.get(id(scope_rules))
        if found is None or found.rules is not scope_rules:
            found = _ScopeIndex(scope_rules)
            if len(self._scopes) >= 16:
                self._scopes.clear()
            self._scopes[id(scope_rules)] = found
        return found


def _index(
    path: str, found: list[Leaf], params: Mapping[str, Any], readers: frozenset[str]
) -> _FieldIndex:
    spec = RULE_FIELDS.get(path)
    kind = spec.kind if spec else "text"
    dynamic = tuple(
        leaf
        for leaf in found
        if isinstance(leaf.subject, (Sum, MonthsSince))
        or (isinstance(leaf.operand, FieldRef) and kind in ("int", "number"))
    )
    values: tuple[Any, ...]
    if kind == "bool":
        values = (True, False)
    elif kind == "enum":
        values = spec.values if spec else ()
    elif kind == "list":
        values = _list_candidates(path, found, spec.values if spec else ())
    elif kind in ("int", "number"):
        values = _numeric_candidates(path, found, params, kind)
    elif kind == "text":
        values = ("?",)
    else:  # a date: only months_since (dynamic) and is_set read it
        values = ()
    return _FieldIndex(values, dynamic, readers, _distinct(path, values, found, params))


def _distinct(
    path: str, values: tuple[Any, ...], found: list[Leaf], params: Mapping[str, Any]
) -> tuple[Any, ...]:
    """The first of each set of `values` on which every leaf reading `path` (`found`, of
    every rule) answers alike, in their order. A rule reads the field only through these
    leaves, so two such values give every rule the same value, whatever the other facts:
    `could_change_verdict` needs to try one of them (317 candidates -> 274 on the
    shipped rules: `gte 1` of 0, 1, 2 gives 0 | 1, 2; an enum tested for one value, that
    value | the rest). Only where each leaf reads this field alone against a constant
    (a leaf that also reads another fact may tell any two values apart); else `values`."""
    if any(leaf.subject != path or isinstance(leaf.operand, FieldRef) for leaf in found):
        return values
    first: dict[tuple[Truth, ...], Any] = {}
    try:
        for value in values:
            answers = tuple(evaluate_leaf(leaf, {path: value}, params) for leaf in found)
            first.setdefault(answers, value)
    except Exception:  # a value no leaf can take (none is built so): every value tried
        return values
    return tuple(first.values())


def _list_candidates(path: str, found: list[Leaf], domain: tuple[str, ...]) -> tuple[Any, ...]:
    tested: set[str] = set()
    for leaf in found:
        if leaf.subject == path and leaf.op in ("contains", "not_contains"):
            tested.add(leaf.operand)
        elif isinstance(leaf.operand, FieldRef) and leaf.operand.path == path:
            tested.update(domain)  # `x in <this list>`: any value may be the one asked about
    ordered = [v for v in domain if v in tested]
    if len(ordered) <= _MAX_POWER_SET:
        subsets = [
            list(combo)
            for size in range(len(ordered) + 1)
            for combo in itertools.combinations(ordered, size)
        ]
    else:
        subsets = [[], *([v] for v in ordered), ordered]
        subsets += [[v for v in ordered if v != left_out] for left_out in ordered]
    if not ordered:
        subsets.append(list(domain[:1]))  # is_empty / is_set alone: empty and not empty
    return tuple(subsets)


def _numeric_candidates(
    path: str, found: list[Leaf], params: Mapping[str, Any], kind: str
) -> tuple[Any, ...]:
    numbers: set[float] = set()
    for leaf in found:
        if leaf.subject != path or leaf.op not in (*COMPARISONS, "eq", "ne"):
            continue
        operand = leaf.operand
        value = params[operand.name] if isinstance(operand, ParamRef) else operand
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.add(value)
    step = 1 if kind == "int" else 0.5
    candidates = {n + d for n in numbers for d in (-step, 0, step)}
    if not candidates:
        candidates = {0, 1}
    return _within_bounds(path, sorted(candidates), kind)


def _within_bounds(path: str, numbers: Iterable[float], kind: str) -> tuple[Any, ...]:
    info = field_registry().get(path)
    out = []
    for number in numbers:
        if info is not None:
            low, high = info.minimum, info.maximum
            if low is not None and (number < low or (info.exclusive_minimum and number == low)):
                continue
            if high is not None and number > high:
                continue
        out.append(int(number) if kind == "int" else float(number))
    return tuple(out)


def _dynamic_candidates(
    path: str, leaf: Leaf, facts: Mapping[str, Any], params: Mapping[str, Any]
) -> list[Any]:
    """Values of `path` near where a fact-dependent leaf turns, given the other facts."""
    operand = leaf.operand
    if isinstance(leaf.subject, MonthsSince):
        as_of = facts.get(AS_OF)
        months = params[operand.name] if isinstance(operand, ParamRef) else operand
        if as_of is None or not isinstance(months, int):
            return []
        day = as_of if isinstance(as_of, date) else date.fromisoformat(as_of)
        dates = [add_months(day, -m) for m in (months - 1, months, months + 1) if m >= 0]
        dates += [d.fromordinal(d.toordinal() + 1) for d in dates if d < day]
        return [d.isoformat() for d in dates]
    spec = RULE_FIELDS.get(path)
    kind = spec.kind if spec else "number"
    if isinstance(leaf.subject, Sum):
        others = [facts.get(p) for p in leaf.subject.paths if p != path]
        if any(v is None for v in others):
            return []
        target = params[operand.name] if isinstance(operand, ParamRef) else operand
        if isinstance(operand, FieldRef):
            target = facts.get(operand.path)
        if not isinstance(target, (int, float)):
            return []
        base = target - sum(others)
    else:  # a comparison with another numeric field
        other_path = operand.path if leaf.subject == path else leaf.subject
        other = facts.get(other_path) if isinstance(other_path, str) else None
        if not isinstance(other, (int, float)):
            return []
        base = other
    step = 1 if kind == "int" else 0.5
    return list(_within_bounds(path, (base - step, base, base + step), kind))


_INDEXES: weakref.WeakKeyDictionary[Ruleset, _RulesetIndex] = weakref.WeakKeyDictionary()


def _ruleset_index(ruleset: Ruleset) -> _RulesetIndex:
    index = _INDEXES.get(ruleset)
    if index is None:
        index = _INDEXES[ruleset] = _RulesetIndex(ruleset)
    return index


def candidate_values(ruleset: Ruleset, path: str, facts: Mapping[str, Any]) -> list[Any]:
    """The values of `path` that matter to the rules reading it, given the other facts."""
    return _candidates(_ruleset_index(ruleset), ruleset, path, facts)


def _candidates(
    index: _RulesetIndex,
    ruleset: Ruleset,
    path: str,
    facts: Mapping[str, Any],
    tried: bool = False,
) -> list[Any]:
    """`candidate_values`; with `tried`, the fixed values only one of each set that every
    leaf reading the field answers alike (`_FieldIndex.tried`: for `could_change_verdict`)."""
    entry = index.field(path)
    if entry is None:
        return []
    values = list(entry.tried if tried else entry.values)
    for leaf in entry.dynamic:
        for value in _dynamic_candidates(path, leaf, facts, ruleset.params):
            if value not in values:
                values.append(value)
    if not values and RULE_FIELDS.get(path) is not None and RULE_FIELDS[path].kind == "date":
        as_of = facts.get(AS_OF)
        values.append(as_of if as_of is not None else "2000-01-01")  # is_set alone
    return values


# ------------------------------------------------------------------ the questions


def waiting_rules(outcome: _Outcome) -> dict[str, list[Rule]]:
    """Each missing field with the undetermined rules that wait on it."""
    waiting: dict[str, list[Rule]] = {}
    for rule, fields in outcome.undetermined:
        for path in fields:
            waiting.setdefault(path, []).append(rule)
    return waiting


def could_change_verdict(
    ruleset: Ruleset,
    scope_rules: Sequence[Rule],
    outcome: _Outcome,
    facts: Mapping[str, Any],
) -> dict[str, bool]:
    """For each missing field: could some value of it alone change the verdict?

    The rules re-evaluated for a field are those waiting on it and those of the
    scope that test whether it is set (`is_set`), the only kind that a value can
    turn from fired to not fired. Only the rules whose change could move the
    current verdict are evaluated (`_relevant`: never minor or info ones), and the
    search for a field stops at the first value that changes the verdict.
    """
    # The missing fields, merged as sets (their stored hashes, no iterator per element:
    # ~30 sets a check); the callers read the answer by field, not in order.
    result = dict.fromkeys(_NO_FIELDS.union(*map(_WAITING, outcome.undetermined)), False)
    if not result:
        return result
    index = _ruleset_index(ruleset)
    scope = index.scope(scope_rules)
    fired_critical = [r.id for r in outcome.fired if r.severity == "critical"]
    if fired_critical:  # unsuitable: the exits below, before counting anything
        in_scope = [rule_id for rule_id in fired_critical if rule_id in scope.by_id]
        if len(in_scope) != len(fired_critical):
            return result  # `movers` is empty
        if not index.is_set_fields.keys() >= set(in_scope):
            return result  # a fired critical rule only a value can clear must test is_set
    fired_counts = _counts(map(_SEVERITY, outcome.fired))
    undetermined_counts = _counts(map(_SEVERITY, map(_RULE, outcome.undetermined)))
    current = verdict_of_counts(fired_counts, undetermined_counts)
    # The rules that could move the verdict at all, gathered by the fields they read.
    movers = scope.movers(current, outcome.fired, fired_counts)
    if current == "unsuitable" and not movers <= index.is_set_fields.keys():
        return result  # a fired critical rule only a value can clear must test is_set
    if not movers:
        return result
    fired_ids = set(map(_ID, outcome.fired))
    undetermined_ids = set(map(_ID, map(_RULE, outcome.undetermined)))
    by_field: dict[str, dict[str, Rule]] = {}
    for rule, fields in outcome.undetermined:
        if rule.id in movers:
            for path in fields:
                by_field.setdefault(path, {})[rule.id] = rule
    scope_ids = scope.by_id
    for rule_id, paths in index.is_set_fields.items():
        rule = scope_ids.get(rule_id)
        if rule is not None and rule_id in movers:
            for path in paths:
                if path in result:
                    by_field.setdefault(path, {})[rule_id] = rule
    work = dict(facts)
    for path, affected in by_field.items():
        relevant = _relevant(current, affected.values(), fired_ids, fired_counts)
        if not relevant:
            continue  # no value of this field can move the verdict
        states = [
            (
                rule,
                True if rule.id in fired_ids else (None if rule.id in undetermined_ids else False),
            )
            for rule in relevant
        ]
        for value in _candidates(index, ruleset, path, facts, tried=True):
            work[path] = value
            fired: dict[str, int] | None = None
            undetermined: dict[str, int] = undetermined_counts
            for rule, before in states:
                after = rule.evaluate(work)
                if after is before:
                    continue
                if fired is None:  # copied only once some rule changes state
                    fired, undetermined = dict(fired_counts), dict(undetermined_counts)
                _move(fired, undetermined, rule.severity, before, -1)
                _move(fired, undetermined, rule.severity, after, +1)
            if fired is not None and verdict_of_counts(fired, undetermined) != current:
                result[path] = True
                break
        if path in facts:
            work[path] = facts[path]
        else:
            work.pop(path, None)
    return result


def _relevant(
    current: str,
    affected: Iterable[Rule],
    fired_ids: set[str],
    fired_counts: Mapping[str, int],
) -> list[Rule]:
    """The affected rules whose change of state could move the current verdict.

    unsuitable: only firing critical rules, and only if every one of them is affected;
    incomplete: critical rules (majors do not count while a critical rule is open);
    conditional: critical rules, and fired majors if every fired major is affected;
    suitable: critical and major rules.
    """
    rules = [r for r in affected if r.severity in _VERDICT_SEVERITIES]
    critical = [r for r in rules if r.severity == "critical"]
    if current == "unsuitable":
        fired = [r for r in critical if r.id in fired_ids]
        return fired if len(fired) == fired_counts["critical"] else []
    if current == "incomplete":
        return critical
    if current == "conditional":
        fired_major = [r for r in rules if r.severity == "major" and r.id in fired_ids]
        return critical + (fired_major if len(fired_major) == fired_counts["major"] else [])
    return rules


def _counts(severities: Iterable[str]) -> dict[str, int]:
    """How many of each severity (every severity a key), counted by `list.count` in C:
    no bytecode per rule (~50 rules per call)."""
    listed = list(severities)
    counts = {severity: listed.count(severity) for severity in SEVERITY_ORDER}
    if sum(counts.values()) != len(listed):
        raise KeyError(next(s for s in listed if s not in counts))  # as indexing would
    return counts


def _move(
    fired: dict[str, int], undetermined: dict[str, int], severity: str, state: Any, step: int
) -> None:
    if state is True:
        fired[severity] += step
    elif state is None:
        undetermined[severity] += step


_SEVERITY = attrgetter("severity")
# The fields an undetermined rule waits on, of its (rule, fields) pair: in C, no Python
# call per rule (~30 per assessment)
_WAITING = itemgetter(1)
_RULE = itemgetter(0)  # the rule of an undetermined rule's pair
_NO_FIELDS: frozenset[str] = frozenset()
_ID = attrgetter("id")


def completeness(
    scope_rules: Sequence[Rule], undetermined: Iterable[Rule], total: int | None = None
) -> float:
    """The severity-weighted share of the scope's rules that could be evaluated (0..1).

    Each rule weighs `SEVERITY_WEIGHTS[severity]`; 1.0 when every rule could be
    evaluated (nothing is missing), and for a scope without rules. `total`: the
    scope's weight when the caller has it (`scope_weight`).
    """
    if total is None:
        total = scope_weight(scope_rules)
    if not total:
        return 1.0
    open_weight = sum(map(SEVERITY_WEIGHTS.__getitem__, map(_SEVERITY, undetermined)))
    return round(1 - open_weight / total, 4)


def scope_weight(scope_rules: Sequence[Rule]) -> int:
    """The weight of a scope's rules together (the whole of `completeness`)."""
    return sum(SEVERITY_WEIGHTS[r.severity] for r in scope_rules)


def open_questions_by_severity(severities: Iterable[str]) -> dict[str, int]:
    """How many missing fields have each severity (that of their most severe waiting rule)."""
    counts = dict.fromkeys(("critical", "major", "minor"), 0)
    for severity in severities:
        counts[severity] = counts.get(severity, 0) + 1
    return counts


def question_order(
    could_change: bool | None, severity: str, waiting: int, path: str
) -> tuple[Any, ...]:
    """The order of open questions: those that could change the verdict first, then the
    most severe, then those more rules wait on, then by field path."""
    return (not could_change, SEVERITY_ORDER[severity], -waiting, path)
