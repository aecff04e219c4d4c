"""Reports of catalogue v2.1: law_as_of, the assessment date, notices, superseded findings."""

from __future__ import annotations

import json

import pytest

from minirules import rule, write_rules
from roprules import Engine
from roprules.report.handbook import render_handbook
from roprules.report.render import render_assessment, render_ranking

FORMATS = ("text", "markdown", "html", "json")
LAW = {
    "nb": "Lovverket er kontrollert per 30. november 2026",
    "en": "The law was checked as of 30 November 2026",
}
RESIDENT = {"id": "R-1", "needs_coercion": False, "violence_risk": "high"}
OFFER = {"id": "O-1", "type": "small_house", "staffing": "ambulant"}


def test_shipped_ruleset_is_v0_2_0_with_law_as_of(engine):
    ref = engine.check(RESIDENT, OFFER).ruleset
    assert ref.version == "0.2.0"
    assert ref.law_as_of.isoformat() == "2026-11-30"


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_law_as_of_as_of_and_notices(engine, fmt, lang):
    assessment = engine.check(RESIDENT, OFFER, lang=lang, as_of="2026-12-01")
    out = render_assessment(assessment, fmt)
    if fmt == "json":
        data = json.loads(out)
        assert data["ruleset"]["law_as_of"] == "2026-11-30"
        assert data["as_of"] == "2026-12-01"
        assert data["notices"][0]["field"] == "resident.needs_coercion"
        return
    if fmt == "markdown":  # Markdown escapes "30." and "_" as "30\." and "\_": read it unescaped
        out = out.replace("\\", "")
    assert LAW[lang] in out
    assert ("1. desember 2026" if lang == "nb" else "1 December 2026") in out
    heading = "Merknader om inndata" if lang == "nb" else "Notices about the input"
    assert heading in out
    assert "needs_coercion" in out.replace("\\_", "_")  # the notice names the field


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_rankings_show_law_as_of(engine, fmt):
    assert LAW["nb"] in render_ranking(engine.rank(RESIDENT, [OFFER]), fmt).replace("\\", "")


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_handbook_shows_law_as_of(engine, fmt):
    assert LAW["en"] in render_handbook(engine.ruleset, fmt, "en")


HIGH = {"resident.violence_risk": {"eq": "high"}}
RISKY = {"resident.violence_risk": {"in": ["moderate", "high"]}}


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    rules = [
        rule(
            "test.strong",
            HIGH,
            severity="major",
            supersedes=["test.weak"],
            title={"nb": "Sterk regel", "en": "Strong rule"},
        ),
        rule("test.weak", RISKY, severity="minor", title={"nb": "Svak regel", "en": "Weak rule"}),
    ]
    return Engine.load(write_rules(tmp_path_factory.mktemp("paired"), rules))


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_superseded_finding_is_shown_only_inside_its_superseder(paired, fmt):
    assessment = paired.assess_resident({"id": "R-1", "violence_risk": "high"})
    out = render_assessment(assessment, fmt)
    assert out.count("Svak regel") == 1  # once, as covered by the strong one
    assert out.index("Sterk regel") < out.index("Svak regel")
    assert "Omfatter også" in out
    # alone, it is an ordinary finding with its own explanation
    alone = render_assessment(
        paired.assess_resident({"id": "R-1", "violence_risk": "moderate"}), fmt
    )
    assert "Svak regel" in alone and "Omfatter også" not in alone


def test_json_keeps_the_superseded_finding(paired):
    assessment = paired.assess_resident({"id": "R-1", "violence_risk": "high"})
    data = json.loads(render_assessment(assessment, "json"))
    by_id = {f["rule_id"]: f for f in data["findings"]}
    assert by_id["test.weak"]["superseded_by"] == ["test.strong"]
    assert data["schema_version"] == "2.0"


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_handbook_shows_worked_examples_not_template_code(engine, fmt):
    text = render_handbook(engine.ruleset, fmt, "nb")
    assert "{{" not in text and "{%" not in text
    assert "Forklaring (med det første eksempelet)" in text
