"""The field registry is complete against the models, and its classes and groups hold."""

from __future__ import annotations

import re

import pytest

from contract_pending import PENDING_FIELDS
from roprules.contract.fields import (
    FIELD_CLASSES,
    FIELDS,
    OFFER_GROUPS,
    RESIDENT_GROUPS,
    field_info,
    field_limits,
    field_registry,
)
from roprules.contract.messages import LANGUAGES, messages

HOW = (
    "add an entry to src/roprules/messages/fields.yaml with label, class, group, help, "
    "question (nb and en), a unit for numbers and labels for every value (see the file's "
    "header), then run `roprules docs contract --out docs/contract.md`"
)


def _text(entry, lang):
    return isinstance(entry, dict) and isinstance(entry.get(lang), str) and entry[lang].strip()


def test_every_model_field_has_a_registry_entry():
    entries = messages().fields
    undocumented = [path for path in FIELDS if path not in entries]
    assert not undocumented, f"model fields without a registry entry: {undocumented}; {HOW}"
    assert all(info.documented for info in field_registry().values())
    assert list(field_registry()) == list(FIELDS), "the registry follows the models, in order"


def test_every_registry_entry_is_a_model_field():
    stray = [p for p in messages().fields if p not in FIELDS and p not in PENDING_FIELDS]
    assert not stray, (
        f"messages/fields.yaml documents fields the models do not have: {stray}. Remove the "
        "entry, fix its path, or add the field to src/roprules/contract/profiles.py"
    )


def test_every_entry_has_texts_class_group_and_unit():
    entries = messages().fields
    problems = []
    for path, entry in entries.items():
        for part in ("label", "help", "question"):
            for lang in LANGUAGES:
                if not _text(entry.get(part), lang):
                    problems.append(f"{path}: {part} missing in {lang}")
        if entry.get("class") not in FIELD_CLASSES:
            problems.append(f"{path}: class must be one of {FIELD_CLASSES}")
        groups = RESIDENT_GROUPS if path.startswith("resident.") else OFFER_GROUPS
        if entry.get("group") not in groups:
            problems.append(f"{path}: group must be one of {groups}")
        unit = entry.get("unit")
        if unit is not None and unit != "none" and unit not in messages().terms["units"]:
            problems.append(f"{path}: unit {unit!r} is not in terms.yaml units")
        spec = FIELDS.get(path)
        if spec is not None and spec.numeric and unit is None:
            problems.append(f"{path}: a number needs `unit` (a units key, or none)")
    assert not problems, "\n".join(problems) + f"\n{HOW}"


def test_registry_records_carry_type_bounds_and_texts():
    age = field_info("resident.age")
    assert (age.kind, age.minimum, age.maximum, age.unit) == ("int", 16, 110, "years")
    area = field_info("offer.building.floor_area_m2")
    assert area.minimum == 0 and area.exclusive_minimum and area.unit == "m2"
    assert field_info("resident.id").required and field_info("offer.type").required
    assert not field_info("resident.violence_risk").required
    staffing = field_info("offer.staffing")
    assert staffing.codes == ("none", "ambulant", "daytime", "round_the_clock")
    assert staffing.value_label("ambulant", "nb") == "ambulerende oppfølging"
    assert staffing.value_label("round_the_clock", "en") == "round-the-clock staff"
    assert staffing.text("question", "nb").endswith("?")
    assert field_info("offer.building.sprinkler").parent == "offer.building"
    assert field_info("offer.staffing").parent is None
    with pytest.raises(KeyError):
        field_info("resident.violense_risk")


def test_the_form_bounds_and_the_registry_read_the_same_constraints():
    """One walk gives both: a field's bounds in the form's catalogue (`field_limits`)
    are the registry record's, and lengths and exclusive bounds are kept."""
    limits = field_limits()
    assert limits["resident.age"] == {"minimum": 16, "maximum": 110}
    assert limits["offer.building.floor_area_m2"]["exclusive_minimum"] == 0
    assert limits["offer.id"] == {"min_length": 1, "max_length": 200}
    for path, info in field_registry().items():
        bound = limits[path]
        low = bound.get("exclusive_minimum", bound.get("minimum"))
        assert (info.minimum, info.maximum) == (low, bound.get("maximum")), path
        assert info.exclusive_minimum == ("exclusive_minimum" in bound), path


def test_a_constraint_outside_optional_is_read_too():
    """Pydantic moves a top-level `Annotated` constraint into the field's metadata;
    one inside `Optional[...]` stays in the annotation. Both count."""
    from typing import Annotated

    from pydantic import BaseModel, Field

    from roprules.contract.fields import _limits

    class Sample(BaseModel):
        top: Annotated[int, Field(ge=1, le=5)]
        inner: Annotated[float, Field(gt=0, lt=9)] | None = None

    assert _limits(Sample.model_fields["top"]) == {"minimum": 1, "maximum": 5}
    assert _limits(Sample.model_fields["inner"]) == {
        "exclusive_minimum": 0,
        "exclusive_maximum": 9,
    }


def test_deprecated_field_names_its_replacement():
    info = field_info("resident.needs_coercion")
    assert info.deprecated and info.replacement == "resident.coercion_need"
    assert not field_info("resident.violence_risk").deprecated


# The classes the counterfactual search relies on (issue 11): it may only change
# `offer` and `process` fields, never the resident's risks, diagnoses, age or household.
PROCESS = {
    "resident.consulted",
    "resident.next_step_plan",
    "resident.service_needs_mapped",
    "resident.handover_started",
    "resident.police_information_requested",
    "resident.danger_assessment_date",
}
OFFER = {
    "offer.staffing",
    "offer.visit_frequency",
    "offer.visits_in_pairs",
    "offer.staff_alarm",
    "offer.contract",
    "offer.building.sprinkler",
    "offer.building.fire_alarm",
    "offer.organisation.responsibilities_agreed",
}
FIXED = {
    "resident.age",
    "resident.household",
    "resident.violence_risk",
    "resident.violence_risk_towards",
    "resident.fire_risk",
    "resident.mental_illness_severity",
    "resident.substance_severity",
    "resident.dementia",
    "resident.consent_capacity",
    "resident.child_contact",
    "offer.type",
    "offer.co_residents.severe_substance_use",
    "offer.location.distance_to_shop_m",
    "offer.location.fire_response_minutes",
}


@pytest.mark.parametrize(
    ("paths", "expected"), [(PROCESS, "process"), (OFFER, "offer"), (FIXED, "fixed")]
)
def test_field_classes(paths, expected):
    registry = field_registry()
    wrong = {p: registry[p].field_class for p in paths if registry[p].field_class != expected}
    assert not wrong, f"expected class {expected}: {wrong}"


def test_no_resident_field_is_changeable_by_the_offer():
    offending = [
        info.path
        for info in field_registry().values()
        if info.profile == "resident" and info.field_class == "offer"
    ]
    assert not offending


def test_children_share_their_object_group():
    """A nested field is shown under its object (the template depends on it)."""
    registry = field_registry()
    wrong = [
        f"{info.path}: {info.group} != {registry[info.parent].group}"
        for info in registry.values()
        if info.parent and info.group != registry[info.parent].group
    ]
    assert not wrong


def test_class_and_group_words_exist_in_both_languages():
    terms = messages().terms
    for cls in FIELD_CLASSES:
        for lang in LANGUAGES:
            assert _text(terms["field_class"][cls], lang)
            assert _text(terms["field_class_meaning"][cls], lang)
    for group in (*RESIDENT_GROUPS, *OFFER_GROUPS):
        for lang in LANGUAGES:
            assert _text(terms["field_group"][group], lang), group


# language.md: words never used about people, and legal names that are out of date.
# The report's own words may appear only inside a quote («…» or “…”).
FORBIDDEN = (
    "rusmisbruker",
    "narkoman",
    "de tyngste",
    "rop-ere",
    "psykiatriske tilfeller",
    "tung psykiatri",
    "tung rus",
    "redusert samtykkekompetanse",
    "ikke samtykkekompetent",
    "fylkesmannen",
    "farlighetsvurdering",
    "voldelig",
    "irrasjonell",
    "addict",
    "heavy user",
    "abuser",
    "the mentally ill",
    "psychiatric case",
    "reduced capacity",
)
QUOTED = re.compile(r"«[^»]*»|“[^”]*”")


def _registry_texts():
    for path, entry in messages().fields.items():
        for part in ("label", "help", "question"):
            for lang in LANGUAGES:
                yield f"{path} {part} {lang}", (entry.get(part) or {}).get(lang) or ""
        for value, labels in (entry.get("values") or {}).items():
            for lang in LANGUAGES:
                yield f"{path} value {value} {lang}", labels.get(lang) or ""
    for group in ("field_class", "field_class_meaning", "field_group"):
        for key, labels in messages().terms[group].items():
            for lang in LANGUAGES:
                yield f"terms {group}.{key} {lang}", labels.get(lang) or ""


def test_registry_texts_follow_the_language_guide():
    problems = []
    for where, text in _registry_texts():
        plain = QUOTED.sub("", text).lower()
        problems += [f"{where}: {word!r}" for word in FORBIDDEN if word in plain]
        if re.search(r"\bnull\b|\bukjent: ja\b|\bunknown: true\b", plain):
            problems.append(f"{where}: prints a code, not words")
    assert not problems, "\n".join(problems)


def test_forbidden_words_are_caught():
    assert "tung rus" in QUOTED.sub("", "Beboeren har tung rus.").lower()
    assert "tung rus" not in QUOTED.sub("", "Rapporten kaller det «tung rus».").lower()


def test_registry_serialises_for_a_form():
    import json

    rows = [info.to_dict() for info in field_registry().values()]
    decoded = json.loads(json.dumps(rows, ensure_ascii=False))
    staffing = next(r for r in decoded if r["path"] == "offer.staffing")
    assert staffing["class"] == "offer" and staffing["group"] == "staffing"
    assert {
        "code": "daytime",
        "label": {"nb": "bemanning på dagtid", "en": "daytime staff"},
        "replacement": None,
    } in staffing["values"]
    age = next(r for r in decoded if r["path"] == "resident.age")
    assert (age["minimum"], age["maximum"], age["unit"]) == (16, 110, "years")


def test_an_empty_list_means_what_its_field_says():
    towards = field_info("resident.violence_risk_towards")
    assert towards.empty and "generell" in towards.empty["nb"] and "general" in towards.empty["en"]
    assert field_info("offer.location.hazards").empty is None  # [] = none, the default
    assert field_info("resident.violence_risk").empty is None
