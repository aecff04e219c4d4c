"""The offer register: offer profiles by id, added and edited through the web app.

Profiles are validated by the engine's own loader before they are stored, so the
register never holds an offer that `Engine.check` would refuse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from roprules import OfferProfile
from roprules.store.tables import OfferRow

if TYPE_CHECKING:
    from roprules.store.repository import DecisionStore


class OfferRegistry:
    def __init__(self, store: DecisionStore):
        self._store = store

    def all(self) -> list[OfferProfile]:
        with self._store.session() as session:
            rows = session.scalars(select(OfferRow).order_by(OfferRow.id))
            return [OfferProfile.model_validate(row.profile) for row in rows]

    def get(self, offer_id: str) -> OfferProfile | None:
        with self._store.session() as session:
            row = session.get(OfferRow, offer_id)
            return OfferProfile.model_validate(row.profile) if row is not None else None

    def save(self, offer: OfferProfile, *, actor: str) -> bool:
        """Add or replace an offer; True if it was new. Audited."""
        profile: dict[str, Any] = json.loads(offer.model_dump_json(exclude_none=True))
        now = datetime.now(UTC)
        with self._store.session() as session:
            row = session.get(OfferRow, offer.id)
            new = row is None
            if row is None:
                session.add(
                    OfferRow(id=offer.id, profile=profile, updated_by=actor, updated_at=now)
                )
            else:
                row.profile, row.updated_by, row.updated_at = profile, actor, now
            action = "add_offer" if new else "edit_offer"
            session.add(self._store.audit_row(actor, action, None, offer.id))
            return new

    def import_missing(self, offers: list[OfferProfile], *, actor: str) -> int:
        """Add the offers whose id the register does not hold yet (a seed from files)."""
        added = 0
        for offer in offers:
            if self.get(offer.id) is None:
                self.save(offer, actor=actor)
                added += 1
        return added
