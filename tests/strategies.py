"""Hypothesis strategies for valid, partial resident and offer profiles.

Built from the field registry (`roprules.contract.fields.FIELDS`), so a field added to the
contract is generated without touching this file. Every field is either absent
(unknown) or holds a valid value: enums from the field's values, lists as
subsets of their values, numbers inside the bounds the pydantic models declare.
Numbers are biased towards the thresholds the rules compare them with (each
constant and parameter, and one either side), so that rules fire often.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from hypothesis import strategies as st

from roprules.contract.fields import FIELDS, FieldSpec, field_registry

# The rules' thresholds and `unflatten` are shared with the seeded generator (and
# imported from here by tests that use both).
from seeded_profiles import IDENTIFIERS, contract_range, thresholds, unflatten

# Upper bound for fields the contract leaves open (int ≥ 0 or ≥ 1), unless a rule
# compares the field with a larger number.
DEFAULT_MAX = 400
# Profile dates may not lie after the assessment date (today by default), so
# generated dates end at the day law_as_of was set for catalogue v2.1.
LATEST_DATE = date(2026, 11, 30)


# --------------------------------------------------------------------------- bounds


@functools.cache
def bounds(path: str) -> tuple[float, float]:
    """(lowest, highest) valid value of a numeric field, from the contract (the field
    registry); above a strict minimum; where the contract sets no maximum,
    `DEFAULT_MAX` or twice the largest number a rule compares the field with."""
    compared = thresholds().get(path, ())
    low, high = contract_range(path, float(max([DEFAULT_MAX, *(2 * n for n in compared)])))
    if field_registry()[path].exclusive_minimum:
        low += 1 if FIELDS[path].kind == "int" else 0.1
    return low, high


# --------------------------------------------------------------------------- strategies


def number_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    low, high = bounds(spec.path)
    near = set()
    for number in thresholds().get(spec.path, ()):
        near.update({number - 1, number, number + 1})
    near.update({low, low + 1, high})
    if spec.kind == "int":
        candidates = sorted(int(n) for n in near if low <= n <= high and float(n).is_integer())
        anywhere = st.integers(int(low), int(high))
    else:
        candidates = sorted(float(n) for n in near if low <= n <= high and n > 0)
        anywhere = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if not candidates:
        return anywhere
    return st.one_of(st.sampled_from(candidates), anywhere)


def value_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """A valid value for one leaf field."""
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "enum":
        return st.sampled_from(spec.values)
    if spec.kind == "list":
        return st.lists(st.sampled_from(spec.values), unique=True, max_size=len(spec.values))
    if spec.kind in ("int", "number"):
        return number_strategy(spec)
    if spec.kind == "date":
        return st.dates(min_value=date(2000, 1, 1), max_value=LATEST_DATE)
    if spec.kind == "text":
        return st.sampled_from(["Botilbud A", "Trondheim", "Småhus på Ø", "X"])
    raise AssertionError(f"no strategy for {spec}")


def _children(prefix: str) -> list[FieldSpec]:
    depth = prefix.count(".") + 1
    return [
        spec
        for path, spec in FIELDS.items()
        if path.startswith(prefix + ".") and path.count(".") == depth
    ]


def _object_strategy(prefix: str, required: dict[str, st.SearchStrategy[Any]]):
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for spec in _children(prefix):
        name = spec.path.rsplit(".", 1)[1]
        if name in required or name in IDENTIFIERS:
            continue
        if spec.kind == "object":
            optional[name] = _object_strategy(spec.path, {})
        else:
            optional[name] = value_strategy(spec)
    return st.fixed_dictionaries(required, optional=optional)


def _dense_strategy(prefix: str, required: dict[str, st.SearchStrategy[Any]]):
    """Profiles with nearly every field known: all set, then a few dropped at random.

    Sparse profiles rarely know every field a many-part rule reads; these do, so
    rules fire and stay silent for real rather than waiting on unknowns.
    """
    leaves = {
        path: value_strategy(spec)
        for path, spec in FIELDS.items()
        if path.startswith(prefix + ".")
        and spec.kind != "object"
        and path.rsplit(".", 1)[1] not in IDENTIFIERS
        and path.removeprefix(prefix + ".") not in required
    }
    droppable = sorted(leaves)

    def drop(facts: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.sets(st.sampled_from(droppable), max_size=6).map(
            lambda gone: {k: v for k, v in facts.items() if k not in gone}
        )

    def nest(facts: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
        return {**fixed, **unflatten(facts)[prefix]}

    return st.builds(
        nest, st.fixed_dictionaries(leaves).flatmap(drop), st.fixed_dictionaries(required)
    )


def _profiles(prefix: str, required: dict[str, st.SearchStrategy[Any]]):
    return st.one_of(_object_strategy(prefix, required), _dense_strategy(prefix, required))


def resident_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """Valid partial resident profile dicts (always with an id), sparse or dense."""
    return _profiles("resident", {"id": st.sampled_from(["R-1", "R-2", "case-17"])})


def offer_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """Valid partial offer profile dicts (always with an id and a type), sparse or dense."""
    return _profiles(
        "offer",
        {
            "id": st.sampled_from(["O-1", "O-2"]),
            "type": value_strategy(FIELDS["offer.type"]),
        },
    )


# --------------------------------------------------------------------------- worst cases


def full_profiles(variant: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A resident and an offer with every field set; `variant` picks the values.

    Even variants set every boolean true and every list full, odd variants every
    boolean false and every list empty; enums cycle through their values and
    numbers alternate between their lowest and highest valid values.
    """
    facts: dict[str, Any] = {}
    for path, spec in FIELDS.items():
        if spec.kind == "object" or path.rsplit(".", 1)[1] in IDENTIFIERS:
            continue
        if spec.kind == "bool":
            facts[path] = variant % 2 == 0
        elif spec.kind == "enum":
            facts[path] = spec.values[variant % len(spec.values)]
        elif spec.kind == "list":
            facts[path] = tuple(spec.values) if variant % 2 == 0 else ()
        elif spec.kind in ("int", "number"):
            low, high = bounds(path)
            number = low if variant % 2 else high
            facts[path] = int(number) if spec.kind == "int" else float(number)
        elif spec.kind == "date":
            facts[path] = date(2025, 1, 1)
        else:
            facts[path] = "Tekst"
    nested = unflatten(facts)
    return {"id": "R-full", **nested["resident"]}, {"id": "O-full", **nested["offer"]}
