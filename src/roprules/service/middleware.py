"""ASGI middleware: the access log, security headers, bearer tokens, the body limit.

Written as plain ASGI classes (no BaseHTTPMiddleware): they cost microseconds
per request. The access log records method, path, status and duration only:
never a body, a query string (which may hold values) or a header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from roprules.service.auth import bearer_token, token_matches
from roprules.service.errors import entry, problem_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("roprules.access")
error_log = logging.getLogger("roprules.service")

DOCS_PATHS = frozenset({"/docs", "/redoc"})
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The web app's pages: its own stylesheet and forms, nothing else (no scripts at all).
WEB_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Paths of the HTTP API (bearer tokens); every other path belongs to the web app.
API_PREFIXES = ("/v1/", "/v1", "/cds-services", "/openapi.json", "/docs", "/redoc")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in OPEN_PATHS


def csp_for(path: str, docs_csp: bytes) -> bytes:
    if path in DOCS_PATHS:
        return docs_csp
    return (API_CSP if is_api_path(path) else WEB_CSP).encode("latin-1")


def lang_of_scope(scope: Scope) -> str:
    """nb or en: the `lang` query parameter, else Accept-Language, else nb."""
    query = scope.get("query_string", b"")
    if b"lang=" in query:
        for key, value in parse_qsl(query.decode("latin-1")):
            if key == "lang" and value in ("nb", "en"):
                return value
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return accept_language(value.decode("latin-1"))
    return "nb"


def accept_language(header: str) -> str:
    """The preferred of nb/en in an Accept-Language header (no, nn count as nb)."""
    best, best_q = "nb", -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.split("-", 1)[0]
        lang = "en" if primary == "en" else "nb" if primary in ("nb", "no", "nn") else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


def _printable(path: str) -> str:
    cleaned = "".join(c if c.isprintable() and c != " " else "?" for c in path)
    return cleaned[:200]


class AccessLogAndHeaders:
    """Outermost: logs one line per request and adds the security headers."""

    def __init__(self, app: ASGIApp, docs_csp: str = API_CSP):
        self.app = app
        self.docs_csp = docs_csp.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False
        csp = csp_for(scope["path"], self.docs_csp)

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", ()))
                if any(name.lower() == b"content-security-policy" for name, _ in headers):
                    csp_header: list[tuple[bytes, bytes]] = []  # the page set its own
                else:
                    csp_header = [(b"content-security-policy", csp)]
                headers += [
                    *csp_header,
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Logged by type only: an exception's message may quote a profile value.
            error_log.error(
                "unhandled %s in %s %s", type(exc).__name__, scope["method"], scope["path"][:200]
            )
            if not started:
                response = problem_response("internal-error", lang_of_scope(scope))
                await response(scope, receive, send_with_headers)
        finally:
            millis = (time.perf_counter() - start) * 1000
            access_log.info(
                "%s %s %d %.1fms", scope["method"], _printable(scope["path"]), status, millis
            )


class Gate:
    """Bearer tokens (when configured) and the request body limit.

    The body is read here, counted chunk by chunk whether or not a
    Content-Length was sent, and replayed to the application; more than
    `max_body` bytes is refused with 413 before the application sees any of it.
    """

    def __init__(self, app: ASGIApp, max_body: int, token_digests: tuple[bytes, ...] = ()):
        self.app = app
        self.max_body = max_body
        self.token_digests = token_digests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The web app's pages have their own sign-in (roprules.web.auth).
        path = scope["path"]
        needs_token = self.token_digests and is_api_path(path) and path not in OPEN_PATHS
        if needs_token and not self._authorized(scope):
            lang = lang_of_scope(scope)
            response = problem_response(
                "unauthorized",
                lang,
                [
                    entry(
                        "Authorization",
                        "unauthorized",
                        "Send en gyldig tilgangsnøkkel: Authorization: Bearer <nøkkel>.",
                        "Send a valid token: Authorization: Bearer <token>.",
                        lang,
                    )
                ],
                headers={"WWW-Authenticate": 'Bearer realm="roprules"'},
            )
            await response(scope, receive, send)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await self._too_large(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                token = bearer_token(value.decode("latin-1"))
                return token is not None and token_matches(token, self.token_digests)
        return False

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        lang = lang_of_scope(scope)
        limit = self.max_body
        response = problem_response(
            "too-large",
            lang,
            [
                entry(
                    "(body)",
                    "too_large",
                    f"Forespørselen er større enn grensen på {limit} byte.",
                    f"The request body is larger than the limit of {limit} bytes.",
                    lang,
                )
            ],
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
