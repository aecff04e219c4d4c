"""CDS Hooks feedback writes the same decision record as the web app."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.test_web import make_app

from roprules.store import DecisionStore

CONTEXT = {
    "resident": {
        "id": "R-900",
        "violence_risk": "high",
        "needs_round_the_clock_staff": True,
        "service_needs_mapped": False,
    },
    "offerId": "O-aalesund-gaseid",
    "asOf": "2026-11-30",
}
SERVICE = "/cds-services/roprules-placement-check"


def cards(client: TestClient) -> list[dict]:
    body = {"hook": "roprules-placement-check", "hookInstance": "h-1", "context": CONTEXT}
    response = client.post(SERVICE, json=body)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def serious(card: dict) -> bool:
    return card["indicator"] in ("critical", "warning")


def test_feedback_records_the_decision_with_stances_and_reasons(tmp_path):
    app, db = make_app(tmp_path)
    client = TestClient(app)
    shown = cards(client)
    findings = [c for c in shown[1:] if serious(c)]
    override, *agreed = findings
    feedback = [
        {
            "card": override["uuid"],
            "outcome": "overridden",
            "overrideReason": {"userComment": "Nattevakt er avtalt fra innflytting."},
            "outcomeTimestamp": "2026-11-30T10:00:00Z",
        },
        *({"card": c["uuid"], "outcome": "accepted"} for c in agreed),
    ]
    extension = {
        "roprules": {
            "context": CONTEXT,
            "decision": "postponed",
            "meetingDate": "2026-11-30",
            "rolesPresent": ["housing_office", "nav"],
        }
    }
    response = client.post(
        f"{SERVICE}/feedback", json={"feedback": feedback, "extension": extension}
    )
    assert response.status_code == 200, response.text
    with DecisionStore.open(db) as store:
        (record,) = store.for_case("R-900")
    assert record.decision == "postponed" and record.recorded_by == "cds-hooks"
    overridden = [s for s in record.stances if s.stance == "override"]
    assert [s.reason for s in overridden] == ["Nattevakt er avtalt fra innflytting."]
    assert len(record.stances) == len(findings)
    assert record.as_of.isoformat() == "2026-11-30"


def test_feedback_that_leaves_a_serious_card_without_a_stance_is_refused(tmp_path):
    app, db = make_app(tmp_path)
    client = TestClient(app)
    first = next(c for c in cards(client)[1:] if serious(c))
    extension = {"roprules": {"context": CONTEXT, "decision": "allocated",
                              "meetingDate": "2026-11-30", "rolesPresent": ["nav"]}}  # fmt: skip
    body = {"feedback": [{"card": first["uuid"], "outcome": "accepted"}], "extension": extension}
    response = client.post(f"{SERVICE}/feedback", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    with DecisionStore.open(db) as store:
        assert store.for_case("R-900") == []


def test_feedback_needs_the_placement_context(tmp_path):
    app, _ = make_app(tmp_path)
    client = TestClient(app)
    response = client.post(f"{SERVICE}/feedback", json={"feedback": []})
    assert response.status_code == 422
    assert any("extension" in e["field"] for e in response.json()["errors"])
