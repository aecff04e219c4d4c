"""Questions that matter (issue 11.2): which missing facts could change the verdict,
who answers them, the severity-weighted completeness and the verdict summary."""

from __future__ import annotations

import json
from datetime import date

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from conftest import OFFERS_DIR, RESIDENTS_DIR, shared_engine
from minirules import rule, write_rules
from roprules import Engine
from roprules.contract.assessment import Assessment
from roprules.contract.fields import ASKED_OF, field_registry
from roprules.contract.messages import messages
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.contract.schemas import json_schema
from roprules.evaluation.outcome import SCOPE_RULES, assessment_facts
from roprules.evaluation.questions import (
    SEVERITY_WEIGHTS,
    candidate_values,
    completeness,
    could_change_verdict,
    verdict_of_counts,
)
from roprules.report.open_questions import verdict_summary
from roprules.report.render import render_assessment
from roprules.report.render.reports import group_questions
from strategies import LATEST_DATE, offer_profiles, resident_profiles

AS_OF = date(2026, 1, 1)
R06 = RESIDENTS_DIR / "r06-low-need.yaml"
GASEID = OFFERS_DIR / "aalesund-gaseid.yaml"


def _rule(rule_id: str, when: dict, severity: str, fires: dict, silent: dict) -> dict:
    return rule(
        rule_id,
        when,
        severity=severity,
        title={"nb": f"Tittel {rule_id}", "en": f"Title {rule_id}"},
        examples={"fires": [{"resident": fires}], "silent": [{"resident": silent}]},
    )


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Engine:
    """psychosis alone decides a major rule; dementia waits on two major rules, each
    also waiting on another unknown, so dementia alone cannot decide either."""
    rules = [
        _rule(
            "q.psychosis",
            {"resident.psychosis": {"eq": True}},
            "major",
            {"psychosis": True},
            {"psychosis": False},
        ),
        _rule(
            "q.dementia-fire",
            {"all": [{"resident.dementia": {"eq": True}}, {"resident.fire_risk": {"eq": "high"}}]},
            "major",
            {"dementia": True, "fire_risk": "high"},
            {"dementia": False},
        ),
        _rule(
            "q.dementia-two",
            {
                "all": [
                    {"resident.dementia": {"eq": True}},
                    {"resident.needs_two_staff": {"eq": True}},
                ]
            },
            "major",
            {"dementia": True, "needs_two_staff": True},
            {"dementia": False},
        ),
        _rule(
            "q.age",
            {"resident.age": {"gt": 80}},
            "minor",
            {"age": 90},
            {"age": 30},
        ),
    ]
    engine = Engine.load(write_rules(tmp_path_factory.mktemp("questions"), rules))
    yield engine
    engine.close()


# --------------------------------------------------------------------------- order


def test_a_field_that_could_change_the_verdict_comes_before_one_that_cannot(mini):
    assessment = mini.assess_resident({"id": "R-1", "age": 30}, as_of=AS_OF)
    assert assessment.verdict == "suitable"
    by_field = {m.field: m for m in assessment.missing}
    assert by_field["resident.psychosis"].could_change_verdict is True
    assert by_field["resident.dementia"].could_change_verdict is False
    # dementia has more rules waiting on it and sorts first by name: without the
    # could-change key it would come first.
    assert len(by_field["resident.dementia"].rules) > len(by_field["resident.psychosis"].rules)
    order = [m.field for m in assessment.missing]
    assert order.index("resident.psychosis") < order.index("resident.dementia")
    assert order[0] == "resident.psychosis"
    # Same severity, then more waiting rules first: dementia before fire_risk.
    assert order.index("resident.dementia") < order.index("resident.fire_risk")


def test_decides_lists_rule_titles_most_severe_first(mini):
    assessment = mini.assess_resident({"id": "R-1", "age": 30}, lang="en", as_of=AS_OF)
    dementia = next(m for m in assessment.missing if m.field == "resident.dementia")
    assert dementia.decides == ("Title q.dementia-fire", "Title q.dementia-two")
    assert dementia.rules == ("q.dementia-fire", "q.dementia-two")


def test_knowing_a_fact_can_move_the_verdict_either_way(mini):
    # With the psychosis rule fired (conditional), nothing that is missing can clear it.
    fired = mini.assess_resident({"id": "R-1", "psychosis": True}, as_of=AS_OF)
    assert fired.verdict == "conditional"
    assert not any(m.could_change_verdict for m in fired.missing)
    # dementia known true: needs_two_staff alone now decides a major rule.
    half = mini.assess_resident({"id": "R-1", "dementia": True, "psychosis": False}, as_of=AS_OF)
    changes = {m.field: m.could_change_verdict for m in half.missing}
    assert changes["resident.needs_two_staff"] is True
    assert changes["resident.fire_risk"] is True
    assert changes.get("resident.age") is False  # a minor rule never moves the verdict


def test_an_is_set_rule_counts_as_waiting_on_its_field():
    """danger-assessment.missing fires while violence_risk is unknown: giving any value
    clears it, so for a resident with only that finding the field could change the verdict."""
    engine = shared_engine()
    ruleset = engine.ruleset
    rule_ = ruleset.rule("danger-assessment.missing")
    facts = {"as_of": AS_OF.isoformat()}
    assert rule_.evaluate(facts) is True
    assert candidate_values(ruleset, "resident.violence_risk", facts)
    assessment = engine.assess_resident({"id": "R-1"}, as_of=AS_OF)
    assert assessment.verdict == "conditional"
    assert [f.rule_id for f in assessment.findings if f.severity == "major"] == [
        "danger-assessment.missing"
    ]
    assert assessment.missing[0].field == "resident.violence_risk"
    assert assessment.missing[0].could_change_verdict is True


# --------------------------------------------------------------------------- the property

PROPERTY = settings(
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@PROPERTY
@given(resident=resident_profiles(), offer=offer_profiles())
def test_could_change_agrees_with_running_every_rule_again(resident, offer):
    """For every missing field and every value that matters: the verdict of the whole
    rule base run again with that value differs from the current one for some value
    exactly when the field is flagged as able to change it."""
    engine = shared_engine("evaluator")
    assessor = engine._evaluator

    facts = assessment_facts(
        ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer), AS_OF
    )
    outcome = assessor.outcome("placement", facts)
    scope_rules = [r for part in SCOPE_RULES["placement"] for r in assessor.rules_by_scope[part]]
    flags = could_change_verdict(engine.ruleset, scope_rules, outcome, facts)

    def verdict(out) -> str:
        return verdict_of_counts(
            _count(r.severity for r in out.fired), _count(r.severity for r, _ in out.undetermined)
        )

    current = verdict(outcome)
    assert set(flags) == {p for _, fields in outcome.undetermined for p in fields}
    for path, flagged in flags.items():
        verdicts = {
            verdict(assessor.outcome("placement", {**facts, path: value}))
            for value in candidate_values(engine.ruleset, path, facts)
        }
        assert (verdicts - {current} != set()) is flagged, path


def _count(severities) -> dict[str, int]:
    counts: dict[str, int] = {}
    for severity in severities:
        counts[severity] = counts.get(severity, 0) + 1
    return counts


# --------------------------------------------------------------------------- who answers


def test_every_field_says_who_answers_it():
    registry = field_registry()
    assert {info.asked_of for info in registry.values()} == set(ASKED_OF)
    assert all(
        info.asked_of == "resident" for info in registry.values() if info.profile == "resident"
    )
    assert registry["offer.organisation.police_cooperation_plan"].asked_of == "organisation"
    assert registry["offer.organisation.housing_social_team"].asked_of == "organisation"
    assert registry["offer.staffing"].asked_of == "placement"
    assert registry["offer.building.sprinkler"].asked_of == "placement"
    assert registry["offer.organisation.police_consulted"].to_dict()["asked_of"] == "organisation"


def test_questions_are_grouped_by_who_answers_them(engine):
    assessment = engine.check(R06, GASEID, as_of=AS_OF)
    groups = group_questions(assessment.missing)
    whos = [who for who, _ in groups]
    assert whos == [who for who in ASKED_OF if who in whos]
    assert {"resident", "placement", "organisation"} <= set(whos)
    for who, questions in groups:
        assert {q.asked_of for q in questions} == {who}
        fields = [q.field for q in questions]
        assert fields == [m.field for m in assessment.missing if m.asked_of == who]
    assert sum(len(q) for _, q in groups) == len(assessment.missing)
    text = render_assessment(assessment, "text")
    headings = [text.index(messages().term("asked_of", who, "nb")) for who in whos]
    assert headings == sorted(headings)


def test_the_questions_that_could_change_the_verdict_are_marked_in_every_format(engine):
    assessment = engine.check(R06, GASEID, as_of=AS_OF, lang="en")
    changing = [m for m in assessment.missing if m.could_change_verdict]
    assert changing, "the example should have a question that could change the verdict"
    assert assessment.missing[0].could_change_verdict
    mark = messages().term("open_questions", "could_change", "en")
    html = render_assessment(assessment, "html")
    assert html.count('class="could-change"') == len(changing)
    markdown = render_assessment(assessment, "markdown")
    assert markdown.count(f"(*{mark}*)") == len(changing)
    for m in assessment.missing:
        for title in m.decides:
            assert title in markdown


# --------------------------------------------------------------------------- verdict text


def test_the_verdict_text_names_the_open_major_questions():
    catalogue = messages()
    counts = {"critical": 0, "major": 7, "minor": 3}
    assert (
        verdict_summary(catalogue, "suitable", counts, "nb")
        == "Egnet så langt opplysningene rekker; 7 vesentlige spørsmål er åpne."
    )
    assert (
        verdict_summary(catalogue, "suitable", counts, "en")
        == "Suitable as far as the information goes; 7 major questions are open."
    )
    assert (
        verdict_summary(catalogue, "conditional", {"major": 1}, "nb")
        == "Egnet med forbehold så langt opplysningene rekker; 1 vesentlig spørsmål er åpent."
    )
    assert (
        verdict_summary(catalogue, "incomplete", {"critical": 2, "major": 1}, "en")
        == "Cannot be assessed yet; 2 critical and 1 major questions are open."
    )
    assert verdict_summary(catalogue, "suitable", {"minor": 4}, "nb") == "Egnet."
    assert verdict_summary(catalogue, "unsuitable", {}, "en") == "Unsuitable."


def test_the_assessment_carries_the_verdict_text_and_counts(engine):
    assessment = engine.check(R06, GASEID, as_of=AS_OF)
    counts = assessment.open_questions_by_severity
    by_severity: dict[str, int] = {}
    for m in assessment.missing:
        by_severity[m.severity] = by_severity.get(m.severity, 0) + 1
    assert {k: v for k, v in counts.items() if v} == by_severity
    assert assessment.verdict_summary is not None
    if counts.get("major"):
        assert f"{counts['major']} vesentlig" in assessment.verdict_summary
    text = render_assessment(assessment, "text")
    assert assessment.verdict_summary in text


# --------------------------------------------------------------------------- completeness


def test_completeness_is_one_when_nothing_is_missing(mini):
    full = {
        "id": "R-1",
        "age": 30,
        "psychosis": False,
        "dementia": True,
        "fire_risk": "low",
        "needs_two_staff": False,
    }
    assessment = mini.assess_resident(full, as_of=AS_OF)
    assert assessment.missing == ()
    assert assessment.completeness == 1.0
    assert assessment.open_questions_by_severity == {"critical": 0, "major": 0, "minor": 0}


def test_completeness_weighs_rules_by_severity(mini):
    # Three major rules open, the minor one evaluated: 1 - 3*2 / (3*2 + 1).
    assessment = mini.assess_resident({"id": "R-1", "age": 30}, as_of=AS_OF)
    major, minor = SEVERITY_WEIGHTS["major"], SEVERITY_WEIGHTS["minor"]
    assert assessment.completeness == pytest.approx(1 - 3 * major / (3 * major + minor), abs=1e-4)
    # Only the minor rule open: 1 - 1/7.
    known = {"id": "R-1", "psychosis": False, "dementia": False}
    assessment = mini.assess_resident(known, as_of=AS_OF)
    assert assessment.completeness == pytest.approx(1 - minor / (3 * major + minor), abs=1e-4)
    assert SEVERITY_WEIGHTS["critical"] > SEVERITY_WEIGHTS["major"] > SEVERITY_WEIGHTS["minor"]
    assert completeness([], []) == 1.0


# --------------------------------------------------------------------------- JSON


def test_new_json_validates_against_the_schema(engine):
    assessment = engine.check(R06, GASEID, as_of=AS_OF)
    document = json.loads(render_assessment(assessment, "json"))
    schema = json_schema("assessment")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert {"verdict_summary", "completeness", "open_questions_by_severity"} <= set(document)
    assert {"could_change_verdict", "asked_of", "decides"} <= set(document["missing"][0])


def test_old_json_without_the_new_fields_still_validates_and_renders(engine):
    assessment = engine.check(R06, GASEID, as_of=AS_OF)
    document = json.loads(assessment.model_dump_json())
    for key in ("verdict_summary", "completeness", "open_questions_by_severity"):
        del document[key]
    for m in document["missing"]:
        for key in ("could_change_verdict", "asked_of", "decides"):
            del m[key]
    jsonschema.Draft202012Validator(json_schema("assessment")).validate(document)
    old = Assessment.model_validate(document)
    assert old.verdict_summary is None and old.completeness is None
    assert all(m.could_change_verdict is None and m.decides == () for m in old.missing)
    text = render_assessment(old, "text")
    assert messages().term("verdict", old.verdict, "nb").capitalize() in text
    # Without asked_of, the field registry groups the questions.
    assert [who for who, _ in group_questions(old.missing)] == [
        who for who, _ in group_questions(assessment.missing)
    ]
    for fmt in ("markdown", "html"):
        rendered = render_assessment(old, fmt)
        assert old.missing[0].rules[0] in rendered  # rule ids stand in for missing titles


@PROPERTY
@given(resident=resident_profiles(), offer=offer_profiles())
def test_every_assessment_orders_counts_and_weighs_its_questions(resident, offer):
    assessment = shared_engine().check(resident, offer, as_of=LATEST_DATE, lang="en")
    keys = [
        (not m.could_change_verdict, SEVERITY_ORDER[m.severity], -len(m.rules), m.field)
        for m in assessment.missing
    ]
    assert keys == sorted(keys)
    assert all(m.could_change_verdict is not None and m.asked_of for m in assessment.missing)
    assert sum(assessment.open_questions_by_severity.values()) == len(assessment.missing)
    assert 0.0 <= assessment.completeness <= 1.0
    assert (assessment.completeness == 1.0) is (not assessment.undetermined)
    if assessment.verdict == "unsuitable":
        # no missing fact can clear a critical finding the rule base has (no is_set rule
        # among the critical ones)
        assert not any(m.could_change_verdict for m in assessment.missing)


def test_questions_ordered_by_whole_numbers_keep_the_question_order():
    """`_ordered` packs a question's place into one whole number when the rules read its
    field, and keeps a pair for a field they do not; sorted together (the pairs make
    the sort fall back to `question_order`), the order is `question_order`'s."""
    from roprules.contract.assessment import MissingInfo
    from roprules.evaluation.questions import question_order
    from roprules.report.wording import _FIRST, _ordered, _question_order

    places = {"a.x": 0, "a.y": 1, "b.z": 2}
    entries = [
        MissingInfo(
            field=field, rules=rules, severity=severity, question="?", could_change_verdict=change
        )
        for field, rules, severity, change in [
            ("a.y", ["r1"], "major", False),
            ("a.x", ["r1"], "major", False),
            ("b.z", ["r1", "r2"], "minor", True),
            ("a.unplaced", ["r3"], "critical", None),
            ("b.z", ["r1"], "critical", False),
        ]
    ]
    expected = sorted(
        entries,
        key=lambda e: question_order(e.could_change_verdict, e.severity, len(e.rules), e.field),
    )
    placed = [_ordered(e, places) for e in entries if e.field in places]
    assert all(isinstance(order, int) for order, _ in placed)
    placed.sort(key=_FIRST)
    assert [e for _, e in placed] == [e for e in expected if e.field in places]
    mixed = [_ordered(e, places) for e in entries]
    with pytest.raises(TypeError):
        sorted(mixed, key=_FIRST)
    assert [e for _, e in sorted(mixed, key=_question_order)] == expected


def test_verdict_of_counts_is_verdict_of_the_severities_counted():
    from itertools import product

    from roprules.evaluation.outcome import verdict_of

    for fired_n, open_n in product(product((0, 1, 2), repeat=4), repeat=2):
        fired = dict(zip(SEVERITY_ORDER, fired_n, strict=True))
        undetermined = dict(zip(SEVERITY_ORDER, open_n, strict=True))
        assert verdict_of_counts(fired, undetermined) == verdict_of(
            [s for s, n in fired.items() if n], [s for s, n in undetermined.items() if n]
        )
