"""The decision store on a real database: SQLite always, PostgreSQL where one is reachable.

`.ci/run` starts a PostgreSQL cluster and sets ROPRULES_TEST_DATABASE_URL; without
it the PostgreSQL half is skipped locally (and fails under CI, so it cannot be
skipped silently there).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from tests.conftest import offer_file, resident_file

from roprules import Assessment
from roprules.store import DecisionStore, RecordError
from roprules.store.repository import migrate

PG_URL = os.environ.get("ROPRULES_TEST_DATABASE_URL")
TABLES = {"decision_records", "finding_stances", "audit_log", "offers", "users"}
FNR = "01019012345"  # not a valid number...
VALID_FNR = "15076500565"  # ...but this one passes the mod-11 check


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'roprules.db'}"
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set ROPRULES_TEST_DATABASE_URL (.ci/run starts PostgreSQL)")
        pytest.skip("no PostgreSQL server (set ROPRULES_TEST_DATABASE_URL)")
    migrate(PG_URL, "base", down=True)
    yield PG_URL
    migrate(PG_URL, "base", down=True)


@pytest.fixture
def store(url):
    with DecisionStore.open(url) as opened:
        yield opened


@pytest.fixture(scope="module")
def assessment(engine) -> Assessment:
    """The high-risk resident in a small house: critical and major findings to decide on."""
    return engine.check(resident_file("r01"), offer_file("aalesund-gaseid"))


def stances_for(assessment: Assessment, override: str | None = None) -> list[dict]:
    out = []
    for finding in assessment.findings:
        if finding.severity in ("critical", "major"):
            if finding.rule_id == override:
                out.append(
                    {"rule_id": finding.rule_id, "stance": "override", "reason": "Avtalt tiltak."}
                )
            else:
                out.append({"rule_id": finding.rule_id, "stance": "agree"})
    return out


def decision(assessment: Assessment, **changes) -> dict:
    base = {
        "decision": "not_allocated",
        "meeting_date": "2026-11-30",
        "roles_present": ["housing_office", "mental_health_substance_service", "nav"],
        "stances": stances_for(assessment),
        "notes": "Vurderes på nytt når heldøgns tilbud er klart.",
    }
    base.update(changes)
    return base


def major_rule(assessment: Assessment) -> str:
    return next(f.rule_id for f in assessment.findings if f.severity == "major")


def test_migrations_from_empty_to_head_and_back(url):
    engine = create_engine(url)
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate(engine, "base", down=True)
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_a_decision_that_overrides_a_major_finding_is_stored_and_read_back(store, assessment):
    major = major_rule(assessment)
    stored = store.record(
        assessment, decision(assessment, stances=stances_for(assessment, major)), actor="local"
    )
    (again,) = store.for_case(assessment.resident_id)
    assert again == stored
    assert again.decision == "not_allocated"
    assert again.meeting_date == date(2026, 11, 30)
    overridden = [s for s in again.stances if s.stance == "override"]
    assert [(s.rule_id, s.reason) for s in overridden] == [(major, "Avtalt tiltak.")]
    assert again.ruleset_sha256 == assessment.ruleset.sha256
    assert again.verdict == assessment.verdict
    assert store.cases() == [assessment.resident_id]
    (entry,) = store.audit_log(assessment.resident_id)
    assert (entry.action, entry.record_id, entry.actor) == ("record_decision", stored.id, "local")


def test_the_stored_assessment_reproduces(store, assessment, engine):
    stored = store.record(assessment, decision(assessment), actor="local")
    kept = Assessment.model_validate(stored.assessment)
    assert kept == assessment
    rerun = engine.check(resident_file("r01"), offer_file("aalesund-gaseid"))
    assert [f.rule_id for f in rerun.findings] == [f.rule_id for f in kept.findings]
    assert rerun.ruleset.sha256 == stored.ruleset_sha256


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stances": "override-without-reason"}, "stances"),
        ({"stances": []}, "stances"),
        ({"notes": f"Beboer {VALID_FNR[:6]} {VALID_FNR[6:]} møtte."}, "notes"),
        ({"notes": "x" * 2001}, "notes"),
        ({"roles_present": ["Kari Nordmann"]}, "roles_present"),
        ({"roles_present": []}, "roles_present"),
        ({"decision": "approved"}, "decision"),
        ({"unknown": 1}, "unknown"),
        ({"corrects": "00000000-0000-0000-0000-000000000000"}, "corrects"),
    ],
)
def test_an_invalid_decision_is_refused_and_nothing_is_written(store, assessment, change, field):
    if change.get("stances") == "override-without-reason":
        change = {
            "stances": [
                {**s, "stance": "override"} if s["rule_id"] == major_rule(assessment) else s
                for s in stances_for(assessment)
            ]
        }
    with pytest.raises(RecordError) as caught:
        store.record(assessment, decision(assessment, **change), actor="local")
    assert any(e["field"].startswith(field) for e in caught.value.errors), caught.value.errors
    assert VALID_FNR not in str(caught.value)
    assert store.for_case(assessment.resident_id) == []
    assert store.audit_log() == []


def test_an_ordinary_eleven_digit_number_in_notes_is_kept(store, assessment):
    stored = store.record(assessment, decision(assessment, notes=f"Sak {FNR}."), actor="local")
    assert stored.notes == f"Sak {FNR}."


def test_a_stance_on_a_finding_that_is_not_serious_is_refused(store, assessment):
    minor = next(f.rule_id for f in assessment.findings if f.severity in ("minor", "info"))
    stances = [*stances_for(assessment), {"rule_id": minor, "stance": "agree"}]
    with pytest.raises(RecordError, match=minor):
        store.record(assessment, decision(assessment, stances=stances), actor="local")


def test_a_record_cannot_be_altered_in_place_only_corrected(store, assessment, url):
    first = store.record(assessment, decision(assessment), actor="local")
    engine = create_engine(url)
    for statement in (
        "UPDATE decision_records SET decision = 'allocated'",
        "UPDATE finding_stances SET stance = 'override', reason = 'x'",
        "UPDATE audit_log SET actor = 'someone'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))
    engine.dispose()
    assert store.get(first.id) == first

    correction = store.record(
        assessment, decision(assessment, decision="postponed", corrects=first.id), actor="local"
    )
    records = store.for_case(assessment.resident_id)
    assert [r.id for r in records] == [first.id, correction.id]
    assert records[1].corrects == first.id and records[0].decision == "not_allocated"
    assert [e.action for e in store.audit_log()] == ["record_decision", "record_decision"]


def test_deleting_a_case_is_audited(store, assessment):
    store.record(assessment, decision(assessment), actor="local")
    assert store.delete_case(assessment.resident_id, actor="admin") == 1
    assert store.for_case(assessment.resident_id) == []
    actions = [(e.action, e.actor) for e in store.audit_log(assessment.resident_id)]
    assert actions == [("record_decision", "local"), ("delete_case", "admin")]


def test_audit_log_holds_no_profile_content(store, assessment):
    store.record(assessment, decision(assessment), actor="local")
    for entry in store.audit_log():
        assert set(vars(entry)) == {"at", "actor", "action", "case_ref", "record_id"}


def test_export_is_the_record_as_json(store, assessment):
    stored = store.record(assessment, decision(assessment), actor="local")
    exported = json.loads(store.export_json(stored.id))
    assert exported["id"] == stored.id
    assert exported["assessment"]["verdict"] == assessment.verdict
    assert exported["stances"] == [s.model_dump() for s in stored.stances]


def test_an_sqlite_store_is_readable_by_its_owner_alone(tmp_path):
    path = tmp_path / "new.db"
    DecisionStore.open(f"sqlite:///{path}").close()
    assert path.stat().st_mode & 0o777 == 0o600
