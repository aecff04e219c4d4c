"""JSON Schemas of the contract, generated from the models: profiles and outputs.

`roprules schema KIND` and `GET /v1/schema/KIND` print these. Each carries
`$schema` (JSON Schema 2020-12, the dialect pydantic generates) and an `$id`
that names the kind and the contract version (`SCHEMA_VERSION`), so a stored
document can be checked against the schema it was written under.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from roprules.contract.assessment import SCHEMA_VERSION, Assessment, Compare, Matrix, Ranking
from roprules.contract.profiles import OfferProfile, ResidentProfile

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "resident": ResidentProfile,
    "offer": OfferProfile,
    "assessment": Assessment,
    "ranking": Ranking,
    "matrix": Matrix,
    "compare": Compare,
}
OUTPUT_KINDS = ("assessment", "ranking", "matrix", "compare")


def schema_id(kind: str) -> str:
    """The `$id` of a kind's schema: a URN with the contract version."""
    return f"urn:roprules:schema:{kind}:{SCHEMA_VERSION}"


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a profile or output kind, with `$schema` and `$id` first.

    Output schemas describe documents as they are serialised (`mode="serialization"`).
    """
    model = SCHEMA_MODELS[kind]
    mode = "serialization" if kind in OUTPUT_KINDS else "validation"
    body = model.model_json_schema(mode=mode)
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id(kind), **body}
