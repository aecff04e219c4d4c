"""A broken rule base is refused whole, with every problem named by file and rule id."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import RULES_DIR
from roprules.rulebase.ruleset import RulesetError, load_ruleset

# Parsing YAML dominates load time, so most tests load a copy with four themes,
# its header listing just those. `beyond` is among them because rules of the fire
# theme supersede a rule there (fire.care-housing-sprinkler), and `supersedes`
# must name a rule that is loaded.
THEMES = ("supervision", "building", "fire", "beyond")


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def dump_yaml(path: Path, document: Any) -> None:
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    target.mkdir()
    shutil.copy(RULES_DIR / "parameters.yaml", target / "parameters.yaml")
    for name in THEMES:
        shutil.copytree(RULES_DIR / name, target / name)
    header = load_yaml(RULES_DIR / "ruleset.yaml")
    header["themes"] = [theme for theme in header["themes"] if theme["id"] in THEMES]
    dump_yaml(target / "ruleset.yaml", header)
    return target


@pytest.fixture
def all_rules(tmp_path: Path) -> Path:
    target = tmp_path / "all_rules"
    shutil.copytree(RULES_DIR, target)
    return target


def edit(rules: Path, file: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """Load a rule file (`theme/prefix`), change it, write it back; return its path."""
    path = rules / f"{file}.yaml"
    document = load_yaml(path)
    change(document)
    dump_yaml(path, document)
    return path


def rule_of(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(rule for rule in document["rules"] if rule["id"] == rule_id)


def errors(rules: Path) -> list[str]:
    with pytest.raises(RulesetError) as info:
        load_ruleset(rules)
    assert info.value.messages
    assert str(info.value) == "\n".join(info.value.messages)
    return info.value.messages


def single_error(rules: Path) -> str:
    messages = errors(rules)
    assert len(messages) == 1, messages
    return messages[0]


VIOLENCE = "supervision.high-violence-risk-unsupervised"
GYPSUM = "building.gypsum-walls"


def test_copy_loads_with_same_hash(all_rules, ruleset):
    copy = load_ruleset(all_rules)
    assert copy.sha256 == ruleset.sha256
    assert [r.id for r in copy.rules] == [r.id for r in ruleset.rules]


def test_subset_loads(rules, ruleset):
    subset = load_ruleset(rules)
    assert {r.theme for r in subset.rules} == set(THEMES)
    assert subset.sha256 != ruleset.sha256


def test_duplicate_id_across_files(rules):
    # The same prefix may have a file in two themes (building rules about fire).
    # Themes are read in the header's order: fire before building.
    source = load_yaml(rules / "fire" / "building.yaml")
    duplicate = source["rules"][0]
    path = edit(rules, "building/building", lambda doc: doc["rules"].append(duplicate))
    message = single_error(rules)
    assert message.startswith(f"{path}: {duplicate['id']}: ")
    assert "duplicate rule id" in message
    assert "fire/building.yaml" in message


def test_rule_in_the_file_of_another_prefix(rules):
    source = load_yaml(rules / "supervision" / "supervision.yaml")
    stray = rule_of(source, VIOLENCE)
    edit(rules, "supervision/supervision", lambda doc: doc["rules"].remove(stray))
    path = edit(rules, "fire/fire", lambda doc: doc["rules"].append(stray))
    message = single_error(rules)
    assert message.startswith(f"{path}: {VIOLENCE}: ")
    assert "belongs in fire/supervision.yaml" in message


def test_unknown_field_path(rules):
    def change(doc):
        rule_of(doc, VIOLENCE)["when"]["all"][0] = {"resident.violense_risk": {"eq": "high"}}

    path = edit(rules, "supervision/supervision", change)
    message = single_error(rules)
    assert message.startswith(f"{path}: {VIOLENCE}: ")
    assert "unknown field 'resident.violense_risk'" in message


def test_enum_typo_in_condition(rules):
    def change(doc):
        rule_of(doc, VIOLENCE)["when"]["all"][0] = {"resident.violence_risk": {"eq": "hihg"}}

    path = edit(rules, "supervision/supervision", change)
    message = single_error(rules)
    assert message.startswith(f"{path}: {VIOLENCE}: ")
    assert "'hihg' is not a value of resident.violence_risk" in message


def test_unknown_parameter(rules):
    def change(doc):
        doc["rules"][0]["when"] = {
            "offer.location.fire_response_minutes": {"gt": {"param": "nope"}}
        }

    path = edit(rules, "fire/fire", change)
    message = single_error(rules)
    assert message.startswith(f"{path}: fire.high-risk-no-sprinkler: ")
    assert "unknown parameter 'nope'" in message


def test_missing_nb_text(rules):
    path = edit(rules, "building/building", lambda doc: rule_of(doc, GYPSUM)["title"].pop("nb"))
    message = single_error(rules)
    assert message.startswith(f"{path}: {GYPSUM}: ")
    assert "title.nb" in message and "missing" in message


def test_missing_examples(rules):
    path = edit(
        rules, "building/building", lambda doc: rule_of(doc, GYPSUM)["examples"].pop("silent")
    )
    message = single_error(rules)
    assert message.startswith(f"{path}: {GYPSUM}: ") and "examples.silent" in message


def test_invalid_example_profile(rules):
    def change(doc):
        rule_of(doc, GYPSUM)["examples"]["fires"][0]["offer"]["sprinkle"] = "none"

    path = edit(rules, "building/building", change)
    message = single_error(rules)
    assert message.startswith(f"{path}: {GYPSUM}: examples.fires[0]: ")
    assert "sprinkle" in message


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Verdi: {{ resident.violense_risk }}", "unknown field 'resident.violense_risk'"),
        ("Verdi: {{ offer.building.sprinkle }}", "unknown field 'offer.building.sprinkle'"),
        ("Verdi: {{ params.nope }}", "unknown parameter"),
        ("Verdi: {{ ''.__class__ }}", "attributes may only be read"),
        ("Verdi: {{ ''.__class__.__mro__ }}", "attributes may only be read"),
        ("Verdi: {{ offer.staffing.upper() }}", "a call is not allowed"),
        ("Verdi: {{ offer.staffing | upper }}", "a filter ('|') is not allowed"),
        ("Verdi: {{ cycler }}", "'cycler' must be followed by a field"),
        ("Verdi: {{ offer['staffing'] }}", "is not allowed"),
        ("{% for x in offer.location.hazards %}{{ x }}{% endfor %}", "is not allowed"),
        ("Verdi: {{ offer.staffing ", "template syntax error"),
    ],
)
def test_bad_template(rules, template, expected):
    def change(doc):
        rule_of(doc, GYPSUM)["explanation"]["en"] = template

    path = edit(rules, "building/building", change)
    message = single_error(rules)
    assert message.startswith(f"{path}: {GYPSUM}: ")
    assert expected in message


def test_bad_suggestion_template(rules):
    def change(doc):
        rule_of(doc, GYPSUM)["suggestion"]["nb"] = "{{ offer.__class__ }}"

    edit(rules, "building/building", change)
    message = single_error(rules)
    assert GYPSUM in message and "unknown field 'offer.__class__'" in message


def test_several_faults_all_listed(rules):
    def break_supervision(doc):
        rule_of(doc, VIOLENCE)["when"]["all"][0] = {"resident.violence_risk": {"eq": "hihg"}}

    def break_building(doc):
        rule_of(doc, GYPSUM)["title"].pop("nb")
        rule_of(doc, GYPSUM)["explanation"]["nb"] = "{{ offer.staffing | upper }}"

    def break_fire(doc):
        doc["rules"][0]["when"] = {"resident.fire_risk": {"eq": "hot"}}

    supervision = edit(rules, "supervision/supervision", break_supervision)
    building = edit(rules, "building/building", break_building)
    fire = edit(rules, "fire/fire", break_fire)
    messages = errors(rules)
    assert any(m.startswith(f"{supervision}: {VIOLENCE}: ") and "hihg" in m for m in messages)
    assert any(m.startswith(f"{building}: {GYPSUM}: ") and "title.nb" in m for m in messages)
    assert any(
        m.startswith(f"{fire}: fire.high-risk-no-sprinkler: ") and "'hot'" in m for m in messages
    )
    assert len(messages) >= 3


def test_several_faults_in_one_rule_all_listed(rules):
    def change(doc):
        rule = rule_of(doc, VIOLENCE)
        rule["when"] = {
            "all": [
                {"resident.violense_risk": {"eq": "high"}},
                {"offer.staffing": {"ne": "round_the_clok"}},
            ]
        }
        rule["explanation"]["en"] = "{{ offer.staff }}"

    path = edit(rules, "supervision/supervision", change)
    messages = [m for m in errors(rules) if m.startswith(f"{path}: {VIOLENCE}: ")]
    text = "\n".join(messages)
    assert "resident.violense_risk" in text
    assert "round_the_clok" in text
    assert "offer.staff" in text


def test_bad_parameters_file(rules):
    path = rules / "parameters.yaml"
    document = load_yaml(path)
    first = next(iter(document["parameters"]))
    document["parameters"][first]["value"] = "ten"
    dump_yaml(path, document)
    messages = errors(rules)
    assert any(str(path) in m and first in m for m in messages), messages


def test_theme_folder_not_listed_in_header(rules):
    shutil.copytree(RULES_DIR / "voice", rules / "voice")
    message = single_error(rules)
    assert message.startswith(str(rules / "voice")) and "not a theme folder listed" in message


def test_stray_file_at_the_top_is_refused(rules):
    shutil.copy(RULES_DIR / "voice" / "voice.yaml", rules / "voice.yaml")
    message = single_error(rules)
    assert message.startswith(str(rules / "voice.yaml")) and "not a theme folder" in message


def test_listed_theme_folder_missing(rules):
    shutil.rmtree(rules / "fire")
    message = single_error(rules)
    assert "fire/ does not exist" in message


def test_missing_rules_directory(tmp_path):
    messages = errors(tmp_path / "nowhere")
    assert "no such rules directory" in messages[0]


# --------------------------------------------------------------------------- hash


def test_hash_is_stable(rules):
    assert load_ruleset(rules).sha256 == load_ruleset(rules).sha256


def test_hash_changes_when_a_rule_file_changes(rules):
    before = load_ruleset(rules).sha256
    edit(
        rules,
        "building/building",
        lambda doc: rule_of(doc, GYPSUM)["title"].update(en="Gypsum walls!"),
    )
    changed = load_ruleset(rules).sha256
    assert changed != before
    assert load_ruleset(rules).sha256 == changed


def test_hash_changes_when_a_parameter_changes(rules):
    before = load_ruleset(rules).sha256
    path = rules / "parameters.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("value: 10", "value: 11", 1), encoding="utf-8"
    )
    assert load_ruleset(rules).sha256 != before


def test_hash_ignores_files_that_are_not_rules(rules):
    before = load_ruleset(rules).sha256
    (rules / "README.txt").write_text("notes", encoding="utf-8")
    assert load_ruleset(rules).sha256 == before


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "https://x.no/a b", "ftp://x.no/", "https://x.no/\u202e", "//x.no"],
)
def test_source_url_must_be_a_web_address(rules, url):
    def change(document: dict[str, Any]) -> None:
        document["rules"][0]["sources"].append({"title": "A source", "url": url})

    path = edit(rules, "building/building", change)
    message = single_error(rules)
    assert message.startswith(f"{path}: ") and "http:// or https://" in message
