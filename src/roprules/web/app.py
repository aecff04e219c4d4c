"""Wiring the web app into the service: sessions, sign-in, error pages, static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from roprules.service.middleware import is_api_path
from roprules.web import pages
from roprules.web.auth import LoginRequired, WebAuth, current_user
from roprules.web.texts import ui

SESSION_HOURS = 8
STATIC = Path(__file__).parent / "static"


def attach(
    app: FastAPI,
    engine: Any,
    store: Any,
    *,
    auth: WebAuth,
    session_secret: str,
    secure_cookies: bool,
) -> None:
    app.state.web_engine = engine
    app.state.web_store = store
    app.state.web_auth = auth
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie="roprules_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(pages.router)
    app.include_router(_login_router())

    api_errors = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return _error_page(request, 401, "forbidden")

    @app.exception_handler(StarletteHTTPException)
    async def _errors(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api_path(request.url.path) and api_errors is not None:
            return await api_errors(request, exc)  # problem+json for the API
        key = {403: "forbidden", 404: "not_found"}.get(exc.status_code, "forbidden")
        if exc.status_code == 403 and exc.detail == "csrf":
            key = "csrf_failed"
        return _error_page(request, exc.status_code, key)


def _error_page(request: Request, status: int, key: str) -> HTMLResponse:
    return pages.page(request, "error.html.j2", status=status, message_key=key)


def _login_router() -> Any:
    from fastapi import APIRouter

    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        if request.app.state.web_auth.mode != "accounts":
            return RedirectResponse("/", status_code=303)
        return pages.page(request, "login.html.j2", failed=False)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        if request.app.state.web_auth.mode != "accounts":
            return RedirectResponse("/", status_code=303)
        form, _ = await pages.form_data(request)
        username = str(form.get("username") or "")[:64]
        role = request.app.state.web_store.users.verify(username, str(form.get("password") or ""))
        if role is None:
            return pages.page(request, "login.html.j2", status=401, failed=True)
        lang = request.session.get("lang")
        request.session.clear()  # a new session on sign-in (no fixation)
        request.session.update({"user": username, "role": role})
        if lang:
            request.session["lang"] = lang
        return RedirectResponse("/", status_code=303)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await pages.form_data(request)
        request.session.clear()
        return RedirectResponse("/login" if current_user(request) is None else "/", status_code=303)

    return router


__all__ = ["attach", "ui"]
