"""What would make it suitable: counterfactuals over the facts a team can change.

For a finding, the smallest sets of changes to changeable fields (class `offer`
or `process` in the field registry; a `fixed` field is never changed) after
which its rule no longer fires: false, or (listed as `waiting`) undecided until
facts nobody has stated are known; for the verdict as a whole, the smallest set of at most three
changes that lifts it to `suitable`, else to `conditional`.

Candidate values come from the rule's condition: the values of an enum field,
both truth values of a yes/no field, the numbers just past the thresholds a rule
compares with, adding or removing the value a list is tested for, and the
assessment date for a date the rule measures months from. Every candidate set is
verified by running the whole evaluation again on the changed facts
(`evaluator.outcome`), and reported with the rules it clears and any it raises
instead. No texts here: `report/remedies.py` words them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal, Protocol

from roprules.contract.fields import FieldInfo, field_registry
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.outcome import Outcome
from roprules.rulebase.conditions import AS_OF, FieldRef, Leaf, MonthsSince, ParamRef, Sum, leaves
from roprules.rulebase.ruleset import Rule, Ruleset

# How many remedies a finding shows at most, smallest first.
MAX_REMEDIES = 3
# The verdict search's time budget, seconds.
VERDICT_BUDGET_S = 0.25
_VERDICT_ORDER = {"suitable": 0, "conditional": 1, "incomplete": 2, "unsuitable": 3}
CHANGEABLE = ("offer", "process")


class EvaluatorLike(Protocol):
    """What the search needs of an evaluator: the rules and one full evaluation."""

    ruleset: Ruleset

    def outcome(self, scope: str, facts: Mapping[str, Any]) -> Outcome: ...


@dataclass(frozen=True)
class Change:
    """One changed fact: the field, its new value, what it was (None if unknown)."""

    field: str
    value: Any
    before: Any
    known_before: bool
    changed_by: Literal["offer", "process"]


@dataclass(frozen=True)
class Counterfactual:
    """A verified set of changes: the verdict it gives, the findings it clears and raises."""

    changes: tuple[Change, ...]
    verdict: str
    clears: tuple[str, ...]
    raises: tuple[str, ...]
    # For a finding's remedy: the unknown fields its rule then waits on (it no longer
    # fires but cannot be decided false until they are known); () when it is false.
    waiting: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerdictSearch:
    """The best verdict some allowed changes reach, and the smallest set that reaches it.

    `target`: "suitable", else "conditional"; None when no set of at most
    `max_changes` changes lifts the verdict. `fixed`: the ids of rules that stand
    in the way and hold on fixed facts alone, so that no change can clear them.
    `complete`: False when the time budget ran out before the search finished.
    """

    target: str | None
    counterfactual: Counterfactual | None
    fixed: tuple[str, ...]
    complete: bool


def verdict_from(outcome: Outcome) -> str:
    """The verdict of an outcome (contract.md)."""
    return outcome.verdict


@cache
def changeable(path: str) -> FieldInfo | None:
    """The field's record if the offer or the process may change it; None if fixed."""
    info = field_registry().get(path)
    if info is None or info.field_class not in CHANGEABLE or info.deprecated:
        return None
    return info


def _within(info: FieldInfo, value: float) -> bool:
    low = info.minimum
    if low is not None and (value < low or (info.exclusive_minimum and value == low)):
        return False
    return info.maximum is None or value <= info.maximum


def _threshold(leaf: Leaf, params: Mapping[str, Any]) -> Any:
    operand = leaf.operand
    if isinstance(operand, ParamRef):
        return params[operand.name]
    return operand


def _numbers(info: FieldInfo, around: float) -> list[Any]:
    """The values just past a threshold: one below, the threshold, one above, in bounds."""
    step = 1
    values = [around - step, around, around + step]
    if info.kind == "int":
        values = [int(v) for v in values if float(v).is_integer()]
    return [v for v in values if _within(info, v)]


def _list_candidates(info: FieldInfo, leaf: Leaf, current: Any) -> list[tuple[str, ...]]:
    items = tuple(current or ())
    order = {code: i for i, code in enumerate(info.codes)}

    def sort(values: Sequence[str]) -> tuple[str, ...]:
        return tuple(sorted(set(values), key=lambda v: order.get(v, len(order))))

    if leaf.op in ("contains", "not_contains"):
        value = leaf.operand
        return [sort([*items, value]), sort([v for v in items if v != value])]
    if leaf.op == "is_empty":
        return [(), *(sort([*items, code]) for code in info.codes)]
    return []


def leaf_values(
    leaf: Leaf, facts: Mapping[str, Any], params: Mapping[str, Any]
) -> Iterator[tuple[FieldInfo, Any]]:
    """The candidate (field, value) pairs one leaf suggests, changeable fields only."""
    subject = leaf.subject
    if isinstance(subject, MonthsSince):
        info = changeable(subject.path)
        if info is not None and facts.get(AS_OF) is not None:
            yield info, facts[AS_OF]  # a new assessment, made on the assessment date
        return
    if isinstance(subject, Sum):
        threshold = _threshold(leaf, params)
        if isinstance(threshold, (int, float)):
            for path in subject.paths:
                info = changeable(path)
                others = [facts.get(p) for p in subject.paths if p != path]
                if info is None or any(v is None for v in others):
                    continue
                for value in _numbers(info, threshold - sum(others)):
                    yield info, value
        return
    paths = [subject]
    if isinstance(leaf.operand, FieldRef):
        paths.append(leaf.operand.path)
    for path in paths:
        info = changeable(path)
        if info is None:
            continue
        if info.kind == "enum":
            for code in info.codes:
                yield info, code
        elif info.kind == "bool":
            yield info, True
            yield info, False
        elif info.numeric:
            other = facts.get(leaf.operand.path) if isinstance(leaf.operand, FieldRef) else None
            threshold = other if other is not None else _threshold(leaf, params)
            if isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
                yield from ((info, v) for v in _numbers(info, threshold))
        elif info.kind == "list":
            yield from ((info, v) for v in _list_candidates(info, leaf, facts.get(path)))
        elif info.kind == "date" and facts.get(AS_OF) is not None:
            yield info, facts[AS_OF]


@cache
def _leaves(condition: Any) -> tuple[Leaf, ...]:
    return tuple(leaves(condition))


def rule_changes(rule: Rule, facts: Mapping[str, Any], params: Mapping[str, Any]) -> list[Change]:
    """Every single change the rule's condition suggests, in the order of its leaves."""
    seen: set[tuple[str, Any]] = set()
    out: list[Change] = []
    for leaf in _leaves(rule.condition):
        for info, value in leaf_values(leaf, facts, params):
            key = (info.path, value)
            if key in seen or facts.get(info.path) == value:
                continue
            seen.add(key)
            out.append(
                Change(
                    field=info.path,
                    value=value,
                    before=facts.get(info.path),
                    known_before=facts.get(info.path) is not None,
                    changed_by=info.field_class,  # type: ignore[arg-type]
                )
            )
    return out


def apply(facts: Mapping[str, Any], changes: Sequence[Change]) -> dict[str, Any]:
    """The facts with the changes made."""
    changed = dict(facts)
    for change in changes:
        changed[change.field] = change.value
    return changed


def without_changeable(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts with every changeable field unknown: what holds on fixed facts alone."""
    return {path: value for path, value in facts.items() if changeable(path) is None}


def _key(changes: Sequence[Change]) -> frozenset[tuple[str, Any]]:
    return frozenset((c.field, c.value) for c in changes)


class Search:
    """One assessment's counterfactual search; every full evaluation is done once."""

    def __init__(
        self,
        evaluator: EvaluatorLike,
        scope: str,
        facts: Mapping[str, Any],
        base: Outcome | None = None,
    ):
        """`base`: the outcome of the unchanged facts, if the caller has it already."""
        self.evaluator = evaluator
        self.scope = scope
        self.facts = dict(facts)
        self.params = evaluator.ruleset.params
        self._outcomes: dict[frozenset[tuple[str, Any]], Outcome] = {}
        if base is not None:
            self._outcomes[frozenset()] = base
        self.base = self.outcome(())
        self.base_fired = tuple(rule.id for rule in self.base.fired)
        self.rules = {rule.id: rule for rule in evaluator.ruleset.rules}
        self.bare = without_changeable(self.facts)
        self._changes: dict[tuple[Any, ...], list[Change]] = {}
        self._movable: dict[str, frozenset[str]] = {}

    def movable(self, rule: Rule) -> frozenset[str]:
        """The changeable fields the rule reads."""
        found = self._movable.get(rule.id)
        if found is None:
            found = self._movable[rule.id] = frozenset(p for p in rule.fields if changeable(p))
        return found

    def lower_bound(self, rules: Sequence[Rule]) -> int:
        """At least this many changes are needed: rules that share no changeable field
        need one change each (a greedy set of such rules)."""
        taken: set[str] = set()
        count = 0
        for rule in sorted(rules, key=lambda r: len(self.movable(r))):
            fields = self.movable(rule)
            if not fields & taken:
                taken |= fields
                count += 1
        return count

    def changes(self, rule: Rule, facts: Mapping[str, Any]) -> list[Change]:
        """`rule_changes`, once per rule and values of its fields."""
        key = (rule.id, facts.get(AS_OF), *(facts.get(p) for p in sorted(rule.fields)))
        found = self._changes.get(key)
        if found is None:
            found = self._changes[key] = rule_changes(rule, facts, self.params)
        return found

    def extensions(
        self,
        base: tuple[Change, ...],
        options: Sequence[Change],
        seen: set[frozenset[tuple[str, Any]]],
    ) -> Iterator[tuple[tuple[Change, ...], frozenset[tuple[str, Any]]]]:
        """Each set not tried yet: `base` and one more change, to a field it leaves alone.

        Both searches grow their candidates this way; `seen` is marked as they go.
        """
        used = {c.field for c in base}
        for change in options:
            if change.field in used:
                continue
            candidate = (*base, _rebase(change, self.facts))
            key = _key(candidate)
            if key in seen:
                continue
            seen.add(key)
            yield candidate, key

    def outcome(self, changes: Sequence[Change]) -> Outcome:
        key = _key(changes)
        if key not in self._outcomes:
            self._outcomes[key] = self.evaluator.outcome(self.scope, apply(self.facts, changes))
        return self._outcomes[key]

    def counterfactual(self, changes: Sequence[Change], rule_id: str = "") -> Counterfactual:
        """Verified: the whole evaluation on the changed facts."""
        outcome = self.outcome(changes)
        fired = {rule.id for rule in outcome.fired}
        ordered = sorted(changes, key=lambda c: c.field)
        waiting = next((w for rule, w in outcome.undetermined if rule.id == rule_id), ())
        return Counterfactual(
            changes=tuple(ordered),
            verdict=verdict_from(outcome),
            clears=tuple(sorted(set(self.base_fired) - fired)),
            raises=tuple(sorted(fired - set(self.base_fired))),
            waiting=tuple(sorted(waiting)),
        )

    def is_cleared(self, rule_id: str, changes: Sequence[Change]) -> bool:
        """Whether the whole evaluation on the changed facts no longer fires the rule."""
        return not any(rule.id == rule_id for rule in self.outcome(changes).fired)

    # ------------------------------------------------------------------ one finding

    def finding_remedies(self, rule_id: str, max_changes: int = 2) -> list[Counterfactual]:
        """The smallest change sets after which the rule no longer fires, verified, best first.

        A set that makes the rule false comes before one that leaves it waiting on
        unknown facts (`Counterfactual.waiting`): it no longer fires, but facts nobody
        has stated yet could still make it hold.
        """
        rule = self.rules[rule_id]
        if rule.evaluate(self.bare) is True:
            return []  # it holds on fixed facts alone
        found: list[tuple[Change, ...]] = []
        frontier: list[tuple[Change, ...]] = [()]
        seen: set[frozenset[tuple[str, Any]]] = set()
        for _size in range(max_changes):
            grown: list[tuple[Change, ...]] = []
            for base in frontier:
                facts = apply(self.facts, base)
                for candidate, key in self.extensions(base, self.changes(rule, facts), seen):
                    if any(_key(smaller) <= key for smaller in found):
                        continue  # not minimal
                    if rule.evaluate(apply(self.facts, candidate)) is not True:
                        if self.is_cleared(rule_id, candidate):
                            found.append(candidate)
                    else:
                        grown.append(candidate)
            if found:
                break
            frontier = grown
        results = [self.counterfactual(changes, rule_id) for changes in found]
        results.sort(key=_quality)
        return results[:MAX_REMEDIES]

    # ------------------------------------------------------------------ the verdict

    def blockers(self, outcome: Outcome, target: str) -> list[Rule]:
        """The rules that keep the outcome's verdict below `target`."""
        severities = ("critical", "major") if target == "suitable" else ("critical",)
        fired = [rule for rule in outcome.fired if rule.severity in severities]
        waiting = [rule for rule, _ in outcome.undetermined if rule.severity == "critical"]
        return sorted(fired + waiting, key=lambda r: (SEVERITY_ORDER[r.severity], r.id))

    def verdict_remedy(
        self, max_changes: int = 3, budget_s: float = VERDICT_BUDGET_S
    ) -> VerdictSearch:
        now = verdict_from(self.base)
        if now == "suitable":
            return VerdictSearch("suitable", self.counterfactual(()), (), True)
        deadline = time.perf_counter() + budget_s
        complete = True
        for target in ("suitable", "conditional"):
            if _VERDICT_ORDER[target] >= _VERDICT_ORDER[now]:
                break
            best, finished = self._lift(target, max_changes, deadline)
            complete = complete and finished
            if best is not None:
                return VerdictSearch(target, best, (), complete)
        target = "suitable" if now == "conditional" else "conditional"
        fixed = tuple(
            rule.id for rule in self.blockers(self.base, target) if rule.evaluate(self.bare) is True
        )
        return VerdictSearch(None, None, fixed, complete)

    def _lift(
        self, target: str, max_changes: int, deadline: float
    ) -> tuple[Counterfactual | None, bool]:
        """Breadth first over the changes that a rule still in the way suggests.

        Every set that clears the rules in the way must change a field of each of
        them, so branching on one rule's changes (the one with the fewest) misses no
        set of the candidate values. Rules that share no changeable field need one
        change each: a node that cannot reach the target in time is not expanded.
        """
        blockers = self.blockers(self.base, target)
        if any(rule.evaluate(self.bare) is True for rule in blockers):
            return None, True  # a rule in the way holds on fixed facts alone
        if any(not self.movable(r) for r in blockers) or self.lower_bound(blockers) > max_changes:
            return None, True
        seen: set[frozenset[tuple[str, Any]]] = set()
        frontier: list[tuple[Change, ...]] = [()]
        for depth in range(max_changes):
            hits: list[Counterfactual] = []
            grown: list[tuple[Change, ...]] = []
            for base in frontier:
                if time.perf_counter() > deadline:
                    return _best(hits), False
                facts = apply(self.facts, base)
                pending = [r for r in blockers if _in_way(r, facts)]
                if not pending:  # the changes raised a rule of their own
                    pending = self.blockers(self.outcome(base), target)
                    if not pending:
                        continue
                if self.lower_bound(pending) > max_changes - depth:
                    continue
                # Branch on the rule in the way with the fewest changes to try.
                options = min((self.changes(rule, facts) for rule in pending), key=len)
                for candidate, _ in self.extensions(base, options, seen):
                    changed = apply(self.facts, candidate)
                    if any(_in_way(rule, changed) for rule in blockers):
                        grown.append(candidate)
                        continue
                    result = self.counterfactual(candidate)
                    if _VERDICT_ORDER[result.verdict] > _VERDICT_ORDER[target]:
                        grown.append(candidate)
                        continue
                    if not result.raises and all(c.changed_by == "offer" for c in candidate):
                        return result, True  # none of this size can be better
                    hits.append(result)
            if hits:
                return _best(hits), True
            frontier = grown
        return None, True


def _in_way(rule: Rule, facts: Mapping[str, Any]) -> bool:
    """Whether the rule still keeps the verdict down: it fires, or it is critical and
    cannot be decided (contract.md's verdict order)."""
    value = rule.evaluate(facts)
    return value is True or (value is None and rule.severity == "critical")


def _rebase(change: Change, facts: Mapping[str, Any]) -> Change:
    """The change measured against the original facts, not an intermediate set."""
    before = facts.get(change.field)
    if change.before == before and change.known_before == (before is not None):
        return change
    return Change(change.field, change.value, before, before is not None, change.changed_by)


def _quality(result: Counterfactual) -> tuple[Any, ...]:
    return (
        len(result.changes),
        len(result.waiting),
        len(result.raises),
        _VERDICT_ORDER[result.verdict],
        -len(result.clears),
        [c.changed_by != "offer" for c in result.changes],
        [(c.field, str(c.value)) for c in result.changes],
    )


def _best(hits: Sequence[Counterfactual]) -> Counterfactual | None:
    return min(hits, key=_quality) if hits else None


def finding_remedies(
    evaluator: EvaluatorLike,
    scope: str,
    facts: Mapping[str, Any],
    rule_id: str,
    *,
    max_changes: int = 2,
    search: Search | None = None,
) -> list[Counterfactual]:
    """The smallest verified change sets that clear the finding of `rule_id`, best first."""
    search = search or Search(evaluator, scope, facts)
    return search.finding_remedies(rule_id, max_changes)


def verdict_remedy(
    evaluator: EvaluatorLike,
    scope: str,
    facts: Mapping[str, Any],
    *,
    max_changes: int = 3,
    budget_s: float = VERDICT_BUDGET_S,
    search: Search | None = None,
) -> VerdictSearch:
    """The smallest verified change set that lifts the verdict (see VerdictSearch)."""
    search = search or Search(evaluator, scope, facts)
    return search.verdict_remedy(max_changes, budget_s)


@dataclass(frozen=True)
class Remedies:
    """Every remedy of one assessment: per critical and major finding, and the verdict's."""

    findings: dict[str, list[Counterfactual]]
    verdict: VerdictSearch


def remedies(
    evaluator: EvaluatorLike,
    scope: str,
    facts: Mapping[str, Any],
    *,
    budget_s: float = VERDICT_BUDGET_S,
    base: Outcome | None = None,
) -> Remedies:
    """Finding and verdict remedies together, sharing one cache of evaluations."""
    search = Search(evaluator, scope, facts, base)
    findings = {
        rule.id: search.finding_remedies(rule.id)
        for rule in search.base.fired
        if rule.severity in ("critical", "major")
    }
    return Remedies(findings, search.verdict_remedy(budget_s=budget_s))


@dataclass(frozen=True)
class Need:
    """Residents whom the same smallest set of changes would serve (matrix gaps)."""

    resident_ids: tuple[str, ...]
    changes: tuple[Change, ...]
    offers_with: int | None  # offers that already have every value (None: process changes)
    offers: int


def gap_needs(
    evaluator: EvaluatorLike,
    gaps: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    offer_facts: Sequence[Mapping[str, Any]],
    *,
    per_resident: int = 3,
    budget_s: float = 2.0,
) -> list[Need]:
    """Group residents with no acceptable offer by the change set that would serve them.

    `gaps`: each resident's id and the placement facts of their best offers, best
    first. For each of the first `per_resident` offers the verdict search runs; the
    change set that lifts the most of them (then the smallest) is that resident's
    need. Bounded by `budget_s` in all: a resident not reached is left out.
    """
    deadline = time.perf_counter() + budget_s
    chosen: dict[tuple[tuple[str, Any], ...], tuple[list[str], tuple[Change, ...]]] = {}
    for resident_id, placements in gaps:
        found: dict[tuple[tuple[str, Any], ...], list[Counterfactual]] = {}
        for facts in placements[:per_resident]:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            search = Search(evaluator, "placement", facts).verdict_remedy(budget_s=min(left, 0.1))
            result = search.counterfactual
            if search.target is not None and result is not None and result.changes:
                # What an offer would need to have; the process changes (a new
                # assessment, a plan) are the resident's own and vary less by offer.
                part = [c for c in result.changes if c.changed_by == "offer"] or result.changes
                key = tuple(sorted((c.field, c.value) for c in part))
                found.setdefault(key, []).append(replace(result, changes=tuple(part)))
        if not found:
            continue
        key = max(found, key=lambda k: (len(found[k]), -len(k)))
        people, _ = chosen.setdefault(key, ([], found[key][0].changes))
        people.append(resident_id)
    needs = []
    for key, (people, changes) in chosen.items():
        have = sum(all(facts.get(path) == value for path, value in key) for facts in offer_facts)
        needs.append(Need(tuple(people), changes, have, len(offer_facts)))
    needs.sort(key=lambda n: (-len(n.resident_ids), [c.field for c in n.changes]))
    return needs
