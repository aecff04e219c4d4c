"""Screening many residents against many offers: verdicts without texts.

A municipality's allocation round can be a thousand residents against a
thousand offers: a million cells. No explanation is rendered: open a pair with
`Engine.check` to read its findings. A cell holds the verdict, the rules that
fired (most severe first), the findings by severity and how many unknown
fields block a rule; each row is ordered best first (`evaluation/ranking.py`: the
verdict, then the score of the findings and of the rules still open, then the id).

How a million cells stay cheap (`Screener`):

- the offer rules run once per offer and the resident rules once per resident,
  on the engine's backend;
- a placement rule reads some resident fields and some offer fields. Its
  leaves that read offer fields alone are evaluated once per offer; offers
  whose leaves come out the same (and whose fields that are compared with a
  resident's agree) are one *class* for that rule, and the rule is evaluated
  once per class and resident, on one offer of the class (residents are
  classed the same way and share the result). The cell takes the result of
  its offer's class: the same value, and the same blocking fields, as
  evaluating it on the cell's own facts, since a condition's value and
  blocking fields depend on nothing but its leaves';
- a cell is a few bit masks ORed together (fired rules, blocking fields, "a
  critical rule is undetermined"); its verdict, counts and sort key are read once
  per distinct outcome, its rule ids by C-level calls over byte tables.

The placement rules are decided by the three-valued evaluator (the compiled
conditions) on both backends; on the durable backend durable_rules runs the
offer and resident rules, and for every resident one cell is also run through
durable_rules in full and must agree with the fast path, else EngineError (the
agreement tests hold the two backends to the same answer for every rule).
`screen_each_cell` runs every cell through the backend instead; it is the
reference the tests hold `screen` to.

`workers=N` screens the residents in chunks in N processes, this one and N - 1
workers (durable_rules holds a process-wide lock, so threads would not help);
each worker loads the same rule files once (`MatrixWorkers`) and returns compact
rows, which this process makes cells with C-level calls alone; the result is the
same Matrix as in one process. The offers reach the workers piece by piece as they
are validated, so the workers' share of the offer side overlaps this process's
validation instead of following it.

The matrix also lists the offers (with their vacancies) and the gaps: residents
with no acceptable offer, grouped by the critical rules that stand in their way
in every offer. It never allocates: prioritising between people is the team's
decision.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import math
import operator
import os
import pickle
import queue
import socket
import struct
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, cycle, repeat
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from roprules.contract.assessment import VERDICT_RANK
from roprules.contract.documents import InputError
from roprules.contract.profiles import OfferProfile, ResidentProfile, profile_to_facts
from roprules.contract.rankings import Matrix, MatrixCell, MatrixGap, MatrixOffer, MatrixRow
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.backends import EngineError
from roprules.evaluation.outcome import Evaluator, Outcome, severity_counts, verdict_of
from roprules.evaluation.ranking import SEVERITY_WEIGHT, rank_key, rank_score, unknown_weight
from roprules.rulebase.conditions import (
    AS_OF,
    Leaf,
    compile_evaluator,
    evaluate_leaf,
    leaves,
    undetermined_by,
)
from roprules.rulebase.ruleset import Rule, Ruleset, load_ruleset

ACCEPTABLE = frozenset({"suitable", "conditional"})
_SEVERITIES = tuple(SEVERITY_ORDER)
_CRITICAL, _MAJOR = _SEVERITIES.index("critical"), _SEVERITIES.index("major")


@dataclass
class CompactRow:
    """One resident's row as a worker returns it: per offer, best first, a cell's parts.

    Ready to be made cells with C-level calls alone (`_Assembler.row`): the parent does
    no per-cell Python work beyond creating the `MatrixCell`.
    """

    order: list[int]  # offer indices, best first
    heads: list[int]  # per entry of `order`: its verdict and counts, an index into the chunk's
    fired: bytes  # per entry, `Layout.fired_width` bytes: the fired rules' bits, little-endian
    missing: list[int]  # per entry: unknown fields that block a rule
    blocking: tuple[str, ...] | None  # no acceptable offer: the critical rules in every cell


@dataclass
class CompactChunk:
    rows: list[CompactRow]
    heads: list[tuple[int, tuple[int, ...]]]  # distinct (verdict's code, findings by severity)


# --------------------------------------------------------------------------- the fast path


def _leaf_key(leaf: Leaf, facts: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    """What decides a leaf's part in a condition: its value, or which of its fields are unknown."""
    value = evaluate_leaf(leaf, facts, params)
    if value is not None:
        return value
    return tuple(facts.get(path) is None for path in leaf.fields())


class _RulePlan:
    """One placement rule split by what its leaves read."""

    __slots__ = (
        "classes",
        "offer_leaves",
        "offer_paths",
        "representatives",
        "resident_leaves",
        "resident_paths",
        "results",
        "rule",
    )

    def __init__(self, rule: Rule):
        self.rule = rule
        self.offer_leaves: list[Leaf] = []
        self.resident_leaves: list[Leaf] = []
        offer_paths: set[str] = set()
        resident_paths: set[str] = set()
        for leaf in dict.fromkeys(leaves(rule.condition)):
            paths = leaf.fields()
            on_offer = [p.startswith("offer.") for p in paths]
            if all(on_offer):
                self.offer_leaves.append(leaf)
            elif not any(on_offer):
                self.resident_leaves.append(leaf)
            else:  # compares a resident's field with an offer's: keep the raw values
                offer_paths.update(p for p in paths if p.startswith("offer."))
                resident_paths.update(p for p in paths if not p.startswith("offer."))
        self.offer_paths = tuple(sorted(offer_paths))
        self.resident_paths = tuple(sorted(resident_paths))
        self.classes: list[int] = []  # per offer: its class for this rule
        self.representatives: list[int] = []  # per class: one offer of it
        self.results: dict[Any, int | list[int]] = {}  # resident key -> packed result per class


class _Group:
    """Placement rules evaluated together: each offer's class is the tuple of its classes."""

    __slots__ = ("classes", "members", "parts")

    def __init__(self, members: list[int], keys: list[tuple[int, ...]]):
        self.members = members
        numbers: dict[tuple[int, ...], int] = {}
        self.classes = [numbers.setdefault(key, len(numbers)) for key in keys]
        self.parts = list(numbers)  # per joint class: the class of each member


_LAYOUTS: weakref.WeakKeyDictionary[Evaluator, dict[str, Any]] = weakref.WeakKeyDictionary()


class Layout:
    """Where each rule and field has its bit in a packed cell, and how to read a cell back.

    Bit 0: a critical rule is undetermined; bits 1..n: the rules that fired, most severe
    first (severity, then id); bits n+1..2n: the same rules, undetermined (they weigh in
    the ranking score); above them, in a cell's outcome, one bit per field that blocks
    an undetermined rule, and in a cell's signature, how many fields do.
    The same rule base gives the same layout in every process.
    """

    def __init__(self, evaluator: Evaluator):
        # Computed once per evaluator (its rules do not change) and shared, read-only:
        # building the byte tables alone took ~3.5 ms in every Screener and assembly.
        known = _LAYOUTS.get(evaluator)
        if known is None:
            self._compute(evaluator)
            known = _LAYOUTS.setdefault(evaluator, dict(self.__dict__))
        self.__dict__.update(known)

    def _compute(self, evaluator: Evaluator) -> None:
        self.weight_of_unknown = unknown_weight(evaluator.ruleset.params)
        every = [
            r
            for scope in ("placement", "offer", "resident")
            for r in evaluator.rules_by_scope[scope]
        ]
        ordered = sorted(every, key=lambda r: (SEVERITY_ORDER[r.severity], r.id))
        self.rule_bit = {rule.id: 1 << (index + 1) for index, rule in enumerate(ordered)}
        self.rule_ids = ids = [rule.id for rule in ordered]
        self.critical = frozenset(rule.id for rule in ordered if rule.severity == "critical")
        self.fired_mask = sum(self.rule_bit.values())
        self.severity_masks = tuple(
            sum(self.rule_bit[r.id] for r in ordered if r.severity == s) for s in _SEVERITIES
        )
        self.open_bit = {rule_id: bit << len(ordered) for rule_id, bit in self.rule_bit.items()}
        self.open_mask = self.fired_mask << len(ordered)
        self.field_offset = 2 * len(ordered) + 1
        self.signature_mask = self.fired_mask | self.open_mask | 1
        # Per severity: its ranking weight and the fired and undetermined rules' bits.
        self.weights = tuple(SEVERITY_WEIGHT[s] for s in _SEVERITIES)
        self.open_masks = tuple(mask << len(ordered) for mask in self.severity_masks)
        # The ids of the rules whose bits are set in each byte of the fired bits (bit 1 on).
        self._byte_ids = [
            [
                tuple(ids[start + i] for i in range(8) if byte >> i & 1 and start + i < len(ids))
                for byte in range(256)
            ]
            for start in range(0, len(ids), 8)
        ] or [[()] * 256]
        self.fired_width = len(self._byte_ids)

    def head(self, cell: int) -> tuple[int, str, tuple[int, ...]]:
        """A signature's sort key (without the offer), verdict and findings by severity."""
        counts = tuple(map(int.bit_count, map(cell.__and__, self.severity_masks)))
        opened = map(int.bit_count, map(cell.__and__, self.open_masks))
        # verdict_of (contract.md): a critical finding, a critical rule undetermined, a major one.
        if counts[_CRITICAL]:
            verdict = "unsuitable"
        elif cell & 1:
            verdict = "incomplete"
        elif counts[_MAJOR]:
            verdict = "conditional"
        else:
            verdict = "suitable"
        # rank_score (evaluation/ranking.py), the same sums: whole numbers, exact in any order.
        found = sum(map(operator.mul, self.weights, counts))
        possible = sum(map(operator.mul, self.weights, opened))
        score = round(found + self.weight_of_unknown * possible, 6)
        # An integer key in the order of rank_key: scores are multiples of 1e-6.
        return _VERDICT_KEY[verdict] + round(score * 1_000_000), verdict, counts

    def fired_bytes(self, cell: int) -> bytes:
        """A cell's fired rules as `CompactRow.fired` holds them (`fired_width` bytes)."""
        return ((cell & self.fired_mask) >> 1).to_bytes(self.fired_width, "little")

    def fired_ids(self, cell: int) -> list[str]:
        """The ids of the rules that fired in a cell, most severe first."""
        return next(self.rule_lists(self.fired_bytes(cell)))

    def rule_lists(self, fired: bytes) -> Iterator[list[str]]:
        """Per entry of a `CompactRow.fired`, the ids of its rules, most severe first.

        C-level calls alone (no Python frame per cell): each byte indexes its table of
        the ids set in it, and `fired_width` of those make a cell. This is most of the
        work of making a row's cells. Bytes rather than an int per cell: a worker's
        row pickles as one string (ints of ~100 bits cost ~170 ns each to pickle and
        to unpickle), and reading bytes needs no `int.to_bytes` per cell here.
        """
        ids = map(operator.getitem, cycle(self._byte_ids), fired)
        cells = zip(*repeat(ids, self.fired_width), strict=True)
        return map(list, map(chain.from_iterable, cells))


_VERDICTS = ("suitable", "conditional", "incomplete", "unsuitable")
_VERDICT_CODE = {verdict: code for code, verdict in enumerate(_VERDICTS)}
_VERDICT_KEY = {verdict: VERDICT_RANK[verdict] * 10**15 for verdict in _VERDICTS}


# A piece of a Screener's offer side, for a range of offers: per offer, its offer rules'
# outcome by rule ids (fired; undetermined with the fields they wait on), and per distinct
# offer leaf (`_offer_leaves`), its key (`_leaf_key`) per offer. Plain values: a worker
# sends its piece to the other processes.
OfferPart = tuple[
    list[tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]], list[list[Any]]
]


def _offer_leaves(plans: Iterable[_RulePlan]) -> list[Leaf]:
    """The distinct leaves that read offer fields alone, in the same order in every process."""
    return list(dict.fromkeys(leaf for plan in plans for leaf in plan.offer_leaves))


def offer_part(
    evaluator: Evaluator, offer_facts: Sequence[Mapping[str, Any]], start: int, stop: int
) -> OfferPart:
    """The costly part of a Screener's offer side for offers[start:stop].

    The offer rules run on the backend; each leaf is compiled as the evaluator runs it.
    """
    params = evaluator.ruleset.params
    mine = offer_facts[start:stop]
    outcomes = []
    for facts in mine:
        outcome = evaluator.run("offer", facts)
        outcomes.append(
            (
                tuple(rule.id for rule in outcome.fired),
                tuple((rule.id, tuple(waiting)) for rule, waiting in outcome.undetermined),
            )
        )
    columns = []
    plans = [_RulePlan(rule) for rule in evaluator.rules_by_scope["placement"]]
    for leaf in _offer_leaves(plans):
        value = compile_evaluator(leaf, params)
        paths = leaf.fields()
        columns.append(
            [
                tuple(f.get(path) is None for path in paths) if (v := value(f)) is None else v
                for f in mine
            ]
        )
    return outcomes, columns


def _part_bounds(offers: int, index: int, parts: int) -> tuple[int, int]:
    return index * offers // parts, (index + 1) * offers // parts


class Screener(Layout):
    """Screens residents against a fixed list of offers, on one evaluator (the engine's backend)."""

    def __init__(
        self,
        evaluator: Evaluator,
        offer_facts: Sequence[Mapping[str, Any]],
        parts: Sequence[OfferPart] | None = None,
    ):
        """`parts`: the offer side computed in pieces (`offer_part`, in offer order), as
        the processes of a workers=N matrix share it; else computed here."""
        super().__init__(evaluator)
        self.evaluator = evaluator
        self.params = evaluator.ruleset.params
        self.offer_facts = offer_facts
        self.field_bit: dict[str, int] = {}
        self.plans = [_RulePlan(rule) for rule in evaluator.rules_by_scope["placement"]]
        if parts is None:
            parts = [offer_part(evaluator, offer_facts, 0, len(offer_facts))]
        self.offer_bits = [
            self.pack_named(fired, undetermined)
            for part in parts
            for fired, undetermined in part[0]
        ]
        # Each leaf (and raw field) over every offer once: rules share many of them.
        columns: dict[Any, list[Any]] = {
            leaf: list(chain.from_iterable(part[1][index] for part in parts))
            for index, leaf in enumerate(_offer_leaves(self.plans))
        }

        def column(leaf: Leaf) -> list[Any]:
            return columns[leaf]

        def raw(path: str) -> list[Any]:
            found = columns.get(path)
            if found is None:
                found = columns[path] = [facts.get(path) for facts in offer_facts]
            return found

        count = len(offer_facts)
        nothing = [()] * count
        for plan in self.plans:
            by_leaves = list(zip(*map(column, plan.offer_leaves), strict=True)) or nothing
            by_fields = list(zip(*map(raw, plan.offer_paths), strict=True)) or nothing
            numbers: dict[Any, int] = {}  # a class per distinct key, numbered as first seen
            plan.classes = [
                numbers.setdefault(key, len(numbers))
                for key in zip(by_leaves, by_fields, strict=True)
            ]
            first = dict(zip(reversed(plan.classes), range(count - 1, -1, -1), strict=True))
            plan.representatives = [first[cls] for cls in range(len(numbers))]
        self.groups = self._group(count)

    def _group(self, offers: int) -> list[_Group]:
        """Rules whose classes together still split the offers into few: one pass per row."""
        limit = max(1, offers // 4)
        groups: list[_Group] = []
        order = sorted(range(len(self.plans)), key=lambda i: len(self.plans[i].representatives))
        members: list[int] = []
        keys: list[tuple[int, ...]] = [()] * offers
        for index in order:
            classes = self.plans[index].classes
            joined = [(*key, cls) for key, cls in zip(keys, classes, strict=True)]
            if members and len(set(joined)) > limit:
                groups.append(_Group(members, keys))
                members, joined = [], [(cls,) for cls in classes]
            members.append(index)
            keys = joined
        if members:
            groups.append(_Group(members, keys))
        return groups

    # ---------------------------------------------------------------- packing

    def field(self, path: str) -> int:
        bit = self.field_bit.get(path)
        if bit is None:
            bit = self.field_bit[path] = 1 << (self.field_offset + len(self.field_bit))
        return bit

    def pack(self, outcome: Outcome) -> int:
        bits = 0
        for rule in outcome.fired:
            bits |= self.rule_bit[rule.id]
        for rule, waiting in outcome.undetermined:
            bits |= self.open_bit[rule.id]
            if rule.severity == "critical":
                bits |= 1
            for path in waiting:
                bits |= self.field(path)
        return bits

    def pack_named(
        self, fired: Iterable[str], undetermined: Iterable[tuple[str, Iterable[str]]]
    ) -> int:
        """`pack` of an outcome given by rule ids (as `offer_part` sends it)."""
        bits = 0
        for rule_id in fired:
            bits |= self.rule_bit[rule_id]
        for rule_id, waiting in undetermined:
            bits |= self.open_bit[rule_id]
            if rule_id in self.critical:
                bits |= 1
            for path in waiting:
                bits |= self.field(path)
        return bits

    def _evaluate(self, rule: Rule, facts: Mapping[str, Any]) -> int:
        value = rule.evaluate(facts)
        if value is True:
            return self.rule_bit[rule.id]
        if value is False:
            return 0
        _, waiting = undetermined_by(rule.condition, facts, self.params)
        bits = self.open_bit[rule.id] | (1 if rule.severity == "critical" else 0)
        for path in waiting:
            bits |= self.field(path)
        return bits

    # ---------------------------------------------------------------- rows

    def _results(self, resident: Mapping[str, Any]) -> list[int | list[int]]:
        """Each placement rule for one resident: one packed result, or one per class of offers."""
        found: list[int | list[int]] = []
        merged: dict[int, dict[str, Any]] = {}
        for plan in self.plans:
            key = (
                tuple(_leaf_key(leaf, resident, self.params) for leaf in plan.resident_leaves),
                tuple(resident.get(path) for path in plan.resident_paths),
            )
            results = plan.results.get(key)
            if results is None:
                computed = []
                for index in plan.representatives:
                    facts = merged.get(index)
                    if facts is None:
                        facts = merged[index] = {**resident, **self.offer_facts[index]}
                    computed.append(self._evaluate(plan.rule, facts))
                results = computed[0] if len(set(computed)) == 1 else computed
                if len(plan.results) < 4096:
                    plan.results[key] = results
            found.append(results)
        return found

    def cells(self, resident: Mapping[str, Any], results: list[int | list[int]]) -> list[int]:
        """Every offer's cell for one resident: its rules' outcomes ORed together."""
        base = self.pack(self.evaluator.run("resident", resident))
        varying = []
        for group in self.groups:
            parts = []
            for position, member in enumerate(group.members):
                result = results[member]
                if isinstance(result, int):
                    base |= result
                else:
                    parts.append((position, result))
            if parts:
                joint = [0] * len(group.parts)
                for number, classes in enumerate(group.parts):
                    bits = 0
                    for position, result in parts:
                        bits |= result[classes[position]]
                    joint[number] = bits
                varying.append((joint, group.classes))
        cells = [base | bits for bits in self.offer_bits]
        for joint, classes in varying:
            cells = [bits | joint[cls] for bits, cls in zip(cells, classes, strict=True)]
        return cells

    def rows(
        self, residents: Sequence[Mapping[str, Any]], offer_order: Sequence[int], check: int = 0
    ) -> CompactChunk:
        """Compact rows for the residents; `offer_order[o]`: offer o's place among the offer ids.

        `check`: the global index of the first resident; cell (i, i mod offers) of every
        row is also assessed the ordinary way and must agree.
        """
        heads: list[tuple[int, tuple[int, ...]]] = []
        head_numbers: dict[tuple[int, tuple[int, ...]], int] = {}
        # Per distinct cell of the chunk: its sort key, head, rule ids, missing count.
        sort_keys: list[int] = []
        accepted: list[bool] = []
        cell_heads: list[int] = []
        cell_fired: list[bytes] = []
        cell_missing: list[int] = []
        known: dict[int, int] = {}
        rows = []
        count = len(self.offer_facts)
        offset, keep, fired_mask = self.field_offset, self.signature_mask, self.fired_mask
        width = self.fired_width
        for number, resident in enumerate(residents):
            results = self._results(resident)
            if count:
                self._check(resident, (check + number) % count, results)
            cells = self.cells(resident, results)
            # A cell's signature: the fired rules, "a critical rule undetermined", missing.
            numbers = []
            for cell in [(b & keep) | ((b >> offset).bit_count() << offset) for b in cells]:
                found = known.get(cell)
                if found is None:
                    found = known[cell] = len(sort_keys)
                    key, verdict, counts = self.head(cell)
                    head = (_VERDICT_CODE[verdict], counts)
                    head_number = head_numbers.get(head)
                    if head_number is None:
                        head_number = head_numbers[head] = len(heads)
                        heads.append(head)
                    sort_keys.append(key)
                    accepted.append(verdict in ACCEPTABLE)
                    cell_heads.append(head_number)
                    cell_fired.append(((cell & fired_mask) >> 1).to_bytes(width, "little"))
                    cell_missing.append(cell >> offset)
                numbers.append(found)
            keys = [
                (sort_keys[found] * count + offer_order[index]) * count + index
                for index, found in enumerate(numbers)
            ]
            keys.sort()
            order = [key % count for key in keys]
            ranked = list(map(numbers.__getitem__, order))
            acceptable = bool(order) and accepted[ranked[0]]  # the best cell
            blocking = None
            if count and not acceptable:
                everywhere = functools.reduce(operator.and_, cells, self.severity_masks[_CRITICAL])
                blocking = tuple(self.fired_ids(everywhere))
            rows.append(
                CompactRow(
                    order,
                    list(map(cell_heads.__getitem__, ranked)),
                    b"".join(map(cell_fired.__getitem__, ranked)),
                    list(map(cell_missing.__getitem__, ranked)),
                    blocking,
                )
            )
        return CompactChunk(rows, heads)

    def _check(
        self, resident: Mapping[str, Any], index: int, results: list[int | list[int]]
    ) -> None:
        """One cell through the backend's own run (durable_rules on the durable backend)."""
        outcome = self.evaluator.run("placement", {**resident, **self.offer_facts[index]})
        fast = 0
        for plan, result in zip(self.plans, results, strict=True):
            fast |= result if isinstance(result, int) else result[plan.classes[index]]
        if self.pack(outcome) != fast:
            raise EngineError(
                "the matrix's placement rules disagree with the backend for one cell; "
                "assess the pair with `check`"
            )


# --------------------------------------------------------------------------- assembling


def _offer_order(offers: Sequence[OfferProfile]) -> list[int]:
    """Each offer's place when the offers are sorted by id (the last tie-break of a row)."""
    ids = sorted({o.id for o in offers})
    place = {offer_id: index for index, offer_id in enumerate(ids)}
    return [place[o.id] for o in offers]


class _Assembler:
    """Builds the Matrix from compact rows; equal counts dicts are shared.

    Per cell only C-level calls: `map` over the row's columns into `MatrixCell`.
    """

    def __init__(self, evaluator: Evaluator, offers: Sequence[OfferProfile]):
        self.layout = Layout(evaluator)
        self.offer_ids = [o.id for o in offers]
        self.ranks = list(range(1, len(offers) + 1))
        self.counts: dict[tuple[int, ...], dict[str, int]] = {}

    def heads(self, chunk: CompactChunk) -> tuple[list[str], list[dict[str, int]]]:
        """A chunk's distinct heads as verdicts and (shared) counts dicts."""
        verdicts, counts = [], []
        for code, numbers in chunk.heads:
            verdicts.append(_VERDICTS[code])
            shared = self.counts.get(numbers)
            if shared is None:
                shared = self.counts[numbers] = dict(zip(_SEVERITIES, numbers, strict=True))
            counts.append(shared)
        return verdicts, counts

    def row(
        self,
        resident_id: str,
        row: CompactRow,
        verdicts: list[str],
        counts: list[dict[str, int]],
    ) -> MatrixRow:
        ranking = list(
            map(
                MatrixCell,
                self.ranks,
                map(self.offer_ids.__getitem__, row.order),
                map(verdicts.__getitem__, row.heads),
                map(counts.__getitem__, row.heads),
                self.layout.rule_lists(row.fired),
                row.missing,
            )
        )
        return MatrixRow.model_construct(resident_id=resident_id, ranking=ranking)


def _gaps(
    blocking: Sequence[tuple[str, tuple[str, ...] | None]],
    titles: Callable[[str], str],
    offers: int,
) -> list[MatrixGap]:
    """Residents with no acceptable offer, by each critical rule that fired in every offer."""
    by_rule: dict[str, list[str]] = {}
    other: list[str] = []
    for resident_id, common in blocking:
        if common is None:
            continue
        for rule_id in common:
            by_rule.setdefault(rule_id, []).append(resident_id)
        if not common:
            other.append(resident_id)
    gaps = [
        MatrixGap(resident_ids=people, rule_id=rule_id, title=titles(rule_id), offers=offers)
        for rule_id, people in sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    if other:
        gaps.append(MatrixGap(resident_ids=other, offers=offers))
    return gaps


def _facts(
    residents: Sequence[ResidentProfile], offers: Sequence[OfferProfile], as_of: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    day = {AS_OF: as_of.isoformat()}
    return (
        [{**profile_to_facts("resident", r), **day} for r in residents],
        [{**profile_to_facts("offer", o), **day} for o in offers],
    )


@dataclass(frozen=True)
class OfferPieces:
    """Offers validated on demand: `load(start, stop)` validates and returns offers[start:stop].

    With workers, the offers are validated piece by piece and each piece goes to the
    workers as soon as it is valid (`MatrixWorkers._offer_side`); `load` raises
    InputError with the problems of the whole input.
    """

    count: int
    load: Callable[[int, int], list[OfferProfile]]


def screen(
    evaluator: Evaluator,
    residents: Sequence[ResidentProfile] | Callable[[], Sequence[ResidentProfile]],
    offers: Sequence[OfferProfile] | OfferPieces,
    *,
    as_of: date | None = None,
    lang: str = "nb",
    workers: MatrixWorkers | None = None,
) -> Matrix:
    """Every resident against every offer; in `workers` when given, else in this process.

    `residents` may be a function that validates and returns them, and `offers` an
    `OfferPieces` (both raising InputError): with `workers`, the offers are validated
    in pieces that go to the workers as they are ready, then the residents, so that the
    validation overlaps the workers' part of the offer side.
    """
    as_of = as_of or date.today()
    day = {AS_OF: as_of.isoformat()}
    people: list[ResidentProfile] = []
    places: list[OfferProfile] = []

    def offer_facts(start: int, stop: int) -> list[dict[str, Any]]:
        piece = offers.load(start, stop) if isinstance(offers, OfferPieces) else offers[start:stop]
        places.extend(piece)
        return [{**profile_to_facts("offer", o), **day} for o in piece]

    def resident_facts() -> list[dict[str, Any]]:
        people.extend(residents() if callable(residents) else residents)
        return [{**profile_to_facts("resident", r), **day} for r in people]

    def order() -> list[int]:
        return _offer_order(places)

    count = offers.count if isinstance(offers, OfferPieces) else len(offers)
    with _no_gc():  # a million cells, none of them in a cycle: collecting only costs
        if workers is None:
            facts = offer_facts(0, count)
            chunks: Iterable[tuple[int, CompactChunk]] = [
                (0, Screener(evaluator, facts).rows(resident_facts(), order()))
            ]
        else:
            chunks = workers.screen(evaluator, count, offer_facts, resident_facts, order)
        return _assemble(evaluator, people, places, chunks, as_of, lang)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector paused; what was built meanwhile joins the oldest generation.

    A matrix is a few hundred thousand objects in no cycle. Re-enabled as it was, the
    collector's next young collection traversed every one of them (~0.07 s for 120,000
    cells, as long as a tenth of the whole screening, after the work was done).
    `freeze()` then `unfreeze()` moves every tracked object into the oldest generation
    at once, without a traversal; skipped when the caller uses `gc.freeze` itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _assemble(
    evaluator: Evaluator,
    residents: Sequence[ResidentProfile],
    offers: Sequence[OfferProfile],
    chunks: Iterable[tuple[int, CompactChunk]],
    as_of: date,
    lang: str,
) -> Matrix:
    """The Matrix of the chunks; `residents` and `offers` are complete once the first
    chunk arrives (they may be filled while the first chunk is made)."""
    assembler: _Assembler | None = None
    rows: dict[int, MatrixRow] = {}
    blocking: dict[int, tuple[str, tuple[str, ...] | None]] = {}
    for start, chunk in chunks:
        if assembler is None:
            assembler = _Assembler(evaluator, offers)
        verdicts, counts = assembler.heads(chunk)
        for offset, row in enumerate(chunk.rows):
            resident_id = residents[start + offset].id
            rows[start + offset] = assembler.row(resident_id, row, verdicts, counts)
            blocking[start + offset] = (resident_id, row.blocking)
    indices = range(len(residents))
    by_id = {rule.id: rule for rule in evaluator.ruleset.rules}
    return Matrix.model_construct(
        rows=list(map(rows.__getitem__, indices)),
        ruleset=evaluator.ruleset_ref,
        as_of=as_of,
        offers=[
            MatrixOffer(offer_id=o.id, offer_name=o.name, vacant_units=o.vacant_units)
            for o in offers
        ],
        gaps=_gaps(
            list(map(blocking.__getitem__, indices)),
            lambda i: by_id[i].spec.title.get(lang) or i,
            len(offers),
        ),
        lang="en" if lang == "en" else "nb",
    )


# --------------------------------------------------------------------------- worker processes


def _serve() -> None:
    """A worker process (`MatrixWorkers`): load the rule files once, then screen chunks.

    Started as `python -c "from roprules.evaluation.matrix import _serve; _serve()" FD`, talking
    over the socket FD; a fresh interpreter, so nothing of the parent (durable_rules'
    C state, its threads, its `__main__`) is inherited.
    """
    conn = Connection(int(sys.argv[1]))
    try:
        directory, overlay, backend, sha256, me = conn.recv()
        ruleset = load_ruleset(directory, overlay)
        if ruleset.sha256 != sha256:
            raise EngineError("the rule files changed after the engine was loaded")
        evaluator = Evaluator(ruleset, backend=backend)
    except Exception as exc:  # reported to the parent, which raises
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    screener: Screener | None = None
    order: Sequence[int] = ()
    offer_facts: list[dict[str, Any]] = []
    mine: dict[int, OfferPart] = {}  # the offer side of the pieces this worker computes
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent has gone
            break
        if message[0] == "stop":
            break
        try:
            if message[0] == "piece":  # offers as the parent validates them; ours: their part
                _, index, owner, facts = message
                if index == 0:
                    screener, offer_facts, mine = None, [], {}
                offer_facts.extend(facts)
                if owner == me:
                    mine[index] = offer_part(evaluator, facts, 0, len(facts))
            elif message[0] == "offers":  # the last piece: send our parts, get the others'
                _, facts, order = message
                offer_facts.extend(facts)
                conn.send(("offer-part", mine))
                try:
                    reply = conn.recv()
                except (EOFError, OSError):  # the parent has gone
                    break
                if reply[0] == "stop":
                    break
                if reply[0] == "offer-parts":
                    parts = {**reply[1], **mine}
                    screener = Screener(evaluator, offer_facts, [parts[i] for i in sorted(parts)])
                mine = {}
            elif message[0] == "cancel":  # the input was bad: no rows this time
                screener, offer_facts, mine = None, [], {}
            elif message[0] == "rows":
                if screener is None:
                    raise EngineError("rows asked for before the offers")
                _, start, resident_facts = message
                with _no_gc():  # the rows' lists hold no cycles, and are gone once sent
                    chunk = screener.rows(resident_facts, order, check=start)
                    conn.send(("rows", start, chunk))
                    del chunk
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    evaluator.close()


def _stop(
    processes: list[subprocess.Popen[bytes]],
    connections: list[Connection],
    readers: dict[Connection, socket.socket],
) -> None:
    for conn in connections:
        with contextlib.suppress(OSError, ValueError):
            conn.send(("stop",))
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for conn in connections:
        conn.close()
    for reader in readers.values():
        reader.close()


def _read_exactly(reader: socket.socket, size: int) -> bytearray:
    """`size` bytes from the socket, in one blocking call while they arrive.

    `MSG_WAITALL`: the thread waits in the kernel, without the GIL, until the whole
    message is there. `Connection.recv` reads a large message in pieces of what the
    socket holds (~200 KB) and takes the GIL back after each piece: with this process's
    main thread busy, each took up to the switch interval (5 ms), and meanwhile the
    worker was blocked sending its rows (~10 ms per 20,000 cells, on the timeline).
    """
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = reader.recv_into(view[got:], size - got, socket.MSG_WAITALL)
        if not count:
            raise EOFError
        got += count
    return buffer


def _read(reader: socket.socket) -> Any:
    """One message sent with `Connection.send` (its framing: a 4-byte big-endian size,
    or -1 and an 8-byte size; then the pickle, which this process's worker wrote)."""
    (size,) = struct.unpack("!i", _read_exactly(reader, 4))
    if size == -1:
        (size,) = struct.unpack("!Q", _read_exactly(reader, 8))
    return pickle.loads(_read_exactly(reader, size))


class MatrixWorkers:
    """Screening in `count` processes: this one and count - 1 worker processes.

    Each worker has the engine's rule files loaded once and is reused across calls.
    `workers=2` is two processes screening, this one among them (the documented meaning
    of `--workers N`): the calling process takes chunks of residents itself whenever no
    worker's answer waits to be made rows, so on two cores both are busy until the end.
    """

    def __init__(self, ruleset: Ruleset, backend: str, count: int):
        if os.name != "posix":
            raise EngineError("matrix workers need a POSIX system; use workers=1")
        overlay = ruleset.overlay.file if ruleset.overlay else None
        source = (ruleset.directory, overlay, backend, ruleset.sha256)
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (package_root, os.environ.get("PYTHONPATH")) if p
            ),
        }
        self.count = count
        self.lock = threading.RLock()  # one screen at a time; close() waits for it
        # Bad input (validated while the workers have the first offers): every worker was
        # told to drop what it was sent, so they are kept (`_in_step`).
        self._in_step = False
        self.connections: list[Connection] = []
        # The same sockets, read with `_read` (a worker's answers; it sends with `Connection`).
        self._readers: dict[Connection, socket.socket] = {}
        processes: list[subprocess.Popen[bytes]] = []
        self.pids = processes  # read by benchmarks (`.pid`): the workers' CPU time
        self._finalizer = weakref.finalize(self, _stop, processes, self.connections, self._readers)
        for _ in range(count - 1):
            mine, theirs = socket.socketpair()
            # A worker's rows fit in the socket (the kernel caps this at its `wmem_max`):
            # its send returns at once, not when this process has read the first ~200 KB.
            with contextlib.suppress(OSError):
                theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
            with theirs:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _WORKER, str(theirs.fileno())],
                        pass_fds=(theirs.fileno(),),
                        env=env,
                        stdin=subprocess.DEVNULL,
                    )
                )
            reader = mine.dup()
            conn = Connection(mine.detach())
            self._readers[conn] = reader
            self.connections.append(conn)
        for index, conn in enumerate(self.connections, start=1):
            conn.send((*source, index))
        for conn in self.connections:
            kind, detail = self._receive(conn)
            if kind != "ready":
                self.close()
                raise EngineError(f"a matrix worker could not load the rules: {detail}")

    def _receive(self, conn: Connection) -> tuple[Any, ...]:
        try:
            return _read(self._readers[conn])  # type: ignore[no-any-return]
        except (EOFError, OSError, ValueError):
            return ("error", "the worker process ended")

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def close(self) -> None:
        with self.lock:
            self._finalizer()

    def screen(
        self,
        evaluator: Evaluator,
        offers: int,
        offer_facts: Callable[[int, int], list[dict[str, Any]]],
        resident_facts: Callable[[], list[dict[str, Any]]],
        order: Callable[[], list[int]],
    ) -> Iterator[tuple[int, CompactChunk]]:
        """The residents in chunks over this process and the workers, as each is screened.

        `offer_facts(start, stop)` gives the facts of offers[start:stop], validating them,
        and `resident_facts()` the residents' (both may raise InputError: then the workers
        drop what they were sent and stay usable); `order()` is called once both are
        done. Yields each chunk with its first resident's index.
        """
        with self.lock:
            if not self.alive:
                raise EngineError("the matrix workers are closed")
            finished = False
            try:
                yield from self._exchange(evaluator, offers, offer_facts, resident_facts, order)
                finished = True
            except InputError:  # the input's own problems; the workers were told to drop it
                finished = self._in_step
                raise
            finally:
                if not finished:  # a failure, or the caller stopped: replies may be in flight
                    self.close()

    def _chunks(
        self, resident_facts: list[dict[str, Any]], offers: int
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Chunks that shrink towards the end (a third of what is left over the processes,
        at least `_SMALLEST` residents, at most about `_CELLS` cells), so the processes
        finish together; whoever is free takes the next one."""
        start, processes = 0, len(self.connections) + 1
        largest = max(_SMALLEST, _CELLS // max(1, offers))
        while start < len(resident_facts):
            left = len(resident_facts) - start
            size = min(largest, max(_SMALLEST, math.ceil(left / (3 * processes))))
            yield start, resident_facts[start : start + size]
            start += size

    def _offer_side(
        self,
        evaluator: Evaluator,
        offers: int,
        offer_facts: Callable[[int, int], list[dict[str, Any]]],
        resident_facts: Callable[[], list[dict[str, Any]]],
        order: Callable[[], list[int]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int], list[OfferPart]]:
        """Validate the offers piece by piece, each sent to the workers as soon as it is valid.

        The workers compute the offer side (`offer_part`) of every piece but the last while
        this process validates the pieces after it and the residents; this process computes
        the last piece's part. So a worker has work after a fifth of the offers' validation
        (it had none until all of it, the residents' and this process's half of the offer
        side were done), and this process does a fifth of the offer side instead of a share.
        Returns every offer's and resident's facts, the offers' order and the pieces' parts.
        """
        workers = len(self.connections)
        count = _PIECES_PER_WORKER * workers + 1
        facts: list[dict[str, Any]] = []
        try:
            for index in range(count - 1):
                piece = offer_facts(*_part_bounds(offers, index, count))
                facts.extend(piece)
                message = ("piece", index, index % workers + 1, piece)
                for conn in self.connections:
                    conn.send(message)
            last = offer_facts(*_part_bounds(offers, count - 1, count))
            facts.extend(last)
            residents = resident_facts()
        except InputError:
            self._in_step = self._cancel()
            raise
        ranks = order()
        own = offer_part(evaluator, last, 0, len(last))
        for conn in self.connections:
            conn.send(("offers", last, ranks))
        parts: dict[int, OfferPart] = {count - 1: own}
        computed: list[dict[int, OfferPart]] = []
        for conn in self.connections:
            message = self._receive(conn)
            if message[0] != "offer-part":
                raise EngineError(f"a matrix worker failed: {message[1]}")
            computed.append(message[1])
            parts.update(message[1])
        for conn, theirs in zip(self.connections, computed, strict=True):
            conn.send(("offer-parts", {k: v for k, v in parts.items() if k not in theirs}))
        return facts, residents, ranks, [parts[k] for k in range(count)]

    def _cancel(self) -> bool:
        """Tell every worker to drop the pieces it was sent; True if all could be told."""
        try:
            for conn in self.connections:
                conn.send(("cancel",))
        except (OSError, ValueError):
            return False
        return True

    def _exchange(
        self,
        evaluator: Evaluator,
        offers: int,
        offer_facts: Callable[[int, int], list[dict[str, Any]]],
        resident_facts: Callable[[], list[dict[str, Any]]],
        order: Callable[[], list[int]],
    ) -> Iterator[tuple[int, CompactChunk]]:
        """The chunks as they are screened, here or in a worker.

        After the offer side (`_offer_side`), a thread talks to the workers: it reads each
        answer as soon as it is sent and gives that worker its next chunk, so no worker
        waits while this thread screens a chunk of its own or builds rows. This thread
        builds the rows of every answer that has arrived, and otherwise screens the next
        pending chunk itself.
        """
        facts, residents, ranks, parts = self._offer_side(
            evaluator, offers, offer_facts, resident_facts, order
        )
        pending = collections.deque(self._chunks(residents, len(facts)))
        arrived: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        take = threading.Lock()
        talker = threading.Thread(target=self._talk, args=(pending, take, arrived), daemon=True)
        talker.start()
        try:
            screener = Screener(evaluator, facts, parts)
            while True:
                try:
                    message = arrived.get_nowait()
                except queue.Empty:
                    with take:
                        mine = pending.popleft() if pending else None
                    if mine is not None:
                        yield mine[0], screener.rows(mine[1], ranks, check=mine[0])
                        continue
                    message = arrived.get()  # the last chunks are in the workers
                if message[0] == "done":
                    break
                if message[0] == "error":
                    raise EngineError(f"a matrix worker failed: {message[1]}")
                yield message[1], message[2]
        finally:
            with take:
                pending.clear()  # on a failure here: the workers get no more
            if talker.is_alive() and sys.exc_info()[0] is not None:
                self.close()  # unblocks the talker
            talker.join()

    def _talk(
        self,
        pending: collections.deque[tuple[int, list[dict[str, Any]]]],
        take: threading.Lock,
        arrived: queue.SimpleQueue[tuple[Any, ...]],
    ) -> None:
        """Give out the chunks, a worker's next one as soon as it answers."""

        def give(conn: Connection) -> None:
            with take:
                chunk = pending.popleft() if pending else None
            if chunk is not None:
                conn.send(("rows", *chunk))
                busy[conn] += 1

        try:
            busy: dict[Connection, int] = {}
            for conn in self.connections:
                busy[conn] = 0
                for _ in range(2):  # one queued behind the one running
                    give(conn)
            while any(busy.values()):
                for ready in wait([c for c, n in busy.items() if n]):
                    conn = ready  # type: ignore[assignment]
                    message = self._receive(conn)
                    busy[conn] -= 1
                    if message[0] != "rows":
                        arrived.put(("error", message[1]))
                        return
                    give(conn)
                    arrived.put(message)
        except (OSError, ValueError) as exc:  # the connections were closed under it
            arrived.put(("error", f"{type(exc).__name__}: {exc}"))
            return
        arrived.put(("done",))


_SEND_BUFFER = 4 << 20  # bytes a worker's socket may hold unread: a chunk is < 1 MB
_PIECES_PER_WORKER = 4  # the offers are validated and sent in pieces: so many per worker
_SMALLEST = 4  # residents in a chunk at the least: a few thousand cells
_CELLS = 25_000  # cells in a chunk at the most (unless _SMALLEST residents are more): a
# worker holds a chunk's rows until it is sent, and a slow process holds up the end less


_WORKER = "from roprules.evaluation.matrix import _serve; _serve()"


# --------------------------------------------------------------------------- the reference


def _merge(*outcomes: Outcome) -> Outcome:
    return Outcome(
        tuple(r for o in outcomes for r in o.fired),
        tuple(u for o in outcomes for u in o.undetermined),
    )


def screen_each_cell(
    evaluator: Evaluator,
    residents: Sequence[ResidentProfile],
    offers: Sequence[OfferProfile],
    *,
    as_of: date | None = None,
    lang: str = "nb",
) -> Matrix:
    """The matrix with every cell's placement rules run through the backend (the reference).

    Slow (durable_rules per cell on the durable backend); `screen` must give the same.
    """
    as_of = as_of or date.today()
    resident_facts, offer_facts = _facts(residents, offers, as_of)
    offer_outcomes = [evaluator.run("offer", facts) for facts in offer_facts]
    weight = unknown_weight(evaluator.ruleset.params)
    rows = []
    critical: dict[str, str] = {}
    blocking: list[tuple[str, tuple[str, ...] | None]] = []
    for resident, facts_r in zip(residents, resident_facts, strict=True):
        resident_outcome = evaluator.run("resident", facts_r)
        cells = []
        for offer, facts_o, offer_outcome in zip(offers, offer_facts, offer_outcomes, strict=True):
            placement = evaluator.run("placement", {**facts_r, **facts_o})
            merged = _merge(placement, offer_outcome, resident_outcome)
            for rule in merged.fired:
                if rule.severity == "critical":
                    critical[rule.id] = rule.spec.title.get(lang) or rule.id
            severities = [r.severity for r in merged.fired]
            open_rules = [r.severity for r, _ in merged.undetermined]
            verdict = verdict_of(severities, open_rules)
            counts = severity_counts(severities)
            missing = len({p for _, waiting in merged.undetermined for p in waiting})
            fired = sorted(merged.fired, key=lambda r: (SEVERITY_ORDER[r.severity], r.id))
            cell = MatrixCell(0, offer.id, verdict, counts, [r.id for r in fired], missing)
            score = rank_score(severities, open_rules, weight)
            cells.append((rank_key(verdict, score, offer.id), cell))
        cells.sort(key=lambda item: item[0])
        ranking = [
            MatrixCell(index, c.offer_id, c.verdict, c.findings_by_severity, c.rule_ids, c.missing)
            for index, (_, c) in enumerate(cells, start=1)
        ]
        rows.append(MatrixRow(resident_id=resident.id, ranking=ranking))
        common = None
        if ranking and not any(c.verdict in ACCEPTABLE for c in ranking):
            sets = [{r for r in c.rule_ids if r in critical} for c in ranking]
            common = tuple(sorted(set.intersection(*sets)))
        blocking.append((resident.id, common))
    return Matrix(
        rows=rows,
        ruleset=evaluator.ruleset_ref,
        as_of=as_of,
        offers=[
            MatrixOffer(offer_id=o.id, offer_name=o.name, vacant_units=o.vacant_units)
            for o in offers
        ],
        gaps=_gaps(blocking, lambda i: critical[i], len(offers)),
        lang="en" if lang == "en" else "nb",
    )
