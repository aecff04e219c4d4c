"""The public Python API: `Engine`.

    from roprules import Engine
    engine = Engine.load()
    assessment = engine.check(resident, offer)   # dicts, file paths or models

Loading compiles the rules and registers them with durable_rules once; every
call after that is one assessment in its own durable_rules session. An Engine
is safe to share between threads (durable_rules calls are serialised).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from roprules.assess import Assessor, rank_assessments
from roprules.assessment import Assessment, Matrix, Ranking
from roprules.documents import InputError
from roprules.errors import ErrorDetail, excerpt, text
from roprules.intake import collect, load_offer, load_resident
from roprules.matrix import screen
from roprules.profiles import OfferProfile, ResidentProfile
from roprules.ruleset import Ruleset, load_ruleset

ProfileInput = dict[str, Any] | BaseModel | str | Path
LANGS = ("nb", "en")


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
    ) -> Assessment:
        """Assess a proposed placement: placement, offer and resident rules together.

        Raises InputError listing the problems of both profiles.
        """
        lang = _lang(lang)
        person, place = _load_pair(resident, offer, lang)
        return self._assessor.assess("placement", person, place, lang, now=now)

    def audit(
        self, offer: ProfileInput, *, lang: str = "nb", now: datetime | None = None
    ) -> Assessment:
        """Audit an offer on its own: the offer rules alone."""
        lang = _lang(lang)
        return self._assessor.assess("offer", None, load_offer(offer, lang=lang), lang, now=now)

    def assess_resident(
        self, resident: ProfileInput, *, lang: str = "nb", now: datetime | None = None
    ) -> Assessment:
        """Check a resident profile on its own: the resident rules alone."""
        lang = _lang(lang)
        return self._assessor.assess(
            "resident", load_resident(resident, lang=lang), None, lang, now=now
        )

    def rank(
        self,
        resident: ProfileInput,
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        now: datetime | None = None,
    ) -> Ranking:
        """Assess one resident against several offers, best first.

        Raises InputError listing the problems of the resident and of every offer.
        """
        lang = _lang(lang)
        people, loaded = _load_many([resident], _as_list(offers, "offers", lang), lang)
        person = people[0]
        assessments = [
            self._assessor.assess("placement", person, offer, lang, now=now) for offer in loaded
        ]
        return rank_assessments(person, assessments, self._assessor.ruleset_ref)

    def matrix(
        self,
        residents: Iterable[ProfileInput],
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
    ) -> Matrix:
        """Screen every resident against every offer: verdicts and rule ids, best first.

        For an allocation round; no texts are rendered. Offer and resident rules
        run once per profile, placement rules once per pair. Raises InputError
        listing the problems of every profile.
        """
        lang = _lang(lang)
        people, places = _load_many(
            _as_list(residents, "residents", lang), _as_list(offers, "offers", lang), lang
        )
        return screen(self._assessor, people, places)


def _load_pair(
    resident: ProfileInput, offer: ProfileInput, lang: str
) -> tuple[ResidentProfile, OfferProfile]:
    person: list[ResidentProfile] = []
    place: list[OfferProfile] = []
    collect(
        [
            lambda: person.append(load_resident(resident, lang=lang)),
            lambda: place.append(load_offer(offer, lang=lang)),
        ]
    )
    return person[0], place[0]


def _as_list(items: Any, role: str, lang: str) -> list[ProfileInput]:
    """A list of profiles; a single profile or path, or not a collection, is an InputError."""
    if isinstance(items, (str, Path, dict, BaseModel)) or not isinstance(items, Iterable):
        message = text("expected", lang, text("list", lang), excerpt(items, lang))
        raise InputError(errors=[ErrorDetail(field=role, code="wrong_type", message=message)])
    return list(items)


def _load_many(
    residents: list[ProfileInput], offers: list[ProfileInput], lang: str
) -> tuple[list[ResidentProfile], list[OfferProfile]]:
    """Every profile validated; one InputError with the problems of all of them."""
    people: list[ResidentProfile] = []
    places: list[OfferProfile] = []

    def label(role: str, items: list[ProfileInput], i: int) -> str | None:
        return f"{role}s[{i}]" if len(items) > 1 else None

    collect(
        [
            *(
                (
                    lambda r=r, i=i: people.append(
                        load_resident(r, lang=lang, label=label("resident", residents, i))
                    )
                )
                for i, r in enumerate(residents)
            ),
            *(
                (
                    lambda o=o, i=i: places.append(
                        load_offer(o, lang=lang, label=label("offer", offers, i))
                    )
                )
                for i, o in enumerate(offers)
            ),
        ]
    )
    return people, places


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
    return lang
