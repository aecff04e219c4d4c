"""Rule file features of catalogue v2.1: supersedes, texts per value, the text checker."""

from __future__ import annotations

import pytest

from minirules import rule, write_rules
from roprules import Engine
from roprules.authoring.lint import render_problems
from roprules.rulebase.ruleset import RulesetError, load_ruleset

HIGH = {"resident.violence_risk": {"eq": "high"}}
RISKY = {"resident.violence_risk": {"in": ["moderate", "high"]}}


def refused(tmp_path, rules) -> list[str]:
    with pytest.raises(RulesetError) as info:
        load_ruleset(write_rules(tmp_path, rules))
    return info.value.messages


# --------------------------------------------------------------------------- text checker


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("{% if resident.violence_risk %}Høy.{% endif %}", "'{% if %}' block"),
        ("{{ resident.violence_risk | upper }}", "filter"),
        ("{{ resident.age > 30 }}", "comparison"),
        ("{{ resident.violence_risk is none }}", "test"),
        ("{{ resident.violence_risk.__class__() }}", "call"),
        ("{{ 'literal' }}", "literal"),
        ("{{ resident.age if resident.age else 0 }}", "inline 'if'"),
        ("{% for x in offer.location.hazards %}{{ x }}{% endfor %}", "'{% for %}' block"),
    ],
)
def test_texts_may_only_substitute_fields(tmp_path, text, what):
    bad = rule("test.one", HIGH, explanation={"nb": text, "en": "Fine."})
    (message,) = refused(tmp_path, [bad])
    assert "test.one: explanation.nb:" in message
    assert what in message


def test_substitutions_of_fields_and_params_load_and_render(tmp_path):
    text = {
        "nb": "Risiko {{ resident.violence_risk }}, "
        "grense {{ params.max_guard_response_minutes }}.",
        "en": "Risk {{ resident.violence_risk }}.",
    }
    engine = Engine.load(write_rules(tmp_path, [rule("test.one", HIGH, explanation=text)]))
    (finding,) = engine.assess_resident({"id": "R-1", "violence_risk": "high"}).findings
    assert finding.explanation == "Risiko høy, grense 10."


# --------------------------------------------------------------------------- per value


PER_VALUE = {
    "by": "resident.violence_risk",
    "cases": {
        "high": {"nb": "Høy risiko: {{ resident.violence_risk }}.", "en": "High."},
        "moderate": {"nb": "Moderat risiko.", "en": "Moderate."},
    },
    "default": {"nb": "Risiko.", "en": "Risk."},
}


def test_a_text_per_value_picks_the_case_of_the_fact(tmp_path):
    engine = Engine.load(write_rules(tmp_path, [rule("test.one", RISKY, explanation=PER_VALUE)]))
    (high,) = engine.assess_resident({"id": "R-1", "violence_risk": "high"}).findings
    assert high.explanation == "Høy risiko: høy."
    (moderate,) = engine.assess_resident(
        {"id": "R-1", "violence_risk": "moderate"}, lang="en"
    ).findings
    assert moderate.explanation == "Moderate."


def test_a_text_per_value_falls_back_to_default(tmp_path):
    cases = {**PER_VALUE, "cases": {"high": PER_VALUE["cases"]["high"]}}
    engine = Engine.load(write_rules(tmp_path, [rule("test.one", RISKY, explanation=cases)]))
    (finding,) = engine.assess_resident({"id": "R-1", "violence_risk": "moderate"}).findings
    assert finding.explanation == "Risiko."


def test_a_text_per_boolean_value(tmp_path):
    text = {
        "by": "resident.psychosis",
        "cases": {"true": {"nb": "Med psykose.", "en": "With psychosis."}},
        "default": {"nb": "Uten.", "en": "Without."},
    }
    when = {"all": [HIGH, {"resident.psychosis": {"is_set": True}}]}
    engine = Engine.load(write_rules(tmp_path, [rule("test.one", when, suggestion=text)]))
    resident = {"id": "R-1", "violence_risk": "high"}
    (yes,) = engine.assess_resident({**resident, "psychosis": True}).findings
    (no,) = engine.assess_resident({**resident, "psychosis": False}).findings
    assert (yes.suggestions, no.suggestions) == (("Med psykose.",), ("Uten.",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ({**PER_VALUE, "by": "resident.nope"}, "unknown field 'resident.nope'"),
        ({**PER_VALUE, "by": "resident.age"}, "enum or bool"),
        (
            {**PER_VALUE, "cases": {"extreme": {"nb": "x", "en": "y"}}},
            "'extreme' is not a value of resident.violence_risk",
        ),
        (
            {**PER_VALUE, "default": {"nb": "{% if x %}a{% endif %}", "en": "b"}},
            "explanation.nb: a '{% if %}' block",
        ),
        (
            {**PER_VALUE, "cases": {"high": {"nb": "{{ x | e }}", "en": "b"}}},
            "explanation.cases.high.nb: a filter",
        ),
    ],
)
def test_a_bad_text_per_value_is_refused(tmp_path, text, expected):
    (message,) = refused(tmp_path, [rule("test.one", RISKY, explanation=text)])
    assert "test.one" in message and expected in message


def test_a_text_per_value_needs_a_default(tmp_path):
    text = {k: v for k, v in PER_VALUE.items() if k != "default"}
    messages = refused(tmp_path, [rule("test.one", RISKY, explanation=text)])
    assert any("test.one" in m and "default" in m for m in messages)


def test_lint_renders_every_text_against_every_example(tmp_path):
    examples = {
        "fires": [{"resident": {"violence_risk": "high"}}],
        "silent": [{"resident": {"violence_risk": "low"}}],
    }
    ruleset = load_ruleset(
        write_rules(tmp_path, [rule("test.one", RISKY, explanation=PER_VALUE, examples=examples)])
    )
    assert list(render_problems(ruleset)) == []


# --------------------------------------------------------------------------- supersedes


def pair(strong="major", weak="minor"):
    return [
        rule("test.strong", HIGH, severity=strong, supersedes=["test.weak"]),
        rule("test.weak", RISKY, severity=weak),
    ]


def test_a_superseded_finding_stays_and_names_its_superseder(tmp_path):
    engine = Engine.load(write_rules(tmp_path, pair()))
    assessment = engine.assess_resident({"id": "R-1", "violence_risk": "high"})
    by_id = {f.rule_id: f for f in assessment.findings}
    assert by_id["test.weak"].superseded_by == ("test.strong",)
    assert by_id["test.strong"].superseded_by == ()
    # alone it is an ordinary finding
    alone = engine.assess_resident({"id": "R-1", "violence_risk": "moderate"})
    assert [(f.rule_id, f.superseded_by) for f in alone.findings] == [("test.weak", ())]


def test_a_superseded_finding_still_counts_for_the_verdict(tmp_path):
    engine = Engine.load(write_rules(tmp_path, pair(strong="critical", weak="critical")))
    assessment = engine.assess_resident({"id": "R-1", "violence_risk": "high"})
    assert assessment.verdict == "unsuitable"
    weak = next(f for f in assessment.findings if f.rule_id == "test.weak")
    assert weak.superseded_by == ("test.strong",)  # equal in the catalogue: applies


@pytest.mark.parametrize(
    ("supersedes", "expected"),
    [
        (["test.nope"], "unknown rule 'test.nope'"),
        (["test.strong"], "cannot supersede itself"),
        (["test.weak"], "more severe"),
    ],
)
def test_bad_supersedes_are_refused(tmp_path, supersedes, expected):
    rules = [
        rule("test.strong", HIGH, severity="minor", supersedes=supersedes),
        rule("test.weak", RISKY, severity="major"),
    ]
    (message,) = refused(tmp_path, rules)
    assert "test.strong: supersedes[0]" in message and expected in message


# --------------------------------------------------------------------------- examples' as_of


OUTDATED = {
    "months_since": "resident.danger_assessment_date",
    "gt": {"param": "max_danger_assessment_age_months"},
}


def test_examples_are_measured_from_their_as_of(tmp_path):
    from roprules.authoring.lint import lint

    examples = {
        "fires": [{"as_of": "2026-11-30", "resident": {"danger_assessment_date": "2026-05-29"}}],
        "silent": [{"as_of": "2026-11-30", "resident": {"danger_assessment_date": "2026-05-30"}}],
        "undetermined": [{"resident": {"violence_risk": "high"}}],
    }
    ruleset = load_ruleset(
        write_rules(
            tmp_path,
            [rule("test.outdated", OUTDATED, examples=examples)],
            law_as_of="2026-11-30",
        )
    )
    assert lint(ruleset) == []


def test_an_example_date_after_its_as_of_is_refused(tmp_path):
    examples = {
        "fires": [{"as_of": "2026-01-01", "resident": {"danger_assessment_date": "2026-05-29"}}],
        "silent": [{"resident": {}}],
    }
    (message,) = refused(tmp_path, [rule("test.outdated", OUTDATED, examples=examples)])
    assert "examples.fires[0]" in message and "after the assessment date 2026-01-01" in message
