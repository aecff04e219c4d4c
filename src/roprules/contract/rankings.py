"""The outputs about many assessments at once: a ranking, offers side by side, the matrix.

Split from assessment.py so that a single check does not build these models (~5 ms of a
cold `roprules check`, benchmarks/README.md): `roprules.contract.assessment` still gives
every name (`from roprules.contract.assessment import Ranking` imports this module).
"""

# No `from __future__ import annotations` (see assessment.py).
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import ConfigDict

from roprules.contract.assessment import (
    SCHEMA_VERSION,
    Assessment,
    Change,
    Detail,
    OutputModel,
    RulesetRef,
    Verdict,
)
from roprules.contract.rule_schema import Severity


class RankedOffer(OutputModel):
    rank: int
    offer_id: str
    offer_name: str | None = None
    verdict: Verdict
    findings_by_severity: dict[str, int]
    missing: int
    # The whole assessment (`detail: full`); None in a summary, which has `rule_ids`.
    assessment: Assessment | None = None
    # One line: the verdict, the findings by severity and the open questions.
    reason: str | None = None
    # The verdict remedy's text, where remedies were computed (None otherwise).
    remedy_summary: str | None = None
    # The weighted score used after the verdict (lower is better; see `ranking.unknown_weight`).
    score: float | None = None
    # `detail: summary` only: the rules that fired, most severe first (as in a MatrixCell).
    rule_ids: tuple[str, ...] | None = None


class Ranking(OutputModel):
    resident_id: str
    ranking: tuple[RankedOffer, ...]
    ruleset: RulesetRef
    schema_version: str = SCHEMA_VERSION
    detail: Detail = "full"


CompareStatus = Literal["finding", "open", "not_applicable"]


class CompareCell(OutputModel):
    """One rule in one offer: a finding (its severity), an open question (the rule could
    not be evaluated; `severity` is the rule's) or not applicable (the rule did not fire)."""

    offer_id: str
    status: CompareStatus
    severity: Severity | None = None
    superseded_by: tuple[str, ...] = ()


class CompareRow(OutputModel):
    """One rule that fired or is open in at least one of the offers."""

    rule_id: str
    title: str
    severity: Severity  # the rule's severity in this rule base
    theme: str | None = None
    theme_title: str | None = None
    cells: tuple[CompareCell, ...]  # one per offer, in the order of `offers`


class ComparedOffer(OutputModel):
    """One offer's column: its verdict, reason and, in full detail, its assessment."""

    rank: int  # its place among the compared offers, best first
    offer_id: str
    offer_name: str | None = None
    offer_type: str | None = None
    verdict: Verdict
    findings_by_severity: dict[str, int]
    missing: int
    score: float
    reason: str
    remedy_summary: str | None = None
    assessment: Assessment | None = None  # None in a summary


class Compare(OutputModel):
    """Offers side by side for one resident: one row per rule that fired or is open."""

    resident_id: str
    offers: tuple[ComparedOffer, ...]  # the columns, in the order given
    rows: tuple[CompareRow, ...]  # by theme, then most severe first, then title
    ruleset: RulesetRef
    as_of: date | None = None
    lang: Literal["nb", "en"] = "nb"
    detail: Detail = "full"
    schema_version: str = SCHEMA_VERSION


# A slotted dataclass rather than a model: a city's matrix holds a million cells, built
# without validation (~80 bytes each); `Matrix.model_validate` still validates each one.
# Not frozen (that makes building one three times slower); read-only by convention, and
# cells with equal counts or rule ids share the same dict or list. The matrix models keep
# lists, unlike the other outputs (OutputModel): a matrix is built anew on every call and
# shares nothing with a later one (tests/test_immutable_results.py).
@dataclass(slots=True)
class MatrixCell:
    """One resident in one offer, screened: the verdict and what decided it, no texts."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    rank: int
    offer_id: str
    verdict: Verdict
    findings_by_severity: dict[str, int]
    rule_ids: list[str]  # the rules that fired, most severe first
    missing: int  # unknown fields that block a rule


class MatrixRow(OutputModel):
    resident_id: str
    ranking: list[MatrixCell]


class MatrixOffer(OutputModel):
    """An offer in the grid, in the order given, with its vacancies (None = not stated)."""

    offer_id: str
    offer_name: str | None = None
    vacant_units: int | None = None


class MatrixGap(OutputModel):
    """Residents with no acceptable offer (no suitable or conditional cell), by what stands
    in the way: a critical rule that fired for each of them in every offer (`rule_id`,
    its `title` in the matrix's language). A resident can be in several gaps. The gap with
    no rule holds those for whom no one critical rule applies everywhere (different
    reasons in different offers, or facts missing).
    """

    resident_ids: list[str]
    rule_id: str | None = None
    title: str | None = None
    offers: int  # how many offers were screened


class MatrixNeed(OutputModel):
    """Residents with no acceptable offer, grouped by what would serve them: the same
    smallest set of changes lifts each of them to an acceptable verdict in one of their
    best offers (the offer's part of the verdict remedy; the process part when there is
    no offer part). `offers_with` counts the offers that already have every changed value
    (None for process changes). Computed only when asked for (`remedies`).
    """

    resident_ids: list[str]
    changes: list[Change]
    offers_with: int | None = None
    offers: int
    text: str


class Matrix(OutputModel):
    """Every resident against every offer, each row best first."""

    rows: list[MatrixRow]
    ruleset: RulesetRef
    schema_version: str = SCHEMA_VERSION
    as_of: date | None = None
    # pydantic fields (copied per instance), not shared class attributes:
    offers: list[MatrixOffer] = []  # noqa: RUF012 (the grid's columns, in the order given)
    gaps: list[MatrixGap] = []  # noqa: RUF012
    needs: list[MatrixNeed] = []  # noqa: RUF012 (the gaps grouped by what would serve them)
    lang: Literal["nb", "en"] = "nb"
