"""The durable_rules adapter: decides which compiled rules fire for one fact.

durable_rules 2.0.28 is an unmaintained C library with reproduced crashes
(see shared/spec/durable-rules-notes.md). This adapter follows the safe pattern:

- the low-level binding (`durable_rules_engine`), never the default `Host` and
  its background timer loop (segfaults under threads);
- rulesets registered once, split into groups small enough that no fact can make
  too many alpha conditions true at once (error 303);
- every rule guarded by a constant term (a bare `$nex` rule loops forever on the
  session fact); a sentinel rule that matches only a primer fact, asserted and
  drained once whenever a session is (re)created (`DurableGroup._prime`), so that
  every session has run an action before it can be deleted (`delete_state`
  segfaults on a session in which none ran) while assessments pay for no sentinel;
- facts asserted, not posted (events are consumed by the first match);
- one session per group, reused: each evaluation asserts its fact, drains the
  actions and retracts the fact again, by its ids alone (cheaper than a session
  per evaluation); any failure deletes the session, so the next evaluation
  starts in a fresh one;
- an assessment of a placement fires the groups of its three rule scopes at
  once (`DurableFiring`: one lock, one set), not one scope at a time;
- one process-wide lock: the binding never releases the GIL and shares state;
- every ruleset deleted (`delete_ruleset`) when its engine is closed or
  collected: each holds about 1 MB of C-side state.

This module imports durable_rules; only `roprules.evaluation.backends` imports it, and
only when the durable backend is chosen.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import durable_rules_engine as dre

from roprules.evaluation.backends import CompiledRule, EngineError
from roprules.evaluation.durable_limits import (
    MAX_RULES_PER_GROUP,
    PRIMER_KEY,
    PRIMER_VALUE,
    SENTINEL,
    SENTINEL_PRIORITY,
    bucketed,
    definition_problems,
    durable_rule_name,
    group_definition,
    name_width,
    split_groups,
)
from roprules.rulebase.durable_compile import (
    GUARD_KEY,
    GUARD_VALUE,
    FactEncoder,
    hash_collisions,
    key_tests,
)
from roprules.rulebase.ruleset import RulesetError

# The session: durable_rules' default ("0", used when a fact carries no "sid"), so the
# facts need not carry one (every fact text and action message is shorter by it).
SESSION_ID = "0"
RULES_OK = 0  # assert_fact's result when the fact was new and handled
# assert_fact's result when the fact reached no rule: durable_rules did not store it
# (`handleAlpha` stores a fact only at a node where a rule ends), so nothing fired and
# there is nothing to drain or retract.
NOT_HANDLED = 1
# The fact's id, the same for every assessment: durable_rules then takes it as it
# is instead of sorting and hashing every property to compute one (calculateId, on
# assert and again on retract: ~13 % of its work per assessment, measured), and a
# fact left in the reused session, whatever its content, is found on the next
# assertion that reaches a rule (result "observed"), which then starts a fresh
# session. It is also every rule's guard (`GUARD_KEY` is "id"), so the encoder's
# opening writes it: nothing to append.
FACT_ID = GUARD_VALUE
# What the adapter appends to each encoded fact (benchmarks/bench.py sends the same).
FACT_TAIL = ""
# What the adapter retracts the fact with. durable_rules' retraction reads only the
# session and fact ids of the text it is given (`handleMessageCore`: the stored fact is
# found by its id and its matches deleted; no matching on the text), so the ids alone
# retract the fact just asserted, and durable_rules parses ~20 characters instead of the
# whole fact again (~15 % of its work per assessment, measured; a test holds the
# session empty afterwards).
RETRACT_TEXT = f'{{"sid":{json.dumps(SESSION_ID)},"id":{json.dumps(FACT_ID)}}}'
# The primer: the one fact the sentinel rule matches (its id is not the guard's, so no
# other rule does), asserted when a session is (re)created, its action drained, then
# retracted by its ids (`DurableGroup._prime`).
PRIMER_TEXT = json.dumps({"sid": SESSION_ID, PRIMER_KEY: PRIMER_VALUE}, separators=(",", ":"))
PRIMER_RETRACT_TEXT = PRIMER_TEXT

_LOCK = threading.Lock()  # one lock for the C library, shared by every engine
_NAMES = itertools.count()


__all__ = [
    "GUARD_KEY",
    "GUARD_VALUE",
    "MAX_RULES_PER_GROUP",
    "PRIMER_KEY",
    "PRIMER_TEXT",
    "PRIMER_VALUE",
    "SENTINEL",
    "SENTINEL_PRIORITY",
    "CompiledRule",
    "DurableEngine",
    "DurableFiring",
    "DurableGroup",
    "EngineError",
]


# Rulesets to delete. A finalizer may run inside garbage collection at any point,
# even while this thread holds _LOCK, so it only queues the handle; the queue is
# emptied by the next call that holds the lock.
_PENDING: list[int] = []


def _release(handle: int) -> None:
    _PENDING.append(handle)


def _free_pending() -> None:
    """Delete queued rulesets and their reused sessions; call with _LOCK held.

    A session outlives `delete_ruleset` (measured: ~1.3 MB per ruleset stayed), so
    it is deleted first.
    """
    while _PENDING:
        handle = _PENDING.pop()
        with contextlib.suppress(dre.error):
            dre.delete_state(handle, SESSION_ID)
        with contextlib.suppress(dre.error):
            dre.delete_ruleset(handle)


class DurableGroup:
    """One durable_rules ruleset: a few dozen rules at most, registered once."""

    def __init__(self, label: str, rules: Sequence[CompiledRule], params: Mapping[str, Any]):
        self.label = label
        self.rule_ids = tuple(r.rule_id for r in rules)
        self.conditions = tuple(r.condition for r in rules)
        # The group's definition first (its comparisons decide what the fact carries),
        # but its errors after the hash check, as before: one encoder built, not two.
        definition: dict[str, Any] | None = None
        failure: EngineError | None = None
        try:
            definition = group_definition(rules, params)
        except EngineError as exc:
            failure = exc
        # The fact carries a value only where some comparison of the group's rules could
        # be true of it (`FactEncoder.sends`): fewer properties to parse, to loop over
        # at every alpha node reached, and to write into every action's message.
        self.encoder = FactEncoder(
            self.conditions,
            None
            if definition is None
            else key_tests(p["m"] for body in definition.values() for p in body["all"]),
        )
        collisions = hash_collisions([*self.encoder.keys(), PRIMER_KEY])
        if collisions:
            raise EngineError(f"ruleset group {label}: fact names collide by hash: {collisions}")
        if definition is None:  # group_definition failed: its error, after the hash check
            raise failure or EngineError(f"ruleset group {label}: no definition")
        # durable_rules hangs or fails on definitions past its fixed C arrays: never
        # hand it one that has not passed the measured bounds (durable_limits.py).
        problems = definition_problems(label, rules, definition)
        if problems:
            raise RulesetError(problems)
        self.definition = definition
        # An action's message is `{"<durable rule name>":{"m":...}}`; the first `width`
        # characters of the name say which rule fired (durable_limits.durable_rule_name).
        # The sentinel is not among them: it fires on the primer only, never on an
        # assessment (if it did, its name maps to None: "an unknown action").
        # Width 1 (up to 62 rules): one character, which Python does not allocate or
        # hash again.
        width = name_width(len(rules))
        self._name_of = operator.itemgetter(2 if width == 1 else slice(2, 2 + width))
        self._rule_of_name = {
            durable_rule_name(index, width): rule_id for index, rule_id in enumerate(self.rule_ids)
        }
        self.name = f"roprules_{next(_NAMES)}_{label}"
        try:
            with _LOCK:
                _free_pending()
                self._handle = dre.create_ruleset(self.name, json.dumps(bucketed(definition)))
        except dre.error as exc:
            raise EngineError(f"durable_rules refused ruleset group {label}: {exc}") from None
        # Freed on close() or when the group is collected, whichever comes first.
        self._finalizer = weakref.finalize(self, _release, self._handle)
        self._open = True  # False once closed (cheaper to test than the finalizer)
        # False while the group's session may be new: the next firing primes it first.
        self._primed = False
        try:
            with _LOCK:
                self._prime()
        except dre.error as exc:
            self.close()
            raise EngineError(
                f"durable_rules failed priming ruleset group {label}: {exc}"
            ) from None

    def _reset(self) -> None:
        """Delete the session (its facts and queued actions); call with _LOCK held.

        The next assertion creates a new session, which must be primed first
        (`_prime`): `_primed` says so."""
        self._primed = False
        with contextlib.suppress(dre.error):
            dre.delete_state(self._handle, SESSION_ID)

    def _prime(self) -> None:
        """Make the group's session (created here if there is none) run one action:
        `delete_state` segfaults on a session in which no action ran (durable_rules'
        `createStateNode` leaves the action context uninitialised and
        `deleteStateNode` frees it). The primer fact matches the sentinel rule alone;
        its action is drained and the primer retracted by its ids, leaving the
        session empty. Call with _LOCK held; raises dre.error on anything unexpected.

        Done once per session (at load and after each `_reset`), so an assessment
        matches no sentinel: before, a catch-all sentinel ran one more action per
        group on every assessment (a message holding the whole fact)."""
        handle = self._handle
        result, state = dre.assert_fact(handle, PRIMER_TEXT)
        if result != RULES_OK:  # a primer left behind by a failed priming
            dre.retract_fact(handle, PRIMER_RETRACT_TEXT)
            result, state = dre.assert_fact(handle, PRIMER_TEXT)
            if result != RULES_OK:
                raise dre.error(f"primer not asserted (result {result})")
        started = dre.start_action_for_state(handle, state)
        if not started or not started[1].startswith(f'{{"{SENTINEL}"'):
            raise dre.error("the primer did not run the sentinel's action")
        if dre.complete_and_start_action(handle, state) is not None:
            raise dre.error("the primer ran more than the sentinel's action")
        _, state = dre.retract_fact(handle, PRIMER_RETRACT_TEXT)
        if dre.start_action_for_state(handle, state):
            raise dre.error("an action was queued by retracting the primer")
        self._primed = True

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Delete the ruleset in durable_rules; the group cannot fire afterwards."""
        self._open = False
        self._finalizer()
        with _LOCK:
            _free_pending()

    def fire(self, facts: Mapping[str, Any]) -> list[str]:
        """The ids of the rules in this group whose conditions are true for the facts,
        each once."""
        return list(self.fired(facts))

    def fired(self, facts: Mapping[str, Any]) -> set[str]:
        """`fire` as a set (what `DurableEngine.fire` returns).

        One session per group, reused: the fact is asserted, the actions drained
        and the fact retracted again (by its ids alone: `RETRACT_TEXT`). Any failure
        deletes the session, so the next assessment starts in a fresh one. The C
        calls are made in one place, `_fire_groups`, for one group here and for all
        of an assessment's groups in `DurableFiring`.
        """
        return _fire_groups((self._firing_plan(),), facts)

    def _firing_plan(self) -> _GroupPlan:
        """What `_fire_groups` reads of this group: the group, its encoder and its
        decoding of action messages (looked up once per firing plan)."""
        return (self, self.encoder.text, self._rule_of_name.get, self._name_of)


class DurableEngine:
    """All groups of a ruleset; `fire` returns every rule id that fires."""

    def __init__(
        self,
        groups: Mapping[str, Sequence[CompiledRule]],
        params: Mapping[str, Any],
        max_rules_per_group: int = MAX_RULES_PER_GROUP,
    ):
        self.groups: list[DurableGroup] = []
        try:
            for label, rules in groups.items():
                for name, chunk in split_groups(label, rules, max_rules_per_group):
                    self.groups.append(DurableGroup(name, chunk, params))
        except BaseException:
            self.close()
            raise
        if len(self.groups) == 1:  # the usual case: one call less per assessment
            self.fire = self.groups[0].fired  # type: ignore[method-assign]

    def fire(self, facts: Mapping[str, Any]) -> set[str]:
        if len(self.groups) == 1:
            return self.groups[0].fired(facts)
        fired: set[str] = set()
        for group in self.groups:
            fired.update(group.fired(facts))
        return fired

    def close(self) -> None:
        for group in self.groups:
            group.close()


class DurableFiring:
    """The groups of several engines fired as one, for one assessment.

    An assessment of a placement runs the rules of three scopes, each its own
    engine (one group each here). Fired one engine at a time, each group paid
    Python's fixed costs again: a call, the lock, a `try`, a set of its own. Here
    the lock is taken once for every group's encoding and C calls (assert, drain,
    retract: `_fire_groups`), and the actions of all groups are decoded
    straight into one set as they are drained. The rulesets and sessions are the engines'
    own (nothing is registered twice, nothing to close here); rule ids are unique
    across scopes, so one set holds them all. A failure in any group deletes that
    group's session and fails the whole assessment, as before.
    """

    def __init__(self, groups: Sequence[DurableGroup]):
        self.groups: tuple[DurableGroup, ...] = tuple(groups)
        # What `fire` reads of each group, looked up once.
        self._plan = tuple(g._firing_plan() for g in self.groups)

    def close(self) -> None:
        """Nothing of its own to free: each engine closes its groups."""

    def fire(self, facts: Mapping[str, Any]) -> set[str]:
        """The ids of every rule of every group that fires for the facts, each once."""
        return _fire_groups(self._plan, facts)


# A group as `_fire_groups` reads it: the group, its encoder's `text`, its table from
# an action's rule name to the rule id (`get`), and the part of a message that names it.
_GroupPlan = tuple[
    DurableGroup, Callable[..., str], Callable[[str], str | None], Callable[[str], str]
]


def _fire_groups(plan: Sequence[_GroupPlan], facts: Mapping[str, Any]) -> set[str]:
    """The ids of the rules of the planned groups that fire for the facts, each once.

    The one place where the C calls are made (`DurableGroup.fired` plans one group,
    `DurableFiring` all of an assessment's): under the lock, per group, the fact is
    asserted in the group's reused session, the actions drained and each action's rule
    read from its message straight into the set (`iter` drains in C: no Python bytecode
    per action; no list of messages), and the fact retracted again by its ids alone
    (`RETRACT_TEXT`). Any failure deletes that group's session, so the next assessment
    starts in a fresh one, and fails the whole firing. The functions are looked up in
    `dre` on every call (tests replace them).
    """
    # durable_rules activates a rule once per true branch of an `$or`, and a rule split
    # into parts once per true part: the set reports each rule once.
    fired: set[str] = set()
    add, update = fired.add, fired.update
    with _LOCK:
        if _PENDING:
            _free_pending()
        for group, encode, rule_of_name, name_of in plan:
            text = encode(facts, FACT_TAIL)
            if not group._open:
                raise EngineError(f"ruleset group {group.label} is closed")
            try:
                handle = group._handle
                if not group._primed:  # a new session (at load, or after a reset)
                    group._prime()
                result, state = dre.assert_fact(handle, text)
                if result != RULES_OK and result != NOT_HANDLED:
                    # "observed": the same fact id is still there, a stale session
                    group._reset()
                    group._prime()
                    result, state = dre.assert_fact(handle, text)
                    if result != RULES_OK and result != NOT_HANDLED:
                        raise dre.error(f"fact not asserted in a fresh session (result {result})")
                if result == RULES_OK:  # else it reached no rule: not stored, nothing fired
                    started = dre.start_action_for_state(handle, state)
                    if started:
                        add(rule_of_name(name_of(started[1])))
                        drain = partial(dre.complete_and_start_action, handle, state)
                        update(map(rule_of_name, map(name_of, iter(drain, None))))
                    _, state = dre.retract_fact(handle, RETRACT_TEXT)
                    if dre.start_action_for_state(handle, state):  # a retraction fires nothing
                        raise dre.error("an action was queued by retracting the fact")
            except dre.error as exc:
                group._reset()
                raise EngineError(
                    f"durable_rules failed in ruleset group {group.label}: {exc}"
                ) from None
            except BaseException:
                group._reset()
                raise
            if None in fired:
                raise EngineError(f"durable_rules ran an unknown action in group {group.label}")
    return fired
