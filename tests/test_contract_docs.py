"""docs/contract.md is current; the schema describes every field; the template fills in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from roprules.cli import main
from roprules.contract.fields import FieldInfo, field_registry
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import PROFILE_MODELS
from roprules.report.contract_docs import (
    contract_markdown,
    profile_json_schema,
    profile_template,
    schema_id,
)
from roprules.rulebase.ruleset import load_ruleset

DOCS = Path(__file__).resolve().parents[1] / "docs" / "contract.md"
REGENERATE = "roprules docs contract --out docs/contract.md"


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


def test_docs_contract_is_current(ruleset):
    expected = contract_markdown(ruleset)
    assert DOCS.exists(), f"docs/contract.md is missing; run `{REGENERATE}`"
    assert DOCS.read_text(encoding="utf-8") == expected, (
        f"docs/contract.md is not current with the field registry, the models and the rules; "
        f"run `{REGENERATE}` and commit the result"
    )


def test_docs_contract_shows_every_field_with_its_texts_class_and_rules(ruleset):
    text = contract_markdown(ruleset)
    for info in field_registry().values():
        assert f"#### `{info.path}`" in text, info.path
    section = text.split("#### `offer.staffing`")[1].split("#### ")[0]
    assert "| label | bemanning på stedet | staffing |" in section
    assert "`round_the_clock` | heldøgns bemanning | round-the-clock staff" in section
    assert "- Class: `offer`" in section
    readers = sorted(r.id for r in ruleset.rules if "offer.staffing" in r.fields)
    assert readers and f"- Read by: {', '.join(f'`{i}`' for i in readers)}" in section
    age = text.split("#### `resident.age`")[1].split("#### ")[0]
    assert "integer 16–110 (years)" in age and "- Class: `fixed`" in age


def test_docs_contract_command_writes_the_file(tmp_path, capsys):
    out = tmp_path / "contract.md"
    assert main(["docs", "contract", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == contract_markdown(load_ruleset())


# --------------------------------------------------------------------------- schema


def _properties(schema: dict, path: str) -> dict:
    """The JSON Schema property for a field path, following $ref into $defs."""
    parts = path.split(".")[1:]
    node = schema
    for part in parts:
        prop = node["properties"][part]
        node = prop
        refs = [
            alt["$ref"] for alt in prop.get("anyOf", []) if isinstance(alt, dict) and "$ref" in alt
        ]
        if refs and part != parts[-1]:
            node = schema["$defs"][refs[0].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize("kind", ["resident", "offer"])
def test_schema_describes_every_field(kind, capsys):
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_id(kind)
    missing = []
    for info in field_registry().values():
        if info.profile != kind:
            continue
        prop = _properties(schema, info.path)
        if not prop.get("description") or prop.get("title") != info.label["en"]:
            missing.append(info.path)
        assert prop["x-roprules"]["class"] == info.field_class
    assert not missing, f"fields without a description: {missing}"
    assert set(schema["properties"]) == set(PROFILE_MODELS[kind].model_fields)


def test_schema_description_names_values_and_speaks_bokmal():
    schema = profile_json_schema("offer", "nb")
    staffing = schema["properties"]["staffing"]
    assert "round_the_clock = heldøgns bemanning" in staffing["description"]
    assert staffing["title"] == "bemanning på stedet"
    assert staffing["x-roprules"]["values"]["ambulant"]["en"] == "a visiting team"


# --------------------------------------------------------------------------- template


def _valid_value(info: FieldInfo) -> str:
    """A valid YAML value for a field, from its registry record."""
    codes = [v.code for v in info.values if not v.deprecated]
    if info.kind == "enum":
        return codes[-1]
    if info.kind == "list":
        return "[" + ", ".join(codes[:2]) + "]"
    if info.kind == "bool":
        return "true"
    if info.kind == "date":
        return "2020-03-14"
    if info.kind == "text":
        return "X-17"
    if info.numeric:
        low = info.minimum if info.minimum is not None else 0
        value = low + 1 if info.exclusive_minimum or info.maximum is None else low
        return str(int(value)) if info.kind == "int" else f"{float(value):.1f}"
    return ""  # an object: its children are filled in


def _fill(template: str, kind: str) -> str:
    by_name: dict[tuple[str, str], FieldInfo] = {}
    for info in field_registry().values():
        if info.profile == kind:
            by_name[(info.parent or "", info.name)] = info
    out, parent = [], ""
    for line in template.splitlines():
        match = re.fullmatch(r"#( *)([a-z_0-9]+):", line)
        if not match:
            out.append(line)
            continue
        indent, name = match.groups()
        if not indent:
            parent = ""
        key = (f"{kind}.{parent}" if indent else "", name)
        info = by_name[key]
        if info.kind == "object":
            parent = name
        out.append(f"{indent}{name}: {_valid_value(info)}".rstrip())
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("kind", ["resident", "offer"])
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_filled_template_loads(kind, lang, tmp_path, capsys):
    assert main(["template", kind, "--lang", lang]) == 0
    template = capsys.readouterr().out
    assert yaml.safe_load(template) is None, "a blank template has every field commented out"
    filled = _fill(template, kind)
    path = tmp_path / f"{kind}.yaml"
    path.write_text(filled, encoding="utf-8")
    profile = (load_resident if kind == "resident" else load_offer)(path)
    data = profile.model_dump(exclude_none=True)
    live = [
        info for info in field_registry().values() if info.profile == kind and not info.deprecated
    ]
    for info in live:  # every field of the contract was in the template, and is now set
        node = data
        for part in info.path.split(".")[1:]:
            assert part in node, f"{info.path} not in the filled template"
            node = node[part]


def test_template_shows_label_values_and_help():
    text = profile_template("resident", "nb")
    block = text.split("#violence_risk:")[0].rsplit("\n\n", 1)[1]
    assert block.startswith("# Voldsrisiko. Resultatet av den siste voldsrisikovurderingen")
    assert "#   high = høy" in block
    assert "# == Risiko og sikkerhet ==" in text
    en = profile_template("offer", "en")
    assert "#   round_the_clock = round-the-clock staff" in en
    assert "#building:\n" in en and "#  sprinkler:\n" in en
    assert "needs_coercion" not in text, "deprecated fields are left out of a new profile"


def test_template_to_file(tmp_path):
    out = tmp_path / "blank.yaml"
    assert main(["template", "offer", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == profile_template("offer", "nb")
