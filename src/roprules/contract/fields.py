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

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo as PydanticFieldInfo

from roprules.contract.profiles import DEPRECATED_FIELDS, DEPRECATED_VALUES, PROFILE_MODELS

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


def _model_walk() -> typing.Iterator[tuple[str, PydanticFieldInfo]]:
    """(path, pydantic field) of every profile field, nested ones included, in model order.

    The one walk over the models: the machine view (FIELDS), the documented
    registry and the bounds a form shows are all read from it.
    """

    def walk(prefix: str, model: type[BaseModel]) -> typing.Iterator[tuple[str, PydanticFieldInfo]]:
        for name, info in model.model_fields.items():
            path = f"{prefix}.{name}"
            yield path, info
            inner = strip_annotation(info.annotation)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from walk(path, inner)

    for prefix, model in PROFILE_MODELS.items():
        yield from walk(prefix, model)


def _build() -> dict[str, FieldSpec]:
    registry: dict[str, FieldSpec] = {}
    for path, info in _model_walk():
        annotation = strip_annotation(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            registry[path] = FieldSpec(path, "object")
        else:
            registry[path] = _spec(path, info.annotation)
    return registry


FIELDS: dict[str, FieldSpec] = _build()

# Fields that rules may read: leaves only (not objects, not identifiers).
RULE_FIELDS: dict[str, FieldSpec] = {
    path: spec
    for path, spec in FIELDS.items()
    if spec.kind != "object" and path not in ("resident.id", "offer.id", "offer.name")
}


# ------------------------------------------------------------------ the documented registry
#
# FIELDS above is the machine view (kind and values, from the models). The
# documented registry adds what a team and an integrator need for every field:
# labels, help, the question asked when it is unknown, value labels, the field
# class, the group and the unit (texts in messages/fields.yaml). Docs, the
# profile template, the JSON Schema, the HTTP service and a web form read it
# through `field_registry()`.

FieldClass = Literal["offer", "process", "fixed"]
FIELD_CLASSES: tuple[FieldClass, ...] = ("offer", "process", "fixed")
# Who answers an open question about the field (messages/asked_of.yaml).
AskedOf = Literal["resident", "placement", "organisation"]
ASKED_OF: tuple[AskedOf, ...] = ("resident", "placement", "organisation")
RESIDENT_GROUPS = ("risk", "needs", "help", "voice", "practical")
OFFER_GROUPS = (
    "about",
    "staffing",
    "contract",
    "co_residents",
    "building",
    "location",
    "organisation",
)
CONTRACT_VERSION = "2.1"

Text = dict[str, str]  # {"nb": ..., "en": ...}


@dataclass(frozen=True)
class ValueInfo:
    """One allowed value of an enum (or list-of-enum) field."""

    code: str
    label: Text
    replacement: str | None = None  # set for a deprecated value, read as this one

    @property
    def deprecated(self) -> bool:
        return self.replacement is not None


@dataclass(frozen=True)
class FieldInfo:
    """Everything known about one contract field: type, bounds, texts, class, group."""

    path: str  # "offer.building.sprinkler"
    profile: str  # "resident" | "offer"
    kind: FieldKind
    values: tuple[ValueInfo, ...]
    required: bool
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool  # minimum is a strict bound (> rather than >=)
    unit: str | None  # a key of `units` in terms.yaml
    field_class: FieldClass
    group: str
    label: Text
    help: Text
    question: Text
    replacement: str | None = None  # set for a deprecated field
    empty: Text | None = None  # lists: what a known, empty list means
    documented: bool = True  # False when messages/fields.yaml has no entry yet
    asked_of: AskedOf = "placement"  # who answers the question (messages/asked_of.yaml)

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[1]

    @property
    def parent(self) -> str | None:
        """The enclosing object's path ("offer.building"), or None for a top-level field."""
        head = self.path.rsplit(".", 1)[0]
        return head if "." in head else None

    @property
    def deprecated(self) -> bool:
        return self.replacement is not None

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "number")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(value.code for value in self.values)

    def text(self, part: Literal["label", "help", "question"], lang: str) -> str:
        texts: Text = getattr(self, part)
        return texts.get(lang) or texts.get("en") or self.path

    def value_label(self, code: str, lang: str) -> str:
        for value in self.values:
            if value.code == code:
                return value.label.get(lang) or code
        return code

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for the HTTP service, a web form or an export)."""
        return {
            "path": self.path,
            "profile": self.profile,
            "kind": self.kind,
            "required": self.required,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "exclusive_minimum": self.exclusive_minimum,
            "unit": self.unit,
            "class": self.field_class,
            "asked_of": self.asked_of,
            "group": self.group,
            "label": dict(self.label),
            "help": dict(self.help),
            "question": dict(self.question),
            "values": [
                {"code": v.code, "label": dict(v.label), "replacement": v.replacement}
                for v in self.values
            ],
            "replacement": self.replacement,
            "empty": dict(self.empty) if self.empty else None,
        }


# The constraint classes pydantic records for a field, by the name a form (and
# JSON Schema) gives them.
_LIMITS: tuple[tuple[type[Any], str, str], ...] = (
    (Ge, "ge", "minimum"),
    (Gt, "gt", "exclusive_minimum"),
    (Le, "le", "maximum"),
    (Lt, "lt", "exclusive_maximum"),
    (MinLen, "min_length", "min_length"),
    (MaxLen, "max_length", "max_length"),
)


def _limits(info: PydanticFieldInfo) -> dict[str, Any]:
    """A field's numeric and length bounds ({"minimum": 0, "max_length": 200, ...}).

    Pydantic keeps a top-level `Annotated` constraint in `info.metadata` and one
    inside `Optional[...]` in the annotation itself: both are read.
    """
    found: dict[str, Any] = {}
    pending: list[Any] = [*info.metadata, info.annotation]
    while pending:
        item = pending.pop(0)
        origin = typing.get_origin(item)
        if origin is typing.Annotated:
            args = typing.get_args(item)
            for extra in args[1:]:
                pending.extend(getattr(extra, "metadata", None) or [extra])
            pending.append(args[0])
        elif origin in (typing.Union, types.UnionType):
            pending.extend(typing.get_args(item))
        else:
            for kind, attr, name in _LIMITS:
                if isinstance(item, kind):
                    found[name] = getattr(item, attr)
    return found


def field_limits() -> dict[str, dict[str, Any]]:
    """Every contract field's bounds by path (empty for a field without any)."""
    return {path: _limits(info) for path, info in _model_walk()}


def _text(entry: dict[str, Any], part: str, fallback: str) -> Text:
    texts = entry.get(part)
    if isinstance(texts, dict):
        return {lang: str(texts.get(lang) or texts.get("en") or fallback) for lang in ("nb", "en")}
    return {"nb": fallback, "en": fallback}


def _group(path: str, entry: dict[str, Any]) -> str:
    group = entry.get("group")
    if isinstance(group, str):
        return group
    parts = path.split(".")
    return parts[1] if len(parts) > 2 else ("practical" if parts[0] == "resident" else "about")


def asked_of(path: str, table: dict[str, Any]) -> AskedOf:
    """Who answers a question about `path`, from the asked_of table (longest prefix wins)."""
    single = (table.get("fields") or {}).get(path)
    if single in ASKED_OF:
        return single  # type: ignore[no-any-return]
    prefixes = table.get("prefixes") or {}
    matches = [prefix for prefix in prefixes if path.startswith(prefix)]
    if matches:
        chosen = prefixes[max(matches, key=len)]
        if chosen in ASKED_OF:
            return chosen  # type: ignore[no-any-return]
    return "resident" if path.startswith("resident.") else "placement"


def _asked_of_table() -> dict[str, Any]:
    from importlib import resources

    from roprules.contract.documents import parse_text

    text = resources.files("roprules").joinpath("messages", "asked_of.yaml").read_text("utf-8")
    return parse_text(text, "asked_of.yaml") or {}


def _record(
    path: str,
    field: PydanticFieldInfo,
    entry: dict[str, Any],
    asked: dict[str, Any] | None = None,
) -> FieldInfo:

    spec = FIELDS[path]
    labels = entry.get("values") or {}
    renamed = {
        **DEPRECATED_VALUES.get(path, {}),
        **(entry.get("deprecated_values") or {}),
    }
    codes = list(spec.values) + [code for code in renamed if code not in spec.values]
    values = tuple(
        ValueInfo(code, _text({"label": labels.get(code)}, "label", code), renamed.get(code))
        for code in (codes if spec.kind in ("enum", "list") else ())
    )
    limits = _limits(field)
    strict = "exclusive_minimum" in limits
    low = limits["exclusive_minimum"] if strict else limits.get("minimum")
    deprecated = entry.get("deprecated")
    field_class = entry.get("class")
    return FieldInfo(
        path=path,
        profile=path.split(".", 1)[0],
        kind=spec.kind,
        values=values,
        required=field.is_required(),
        minimum=low,
        maximum=limits.get("maximum"),
        exclusive_minimum=strict,
        unit=entry.get("unit") if entry.get("unit") not in (None, "none") else None,
        field_class=field_class if field_class in FIELD_CLASSES else "fixed",
        group=_group(path, entry),
        label=_text(entry, "label", path),
        help=_text(entry, "help", ""),
        question=_text(entry, "question", path),
        replacement=(
            deprecated.get("replacement")
            if isinstance(deprecated, dict)
            else DEPRECATED_FIELDS.get(path)
        ),
        empty=_text(entry, "empty", "") if spec.kind == "list" and entry.get("empty") else None,
        documented=bool(entry),
        asked_of=asked_of(path, asked or {}),
    )


_REGISTRY: dict[str, FieldInfo] | None = None


def field_registry() -> dict[str, FieldInfo]:
    """Every contract field (resident and offer, nested ones included), in model order.

    Built once from the models and messages/fields.yaml. A model field without an
    entry in fields.yaml still appears (documented=False, its path as label), so the
    engine keeps working; tests/test_field_registry.py fails until it is documented.
    """
    global _REGISTRY
    if _REGISTRY is None:
        from roprules.contract.messages import messages

        entries = messages().fields
        asked = _asked_of_table()
        _REGISTRY = {
            path: _record(path, field, entries.get(path) or {}, asked)
            for path, field in _model_walk()
        }
    return _REGISTRY


def field_info(path: str) -> FieldInfo:
    """One field's record; KeyError for a path the contract does not have."""
    return field_registry()[path]
