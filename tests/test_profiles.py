"""Profiles from files and dicts: strict input, errors that name file and field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from conftest import OFFERS_DIR, RESIDENTS_DIR
from roprules.contract.documents import InputError
from roprules.contract.fields import FIELDS
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import OfferProfile, ResidentProfile, profile_to_facts


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def resident_error(tmp_path: Path, text: str, name: str = "resident.yaml") -> list[str]:
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as info:
        load_resident(path)
    return info.value.messages


def offer_error(tmp_path: Path, text: str, name: str = "offer.yaml") -> list[str]:
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as info:
        load_offer(path)
    return info.value.messages


# --------------------------------------------------------------------------- loading


def test_yaml_and_json_give_the_same_profile(tmp_path):
    data = {
        "id": "R-100",
        "age": 40,
        "violence_risk": "high",
        "violence_risk_towards": ["staff", "family"],
        "dementia": False,
        "danger_assessment_date": "2025-10-02",
        "brukerplan": {"housing": 3},
    }
    from_yaml = load_resident(write(tmp_path, "r.yaml", yaml.safe_dump(data)))
    from_json = load_resident(write(tmp_path, "r.json", json.dumps(data)))
    from_dict = load_resident(data)
    assert from_yaml == from_json == from_dict
    assert from_yaml.danger_assessment_date == date(2025, 10, 2)
    assert from_yaml.dementia is False
    assert from_yaml.brukerplan is not None and from_yaml.brukerplan.housing == 3


def test_unquoted_yaml_enum_values_stay_strings(tmp_path):
    # The contract promises no enum value is a YAML 1.1 boolean word.
    for path, spec in FIELDS.items():
        for value in spec.values:
            assert yaml.safe_load(f"x: {value}")["x"] == value, (path, value)
    profile = load_resident(
        write(tmp_path, "r.yaml", "id: R-1\naccepts_help: refuses\nsubstance_use: none\n")
    )
    assert profile.accepts_help == "refuses"
    assert profile.substance_use == "none"


def test_null_means_unknown(tmp_path):
    profile = load_resident(write(tmp_path, "r.yaml", "id: R-1\nviolence_risk: null\nage: 30\n"))
    assert profile.violence_risk is None
    assert profile_to_facts("resident", profile) == {"resident.age": 30}


# --------------------------------------------------------------------------- errors


def test_typo_key_names_file_and_suggests(tmp_path):
    messages = resident_error(tmp_path, "id: R-1\nviolense_risk: high\n")
    path = tmp_path / "resident.yaml"
    assert messages == [f"{path}: violense_risk: unknown field (did you mean violence_risk?)"]


def test_typo_key_in_json(tmp_path):
    messages = resident_error(tmp_path, '{"id": "R-1", "violense_risk": "high"}', "r.json")
    assert messages == [
        f"{tmp_path / 'r.json'}: violense_risk: unknown field (did you mean violence_risk?)"
    ]


def test_wrong_enum_value(tmp_path):
    (message,) = resident_error(tmp_path, "id: R-1\nviolence_risk: hihg\n")
    assert message.startswith(f"{tmp_path / 'resident.yaml'}: violence_risk: ")
    assert "'hihg'" in message
    for value in ("low", "moderate", "high"):
        assert value in message


@pytest.mark.parametrize("age", [15, 111, -1, 0])
def test_age_out_of_range(tmp_path, age):
    (message,) = resident_error(tmp_path, f"id: R-1\nage: {age}\n")
    assert f"{tmp_path / 'resident.yaml'}: age: " in message
    assert str(age) in message


@pytest.mark.parametrize("age", [16, 110])
def test_age_bounds_are_inclusive(age):
    assert load_resident({"id": "R-1", "age": age}).age == age


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("age: forty", "age"),
        ("age: 40.5", "age"),
        ("age: '40'", "age"),
        ("dementia: maybe", "dementia"),
        ("dementia: 1", "dementia"),
        ("violence_risk: 3", "violence_risk"),
        ("violence_risk_towards: staff", "violence_risk_towards"),
        ("violence_risk_towards: [staff, dog]", "violence_risk_towards.1"),
        ("brukerplan: 3", "brukerplan"),
        ("brukerplan: {housing: 6}", "brukerplan.housing"),
        ("brukerplan: {housing: 0}", "brukerplan.housing"),
        ("danger_assessment_date: '2025-13-01'", "danger_assessment_date"),
        ("danger_assessment_date: soon", "danger_assessment_date"),
        ("preferred_offer_types: [house]", "preferred_offer_types.0"),
    ],
)
def test_wrong_type_names_the_field(tmp_path, text, field):
    messages = resident_error(tmp_path, f"id: R-1\n{text}\n")
    assert any(m.startswith(f"{tmp_path / 'resident.yaml'}: {field}: ") for m in messages), messages


def test_invalid_unquoted_yaml_date_is_an_input_error(tmp_path):
    # YAML reads 2025-13-01 as a timestamp; an impossible date must still be a
    # clear input error naming the file, not a ValueError from the YAML library.
    messages = resident_error(tmp_path, "id: R-1\ndanger_assessment_date: 2025-13-01\n")
    assert any(str(tmp_path / "resident.yaml") in m for m in messages), messages


def test_missing_id(tmp_path):
    messages = resident_error(tmp_path, "age: 40\n")
    assert messages == [f"{tmp_path / 'resident.yaml'}: id: required field is missing"]


def test_missing_offer_type(tmp_path):
    messages = offer_error(tmp_path, "id: O-1\nstaffing: ambulant\n")
    assert messages == [f"{tmp_path / 'offer.yaml'}: type: required field is missing"]


def test_wrong_offer_type(tmp_path):
    (message,) = offer_error(tmp_path, "id: O-1\ntype: smallhouse\n")
    assert "type: " in message and "'smallhouse'" in message and "small_house" in message


@pytest.mark.parametrize("value", ["01019012057", "010190 12057", "fnr 01019012057 x"])
def test_national_identity_number_rejected_in_id(tmp_path, value):
    (message,) = resident_error(tmp_path, f"id: '{value}'\n")
    assert message.startswith(f"{tmp_path / 'resident.yaml'}: id: ")
    assert "national identity number" in message
    assert "fødselsnummer" in message


def test_national_identity_number_rejected_in_free_text(tmp_path):
    (message,) = offer_error(tmp_path, "id: O-1\ntype: ordinary\nname: 'Leilighet 01019012057'\n")
    assert "name: " in message and "national identity number" in message


@pytest.mark.parametrize(
    "value",
    ["R-001", "case-17.2025", "ABC_123", "sak-ø1", "1234567890", "12345", "12345678901"],
)
def test_pseudonymous_ids_allowed(value):
    assert load_resident({"id": value}).id == value
    assert load_offer({"id": value, "type": "ordinary"}).id == value


def test_empty_id_rejected():
    with pytest.raises(InputError) as info:
        load_resident({"id": ""})
    assert info.value.messages[0].startswith("resident: id: ")


def test_nested_unknown_key_path(tmp_path):
    messages = offer_error(tmp_path, "id: O-1\ntype: small_house\nbuilding:\n  sprinkle: none\n")
    assert messages == [
        f"{tmp_path / 'offer.yaml'}: building.sprinkle: unknown field (did you mean sprinkler?)"
    ]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("location: {hazards: [volcano]}", "location.hazards.0"),
        ("location: {distance_to_shop_m: -5}", "location.distance_to_shop_m"),
        ("co_residents: {dementia: -1}", "co_residents.dementia"),
        ("building: {floor_area_m2: 0}", "building.floor_area_m2"),
        ("building: {floor_area_m2: .nan}", "building.floor_area_m2"),
        ("units: 0", "units"),
        ("organisation: {staff_competence: [rop, nursing]}", "organisation.staff_competence.1"),
        ("building: none", "building"),
    ],
)
def test_nested_value_errors(tmp_path, text, field):
    messages = offer_error(tmp_path, f"id: O-1\ntype: small_house\n{text}\n")
    assert any(m.startswith(f"{tmp_path / 'offer.yaml'}: {field}: ") for m in messages), messages


def test_every_error_is_reported(tmp_path):
    messages = resident_error(tmp_path, "age: 15\nviolense_risk: high\ndementia: maybe\n")
    fields = sorted(m.split(": ")[1] for m in messages)
    assert fields == ["age", "dementia", "id", "violense_risk"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("r.yaml", "", "the file is empty"),
        ("r.yaml", "- id: R-1\n", "expected a mapping of fields"),
        ("r.yaml", "id: R-1\nid: R-2\n", "duplicate key"),
        ("r.json", '{"id": "R-1", "id": "R-2"}', "duplicate key"),
        # NaN may be refused by the JSON reader or by the model: either way, an input error
        ("r.json", '{"id": "R-1", "age": NaN}', ""),
        ("r.json", '{"id": "R-1", "building": 1', "not valid JSON"),
        ("r.yaml", "id: [unclosed\n", "not valid YAML"),
        ("r.yaml", "base: &a {id: R-1}\nother: *a\n", "anchors and aliases"),
    ],
)
def test_bad_documents(tmp_path, name, text, expected):
    messages = resident_error(tmp_path, text, name)
    assert any(str(tmp_path / name) in m and expected in m for m in messages), messages


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        load_resident(tmp_path / "nope.yaml")
    assert info.value.messages == [f"{tmp_path / 'nope.yaml'}: no such file"]


# --------------------------------------------------------------------------- facts


def test_profile_to_facts_flattens():
    offer = load_offer(
        {
            "id": "O-1",
            "name": "Et navn",
            "type": "staffed_base",
            "shared_living": False,
            "staff_on_duty": 0,
            "building": {"sprinkler": "none", "floor_area_m2": 36.6},
            "location": {"hazards": ["railway_shortcut"]},
            "organisation": {"staff_competence": []},
            "co_residents": {},
        }
    )
    assert profile_to_facts("offer", offer) == {
        "offer.type": "staffed_base",
        "offer.shared_living": False,
        "offer.staff_on_duty": 0,
        "offer.building.sprinkler": "none",
        "offer.building.floor_area_m2": 36.6,
        "offer.location.hazards": ("railway_shortcut",),
        "offer.organisation.staff_competence": (),
    }
    resident = load_resident(
        {
            "id": "R-1",
            "danger_assessment_date": "2025-10-02",
            "brukerplan": {"housing": 5, "economy": 1},
            "violence_risk": None,
        }
    )
    assert profile_to_facts("resident", resident) == {
        "resident.danger_assessment_date": "2025-10-02",
        "resident.brukerplan.housing": 5,
        "resident.brukerplan.economy": 1,
    }
    assert profile_to_facts("resident", None) == {}


def test_facts_paths_are_registered_fields():
    resident = load_resident(RESIDENTS_DIR / "r01-high-risk-round-the-clock.yaml")
    offer = load_offer(OFFERS_DIR / "trondheim-planned-11.yaml")
    facts = {**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}
    assert facts
    for path in facts:
        assert path in FIELDS and FIELDS[path].kind != "object", path


@pytest.mark.parametrize("path", sorted(RESIDENTS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_resident_profiles_load(path):
    profile = load_resident(path)
    assert isinstance(profile, ResidentProfile)
    assert profile.id.startswith("R-")


@pytest.mark.parametrize("path", sorted(OFFERS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_offer_profiles_load(path):
    profile = load_offer(path)
    assert isinstance(profile, OfferProfile)
    assert profile.id.startswith("O-")


def test_shipped_profiles_exist():
    assert len(list(RESIDENTS_DIR.glob("*.yaml"))) >= 8
    assert len(list(OFFERS_DIR.glob("*.yaml"))) >= 10
