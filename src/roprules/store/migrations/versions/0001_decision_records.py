"""Decision records, the team's stances on findings, and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Records are append-only and the audit log cannot be changed: triggers refuse
UPDATE on records and stances, and UPDATE or DELETE on the audit log, so that
not even a direct SQL statement can alter a decision in place.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = {
    "decision_records": "UPDATE",
    "finding_stances": "UPDATE",
    "audit_log": "UPDATE OR DELETE",
}


def upgrade() -> None:
    op.create_table(
        "decision_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_ref", sa.String(64), nullable=False, index=True),
        sa.Column("offer_id", sa.String(64)),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("meeting_date", sa.Date, nullable=False),
        sa.Column("roles_present", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("ruleset_name", sa.String(100), nullable=False),
        sa.Column("ruleset_version", sa.String(40), nullable=False),
        sa.Column("ruleset_sha256", sa.String(64), nullable=False),
        sa.Column("overlay_sha256", sa.String(64)),
        sa.Column("assessment", sa.JSON, nullable=False),
        sa.Column("profiles", sa.JSON),
        sa.Column("corrects", sa.String(36), sa.ForeignKey("decision_records.id")),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('allocated', 'not_allocated', 'postponed')", name="ck_decision"
        ),
    )
    op.create_table(
        "finding_stances",
        sa.Column(
            "record_id",
            sa.String(36),
            sa.ForeignKey("decision_records.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("stance", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint("stance IN ('agree', 'override')", name="ck_stance"),
        sa.CheckConstraint(
            "stance = 'agree' OR (reason IS NOT NULL AND reason <> '')", name="ck_override_reason"
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("case_ref", sa.String(64)),
        sa.Column("record_id", sa.String(36)),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION roprules_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'append-only table: %', TG_TABLE_NAME; END $$"
        )
    for table, events in _APPEND_ONLY.items():
        for event in events.split(" OR "):
            name = f"{table}_no_{event.lower()}"
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION roprules_append_only()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table: {table}'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, events in _APPEND_ONLY.items():
        for event in events.split(" OR "):
            name = f"{table}_no_{event.lower()}"
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS roprules_append_only()")
    op.drop_table("audit_log")
    op.drop_table("finding_stances")
    op.drop_table("decision_records")
