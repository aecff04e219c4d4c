"""The public Python API: `Engine`.

    from roprules import Engine
    engine = Engine.load()
    assessment = engine.check(resident, offer)   # dicts, file paths or models

Loading compiles the rules and registers them with durable_rules once; every
call after that is one assessment in its own durable_rules session. An Engine
is safe to share between threads (durable_rules calls are serialised).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from roprules.assess import Assessor, rank_assessments
from roprules.assessment import Assessment, Matrix, Ranking
from roprules.documents import InputError
from roprules.intake import check_dates, load_offer, load_resident
from roprules.matrix import screen
from roprules.profiles import OfferProfile, ResidentProfile
from roprules.ruleset import Ruleset, load_ruleset

ProfileInput = dict[str, Any] | BaseModel | str | Path
AsOf = date | str | None
LANGS = ("nb", "en")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def assessment_date(as_of: AsOf = None, now: datetime | None = None) -> date:
    """The assessment date (contract.md, "One assessment date").

    A `date` or an ISO `YYYY-MM-DD` string; by default today's local date (or
    the date of `now`, the older keyword that set the creation time). Every
    date rule is measured from it, never from the clock, so an assessment can
    be reproduced.
    """
    if as_of is None:
        return now.date() if now is not None else date.today()
    if isinstance(as_of, datetime):
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    if isinstance(as_of, str) and _ISO_DATE.fullmatch(as_of):
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            pass
    shown = as_of[:20] if isinstance(as_of, str) else type(as_of).__name__
    raise InputError(f"as_of: expected a date YYYY-MM-DD; got {shown!r}")


def _source(profile: ProfileInput, label: str) -> str:
    return str(profile) if isinstance(profile, (str, Path)) else label


class Engine:
    """A loaded, checked rule base, ready to assess placements, offers and residents."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self._assessor = Assessor(ruleset)

    @classmethod
    def load(cls, rules_dir: str | Path | None = None, overlay: str | Path | None = None) -> Engine:
        """Load the rules (default: those shipped with the package) and an optional overlay.

        Raises RulesetError, listing every problem, if the rule base is not valid.
        """
        return cls(load_ruleset(rules_dir, overlay))

    def check(
        self,
        resident: ProfileInput,
        offer: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
    ) -> Assessment:
        """Assess a proposed placement: placement, offer and resident rules together."""
        day = assessment_date(as_of, now)
        person = check_dates(load_resident(resident), day, _source(resident, "resident"))
        place = check_dates(load_offer(offer), day, _source(offer, "offer"))
        return self._assessor.assess("placement", person, place, _lang(lang), now=now, as_of=day)

    def audit(
        self,
        offer: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
    ) -> Assessment:
        """Audit an offer on its own: the offer rules alone."""
        day = assessment_date(as_of, now)
        place = check_dates(load_offer(offer), day, _source(offer, "offer"))
        return self._assessor.assess("offer", None, place, _lang(lang), now=now, as_of=day)

    def assess_resident(
        self,
        resident: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
    ) -> Assessment:
        """Check a resident profile on its own: the resident rules alone."""
        day = assessment_date(as_of, now)
        person = check_dates(load_resident(resident), day, _source(resident, "resident"))
        return self._assessor.assess("resident", person, None, _lang(lang), now=now, as_of=day)

    def rank(
        self,
        resident: ProfileInput,
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
    ) -> Ranking:
        """Assess one resident against several offers, best first."""
        day = assessment_date(as_of, now)
        person: ResidentProfile = check_dates(
            load_resident(resident), day, _source(resident, "resident")
        )
        loaded: list[OfferProfile] = [
            check_dates(load_offer(o), day, _source(o, "offer")) for o in offers
        ]
        assessments = [
            self._assessor.assess("placement", person, offer, _lang(lang), now=now, as_of=day)
            for offer in loaded
        ]
        return rank_assessments(person, assessments, self._assessor.ruleset_ref)

    def matrix(
        self,
        residents: Iterable[ProfileInput],
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        as_of: AsOf = None,
    ) -> Matrix:
        """Screen every resident against every offer: verdicts and rule ids, best first.

        For an allocation round; no texts are rendered. Offer and resident rules
        run once per profile, placement rules once per pair. `lang` is accepted
        for a uniform API; a matrix has no texts.
        """
        _lang(lang)
        day = assessment_date(as_of)
        people = [check_dates(load_resident(r), day, _source(r, "resident")) for r in residents]
        places = [check_dates(load_offer(o), day, _source(o, "offer")) for o in offers]
        return screen(self._assessor, people, places, as_of=day)


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
    return lang
