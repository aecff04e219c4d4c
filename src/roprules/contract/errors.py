"""Structured input errors: one `ErrorDetail` per problem, in bokmål or English.

An error names the file, the field path and what was expected, and shows at
most a short, sanitised excerpt of the value: control, bidirectional and
invisible characters escaped, at most `EXCERPT_CHARS` characters, and never
anything that looks like a national identity number. The same details become
the CLI's text lines, its `--format json` problem document (RFC 9457 shape) and
`InputError.errors` in the Python API.
"""

# No `from __future__ import annotations` in the modules of pydantic models: pydantic
# would build each field's type from its text (one compile each; ~2 % of a cold start).

import re
import unicodedata
from datetime import date
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from roprules.contract.national_id import contains_national_id

EXCERPT_CHARS = 40
PATH_PART_CHARS = (
    64  # a rule id or field name fits whole (rule ids are at most 64); a pasted document does not
)
LANGS = ("nb", "en")

# Stable, snake_case error codes (PLAN.md / contract.md).
CODES = (
    "unknown_key",
    "wrong_type",
    "not_allowed",
    "out_of_range",
    "missing",
    "national_id",
    "bad_id",
    "bad_date",
    "date_after_as_of",
    "too_large",
    "bad_file",
    "syntax",
)

# The `id` of a profile is a case reference: letters (a-z, æøå), digits, "-", "_", ".".
CASE_REF_PATTERN = r"^[A-Za-zÆØÅæøå0-9._-]{1,64}$"
CASE_REF = re.compile(CASE_REF_PATTERN)


class ErrorDetail(BaseModel):
    """One problem: the field path, a stable code, a message for people, and the file."""

    model_config = ConfigDict(frozen=True)

    field: str
    code: str
    message: str
    file: str | None = None

    def line(self) -> str:
        """`FILE: FIELD: message`, the form printed one per line on stderr."""
        file = sanitise(self.file, 4096) if self.file else None  # a file name is input too
        parts = [p for p in (file, self.field) if p]
        return ": ".join([*parts, self.message])


# --------------------------------------------------------------------------- texts

TEXTS: dict[str, dict[str, str]] = {
    "unknown_key": {"nb": "ukjent felt", "en": "unknown field"},
    "did_you_mean": {"nb": " (mente du {0}?)", "en": " (did you mean {0}?)"},
    "missing": {"nb": "påkrevd felt mangler", "en": "required field is missing"},
    "not_allowed": {"nb": "forventet en av {0}; fikk {1}", "en": "expected one of {0}; got {1}"},
    "or": {"nb": "eller", "en": "or"},
    "expected": {"nb": "forventet {0}; fikk {1}", "en": "expected {0}; got {1}"},
    "integer": {"nb": "et heltall (integer)", "en": "an integer"},
    "number": {"nb": "et tall", "en": "a number"},
    "finite": {"nb": "et endelig tall", "en": "a finite number"},
    "boolean": {"nb": "true eller false (boolean)", "en": "a boolean (true or false)"},
    "text": {"nb": "tekst", "en": "text"},
    "list": {"nb": "en liste (list)", "en": "a list"},
    "mapping": {"nb": "en samling felt (mapping)", "en": "a mapping of fields"},
    "date": {"nb": "en dato ÅÅÅÅ-MM-DD (date)", "en": "a date YYYY-MM-DD"},
    "gt": {"nb": "må være større enn {0}; fikk {1}", "en": "must be greater than {0}; got {1}"},
    "ge": {"nb": "må være minst {0}; fikk {1}", "en": "must be at least {0}; got {1}"},
    "lt": {"nb": "må være mindre enn {0}; fikk {1}", "en": "must be less than {0}; got {1}"},
    "le": {"nb": "må være høyst {0}; fikk {1}", "en": "must be at most {0}; got {1}"},
    "too_short": {
        "nb": "må ha minst {0} tegn",
        "en": "must have at least {0} character(s)",
    },
    "too_long": {
        "nb": "kan ha høyst {0} tegn; har {1}",
        "en": "may have at most {0} characters; has {1}",
    },
    "national_id": {
        "nb": "ligner et fødselsnummer (national identity number); profiler skal være pseudonyme",
        "en": "looks like a national identity number (fødselsnummer); profiles must be "
        "pseudonymous",
    },
    "national_id_key": {
        "nb": "et feltnavn ligner et fødselsnummer (national identity number); profiler skal "
        "være pseudonyme",
        "en": "a key looks like a national identity number (fødselsnummer); profiles must be "
        "pseudonymous",
    },
    "bad_id": {
        "nb": "en saksreferanse har 1 til 64 tegn: bokstaver, sifre, '-', '_' og '.' "
        "(ingen mellomrom); fikk {0}",
        "en": "a case reference has 1 to 64 characters: letters, digits, '-', '_' and '.' "
        "(no spaces); got {0}",
    },
    "plain_number": {
        "nb": "forventet et tall skrevet med vanlige sifre (ikke {0}: ledende null leses som "
        "oktal, og 0x, 1_000 og 1:30 er ikke tillatt)",
        "en": "expected a number written in plain decimal digits (not {0}: a leading zero "
        "reads as octal, and 0x, 1_000 and 1:30 are not allowed)",
    },
    "date_value": {
        "nb": "forventet en dato ÅÅÅÅ-MM-DD (date); fikk {0}",
        "en": "expected a date YYYY-MM-DD; got {0}",
    },
    "top_level": {"nb": "(øverste nivå)", "en": "(top level)"},
    "hidden": {"nb": "(skjult)", "en": "(hidden)"},
    "a_mapping": {"nb": "en samling felt", "en": "a mapping"},
    "a_list": {"nb": "en liste", "en": "a list"},
    "a_value": {"nb": "en verdi av typen {0}", "en": "a value of type {0}"},
    "file_empty": {"nb": "filen er tom", "en": "the file is empty"},
    "no_such_file": {"nb": "ingen slik fil (no such file)", "en": "no such file"},
    "is_directory": {
        "nb": "er en mappe, forventet en fil (is a directory)",
        "en": "is a directory, expected a file",
    },
    "not_regular": {
        "nb": "er ikke en vanlig fil (for eksempel en FIFO eller en enhet)",
        "en": "is not a regular file (for example a FIFO or a device)",
    },
    "permission": {"nb": "ingen tilgang (permission denied)", "en": "permission denied"},
    "too_large": {
        "nb": "filen er {0} byte; grensen (limit) er {1} byte",
        "en": "the file is {0} bytes; the limit is {1} bytes",
    },
    "too_large_read": {
        "nb": "filen er større enn grensen (limit) på {0} byte",
        "en": "the file is larger than the limit of {0} bytes",
    },
    "not_utf8": {"nb": "ikke UTF-8-tekst (byte {0})", "en": "not UTF-8 text (byte {0})"},
    "cannot_read": {"nb": "kan ikke leses: {0}", "en": "cannot be read: {0}"},
    "cannot_write": {"nb": "kan ikke skrives: {0}", "en": "cannot write: {0}"},
    "not_json": {"nb": "ikke gyldig JSON: {0}", "en": "not valid JSON: {0}"},
    "not_yaml": {"nb": "ikke gyldig YAML{0}: {1}", "en": "not valid YAML{0}: {1}"},
    "line_col": {"nb": " (linje {0}, kolonne {1})", "en": " (line {0}, column {1})"},
    "no_profiles": {
        "nb": "ingen profiler (*.yaml, *.yml, *.json) i mappen",
        "en": "no {0} profiles (*.yaml, *.yml, *.json) in directory",
    },
    "problem_title": {"nb": "Ugyldige inndata", "en": "Invalid input"},
    "problem_detail": {"nb": "{0} problem(er) i inndataene", "en": "{0} problem(s) in the input"},
    "error_prefix": {"nb": "roprules: feil: ", "en": "roprules: error: "},
}


def text(key: str, lang: str, *args: Any) -> str:
    template = TEXTS[key].get(lang) or TEXTS[key]["en"]
    return template.format(*args) if args else template


# --------------------------------------------------------------------------- sanitising


def _escape_char(char: str) -> str:
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitise(value: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters, with control, format (bidi, zero-width) and line
    separator characters shown escaped; "…" marks a cut."""
    out: list[str] = []
    length = 0
    for char in value:
        category = unicodedata.category(char)
        piece = _escape_char(char) if category in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co") else char
        if length + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)


def excerpt(value: Any, lang: str = "en") -> str:
    """A short, safe rendering of an input value, for an error message."""
    if contains_national_id(value):
        return text("hidden", lang)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return sanitise(repr(value))
    if isinstance(value, int):
        return sanitise(str(value))
    if isinstance(value, str):
        return "'" + sanitise(value) + "'"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return text("a_mapping", lang)
    if isinstance(value, (list, tuple)):
        return text("a_list", lang)
    shown = getattr(value, "source_text", None)  # a suspicious YAML scalar (documents.py)
    if isinstance(shown, str):
        return "'" + sanitise(shown) + "'"
    return text("a_value", lang, sanitise(type(value).__name__))


def path_part(part: Any, lang: str = "en") -> str:
    """One element of a field path, safe to print (keys come from the input too)."""
    if isinstance(part, int) and not isinstance(part, bool):
        return str(part)
    shown = str(part)
    if contains_national_id(shown):
        return text("hidden", lang)
    return sanitise(shown, PATH_PART_CHARS)


def field_path(loc: tuple[Any, ...] | list[Any], lang: str = "en", prefix: str = "") -> str:
    path = ".".join(path_part(p, lang) for p in loc)
    if not path:
        return prefix.rstrip(".") or text("top_level", lang)
    return prefix + path


# --------------------------------------------------------------------------- did you mean


def _normal(word: str) -> str:
    return re.sub(r"[\s_\-]+", " ", word.strip().lower())


def suggest(word: Any, choices: dict[str, str]) -> str | None:
    """The canonical name closest to `word`; `choices` maps aliases (names, labels,
    Norwegian words) to canonical names."""
    if not isinstance(word, str) or not word or len(word) > 200:
        return None
    if contains_national_id(word):
        return None
    normal = {_normal(alias): name for alias, name in choices.items()}
    key = _normal(word)
    if key in normal:
        return normal[key]
    import difflib  # here: most words match exactly, and a check rarely gets this far

    close = difflib.get_close_matches(key, list(normal), n=1, cutoff=0.7)
    if close:
        return normal[close[0]]
    # The first words of a longer label: "bemanning" for "bemanning på stedet".
    starting = {name for alias, name in normal.items() if alias.startswith(key + " ")}
    return starting.pop() if len(key) >= 4 and len(starting) == 1 else None


@cache
def _catalogue() -> dict[str, Any]:
    from roprules.contract.messages import messages  # late: messages reads files through documents

    return messages().fields


def key_choices(parent_path: str, names: list[str]) -> dict[str, str]:
    """Aliases for the field names under `parent_path` (e.g. "resident" or
    "offer.building"): the names, and their bokmål and English labels."""
    choices = {name: name for name in names}
    fields = _catalogue()
    for name in names:
        for label in fields.get(f"{parent_path}.{name}", {}).get("label", {}).values():
            choices.setdefault(label, name)
    return choices


def value_choices(field: str, values: list[str]) -> dict[str, str]:
    """Aliases for the allowed values of `field` (a full path): the values and their labels."""
    choices = {value: value for value in values}
    labels = _catalogue().get(field, {}).get("values", {})
    for value in values:
        for label in labels.get(value, {}).values():
            choices.setdefault(label, value)
    return choices


# --------------------------------------------------------------------------- problem document

PROBLEM_TYPE = "urn:roprules:problem:invalid-input"


def problem_document(errors: list[ErrorDetail], lang: str = "nb") -> dict[str, Any]:
    """The RFC 9457 problem shape used by the CLI (--format json) and the HTTP service."""
    return {
        "type": PROBLEM_TYPE,
        "title": text("problem_title", lang),
        "status": 400,
        "detail": text("problem_detail", lang, len(errors)),
        "errors": [e.model_dump() for e in errors],
    }
