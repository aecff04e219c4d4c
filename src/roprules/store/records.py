"""What a team records: the decision, its stance on each serious finding, and why.

Validated before anything is written: the roles are codes from a fixed list (a
name cannot be recorded as a role), free text is length-limited and refused if
it holds a national identity number, and every critical and major finding of the
assessment has a stance, with a reason where the team overrides it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from roprules import Assessment
from roprules.contract.national_id import contains_national_id

DECISIONS: dict[str, dict[str, str]] = {
    "allocated": {"nb": "Tildeles", "en": "Allocated"},
    "not_allocated": {"nb": "Tildeles ikke", "en": "Not allocated"},
    "postponed": {"nb": "Utsatt", "en": "Postponed"},
}
Decision = Literal["allocated", "not_allocated", "postponed"]

# The roles that may sit in an allocation meeting. Roles, never names.
ROLES: dict[str, dict[str, str]] = {
    "housing_office": {"nb": "Boligkontoret", "en": "Housing office"},
    "mental_health_substance_service": {
        "nb": "Kommunens tjeneste for psykisk helse og rus",
        "en": "Municipal mental health and substance use service",
    },
    "home_care": {"nb": "Hjemmetjenesten", "en": "Home care service"},
    "nav": {"nb": "NAV", "en": "NAV (labour and welfare)"},
    "housing_social_team": {"nb": "Boligsosialt team", "en": "Housing-social team"},
    "specialist_health_service": {
        "nb": "Spesialisthelsetjenesten",
        "en": "Specialist health service",
    },
    "gp": {"nb": "Fastlege", "en": "Regular GP"},
    "police": {"nb": "Politiet", "en": "Police"},
    "child_welfare": {"nb": "Barnevernstjenesten", "en": "Child welfare service"},
    "resident": {"nb": "Beboeren", "en": "The resident"},
    "next_of_kin": {"nb": "Pårørende", "en": "Next of kin"},
    "guardian": {"nb": "Verge", "en": "Guardian"},
    "case_officer": {"nb": "Saksbehandler", "en": "Case officer"},
    "team_leader": {"nb": "Leder av tildelingsteamet", "en": "Allocation team lead"},
}
Role = Literal[
    "housing_office",
    "mental_health_substance_service",
    "home_care",
    "nav",
    "housing_social_team",
    "specialist_health_service",
    "gp",
    "police",
    "child_welfare",
    "resident",
    "next_of_kin",
    "guardian",
    "case_officer",
    "team_leader",
]

MAX_NOTES = 2000
MAX_REASON = 1000


class RecordError(ValueError):
    """The record cannot be stored as given; `errors` lists each problem by field."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def _no_national_id(value: str) -> str:
    if contains_national_id(value):
        raise ValueError("holds what looks like a national identity number; write no identities")
    return value


FreeText = Annotated[str, AfterValidator(_no_national_id)]


class FindingStance(BaseModel):
    """The team agrees with a finding, or overrides it with a reason."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str = Field(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$", max_length=100)
    stance: Literal["agree", "override"]
    reason: FreeText | None = Field(default=None, max_length=MAX_REASON)

    @model_validator(mode="after")
    def _override_has_reason(self) -> FindingStance:
        if self.stance == "override" and not (self.reason and self.reason.strip()):
            raise ValueError("an override needs a reason")
        return self


class DecisionInput(BaseModel):
    """A decision as the team states it, before it is checked against the assessment."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    meeting_date: date
    roles_present: list[Role] = Field(min_length=1)
    stances: list[FindingStance] = Field(default_factory=list)
    notes: FreeText | None = Field(default=None, max_length=MAX_NOTES)
    corrects: str | None = Field(default=None, pattern=r"^[0-9a-f-]{36}$")

    @model_validator(mode="after")
    def _roles_once(self) -> DecisionInput:
        if len(set(self.roles_present)) != len(self.roles_present):
            raise ValueError("roles_present names a role twice")
        return self


class DecisionRecord(BaseModel):
    """A stored record, as read back: the decision and everything needed to reproduce it."""

    model_config = ConfigDict(frozen=True)

    id: str
    case_ref: str
    offer_id: str | None
    decision: Decision
    meeting_date: date
    roles_present: list[str]
    stances: list[FindingStance]
    notes: str | None
    verdict: str
    as_of: date
    ruleset_name: str
    ruleset_version: str
    ruleset_sha256: str
    overlay_sha256: str | None
    corrects: str | None
    recorded_by: str
    recorded_at: datetime
    assessment: dict[str, Any]
    profiles: dict[str, Any] | None = None


def serious_findings(assessment: Assessment) -> dict[str, str]:
    """The critical and major findings a team must take a stance on: rule id → severity."""
    return {
        f.rule_id: f.severity for f in assessment.findings if f.severity in ("critical", "major")
    }


def check_stances(decision: DecisionInput, assessment: Assessment) -> list[dict[str, str]]:
    """Every critical and major finding has exactly one stance, and no stance names another."""
    serious = serious_findings(assessment)
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, stance in enumerate(decision.stances):
        field = f"stances[{index}].rule_id"
        if stance.rule_id in seen:
            errors.append({"field": field, "code": "duplicate", "message": "stated twice"})
        elif stance.rule_id not in serious:
            errors.append(
                {
                    "field": field,
                    "code": "not_a_serious_finding",
                    "message": f"{stance.rule_id} is not a critical or major finding here",
                }
            )
        seen.add(stance.rule_id)
    for rule_id in serious:
        if rule_id not in seen:
            errors.append(
                {
                    "field": "stances",
                    "code": "missing",
                    "message": f"no stance on {rule_id} ({serious[rule_id]})",
                }
            )
    return errors
