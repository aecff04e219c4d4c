"""`roprules rules lint`, `rules coverage` and municipality overlays, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from roprules import Engine, RulesetError
from roprules.authoring.lint import ReportText, lint, satisfiable
from roprules.cli import main
from roprules.rulebase.conditions import parse_condition
from roprules.rulebase.ruleset import load_ruleset

REPORT = REPO.parent / "shared" / "source" / "sintef-2020-etablering-av-boliger-rop.txt"
needs_report = pytest.mark.skipif(
    not REPORT.is_file(), reason="the report text is not beside the repo"
)


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    return target


def edit_rule(rules: Path, file: str, rule_id: str, change) -> None:
    path = rules / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rule = next(r for r in data["rules"] if r["id"] == rule_id)
    change(rule)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@needs_report
def test_shipped_rules_pass_lint_with_the_report(ruleset):
    assert lint(ruleset, REPORT) == []


def test_report_text_tolerates_line_breaks_hyphens_and_gaps():
    report = ReportText(
        "Det er viktig med\nen kort og trygg rei-\nsevei. Mer tekst. ROP-\npasienter bor her."
    )
    assert report.contains("Det er viktig med en kort og trygg reisevei.")
    assert report.contains("Det er viktig ... trygg reisevei")
    assert report.contains("ROP-pasienter bor her")
    assert not report.contains("Det er viktig med en lang reisevei")
    assert not report.contains("trygg reisevei ... Det er viktig")  # parts must keep their order


@needs_report
def test_lint_fails_on_a_misquoted_passage(tmp_path):
    rules = copy_rules(tmp_path)

    def misquote(rule):
        rule["sources"][0]["quote"] = "Disse kan gjerne plasseres i småhus uten tilsyn"

    edit_rule(
        rules,
        "supervision/supervision.yaml",
        "supervision.high-violence-risk-unsupervised",
        misquote,
    )
    problems = lint(load_ruleset(rules), REPORT)
    assert len(problems) == 1
    assert "supervision.high-violence-risk-unsupervised" in problems[0]
    assert "not found verbatim" in problems[0]
    assert main(["rules", "lint", "--rules", str(rules), "--source", str(REPORT)]) == 2


def test_lint_fails_on_a_mislabelled_example(tmp_path):
    rules = copy_rules(tmp_path)

    def swap(rule):
        rule["examples"]["fires"], rule["examples"]["silent"] = (
            rule["examples"]["silent"],
            rule["examples"]["fires"],
        )

    edit_rule(rules, "fire/fire.yaml", "fire.high-risk-no-sprinkler", swap)
    problems = lint(load_ruleset(rules))
    assert any("fire.high-risk-no-sprinkler: examples.fires[0]" in p for p in problems)
    assert any("fire.high-risk-no-sprinkler: examples.silent[0]" in p for p in problems)


def test_lint_fails_on_two_rules_with_the_same_condition(tmp_path):
    rules = copy_rules(tmp_path)
    data = yaml.safe_load((rules / "building" / "building.yaml").read_text(encoding="utf-8"))
    gypsum = next(r for r in data["rules"] if r["id"] == "building.gypsum-walls")

    def same_as_gypsum(rule):
        rule["when"] = gypsum["when"]
        rule["examples"] = gypsum["examples"]

    edit_rule(rules, "building/building.yaml", "building.no-separate-bedroom", same_as_gypsum)
    problems = lint(load_ruleset(rules))
    assert any("same condition as building.gypsum-walls" in p for p in problems)


def test_lint_fails_on_a_condition_that_can_never_be_true(tmp_path):
    rules = copy_rules(tmp_path)

    def contradict(rule):
        rule["when"] = {
            "all": [
                {"offer.building.gypsum_walls": {"eq": True}},
                {"offer.building.gypsum_walls": {"eq": False}},
            ]
        }

    edit_rule(rules, "building/building.yaml", "building.gypsum-walls", contradict)
    problems = lint(load_ruleset(rules))
    assert any("building.gypsum-walls: the condition can never be true" in p for p in problems)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"all": [{"resident.age": {"gt": 40}}, {"resident.age": {"lt": 41}}]}, False),
        ({"all": [{"resident.age": {"gt": 40}}, {"resident.age": {"lt": 42}}]}, True),
        (
            {
                "all": [
                    {"resident.dementia": {"eq": True}},
                    {"not": {"resident.dementia": {"ne": False}}},
                ]
            },
            False,
        ),
        (
            {"any": [{"offer.type": {"in": []}}]}
            if False
            else {"offer.type": {"in": ["ordinary"]}},
            True,
        ),
        (
            {
                "all": [
                    {"resident.violence_risk": {"is_set": False}},
                    {"resident.violence_risk": {"eq": "high"}},
                ]
            },
            False,
        ),
    ],
)
def test_satisfiable(condition, expected):
    assert satisfiable(parse_condition(condition, "when", {}), {}) is expected


def test_lint_catches_the_loader_faults_too(tmp_path):
    rules = copy_rules(tmp_path)
    edit_rule(
        rules,
        "fire/fire.yaml",
        "fire.high-risk-sprinkler",
        lambda r: r.update(when={"resident.fire_risk": {"eq": "hihg"}}),
    )
    assert main(["rules", "lint", "--rules", str(rules)]) == 2


def test_coverage_lists_every_cited_section(ruleset, capsys):
    assert (
        main(["rules", "coverage", "--profiles", str(REPO / "profiles"), "--format", "json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    cited = {s.section for rule in ruleset.rules for s in rule.spec.sources if s.section}
    assert set(result["sections"]) == cited
    assert {r["rule_id"] for r in result["rules"]} == {rule.id for rule in ruleset.rules}
    by_id = {r["rule_id"]: r for r in result["rules"]}
    assert by_id["supervision.high-violence-risk-unsupervised"]["profile_cases"]
    assert all(r["examples_firing"] >= 1 for r in result["rules"])


def write_overlay(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "kommune.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_overlay_changes_parameters_and_severities_and_is_recorded(tmp_path):
    overlay = write_overlay(
        tmp_path,
        {
            "name": "Eksempel kommune",
            "parameters": {"max_distance_to_shop_m": 2000},
            "rules": {
                "building.gypsum-walls": {
                    "severity": "major",
                    "reason": "Mange skader på gipsvegger i kommunens boliger.",
                    "approved_by": "boligsjef",
                }
            },
        },
    )
    base = Engine.load()
    local = Engine.load(overlay=overlay)
    offer = {
        "id": "O-1",
        "type": "ordinary",
        "location": {"distance_to_shop_m": 1500},
        "building": {"gypsum_walls": True},
    }
    before = {f.rule_id: f.severity for f in base.audit(offer).findings}
    after_assessment = local.audit(offer)
    after = {f.rule_id: f.severity for f in after_assessment.findings}
    assert "location.far-from-shop" in before and "location.far-from-shop" not in after
    assert before["building.gypsum-walls"] == "minor" and after["building.gypsum-walls"] == "major"
    changed = next(f for f in after_assessment.findings if f.rule_id == "building.gypsum-walls")
    assert changed.local_change is not None
    assert changed.local_change.original_severity == "minor"
    assert changed.local_change.approved_by == "boligsjef"
    assert after_assessment.ruleset.overlay is not None
    assert after_assessment.ruleset.overlay.name == "Eksempel kommune"
    assert len(after_assessment.ruleset.overlay.sha256) == 64
    assert base.audit(offer).ruleset.overlay is None


CHANGE = {"reason": "Lokal vurdering.", "approved_by": "kommunalsjef"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "K", "parameters": {"max_distance_to_shoop_m": 1}},
            "parameters.max_distance_to_shoop_m: unknown parameter",
        ),
        (
            {"name": "K", "rules": {"building.gypsum-wall": {**CHANGE, "severity": "major"}}},
            "rules.building.gypsum-wall: unknown rule",
        ),
        (
            {"name": "K", "rules": {"building.gypsum-walls": {**CHANGE, "severity": "huge"}}},
            "rules.building.gypsum-walls",
        ),
        (
            {"name": "K", "severities": {"building.gypsum-walls": "major"}},
            "'severities' is no longer accepted",
        ),
        ({"name": "K", "conditions": {}}, "conditions: unknown field"),
    ],
)
def test_bad_overlay_is_refused(tmp_path, data, message):
    overlay = write_overlay(tmp_path, data)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(overlay=overlay)
    assert any(message in m and "kommune.yaml" in m for m in caught.value.messages), (
        caught.value.messages
    )
