"""The order of offers for one resident (ranking, compare, matrix): no texts.

Best first: the verdict (contract.md: suitable, conditional, incomplete,
unsuitable); then a severity-weighted score of the findings and of the rules
that could not be evaluated; then the offer id. A rule that could not be
evaluated counts as a possible finding at the fraction `ranking.unknown_weight`
(a rule-base parameter, 0..1, default 0.5) of its weight, so an offer about
which little is known never ranks above a well-described one merely because
nothing could fire: unknown is not false.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from roprules.contract.assessment import VERDICT_RANK

# The weight of one finding of each severity: each step three times the one below.
SEVERITY_WEIGHT: dict[str, float] = {"critical": 27.0, "major": 9.0, "minor": 3.0, "info": 1.0}
UNKNOWN_WEIGHT = "ranking.unknown_weight"
DEFAULT_UNKNOWN_WEIGHT = 0.5


def unknown_weight(params: Mapping[str, Any]) -> float:
    """The rule base's `ranking.unknown_weight` (the default where a rule base lacks it)."""
    value = params.get(UNKNOWN_WEIGHT, DEFAULT_UNKNOWN_WEIGHT)
    return float(value)


def rank_score(
    fired: Iterable[str], undetermined: Iterable[str], weight_of_unknown: float
) -> float:
    """Lower is better: the weights of the fired rules' severities, plus `weight_of_unknown`
    times the weights of the undetermined rules' severities (rounded, so the same sets in
    any order give the same score)."""
    found = sum(SEVERITY_WEIGHT[s] for s in fired)
    possible = sum(SEVERITY_WEIGHT[s] for s in undetermined)
    return round(found + weight_of_unknown * possible, 6)


def rank_key(verdict: str, score: float, offer_id: str) -> tuple[Any, ...]:
    """Best first: the verdict, then the lower score, then the offer id."""
    return (VERDICT_RANK[verdict], score, offer_id)
