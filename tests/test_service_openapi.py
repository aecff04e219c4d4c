"""Schemathesis against the OpenAPI document: no server error, responses as documented.

Bounded: a few examples per operation, in process (ASGI), no network.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import OFFERS_DIR, shared_engine
from roprules.service import create_app

app = create_app(shared_engine(), offers_dir=OFFERS_DIR)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate(checks=CHECKS)


def test_compare_documents_both_bodies_and_the_detail_parameter():
    document = app.openapi()
    compare = document["paths"]["/v1/compare"]["post"]
    body = compare["requestBody"]["content"]["application/json"]["schema"]
    refs = {item["$ref"].rsplit("/", 1)[-1] for item in body["oneOf"]}
    assert refs == {"CompareRequest", "ResidentsForOfferRequest"}
    schemas = document["components"]["schemas"]
    assert {"resident", "offers", "offer_ids"} <= set(schemas["CompareRequest"]["properties"])
    assert "deprecated" in compare["description"] and "/v1/matrix" in compare["description"]
    for path in ("/v1/rank", "/v1/compare"):
        names = {p["name"] for p in document["paths"][path]["post"]["parameters"]}
        assert "detail" in names, path
