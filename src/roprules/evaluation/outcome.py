"""Evaluation: run the rules of a scope over the facts, form the verdict.

The backend decides which rules fire (see `backends.py`): durable_rules, or
the three-valued evaluator alone. The evaluator decides, for every rule that
did not fire and whose facts are incomplete, whether it is false or
undetermined. If durable_rules and the evaluator ever disagree the evaluation
fails (EngineError) rather than return a guess.

The result is an `Outcome`: rules, not texts. Nothing here words a finding;
`roprules.report.wording` does that once, for the outcome the caller keeps.

The verdict follows contract.md exactly, first that applies:
unsuitable (a critical finding) → incomplete (a critical rule undetermined) →
conditional (a major finding) → suitable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from roprules.contract.assessment import (
    BackendRef,
    OverlayRef,
    RulesetRef,
    Verdict,
)
from roprules.contract.profiles import (
    Derivation,
    OfferProfile,
    ResidentProfile,
    profile_facts_and_derivations,
)
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.backends import (
    CompiledRule,
    EngineError,
    ScopeEngine,
    backend_version,
    combined_engine,
    make_scope_engine,
    resolve_backend,
)
from roprules.evaluation.memo import MISSING, Memo, reads
from roprules.evaluation.ranking import rank_key  # noqa: F401  (re-exported: the order)
from roprules.rulebase.conditions import (
    AS_OF,
    Blocking,
    MonthsSince,
    compile_blocking,
    leaves,
    single_blocking_field,
)
from roprules.rulebase.ruleset import Rule, Ruleset

SCOPE_RULES: dict[str, tuple[str, ...]] = {
    "placement": ("placement", "offer", "resident"),
    "offer": ("offer",),
    "resident": ("resident",),
}


# A rule as the evaluator backend's loop reads it: the rule, its compiled condition, its
# id, the fact paths its memo key holds and, for a rule that can wait on one field only,
# that field as the fields it waits on whenever it is undetermined (else None).
_Planned = tuple[
    Rule, Callable[[Mapping[str, Any]], Any], str, tuple[str, ...], frozenset[str] | None
]


@dataclass(frozen=True)
class Outcome:
    """The raw result of running the rules of a scope: no texts rendered yet."""

    fired: tuple[Rule, ...]
    undetermined: tuple[tuple[Rule, frozenset[str]], ...]

    @property
    def verdict(self) -> Verdict:
        """The verdict these fired and undetermined rules give (contract.md)."""
        return verdict_of(
            [r.severity for r in self.fired], [r.severity for r, _ in self.undetermined]
        )


def verdict_of(fired: Sequence[str], undetermined: Sequence[str]) -> Verdict:
    """The verdict from the severities of fired and undetermined rules (contract.md)."""
    if "critical" in fired:
        return "unsuitable"
    if "critical" in undetermined:
        return "incomplete"
    if "major" in fired:
        return "conditional"
    return "suitable"


class Evaluator:
    """Runs a loaded ruleset: one backend engine per scope of rules, built once.

    It answers which rules fire and which wait on missing facts; it renders no
    text, so that counterfactuals and the matrix can re-run it cheaply. The
    wording of an assessment is `roprules.report.wording`.
    """

    def __init__(self, ruleset: Ruleset, *, backend: str = "auto"):
        self.ruleset = ruleset
        self.backend = resolve_backend(backend)
        self.backend_ref = BackendRef(name=self.backend, version=backend_version(self.backend))
        self.rules_by_scope: dict[str, tuple[Rule, ...]] = {
            scope: tuple(r for r in ruleset.rules if r.scope == scope)
            for scope in ("placement", "offer", "resident")
        }
        # The fields an undetermined rule waits on, looked up once its values were
        # seen (evaluation/memo.py).
        self._waiting: Memo = Memo()
        # The facts the fields a rule waits on can depend on: its own, and the assessment
        # date where a `months_since` reads it (a part evaluated again)
        self._reads = {
            r.id: reads(r.fields, (AS_OF,) if _reads_as_of(r) else ()) for r in ruleset.rules
        }
        self._waiting_functions: dict[str, Blocking] = {}
        # The fields an undetermined rule waits on, one object per set of fields: the memo's
        # entries share them (no set per entry for the collector to walk).
        self._waiting_sets: dict[frozenset[str], frozenset[str]] = {}
        # A rule whose leaves other than `is_set` read one field waits, undetermined, on
        # that field whatever the values: no memo look-up (`single_blocking_field`)
        single = {r.id: single_blocking_field(r.condition, ruleset.params) for r in ruleset.rules}
        constant = {
            r.id: None if single[r.id] is None else self._interned(frozenset([single[r.id]]))
            for r in ruleset.rules
        }
        # Each scope's rules with what the evaluator backend's loop reads of them.
        self._plans: dict[str, tuple[_Planned, ...]] = {
            scope: tuple((r, r.evaluate, r.id, self._reads[r.id], constant[r.id]) for r in rules)
            for scope, rules in self.rules_by_scope.items()
        }
        self._scope_plans = {
            scope: tuple(p for part in parts for p in self._plans[part])
            for scope, parts in SCOPE_RULES.items()
        }
        self.engines: dict[str, ScopeEngine] = {}
        # durable: what an assessment of each scope fires, all its rule scopes' groups
        # at once (`durable.DurableFiring`: one lock, one set, no call per scope).
        self.durable_firings: dict[str, ScopeEngine] = {}
        self.closed = False
        try:
            for scope, rules in self.rules_by_scope.items():
                if rules:
                    compiled = [CompiledRule(r.id, r.condition) for r in rules]
                    self.engines[scope] = make_scope_engine(
                        self.backend, scope, compiled, ruleset.params
                    )
            for scope, parts in SCOPE_RULES.items():
                combined = combined_engine(
                    self.backend, [self.engines[p] for p in parts if p in self.engines]
                )
                if combined is not None:
                    self.durable_firings[scope] = combined
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
            return self._run_evaluator(self._plans[rule_scope], facts)
        return self._run_durable(
            self._plans[rule_scope], self.engines[rule_scope].fire(facts), facts
        )

    def _run_durable(
        self, plan: Sequence[_Planned], fired_ids: set[str], facts: Mapping[str, Any]
    ) -> Outcome:
        """The durable backend: durable_rules' fired rules; of the rest, those whose
        facts are incomplete are classified by their compiled condition (false or
        undetermined: durable_rules cannot tell)."""
        fired: list[Rule] = []
        undetermined: list[tuple[Rule, frozenset[str]]] = []
        known = facts.keys()
        stored, get = self._waiting.getter(), facts.get
        # The scope's plan (the evaluator's, the same rules in the same order): the
        # closure, id and memo paths of each rule without attribute look-ups.
        for rule, evaluate, rule_id, paths, constant in plan:
            if rule_id in fired_ids:
                fired.append(rule)
                continue
            # `keys >= fields` asks the keys view directly (`fields <= keys` is first
            # refused by frozenset, then reflected)
            if known >= rule.fields:
                continue  # two-valued here: durable_rules' "did not fire" is final
            result = evaluate(facts)  # the compiled closure: cheap when it is false
            if result is True:
                raise EngineError(
                    f"rule {rule_id}: durable_rules did not fire but the evaluator says true"
                )
            if result is None:  # `waiting_on`, inlined as in `_run_evaluator`
                if constant is not None:
                    undetermined.append((rule, constant))
                    continue
                key = (rule_id, tuple(map(get, paths)))
                try:
                    waiting = stored(key, MISSING)
                except TypeError:  # a value that cannot be hashed
                    waiting = MISSING
                if waiting is MISSING:
                    waiting = self._waiting.store(
                        key, self._interned(self._waiting_function(rule)(facts))
                    )
                undetermined.append((rule, waiting))
        return Outcome(tuple(fired), tuple(undetermined))

    def waiting_on(self, rule: Rule, facts: Mapping[str, Any]) -> frozenset[str]:
        """The fields an undetermined rule waits on (looked up once these values were seen;
        none when the rule is known on them)."""
        if rule.evaluate(facts) is not None:
            return frozenset()
        return self._waiting.get(
            Memo.key(rule.id, self._reads[rule.id], facts),
            lambda: self._interned(self._waiting_function(rule)(facts)),
        )

    def _interned(self, fields: frozenset[str]) -> frozenset[str]:
        """The one stored object equal to `fields` (kept if new): the waiting memo holds
        thousands of entries and a few hundred distinct sets of fields. Bounded; safe
        between threads (a lost race keeps an equal set)."""
        found = self._waiting_sets.get(fields)
        if found is None:
            if len(self._waiting_sets) >= _WAITING_SETS_LIMIT:
                self._waiting_sets.clear()
            found = self._waiting_sets.setdefault(fields, fields)
        return found

    def _waiting_function(self, rule: Rule) -> Blocking:
        """The fields the rule waits on when unknown (`compile_blocking`: the loops call
        it only for a rule whose closure said unknown), compiled on first use."""
        function = self._waiting_functions.get(rule.id)
        if function is None:
            function = compile_blocking(rule.condition, self.ruleset.params)
            self._waiting_functions[rule.id] = function
        return function

    def _run_evaluator(self, plan: Sequence[_Planned], facts: Mapping[str, Any]) -> Outcome:
        """The evaluator backend: each rule's compiled condition, evaluated once."""
        fired: list[Rule] = []
        undetermined: list[tuple[Rule, frozenset[str]]] = []
        stored, get = self._waiting.getter(), facts.get
        for rule, evaluate, rule_id, paths, constant in plan:
            result = evaluate(facts)
            if result is True:
                fired.append(rule)
            elif result is None:  # `waiting_on`, inlined: ~30 rules per assessment
                if constant is not None:
                    undetermined.append((rule, constant))
                    continue
                key = (rule_id, tuple(map(get, paths)))
                try:
                    waiting = stored(key, MISSING)
                except TypeError:  # a value that cannot be hashed
                    waiting = MISSING
                if waiting is MISSING:
                    waiting = self._waiting.store(
                        key, self._interned(self._waiting_function(rule)(facts))
                    )
                undetermined.append((rule, waiting))
        return Outcome(tuple(fired), tuple(undetermined))

    def outcome(self, scope: str, facts: Mapping[str, Any]) -> Outcome:
        """The rules of every rule scope an assessment of `scope` runs, in that order."""
        if self.backend == "evaluator" and not self.closed:  # the scopes' plans in one loop
            return self._run_evaluator(self._scope_plans[scope], facts)
        if self.durable_firings and not self.closed:  # every group fired at once, one loop
            plan = self._scope_plans[scope]
            return self._run_durable(plan, self.durable_firings[scope].fire(facts), facts)
        fired: list[Rule] = []
        undetermined: list[tuple[Rule, frozenset[str]]] = []
        for rule_scope in SCOPE_RULES[scope]:
            part = self.run(rule_scope, facts)
            fired.extend(part.fired)
            undetermined.extend(part.undetermined)
        return Outcome(tuple(fired), tuple(undetermined))


_WAITING_SETS_LIMIT = 4096


def _reads_as_of(rule: Rule) -> bool:
    """Whether the rule's condition reads the assessment date (a `months_since` leaf)."""
    return any(isinstance(leaf.subject, MonthsSince) for leaf in leaves(rule.condition))


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


def supersessions(fired: Sequence[Rule]) -> dict[str, list[str]]:
    """`superseded_by` of every fired rule at once: rule id -> the ids of the fired rules
    that supersede it (only rules that some fired rule supersedes are keys)."""
    by_id = {rule.id: rule for rule in fired}
    found: dict[str, list[str]] = {}
    for rule in fired:
        for target_id in rule.spec.supersedes:
            target = by_id.get(target_id)
            if target is not None and supersede_applies(rule, target):
                found.setdefault(target_id, []).append(rule.id)
    for ids in found.values():
        ids.sort()
    return found


def assessment_facts(
    resident: ResidentProfile | None, offer: OfferProfile | None, as_of: date
) -> dict[str, Any]:
    """The flat facts of one assessment: both profiles and the assessment date."""
    return assessment_facts_and_derivations(resident, offer, as_of)[0]


def assessment_facts_and_derivations(
    resident: ResidentProfile | None,
    offer: OfferProfile | None,
    as_of: date,
    entered: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None),
) -> tuple[dict[str, Any], list[Derivation]]:
    """`assessment_facts` and the resident's BrukerPlan derivations among them (which
    the wording reports: computed once).

    `entered`: each profile's facts as the screen's pass found them in its input
    (`contract.intake.load_entered`), used (and changed) instead of flattening that
    profile again; None where there are none."""
    facts, derivations = profile_facts_and_derivations("resident", resident, entered[0])
    facts.update(profile_facts_and_derivations("offer", offer, entered[1])[0])
    facts[AS_OF] = as_of.isoformat()
    return facts, derivations


def severity_counts(severities: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for severity in severities:
        counts[severity] += 1
    return counts
