"""Compile conditions to durable_rules' JSON form, and encode facts to match.

durable_rules knows nothing of unknowns (a missing field makes `$neq` false,
and a same-fact reference to a missing field makes every comparison true), so
every leaf is compiled in two polarities with explicit existence guards where
needed: the rule fires exactly when the three-valued evaluator says *true*.

Facts are flattened for durable_rules:
- `offer.building.sprinkler` becomes a short stable key such as `f42`;
- booleans become the one-letter strings "t"/"f" (`TRUE`/`FALSE`), so durable's
  numeric coercion of booleans cannot change a result (one letter: every fact and
  every action's message, which holds the whole fact, is that much shorter);
- a list field becomes one "t"/"f" key per possible value plus its length,
  so `contains` and `in {field: list}` need no array operators;
- a `sum` subject becomes a derived key, present only when every part is known;
- durable_rules knows no dates: a `months_since` subject becomes a derived
  number computed per assessment from the date fact and the assessment date
  (`conditions.months_value`), present only when both are known;
- `at_least n of k` becomes an `$or` over every n parts (`$and` of their true
  forms); its false form an `$or` over every k - n + 1 parts (`$and` of their
  false forms), the parser bounding the number of combinations.
- every number (fact, constant, parameter, sum) becomes an order-preserving
  string (`number_key`): durable_rules' JSON parser refuses exponents without a
  fraction (`1e-05`, error 204), reads integers beyond 2^63 with `atol`, and
  compares integers with floats as doubles. Strings it compares byte by byte, so
  an encoding whose byte order is numeric order keeps every comparison exact.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from roprules.contract.fields import RULE_FIELDS
from roprules.rulebase.conditions import (
    NEGATED,
    AllOf,
    AtLeast,
    Condition,
    FieldRef,
    Leaf,
    MonthsSince,
    NotOf,
    ParamRef,
    Sum,
    at_least_combinations,
    leaves,
    months_since_value,
)

# The constant term every rule starts with (a bare `$nex` rule would match durable_rules'
# own session fact, `{"sid":…,"id":"sid-…","$s":1}`, and loop for ever): the fact's id,
# which every assessment's fact carries anyway (durable_rules takes a given id as it is
# instead of hashing every property to make one). No property of its own: every fact
# text, every action's message (each holds the whole fact) and every loop of
# durable_rules over the fact's properties at an alpha node is one property shorter.
# The session fact's id ("sid-0") and the primer's (`durable_limits.PRIMER`) differ.
GUARD_KEY = "id"
GUARD_VALUE = "a"
# A boolean as durable_rules sees it: a string that no number key ("n", "m…", "p…")
# and no enum value (tests/test_durable_pitfalls.py) can equal.
TRUE = "t"
FALSE = "f"

Expr = dict[str, Any]


# durable_rules parses the fact's JSON and hashes every property name on each
# assertion, and returns the whole fact as JSON with every action, so short
# names make firing measurably cheaper (benchmarks/bench.py). Names are stable:
# the index of the path in the sorted contract registry.
# (Shorter names, one or two characters, were measured and dropped: durable_rules
# starts probing an alpha node's children at the name's hash & 0x1F, and with those
# names the probes ran longer: +22k instructions in `handleAlpha` per check against
# -20k of parsing and messages.)
_SHORT = {path: f"f{index}" for index, path in enumerate(sorted(RULE_FIELDS))}

# An enum value as durable_rules sees it: the upper-case letter of its index in the
# field's values (enums are only compared for equality and membership, with
# constants of the same field or with a field of the same values: the parser allows
# nothing else), so facts, rules and every action's message carry one letter instead
# of the value's name. A letter cannot equal a boolean ("t"/"f") or a number key
# ("n", "m…", "p…"). A value outside the field's values (possible only through the
# Python API without validation) becomes "~" + value, which no code equals.
_ENUM_CODES: dict[str, dict[str, str]] = {
    path: {
        value: (
            string.ascii_uppercase[index] if index < len(string.ascii_uppercase) else f"Z{index}"
        )
        for index, value in enumerate(spec.values)
    }
    for path, spec in RULE_FIELDS.items()
    if spec.kind == "enum"
}


def enum_code(path: str, value: str) -> str:
    """The form of an enum field's value in facts and rules (`_ENUM_CODES`)."""
    code = _ENUM_CODES[path].get(value)
    return "~" + value if code is None else code


def fact_key(path: str) -> str:
    return _SHORT[path]


def has_key(path: str, value: str) -> str:
    return f"{_SHORT[path]}_{RULE_FIELDS[path].values.index(value)}"


def len_key(path: str) -> str:
    return f"{_SHORT[path]}_n"


def sum_key(subject: Sum) -> str:
    return "s_" + "_".join(_SHORT[p] for p in subject.paths)


def months_key(subject: MonthsSince) -> str:
    return "m_" + _SHORT[subject.path]


# --------------------------------------------------------------------------- numbers
#
# number_key(x) is a string whose byte order is the numeric order of x, exact for
# every int (any size) and every finite float, with x == y exactly when the keys
# are equal (so 5 == 5.0 and 0 == -0.0, as in Python). The value is written in
# base 16 as 0.DIGITS x 16**E (first digit non-zero, no trailing zeros):
#   zero      "n"
#   positive  "p" + (E + 500000, six digits) + DIGITS
#   negative  "m" + (500000 - E, six digits) + DIGITS with each hex digit d
#             replaced by 15 - d, then "z" (so a longer magnitude sorts first)
# "m" < "n" < "p", and every character sorts above '"', which ends a string in
# the fact's JSON where durable_rules compares it (strncmp over the longer).
_EXPONENT_OFFSET = 500_000
_COMPLEMENT = str.maketrans("0123456789abcdef", "fedcba9876543210")


@functools.lru_cache(maxsize=8192)
def number_key(value: int | float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        numerator, denominator = value.as_integer_ratio()
    else:
        numerator, denominator = int(value), 1
    if numerator == 0:
        return "n"
    negative = numerator < 0
    numerator = abs(numerator)
    shift = denominator.bit_length() - 1  # the denominator is a power of two
    pad = -shift % 4  # align the binary point to a hex digit
    digits = format(numerator << pad, "x")
    exponent = len(digits) - (shift + pad) // 4
    digits = digits.rstrip("0")
    if not -_EXPONENT_OFFSET < exponent < _EXPONENT_OFFSET:
        raise ValueError("number too large or too small to encode")
    if negative:
        return f"m{_EXPONENT_OFFSET - exponent:06d}{digits.translate(_COMPLEMENT)}z"
    return f"p{exponent + _EXPONENT_OFFSET:06d}{digits}"


# Below this a positive int's number key is written in place (`FactEncoder._miss_encoder`).
_FAST_INT_LIMIT = 1 << 64
# The function under the cache, for callers that keep each key themselves.
_number_key_uncached: Callable[[int | float], str] = number_key.__wrapped__


def _encode_scalar(value: Any) -> Any:
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    if isinstance(value, (int, float)):
        return number_key(value)
    return value


def encode_value(path: str, value: Any) -> Any:
    """A fact's or constant's value as durable_rules sees it, for the field `path`."""
    if isinstance(value, str) and path in _ENUM_CODES:
        return enum_code(path, value)
    return _encode_scalar(value)


def _splice(kind: str, parts: list[Expr]) -> list[Expr]:
    """`$and` inside `$and` (and `$or` inside `$or`) spliced into its parent: the
    same meaning with fewer combinator nodes, which durable_rules limits."""
    out: list[Expr] = []
    for part in parts:
        if set(part) == {kind}:
            out.extend(part[kind])
        else:
            out.append(part)
    return out


def _and(parts: list[Expr]) -> Expr:
    parts = _splice("$and", parts)
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _or(parts: list[Expr]) -> Expr:
    parts = _splice("$or", parts)
    return parts[0] if len(parts) == 1 else {"$or": parts}


# durable_rules refuses a rule whose expression holds more than 15 `$and`/`$or`
# nodes (error 113, "expression limit exceeded"; measured on 2.0.28: an `$or` of
# 14 two-leaf `$and`s under the guard fails, 13 pass). A larger condition is
# split into disjuncts, each registered as its own durable rule under the same
# rule id, and the rule fires when any of them does.
MAX_COMBINATOR_NODES = 15
# More disjuncts than this for one rule: refused at load rather than registered.
MAX_DISJUNCTS = 64


class ExpressionTooLarge(ValueError):
    """A condition that cannot be split into durable_rules expressions within the limits."""


def combinator_nodes(expr: Any) -> int:
    if isinstance(expr, list):
        return sum(combinator_nodes(e) for e in expr)
    if not isinstance(expr, dict):
        return 0
    own = 1 if set(expr) <= {"$and", "$or"} and expr else 0
    return own + sum(combinator_nodes(v) for v in expr.values() if isinstance(v, (list, dict)))


def guarded(expr: Expr, guard: Expr) -> Expr:
    """The rule's `m` expression: the constant guard term and the condition."""
    return _and([guard, expr])


def durable_expressions(expr: Expr, guard: Expr) -> list[Expr]:
    """Guarded expressions whose disjunction is `expr`, each within durable's limits.

    Only as much of the condition is distributed into disjunctive form as the
    limit needs: an `$or` is split into its branches, and an `$and` over an
    `$or` into one `$and` per branch of it.
    """
    out: list[Expr] = []
    pending = [expr]
    while pending:
        current = pending.pop(0)
        whole = guarded(current, guard)
        if combinator_nodes(whole) <= MAX_COMBINATOR_NODES:
            out.append(whole)
        elif set(current) == {"$or"}:
            pending[:0] = current["$or"]
        elif set(current) == {"$and"}:
            parts = current["$and"]
            branching = [i for i, p in enumerate(parts) if set(p) == {"$or"}]
            if not branching:
                raise ExpressionTooLarge("a conjunction too deep for durable_rules")
            index = max(branching, key=lambda i: combinator_nodes(parts[i]))
            rest = parts[:index] + parts[index + 1 :]
            pending[:0] = [_and([*rest, branch]) for branch in parts[index]["$or"]]
        else:
            raise ExpressionTooLarge("a leaf too large for durable_rules")
        if len(out) + len(pending) > MAX_DISJUNCTS:
            raise ExpressionTooLarge(
                f"more than {MAX_DISJUNCTS} parts once split for durable_rules"
            )
    return out


def compile_condition(node: Condition, params: Mapping[str, Any], positive: bool = True) -> Expr:
    """The durable_rules expression true exactly when `node` is true (or false, if not positive)."""
    if isinstance(node, NotOf):
        return compile_condition(node.part, params, not positive)
    if isinstance(node, Leaf):
        return _compile_leaf(node, params, positive)
    if isinstance(node, AtLeast):
        return _or(
            [
                _and([compile_condition(p, params, positive) for p in combination])
                for combination in at_least_combinations(node, positive)
            ]
        )
    parts = [compile_condition(p, params, positive) for p in node.parts]
    conjunctive = isinstance(node, AllOf) == positive
    return _and(parts) if conjunctive else _or(parts)


def _subject_key(subject: str | Sum | MonthsSince) -> str:
    if isinstance(subject, Sum):
        return sum_key(subject)
    if isinstance(subject, MonthsSince):
        return months_key(subject)
    return fact_key(subject)


def _compile_leaf(leaf: Leaf, params: Mapping[str, Any], positive: bool) -> Expr:
    op, operand = leaf.op, leaf.operand
    key = _subject_key(leaf.subject)
    if op == "is_set":
        spec = RULE_FIELDS.get(leaf.subject) if isinstance(leaf.subject, str) else None
        target = len_key(leaf.subject) if spec and spec.kind == "list" else key  # type: ignore[arg-type]
        return {"$ex" if operand is positive else "$nex": {target: 1}}
    if op == "is_empty":
        assert isinstance(leaf.subject, str)
        empty = operand is positive
        return {len_key(leaf.subject): 0} if empty else {"$gt": {len_key(leaf.subject): 0}}
    if not positive:
        op = NEGATED[op]
    if op in ("contains", "not_contains"):
        assert isinstance(leaf.subject, str)
        return {has_key(leaf.subject, operand): TRUE if op == "contains" else FALSE}
    if isinstance(operand, FieldRef):
        return _compile_reference(leaf.subject, key, op, operand)
    if isinstance(operand, ParamRef):
        operand = params[operand.name]
    # the subject's own form of each value: an enum's code, a number's key
    encode: Callable[[Any], Any] = (
        functools.partial(encode_value, leaf.subject)
        if isinstance(leaf.subject, str)
        else _encode_scalar
    )
    if op in ("in", "not_in"):
        if op == "in":
            return _or([{key: encode(v)} for v in operand])
        return _and([{"$neq": {key: encode(v)}} for v in operand])
    value = encode(operand)
    if op == "eq":
        return {key: value}
    return {f"${'neq' if op == 'ne' else op}": {key: value}}


def _compile_reference(subject: Any, key: str, op: str, operand: FieldRef) -> Expr:
    other = RULE_FIELDS[operand.path]
    if op in ("in", "not_in"):
        # an enum subject in a list of the same values: one branch per value
        member = TRUE if op == "in" else FALSE
        return _or(
            [
                {"$and": [{key: encode_value(subject, v)}, {has_key(other.path, v): member}]}
                for v in other.values
            ]
        )
    other_key = fact_key(operand.path)
    comparison = (
        {key: {"$m": other_key}}
        if op == "eq"
        else {f"${'neq' if op == 'ne' else op}": {key: {"$m": other_key}}}
    )
    return {"$and": [{"$ex": {key: 1}}, {"$ex": {other_key: 1}}, comparison]}


# What a group's rules compare one fact key with: (comparison, constant) pairs, the
# comparison a function of (fact value, constant). Constants are texts of plain
# characters (`_PLAIN_TEXT`) or whole numbers.
KeyTests = tuple[tuple[Callable[[Any, Any], bool], Any], ...]
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq,
    "$neq": operator.ne,
    "$lt": operator.lt,
    "$lte": operator.le,
    "$gt": operator.gt,
    "$gte": operator.ge,
}
# Characters of a text whose order durable_rules and Python agree on: durable_rules
# compares the raw JSON text of the fact's value, ended by '"', with the rule's
# constant (`strncmp` over the longer of the two: `reduceString`), so a text of
# characters above '"' and without a JSON escape ('\\') orders as in Python.
_PLAIN_TEXT = re.compile(r"[#-\[\]-~]*")


def _decided(constant: Any) -> bool:
    """Whether `FactEncoder.sends` decides comparisons with this constant exactly."""
    kind = constant.__class__
    return (kind is str and _PLAIN_TEXT.fullmatch(constant) is not None) or kind is int


def key_tests(expressions: Iterable[Expr]) -> dict[str, KeyTests | None]:
    """Every comparison the compiled expressions make, by fact key (`FactEncoder.sends`).

    A key tested by `$ex`/`$nex` or any operator other than the six comparisons,
    named by a same-fact reference (`$m`, on either side), or compared with a constant
    other than a plain text or a whole number maps to None (always sent); so does the
    guard's key (it is the fact's id). A key not compared at all is not a key. A node
    of any other shape than `compile_condition` writes raises ValueError at load."""
    found: dict[str, dict[tuple[str, Any], None]] = {}
    always: set[str] = {GUARD_KEY}

    def references(constant: Any) -> None:
        if isinstance(constant, dict):
            for name, part in constant.items():
                if name == "$m" and isinstance(part, str):
                    always.add(part)
                references(part)
        elif isinstance(constant, list):
            for part in constant:
                references(part)

    def walk(expr: Any) -> None:
        if not isinstance(expr, dict) or len(expr) != 1:
            raise ValueError(f"not a compiled expression: {expr!r}")
        ((op, body),) = expr.items()
        if op in ("$and", "$or"):
            for part in body:
                walk(part)
            return
        if op.startswith("$"):
            if not isinstance(body, dict) or len(body) != 1:
                raise ValueError(f"not a compiled comparison: {expr!r}")
            ((key, constant),) = body.items()
        else:
            key, constant, op = op, body, "$eq"
        references(constant)
        if op in _COMPARISONS and _decided(constant):
            found.setdefault(key, {})[(op, constant)] = None
        else:
            always.add(key)

    for expression in expressions:
        walk(expression)
    tests: dict[str, KeyTests | None] = {
        key: tuple((_COMPARISONS[op], constant) for op, constant in pairs)
        for key, pairs in found.items()
    }
    tests.update(dict.fromkeys(always))
    return tests


class FactEncoder:
    """Encodes the facts one durable ruleset reads, in the form its rules expect.

    Every key is computed once, here: encoding runs for every group of every
    assessment.
    """

    def __init__(
        self,
        conditions: Iterable[Condition],
        tests: Mapping[str, KeyTests | None] | None = None,
    ):
        """`tests`: what the group's compiled rules compare each key with (`key_tests`);
        given, a value that makes none of them true is not sent (`sends`). None: every
        known value is sent."""
        self._tests = tests
        paths: set[str] = set()
        sums: set[Sum] = set()
        months: set[MonthsSince] = set()
        for condition in conditions:
            for leaf in leaves(condition):
                if isinstance(leaf.subject, MonthsSince):
                    months.add(leaf.subject)  # a date is never sent as itself
                    continue
                paths.update(leaf.fields())
                if isinstance(leaf.subject, Sum):
                    sums.add(leaf.subject)
        self.paths = tuple(sorted(paths))
        self.sums = tuple((s, sum_key(s)) for s in sorted(sums, key=lambda s: s.paths))
        self.months = tuple((m, months_key(m)) for m in sorted(months, key=lambda m: m.path))
        self._scalars = tuple(
            (path, fact_key(path)) for path in self.paths if RULE_FIELDS[path].kind != "list"
        )
        self._lists = tuple(
            (path, len_key(path), tuple((v, has_key(path, v)) for v in RULE_FIELDS[path].values))
            for path in self.paths
            if RULE_FIELDS[path].kind == "list"
        )

        # `text`: each value of a path is encoded once into its JSON fragment and
        # looked up afterwards, one dict per path (None: no fragment).
        # The first "path" is never a fact: its fragment is the text's opening, so
        # that one join writes the whole body.
        self._fragment_paths: tuple[Any, ...] = (
            _OPENING,
            *[path for path, _ in self._scalars],
            *[path for path, _, _ in self._lists],
        )
        self._list_members = {path: (length, members) for path, length, members in self._lists}
        # A list's members as `_fragment` writes them: (member, its fragment when the
        # list holds it, when it does not), "" for a value not sent (`sends`).
        self._member_fragments = {
            path: tuple(
                (
                    item,
                    _fragment(key, TRUE) if self.sends(key, TRUE) else "",
                    _fragment(key, FALSE) if self.sends(key, FALSE) else "",
                )
                for item, key in members
            )
            for path, _, members in self._lists
        }
        self._scalar_keys = dict(self._scalars)
        opening = "{" + _fragment(GUARD_KEY, GUARD_VALUE)[1:]
        self._fragments: tuple[dict[Any, str], ...] = (
            {None: opening},
            *(_Fragments(self._miss_encoder(p)) for p in self._fragment_paths[1:]),
        )
        self._derived = bool(self.sums or self.months)

    def keys(self) -> list[str]:
        """Every key this encoder can emit (for the hash-collision check)."""
        keys = [GUARD_KEY, *(key for _, key in self._scalars)]
        for _, length, members in self._lists:
            keys.append(length)
            keys.extend(key for _, key in members)
        keys.extend(key for _, key in self.sums)
        keys.extend(key for _, key in self.months)
        return keys

    def encode(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        encoded: dict[str, Any] = {GUARD_KEY: GUARD_VALUE}
        get = facts.get
        for path, key in self._scalars:
            value = get(path)
            if value is not None:
                encoded[key] = encode_value(path, value)
        for path, length, members in self._lists:
            value = facts.get(path)
            if value is not None:
                encoded[length] = len(value)
                for item, key in members:
                    encoded[key] = TRUE if item in value else FALSE
        for subject, key in self.sums:
            values = [facts.get(p) for p in subject.paths]
            if all(v is not None for v in values):
                encoded[key] = number_key(sum(values))
        for subject, key in self.months:
            value = months_since_value(subject, facts)
            if value is not None:
                encoded[key] = number_key(value)
        if self._tests is None:
            return encoded
        return {k: v for k, v in encoded.items() if k == GUARD_KEY or self.sends(k, v)}

    def sends(self, key: str, value: Any) -> bool:
        """Whether the fact carries `key` with this (encoded) value.

        durable_rules loops over every property of the fact at every alpha node a fact
        reaches, parses each, and writes each into every action's message. A property
        whose value makes every comparison on its key false changes nothing the rules
        can see: a comparison on a missing property is false too (no node of the key
        tests `$nex` or `$ex`, and none refers to it with `$m`, or it is always sent).
        So such a value is left out. Decided exactly where durable_rules'
        comparison is Python's (texts of plain characters, whole numbers, of the same
        kind on both sides: `key_tests`); anything else is sent, so a value is only
        left out when durable_rules would certainly find every test on it false."""
        if self._tests is None:
            return True
        tests = self._tests.get(key, ())  # (): no rule compares it
        if tests is None:  # its presence matters, or its tests are not decided here
            return True
        kind = value.__class__
        if kind is str:
            if _PLAIN_TEXT.fullmatch(value) is None:
                return True
        elif kind is not int:  # durable_rules coerces other kinds: not decided here
            return True
        for compare, constant in tests:
            if constant.__class__ is not kind or compare(value, constant):
                return True
        return False

    def text(self, facts: Mapping[str, Any], tail: str = "") -> str:
        """The JSON text of `encode(facts)` (plus `tail`, e.g. `,"sid":"x"`).

        The adapter's own cost over durable_rules' C calls was mostly this
        encoding (benchmarks/README.md): a value's fragment (`,"key":value`, or ""
        for no value) is computed once per path and found by its value afterwards,
        the look-ups done by `map` in C with nothing checked per path: a value not
        seen before is encoded by its path's `_Fragments.__missing__`, inside the
        same look-up. Facts come from validated profiles, so a path holds one kind
        of value (never both 1 and True). Values that cannot be hashed take
        `encode`'s path.
        """
        try:
            body = "".join(map(_GETITEM, self._fragments, map(facts.get, self._fragment_paths)))
        except TypeError:  # an unhashable value (a list given through the Python API)
            return json.dumps(self.encode(facts), separators=_SEPARATORS)[:-1] + tail + "}"
        if self._derived:
            body += "".join(self._derived_fragments(facts))
        return body + (tail + "}")

    def _derived_fragments(self, facts: Mapping[str, Any]) -> list[str]:
        """The fragments of sums and months since a date (computed every time)."""
        parts = []
        for subject, key in self.sums:
            numbers = [facts.get(p) for p in subject.paths]
            if all(v is not None for v in numbers):
                encoded = number_key(sum(numbers))
                if self.sends(key, encoded):
                    parts.append(_fragment(key, encoded))
        for subject, key in self.months:
            value = months_since_value(subject, facts)
            if value is not None:
                encoded = number_key(value)
                if self.sends(key, encoded):
                    parts.append(_fragment(key, encoded))
        return parts

    def _miss_encoder(self, path: str) -> Callable[[Any], str]:
        """`_fragment` of one path, for values not seen before.

        On a first pass most values are new (numbers near the thresholds), so the
        usual kinds are written here without `_fragment`'s general steps: a text
        through json's C string encoder, an int or float through `number_key`'s
        function itself (the fragment store already keeps each value once, so its
        cache would only hold the same keys twice; a number key is ASCII letters and
        digits, which JSON quotes as they are). Anything else (a list, a bool, a
        subclass of str or int, None) takes `_fragment`, as do list paths.
        """
        general = functools.partial(self._fragment, path)
        if path in self._list_members:
            return general
        key = self._scalar_keys[path]
        prefix = "," + _quote(key) + ":"
        numeric = _number_key_uncached
        sends = self.sends
        if path in _ENUM_CODES:  # a text is the value of an enum: its code

            def text(value: str) -> str:
                code = enum_code(path, value)
                return prefix + _quote(code) if sends(key, code) else ""
        else:

            def text(value: str) -> str:
                return prefix + _quote(value) if sends(key, value) else ""

        # `sends` for a number key (a text of plain characters, `_PLAIN_TEXT`: nothing
        # to check of it), without the method call: most values not seen before are
        # numbers
        tests = None if self._tests is None else self._tests.get(key, ())

        def number_sent(encoded: str) -> bool:
            if tests is None:  # every value sent, or its presence matters
                return True
            for compare, constant in tests:
                if constant.__class__ is not str or compare(encoded, constant):
                    return True
            return False

        def miss(value: Any) -> str:
            kind = value.__class__
            if kind is str:
                return text(value)
            if kind is int and 0 < value < _FAST_INT_LIMIT:
                # number_key of a positive int below 2**64: its hex digits, their
                # count as the exponent (500001..500016: six digits), zeros stripped
                digits = f"{value:x}"
                encoded = f"p{len(digits) + _EXPONENT_OFFSET}{digits.rstrip('0')}"
            elif kind is int or kind is float:
                encoded = numeric(value)
            else:
                return general(value)
            if number_sent(encoded):
                return prefix + '"' + encoded + '"'
            return ""

        return miss

    def _fragment(self, path: str, value: Any) -> str:
        """The JSON members `encode` writes for one fact ("" if it writes none)."""
        if value is None:
            return ""
        sends = self.sends
        if path in self._list_members:
            length = self._list_members[path][0]
            count = len(value)
            return (_fragment(length, count) if sends(length, count) else "") + "".join(
                [
                    held if item in value else not_held
                    for item, held, not_held in self._member_fragments[path]
                ]
            )
        key = self._scalar_keys[path]
        encoded = encode_value(path, value)
        return _fragment(key, encoded) if sends(key, encoded) else ""


_SEPARATORS = (",", ":")
_MAX_FRAGMENTS = 4096  # per path


class _Fragments(dict[Any, str]):
    """One path's JSON fragments by value (None: no fragment). A value not seen before
    is encoded by `dict.__getitem__` calling `__missing__`: no exception, no second
    pass over the paths, and nothing more on the look-ups that hit."""

    __slots__ = ("_encode",)

    def __init__(self, encode: Callable[[Any], str]):
        super().__init__({None: ""})
        self._encode = encode

    def __missing__(self, value: Any) -> str:
        if len(self) > _MAX_FRAGMENTS:  # numbers vary without end: stay bounded
            self.clear()
            self[None] = ""
        fragment = self[value] = self._encode(value)
        return fragment


_GETITEM = dict.__getitem__
_OPENING = object()  # FactEncoder's first path: never a fact


def _fragment(key: str, value: Any) -> str:
    """One JSON member with its leading comma: `,"key":value` (as `json.dumps` writes
    it: a text through the encoder's own C function, without json.dumps' own work)."""
    text = _quote(value) if value.__class__ is str else json.dumps(value)
    return "," + _quote(key) + ":" + text


_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def fnv1a_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def fnv1_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value * 0x01000193) & 0xFFFFFFFF) ^ byte
    return value


def hash_collisions(keys: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of distinct keys that durable_rules could confuse (it matches names by hash)."""
    collisions: list[tuple[str, str]] = []
    for hasher in (fnv1a_32, fnv1_32):
        seen: dict[int, str] = {}
        for key in sorted(set(keys)):
            digest = hasher(key)
            if digest in seen:
                collisions.append((seen[digest], key))
            seen[digest] = key
    return collisions
