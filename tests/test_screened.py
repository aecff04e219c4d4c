"""`profiles.screened`: the one-pass screen that lets validation skip the per-model screens.

Whenever `screened` says an input is clean, validating it with `context=SCREENED`
(the per-model `_screen` and the text validator skipped) must give exactly what
validating it without does: the same model, or the same errors. Anything that could
hold a national identity number, anywhere, must not be called clean.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from roprules.contract.documents import InputError, read_document
from roprules.contract.national_id import make_national_id
from roprules.contract.profiles import (
    SCREENED,
    OfferProfile,
    ResidentProfile,
    _flatten,
    entered_dates_after,
    profile_dates,
    screened,
    screened_facts,
)
from strategies import offer_profiles, resident_profiles

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FILES = sorted(
    [
        *(HERE / "bad_inputs").glob("*.y*ml"),
        *(HERE / "bad_inputs").glob("*.json"),
        *(REPO / "profiles").glob("*/*.yaml"),
    ]
)
ID = make_national_id("010190", "124")
assert ID is not None


def _model(path: Path) -> type[BaseModel]:
    return OfferProfile if "offer" in str(path.relative_to(REPO)) else ResidentProfile


def _outcome(model: type[BaseModel], data: Any, context: Any = None) -> Any:
    try:
        return model.model_validate(data, context=context).model_dump()
    except ValidationError as exc:
        return exc.errors(include_url=False)


def _same_either_way(model: type[BaseModel], data: Any) -> None:
    if screened(model, data):
        assert _outcome(model, data, SCREENED) == _outcome(model, data)
    _same_facts(model, data)


def _same_facts(model: type[BaseModel], data: Any) -> None:
    """The screen's facts of input that validates are `_flatten`'s of the validated model:
    the same paths in the same order, the same values of the same types."""
    flat = screened_facts(model, data)
    assert (flat is not None) == screened(model, data)
    if flat is None:
        return
    try:
        profile = model.model_validate(data)
    except ValidationError:
        return  # the caller then never reads them
    expected: dict[str, Any] = {}
    _flatten("resident" if model is ResidentProfile else "offer", profile, expected)
    assert list(flat.items()) == list(expected.items())
    assert [type(v) for v in flat.values()] == [type(v) for v in expected.values()]
    for as_of in (date(2019, 12, 31), date(2022, 6, 30), date(2030, 1, 1)):
        late = any(value > as_of for _, value in profile_dates("p", profile))
        assert entered_dates_after(model, flat, as_of.isoformat()) == late


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_and_shipped_profiles_validate_the_same(path: Path) -> None:
    if path.name == "cases.yaml":
        pytest.skip("the manifest")
    try:
        data = read_document(path, profile=True)
    except InputError:
        return  # refused before validation
    _same_either_way(_model(path), data)


def test_shipped_profiles_are_screened_clean() -> None:
    """The fast path is taken by ordinary profiles (else it would save nothing)."""
    for path in (REPO / "profiles").glob("*/*.yaml"):
        assert screened(_model(path), read_document(path, profile=True)), path.name


@pytest.mark.parametrize(
    "model,data",
    [
        (ResidentProfile, {"id": "R-1", "age": 40, "household": ID}),
        (ResidentProfile, {"id": ID}),
        (ResidentProfile, {"id": "R-1", ID: True}),
        (ResidentProfile, {"id": "R-1", "violence_risk_towards": ["staff", ID]}),
        (ResidentProfile, {"id": "R-1", "age": int(ID)}),
        (ResidentProfile, {"id": "R-1", "age": float(int(ID))}),
        (ResidentProfile, {"id": "R-1", "brukerplan": {"economy": int(ID)}}),
        (ResidentProfile, {"id": "R-1", "brukerplan": {ID: 3}}),
        (ResidentProfile, {"id": "R-1", "danger_assessment_date": ID}),
        (ResidentProfile, {"id": "R-1", "household": f"{ID[:6]} {ID[6:]}"}),
        (ResidentProfile, {"id": "R-1", "household": f"{ID[:6]}\u200b{ID[6:]}"}),
        (ResidentProfile, {"id": "R-1", "household": "".join(chr(0x0660 + int(d)) for d in ID)}),
        (OfferProfile, {"id": "O-1", "type": "ordinary", "name": f"house {ID}"}),
        (OfferProfile, {"id": "O-1", "type": "ordinary", "building": {"floor_area_m2": ID}}),
        (OfferProfile, {"id": "O-1", "type": "ordinary", "location": {"hazards": [int(ID)]}}),
        (OfferProfile, {"id": "O-1", "type": "ordinary", "extra": {"x": ID}}),
    ],
)
def test_a_national_id_anywhere_is_never_screened_clean(
    model: type[BaseModel], data: dict[str, Any]
) -> None:
    assert not screened(model, data)
    assert screened_facts(model, data) is None
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert {e["type"] for e in caught.value.errors()} & {"national_id", "national_id_key"} or any(
        type(e["input"]).__name__ == "Refused" for e in caught.value.errors()
    )


def test_unusual_values_take_the_full_screen() -> None:
    assert not screened(ResidentProfile, {"id": "R-1", "age": 10**12})
    assert not screened(ResidentProfile, {"id": "R-1", "age": float("nan")})
    assert not screened(ResidentProfile, {"id": "R-1", "dementia": (True,)})
    assert not screened(ResidentProfile, {"id": "R-1", 3: True})
    assert not screened(ResidentProfile, {"id": "not a case reference!"})
    assert not screened(ResidentProfile, {"id": "R-1", "danger_assessment_date": "1.1.2020"})
    assert not screened(ResidentProfile, ["id"])
    assert screened(ResidentProfile, {"id": "R-1", "age": 40, "household": "single"})
    for data in (
        {"id": "R-1", "age": 10**12},
        {"id": "R-1", "age": float("nan")},
        {"id": "R-1", "dementia": (True,)},
        {"id": "R-1", 3: True},
        {"id": "not a case reference!"},
        {"id": "R-1", "danger_assessment_date": "1.1.2020"},
        ["id"],
    ):
        assert screened_facts(ResidentProfile, data) is None
    assert screened_facts(ResidentProfile, {"id": "R-1", "age": 40, "household": "single"}) == {
        "resident.age": 40,
        "resident.household": "single",
    }


_TEXTS = st.one_of(
    st.sampled_from(["single", "past", "staff", "R-1", "2020-01-01", ID, ID[:10], f"x{ID}x"]),
    st.text(alphabet="0123456789 -.ab\u200b", max_size=16),
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    _TEXTS,
    st.lists(_TEXTS, max_size=3),
)
_KEYS = st.sampled_from(
    ["id", "age", "household", "violence_risk_towards", "danger_assessment_date", "x1", ID]
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(_KEYS, _VALUES, max_size=5),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["economy", "housing", ID]), _VALUES)),
)
def test_generated_input_validates_the_same(data: dict[str, Any], brukerplan: Any) -> None:
    if brukerplan is not None:
        data = {**data, "brukerplan": brukerplan}
    _same_either_way(ResidentProfile, data)
    offer = {"type": "ordinary", **data}
    offer.pop("brukerplan", None)
    _same_either_way(OfferProfile, offer)


@given(st.text(alphabet="0123456789-ab ٣\n", max_size=60))
@settings(max_examples=300, deadline=None)
def test_eleven_digits_search_counts_as_findall(text: str) -> None:
    """The one search for 11 digits finds what counting every digit finds."""
    from roprules.contract.national_id import ELEVEN_DIGITS
    from roprules.contract.profiles import _DIGIT

    assert (ELEVEN_DIGITS.search(text) is not None) == (len(_DIGIT.findall(text)) >= 11)


@settings(max_examples=150, deadline=None)
@given(resident_profiles(), offer_profiles(), st.randoms(use_true_random=False))
def test_screened_facts_are_the_validated_models_facts(
    resident: dict[str, Any], offer: dict[str, Any], rnd: Any
) -> None:
    """Generated profiles, keys in any order (the facts keep the fields' order), a whole
    number for a decimal field, a date as a date."""
    for model, data in ((ResidentProfile, resident), (OfferProfile, offer)):
        _same_facts(model, data)
        items = list(data.items())
        rnd.shuffle(items)
        _same_facts(model, dict(items))
    _same_facts(
        OfferProfile,
        {"type": "ordinary", "building": {"floor_area_m2": 40, "sprinkler": "none"}, "id": "O-1"},
    )
    _same_facts(
        ResidentProfile,
        {"danger_assessment_date": date(2024, 2, 29), "id": "R-1", "brukerplan": {}},
    )
