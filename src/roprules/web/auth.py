"""Who is using the app, and what they may do.

Modes:
- `local`: on loopback with no configuration, one local user with every right
  (a team's own machine). Refused on any other address.
- `accounts`: built-in accounts (argon2 hashes in the database), a login form,
  and a signed session cookie (HttpOnly, SameSite=Lax, Secure off loopback).
- `proxy`: a trusted reverse proxy (e.g. oauth2-proxy in front, for ID-porten or
  Entra ID) sets the user and role headers; the app must only be reachable
  through that proxy.

Roles, each including the one before: reader (sees), member (records decisions),
admin (manages the offer register and accounts). Every form carries a CSRF token
bound to the session, checked on every POST.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request

Mode = Literal["local", "accounts", "proxy"]
Role = Literal["reader", "member", "admin"]
RANK: dict[str, int] = {"reader": 0, "member": 1, "admin": 2}
LOCAL_USER = "lokal"


@dataclass(frozen=True)
class WebAuth:
    mode: Mode = "local"
    user_header: str = "X-Forwarded-User"
    role_header: str = "X-Forwarded-Role"


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    def may(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


class LoginRequired(Exception):
    """Raised for a page that needs a signed-in user; answered by a redirect to the login."""


def current_user(request: Request) -> User | None:
    auth: WebAuth = request.app.state.web_auth
    if auth.mode == "local":
        return User(LOCAL_USER, "admin")
    if auth.mode == "proxy":
        name = request.headers.get(auth.user_header, "").strip()
        role = request.headers.get(auth.role_header, "reader").strip()
        if not name or role not in RANK:
            return None
        return User(name[:64], role)  # type: ignore[arg-type]
    name, role = request.session.get("user"), request.session.get("role")
    if isinstance(name, str) and role in RANK:
        return User(name, role)
    return None


def require(request: Request, role: Role = "reader") -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired
    if not user.may(role):
        raise HTTPException(status_code=403)
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: object) -> None:
    expected = request.session.get("csrf")
    if not (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())
    ):
        raise HTTPException(status_code=403, detail="csrf")
