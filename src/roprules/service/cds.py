"""CDS Hooks 2.0: discovery and cards for a placement check.

The hook `roprules-placement-check` carries the resident and the offer in its
context (`context.resident`, and `context.offer` or `context.offerId` from the
register). The response has one card for the verdict and one per finding.
Profile-derived text is escaped for Markdown; the card uuid is stable: uuid5
of the ruleset hash, the rule id and the two profile ids.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from roprules.contract.assessment import Assessment

HOOK = "roprules-placement-check"
SERVICE_ID = "roprules-placement-check"
CARD_NAMESPACE = uuid.UUID("6f1d3c1e-6a55-5d0e-9a0b-3e6a7c2f1b40")
SOURCE_LABEL = "SINTEF 2020: Etablering av boliger for personer med ROP-lidelser"
SECTION_SYSTEM = "urn:roprules:report-section"
SUMMARY_MAX = 139  # the specification: a "<140-character summary"

INDICATOR = {"critical": "critical", "major": "warning", "minor": "info", "info": "info"}
VERDICT_INDICATOR = {
    "unsuitable": "critical",
    "incomplete": "warning",
    "conditional": "warning",
    "suitable": "info",
}
VERDICT_TEXT = {
    "nb": {
        "unsuitable": "uegnet",
        "incomplete": "kan ikke vurderes ennå",
        "conditional": "egnet med forbehold",
        "suitable": "egnet",
    },
    "en": {
        "unsuitable": "unsuitable",
        "incomplete": "cannot be assessed yet",
        "conditional": "suitable with reservations",
        "suitable": "suitable",
    },
}


# --- Models (the specification's shapes, for the OpenAPI document) ----------


class CdsModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Prefetch(CdsModel):
    pass


class CdsService(CdsModel):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(CdsModel):
    services: list[CdsService]


class Coding(CdsModel):
    system: str | None = None
    code: str
    display: str | None = None


class CardSource(CdsModel):
    label: str
    url: str | None = None
    topic: Coding | None = None


class Link(CdsModel):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class Card(CdsModel):
    uuid: str | None = None
    summary: str = Field(max_length=SUMMARY_MAX)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    suggestions: list[dict[str, Any]] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    links: list[Link] | None = None


class CdsResponse(CdsModel):
    cards: list[Card]
    systemActions: list[dict[str, Any]] | None = None


class PlacementContext(BaseModel):
    """The hook's context: the resident, and the offer or an offer id from the register."""

    model_config = ConfigDict(extra="forbid")
    resident: dict[str, Any]
    offer: dict[str, Any] | None = None
    offerId: str | None = None
    asOf: str | None = None


class CdsRequest(BaseModel):
    """A hook call (CDS Hooks 2.0 §Calling a CDS Service)."""

    model_config = ConfigDict(extra="allow")
    hook: str
    hookInstance: str
    context: PlacementContext
    fhirServer: str | None = None
    prefetch: dict[str, Any] | None = None


def discovery(lang: str) -> dict[str, Any]:
    if lang == "en":
        title = "roprules: placement check"
        description = (
            "Checks a proposed placement (resident and offer profile) against criteria "
            "encoded from SINTEF 2020; one card for the verdict and one per finding."
        )
    else:
        title = "roprules: vurdering av botilbud"
        description = (
            "Vurderer et foreslått botilbud (beboerprofil og tilbudsprofil) mot kriterier "
            "fra SINTEF 2020; ett kort for konklusjonen og ett per funn."
        )
    return {
        "services": [
            {
                "hook": HOOK,
                "title": title,
                "description": description,
                "id": SERVICE_ID,
                "prefetch": {},
            }
        ]
    }


# --- Markdown --------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&=])")
MAX_QUESTIONS = 8


def md_escape(text: str) -> str:
    """Text that renders literally in CommonMark: punctuation escaped, on one line."""
    one_line = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)


def _summary(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SUMMARY_MAX:
        return text
    return text[: SUMMARY_MAX - 1].rstrip() + "…"


def card_uuid(ruleset_sha: str, rule_id: str, resident_id: str, offer_id: str) -> str:
    return str(uuid.uuid5(CARD_NAMESPACE, f"{ruleset_sha}\n{rule_id}\n{resident_id}\n{offer_id}"))


def cards(assessment: Assessment, lang: str) -> list[dict[str, Any]]:
    """One card for the verdict, then one per finding (not those shown inside another)."""
    sha = assessment.ruleset.sha256
    resident_id = assessment.resident_id or ""
    offer_id = assessment.offer_id or ""
    words = VERDICT_TEXT[lang if lang in VERDICT_TEXT else "nb"]
    verdict = words[assessment.verdict]
    missing_head = "Dette mangler:" if lang != "en" else "Still unknown:"
    if lang == "en":
        summary = f"Placement {verdict}: {len(assessment.findings)} findings"
    else:
        summary = f"Botilbudet er {verdict}: {len(assessment.findings)} funn"
    detail_lines = [f"**{md_escape(verdict)}**"]
    if assessment.missing:
        detail_lines += ["", md_escape(missing_head)]
        shown = assessment.missing[:MAX_QUESTIONS]
        detail_lines += [f"- {md_escape(item.question)}" for item in shown]
        rest = len(assessment.missing) - len(shown)
        if rest:
            more = f"… and {rest} more" if lang == "en" else f"… og {rest} til"
            detail_lines.append(f"- {md_escape(more)}")
    result: list[dict[str, Any]] = [
        {
            "uuid": card_uuid(sha, "verdict", resident_id, offer_id),
            "summary": _summary(summary),
            "detail": "\n".join(detail_lines),
            "indicator": VERDICT_INDICATOR[assessment.verdict],
            "source": {"label": SOURCE_LABEL},
        }
    ]
    for finding in assessment.findings:
        if getattr(finding, "superseded_by", None):
            continue
        lines = [md_escape(finding.explanation)]
        if finding.facts:
            lines.append("")
            for fact in finding.facts:
                label = fact.label or fact.field
                shown = fact.display if fact.display is not None else fact.value
                lines.append(f"- {md_escape(label)}: {md_escape(str(shown))}")
        report_sections = []
        for source in finding.sources:
            if source.quote:
                where = f"§{source.section}" if source.section else (source.title or "")
                lines += ["", f"> {md_escape(source.quote)}", f"> — {md_escape(where)}"]
            if source.section:
                report_sections.append(source.section)
        if finding.suggestions:
            lines.append("")
            lines += [f"- {md_escape(s)}" for s in finding.suggestions]
        card_source: dict[str, Any] = {"label": SOURCE_LABEL}
        if report_sections:
            section = report_sections[0]
            card_source["topic"] = {
                "system": SECTION_SYSTEM,
                "code": section,
                "display": f"SINTEF 2020 §{section}",
            }
        else:
            titled = next((s for s in finding.sources if s.title), None)
            if titled is not None:
                card_source["label"] = titled.title
                if titled.url:
                    card_source["url"] = titled.url
        result.append(
            {
                "uuid": card_uuid(sha, finding.rule_id, resident_id, offer_id),
                "summary": _summary(finding.title),
                "detail": "\n".join(lines),
                "indicator": INDICATOR[finding.severity],
                "source": card_source,
            }
        )
    return result


def cards_by_uuid(assessment: Assessment) -> dict[str, str]:
    """Each card's uuid → the rule id it shows ("verdict" for the verdict card)."""
    sha = assessment.ruleset.sha256
    resident_id, offer_id = assessment.resident_id or "", assessment.offer_id or ""
    ids = ["verdict", *(f.rule_id for f in assessment.findings)]
    return {card_uuid(sha, rule_id, resident_id, offer_id): rule_id for rule_id in ids}


def override_reason(item: dict[str, Any]) -> str | None:
    """The team's reason for overriding a card: its comment, else the coded reason's text."""
    reason = item.get("overrideReason")
    if not isinstance(reason, dict):
        return None
    comment = reason.get("userComment")
    if isinstance(comment, str) and comment.strip():
        return comment.strip()
    coded = reason.get("reason")
    if isinstance(coded, dict) and isinstance(coded.get("display"), str):
        return coded["display"].strip() or None
    return None
