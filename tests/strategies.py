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
import typing
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from hypothesis import strategies as st
from pydantic import BaseModel

from roprules.contract.fields import FIELDS, FieldSpec
from roprules.contract.profiles import PROFILE_MODELS

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
IDENTIFIERS = ("id", "name", "municipality")
# Upper bound for fields the contract leaves open (int ≥ 0 or ≥ 1), unless a rule
# compares the field with a larger number.
DEFAULT_MAX = 400
# Profile dates may not lie after the assessment date (today by default), so
# generated dates end at the day law_as_of was set for catalogue v2.1.
LATEST_DATE = date(2026, 11, 30)


# --------------------------------------------------------------------------- bounds


def _model_for(path: str) -> tuple[type[BaseModel], str]:
    """The pydantic model that declares a field, and the field's name there."""
    prefix, *parts = path.split(".")
    model: type[BaseModel] = PROFILE_MODELS[prefix]
    for part in parts[:-1]:
        annotation = model.model_fields[part].annotation
        for arg in typing.get_args(annotation) or (annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
    return model, parts[-1]


def _constraints(annotation: Any) -> Iterator[Any]:
    """Every annotated_types constraint anywhere inside an annotation."""
    for arg in typing.get_args(annotation):
        if isinstance(arg, annotated_types.BaseMetadata):
            yield arg
        metadata = getattr(arg, "metadata", None)
        if isinstance(metadata, list):
            yield from metadata
        yield from _constraints(arg)


@functools.cache
def bounds(path: str) -> tuple[float, float]:
    """(lowest, highest) valid value of a numeric field, from the pydantic model."""
    model, name = _model_for(path)
    info = model.model_fields[name]
    compared = thresholds().get(path, frozenset())
    low, high = 0.0, float(max([DEFAULT_MAX, *(2 * n for n in compared)]))
    for constraint in [*info.metadata, *_constraints(info.annotation)]:
        if isinstance(constraint, annotated_types.Ge):
            low = float(constraint.ge)
        elif isinstance(constraint, annotated_types.Gt):
            low = float(constraint.gt) + (1 if FIELDS[path].kind == "int" else 0.1)
        elif isinstance(constraint, annotated_types.Le):
            high = float(constraint.le)
    return low, high


# --------------------------------------------------------------------------- thresholds


@functools.cache
def thresholds() -> dict[str, frozenset[float]]:
    """The numbers each numeric field is compared with in the shipped rules."""
    params = yaml.safe_load((RULES_DIR / "parameters.yaml").read_text(encoding="utf-8"))
    values = {name: p["value"] for name, p in params["parameters"].items()}
    found: dict[str, set[float]] = {}

    def operand_number(operand: Any) -> float | None:
        if isinstance(operand, dict) and set(operand) == {"param"}:
            return values.get(operand["param"])
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return operand
        return None

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                subjects = node["sum"] if key == "sum" else [key]
                if key == "sum":
                    tests = {k: v for k, v in node.items() if k != "sum"}
                elif isinstance(value, dict):
                    tests = value
                else:
                    tests = {}
                for subject in subjects:
                    if subject in FIELDS and FIELDS[subject].numeric:
                        for operand in tests.values():
                            number = operand_number(operand)
                            if number is not None:
                                found.setdefault(subject, set()).add(number)
                walk(value)

    for path in sorted(RULES_DIR.rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in document.get("rules", []) if isinstance(document, dict) else []:
            walk(rule.get("when"))
    return {path: frozenset(numbers) for path, numbers in found.items()}


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


def unflatten(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{"offer.building.sprinkler": "none"}` → `{"offer": {"building": {"sprinkler": "none"}}}`."""
    nested: dict[str, dict[str, Any]] = {"resident": {}, "offer": {}}
    for path, value in facts.items():
        *parents, leaf = path.split(".")
        current: dict[str, Any] = nested
        for name in parents:
            current = current.setdefault(name, {})
        current[leaf] = list(value) if isinstance(value, tuple) else value
    return nested


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
