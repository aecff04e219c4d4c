"""The HTTP service (issue 12): endpoints, problem+json, limits, tokens, CDS Hooks, logs."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient

from conftest import OFFERS_DIR, resident_file, shared_engine
from roprules.cli import main
from roprules.contract.assessment import SCHEMA_VERSION
from roprules.contract.schemas import json_schema
from roprules.service import create_app
from roprules.service.cds import _summary, md_escape
from roprules.service.errors import input_error_entries

TOKEN = "s3cret-token-for-tests"
REGISTER_OFFER = "O-aalesund-gaseid"


def _load(path: Path) -> dict[str, Any]:
    """A shipped profile as the JSON a client would send (dates as text)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


@pytest.fixture(scope="module")
def app():
    return create_app(shared_engine(), offers_dir=OFFERS_DIR)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


@pytest.fixture(scope="module")
def resident() -> dict[str, Any]:
    return _load(resident_file("r01"))


@pytest.fixture(scope="module")
def other_resident() -> dict[str, Any]:
    return _load(resident_file("r06"))


@pytest.fixture(scope="module")
def offer() -> dict[str, Any]:
    return _load(OFFERS_DIR / "aalesund-gaseid.yaml")


def _valid(kind: str, document: Any) -> None:
    jsonschema.validate(document, json_schema(kind), cls=jsonschema.Draft202012Validator)


def _problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:roprules:problem:")
    assert body["title"]
    assert body["schema_version"] == SCHEMA_VERSION
    for item in body["errors"]:
        assert set(item) == {"field", "code", "message"}
        assert item["message"]
    return body


# --- assessments ------------------------------------------------------------------


def test_check_inline_is_a_valid_versioned_assessment(client, resident, offer):
    response = client.post("/v1/check", json={"resident": resident, "offer": offer})
    assert response.status_code == 200
    body = response.json()
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["scope"] == "placement"
    assert body["verdict"] == "unsuitable"
    assert body["resident_id"] == resident["id"]
    _valid("assessment", body)
    assert response.headers["cache-control"] == "no-store"


def test_check_by_offer_id_equals_inline(client, resident, offer):
    inline = client.post("/v1/check", json={"resident": resident, "offer": offer}).json()
    by_id = client.post("/v1/check", json={"resident": resident, "offer_id": offer["id"]}).json()
    assert by_id["offer_id"] == offer["id"] == REGISTER_OFFER
    assert [f["rule_id"] for f in by_id["findings"]] == [f["rule_id"] for f in inline["findings"]]


def test_lang_query_and_accept_language(client, resident, offer):
    body = {"resident": resident, "offer": offer}
    nb = client.post("/v1/check", json=body).json()
    en = client.post("/v1/check?lang=en", json=body).json()
    header = client.post("/v1/check", json=body, headers={"Accept-Language": "en-GB,nb;q=0.5"})
    assert nb["lang"] == "nb" and en["lang"] == "en" and header.json()["lang"] == "en"
    assert nb["findings"][0]["title"] != en["findings"][0]["title"]


def test_audit_and_assess_resident(client, resident, offer):
    audit = client.post("/v1/audit", json={"offer": offer})
    assert audit.status_code == 200 and audit.json()["scope"] == "offer"
    _valid("assessment", audit.json())
    by_id = client.post("/v1/audit", json={"offer_id": REGISTER_OFFER})
    assert by_id.json()["offer_id"] == REGISTER_OFFER
    alone = client.post("/v1/assess-resident", json={"resident": resident})
    assert alone.status_code == 200 and alone.json()["scope"] == "resident"
    _valid("assessment", alone.json())


def test_rank_inline_by_ids_and_whole_register(client, resident, offer):
    inline = client.post("/v1/rank", json={"resident": resident, "offers": [offer]})
    assert inline.status_code == 200
    _valid("ranking", inline.json())
    ids = ["O-aalesund-kverve", REGISTER_OFFER]
    by_ids = client.post("/v1/rank", json={"resident": resident, "offer_ids": ids}).json()
    assert sorted(r["offer_id"] for r in by_ids["ranking"]) == sorted(ids)
    register = client.post("/v1/rank", json={"resident": resident}).json()
    assert len(register["ranking"]) == len(list(OFFERS_DIR.glob("*.yaml")))
    assert register["schema_version"] == SCHEMA_VERSION
    assert [r["rank"] for r in register["ranking"]] == list(range(1, len(register["ranking"]) + 1))


def test_compare_residents_for_one_offer_is_deprecated_but_answered(
    client, resident, other_resident
):
    response = client.post(
        "/v1/compare?lang=en",
        json={"residents": [resident, other_resident], "offer_id": "O-levanger-ordinary-rental"},
    )
    assert response.status_code == 200
    assert response.headers["Deprecation"] == "true"
    assert "/v1/matrix" in response.headers["Link"]
    body = response.json()
    assert "/v1/matrix" in body["deprecation"] and "deprecated" in body["deprecation"]
    assert body["offer_id"] == "O-levanger-ordinary-rental"
    assert {r["resident_id"] for r in body["ranking"]} == {resident["id"], other_resident["id"]}
    order = {"suitable": 0, "conditional": 1, "incomplete": 2, "unsuitable": 3}
    verdicts = [order[r["verdict"]] for r in body["ranking"]]
    assert verdicts == sorted(verdicts)
    assert body["schema_version"] == SCHEMA_VERSION
    mixed = client.post(
        "/v1/compare",
        json={"residents": [resident], "offer_id": REGISTER_OFFER, "offer_ids": [REGISTER_OFFER]},
    )
    assert _problem(mixed, 422)["errors"][0]["field"] == "offer_ids"


def test_compare_offers_side_by_side(client, other_resident, offer):
    ids = ["O-levanger-ordinary-rental", REGISTER_OFFER]
    response = client.post(
        "/v1/compare?lang=en", json={"resident": other_resident, "offer_ids": ids}
    )
    assert response.status_code == 200, response.text
    assert "Deprecation" not in response.headers
    body = response.json()
    _valid("compare", body)
    assert [o["offer_id"] for o in body["offers"]] == ids
    assert all(len(row["cells"]) == 2 for row in body["rows"])
    assert {o["verdict"] for o in body["offers"]} <= {"suitable", "conditional"}
    assert all(o["reason"] and o["assessment"] for o in body["offers"])
    inline = client.post(
        "/v1/compare?detail=summary",
        json={"resident": other_resident, "offers": [offer, {**offer, "id": "O-copy"}]},
    )
    assert inline.status_code == 200
    summary = inline.json()
    _valid("compare", summary)
    assert summary["detail"] == "summary"
    assert all(o["assessment"] is None for o in summary["offers"])


@pytest.mark.parametrize("count", [1, 5])
def test_compare_takes_two_to_four_offers(client, resident, count):
    ids = sorted(p.stem for p in OFFERS_DIR.glob("*.yaml"))
    register = [f"O-{name}" for name in ids]
    known = [i for i in register if i in {"O-aalesund-gaseid", "O-aalesund-kverve"}]
    request = {"resident": resident, "offer_ids": (known * 3)[:count]}
    body = _problem(client.post("/v1/compare?lang=en", json=request), 422)
    assert body["errors"][0]["field"] == "offer_ids"
    assert body["errors"][0]["code"] == "wrong_count"


def test_rank_summary_detail(client, resident):
    full = client.post("/v1/rank", json={"resident": resident})
    summary = client.post("/v1/rank?detail=summary", json={"resident": resident})
    assert summary.status_code == 200
    _valid("ranking", summary.json())
    assert len(summary.content) * 10 < len(full.content)
    assert summary.json()["detail"] == "summary"
    assert [e["offer_id"] for e in summary.json()["ranking"]] == [
        e["offer_id"] for e in full.json()["ranking"]
    ]
    bad = client.post("/v1/rank?detail=short", json={"resident": resident})
    assert _problem(bad, 422)["errors"][0]["field"] == "detail"


def test_matrix(client, resident, other_resident, offer):
    response = client.post(
        "/v1/matrix", json={"residents": [resident, other_resident], "offers": [offer]}
    )
    assert response.status_code == 200
    body = response.json()
    _valid("matrix", body)
    assert [row["resident_id"] for row in body["rows"]] == [resident["id"], other_resident["id"]]
    register = client.post("/v1/matrix", json={"residents": [resident]}).json()
    assert len(register["rows"][0]["ranking"]) == len(list(OFFERS_DIR.glob("*.yaml")))


def test_as_of_is_checked(client, resident, offer):
    bad = client.post("/v1/check", json={"resident": resident, "offer": offer, "as_of": "1.1.26"})
    body = _problem(bad, 422)
    assert body["errors"][0]["field"] == "as_of" and body["errors"][0]["code"] == "bad_date"
    given = client.post(
        "/v1/check", json={"resident": resident, "offer": offer, "as_of": "2026-11-30"}
    )
    # Accepted when the engine takes as_of; otherwise refused, never silently ignored.
    if given.status_code == 200:
        assert given.json().get("as_of", "2026-11-30") == "2026-11-30"
    else:
        assert _problem(given, 422)["errors"][0]["field"] == "as_of"


# --- the rule base and the contract --------------------------------------------------


def test_rules_and_one_rule(client):
    listing = client.get("/v1/rules?lang=en").json()
    assert listing["schema_version"] == SCHEMA_VERSION
    rules = listing["rules"]
    engine = shared_engine()
    assert listing["ruleset"]["sha256"] == engine.ruleset.sha256
    assert [r["id"] for r in rules] == [r.id for r in engine.ruleset.rules]
    first = rules[0]
    assert {"id", "scope", "kind", "severity", "theme", "title"} <= set(first)
    detail = client.get(f"/v1/rules/{first['id']}").json()
    assert detail["id"] == first["id"] and detail["schema_version"] == SCHEMA_VERSION
    assert detail["sources"] and detail["when"] and detail["fields"]
    missing = _problem(client.get("/v1/rules/supervision.high-violence-risk-unsupervise"), 404)
    assert "supervision.high-violence-risk-unsupervised" in missing["errors"][0]["message"]


def test_parameters(client):
    parameters = client.get("/v1/parameters?lang=en").json()["parameters"]
    engine = shared_engine()
    assert {p["name"] for p in parameters} == set(engine.ruleset.parameters)
    assert all(p["rationale"] and p["unit"] for p in parameters)


def test_fields_cover_the_contract_for_a_form(client):
    from roprules.contract.fields import FIELDS

    listing = client.get("/v1/fields").json()
    assert listing["schema_version"] == SCHEMA_VERSION
    fields = {f["path"]: f for f in listing["fields"]}
    assert set(fields) == set(FIELDS)
    age = fields["resident.age"]
    assert age["type"] == "int" and age["minimum"] == 16 and age["maximum"] == 110
    assert age["label"]["nb"] == "alder" and age["label"]["en"] == "age"
    assert age["question"]["nb"] and age["question"]["en"]
    risk = fields["resident.violence_risk"]
    assert [v["value"] for v in risk["values"]] == ["low", "moderate", "high"]
    assert all(v["label"]["nb"] and v["label"]["en"] for v in risk["values"])
    assert fields["offer.type"]["required"] and not fields["resident.age"]["required"]
    assert "help" in age


@pytest.mark.parametrize(
    "kind", ["resident", "offer", "assessment", "ranking", "matrix", "compare"]
)
def test_schema_endpoint(client, kind):
    schema = client.get(f"/v1/schema/{kind}").json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:roprules:schema:{kind}:{SCHEMA_VERSION}"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_endpoint_refuses_an_unknown_kind_as_problem_json(client):
    body = _problem(client.get("/v1/schema/profile?lang=en"), 422)
    assert body["errors"][0]["field"] == "kind"
    assert body["errors"][0]["code"] == "not_allowed"


def test_version_health_ready_openapi_docs(client):
    version = client.get("/v1/version").json()
    engine = shared_engine()
    assert version["package"]["name"] == "roprules"
    assert version["ruleset"]["sha256"] == engine.ruleset.sha256
    assert version["backend"]["name"]
    assert version["schema_version"] == SCHEMA_VERSION
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    openapi = client.get("/openapi.json").json()
    assert {"/v1/check", "/v1/rank", "/cds-services", "/v1/fields"} <= set(openapi["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "script-src" in docs.headers["content-security-policy"]


# --- errors --------------------------------------------------------------------------


def test_invalid_profiles_one_entry_per_problem_in_nb_and_en(client, resident):
    bad = {
        "resident": {**resident, "violense_risk": "high", "age": "old"},
        "offer": {"id": "O-x", "type": "castle"},
    }
    en = _problem(client.post("/v1/check?lang=en", json=bad), 422)
    fields = {e["field"]: e["code"] for e in en["errors"]}
    assert fields["resident.violense_risk"] == "unknown_key"
    assert fields["resident.age"] == "wrong_type"
    assert fields["offer.type"] == "not_allowed"
    assert en["title"] == "Invalid input in the request"
    assert any("violence_risk" in e["message"] for e in en["errors"])
    nb = _problem(client.post("/v1/check", json=bad), 422)
    assert nb["title"] == "Ugyldige opplysninger i forespørselen"
    assert len(nb["errors"]) == len(en["errors"]) == 3


def test_envelope_errors(client, resident):
    body = _problem(client.post("/v1/check?lang=en", json={"resident": resident, "ofer": {}}), 422)
    codes = {e["field"]: e["code"] for e in body["errors"]}
    assert codes["ofer"] == "unknown_key" and codes["offer"] == "missing"
    assert "did you mean offer" in body["errors"][0]["message"]
    unknown = _problem(
        client.post("/v1/check", json={"resident": resident, "offer_id": "O-x"}), 422
    )
    assert unknown["errors"][0]["code"] == "bad_id"
    items = _problem(client.post("/v1/rank", json={"resident": resident, "offers": [{}, 3]}), 422)
    assert {e["field"].split(".")[0] for e in items["errors"]} == {"offers[0]", "offers[1]"}


def test_not_json_wrong_type_and_media_type(client):
    syntax = _problem(
        client.post("/v1/check", content=b"{", headers={"content-type": "application/json"}), 400
    )
    assert syntax["errors"][0]["code"] == "syntax"
    nan = client.post(
        "/v1/audit",
        content=b'{"offer": {"id": "O", "type": "ordinary", "units": NaN}}',
        headers={"content-type": "application/json"},
    )
    _problem(nan, 400)
    twice = client.post(
        "/v1/assess-resident?lang=en",
        content=b'{"resident": {"id": "R-1", "age": 30, "age": 90}}',
        headers={"content-type": "application/json"},
    )
    assert "'age' appears twice" in _problem(twice, 400)["errors"][0]["message"]
    _problem(client.post("/v1/check", json=[1, 2]), 422)
    _problem(client.post("/v1/check", content=b"a=b", headers={"content-type": "text/plain"}), 415)


def test_fastapi_validation_is_problem_json_in_both_languages(client, offer):
    en = _problem(
        client.post("/v1/audit?lang=de", json={"offer": offer}, headers={"Accept-Language": "en"}),
        422,
    )
    assert en["errors"][0]["field"] == "lang" and en["title"] == "Invalid input in the request"
    nb = _problem(client.get("/v1/rules?lang=fr"), 422)
    assert nb["title"] == "Ugyldige opplysninger i forespørselen"
    _problem(client.get("/v1/nothing-here"), 404)
    _problem(client.delete("/v1/check"), 405)


def test_input_error_entries_read_structured_errors_when_present():
    structured = Exception("bad")
    structured.errors = [  # type: ignore[attr-defined]
        {"field": "resident.alder", "code": "unknown_key", "message": "ukjent felt (age?)"},
        type("E", (), {"field": "type", "code": "missing", "message": "mangler"})(),
    ]
    entries = input_error_entries(structured, "offers[1]", "offer")
    assert entries[1] == {"field": "offers[1].type", "code": "missing", "message": "mangler"}
    assert entries[0]["code"] == "unknown_key"

    legacy_error = Exception("legacy")  # an InputError before `errors` existed: messages only
    legacy_error.messages = [  # type: ignore[attr-defined]
        "resident: brukerplan.economy: input should be less than or equal to 5; got 9"
    ]
    (legacy,) = input_error_entries(legacy_error, "resident", "resident")
    assert legacy["field"] == "resident.brukerplan.economy"
    assert legacy["code"] == "out_of_range"


# --- limits and safety -------------------------------------------------------------------


def test_body_limit_with_length_and_streamed(resident):
    small = TestClient(create_app(shared_engine(), max_body=2048))
    big = json.dumps({"resident": {**resident, "id": "x" * 4000}}).encode()
    declared = small.post(
        "/v1/assess-resident?lang=en", content=big, headers={"content-type": "application/json"}
    )
    body = _problem(declared, 413)
    assert body["errors"][0]["code"] == "too_large"

    def chunks():
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    streamed = small.post(
        "/v1/assess-resident", content=chunks(), headers={"content-type": "application/json"}
    )
    _problem(streamed, 413)
    ok = small.post("/v1/assess-resident", json={"resident": {"id": "R-1"}})
    assert ok.status_code == 200


def test_default_body_limit_is_one_mebibyte(client):
    payload = b'{"resident": {"id": "' + b"x" * (1024 * 1024) + b'"}}'
    _problem(
        client.post(
            "/v1/assess-resident", content=payload, headers={"content-type": "application/json"}
        ),
        413,
    )


class _SlowEngine:
    """The shared engine, but every placement check takes half a second."""

    def __init__(self, engine):
        self._engine = engine

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def check(self, resident, offer, **options):
        time.sleep(0.5)
        return self._engine.check(resident, offer, **options)


def test_time_limit(resident, offer):
    request = {"residents": [resident], "offer": offer}
    with TestClient(create_app(_SlowEngine(shared_engine()), timeout=0.05)) as slow:
        body = _problem(slow.post("/v1/compare?lang=en", json=request), 503)
        assert body["errors"][0]["code"] == "timeout"
        # The timed-out call still holds the engine: a single check meanwhile waits in
        # a thread under the same limit instead of stalling the event loop.
        started = time.monotonic()
        single = slow.post("/v1/check", json={"resident": resident, "offer": offer})
        assert _problem(single, 503)["errors"][0]["code"] == "timeout"
        assert time.monotonic() - started < 0.4


def test_bearer_token_checked_against_hashes(resident):
    digest = hashlib.sha256(TOKEN.encode()).digest()
    other = hashlib.sha256(b"another").digest()
    guarded = TestClient(create_app(shared_engine(), token_digests=(other, digest)))
    request = {"resident": resident}
    missing = guarded.post("/v1/assess-resident", json=request)
    assert _problem(missing, 401)["errors"][0]["field"] == "Authorization"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = guarded.post(
        "/v1/assess-resident", json=request, headers={"Authorization": "Bearer nope"}
    )
    _problem(wrong, 401)
    hashed = guarded.post(
        "/v1/assess-resident", json=request, headers={"Authorization": f"Bearer {digest.hex()}"}
    )
    _problem(hashed, 401)  # the digest itself is not a token
    right = guarded.post(
        "/v1/assess-resident", json=request, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert right.status_code == 200
    assert guarded.get("/healthz").status_code == 200
    _problem(guarded.get("/openapi.json"), 401)


def test_token_file_format(tmp_path):
    from roprules.service.auth import TokenFileError, read_token_hashes, token_matches

    path = tmp_path / "tokens.sha256"
    path.write_text(f"# ops team\n{hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    digests = read_token_hashes(path)
    assert token_matches(TOKEN, digests) and not token_matches(TOKEN + "x", digests)
    path.write_text(TOKEN + "\n")
    with pytest.raises(TokenFileError, match="line 1"):
        read_token_hashes(path)


def test_refuses_to_start_unauthenticated_off_loopback(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in err and "--token-file" in err
    assert main(["serve", "--host", "::", "--port", "1"]) == 2


def test_bad_token_file_is_refused_before_listening(tmp_path, capsys):
    path = tmp_path / "tokens"
    path.write_text("not-a-digest\n")
    assert main(["serve", "--host", "0.0.0.0", "--token-file", str(path)]) == 2
    assert "SHA-256" in capsys.readouterr().err


def test_security_headers_and_cors_off_by_default(client):
    response = client.get("/v1/version", headers={"Origin": "https://evil.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "access-control-allow-origin" not in response.headers


def test_cors_allowlist():
    allowed = TestClient(create_app(shared_engine(), cors_origins=["https://sak.kommune.no"]))
    good = allowed.get("/v1/version", headers={"Origin": "https://sak.kommune.no"})
    assert good.headers["access-control-allow-origin"] == "https://sak.kommune.no"
    bad = allowed.get("/v1/version", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers


def test_access_log_has_no_profile_value_query_or_token(resident, caplog):
    digest = hashlib.sha256(TOKEN.encode()).digest()
    guarded = TestClient(create_app(shared_engine(), token_digests=(digest,)))
    marker = "R-Zebrafjell-4471"
    with caplog.at_level(logging.INFO, logger="roprules.access"):
        response = guarded.post(
            "/v1/assess-resident?lang=en&as_of=2026-01-02",
            json={"resident": {**resident, "id": marker}},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code in (200, 422)
    lines = [r.getMessage() for r in caplog.records if r.name == "roprules.access"]
    assert len(lines) == 1
    (line,) = lines
    assert line.startswith(f"POST /v1/assess-resident {response.status_code} ")
    assert line.endswith("ms")
    for secret in (marker, TOKEN, "2026-01-02", "lang", resident["id"]):
        assert secret not in line


# --- CDS Hooks -----------------------------------------------------------------------


def test_cds_discovery_shape(client):
    services = client.get("/cds-services").json()["services"]
    (service,) = services
    for key in ("hook", "description", "id"):
        assert isinstance(service[key], str) and service[key]
    assert service["hook"] == "roprules-placement-check"


def _cds_call(client, context: dict[str, Any], lang: str = "nb"):
    return client.post(
        f"/cds-services/roprules-placement-check?lang={lang}",
        json={
            "hook": "roprules-placement-check",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": context,
        },
    )


def test_cds_cards_have_the_specification_shape(client, resident, offer):
    response = _cds_call(client, {"resident": resident, "offer": offer})
    assert response.status_code == 200
    cards = response.json()["cards"]
    assessment = client.post("/v1/check", json={"resident": resident, "offer": offer}).json()
    # A superseded finding is shown inside the one that supersedes it, not as a card.
    shown = [f for f in assessment["findings"] if not f.get("superseded_by")]
    assert len(cards) == 1 + len(shown)
    for card in cards:
        assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert isinstance(card["source"]["label"], str) and card["source"]["label"]
        assert isinstance(card["detail"], str)
        assert len(card["uuid"]) == 36
        if "topic" in card["source"]:
            assert {"system", "code"} <= set(card["source"]["topic"])
    assert cards[0]["indicator"] == "critical"  # the verdict is unsuitable
    severities = {f["rule_id"]: f["severity"] for f in assessment["findings"]}
    mapping = {"critical": "critical", "major": "warning", "minor": "info", "info": "info"}
    for card, finding in zip(cards[1:], shown, strict=True):
        assert card["indicator"] == mapping[severities[finding["rule_id"]]]
        if finding["sources"][0].get("section"):
            assert card["source"]["topic"]["code"] == finding["sources"][0]["section"]
            assert "> " in card["detail"]
    assert len({c["uuid"] for c in cards}) == len(cards)


def test_cds_uuids_are_stable_and_offer_id_works(client, resident, offer):
    inline = _cds_call(client, {"resident": resident, "offer": offer}).json()["cards"]
    by_id = _cds_call(client, {"resident": resident, "offerId": REGISTER_OFFER}).json()["cards"]
    again = _cds_call(client, {"resident": resident, "offer": offer}, "en").json()["cards"]
    assert [c["uuid"] for c in inline] == [c["uuid"] for c in by_id] == [c["uuid"] for c in again]


def test_cds_bad_context_is_problem_json(client, resident):
    body = _problem(_cds_call(client, {"resident": {**resident, "alder": 3}}, "en"), 422)
    fields = {e["field"] for e in body["errors"]}
    assert "context.resident.alder" in fields and "context.offer" in fields
    _problem(client.post("/cds-services/other", json={}), 404)


def test_long_summaries_are_cut_below_140_characters():
    cut = _summary("ord " * 100)
    assert len(cut) < 140 and cut.endswith("…")
    assert _summary("  kort\n tittel ") == "kort tittel"


def test_markdown_escaping_of_profile_text():
    text = "<script>alert(1)</script> *bold* [link](http://x) `code`\n# heading"
    escaped = md_escape(text)
    assert "<script>" not in escaped and "\n" not in escaped
    for raw in ("*bold*", "[link]", "`code`", "](http"):
        assert raw not in escaped
    assert escaped.replace("\\", "") == " ".join(text.split())


# --- the CLI's JSON carries the same contract ---------------------------------------------


@pytest.mark.parametrize("kind", ["assessment", "ranking", "matrix", "compare"])
def test_cli_schema_command(capsys, kind):
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$id"] == f"urn:roprules:schema:{kind}:{SCHEMA_VERSION}"
    assert "schema_version" in schema["properties"]


def test_cli_json_outputs_are_valid_against_their_schemas(capsys):
    r01 = str(resident_file("r01"))
    gaseid = str(OFFERS_DIR / "aalesund-gaseid.yaml")
    assert main(["check", "--resident", r01, "--offer", gaseid, "--format", "json"]) == 0
    check = json.loads(capsys.readouterr().out)
    _valid("assessment", check)
    assert check["schema_version"] == SCHEMA_VERSION
    assert main(["rank", "--resident", r01, gaseid, "--format", "json"]) == 0
    _valid("ranking", json.loads(capsys.readouterr().out))
    assert main(["matrix", "--residents", r01, "--offers", gaseid, "--format", "json"]) == 0
    _valid("matrix", json.loads(capsys.readouterr().out))


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("roprules ") and shared_engine().ruleset.sha256 in out
    assert "engine " in out


class _BrokenEngine(_SlowEngine):
    def check(self, resident, offer, **options):
        raise RuntimeError(f"broken while reading {resident.id}")


def test_unexpected_errors_are_problem_json_and_logged_without_their_message(
    resident, offer, caplog
):
    broken = TestClient(create_app(_BrokenEngine(shared_engine())), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        response = broken.post("/v1/check", json={"resident": resident, "offer": offer})
    body = _problem(response, 500)
    assert body["title"] == "Intern feil i tjenesten"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and "POST /v1/check 500" in logged
    assert resident["id"] not in logged and resident["id"] not in response.text


def test_fields_pass_on_what_the_catalogue_adds(monkeypatch):
    from roprules.contract.messages import messages
    from roprules.service import catalogue

    real = messages()
    entry = dict(real.fields["resident.age"])
    entry["help"] = {"nb": "Alder i hele år.", "en": "Age in whole years."}
    entry["unit"] = "år"
    fields = {**real.fields, "resident.age": entry}
    monkeypatch.setattr(catalogue, "messages", lambda: type(real)(fields, real.terms))
    (age,) = [f for f in catalogue.fields_view() if f["path"] == "resident.age"]
    assert age["help"] == {"nb": "Alder i hele år.", "en": "Age in whole years."}
    assert age["unit"] == "år"


def test_worker_factory_reads_its_configuration_from_the_environment(monkeypatch, resident):
    from roprules.service.serve import CONFIG_ENV, app_from_env

    config = {"offers": str(OFFERS_DIR), "max_body": 4096, "timeout": 5.0, "cors": []}
    monkeypatch.setenv(CONFIG_ENV, json.dumps(config))
    worker = TestClient(app_from_env())
    response = worker.post("/v1/check", json={"resident": resident, "offer_id": REGISTER_OFFER})
    assert response.status_code == 200
    _problem(
        worker.post("/v1/check", content=b"x" * 5000, headers={"content-type": "application/json"}),
        413,
    )
