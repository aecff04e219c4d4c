"""The verdicts the report's story implies, for the shipped profiles (profiles/README.md).

Each test first checks that the profile files hold the facts the story rests on,
so a failing verdict points at the rules, and a failing premise at the profiles.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from conftest import BACKENDS, OFFERS_DIR, offer_file, resident_file, shared_engine
from roprules import Engine
from roprules.contract.intake import load_offer, load_resident

# Every assessment here is made as of one fixed date, so that the danger-assessment
# dates in the profiles never age into a different verdict (contract.md, as_of).
AS_OF = date(2026, 1, 15)


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
    assessment = engine.check(r01, gaseid, as_of=AS_OF)
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
    assert r01.coercion_need == "none"
    assessment = engine.check(r01, trondheim, as_of=AS_OF)
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
    assessment = engine.check(r06, rental, as_of=AS_OF)
    assert assessment.verdict in ("suitable", "conditional")
    assert not {f.rule_id for f in assessment.findings if f.severity == "critical"}
    # README: minor ones only (gypsum walls, no sprinkler)
    assert critical_or_major(assessment) == set()
    assert {"building.gypsum-walls", "building.no-sprinkler"} <= finding_ids(assessment)


def test_r06_in_melhus_idrettsveien_flags_over_care(engine):
    r06, melhus = resident("r06"), offer("melhus-idrettsveien")
    assert r06.needs_round_the_clock_staff is False and r06.needs_daily_help is False
    assert melhus.type == "staffed_base"
    assessment = engine.check(r06, melhus, as_of=AS_OF)
    over_care = [f for f in assessment.findings if f.rule_id == "supervision.over-care"]
    assert len(over_care) == 1
    assert over_care[0].severity == "minor"


def test_r08_wheelchair_user_in_non_accessible_offer(engine):
    r08, rental = resident("r08"), offer("ordinary-rental")
    assert r08.uses_wheelchair is True
    assert rental.building is not None and rental.building.wheelchair_access == "not_accessible"
    assessment = engine.check(r08, rental, as_of=AS_OF)
    assert "access.wheelchair" in finding_ids(assessment)
    assert assessment.verdict == "unsuitable"


def test_r08_wheelchair_user_in_adaptable_offer(engine):
    r08, kverve = resident("r08"), offer("aalesund-kverve")
    assert kverve.building is not None and kverve.building.wheelchair_access == "adaptable"
    assessment = engine.check(r08, kverve, as_of=AS_OF)
    assert "access.wheelchair" not in finding_ids(assessment)
    assert "access.wheelchair-adaptation" in finding_ids(assessment)
    assert assessment.verdict != "unsuitable"


def test_r07_couple_where_couples_are_not_allowed(engine):
    r07, tangenvegen = resident("r07"), offer("verdal-tangenvegen")
    assert r07.household == "couple"
    assert tangenvegen.allows_couples is False
    assessment = engine.check(r07, tangenvegen, as_of=AS_OF)
    assert assessment.verdict == "unsuitable"
    assert "household.couple-not-allowed" in finding_ids(assessment)


def test_r07_couple_where_couples_are_allowed(engine):
    for name in ("aalesund-gaseid", "aalesund-kverve"):
        place = offer(name)
        assert place.allows_couples is True
        assert "household.couple-not-allowed" not in finding_ids(
            engine.check(resident("r07"), place, as_of=AS_OF)
        )


def test_verdal_reinsholm_audit(engine):
    reinsholm = offer("verdal-reinsholm")
    assert reinsholm.building is not None and reinsholm.building.gypsum_walls is True
    assert reinsholm.organisation is not None
    assert reinsholm.organisation.service_model != reinsholm.organisation.design_concept
    assessment = engine.audit(reinsholm, as_of=AS_OF)
    assert assessment.scope == "offer"
    assert {"building.gypsum-walls", "organisation.philosophy-mismatch"} <= finding_ids(assessment)


# --------------------------------------------------------------------------- more pairs


def test_r04_in_verdal_reinsholm_is_conditional(engine):
    assessment = engine.check(resident("r04"), offer("verdal-reinsholm"), as_of=AS_OF)
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
    breidablikk = engine.check(r03, offer("levanger-breidablikk"), as_of=AS_OF)
    assert breidablikk.verdict == "conditional"
    assert "mix.dementia-with-rop" in finding_ids(breidablikk)
    rental = engine.check(r03, offer("ordinary-rental"), as_of=AS_OF)
    assert rental.verdict == "unsuitable"
    assert "supervision.round-the-clock-needed" in finding_ids(rental)


OFFER_NAMES = sorted(p.stem for p in OFFERS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", OFFER_NAMES)
def test_r05_without_danger_assessment(engine, name):
    r05, place = resident("r05"), offer(name)
    assert r05.violence_risk is None and r05.fire_risk == "high"
    assessment = engine.check(r05, place, as_of=AS_OF)
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
    assessment = engine.check(resident("r02"), offer("steinkjer-svedjan"), as_of=AS_OF)
    assert assessment.verdict == "suitable"
    assert {
        "mix.young-concentration",
        "contract.treatment-obligation",
        "voice.preference-mismatch",
    } <= finding_ids(assessment)
    assert critical_or_major(assessment) == set()


# --------------------------------------------------------------------------- catalogue v2.1
# The five harms of issue 8. Each test first shows the fact the old ruleset misread, then
# the v2.1 verdict and the rule ids that carry it.


def placement(engine, resident_data: dict[str, Any], offer_data: dict[str, Any], **kw: Any):
    """A placement from plain profiles (the cases below change one fact at a time)."""
    return engine.check({"id": "R-test", **resident_data}, {"id": "O-test", **offer_data}, **kw)


def by_id(assessment, rule_id: str):
    return next(f for f in assessment.findings if f.rule_id == rule_id)


def test_compulsory_care_at_home_in_own_flat_is_not_unsuitable(engine):
    # v1 read needs_coercion: true as coercion that only an institution may use, so a person
    # under TUD in their own flat came out unsuitable. v2.1 reads the kind of coercion.
    r09, rental = resident("r09"), offer("ordinary-rental")
    assert r09.coercion_need == "at_home" and r09.coercion_follow_up_agreed is False
    assert rental.type == "ordinary"
    assessment = engine.check(r09, rental, as_of=AS_OF)
    assert assessment.verdict == "conditional"
    assert "coercion.outside-institution" not in finding_ids(assessment)
    assert "coercion.outside-institution" not in {u.rule_id for u in assessment.undetermined}
    assert critical_or_major(assessment) == {"coercion.outpatient-responsibilities"}
    follow_up = by_id(assessment, "coercion.outpatient-responsibilities")
    assert follow_up.severity == "major" and "TUD" in follow_up.explanation
    assert "depotmedisinen" in " ".join(follow_up.suggestions)

    # Once the follow-up is agreed, the home placement carries no finding about coercion.
    agreed = r09.model_copy(update={"coercion_follow_up_agreed": True})
    settled = engine.check(agreed, rental, as_of=AS_OF)
    assert settled.verdict == "suitable"
    assert not {i for i in finding_ids(settled) if i.startswith("coercion.")}

    # Measures that need a round-the-clock stay in an approved institution still make the
    # same flat unsuitable, and so does an institution that is not approved for them.
    residential = r09.model_copy(update={"coercion_need": "residential"})
    assert engine.check(residential, rental, as_of=AS_OF).verdict == "unsuitable"
    unapproved = placement(
        engine,
        {"coercion_need": "residential"},
        {"type": "institution", "approved_for_coercion": False},
        as_of=AS_OF,
    )
    assert "coercion.outside-institution" in finding_ids(unapproved)


def test_deprecated_needs_coercion_true_no_longer_makes_a_home_unsuitable(engine):
    # needs_coercion: true does not say which kind of coercion: v2.1 asks instead of judging.
    data = resident("r09").model_dump(exclude_none=True)
    del data["coercion_need"]
    data["needs_coercion"] = True
    assessment = engine.check(data, offer("ordinary-rental"), as_of=AS_OF)
    assert assessment.verdict == "incomplete"
    assert "coercion.outside-institution" not in finding_ids(assessment)
    assert "coercion.outside-institution" in {u.rule_id for u in assessment.undetermined}
    assert "resident.coercion_need" in {m.field for m in assessment.missing}
    assert any(n.field == "resident.needs_coercion" for n in assessment.notices)


def test_old_low_danger_assessment_no_longer_silences_supervision(engine):
    # v1 took a "low" assessment from 2019 at face value: the resident leaving prison came
    # out suitable. v2.1 asks for a new assessment after a transition (major).
    r10, rental = resident("r10"), offer("ordinary-rental")
    assert r10.violence_risk == "low" and r10.danger_assessment_date == date(2019, 3, 14)
    assert r10.transition_from == "prison"
    assessment = engine.check(r10, rental, as_of=AS_OF)
    assert assessment.verdict == "conditional"
    assert critical_or_major(assessment) == {"danger-assessment.outdated"}
    outdated = by_id(assessment, "danger-assessment.outdated")
    assert outdated.superseded_by == ()
    # The info rule fires as well and is shown inside the major one.
    low = by_id(assessment, "danger-assessment.outdated-low")
    assert low.severity == "info" and low.superseded_by == ("danger-assessment.outdated",)

    # A stable tenant with an old low assessment gets advice only, not a condition.
    stable = r10.model_copy(update={"transition_from": "none"})
    settled = engine.check(stable, rental, as_of=AS_OF)
    assert settled.verdict == "suitable"
    assert "danger-assessment.outdated" not in finding_ids(settled)
    assert by_id(settled, "danger-assessment.outdated-low").superseded_by == ()

    # The same assessment made last month decides nothing: the rule reads as_of, not the clock.
    recent = engine.check(r10, rental, as_of=date(2019, 4, 14))
    assert "danger-assessment.outdated" not in finding_ids(recent)


def test_couple_with_violence_risk_towards_the_partner_is_not_suitable(engine):
    # v1 had no rule for a risk towards the partner: this couple came out suitable in Gåseid.
    r11, gaseid = resident("r11"), offer("aalesund-gaseid")
    assert r11.household == "couple" and r11.violence_risk == "moderate"
    assert r11.violence_risk_towards == ["partner"] and gaseid.allows_couples is True
    assessment = engine.check(r11, gaseid, as_of=AS_OF)
    assert assessment.verdict != "suitable"
    assert assessment.verdict == "conditional"
    assert "household.violence-towards-partner" in critical_or_major(assessment)
    finding = by_id(assessment, "household.violence-towards-partner")
    assert finding.suggestions[0].startswith("Snakk med partneren alene")

    # A general risk (no named target) does not fire the household rule.
    general = r11.model_copy(update={"violence_risk_towards": []})
    assert "household.violence-towards-partner" not in finding_ids(
        engine.check(general, gaseid, as_of=AS_OF)
    )
    # With children in the picture the child rule fires too, and covers the guest room.
    parent = r11.model_copy(update={"child_contact": True})
    with_children = engine.check(parent, offer("ordinary-rental"), as_of=AS_OF)
    assert "household.child-contact-violence" in critical_or_major(with_children)
    room = by_id(with_children, "household.child-contact-no-guest-room")
    assert room.superseded_by == ("household.child-contact-violence",)
    child = by_id(with_children, "household.child-contact-violence")
    assert "vurder" in " ".join(child.suggestions).lower()


SMOKER = {
    "household": "single",
    "violence_risk": "low",
    "needs_two_staff": False,
    "needs_round_the_clock_staff": False,
    "coercion_need": "none",
    "fire_risk": "high",
    "smokes_indoors": True,
    "property_damage_risk": "low",
    "uses_wheelchair": False,
}
PREFAB_FAR_AWAY = {
    "type": "small_house",
    "staffing": "ambulant",
    "shared_living": False,
    "building": {
        "construction": "prefab_movable",
        "sprinkler": "tamper_resistant",
        "fire_alarm": "integrated",
        "fire_alarm_adapted": False,
    },
    "location": {"fire_response_minutes": 25},
}


def test_high_fire_risk_smoker_in_a_prefab_house_far_from_the_fire_station(engine):
    # v1 counted smoking and the prefab construction as extra risks and advised delaying the
    # alarm. v2.1: one major finding on the distance, no compound rule, no alarm advice.
    assessment = placement(engine, SMOKER, PREFAB_FAR_AWAY, as_of=AS_OF)
    fire = {f.rule_id: f for f in assessment.findings if f.rule_id.startswith("fire.")}
    assert set(fire) == {"fire.high-risk-emergency-distance"}
    assert fire["fire.high-risk-emergency-distance"].severity == "major"
    assert "fire.compound-risk" not in {u.rule_id for u in assessment.undetermined}
    assert "fire.indoor-smoking-alarm" not in finding_ids(assessment)
    assert assessment.verdict == "conditional"
    advice = " ".join(s for f in assessment.findings for s in f.suggestions).lower()
    assert "forsink" not in advice  # no advice to delay the alarm

    # A second aggravating circumstance that is not about smoking makes it critical, and the
    # major distance finding stays beside it (v2.1 removed that supersedes pair).
    wheelchair = placement(
        engine, {**SMOKER, "uses_wheelchair": True}, PREFAB_FAR_AWAY, as_of=AS_OF
    )
    assert wheelchair.verdict == "unsuitable"
    assert by_id(wheelchair, "fire.compound-risk").severity == "critical"
    assert by_id(wheelchair, "fire.high-risk-emergency-distance").superseded_by == ()

    # The smoking-alarm rule with its guidance remains for low and moderate fire risk.
    moderate = placement(engine, {**SMOKER, "fire_risk": "moderate"}, PREFAB_FAR_AWAY, as_of=AS_OF)
    alarm = by_id(moderate, "fire.indoor-smoking-alarm")
    assert "sammen med brannvesenet" in " ".join(alarm.suggestions)


MIXED_BASE = {
    "type": "staffed_base",
    "shared_living": True,
    "staffing": "daytime",
    "co_residents": {"severe_substance_use": 2, "severe_mental_illness": 2},
}
MIXING = "mix.severe-psychiatry-with-severe-substance"


@pytest.mark.parametrize(
    ("case", "fires"),
    [
        # the core ROP group (both severe) is the group the offer is for: no finding
        ({"mental_illness_severity": "severe", "substance_use": "active",
          "substance_severity": "severe", "primary_problem": "both"}, False),
        # v1 never fired for primary_problem: both; v2.1 decides by severity
        ({"mental_illness_severity": "severe", "substance_use": "none",
          "primary_problem": "both"}, True),
        ({"mental_illness_severity": "severe", "substance_use": "past",
          "primary_problem": "mental_illness"}, True),
        ({"mental_illness_severity": "moderate", "substance_use": "active",
          "substance_severity": "severe", "primary_problem": "both"}, True),
        ({"mental_illness_severity": "moderate", "substance_use": "active",
          "substance_severity": "moderate", "primary_problem": "both"}, False),
    ],
)  # fmt: skip
def test_mixing_rules_fire_for_different_groups_only(engine, case, fires):
    assessment = placement(engine, case, MIXED_BASE, as_of=AS_OF)
    assert (MIXING in finding_ids(assessment)) is fires
    assert MIXING not in {u.rule_id for u in assessment.undetermined}
    if fires:
        assert by_id(assessment, MIXING).severity == "major"
    # with round-the-clock staff the same case is the minor variant
    staffed = placement(engine, case, {**MIXED_BASE, "staffing": "round_the_clock"}, as_of=AS_OF)
    assert (f"{MIXING}-staffed" in finding_ids(staffed)) is fires
    assert MIXING not in finding_ids(staffed)


def test_mixing_rules_for_co_located_dwellings_but_not_scattered_flats(engine):
    case = {"mental_illness_severity": "severe", "substance_use": "none"}
    co_located = {
        **MIXED_BASE,
        "type": "co_located",
        "shared_living": False,
        "staffing": "ambulant",
    }
    assert MIXING in finding_ids(placement(engine, case, co_located, as_of=AS_OF))
    scattered = {**co_located, "type": "ordinary"}
    assert MIXING not in finding_ids(placement(engine, case, scattered, as_of=AS_OF))


def test_psychosis_drug_access_and_heavy_use_cluster_placement(engine):
    # r01 has a psychosis and active use; Reinsholm lies by a drug scene, without 24/7 staff.
    r01, reinsholm = resident("r01"), offer("verdal-reinsholm")
    assert r01.psychosis is True and reinsholm.location is not None
    assert reinsholm.location.drug_scene_nearby is True and reinsholm.staffing != "round_the_clock"
    assessment = engine.check(r01, reinsholm, as_of=AS_OF)
    assert by_id(assessment, "mix.psychosis-drug-access").severity == "major"
    assert by_id(assessment, "location.drug-scene").superseded_by == ("mix.psychosis-drug-access",)
    # Round-the-clock staff: no finding (r01 in Trondheim's planned offer).
    staffed = engine.check(r01, offer("trondheim-planned-11"), as_of=AS_OF)
    assert "mix.psychosis-drug-access" not in finding_ids(staffed)

    # A resident with severe active use joining a cluster where one already lives.
    cluster = {"type": "small_house", "co_residents": {"severe_substance_use": 2}}
    heavy = {"substance_use": "active", "substance_severity": "severe"}
    joined = placement(engine, heavy, cluster, as_of=AS_OF)
    assert by_id(joined, "mix.heavy-use-cluster-placement").severity == "major"
    offer_rule = by_id(joined, "mix.heavy-use-cluster")
    assert offer_rule.severity == "minor"
    assert offer_rule.superseded_by == ("mix.heavy-use-cluster-placement",)


def test_sprinkler_rules_by_risk_class_and_mobile_unit(engine):
    high = {**SMOKER, "smokes_indoors": False}
    base = {
        "type": "staffed_base",
        "staffing": "round_the_clock",
        "building": {"fire_risk_class": 6, "sprinkler": "none"},
    }
    none = placement(engine, high, base, as_of=AS_OF)
    assert by_id(none, "fire.high-risk-no-sprinkler").severity == "critical"
    care = by_id(none, "fire.care-housing-sprinkler")
    assert care.severity == "major" and care.superseded_by == ("fire.high-risk-no-sprinkler",)

    # A mobile unit protects the resident (no critical finding), but it is not the
    # automatic extinguishing system a building of risk class 6 needs.
    mobile = {**base, "building": {"fire_risk_class": 6, "sprinkler": "mobile"}}
    with_unit = placement(engine, high, mobile, as_of=AS_OF)
    assert "fire.high-risk-no-sprinkler" not in finding_ids(with_unit)
    assert by_id(with_unit, "fire.care-housing-sprinkler").superseded_by == ()

    # The class decides, not the staffing: a staffed base in a lower class is silent.
    lower = {**base, "building": {"fire_risk_class": 4, "sprinkler": "mobile"}}
    assert "fire.care-housing-sprinkler" not in finding_ids(
        placement(engine, high, lower, as_of=AS_OF)
    )
