"""Rendering assessments and rankings through the format's Jinja2 template."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from roprules.contract.assessment import Assessment, Finding, LocalChange, MissingInfo
from roprules.contract.fields import ASKED_OF, field_registry
from roprules.contract.messages import messages
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.report.remedies import word as remedy_word
from roprules.report.render import escape

if TYPE_CHECKING:  # built when a ranking, comparison or matrix is (contract/rankings.py)
    from jinja2.runtime import Context
    from jinja2.sandbox import SandboxedEnvironment

    from roprules.contract.rankings import Compare, Matrix, MatrixCell, MatrixGap, Ranking

# Jinja2 is imported when a template is first rendered: JSON and CSV output never
# need it (benchmarks/README.md, cold start).

FORMATS = ("text", "json", "markdown", "html")
MATRIX_FORMATS = ("text", "json", "markdown", "html", "csv")
_MATRIX_TEMPLATE = {"text": "matrix.txt.j2", "markdown": "matrix.md.j2", "html": "matrix.html.j2"}
_TEMPLATE = {  # text: text_report.py
    "markdown": "assessment.md.j2",
    "html": "assessment.html.j2",
}
_RANK_TEMPLATE = {"text": "ranking.txt.j2", "markdown": "ranking.md.j2", "html": "ranking.html.j2"}
_COMPARE_TEMPLATE = {
    "text": "compare.txt.j2",
    "markdown": "compare.md.j2",
    "html": "compare.html.j2",
}

# ANSI styles for the terminal (text format with color=True only).
_ANSI = {
    "unsuitable": "1;31",
    "incomplete": "1;33",
    "conditional": "1;33",
    "suitable": "1;32",
    "critical": "1;31",
    "major": "33",
    "minor": "36",
    "info": "2",
    "heading": "1",
}

# Kept for callers of the former names; the functions live in render/escape.py.
md_escape = escape.md
md_code = escape.md_code


def _finalize(context: Context, value: Any) -> Any:
    """Every `{{ ... }}`: escaped for the format of the template it is written in."""
    return escape.finalize(escape.format_of(context.name), value)


@cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import PackageLoader, StrictUndefined, pass_context
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=PackageLoader("roprules", "report/render/templates"),
        # Autoescaping on for every format: `{{ }}` outputs pass through `_finalize`
        # (escaping for the template's format) and come out as Markup; HTML templates
        # get Jinja2's HTML escaping after it. Macro output is Markup, so it is not
        # escaped twice.
        autoescape=True,
        finalize=pass_context(_finalize),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = escape.md
    env.filters["code"] = escape.md_code
    env.filters["url"] = escape.md_url
    env.filters["codeblock"] = escape.md_codeblock
    env.tests["web_url"] = escape.web_url
    return env


@cache
def stylesheet() -> str:
    """The inline CSS of the HTML reports and the handbook (no external assets)."""
    return (
        resources.files("roprules")
        .joinpath("report", "render", "templates", "style.css")
        .read_text(encoding="utf-8")
    )


def group_findings(
    findings: Iterable[Finding],
) -> list[tuple[str, list[tuple[str, list[Finding]]]]]:
    """Findings grouped by severity (most severe first), then by their first topic.

    A superseded finding is left out: it is shown inside the finding that
    supersedes it (`covered`), though it still counts for the verdict.
    """
    by_severity: dict[str, dict[str, list[Finding]]] = {}
    for finding in findings:
        if finding.superseded_by:
            continue
        topic = finding.topics[0] if finding.topics else ""
        by_severity.setdefault(finding.severity, {}).setdefault(topic, []).append(finding)
    return [
        (severity, list(by_severity[severity].items()))
        for severity in SEVERITY_ORDER
        if severity in by_severity
    ]


def group_questions(missing: Iterable[MissingInfo]) -> list[tuple[str, list[MissingInfo]]]:
    """Open questions by who answers them (resident, placement, organisation), each
    group in the assessment's order (those that could change the verdict first).

    An assessment read from older JSON has no `asked_of`: the field registry says.
    """
    registry = field_registry()
    groups: dict[str, list[MissingInfo]] = {who: [] for who in ASKED_OF}
    for question in missing:
        info = registry.get(question.field)
        who = question.asked_of or (info.asked_of if info else "placement")
        groups[who].append(question)
    return [(who, questions) for who, questions in groups.items() if questions]


def covered(findings: Sequence[Finding], finding: Finding) -> list[Finding]:
    """The findings that `finding` supersedes in this assessment."""
    return [other for other in findings if finding.rule_id in other.superseded_by]


_MONTHS = {
    "nb": [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


def long_date(day: date, lang: str) -> str:
    """A date as a reader writes it: «30. november 2026», "30 November 2026"."""
    month = _MONTHS["en" if lang == "en" else "nb"][day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang != "en" else f"{day.day} {month} {day.year}"


def local_change_text(change: LocalChange, lang: str) -> str:
    """«lokalt endret fra kritisk til mindre: <begrunnelse> (godkjent av <rolle>)»."""
    catalogue = messages()

    def word(key: str) -> str:
        return catalogue.term("ui", key, lang)

    before = catalogue.term("severity", change.original_severity, lang).lower()
    after = catalogue.term("severity", change.severity, lang).lower()
    return (
        f"{word('local_change')} {before} {word('local_change_to')} {after}: {change.reason} "
        f"({word('approved_by')} {change.approved_by})"
    )


def _helpers(lang: str, color: bool = False) -> dict[str, Any]:
    # Here, not at import: only the templates need it (the text report and JSON do not).
    from roprules.report.plain import why_lines

    catalogue = messages()

    def paint(text: Any, style: str) -> Markup:
        """Text for the terminal, escaped, in the style's colours when asked for."""
        shown = escape.text(text)
        if not color or style not in _ANSI:
            return Markup(shown)
        return Markup(f"\x1b[{_ANSI[style]}m{shown}\x1b[0m")

    return {
        "lang": lang,
        "term": lambda group, key: catalogue.term(group, key, lang),
        "field_label": lambda path: catalogue.field_label(path, lang),
        "value_label": lambda path, value: catalogue.value_label(path, value, lang),
        "severity_order": list(SEVERITY_ORDER),
        "paint": paint,
        "group_findings": group_findings,
        "covered": covered,
        "group_questions": group_questions,
        "long_date": lambda day: long_date(day, lang),
        "local_change": lambda change: local_change_text(change, lang),
        "remedy_word": lambda key: remedy_word(key, lang),
        "why_lines": why_lines,
        "css": stylesheet(),
    }


def render_assessment(
    assessment: Assessment,
    fmt: str = "text",
    *,
    color: bool = False,
    why: Mapping[str, Any] | None = None,
) -> str:
    """An assessment in `fmt` (text, json, markdown, html).

    `why` (optional) maps the id of an undetermined rule to its condition tree
    from `roprules.report.plain.why_tree` (or `plain.why_undetermined`), or to a
    flat list of leaf rows from `plain.why`; the markdown and HTML reports then show,
    for each such rule, which parts and groups of parts are met, not met or unknown.
    """
    if fmt == "json":
        return escape.json_text(assessment.model_dump_json(indent=2)) + "\n"
    if fmt == "text":  # without Jinja2: printed at every `roprules check` (text_report.py)
        from roprules.report.render.text_report import assessment_text

        return assessment_text(assessment, color=color)
    template = _environment().get_template(_TEMPLATE[fmt])
    return template.render(
        a=assessment,
        color=color and fmt == "text",
        why={rule_id: _why_node(node) for rule_id, node in (why or {}).items()},
        **_helpers(assessment.lang, color and fmt == "text"),
    )


def _why_node(node: Any) -> Any:
    """A why tree as given; a flat list of rows becomes a group without a heading."""
    if isinstance(node, Sequence) and not isinstance(node, str):
        from roprules.report.plain import WhyGroup

        return WhyGroup(kind="list", n=0, outcome="unknown", heading="", parts=tuple(node))
    return node


def render_ranking(
    ranking: Ranking,
    fmt: str = "text",
    *,
    lang: str = "nb",
    color: bool = False,
    detail: str = "full",
) -> str:
    """A ranking in `fmt`; `detail="summary"` shortens the JSON (no nested assessments)."""
    if fmt == "json":
        if detail == "summary":
            from roprules.report.ranking import summarize

            ranking = summarize(ranking)  # type: ignore[assignment]
        document = json.dumps(ranking.model_dump(mode="json"), indent=2, ensure_ascii=False)
        return escape.json_text(document) + "\n"
    template = _environment().get_template(_RANK_TEMPLATE[fmt])
    return template.render(
        r=ranking, color=color and fmt == "text", **_helpers(lang, color and fmt == "text")
    )


def compare_view(compare: Compare, lang: str) -> dict[str, Any]:
    """The compare table as the templates show it: columns, the verdict row, and the
    rows grouped by theme, each cell in words (not colour alone)."""
    catalogue = messages()

    def cell_word(cell: Any) -> str:
        if cell.status == "finding":
            word = catalogue.term("severity", cell.severity, lang)
            return word + ("*" if cell.superseded_by else "")
        return catalogue.term("ranking", cell.status, lang)

    columns = [
        {
            "code": chr(ord("A") + index),
            "offer": offer,
            "name": offer.offer_name or offer.offer_id,
            "verdict": catalogue.term("verdict", offer.verdict, lang),
        }
        for index, offer in enumerate(compare.offers)
    ]
    groups: list[dict[str, Any]] = []
    for row in compare.rows:
        title = row.theme_title or catalogue.term("ranking", "other_theme", lang)
        if not groups or groups[-1]["theme"] != row.theme:
            groups.append({"theme": row.theme, "title": title, "rows": []})
        groups[-1]["rows"].append(
            {
                "row": row,
                "cells": [{"cell": cell, "word": cell_word(cell)} for cell in row.cells],
            }
        )
    words = [c["verdict"] for c in columns] + [
        cell["word"] for group in groups for r in group["rows"] for cell in r["cells"]
    ]
    return {
        "columns": columns,
        "groups": groups,
        "superseded": any(cell.superseded_by for row in compare.rows for cell in row.cells),
        "cell_width": max([len(w) for w in words] + [4]) + 2,
    }


def render_compare(
    compare: Compare, fmt: str = "text", *, lang: str | None = None, detail: str = "full"
) -> str:
    """Offers side by side: JSON, or one table in text, Markdown or HTML."""
    lang = lang or compare.lang
    if fmt == "json":
        if detail == "summary":
            from roprules.report.ranking import summarize

            compare = summarize(compare)  # type: ignore[assignment]
        document = json.dumps(compare.model_dump(mode="json"), indent=2, ensure_ascii=False)
        return escape.json_text(document) + "\n"
    view = compare_view(compare, lang)

    def pad(value: Any, size: int = view["cell_width"]) -> Markup:
        """A cell of the text table: escaped, then padded; the rule's title ends the line."""
        return escape.text_column(value, size)

    template = _environment().get_template(_COMPARE_TEMPLATE[fmt])
    return template.render(c=compare, v=view, pad=pad, **_helpers(lang, False))


_SIGN = {"suitable": "✓", "conditional": "!", "incomplete": "?", "unsuitable": "✗"}
_SEVERITY_SHORT = {
    "nb": {"critical": "K", "major": "V", "minor": "M"},
    "en": {"critical": "C", "major": "Ma", "minor": "Mi"},
}
_ACCEPTABLE = ("suitable", "conditional")


def _cell_counts(cell: MatrixCell, lang: str) -> str:
    """«K2 V1 ?3»: findings by severity and missing facts, short."""
    short = _SEVERITY_SHORT["en" if lang == "en" else "nb"]
    parts = [
        f"{short[s]}{cell.findings_by_severity[s]}"
        for s in short
        if cell.findings_by_severity.get(s)
    ]
    if cell.missing:
        parts.append(f"?{cell.missing}")
    return " ".join(parts)


def gap_text(gap: MatrixGap, lang: str) -> str:
    """One gap as a sentence: who has no acceptable offer, and what stands in the way."""
    people = len(gap.resident_ids)
    ids = ", ".join(gap.resident_ids)
    if lang == "en":
        who = f"{people} resident{'s' if people != 1 else ''} ({ids})"
        if gap.title is None:
            return (
                f"{who}: no acceptable offer, for different reasons in different offers "
                "or because facts are missing; see the grid."
            )
        where = "in the one offer" if gap.offers == 1 else f"in all {gap.offers} offers"
        return f"{who}: {where}, “{gap.title}” applies; none of the offers has what is needed."
    who = f"{people} {'beboer' if people == 1 else 'beboere'} ({ids})"
    if gap.title is None:
        return (
            f"{who}: ingen akseptable tilbud, av ulike grunner i de ulike tilbudene "
            "eller fordi opplysninger mangler; se oversikten."
        )
    where = "i det ene tilbudet" if gap.offers == 1 else f"i alle de {gap.offers} tilbudene"
    return f"{who}: {where} gjelder «{gap.title}»; ingen av tilbudene har det som trengs."


def matrix_view(matrix: Matrix, lang: str) -> dict[str, Any]:
    """The grid as templates and CSV show it: rows by resident, columns by offer."""
    catalogue = messages()
    columns = matrix.offers or [
        {"offer_id": c.offer_id, "offer_name": None, "vacant_units": None}
        for c in (matrix.rows[0].ranking if matrix.rows else [])
    ]
    offer_ids = [c["offer_id"] if isinstance(c, dict) else c.offer_id for c in columns]
    rows = []
    takers: dict[str, list[str]] = {offer_id: [] for offer_id in offer_ids}
    for row in matrix.rows:
        by_offer = {cell.offer_id: cell for cell in row.ranking}
        cells = []
        for offer_id in offer_ids:
            cell = by_offer[offer_id]
            if cell.verdict in _ACCEPTABLE:
                takers[offer_id].append(row.resident_id)
            cells.append(
                {
                    "verdict": cell.verdict,
                    "word": catalogue.term("verdict", cell.verdict, lang),
                    "sign": _SIGN[cell.verdict],
                    "counts": _cell_counts(cell, lang),
                    "best": cell.rank == 1 and cell.verdict in _ACCEPTABLE,
                }
            )
        best = row.ranking[0] if row.ranking and row.ranking[0].verdict in _ACCEPTABLE else None
        rows.append({"resident_id": row.resident_id, "cells": cells, "best": best})
    offers = []
    for index, column in enumerate(columns, start=1):
        data = column if isinstance(column, dict) else column.model_dump()
        vacant = data["vacant_units"]
        offers.append(
            {
                **data,
                "code": f"{'T' if lang != 'en' else 'O'}{index}",
                "vacancy": (
                    catalogue.term("ui", "vacancy_unknown", lang)
                    if vacant is None
                    else catalogue.term("ui", "no_vacancy", lang)
                    if vacant == 0
                    else str(vacant)
                ),
                "full": vacant == 0,
                "takers": takers[data["offer_id"]],
                "takers_text": ", ".join(takers[data["offer_id"]])
                or catalogue.term("ui", "nobody", lang),
            }
        )
    return {
        "offers": offers,
        "rows": rows,
        "gaps": [gap_text(gap, lang) for gap in matrix.gaps],
        "needs": [need.text for need in matrix.needs],
    }


_FORMULA_START = ("=", "+", "-", "@")


def csv_cell(value: Any) -> str:
    """A CSV cell: hidden characters shown escaped, a formula-like start defused with `'`.

    A spreadsheet reads a cell starting with = + - @ (after any white space) as a
    formula; prefixed with a quote it is text.
    """
    shown = escape.neutralise(value)
    return "'" + shown if shown.lstrip().startswith(_FORMULA_START) else shown


def _matrix_csv(matrix: Matrix, lang: str) -> str:
    view = matrix_view(matrix, lang)
    catalogue = messages()
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    header = [catalogue.term("ui", "matrix_resident_col", lang)]
    for offer in view["offers"]:
        label = offer["offer_id"]
        if offer["full"]:
            label += f" ({catalogue.term('ui', 'no_vacancy', lang)})"
        header.append(label)
    header.append(catalogue.term("ui", "best_offer", lang))
    writer.writerow([csv_cell(h) for h in header])
    for row in view["rows"]:
        best = (
            row["best"].offer_id
            if row["best"]
            else catalogue.term("ui", "no_acceptable_offer", lang)
        )
        cells = [f"{c['word']} ({c['counts']})" if c["counts"] else c["word"] for c in row["cells"]]
        writer.writerow([csv_cell(v) for v in [row["resident_id"], *cells, best]])
    return out.getvalue()


def render_matrix(matrix: Matrix, fmt: str = "text", *, lang: str = "nb") -> str:
    """A screening matrix: JSON, CSV, or a grid in text, Markdown or HTML."""
    if fmt == "json":
        document = json.dumps(matrix.model_dump(mode="json"), indent=2, ensure_ascii=False)
        return escape.json_text(document) + "\n"
    if fmt == "csv":
        return _matrix_csv(matrix, lang)
    template = _environment().get_template(_MATRIX_TEMPLATE[fmt])
    view = matrix_view(matrix, lang)
    width = max([len(escape.text(r["resident_id"])) for r in view["rows"]] + [8])

    def pad(value: Any, size: int = width) -> Markup:
        """A value for a text column: escaped, then padded (text format only)."""
        return escape.text_column(value, size)

    return template.render(m=matrix, v=view, pad=pad, width=width, **_helpers(lang, False))
