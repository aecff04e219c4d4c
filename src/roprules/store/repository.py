"""The decision store: append-only records and an audit trail, on SQLite or PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, delete, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from roprules import Assessment
from roprules.contract.errors import CASE_REF
from roprules.store.records import (
    DecisionInput,
    DecisionRecord,
    FindingStance,
    RecordError,
    check_stances,
)
from roprules.store.tables import AuditRow, DecisionRow, StanceRow

if TYPE_CHECKING:
    from roprules.store.accounts import Accounts
    from roprules.store.register import OfferRegistry

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_URL = "sqlite:///roprules.db"


class StoreError(Exception):
    """The database could not be reached or refused the operation."""


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    case_ref: str | None
    record_id: str | None


def migrate(url_or_engine: str | Engine, revision: str = "head", *, down: bool = False) -> None:
    """Bring the schema to `revision` with the Alembic migrations shipped in this package."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


def _enable_sqlite_foreign_keys(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def _private_sqlite_file(engine: Engine) -> None:
    """An SQLite file holds health data: create it readable by its owner alone (0600)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create the decision store file: {exc.strerror}") from None


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class DecisionStore:
    """Decision records for allocation cases. Create with `DecisionStore.open(url)`."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str = DEFAULT_URL, *, upgrade: bool = True) -> DecisionStore:
        """Connect, and (by default) bring the schema up to date first."""
        try:
            engine = create_engine(url)
            _private_sqlite_file(engine)
            _enable_sqlite_foreign_keys(engine)
            if upgrade:
                migrate(engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the decision store: {type(exc).__name__}") from None
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    @property
    def offers(self) -> OfferRegistry:
        """The municipality's offer register, kept in the same database."""
        from roprules.store.register import OfferRegistry

        return OfferRegistry(self)

    @property
    def users(self) -> Accounts:
        """Built-in accounts for the web app."""
        from roprules.store.accounts import Accounts

        return Accounts(self)

    def __enter__(self) -> DecisionStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(
                f"the decision store refused the operation: {exc.orig!s}"[:300]
            ) from None
        finally:
            session.close()

    def record(
        self,
        assessment: Assessment | dict[str, Any],
        decision: DecisionInput | dict[str, Any],
        *,
        actor: str,
        profiles: dict[str, Any] | None = None,
    ) -> DecisionRecord:
        """Store a team's decision on a placement assessment; returns the stored record.

        `profiles` ({"resident": …, "offer": …}, as assessed) lets the assessment be
        run again exactly. Raises RecordError (with every problem) if the decision is
        not complete or not valid for this assessment; nothing is written then.
        """
        if not isinstance(assessment, Assessment):
            assessment = Assessment.model_validate(assessment)
        if not isinstance(decision, DecisionInput):
            try:
                decision = DecisionInput.model_validate(decision)
            except ValidationError as exc:
                raise RecordError(
                    [
                        {
                            "field": ".".join(str(p) for p in e["loc"]) or "decision",
                            "code": e["type"],
                            "message": e["msg"],
                        }
                        for e in exc.errors(include_url=False)
                    ]
                ) from None
        if assessment.scope != "placement" or not assessment.resident_id:
            raise RecordError(
                [
                    {
                        "field": "assessment",
                        "code": "not_placement",
                        "message": "a decision is on a placement",
                    }
                ]
            )
        errors = check_stances(decision, assessment)
        case_ref = assessment.resident_id
        with self.session() as session:
            if decision.corrects is not None:
                earlier = session.get(DecisionRow, decision.corrects)
                if earlier is None or earlier.case_ref != case_ref:
                    errors.append(
                        _error("corrects", "unknown_record", "no earlier record of this case")
                    )
            if errors:
                raise RecordError(errors)
            row = self._row(case_ref, assessment, decision, actor)
            row.profiles = profiles
            session.add(row)
            session.flush()
            session.add(self.audit_row(actor, "record_decision", case_ref, row.id))
            return self._record(row)

    def _row(
        self, case_ref: str, assessment: Assessment, decision: DecisionInput, actor: str
    ) -> DecisionRow:
        as_of = getattr(assessment, "as_of", None) or (
            assessment.created_at.date() if assessment.created_at else date.today()
        )
        overlay = assessment.ruleset.overlay
        severities = {f.rule_id: f.severity for f in assessment.findings}
        row = DecisionRow(
            id=str(uuid.uuid4()),
            case_ref=case_ref,
            offer_id=assessment.offer_id,
            decision=decision.decision,
            meeting_date=decision.meeting_date,
            roles_present=list(decision.roles_present),
            notes=decision.notes,
            verdict=assessment.verdict,
            as_of=as_of,
            ruleset_name=assessment.ruleset.name,
            ruleset_version=assessment.ruleset.version,
            ruleset_sha256=assessment.ruleset.sha256,
            overlay_sha256=overlay.sha256 if overlay else None,
            assessment=json.loads(assessment.model_dump_json()),
            corrects=decision.corrects,
            recorded_by=actor,
            recorded_at=datetime.now(UTC),
        )
        row.stances = [
            StanceRow(
                position=index,
                rule_id=stance.rule_id,
                severity=severities[stance.rule_id],
                stance=stance.stance,
                reason=stance.reason,
            )
            for index, stance in enumerate(decision.stances)
        ]
        return row

    @staticmethod
    def audit_row(actor: str, action: str, case_ref: str | None, record_id: str | None) -> AuditRow:
        return AuditRow(
            at=datetime.now(UTC), actor=actor, action=action, case_ref=case_ref, record_id=record_id
        )

    @staticmethod
    def _record(row: DecisionRow) -> DecisionRecord:
        return DecisionRecord(
            id=row.id,
            case_ref=row.case_ref,
            offer_id=row.offer_id,
            decision=row.decision,  # type: ignore[arg-type]
            meeting_date=row.meeting_date,
            roles_present=list(row.roles_present),
            stances=[
                FindingStance(rule_id=s.rule_id, stance=s.stance, reason=s.reason)  # type: ignore[arg-type]
                for s in row.stances
            ],
            notes=row.notes,
            verdict=row.verdict,
            as_of=row.as_of,
            ruleset_name=row.ruleset_name,
            ruleset_version=row.ruleset_version,
            ruleset_sha256=row.ruleset_sha256,
            overlay_sha256=row.overlay_sha256,
            corrects=row.corrects,
            recorded_by=row.recorded_by,
            recorded_at=_aware(row.recorded_at),
            assessment=row.assessment,
            profiles=row.profiles,
        )

    def get(self, record_id: str) -> DecisionRecord | None:
        with self.session() as session:
            row = session.get(DecisionRow, record_id)
            return self._record(row) if row is not None else None

    def for_case(self, case_ref: str) -> list[DecisionRecord]:
        """Every record of a case, oldest first (corrections after what they correct)."""
        with self.session() as session:
            rows = session.scalars(
                select(DecisionRow)
                .where(DecisionRow.case_ref == case_ref)
                .order_by(DecisionRow.recorded_at, DecisionRow.id)
            )
            return [self._record(row) for row in rows]

    def cases(self) -> list[str]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(DecisionRow.case_ref).distinct().order_by(DecisionRow.case_ref)
                )
            )

    def delete_case(self, case_ref: str, *, actor: str) -> int:
        """Delete every record of a case (an admin action, itself audited). Returns the count."""
        if not isinstance(case_ref, str) or not CASE_REF.fullmatch(case_ref):
            raise RecordError(
                [{"field": "case_ref", "code": "bad_id", "message": "not a case reference"}]
            )
        with self.session() as session:
            ids = list(
                session.scalars(select(DecisionRow.id).where(DecisionRow.case_ref == case_ref))
            )
            if ids:
                session.execute(delete(StanceRow).where(StanceRow.record_id.in_(ids)))
                session.execute(delete(DecisionRow).where(DecisionRow.id.in_(ids)))
            session.add(self.audit_row(actor, "delete_case", case_ref, None))
            return len(ids)

    def audit_log(self, case_ref: str | None = None) -> list[AuditEntry]:
        with self.session() as session:
            query = select(AuditRow).order_by(AuditRow.id)
            if case_ref is not None:
                query = query.where(AuditRow.case_ref == case_ref)
            return [
                AuditEntry(_aware(r.at), r.actor, r.action, r.case_ref, r.record_id)
                for r in session.scalars(query)
            ]

    def export_json(self, record_id: str) -> str:
        """The record as JSON, for the case file."""
        record = self.get(record_id)
        if record is None:
            raise RecordError(
                [{"field": "id", "code": "unknown_record", "message": "no such record"}]
            )
        return record.model_dump_json(indent=2)
