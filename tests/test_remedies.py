"""What would make it suitable: counterfactuals for findings and for the verdict.

Every critical rule of the catalogue is shown, on its own `fires` examples, to
have a verified remedy (applying it makes the rule false in a whole new
evaluation) or, where it rests on fixed facts alone, to be named by the verdict
remedy as the reason no change can help. Properties: no counterfactual ever
changes a fixed field, and applying a reported remedy clears its finding.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from conftest import BACKENDS, REPO, facts_of, shared_engine
from roprules import Engine
from roprules.contract.fields import field_registry
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.contract.schemas import json_schema
from roprules.evaluation.counterfactuals import (
    apply,
    finding_remedies,
    verdict_remedy,
    without_changeable,
)
from roprules.evaluation.outcome import assessment_facts
from roprules.report.render import render_assessment
from roprules.rulebase.ruleset import example_as_of, example_profiles
from strategies import offer_profiles, resident_profiles
from test_language import FORBIDDEN

RULES = shared_engine().ruleset.rules
CRITICAL = [rule.id for rule in RULES if rule.severity == "critical"]
SCOPE = {"placement": "placement", "offer": "offer", "resident": "resident"}
R01 = REPO / "profiles/residents/r01-high-risk-round-the-clock.yaml"
GASEID = REPO / "profiles/offers/aalesund-gaseid.yaml"


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    return shared_engine(request.param)


def _fires(rule_id: str) -> list[tuple[dict[str, Any], Any]]:
    """The facts of each `fires` example of a rule, with its date."""
    rule = shared_engine().ruleset.rule(rule_id)
    out = []
    for case in rule.spec.examples.fires:
        resident, offer = example_profiles(case)
        day = example_as_of(case)
        out.append((facts_of(resident, offer, day), case))
    return out


def _fixed(path: str) -> bool:
    return field_registry()[path].field_class == "fixed"


@pytest.mark.parametrize("rule_id", CRITICAL)
def test_every_critical_rule_has_a_verified_counterfactual_or_is_named_fixed(engine, rule_id):
    rule = engine.ruleset.rule(rule_id)
    evaluator = engine._evaluator
    scope = SCOPE[rule.scope]
    remedied = fixed = 0
    for facts, _case in _fires(rule_id):
        assert rule.evaluate(facts) is True
        found = finding_remedies(evaluator, scope, facts, rule_id)
        if rule.evaluate(without_changeable(facts)) is True:
            # It holds on fixed facts alone: nothing to change, and the verdict says so.
            assert found == []
            search = verdict_remedy(evaluator, scope, facts)
            assert search.target is None and search.counterfactual is None
            assert rule_id in search.fixed
            fixed += 1
            continue
        assert found, f"{rule_id}: no remedy for {facts}"
        for result in found:
            assert all(not _fixed(change.field) for change in result.changes)
            changed = apply(facts, result.changes)
            outcome = evaluator.outcome(scope, changed)
            assert rule_id not in {r.id for r in outcome.fired}
            assert rule_id in result.clears
            waiting = {r.id: w for r, w in outcome.undetermined}
            if result.waiting:  # no longer fires, but waits on facts not known yet
                assert rule.evaluate(changed) is None
                assert set(result.waiting) == set(waiting[rule_id])
            else:
                assert rule.evaluate(changed) is False
                assert rule_id not in waiting
        remedied += 1
    assert remedied + fixed == len(rule.spec.examples.fires)


def test_the_catalogue_has_both_kinds_of_critical_rule(engine):
    """Most critical rules can be remedied; some rest on fixed facts alone."""
    kinds = set()
    for rule_id in CRITICAL:
        rule = engine.ruleset.rule(rule_id)
        for facts, _ in _fires(rule_id):
            kinds.add(rule.evaluate(without_changeable(facts)) is True)
    assert kinds == {True, False}


def test_remedies_are_smallest_first_and_at_most_three(engine):
    assessment = engine.check(R01, GASEID, remedies=True, as_of="2026-12-01")
    serious = [f for f in assessment.findings if f.severity in ("critical", "major")]
    assert serious
    for finding in assessment.findings:
        if finding.severity in ("critical", "major"):
            assert finding.remedies is not None
            assert len(finding.remedies) <= 3
            sizes = [len(r.changes) for r in finding.remedies]
            assert sizes == sorted(sizes)
            for remedy in finding.remedies:
                assert finding.rule_id in remedy.clears
                assert remedy.text.startswith("Ryddes hvis ")
        else:
            assert finding.remedies is None  # computed for critical and major only


def test_verdict_remedy_lifts_the_verdict_and_is_verified(engine):
    assessment = engine.check(R01, GASEID, remedies=True, as_of="2026-12-01")
    remedy = assessment.verdict_remedy
    assert assessment.verdict == "unsuitable"
    assert remedy is not None and remedy.target in ("suitable", "conditional")
    assert 1 <= len(remedy.changes) <= 3
    assert remedy.verdict == remedy.target
    assert all(change.changed_by in ("offer", "process") for change in remedy.changes)
    # Verified again here: the changed facts give that verdict.
    facts = _facts(R01, GASEID, "2026-12-01")
    for change in remedy.changes:
        facts[change.field] = (
            tuple(change.value) if isinstance(change.value, list) else change.value
        )
    outcome = engine._evaluator.outcome("placement", facts)
    assert not [r for r in outcome.fired if r.severity == "critical"]
    assert remedy.text.startswith("Vurderingen blir «")
    assert "heldøgns bemanning" in remedy.text


def _facts(resident: Any, offer: Any, day: str) -> dict[str, Any]:
    from datetime import date

    from roprules.contract.intake import load_offer, load_resident

    return assessment_facts(load_resident(resident), load_offer(offer), date.fromisoformat(day))


def test_fixed_only_verdict_names_the_rules(engine):
    resident = {"id": "R-1", "coercion_need": "residential"}
    offer = {"id": "O-1", "type": "small_house", "staffing": "round_the_clock"}
    assessment = engine.check(resident, offer, remedies=True, lang="en")
    assert assessment.verdict == "unsuitable"
    remedy = assessment.verdict_remedy
    assert remedy.target is None and remedy.changes == ()
    assert "coercion.outside-institution" in remedy.fixed
    title = engine.ruleset.rule("coercion.outside-institution").spec.title.en
    assert title in remedy.text and remedy.text.startswith("No change to the offer")
    finding = next(f for f in assessment.findings if f.rule_id == "coercion.outside-institution")
    assert finding.remedies == ()


def test_suitable_needs_nothing(engine):
    assessment = engine.check({"id": "R-1"}, {"id": "O-1", "type": "ordinary"}, remedies=True)
    if assessment.verdict == "suitable":
        assert assessment.verdict_remedy.changes == ()
        assert assessment.verdict_remedy.target == "suitable"


def test_not_computed_unless_asked(engine):
    plain = engine.check(R01, GASEID)
    assert plain.verdict_remedy is None
    assert all(f.remedies is None for f in plain.findings)
    audit = engine.audit(GASEID, remedies=True)
    assert audit.verdict_remedy is not None
    ranking = engine.rank(R01, [GASEID], remedies=True)
    assert ranking.ranking[0].assessment.verdict_remedy is not None


def test_json_validates_and_old_json_still_does(engine):
    schema = json_schema("assessment")
    with_remedies = engine.check(R01, GASEID, remedies=True)
    document = json.loads(render_assessment(with_remedies, "json"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    change = document["verdict_remedy"]["changes"][0]
    assert set(change) == {
        "field",
        "label",
        "value",
        "display",
        "before",
        "before_display",
        "known_before",
        "changed_by",
    }
    old = json.loads(render_assessment(engine.check(R01, GASEID), "json"))
    del old["verdict_remedy"]
    for finding in old["findings"]:
        del finding["remedies"]
    jsonschema.validate(old, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_texts_are_words_not_codes(engine, lang):
    assessment = engine.check(R01, GASEID, remedies=True, lang=lang)
    texts = [assessment.verdict_remedy.text] + [
        r.text for f in assessment.findings for r in f.remedies or []
    ]
    codes = {code for info in field_registry().values() for code in info.codes if "_" in code}
    for text in texts:
        for term, pattern in FORBIDDEN.items():
            assert not re.search(pattern, text, re.IGNORECASE), term
        assert not any(code in text for code in codes), text
        assert "offer." not in text and "resident." not in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_reports_open_with_the_block(engine, fmt):
    assessment = engine.check(R01, GASEID, remedies=True, lang="en")
    report = render_assessment(assessment, fmt)
    heading = report.index("What it would take")
    assert heading < report.index("Findings (")
    assert heading > report.index("Verdict")
    plain = render_assessment(engine.check(R01, GASEID, lang="en"), fmt)
    assert "What it would take" not in plain


SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_property_never_a_fixed_field_and_a_remedy_clears_its_finding(
    engine, resident: dict[str, Any], offer: dict[str, Any]
) -> None:
    facts = facts_of(ResidentProfile.model_validate(resident), OfferProfile.model_validate(offer))
    evaluator = engine._evaluator
    base = evaluator.outcome("placement", facts)
    for rule in base.fired:
        if rule.severity not in ("critical", "major"):
            continue
        for result in finding_remedies(evaluator, "placement", facts, rule.id):
            assert result.changes
            assert all(not _fixed(c.field) for c in result.changes)
            assert all(
                c.changed_by == field_registry()[c.field].field_class for c in result.changes
            )
            changed = apply(facts, result.changes)
            outcome = evaluator.outcome("placement", changed)
            assert rule.id not in {r.id for r in outcome.fired}
            assert rule.evaluate(changed) is (None if result.waiting else False)
    search = verdict_remedy(evaluator, "placement", facts, budget_s=0.5)
    if search.counterfactual is not None:
        assert all(not _fixed(c.field) for c in search.counterfactual.changes)
        assert len(search.counterfactual.changes) <= 3
        changed = apply(facts, search.counterfactual.changes)
        outcome = evaluator.outcome("placement", changed)
        order = ["suitable", "conditional", "incomplete", "unsuitable"]
        from roprules.evaluation.counterfactuals import verdict_from

        assert order.index(verdict_from(outcome)) <= order.index(search.target)
    for rule_id in search.fixed:
        assert engine.ruleset.rule(rule_id).evaluate(without_changeable(facts)) is True


# ---------------------------------------------------------------- HTTP, CLI, web


@pytest.fixture(scope="module")
def http():
    from fastapi.testclient import TestClient

    from conftest import OFFERS_DIR
    from roprules.service import create_app

    return TestClient(create_app(shared_engine(), offers_dir=OFFERS_DIR))


def _json_profile(path) -> dict[str, Any]:
    import yaml

    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def test_http_remedies_only_when_asked(http):
    body = {"resident": _json_profile(R01), "offer_id": "O-aalesund-gaseid"}
    plain = http.post("/v1/check", json=body).json()
    assert plain["verdict_remedy"] is None
    assert all(f["remedies"] is None for f in plain["findings"])
    asked = http.post("/v1/check?remedies=true&lang=en", json=body).json()
    assert asked["verdict_remedy"]["text"].startswith("The verdict becomes")
    critical = [f for f in asked["findings"] if f["severity"] == "critical"]
    assert critical and all(f["remedies"] for f in critical)
    jsonschema.validate(asked, json_schema("assessment"), cls=jsonschema.Draft202012Validator)
    ranked = http.post(
        "/v1/rank?remedies=true",
        json={"resident": _json_profile(R01), "offer_ids": ["O-aalesund-gaseid"]},
    ).json()
    assert ranked["ranking"][0]["assessment"]["verdict_remedy"] is not None
    bad = http.post("/v1/check?remedies=maybe", json=body)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "remedies"


def test_cli_on_by_default_and_no_remedies_skips(capsys):
    from roprules import cli

    code = cli.main(["check", "--resident", str(R01), "--offer", str(GASEID)])
    out = capsys.readouterr().out
    assert code == 0 and "Dette må til" in out
    code = cli.main(["check", "--resident", str(R01), "--offer", str(GASEID), "--no-remedies"])
    out = capsys.readouterr().out
    assert code == 0 and "Dette må til" not in out
    cli.main(["check", "--resident", str(R01), "--offer", str(GASEID), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert document["verdict_remedy"]["changes"]


def test_web_result_shows_the_block_on_top(tmp_path):
    from fastapi.testclient import TestClient

    from test_web import HIGH_RISK, assess, make_app

    app, _ = make_app(tmp_path)
    client = TestClient(app)
    html = assess(client, HIGH_RISK)
    assert 'class="remedy"' in html
    assert html.index("Dette må til") < html.index('id="findings-title"')
    assert "heldøgns bemanning" in html[html.index("Dette må til") :]


# ---------------------------------------------------------------- matrix: what would serve the gaps


def test_matrix_gaps_grouped_by_what_would_serve_them(engine):
    import copy

    import yaml

    from roprules.report.render import render_matrix

    base = yaml.safe_load(R01.read_text(encoding="utf-8"))
    residents = [{**copy.deepcopy(base), "id": f"R-{i}"} for i in range(3)]
    offers = []
    for path in sorted((REPO / "profiles/offers").glob("*.yaml")):
        offer = yaml.safe_load(path.read_text(encoding="utf-8"))
        if offer.get("staffing") != "round_the_clock":
            offers.append(offer)
    plain = engine.matrix(residents, offers, as_of="2026-12-01")
    assert plain.gaps and plain.needs == []  # computed only when asked for
    matrix = engine.matrix(residents, offers, as_of="2026-12-01", remedies=True, lang="en")
    assert matrix.needs
    need = matrix.needs[0]
    assert need.resident_ids == ["R-0", "R-1", "R-2"]
    assert ("offer.staffing", "round_the_clock") in {(c.field, c.value) for c in need.changes}
    assert all(c.changed_by == "offer" for c in need.changes)
    assert need.offers_with == 0 and need.offers == len(offers)
    assert need.text.startswith("3 residents (R-0, R-1, R-2) need an offer where")
    assert f"none of the {len(offers)} offers has it" in need.text
    document = json.loads(render_matrix(matrix, "json", lang="en"))
    jsonschema.validate(document, json_schema("matrix"), cls=jsonschema.Draft202012Validator)
    for fmt in ("text", "markdown", "html"):
        assert need.text.split(";")[0] in render_matrix(matrix, fmt, lang="en")


def test_web_printable_report_opens_with_the_block(tmp_path):
    from fastapi.testclient import TestClient

    from test_web import HIGH_RISK, as_form, assess, hidden_values, make_app

    app, _ = make_app(tmp_path)
    client = TestClient(app)
    result = assess(client, HIGH_RISK)
    report = client.post("/report", data=as_form(hidden_values(result, "/report")))
    assert report.status_code == 200
    assert report.text.index("Dette må til") < report.text.index("Funn (")
    assert "svar på de åpne spørsmålene først" in report.text
