"""Conditions in plain language, and the "why (not)" view of a rule.

`describe` turns a parsed condition tree into one sentence in bokmål or English,
built from the field and value labels of the message catalogue:

    Utløses når beboerens voldsrisiko er høy og tilbudets bemanning på stedet
    ikke er heldøgns bemanning

`why` lists a rule's leaves with their own outcome (met, not met, unknown) and
the values they read; `why_tree` keeps the condition's and/or structure (groups
"all of these", "at least one of these", "at least N of these", "not this", each
with its own outcome), for the report's view of rules that could not be decided.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from roprules.contract.fields import FIELDS
from roprules.contract.messages import Messages, messages
from roprules.rulebase.conditions import (
    NEGATED,
    AllOf,
    AnyOf,
    AtLeast,
    Condition,
    FieldRef,
    Leaf,
    MonthsSince,
    NotOf,
    ParamRef,
    Sum,
    evaluate_leaf,
    explain,
    leaf_outcomes,
)

_PREFIX = {"nb": "Utløses når", "en": "Fires when"}

# Whose field it is: (nb noun, nb possessive, en noun), by path prefix, longest first.
_OWNERS: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("offer.building.", ("bygningen", "bygningens", "the building")),
    ("offer.location.", ("tilbudet", "tilbudets", "the offer")),
    ("offer.organisation.", ("tilbudet", "tilbudets", "the offer")),
    ("offer.", ("tilbudet", "tilbudets", "the offer")),
    ("resident.", ("beboeren", "beboerens", "the resident")),
)

# A trailing unit in a label, e.g. "avstand til butikk (m)": left out in sentences,
# where the number carries its own unit.
_UNIT_SUFFIX = re.compile(r"\s*\((m|m²|min|måneder|months|år|years)\)$")

_WORDS = {
    "nb": {
        "and": "og",
        "or": "eller",
        "either": "enten",
        "is": "er",
        "is_not": "ikke er",
        "lt": "er under",
        "lte": "er høyst",
        "gt": "er over",
        "gte": "er minst",
        "in": "er",
        "not_in": "ikke er",
        "among": "er blant",
        "not_among": "ikke er blant",
        "contains": "inneholder",
        "not_contains": "ikke inneholder",
        "empty": "er tom",
        "not_empty": "ikke er tom",
        "known": "er kjent",
        "unknown": "er ukjent",
        "not_case": "det ikke er slik at",
        "sum": "summen av",
        "number_of": "antall",
        "at_least": "minst {n} av disse er oppfylt: {parts}",
        "fewer_than": "færre enn {n} av disse er oppfylt: {parts}",
        "months_since": "antall måneder siden {subject}",
    },
    "en": {
        "and": "and",
        "or": "or",
        "either": "either",
        "is": "is",
        "is_not": "is not",
        "lt": "is less than",
        "lte": "is at most",
        "gt": "is more than",
        "gte": "is at least",
        "in": "is",
        "not_in": "is not",
        "among": "is among",
        "not_among": "is not among",
        "contains": "includes",
        "not_contains": "does not include",
        "empty": "is empty",
        "not_empty": "is not empty",
        "known": "is known",
        "unknown": "is unknown",
        "not_case": "it is not the case that",
        "sum": "the sum of",
        "number_of": "the number of",
        "at_least": "at least {n} of these hold: {parts}",
        "fewer_than": "fewer than {n} of these hold: {parts}",
        "months_since": "the months since {subject}",
    },
}


def _lang(lang: str) -> str:
    if lang not in _WORDS:
        raise ValueError(f"lang must be nb or en; got {lang!r}")
    return lang


def _join(items: Sequence[str], conjunction: str) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


class _Describer:
    def __init__(
        self,
        lang: str,
        params: Mapping[str, Any],
        catalogue: Messages,
        units: Mapping[str, str] | None = None,
    ):
        self.lang = _lang(lang)
        self.params = params
        self.units = dict(units or {})
        self.msg = catalogue
        self.w = _WORDS[self.lang]

    # ------------------------------------------------------------ subjects

    def label(self, path: str) -> str:
        return _UNIT_SUFFIX.sub("", self.msg.field_label(path, self.lang))

    def subject(self, path: str) -> str:
        """'beboerens voldsrisiko', 'the offer's staffing', 'antall nåværende beboere …'."""
        label = self.label(path)
        if path.startswith("offer.co_residents."):
            return f"{self.w['number_of']} {label}"
        owner = next((o for prefix, o in _OWNERS if path.startswith(prefix)), None)
        if owner is None:
            return label
        noun, possessive, en_noun = owner
        first = label.split(" ", 1)[0].lower()
        # Labels that already name their owner ("personalets kompetanse", "beboeren
        # spurt om tilbudet") read badly with another possessive in front.
        words = label.lower().split()
        if self.lang == "nb":
            if noun in words or possessive in words or first.endswith(("ets", "ens")):
                return label
            return f"{possessive} {label}"
        if en_noun.removeprefix("the ") in words:
            return label if label.lower().startswith("the ") else f"the {label}"
        return f"{en_noun}'s {label}"

    def bool_subject(self, path: str) -> str:
        """Booleans read as a quoted label: '«demens» for beboeren'."""
        label = self.label(path)
        owner = next((o for prefix, o in _OWNERS if path.startswith(prefix)), None)
        if self.lang == "nb":
            quoted = f"«{label}»"
            return f"{quoted} for {owner[0]}" if owner else quoted
        quoted = f"“{label}”"
        return f"{quoted} for {owner[2]}" if owner else quoted

    def subject_of(self, leaf: Leaf) -> str:
        if isinstance(leaf.subject, Sum):
            return f"{self.w['sum']} " + _join(
                [self.subject(p) for p in leaf.subject.paths], self.w["and"]
            )
        if isinstance(leaf.subject, MonthsSince):
            return self.w["months_since"].format(subject=self.subject(leaf.subject.path))
        return self.subject(leaf.subject)

    # ------------------------------------------------------------ values

    def value(self, path: str, value: Any) -> str:
        return self.msg.value_label(path, value, self.lang)

    def param(self, name: str) -> str:
        value = self.params.get(name)
        shown = self.msg.value_label("params." + name, value, self.lang)
        unit = self.units.get(name)
        if unit:
            shown += " " + self.msg.term("units", unit, self.lang)
        return f"{shown} ({name})"

    def operand(self, leaf: Leaf, path: str) -> str:
        operand = leaf.operand
        if isinstance(operand, ParamRef):
            return self.param(operand.name)
        if isinstance(operand, FieldRef):
            return self.subject(operand.path)
        if isinstance(operand, tuple):
            return _join([self.value(path, v) for v in operand], self.w["or"])
        return self.value(path, operand)

    # ------------------------------------------------------------ leaves and trees

    def leaf(self, leaf: Leaf, negate: bool = False) -> str:
        op = leaf.op
        if negate:
            if op in NEGATED:
                op = NEGATED[op]
            elif op in ("is_set", "is_empty"):
                leaf = Leaf(leaf.subject, op, not leaf.operand)
            else:  # pragma: no cover - every operator is negatable
                return f"{self.w['not_case']} {self.leaf(leaf)}"
        path = leaf.subject if isinstance(leaf.subject, str) else "sum"
        if isinstance(leaf.subject, MonthsSince):
            path = "months"
        spec = FIELDS.get(path)
        is_bool = spec is not None and spec.kind == "bool"
        if is_bool and op == "ne" and isinstance(leaf.operand, bool):
            op, leaf = "eq", Leaf(leaf.subject, "eq", not leaf.operand)  # "is not yes" = "is no"
        subject = self.bool_subject(path) if is_bool else self.subject_of(leaf)
        w = self.w
        if op == "is_set":
            return f"{subject} {w['known'] if leaf.operand else w['unknown']}"
        if op == "is_empty":
            return f"{subject} {w['empty'] if leaf.operand else w['not_empty']}"
        if op in ("in", "not_in") and isinstance(leaf.operand, FieldRef):
            key = "among" if op == "in" else "not_among"
            return f"{subject} {w[key]} {self.subject(leaf.operand.path)}"
        verb = {"eq": w["is"], "ne": w["is_not"]}.get(op) or w[op]
        return f"{subject} {verb} {self.operand(leaf, path)}"

    def node(self, node: Condition, nested: bool = False, negate: bool = False) -> str:
        if isinstance(node, Leaf):
            return self.leaf(node, negate)
        if isinstance(node, NotOf):
            return self.node(node.part, nested, not negate)
        if isinstance(node, AtLeast):
            parts = "; ".join(self.node(p, nested=True) for p in node.parts)
            key = "fewer_than" if negate else "at_least"
            text = self.w[key].format(n=node.n, parts=parts)
            return f"({text})" if nested else text
        if negate:  # De Morgan: not(all) = any(not), not(any) = all(not)
            flipped: Condition = (
                AnyOf(tuple(NotOf(p) for p in node.parts))
                if isinstance(node, AllOf)
                else AllOf(tuple(NotOf(p) for p in node.parts))
            )
            return self.node(flipped, nested)
        parts = [self.node(p, nested=True) for p in node.parts]
        if len(parts) == 1:
            return parts[0]
        if isinstance(node, AllOf):
            text = _join(parts, self.w["and"])
            return f"({text})" if nested else text
        text = _join(parts, self.w["or"])
        if nested:
            return f"({self.w['either']} {text})"
        return text


def describe(
    condition: Condition,
    lang: str,
    params: Mapping[str, Any],
    *,
    units: Mapping[str, str] | None = None,
    prefix: bool = True,
    catalogue: Messages | None = None,
) -> str:
    """A condition as one sentence: 'Utløses når …' / 'Fires when …'.

    `units` maps parameter names to their unit (from parameters.yaml) so that a
    parameter shows as '1000 m (max_distance_to_shop_m)'; `prefix=False` gives
    the bare clause.
    """
    describer = _Describer(lang, params, catalogue or messages(), units)
    clause = describer.node(condition)
    return f"{_PREFIX[describer.lang]} {clause}" if prefix else clause


def ruleset_units(ruleset: Any) -> dict[str, str]:
    """Parameter name -> unit, from a loaded Ruleset."""
    return {name: p.unit for name, p in ruleset.parameters.items()}


# --------------------------------------------------------------------------- why (not)


@dataclass(frozen=True)
class WhyValue:
    field: str
    label: str
    display: str


@dataclass(frozen=True)
class WhyRow:
    """One leaf of a rule's condition with its own outcome."""

    text: str  # the leaf in plain language, without 'Utløses når'
    outcome: str  # met | not_met | unknown
    values: tuple[WhyValue, ...]
    kind: str = "leaf"  # so that a template tells a leaf from a WhyGroup


@dataclass(frozen=True)
class WhyGroup:
    """A group of a rule's condition with its own outcome and its parts, in order.

    `kind` is all | any | at_least | not; `n` is how many parts must hold (all:
    every part, any: 1, at_least: its n, not: 0); `heading` says so in words:
    «Alle disse», «Minst én av disse», «Minst 2 av disse», «Ikke dette».
    """

    kind: str  # all | any | at_least | not (| list: rows without a heading)
    n: int
    outcome: str  # met | not_met | unknown: the group's own truth
    heading: str
    parts: tuple[WhyNode, ...]


WhyNode = WhyGroup | WhyRow

_GROUP_HEADINGS = {
    "nb": {
        "all": "Alle disse",
        "any": "Minst én av disse",
        "at_least": "Minst {n} av disse",
        "not": "Ikke dette",
    },
    "en": {
        "all": "All of these",
        "any": "At least one of these",
        "at_least": "At least {n} of these",
        "not": "Not this",
    },
}


def _outcome(truth: bool | None) -> str:
    return "unknown" if truth is None else ("met" if truth else "not_met")


def _why_row(
    describer: _Describer,
    catalogue: Messages,
    leaf: Leaf,
    facts: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    negate: bool = False,
) -> WhyRow:
    truth = evaluate_leaf(leaf, facts, params)
    if negate and truth is not None:
        truth = not truth
    values = tuple(
        WhyValue(
            field=path,
            label=catalogue.field_label(path, describer.lang),
            display=catalogue.value_label(path, value, describer.lang),
        )
        for path, value in explain(leaf, facts, params).used.items()
    )
    return WhyRow(describer.leaf(leaf, negate), _outcome(truth), values)


def why(
    rule: Any,
    facts: Mapping[str, Any],
    params: Mapping[str, Any],
    lang: str,
    *,
    units: Mapping[str, str] | None = None,
    catalogue: Messages | None = None,
) -> list[WhyRow]:
    """The leaves of a rule (a ruleset Rule, or a bare Condition) with met / not met / unknown.

    Flat, in order; `why_tree` gives the same leaves inside their and/or groups.
    """
    catalogue = catalogue or messages()
    condition = getattr(rule, "condition", rule)
    describer = _Describer(lang, params, catalogue, units)
    rows = []
    for leaf, truth, used in leaf_outcomes(condition, facts, params):
        values = tuple(
            WhyValue(
                field=path,
                label=catalogue.field_label(path, lang),
                display=catalogue.value_label(path, value, lang),
            )
            for path, value in used.items()
        )
        rows.append(WhyRow(describer.leaf(leaf), _outcome(truth), values))
    return rows


def why_tree(
    rule: Any,
    facts: Mapping[str, Any],
    params: Mapping[str, Any],
    lang: str,
    *,
    units: Mapping[str, str] | None = None,
    catalogue: Messages | None = None,
) -> WhyNode:
    """A rule's condition as a tree of groups and leaves, each with its own outcome.

    A group with one part is that part; `not` over a single leaf is the negated
    leaf («tilbudets bemanning ikke er heldøgns bemanning») with the negated outcome.
    """
    catalogue = catalogue or messages()
    condition = getattr(rule, "condition", rule)
    describer = _Describer(lang, params, catalogue, units)
    headings = _GROUP_HEADINGS[describer.lang]

    def build(node: Condition) -> WhyNode:
        if isinstance(node, Leaf):
            return _why_row(describer, catalogue, node, facts, params)
        if isinstance(node, NotOf):
            if isinstance(node.part, Leaf):
                return _why_row(describer, catalogue, node.part, facts, params, negate=True)
            kind, n, parts = "not", 0, (node.part,)
        elif len(node.parts) == 1 and not isinstance(node, AtLeast):
            return build(node.parts[0])
        elif isinstance(node, AtLeast):
            kind, n, parts = "at_least", node.n, node.parts
        elif isinstance(node, AllOf):
            kind, n, parts = "all", len(node.parts), node.parts
        else:
            kind, n, parts = "any", 1, node.parts
        return WhyGroup(
            kind=kind,
            n=n,
            outcome=_outcome(explain(node, facts, params).value),
            heading=headings[kind].format(n=n),
            parts=tuple(build(part) for part in parts),
        )

    return build(condition)


def why_lines(node: WhyNode, depth: int = 0) -> list[tuple[int, WhyNode]]:
    """The tree in reading order with each node's depth: for text and Markdown lists.

    A group of kind "list" (a flat sequence of rows given to the renderer) adds no
    line of its own: its parts stand at its depth.
    """
    if isinstance(node, WhyGroup) and node.kind == "list":
        return [line for part in node.parts for line in why_lines(part, depth)]
    lines: list[tuple[int, WhyNode]] = [(depth, node)]
    if isinstance(node, WhyGroup):
        for part in node.parts:
            lines.extend(why_lines(part, depth + 1))
    return lines


def why_undetermined(ruleset: Any, assessment: Any, facts: Mapping[str, Any]) -> dict[str, WhyNode]:
    """The `why` argument for render_assessment: every undetermined rule's condition tree.

    `facts` are the flattened facts the assessment was made from, e.g.
    `{**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}`.
    """
    units = ruleset_units(ruleset)
    return {
        u.rule_id: why_tree(
            ruleset.rule(u.rule_id), facts, ruleset.params, assessment.lang, units=units
        )
        for u in assessment.undetermined
    }
