"""What would make it suitable, in words: remedies for findings and for the verdict.

`evaluation/counterfactuals.py` finds and verifies the change sets; this module
turns them into the JSON contract's `Remedy` and `VerdictRemedy` with a plain
sentence in bokmål or English (language.md): field labels and value labels from
the message catalogue, rules by their titles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from roprules.contract.assessment import Assessment, Remedy, VerdictRemedy
from roprules.contract.fields import field_registry
from roprules.contract.messages import Messages, messages
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.counterfactuals import (
    VERDICT_BUDGET_S,
    Change,
    Counterfactual,
    EvaluatorLike,
    Need,
    VerdictSearch,
    gap_needs,
    remedies,
)
from roprules.evaluation.outcome import Outcome, assessment_facts
from roprules.rulebase.ruleset import Ruleset

if TYPE_CHECKING:  # built when a matrix is (contract/rankings.py)
    from roprules.contract.rankings import Matrix

# The sentences, per language. `{changes}` is a list of changes joined with
# «og» / "and"; `{titles}` rule titles in «» / “”.
TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "heading": "Dette må til",
        "finding": "Ryddes hvis {changes}.",
        "finding_also": " Da gjelder heller ikke {titles}.",
        "finding_also_n": " Da faller også {n} andre funn bort.",
        "raises": " Men da gjelder {titles} i stedet.",
        "then": " Vurderingen blir da «{verdict}».",
        "waiting": " Funnet kan da ikke avgjøres før dette er kjent: {labels}.",
        "none": (
            "Ingen endring i tilbudet eller prosessen rydder dette; det følger av "
            "faste opplysninger."
        ),
        "verdict_lift": "Vurderingen blir «{verdict}» hvis {changes}.",
        "verdict_already": "Vurderingen er «egnet»; ingenting må endres.",
        "verdict_fixed": (
            "Ingen endring i tilbudet eller prosessen gjør vurderingen «{verdict}», "
            "fordi dette gjelder uansett: {titles}."
        ),
        "verdict_none": (
            "Ingen endring av høyst {n} opplysninger i tilbudet eller prosessen "
            "gjør vurderingen «{verdict}»."
        ),
        "verdict_open": (
            " Noen kritiske regler kan ikke vurderes før flere opplysninger er kjent; "
            "svar på de åpne spørsmålene først."
        ),
        "incomplete_search": " Søket stoppet ved tidsgrensen; det kan finnes flere muligheter.",
        "now": "nå {value}",
        "unknown_now": "ukjent nå",
        "and": " og ",
        "is": "{label} er {value}",
        "needs_heading": "Hva som ville hjulpet",
        "need_one": "1 beboer ({ids}) trenger et tilbud der {changes}",
        "need_many": "{n} beboere ({ids}) trenger et tilbud der {changes}",
        "need_process_one": "1 beboer ({ids}) trenger at {changes}.",
        "need_process_many": "{n} beboere ({ids}) trenger at {changes}.",
        "need_none_has": "; ingen av de {offers} tilbudene har det.",
        "need_some_have": (
            "; {have} av de {offers} tilbudene har det, men ikke alt annet som trengs."
        ),
    },
    "en": {
        "heading": "What it would take",
        "finding": "Cleared if {changes}.",
        "finding_also": " Then {titles} no longer applies either.",
        "finding_also_n": " Then {n} other findings no longer apply either.",
        "raises": " But then {titles} applies instead.",
        "then": " The verdict would then be “{verdict}”.",
        "waiting": " The finding then cannot be decided until this is known: {labels}.",
        "none": "No change to the offer or the process clears this; it follows from fixed facts.",
        "verdict_lift": "The verdict becomes “{verdict}” if {changes}.",
        "verdict_already": "The verdict is “suitable”; nothing needs to change.",
        "verdict_fixed": (
            "No change to the offer or the process makes the verdict “{verdict}”, "
            "because this applies regardless: {titles}."
        ),
        "verdict_none": (
            "No change of at most {n} facts in the offer or the process makes the "
            "verdict “{verdict}”."
        ),
        "verdict_open": (
            " Some critical rules cannot be assessed until more facts are known; "
            "answer the open questions first."
        ),
        "incomplete_search": " The search stopped at its time limit; there may be more options.",
        "now": "now {value}",
        "unknown_now": "unknown now",
        "and": " and ",
        "is": "{label} is {value}",
        "needs_heading": "What would serve them",
        "need_one": "1 resident ({ids}) needs an offer where {changes}",
        "need_many": "{n} residents ({ids}) need an offer where {changes}",
        "need_process_one": "1 resident ({ids}) needs {changes}.",
        "need_process_many": "{n} residents ({ids}) need {changes}.",
        "need_none_has": "; none of the {offers} offers has it.",
        "need_some_have": (
            "; {have} of the {offers} offers have it, but not all else that is needed."
        ),
    },
}
_QUOTES = {"nb": ("«", "»"), "en": ("“", "”")}
_MONTHS = {
    "nb": "januar februar mars april mai juni juli august september oktober november desember",
    "en": "January February March April May June July August September October November December",
}


def word(key: str, lang: str) -> str:
    """One of the remedy texts in `lang` (bokmål if the language has none)."""
    return TEXTS.get(lang, TEXTS["nb"])[key]


def _date(value: Any, lang: str) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    month = _MONTHS["en" if lang == "en" else "nb"].split()[day.month - 1]
    return f"{day.day} {month} {day.year}" if lang == "en" else f"{day.day}. {month} {day.year}"


def display(path: str, value: Any, lang: str, catalogue: Messages | None = None) -> str:
    """A value as a reader sees it; dates in words."""
    catalogue = catalogue or messages()
    info = field_registry().get(path)
    if value is not None and info is not None and info.kind == "date":
        try:
            return _date(value, lang)
        except ValueError:
            return str(value)
    return catalogue.value_label(path, value, lang)


def change_data(change: Change, lang: str, catalogue: Messages | None = None) -> dict[str, Any]:
    """One change as the JSON contract's `Change`."""
    catalogue = catalogue or messages()
    return {  # a list field's values stay tuples (JSON: arrays; output models hold no lists)
        "field": change.field,
        "label": catalogue.field_label(change.field, lang),
        "value": change.value,
        "display": display(change.field, change.value, lang, catalogue),
        "before": change.before,
        "before_display": (
            display(change.field, change.before, lang, catalogue) if change.known_before else None
        ),
        "known_before": change.known_before,
        "changed_by": change.changed_by,
    }


def change_phrase(change: Change, lang: str, catalogue: Messages | None = None) -> str:
    """«bemanning på stedet er heldøgns bemanning (nå ambulerende oppfølging)»."""
    catalogue = catalogue or messages()
    phrase = _bare_phrase(change, lang, catalogue)
    if change.known_before:
        before = display(change.field, change.before, lang, catalogue)
        return f"{phrase} ({word('now', lang).format(value=before)})"
    return f"{phrase} ({word('unknown_now', lang)})"


def _join(parts: Sequence[str], lang: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + word("and", lang) + parts[-1]


def _titles(rule_ids: Sequence[str], ruleset: Ruleset, lang: str) -> str:
    open_, close = _QUOTES.get(lang, _QUOTES["nb"])
    titles = []
    for rule_id in rule_ids:
        rule = ruleset.rule(rule_id)
        titles.append(f"{open_}{rule.spec.title.get(lang)}{close}")
    return _join(titles, lang)


def _verdict_word(verdict: str, lang: str, catalogue: Messages) -> str:
    return catalogue.term("verdict", verdict, lang)


def remedy_text(
    rule_id: str, result: Counterfactual, ruleset: Ruleset, lang: str, current: str
) -> str:
    """One finding's remedy as a sentence: the changes, what else they clear or raise."""
    catalogue = messages()
    changes = _join([change_phrase(c, lang, catalogue) for c in result.changes], lang)
    text = word("finding", lang).format(changes=changes)
    others = [r for r in result.clears if r != rule_id]
    if len(others) == 1:
        text += word("finding_also", lang).format(titles=_titles(others, ruleset, lang))
    elif others:
        text += word("finding_also_n", lang).format(n=len(others))
    if result.waiting:
        labels = _join([catalogue.field_label(p, lang) for p in result.waiting], lang)
        text += word("waiting", lang).format(labels=labels)
    if result.raises:
        text += word("raises", lang).format(titles=_titles(result.raises, ruleset, lang))
    if result.verdict != current:
        text += word("then", lang).format(verdict=_verdict_word(result.verdict, lang, catalogue))
    return text


def remedy_data(
    rule_id: str, result: Counterfactual, ruleset: Ruleset, lang: str, current: str
) -> dict[str, Any]:
    """One finding's remedy as the JSON contract's `Remedy`."""
    catalogue = messages()
    return {
        "changes": [change_data(c, lang, catalogue) for c in result.changes],
        "verdict": result.verdict,
        "clears": list(result.clears),
        "raises": list(result.raises),
        "waiting_on": list(result.waiting),
        "text": remedy_text(rule_id, result, ruleset, lang, current),
    }


def verdict_remedy_data(
    search: VerdictSearch,
    ruleset: Ruleset,
    lang: str,
    current: str,
    max_changes: int = 3,
    *,
    open_critical: bool = False,
) -> dict[str, Any]:
    """The verdict's remedy as the JSON contract's `VerdictRemedy`, with its sentence.

    `open_critical`: some critical rule cannot be evaluated yet (said when no change
    set was found, since the open questions may be what stands in the way)."""
    catalogue = messages()
    result = search.counterfactual
    if current == "suitable":
        text = word("verdict_already", lang)
    elif search.target is not None and result is not None:
        changes = _join([change_phrase(c, lang, catalogue) for c in result.changes], lang)
        text = word("verdict_lift", lang).format(
            verdict=_verdict_word(result.verdict, lang, catalogue), changes=changes
        )
        if result.raises:
            text += word("raises", lang).format(titles=_titles(result.raises, ruleset, lang))
    else:
        wanted = _verdict_word(
            "suitable" if current == "conditional" else "conditional", lang, catalogue
        )
        if search.fixed:
            text = word("verdict_fixed", lang).format(
                verdict=wanted, titles=_titles(search.fixed, ruleset, lang)
            )
        else:
            text = word("verdict_none", lang).format(verdict=wanted, n=max_changes)
            if open_critical:
                text += word("verdict_open", lang)
    if not search.complete:
        text += word("incomplete_search", lang)
    return {
        "target": search.target,
        "changes": [change_data(c, lang, catalogue) for c in (result.changes if result else ())],
        "verdict": result.verdict if result else None,
        "raises": list(result.raises) if result else [],
        "fixed": list(search.fixed),
        "complete": search.complete,
        "text": text,
    }


def with_remedies(
    assessment: Assessment,
    evaluator: EvaluatorLike,
    facts: Mapping[str, Any],
    *,
    budget_s: float = VERDICT_BUDGET_S,
    base: Outcome | None = None,
) -> Assessment:
    """The assessment with `remedies` on every critical and major finding and
    `verdict_remedy` set; other findings keep `remedies` None (not computed).
    `base`: the assessment's own outcome, so that it is not evaluated twice."""
    ruleset = evaluator.ruleset
    lang = assessment.lang
    found = remedies(evaluator, assessment.scope, facts, budget_s=budget_s, base=base)
    findings = []
    for finding in assessment.findings:
        results = found.findings.get(finding.rule_id)
        if results is None:
            findings.append(finding)
            continue
        data = [remedy_data(finding.rule_id, r, ruleset, lang, assessment.verdict) for r in results]
        remedied = tuple(Remedy.model_validate(item) for item in data)
        findings.append(finding.model_copy(update={"remedies": remedied}))
    open_critical = any(u.severity == "critical" for u in assessment.undetermined)
    verdict = verdict_remedy_data(
        found.verdict, ruleset, lang, assessment.verdict, open_critical=open_critical
    )
    # A tuple, as validation gives: output models hold no lists (contract/assessment.py).
    return assessment.model_copy(
        update={
            "findings": tuple(findings),
            "verdict_remedy": VerdictRemedy.model_validate(verdict),
        }
    )


def _bare_phrase(change: Change, lang: str, catalogue: Messages) -> str:
    """«bemanning på stedet er heldøgns bemanning», without the value now."""
    label = catalogue.field_label(change.field, lang)
    info = field_registry().get(change.field)
    if info is not None and info.kind == "bool":
        open_, close = _QUOTES.get(lang, _QUOTES["nb"])
        label = f"{open_}{label}{close}"
    return word("is", lang).format(
        label=label, value=display(change.field, change.value, lang, catalogue)
    )


def need_data(need: Need, lang: str) -> dict[str, Any]:
    """A matrix need as the JSON contract's `MatrixNeed`, with its sentence:
    «3 beboere (R-1, R-2, R-3) trenger at bemanning på stedet er heldøgns bemanning;
    ingen av de 9 tilbudene har det.»"""
    catalogue = messages()
    people = len(need.resident_ids)
    changes = _join([_bare_phrase(c, lang, catalogue) for c in need.changes], lang)
    ids = ", ".join(need.resident_ids)
    key = "need_one" if people == 1 else "need_many"
    if need.offers_with is None:
        key = key.replace("need_", "need_process_")
    text = word(key, lang).format(n=people, ids=ids, changes=changes)
    if need.offers_with == 0:
        text += word("need_none_has", lang).format(offers=need.offers)
    elif need.offers_with is not None:
        text += word("need_some_have", lang).format(have=need.offers_with, offers=need.offers)
    return {
        "resident_ids": list(need.resident_ids),
        "changes": [change_data(c, lang, catalogue) for c in need.changes],
        "offers_with": need.offers_with,
        "offers": need.offers,
        "text": text,
    }


_ACCEPTABLE = ("suitable", "conditional")


def with_needs(
    matrix: Matrix,
    evaluator: EvaluatorLike,
    residents: Sequence[ResidentProfile],
    offers: Sequence[OfferProfile],
    as_of: date,
    *,
    budget_s: float = 2.0,
) -> Matrix:
    """The matrix with `needs`: its gaps grouped by what would serve them."""
    people = {r.id: r for r in residents}
    places = {o.id: o for o in offers}
    gaps = []
    for row in matrix.rows:
        if not row.ranking or any(cell.verdict in _ACCEPTABLE for cell in row.ranking):
            continue
        person = people[row.resident_id]
        placements = [
            assessment_facts(person, places[cell.offer_id], as_of) for cell in row.ranking[:3]
        ]
        gaps.append((row.resident_id, placements))
    if not gaps:
        return matrix
    offer_facts = [assessment_facts(None, offer, as_of) for offer in offers]
    needs = gap_needs(evaluator, gaps, offer_facts, budget_s=budget_s)
    from roprules.contract.rankings import MatrixNeed

    shown = [MatrixNeed.model_validate(need_data(need, matrix.lang)) for need in needs]
    return matrix.model_copy(update={"needs": shown})
