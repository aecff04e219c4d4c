"""Guarded overlays (issue 8 item 5): bounded parameters, rule changes with reason and role."""

from __future__ import annotations

import json

import pytest
import yaml

from minirules import rule, write_rules
from roprules import Engine, RulesetError
from roprules.cli import main
from roprules.report.handbook import render_handbook
from roprules.report.render import render_assessment
from roprules.rulebase.ruleset import load_ruleset

CHANGE = {"reason": "Lokal vurdering etter høring.", "approved_by": "kommunalsjef helse og omsorg"}
RESIDENT = {"id": "R-1", "violence_risk": "high"}
OFFER = {"id": "O-1", "type": "small_house", "staffing": "ambulant"}
CRITICAL = "supervision.high-violence-risk-unsupervised"


def overlay_file(tmp_path, data) -> str:
    path = tmp_path / "kommune.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def refused(tmp_path, data) -> list[str]:
    with pytest.raises(RulesetError) as info:
        load_ruleset(overlay=overlay_file(tmp_path, data))
    return info.value.messages


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "expected a whole number; got bool"),
        ("1500", "expected a whole number; got str"),
        (1500.5, "expected a whole number"),
        (-1, "below the minimum 100"),
        (10**7, "above the maximum 10000"),
        (None, "expected a whole number; got NoneType"),
    ],
)
def test_parameter_values_are_type_and_bounds_checked(tmp_path, value, expected):
    messages = refused(tmp_path, {"name": "K", "parameters": {"max_distance_to_shop_m": value}})
    assert any("parameters.max_distance_to_shop_m" in m and expected in m for m in messages), (
        messages
    )


def test_a_parameter_within_bounds_is_accepted(tmp_path):
    ruleset = load_ruleset(
        overlay=overlay_file(
            tmp_path, {"name": "K", "parameters": {"max_distance_to_shop_m": 1500}}
        )
    )
    assert ruleset.params["max_distance_to_shop_m"] == 1500


def test_every_shipped_parameter_has_bounds_and_reasons_in_both_languages(ruleset):
    for name, parameter in ruleset.parameters.items():
        assert parameter.min is not None and parameter.max is not None, name
        assert parameter.min <= parameter.value <= parameter.max, name
        assert parameter.rationale.nb and parameter.rationale.en, name
    assert ruleset.parameters["max_danger_assessment_age_months"].value == 6
    assert ruleset.parameters["max_low_risk_assessment_age_months"].value == 12
    assert ruleset.parameters["max_fire_response_minutes"].value == 20


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"severity": "minor"}, "reason"),
        ({"severity": "minor", "reason": "Fordi."}, "approved_by"),
        ({"severity": "minor", "approved_by": "rådmann"}, "reason"),
        ({"severity": "minor", "reason": "  ", "approved_by": "rådmann"}, "reason"),
        ({"severity": "minor", "reason": "Fordi.", "approved_by": "Kari Nordmann"}, "role"),
        ({"enabled": False}, "reason"),
        ({"enabled": True, **CHANGE}, "enabled"),
        ({**CHANGE}, "either 'severity' or 'enabled: false'"),
        ({"severity": "minor", "enabled": False, **CHANGE}, "either"),
    ],
)
def test_a_rule_change_needs_reason_and_role(tmp_path, change, expected):
    messages = refused(tmp_path, {"name": "K", "rules": {CRITICAL: change}})
    assert any(CRITICAL in m and expected in m for m in messages), messages


def test_legacy_severities_are_refused_with_a_pointer_to_the_new_form(tmp_path):
    messages = refused(tmp_path, {"name": "K", "severities": {CRITICAL: "minor"}})
    assert any("'severities' is no longer accepted" in m and "rules:" in m for m in messages)


def test_cli_refuses_lowering_a_critical_rule_without_reason(tmp_path, capsys):
    path = overlay_file(tmp_path, {"name": "K", "rules": {CRITICAL: {"severity": "minor"}}})
    assert main(["audit", "--offer", overlay_file_offer(tmp_path), "--overlay", path]) == 2
    err = capsys.readouterr().err
    assert "kommune.yaml" in err and "reason" in err and "Traceback" not in err


def overlay_file_offer(tmp_path) -> str:
    path = tmp_path / "offer.yaml"
    path.write_text("id: O-1\ntype: small_house\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def lowered(tmp_path_factory):
    path = overlay_file(
        tmp_path_factory.mktemp("overlay"),
        {"name": "Eksempel kommune", "rules": {CRITICAL: {"severity": "minor", **CHANGE}}},
    )
    return Engine.load(overlay=path)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_says_the_severity_was_changed_locally(lowered, fmt):
    assessment = lowered.check(RESIDENT, OFFER)
    finding = next(f for f in assessment.findings if f.rule_id == CRITICAL)
    assert finding.severity == "minor"
    assert finding.local_change.original_severity == "critical"
    out = render_assessment(assessment, fmt)
    if fmt == "json":
        change = next(f for f in json.loads(out)["findings"] if f["rule_id"] == CRITICAL)
        assert change["local_change"]["reason"] == CHANGE["reason"]
        return
    text = out.replace("\\", "")
    assert "lokalt endret fra kritisk til mindre: Lokal vurdering etter høring." in text
    assert "kommunalsjef helse og omsorg" in text


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_the_handbook_lists_the_local_changes(lowered, fmt):
    text = render_handbook(lowered.ruleset, fmt, "nb").replace("\\", "")
    assert CHANGE["reason"] in text and CHANGE["approved_by"] in text


def test_a_rule_switched_off_does_not_run_and_is_listed(tmp_path):
    path = overlay_file(tmp_path, {"name": "K", "rules": {CRITICAL: {"enabled": False, **CHANGE}}})
    engine = Engine.load(overlay=path)
    assert CRITICAL not in {r.id for r in engine.ruleset.rules}
    assert CRITICAL not in {f.rule_id for f in engine.check(RESIDENT, OFFER).findings}
    (change,) = engine.ruleset.local_changes
    assert (change.rule_id, change.severity) == (CRITICAL, None)
    assert "slått av" in render_handbook(engine.ruleset, "markdown", "nb")


HIGH = {"resident.violence_risk": {"eq": "high"}}
RISKY = {"resident.violence_risk": {"in": ["moderate", "high"]}}


@pytest.mark.parametrize(
    ("weak_to", "applies"), [(None, True), ("major", False), ("critical", False), ("info", True)]
)
def test_an_overlay_that_raises_the_superseded_rule_lifts_the_pair(tmp_path, weak_to, applies):
    rules = [
        rule("test.strong", HIGH, severity="major", supersedes=["test.weak"]),
        rule("test.weak", RISKY, severity="minor"),
    ]
    directory = write_rules(tmp_path, rules)
    changes = {"test.weak": {"severity": weak_to, **CHANGE}} if weak_to else {}
    engine = Engine.load(directory, overlay_file(tmp_path, {"name": "K", "rules": changes}))
    weak = next(f for f in engine.assess_resident(RESIDENT).findings if f.rule_id == "test.weak")
    assert weak.superseded_by == (("test.strong",) if applies else ())
