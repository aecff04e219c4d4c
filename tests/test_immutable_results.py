"""Nothing a caller does to a returned result changes a later result.

The engine caches validated findings, facts, open questions and undetermined rules and
shares them between the assessments it returns (report/wording.py); a part that one
caller changed in place would show in every later assessment. So the output models
hold tuples, never lists (contract/assessment.py, `OutputModel`). These tests change
everything that can be changed in place in a result, recursively, and check that the
same call then gives exactly the JSON it gave before.

Frozen models are not forced (`object.__setattr__`, `__dict__`): that is not using the
API but breaking it.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from conftest import BACKENDS, offer_file, resident_file
from roprules import Engine
from roprules.contract.assessment import Assessment, OutputModel
from roprules.contract.rankings import Compare, Ranking
from strategies import LATEST_DATE, offer_profiles, resident_profiles

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
AS_OF = LATEST_DATE  # no generated date lies after it
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ENGINES = {backend: Engine.load(backend=backend) for backend in BACKENDS}
# The dict fields: counts built anew for each result, never shared (OutputModel).
OWN_DICTS = {"open_questions_by_severity", "findings_by_severity"}


class _Junk:
    """A value no result holds: what the mutations put in."""


JUNK = _Junk()


def mutate(value: Any, seen: set[int] | None = None) -> int:
    """Change in place every list, dict, set and non-frozen dataclass reachable from
    `value` (its parts first), the way a careless caller could; how many were changed."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, (str, bytes, int, float, type(None))):
        return 0
    seen.add(id(value))
    changed = 0
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            changed += mutate(getattr(value, name), seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            changed += mutate(getattr(value, field.name), seen)
        if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            for field in dataclasses.fields(value):
                setattr(value, field.name, JUNK)
            changed += 1
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in list(value):
            changed += mutate(item, seen)
        if isinstance(value, list):
            value[:] = [JUNK]
            changed += 1
        elif isinstance(value, set):
            value.clear()
            changed += 1
    elif isinstance(value, dict):
        for item in list(value.values()):
            changed += mutate(item, seen)
        value.clear()
        value["junk"] = JUNK
        changed += 1
    return changed


def _calls(engine: Engine, resident: dict[str, Any], offer: dict[str, Any]):
    """Every public call that returns a result, each with the same arguments every time."""
    other = {**offer, "id": "O-other"}
    dated = {"as_of": AS_OF, "now": NOW}
    return {
        "check": lambda: engine.check(resident, offer, **dated),
        "check-en-remedies": lambda: engine.check(
            resident, offer, lang="en", remedies=True, **dated
        ),
        "audit": lambda: engine.audit(offer, **dated),
        "assess_resident": lambda: engine.assess_resident(resident, **dated),
        "rank": lambda: engine.rank(resident, [offer, other], **dated),
        "rank-summary": lambda: engine.rank(resident, [offer, other], detail="summary", **dated),
        "compare": lambda: engine.compare(resident, [offer, other], **dated),
        "matrix": lambda: engine.matrix([resident], [offer, other], as_of=AS_OF),
    }


def _assert_unchanged_by_mutation(engine: Engine, resident: dict, offer: dict) -> None:
    for name, call in _calls(engine, resident, offer).items():
        first = call()
        before = first.model_dump_json()
        if name != "matrix":  # read back from JSON: equal, tuples and all (AnyValue)
            assert type(first).model_validate_json(before) == first, name
        mutate(first)
        assert call().model_dump_json() == before, name


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_changing_a_result_in_place_changes_no_later_result(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """Each result mutated everywhere it can be; the same call again gives the same JSON
    (the engines are shared between examples: their caches are warm)."""
    for engine in ENGINES.values():
        _assert_unchanged_by_mutation(engine, resident, offer)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_reported_case_facts_cleared_in_one_assessment(backend: str):
    """The defect as reported: clearing a finding's facts emptied them in the next one."""
    engine = ENGINES[backend]
    resident, offer = resident_file("r01"), offer_file("aalesund-gaseid")
    first = engine.check(resident, offer, as_of=AS_OF, now=NOW)
    assert first.findings and first.findings[0].facts
    with pytest.raises(AttributeError):
        first.findings[0].facts.clear()  # type: ignore[attr-defined]
    again = engine.check(resident, offer, as_of=AS_OF, now=NOW)
    assert again.model_dump_json() == first.model_dump_json()
    as_data = yaml.safe_load(resident.read_text(encoding="utf-8"))
    _assert_unchanged_by_mutation(
        engine, as_data, yaml.safe_load(offer.read_text(encoding="utf-8"))
    )


def _models(model: type[BaseModel], found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """`model` and every model its fields can hold."""
    if model not in found:
        found.add(model)
        for info in model.model_fields.values():
            for inner in _types(info.annotation):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    _models(inner, found)
    return found


def _types(annotation: Any) -> list[Any]:
    """The annotation and every type inside it (args of unions, tuples, dicts...)."""
    found = [annotation]
    for arg in typing.get_args(annotation):
        found += _types(arg)
    return found


@pytest.mark.parametrize("root", [Assessment, Ranking, Compare])
def test_results_that_hold_shared_parts_declare_no_mutable_sequences(root: type[BaseModel]):
    """Every model an Assessment, a Ranking or a Compare can hold is a frozen output
    model whose sequences are tuples; the only dicts are the per-result counts."""
    for model in _models(root, set()):
        assert issubclass(model, OutputModel) and model.model_config.get("frozen"), model
        for name, info in model.model_fields.items():
            for inner in _types(info.annotation):
                origin = typing.get_origin(inner) or inner
                assert origin not in (list, set), (model, name)
                if origin is dict:
                    assert name in OWN_DICTS, (model, name)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
@SETTINGS
def test_list_values_of_facts_are_tuples(backend: str, data: st.DataObject):
    """A fact's value may be cached with its Fact: a list field's value is a tuple."""
    resident, offer = data.draw(resident_profiles()), data.draw(offer_profiles())
    assessment = ENGINES[backend].check(resident, offer, as_of=AS_OF, now=NOW)
    for finding in assessment.findings:
        for fact in finding.facts:
            assert not isinstance(fact.value, (list, dict, set)), fact
