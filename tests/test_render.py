"""Renderers: golden files for text, Markdown and HTML, escaping, colour, Chromium.

Golden files live in tests/golden/. Regenerate them after a deliberate change:

    ROPRULES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py

and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import chromium_dump, needs_chromium
from roprules.api import Engine
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import profile_to_facts
from roprules.report.plain import why_undetermined
from roprules.report.render import render_assessment, render_ranking

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
UPDATE = os.environ.get("ROPRULES_UPDATE_GOLDEN") == "1"

PAIRS = {
    "r01-gaseid": (
        "profiles/residents/r01-high-risk-round-the-clock.yaml",
        "profiles/offers/aalesund-gaseid.yaml",
        "nb",
    ),
    "r06-ordinary": (
        "profiles/residents/r06-low-need.yaml",
        "profiles/offers/ordinary-rental.yaml",
        "en",
    ),
}
SUFFIX = {"text": "txt", "markdown": "md", "html": "html"}


@pytest.fixture(scope="module")
def engine():
    return Engine.load()


def _assess(engine, name):
    resident_path, offer_path, lang = PAIRS[name]
    resident = load_resident(ROOT / resident_path)
    offer = load_offer(ROOT / offer_path)
    assessment = engine.check(resident, offer, lang=lang, now=NOW)
    facts = {**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}
    return assessment, why_undetermined(engine.ruleset, assessment, facts)


def _compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} missing; run with ROPRULES_UPDATE_GOLDEN=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{name} differs from the golden file; if the change is intended, rerun with "
        "ROPRULES_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_golden(engine, pair, fmt):
    assessment, why = _assess(engine, pair)
    text = render_assessment(assessment, fmt, why=None if fmt == "text" else why)
    _compare(f"{pair}.{SUFFIX[fmt]}", text)


def test_why_section_only_when_given(engine):
    assessment, why = _assess(engine, "r06-ordinary")
    assert assessment.undetermined
    without = render_assessment(assessment, "markdown")
    with_why = render_assessment(assessment, "markdown", why=why)
    assert "Why these rules could not be decided" not in without
    assert "Why these rules could not be decided" in with_why
    html = render_assessment(assessment, "html", why=why)
    assert 'class="outcome-unknown"' in html


def test_html_report_contents(engine):
    assessment, _ = _assess(engine, "r01-gaseid")
    html = render_assessment(assessment, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="nb">' in html
    assert "@media print" in html
    assert "<link" not in html and "<script" not in html and "src=" not in html
    for finding in assessment.findings:
        assert finding.rule_id in html
    for question in assessment.missing:
        assert question.question in html
    assert "ikke et vedtak" in html  # the disclaimer
    # Open questions are grouped by who answers them; within a group they keep the
    # order given (those that could change the verdict first, then by what they block).
    for who in ("resident", "placement", "organisation"):
        group = [m for m in assessment.missing if m.asked_of == who]
        positions = [html.index(m.question) for m in group]
        assert positions == sorted(positions)


def _hostile_offer() -> dict:
    return {
        "id": "O-1",  # an id is a case reference (letters, digits, -_.)
        "name": "<script>alert(1)</script>",
        "type": "small_house",
        "staffing": "ambulant",
    }


def test_script_in_offer_is_escaped_in_html(engine):
    assessment = engine.check(ROOT / PAIRS["r01-gaseid"][0], _hostile_offer(), lang="en", now=NOW)
    html = render_assessment(assessment, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    ranking = engine.rank(ROOT / PAIRS["r01-gaseid"][0], [_hostile_offer()], lang="en", now=NOW)
    ranked = render_ranking(ranking, "html", lang="en")
    assert "<script>" not in ranked
    assert "&lt;script&gt;" in ranked


def test_script_in_offer_is_escaped_in_markdown(engine):
    assessment = engine.check(ROOT / PAIRS["r01-gaseid"][0], _hostile_offer(), now=NOW)
    markdown = render_assessment(assessment, "markdown")
    # Inside a code span (the offer id) HTML is shown literally, never interpreted.
    outside_code = re.sub(r"`[^`]*`", "", markdown)
    assert "<script>" not in outside_code
    assert "\\<script\\>" in markdown


def test_text_colour_only_when_asked(engine):
    assessment, _ = _assess(engine, "r01-gaseid")
    plain = render_assessment(assessment, "text")
    coloured = render_assessment(assessment, "text", color=True)
    assert "\x1b[" not in plain
    assert f"\x1b[1;31m{assessment.verdict_summary}\x1b[0m" in coloured
    assert "\x1b[1;31m[kritisk]\x1b[0m" in coloured
    # colour never leaks into files of other formats
    assert "\x1b[" not in render_assessment(assessment, "html", color=True)
    assert "\x1b[" not in render_assessment(assessment, "markdown", color=True)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_ranking_renders(engine, fmt):
    offers = [
        ROOT / "profiles/offers/aalesund-gaseid.yaml",
        ROOT / "profiles/offers/ordinary-rental.yaml",
    ]
    ranking = engine.rank(ROOT / PAIRS["r01-gaseid"][0], offers, lang="nb", now=NOW)
    text = render_ranking(ranking, fmt, lang="nb")
    assert "O-aalesund-gaseid" in text


def test_audit_and_resident_scopes_render(engine):
    audit = engine.audit(ROOT / PAIRS["r01-gaseid"][1], lang="en", now=NOW)
    resident = engine.assess_resident(ROOT / PAIRS["r01-gaseid"][0], lang="en", now=NOW)
    for fmt in ("text", "markdown", "html"):
        assert "Offer audit" in render_assessment(audit, fmt)
        assert "Resident profile check" in render_assessment(resident, fmt)


@needs_chromium
def test_report_html_loads_in_chromium(engine, tmp_path):
    assessment, why = _assess(engine, "r01-gaseid")
    path = tmp_path / "report.html"
    path.write_text(render_assessment(assessment, "html", why=why), encoding="utf-8")
    result = chromium_dump(path, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<title>Vurdering av botilbud – R-001 – Småhus på Gåseid</title>" in result.stdout
    assert "supervision.high-violence-risk-unsupervised" in result.stdout
