"""Wording: an evaluation's outcome as an Assessment, in one language.

`roprules.evaluation` decides which rules fire and which wait on missing
facts; this module turns that outcome into the contract's output once: each
finding with its worded explanation, the facts behind it, its sources and
suggestion; the open questions; the notices. Evaluation never words anything,
so that what-if searches and the matrix can re-run it without paying for text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

from roprules.contract.assessment import (
    SCHEMA_VERSION,
    VERDICT_RANK,
    Assessment,
    BackendRef,
    Citation,
    Fact,
    Finding,
    MissingInfo,
    Notice,
    RulesetRef,
    Undetermined,
)
from roprules.contract.messages import Messages, messages
from roprules.contract.profiles import (
    Derivation,
    OfferProfile,
    ResidentProfile,
    brukerplan_derivations,
    deprecations,
    derivations_and_sources,
)
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.backends import EngineError
from roprules.evaluation.memo import MISSING, Memo, reads
from roprules.evaluation.outcome import (
    SCOPE_RULES,
    Outcome,
    supersede_applies,
)
from roprules.evaluation.questions import (
    SEVERITY_WEIGHTS,
    completeness,
    could_change_verdict,
    open_questions_by_severity,
    question_order,
    scope_weight,
    waiting_rules,
)
from roprules.report.open_questions import missing_entries, verdict_summary
from roprules.rulebase.conditions import AS_OF, Used, compile_used_known
from roprules.rulebase.ruleset import Rule, Ruleset

# Validated findings, open questions and undetermined rules, each a few hundred bytes
# to ~2 KB, shared between assessments (frozen models): an assessment's validation
# passes them through instead of validating each again.
MODELS_LIMIT = 8192
# The value types whose equal values look the same (floats do not: 0.0 == -0.0).
_SAME_DISPLAY = frozenset({str, bool, int})
T = TypeVar("T")


class Wording:
    """Words the outcomes of one ruleset: findings, questions and notices."""

    def __init__(self, ruleset: Ruleset, catalogue: Messages | None = None):
        self.ruleset = ruleset
        self.messages = catalogue or messages()
        self._scope_rules: dict[str, tuple[Rule, ...]] = {}
        self._weights: dict[str, int] = {}  # each scope's weight (`scope_weight`)
        self._summaries: dict[tuple[Any, ...], str] = {}
        self._completenesses: dict[tuple[Any, ...], float] = {}
        self._superseding = frozenset(r.id for r in ruleset.rules if r.spec.supersedes)
        self._rules = {r.id: r for r in ruleset.rules}
        # Each superseding rule's targets for which the supersession applies when both
        # fire (`supersede_applies` reads only their severities, fixed once loaded)
        self._supersedes: dict[str, tuple[str, ...]] = {
            r.id: tuple(
                target
                for target in r.spec.supersedes
                if target in self._rules and supersede_applies(r, self._rules[target])
            )
            for r in ruleset.rules
            if r.spec.supersedes
        }
        # Findings, open questions and undetermined rules, looked up once the values
        # they read were seen (evaluation/memo.py); citations built once per rule.
        self._templates: dict[tuple[str, str], Finding] = {}
        self._used: dict[str, Used] = {}
        # The order of findings and undetermined rules: most severe first, then by id.
        # As one whole number per rule, its place in that order: the sorts of an
        # assessment compare whole numbers, not (severity, id) pairs.
        self._order = {
            rule_id: place
            for place, (_, rule_id) in enumerate(
                sorted((SEVERITY_ORDER[r.severity], r.id) for r in ruleset.rules)
            )
        }
        # An open question's words, per field and language, and the rules' titles, per
        # language (`_new_missing`)
        self._question_words: dict[tuple[str, str], Any] = {}
        self._titles: dict[str, Any] = {}
        self._findings: Memo = Memo(limit=MODELS_LIMIT)
        self._missing: Memo = Memo(limit=MODELS_LIMIT)
        self._undetermined: Memo = Memo(limit=MODELS_LIMIT)
        self._undetermined_by_lang: dict[str, Memo] = {}
        self._facts: Memo = Memo(limit=MODELS_LIMIT)
        self._text_reads = {r.id: reads(r.fields, r.texts.paths, (AS_OF,)) for r in ruleset.rules}
        # Every field a rule reads, by its place in the order of text: an open question's
        # place in the order of questions is then one whole number (`_ordered`).
        self._field_places = {
            path: place
            for place, path in enumerate(sorted({p for r in ruleset.rules for p in r.fields}))
        }
        self._sources: dict[str, tuple[Citation, ...]] = {
            r.id: tuple(
                Citation(section=s.section, quote=s.quote, title=s.title, url=s.url)
                for s in r.spec.sources
            )
            for r in ruleset.rules
        }

    def assessment(
        self,
        scope: str,
        outcome: Outcome,
        facts: Mapping[str, Any],
        resident: ResidentProfile | None,
        offer: OfferProfile | None,
        lang: str,
        *,
        ruleset_ref: RulesetRef,
        backend_ref: BackendRef | None,
        now: datetime | None = None,
        as_of: date | None = None,
        derivations: list[Derivation] | None = None,
    ) -> Assessment:
        """The Assessment, assembled as plain data and built as validating it would build
        it (`_assessment`): its findings, questions and undetermined rules are validated
        models already, shared between assessments. `derivations`: the
        resident's BrukerPlan derivations when the caller has them (from
        `assessment_facts_and_derivations`, for these facts).
        """
        derived, derivations = derivations_and_sources(facts, resident, derivations)
        findings = self._finding_models(outcome.fired, facts, lang, derived)
        superseding = self._supersessions(outcome.fired)
        if superseding:
            findings = [
                _copied(f, {"superseded_by": tuple(superseding[f.rule_id])})
                if superseding.get(f.rule_id)
                else f
                for f in findings
            ]
        found = self._undetermined_found(outcome.undetermined, lang)
        undetermined = list(map(_SECOND, found))
        verdict = outcome.verdict
        scope_rules = self.scope_rules(scope)
        changes = could_change_verdict(self.ruleset, scope_rules, outcome, facts)
        entries = self._missing_found(outcome, lang, changes)
        missing = list(map(_SECOND, entries))
        open_counts = _open_counts(list(map(_THIRD, entries)))
        return _assessment(
            {
                "scope": scope,
                "verdict": verdict,
                "verdict_summary": self.verdict_summary(verdict, open_counts, lang),
                "open_questions_by_severity": open_counts,
                "completeness": self._completeness(scope, outcome, sum(map(_THIRD, found))),
                "findings": findings,
                "missing": missing,
                "undetermined": undetermined,
                "ruleset": ruleset_ref,
                "backend": backend_ref,
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
                + self.derivation_notices(resident, lang, derivations),
            }
        )

    def finding(
        self,
        rule: Rule,
        facts: Mapping[str, Any],
        lang: str,
        derived: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A fired rule's finding as output data (`superseded_by` left out)."""
        explanation, suggestion, used = self._finding_parts(rule, facts, lang, derived)
        return {
            **self._finding_fields(rule, lang),
            "explanation": explanation,
            "facts": list(used),
            "suggestions": [suggestion],
        }

    def _finding_fields(self, rule: Rule, lang: str) -> dict[str, Any]:
        """What a rule's findings in one language have in common, whatever the values."""
        spec = rule.spec
        return {
            "rule_id": rule.id,
            "kind": spec.kind,
            "severity": rule.severity,
            "title": spec.title.get(lang),
            "explanation": "",
            "facts": [],
            "sources": list(self._sources[rule.id]),
            "suggestions": [""],
            "topics": list(spec.topics),
            "theme": rule.theme,
            "local_change": local_change(rule),
        }

    def finding_model(
        self,
        rule: Rule,
        facts: Mapping[str, Any],
        lang: str,
        derived: Mapping[str, str] | None = None,
    ) -> Finding:
        """`finding` validated (`superseded_by` empty), looked up once its values were seen."""
        paths = self._text_reads[rule.id]
        derived_key = tuple(map(derived.get, paths)) if derived else None
        return self._findings.get(
            Memo.key(rule.id, paths, facts, lang, derived_key),
            lambda: self._new_finding(rule, facts, lang, derived),
        )

    def _new_finding(
        self,
        rule: Rule,
        facts: Mapping[str, Any],
        lang: str,
        derived: Mapping[str, str] | None,
    ) -> Finding:
        """A finding not seen before: the rule's validated template (`_finding_fields`, once
        per rule and language) copied with the texts and facts of these values. The
        texts are plain `str` and the facts validated `Fact`s, so the copy is what
        validating the whole finding gives (tests/test_memo.py holds the two equal)."""
        key = (rule.id, lang)
        template = self._templates.get(key)
        if template is None:
            template = Finding.model_validate(
                {**self._finding_fields(rule, lang), "superseded_by": []}
            )
            self._templates[key] = template
        explanation, suggestion, used = self._finding_parts(rule, facts, lang, derived)
        # Tuples, as validation gives (contract/assessment.py, OutputModel): the copy is
        # cached and shared, so nothing in it may be changed in place.
        return _copied(
            template, {"explanation": explanation, "facts": used, "suggestions": (suggestion,)}
        )

    def _supersessions(self, fired: Iterable[Rule]) -> dict[str, list[str]] | None:
        """`supersessions(fired)` (evaluation/outcome.py) from the pairs found at load:
        the fired rules that supersede a fired rule, by its id, when the supersession
        applies; None when no fired rule supersedes any rule. A test holds the two
        equal on generated outcomes."""
        fired_ids = set(map(_ID, fired))
        superseding = self._superseding.intersection(fired_ids)
        if not superseding:
            return None
        found: dict[str, list[str]] = {}
        targets = self._supersedes
        for rule_id in superseding:
            for target in targets[rule_id]:
                if target in fired_ids:
                    found.setdefault(target, []).append(rule_id)
        for ids in found.values():
            ids.sort()
        return found

    def _finding_models(
        self,
        fired: Iterable[Rule],
        facts: Mapping[str, Any],
        lang: str,
        derived: Mapping[str, str] | None,
    ) -> list[Finding]:
        """`finding_model` of each fired rule, most severe first, then by rule id (the
        look-ups inlined: ~20 findings per assessment)."""
        stored, store, order, reads = (
            self._findings.getter(),
            self._findings.store,
            self._order,
            self._text_reads,
        )
        get = facts.get
        derived_get = derived.get if derived else None
        derived_paths = derived.keys() if derived else None
        found = []
        for rule in fired:
            paths = reads[rule.id]
            # as in finding_model, but None also when none of its paths was derived (the
            # same finding as with no derived facts at all: more look-ups hit)
            derived_key = (
                tuple(map(derived_get, paths))
                if derived_paths is not None and not derived_paths.isdisjoint(paths)
                else None
            )
            key = (rule.id, tuple(map(get, paths)), lang, derived_key)
            try:
                finding = stored(key, MISSING)
            except TypeError:  # a value that cannot be hashed
                finding = MISSING
            if finding is MISSING:
                finding = store(key, self._new_finding(rule, facts, lang, derived))
            found.append((order[rule.id], finding))
        found.sort(key=_FIRST)
        return list(map(_SECOND, found))

    def _undetermined_models(
        self, undetermined: Sequence[tuple[Rule, frozenset[str]]], lang: str
    ) -> list[Undetermined]:
        """`undetermined` of each rule, most severe first, then by rule id."""
        return list(map(_SECOND, self._undetermined_found(undetermined, lang)))

    def _undetermined_found(
        self, undetermined: Sequence[tuple[Rule, frozenset[str]]], lang: str
    ) -> list[tuple[int, Undetermined, int]]:
        """Each rule's place in the order, `undetermined` model and severity weight
        (`completeness`), most severe first, then by rule id.

        Looked up by the outcome's own (rule, fields) pairs, one memo per language: the
        ~30 look-ups, the sort and taking the models out run in C (`map`, `list.sort`),
        with no tuple built per rule. A rule has one identity per loaded rule base
        (`Rule` compares by identity) and the fields are the evaluation's (mostly
        memoized) frozenset, whose hash is kept."""
        memo = self._undetermined_in(lang)
        try:
            found = list(map(memo.getter(), undetermined))
        except TypeError:  # fields that cannot be hashed (not an Outcome's frozenset)
            found = [
                self._undetermined_entry(rule, self.undetermined(rule, waiting, lang))
                for rule, waiting in undetermined
            ]
        else:
            if None in found:  # not seen before (a stored entry is never None)
                for index, pair in enumerate(undetermined):
                    if found[index] is None:
                        rule, waiting = pair
                        found[index] = memo.store(
                            pair,
                            self._undetermined_entry(
                                rule, self._new_undetermined(rule, waiting, lang)
                            ),
                        )
        found.sort(key=_FIRST)
        return found

    def _undetermined_entry(self, rule: Rule, model: Undetermined) -> tuple[int, Undetermined, int]:
        """An undetermined rule's model with its place in the order and its weight."""
        return self._order[rule.id], model, SEVERITY_WEIGHTS[rule.severity]

    def _undetermined_in(self, lang: str) -> Memo:
        """The memo of (order, `Undetermined`) by (rule, fields) pair, of one language."""
        memo = self._undetermined_by_lang.get(lang)
        if memo is None:
            memo = self._undetermined_by_lang.setdefault(lang, Memo(limit=MODELS_LIMIT))
        return memo

    def undetermined(self, rule: Rule, waiting: Any, lang: str) -> Undetermined:
        """An undetermined rule as a validated model, once per rule, fields waited on and
        language."""
        return self._undetermined.get(
            (rule.id, frozenset(waiting), lang),
            lambda: self._new_undetermined(rule, waiting, lang),
        )

    @staticmethod
    def _new_undetermined(rule: Rule, waiting: Any, lang: str) -> Undetermined:
        """`Undetermined(...)` of a rule, without pydantic-core's pass when its fields hold
        their types already (the fields sorted into a tuple, as validation makes it; ~1.5
        per check are new on the benchmark's data). A test holds the two equal."""
        title = rule.spec.title.get(lang)
        waiting_on = sorted(waiting)
        if (
            rule.severity in SEVERITY_ORDER
            and rule.id.__class__ is str
            and title.__class__ is str
            and all(path.__class__ is str for path in waiting_on)
        ):
            return _built(
                Undetermined,
                {
                    "rule_id": rule.id,
                    "severity": rule.severity,
                    "title": title,
                    "waiting_on": tuple(waiting_on),
                },
            )
        return Undetermined(
            rule_id=rule.id, severity=rule.severity, title=title, waiting_on=waiting_on
        )

    def missing_models(
        self, outcome: Outcome, lang: str, could_change: Mapping[str, bool] | None = None
    ) -> list[MissingInfo]:
        """`missing` as validated models, each looked up once its field, the rules waiting
        on it and whether it could change the verdict were seen; in the same order."""
        return list(map(_SECOND, self._missing_found(outcome, lang, could_change)))

    def _missing_found(
        self, outcome: Outcome, lang: str, could_change: Mapping[str, bool] | None
    ) -> list[tuple[Any, MissingInfo, str]]:
        """`missing_models` as (place in the order, model, severity) entries, in order:
        the severities counted by `list.count` (`_open_counts`), without reading the
        models' attributes (a pydantic model's attribute costs ~4 times a tuple's item)."""
        catalogue = self.messages
        waiting: dict[str, list[str]] = {}  # field -> ids of the rules waiting on it
        for rule, fields in outcome.undetermined:
            rule_id = rule.id
            for path in fields:
                ids = waiting.get(path)
                if ids is None:
                    waiting[path] = [rule_id]
                else:
                    ids.append(rule_id)
        stored, store = self._missing.getter(), self._missing.store
        get_change = (could_change or {}).get  # None and an absent field both read None
        entries = []
        for path, ids in waiting.items():
            change = get_change(path)
            key = (path, tuple(ids), change, lang)
            entry = stored(key, MISSING)  # field names, rule ids, a bool and lang: hashable
            if entry is MISSING:
                entry = self._new_missing(path, key[1], change, lang)
                if entry is None:  # a text not plain `str`: validation decides
                    rules = [self._rules[rule_id] for rule_id in ids]
                    entry = _ordered(
                        _missing_info(
                            missing_entries({path: rules}, could_change, catalogue, lang)[0]
                        ),
                        self._field_places,
                    )
                entry = store(key, (entry[0], entry[1], entry[1].severity))
            entries.append(entry)
        try:
            entries.sort(key=_FIRST)
        except TypeError:  # a field no rule reads (so not placed) among placed ones
            entries.sort(key=_question_order)
        return entries

    def _new_missing(
        self, path: str, ids: tuple[str, ...], change: bool | None, lang: str
    ) -> tuple[int | tuple[int, str], MissingInfo] | None:
        """An open question not seen before with its place (`_ordered`): what
        `missing_entries` gives for the field and the rules waiting on it, built as
        `_missing_info` builds it, from the field's words and the rules' titles looked up
        once per language (~1.8 questions per check are new on the benchmark's data; the
        general way cost ~70k instructions each). None when a text is not plain `str`
        (then the general way, which validates). A test holds the two equal."""
        words = self._question_words.get((path, lang))
        if words is None:
            words = self._question_words[(path, lang)] = self._words_of(path, lang)
        titles = self._titles.get(lang)
        if titles is None:
            titles = self._titles[lang] = self._titles_in(lang)
        if words is _NOT_PLAIN or titles is _NOT_PLAIN or change.__class__ not in _CHANGE:
            return None
        question, label, asked_of = words
        # the order of `missing_entries`: most severe first, then by rule id
        ordered = sorted(ids, key=self._order.__getitem__)
        severity = self._rules[ordered[0]].severity
        entry = _built(
            MissingInfo,
            {
                "field": path,
                "rules": tuple(sorted(ids)),
                "severity": severity,
                "question": question,
                "label": label,
                "could_change_verdict": change,
                "asked_of": asked_of,
                "decides": tuple(map(titles.__getitem__, ordered)),
            },
        )
        # `_ordered`, as there
        waiting = len(ids)
        assert 0 <= SEVERITY_ORDER[severity] < 100 and 0 < waiting < 10_000
        first = (not change) * 1_000_000 + SEVERITY_ORDER[severity] * 10_000 + 10_000 - waiting
        places = self._field_places
        place = places.get(path)
        if place is None:
            return (first, path), entry
        return first * len(places) + place, entry

    def _words_of(self, path: str, lang: str) -> tuple[str, str, str | None] | object:
        """A field's question, label and who is asked, as `missing_entries` words them;
        `_NOT_PLAIN` when a text is not `str` or the asked is not one `MissingInfo` takes."""
        from roprules.contract.fields import field_registry  # loaded already (once a field)

        catalogue = self.messages
        info = field_registry().get(path)
        question, label = catalogue.question(path, lang), catalogue.field_label(path, lang)
        asked_of = info.asked_of if info else None
        if question.__class__ is not str or label.__class__ is not str:
            return _NOT_PLAIN
        return (question, label, asked_of) if asked_of in _ASKED_OF else _NOT_PLAIN

    def _titles_in(self, lang: str) -> dict[str, str] | object:
        """Every rule's title in `lang` by rule id; `_NOT_PLAIN` if one is not `str`."""
        titles = {rule_id: rule.spec.title.get(lang) for rule_id, rule in self._rules.items()}
        return titles if all(t.__class__ is str for t in titles.values()) else _NOT_PLAIN

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
        if rule.evaluate(facts) is not True:
            raise EngineError(f"rule {rule.id}: durable_rules fired but the evaluator disagrees")
        used_function = self._used.get(rule.id)
        if used_function is None:  # compiled on first use (not at load); the rule fired
            used_function = compile_used_known(rule.condition, params, True)
            self._used[rule.id] = used_function
        why: dict[str, Any] = {}
        used_function(facts, why)  # explain(rule.condition, facts, params).used
        source = (derived or {}).get
        stored, store, fact_model = self._facts.getter(), self._facts.store, self.fact_model
        used = []
        for path, value in sorted(why.items()):
            kind = value.__class__
            if kind in _SAME_DISPLAY:  # `fact_model` inlined: most facts were seen
                key = (path, kind, value, lang, source(path))
                model = stored(key, MISSING)
                if model is MISSING:  # built and kept as `fact_model` does (one look-up)
                    model = store(key, self._new_fact(path, value, lang, key[4]))
                used.append(model)
            else:
                used.append(fact_model(path, value, lang, source(path)))
        return (
            rule.texts.render("explanation", lang, facts, params),
            rule.texts.render("suggestion", lang, facts, params),
            tuple(used),
        )

    def fact_model(self, path: str, value: Any, lang: str, derived: str | None = None) -> Fact:
        """`fact` validated, once per field, value, language and source (frozen, shared).

        Only values whose equality decides their display are looked up (text, booleans,
        whole numbers, tuples of text, each keyed with its type: True == 1)."""
        kind = value.__class__
        if kind in _SAME_DISPLAY or (kind is tuple and all(v.__class__ is str for v in value)):
            return self._facts.get(
                (path, kind, value, lang, derived),
                lambda: self._new_fact(path, value, lang, derived),
            )
        return self._new_fact(path, value, lang, derived)

    def _new_fact(self, path: str, value: Any, lang: str, derived: str | None) -> Fact:
        """`Fact.model_validate(self.fact(...))` without pydantic-core's pass: `fact` gives
        each field its type already (text, a bool, text or None; any value, a list made a
        tuple as `_as_tuple` does), so validating would change nothing (a test holds the
        two equal). ~2.7 facts per check are new on the benchmark's data (most of them
        numbers), each a third of a finding's fixed cost before."""
        data = self.fact(path, value, lang, derived)
        if data["label"].__class__ is not str or data["display"].__class__ is not str:
            return Fact.model_validate(data)  # not from the catalogue's text: validation decides
        if value.__class__ is list:
            data["value"] = tuple(value)
        return _built(Fact, data)

    def fact(
        self, path: str, value: Any, lang: str, derived: bool | str | None = None
    ) -> dict[str, Any]:
        """One fact as output data; `derived` is the field it was derived from (or True)."""
        derived_from = derived if isinstance(derived, str) else None
        # A list field's value stays a tuple (JSON: an array): the Fact may be cached
        # and shared between assessments, so its value must not be changeable in place.
        return {
            "field": path,
            "value": value,
            "label": self.messages.field_label(path, lang),
            "display": self.messages.value_label(path, value, lang),
            "derived": bool(derived),
            "derived_from": derived_from,
        }

    def derivation_notices(
        self,
        resident: ResidentProfile | None,
        lang: str,
        derivations: list[Derivation] | None = None,
    ) -> list[dict[str, Any]]:
        """One notice per value derived from BrukerPlan: what, from which score, and why
        (`derivations`: the resident's `brukerplan_derivations`, when known)."""
        notices = []
        if derivations is None:
            derivations = brukerplan_derivations(resident)
        for d in derivations:
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

    def verdict_summary(self, verdict: str, open_counts: Mapping[str, int], lang: str) -> str:
        """`verdict_summary`, once per verdict, open critical and major counts and language
        (the only things it reads)."""
        key = (verdict, open_counts.get("critical"), open_counts.get("major"), lang)
        summary = self._summaries.get(key)
        if summary is None:
            summary = verdict_summary(self.messages, verdict, open_counts, lang)
            if len(self._summaries) >= MODELS_LIMIT:
                self._summaries.clear()
            self._summaries[key] = summary
        return summary

    def _completeness(self, scope: str, outcome: Outcome, open_weight: int) -> float:
        """`completeness` of the scope, once per scope and weight of its undetermined rules
        (all it reads of them; the weights summed by the caller from their memo entries)."""
        key = (scope, open_weight)
        found = self._completenesses.get(key)
        if found is None:
            found = completeness(
                self.scope_rules(scope), map(_FIRST, outcome.undetermined), self._weights[scope]
            )
            if len(self._completenesses) >= MODELS_LIMIT:
                self._completenesses.clear()
            self._completenesses[key] = found
        return found

    def scope_rules(self, scope: str) -> tuple[Rule, ...]:
        """The rules an assessment of `scope` runs (placement: all three scopes)."""
        cached = self._scope_rules.get(scope)
        if cached is None:
            parts = SCOPE_RULES[scope]
            cached = tuple(r for part in parts for r in self.ruleset.rules if r.scope == part)
            self._weights[scope] = scope_weight(cached)
            self._scope_rules[scope] = cached
        return cached

    def missing(
        self, outcome: Outcome, lang: str, could_change: Mapping[str, bool] | None = None
    ) -> list[dict[str, Any]]:
        """Each missing field, those that could change the verdict first (see
        roprules.evaluation.questions)."""
        return missing_entries(waiting_rules(outcome), could_change, self.messages, lang)


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


_new_model = object.__new__
_set = object.__setattr__


def _copied(template: Finding, update: dict[str, Any]) -> Finding:
    """`template.model_copy(update=update)` without its generic steps: the same fields,
    fields set and (empty) extra and private parts, in a third of the time. The contract's
    output models forbid extra fields and hold no private attributes."""
    copied = _new_model(template.__class__)
    _set(copied, "__dict__", {**template.__dict__, **update})
    _set(copied, "__pydantic_extra__", None)
    # every field of a template is set already: a copy of its set (`set | keys` takes
    # the reflected, slower way through the keys view)
    fields_set = template.__pydantic_fields_set__
    _set(
        copied,
        "__pydantic_fields_set__",
        fields_set.copy() if fields_set.issuperset(update) else fields_set | update.keys(),
    )
    _set(copied, "__pydantic_private__", None)
    return copied


def _assessment(data: dict[str, Any]) -> Assessment:
    """`Assessment.model_validate(data)` for the data `Wording.assessment` assembles,
    without pydantic-core's pass when validation would change nothing but make tuples
    of its lists and `Notice`s of its notices: its findings, open questions and
    undetermined rules are models of their classes already (which validation passes
    through as they are), and every other field holds its type (checked here; else
    validation decides, and words any error). The fields not given take their defaults
    and are not among the fields set, as validation leaves them. Validation cost ~50k
    instructions per check (a test holds the two equal on generated profiles)."""
    if tuple(data) != _GIVEN:  # the keys in `assessment`'s order, read off by position
        return Assessment.model_validate(data)
    (
        scope,
        verdict,
        summary,
        counts,
        done,
        findings,
        missing,
        undetermined,
        ruleset,
        backend,
        resident_id,
        offer_id,
        offer_name,
        offer_type,
        lang,
        created_at,
        as_of,
        notices,
    ) = data.values()
    if not (
        scope in _SCOPES
        and verdict in VERDICT_RANK
        and lang in _LANGS
        and (summary.__class__, done.__class__, counts.__class__, ruleset.__class__) == _CLASSES
        and created_at.__class__ is datetime
        and as_of.__class__ is date
        and backend.__class__ in _BACKEND
        and (resident_id.__class__, offer_id.__class__, offer_name.__class__, offer_type.__class__)
        in _IDS
    ):
        return Assessment.model_validate(data)
    if notices:
        notices = _notices(notices)
        if notices is None:
            return Assessment.model_validate(data)
    built = _new_model(Assessment)
    _set(
        built,
        "__dict__",
        {  # in the order of the model's fields, as validation gives them
            "scope": scope,
            "verdict": verdict,
            "findings": tuple(findings),
            "missing": tuple(missing),
            "ruleset": ruleset,
            "undetermined": tuple(undetermined),
            "resident_id": resident_id,
            "offer_id": offer_id,
            "offer_name": offer_name,
            "offer_type": offer_type,
            "lang": lang,
            "created_at": created_at,
            "as_of": as_of,
            "notices": tuple(notices),
            "schema_version": SCHEMA_VERSION,
            "backend": backend,
            "open_questions_by_severity": counts,  # built for this assessment alone
            "completeness": done,
            "verdict_summary": summary,
            "verdict_remedy": None,
        },
    )
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_fields_set__", set(_GIVEN))
    _set(built, "__pydantic_private__", None)
    return built


def _notices(notices: list[dict[str, Any]]) -> list[Notice] | None:
    """Each notice's `Notice` as validation builds it, or None when one does not hold
    its types (then validation decides)."""
    built = []
    for notice in notices:
        if not (
            notice.__class__ is dict
            and tuple(notice) == _NOTICE_KEYS
            and notice["field"].__class__ is str
            and notice["message"].__class__ is str
            and notice["replacement"].__class__ in _TEXT
        ):
            return None
        built.append(_built(Notice, dict(notice)))
    return built


# The keys `Wording.assessment` gives, in its order (the fields set of its assessments).
_GIVEN = (
    "scope",
    "verdict",
    "verdict_summary",
    "open_questions_by_severity",
    "completeness",
    "findings",
    "missing",
    "undetermined",
    "ruleset",
    "backend",
    "resident_id",
    "offer_id",
    "offer_name",
    "offer_type",
    "lang",
    "created_at",
    "as_of",
    "notices",
)
_CLASSES = (str, float, dict, RulesetRef)  # of the summary, completeness, counts, ruleset
_SCOPES = frozenset(SCOPE_RULES)
_LANGS = frozenset({"nb", "en"})
_TEXT = frozenset({str, type(None)})
_IDS = frozenset(itertools.product(_TEXT, repeat=4))  # the ids, the offer's name and type
_BACKEND = frozenset({BackendRef, type(None)})
_NOTICE_KEYS = ("field", "message", "replacement")  # a notice's, in the model's order


def _built(cls: type[T], data: dict[str, Any]) -> T:
    """`cls.model_validate(data)` for data that validation would not change: every field
    given, in the order of the model's fields, each of its type already (the caller
    checks). The contract's output models forbid extra fields and hold no private
    attributes."""
    built = _new_model(cls)
    _set(built, "__dict__", data)
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_fields_set__", set(data))
    _set(built, "__pydantic_private__", None)
    return built


_ASKED_OF = frozenset({"resident", "placement", "organisation", None})
_CHANGE = frozenset({bool, type(None)})  # the types of "could change the verdict"
_NOT_PLAIN = object()  # words not all `str`: an open question built by validation


def _missing_info(entry: dict[str, Any]) -> MissingInfo:
    """`MissingInfo.model_validate(entry)` for an entry of `missing_entries`, without
    pydantic-core's pass when its fields hold their types already (its two lists made
    tuples, as validation makes them): ~2.5 open questions per check are new on the
    benchmark's data early on (a test holds the two equal)."""
    could_change = entry["could_change_verdict"]
    if (
        entry["severity"] in SEVERITY_ORDER
        and entry["question"].__class__ is str
        and entry["label"].__class__ is str
        and (could_change is None or could_change.__class__ is bool)
        and entry["asked_of"] in _ASKED_OF
        and all(title.__class__ is str for title in entry["decides"])
    ):
        entry["rules"] = tuple(entry["rules"])
        entry["decides"] = tuple(entry["decides"])
        return _built(MissingInfo, entry)
    return MissingInfo.model_validate(entry)


def _ordered(
    entry: MissingInfo, places: Mapping[str, int]
) -> tuple[int | tuple[int, str], MissingInfo]:
    """An open question with its place in the order of questions (`question_order`).

    The place is one whole number (the sort of an assessment's ~30 questions then
    compares whole numbers, not tuples): the first three parts of the order packed into
    one, times the number of fields, plus the field's place among the fields the rules
    read (`places`, in the order of text). For a field not among them (none of a
    loaded rule base's), the first three parts and the field as a pair."""
    could_change, severity, waiting, path = question_order(
        entry.could_change_verdict, entry.severity, len(entry.rules), entry.field
    )
    assert 0 <= SEVERITY_ORDER[entry.severity] < 100 and 0 < -waiting < 10_000
    first = could_change * 1_000_000 + severity * 10_000 + (10_000 + waiting)
    place = places.get(path)
    if place is None:
        return (first, path), entry
    return first * len(places) + place, entry


def _open_counts(severities: list[str]) -> dict[str, int]:
    """`open_questions_by_severity` of the questions' severities, counted by `list.count`
    (no bytecode per question; ~30 a check)."""
    critical, major, minor, info = map(severities.count, SEVERITY_ORDER)
    if critical + major + minor + info != len(severities):  # not a severity: as there
        return open_questions_by_severity(severities)
    counts = {"critical": critical, "major": major, "minor": minor}
    if info:
        counts["info"] = info
    return counts


def _question_order(pair: tuple[Any, MissingInfo]) -> tuple[Any, ...]:
    """The order of an (order, question) pair whose orders are not all whole numbers."""
    entry = pair[1]
    return question_order(entry.could_change_verdict, entry.severity, len(entry.rules), entry.field)


_FIRST = itemgetter(0)  # the sort key of an (order, model) pair; an undetermined rule
_SECOND = itemgetter(1)  # the model of an (order, model) pair
_THIRD = itemgetter(2)  # an undetermined rule's weight, an open question's severity
_ID = attrgetter("id")
_SEVERITY = attrgetter("severity")
