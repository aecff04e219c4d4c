"""The field registry: every fact path of the contract with its type and values.

Derived from the pydantic models, so the contract has one source. The rule
loader checks field paths and enum values against it, the condition compiler
uses the enum domains, and the message catalogue is tested for completeness
against it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from roprules.profiles import DEPRECATED_VALUES, PROFILE_MODELS

FieldKind = Literal["bool", "int", "number", "enum", "list", "date", "text", "object"]


@dataclass(frozen=True)
class FieldSpec:
    """What a fact path holds: its kind and, for enums and lists of enums, the values."""

    path: str
    kind: FieldKind
    values: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "number")


def strip_annotation(annotation: Any) -> Any:
    """Remove Optional and Annotated wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _spec(path: str, annotation: Any) -> FieldSpec:
    annotation = strip_annotation(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        # A deprecated value is read as its replacement before any rule sees it,
        # so rules may not name it and it has no label of its own.
        old = DEPRECATED_VALUES.get(path, {})
        values = tuple(v for v in typing.get_args(annotation) if v not in old)
        return FieldSpec(path, "enum", values)
    if origin is list:
        item = strip_annotation(typing.get_args(annotation)[0])
        return FieldSpec(path, "list", tuple(typing.get_args(item)))
    kinds: dict[Any, FieldKind] = {
        bool: "bool",
        int: "int",
        float: "number",
        date: "date",
        str: "text",
    }
    if annotation in kinds:
        return FieldSpec(path, kinds[annotation])
    raise TypeError(f"unsupported annotation at {path}: {annotation!r}")


def _walk(prefix: str, model: type[BaseModel], into: dict[str, FieldSpec]) -> None:
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        annotation = strip_annotation(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            into[path] = FieldSpec(path, "object")
            _walk(path, annotation, into)
        else:
            into[path] = _spec(path, info.annotation)


def _build() -> dict[str, FieldSpec]:
    registry: dict[str, FieldSpec] = {}
    for prefix, model in PROFILE_MODELS.items():
        _walk(prefix, model, registry)
    return registry


FIELDS: dict[str, FieldSpec] = _build()

# Fields that rules may read: leaves only (not objects, not identifiers).
RULE_FIELDS: dict[str, FieldSpec] = {
    path: spec
    for path, spec in FIELDS.items()
    if spec.kind != "object" and path not in ("resident.id", "offer.id", "offer.name")
}
