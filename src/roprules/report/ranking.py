"""Ranking with reasons, and offers side by side (issue 11 item 4).

The order comes from `evaluation.ranking` (verdict, weighted score, offer id);
this module adds what a team reads: one plain line per offer (`reason`), the
verdict remedy's text where remedies were computed (`remedy_summary`), and the
table of `roprules compare` with one row per rule and one column per offer.
`summarize` makes the short form (`--detail summary`): no nested assessments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from roprules.contract.assessment import Assessment, RulesetRef
from roprules.contract.messages import messages
from roprules.contract.rankings import (
    Compare,
    CompareCell,
    ComparedOffer,
    CompareRow,
    RankedOffer,
    Ranking,
)
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.ranking import rank_key, rank_score, unknown_weight


def counts_of(assessment: Assessment) -> dict[str, int]:
    """The assessment's findings by severity, every severity present (0 if none)."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for finding in assessment.findings:
        counts[finding.severity] += 1
    return counts


def score_of(assessment: Assessment, weight: float) -> float:
    """The weighted score of an assessment's findings and undetermined rules, the latter
    at `weight` (the rule base's `ranking.unknown_weight`) of their severity's weight."""
    return rank_score(
        (f.severity for f in assessment.findings),
        (u.severity for u in assessment.undetermined),
        weight,
    )


def ranked(
    assessments: Sequence[Assessment],
    params: Mapping[str, Any],
    *,
    id_of: Callable[[Assessment], str] = lambda a: a.offer_id or "",
) -> list[tuple[Assessment, dict[str, int], float]]:
    """Assessments best first, each with its counts by severity and its score, by the
    rule base's `ranking.unknown_weight` (`id_of` breaks ties: the offer id by default)."""
    weight = unknown_weight(params)
    scored = [(a, counts_of(a), score_of(a, weight)) for a in assessments]
    scored.sort(key=lambda item: rank_key(item[0].verdict, item[2], id_of(item[0])))
    return scored


def reason_text(verdict: str, counts: Mapping[str, int], open_questions: int, lang: str) -> str:
    """«Egnet; 1 mindre merknad; 2 spørsmål er åpne» / "Suitable; 1 minor finding; ..."."""
    catalogue = messages()

    def term(key: str, n: int) -> str:
        return catalogue.term("ranking", key, lang).format(n=n)

    verdict_word = catalogue.term("verdict", verdict, lang)
    parts = [verdict_word[:1].upper() + verdict_word[1:]]
    found = [
        term(("one_" if counts[s] == 1 else "many_") + s, counts[s])
        for s in SEVERITY_ORDER
        if counts.get(s)
    ]
    parts.extend(found or [catalogue.term("ranking", "no_findings", lang)])
    if open_questions:
        parts.append(term("one_open" if open_questions == 1 else "many_open", open_questions))
    return "; ".join(parts)


def remedy_text(assessment: Assessment) -> str | None:
    """The verdict remedy's text, where remedies were computed; else None."""
    remedy = getattr(assessment, "verdict_remedy", None)
    text = getattr(remedy, "text", None) if remedy is not None else None
    return text or None


def _rule_ids(assessment: Assessment) -> tuple[str, ...]:
    """The rules that fired, most severe first (the findings' own order)."""
    return tuple(f.rule_id for f in assessment.findings)


def rank_assessments(
    resident_id: str,
    assessments: Sequence[Assessment],
    ruleset_ref: RulesetRef,
    *,
    unknown_weight: float,
) -> Ranking:
    """One resident's assessments, best first (`evaluation.ranking.rank_key`), with reasons."""
    scored = [(a, counts_of(a), score_of(a, unknown_weight)) for a in assessments]
    scored.sort(key=lambda item: rank_key(item[0].verdict, item[2], item[0].offer_id or ""))
    return Ranking(
        resident_id=resident_id,
        ranking=[
            RankedOffer(
                rank=index,
                offer_id=a.offer_id or "",
                offer_name=a.offer_name,
                verdict=a.verdict,
                findings_by_severity=counts,
                missing=len(a.missing),
                assessment=a,
                reason=reason_text(a.verdict, counts, len(a.missing), a.lang),
                remedy_summary=remedy_text(a),
                score=score,
            )
            for index, (a, counts, score) in enumerate(scored, start=1)
        ],
        ruleset=ruleset_ref,
    )


def compare_assessments(
    resident_id: str,
    assessments: Sequence[Assessment],
    ruleset_ref: RulesetRef,
    *,
    unknown_weight: float,
    lang: str,
    as_of: date | None = None,
    themes: Mapping[str, Any],
    rule_themes: Mapping[str, str],
) -> Compare:
    """Offers side by side: one column per assessment (in the order given), one row per
    rule that fired or could not be evaluated in at least one of them.

    `themes` maps a theme id to the rule base's Theme (its title), in the rule base's
    order; `rule_themes` a rule id to its theme. Rows follow the themes' order, then
    the most severe first, then the title.
    """
    scored = [(a, counts_of(a), score_of(a, unknown_weight)) for a in assessments]
    order = sorted(
        range(len(scored)),
        key=lambda i: rank_key(scored[i][0].verdict, scored[i][2], scored[i][0].offer_id or ""),
    )
    place = {i: rank for rank, i in enumerate(order, start=1)}
    offers = [
        ComparedOffer(
            rank=place[i],
            offer_id=a.offer_id or "",
            offer_name=a.offer_name,
            offer_type=a.offer_type,
            verdict=a.verdict,
            findings_by_severity=counts,
            missing=len(a.missing),
            score=score,
            reason=reason_text(a.verdict, counts, len(a.missing), lang),
            remedy_summary=remedy_text(a),
            assessment=a,
        )
        for i, (a, counts, score) in enumerate(scored)
    ]
    titles = {name: theme.title.get(lang) or name for name, theme in themes.items()}
    rules: dict[str, dict[str, Any]] = {}
    for a in assessments:
        for f in a.findings:
            rules.setdefault(f.rule_id, {"title": f.title, "severity": f.severity})
        for u in a.undetermined:
            rules.setdefault(u.rule_id, {"title": u.title, "severity": u.severity})
    rows = []
    for rule_id, info in rules.items():
        cells = []
        for a in assessments:
            finding = next((f for f in a.findings if f.rule_id == rule_id), None)
            if finding is not None:
                cells.append(
                    CompareCell(
                        offer_id=a.offer_id or "",
                        status="finding",
                        severity=finding.severity,
                        superseded_by=finding.superseded_by,
                    )
                )
            elif any(u.rule_id == rule_id for u in a.undetermined):
                cells.append(
                    CompareCell(offer_id=a.offer_id or "", status="open", severity=info["severity"])
                )
            else:
                cells.append(CompareCell(offer_id=a.offer_id or "", status="not_applicable"))
        theme = rule_themes.get(rule_id)
        rows.append(
            CompareRow(
                rule_id=rule_id,
                title=info["title"] or rule_id,
                severity=info["severity"],
                theme=theme,
                theme_title=titles.get(theme) if theme else None,
                cells=cells,
            )
        )
    position = {name: i for i, name in enumerate(themes)}
    rows.sort(
        key=lambda r: (
            position.get(r.theme or "", len(position)),
            SEVERITY_ORDER[r.severity],
            r.title.casefold(),
            r.rule_id,
        )
    )
    return Compare(
        resident_id=resident_id,
        offers=offers,
        rows=rows,
        ruleset=ruleset_ref,
        as_of=as_of,
        lang="en" if lang == "en" else "nb",
    )


def summarize(document: Ranking | Compare) -> Ranking | Compare:
    """The short form (`detail: summary`): no nested assessments, so no facts, sources,
    explanations or suggestions; a ranking keeps each offer's reason, counts and the
    ids of the rules that fired. A summary of a summary is itself."""
    if document.detail == "summary":
        return document
    if isinstance(document, Ranking):
        # Tuples, as validation gives (model_copy does not validate; contract/assessment.py).
        entries = tuple(
            entry.model_copy(
                update={
                    "assessment": None,
                    "rule_ids": _rule_ids(entry.assessment)
                    if entry.assessment is not None
                    else entry.rule_ids,
                }
            )
            for entry in document.ranking
        )
        return document.model_copy(update={"ranking": entries, "detail": "summary"})
    columns = tuple(offer.model_copy(update={"assessment": None}) for offer in document.offers)
    return document.model_copy(update={"offers": columns, "detail": "summary"})
