"""The Assessment: what the engine returns (contract.md, "Assessment").

These models are the JSON contract for case-management systems. Fields beyond
the contract (`undetermined`, `summary`, labels) are optional additions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from roprules.contract.rule_schema import Kind, Severity

# The version of this JSON contract; every JSON output carries it.
SCHEMA_VERSION = "2.0"

Verdict = Literal["unsuitable", "incomplete", "conditional", "suitable"]
AssessmentScope = Literal["placement", "offer", "resident"]

# The version of this JSON contract; every JSON output carries it as `schema_version`.
SCHEMA_VERSION = "2.0"

# Best first, for ranking (contract.md).
VERDICT_RANK: dict[str, int] = {"suitable": 0, "conditional": 1, "incomplete": 2, "unsuitable": 3}


class OutputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(OutputModel):
    """One fact that made a rule fire (or that it waited on)."""

    field: str  # full path, e.g. offer.building.sprinkler, or params.NAME
    value: Any  # as in the profile; None = unknown
    label: str | None = None  # the field's label in the requested language
    display: str | None = None  # the value as a reader sees it
    derived: bool = False  # derived (e.g. from a deprecated field), not entered by the team
    # the field a derived value came from, e.g. resident.brukerplan.economy (None: entered)
    derived_from: str | None = None


class Citation(OutputModel):
    section: str | None = None
    quote: str | None = None
    title: str | None = None
    url: str | None = None


class LocalChange(OutputModel):
    """A municipality's overlay changed this rule's severity (with its reason and approver)."""

    original_severity: Severity
    severity: Severity
    reason: str
    approved_by: str  # a role, not a name


class Notice(OutputModel):
    """A deprecated field or value the profiles used, and what replaces it; or a
    value derived from BrukerPlan (`field` the derived field, `replacement` None)."""

    field: str
    message: str  # in the requested language
    replacement: str | None = None


class BackendRef(OutputModel):
    """Which backend decided what fires, and its version (durable_rules' or roprules')."""

    name: Literal["durable", "evaluator"]
    version: str


class Finding(OutputModel):
    rule_id: str
    kind: Kind
    severity: Severity
    title: str
    explanation: str
    facts: list[Fact]
    sources: list[Citation]
    suggestions: list[str]
    topics: list[str]
    theme: str | None = None
    # Ids of fired findings that supersede this one (criteria.md, Supersedes):
    # renderers show it only inside those; it still counts for the verdict.
    superseded_by: list[str] = []
    local_change: LocalChange | None = None


class MissingInfo(OutputModel):
    field: str
    rules: list[str]
    severity: Severity
    question: str
    label: str | None = None
    # Whether some value of this field alone could change the verdict (None: not computed).
    could_change_verdict: bool | None = None
    # Who answers the question (field registry, messages/asked_of.yaml).
    asked_of: Literal["resident", "placement", "organisation"] | None = None
    # The titles of the rules waiting on it, in the assessment's language.
    decides: list[str] = []


class Undetermined(OutputModel):
    """A rule that could not be evaluated, and the fields it waits on."""

    rule_id: str
    severity: Severity
    title: str
    waiting_on: list[str]


class OverlayRef(OutputModel):
    name: str
    sha256: str


class RulesetRef(OutputModel):
    name: str
    version: str
    sha256: str
    overlay: OverlayRef | None = None
    law_as_of: date | None = None  # the date the legal statements were checked


class Assessment(OutputModel):
    scope: AssessmentScope
    verdict: Verdict
    findings: list[Finding]
    missing: list[MissingInfo]
    ruleset: RulesetRef
    undetermined: list[Undetermined] = []
    resident_id: str | None = None
    offer_id: str | None = None
    offer_name: str | None = None
    offer_type: str | None = None
    lang: Literal["nb", "en"] = "nb"
    created_at: datetime | None = None
    as_of: date | None = None  # the assessment date every date rule is measured from
    notices: list[Notice] = []
    schema_version: str = SCHEMA_VERSION
    backend: BackendRef | None = None
    # critical/major/minor -> how many missing fields have that severity (their most
    # severe waiting rule); empty when not computed.
    open_questions_by_severity: dict[str, int] = {}
    # The severity-weighted share of the scope's rules that could be evaluated (0..1).
    completeness: float | None = None
    # The verdict in words with the open questions that weigh on it.
    verdict_summary: str | None = None


Detail = Literal["full", "summary"]


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
    rule_ids: list[str] | None = None


class Ranking(OutputModel):
    resident_id: str
    ranking: list[RankedOffer]
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
    superseded_by: list[str] = []  # a finding shown inside another in the full report


class CompareRow(OutputModel):
    """One rule that fired or is open in at least one of the offers."""

    rule_id: str
    title: str
    severity: Severity  # the rule's severity in this rule base
    theme: str | None = None
    theme_title: str | None = None
    cells: list[CompareCell]  # one per offer, in the order of `offers`


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
    offers: list[ComparedOffer]  # the columns, in the order given
    rows: list[CompareRow]  # by theme, then most severe first, then title
    ruleset: RulesetRef
    as_of: date | None = None
    lang: Literal["nb", "en"] = "nb"
    detail: Detail = "full"
    schema_version: str = SCHEMA_VERSION


class MatrixCell(OutputModel):
    """One resident in one offer, screened: the verdict and what decided it, no texts."""

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


class Matrix(OutputModel):
    """Every resident against every offer, each row best first."""

    rows: list[MatrixRow]
    ruleset: RulesetRef
    schema_version: str = SCHEMA_VERSION
    as_of: date | None = None
    offers: list[MatrixOffer] = []  # the grid's columns, in the order given
    gaps: list[MatrixGap] = []
    lang: Literal["nb", "en"] = "nb"
