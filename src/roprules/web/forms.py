"""Profile forms generated from the field registry, and the posted values read back.

No field is hand-written here: every input comes from `field_registry()` (its
kind, allowed values, label, help, unit and group). A value the team leaves as
«Ukjent» is simply absent from the profile, so unknown stays unknown.

Form names are field paths ("resident.age", "offer.building.sprinkler"). A list
field is a group of checkboxes plus «Ingen av disse» (`<path>.__empty`): nothing
ticked means unknown, «Ingen» means a known empty list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from roprules.contract.fields import OFFER_GROUPS, RESIDENT_GROUPS, FieldInfo, field_registry

EMPTY = ".__empty"
# Fields a team does not fill in as a profile value (ids are asked separately).
NOT_IN_FORM = frozenset({"resident.id", "offer.id"})


@dataclass
class FormError:
    path: str
    message: str

    @property
    def anchor(self) -> str:
        return field_id(self.path)


@dataclass
class Section:
    """One fieldset of the form: a group of fields as a team thinks of them."""

    key: str
    fields: list[FieldInfo] = field(default_factory=list)


def field_id(path: str) -> str:
    return "f-" + re.sub(r"[^a-z0-9_-]", "-", path.lower())


def sections(profile: str) -> list[Section]:
    """The form's fieldsets for "resident" or "offer", in the registry's group order."""
    order = RESIDENT_GROUPS if profile == "resident" else OFFER_GROUPS
    out = {key: Section(key) for key in order}
    for info in field_registry().values():
        if info.profile != profile or info.path in NOT_IN_FORM or info.kind == "object":
            continue
        if info.deprecated:  # deprecated fields are read from files, not offered in a form
            continue
        out.setdefault(info.group, Section(info.group)).fields.append(info)
    return [section for section in out.values() if section.fields]


def _number(info: FieldInfo, raw: str) -> int | float:
    text = raw.strip().replace(" ", "").replace(",", ".")
    if info.kind == "int":
        if not re.fullmatch(r"-?\d{1,9}", text):
            raise ValueError("int")
        return int(text)
    if not re.fullmatch(r"-?\d{1,9}(\.\d{1,6})?", text):
        raise ValueError("number")
    return float(text)


def read_profile(
    profile: str, form: Mapping[str, Any], getlist: Any, lang: str
) -> tuple[dict[str, Any], list[FormError]]:
    """The profile the team entered (nested dict), and one error per bad value.

    `form` maps a name to its (last) value, `getlist(name)` gives every value.
    """
    from roprules.web.texts import ui

    values: dict[str, Any] = {}
    errors: list[FormError] = []
    for info in field_registry().values():
        if info.profile != profile or info.kind == "object" or info.path in NOT_IN_FORM:
            continue
        path = info.path
        if info.kind == "list":
            chosen = [v for v in getlist(path) if v in info.codes]
            if chosen:
                values[path] = chosen
            elif form.get(path + EMPTY):
                values[path] = []
            continue
        raw = form.get(path)
        if raw is None or str(raw).strip() == "":
            continue
        raw = str(raw)
        try:
            if info.kind == "bool":
                if raw not in ("yes", "no"):
                    raise ValueError("bool")
                values[path] = raw == "yes"
            elif info.kind == "enum":
                if raw not in info.codes:
                    raise ValueError("enum")
                values[path] = raw
            elif info.kind in ("int", "number"):
                values[path] = _number(info, raw)
            elif info.kind == "date":
                values[path] = date.fromisoformat(raw.strip()).isoformat()
            else:
                values[path] = raw.strip()
        except ValueError as exc:
            errors.append(FormError(path, ui(f"invalid_{exc.args[0]}", lang)))
    return nest(values, profile), errors


def nest(flat: Mapping[str, Any], profile: str) -> dict[str, Any]:
    """{"offer.building.sprinkler": "none"} → {"building": {"sprinkler": "none"}}."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        parts = path.split(".")[1:]
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def flatten(profile_dict: Mapping[str, Any], profile: str) -> dict[str, Any]:
    """The inverse of `nest`: a profile as form values by path."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        else:
            out[prefix] = value

    for key, value in profile_dict.items():
        walk(f"{profile}.{key}", value)
    return out


def hidden_inputs(values: Mapping[str, Any], skip: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Name/value pairs that carry a profile through a page as hidden inputs."""
    skipped = set(skip)
    pairs: list[tuple[str, str]] = []
    for path, value in values.items():
        if path in skipped or value is None:
            continue
        if isinstance(value, list):
            pairs.extend((path, str(item)) for item in value)
            if not value:
                pairs.append((path + EMPTY, "1"))
        elif isinstance(value, bool):
            pairs.append((path, "yes" if value else "no"))
        else:
            pairs.append((path, str(value)))
    return pairs
