"""Turning files and dicts into validated profiles, with errors people can act on.

Every message has the shape `FILE: FIELD.PATH: what was expected`, e.g.
`resident.yaml: violense_risk: unknown field (did you mean violence_risk?)`.
"""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from roprules.documents import InputError, read_document
from roprules.fields import strip_annotation
from roprules.profiles import OfferProfile, ResidentProfile, profile_dates

ModelT = TypeVar("ModelT", bound=BaseModel)
PROFILE_SUFFIXES = (".yaml", ".yml", ".json")


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The nested model class at a location, to suggest field names there."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return None
        annotation = strip_annotation(current.model_fields[part].annotation)
        current = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return current


def _describe(model: type[BaseModel], error: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc) or "(top level)"
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        hint = ""
        if parent is not None:
            close = difflib.get_close_matches(str(loc[-1]), list(parent.model_fields), n=1)
            if close:
                hint = f" (did you mean {close[0]}?)"
        return path, f"unknown field{hint}"
    if kind == "missing":
        return path, "required field is missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return path, f"expected one of {expected}; got {value!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return path, f"expected a mapping of fields; got {type(value).__name__}"
    if kind == "finite_number":
        shown = "NaN" if value != value else "Infinity"
        return path, f"expected a finite number; got {shown}"
    if isinstance(value, float) and value != value:
        value = "NaN"
    elif isinstance(value, float) and value in (float("inf"), float("-inf")):
        value = "Infinity" if value > 0 else "-Infinity"
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        return path, message
    return path, f"{message[0].lower()}{message[1:]}; got {value!r}"


def validation_messages(
    model: type[BaseModel], exc: ValidationError, source: str, prefix: str = ""
) -> list[str]:
    """One message per validation error, naming the source and the field path."""
    messages = []
    for error in exc.errors(include_url=False):
        path, what = _describe(model, error)
        messages.append(f"{source}: {prefix}{path}: {what}")
    return messages


def validate_profile(model: type[ModelT], data: Any, source: str, *, prefix: str = "") -> ModelT:
    """Validate a dict (or a model instance) against a contract model."""
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(exclude_none=True)
    if not isinstance(data, dict):
        raise InputError(
            f"{source}: (top level): expected a mapping of fields; got {type(data).__name__}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_messages(model, exc, source, prefix)) from None


def load_profile(model: type[ModelT], source: str | Path | dict[str, Any] | BaseModel) -> ModelT:
    """Load a profile from a file path, a dict or a model."""
    if isinstance(source, (str, Path)):
        return validate_profile(model, read_document(source), str(source))
    label = "resident" if model is ResidentProfile else "offer"
    return validate_profile(model, source, label)


def load_resident(source: str | Path | dict[str, Any] | BaseModel) -> ResidentProfile:
    return load_profile(ResidentProfile, source)


def load_offer(source: str | Path | dict[str, Any] | BaseModel) -> OfferProfile:
    return load_profile(OfferProfile, source)


def profile_files(directory: Path) -> list[Path]:
    """The profile files of a directory (YAML or JSON), in name order; none if it is absent."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in PROFILE_SUFFIXES)


def check_dates(profile: ModelT, as_of: date, source: str) -> ModelT:
    """The profile, if none of its dates lies after the assessment date; else InputError.

    A date after `as_of` cannot be a fact as of that date (contract.md), and a
    rule measuring months since it would read a negative age.
    """
    problems = [
        f"{source}: {path.split('.', 1)[1]}: the date {value.isoformat()} is after the "
        f"assessment date {as_of.isoformat()} (as_of)"
        for path, value in profile_dates("profile", profile)
        if value > as_of
    ]
    if problems:
        raise InputError(problems)
    return profile
