"""Conditions in plain language, and the "why (not)" view of a rule.

`describe` turns a parsed condition tree into one sentence in bokmål or English,
built from the field and value labels of the message catalogue:

    Utløses når beboerens voldsrisiko er høy og tilbudets bemanning på stedet
    ikke er heldøgns bemanning

`why` lists a rule's leaves with their own outcome (met, not met, unknown) and
the values they read, for the report's view of rules that could not be decided.
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


def why(
    rule: Any,
    facts: Mapping[str, Any],
    params: Mapping[str, Any],
    lang: str,
    *,
    units: Mapping[str, str] | None = None,
    catalogue: Messages | None = None,
) -> list[WhyRow]:
    """The leaves of a rule (a ruleset Rule, or a bare Condition) with met / not met / unknown."""
    catalogue = catalogue or messages()
    condition = getattr(rule, "condition", rule)
    describer = _Describer(lang, params, catalogue, units)
    rows = []
    for leaf, truth, used in leaf_outcomes(condition, facts, params):
        outcome = "unknown" if truth is None else ("met" if truth else "not_met")
        values = tuple(
            WhyValue(
                field=path,
                label=catalogue.field_label(path, lang),
                display=catalogue.value_label(path, value, lang),
            )
            for path, value in used.items()
        )
        rows.append(WhyRow(describer.leaf(leaf), outcome, values))
    return rows


def why_undetermined(
    ruleset: Any, assessment: Any, facts: Mapping[str, Any]
) -> dict[str, list[WhyRow]]:
    """The `why` argument for render_assessment: every undetermined rule's leaves.

    `facts` are the flattened facts the assessment was made from, e.g.
    `{**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}`.
    """
    units = ruleset_units(ruleset)
    return {
        u.rule_id: why(ruleset.rule(u.rule_id), facts, ruleset.params, assessment.lang, units=units)
        for u in assessment.undetermined
    }
