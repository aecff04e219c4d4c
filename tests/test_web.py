"""The web app through FastAPI's test client: forms, re-assessment, decisions, access rules."""

from __future__ import annotations

import hashlib
import re
from html import escape as html_escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import OFFERS_DIR, shared_engine

from roprules.cli import main
from roprules.contract.fields import field_registry
from roprules.service.serve import build_app
from roprules.store import DecisionStore
from roprules.web.forms import NOT_IN_FORM
from roprules.web.texts import LANGS, all_keys, ui

GASEID = "O-aalesund-gaseid"
HIGH_RISK = {
    "case_ref": "R-001",
    "offer_id": GASEID,
    "resident.age": "34",
    "resident.violence_risk": "high",
    "resident.needs_round_the_clock_staff": "yes",
    "resident.service_needs_mapped": "no",  # a major finding to decide on
}
UNSUPERVISED = "supervision.high-violence-risk-unsupervised"


def make_app(tmp_path: Path, auth: str = "local"):
    db = f"sqlite:///{tmp_path / 'roprules.db'}"
    config = {
        "rules": None,
        "overlay": None,
        "offers": str(OFFERS_DIR),
        "token_file": None,
        "max_body": 1 << 20,
        "timeout": 10.0,
        "cors": [],
        "db": db,
        "auth": auth,
        "user_header": "X-Forwarded-User",
        "role_header": "X-Forwarded-Role",
        "secret_file": None,
        "secure_cookies": False,
    }
    return build_app(config), db


@pytest.fixture
def client(tmp_path):
    app, _ = make_app(tmp_path)
    return TestClient(app)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def verdict_of(html: str) -> str:
    return re.search(r'class="verdict verdict-(\w+)"', html).group(1)


def hidden_values(html: str, form_action: str) -> list[tuple[str, str]]:
    form = re.search(rf'<form method="post" action="{form_action}".*?</form>', html, re.S).group(0)
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)


def as_form(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Name/value pairs as httpx wants a form with repeated names."""
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def assess(client: TestClient, values: dict[str, str]) -> str:
    page = client.get("/assess")
    response = client.post("/assess", data={"csrf": csrf_of(page.text), **values})
    assert response.status_code == 200, response.text[:2000]
    return response.text


def test_the_form_is_generated_from_the_field_registry(client):
    html = client.get("/assess").text
    for info in field_registry().values():
        if info.kind == "object" or info.path in NOT_IN_FORM or info.deprecated:
            continue
        assert f'name="{info.path}' in html, info.path
        assert info.label["nb"][1:] in html.replace("&#39;", "'").replace("&amp;", "&"), info.path
    # booleans as Ja / Nei / Ukjent, enums with an explicit Ukjent
    assert html.count('value="">') >= 1 and ">\n" not in "Ja"
    assert 'name="resident.violence_risk" value=""' in html


def test_the_high_risk_resident_in_the_small_house_is_unsuitable(client):
    html = assess(client, HIGH_RISK)
    assert verdict_of(html) == "unsuitable"
    assert f'id="finding-{UNSUPERVISED}"' in html
    assert "Uegnet" in html


def test_answering_an_open_question_reassesses_and_keeps_every_value(client):
    first = assess(client, HIGH_RISK)
    carried = dict(hidden_values(first, "/assess"))
    assert carried["resident.age"] == "34" and carried["offer_id"] == GASEID
    asked = re.findall(r'<div class="question[^"]*">.*?name="([^"]+)"', first, re.S)
    assert "resident.fire_risk" in asked
    answer = {**carried, "resident.fire_risk": "high"}
    second = client.post("/assess", data=answer).text
    still_asked = re.findall(r'<div class="question[^"]*">.*?name="([^"]+)"', second, re.S)
    assert "resident.fire_risk" not in still_asked
    assert dict(hidden_values(second, "/assess"))["resident.fire_risk"] == "high"
    assert dict(hidden_values(second, "/assess"))["resident.age"] == "34"


def test_a_bad_value_gives_an_error_summary_linked_to_the_field(client):
    page = client.get("/assess")
    response = client.post(
        "/assess", data={"csrf": csrf_of(page.text), **HIGH_RISK, "resident.age": "trettifire"}
    )
    assert response.status_code == 422
    assert 'class="error-summary"' in response.text
    assert 'href="#f-resident-age"' in response.text and 'id="f-resident-age"' in response.text
    assert 'value="trettifire"' not in response.text or "trettifire" in response.text


def test_a_form_post_without_a_csrf_token_is_refused(client):
    client.get("/assess")
    assert client.post("/assess", data=HIGH_RISK).status_code == 403
    assert client.post("/assess", data={**HIGH_RISK, "csrf": "forged"}).status_code == 403


def record_decision(client: TestClient, result_html: str, **extra: str) -> object:
    data = hidden_values(result_html, "/decisions")
    data += [("decision", "not_allocated"), ("meeting_date", "2026-11-30")]
    serious = re.findall(r'name="(stance\.[a-z.-]+)" value="agree" checked', result_html)
    data += [(name, "agree") for name in serious if name not in extra]  # as a browser sends
    data += [("roles_present", "housing_office"), ("roles_present", "nav")]
    data += list(extra.items())
    return client.post("/decisions", data=as_form(data), follow_redirects=False)


def test_a_decision_that_overrides_a_major_finding_is_recorded_with_its_reason(client, tmp_path):
    html = assess(client, HIGH_RISK)
    serious = re.findall(r'name="stance\.([a-z.-]+)" value="override"', html)
    assert UNSUPERVISED in serious
    majors = [rule for rule in serious if f'class="finding sev-major" id="finding-{rule}"' in html]
    assert majors, "the example has a major finding"
    rule = majors[0]
    response = record_decision(
        client, html, **{f"stance.{rule}": "override", f"reason.{rule}": "Tett oppfølging avtalt."}
    )
    assert response.status_code == 303
    case = client.get(response.headers["location"]).text
    assert "Tildeles ikke" in case and "Tett oppfølging avtalt." in case
    document_link = re.search(r'href="(/decisions/[0-9a-f-]+)"', case).group(1)
    document = client.get(document_link)
    assert document.status_code == 200
    assert "Boligkontoret" in document.text and "Tett oppfølging avtalt." in document.text
    exported = client.get(f"{document_link}/export.json").json()
    assert exported["decision"] == "not_allocated" and exported["case_ref"] == "R-001"
    with DecisionStore.open(f"sqlite:///{tmp_path / 'roprules.db'}") as store:
        (record,) = store.for_case("R-001")
        assert any(s.stance == "override" and s.rule_id == rule for s in record.stances)
        assert record.profiles["resident"]["violence_risk"] == "high"
        assert [e.action for e in store.audit_log("R-001")] == ["record_decision"]


def test_an_override_without_a_reason_is_refused_with_the_field_named(client):
    html = assess(client, HIGH_RISK)
    response = record_decision(client, html, **{f"stance.{UNSUPERVISED}": "override"})
    assert response.status_code == 422
    assert 'class="error-summary"' in response.text
    assert f'href="#f-reason-{UNSUPERVISED.replace(".", "-")}"' in response.text


def accounts_client(tmp_path: Path) -> tuple[TestClient, str]:
    app, db = make_app(tmp_path, auth="accounts")
    with DecisionStore.open(db) as store:
        for name, role in (("leser", "reader"), ("medlem", "member"), ("admin", "admin")):
            store.users.add(name, f"{name}-passord-123", role, actor="test")
    return TestClient(app), db


def login(client: TestClient, name: str, password: str | None = None) -> int:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "csrf": csrf_of(page.text),
            "username": name,
            "password": password or f"{name}-passord-123",
        },
        follow_redirects=False,
    )
    return response.status_code


def test_without_sign_in_pages_redirect_to_the_login(tmp_path):
    client, _ = accounts_client(tmp_path)
    for path in ("/", "/assess", "/offers", "/cases"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    assert login(client, "medlem", "feil-passord-000") == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_team_member_cannot_edit_the_offer_register(tmp_path):
    client, _ = accounts_client(tmp_path)
    assert login(client, "medlem") == 303
    assert client.get("/offers/new").status_code == 403
    assert client.get(f"/offers/{GASEID}/edit").status_code == 403
    page = client.get("/offers")
    response = client.post("/offers", data={"csrf": csrf_of(page.text), "offer.id": "X-1"})
    assert response.status_code == 403
    assert client.get(f"/offers/{GASEID}/review").status_code == 200


def test_a_reader_cannot_record_a_decision(tmp_path):
    client, _ = accounts_client(tmp_path)
    assert login(client, "leser") == 303
    html = assess(client, HIGH_RISK)
    assert 'action="/decisions"' not in html
    data = [("csrf", csrf_of(html)), *[(k, v) for k, v in HIGH_RISK.items()]]
    assert client.post("/decisions", data=as_form(data)).status_code == 403


def test_an_admin_adds_an_offer_and_every_write_is_audited(tmp_path):
    client, db = accounts_client(tmp_path)
    assert login(client, "admin") == 303
    page = client.get("/offers/new")
    response = client.post(
        "/offers",
        data={
            "csrf": csrf_of(page.text),
            "offer.id": "O-ny",
            "offer.name": "Nytt småhus",
            "offer.type": "small_house",
            "offer.staffing": "ambulant",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Nytt småhus" in client.get("/offers").text
    with DecisionStore.open(db) as store:
        assert ("add_offer", "admin", "O-ny") in [
            (e.action, e.actor, e.record_id) for e in store.audit_log()
        ]


def test_a_proxy_header_signs_in(tmp_path):
    app, _ = make_app(tmp_path, auth="proxy")
    client = TestClient(app)
    assert client.get("/", follow_redirects=False).status_code == 303
    headers = {"X-Forwarded-User": "kari", "X-Forwarded-Role": "member"}
    assert "kari" in client.get("/", headers=headers).text


def test_the_app_refuses_to_start_off_loopback_without_sign_in(capsys, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(hashlib.sha256(b"a-long-enough-secret-token").hexdigest() + "\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    argv = ["serve", "--host", "0.0.0.0", "--port", "8999", "--token-file", str(tokens)]
    assert main([*argv, "--db", db]) == 2
    assert "without sign-in" in capsys.readouterr().err


def test_english_switch_and_every_text_in_both_languages(client):
    assert "New assessment" in client.get("/assess?lang=en").text
    assert "New assessment" in client.get("/").text  # the choice is kept
    for key in all_keys():
        for lang in LANGS:
            assert ui(key, lang).strip(), (key, lang)


def test_pages_set_a_strict_content_security_policy(client):
    response = client.get("/assess")
    policy = response.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert response.headers["cache-control"] == "no-store"


def test_deleting_a_case_is_for_admins_and_audited(tmp_path):
    client, db = accounts_client(tmp_path)
    assert login(client, "medlem") == 303
    html = assess(client, HIGH_RISK)
    assert record_decision(client, html).status_code == 303
    case = client.get("/cases/R-001").text
    assert "/cases/R-001/delete" not in case
    assert client.post("/cases/R-001/delete", data={"csrf": csrf_of(case)}).status_code == 403
    client.post("/logout", data={"csrf": csrf_of(case)})
    assert login(client, "admin") == 303
    case = client.get("/cases/R-001").text
    response = client.post(
        "/cases/R-001/delete", data={"csrf": csrf_of(case)}, follow_redirects=False
    )
    assert response.status_code == 303
    with DecisionStore.open(db) as store:
        assert store.for_case("R-001") == []
        assert [e.action for e in store.audit_log("R-001")] == ["record_decision", "delete_case"]


def test_a_value_derived_from_brukerplan_is_shown_as_derived(client):
    html = assess(
        client,
        {
            "case_ref": "R-002",
            "offer_id": GASEID,
            "resident.brukerplan.economy": "4",
            "resident.economy_follow_up": "no",
        },
    )
    assert 'id="finding-support.debt-without-follow-up"' in html
    assert "(avledet fra BrukerPlan)" in html


def rank_page(client: TestClient) -> str:
    html = assess(client, HIGH_RISK)
    response = client.post("/rank", data=as_form(hidden_values(html, "/rank")))
    assert response.status_code == 200, response.text[:2000]
    return response.text


def test_the_rank_page_shows_reasons_and_links_to_offers_side_by_side(client):
    html = rank_page(client)
    assert "Begrunnelse" in html and "spørsmål er åpne" in html
    chooser = re.search(r'<form method="post" action="/compare".*?</form>', html, re.S).group(0)
    boxes = re.findall(
        r'<input type="checkbox" name="compare" value="([^"]+)" id="([^"]+)"', chooser
    )
    assert len(boxes) == len(list(OFFERS_DIR.glob("*.yaml")))
    for _, box_id in boxes:  # every checkbox has its label
        assert f'<label for="{box_id}">' in chooser
    assert "<legend>" in chooser


def test_compare_page_shows_two_to_four_offers_side_by_side(client):
    html = rank_page(client)
    pairs = hidden_values(html, "/compare")
    chosen = [GASEID, "O-levanger-ordinary-rental", "O-verdal-reinsholm"]
    form = as_form(pairs + [("compare", offer_id) for offer_id in chosen])
    response = client.post("/compare", data=form)
    assert response.status_code == 200, response.text[:2000]
    page = response.text
    table = re.search(r'<table class="grid compare">.*?</table>', page, re.S).group(0)
    headers = re.findall(r'<th scope="col">([^<]+)</th>', table)
    assert len(headers) == 1 + len(chosen)
    assert "<caption>" in table and 'scope="row"' in table and 'scope="colgroup"' in table
    assert "Uegnet" in table  # the verdict row, in words
    assert "Åpent spørsmål" in table or "Ikke aktuelt" in table
    title = shared_engine().ruleset.rule(UNSUPERVISED).spec.title.get("nb")
    assert html_escape(title) in table  # the critical finding has its row
    # The selection stays ticked, and the resident's values travel on.
    for offer_id in chosen:
        assert f'value="{offer_id}" id=' in page and "checked" in page
    assert dict(hidden_values(page, "/compare"))["resident.age"] == "34"


@pytest.mark.parametrize("count", [1, 5])
def test_compare_page_refuses_fewer_than_two_or_more_than_four(client, count):
    html = rank_page(client)
    offers = sorted(f"O-{p.stem}" for p in OFFERS_DIR.glob("*.yaml"))
    ids = re.findall(r'name="compare" value="([^"]+)"', html)
    form = as_form(hidden_values(html, "/compare") + [("compare", i) for i in ids[:count]])
    response = client.post("/compare", data=form)
    assert response.status_code == 422
    assert 'class="error-summary"' in response.text
    assert 'href="#f-compare"' in response.text and 'id="f-compare"' in response.text
    assert "<table" not in response.text
    assert offers  # the register is the shipped offers


def test_compare_page_needs_the_csrf_token(client):
    rank_page(client)
    form = {"case_ref": "R-1", "compare": [GASEID, "O-verdal-reinsholm"]}
    assert client.post("/compare", data=form).status_code == 403
