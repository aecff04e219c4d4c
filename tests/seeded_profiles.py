"""Seeded random profiles: the one generator of the benchmarks and the volume tests.

Benchmarks and tests/test_concurrency.py need thousands of valid, partial profiles
fast and the same ones for the same seed: `random.Random`, not hypothesis (which is for
finding and shrinking failures; tests/strategies.py builds its strategies on the same
thresholds, bounds and `unflatten` from here). Plain Python and the roprules contract
only, no test framework, so benchmarks/ imports it too (it puts tests/ on its path).

Each caller keeps its own recipe, so that its data stays what it was for a seed:
benchmarks compare figures across sessions, and bench.py's baseline reads the data
this code generates. A recipe is how numbers are drawn (`near_thresholds`,
`mostly_small`) over which ranges (`contract_range`, narrowed where a caller wants
realistic values), and the profile's shape (`random_profile`'s keywords).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from roprules.contract.fields import FIELDS, field_registry

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
IDENTIFIERS = ("id", "name", "municipality")  # set by the generator, never drawn
FIRST_DATE = date(2020, 1, 1)
DATE_DAYS = 2000  # dates are drawn from FIRST_DATE to FIRST_DATE + DATE_DAYS - 1

# A field's (lowest, highest) value to draw from.
Ranges = Callable[[str], tuple[float, float]]
# A number for a numeric field (made an int or rounded to 0.1 by `random_value`).
NumberDraw = Callable[[str, random.Random], float]


# --------------------------------------------------------------------------- what rules compare


@functools.cache
def thresholds() -> dict[str, tuple[float, ...]]:
    """The numbers each numeric field is compared with in the shipped rules, in order.

    Read from the rule files (constants and parameters by their values), not from a
    loaded engine, so that hypothesis strategies can be built at import time."""
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
    return {path: tuple(sorted(numbers)) for path, numbers in found.items()}


def contract_range(path: str, open_high: float) -> tuple[float, float]:
    """A numeric field's valid range as the contract declares it; `open_high` where it
    sets no maximum, 0 where no minimum.

    From the field registry (`roprules.contract.fields`), the one walk over the profile
    models' ge/gt/le. A strict minimum (gt) is returned as it is: a caller that must
    not draw it steps above it (`strategies.bounds`) or draws again."""
    info = field_registry()[path]
    low = 0.0 if info.minimum is None else float(info.minimum)
    return low, open_high if info.maximum is None else float(info.maximum)


# --------------------------------------------------------------------------- values


def near_thresholds(ranges: Ranges) -> NumberDraw:
    """Numbers on a rule's threshold or one either side of it 60 % of the time (so that
    rules fire and stay silent often), else anywhere in the field's range."""

    def draw(path: str, rng: random.Random) -> float:
        low, high = ranges(path)
        near = [
            n + d for n in thresholds().get(path, ()) for d in (-1, 0, 1) if low <= n + d <= high
        ]
        if near and rng.random() < 0.6:
            return rng.choice(near)
        return rng.uniform(low, high)

    return draw


def mostly_small(ranges: Ranges) -> NumberDraw:
    """Numbers within 60 of the field's lowest value 70 % of the time, else up to 3000
    above it: the rules' thresholds are minutes, metres and counts."""

    def draw(path: str, rng: random.Random) -> float:
        low, high = ranges(path)
        return rng.uniform(low, min(high, low + (60 if rng.random() < 0.7 else 3000)))

    return draw


def random_value(
    path: str, rng: random.Random, number: NumberDraw, *, dates_as_text: bool = False
) -> Any:
    """A valid value for one leaf field: enums and lists from its values, numbers by
    `number`, dates in 2020–2025 (ISO text with `dates_as_text`, as JSON has them)."""
    spec = FIELDS[path]
    if spec.kind == "bool":
        return rng.random() < 0.5
    if spec.kind == "enum":
        return rng.choice(spec.values)
    if spec.kind == "list":
        return [v for v in spec.values if rng.random() < 0.35]
    if spec.numeric:
        drawn = number(path, rng)
        return int(drawn) if spec.kind == "int" else round(float(drawn), 1)
    if spec.kind == "date":
        day = date.fromordinal(FIRST_DATE.toordinal() + rng.randrange(DATE_DAYS))
        return day.isoformat() if dates_as_text else day
    raise AssertionError(spec)


# --------------------------------------------------------------------------- profiles


def unflatten(facts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{"offer.building.sprinkler": "none"}` → `{"offer": {"building": {"sprinkler": "none"}}}`."""
    nested: dict[str, dict[str, Any]] = {"resident": {}, "offer": {}}
    for path, value in facts.items():
        *parents, leaf = path.split(".")
        current: dict[str, Any] = nested
        for name in parents:
            current = current.setdefault(name, {})
        current[leaf] = list(value) if isinstance(value, tuple) else value
    return nested


def random_profile(
    prefix: str,
    index: int,
    rng: random.Random,
    number: NumberDraw,
    *,
    presence: tuple[float, ...] = (0.3, 0.6, 0.9, 1.0),
    brukerplan: bool = True,
    dates_as_text: bool = False,
) -> dict[str, Any]:
    """A valid, partial resident or offer profile (`prefix`), as a dict.

    Each field is known with a probability drawn per profile from `presence`, so that
    sparse and dense profiles both occur; `brukerplan=False` leaves the BrukerPlan
    scores out (nothing derived from them). Ids are "R-<index>" and "O-<index>"; an
    offer always has a type and the name "Botilbud <index>"."""
    present = rng.choice(presence)
    facts = {
        path: random_value(path, rng, number, dates_as_text=dates_as_text)
        for path, spec in FIELDS.items()
        if path.startswith(prefix + ".")
        and spec.kind != "object"
        and path.rsplit(".", 1)[1] not in IDENTIFIERS
        and path != "offer.type"
        and (brukerplan or ".brukerplan." not in path)
        and rng.random() < present
    }
    profile = {"id": f"{prefix[0].upper()}-{index}", **unflatten(facts)[prefix]}
    if prefix == "offer":
        profile["type"] = rng.choice(FIELDS["offer.type"].values)
        profile["name"] = f"Botilbud {index}"
    return profile
