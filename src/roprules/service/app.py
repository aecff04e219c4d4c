"""The HTTP application: `create_app(engine, ...)`.

Endpoints under /v1 assess placements, offers and residents, rank offers,
compare residents, screen a matrix and describe the rule base and the contract;
/cds-services speaks CDS Hooks 2.0; /healthz and /readyz are for the platform.
Bodies are read by the service itself (the Gate middleware has already
limited their size) and profiles are validated by the engine's loaders, so
every problem is reported with its field path in one problem+json response.
Nothing from a request is stored.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import functools
import hashlib
import inspect
import json
import re
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, Response

from roprules import EngineError
from roprules.api import COMPARE_MAX, COMPARE_MIN, Engine
from roprules.contract.assessment import (
    SCHEMA_VERSION,
    Assessment,
    Compare,
    Matrix,
    Ranking,
    RulesetRef,
    Verdict,
)
from roprules.contract.documents import InputError
from roprules.contract.intake import load_offer, load_resident, profile_files
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.contract.schemas import SCHEMA_MODELS, json_schema
from roprules.report.ranking import ranked
from roprules.service import cds
from roprules.service.catalogue import (
    fields_view,
    parameters_view,
    rule_detail,
    rule_summary,
    ruleset_ref,
    version_view,
)
from roprules.service.errors import (
    PROBLEM_JSON,
    Problem,
    ProblemError,
    entry,
    input_error_entries,
    problem_response,
    validation_entries,
)
from roprules.service.middleware import AccessLogAndHeaders, Gate, lang_of_scope

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 10.0
MAX_MATRIX_CELLS = 10_000
MAX_LIST = 1_000

Lang = Literal["nb", "en"]

# --- Request bodies (documentation and envelope checks) -----------------------


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = Field(
        None, description="assessment date YYYY-MM-DD (default: today where the service runs)"
    )


class PlacementRequest(_Envelope):
    """A resident and an offer: the offer given inline or as an id from the register."""

    resident: ResidentProfile
    offer: OfferProfile | None = None
    offer_id: str | None = Field(None, description="an offer id from the register (--offers)")


class OfferRequest(_Envelope):
    offer: OfferProfile | None = None
    offer_id: str | None = None


class ResidentRequest(_Envelope):
    resident: ResidentProfile


class RankRequest(_Envelope):
    """One resident against offers given inline, by id, or (neither) the whole register."""

    resident: ResidentProfile
    offers: list[OfferProfile] | None = None
    offer_ids: list[str] | None = None


class CompareRequest(_Envelope):
    """Two to four offers side by side for one resident: inline, or by id from the register."""

    resident: ResidentProfile
    offers: list[OfferProfile] | None = Field(None, min_length=COMPARE_MIN, max_length=COMPARE_MAX)
    offer_ids: list[str] | None = Field(None, min_length=COMPARE_MIN, max_length=COMPARE_MAX)


class ResidentsForOfferRequest(_Envelope):
    """Deprecated body of /v1/compare: several residents against one offer (use /v1/matrix)."""

    residents: list[ResidentProfile] = Field(min_length=1)
    offer: OfferProfile | None = None
    offer_id: str | None = None


class MatrixRequest(_Envelope):
    residents: list[ResidentProfile] = Field(min_length=1)
    offers: list[OfferProfile] | None = None
    offer_ids: list[str] | None = None


REQUEST_MODELS: list[type[BaseModel]] = [
    PlacementRequest,
    OfferRequest,
    ResidentRequest,
    RankRequest,
    CompareRequest,
    ResidentsForOfferRequest,
    MatrixRequest,
    cds.CdsRequest,
    Problem,
]


# --- Outputs that only the service produces -------------------------------------


class ComparedResident(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rank: int
    resident_id: str
    verdict: Verdict
    findings_by_severity: dict[str, int]
    missing: int
    assessment: Assessment


class Comparison(BaseModel):
    """Residents for one offer, best fit first: the deprecated answer of /v1/compare to
    a body with `residents` (use /v1/matrix); `deprecation` says so."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    offer_id: str
    offer_name: str | None = None
    ranking: list[ComparedResident]
    ruleset: RulesetRef
    schema_version: str = SCHEMA_VERSION
    deprecation: str | None = None


DEPRECATED_COMPARE = {
    "nb": "Denne formen av /v1/compare (residents og ett tilbud) er foreldet og blir fjernet. "
    "Bruk /v1/matrix for flere beboere mot tilbud; /v1/compare tar nå resident og 2–4 offers.",
    "en": "This form of /v1/compare (residents and one offer) is deprecated and will be "
    "removed. Use /v1/matrix for several residents against offers; /v1/compare now takes "
    "resident and 2-4 offers.",
}
DEPRECATION_HEADERS = {"Deprecation": "true", "Link": '</v1/matrix>; rel="successor-version"'}


class Health(BaseModel):
    status: str


class OfferRegister:
    """Offer profiles read once from a directory, by id."""

    def __init__(self, offers: Sequence[OfferProfile] = ()):
        self.offers: dict[str, OfferProfile] = {}
        problems = []
        for offer in offers:
            if offer.id in self.offers:
                problems.append(f"offer id {offer.id!r} appears twice in the register")
            self.offers[offer.id] = offer
        if problems:
            raise InputError(problems)

    @classmethod
    def from_dir(cls, directory: str | Path) -> OfferRegister:
        path = Path(directory)
        if not path.is_dir():
            raise InputError(f"{path}: not a directory of offer profiles")
        files = profile_files(path)
        if not files:
            raise InputError(f"{path}: no offer profiles (*.yaml, *.yml, *.json) in directory")
        offers, problems = [], []
        for file in files:
            try:
                offers.append(load_offer(file))
            except InputError as exc:
                problems.extend(exc.messages)
        if problems:
            raise InputError(problems)
        return cls(offers)


# --- Helpers --------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _accepts(method: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Call:
    """What one request needs: its language, its errors, and the engine's options."""

    def __init__(self, service: Service, request: Request, lang: str):
        self.service = service
        self.request = request
        self.lang = lang
        self.errors: list[dict[str, str]] = []
        asked = request.query_params.get("lang")
        if asked is not None and asked not in ("nb", "en"):
            self.error(
                "lang",
                "not_allowed",
                "ugyldig verdi; tillatt: nb, en",
                "not allowed; expected nb, en",
            )

    def error(self, field: str, code: str, nb: str, en: str) -> None:
        self.errors.append(entry(field, code, nb, en, self.lang))

    def fail_if_errors(self) -> None:
        if self.errors:
            raise ProblemError("invalid-input", self.errors)

    async def body(self, allowed: set[str]) -> dict[str, Any]:
        content_type = self.request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise ProblemError(
                "unsupported-media-type",
                [
                    entry(
                        "Content-Type",
                        "wrong_type",
                        "Send JSON (Content-Type: application/json).",
                        "Send JSON (Content-Type: application/json).",
                        self.lang,
                    )
                ],
            )
        raw = await self.request.body()
        try:
            data = json.loads(
                raw, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicate_keys
            )
        except _DuplicateKey as exc:
            raise ProblemError(
                "bad-request",
                [
                    entry(
                        "(body)",
                        "syntax",
                        f"Nøkkelen {exc.key!r} står to ganger i samme objekt.",
                        f"The key {exc.key!r} appears twice in one object.",
                        self.lang,
                    )
                ],
            ) from None
        except (ValueError, RecursionError) as exc:
            where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
            raise ProblemError(
                "bad-request",
                [
                    entry(
                        "(body)",
                        "syntax",
                        f"Innholdet er ikke gyldig JSON{where}.",
                        f"The body is not valid JSON{where}.",
                        self.lang,
                    )
                ],
            ) from None
        if not isinstance(data, dict):
            self.error(
                "(body)",
                "wrong_type",
                "Forventet et JSON-objekt.",
                "Expected a JSON object.",
            )
            self.fail_if_errors()
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint_nb = f" (mente du {close[0]}?)" if close else ""
                hint_en = f" (did you mean {close[0]}?)" if close else ""
                self.error(
                    _short(key),
                    "unknown_key",
                    f"ukjent felt{hint_nb}; tillatt: {', '.join(sorted(allowed))}",
                    f"unknown field{hint_en}; allowed: {', '.join(sorted(allowed))}",
                )
        return data

    def as_of(self, data: dict[str, Any]) -> date | None:
        value = data.get("as_of")
        if value is None:
            value = self.request.query_params.get("as_of")
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            self.error("as_of", "bad_date", "forventet en dato ÅÅÅÅ-MM-DD", "expected YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.error("as_of", "bad_date", "ugyldig dato", "not a valid date")
            return None

    def profile(self, kind: str, data: Any, location: str) -> Any:
        loader = load_resident if kind == "resident" else load_offer
        if not isinstance(data, dict):
            self.error(
                location,
                "wrong_type" if data is not None else "missing",
                "forventet et objekt med profilens felt"
                if data is not None
                else "mangler: profilen må være med",
                "expected an object with the profile's fields"
                if data is not None
                else "missing: the profile is required",
            )
            return None
        try:
            if self.service.loader_lang:
                return loader(data, lang=self.lang)  # type: ignore[call-arg]
            return loader(data)
        except InputError as exc:
            self.errors.extend(input_error_entries(exc, location, kind))
            return None

    def profiles(self, kind: str, data: Any, location: str) -> list[Any]:
        if not isinstance(data, list) or not data:
            self.error(
                location,
                "wrong_type" if data is not None else "missing",
                "forventet en ikke-tom liste med profiler",
                "expected a non-empty list of profiles",
            )
            return []
        if len(data) > MAX_LIST:
            self.error(
                location,
                "too_large",
                f"høyst {MAX_LIST} profiler per forespørsel",
                f"at most {MAX_LIST} profiles per request",
            )
            return []
        return [self.profile(kind, item, f"{location}[{i}]") for i, item in enumerate(data)]

    def offer_by_id(self, offer_id: Any, location: str) -> OfferProfile | None:
        register = self.service.register
        if not isinstance(offer_id, str):
            self.error(location, "wrong_type", "forventet en tekst", "expected a string")
            return None
        if offer_id not in register.offers:
            close = difflib.get_close_matches(offer_id, list(register.offers), n=1)
            hint_nb = f" (mente du {close[0]}?)" if close else ""
            hint_en = f" (did you mean {close[0]}?)" if close else ""
            self.error(
                location,
                "bad_id",
                f"finnes ikke i tilbudsregisteret{hint_nb}",
                f"not in the offer register{hint_en}",
            )
            return None
        return register.offers[offer_id]

    def one_offer(self, data: dict[str, Any], inline: str, by_id: str) -> OfferProfile | None:
        if data.get(inline) is not None and data.get(by_id) is not None:
            self.error(
                by_id,
                "not_allowed",
                f"gi enten {inline} eller {by_id}, ikke begge",
                f"give either {inline} or {by_id}, not both",
            )
            return None
        if data.get(by_id) is not None:
            return self.offer_by_id(data[by_id], by_id)
        if data.get(inline) is None:
            self.error(
                inline,
                "missing",
                f"mangler: gi {inline} eller {by_id}",
                f"missing: give {inline} or {by_id}",
            )
            return None
        return self.profile("offer", data[inline], inline)

    def many_offers(self, data: dict[str, Any]) -> list[Any]:
        if data.get("offers") is not None and data.get("offer_ids") is not None:
            self.error(
                "offer_ids",
                "not_allowed",
                "gi enten offers eller offer_ids, ikke begge",
                "give either offers or offer_ids, not both",
            )
            return []
        if data.get("offers") is not None:
            return self.profiles("offer", data["offers"], "offers")
        ids = data.get("offer_ids")
        if ids is None:
            if not self.service.register.offers:
                self.error(
                    "offers",
                    "missing",
                    "mangler: gi offers eller offer_ids (tjenesten har ikke noe tilbudsregister)",
                    "missing: give offers or offer_ids (the service has no offer register)",
                )
            return list(self.service.register.offers.values())
        if not isinstance(ids, list) or not ids:
            self.error(
                "offer_ids",
                "wrong_type",
                "forventet en ikke-tom liste",
                "expected a non-empty list",
            )
            return []
        return [self.offer_by_id(item, f"offer_ids[{i}]") for i, item in enumerate(ids)]

    def detail(self, method: Callable[..., Any]) -> dict[str, Any]:
        """`?detail=full|summary` for rank and compare (full by default)."""
        asked = self.request.query_params.get("detail")
        if asked is None:
            return {}
        if asked not in ("full", "summary"):
            self.error(
                "detail",
                "not_allowed",
                "ugyldig verdi; tillatt: full, summary",
                "not allowed; expected full, summary",
            )
            return {}
        return {"detail": asked} if _accepts(method, "detail") else {}

    def options(self, method: Callable[..., Any], as_of: date | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if _accepts(method, "lang"):
            kwargs["lang"] = self.lang
        if as_of is not None:
            if _accepts(method, "as_of"):
                kwargs["as_of"] = as_of
            else:
                self.error(
                    "as_of",
                    "not_allowed",
                    "denne versjonen av regelmotoren kan ikke vurdere per en annen dato",
                    "this version of the engine cannot assess as of another date",
                )
        return kwargs


def _short(text: str) -> str:
    cleaned = "".join(c if c.isprintable() else "?" for c in str(text))
    return cleaned[:60]


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        self.key = _short(key)
        super().__init__(key)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (the last would silently win)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


class Service:
    """The state one app holds: the engine, the offer register and the limits."""

    def __init__(self, engine: Engine, register: OfferRegister, timeout: float):
        self.engine = engine
        self.register = register
        self.timeout = timeout
        self.loader_lang = _accepts(load_resident, "lang")
        self._lock = threading.Lock()
        self._in_threads = 0  # engine calls running in worker threads (may outlive a timeout)

    async def run(self, function: Callable[[], Any], lang: str, *, single: bool = False) -> Any:
        """Run an engine call.

        One assessment (`single`) runs on the event loop: it is bounded by the
        body limit and takes about a millisecond, and a thread hand-off would
        cost half of that again. Calls over lists (rank, compare, matrix) run
        in a worker thread under the per-request time limit, and so does a
        single assessment while any such call is still running (it would wait
        for the engine's lock, and must not hold up the event loop meanwhile).
        """
        if single and not self._in_threads:
            return function()

        def tracked() -> Any:
            try:
                return function()
            finally:
                with self._lock:
                    self._in_threads -= 1

        with self._lock:
            self._in_threads += 1
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                return await loop.run_in_executor(None, tracked)
        except TimeoutError:
            raise ProblemError(
                "timeout",
                [
                    entry(
                        "(request)",
                        "timeout",
                        f"Vurderingen tok mer enn {self.timeout:g} sekunder.",
                        f"The assessment took more than {self.timeout:g} seconds.",
                        lang,
                    )
                ],
            ) from None


# --- The application ----------------------------------------------------------------


def _lang(request: Request) -> str:
    return lang_of_scope(request.scope)


LangQuery = Query(
    None,
    description="language of texts: nb (default) or en; else Accept-Language",
)
LANG_PARAMETER = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "language of texts: nb (default) or en; else Accept-Language",
    "schema": {"type": "string", "enum": ["nb", "en"]},
}
AS_OF_PARAMETER = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "assessment date YYYY-MM-DD (or `as_of` in the body)",
    "schema": {"type": "string", "format": "date"},
}
REMEDIES_PARAMETER = {
    "name": "remedies",
    "in": "query",
    "required": False,
    "description": "reserved for a later version; ignored",
    "schema": {"type": "string"},
}

DETAIL_PARAMETER = {
    "name": "detail",
    "in": "query",
    "required": False,
    "description": "full (default): every nested assessment; summary: verdicts, reasons, "
    "counts and rule ids, without the nested assessments",
    "schema": {"type": "string", "enum": ["full", "summary"]},
}

PROBLEM_SCHEMA = {"schema": {"$ref": "#/components/schemas/Problem"}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_JSON: PROBLEM_SCHEMA}}
    for status, description in (
        (400, "the body is not JSON"),
        (401, "missing or invalid bearer token"),
        (413, "the body is larger than the limit"),
        (415, "the body is not JSON"),
        (422, "invalid input, one entry per problem"),
        (503, "the assessment took longer than the time limit"),
    )
}

PROBLEM_422: dict[int | str, dict[str, Any]] = {422: PROBLEM_RESPONSES[422]}


def _docs_html() -> tuple[str, str]:
    """The docs page and its Content-Security-Policy (inline script allowed by hash)."""
    html = get_swagger_ui_html(openapi_url="/openapi.json", title="roprules API").body.decode()
    hashes = []
    for script in re.findall(r"<script>(.*?)</script>", html, flags=re.S):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    csp = (
        "default-src 'none'; "
        f"script-src https://cdn.jsdelivr.net {' '.join(hashes)}; "
        "style-src https://cdn.jsdelivr.net; img-src https://fastapi.tiangolo.com data:; "
        "connect-src 'self'; frame-ancestors 'none'"
    )
    return html, csp


def create_app(
    engine: Engine,
    *,
    offers_dir: str | Path | None = None,
    offers: Sequence[OfferProfile] = (),
    token_digests: tuple[bytes, ...] = (),
    max_body: int = DEFAULT_MAX_BODY,
    timeout: float = DEFAULT_TIMEOUT,
    cors_origins: Sequence[str] = (),
) -> FastAPI:
    """The roprules HTTP service over a loaded Engine.

    `offers_dir` (or `offers`) is the offer register for `offer_id`/`offer_ids`;
    `token_digests` (SHA-256 of bearer tokens) turns authentication on.
    Raises InputError if the register cannot be read.
    """
    register = OfferRegister.from_dir(offers_dir) if offers_dir else OfferRegister(offers)
    service = Service(engine, register, timeout)
    docs_html, docs_csp = _docs_html()
    middleware = [Middleware(AccessLogAndHeaders, docs_csp=docs_csp)]
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept-Language"],
            )
        )
    middleware.append(Middleware(Gate, max_body=max_body, token_digests=token_digests))
    app = FastAPI(
        title="roprules",
        version=version_view(engine)["package"]["version"],
        description=(
            "Decision support for housing people with co-occurring substance-use and "
            "mental disorders, encoded from SINTEF 2020. Every JSON output carries "
            f"`schema_version` ({SCHEMA_VERSION}); errors are RFC 9457 problem+json."
        ),
        docs_url=None,
        redoc_url=None,
        middleware=middleware,
    )
    app.state.service = service

    # --- errors ---
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return problem_response(
            exc.kind, _lang(request), exc.errors, detail=exc.detail, headers=exc.headers
        )

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        return problem_response("invalid-input", _lang(request), input_error_entries(exc, "", ""))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        lang = _lang(request)
        return problem_response("invalid-input", lang, validation_entries(exc, lang))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        lang = _lang(request)
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "bad-request")
        return problem_response(kind, lang, [], headers=getattr(exc, "headers", None))

    @app.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError) -> Response:
        lang = _lang(request)
        return problem_response(
            "engine-failed",
            lang,
            [entry("(engine)", "engine_failed", "Regelmotoren feilet.", "Engine failed.", lang)],
        )

    # --- docs and OpenAPI ---
    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_html)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema(
            [(model, "validation") for model in REQUEST_MODELS],
            ref_template="#/components/schemas/{model}",
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in defs.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    def body_doc(
        model: type[BaseModel],
        *,
        remedies: bool = False,
        detail: bool = False,
        alternatives: tuple[type[BaseModel], ...] = (),
    ) -> dict[str, Any]:
        # Query parameters are read by the service itself (no per-request dependency
        # solving); they are documented here.
        parameters = [LANG_PARAMETER, AS_OF_PARAMETER] + ([REMEDIES_PARAMETER] if remedies else [])
        if detail:
            parameters.append(DETAIL_PARAMETER)
        refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m in (model, *alternatives)]
        return {
            "parameters": parameters,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}
                },
            },
        }

    common = {"responses": PROBLEM_RESPONSES}

    # --- assessments ---
    @app.post(
        "/v1/check",
        response_model=Assessment,
        summary="Assess a proposed placement (resident and offer)",
        openapi_extra=body_doc(PlacementRequest, remedies=True),
        tags=["assess"],
        **common,
    )
    async def check(request: Request) -> Response:
        call = _Call(service, request, _lang(request))
        data = await call.body({"resident", "offer", "offer_id", "as_of"})
        when = call.as_of(data)
        resident = call.profile("resident", data.get("resident"), "resident")
        offer = call.one_offer(data, "offer", "offer_id")
        options = call.options(engine.check, when)
        call.fail_if_errors()
        result = await service.run(
            lambda: engine.check(resident, offer, **options), call.lang, single=True
        )
        return _json(result)

    @app.post(
        "/v1/audit",
        response_model=Assessment,
        summary="Audit an offer on its own",
        openapi_extra=body_doc(OfferRequest),
        tags=["assess"],
        **common,
    )
    async def audit(request: Request) -> Response:
        call = _Call(service, request, _lang(request))
        data = await call.body({"offer", "offer_id", "as_of"})
        when = call.as_of(data)
        offer = call.one_offer(data, "offer", "offer_id")
        options = call.options(engine.audit, when)
        call.fail_if_errors()
        result = await service.run(lambda: engine.audit(offer, **options), call.lang, single=True)
        return _json(result)

    @app.post(
        "/v1/assess-resident",
        response_model=Assessment,
        summary="Check a resident profile on its own",
        openapi_extra=body_doc(ResidentRequest),
        tags=["assess"],
        **common,
    )
    async def assess_resident(request: Request) -> Response:
        call = _Call(service, request, _lang(request))
        data = await call.body({"resident", "as_of"})
        when = call.as_of(data)
        resident = call.profile("resident", data.get("resident"), "resident")
        options = call.options(engine.assess_resident, when)
        call.fail_if_errors()
        result = await service.run(
            lambda: engine.assess_resident(resident, **options), call.lang, single=True
        )
        return _json(result)

    @app.post(
        "/v1/rank",
        response_model=Ranking,
        summary="Rank offers for one resident, best first, each with a one-line reason",
        openapi_extra=body_doc(RankRequest, detail=True),
        tags=["assess"],
        **common,
    )
    async def rank(request: Request) -> Response:
        call = _Call(service, request, _lang(request))
        data = await call.body({"resident", "offers", "offer_ids", "as_of"})
        when = call.as_of(data)
        resident = call.profile("resident", data.get("resident"), "resident")
        places = call.many_offers(data)
        options = call.options(engine.rank, when)
        options.update(call.detail(engine.rank))
        call.fail_if_errors()
        result = await service.run(lambda: engine.rank(resident, places, **options), call.lang)
        return _json(result)

    @app.post(
        "/v1/compare",
        response_model=Compare | Comparison,
        summary="Compare 2 to 4 offers side by side for one resident",
        description=(
            "Body `{resident, offers}` (or `offer_ids`), 2 to 4 offers: one row per rule "
            "that fired or is open in at least one offer, one column per offer. The former "
            "body `{residents, offer}` (several residents for one offer) is deprecated: it is "
            "answered as before with the header `Deprecation: true` and a `deprecation` "
            "notice; use /v1/matrix instead."
        ),
        openapi_extra=body_doc(
            CompareRequest, detail=True, alternatives=(ResidentsForOfferRequest,)
        ),
        tags=["assess"],
        **common,
    )
    async def compare(request: Request) -> Response:
        call = _Call(service, request, _lang(request))
        new_keys, old_keys = {"resident", "offers", "offer_ids"}, {"residents", "offer", "offer_id"}
        data = await call.body(new_keys | old_keys | {"as_of"})
        if "residents" in data or ("resident" not in data and old_keys & set(data)):
            return await _residents_for_offer(call, data, new_keys)
        for key in sorted(old_keys & set(data)):
            call.error(
                key,
                "not_allowed",
                "hører til den foreldede formen (residents og ett tilbud); bruk offers",
                "belongs to the deprecated form (residents and one offer); use offers",
            )
        when = call.as_of(data)
        resident = call.profile("resident", data.get("resident"), "resident")
        if data.get("offers") is None and data.get("offer_ids") is None:
            call.error(
                "offers",
                "missing",
                f"mangler: gi {COMPARE_MIN}–{COMPARE_MAX} offers eller offer_ids",
                f"missing: give {COMPARE_MIN}-{COMPARE_MAX} offers or offer_ids",
            )
            places: list[Any] = []
        else:
            places = call.many_offers(data)
            given = data.get("offers") if data.get("offers") is not None else data.get("offer_ids")
            count = len(given) if isinstance(given, list) else 0
            if places and not COMPARE_MIN <= count <= COMPARE_MAX:
                field = "offers" if data.get("offers") is not None else "offer_ids"
                call.error(
                    field,
                    "wrong_count",
                    f"sammenligningen tar {COMPARE_MIN} til {COMPARE_MAX} tilbud; fikk {count}",
                    f"compare takes {COMPARE_MIN} to {COMPARE_MAX} offers; got {count}",
                )
        options = call.options(engine.compare, when)
        options.update(call.detail(engine.compare))
        call.fail_if_errors()
        result = await service.run(lambda: engine.compare(resident, places, **options), call.lang)
        return _json(result)

    async def _residents_for_offer(
        call: _Call, data: dict[str, Any], new_keys: set[str]
    ) -> Response:
        """The deprecated /v1/compare: several residents for one offer, best fit first."""
        for key in sorted(new_keys & set(data)):
            call.error(
                key,
                "not_allowed",
                "hører ikke til den foreldede formen (residents og ett tilbud)",
                "does not belong to the deprecated form (residents and one offer)",
            )
        when = call.as_of(data)
        people = call.profiles("resident", data.get("residents"), "residents")
        offer = call.one_offer(data, "offer", "offer_id")
        options = call.options(engine.check, when)
        call.fail_if_errors()

        def run() -> Comparison:
            assessments = [engine.check(person, offer, **options) for person in people]
            order = ranked(assessments, engine.ruleset.params, id_of=lambda a: a.resident_id or "")
            return _comparison(offer, order, DEPRECATED_COMPARE[call.lang])

        result = await service.run(run, call.lang)
        return Response(
            result.model_dump_json(), media_type="application/json", headers=DEPRECATION_HEADERS
        )

    @app.post(
        "/v1/matrix",
        response_model=Matrix,
        summary="Screen residents against offers: verdicts and rule ids, no texts",
        openapi_extra=body_doc(MatrixRequest),
        tags=["assess"],
        **common,
    )
    async def matrix(request: Request) -> Response:
        call = _Call(service, request, _lang(request))
        data = await call.body({"residents", "offers", "offer_ids", "as_of"})
        when = call.as_of(data)
        people = call.profiles("resident", data.get("residents"), "residents")
        places = call.many_offers(data)
        if len(people) * len(places) > MAX_MATRIX_CELLS:
            call.error(
                "residents",
                "too_large",
                f"høyst {MAX_MATRIX_CELLS} par (beboere × tilbud) per forespørsel",
                f"at most {MAX_MATRIX_CELLS} pairs (residents × offers) per request",
            )
        options = call.options(engine.matrix, when)
        call.fail_if_errors()
        result = await service.run(lambda: engine.matrix(people, places, **options), call.lang)
        return _json(result)

    # --- the rule base and the contract ---
    @app.get(
        "/v1/rules",
        summary="Every rule: id, scope, severity, theme, title",
        tags=["rules"],
        responses=PROBLEM_422,
    )
    async def rules(request: Request, lang: Lang | None = LangQuery) -> dict[str, Any]:
        language = _lang(request)
        return {
            "schema_version": SCHEMA_VERSION,
            "ruleset": ruleset_ref(engine.ruleset),
            "rules": [rule_summary(rule, language) for rule in engine.ruleset.rules],
        }

    @app.get(
        "/v1/rules/{rule_id}",
        summary="One rule: texts, condition, sources",
        tags=["rules"],
        responses={404: {"content": {PROBLEM_JSON: PROBLEM_SCHEMA}}, **PROBLEM_422},
    )
    async def rule(request: Request, rule_id: str, lang: Lang | None = LangQuery) -> dict[str, Any]:
        language = _lang(request)
        try:
            found = engine.ruleset.rule(rule_id)
        except KeyError:
            known = [r.id for r in engine.ruleset.rules]
            close = difflib.get_close_matches(rule_id, known, n=1)
            hint_nb = f" (mente du {close[0]}?)" if close else ""
            hint_en = f" (did you mean {close[0]}?)" if close else ""
            raise ProblemError(
                "not-found",
                [
                    entry(
                        "rule_id",
                        "bad_id",
                        f"ingen regel med denne id-en{hint_nb}",
                        f"no rule with this id{hint_en}",
                        language,
                    )
                ],
            ) from None
        return {"schema_version": SCHEMA_VERSION, **rule_detail(found, language)}

    @app.get(
        "/v1/parameters",
        summary="Parameters: effective value and rationale",
        tags=["rules"],
        responses=PROBLEM_422,
    )
    async def parameters(request: Request, lang: Lang | None = LangQuery) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "ruleset": ruleset_ref(engine.ruleset),
            "parameters": parameters_view(engine.ruleset, _lang(request)),
        }

    fields_cache = {"schema_version": SCHEMA_VERSION, "fields": fields_view()}

    @app.get(
        "/v1/fields",
        summary="Every contract field: type, values, labels, help and question (nb, en)",
        tags=["contract"],
    )
    async def fields() -> dict[str, Any]:
        return fields_cache

    schema_cache = {kind: json_schema(kind) for kind in SCHEMA_MODELS}

    @app.get(
        "/v1/schema/{kind}",
        summary="The JSON Schema of a profile or an output",
        tags=["contract"],
        responses={422: {"content": {PROBLEM_JSON: PROBLEM_SCHEMA}}},
    )
    async def schema(
        kind: Literal["resident", "offer", "assessment", "ranking", "matrix", "compare"],
    ) -> Any:
        return JSONResponse(schema_cache[kind])

    version_cache = version_view(engine)

    @app.get("/v1/version", summary="Package, ruleset and engine backend", tags=["service"])
    async def version() -> dict[str, Any]:
        return version_cache

    @app.get("/healthz", response_model=Health, tags=["service"])
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Health,
        tags=["service"],
        responses={503: {"content": {PROBLEM_JSON: PROBLEM_SCHEMA}}},
    )
    async def readyz(request: Request) -> Any:
        probe = {"id": "readyz-probe", "type": "ordinary"}
        try:
            await service.run(lambda: engine.audit(probe), "nb")
        except (EngineError, ProblemError):
            return problem_response("not-ready", _lang(request))
        return Health(status="ready")

    # --- CDS Hooks ---
    @app.get(
        "/cds-services", response_model=cds.Discovery, tags=["cds-hooks"], responses=PROBLEM_422
    )
    async def cds_discovery(request: Request, lang: Lang | None = LangQuery) -> Any:
        return JSONResponse(cds.discovery(_lang(request)))

    @app.post(
        "/cds-services/{service_id}",
        response_model=cds.CdsResponse,
        summary="CDS Hooks: cards for a placement check",
        openapi_extra=body_doc(cds.CdsRequest),
        tags=["cds-hooks"],
        responses={**PROBLEM_RESPONSES, 404: {"content": {PROBLEM_JSON: PROBLEM_SCHEMA}}},
    )
    async def cds_call(request: Request, service_id: str, lang: Lang | None = LangQuery) -> Any:
        call = _Call(service, request, _lang(request))
        if service_id != cds.SERVICE_ID:
            raise ProblemError(
                "not-found",
                [
                    entry(
                        "service_id",
                        "bad_id",
                        f"ukjent tjeneste; tilgjengelig: {cds.SERVICE_ID}",
                        f"unknown service; available: {cds.SERVICE_ID}",
                        call.lang,
                    )
                ],
            )
        data = await call.body(
            {"hook", "hookInstance", "context", "fhirServer", "fhirAuthorization", "prefetch"}
        )
        if data.get("hook") != cds.HOOK:
            call.error("hook", "not_allowed", f"forventet {cds.HOOK}", f"expected {cds.HOOK}")
        if not isinstance(data.get("hookInstance"), str):
            call.error("hookInstance", "missing", "mangler", "missing")
        context = data.get("context")
        if not isinstance(context, dict):
            call.error("context", "missing", "mangler", "missing")
            call.fail_if_errors()
        resident, offer, when = _placement_context(call, context)
        options = call.options(engine.check, when)
        call.fail_if_errors()
        result = await service.run(
            lambda: engine.check(resident, offer, **options), call.lang, single=True
        )
        return JSONResponse({"cards": cds.cards(result, call.lang)})

    @app.post(
        "/cds-services/{service_id}/feedback",
        summary="CDS Hooks feedback: the team's decision, written as a decision record",
        tags=["cds-hooks"],
        responses={**PROBLEM_RESPONSES, 404: {"content": {PROBLEM_JSON: PROBLEM_SCHEMA}}},
    )
    async def cds_feedback(request: Request, service_id: str, lang: Lang | None = LangQuery) -> Any:
        """Accepted and overridden cards become the stances of one decision record.

        CDS Hooks feedback names cards only; the decision itself (the placement's
        context, the decision, the meeting date and the roles present) travels in
        `extension.roprules`, and the record is the one the web app writes.
        """
        call = _Call(service, request, _lang(request))
        store = getattr(request.app.state, "web_store", None)
        if service_id != cds.SERVICE_ID or store is None:
            raise ProblemError(
                "not-found",
                [
                    entry(
                        "service_id",
                        "bad_id",
                        "ingen slik tjeneste her",
                        "no such service here",
                        call.lang,
                    )
                ],
            )
        data = await call.body({"feedback", "extension"})
        decision = (data.get("extension") or {}).get("roprules")
        if not isinstance(decision, dict) or not isinstance(decision.get("context"), dict):
            call.error("extension.roprules.context", "missing", "mangler", "missing")
            call.fail_if_errors()
        resident, offer, when = _placement_context(call, decision["context"])
        options = call.options(engine.check, when)
        call.fail_if_errors()
        result = await service.run(
            lambda: engine.check(resident, offer, **options), call.lang, single=True
        )
        by_card = cds.cards_by_uuid(result)
        stances = []
        for index, item in enumerate(data.get("feedback") or []):
            rule_id = by_card.get(item.get("card")) if isinstance(item, dict) else None
            if rule_id is None:
                call.error(
                    f"feedback[{index}].card",
                    "bad_id",
                    "ukjent kort",
                    "unknown card",
                )
                continue
            if rule_id == "verdict":
                continue
            reason = cds.override_reason(item)
            stance = "override" if item.get("outcome") == "overridden" else "agree"
            stances.append({"rule_id": rule_id, "stance": stance, "reason": reason})
        call.fail_if_errors()
        record = {
            "decision": decision.get("decision"),
            "meeting_date": decision.get("meetingDate"),
            "roles_present": decision.get("rolesPresent") or [],
            "notes": decision.get("notes"),
            "stances": stances,
        }
        from roprules.store import RecordError

        profiles = {
            "resident": json.loads(resident.model_dump_json(exclude_none=True)),
            "offer": json.loads(offer.model_dump_json(exclude_none=True)),
        }
        try:
            store.record(result, record, actor="cds-hooks", profiles=profiles)
        except RecordError as exc:
            raise ProblemError(
                "invalid-input",
                [
                    entry(e["field"], e["code"], e["message"], e["message"], call.lang)
                    for e in exc.errors
                ],
            ) from None
        return JSONResponse({})

    return app


def _placement_context(call: _Call, context: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The resident, the offer (inline or by id) and the assessment date of a CDS context."""
    for key in context:
        if key not in ("resident", "offer", "offerId", "asOf"):
            call.error(f"context.{_short(key)}", "unknown_key", "ukjent felt", "unknown field")
    when = call.as_of({"as_of": context.get("asOf")})
    resident = call.profile("resident", context.get("resident"), "context.resident")
    offer = None
    if context.get("offerId") is not None and context.get("offer") is None:
        offer = call.offer_by_id(context["offerId"], "context.offerId")
    elif context.get("offerId") is not None:
        call.error(
            "context.offerId",
            "not_allowed",
            "gi enten offer eller offerId",
            "give either offer or offerId",
        )
    else:
        offer = call.profile("offer", context.get("offer"), "context.offer")
    return resident, offer, when


def _comparison(
    offer: OfferProfile,
    scored: list[tuple[Assessment, dict[str, int], float]],
    notice: str | None = None,
) -> Comparison:
    """Residents for one offer, in the order a ranking uses (verdict, score, id)."""
    return Comparison(
        offer_id=offer.id,
        offer_name=offer.name,
        ranking=[
            ComparedResident(
                rank=index,
                resident_id=a.resident_id or "",
                verdict=a.verdict,
                findings_by_severity=counts,
                missing=len(a.missing),
                assessment=a,
            )
            for index, (a, counts, _) in enumerate(scored, start=1)
        ],
        ruleset=scored[0][0].ruleset,
        deprecation=notice,
    )
