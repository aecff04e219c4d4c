"""Decision records kept in a database: what an allocation team decided, and why.

Norwegian administrative law expects a reasoned decision in the case file. A
record stores the team's decision, its stance on every critical and major
finding (an override needs a reason), the meeting date and the roles present
(never names), and the full assessment with the ruleset and overlay hashes and
the assessment date, so that the assessment can be reproduced.

Records are append-only: a correction is a new record that points to the one it
corrects. Every write goes to an audit table, without profile content.

SQLite is the embedded default (`sqlite:///roprules.db`); PostgreSQL by URL
(`postgresql+psycopg://…`). The schema is managed by Alembic migrations that ship
in this package (`migrations/`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roprules.store.records import (
        DECISIONS,
        ROLES,
        DecisionInput,
        DecisionRecord,
        FindingStance,
        RecordError,
    )
    from roprules.store.repository import AuditEntry, DecisionStore, StoreError

# Imported on first use: `roprules.store.commands` (the CLI's `users` and `db`
# parsers) lives in this package, and SQLAlchemy costs ~0.1 s to import, which
# every `roprules check` would otherwise pay (benchmarks/README.md, cold start).
_LAZY = {
    "DECISIONS": "records",
    "ROLES": "records",
    "DecisionInput": "records",
    "DecisionRecord": "records",
    "FindingStance": "records",
    "RecordError": "records",
    "AuditEntry": "repository",
    "DecisionStore": "repository",
    "StoreError": "repository",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"roprules.store.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DECISIONS",
    "ROLES",
    "AuditEntry",
    "DecisionInput",
    "DecisionRecord",
    "DecisionStore",
    "FindingStance",
    "RecordError",
    "StoreError",
]
