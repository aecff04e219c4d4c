"""Screening many residents against many offers: verdicts without texts.

A municipality's allocation round can be hundreds of residents against
hundreds of offers. The offer rules depend on the offer alone and the resident
rules on the resident alone, so each runs once per profile; only the placement
rules run per pair. No explanation is rendered: open a pair with
`Engine.check` to read its findings.

The matrix also lists the offers (with their vacancies) and the gaps: residents
with no acceptable offer, grouped by the critical rules that stand in their way
in every offer. It never allocates: prioritising between people is the team's
decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from roprules.contract.assessment import Matrix, MatrixCell, MatrixGap, MatrixOffer, MatrixRow
from roprules.contract.profiles import OfferProfile, ResidentProfile, profile_to_facts
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.outcome import Evaluator, Outcome, severity_counts, verdict_of
from roprules.evaluation.ranking import rank_key, rank_score, unknown_weight
from roprules.rulebase.conditions import AS_OF


def _merge(*outcomes: Outcome) -> Outcome:
    return Outcome(
        tuple(r for o in outcomes for r in o.fired),
        tuple(u for o in outcomes for u in o.undetermined),
    )


def _cell(offer_id: str, outcome: Outcome, weight: float) -> tuple[tuple[object, ...], MatrixCell]:
    severities = [r.severity for r in outcome.fired]
    open_rules = [r.severity for r, _ in outcome.undetermined]
    verdict = verdict_of(severities, open_rules)
    counts = severity_counts(severities)
    missing = len({path for _, waiting in outcome.undetermined for path in waiting})
    fired = sorted(outcome.fired, key=lambda r: (SEVERITY_ORDER[r.severity], r.id))
    cell = MatrixCell(
        rank=0,
        offer_id=offer_id,
        verdict=verdict,
        findings_by_severity=counts,
        rule_ids=[r.id for r in fired],
        missing=missing,
    )
    return rank_key(verdict, rank_score(severities, open_rules, weight), offer_id), cell


ACCEPTABLE = frozenset({"suitable", "conditional"})


def _gaps(rows: Sequence[MatrixRow], titles: Mapping[str, str], offers: int) -> list[MatrixGap]:
    """Residents with no acceptable offer, by each critical rule that fired in every offer."""
    by_rule: dict[str, list[str]] = {}
    other: list[str] = []
    for row in rows:
        if not row.ranking or any(cell.verdict in ACCEPTABLE for cell in row.ranking):
            continue
        common = set.intersection(
            *({r for r in cell.rule_ids if r in titles} for cell in row.ranking)
        )
        for rule_id in common:
            by_rule.setdefault(rule_id, []).append(row.resident_id)
        if not common:
            other.append(row.resident_id)
    gaps = [
        MatrixGap(resident_ids=people, rule_id=rule_id, title=titles[rule_id], offers=offers)
        for rule_id, people in sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    if other:
        gaps.append(MatrixGap(resident_ids=other, offers=offers))
    return gaps


def screen(
    assessor: Evaluator,
    residents: Sequence[ResidentProfile],
    offers: Sequence[OfferProfile],
    *,
    as_of: date | None = None,
    lang: str = "nb",
) -> Matrix:
    as_of = as_of or date.today()
    weight = unknown_weight(assessor.ruleset.params)
    day = {AS_OF: as_of.isoformat()}
    offer_facts = [{**profile_to_facts("offer", offer), **day} for offer in offers]
    offer_outcomes = [assessor.run("offer", facts) for facts in offer_facts]
    rows = []
    critical: dict[str, str] = {}  # id -> title of every critical rule that fired
    for resident in residents:
        resident_facts = {**profile_to_facts("resident", resident), **day}
        resident_outcome = assessor.run("resident", resident_facts)
        cells = []
        for offer, facts, offer_outcome in zip(offers, offer_facts, offer_outcomes, strict=True):
            placement = assessor.run("placement", {**resident_facts, **facts})
            merged = _merge(placement, offer_outcome, resident_outcome)
            for rule in merged.fired:
                if rule.severity == "critical":
                    critical[rule.id] = rule.spec.title.get(lang) or rule.id
            cells.append(_cell(offer.id, merged, weight))
        cells.sort(key=lambda item: item[0])
        ranking = [
            cell.model_copy(update={"rank": index})
            for index, (_, cell) in enumerate(cells, start=1)
        ]
        rows.append(MatrixRow(resident_id=resident.id, ranking=ranking))
    columns = [
        MatrixOffer(offer_id=o.id, offer_name=o.name, vacant_units=o.vacant_units) for o in offers
    ]
    return Matrix(
        rows=rows,
        ruleset=assessor.ruleset_ref,
        as_of=as_of,
        offers=columns,
        gaps=_gaps(rows, critical, len(offers)),
        lang="en" if lang == "en" else "nb",
    )
