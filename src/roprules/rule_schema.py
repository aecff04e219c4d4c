"""The schema of rule files, parameters, the ruleset header and overlays.

These pydantic models check the *shape* of the policy files (every key known,
every text in both languages, every rule with sources and examples). What the
shape cannot say — that a field path exists, that an enum value belongs to its
field, that a parameter is defined — is checked by `ruleset.py` when it parses
the conditions and templates.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scope = Literal["placement", "offer", "resident"]
Kind = Literal["warning", "advice"]
Severity = Literal["critical", "major", "minor", "info"]

SEVERITY_ORDER: dict[str, int] = {"critical": 0, "major": 1, "minor": 2, "info": 3}
RULE_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*$"


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Localized(PolicyModel):
    """A text in Norwegian bokmål and English."""

    nb: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.nb


class Source(PolicyModel):
    """A citation: a report section with a verbatim quote, or another public source."""

    section: str | None = None
    quote: str | None = None
    title: str | None = None
    url: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if self.section is not None:
            if not self.quote:
                raise ValueError("a report source needs a verbatim 'quote' beside 'section'")
        elif not self.title:
            raise ValueError("a source needs 'section' and 'quote' (the report) or 'title'")
        return self

    @property
    def from_report(self) -> bool:
        return self.section is not None


class Examples(PolicyModel):
    """Worked cases: the rule must fire, stay silent, or be undetermined."""

    fires: list[dict[str, Any]] = Field(min_length=1)
    silent: list[dict[str, Any]] = Field(min_length=1)
    undetermined: list[dict[str, Any]] = Field(default_factory=list)


class RuleSpec(PolicyModel):
    id: str = Field(pattern=RULE_ID_PATTERN)
    scope: Scope
    kind: Kind
    severity: Severity
    topics: list[str] = Field(min_length=1)
    when: Any
    title: Localized
    explanation: Localized
    suggestion: Localized
    sources: list[Source] = Field(min_length=1)
    examples: Examples
    note: Localized | None = None


class RuleFile(PolicyModel):
    """rules/<theme>/<prefix>.yaml: the rules of one id prefix within one theme."""

    rules: list[RuleSpec] = Field(min_length=1)


class ThemeHeader(PolicyModel):
    """A theme as `ruleset.yaml` lists it: a folder of rule files, with its title."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: Localized
    description: Localized | None = None


class Parameter(PolicyModel):
    value: int | float
    unit: str
    rationale: Localized
    origin: Literal["report", "local_default"]
    section: str | None = None
    reason: str | Localized | None = None

    @model_validator(mode="after")
    def _origin_explained(self) -> Parameter:
        if self.origin == "report" and not self.section:
            raise ValueError("a parameter from the report names its 'section'")
        if self.origin == "local_default" and not self.reason:
            raise ValueError("a local default gives the 'reason' for its number")
        return self


class ParametersFile(PolicyModel):
    parameters: dict[str, Parameter] = Field(min_length=1)


class RulesetHeader(PolicyModel):
    name: str
    version: str
    title: Localized
    source: dict[str, Any] | None = None
    themes: list[ThemeHeader] = Field(min_length=1)


class Overlay(PolicyModel):
    """A municipality's local choices: parameter values and rule severities."""

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, int | float] = Field(default_factory=dict)
    severities: dict[str, Severity] = Field(default_factory=dict)


def section_key(section: str) -> tuple[Any, ...]:
    """Natural order of report sections: Sammendrag first, then 3.3 < 4.1 < 9 < 11.2."""
    if re.fullmatch(r"\d+(\.\d+)*", section):
        return (1, tuple(int(part) for part in section.split(".")), "")
    if section.lower() == "sammendrag":
        return (0, (), section)
    return (2, (), section.lower())
