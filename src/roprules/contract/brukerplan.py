"""BrukerPlan: derive unknown resident fields from the scores, and import a CSV.

The mapping is data (`messages/brukerplan.yaml`): rows of (area, score range,
field, value, reason). `derive` fills a resident fact only where the team left
the field unknown, and says which score it came from, so that every report can
show the value as derived from BrukerPlan. `import_csv` turns a BrukerPlan
export (one row per resident: `id` and the eight area scores) into resident
profiles, validated by the contract models; on any bad row nothing is written.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from roprules.contract.documents import InputError, parse_text
from roprules.contract.errors import text

AREAS = (
    "substance_use",
    "economy",
    "mental_health",
    "physical_health",
    "housing",
    "social_functioning",
    "network",
    "work_activity",
)
PREFIX = "resident.brukerplan."


@dataclass(frozen=True)
class Mapping_:
    """One row of the table: a score of `area` in [low, high] derives field = value."""

    area: str
    low: int
    high: int
    field: str
    value: Any
    reason: dict[str, str]

    @property
    def source(self) -> str:
        return PREFIX + self.area

    @property
    def path(self) -> str:
        return "resident." + self.field


@dataclass(frozen=True)
class Derivation:
    """A derived fact: its path, its value, the score it came from, and the row's reason."""

    path: str
    value: Any
    source: str
    score: int
    reason: dict[str, str]


def _table_text() -> str:
    return resources.files("roprules").joinpath("messages", "brukerplan.yaml").read_text("utf-8")


def _rows(data: Any) -> list[Mapping_]:
    rows = []
    for entry in data["mappings"]:
        low, high = entry["scores"]
        rows.append(
            Mapping_(
                area=entry["area"],
                low=low,
                high=high,
                field=entry["field"],
                value=entry["value"],
                reason=dict(entry["reason"]),
            )
        )
    return rows


@cache
def table() -> tuple[Mapping_, ...]:
    """The mapping table, checked against the contract once."""
    rows = _rows(parse_text(_table_text(), "brukerplan.yaml"))
    problems = check_table(rows)
    if problems:
        raise ValueError("messages/brukerplan.yaml: " + "; ".join(problems))
    return tuple(rows)


def check_table(rows: list[Mapping_]) -> list[str]:
    """What is wrong with a mapping table (empty when it is valid)."""
    from roprules.contract.profiles import ResidentProfile

    problems: list[str] = []
    fields = ResidentProfile.model_fields
    seen: dict[str, tuple[str, list[tuple[int, int]]]] = {}
    for row in rows:
        where = f"{row.area} {row.low}-{row.high} -> {row.field}"
        if row.area not in AREAS:
            problems.append(f"{where}: unknown area")
        if not (1 <= row.low <= row.high <= 5):
            problems.append(f"{where}: scores must be 1 <= low <= high <= 5")
        if row.field not in fields or row.field in ("id", "brukerplan"):
            problems.append(f"{where}: not a resident field")
        else:
            allowed = _allowed(fields[row.field].annotation)
            if allowed is not None and (
                row.value not in allowed or type(row.value) is not type(next(iter(allowed)))
            ):
                problems.append(f"{where}: {row.value!r} is not a value of the field")
        if set(row.reason) != {"nb", "en"} or not all(row.reason.values()):
            problems.append(f"{where}: needs a reason in nb and en")
        area, ranges = seen.setdefault(row.field, (row.area, []))
        if area != row.area:
            problems.append(f"{where}: the field is already derived from {area}")
        if any(row.low <= high and low <= row.high for low, high in ranges):
            problems.append(f"{where}: overlaps another row of the field")
        ranges.append((row.low, row.high))
    return problems


def _allowed(annotation: Any) -> set[Any] | None:
    """The values a Literal or bool field accepts (None: not an enum or a boolean)."""
    if annotation is bool:
        return {True, False}
    args = get_args(annotation)
    if args and all(isinstance(a, str) for a in args):
        return set(args)
    for arg in args:
        found = _allowed(arg)
        if found is not None:
            return found
    return None


@cache
def _sources() -> frozenset[str]:
    """The score paths the table's rows read."""
    return frozenset(row.source for row in table())


def derive(facts: Mapping[str, Any]) -> list[Derivation]:
    """The values the BrukerPlan scores in `facts` derive for fields `facts` lacks."""
    if _sources().isdisjoint(facts):  # no score any row reads: nothing to derive
        return []
    found = []
    for source, low, high, path, row in _reading():
        score = facts.get(source)
        if isinstance(score, int) and low <= score <= high and path not in facts:
            found.append(Derivation(path, row.value, source, score, row.reason))
    return found


@cache
def _reading() -> tuple[tuple[str, int, int, str, Mapping_], ...]:
    """Each row of the table with what `derive` reads of it (its score path, range and
    derived path), computed once: `derive` runs on every assessment."""
    return tuple((row.source, row.low, row.high, row.path, row) for row in table())


# --------------------------------------------------------------------------- CSV import

COLUMNS = ("id", *AREAS)
MAX_ROWS = 10_000


def _error(field: str, code: str, message: str, source: str) -> Any:
    from roprules.contract.errors import ErrorDetail

    return ErrorDetail(field=field, code=code, message=message, file=source)


# Texts of the CSV import in bokmål and English; {0}, {1}: see each use.
_TEXTS: dict[str, dict[str, str]] = {
    "cell": {"nb": "rad {0}, kolonne {1}", "en": "row {0}, column {1}"},
    "row": {"nb": "rad {0}", "en": "row {0}"},
    "unknown_column": {
        "nb": "ukjent kolonne {0}; forventet {1}",
        "en": "unknown column {0}; expected {1}",
    },
    "missing_column": {"nb": "kolonnen mangler", "en": "the column is missing"},
    "twice": {"nb": "kolonnen {0} står to ganger", "en": "the column {0} appears twice"},
    "score": {
        "nb": "forventet en skår 1, 2, 3, 4 eller 5; fikk {0}",
        "en": "expected a score 1, 2, 3, 4 or 5; got {0}",
    },
    "cells": {"nb": "forventet {0} celler; fikk {1}", "en": "expected {0} cells; got {1}"},
    "duplicate": {
        "nb": "samme id som i rad {0}",
        "en": "the same id as in row {0}",
    },
    "too_many": {"nb": "flere enn {0} rader", "en": "more than {0} rows"},
    "not_csv": {"nb": "ikke gyldig CSV: {0}", "en": "not valid CSV: {0}"},
    "no_rows": {"nb": "ingen rader etter overskriftsraden", "en": "no rows after the header"},
    "no_folder": {
        "nb": "finnes ikke eller er ikke en mappe",
        "en": "does not exist or is not a folder",
    },
    "exists": {
        "nb": "profilen {0} finnes allerede i mappen",
        "en": "a profile {0} exists already in the folder",
    },
}


def _t(key: str, lang: str, *args: Any) -> str:
    template = _TEXTS[key].get(lang) or _TEXTS[key]["en"]
    return template.format(*args)


def read_csv(path: Path, *, lang: str = "en") -> list[tuple[int, dict[str, Any]]]:
    """The rows of a BrukerPlan CSV as (row number, resident profile data), validated.

    Row numbers count the rows of the file: the header is row 1. Every problem of
    every row is reported at once (InputError), each naming its row and column; no
    value is echoed that could be an identity number (errors.excerpt).
    """
    import csv  # here: only an import reads CSV (a check does not)

    from roprules.contract.documents import decode, read_bytes
    from roprules.contract.errors import excerpt
    from roprules.contract.intake import validate_profile
    from roprules.contract.profiles import ResidentProfile

    source = str(path)
    content = decode(read_bytes(path, lang=lang), source, lang)
    # The separator is the one the header row uses: comma, semicolon (a spreadsheet
    # with a decimal comma) or tab.
    first = content.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(
            errors=[_error("", "bad_file", text("file_empty", lang), source)]
        ) from None
    except csv.Error as exc:
        raise InputError(
            errors=[_error(_t("row", lang, 1), "syntax", _t("not_csv", lang, exc), source)]
        ) from None
    errors = []
    for number, name in enumerate(header, start=1):
        if name not in COLUMNS:
            message = _t("unknown_column", lang, excerpt(name, lang), ", ".join(COLUMNS))
            errors.append(_error(_t("cell", lang, 1, number), "unknown_key", message, source))
    for name in COLUMNS:
        if name not in header:
            message = _t("missing_column", lang)
            errors.append(_error(_t("cell", lang, 1, name), "missing", message, source))
        elif header.count(name) > 1:
            message = _t("twice", lang, name)
            errors.append(_error(_t("row", lang, 1), "bad_file", message, source))
    if errors:
        raise InputError(errors=errors)
    rows: list[tuple[int, dict[str, Any]]] = []
    ids: dict[str, int] = {}
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            if number > MAX_ROWS + 1:
                errors.append(
                    _error(
                        _t("row", lang, number), "too_large", _t("too_many", lang, MAX_ROWS), source
                    )
                )
                break
            if len(cells) != len(header):
                message = _t("cells", lang, len(header), len(cells))
                errors.append(_error(_t("row", lang, number), "bad_file", message, source))
                continue
            row = dict(zip(header, cells, strict=True))
            # ids that differ only in case would be one file on some file systems
            first = ids.setdefault(row["id"].strip().casefold(), number)
            if first != number:
                message = _t("duplicate", lang, first)
                errors.append(_error(_t("cell", lang, number, "id"), "bad_id", message, source))
            data, row_errors = _row_data(row, number, source, lang)
            if not row_errors:
                try:
                    validate_profile(ResidentProfile, data, source, lang=lang)
                except InputError as exc:
                    row_errors = _row_errors(exc.errors, number, lang)
            errors.extend(row_errors)
            if not row_errors and first == number:
                rows.append((number, data))
    except csv.Error as exc:
        errors.append(_error(_t("row", lang, number), "syntax", _t("not_csv", lang, exc), source))
    if errors:
        raise InputError(errors=errors)
    if not rows:
        raise InputError(errors=[_error("", "bad_file", _t("no_rows", lang), source)])
    return rows


def _row_errors(errors: list[Any], number: int, lang: str) -> list[Any]:
    """Validation errors of a row, with `row N, column C` as the field."""
    fixed = []
    for error in errors:
        column = error.field.removeprefix("brukerplan.")
        field = _t("cell", lang, number, column) if column else _t("row", lang, number)
        fixed.append(error.model_copy(update={"field": field}))
    return fixed


def _row_data(
    cells: dict[str, str], number: int, source: str, lang: str
) -> tuple[dict[str, Any], list[Any]]:
    from roprules.contract.errors import TEXTS, excerpt
    from roprules.contract.national_id import contains_national_id

    errors = []
    scores: dict[str, int] = {}
    for area in AREAS:
        cell = cells[area].strip()
        if not cell:
            continue  # not scored: unknown
        where = _t("cell", lang, number, area)
        if contains_national_id(cell):
            message = TEXTS["national_id"].get(lang) or TEXTS["national_id"]["en"]
            errors.append(_error(where, "national_id", message, source))
        elif cell in ("1", "2", "3", "4", "5"):
            scores[area] = int(cell)
        else:
            message = _t("score", lang, excerpt(cell, lang))
            errors.append(_error(where, "out_of_range", message, source))
    data: dict[str, Any] = {"id": cells["id"].strip()}
    if scores:
        data["brukerplan"] = scores
    return data, errors


def profile_yaml(data: dict[str, Any]) -> str:
    """A resident profile as YAML: the id (quoted) and the scores under `brukerplan:`."""
    import json

    lines = [f"id: {json.dumps(data['id'], ensure_ascii=False)}"]
    scores = data.get("brukerplan") or {}
    if scores:
        lines.append("brukerplan:")
        lines.extend(f"  {area}: {scores[area]}" for area in AREAS if area in scores)
    return "\n".join(lines) + "\n"


def import_csv(path: Path, out: Path, *, lang: str = "en") -> list[Path]:
    """Write one resident profile per row of a BrukerPlan CSV into `out`; all or nothing.

    Every row is validated first (and every target checked); only then is each
    file written whole (output.write_atomically). A profile that exists is refused,
    not overwritten.
    """
    from roprules.contract.intake import load_resident
    from roprules.contract.output import write_atomically

    source = str(path)
    if not out.is_dir():
        raise InputError(errors=[_error("--out", "bad_file", _t("no_folder", lang), str(out))])
    rows = read_csv(path, lang=lang)
    targets: list[tuple[Path, str]] = []
    errors = []
    for number, data in rows:
        text = profile_yaml(data)
        load_resident(parse_text(text, source, profile=True), lang=lang, label=source)  # round trip
        target = out / f"{data['id']}.yaml"
        if target.exists() or target.is_symlink():
            where = _t("cell", lang, number, "id")
            errors.append(_error(where, "bad_file", _t("exists", lang, target.name), source))
        targets.append((target, text))
    if errors:
        raise InputError(errors=errors)
    return [write_atomically(target, text, lang=lang) for target, text in targets]
