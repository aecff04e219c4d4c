"""The Assessment: what the engine returns (contract.md, "Assessment").

These models are the JSON contract for case-management systems. Fields beyond
the contract (`undetermined`, `summary`, labels) are optional additions.
"""

# No `from __future__ import annotations` in the modules of pydantic models: pydantic
# would build each field's type from its text (one compile each; ~2 % of a cold start).

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from roprules.contract.rule_schema import Kind, Severity

# The version of this JSON contract; every JSON output carries it.
SCHEMA_VERSION = "2.0"

Verdict = Literal["unsuitable", "incomplete", "conditional", "suitable"]
AssessmentScope = Literal["placement", "offer", "resident"]

# The version of this JSON contract; every JSON output carries it as `schema_version`.
SCHEMA_VERSION = "2.0"

# Best first, for ranking (contract.md).
VERDICT_RANK: dict[str, int] = {"suitable": 0, "conditional": 1, "incomplete": 2, "unsuitable": 3}


def _as_tuple(value: Any) -> Any:
    """A list given for a value of any type (a list field's value, from JSON) as a tuple:
    what the engine gives, so an output read back from JSON equals the original and,
    like it, cannot be changed in place. List fields hold codes: one level is enough."""
    return tuple(value) if value.__class__ is list else value


# A profile value of any type (JSON Schema: any), its list as a tuple.
AnyValue = Annotated[Any, BeforeValidator(_as_tuple)]


class OutputModel(BaseModel):
    """An output model: frozen, and immutable all the way down.

    The engine caches validated findings, facts, open questions and undetermined
    rules and shares them between the assessments it returns (report/wording.py), so
    a part one caller changed in place would show up in every later result: every
    sequence field is a tuple, never a list, and so is a list value of an `AnyValue`
    field (JSON and JSON Schema are the same as with lists: an array). The few dict
    fields (counts) are built anew for each result and never shared. The matrix
    (rankings.py) is the exception: built anew on every call, it shares nothing with a
    later one, and its million cells are a mutable dataclass for speed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(OutputModel):
    """One fact that made a rule fire (or that it waited on)."""

    field: str  # full path, e.g. offer.building.sprinkler, or params.NAME
    value: AnyValue  # as in the profile (a list as a tuple); None = unknown
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


class Change(OutputModel):
    """One change to a fact the offer or the process can change (never a fixed one)."""

    field: str  # full path, e.g. offer.staffing
    label: str | None = None  # the field's label in the requested language
    value: AnyValue  # the value after the change
    display: str | None = None  # the value as a reader sees it
    before: AnyValue = None  # the value now; None = unknown
    before_display: str | None = None
    known_before: bool = True
    changed_by: Literal["offer", "process"]  # the field's class


class Remedy(OutputModel):
    """A verified set of changes that makes a finding's rule false (issue 11, item 1).

    `verdict`: the verdict with the changes made; `clears`: every finding they
    clear (this one included); `raises`: findings they would raise instead.
    """

    changes: tuple[Change, ...]
    verdict: Verdict
    clears: tuple[str, ...]
    raises: tuple[str, ...] = ()
    # Unknown facts the finding's rule then waits on: it no longer fires, but cannot be
    # decided until they are known ([] when the changes make it false).
    waiting_on: tuple[str, ...] = ()
    text: str  # the remedy in words, in the assessment's language


class VerdictRemedy(OutputModel):
    """The smallest verified set of changes (at most three) that lifts the verdict.

    `target`: the best verdict reached (suitable, else conditional), None when no
    such set was found; `fixed`: rules in the way that hold on fixed facts alone;
    `complete`: False when the search stopped at its time limit.
    """

    target: Verdict | None = None
    changes: tuple[Change, ...] = ()
    verdict: Verdict | None = None
    raises: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    complete: bool = True
    text: str


class Finding(OutputModel):
    rule_id: str
    kind: Kind
    severity: Severity
    title: str
    explanation: str
    facts: tuple[Fact, ...]
    sources: tuple[Citation, ...]
    suggestions: tuple[str, ...]
    topics: tuple[str, ...]
    theme: str | None = None
    # Ids of fired findings that supersede this one (criteria.md, Supersedes):
    # renderers show it only inside those; it still counts for the verdict.
    superseded_by: tuple[str, ...] = ()
    local_change: LocalChange | None = None
    # Critical and major findings, when asked for: None = not computed, [] = none found.
    remedies: tuple[Remedy, ...] | None = None


class MissingInfo(OutputModel):
    field: str
    rules: tuple[str, ...]
    severity: Severity
    question: str
    label: str | None = None
    # Whether some value of this field alone could change the verdict (None: not computed).
    could_change_verdict: bool | None = None
    # Who answers the question (field registry, messages/asked_of.yaml).
    asked_of: Literal["resident", "placement", "organisation"] | None = None
    # The titles of the rules waiting on it, in the assessment's language.
    decides: tuple[str, ...] = ()


class Undetermined(OutputModel):
    """A rule that could not be evaluated, and the fields it waits on."""

    rule_id: str
    severity: Severity
    title: str
    waiting_on: tuple[str, ...]


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
    findings: tuple[Finding, ...]
    missing: tuple[MissingInfo, ...]
    ruleset: RulesetRef
    undetermined: tuple[Undetermined, ...] = ()
    resident_id: str | None = None
    offer_id: str | None = None
    offer_name: str | None = None
    offer_type: str | None = None
    lang: Literal["nb", "en"] = "nb"
    created_at: datetime | None = None
    as_of: date | None = None  # the assessment date every date rule is measured from
    notices: tuple[Notice, ...] = ()
    schema_version: str = SCHEMA_VERSION
    backend: BackendRef | None = None
    # critical/major/minor -> how many missing fields have that severity (their most
    # severe waiting rule); empty when not computed.
    open_questions_by_severity: dict[str, int] = {}
    # The severity-weighted share of the scope's rules that could be evaluated (0..1).
    completeness: float | None = None
    # The verdict in words with the open questions that weigh on it.
    verdict_summary: str | None = None

    # What would lift the verdict, when asked for (None = not computed).
    verdict_remedy: VerdictRemedy | None = None


Detail = Literal["full", "summary"]


# The ranking, compare and matrix models live in rankings.py, built when first asked for.
_IN_RANKINGS = frozenset(
    {
        "RankedOffer",
        "Ranking",
        "CompareStatus",
        "CompareCell",
        "CompareRow",
        "ComparedOffer",
        "Compare",
        "MatrixCell",
        "MatrixRow",
        "MatrixOffer",
        "MatrixGap",
        "MatrixNeed",
        "Matrix",
    }
)


def __getattr__(name: str) -> Any:
    """`Ranking`, `Compare`, `Matrix` and their parts, from rankings.py (PEP 562)."""
    if name in _IN_RANKINGS:
        from roprules.contract import rankings

        return getattr(rankings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
