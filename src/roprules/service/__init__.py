"""roprules as an HTTP service: `roprules serve`, or `create_app(engine)` under any ASGI server.

from roprules import Engine
from roprules.service import create_app
app = create_app(Engine.load(), offers_dir="profiles/offers")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(engine: Any, **options: Any) -> FastAPI:
    """See `roprules.service.app.create_app` (imported lazily: FastAPI is loaded on use)."""
    from roprules.service.app import create_app as _create_app

    return _create_app(engine, **options)
