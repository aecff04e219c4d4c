"""Contract v2.1: new fields and values, the deprecation path and its notices."""

from __future__ import annotations

import pytest

from roprules.contract.documents import InputError
from roprules.contract.fields import FIELDS
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.messages import messages
from roprules.contract.profiles import deprecations, derived_fields, profile_to_facts


def test_new_resident_fields_and_values_are_accepted():
    resident = load_resident(
        {
            "id": "R-1",
            "coercion_need": "at_home",
            "coercion_follow_up_agreed": False,
            "psychosis": True,
            "health_follow_up_agreed": True,
            "debt_problems": True,
            "economy_follow_up": False,
            "violence_risk_towards": ["partner", "children"],
        }
    )
    facts = profile_to_facts("resident", resident)
    assert facts["resident.coercion_need"] == "at_home"
    assert facts["resident.violence_risk_towards"] == ("partner", "children")
    assert facts["resident.psychosis"] is True


def test_new_offer_fields_and_values_are_accepted():
    offer = load_offer(
        {
            "id": "O-1",
            "type": "institution",
            "approved_for_coercion": False,
            "tenure_limit": "fixed",
            "contract_safeguards": True,
            "building": {"fire_risk_class": 6, "construction": "temporary", "sprinkler": "mobile"},
            "location": {"neighbour_opposition": True},
            "organisation": {"staffing_funded": False},
        }
    )
    facts = profile_to_facts("offer", offer)
    assert facts["offer.building.fire_risk_class"] == 6
    assert facts["offer.building.sprinkler"] == "mobile"
    assert facts["offer.tenure_limit"] == "fixed"


@pytest.mark.parametrize("value", [0, 7, True, "6", 6.0])
def test_fire_risk_class_is_an_int_from_1_to_6(value):
    with pytest.raises(InputError) as info:
        load_offer({"id": "O-1", "type": "staffed_base", "building": {"fire_risk_class": value}})
    assert "building.fire_risk_class" in info.value.messages[0]


def test_coercion_need_refuses_other_values():
    with pytest.raises(InputError) as info:
        load_resident({"id": "R-1", "coercion_need": "sometimes"})
    assert "coercion_need" in info.value.messages[0]


def test_outpatient_is_read_as_at_home_with_a_notice():
    resident = load_resident({"id": "R-1", "coercion_need": "outpatient"})
    assert profile_to_facts("resident", resident)["resident.coercion_need"] == "at_home"
    (notice,) = deprecations(resident)
    assert (notice.field, notice.replacement) == ("resident.coercion_need", "at_home")
    # rules cannot name the old value: it is not a value of the field
    assert "outpatient" not in FIELDS["resident.coercion_need"].values


def test_needs_coercion_false_derives_none_shown_as_derived():
    resident = load_resident({"id": "R-1", "needs_coercion": False})
    facts = profile_to_facts("resident", resident)
    assert facts["resident.coercion_need"] == "none"
    assert derived_fields(facts, resident) == {"resident.coercion_need"}
    (notice,) = deprecations(resident)
    assert (notice.field, notice.replacement) == (
        "resident.needs_coercion",
        "resident.coercion_need",
    )


def test_needs_coercion_false_does_not_override_a_stated_coercion_need():
    resident = load_resident({"id": "R-1", "needs_coercion": False, "coercion_need": "at_home"})
    facts = profile_to_facts("resident", resident)
    assert facts["resident.coercion_need"] == "at_home"
    assert derived_fields(facts, resident) == frozenset()


def test_needs_coercion_true_sets_nothing():
    resident = load_resident({"id": "R-1", "needs_coercion": True})
    facts = profile_to_facts("resident", resident)
    assert "resident.coercion_need" not in facts
    assert derived_fields(facts, resident) == frozenset()
    assert len(deprecations(resident)) == 1


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize(
    ("resident", "field", "replacement"),
    [
        ({"needs_coercion": False}, "resident.needs_coercion", "resident.coercion_need"),
        ({"needs_coercion": True}, "resident.needs_coercion", "resident.coercion_need"),
        ({"coercion_need": "outpatient"}, "resident.coercion_need", "at_home"),
    ],
)
def test_assessments_carry_the_notice_in_the_language(engine, lang, resident, field, replacement):
    assessment = engine.assess_resident({"id": "R-1", **resident}, lang=lang)
    (notice,) = assessment.notices
    assert notice.field == field
    assert notice.replacement == replacement
    assert "needs_coercion" in notice.message or "outpatient" in notice.message
    other = "en" if lang == "nb" else "nb"
    translated = engine.assess_resident({"id": "R-1", **resident}, lang=other).notices[0]
    assert notice.message != translated.message


def test_no_notices_without_deprecated_fields(engine):
    assert engine.assess_resident({"id": "R-1", "coercion_need": "none"}).notices == ()


def test_derived_fact_is_marked_in_findings(engine):
    fact = engine._wording.fact("resident.coercion_need", "none", "nb", True)
    assert fact["derived"] is True
    assert fact["display"] == "ikke behov for tvang"


def test_empty_violence_target_list_reads_as_a_general_risk():
    catalogue = messages()
    assert "generell" in catalogue.value_label("resident.violence_risk_towards", [], "nb")
    assert catalogue.value_label("offer.location.hazards", [], "nb") == "ingen"


def test_a_finding_shows_the_derived_value_as_derived(tmp_path):
    from minirules import rule, write_rules
    from roprules import Engine
    from roprules.report.render import render_assessment

    when = {"resident.coercion_need": {"eq": "none"}}
    engine = Engine.load(write_rules(tmp_path, [rule("test.none", when)]))
    assessment = engine.assess_resident({"id": "R-1", "needs_coercion": False})
    (finding,) = assessment.findings
    (fact,) = finding.facts
    assert (fact.field, fact.value, fact.derived) == ("resident.coercion_need", "none", True)
    assert "ikke behov for tvang (utledet, ikke oppgitt av teamet)" in render_assessment(
        assessment, "text"
    )
    entered = engine.assess_resident({"id": "R-1", "coercion_need": "none"})
    assert entered.findings[0].facts[0].derived is False
    assert entered.notices == ()
