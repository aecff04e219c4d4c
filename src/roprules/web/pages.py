"""The web app's pages: assess, answer open questions, rank, record decisions, the register.

Server-rendered with Jinja2 (autoescaped: every profile value is HTML-escaped),
no JavaScript needed. Everything goes through the public `Engine` API and the
decision store; nothing here evaluates a rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from roprules import Assessment, InputError, OfferProfile
from roprules.contract.fields import field_registry
from roprules.store import DECISIONS, ROLES, DecisionRecord, DecisionStore, RecordError
from roprules.web.auth import (
    LoginRequired,
    check_csrf,
    csrf_token,
    current_user,
    require,
)
from roprules.web.forms import (
    EMPTY,
    FormError,
    field_id,
    flatten,
    hidden_inputs,
    read_profile,
    sections,
)
from roprules.web.texts import LANGS, ui

TEMPLATES = Path(__file__).parent / "templates"
SEVERITIES = ("critical", "major", "minor", "info")

router = APIRouter(include_in_schema=False)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(field_id=field_id, EMPTY=EMPTY, SEVERITIES=SEVERITIES)
    # Registry labels are written to sit inside a sentence («voldsrisiko»); a form
    # label starts with a capital, the rest is left as written («NAV» stays «NAV»).
    env.filters["first_upper"] = lambda text: text[:1].upper() + text[1:] if text else text
    return env


ENV = _environment()


# ---------------------------------------------------------------- request helpers


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        request.session["lang"] = asked
        return asked
    kept = request.session.get("lang")
    return kept if kept in LANGS else "nb"


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    user = current_user(request)
    html = ENV.get_template(template).render(
        t=lambda key: ui(key, lang),
        lang=lang,
        other_lang="en" if lang == "nb" else "nb",
        user=user,
        mode=request.app.state.web_auth.mode,
        csrf=csrf_token(request),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


async def form_data(request: Request) -> tuple[Mapping[str, Any], Any]:
    form = await request.form()
    check_csrf(request, form.get("csrf"))
    return form, form.getlist


def _store(request: Request) -> DecisionStore:
    return request.app.state.web_store


def _engine(request: Request) -> Any:
    return request.app.state.web_engine


def _record(request: Request, record_id: str) -> DecisionRecord:
    """A stored decision record, or 404."""
    record = _store(request).get(record_id)
    if record is None:
        raise HTTPException(status_code=404)
    return record


def _offer_choices(request: Request) -> list[OfferProfile]:
    return _store(request).offers.all()


def _input_errors(exc: InputError) -> list[FormError]:
    """The engine's input errors as form errors, linked to their fields where named."""
    out: list[FormError] = []
    for entry in getattr(exc, "errors", None) or []:
        field = entry.get("field") if isinstance(entry, Mapping) else getattr(entry, "field", "")
        message = (
            entry.get("message") if isinstance(entry, Mapping) else getattr(entry, "message", "")
        )
        out.append(FormError(str(field or ""), str(message)))
    if not out:
        out = [FormError("", message) for message in exc.messages]
    return out


# ---------------------------------------------------------------- the placement


class Placement:
    """What the team entered: the resident's values and the offer chosen or described."""

    def __init__(
        self, form: Mapping[str, Any], getlist: Any, lang: str, offers: list[OfferProfile]
    ):
        self.errors: list[FormError] = []
        self.case_ref = str(form.get("case_ref") or "").strip()
        resident, errors = read_profile("resident", form, getlist, lang)
        self.errors += errors
        self.resident = {"id": self.case_ref, **resident}
        self.offer_id = str(form.get("offer_id") or "").strip()
        described, errors = read_profile("offer", form, getlist, lang)
        self.errors += errors
        by_id = {offer.id: offer for offer in offers}
        if self.offer_id and self.offer_id in by_id:
            base = json.loads(by_id[self.offer_id].model_dump_json(exclude_none=True))
            self.offer = _merge(base, described)  # answers to open questions about the offer
        else:
            self.offer_id = ""
            self.offer = {"id": str(form.get("offer.id") or "tilbud").strip(), **described}
        if not self.case_ref:
            self.errors.insert(0, FormError("case_ref", ui("case_ref_hint", lang)))

    def values(self) -> dict[str, Any]:
        """Every value entered, by field path (for hidden inputs and the form)."""
        values = flatten({k: v for k, v in self.resident.items() if k != "id"}, "resident")
        if not self.offer_id:
            values.update(flatten(self.offer, "offer"))
        return values

    def offer_values(self) -> dict[str, Any]:
        return flatten(self.offer, "offer")


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _assess(request: Request, placement: Placement, lang: str) -> Assessment | None:
    if placement.errors:
        return None
    try:
        return _engine(request).check(placement.resident, placement.offer, lang=lang)
    except InputError as exc:
        placement.errors += _input_errors(exc)
        return None


def _result_context(
    request: Request, placement: Placement, assessment: Assessment, lang: str
) -> dict[str, Any]:
    registry = field_registry()
    titles = {u.rule_id: u.title for u in assessment.undetermined}
    questions = []
    for missing in assessment.missing:
        info = registry.get(missing.field)
        if info is None or info.kind == "object":
            continue
        questions.append(
            {
                "info": info,
                "question": missing.question,
                "severity": missing.severity,
                "decides": [titles.get(rule_id, rule_id) for rule_id in missing.rules],
            }
        )
    asked = {q["info"].path for q in questions}
    values = placement.values()
    superseded = {f.rule_id: f for f in assessment.findings if getattr(f, "superseded_by", None)}
    shown = [f for f in assessment.findings if f.rule_id not in superseded]
    return {
        "placement": placement,
        "assessment": assessment,
        "findings": shown,
        "covered": {
            f.rule_id: [s for s in superseded.values() if f.rule_id in s.superseded_by]
            for f in shown
        },
        "serious": [f for f in assessment.findings if f.severity in ("critical", "major")],
        "questions": questions,
        "carry": hidden_inputs(values, skip=asked),
        "carry_all": hidden_inputs(values),
        "roles": ROLES,
        "decisions": DECISIONS,
        "today": date.today().isoformat(),
        "offer_name": placement.offer.get("name") or placement.offer.get("id"),
    }


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    require(request)
    return page(request, "home.html.j2")


@router.get("/assess", response_class=HTMLResponse)
async def assess_form(request: Request) -> Response:
    require(request)
    return _form_page(request, values={}, errors=[], case_ref="", offer_id="")


def _form_page(
    request: Request,
    *,
    values: Mapping[str, Any],
    errors: list[FormError],
    case_ref: str,
    offer_id: str,
    status: int = 200,
) -> Response:
    return page(
        request,
        "assess.html.j2",
        status=status,
        resident_sections=sections("resident"),
        offer_sections=sections("offer"),
        values=values,
        errors=errors,
        case_ref=case_ref,
        offer_id=offer_id,
        offer_described=not offer_id and any(path.startswith("offer.") for path in values),
        offers=_offer_choices(request),
    )


async def _posted_placement(
    request: Request,
) -> tuple[Mapping[str, Any], Any, str, Placement, Assessment | None]:
    """The form (CSRF checked), the placement it carries and its assessment (None if invalid)."""
    form, getlist = await form_data(request)
    lang = lang_of(request)
    placement = Placement(form, getlist, lang, _offer_choices(request))
    return form, getlist, lang, placement, _assess(request, placement, lang)


@router.post("/assess", response_class=HTMLResponse)
async def assess(request: Request) -> Response:
    require(request)
    _, _, lang, placement, assessment = await _posted_placement(request)
    if assessment is None:
        return _form_page(
            request,
            values=placement.values(),
            errors=placement.errors,
            case_ref=placement.case_ref,
            offer_id=placement.offer_id,
            status=422,
        )
    return page(request, "result.html.j2", **_result_context(request, placement, assessment, lang))


@router.post("/report", response_class=HTMLResponse)
async def report(request: Request) -> Response:
    """The full printable report for the placement carried by the form."""
    require(request)
    _, _, lang, _, assessment = await _posted_placement(request)
    if assessment is None:
        raise HTTPException(status_code=422)
    from roprules.report.render import render

    return HTMLResponse(render(assessment, "html", lang))


@router.post("/rank", response_class=HTMLResponse)
async def rank(request: Request) -> Response:
    require(request)
    form, getlist = await form_data(request)
    lang = lang_of(request)
    offers = _offer_choices(request)
    placement = Placement(form, getlist, lang, offers)
    ranking = None
    if not placement.errors and offers:
        try:
            ranking = _engine(request).rank(placement.resident, offers, lang=lang)
        except InputError as exc:
            placement.errors += _input_errors(exc)
    return page(
        request,
        "rank.html.j2",
        placement=placement,
        ranking=ranking,
        carry=hidden_inputs(placement.values()),
        register=offers,
        chosen=[entry.offer_id for entry in ranking.ranking[:2]] if ranking else [],
        compare_errors=[],
    )


def _compare_groups(compare: Any, lang: str) -> list[dict[str, Any]]:
    """The compare rows grouped by theme, in the compare's order."""
    groups: list[dict[str, Any]] = []
    for row in compare.rows:
        if not groups or groups[-1]["theme"] != row.theme:
            title = row.theme_title or ui("compare_other_theme", lang)
            groups.append({"theme": row.theme, "title": title, "rows": []})
        groups[-1]["rows"].append(row)
    return groups


@router.post("/compare", response_class=HTMLResponse)
async def compare(request: Request) -> Response:
    """2–4 offers of the register side by side for the resident carried by the form."""
    require(request)
    form, getlist = await form_data(request)
    lang = lang_of(request)
    offers = _offer_choices(request)
    placement = Placement(form, getlist, lang, offers)
    by_id = {offer.id: offer for offer in offers}
    chosen = [offer_id for offer_id in dict.fromkeys(getlist("compare")) if offer_id in by_id]
    errors: list[FormError] = []
    result = None
    if not 2 <= len(chosen) <= 4:
        errors.append(FormError("compare", ui("compare_count_error", lang)))
    elif not placement.errors:
        try:
            result = _engine(request).compare(
                placement.resident, [by_id[i] for i in chosen], lang=lang
            )
        except InputError as exc:
            placement.errors += _input_errors(exc)
    return page(
        request,
        "compare.html.j2",
        status=200 if result is not None else 422,
        placement=placement,
        compare=result,
        groups=_compare_groups(result, lang) if result is not None else [],
        carry=hidden_inputs(placement.values()),
        register=offers,
        chosen=chosen,
        compare_errors=errors,
    )


# ---------------------------------------------------------------- decisions


@router.post("/decisions", response_class=HTMLResponse)
async def record_decision(request: Request) -> Response:
    user = require(request, "member")
    form, getlist, lang, placement, assessment = await _posted_placement(request)
    if assessment is None:
        raise HTTPException(status_code=422)
    stances = []
    for finding in assessment.findings:
        if finding.severity not in ("critical", "major"):
            continue
        stance = form.get(f"stance.{finding.rule_id}")
        if stance:
            reason = str(form.get(f"reason.{finding.rule_id}") or "").strip() or None
            stances.append({"rule_id": finding.rule_id, "stance": stance, "reason": reason})
    decision = {
        "decision": form.get("decision"),
        "meeting_date": form.get("meeting_date") or None,
        "roles_present": [r for r in getlist("roles_present") if r],
        "stances": stances,
        "notes": str(form.get("notes") or "").strip() or None,
        "corrects": str(form.get("corrects") or "").strip() or None,
    }
    profiles = {"resident": placement.resident, "offer": placement.offer}
    try:
        record = _store(request).record(assessment, decision, actor=user.name, profiles=profiles)
    except RecordError as exc:
        context = _result_context(request, placement, assessment, lang)
        context["decision_errors"] = [
            FormError(_decision_field(e["field"], decision), e["message"]) for e in exc.errors
        ]
        context["entered"] = decision
        return page(request, "result.html.j2", status=422, **context)
    return RedirectResponse(f"/cases/{record.case_ref}#r-{record.id}", status_code=303)


def _decision_field(field: str, decision: Mapping[str, Any]) -> str:
    """The form field a store error points to (`stances[2].reason` → `reason.<rule>`)."""
    match = re.match(r"stances(?:\[(\d+)\]|\.(\d+))", field)
    stances = decision.get("stances") or []
    if match:
        index = int(match.group(1) or match.group(2))
        if index < len(stances):
            return f"reason.{stances[index]['rule_id']}"
    return field.split(".")[0] or "decision"


@router.get("/cases", response_class=HTMLResponse)
async def cases(request: Request) -> Response:
    require(request)
    return page(request, "cases.html.j2", cases=_store(request).cases())


@router.get("/cases/{case_ref}", response_class=HTMLResponse)
async def case(request: Request, case_ref: str) -> Response:
    require(request)
    records = _store(request).for_case(case_ref)
    if not records:
        raise HTTPException(status_code=404)
    return page(request, "case.html.j2", case_ref=case_ref, records=records, decisions=DECISIONS)


@router.post("/cases/{case_ref}/delete")
async def delete_case(request: Request, case_ref: str) -> Response:
    """Delete every record of a case: an admin action, itself audited."""
    user = require(request, "admin")
    await form_data(request)
    try:
        _store(request).delete_case(case_ref, actor=user.name)
    except RecordError:
        raise HTTPException(status_code=404) from None
    return RedirectResponse("/cases", status_code=303)


@router.get("/decisions/{record_id}", response_class=HTMLResponse)
async def decision_document(request: Request, record_id: str) -> Response:
    require(request)
    record = _record(request, record_id)
    assessment = Assessment.model_validate(record.assessment)
    return page(
        request,
        "decision.html.j2",
        record=record,
        assessment=assessment,
        titles={f.rule_id: f.title for f in assessment.findings},
        decisions=DECISIONS,
        role_labels=[ROLES[code][lang_of(request)] for code in record.roles_present],
    )


@router.get("/decisions/{record_id}/export.json")
async def decision_json(request: Request, record_id: str) -> Response:
    require(request)
    record = _record(request, record_id)
    return Response(
        record.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="vedtak-{record.id}.json"'},
    )


@router.get("/decisions/{record_id}/correct", response_class=HTMLResponse)
async def correct_decision(request: Request, record_id: str) -> Response:
    """The placement of an earlier record, assessed again, with the decision form pointing back."""
    require(request, "member")
    record = _record(request, record_id)
    if not record.profiles:
        raise HTTPException(status_code=404)
    lang = lang_of(request)
    resident = dict(record.profiles["resident"])
    offer = dict(record.profiles["offer"])
    values = {
        **flatten({k: v for k, v in resident.items() if k != "id"}, "resident"),
        **flatten(offer, "offer"),
    }
    pairs = hidden_inputs(values)
    fake = _MultiForm([("case_ref", record.case_ref), *pairs])
    placement = Placement(fake, fake.getlist, lang, [])
    assessment = _assess(request, placement, lang)
    if assessment is None:
        raise HTTPException(status_code=422)
    context = _result_context(request, placement, assessment, lang)
    context["corrects"] = record.id
    return page(request, "result.html.j2", **context)


class _MultiForm(dict[str, Any]):
    """A posted form rebuilt from name/value pairs (last value wins; getlist gives all)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__(pairs)
        self._pairs = pairs

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]


# ---------------------------------------------------------------- the offer register


@router.get("/offers", response_class=HTMLResponse)
async def offers(request: Request) -> Response:
    require(request)
    return page(request, "offers.html.j2", offers=_offer_choices(request))


@router.get("/offers/new", response_class=HTMLResponse)
async def offer_new(request: Request) -> Response:
    require(request, "admin")
    return _offer_form(request, None, {}, [])


@router.get("/offers/{offer_id}/edit", response_class=HTMLResponse)
async def offer_edit(request: Request, offer_id: str) -> Response:
    require(request, "admin")
    offer = _store(request).offers.get(offer_id)
    if offer is None:
        raise HTTPException(status_code=404)
    values = flatten(json.loads(offer.model_dump_json(exclude_none=True)), "offer")
    return _offer_form(request, offer_id, values, [])


def _offer_form(
    request: Request,
    offer_id: str | None,
    values: Mapping[str, Any],
    errors: list[FormError],
    status: int = 200,
) -> Response:
    return page(
        request,
        "offer_form.html.j2",
        status=status,
        offer_id=offer_id,
        sections=sections("offer"),
        values=values,
        errors=errors,
    )


@router.post("/offers", response_class=HTMLResponse)
async def offer_save(request: Request) -> Response:
    user = require(request, "admin")
    form, getlist = await form_data(request)
    lang = lang_of(request)
    described, errors = read_profile("offer", form, getlist, lang)
    offer_id = str(form.get("offer.id") or "").strip()
    values = {**flatten(described, "offer"), "offer.id": offer_id}
    editing = str(form.get("editing") or "") or None
    if not errors:
        try:
            offer = OfferProfile.model_validate({"id": offer_id, **described})
            checked = _engine(request).audit(offer, lang=lang)  # the engine's own validation
            del checked
        except InputError as exc:
            errors = _input_errors(exc)
        except ValueError as exc:  # pydantic's ValidationError
            errors = [
                FormError("offer." + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in getattr(exc, "errors", lambda: [])()
            ] or [FormError("offer.id", str(exc)[:200])]
    if errors:
        return _offer_form(request, editing, values, errors, status=422)
    _store(request).offers.save(offer, actor=user.name)
    return RedirectResponse(f"/offers/{offer.id}/review", status_code=303)


@router.get("/offers/{offer_id}/review", response_class=HTMLResponse)
async def offer_review(request: Request, offer_id: str) -> Response:
    """The offer on its own against every offer rule: the report's §9 checklist as a table."""
    require(request)
    offer = _store(request).offers.get(offer_id)
    if offer is None:
        raise HTTPException(status_code=404)
    lang = lang_of(request)
    engine = _engine(request)
    assessment = engine.audit(offer, lang=lang)
    fired = {f.rule_id: f for f in assessment.findings}
    open_ = {u.rule_id for u in assessment.undetermined}
    rows = []
    for rule in engine.ruleset.rules:
        if rule.scope != "offer":
            continue
        status = "fired" if rule.id in fired else "unknown" if rule.id in open_ else "ok"
        rows.append({"rule": rule, "title": rule.spec.title.get(lang), "status": status})
    return page(
        request, "offer_review.html.j2", offer=offer, assessment=assessment, rows=rows, fired=fired
    )


__all__ = ["LoginRequired", "router"]
