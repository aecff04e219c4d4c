"""Bounds on what is handed to durable_rules' `create_ruleset`, checked first.

durable_rules builds one alpha network per ruleset from fixed-size C arrays
(`src/rules/rules.h`, `rete.h`). Past some sizes `create_ruleset` fails with an
error code, and past one it never returns: an alpha node keeps its children in
an open-addressing table of 512 slots that is probed until an empty slot is
found, so the 512th child makes the probe loop for ever (with the GIL held;
Ctrl-C does nothing). The limits were measured with
`benchmarks/durable_limits.py` (figures in docs/durable-notes.md):

- one rule's expression sequence (2 per `$and`/`$or`, 1 per field reference):
  error 113 at 32 entries;
- comparisons branching from one alpha node (the branches of `any`s and the first
  comparison of every rule hang off the shared guard node): no return at 512;
- `$nex` comparisons and `$or` links off one alpha node: error 107 at 129 on
  create, and error 303 at 65 on the first assertion that reaches the node (all
  are pushed at once on a 64-slot stack);
- rules ending on one alpha node: error 108 at 257.

`network_problems` rebuilds the network's shape the way `rete.c`'s
`createAlpha`/`findAlpha`/`linkAlpha` do (shared nodes for identical
comparisons under the same parent, a forward node per `$or`) and checks each
count against a bound below the measured limit. A rule base beyond them is
refused at load (RulesetError, exit 2) naming the rule and the bound, before
any call into C. The evaluator backend has no such limits; `rules lint`
reports them on every backend so that a rule base stays portable.
"""

from __future__ import annotations

import json
import string
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from roprules.evaluation.backends import CompiledRule, EngineError
from roprules.rulebase.durable_compile import (
    GUARD_KEY,
    GUARD_VALUE,
    ExpressionTooLarge,
    compile_condition,
    durable_expressions,
)

# Bounds: the measured limit, with a margin where the failure is a hang.
MAX_SEQUENCE = 31  # error 113 at 32 (MAX_SEQUENCE_EXPRESSIONS)
MAX_CHILDREN = 384  # no return at 512 (NEXT_BUCKET_LENGTH); 511 measured fine
# error 107 at 129 (NEXT_LIST_LENGTH 128); and all of them are pushed on the
# 64-slot alpha stack at once when the node matches: error 303 at 65 on assert.
MAX_EXISTS_LINKS = 48
MAX_RULES_PER_NODE = 192  # error 108 at 257 (BETA_LIST_LENGTH 256)

COMBINATORS = ("$and", "$or")
OPERATORS = ("$lt", "$lte", "$gt", "$gte", "$eq", "$neq", "$ex", "$nex", "$mt", "$imt")


@dataclass
class _Network:
    """The alpha network's shape: what the C arrays hold, counted."""

    next_id: int = 1  # 0 is the root
    children: dict[int, dict[tuple[str, str, str], int]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    exists: dict[int, dict[tuple[str, str, str], int]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    links: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    endings: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def new(self) -> int:
        self.next_id += 1
        return self.next_id

    def leaf(self, parent: int, expression: Mapping[str, Any]) -> tuple[int, int]:
        """The node of one comparison under `parent` (shared if identical); its references."""
        ((key, value),) = expression.items()
        if key in OPERATORS:
            operator = key
            ((name, operand),) = value.items()
        else:
            operator, name, operand = "$eq", key, value
        identity = (name, operator, json.dumps(operand, sort_keys=True))
        table = self.exists if operator == "$nex" else self.children
        node = table[parent].get(identity)
        if node is None:
            node = table[parent][identity] = self.new()
        references = 1 if isinstance(operand, dict) else 0
        return node, references

    def build(self, expression: Mapping[str, Any], parent: int) -> tuple[int, int]:
        """The node a rule's expression ends on, and its expression-sequence entries."""
        if len(expression) == 1:
            ((key, value),) = expression.items()
            if key == "$and":
                entries, current = 2, parent
                for part in value:
                    current, used = self.build(part, current)
                    entries += used
                return current, entries
            if key == "$or":
                entries, forward = 2, self.new()
                for part in value:
                    end, used = self.build(part, parent)
                    self.links[end] += 1  # the forward node is an exists-type link
                    entries += used
                return forward, entries
        return self.leaf(parent, expression)


def network_problems(label: str, rules: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every bound one durable ruleset would exceed, naming the rule that crosses it.

    `rules`: (rule id, compiled `m` expression) in the order they are registered.
    """
    network = _Network()
    problems: list[str] = []
    reported: set[tuple[str, int]] = set()

    def crossed(kind: str, node: int, count: int, bound: int) -> bool:
        if count > bound and (kind, node) not in reported:
            reported.add((kind, node))
            return True
        return False

    for rule_id, expression in rules:
        end, entries = network.build(expression, 0)
        network.endings[end] += 1
        if entries > MAX_SEQUENCE:
            problems.append(
                f"{rule_id}: its condition nests {entries} all/any parts and field references "
                f"as durable_rules counts them; it takes at most {MAX_SEQUENCE} per rule "
                "(error 113). Split the rule or flatten its all/any."
            )
        for node, table in network.children.items():
            if crossed("children", node, len(table), MAX_CHILDREN):
                problems.append(
                    f"{rule_id}: with it, {len(table)} comparisons in rule group {label} branch "
                    f"from one point of durable_rules' network; it takes at most "
                    f"{MAX_CHILDREN} (at 512 it never returns). Use fewer `any` branches."
                )
        for node, table in network.exists.items():
            count = len(table) + network.links[node]
            if crossed("exists", node, count, MAX_EXISTS_LINKS):
                problems.append(
                    f"{rule_id}: with it, {count} `is_set: false` tests and `any` links in "
                    f"rule group {label} meet at one point of durable_rules' network; it takes "
                    f"at most {MAX_EXISTS_LINKS} (error 303 at 65, 107 at 129)"
                )
        for node, count in network.endings.items():
            if crossed("endings", node, count, MAX_RULES_PER_NODE):
                problems.append(
                    f"{rule_id}: with it, {count} rules of group {label} end on the same "
                    f"comparison; durable_rules takes at most {MAX_RULES_PER_NODE} "
                    "(error 108 at 257)"
                )
        for node, count in network.links.items():
            total = count + len(network.exists.get(node, {}))
            if crossed("exists", node, total, MAX_EXISTS_LINKS):
                problems.append(
                    f"{rule_id}: with it, one comparison of rule group {label} feeds {total} "
                    f"`any` parts; durable_rules takes at most {MAX_EXISTS_LINKS} "
                    "(error 303 at 65, 107 at 129)"
                )
    return problems


# --------------------------------------------------------------------------- definitions

GUARD = {GUARD_KEY: GUARD_VALUE}
SENTINEL = "_sentinel"  # not a rule name: "_" is not in NAME_DIGITS
SENTINEL_PRIORITY = 65535
# The sentinel matches the primer fact alone (`durable.DurableGroup._prime`, asserted
# once per session so that every session has run an action before it is deleted),
# never an assessment's fact: a constant term on the fact id, which differs from the
# guard's (every assessment's fact has the id GUARD_VALUE) and from the session fact's.
PRIMER_KEY = "id"
PRIMER_VALUE = "p"
PRIMER = {PRIMER_KEY: PRIMER_VALUE}
MAX_RULES_PER_GROUP = 48


def split_groups(
    label: str, rules: Sequence[CompiledRule], size: int = MAX_RULES_PER_GROUP
) -> list[tuple[str, Sequence[CompiledRule]]]:
    """The durable rulesets one scope's rules are registered as (chunks of `size`)."""
    return [
        (label if start == 0 else f"{label}_{start // size}", rules[start : start + size])
        for start in range(0, len(rules), size)
    ]


# Durable rule names: the rule's index in its group written with these digits, all
# names of a group equally wide, then `_<part>` for a condition split into parts. The
# sentinel's name starts with a character that is not a digit.
NAME_DIGITS = string.digits + string.ascii_uppercase + string.ascii_lowercase


def name_width(count: int) -> int:
    """Digits in the durable rule names of a group of `count` rules: one up to 62 rules
    (MAX_RULES_PER_GROUP is 48), so the adapter reads each action's rule from one
    character of its message."""
    width = 1
    while len(NAME_DIGITS) ** width < count:
        width += 1
    return width


def durable_rule_name(index: int, width: int, part: int | None = None) -> str:
    """The durable rule name of a group's rule `index` (and part, if split): its first
    `width` characters say which rule it belongs to."""
    digits = ""
    for _ in range(width):
        index, digit = divmod(index, len(NAME_DIGITS))
        digits = NAME_DIGITS[digit] + digits
    if index:
        raise ValueError("rule index too large for the name width")
    return digits if part is None else f"{digits}_{part}"


def group_definition(rules: Sequence[CompiledRule], params: Mapping[str, Any]) -> dict[str, Any]:
    """The ruleset JSON for one group: the sentinel (matching the primer fact only) and
    every rule guarded by a constant term. The limits are checked on this form;
    durable_rules is given `bucketed(...)` of it."""
    definition: dict[str, Any] = {SENTINEL: {"all": [{"m": PRIMER}], "pri": SENTINEL_PRIORITY}}
    width = name_width(len(rules))
    for index, rule in enumerate(rules):
        try:
            expressions = durable_expressions(compile_condition(rule.condition, params), GUARD)
        except ExpressionTooLarge as exc:
            raise EngineError(f"rule {rule.rule_id}: condition is {exc}") from None
        for part, expression in enumerate(expressions):
            # each durable rule name maps back to the rule
            name = durable_rule_name(index, width, None if len(expressions) == 1 else part)
            definition[name] = {"all": [{"m": expression}], "pri": 1}
    return definition


# Durable rules per bucket under the guard (`bucketed`): measured on the shipped rules
# (groups of 47, 48 and 12), 16 (three buckets) beat 12 and 6.
BUCKET_SIZE = 16


def bucketed(definition: Mapping[str, Any]) -> dict[str, Any]:
    """`definition` with its rules split into buckets under the guard, for durable_rules.

    durable_rules keeps an alpha node's children in a table probed from the child's
    property hash & 0x1F (32 start slots, `HASH_MASK` in rules.h) up to the first
    empty slot, and at every node a fact reaches it probes once per property of the
    fact. Under one guard node the first comparisons of ~47 rules fill the start
    slots and the slots after them, so every property's probe walks a long run. Here
    each rule's guard is followed by its bucket's term, a comparison on the fact id
    that is always true (`$neq` an id no fact has), so the guard has a few children
    and each bucket node a third of the rules' first comparisons.

    The same rules fire (the term is true for every assessment's fact; the guard
    stays first). Every node has at most the children it had, and nothing else
    counted by `network_problems` grows, so the limits are checked on `definition`
    itself (refusals and lint results as before), and this form passes whatever
    that one passed."""
    position = {name: i for i, name in enumerate(n for n in definition if n != SENTINEL)}
    buckets = -(-len(position) // BUCKET_SIZE)
    if buckets <= 1:
        return dict(definition)
    out: dict[str, Any] = {}
    for name, body in definition.items():
        if name == SENTINEL:
            out[name] = body
            continue
        ((pattern,),) = (body["all"],)
        guard, *rest = pattern["m"]["$and"]
        term = {"$neq": {GUARD_KEY: f"{GUARD_VALUE}{position[name] % buckets}"}}
        out[name] = {**body, "all": [{**pattern, "m": {"$and": [guard, term, *rest]}}]}
    return out


def definition_problems(
    label: str, rules: Sequence[CompiledRule], definition: Mapping[str, Any]
) -> list[str]:
    """The bounds a group's definition exceeds, naming rules by their ids."""
    width = name_width(len(rules))
    names = {durable_rule_name(index, width): rule.rule_id for index, rule in enumerate(rules)}
    return network_problems(
        label,
        ((names.get(name[:width], name), body["all"][0]["m"]) for name, body in definition.items()),
    )


def ruleset_limit_problems(
    scopes: Mapping[str, Sequence[CompiledRule]], params: Mapping[str, Any]
) -> list[str]:
    """Every bound the durable backend would find exceeded, without calling durable_rules."""
    problems: list[str] = []
    for scope, rules in scopes.items():
        for label, chunk in split_groups(scope, rules):
            problems.extend(definition_problems(label, chunk, group_definition(chunk, params)))
    return problems


def network_counts(rules: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, int]:
    """The largest of each counted quantity in one ruleset (for measuring the limits)."""
    network = _Network()
    sequence = 0
    for _, expression in rules:
        end, entries = network.build(expression, 0)
        network.endings[end] += 1
        sequence = max(sequence, entries)
    exists = {node: len(table) for node, table in network.exists.items()}
    for node, count in network.links.items():
        exists[node] = exists.get(node, 0) + count
    return {
        "sequence": sequence,
        "children": max((len(t) for t in network.children.values()), default=0),
        "exists": max(exists.values(), default=0),
        "endings": max(network.endings.values(), default=0),
    }
