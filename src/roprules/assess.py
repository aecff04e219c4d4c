"""Assessments: run the rules of a scope over the facts, form the verdict.

The backend decides which rules fire (see `backends.py`): durable_rules, or
the three-valued evaluator alone. The evaluator decides, for every rule that
did not fire and whose facts are incomplete, whether it is false or
undetermined; it also explains each fired rule. If durable_rules and the
evaluator ever disagree the assessment fails (EngineError) rather than return
a guess.

The verdict follows contract.md exactly, first that applies:
unsuitable (a critical finding) → incomplete (a critical rule undetermined) →
conditional (a major finding) → suitable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from roprules.assessment import (
    VERDICT_RANK,
    Assessment,
    BackendRef,
    Citation,
    Fact,
    OverlayRef,
    RankedOffer,
    Ranking,
    RulesetRef,
    Verdict,
)
from roprules.backends import (
    CompiledRule,
    EngineError,
    ScopeEngine,
    backend_version,
    make_scope_engine,
    resolve_backend,
)
from roprules.conditions import AS_OF, explain, undetermined_by
from roprules.evaluation.memo import Memo, reads
from roprules.messages import Messages, messages
from roprules.profiles import (
    OfferProfile,
    ResidentProfile,
    brukerplan_derivations,
    deprecations,
    derived_sources,
    profile_to_facts,
)
from roprules.rule_schema import SEVERITY_ORDER
from roprules.ruleset import Rule, Ruleset

SCOPE_RULES: dict[str, tuple[str, ...]] = {
    "placement": ("placement", "offer", "resident"),
    "offer": ("offer",),
    "resident": ("resident",),
}


@dataclass(frozen=True)
class Outcome:
    """The raw result of running the rules of a scope: no texts rendered yet."""

    fired: tuple[Rule, ...]
    undetermined: tuple[tuple[Rule, frozenset[str]], ...]


def verdict_of(fired: Sequence[str], undetermined: Sequence[str]) -> Verdict:
    """The verdict from the severities of fired and undetermined rules (contract.md)."""
    if "critical" in fired:
        return "unsuitable"
    if "critical" in undetermined:
        return "incomplete"
    if "major" in fired:
        return "conditional"
    return "suitable"


class Assessor:
    """Runs a loaded ruleset: one backend engine per scope of rules, built once."""

    def __init__(
        self, ruleset: Ruleset, catalogue: Messages | None = None, *, backend: str = "auto"
    ):
        self.ruleset = ruleset
        self.messages = catalogue or messages()
        self.backend = resolve_backend(backend)
        self.backend_ref = BackendRef(name=self.backend, version=backend_version(self.backend))
        self.rules_by_scope: dict[str, tuple[Rule, ...]] = {
            scope: tuple(r for r in ruleset.rules if r.scope == scope)
            for scope in ("placement", "offer", "resident")
        }
        # What a rule's values decide, looked up once seen (evaluation/memo.py): the
        # fields an undetermined rule waits on; a finding's texts and facts.
        self._waiting: Memo = Memo()
        self._parts: Memo = Memo()
        self._reads = {r.id: reads(r.fields, (AS_OF,)) for r in ruleset.rules}
        self._text_reads = {r.id: reads(r.fields, r.texts.paths, (AS_OF,)) for r in ruleset.rules}
        self._sources: dict[str, tuple[Citation, ...]] = {
            r.id: tuple(
                Citation(section=s.section, quote=s.quote, title=s.title, url=s.url)
                for s in r.spec.sources
            )
            for r in ruleset.rules
        }
        self.engines: dict[str, ScopeEngine] = {}
        self.closed = False
        try:
            for scope, rules in self.rules_by_scope.items():
                if rules:
                    compiled = [CompiledRule(r.id, r.condition) for r in rules]
                    self.engines[scope] = make_scope_engine(
                        self.backend, scope, compiled, ruleset.params
                    )
        except BaseException:
            self.close()
            raise
        overlay = ruleset.overlay
        self.ruleset_ref = RulesetRef(
            name=ruleset.name,
            version=ruleset.version,
            sha256=ruleset.sha256,
            overlay=OverlayRef(name=overlay.name, sha256=overlay.sha256) if overlay else None,
            law_as_of=ruleset.law_as_of,
        )

    @property
    def durable(self) -> dict[str, ScopeEngine]:
        """The durable_rules engines per scope (the durable backend only)."""
        if self.backend != "durable":
            raise AttributeError("this assessor runs the evaluator backend, not durable_rules")
        return self.engines

    def close(self) -> None:
        """Free what the backend holds outside Python (durable_rules' rulesets)."""
        self.closed = True
        for engine in self.engines.values():
            engine.close()

    # ------------------------------------------------------------------ evaluation

    def run(self, rule_scope: str, facts: Mapping[str, Any]) -> Outcome:
        """Fire one scope's rules; classify the rest as false or undetermined."""
        if self.closed:
            raise EngineError("the engine is closed")
        rules = self.rules_by_scope[rule_scope]
        if not rules:
            return Outcome((), ())
        if self.backend == "evaluator":
            return self._run_evaluator(rules, facts)
        fired_ids = self.engines[rule_scope].fire(facts)
        fired: list[Rule] = []
        undetermined: list[tuple[Rule, frozenset[str]]] = []
        known = facts.keys()
        for rule in rules:
            if rule.id in fired_ids:
                fired.append(rule)
                continue
            if rule.fields <= known:
                continue  # two-valued here: durable_rules' "did not fire" is final
            result = rule.evaluate(facts)  # the compiled closure: cheap when it is false
            if result is True:
                raise EngineError(
                    f"rule {rule.id}: durable_rules did not fire but the evaluator says true"
                )
            if result is None:
                undetermined.append((rule, self.waiting_on(rule, facts)))
        return Outcome(tuple(fired), tuple(undetermined))

    def waiting_on(self, rule: Rule, facts: Mapping[str, Any]) -> frozenset[str]:
        """The fields an undetermined rule waits on (looked up once these values were seen)."""
        params = self.ruleset.params
        return self._waiting.get(
            Memo.key(rule.id, self._reads[rule.id], facts),
            lambda: undetermined_by(rule.condition, facts, params)[1],
        )

    def _run_evaluator(self, rules: Sequence[Rule], facts: Mapping[str, Any]) -> Outcome:
        """The evaluator backend: each rule's compiled condition, evaluated once."""
        fired: list[Rule] = []
        undetermined: list[tuple[Rule, frozenset[str]]] = []
        for rule in rules:
            result = rule.evaluate(facts)
            if result is True:
                fired.append(rule)
            elif result is None:
                undetermined.append((rule, self.waiting_on(rule, facts)))
        return Outcome(tuple(fired), tuple(undetermined))

    def outcome(self, scope: str, facts: Mapping[str, Any]) -> Outcome:
        fired: list[Rule] = []
        undetermined: list[tuple[Rule, frozenset[str]]] = []
        for rule_scope in SCOPE_RULES[scope]:
            part = self.run(rule_scope, facts)
            fired.extend(part.fired)
            undetermined.extend(part.undetermined)
        return Outcome(tuple(fired), tuple(undetermined))

    # ------------------------------------------------------------------ building output

    def assess(
        self,
        scope: str,
        resident: ResidentProfile | None,
        offer: OfferProfile | None,
        lang: str = "nb",
        *,
        now: datetime | None = None,
        as_of: date | None = None,
    ) -> Assessment:
        as_of = as_of or (now.date() if now else date.today())
        facts = assessment_facts(resident, offer, as_of)
        outcome = self.outcome(scope, facts)
        return self.build(scope, outcome, facts, resident, offer, lang, now=now, as_of=as_of)

    def build(
        self,
        scope: str,
        outcome: Outcome,
        facts: Mapping[str, Any],
        resident: ResidentProfile | None,
        offer: OfferProfile | None,
        lang: str,
        *,
        now: datetime | None = None,
        as_of: date | None = None,
    ) -> Assessment:
        """The Assessment, assembled as plain data and validated once.

        One validation of the whole tree is several times cheaper than building
        each finding, fact and question as its own model.
        """
        derived = derived_sources(facts, resident)
        findings = sorted(
            (self.finding(rule, facts, lang, derived) for rule in outcome.fired),
            key=lambda f: (SEVERITY_ORDER[f["severity"]], f["rule_id"]),
        )
        for finding in findings:
            finding["superseded_by"] = superseded_by(finding["rule_id"], outcome.fired)
        undetermined = sorted(
            (
                {
                    "rule_id": rule.id,
                    "severity": rule.severity,
                    "title": rule.spec.title.get(lang),
                    "waiting_on": sorted(waiting),
                }
                for rule, waiting in outcome.undetermined
            ),
            key=lambda u: (SEVERITY_ORDER[u["severity"]], u["rule_id"]),
        )
        verdict = verdict_of(
            [r.severity for r in outcome.fired], [r.severity for r, _ in outcome.undetermined]
        )
        return Assessment.model_validate(
            {
                "scope": scope,
                "verdict": verdict,
                "findings": findings,
                "missing": self.missing(outcome, lang),
                "undetermined": undetermined,
                "ruleset": self.ruleset_ref,
                "backend": self.backend_ref,
                "resident_id": resident.id if resident else None,
                "offer_id": offer.id if offer else None,
                "offer_name": offer.name if offer else None,
                "offer_type": offer.type if offer else None,
                "lang": lang,
                "created_at": now or datetime.now(UTC).replace(microsecond=0),
                "as_of": as_of or date.fromisoformat(facts[AS_OF]),
                "notices": [
                    {
                        "field": d.field,
                        "message": self.messages.notice(d.key, lang),
                        "replacement": d.replacement,
                    }
                    for d in deprecations(resident, offer)
                ]
                + self.derivation_notices(resident, lang),
            }
        )

    def finding(
        self,
        rule: Rule,
        facts: Mapping[str, Any],
        lang: str,
        derived: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        paths = self._text_reads[rule.id]
        derived_key = tuple(map(derived.get, paths)) if derived else None
        explanation, suggestion, used = self._parts.get(
            Memo.key(rule.id, paths, facts, lang, derived_key),
            lambda: self._finding_parts(rule, facts, lang, derived),
        )
        spec = rule.spec
        return {
            "rule_id": rule.id,
            "kind": spec.kind,
            "severity": rule.severity,
            "title": spec.title.get(lang),
            "explanation": explanation,
            "facts": list(used),
            "sources": list(self._sources[rule.id]),
            "suggestions": [suggestion],
            "topics": list(spec.topics),
            "theme": rule.theme,
            "local_change": local_change(rule),
        }

    def _finding_parts(
        self,
        rule: Rule,
        facts: Mapping[str, Any],
        lang: str,
        derived: Mapping[str, str] | None,
    ) -> tuple[str, str, tuple[Fact, ...]]:
        """A fired rule's explanation, suggestion and the facts that made it fire: what
        the values it reads decide (`finding` looks them up once seen)."""
        params = self.ruleset.params
        why = explain(rule.condition, facts, params)
        if why.value is not True:
            raise EngineError(f"rule {rule.id}: durable_rules fired but the evaluator disagrees")
        used = tuple(
            Fact.model_validate(self.fact(path, value, lang, (derived or {}).get(path)))
            for path, value in sorted(why.used.items())
        )
        return (
            rule.texts.render("explanation", lang, facts, params),
            rule.texts.render("suggestion", lang, facts, params),
            used,
        )

    def fact(
        self, path: str, value: Any, lang: str, derived: bool | str | None = None
    ) -> dict[str, Any]:
        """One fact as output data; `derived` is the field it was derived from (or True)."""
        derived_from = derived if isinstance(derived, str) else None
        if isinstance(value, tuple):
            value = list(value)
        return {
            "field": path,
            "value": value,
            "label": self.messages.field_label(path, lang),
            "display": self.messages.value_label(path, value, lang),
            "derived": bool(derived),
            "derived_from": derived_from,
        }

    def derivation_notices(
        self, resident: ResidentProfile | None, lang: str
    ) -> list[dict[str, Any]]:
        """One notice per value derived from BrukerPlan: what, from which score, and why."""
        notices = []
        for d in brukerplan_derivations(resident):
            template = self.messages.term("value_origin", "brukerplan_notice", lang)
            notices.append(
                {
                    "field": d.path,
                    "message": template.format(
                        field=self.messages.field_label(d.path, lang),
                        value=self.messages.value_label(d.path, d.value, lang),
                        area=self.messages.field_label(d.source, lang),
                        score=d.score,
                        reason=d.reason.get(lang) or d.reason["en"],
                    ),
                    "replacement": None,
                }
            )
        return notices

    def missing(self, outcome: Outcome, lang: str) -> list[dict[str, Any]]:
        waiting: dict[str, list[Rule]] = {}
        for rule, fields in outcome.undetermined:
            for path in fields:
                waiting.setdefault(path, []).append(rule)
        entries = []
        for path, rules in waiting.items():
            severity = min((r.severity for r in rules), key=SEVERITY_ORDER.__getitem__)
            entries.append(
                {
                    "field": path,
                    "rules": sorted(r.id for r in rules),
                    "severity": severity,
                    "question": self.messages.question(path, lang),
                    "label": self.messages.field_label(path, lang),
                }
            )
        return sorted(
            entries, key=lambda m: (SEVERITY_ORDER[m["severity"]], -len(m["rules"]), m["field"])
        )


def local_change(rule: Rule) -> dict[str, Any] | None:
    """The overlay's change to this rule's severity, for its findings; None if unchanged."""
    change = rule.local_change
    if change is None or change.severity is None or change.severity == change.original_severity:
        return None
    return {
        "original_severity": change.original_severity,
        "severity": change.severity,
        "reason": change.reason,
        "approved_by": change.approved_by,
    }


def supersede_applies(superseding: Rule, superseded: Rule) -> bool:
    """Whether a pair of fired rules is shown as one (criteria.md, Consistency notes).

    It applies while the superseded rule is less severe than the superseding
    one, or as severe when the catalogue itself made them equal; an overlay that
    raises the superseded rule to the other's severity or above lifts it.
    """
    mine, theirs = SEVERITY_ORDER[superseding.severity], SEVERITY_ORDER[superseded.severity]
    if theirs > mine:
        return True
    equal_in_catalogue = superseding.spec.severity == superseded.spec.severity
    return theirs == mine and equal_in_catalogue


def superseded_by(rule_id: str, fired: Sequence[Rule]) -> list[str]:
    """The ids of fired rules that supersede `rule_id` in this assessment."""
    by_id = {rule.id: rule for rule in fired}
    target = by_id[rule_id]
    return sorted(
        rule.id
        for rule in fired
        if rule_id in rule.spec.supersedes and supersede_applies(rule, target)
    )


def assessment_facts(
    resident: ResidentProfile | None, offer: OfferProfile | None, as_of: date
) -> dict[str, Any]:
    """The flat facts of one assessment: both profiles and the assessment date."""
    return {
        **profile_to_facts("resident", resident),
        **profile_to_facts("offer", offer),
        AS_OF: as_of.isoformat(),
    }


def severity_counts(severities: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for severity in severities:
        counts[severity] += 1
    return counts


def rank_key(
    verdict: str, counts: Mapping[str, int], missing: int, offer_id: str
) -> tuple[Any, ...]:
    """Best first: verdict, then fewer and less severe findings, then fewer gaps, then id."""
    return (VERDICT_RANK[verdict], *(counts[s] for s in SEVERITY_ORDER), missing, offer_id)


def rank_assessments(
    resident: ResidentProfile, assessments: Sequence[Assessment], ruleset_ref: RulesetRef
) -> Ranking:
    """The assessments of one resident's offers, best first (see `rank_key`)."""
    counted = [(a, severity_counts([f.severity for f in a.findings])) for a in assessments]
    counted.sort(
        key=lambda item: rank_key(
            item[0].verdict, item[1], len(item[0].missing), item[0].offer_id or ""
        )
    )
    return Ranking(
        resident_id=resident.id,
        ranking=[
            RankedOffer(
                rank=index,
                offer_id=a.offer_id or "",
                offer_name=a.offer_name,
                verdict=a.verdict,
                findings_by_severity=counts,
                missing=len(a.missing),
                assessment=a,
            )
            for index, (a, counts) in enumerate(counted, start=1)
        ],
        ruleset=ruleset_ref,
    )
