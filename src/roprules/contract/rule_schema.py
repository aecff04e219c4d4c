"""The schema of rule files, parameters, the ruleset header and overlays.

These pydantic models check the *shape* of the policy files (every key known,
every text in both languages, every rule with sources and examples). What the
shape cannot say — that a field path exists, that an enum value belongs to its
field, that a parameter is defined — is checked by `ruleset.py` when it parses
the conditions and templates.
"""

# No `from __future__ import annotations` in the modules of pydantic models: pydantic
# would build each field's type from its text (one compile each; ~2 % of a cold start).

import re
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

Scope = Literal["placement", "offer", "resident"]
Kind = Literal["warning", "advice"]
Severity = Literal["critical", "major", "minor", "info"]

SEVERITY_ORDER: dict[str, int] = {"critical": 0, "major": 1, "minor": 2, "info": 3}
RULE_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*$"


# Empty defaults from functions, not `default_factory=list`/`dict`: pydantic reads a
# factory's signature, and the text signature of a builtin costs the first tokenize of
# the process (compiling its big regular expression, ~1 % of a `roprules check`).
def _empty_list() -> list[Any]:
    return []


def _empty_dict() -> dict[str, Any]:
    return {}


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Localized(PolicyModel):
    """A text in Norwegian bokmål and English."""

    nb: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.nb


class ByValue(PolicyModel):
    """A text with one variant per value of a field (rule-format.md, "Texts per value").

        explanation:
          by: resident.coercion_need
          cases:
            at_home: {nb: ..., en: ...}
          default: {nb: ..., en: ...}

    Declarative instead of `{% if %}` in a template, so that a reviewer reads
    sentences. The loader checks that `by` is an enum or boolean field and
    that every case is one of its values; an unknown value takes `default`.
    """

    by: str
    cases: dict[str | bool, Localized] = Field(min_length=1)
    default: Localized

    def get(self, lang: str) -> str:
        """The default text: what a reader sees when the value is not one of the cases."""
        return self.default.get(lang)

    def variants(self) -> list[Localized]:
        return [*self.cases.values(), self.default]


Text = Localized | ByValue
_WEB_URL = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?")


class Source(PolicyModel):
    """A citation: a report section with a verbatim quote, or another public source."""

    section: str | None = None
    quote: str | None = None
    title: str | None = None
    url: str | None = None
    note: str | None = None

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # Reports link only to plain web addresses (render/escape.py checks again).
        if value is not None and not (_WEB_URL.fullmatch(value) and value.isprintable()):
            raise ValueError("'url' must be an http:// or https:// address without spaces")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
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
    undetermined: list[dict[str, Any]] = Field(default_factory=_empty_list)


class RuleSpec(PolicyModel):
    id: str = Field(pattern=RULE_ID_PATTERN)
    scope: Scope
    kind: Kind
    severity: Severity
    topics: list[str] = Field(min_length=1)
    when: Any
    title: Localized
    explanation: Text
    suggestion: Text
    sources: list[Source] = Field(min_length=1)
    examples: Examples
    note: Localized | None = None
    # Ids of rules this one escalates on the same fact (criteria.md, Supersedes).
    supersedes: list[str] = Field(default_factory=_empty_list)


class RuleFile(PolicyModel):
    """rules/<theme>/<prefix>.yaml: the rules of one id prefix within one theme."""

    rules: list[RuleSpec] = Field(min_length=1)


class ThemeHeader(PolicyModel):
    """A theme as `ruleset.yaml` lists it: a folder of rule files, with its title."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: Localized
    description: Localized | None = None


Number = int | float


class Parameter(PolicyModel):
    value: Number
    unit: str
    rationale: Localized
    origin: Literal["report", "local_default"]
    section: str | None = None
    reason: str | Localized | None = None
    # Bounds an overlay must keep to (issue 8 item 5); the value itself lies within them.
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _origin_explained(self) -> Self:
        if self.origin == "report" and not self.section:
            raise ValueError("a parameter from the report names its 'section'")
        if self.origin == "local_default" and not self.reason:
            raise ValueError("a local default gives the 'reason' for its number")
        for bound in (self.value, self.min, self.max):
            if isinstance(bound, bool):
                raise ValueError("value, min and max are numbers, not true/false")
        problem = value_problem(self, self.value)
        if problem:
            raise ValueError(f"value: {problem}")
        return self


def value_problem(parameter: Parameter, value: Any) -> str | None:
    """Why `value` cannot be this parameter's value (type and bounds), or None.

    The type is the declared value's: a whole number stays a whole number (an
    overlay's `1.5` months is refused), a decimal may be written whole; `true`
    is not 1 and `'1500'` is not 1500.
    """
    whole = isinstance(parameter.value, int)
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if whole else "a number"
        return f"expected {kind}; got {type(value).__name__}"
    if whole and not isinstance(value, int):
        return f"expected a whole number; got {value!r}"
    if value != value or value in (float("inf"), float("-inf")):
        return "expected a finite number"
    if parameter.min is not None and value < parameter.min:
        return f"{value} is below the minimum {parameter.min}"
    if parameter.max is not None and value > parameter.max:
        return f"{value} is above the maximum {parameter.max}"
    return None


class ParametersFile(PolicyModel):
    parameters: dict[str, Parameter] = Field(min_length=1)


class RulesetHeader(PolicyModel):
    name: str
    version: str
    title: Localized
    # The date the legal statements of the catalogue and rule texts were checked.
    law_as_of: date | None = None
    source: dict[str, Any] | None = None
    themes: list[ThemeHeader] = Field(min_length=1)


# Two or more words, each capitalised: reads as a person's name, not a role.
_PERSON_NAME = re.compile(r"[A-ZÆØÅ][a-zæøåé'-]+(\s+[A-ZÆØÅ][a-zæøåé'-]+)+")


def _role(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("give the role that approved the change")
    if _PERSON_NAME.fullmatch(value):
        raise ValueError(
            "looks like a person's name; give a role (e.g. kommunalsjef for helse og omsorg)"
        )
    return value


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("give the reason for the local change")
    return value.strip()


class RuleChange(PolicyModel):
    """A local change to one rule: a new severity, or switched off; never without
    the reason and the role that approved it."""

    severity: Severity | None = None
    enabled: Literal[False] | None = None
    reason: Annotated[str, Field(max_length=1000), AfterValidator(_reason)]
    approved_by: Annotated[str, Field(max_length=200), AfterValidator(_role)]

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        if (self.severity is None) == (self.enabled is None):
            raise ValueError("give either 'severity' or 'enabled: false'")
        return self


class Overlay(PolicyModel):
    """A municipality's local choices: parameter values within their bounds, and
    rule changes (severity, or switched off) each with reason and approver."""

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=_empty_dict)
    rules: dict[str, RuleChange] = Field(default_factory=_empty_dict)

    @model_validator(mode="before")
    @classmethod
    def _no_legacy_severities(cls, data: Any) -> Any:
        if isinstance(data, dict) and "severities" in data:
            raise ValueError(
                "'severities' is no longer accepted: a rule change needs a reason and the "
                "role that approved it; write rules: {RULE_ID: {severity: minor, reason: "
                "..., approved_by: ...}}"
            )
        return data


def section_key(section: str) -> tuple[Any, ...]:
    """Natural order of report sections: Sammendrag first, then 3.3 < 4.1 < 9 < 11.2."""
    if re.fullmatch(r"\d+(\.\d+)*", section):
        return (1, tuple(int(part) for part in section.split(".")), "")
    if section.lower() == "sammendrag":
        return (0, (), section)
    return (2, (), section.lower())
