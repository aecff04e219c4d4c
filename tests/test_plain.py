"""Plain-language conditions and the "why (not)" view."""

from __future__ import annotations

import pytest

from roprules.report.plain import describe, ruleset_units, why, why_undetermined
from roprules.rulebase.conditions import parse_condition
from roprules.rulebase.ruleset import load_ruleset

PARAMS = {"max_distance_to_shop_m": 1000}
UNITS = {"max_distance_to_shop_m": "m"}


def cond(data):
    return parse_condition(data, "when", PARAMS)


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


def test_leaves_joined_with_and():
    c = cond(
        {
            "all": [
                {"resident.violence_risk": {"eq": "high"}},
                {"offer.staffing": {"ne": "round_the_clock"}},
            ]
        }
    )
    assert describe(c, "nb", PARAMS) == (
        "Utløses når beboerens voldsrisiko er høy og tilbudets bemanning på stedet "
        "ikke er heldøgns bemanning"
    )
    assert describe(c, "en", PARAMS) == (
        "Fires when the resident's violence risk is high and the offer's staffing "
        "is not round-the-clock staff"
    )


def test_nested_any_in_all_is_bracketed():
    c = cond(
        {
            "all": [
                {"offer.staffing": {"in": ["none", "ambulant"]}},
                {
                    "any": [
                        {"resident.violence_risk": {"eq": "high"}},
                        {"resident.fire_risk": {"eq": "high"}},
                    ]
                },
            ]
        }
    )
    nb = describe(c, "nb", PARAMS)
    en = describe(c, "en", PARAMS)
    assert "(enten beboerens voldsrisiko er høy eller beboerens brannrisiko er høy)" in nb
    assert "(either the resident's violence risk is high or the resident's fire risk is high)" in en
    assert "ingen bemanning eller ambulerende oppfølging" in nb


def test_is_set_false_reads_unknown():
    c = cond({"resident.violence_risk": {"is_set": False}})
    assert describe(c, "nb", PARAMS) == "Utløses når beboerens voldsrisiko er ukjent"
    assert describe(c, "en", PARAMS) == "Fires when the resident's violence risk is unknown"


def test_params_show_their_value_and_unit():
    c = cond({"offer.location.distance_to_shop_m": {"gt": {"param": "max_distance_to_shop_m"}}})
    text = describe(c, "nb", PARAMS, units=UNITS)
    assert text == (
        "Utløses når tilbudets avstand til butikk er over 1000 m (max_distance_to_shop_m)"
    )
    assert "more than 1000 m (max_distance_to_shop_m)" in describe(c, "en", PARAMS, units=UNITS)


def test_not_is_pushed_into_the_leaves():
    c = cond({"not": {"any": [{"resident.dementia": {"eq": True}}, {"resident.age": {"lt": 30}}]}})
    en = describe(c, "en", PARAMS)
    assert en == (
        "Fires when “dementia” for the resident is no and the resident's age is at least 30 years"
    )
    nb = describe(c, "nb", PARAMS)
    assert nb == "Utløses når «demens» for beboeren er nei og beboerens alder er minst 30 år"


def test_sum_field_ref_and_lists():
    c = cond(
        {
            "all": [
                {"sum": ["offer.co_residents.dementia", "offer.co_residents.under_30"], "gte": 2},
                {"offer.type": {"not_in": {"field": "resident.preferred_offer_types"}}},
                {"offer.location.hazards": {"is_empty": False}},
            ]
        }
    )
    en = describe(c, "en", PARAMS)
    assert en.startswith("Fires when the sum of the number of current residents with dementia")
    assert "is not among the resident's preferred types of housing" in en
    assert "dangerous shortcuts nearby is not empty" in en


def test_every_shipped_rule_describes_in_both_languages(ruleset):
    units = ruleset_units(ruleset)
    for rule in ruleset.rules:
        for lang, prefix in (("nb", "Utløses når "), ("en", "Fires when ")):
            text = describe(rule.condition, lang, ruleset.params, units=units)
            assert text.startswith(prefix), rule.id
            assert "resident." not in text and "offer." not in text, (rule.id, text)
            assert "{" not in text and "None" not in text, (rule.id, text)


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        describe(cond({"resident.age": {"gt": 1}}), "de", PARAMS)


def test_why_rows_give_each_leaf_its_outcome(ruleset):
    rule = ruleset.rule("supervision.high-violence-risk-unsupervised")
    rows = why(rule, {"resident.violence_risk": "high"}, ruleset.params, "nb")
    assert [r.outcome for r in rows] == ["met", "unknown"]
    assert rows[0].text == "beboerens voldsrisiko er høy"
    assert rows[0].values[0].display == "høy"
    assert rows[1].values[0].display == "ukjent"
    rows = why(rule, {"resident.violence_risk": "low", "offer.staffing": "ambulant"}, {}, "en")
    assert [r.outcome for r in rows] == ["not_met", "met"]


def test_why_undetermined_covers_every_undetermined_rule(ruleset):
    from roprules.api import Engine
    from roprules.contract.intake import load_offer, load_resident
    from roprules.contract.profiles import profile_to_facts

    engine = Engine(ruleset)
    resident = load_resident("profiles/residents/r06-low-need.yaml")
    offer = load_offer("profiles/offers/ordinary-rental.yaml")
    assessment = engine.check(resident, offer, lang="en")
    facts = {**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}
    view = why_undetermined(ruleset, assessment, facts)
    assert set(view) == {u.rule_id for u in assessment.undetermined}
    for rows in view.values():
        assert any(r.outcome == "unknown" for r in rows)
