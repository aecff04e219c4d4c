"""Turning files and dicts into validated profiles, with errors people can act on.

Every problem is an `ErrorDetail` (field path, code, message, file); printed, it
reads `FILE: FIELD.PATH: what was expected`, e.g.
`resident.yaml: violense_risk: unknown field (did you mean violence_risk?)`,
in bokmål (`lang="nb"`, the default) or English. Messages show at most a short,
sanitised excerpt of a value (see errors.py), never an identity number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from roprules.contract.documents import InputError, read_document
from roprules.contract.errors import (
    ErrorDetail,
    excerpt,
    field_path,
    key_choices,
    suggest,
    text,
    value_choices,
)
from roprules.contract.fields import strip_annotation
from roprules.contract.profiles import (
    SCREENED,
    OfferProfile,
    Refused,
    ResidentProfile,
    profile_dates,
    screened,
    screened_facts,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
PROFILE_SUFFIXES = (".yaml", ".yml", ".json")
_ROLES: dict[type[BaseModel], str] = {ResidentProfile: "resident", OfferProfile: "offer"}

_TYPE_WORDS = {
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "float_parsing": "number",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "string_type": "text",
    "string_unicode": "text",  # e.g. a lone surrogate from JSON ("\ud800")
    "list_type": "list",
    "model_type": "mapping",
    "model_attributes_type": "mapping",
    "dict_type": "mapping",
    "finite_number": "finite",
}
_BOUNDS = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}


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


def _catalogue_path(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """`resident.violence_risk_towards` for loc ("violence_risk_towards", 1)."""
    names = [str(p) for p in loc if isinstance(p, str)]
    return ".".join([_ROLES.get(model, "profile"), *names])


def _describe(model: type[BaseModel], error: dict[str, Any], lang: str) -> tuple[str, str]:
    """(code, message) for one pydantic error."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if isinstance(value, Refused):  # screened before the type check (profiles._screen)
        return _refused(value, lang)
    got = excerpt(value, lang)
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        hint = ""
        if parent is not None:
            choices = key_choices(_catalogue_path(model, loc[:-1]), list(parent.model_fields))
            close = suggest(loc[-1], choices)
            if close:
                hint = text("did_you_mean", lang, close)
        return "unknown_key", text("unknown_key", lang) + hint
    if kind == "missing":
        return "missing", text("missing", lang)
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        allowed = re.findall(r"'([^']*)'", expected)
        if lang != "en":
            expected = expected.replace(" or ", f" {text('or', lang)} ")
        message = text("not_allowed", lang, expected, got)
        close = suggest(value, value_choices(_catalogue_path(model, loc), allowed))
        if close:
            message += text("did_you_mean", lang, repr(close))
        return "not_allowed", message
    if kind in ("national_id", "national_id_key"):
        return "national_id", text(kind, lang)
    if kind.startswith("date_"):
        return "bad_date", text("date_value", lang, got)
    if kind in _BOUNDS:
        bound = _BOUNDS[kind]
        return "out_of_range", text(bound, lang, ctx.get(bound), got)
    if kind == "string_too_short":
        return "out_of_range", text("too_short", lang, ctx.get("min_length"))
    if kind in ("string_too_long", "too_long"):
        length = len(value) if isinstance(value, (str, list)) else "?"
        code = "too_large"
        return code, text("too_long", lang, ctx.get("max_length"), length)
    if kind in _TYPE_WORDS:
        return "wrong_type", text("expected", lang, text(_TYPE_WORDS[kind], lang), got)
    message = str(error.get("msg", ""))
    message = message.removeprefix("Value error, ")
    return "wrong_type", f"{message[:1].lower()}{message[1:]}; got {got}"


def _refused(value: Refused, lang: str) -> tuple[str, str]:
    shown = value.shown or ""
    if value.code == "plain_number":
        return "wrong_type", text("plain_number", lang, shown)
    if value.code == "national_id":
        return "national_id", text("national_id", lang)
    if value.code == "bad_date":
        return "bad_date", text("date_value", lang, shown)
    return "bad_id", text("bad_id", lang, shown)


def validation_errors(
    model: type[BaseModel],
    exc: ValidationError,
    source: str | None,
    prefix: str = "",
    lang: str = "en",
) -> list[ErrorDetail]:
    """One ErrorDetail per validation error, naming the source and the field path."""
    details = []
    for error in exc.errors(include_url=False):
        code, message = _describe(model, error, lang)
        field = field_path(tuple(error["loc"]), lang, prefix)
        details.append(ErrorDetail(field=field, code=code, message=message, file=source))
    return details


def validation_messages(
    model: type[BaseModel], exc: ValidationError, source: str, prefix: str = "", lang: str = "en"
) -> list[str]:
    """One message per validation error, naming the source and the field path."""
    return [e.line() for e in validation_errors(model, exc, source, prefix, lang)]


def _raw(value: Any) -> Any:
    """A model's stored values as plain data, whatever state the model is in
    (built with model_construct, or mutated after validation)."""
    if isinstance(value, BaseModel):
        return {k: _raw(v) for k, v in value.__dict__.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_raw(v) for v in value]
    if isinstance(value, dict):
        return {k: _raw(v) for k, v in value.items()}
    return value


def validate_profile(
    model: type[ModelT], data: Any, source: str, *, prefix: str = "", lang: str = "en"
) -> ModelT:
    """Validate a dict or a model instance against a contract model.

    A model instance is validated again from its stored values, as a dict would be:
    it may have been built with `model_construct` or changed after validation.
    """
    return _validate(model, data, source, prefix, lang, facts=False)[0]


def validate_entered(
    model: type[ModelT], data: Any, source: str, *, prefix: str = "", lang: str = "en"
) -> tuple[ModelT, dict[str, Any] | None]:
    """`validate_profile`, and the validated profile's facts as entered (what `_flatten`
    gives of it) when the screen's pass over the input found them (`screened_facts`:
    input that needs the full screen gives None)."""
    return _validate(model, data, source, prefix, lang, facts=True)


def _validate(
    model: type[ModelT], data: Any, source: str, prefix: str, lang: str, *, facts: bool
) -> tuple[ModelT, dict[str, Any] | None]:
    if isinstance(data, BaseModel):
        data = _raw(data)
    if not isinstance(data, dict):
        message = text("expected", lang, text("mapping", lang), excerpt(data, lang))
        field = field_path((), lang, prefix)
        raise InputError(
            errors=[ErrorDetail(field=field, code="wrong_type", message=message, file=source)]
        )
    try:
        if facts:
            flat = screened_facts(model, data)
            if flat is not None:  # nothing to refuse: the screens inside would change nothing
                # pydantic-core directly: what `model_validate` does with these arguments
                return model.__pydantic_validator__.validate_python(data, context=SCREENED), flat
        elif screened(model, data):  # the same, without the facts (a pass over the keys)
            return model.model_validate(data, context=SCREENED), None
        return model.model_validate(data), None
    except ValidationError as exc:
        raise InputError(errors=validation_errors(model, exc, source, prefix, lang)) from None


def load_profile(
    model: type[ModelT],
    source: str | Path | dict[str, Any] | BaseModel,
    *,
    lang: str = "en",
    label: str | None = None,
) -> ModelT:
    """Load a profile from a file path, a dict or a model."""
    return load_entered(model, source, lang=lang, label=label)[0]


def load_entered(
    model: type[ModelT],
    source: str | Path | dict[str, Any] | BaseModel,
    *,
    lang: str = "en",
    label: str | None = None,
) -> tuple[ModelT, dict[str, Any] | None]:
    """`load_profile`, and its facts as entered when the screen found them
    (`validate_entered`)."""
    if isinstance(source, (str, Path)):
        data = read_document(source, lang=lang, profile=True)
        return validate_entered(model, data, str(source), lang=lang)
    return validate_entered(model, source, label or _ROLES.get(model, "profile"), lang=lang)


def load_resident(
    source: str | Path | dict[str, Any] | BaseModel, *, lang: str = "en", label: str | None = None
) -> ResidentProfile:
    return load_profile(ResidentProfile, source, lang=lang, label=label)


def load_offer(
    source: str | Path | dict[str, Any] | BaseModel, *, lang: str = "en", label: str | None = None
) -> OfferProfile:
    return load_profile(OfferProfile, source, lang=lang, label=label)


def collect(loaders: Iterable[Callable[[], T]]) -> list[T]:
    """Run every loader; raise one InputError with the problems of all of them."""
    results: list[T] = []
    errors: list[ErrorDetail] = []
    for loader in loaders:
        try:
            results.append(loader())
        except InputError as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputError(errors=errors)
    return results


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
        ErrorDetail(
            field=path.split(".", 1)[1],
            code="date_after_as_of",
            message=f"the date {value.isoformat()} is after the assessment date "
            f"{as_of.isoformat()} (as_of)",
            file=source,
        )
        for path, value in profile_dates("profile", profile)
        if value > as_of
    ]
    if problems:
        raise InputError(errors=problems)
    return profile
