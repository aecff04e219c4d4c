"""The message catalogue is complete: every field, value and rule term in nb and en."""

from __future__ import annotations

import pytest

from contract_pending import PENDING_FIELDS, PENDING_VALUES
from roprules.contract.fields import FIELDS
from roprules.contract.messages import LANGUAGES, messages
from roprules.rulebase.ruleset import load_ruleset


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


def _text(entry, lang):
    return isinstance(entry, dict) and isinstance(entry.get(lang), str) and entry[lang].strip()


def test_every_field_has_label_and_question():
    catalogue = messages()
    problems = []
    for path in FIELDS:
        entry = catalogue.fields.get(path)
        if entry is None:
            problems.append(f"{path}: no entry in fields.yaml")
            continue
        for part in ("label", "question"):
            for lang in LANGUAGES:
                if not _text(entry.get(part), lang):
                    problems.append(f"{path}: {part} missing in {lang}")
    assert not problems, "\n".join(problems)


def test_every_enum_and_list_value_has_labels():
    catalogue = messages()
    problems = []
    for path, spec in FIELDS.items():
        values = catalogue.fields.get(path, {}).get("values", {})
        for value in spec.values:
            for lang in LANGUAGES:
                if not _text(values.get(value), lang):
                    problems.append(f"{path}: value {value!r} has no {lang} label")
    assert not problems, "\n".join(problems)


def test_catalogue_has_no_unknown_fields_or_values():
    catalogue = messages()
    unknown = [p for p in catalogue.fields if p not in FIELDS and p not in PENDING_FIELDS]
    assert not unknown, f"fields.yaml has entries for unknown fields: {unknown}"
    stray = [
        f"{path}: {value}"
        for path, entry in catalogue.fields.items()
        if path in FIELDS
        for value in entry.get("values", {})
        if value not in FIELDS[path].values
        and (path, value) not in PENDING_VALUES
        and value not in entry.get("deprecated_values", {})
    ]
    assert not stray, f"fields.yaml labels values the contract does not have: {stray}"


def test_every_term_used_by_the_rules_exists(ruleset):
    terms = messages().terms
    needed = {("verdict", v) for v in ("unsuitable", "incomplete", "conditional", "suitable")} | {
        ("verdict_meaning", v) for v in ("unsuitable", "incomplete", "conditional", "suitable")
    }
    for severity in ("critical", "major", "minor", "info"):
        needed |= {("severity", severity), ("severity_meaning", severity)}
    for rule in ruleset.rules:
        spec = rule.spec
        needed |= {
            ("severity", rule.severity),
            ("severity", spec.severity),
            ("kind", spec.kind),
            ("scope", spec.scope),
        }
        needed |= {("topics", topic) for topic in spec.topics}
    for name, parameter in ruleset.parameters.items():
        needed |= {("units", parameter.unit), ("origin", parameter.origin)}
        assert name
    problems = [
        f"terms.yaml: {group}.{key} missing in {lang}"
        for group, key in sorted(needed)
        for lang in LANGUAGES
        if not _text(terms.get(group, {}).get(key), lang)
    ]
    assert not problems, "\n".join(problems)


def test_report_and_handbook_words_exist_in_both_languages():
    terms = messages().terms
    problems = []
    for group in ("ui", "outcome", "booleans", "value_origin", "list", "parameter"):
        for key, entry in terms[group].items():
            for lang in LANGUAGES:
                if not _text(entry, lang):
                    problems.append(f"{group}.{key}: {lang}")

    def walk(prefix, node):
        if isinstance(node, dict) and set(node) <= set(LANGUAGES):
            for lang in LANGUAGES:
                if not _text(node, lang):
                    problems.append(f"{prefix}: {lang}")
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(f"{prefix}.{key}", child)

    walk("handbook", terms["handbook"])
    assert not problems, "\n".join(problems)
