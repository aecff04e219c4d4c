"""The public Python API: `Engine`.

    from roprules import Engine
    engine = Engine.load()
    assessment = engine.check(resident, offer)   # dicts, file paths or models

Loading compiles the rules once for the chosen backend (`backend="auto"`:
durable_rules where it can be imported, else the three-valued evaluator; see
`evaluation/backends.py`); every call after that is one assessment. An Engine is safe to
share between threads (durable_rules calls are serialised). `close()` (or a
`with` block) frees durable_rules' C-side rulesets; an engine that is collected
frees them too.

    with Engine.load(backend="evaluator") as engine:
        engine.check(resident, offer).backend   # BackendRef(name="evaluator", ...)

Assessments, rankings and comparisons are immutable: frozen models whose sequences
are tuples, since their parts (findings, facts, open questions) are shared with the
engine's caches and with later results (contract/assessment.py, `OutputModel`).
`model_dump()` gives data to change; the matrix, built anew on every call, has lists.

Every method takes `as_of`, the assessment date (contract.md): every date rule
is measured from it, never from the clock, so an assessment can be reproduced.
Bad input raises one InputError with the problems of every profile given.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from roprules.contract.assessment import Assessment
from roprules.contract.documents import InputError
from roprules.contract.errors import ErrorDetail, excerpt, text
from roprules.contract.intake import check_dates, load_entered
from roprules.contract.profiles import (
    OfferProfile,
    ResidentProfile,
    entered_dates_after,
)
from roprules.evaluation.backends import EngineError
from roprules.evaluation.outcome import Evaluator, assessment_facts_and_derivations
from roprules.evaluation.ranking import unknown_weight
from roprules.report.wording import Wording
from roprules.rulebase.ruleset import Ruleset, load_ruleset

if TYPE_CHECKING:  # the matrix (and its worker processes) only when a matrix is asked for
    from roprules.contract.rankings import Compare, Matrix, Ranking
    from roprules.evaluation.matrix import MatrixWorkers, OfferPieces

ProfileInput = dict[str, Any] | BaseModel | str | Path
AsOf = date | str | None
DETAILS = ("full", "summary")
COMPARE_MIN, COMPARE_MAX = 2, 4
LANGS = ("nb", "en")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def assessment_date(as_of: AsOf = None, now: datetime | None = None) -> date:
    """The assessment date (contract.md, "One assessment date").

    A `date` or an ISO `YYYY-MM-DD` string; by default today's local date (or
    the date of `now`, the older keyword that set the creation time).
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
    raise InputError(
        errors=[
            ErrorDetail(
                field="as_of", code="bad_date", message=f"expected a date YYYY-MM-DD; got {shown!r}"
            )
        ]
    )


class Engine:
    """A loaded, checked rule base, ready to assess placements, offers and residents."""

    def __init__(self, ruleset: Ruleset, *, backend: str = "auto"):
        self.ruleset = ruleset
        self._evaluator = Evaluator(ruleset, backend=backend)
        self._wording = Wording(ruleset)
        self._verifier: Evaluator | None = None  # verifies remedies on the durable backend
        self._matrix_workers: MatrixWorkers | None = None
        self._pool_lock = threading.Lock()

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
        return self._evaluator.backend

    def close(self) -> None:
        """Free the backend's C-side state and stop the matrix workers; no assessing afterwards."""
        if self._matrix_workers is not None:
            self._matrix_workers.close()
        self._evaluator.close()
        if self._verifier is not None:
            self._verifier.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _assess(
        self,
        scope: str,
        resident: ResidentProfile | None,
        offer: OfferProfile | None,
        lang: str,
        *,
        now: datetime | None,
        as_of: date,
        remedies: bool = False,
        entered: tuple[dict[str, Any] | None, dict[str, Any] | None] | None = None,
    ) -> Assessment:
        """Evaluate one scope's rules over the profiles, then word the outcome once.

        With `remedies`, add what would make it suitable (computed only then).
        `entered`: the profiles' facts as entered, from `_load_many`.
        """
        facts, derivations = assessment_facts_and_derivations(
            resident, offer, as_of, entered or (None, None)
        )
        outcome = self._evaluator.outcome(scope, facts)
        assessment = self._wording.assessment(
            scope,
            outcome,
            facts,
            resident,
            offer,
            lang,
            ruleset_ref=self._evaluator.ruleset_ref,
            backend_ref=self._evaluator.backend_ref,
            now=now,
            as_of=as_of,
            derivations=derivations,
        )
        if not remedies:
            return assessment
        from roprules.report.remedies import with_remedies

        return with_remedies(assessment, self._remedy_evaluator(), facts, base=outcome)

    def _remedy_evaluator(self) -> Evaluator:
        """The evaluator that verifies counterfactuals: the three-valued evaluator backend.

        Each counterfactual is verified by a whole evaluation of the changed facts
        (`Evaluator.outcome`); the evaluator backend does that several times faster
        than a round trip through durable_rules, and the test suite holds the two
        backends to the same answers (tests/test_agreement.py; tests/test_remedies.py
        verifies on both). Built once, on first use.
        """
        if self.backend == "evaluator":
            return self._evaluator
        if self._verifier is None:
            self._verifier = Evaluator(self.ruleset, backend="evaluator")
        return self._verifier

    def check(
        self,
        resident: ProfileInput,
        offer: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
        remedies: bool = False,
    ) -> Assessment:
        """Assess a proposed placement: placement, offer and resident rules together.

        `remedies=True` adds what would make it suitable: the smallest verified
        changes to the offer or the process for every critical and major finding
        (`Finding.remedies`) and for the verdict (`Assessment.verdict_remedy`).
        Raises InputError listing the problems of both profiles.
        """
        lang, day = _lang(lang), assessment_date(as_of, now)
        entered: list[dict[str, Any] | None] = []
        people, places = _load_many([resident], [offer], lang, day, entered)
        return self._assess(
            "placement",
            people[0],
            places[0],
            lang,
            now=now,
            as_of=day,
            remedies=remedies,
            entered=(entered[0], entered[1]),
        )

    def audit(
        self,
        offer: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
        remedies: bool = False,
    ) -> Assessment:
        """Audit an offer on its own: the offer rules alone (`remedies` as for `check`)."""
        lang, day = _lang(lang), assessment_date(as_of, now)
        entered: list[dict[str, Any] | None] = []
        _, places = _load_many([], [offer], lang, day, entered)
        return self._assess(
            "offer",
            None,
            places[0],
            lang,
            now=now,
            as_of=day,
            remedies=remedies,
            entered=(None, entered[0]),
        )

    def assess_resident(
        self,
        resident: ProfileInput,
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
    ) -> Assessment:
        """Check a resident profile on its own: the resident rules alone."""
        lang, day = _lang(lang), assessment_date(as_of, now)
        entered: list[dict[str, Any] | None] = []
        people, _ = _load_many([resident], [], lang, day, entered)
        return self._assess(
            "resident", people[0], None, lang, now=now, as_of=day, entered=(entered[0], None)
        )

    def rank(
        self,
        resident: ProfileInput,
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
        detail: str = "full",
        remedies: bool = False,
    ) -> Ranking:
        """Assess one resident against several offers, best first.

        The order: the verdict, then a severity-weighted score of the findings and of
        the rules that could not be evaluated (at the fraction `ranking.unknown_weight`
        of their weight), then the offer id. Each offer has a one-line `reason`.
        `detail="summary"` leaves out the nested assessments (see `Ranking.detail`).
        `remedies=True` adds each offer's remedies (see `check`) and its summary.
        Raises InputError listing the problems of the resident and of every offer.
        """
        lang, day = _lang(lang), assessment_date(as_of, now)
        _detail(detail)
        listed = _as_list(offers, "offers", lang)
        person, assessments = self._placements(resident, listed, lang, now, day, remedies)
        from roprules.report.ranking import rank_assessments, summarize

        ranking = rank_assessments(
            person.id,
            assessments,
            self._evaluator.ruleset_ref,
            unknown_weight=unknown_weight(self.ruleset.params),
        )
        return summarize(ranking) if detail == "summary" else ranking  # type: ignore[return-value]

    def compare(
        self,
        resident: ProfileInput,
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        now: datetime | None = None,
        as_of: AsOf = None,
        detail: str = "full",
        remedies: bool = False,
    ) -> Compare:
        """Two to four offers side by side for one resident.

        One row per rule that fired or could not be evaluated in at least one offer,
        one column per offer in the order given; each cell the finding's severity,
        an open question, or not applicable. Fewer than 2 or more than 4 offers is an
        InputError, as is bad input in any profile. `remedies=True` adds each
        offer's remedies (see `check`).
        """
        lang, day = _lang(lang), assessment_date(as_of, now)
        _detail(detail)
        listed = _as_list(offers, "offers", lang)
        if not COMPARE_MIN <= len(listed) <= COMPARE_MAX:
            raise InputError(errors=[compare_count_error(len(listed), lang)])
        person, assessments = self._placements(resident, listed, lang, now, day, remedies)
        themes = {theme.name: theme for theme in self.ruleset.themes}
        from roprules.report.ranking import compare_assessments, summarize

        result = compare_assessments(
            person.id,
            assessments,
            self._evaluator.ruleset_ref,
            unknown_weight=unknown_weight(self.ruleset.params),
            lang=lang,
            as_of=day,
            themes=themes,
            rule_themes={rule.id: rule.theme for rule in self.ruleset.rules},
        )
        return summarize(result) if detail == "summary" else result  # type: ignore[return-value]

    def _placements(
        self,
        resident: ProfileInput,
        offers: list[ProfileInput],
        lang: str,
        now: datetime | None,
        day: date,
        remedies: bool,
    ) -> tuple[ResidentProfile, list[Assessment]]:
        """One resident assessed against each offer (rank and compare): every profile
        validated first, one InputError with all problems."""
        people, loaded = _load_many([resident], offers, lang, day)
        person = people[0]
        assessments = [
            self._assess("placement", person, offer, lang, now=now, as_of=day, remedies=remedies)
            for offer in loaded
        ]
        return person, assessments

    def matrix(
        self,
        residents: Iterable[ProfileInput],
        offers: Iterable[ProfileInput],
        *,
        lang: str = "nb",
        as_of: AsOf = None,
        remedies: bool = False,
        workers: int = 1,
    ) -> Matrix:
        """Screen every resident against every offer: verdicts and rule ids, best first.

        For an allocation round; no texts are rendered. Offer and resident rules
        run once per profile, placement rules once per class of pairs (see
        `evaluation/matrix.py`). `workers` > 1 screens the residents in that many
        processes, each with the same rules loaded once and kept for later calls
        until `close()`; the result is the same. `remedies=True` adds `needs`: the
        residents with no acceptable offer grouped by what would serve them (bounded
        in time). Raises InputError listing the problems of every profile.
        """
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"workers must be a whole number of at least 1; got {workers!r}")
        lang, day = _lang(lang), assessment_date(as_of)
        resident_items = _as_list(residents, "residents", lang)
        offer_items = _as_list(offers, "offers", lang)
        from roprules.evaluation.matrix import screen

        if workers > 1 and resident_items and offer_items:
            # The offers first, in pieces: the workers compute their part of the offer side
            # while this process validates the rest and the residents (`screen`).
            people: list[ResidentProfile] = []
            given, places, pool = self._offers_and_workers(
                resident_items, offer_items, lang, day, workers
            )

            def load_residents() -> list[ResidentProfile]:
                people.extend(_load_many(resident_items, [], lang, day)[0])
                return people

            matrix = screen(
                self._evaluator, load_residents, given, as_of=day, lang=lang, workers=pool
            )
        else:
            people, places = _load_many(resident_items, offer_items, lang, day)
            matrix = screen(self._evaluator, people, places, as_of=day, lang=lang)
        if not remedies:
            return matrix
        from roprules.report.remedies import with_needs

        return with_needs(matrix, self._remedy_evaluator(), people, places, day)

    def _offers_and_workers(
        self,
        resident_items: list[ProfileInput],
        offer_items: list[ProfileInput],
        lang: str,
        day: date,
        workers: int,
    ) -> tuple[list[OfferProfile] | OfferPieces, list[OfferProfile], MatrixWorkers]:
        """The offers (validated as `screen` asks) and the workers; the errors as `_load_many`'s.

        With the workers running, the offers are validated piece by piece as `screen`
        sends them; the list fills as it does. Else (the first call) they are validated
        before the workers start: bad offers start no worker. A bad piece, or bad offers:
        the residents are validated too and their problems come first, as when both are
        validated at once. Workers that cannot start: bad input is still an InputError.
        """
        from roprules.evaluation.matrix import OfferPieces

        places: list[OfferProfile] = []
        pool = self._matrix_workers
        if pool is not None and pool.count == workers and pool.alive:

            def load(start: int, stop: int) -> list[OfferProfile]:
                try:
                    piece = _load_many([], offer_items[start:stop], lang, day)[1]
                except InputError:
                    _load_many(resident_items, offer_items, lang, day)  # every problem
                    raise
                places.extend(piece)
                return piece

            return OfferPieces(len(offer_items), load), places, pool
        try:
            places = _load_many([], offer_items, lang, day)[1]
        except InputError as bad_offers:
            try:
                _load_many(resident_items, [], lang, day)
            except InputError as bad_residents:
                raise InputError(errors=[*bad_residents.errors, *bad_offers.errors]) from None
            raise
        try:
            return places, places, self._workers(workers)
        except EngineError:
            _load_many(resident_items, [], lang, day)
            raise

    def _workers(self, count: int) -> MatrixWorkers:
        """The matrix's worker processes, started on first use and kept until close()."""
        from roprules.evaluation.matrix import MatrixWorkers

        with self._pool_lock:
            pool = self._matrix_workers
            if pool is None or pool.count != count or not pool.alive:
                if pool is not None:
                    pool.close()
                pool = self._matrix_workers = MatrixWorkers(self.ruleset, self.backend, count)
            return pool


def _as_list(items: Any, role: str, lang: str) -> list[ProfileInput]:
    """A list of profiles; a single profile or path, or not a collection, is an InputError."""
    if isinstance(items, (str, Path, dict, BaseModel)) or not isinstance(items, Iterable):
        message = text("expected", lang, text("list", lang), excerpt(items, lang))
        raise InputError(errors=[ErrorDetail(field=role, code="wrong_type", message=message)])
    return list(items)


def _source(profile: ProfileInput, label: str) -> str:
    return str(profile) if isinstance(profile, (str, Path)) else label


def _load_many(
    residents: list[ProfileInput],
    offers: list[ProfileInput],
    lang: str,
    day: date,
    entered: list[dict[str, Any] | None] | None = None,
) -> tuple[list[ResidentProfile], list[OfferProfile]]:
    """Every profile validated, its dates not after `day`; one InputError with all problems.

    `entered`, if given, receives each profile's facts as entered (`load_entered`: None
    where the screen did not find them), residents first, for `_assess`."""
    loaded: list[Any] = []
    flats: list[dict[str, Any] | None] = []
    errors: list[ErrorDetail] = []
    iso = day.isoformat()
    for model, items, role in (
        (ResidentProfile, residents, "resident"),
        (OfferProfile, offers, "offer"),
    ):
        many = len(items) > 1
        for i, item in enumerate(items):
            try:
                profile, flat = load_entered(
                    model, item, lang=lang, label=f"{role}s[{i}]" if many else None
                )
                if flat is None or entered_dates_after(model, flat, iso):
                    check_dates(profile, day, _source(item, role))  # words the error
                loaded.append(profile)
                flats.append(flat)
            except InputError as exc:
                errors.extend(exc.errors)
    if errors:
        raise InputError(errors=errors)
    if entered is not None:
        entered.extend(flats)
    return loaded[: len(residents)], loaded[len(residents) :]


def compare_count_error(count: int, lang: str) -> ErrorDetail:
    """The error for a compare with fewer than 2 or more than 4 offers."""
    if lang == "en":
        message = f"compare takes {COMPARE_MIN} to {COMPARE_MAX} offers; got {count}"
    else:
        message = f"sammenligningen tar {COMPARE_MIN} til {COMPARE_MAX} tilbud; fikk {count}"
    return ErrorDetail(field="offers", code="wrong_count", message=message)


def _detail(detail: str) -> None:
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}; got {detail!r}")


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
    return lang
