"""`Engine.check`, `audit` and `assess_resident` read the facts the screen's pass found
(`profiles.screened_facts`) instead of flattening the validated profiles again: the
assessments must be exactly those of the flattened profiles."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import pytest

from conftest import BACKENDS, shared_engine
from roprules.api import Engine
from roprules.contract.intake import load_offer, load_resident
from seeded_profiles import contract_range, near_thresholds, random_profile

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = date(2026, 1, 1)


NUMBERS = near_thresholds(lambda path: contract_range(path, 100))


def _pairs(count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    rnd = random.Random(7)
    pairs = []
    for i in range(count):
        texts = i % 3 == 0  # dates as text, else as dates
        resident = random_profile("resident", i, rnd, NUMBERS, dates_as_text=texts)
        offer = random_profile("offer", i, rnd, NUMBERS, dates_as_text=texts)
        if i % 2:  # keys in another order than the fields'
            resident = dict(reversed(list(resident.items())))
            offer = dict(reversed(list(offer.items())))
        pairs.append((resident, offer))
    return pairs


@pytest.mark.parametrize("backend", BACKENDS)
def test_entered_facts_assess_as_the_flattened_profiles(backend: str) -> None:
    engine: Engine = shared_engine(backend)
    for resident, offer in _pairs(40):
        r, o = load_resident(resident), load_offer(offer)
        fast = (
            engine.check(resident, offer, now=NOW, as_of=DAY),
            engine.audit(offer, now=NOW, as_of=DAY),
            engine.assess_resident(resident, now=NOW, as_of=DAY),
        )
        slow = (
            engine._assess("placement", r, o, "nb", now=NOW, as_of=DAY),
            engine._assess("offer", None, o, "nb", now=NOW, as_of=DAY),
            engine._assess("resident", r, None, "nb", now=NOW, as_of=DAY),
        )
        for quick, flattened in zip(fast, slow, strict=True):
            assert quick.model_dump_json() == flattened.model_dump_json()
