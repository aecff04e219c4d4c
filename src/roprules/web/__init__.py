"""The web app for allocation teams, at `/` of `roprules serve`.

`attach_web(app, engine, store, auth=WebAuth(...), session_secret=...)` adds the
pages, the sign-in, sessions and the static files to the service's FastAPI app.
Everything it shows comes from the public `Engine` API and the decision store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roprules.web.auth import WebAuth

if TYPE_CHECKING:
    from fastapi import FastAPI

    from roprules import Engine
    from roprules.store import DecisionStore

__all__ = ["WebAuth", "attach_web"]


def attach_web(
    app: FastAPI,
    engine: Engine,
    store: DecisionStore,
    *,
    auth: WebAuth,
    session_secret: str,
    secure_cookies: bool = False,
) -> None:
    from roprules.web.app import attach

    attach(
        app,
        engine,
        store,
        auth=auth,
        session_secret=session_secret,
        secure_cookies=secure_cookies,
    )
