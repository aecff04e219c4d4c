"""The database tables (SQLAlchemy 2). The schema itself is created by migrations only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class DecisionRow(Base):
    """One decision record. Never updated in place (a trigger refuses UPDATE)."""

    __tablename__ = "decision_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), index=True)
    offer_id: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(20))
    meeting_date: Mapped[date] = mapped_column(Date)
    roles_present: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[date] = mapped_column(Date)
    ruleset_name: Mapped[str] = mapped_column(String(100))
    ruleset_version: Mapped[str] = mapped_column(String(40))
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    overlay_sha256: Mapped[str | None] = mapped_column(String(64))
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The profiles as assessed, so that the assessment can be run again exactly.
    profiles: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    corrects: Mapped[str | None] = mapped_column(ForeignKey("decision_records.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stances: Mapped[list[StanceRow]] = relationship(
        order_by="StanceRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class StanceRow(Base):
    """The team's stance on one critical or major finding of the record's assessment."""

    __tablename__ = "finding_stances"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("decision_records.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(10))
    stance: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)


class AuditRow(Base):
    """Who wrote what, when: ids and actions only, never profile content."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    case_ref: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(36))


class OfferRow(Base):
    """An offer in the municipality's register, as the web app edits it."""

    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserRow(Base):
    """A built-in account: a user name, an argon2 hash and a role. No other personal data."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
