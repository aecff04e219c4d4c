"""The public Python API: `Engine`.

    from roprules import Engine
    engine = Engine.load()
    assessment = engine.check(resident, offer)   # dicts, file paths or models

Loading compiles the rules once for the chosen backend (`backend="auto"`:
durable_rules where it can be imported, else the three-valued evaluator; see
`backends.py`); every call after that is one assessment. An Engine is safe to
share between threads (durable_rules calls are serialised). `close()` (or a
`with` block) frees durable_rules' C-side rulesets; an engine that is collected
frees them too.

    with Engine.load(backend="evaluator") as engine:
        engine.check(resident, offer).backend   # BackendRef(name="evaluator", ...)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from roprules.assess import Assessor, rank_assessments
from roprules.assessment import Assessment, Matrix, Ranking
from roprules.intake import load_offer, load_resident
from roprules.matrix import screen
from roprules.profiles import OfferProfile, ResidentProfile
from roprules.ruleset import Ruleset, load_ruleset

ProfileInput = dict[str, Any] | BaseModel | str | Path
LANGS = ("nb", "en")


class Engine:
    """A loaded, checked rule base, ready to assess placements, offers and residents."""

    def __init__(self, ruleset: Ruleset, *, backend: str = "auto"):
        self.ruleset = ruleset
        self._assessor = Assessor(ruleset, backend=backend)

    @classmethod
    def load(
        cls,
        rules_dir: str | Path | None = None,
        overlay: str | Path | None = None,
        *,
        backend: str = "auto",
    ) -> Engine:
        """Load the rules (default: those shipped with the package) and an optional overlay.

        `backend`: "auto" (durable_rules where it imports, else the evaluator),
        "durable" or "evaluator". Raises RulesetError, listing every problem, if
        the rule base is not valid; BackendUnavailable if "durable" is asked for
        where durable_rules cannot be imported.
        """
        return cls(load_ruleset(rules_dir, overlay), backend=backend)

    @property
    def backend(self) -> str:
        """The backend that decides what fires: "durable" or "evaluator"."""
        return self._assessor.backend

    def close(self) -> None:
        """Free the backend's C-side state; the engine cannot assess afterwards."""
        self._assessor.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def check(
        self,
        resident: ProfileInput,
        offer: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
    ) -> Assessment:
        """Assess a proposed placement: placement, offer and resident rules together."""
        return self._assessor.assess(
            "placement", load_resident(resident), load_offer(offer), _lang(lang), now=now
        )

    def audit(
        self, offer: ProfileInput, *, lang: str = "nb", now: datetime | None = None
    ) -> Assessment:
        """Audit an offer on its own: the offer rules alone."""
        return self._assessor.assess("offer", None, load_offer(offer), _lang(lang), now=now)

    def assess_resident(
        self, resident: ProfileInput, *, lang: str = "nb", now: datetime | None = None
    ) -> Assessment:
        """Check a resident profile on its own: the resident rules alone."""
        return self._assessor.assess(
            "resident", load_resident(resident), None, _lang(lang), now=now
        )

    def rank(
        self,
        resident: ProfileInput,
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        now: datetime | None = None,
    ) -> Ranking:
        """Assess one resident against several offers, best first."""
        person: ResidentProfile = load_resident(resident)
        loaded: list[OfferProfile] = [load_offer(o) for o in offers]
        assessments = [
            self._assessor.assess("placement", person, offer, _lang(lang), now=now)
            for offer in loaded
        ]
        return rank_assessments(person, assessments, self._assessor.ruleset_ref)

    def matrix(self, residents: Iterable[ProfileInput], offers: Iterable[ProfileInput]) -> Matrix:
        """Screen every resident against every offer: verdicts and rule ids, best first.

        For an allocation round; no texts are rendered. Offer and resident rules
        run once per profile, placement rules once per pair.
        """
        people = [load_resident(r) for r in residents]
        places = [load_offer(o) for o in offers]
        return screen(self._assessor, people, places)


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
    return lang
