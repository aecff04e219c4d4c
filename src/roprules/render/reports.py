"""Rendering assessments and rankings through the format's Jinja2 template."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from roprules.assessment import Assessment, Finding, LocalChange, Matrix, Ranking
from roprules.messages import messages
from roprules.rule_schema import SEVERITY_ORDER

FORMATS = ("text", "json", "markdown", "html")
_TEMPLATE = {
    "text": "assessment.txt.j2",
    "markdown": "assessment.md.j2",
    "html": "assessment.html.j2",
}
_RANK_TEMPLATE = {"text": "ranking.txt.j2", "markdown": "ranking.md.j2", "html": "ranking.html.j2"}

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

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(value: Any) -> str:
    """Text for Markdown: characters with a Markdown meaning escaped, one line."""
    text = "" if value is None else str(value)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.split())


def md_code(value: Any) -> str:
    """An identifier (field path, rule id) as inline code."""
    text = "" if value is None else str(value).replace("`", "'")
    return f"`{text}`"


@cache
def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=PackageLoader("roprules", "render/templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["code"] = md_code
    return env


@cache
def stylesheet() -> str:
    """The inline CSS of the HTML reports and the handbook (no external assets)."""
    return (
        resources.files("roprules")
        .joinpath("render", "templates", "style.css")
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
    catalogue = messages()

    def paint(text: Any, style: str) -> str:
        text = str(text)
        if not color or style not in _ANSI:
            return text
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"

    return {
        "lang": lang,
        "term": lambda group, key: catalogue.term(group, key, lang),
        "field_label": lambda path: catalogue.field_label(path, lang),
        "value_label": lambda path, value: catalogue.value_label(path, value, lang),
        "severity_order": list(SEVERITY_ORDER),
        "paint": paint,
        "group_findings": group_findings,
        "covered": covered,
        "long_date": lambda day: long_date(day, lang),
        "local_change": lambda change: local_change_text(change, lang),
        "css": stylesheet(),
    }


def render_assessment(
    assessment: Assessment,
    fmt: str = "text",
    *,
    color: bool = False,
    why: Mapping[str, Sequence[Any]] | None = None,
) -> str:
    """An assessment in `fmt` (text, json, markdown, html).

    `why` (optional) maps the id of an undetermined rule to its leaf rows from
    `roprules.plain.why` (or `plain.why_undetermined`); the markdown and HTML
    reports then show, for each such rule, which parts are met, not met or unknown.
    """
    if fmt == "json":
        return assessment.model_dump_json(indent=2) + "\n"
    template = _environment().get_template(_TEMPLATE[fmt])
    return template.render(
        a=assessment,
        color=color and fmt == "text",
        why=dict(why or {}),
        **_helpers(assessment.lang, color and fmt == "text"),
    )


def render_ranking(
    ranking: Ranking, fmt: str = "text", *, lang: str = "nb", color: bool = False
) -> str:
    if fmt == "json":
        return json.dumps(ranking.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    template = _environment().get_template(_RANK_TEMPLATE[fmt])
    return template.render(
        r=ranking, color=color and fmt == "text", **_helpers(lang, color and fmt == "text")
    )


def render_matrix(matrix: Matrix, fmt: str = "text", *, lang: str = "nb") -> str:
    """A screening matrix: JSON, or a text table with one block per resident."""
    if fmt == "json":
        return json.dumps(matrix.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    template = _environment().get_template("matrix.txt.j2")
    return template.render(m=matrix, **_helpers(lang, False))
