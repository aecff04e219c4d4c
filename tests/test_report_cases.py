"""The verdicts the report's story implies, for the shipped profiles (profiles/README.md).

Each test first checks that the profile files hold the facts the story rests on,
so a failing verdict points at the rules, and a failing premise at the profiles.
"""

from __future__ import annotations

import pytest

from conftest import BACKENDS, OFFERS_DIR, offer_file, resident_file, shared_engine
from roprules import Engine
from roprules.intake import load_offer, load_resident


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The report's cases hold on every backend importable here."""
    return shared_engine(request.param)


def resident(prefix: str):
    return load_resident(resident_file(prefix))


def offer(name: str):
    return load_offer(offer_file(name))


def finding_ids(assessment) -> set[str]:
    return {f.rule_id for f in assessment.findings}


def critical_or_major(assessment) -> set[str]:
    return {f.rule_id for f in assessment.findings if f.severity in ("critical", "major")}


# --------------------------------------------------------------------------- the README table


def test_r01_in_aalesund_gaseid_is_unsuitable(engine):
    r01, gaseid = resident("r01"), offer("aalesund-gaseid")
    assert r01.violence_risk == "high" and r01.needs_round_the_clock_staff is True
    assert gaseid.type == "small_house" and gaseid.staffing == "ambulant"
    assessment = engine.check(r01, gaseid)
    assert assessment.verdict == "unsuitable"
    found = finding_ids(assessment)
    assert "supervision.high-violence-risk-unsupervised" in found
    assert "supervision.round-the-clock-needed" in found
    violence = next(
        f for f in assessment.findings if f.rule_id == "supervision.high-violence-risk-unsupervised"
    )
    assert violence.severity == "critical"
    assert {fact.field: fact.value for fact in violence.facts} == {
        "resident.violence_risk": "high",
        "offer.staffing": "ambulant",
    }


def test_r01_in_trondheim_planned_11_is_not_unsuitable(engine):
    r01, trondheim = resident("r01"), offer("trondheim-planned-11")
    assert trondheim.staffing == "round_the_clock"
    assert trondheim.staff_on_duty is not None and trondheim.staff_on_duty >= 2
    assert trondheim.shared_living is True and trondheim.shielded_unit is True
    assert trondheim.building is not None
    assert trondheim.building.sprinkler == "tamper_resistant"
    assert r01.needs_coercion is False
    assessment = engine.check(r01, trondheim)
    assert assessment.verdict != "unsuitable"
    assert not {f.rule_id for f in assessment.findings if f.severity == "critical"}
    # the README says "suitable, with minor findings"
    assert assessment.verdict == "suitable"
    assert not assessment.undetermined or all(
        u.severity != "critical" for u in assessment.undetermined
    )


def test_r06_in_ordinary_rental_is_suitable_or_conditional(engine):
    r06, rental = resident("r06"), offer("ordinary-rental")
    assert r06.violence_risk == "low" and r06.housing_competence == "good"
    assert rental.type == "ordinary"
    assessment = engine.check(r06, rental)
    assert assessment.verdict in ("suitable", "conditional")
    assert not {f.rule_id for f in assessment.findings if f.severity == "critical"}
    # README: minor ones only (gypsum walls, no sprinkler)
    assert critical_or_major(assessment) == set()
    assert {"building.gypsum-walls", "building.no-sprinkler"} <= finding_ids(assessment)


def test_r06_in_melhus_idrettsveien_flags_over_care(engine):
    r06, melhus = resident("r06"), offer("melhus-idrettsveien")
    assert r06.needs_round_the_clock_staff is False and r06.needs_daily_help is False
    assert melhus.type == "staffed_base"
    assessment = engine.check(r06, melhus)
    over_care = [f for f in assessment.findings if f.rule_id == "supervision.over-care"]
    assert len(over_care) == 1
    assert over_care[0].severity == "minor"


def test_r08_wheelchair_user_in_non_accessible_offer(engine):
    r08, rental = resident("r08"), offer("ordinary-rental")
    assert r08.uses_wheelchair is True
    assert rental.building is not None and rental.building.wheelchair_access == "not_accessible"
    assessment = engine.check(r08, rental)
    assert "access.wheelchair" in finding_ids(assessment)
    assert assessment.verdict == "unsuitable"


def test_r08_wheelchair_user_in_adaptable_offer(engine):
    r08, kverve = resident("r08"), offer("aalesund-kverve")
    assert kverve.building is not None and kverve.building.wheelchair_access == "adaptable"
    assessment = engine.check(r08, kverve)
    assert "access.wheelchair" not in finding_ids(assessment)
    assert "access.wheelchair-adaptation" in finding_ids(assessment)
    assert assessment.verdict != "unsuitable"


def test_r07_couple_where_couples_are_not_allowed(engine):
    r07, tangenvegen = resident("r07"), offer("verdal-tangenvegen")
    assert r07.household == "couple"
    assert tangenvegen.allows_couples is False
    assessment = engine.check(r07, tangenvegen)
    assert assessment.verdict == "unsuitable"
    assert "household.couple-not-allowed" in finding_ids(assessment)


def test_r07_couple_where_couples_are_allowed(engine):
    for name in ("aalesund-gaseid", "aalesund-kverve"):
        place = offer(name)
        assert place.allows_couples is True
        assert "household.couple-not-allowed" not in finding_ids(
            engine.check(resident("r07"), place)
        )


def test_verdal_reinsholm_audit(engine):
    reinsholm = offer("verdal-reinsholm")
    assert reinsholm.building is not None and reinsholm.building.gypsum_walls is True
    assert reinsholm.organisation is not None
    assert reinsholm.organisation.service_model != reinsholm.organisation.design_concept
    assessment = engine.audit(reinsholm)
    assert assessment.scope == "offer"
    assert {"building.gypsum-walls", "organisation.philosophy-mismatch"} <= finding_ids(assessment)


# --------------------------------------------------------------------------- more pairs


def test_r04_in_verdal_reinsholm_is_conditional(engine):
    assessment = engine.check(resident("r04"), offer("verdal-reinsholm"))
    assert assessment.verdict == "conditional"
    assert {
        "transition.drug-access-after-treatment",
        "transition.soft-handover",
        "safety.high-risk-co-resident",
        "location.concentration",
        "organisation.philosophy-mismatch",
    } <= critical_or_major(assessment)


def test_r03_dementia(engine):
    r03 = resident("r03")
    assert r03.dementia is True and r03.needs_round_the_clock_staff is True
    breidablikk = engine.check(r03, offer("levanger-breidablikk"))
    assert breidablikk.verdict == "conditional"
    assert "mix.dementia-with-rop" in finding_ids(breidablikk)
    rental = engine.check(r03, offer("ordinary-rental"))
    assert rental.verdict == "unsuitable"
    assert "supervision.round-the-clock-needed" in finding_ids(rental)


OFFER_NAMES = sorted(p.stem for p in OFFERS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", OFFER_NAMES)
def test_r05_without_danger_assessment(engine, name):
    r05, place = resident("r05"), offer(name)
    assert r05.violence_risk is None and r05.fire_risk == "high"
    assessment = engine.check(r05, place)
    missing = {m.field: m for m in assessment.missing}
    if name == "ordinary-rental":
        assert place.building is not None and place.building.sprinkler == "none"
        assert assessment.verdict == "unsuitable"
        assert "fire.high-risk-no-sprinkler" in finding_ids(assessment)
    elif place.staffing != "round_the_clock":
        assert assessment.verdict == "incomplete"
        assert "supervision.high-violence-risk-unsupervised" in {
            u.rule_id for u in assessment.undetermined
        }
        assert missing["resident.violence_risk"].severity == "critical"
    if place.staffing != "round_the_clock":
        assert "resident.violence_risk" in missing


def test_r02_in_steinkjer_svedjan_is_suitable(engine):
    assessment = engine.check(resident("r02"), offer("steinkjer-svedjan"))
    assert assessment.verdict == "suitable"
    assert {
        "mix.young-concentration",
        "contract.treatment-obligation",
        "voice.preference-mismatch",
    } <= finding_ids(assessment)
    assert critical_or_major(assessment) == set()
