"""The two backends that decide which rules fire, over one rule base.

- `durable`: durable_rules 2.0.28 (`roprules.evaluation.durable`), the C rule engine the
  project started from. It cannot be imported on Python 3.13 and later
  (`PyEval_CallObject` was removed) and is unmaintained upstream.
- `evaluator`: the compiled three-valued conditions alone (`conditions.py`). It
  is the same parsed rule base; the agreement tests hold the two to the same
  answer for every rule wherever durable_rules can be imported.

`auto` chooses durable where `durable_rules_engine` imports and the evaluator
otherwise. durable_rules is imported only here, lazily, when the durable
backend is chosen: `import roprules` works without it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from roprules.rulebase.conditions import Condition, compile_evaluator

BackendName = Literal["durable", "evaluator"]
BACKEND_CHOICES = ("auto", "durable", "evaluator")


class EngineError(Exception):
    """The rule engine failed; the assessment must not be returned partially."""


class BackendUnavailable(Exception):
    """The requested backend cannot be used on this interpreter (bad input: exit 2)."""

    def __init__(self, message: str):
        self.messages = [message]
        super().__init__(message)


@dataclass(frozen=True)
class CompiledRule:
    """A rule as a backend sees it: its id and its condition."""

    rule_id: str
    condition: Condition


class ScopeEngine(Protocol):
    """What the assessor needs of a backend, per rule scope."""

    def fire(self, facts: Mapping[str, Any]) -> set[str]: ...

    def close(self) -> None: ...


@functools.cache
def durable_import_error() -> str | None:
    """Why durable_rules cannot be imported here, or None when it can."""
    try:
        import durable_rules_engine  # noqa: F401
    except ImportError as exc:  # not installed, or built for an older CPython ABI
        return f"{type(exc).__name__}: {exc}"
    return None


def durable_available() -> bool:
    return durable_import_error() is None


def resolve_backend(name: str) -> BackendName:
    """`auto`, `durable` or `evaluator` to the backend that will run."""
    if name not in BACKEND_CHOICES:
        raise BackendUnavailable(
            f"unknown engine backend {name!r}; expected one of {', '.join(BACKEND_CHOICES)}"
        )
    if name == "auto":
        return "durable" if durable_available() else "evaluator"
    if name == "durable" and not durable_available():
        raise BackendUnavailable(
            "the durable backend needs durable_rules, which cannot be imported here "
            f"({durable_import_error()}); durable-rules 2.0.28 installs only on Python "
            "3.11 and 3.12. Use --engine evaluator (or auto)."
        )
    return name  # type: ignore[return-value]


@functools.cache
def backend_version(name: BackendName) -> str:
    """The version of the code that decides what fires: durable_rules' or roprules'.

    roprules' is its `__version__` (the same as its package metadata, which a test
    holds), read without looking through every installed package's metadata (~2 ms of
    a start); durable_rules has no `__version__`, so its metadata is read.
    """
    if name == "evaluator":
        from roprules import __version__

        return __version__
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("durable-rules")
    except PackageNotFoundError:
        return "unknown"


class EvaluatorEngine:
    """The evaluator backend: a rule fires when its three-valued condition is true."""

    def __init__(self, rules: Sequence[CompiledRule], params: Mapping[str, Any]):
        self.rule_ids = tuple(r.rule_id for r in rules)
        self._evaluators = tuple((r.rule_id, compile_evaluator(r.condition, params)) for r in rules)

    def fire(self, facts: Mapping[str, Any]) -> set[str]:
        return {rule_id for rule_id, evaluate in self._evaluators if evaluate(facts) is True}

    def close(self) -> None:
        """Nothing to free: no state outside Python."""


def make_scope_engine(
    backend: BackendName, label: str, rules: Sequence[CompiledRule], params: Mapping[str, Any]
) -> ScopeEngine:
    """The engine of one rule scope on the chosen backend."""
    if backend == "evaluator":
        return EvaluatorEngine(rules, params)
    from roprules.evaluation.durable import DurableEngine  # imports durable_rules

    return DurableEngine({label: list(rules)}, params)


def combined_engine(backend: BackendName, engines: Sequence[ScopeEngine]) -> ScopeEngine | None:
    """One engine firing the rules of several scopes at once, for assessments that run
    them all (a placement: placement, offer and resident rules), or None where the
    backend gains nothing by it (the evaluator runs the scopes' plans in one loop).

    durable: a `DurableFiring` over the engines' groups: one lock and one set per
    assessment instead of one per scope (nothing registered twice).
    """
    if backend != "durable":
        return None
    from roprules.evaluation.durable import DurableEngine, DurableFiring  # imports durable_rules

    return DurableFiring([g for e in engines if isinstance(e, DurableEngine) for g in e.groups])
