"""The data contract as pydantic models: resident profile and offer profile.

Every field except `id` (and the offer's `type`) is optional, and absent or null
means *unknown*; the rule engine never reads an unknown as false. Input is
strict: unknown keys, wrong types, wrong enum values and out-of-range numbers
are errors that name the field path. Profiles are pseudonymous, so anything that
looks like a Norwegian national identity number is refused.
"""

# No `from __future__ import annotations` in the modules of pydantic models: pydantic
# would build each field's type from its text (one compile each; ~2 % of a cold start).

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from roprules.contract.brukerplan import Derivation
from roprules.contract.brukerplan import derive as derive_from_brukerplan
from roprules.contract.documents import SuspectNumber
from roprules.contract.errors import CASE_REF, CASE_REF_PATTERN, TEXTS, excerpt
from roprules.contract.national_id import ELEVEN_DIGITS, contains_national_id

Level = Literal["low", "moderate", "high"]
OfferType = Literal["small_house", "co_located", "staffed_base", "institution", "ordinary"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _national_id_error() -> PydanticCustomError:
    return PydanticCustomError("national_id", TEXTS["national_id"]["en"])


def _no_national_id(value: str, info: ValidationInfo) -> str:
    """A valid fødselsnummer, D- or H-number in any spelling (see national_id.py) is refused
    (input that `screened` passed has no text that could hold one)."""
    if info.context is not SCREENED and contains_national_id(value):
        raise _national_id_error()
    return value


def _is_date_field(annotation: Any) -> bool:
    if annotation is date:
        return True
    return any(_is_date_field(arg) for arg in get_args(annotation))


_SMALL = 10**9  # an int below this cannot be an 11-digit number, even without its leading 0
_DIGIT = re.compile(r"\d")


class Refused:
    """Stands in for a refused input value, so that the value itself never reaches an
    error message. It fails every field's type check, and intake.py reports it by
    its `code` with the field path: `national_id`, `plain_number`, `bad_date`, `bad_id`."""

    __slots__ = ("code", "shown")

    def __init__(self, code: str, shown: str | None = None):
        self.code = code
        self.shown = shown  # a short, sanitised excerpt (errors.excerpt), never an identity number

    def __repr__(self) -> str:
        return f"Refused({self.code!r})"


def _problem(value: Any, field: str, date_field: bool) -> Refused | None:
    """What is wrong with a value before its type is checked, if anything."""
    if isinstance(value, SuspectNumber):
        return Refused("plain_number", excerpt(value.source_text))
    if isinstance(value, list):
        for item in value:
            if isinstance(item, SuspectNumber):
                return Refused("plain_number", excerpt(item.source_text))
    if contains_national_id(value):
        return Refused("national_id")
    if date_field and not (
        (isinstance(value, date) and not isinstance(value, datetime))
        or (isinstance(value, str) and _ISO_DATE.fullmatch(value))
    ):
        return Refused("bad_date", excerpt(value))
    if field == "id" and isinstance(value, str) and not CASE_REF.fullmatch(value):
        return Refused("bad_id", excerpt(value))
    return None


def _screen(model: type[BaseModel], data: Any) -> Any:
    """Every value of a contract model, before its type check: no national identity
    number in any form (value, key, list item, number), numbers as written, dates as
    dates, and an `id` that is a case reference. One pass per model over its own
    values (nested models screen themselves). A refused value is replaced by a
    `Refused` marker. The common values (booleans, words, small numbers) take the
    fast paths: this runs on every assessment."""
    if not isinstance(data, dict):
        return data
    try:
        keys: str | None = "\0".join(data)
    except TypeError:  # a key that is not text (the Python API); refused later
        keys = None
    if (keys is None or _DIGIT.search(keys)) and any(contains_national_id(k) for k in data):
        raise PydanticCustomError("national_id_key", TEXTS["national_id_key"]["en"])
    replaced: dict[Any, Any] | None = None
    for key, value in data.items():
        kind = type(value)
        if kind is str:
            if _DIGIT.search(value) is None or len(_DIGIT.findall(value)) < 11:
                continue
        elif kind is bool or value is None or kind is date:
            continue  # dates: see the special fields below
        elif kind is dict and key in _nested_fields(model):
            continue  # a nested model screens its own values
        elif kind is int:
            if -_SMALL < value < _SMALL:
                continue
        elif kind is list:
            try:
                if _DIGIT.search("\0".join(value)) is None:
                    continue
            except TypeError:  # not a list of text: looked at item by item
                pass
        problem = _problem(value, key, False)
        if problem is not None:
            replaced = replaced or dict(data)
            replaced[key] = problem
    for key in _special_fields(model):
        value = data.get(key)
        if value is None or (replaced is not None and key in replaced):
            continue
        problem = _problem(value, key, key != "id")
        if problem is not None:
            replaced = replaced or dict(data)
            replaced[key] = problem
    return data if replaced is None else replaced


@cache
def _nested_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields that hold a nested contract model."""
    return frozenset(n for n, f in model.model_fields.items() if _holds_model(f.annotation))


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))


@cache
def _special_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields that always need a look: dates, and the case reference `id`."""
    dates = {n for n, f in model.model_fields.items() if _is_date_field(f.annotation)}
    return frozenset(dates | ({"id"} & set(model.model_fields)))


# The validation context of input that `screened` passed: its contract models skip
# their `_screen` and text validators, which would change nothing (see `screened`).
SCREENED: dict[str, bool] = {"screened": True}


def screened(model: type[BaseModel], data: Any) -> bool:
    """True when `_screen` would refuse nothing in `data` and leave it as it is, at any
    level, and no text of it could hold a national identity number: then validating it
    with `context=SCREENED` gives exactly what validating it without gives.

    One pass over the whole input instead of a validator call and a regular expression
    per value and model: the texts that are words of the contract (enum values) are set
    aside at once (a set difference; none has a digit) and only the others (ids, names,
    dates) are searched for digits. Anything unusual (a key that is not a field, a
    text with 11 digits or more, a large number, a value of another type, a special
    field `_screen` would look at closer) answers False, and the input is then
    validated as always: the full screen decides, and words any error.
    """
    texts: list[str] = []
    return _collect_texts(model, data, texts) and _texts_clean(texts)


def screened_facts(model: type[BaseModel], data: Any) -> dict[str, Any] | None:
    """`screened`, and the same pass's flattening of the input: None when `screened`
    is False, else the facts `_flatten` gives of the model that validating `data`
    builds, if validation succeeds (the caller uses them only then).

    The screen visits every value anyway; writing each known one under its fact path
    as it goes costs a fraction of a second walk over the validated model's fields
    (all of them, the unknown ones too). On input that validates, a value's fact is
    the input value itself (strict models keep what they are given), but for a whole
    number given to a decimal field (a float), a date (its ISO text; a date's text is
    kept only when `_ISO_DATE` matches it, which is then its ISO text) and a list (a
    tuple). The pass goes through each model's fields in their order (not the input's
    keys), so the facts come in `_flatten`'s order whatever the order of the keys.
    """
    prefix = _PREFIXES.get(model, "profile")
    texts: list[str] = []
    facts: dict[str, Any] = {}
    if not _collect_facts(model, data, texts, facts, _walk(model, prefix)):
        return None
    if not _texts_clean(texts):
        return None
    facts.pop(_NOT_A_FACT, None)
    return facts


def _texts_clean(texts: list[str]) -> bool:
    """No text that is not a word of the contract could hold 11 digits."""
    eleven = ELEVEN_DIGITS.search
    for text in set(texts).difference(_contract_words()):
        if len(text) > 1000:  # long: each of up to 10 digits would start a long scan
            if len(_DIGIT.findall(text)) >= 11:
                return False
        elif eleven(text) is not None:
            return False
    return True


def _collect_texts(model: type[BaseModel], data: Any, texts: list[str]) -> bool:
    """Gather the text values of one model's input (and of its nested models); False
    if any key or value needs the full screen. `_collect_facts` decides the same (tests
    hold the two to it), and also flattens: this one, over the input's keys only, is
    for the validations that need no facts (a rule's examples, imports), where most
    fields are absent."""
    if type(data) is not dict or not _field_names(model).issuperset(data):
        return False  # not a mapping, or a key that is not a field: the full screen
    append = texts.append
    for key, value in data.items():
        kind = type(value)
        if kind is bool:  # the commonest
            continue
        if kind is str:
            append(value)
        elif value is None or kind is date:  # dates: the special fields
            continue
        elif kind is int or kind is float:
            if not -_SMALL < value < _SMALL:  # NaN also fails this
                return False
        elif kind is list:
            for item in value:
                if type(item) is not str:
                    return False
            texts.extend(value)
        elif kind is dict:
            nested = _nested_models(model).get(key)
            if nested is None or not _collect_texts(nested, value, texts):
                return False
        else:
            return False
    return _special_fields_pass(model, data)


# Where `_collect_facts` writes the values of fields that are not facts (`id`, `name`):
# one key, dropped after the pass.
_NOT_A_FACT = "\0"


class _Walk:
    """What `_collect_facts` needs of one model under one fact path prefix (built once
    per model by `_walk`, never changed).

    A plain class, not a dataclass: a frozen dataclass costs ~5M instructions when the
    module is imported (its methods are generated and compiled), every command's cold
    start."""

    __slots__ = ("dates", "fields", "floats", "models", "names", "nested")

    def __init__(
        self,
        *,
        names: frozenset[str],
        fields: tuple[tuple[str, str], ...],
        floats: frozenset[str],
        nested: dict[str, "_Walk"],
        models: dict[str, type[BaseModel]],
        dates: tuple[str, ...],
    ):
        self.names = names  # the field names (see `_field_names`)
        # (field, its fact path; `_NOT_A_FACT` for id, name)
        self.fields = fields
        self.floats = floats  # the fields that hold a decimal number (an int becomes a float)
        self.nested = nested  # the fields that hold a nested model, with its walk
        self.models = models  # the same fields, with the nested model's class
        self.dates = dates  # the fact paths of the date fields, nested ones too


@cache
def _walk(model: type[BaseModel], prefix: str) -> _Walk:
    """A model's `_Walk` under a fact path prefix, built once (the nested models' too)."""
    nested_models = _nested_models(model)
    return _Walk(
        names=_field_names(model),
        fields=tuple(
            (name, _NOT_A_FACT if name in _NOT_FACTS else f"{prefix}.{name}")
            for name in model.model_fields
        ),
        floats=frozenset(
            name for name, field in model.model_fields.items() if _holds_float(field.annotation)
        ),
        nested={name: _walk(inner, f"{prefix}.{name}") for name, inner in nested_models.items()},
        models=nested_models,
        dates=tuple(
            f"{prefix}.{name}"
            for name in model.model_fields
            if name != "id" and name in _special_fields(model)
        )
        + tuple(
            path
            for name, inner in nested_models.items()
            for path in _walk(inner, f"{prefix}.{name}").dates
        ),
    )


def entered_dates_after(model: type[BaseModel], flat: dict[str, Any], as_of: str) -> bool:
    """Whether any date among a profile's facts as entered (`screened_facts`) lies after
    the ISO date `as_of` (ISO dates compare as their texts)."""
    for path in _walk(model, _PREFIXES.get(model, "profile")).dates:
        value = flat.get(path)
        if value is not None and value > as_of:
            return True
    return False


def _holds_float(annotation: Any) -> bool:
    return annotation is float or any(_holds_float(arg) for arg in get_args(annotation))


def _collect_facts(
    model: type[BaseModel], data: Any, texts: list[str], facts: dict[str, Any], walk: _Walk
) -> bool:
    """Gather the text values of one model's input (and of its nested models), and its
    facts (see `screened_facts`); False if any key or value needs the full screen."""
    if type(data) is not dict or not walk.names.issuperset(data):
        return False  # not a mapping, or a key that is not a field: the full screen
    get = data.get
    append = texts.append
    for key, path in walk.fields:  # in field order: the facts' order
        value = get(key)
        if value is None:
            continue
        kind = type(value)
        if kind is bool:  # the commonest
            facts[path] = value
        elif kind is str:
            append(value)
            facts[path] = value
        elif kind is int:
            if not -_SMALL < value < _SMALL:
                return False
            facts[path] = float(value) if key in walk.floats else value
        elif kind is float:
            if not -_SMALL < value < _SMALL:  # NaN also fails this
                return False
            facts[path] = value
        elif kind is date:  # dates: the special fields
            facts[path] = value.isoformat()
        elif kind is list:
            for item in value:
                if type(item) is not str:
                    return False
            texts.extend(value)
            facts[path] = tuple(value)
        elif kind is dict:
            nested = walk.nested.get(key)
            if nested is None or not _collect_facts(walk.models[key], value, texts, facts, nested):
                return False
        else:
            return False
    return _special_fields_pass(model, data)


def _special_fields_pass(model: type[BaseModel], data: dict[Any, Any]) -> bool:
    """Whether `_screen` would leave the special fields (`id`, dates) as they are."""
    for key in _special_fields(model):
        value = data.get(key)
        if value is None:
            continue
        if type(value) is str:  # gathered as a text: `screened` searches it for digits
            if (CASE_REF if key == "id" else _ISO_DATE).fullmatch(value) is None:
                return False  # `_problem`'s bad_id or bad_date
        elif _problem(value, key, key != "id") is not None:
            return False
    return True


@cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """A model's field names (with fewer than 11 digits: keys among them cannot hold a
    national identity number)."""
    return frozenset(name for name in model.model_fields if len(_DIGIT.findall(name)) < 11)


@cache
def _contract_words() -> frozenset[str]:
    """Every enum value of the contract models (words with fewer than 11 digits)."""
    words: set[str] = set()

    def walk(annotation: Any) -> None:
        if get_origin(annotation) is Literal:
            words.update(a for a in get_args(annotation) if isinstance(a, str))
        elif _is_model(annotation):
            for field in annotation.model_fields.values():
                walk(field.annotation)
        else:
            for arg in get_args(annotation):
                walk(arg)

    for model in (ResidentProfile, OfferProfile):
        walk(model)
    return frozenset(w for w in words if len(_DIGIT.findall(w)) < 11)


@cache
def _nested_models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields that hold a nested contract model, with its class."""
    found: dict[str, type[BaseModel]] = {}
    for name in _nested_fields(model):
        annotation = model.model_fields[name].annotation
        inner = [a for a in (annotation, *get_args(annotation)) if _is_model(a)]
        if len(inner) == 1:
            found[name] = inner[0]
    return found


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _schema_extra(schema: dict[str, Any]) -> None:
    """The JSON Schema shows the case-reference pattern of `id` (checked in `_screen`)."""
    id_schema = schema.get("properties", {}).get("id")
    if isinstance(id_schema, dict):
        id_schema["pattern"] = CASE_REF_PATTERN
        id_schema["maxLength"] = 64


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_national_id)]
Count = Annotated[int, Field(ge=0)]
Minutes = Annotated[int, Field(ge=0)]
Metres = Annotated[int, Field(ge=0)]
Score = Annotated[int, Field(ge=1, le=5)]


class ContractModel(BaseModel):
    """Base of every contract model: strict, closed, unknown = None."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        validate_default=False,
        json_schema_extra=_schema_extra,
    )

    @model_validator(mode="before")
    @classmethod
    def _screen_values(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context is SCREENED:  # `screened` found nothing _screen would change
            return data
        return _screen(cls, data)


class BrukerPlan(ContractModel):
    """BrukerPlan scores: 1 green (good) … 5 red (very poor)."""

    substance_use: Score | None = None
    economy: Score | None = None
    mental_health: Score | None = None
    physical_health: Score | None = None
    housing: Score | None = None
    social_functioning: Score | None = None
    network: Score | None = None
    work_activity: Score | None = None


class ResidentProfile(ContractModel):
    """Beboerprofil: who is to be housed (contract.md, "Resident profile")."""

    id: Text
    age: Annotated[int, Field(ge=16, le=110)] | None = None
    household: Literal["single", "couple"] | None = None
    substance_use: Literal["none", "past", "active"] | None = None
    substance_severity: Literal["mild", "moderate", "severe"] | None = None
    mental_illness_severity: Literal["none", "mild", "moderate", "severe"] | None = None
    primary_problem: Literal["substance_use", "mental_illness", "both"] | None = None
    dementia: bool | None = None
    violence_risk: Level | None = None
    violence_risk_towards: (
        list[Literal["staff", "co_residents", "neighbours", "partner", "family", "children"]] | None
    ) = None
    danger_assessment_date: Annotated[date, Field(strict=False)] | None = None
    police_information_requested: bool | None = None
    fire_risk: Level | None = None
    property_damage_risk: Level | None = None
    neighbour_disturbance_risk: Level | None = None
    needs_round_the_clock_staff: bool | None = None
    needs_two_staff: bool | None = None
    coercion_need: Literal["none", "at_home", "residential", "outpatient"] | None = None
    coercion_follow_up_agreed: bool | None = None
    needs_coercion: bool | None = None  # deprecated (v2): see DEPRECATED_FIELDS
    psychosis: bool | None = None
    needs_daily_help: bool | None = None
    housing_competence: Literal["good", "some", "poor"] | None = None
    consent_capacity: Literal["full", "reduced", "lacking"] | None = None
    accepts_help: Literal["accepts", "partly", "refuses"] | None = None
    uses_wheelchair: bool | None = None
    smokes_indoors: bool | None = None
    transition_from: (
        Literal["none", "hospital", "prison", "treatment", "parental_home", "homelessness"] | None
    ) = None
    handover_started: bool | None = None
    has_daytime_activity: bool | None = None
    habilitation_potential: bool | None = None
    service_needs_mapped: bool | None = None
    health_follow_up_agreed: bool | None = None
    debt_problems: bool | None = None
    economy_follow_up: bool | None = None
    consulted: Literal["asked", "not_asked", "not_possible"] | None = None
    preferred_offer_types: list[OfferType] | None = None
    next_step_plan: bool | None = None
    child_contact: bool | None = None
    brukerplan: BrukerPlan | None = None


class CoResidents(ContractModel):
    """Counts of the current residents of the offer."""

    severe_substance_use: Count | None = None
    severe_mental_illness: Count | None = None
    active_substance_use: Count | None = None
    dementia: Count | None = None
    high_violence_risk: Count | None = None
    high_fire_risk: Count | None = None
    under_30: Count | None = None


class Building(ContractModel):
    construction: (
        Literal["site_built", "modular", "prefab_movable", "renovated", "temporary"] | None
    ) = None
    floor_area_m2: Annotated[float, Field(gt=0)] | None = None
    gypsum_walls: bool | None = None
    replaceable_wall_panels: bool | None = None
    robust_surfaces: bool | None = None
    institutional_fixtures: bool | None = None
    sprinkler: Literal["none", "standard", "tamper_resistant", "mobile"] | None = None
    fire_risk_class: Annotated[int, Field(ge=1, le=6)] | None = None
    fire_alarm: Literal["none", "standard", "integrated"] | None = None
    fire_alarm_adapted: bool | None = None
    concealed_heating: bool | None = None
    recessed_lighting: bool | None = None
    technical_room_external_access: bool | None = None
    covered_entrance: bool | None = None
    vestibule: bool | None = None
    private_outdoor_area: bool | None = None
    separate_bedroom: bool | None = None
    floor_drain: bool | None = None
    wheelchair_access: Literal["accessible", "adaptable", "not_accessible"] | None = None
    guest_room: bool | None = None


class Location(ContractModel):
    distance_to_shop_m: Metres | None = None
    distance_to_public_transport_m: Metres | None = None
    distance_to_centre_m: Metres | None = None
    safe_walking_route: bool | None = None
    hazards: (
        list[
            Literal[
                "railway_shortcut",
                "motorway_crossing",
                "road_crossing_without_crossing",
                "noise_barrier_shortcut",
            ]
        ]
        | None
    ) = None
    next_to_school_or_kindergarten: bool | None = None
    drug_scene_nearby: bool | None = None
    social_housing_units_nearby: Count | None = None
    neighbourhood: (
        Literal["established_residential", "new_residential", "mixed", "industrial", "rural"] | None
    ) = None
    fire_response_minutes: Minutes | None = None
    police_response_minutes: Minutes | None = None
    access_through_fire_station: bool | None = None
    screened_from_neighbours: bool | None = None
    activity_offers_nearby: bool | None = None
    activities_for_young: bool | None = None
    neighbour_opposition: bool | None = None


ServiceModel = Literal["community", "independent_dwellings"]


class Organisation(ContractModel):
    political_anchoring: bool | None = None
    information_strategy: bool | None = None
    police_consulted: bool | None = None
    police_cooperation_plan: bool | None = None
    fire_service_consulted: bool | None = None
    interagency_allocation_team: bool | None = None
    housing_social_team: bool | None = None
    responsibilities_agreed: bool | None = None
    staffing_funded: bool | None = None
    maintenance_follow_up: bool | None = None
    evaluation_planned: bool | None = None
    activity_programme: bool | None = None
    milieu_therapy: bool | None = None
    resident_involvement: bool | None = None
    resident_involved_in_repairs: bool | None = None
    staff_competence: list[Literal["rop", "dementia"]] | None = None
    service_model: ServiceModel | None = None
    design_concept: ServiceModel | None = None


class OfferProfile(ContractModel):
    """Botilbud: the offer proposed, as it can be delivered for this placement."""

    id: Text
    name: Text | None = None
    municipality: Text | None = None
    type: OfferType
    units: Annotated[int, Field(ge=1)] | None = None
    vacant_units: Count | None = None
    shared_living: bool | None = None
    staffing: Literal["none", "ambulant", "daytime", "round_the_clock"] | None = None
    visit_frequency: (
        Literal["none", "weekly", "several_weekly", "daily", "several_daily"] | None
    ) = None
    visits_in_pairs: bool | None = None
    staff_on_duty: Count | None = None
    staff_alarm: Literal["none", "one_touch", "two_button"] | None = None
    guard_response_minutes: Minutes | None = None
    shielded_unit: bool | None = None
    approved_for_coercion: bool | None = None
    allows_couples: bool | None = None
    contract: Literal["tenancy", "housing_and_services", "institution_stay"] | None = None
    contract_months: Annotated[int, Field(ge=1)] | None = None
    tenure_limit: Literal["none", "fixed"] | None = None
    max_tenure_months: Annotated[int, Field(ge=1)] | None = None
    tenure_extendable: bool | None = None
    expects_acceptance_of_help: bool | None = None
    services_condition_of_tenancy: bool | None = None
    treatment_obligation: bool | None = None
    contract_safeguards: bool | None = None
    tiered_levels: bool | None = None
    equal_rent_across_levels: bool | None = None
    framing: Literal["pathway", "neutral", "last_resort"] | None = None
    co_residents: CoResidents | None = None
    building: Building | None = None
    location: Location | None = None
    organisation: Organisation | None = None


PROFILE_MODELS: dict[str, type[ContractModel]] = {
    "resident": ResidentProfile,
    "offer": OfferProfile,
}
# The fact path prefix of each profile model (`screened_facts`).
_PREFIXES: dict[type[BaseModel], str] = {model: role for role, model in PROFILE_MODELS.items()}


# The deprecation path (contract.md, "Deprecation path"): an old field or enum
# value is still accepted and validated, is read only as the contract says, and
# every assessment that received it carries a notice naming its replacement.
# Enum values kept for compatibility, read as their replacement value.
DEPRECATED_VALUES: dict[str, dict[str, str]] = {
    "resident.coercion_need": {"outpatient": "at_home"},
}
# Fields kept for compatibility, and the field that replaces each.
DEPRECATED_FIELDS: dict[str, str] = {
    "resident.needs_coercion": "resident.coercion_need",
}


# Per profile prefix: (fact path, the attribute names that lead to it, an entry).
_PathsIn = dict[str, tuple[tuple[str, tuple[str, ...], Any], ...]]


def _by_profile(table: Mapping[str, Any]) -> _PathsIn:
    """A table keyed by fact path, split by the profile each path lies in: per profile
    prefix, (path, the attribute names that lead to it, the table's entry)."""
    return {
        prefix: tuple(
            (path, tuple(path.removeprefix(prefix + ".").split(".")), entry)
            for path, entry in table.items()
            if path.startswith(prefix + ".")
        )
        for prefix in PROFILE_MODELS
    }


# The deprecated values and fields that lie in each profile, with the attributes that
# lead to each, found once: `deprecations` runs on every assessment.
_DEPRECATED_VALUES_IN = _by_profile(DEPRECATED_VALUES)
_DEPRECATED_FIELDS_IN = _by_profile(DEPRECATED_FIELDS)


@dataclass(frozen=True)
class Deprecation:
    """A deprecated field or value found in a profile; `key` names its notice text."""

    field: str
    replacement: str
    key: str


def deprecations(
    resident: BaseModel | None = None, offer: BaseModel | None = None
) -> list[Deprecation]:
    """The deprecated fields and values these profiles use, in contract order."""
    found: list[Deprecation] = []
    for prefix, profile in (("resident", resident), ("offer", offer)):
        if profile is None:
            continue
        for path, names, renamed in _DEPRECATED_VALUES_IN[prefix]:
            value = _value_of(profile, names)
            if value in renamed:
                found.append(Deprecation(path, renamed[value], f"{path}={value}"))
        for path, names, replacement in _DEPRECATED_FIELDS_IN[prefix]:
            value = _value_of(profile, names)
            if value is not None:
                key = f"{path}={str(value).lower()}" if isinstance(value, bool) else path
                found.append(Deprecation(path, replacement, key))
    return found


def _value_of(profile: BaseModel, names: tuple[str, ...]) -> Any:
    """The value the attributes `names` lead to in a profile, as a fact (None if absent)."""
    value: Any = profile
    for name in names:
        value = getattr(value, name, None)
        if value is None:
            return None
    if isinstance(value, list):
        return tuple(value)
    return value.isoformat() if isinstance(value, date) else value


def derived_fields(facts: Mapping[str, Any], profile: BaseModel | None) -> frozenset[str]:
    """The fact paths of a resident's facts that were derived, not entered by the team."""
    return frozenset(derived_sources(facts, profile))


def derived_sources(facts: Mapping[str, Any], profile: BaseModel | None) -> dict[str, str]:
    """Each derived fact path of a resident's facts, with the field it was derived from:
    `resident.needs_coercion`, or a BrukerPlan score such as `resident.brukerplan.economy`."""
    return derivations_and_sources(facts, profile)[0]


def derivations_and_sources(
    facts: Mapping[str, Any],
    profile: BaseModel | None,
    derivations: list[Derivation] | None = None,
) -> tuple[dict[str, str], list[Derivation]]:
    """`derived_sources` and `brukerplan_derivations` of one resident at once (the
    resident's entered facts flattened once, its BrukerPlan table read once).

    `derivations`: the resident's BrukerPlan derivations when the caller has them
    already (`profile_facts_and_derivations` of this profile): then neither is done
    again."""
    if profile is None:
        return {}, []
    found: dict[str, str] = {}
    if (
        getattr(profile, "needs_coercion", None) is False
        and getattr(profile, "coercion_need", None) is None
        and "resident.coercion_need" in facts
    ):
        found["resident.coercion_need"] = "resident.needs_coercion"
    if getattr(profile, "brukerplan", None) is None:
        return found, []
    if derivations is None:
        entered = _entered(profile)
        derivations = derive_from_brukerplan(entered)
        for derivation in derivations:
            if derivation.path not in entered and derivation.path in facts:
                found.setdefault(derivation.path, derivation.source)
        return found, derivations
    for derivation in derivations:  # derived only for paths the team left unknown
        if derivation.path in facts:
            found.setdefault(derivation.path, derivation.source)
    return found, derivations


def brukerplan_derivations(profile: BaseModel | None) -> list[Derivation]:
    """The values the profile's BrukerPlan scores derive for fields the team left unknown."""
    if profile is None or getattr(profile, "brukerplan", None) is None:
        return []
    return derive_from_brukerplan(_entered(profile))


def _entered(profile: BaseModel) -> dict[str, Any]:
    """The resident's facts as the team entered them (before any derivation)."""
    entered: dict[str, Any] = {}
    _flatten("resident", profile, entered)
    if entered.get("resident.needs_coercion") is False:
        entered.setdefault("resident.coercion_need", "none")
    return entered


def profile_to_facts(prefix: str, profile: BaseModel | None) -> dict[str, Any]:
    """Flatten a profile into `{"offer.building.sprinkler": "none", ...}`.

    Unknown fields are left out: a fact that is absent is unknown. Lists become
    tuples and dates ISO strings, so facts are hashable and JSON-ready. Reads
    the validated attributes directly: this runs on every assessment.
    Deprecated values are read as their replacements, and `needs_coercion:
    false` derives `coercion_need: none` when that is unknown (contract.md), so
    every reader of the facts (rules, lint, reports) sees the same values.
    Likewise a BrukerPlan score derives a field the team left unknown, by the
    table in messages/brukerplan.yaml (see brukerplan.py); never over a value
    the team entered.
    """
    return profile_facts_and_derivations(prefix, profile)[0]


def profile_facts_and_derivations(
    prefix: str, profile: BaseModel | None, flat: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[Derivation]]:
    """`profile_to_facts` and the BrukerPlan derivations it applied (those of
    `brukerplan_derivations`: derived from the same entered values), at once.

    `flat`: the profile flattened already (`screened_facts` of the input it was
    validated from, which is then used and changed): not flattened again."""
    facts: dict[str, Any] = {}
    derivations: list[Derivation] = []
    if profile is not None:
        if flat is None:
            _flatten(prefix, profile, facts)
        else:
            facts = flat
        for path, renamed in DEPRECATED_VALUES.items():
            value = facts.get(path)
            if value in renamed:
                facts[path] = renamed[value]
        if facts.get("resident.needs_coercion") is False:
            facts.setdefault("resident.coercion_need", "none")
        if prefix == "resident" and getattr(profile, "brukerplan", None) is not None:
            derivations = derive_from_brukerplan(facts)
            for derivation in derivations:
                facts[derivation.path] = derivation.value
    return facts, derivations


_NOT_FACTS = frozenset({"id", "name"})


_PLAIN = frozenset({str, bool, int, float})


@cache
def _fact_paths(model: type[BaseModel], prefix: str) -> tuple[tuple[str, str], ...]:
    """(attribute, fact path) of a model's fields under `prefix`, computed once."""
    return tuple((key, f"{prefix}.{key}") for key in model.model_fields if key not in _NOT_FACTS)


def _flatten(prefix: str, model: BaseModel, into: dict[str, Any]) -> None:
    values = model.__dict__
    for key, path in _fact_paths(model.__class__, prefix):
        value = values.get(key)
        if value is None:
            continue
        kind = value.__class__
        if kind in _PLAIN:
            into[path] = value
        elif kind is list:
            into[path] = tuple(value)
        elif isinstance(value, BaseModel):
            _flatten(path, value, into)
        elif isinstance(value, date):
            into[path] = value.isoformat()
        else:
            into[path] = value


def profile_dates(prefix: str, profile: BaseModel | None) -> list[tuple[str, date]]:
    """Every date field of a profile with its value (to hold them against `as_of`)."""
    found: list[tuple[str, date]] = []
    if profile is None:
        return found
    values = profile.__dict__
    for key in _date_or_model_fields(profile.__class__):
        value = values.get(key)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            found.extend(profile_dates(f"{prefix}.{key}", value))
        elif isinstance(value, date):
            found.append((f"{prefix}.{key}", value))
    return found


@cache
def _date_or_model_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model that can hold a date, or a nested model that can, in field
    order (the others cannot hold a date: the contract models are strict and closed)."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if _is_date_field(field.annotation)
        or any(_date_or_model_fields(m) for m in _models_in(field.annotation))
        or (_holds_model(field.annotation) and not _models_in(field.annotation))
    )


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The contract model classes an annotation names (none for a plain field)."""
    if _is_model(annotation):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]
