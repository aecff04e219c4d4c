"""The text report is written in Python (report/render/text_report.py), not by Jinja2:
it must stay byte-equal to the template it replaced (tests/reference/assessment.txt.j2,
rendered here in the package's own environment: the same escaping, the same helpers)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from roprules.api import Engine
from roprules.contract.assessment import Assessment
from roprules.contract.intake import load_offer, load_resident
from roprules.report.render import reports
from roprules.report.render.text_report import assessment_text
from strategies import LATEST_DATE, offer_profiles, resident_profiles

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parent / "reference"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
RESIDENTS = sorted((ROOT / "profiles" / "residents").glob("*.yaml"))
OFFERS = sorted((ROOT / "profiles" / "offers").glob("*.yaml"))


def template_text(assessment: Assessment, *, color: bool = False) -> str:
    """The report as the former Jinja2 template wrote it."""
    from jinja2 import FileSystemLoader

    env = reports._environment().overlay(loader=FileSystemLoader(str(REFERENCE)))
    template = env.get_template("assessment.txt.j2")
    return template.render(
        a=assessment, color=color, why={}, **reports._helpers(assessment.lang, color)
    )


def same(assessment: Assessment) -> None:
    for color in (False, True):
        assert assessment_text(assessment, color=color) == template_text(assessment, color=color)
    assert reports.render_assessment(assessment, "text") == template_text(assessment)


@pytest.fixture(scope="module")
def engine():
    with Engine.load() as loaded:
        yield loaded


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_shipped_pair_in_every_scope(engine, lang):
    residents = [load_resident(p) for p in RESIDENTS]
    offers = [load_offer(p) for p in OFFERS]
    for resident in residents:
        same(engine.assess_resident(resident, lang=lang, now=NOW))
        for offer in offers:
            same(engine.check(resident, offer, lang=lang, now=NOW, remedies=True))
    for offer in offers:
        same(engine.audit(offer, lang=lang, now=NOW, remedies=True))
        same(engine.check(residents[0], offer, lang=lang, now=NOW, remedies=False))


def test_overlay_local_change_and_hidden_characters(tmp_path):
    overlay = tmp_path / "kommune.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "name": "Eksempel \x1b[31m kommune",
                "rules": {
                    "building.gypsum-walls": {
                        "severity": "major",
                        "reason": "Mange skader\u202e på gipsvegger.",
                        "approved_by": "boligsjef\n",
                    }
                },
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with Engine.load(overlay=overlay) as local:
        offer = {
            "id": "O-1",
            "name": "Tilbud <b>\u200b\n",
            "type": "ordinary",
            "building": {"gypsum_walls": True},
        }
        for lang in ("nb", "en"):
            same(local.audit(offer, lang=lang, now=NOW, remedies=True))
            same(local.check({"id": "R-1"}, offer, lang=lang, now=NOW, remedies=True))


def test_no_findings_and_no_questions(engine):
    assessment = engine.check({"id": "R-1"}, {"id": "O-1", "type": "ordinary"}, lang="en", now=NOW)
    empty = assessment.model_copy(update={"findings": [], "missing": [], "notices": []})
    same(empty)
    dated = assessment.model_copy(update={"as_of": date(2026, 2, 3), "created_at": None})
    same(dated)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(resident=resident_profiles(), offer=offer_profiles())
def test_generated_profiles(engine, resident: dict[str, Any], offer: dict[str, Any]):
    for lang in ("nb", "en"):
        same(engine.check(resident, offer, lang=lang, as_of=LATEST_DATE, remedies=True))
