"""The condition language: parse and check, evaluate with unknowns, explain.

A condition is data (see docs/rule-format.md): `all`, `any`, `not` and leaves
such as `{"offer.staffing": {"ne": "round_the_clock"}}`. One parsed tree serves
two purposes: this module evaluates it in three-valued logic (true, false or
unknown, with the facts each decision used and the fields it waits on), and
`durable_compile` turns the same tree into durable_rules' JSON form, which
decides what fires. Tests hold the two to the same answers.
"""

from __future__ import annotations

import calendar
import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Union

from roprules.contract.fields import RULE_FIELDS, FieldSpec

Truth = bool | None  # None = unknown
Facts = Mapping[str, Any]

# durable_rules receives `at_least` as an `$or` of every combination of parts
# that decides it; this bounds that expansion (C(10, 5) = 252) so that a rule
# cannot make the compiled definition explode.
MAX_AT_LEAST_COMBINATIONS = 252

# The fact key of the assessment date (ISO string): the one non-contract fact,
# read only by `months_since` leaves. Without it a date comparison is unknown.
AS_OF = "as_of"

COMPARISONS = ("lt", "lte", "gt", "gte")
EQUALITY = ("eq", "ne")
MEMBERSHIP = ("in", "not_in")
LIST_OPS = ("contains", "not_contains", "is_empty")
OPERATORS = (*EQUALITY, *MEMBERSHIP, *COMPARISONS, *LIST_OPS, "is_set")

_OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "enum": (*EQUALITY, *MEMBERSHIP, "is_set"),
    "bool": (*EQUALITY, "is_set"),
    "int": (*EQUALITY, *COMPARISONS, "is_set"),
    "number": (*EQUALITY, *COMPARISONS, "is_set"),
    "list": (*LIST_OPS, "is_set"),
    "date": ("is_set",),
    "text": ("is_set",),
}

NEGATED = {
    "eq": "ne",
    "ne": "eq",
    "in": "not_in",
    "not_in": "in",
    "lt": "gte",
    "gte": "lt",
    "gt": "lte",
    "lte": "gt",
    "contains": "not_contains",
    "not_contains": "contains",
}


class ConditionError(Exception):
    """A condition that does not follow the language; carries every problem found."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


@dataclass(frozen=True)
class FieldRef:
    """An operand that reads another fact: `{field: offer.organisation.design_concept}`."""

    path: str


@dataclass(frozen=True)
class ParamRef:
    """An operand that names a policy parameter: `{param: max_distance_to_shop_m}`."""

    name: str


@dataclass(frozen=True)
class Sum:
    """A subject that adds numeric facts: `sum: [a, b]`; unknown if any part is."""

    paths: tuple[str, ...]

    @property
    def key(self) -> str:
        return "sum(" + "+".join(self.paths) + ")"


@dataclass(frozen=True)
class MonthsSince:
    """A subject that counts calendar months from a date fact to the assessment date.

    `months_since: resident.danger_assessment_date` with `gt: 6` is true if the
    date six calendar months after the fact lies before `as_of` (criteria.md,
    Conventions). Unknown if the date (or the assessment date) is.
    """

    path: str

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)

    @property
    def key(self) -> str:
        return f"months_since({self.path})"


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months; a day the target month lacks becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def months_value(day: date, as_of: date) -> float:
    """The months from `day` to `as_of` as one number that compares like the convention.

    The whole calendar months m with `add_months(day, m) <= as_of`, plus 0.5 when
    that date is before `as_of`. Against an integer N: value >= N exactly when
    add_months(day, N) <= as_of, and value > N exactly when add_months(day, N) < as_of,
    so one number serves the evaluator and durable_rules alike.
    """
    months = (as_of.year - day.year) * 12 + as_of.month - day.month
    if add_months(day, months) > as_of:
        months -= 1
    return months if add_months(day, months) == as_of else months + 0.5


@dataclass(frozen=True)
class Leaf:
    subject: str | Sum | MonthsSince
    op: str
    operand: Any  # constant, tuple of constants, FieldRef or ParamRef

    def fields(self) -> tuple[str, ...]:
        """The fact paths this leaf reads."""
        own = self.subject.paths if not isinstance(self.subject, str) else (self.subject,)
        if isinstance(self.operand, FieldRef):
            return (*own, self.operand.path)
        return own


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AtLeast:
    """True if at least `n` parts are true; false if fewer than `n` are true or unknown."""

    n: int
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class NotOf:
    part: Condition


Condition = Union[Leaf, AllOf, AnyOf, AtLeast, NotOf]  # noqa: UP007 - a recursive alias


def at_least_combinations(node: AtLeast, positive: bool) -> list[tuple[Condition, ...]]:
    """The sets of parts that decide an `at_least`: n true parts make it true,
    k - n + 1 false parts make it false (fewer than n can then be true or unknown)."""
    size = node.n if positive else len(node.parts) - node.n + 1
    return list(itertools.combinations(node.parts, size))


def leaves(node: Condition) -> Iterator[Leaf]:
    """Every leaf of a condition, left to right."""
    if isinstance(node, Leaf):
        yield node
    elif isinstance(node, NotOf):
        yield from leaves(node.part)
    else:
        for part in node.parts:
            yield from leaves(part)


def fields_of(node: Condition) -> frozenset[str]:
    return frozenset(path for leaf in leaves(node) for path in leaf.fields())


# --------------------------------------------------------------------------- parsing


@dataclass
class _Parser:
    params: Mapping[str, Any]
    errors: list[str] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def node(self, data: Any, where: str) -> Condition | None:
        if not isinstance(data, dict) or not data:
            self.fail(where, f"expected a condition mapping; got {data!r}")
            return None
        if "at_least" in data:
            return self.at_least(data, where)
        combinators = {"all", "any", "not"} & data.keys()
        if combinators:
            if len(data) != 1:
                self.fail(where, f"'{next(iter(combinators))}' must stand alone in its mapping")
                return None
            key, value = next(iter(data.items()))
            if key == "not":
                part = self.node(value, f"{where}.not")
                return NotOf(part) if part is not None else None
            if not isinstance(value, list) or not value:
                self.fail(where, f"'{key}' expects a non-empty list of conditions")
                return None
            parts = [self.node(item, f"{where}.{key}[{i}]") for i, item in enumerate(value)]
            if any(p is None for p in parts):
                return None
            return (AllOf if key == "all" else AnyOf)(tuple(parts))  # type: ignore[arg-type]
        if "sum" in data:
            return self.sum_leaf(data, where)
        if "months_since" in data:
            return self.months_leaf(data, where)
        if len(data) != 1:
            self.fail(where, f"a leaf names exactly one field; got {sorted(data)}")
            return None
        path, test = next(iter(data.items()))
        spec = self.field(path, where)
        if spec is None:
            return None
        op, operand = self.single_op(test, f"{where}.{path}")
        if op is None:
            return None
        return self.leaf(spec, op, operand, f"{where}.{path}")

    def at_least(self, data: dict[str, Any], where: str) -> AtLeast | None:
        if len(data) != 1:
            self.fail(where, "'at_least' must stand alone in its mapping")
            return None
        body = data["at_least"]
        if not isinstance(body, dict) or set(body) != {"n", "of"}:
            self.fail(where, "'at_least' expects {n: NUMBER, of: [COND, ...]}")
            return None
        n, items = body["n"], body["of"]
        if not isinstance(items, list) or not items:
            self.fail(where, "'at_least.of' expects a non-empty list of conditions")
            return None
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(items):
            self.fail(where, f"'at_least.n' must be a whole number from 1 to {len(items)}")
            return None
        k = len(items)
        if math.comb(k, n) + math.comb(k, k - n + 1) > MAX_AT_LEAST_COMBINATIONS:
            self.fail(
                where,
                f"'at_least' {n} of {k} expands to more than {MAX_AT_LEAST_COMBINATIONS} "
                "combinations; split the rule",
            )
            return None
        parts = [self.node(item, f"{where}.at_least.of[{i}]") for i, item in enumerate(items)]
        if any(p is None for p in parts):
            return None
        return AtLeast(n, tuple(parts))  # type: ignore[arg-type]

    def months_leaf(self, data: dict[str, Any], where: str) -> Leaf | None:
        path = data["months_since"]
        ops = {k: v for k, v in data.items() if k != "months_since"}
        spec = self.field(path, f"{where}.months_since")
        if spec is None:
            return None
        if spec.kind != "date":
            self.fail(f"{where}.months_since", f"{path} is not a date field")
            return None
        op, operand = self.single_op(ops, f"{where}.months_since")
        if op is None:
            return None
        if op not in COMPARISONS:
            self.fail(where, f"'months_since' supports {', '.join(COMPARISONS)}; got {op!r}")
            return None
        if isinstance(operand, dict) and set(operand) == {"param"}:
            name = operand["param"]
            if name not in self.params:
                self.fail(where, f"unknown parameter {name!r}")
                return None
            value = self.params[name]
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(where, f"parameter {name!r} must be a whole number of months")
                return None
            return Leaf(MonthsSince(path), op, ParamRef(name))
        if isinstance(operand, bool) or not isinstance(operand, int) or operand < 0:
            self.fail(where, f"'months_since' compares with whole months; got {operand!r}")
            return None
        return Leaf(MonthsSince(path), op, operand)

    def field(self, path: Any, where: str) -> FieldSpec | None:
        spec = RULE_FIELDS.get(path) if isinstance(path, str) else None
        if spec is None:
            self.fail(where, f"unknown field {path!r} (not in the contract)")
        return spec

    def single_op(self, test: Any, where: str) -> tuple[str | None, Any]:
        if not isinstance(test, dict) or len(test) != 1:
            self.fail(where, f"expected exactly one operator such as {{eq: value}}; got {test!r}")
            return None, None
        op, operand = next(iter(test.items()))
        if op not in OPERATORS:
            self.fail(where, f"unknown operator {op!r}; expected one of {', '.join(OPERATORS)}")
            return None, None
        return op, operand

    def sum_leaf(self, data: dict[str, Any], where: str) -> Leaf | None:
        errors_before = len(self.errors)
        paths = data["sum"]
        ops = {k: v for k, v in data.items() if k != "sum"}
        if not isinstance(paths, list) or len(paths) < 2:
            self.fail(where, "'sum' expects a list of at least two numeric fields")
            return None
        for path in paths:
            spec = self.field(path, f"{where}.sum")
            if spec is not None and not spec.numeric:
                self.fail(f"{where}.sum", f"{path} is not numeric")
        op, operand = self.single_op(ops, f"{where}.sum")
        if op is None or len(self.errors) > errors_before:
            return None
        if op not in COMPARISONS + EQUALITY:
            self.fail(where, f"'sum' supports {', '.join(COMPARISONS + EQUALITY)}; got {op!r}")
            return None
        number = FieldSpec("sum", "number")
        operand = self.operand(number, op, operand, where)
        return Leaf(Sum(tuple(paths)), op, operand) if operand is not _BAD else None

    def leaf(self, spec: FieldSpec, op: str, operand: Any, where: str) -> Leaf | None:
        if op not in _OPS_BY_KIND[spec.kind]:
            allowed = ", ".join(_OPS_BY_KIND[spec.kind])
            self.fail(where, f"operator {op!r} does not apply to a {spec.kind} field ({allowed})")
            return None
        value = self.operand(spec, op, operand, where)
        return Leaf(spec.path, op, value) if value is not _BAD else None

    def operand(self, spec: FieldSpec, op: str, operand: Any, where: str) -> Any:
        if op in ("is_set", "is_empty"):
            if not isinstance(operand, bool):
                self.fail(where, f"{op} expects true or false; got {operand!r}")
                return _BAD
            return operand
        if isinstance(operand, dict):
            return self.reference(spec, op, operand, where)
        if op in MEMBERSHIP:
            if not isinstance(operand, list) or not operand:
                self.fail(where, f"{op} expects a non-empty list of values or {{field: …}}")
                return _BAD
            checked = [self.constant(spec, item, where) for item in operand]
            return _BAD if _BAD in checked else tuple(checked)
        if op in ("contains", "not_contains"):
            return self.constant(FieldSpec(spec.path, "enum", spec.values), operand, where)
        return self.constant(spec, operand, where)

    def reference(self, spec: FieldSpec, op: str, operand: dict[str, Any], where: str) -> Any:
        if set(operand) == {"param"}:
            name = operand["param"]
            if name not in self.params:
                self.fail(where, f"unknown parameter {name!r}")
                return _BAD
            if not spec.numeric or op not in COMPARISONS + EQUALITY:
                self.fail(where, f"parameter {name!r} can only be compared with a number")
                return _BAD
            return ParamRef(name)
        if set(operand) == {"field"}:
            other = self.field(operand["field"], where)
            if other is None:
                return _BAD
            if op in MEMBERSHIP:
                ok = (
                    other.kind == "list"
                    and spec.kind == "enum"
                    and set(other.values) == set(spec.values)
                )
            elif op in EQUALITY:
                ok = other.kind == spec.kind and other.values == spec.values
            else:
                ok = spec.numeric and other.numeric
            if not ok:
                self.fail(where, f"{op} cannot compare {spec.path} with {other.path}")
                return _BAD
            return FieldRef(other.path)
        self.fail(where, f"expected a value, {{param: NAME}} or {{field: PATH}}; got {operand!r}")
        return _BAD

    def constant(self, spec: FieldSpec, value: Any, where: str) -> Any:
        if spec.kind == "enum":
            if value not in spec.values:
                self.fail(
                    where,
                    f"{value!r} is not a value of {spec.path} (expected one of "
                    f"{', '.join(spec.values)})",
                )
                return _BAD
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                self.fail(where, f"expected true or false; got {value!r}")
                return _BAD
        elif spec.numeric:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(where, f"expected a number; got {value!r}")
                return _BAD
        else:
            self.fail(where, f"{spec.path} can only be tested with is_set")
            return _BAD
        return value


_BAD = object()


def parse_condition(data: Any, where: str, params: Mapping[str, Any]) -> Condition:
    """Parse and check a condition; raise ConditionError listing every problem."""
    parser = _Parser(params)
    node = parser.node(data, where)
    if parser.errors or node is None:
        raise ConditionError(parser.errors or [f"{where}: invalid condition"])
    return node


# --------------------------------------------------------------------------- evaluation


def _subject_value(subject: str | Sum | MonthsSince, facts: Facts) -> Any:
    if isinstance(subject, str):
        return facts.get(subject)
    if isinstance(subject, Sum):
        values = [facts.get(p) for p in subject.paths]
        return None if any(v is None for v in values) else sum(values)
    return months_since_value(subject, facts)


def months_since_value(subject: MonthsSince, facts: Facts) -> float | None:
    """`months_value` of the date fact against the assessment date; None if either is unknown."""
    day, as_of = facts.get(subject.path), facts.get(AS_OF)
    if day is None or as_of is None:
        return None
    return months_value(_as_date(day), _as_date(as_of))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _operand_value(operand: Any, facts: Facts, params: Mapping[str, Any]) -> Any:
    if isinstance(operand, FieldRef):
        return facts.get(operand.path)
    if isinstance(operand, ParamRef):
        return params[operand.name]
    return operand


def _compare(op: str, value: Any, other: Any) -> bool:
    if op == "eq":
        return value == other
    if op == "ne":
        return value != other
    if op == "in":
        return value in other
    if op == "not_in":
        return value not in other
    if op == "lt":
        return value < other
    if op == "lte":
        return value <= other
    if op == "gt":
        return value > other
    if op == "gte":
        return value >= other
    if op == "contains":
        return other in value
    if op == "not_contains":
        return other not in value
    if op == "is_empty":
        return (len(value) == 0) is other
    raise AssertionError(op)


def evaluate_leaf(leaf: Leaf, facts: Facts, params: Mapping[str, Any]) -> Truth:
    value = _subject_value(leaf.subject, facts)
    if leaf.op == "is_set":
        return (value is not None) is leaf.operand
    other = _operand_value(leaf.operand, facts, params)
    if value is None or other is None:
        return None
    return _compare(leaf.op, value, other)


Evaluator = Callable[[Facts], Truth]


def compile_evaluator(node: Condition, params: Mapping[str, Any]) -> Evaluator:
    """A closure that evaluates the condition in three-valued logic, fast.

    Used on every assessment for rules whose facts are incomplete; the
    explanation (`explain`) is computed only for rules that are reported.
    """
    if isinstance(node, Leaf):
        return _compile_leaf(node, params)
    if isinstance(node, NotOf):
        inner = compile_evaluator(node.part, params)

        def negate(facts: Facts) -> Truth:
            result = inner(facts)
            return None if result is None else not result

        return negate
    parts = tuple(compile_evaluator(p, params) for p in node.parts)
    if isinstance(node, AtLeast):
        needed = node.n

        def at_least(facts: Facts) -> Truth:
            true = unknown = 0
            for part in parts:
                value = part(facts)
                if value is True:
                    true += 1
                    if true >= needed:
                        return True
                elif value is None:
                    unknown += 1
            return None if true + unknown >= needed else False

        return at_least
    if len(parts) == 2:  # most rules: two parts, written out (no loop, no iterator)
        return _two_parts(*parts, decisive=not isinstance(node, AllOf))
    if isinstance(node, AllOf):

        def all_of(facts: Facts) -> Truth:
            result: Truth = True
            for part in parts:
                value = part(facts)
                if value is False:
                    return False
                if value is None:
                    result = None
            return result

        return all_of

    def any_of(facts: Facts) -> Truth:
        result: Truth = False
        for part in parts:
            value = part(facts)
            if value is True:
                return True
            if value is None:
                result = None
        return result

    return any_of


def _two_parts(first: Evaluator, second: Evaluator, decisive: bool) -> Evaluator:
    """`all_of` (`decisive` False) or `any_of` (True) of two parts written out: the
    same answers, the parts evaluated in the same order and the second not at all when
    the first decides."""
    otherwise = not decisive

    def two_parts(facts: Facts) -> Truth:
        value = first(facts)
        if value is decisive:
            return decisive
        other = second(facts)
        if other is decisive:
            return decisive
        return None if value is None or other is None else otherwise

    return two_parts


def _compile_leaf(leaf: Leaf, params: Mapping[str, Any]) -> Evaluator:
    """One leaf as a closure: `evaluate_leaf` with the dispatch on its subject, operator
    and operand done once here (a test holds every shape to `evaluate_leaf`)."""
    subject, op, operand = leaf.subject, leaf.op, leaf.operand
    if isinstance(subject, MonthsSince):
        return _compile_months_since(leaf, params)
    if not isinstance(subject, str):
        return lambda facts: evaluate_leaf(leaf, facts, params)
    path = subject
    if op == "is_set":
        if operand is True:
            return lambda facts: facts.get(path) is not None
        if operand is False:
            return lambda facts: facts.get(path) is None
        return lambda facts: evaluate_leaf(leaf, facts, params)
    if isinstance(operand, FieldRef):
        other_path = operand.path

        def field_to_field(facts: Facts) -> Truth:
            value = facts.get(path)
            if value is None:
                return None
            other = facts.get(other_path)
            return None if other is None else _compare(op, value, other)

        return field_to_field
    constant = _operand_value(operand, {}, params)
    if constant is None:
        return lambda facts: evaluate_leaf(leaf, facts, params)
    if op == "eq":
        return lambda facts: None if (v := facts.get(path)) is None else v == constant
    if op == "ne":
        return lambda facts: None if (v := facts.get(path)) is None else v != constant
    if op in MEMBERSHIP:
        members = frozenset(constant)
        if op == "in":
            return lambda facts: None if (v := facts.get(path)) is None else v in members
        return lambda facts: None if (v := facts.get(path)) is None else v not in members
    if op == "contains":
        return lambda facts: None if (v := facts.get(path)) is None else constant in v
    if op == "not_contains":
        return lambda facts: None if (v := facts.get(path)) is None else constant not in v
    if op == "is_empty":
        return lambda facts: None if (v := facts.get(path)) is None else (len(v) == 0) is constant
    # the comparisons written out as `_compare` does them (no call per evaluation)
    if op == "lt":
        return lambda facts: None if (v := facts.get(path)) is None else v < constant
    if op == "lte":
        return lambda facts: None if (v := facts.get(path)) is None else v <= constant
    if op == "gt":
        return lambda facts: None if (v := facts.get(path)) is None else v > constant
    if op == "gte":
        return lambda facts: None if (v := facts.get(path)) is None else v >= constant
    return lambda facts: None if (v := facts.get(path)) is None else _compare(op, v, constant)


# Months between a date fact and the assessment date, by their ISO texts: the same few
# dates come back on every assessment of a profile (bounded; emptied when full).
_MONTHS: dict[tuple[Any, Any], float] = {}
_MONTHS_LIMIT = 4096


def _compile_months_since(leaf: Leaf, params: Mapping[str, Any]) -> Evaluator:
    """A `months_since` leaf: `evaluate_leaf` with the months looked up once computed."""
    subject = leaf.subject
    assert isinstance(subject, MonthsSince)
    path, op = subject.path, leaf.op
    if op == "is_set" or isinstance(leaf.operand, FieldRef):
        return lambda facts: evaluate_leaf(leaf, facts, params)
    constant = _operand_value(leaf.operand, {}, params)

    def months_since(facts: Facts) -> Truth:
        day, as_of = facts.get(path), facts.get(AS_OF)
        if day is None or as_of is None or constant is None:
            return None
        key = (day, as_of)
        try:
            months = _MONTHS.get(key)
        except TypeError:  # not hashable: computed every time
            return _compare(op, months_value(_as_date(day), _as_date(as_of)), constant)
        if months is None:
            months = months_value(_as_date(day), _as_date(as_of))
            if len(_MONTHS) >= _MONTHS_LIMIT:
                _MONTHS.clear()
            _MONTHS[key] = months
        return _compare(op, months, constant)

    return months_since


@dataclass(frozen=True)
class Explanation:
    """Why a condition came out as it did."""

    value: Truth
    used: dict[str, Any]  # fact path (or params.NAME) -> value that decided it
    waiting: frozenset[str]  # unknown fields that keep it undetermined


def explain(node: Condition, facts: Facts, params: Mapping[str, Any]) -> Explanation:
    """Evaluate with the facts that decided the result and the fields it waits on."""
    if isinstance(node, Leaf):
        value = evaluate_leaf(node, facts, params)
        used = {path: facts.get(path) for path in node.fields()}
        if isinstance(node.operand, ParamRef):
            used[f"params.{node.operand.name}"] = params[node.operand.name]
        waiting = (
            frozenset()
            if value is not None
            else frozenset(p for p in node.fields() if facts.get(p) is None)
        )
        return Explanation(value, used, waiting)
    if isinstance(node, NotOf):
        inner = explain(node.part, facts, params)
        value = None if inner.value is None else not inner.value
        return Explanation(value, inner.used, inner.waiting)
    results = [explain(p, facts, params) for p in node.parts]
    if isinstance(node, AtLeast):
        true = [r for r in results if r.value is True]
        unknown = [r for r in results if r.value is None]
        if len(true) >= node.n:
            return Explanation(True, _merge(true), frozenset())
        if len(true) + len(unknown) < node.n:
            return Explanation(False, _merge([r for r in results if r.value is False]), frozenset())
        waiting = frozenset().union(*(r.waiting for r in unknown))
        return Explanation(None, _merge([r for r in results if r.value is not None]), waiting)
    decisive = not isinstance(node, AllOf)
    if any(r.value is decisive for r in results):
        chosen = [r for r in results if r.value is decisive]
        return Explanation(decisive, _merge(chosen), frozenset())
    if any(r.value is None for r in results):
        waiting = frozenset().union(*(r.waiting for r in results if r.value is None))
        known = [r for r in results if r.value is not None]
        return Explanation(None, _merge(known), waiting)
    return Explanation(not decisive, _merge(results), frozenset())


def undetermined_by(
    node: Condition, facts: Facts, params: Mapping[str, Any]
) -> tuple[Truth, frozenset[str]]:
    """The condition's value and, when unknown, the fields that keep it so.

    A lean `explain` for the hot path: most rules of a sparse profile are
    undetermined, and only their blocking fields are reported.
    """
    if isinstance(node, Leaf):
        value = evaluate_leaf(node, facts, params)
        if value is not None:
            return value, frozenset()
        return None, frozenset(p for p in node.fields() if facts.get(p) is None)
    if isinstance(node, NotOf):
        value, waiting = undetermined_by(node.part, facts, params)
        return (None if value is None else not value), waiting
    if isinstance(node, AtLeast):
        true = unknown_parts = 0
        blocked: set[str] = set()
        for part in node.parts:
            value, blocking = undetermined_by(part, facts, params)
            if value is True:
                true += 1
            elif value is None:
                unknown_parts += 1
                blocked.update(blocking)
        if true >= node.n:
            return True, frozenset()
        if true + unknown_parts < node.n:
            return False, frozenset()
        return None, frozenset(blocked)
    decisive = isinstance(node, AnyOf)
    waiting: set[str] = set()
    unknown = False
    for part in node.parts:
        value, blocking = undetermined_by(part, facts, params)
        if value is decisive:
            return decisive, frozenset()
        if value is None:
            unknown = True
            waiting.update(blocking)
    return (None, frozenset(waiting)) if unknown else (not decisive, frozenset())


_NOTHING: frozenset[str] = frozenset()
Waiting = Callable[[Facts], tuple[Truth, frozenset[str]]]
Used = Callable[[Facts, dict[str, Any]], None]


def compile_undetermined(node: Condition, params: Mapping[str, Any]) -> Waiting:
    """`undetermined_by` as a closure: each part's value from its compiled evaluator, and
    only the parts left unknown asked for the fields they wait on (a property test holds
    it to `undetermined_by` on every shipped rule)."""
    if isinstance(node, Leaf):
        evaluate = _compile_leaf(node, params)
        fields = node.fields()

        def leaf(facts: Facts) -> tuple[Truth, frozenset[str]]:
            value = evaluate(facts)
            if value is not None:
                return value, _NOTHING
            return None, frozenset([p for p in fields if facts.get(p) is None])

        return leaf
    if isinstance(node, NotOf):
        inner = compile_undetermined(node.part, params)

        def negate(facts: Facts) -> tuple[Truth, frozenset[str]]:
            value, waiting = inner(facts)
            return (None if value is None else not value), waiting

        return negate
    parts = tuple(
        (compile_evaluator(p, params), compile_undetermined(p, params)) for p in node.parts
    )
    if isinstance(node, AtLeast):
        needed = node.n

        def at_least(facts: Facts) -> tuple[Truth, frozenset[str]]:
            true = unknown = 0
            blocked: set[str] = set()
            for evaluate, waiting_of in parts:
                value = evaluate(facts)
                if value is True:
                    true += 1
                elif value is None:
                    unknown += 1
                    blocked.update(waiting_of(facts)[1])
            if true >= needed:
                return True, _NOTHING
            if true + unknown < needed:
                return False, _NOTHING
            return None, frozenset(blocked)

        return at_least
    decisive = isinstance(node, AnyOf)

    def all_or_any(facts: Facts) -> tuple[Truth, frozenset[str]]:
        unknown = False
        waiting: set[str] = set()
        for evaluate, waiting_of in parts:
            value = evaluate(facts)
            if value is decisive:
                return decisive, _NOTHING
            if value is None:
                unknown = True
                waiting.update(waiting_of(facts)[1])
        return (None, frozenset(waiting)) if unknown else (not decisive, _NOTHING)

    return all_or_any


Blocking = Callable[[Facts], frozenset[str]]


def compile_blocking(node: Condition, params: Mapping[str, Any]) -> Blocking:
    """`undetermined_by(node, facts, params)[1]` for facts on which `node` is known to be
    unknown (an undetermined rule: the evaluation loop has its value already).

    Knowing the value is unknown, no part decided it (an "all" has no false part, an
    "any" no true one, "at least" too few true ones), so the fields it waits on are the
    union over its unknown parts, whatever kind it is. A leaf other than `is_set` (which
    is never unknown) is unknown exactly when one of its fields is, and then waits on
    those fields; known, it has none missing. So the leaves among the parts are not
    evaluated again: their fields that are missing are the answer (`_blocking_parts`),
    and only the other parts are evaluated, each to see whether it is unknown. An "all"
    directly under an "all" (an "any" under an "any") is merged into it: under an
    unknown parent it is true or unknown, and true it waits on nothing. Every part it
    evaluates the evaluation loop evaluated already, so it raises nowhere that loop did
    not (a property test holds it to `undetermined_by` on every shipped rule)."""
    fields, parts = _blocking_parts(node, params)
    if not parts:

        def flat(facts: Facts) -> frozenset[str]:
            get = facts.get
            return frozenset([path for path in fields if get(path) is None])

        return flat

    def nested(facts: Facts) -> frozenset[str]:
        get = facts.get
        waiting = {path for path in fields if get(path) is None}
        for evaluate, blocking in parts:
            if evaluate(facts) is None:
                waiting.update(blocking(facts))
        return frozenset(waiting)

    return nested


def single_blocking_field(node: Condition, params: Mapping[str, Any]) -> str | None:
    """The one field `compile_blocking(node, params)` answers whenever `node` is
    unknown, or None. When every leaf of `node` other than `is_set` (never unknown)
    compares the same field with a constant, it is unknown exactly while that field is
    missing; `node` is unknown only while some leaf is, so then, and it waits on that
    field and nothing else (34 of the 104 shipped rules are one leaf). Not so for a
    `months_since` (unknown without the assessment date too), a sum, another field or
    a parameter without a value as operand."""
    fields: set[str] = set()
    for leaf in leaves(node):
        if leaf.op == "is_set":
            continue
        operand = leaf.operand
        if (
            not isinstance(leaf.subject, str)
            or isinstance(operand, FieldRef)
            or (isinstance(operand, ParamRef) and params.get(operand.name) is None)
        ):
            return None
        fields.add(leaf.subject)
    return next(iter(fields)) if len(fields) == 1 else None


def _blocking_parts(
    node: Condition, params: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[tuple[Evaluator, Blocking], ...]]:
    """For `compile_blocking`: the fields of the leaves among `node`'s parts (a leaf
    alone: its own), and the compiled value and blocking fields of the other parts."""
    while isinstance(node, NotOf):  # unknown exactly when its part is, waiting alike
        node = node.part
    if isinstance(node, Leaf):
        return (() if node.op == "is_set" else node.fields()), ()
    fields: list[str] = []
    parts: list[tuple[Evaluator, Blocking]] = []
    pending = list(node.parts)
    while pending:
        part = pending.pop(0)
        if type(part) is type(node) and not isinstance(node, AtLeast):
            pending[:0] = part.parts  # the same kind under an unknown one: merged
            continue
        while isinstance(part, NotOf):  # not merged: a negated "all" may be false
            part = part.part
        if isinstance(part, Leaf):
            if part.op != "is_set":
                fields.extend(p for p in part.fields() if p not in fields)
        else:
            parts.append((compile_evaluator(part, params), compile_blocking(part, params)))
    return tuple(fields), tuple(parts)


def compile_used(node: Condition, params: Mapping[str, Any]) -> Used:
    """A closure that adds `explain(node, facts, params).used` to a dict: the facts (and
    parameters) that decided the condition, the parts chosen by their compiled
    evaluators (a property test holds it to `explain` on every shipped rule)."""
    if isinstance(node, Leaf):
        fields = node.fields()
        operand = node.operand
        param = (
            (f"params.{operand.name}", params[operand.name])
            if isinstance(operand, ParamRef)
            else None
        )

        def leaf(facts: Facts, out: dict[str, Any]) -> None:
            for path in fields:
                out[path] = facts.get(path)
            if param is not None:
                out[param[0]] = param[1]

        return leaf
    if isinstance(node, NotOf):
        return compile_used(node.part, params)
    parts = tuple((compile_evaluator(p, params), compile_used(p, params)) for p in node.parts)
    if isinstance(node, AtLeast):
        needed = node.n

        def at_least(facts: Facts, out: dict[str, Any]) -> None:
            values = [evaluate(facts) for evaluate, _ in parts]
            true = sum(1 for v in values if v is True)
            unknown = sum(1 for v in values if v is None)
            for value, (_, add) in zip(values, parts, strict=True):
                if true >= needed:
                    chosen = value is True  # the true parts decided it
                elif true + unknown < needed:
                    chosen = value is False  # the false parts decided it
                else:
                    chosen = value is not None  # unknown: what is known so far
                if chosen:
                    add(facts, out)

        return at_least
    decisive = not isinstance(node, AllOf)

    def all_or_any(facts: Facts, out: dict[str, Any]) -> None:
        values = [evaluate(facts) for evaluate, _ in parts]
        decided = any(v is decisive for v in values)
        for value, (_, add) in zip(values, parts, strict=True):
            # decided: the decisive parts alone; else every part that is known
            if (value is decisive) if decided else (value is not None):
                add(facts, out)

    return all_or_any


def compile_used_known(node: Condition, params: Mapping[str, Any], value: bool) -> Used:
    """`compile_used` for facts on which `node` is known to be `value`, True or False (a
    fired rule's condition is True: its findings are the only caller).

    Knowing the value, a part's value is known too where the rule of `compile_used` does
    not need it: every part of an "all" that is true is true and decides, every part of
    an "any" that is false is false and decides. Such parts are not evaluated again, and
    where only such parts and leaves remain the facts added are fixed once here: one loop
    over their paths instead of a closure per part (a finding not seen before runs this;
    a test holds it to `explain` wherever the rule's value is known)."""
    fixed = _fixed_used(node, params, value)
    if fixed is not None:
        fields, param_items = fixed

        def known(facts: Facts, out: dict[str, Any]) -> None:
            get = facts.get
            for path in fields:
                out[path] = get(path)
            if param_items:
                out.update(param_items)

        return known
    if isinstance(node, NotOf):
        return compile_used_known(node.part, params, not value)
    assert not isinstance(node, Leaf)  # a leaf's facts are fixed
    # An "all" that is false, an "any" that is true, "at least" either way: the parts
    # whose value is `value` decided it (`compile_used`'s rule with the value known).
    parts = tuple(
        (compile_evaluator(p, params), compile_used_known(p, params, value)) for p in node.parts
    )

    def chosen(facts: Facts, out: dict[str, Any]) -> None:
        for evaluate, add in parts:
            if evaluate(facts) is value:
                add(facts, out)

    return chosen


def _fixed_used(
    node: Condition, params: Mapping[str, Any], value: bool
) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The fact paths and parameters `compile_used_known(node, params, value)` adds
    whatever the facts, or None when they depend on the facts."""
    if isinstance(node, Leaf):
        operand = node.operand
        param = (
            {f"params.{operand.name}": params[operand.name]}
            if isinstance(operand, ParamRef)
            else {}
        )
        return tuple(node.fields()), param
    if isinstance(node, NotOf):
        return _fixed_used(node.part, params, not value)
    if isinstance(node, AtLeast) or isinstance(node, AllOf) is not value:
        return None  # the parts whose value is `value` decide: evaluated each time
    fields: list[str] = []
    param_items: dict[str, Any] = {}
    for part in node.parts:
        fixed = _fixed_used(part, params, value)
        if fixed is None:
            return None
        fields.extend(p for p in fixed[0] if p not in fields)
        param_items.update(fixed[1])
    return tuple(fields), param_items


def _merge(results: list[Explanation]) -> dict[str, Any]:
    used: dict[str, Any] = {}
    for result in results:
        used.update(result.used)
    return used


def leaf_outcomes(
    node: Condition, facts: Facts, params: Mapping[str, Any]
) -> list[tuple[Leaf, Truth, dict[str, Any]]]:
    """Each leaf with its own outcome and values: the "why (not)" view of a rule."""
    return [
        (leaf, evaluate_leaf(leaf, facts, params), explain(leaf, facts, params).used)
        for leaf in leaves(node)
    ]
