"""Built-in accounts: user name, argon2 password hash and role; nothing else is kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from roprules.store.tables import UserRow

if TYPE_CHECKING:
    from roprules.store.repository import DecisionStore

Role = Literal["reader", "member", "admin"]
ROLES: tuple[Role, ...] = ("reader", "member", "admin")
USERNAME = re.compile(r"^[a-z0-9._-]{2,64}$")
MIN_PASSWORD = 12


class AccountError(ValueError):
    pass


def _hasher():  # argon2 is imported only where accounts are used
    from argon2 import PasswordHasher

    return PasswordHasher()


class Accounts:
    def __init__(self, store: DecisionStore):
        self._store = store

    def add(self, username: str, password: str, role: Role, *, actor: str) -> None:
        if not USERNAME.fullmatch(username):
            raise AccountError("a user name is 2–64 of a–z, 0–9, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
        with self._store.session() as session:
            if session.get(UserRow, username) is not None:
                raise AccountError("that user name is taken")
            session.add(
                UserRow(
                    username=username,
                    password_hash=_hasher().hash(password),
                    role=role,
                    created_at=datetime.now(UTC),
                )
            )
            session.add(self._store.audit_row(actor, "add_user", None, None))

    def verify(self, username: str, password: str) -> Role | None:
        """The user's role if the password is right, else None (same work either way)."""
        from argon2.exceptions import VerificationError

        hasher = _hasher()
        with self._store.session() as session:
            row = session.get(UserRow, username) if USERNAME.fullmatch(username) else None
            stored = row.password_hash if row is not None else hasher.hash("not-a-password!")
        try:
            hasher.verify(stored, password)
        except VerificationError:
            return None
        return row.role if row is not None else None  # type: ignore[return-value]

    def any(self) -> bool:
        with self._store.session() as session:
            return session.query(UserRow).first() is not None
