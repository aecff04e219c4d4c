"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error response has `type`, `title`, `status`, `detail` and an `errors`
list of `{field, code, message}`, titles and messages in the request's language
(bokmål by default). Input errors from the engine are read from
`InputError.errors` when the engine provides them; otherwise each of
`InputError.messages` ("SOURCE: FIELD.PATH: what was expected") becomes one
entry, so the handler works with either form.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"

# kind -> (HTTP status, title in nb and en)
PROBLEMS: dict[str, tuple[int, dict[str, str]]] = {
    "invalid-input": (
        422,
        {"nb": "Ugyldige opplysninger i forespørselen", "en": "Invalid input in the request"},
    ),
    "bad-request": (
        400,
        {"nb": "Forespørselen kan ikke leses", "en": "The request cannot be read"},
    ),
    "unauthorized": (
        401,
        {"nb": "Mangler eller ugyldig tilgangsnøkkel", "en": "Missing or invalid access token"},
    ),
    "not-found": (404, {"nb": "Finnes ikke", "en": "Not found"}),
    "method-not-allowed": (405, {"nb": "Metoden er ikke tillatt", "en": "Method not allowed"}),
    "too-large": (
        413,
        {"nb": "Forespørselen er for stor", "en": "The request is too large"},
    ),
    "unsupported-media-type": (
        415,
        {"nb": "Innholdstypen støttes ikke", "en": "Unsupported content type"},
    ),
    "timeout": (
        503,
        {"nb": "Vurderingen tok for lang tid", "en": "The assessment took too long"},
    ),
    "engine-failed": (
        500,
        {"nb": "Regelmotoren feilet", "en": "The rule engine failed"},
    ),
    "internal-error": (
        500,
        {"nb": "Intern feil i tjenesten", "en": "Internal error in the service"},
    ),
    "not-ready": (503, {"nb": "Tjenesten er ikke klar", "en": "The service is not ready"}),
}


class ErrorEntry(BaseModel):
    """One problem: the field path, a stable snake_case code and a message."""

    model_config = ConfigDict(extra="forbid")

    field: str
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details with the list of problems (`errors`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[ErrorEntry] = []
    schema_version: str


class ProblemError(Exception):
    """Raised inside the service; turned into a problem+json response."""

    def __init__(
        self,
        kind: str,
        errors: list[dict[str, str]] | None = None,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.kind = kind
        self.errors = errors or []
        self.detail = detail
        self.headers = headers
        super().__init__(kind)


def entry(field: str, code: str, nb: str, en: str, lang: str) -> dict[str, str]:
    """An error entry whose message is chosen by language."""
    return {"field": field, "code": code, "message": en if lang == "en" else nb}


def problem_body(
    kind: str, lang: str, errors: list[dict[str, str]], detail: str | None = None
) -> dict[str, Any]:
    from roprules.contract.assessment import SCHEMA_VERSION

    status, titles = PROBLEMS[kind]
    if detail is None and errors:
        detail = errors[0]["message"] if len(errors) == 1 else _count(len(errors), lang)
    return {
        "type": f"urn:roprules:problem:{kind}",
        "title": titles.get(lang, titles["nb"]),
        "status": status,
        "detail": detail,
        "errors": errors,
        "schema_version": SCHEMA_VERSION,
    }


def _count(n: int, lang: str) -> str:
    return f"{n} problems in the request" if lang == "en" else f"{n} feil i forespørselen"


def problem_response(
    kind: str,
    lang: str,
    errors: list[dict[str, str]] | None = None,
    *,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(kind, lang, errors or [], detail)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=body["status"],
        media_type=PROBLEM_JSON,
        headers=headers,
    )


# --- InputError -> entries ---------------------------------------------------

_CODES = (
    ("unknown field", "unknown_key"),
    ("required field is missing", "missing"),
    ("expected one of", "not_allowed"),
    ("national identity number", "national_id"),
    ("expected a mapping", "wrong_type"),
    ("finite number", "wrong_type"),
    ("greater than", "out_of_range"),
    ("less than", "out_of_range"),
    ("valid date", "bad_date"),
    ("date", "bad_date"),
    ("too large", "too_large"),
    ("should be", "wrong_type"),
)


def _guess_code(message: str) -> str:
    lowered = message.lower()
    for needle, code in _CODES:
        if needle in lowered:
            return code
    return "invalid"


_MESSAGE = re.compile(r"^(?P<source>[^:]*?):\s*(?P<path>[^:\s]+(?: [^:\s]+)*):\s*(?P<what>.*)$")


def _from_message(message: str) -> tuple[str, str]:
    """("field.path", "what") from "SOURCE: FIELD.PATH: what"; ("", message) otherwise."""
    match = _MESSAGE.match(message)
    if not match:
        return "", message
    path = match["path"]
    if path == "(top level)":
        path = ""
    return path, match["what"]


def _get(item: Any, name: str) -> Any:
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def join_field(location: str, field: str, kind: str) -> str:
    """Put a profile-relative field path under its place in the request body.

    `location` is where the profile sits in the body ("resident", "offers[2]");
    `field` may or may not start with the profile kind ("offer.type", "type").
    """
    for prefix in (f"{kind}.", f"{location}."):
        if field.startswith(prefix):
            field = field[len(prefix) :]
            break
    else:
        if field in (kind, location):
            field = ""
    return f"{location}.{field}" if field else location


def input_error_entries(exc: Exception, location: str, kind: str) -> list[dict[str, str]]:
    """The entries of an InputError, field paths placed under `location`."""
    structured = getattr(exc, "errors", None)
    entries: list[dict[str, str]] = []
    if isinstance(structured, list | tuple) and structured:
        for item in structured:
            field = str(_get(item, "field") or "")
            entries.append(
                {
                    "field": join_field(location, field, kind),
                    "code": str(_get(item, "code") or "invalid"),
                    "message": str(_get(item, "message") or ""),
                }
            )
        return entries
    for message in getattr(exc, "messages", None) or [str(exc)]:
        field, what = _from_message(str(message))
        entries.append(
            {"field": join_field(location, field, kind), "code": _guess_code(what), "message": what}
        )
    return entries


# --- FastAPI's own validation (query and path parameters) -------------------

_VALIDATION_TEXT = {
    "missing": ("mangler", "is missing"),
    "literal_error": ("ugyldig verdi; tillatt: {expected}", "not allowed; expected {expected}"),
    "enum": ("ugyldig verdi; tillatt: {expected}", "not allowed; expected {expected}"),
}


def validation_entries(exc: RequestValidationError, lang: str) -> list[dict[str, str]]:
    entries = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in ("query", "path", "body") else loc)
        kind = error.get("type", "")
        expected = str((error.get("ctx") or {}).get("expected", ""))
        if kind in _VALIDATION_TEXT:
            nb, en = _VALIDATION_TEXT[kind]
            code = "missing" if kind == "missing" else "not_allowed"
            message = (en if lang == "en" else nb).format(expected=expected)
        else:
            code = "wrong_type"
            message = (
                f"ugyldig verdi ({error.get('msg', '')})"
                if lang != "en"
                else str(error.get("msg", "invalid value"))
            )
        entries.append({"field": field, "code": code, "message": message})
    return entries
