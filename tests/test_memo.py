"""What a rule's values decide is looked up once seen (evaluation/memo.py): the lookups
give exactly what computing afresh gives, whatever the engine has seen before."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from conftest import BACKENDS, comparable
from roprules import Engine
from roprules.evaluation.memo import Memo
from roprules.evaluation.questions import waiting_rules
from strategies import LATEST_DATE, offer_profiles, resident_profiles

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
AS_OF = LATEST_DATE  # no generated date lies after it
WARM = {backend: Engine.load(backend=backend) for backend in BACKENDS}


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_a_warm_engine_answers_as_a_fresh_one(resident: dict[str, Any], offer: dict[str, Any]):
    """The shared engines have seen every earlier example (their memos are warm); an
    engine with empty memos computes everything: the assessments are the same."""
    for backend, warm in WARM.items():
        fresh = Engine(warm.ruleset, backend=backend)
        try:
            for lang in ("nb", "en"):
                expected = fresh.check(resident, offer, lang=lang, as_of=AS_OF)
                assert comparable(warm.check(resident, offer, lang=lang, as_of=AS_OF)) == (
                    comparable(expected)
                ), backend
        finally:
            fresh.close()


def test_memo_is_bounded_and_computes_unhashable_keys_every_time() -> None:
    memo = Memo(limit=3)
    calls: list[int] = []
    for i in range(10):
        assert memo.get(("r", (i,)), lambda i=i: calls.append(i) or i) == i
        assert len(memo) <= 3
    assert memo.get(("r", (1,)), lambda: calls.append(-1) or 1) == 1  # emptied since: again
    calls.clear()
    for _ in range(2):
        assert memo.get(("r", ([1, 2],)), lambda: calls.append(0) or "x") == "x"
    assert calls == [0, 0]


def test_key_holds_the_values_read_and_nothing_else() -> None:
    paths = ("offer.a", "resident.b")
    one = Memo.key("r1", paths, {"offer.a": 1, "resident.b": None, "offer.z": 5}, "nb")
    two = Memo.key("r1", paths, {"offer.a": 1, "offer.z": 6}, "nb")
    assert one == two
    assert one != Memo.key("r1", paths, {"offer.a": 2}, "nb")
    assert one != Memo.key("r1", paths, {"offer.a": 1}, "en")


def test_supersessions_give_superseded_by_of_every_fired_rule() -> None:
    """All shipped rules fired at once: the one-pass map equals the per-rule function."""
    from roprules.evaluation.outcome import superseded_by, supersessions

    fired = WARM[BACKENDS[-1]].ruleset.rules
    found = supersessions(fired)
    assert found, "the shipped rules supersede one another somewhere"
    for rule in fired:
        assert found.get(rule.id, []) == superseded_by(rule.id, fired), rule.id


def test_the_wordings_supersessions_are_those_of_the_fired_rules() -> None:
    """`Wording._supersessions` (the pairs found at load) gives what `supersessions` gives,
    on every subset of the shipped rules around each superseding one, and on seeded
    random subsets (a rule fires once in an outcome)."""
    import random

    from roprules.evaluation.outcome import supersessions

    engine = WARM[BACKENDS[-1]]
    wording, rules = engine._wording, engine.ruleset.rules
    by_id = {r.id: r for r in rules}
    subsets = []
    for rule in rules:
        if rule.spec.supersedes:
            group = [rule, *(by_id[t] for t in rule.spec.supersedes if t in by_id)]
            others = [r for r in rules[:5] if r.id not in {g.id for g in group}]
            subsets += [group, group[:1], group[1:], [*group, *others]]
    generator = random.Random(11)
    subsets += [generator.sample(rules, generator.randint(0, len(rules))) for _ in range(300)]
    for fired in subsets:
        assert (wording._supersessions(fired) or {}) == supersessions(fired)


def _placement(resident: dict[str, Any], offer: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """The warm evaluator engine's wording, a placement's facts, their derived sources and
    its outcome: what the tests of models built without validation start from."""
    from roprules.contract.intake import load_offer, load_resident
    from roprules.contract.profiles import derived_sources
    from roprules.evaluation.outcome import assessment_facts

    engine = WARM["evaluator"]
    person = load_resident(resident)
    facts = assessment_facts(person, load_offer(offer), AS_OF)
    derived = derived_sources(facts, person)
    return engine._wording, facts, derived, engine._evaluator.outcome("placement", facts)


def _assert_same_model(built: Any, validated: Any) -> None:
    """A model built without validation is the validated one: equal, the same fields
    set, its attributes in the same order and the same JSON."""
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert list(built.__dict__) == list(validated.__dict__)
    assert built.model_dump_json() == validated.model_dump_json()


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_a_finding_copied_from_its_template_is_the_validated_finding(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """A finding not seen before is its rule's validated template copied with its texts and
    facts (`Wording._new_finding`): the same model, fields set and JSON as validating the
    whole finding."""
    from roprules.contract.assessment import Finding

    wording, facts, derived, outcome = _placement(resident, offer)
    for rule in outcome.fired:
        for lang in ("nb", "en"):
            copied = wording._new_finding(rule, facts, lang, derived)
            validated = Finding.model_validate(
                {**wording.finding(rule, facts, lang, derived), "superseded_by": []}
            )
            assert copied == validated
            assert copied.model_fields_set == validated.model_fields_set
            assert copied.model_dump_json() == validated.model_dump_json()


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_a_fact_built_without_validation_is_the_validated_fact(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """A fact not seen before is built without pydantic-core's pass (`Wording._new_fact`):
    the same model, fields set, attributes in the same order and JSON as validating it,
    for every fact of every fired rule and for each fact with its value as a list too."""
    from roprules.contract.assessment import Fact

    wording, facts, derived, outcome = _placement(resident, offer)
    for rule in outcome.fired:
        for lang in ("nb", "en"):
            for fact in wording._new_finding(rule, facts, lang, derived).facts:
                source = derived.get(fact.field) if derived else None
                for value in (fact.value, [fact.value]):
                    built = wording._new_fact(fact.field, value, lang, source)
                    validated = Fact.model_validate(wording.fact(fact.field, value, lang, source))
                    _assert_same_model(built, validated)


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_an_open_question_built_without_validation_is_the_validated_one(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """An open question not seen before is built without pydantic-core's pass
    (`_missing_info`): the same model, fields set, attribute order and JSON as validating
    the entry, for every open question, with and without "could change the verdict"."""
    from roprules.contract.assessment import MissingInfo
    from roprules.report.open_questions import missing_entries
    from roprules.report.wording import _missing_info

    wording, _, _, outcome = _placement(resident, offer)
    waiting = waiting_rules(outcome)
    for lang in ("nb", "en"):
        for could_change in (None, {path: index % 2 == 0 for index, path in enumerate(waiting)}):
            for entry in missing_entries(waiting, could_change, wording.messages, lang):
                validated = MissingInfo.model_validate(entry)
                built = _missing_info(dict(entry))
                _assert_same_model(built, validated)


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_an_open_question_built_from_its_words_is_the_general_one(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """An open question not seen before is built from its field's words and the rules'
    titles looked up once (`Wording._new_missing`): the same place in the order, model,
    fields set, attribute order and JSON as `missing_entries`, `_missing_info` and
    `_ordered`, for every open question, with and without "could change the verdict"."""
    from roprules.report.open_questions import missing_entries
    from roprules.report.wording import _missing_info, _ordered

    wording, _, _, outcome = _placement(resident, offer)
    waiting = waiting_rules(outcome)
    for lang in ("nb", "en"):
        for could_change in (None, {path: index % 2 == 0 for index, path in enumerate(waiting)}):
            for path, rules in waiting.items():
                change = could_change.get(path) if could_change else None
                built = wording._new_missing(path, tuple(r.id for r in rules), change, lang)
                assert built is not None
                general = _ordered(
                    _missing_info(
                        missing_entries({path: rules}, could_change, wording.messages, lang)[0]
                    ),
                    wording._field_places,
                )
                assert built[0] == general[0]
                _assert_same_model(built[1], general[1])


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_undetermined_rules_built_without_validation_are_the_validated_ones(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """An undetermined rule not seen before is built without pydantic-core's pass
    (`Wording._new_undetermined`), and the undetermined rules of an outcome are looked up
    by its (rule, fields) pairs (`_undetermined_models`): each the same model, fields set,
    attribute order and JSON as validating it, most severe first, then by rule id, on a
    warm engine and on a fresh one, in both languages."""
    from roprules.contract.assessment import Undetermined
    from roprules.contract.rule_schema import SEVERITY_ORDER
    from roprules.report.wording import Wording

    wording, _, _, outcome = _placement(resident, offer)
    fresh = Wording(wording.ruleset, wording.messages)
    ordered = sorted(outcome.undetermined, key=lambda p: (SEVERITY_ORDER[p[0].severity], p[0].id))
    for lang in ("nb", "en"):
        validated = [
            Undetermined(
                rule_id=rule.id,
                severity=rule.severity,
                title=rule.spec.title.get(lang),
                waiting_on=sorted(waiting),
            )
            for rule, waiting in ordered
        ]
        unhashable = [(rule, set(waiting)) for rule, waiting in outcome.undetermined]
        for words, pairs in (
            (wording, outcome.undetermined),
            (fresh, outcome.undetermined),
            (fresh, outcome.undetermined),
            (fresh, unhashable),
        ):
            models = words._undetermined_models(pairs, lang)  # warm, empty, seen; a set
            assert len(models) == len(validated)
            for built, expected in zip(models, validated, strict=True):
                _assert_same_model(built, expected)
        for (rule, waiting), expected in zip(ordered, validated, strict=True):
            _assert_same_model(Wording._new_undetermined(rule, waiting, lang), expected)
            _assert_same_model(wording.undetermined(rule, set(waiting), lang), expected)


def test_open_counts_are_open_questions_by_severity() -> None:
    """`_open_counts` (severities counted by `list.count`) gives what
    `open_questions_by_severity` gives, keys in the same order, "info" and an unknown
    severity too."""
    import itertools

    from roprules.evaluation.questions import open_questions_by_severity
    from roprules.report.wording import _open_counts

    severities = ("critical", "major", "minor", "info", "other")
    for size in range(5):
        for combination in itertools.product(severities, repeat=size):
            counted = _open_counts(list(combination))
            expected = open_questions_by_severity(combination)
            assert counted == expected
            assert list(counted) == list(expected)


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_completeness_looked_up_by_weight_is_completeness(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """`Wording._completeness` (once per scope and weight of the undetermined rules, the
    weights kept with their memo entries) is `completeness` of the outcome, on a warm
    wording and a fresh one; the entries' severities are their models'."""
    from roprules.evaluation.questions import SEVERITY_WEIGHTS, completeness
    from roprules.report.wording import Wording

    wording, _, _, outcome = _placement(resident, offer)
    fresh = Wording(wording.ruleset, wording.messages)
    for words in (wording, fresh, fresh):
        rules = words.scope_rules("placement")
        found = words._undetermined_found(outcome.undetermined, "nb")
        assert [w for _, _, w in found] == [SEVERITY_WEIGHTS[m.severity] for _, m, _ in found]
        expected = completeness(rules, [rule for rule, _ in outcome.undetermined])
        weight = sum(w for _, _, w in found)
        assert words._completeness("placement", outcome, weight) == expected
        for _, model, severity in words._missing_found(outcome, "nb", None):
            assert model.severity == severity


@SETTINGS
@given(resident=resident_profiles(), offer=offer_profiles())
def test_an_assessment_built_without_validation_is_the_validated_one(
    resident: dict[str, Any], offer: dict[str, Any]
):
    """`Wording.assessment` builds the Assessment from its data without pydantic-core's
    pass (`_assessment`): the same model, fields set, attribute order and JSON as
    validating the data, on both backends, in both languages, with notices (of
    deprecated fields and BrukerPlan derivations) and without; data that does not hold
    its types goes the general way, with the same error."""
    import pydantic
    import pytest

    from roprules.contract.assessment import Assessment
    from roprules.report import wording as module

    captured: list[dict[str, Any]] = []
    original = module._assessment

    def spy(data: dict[str, Any]) -> Any:
        captured.append(data)
        return original(data)

    module._assessment = spy
    try:
        for warm in WARM.values():
            for lang in ("nb", "en"):
                warm.check(resident, offer, lang=lang, as_of=AS_OF)
    finally:
        module._assessment = original
    notices = [
        {"field": "resident.a", "message": "m", "replacement": "resident.b"},
        {"field": "resident.c", "message": "n", "replacement": None},
    ]
    for data in captured:
        for variant in (data, {**data, "notices": notices}):
            built, validated = original(variant), Assessment.model_validate(variant)
            _assert_same_model(built, validated)
            assert built.model_dump_json(exclude_unset=True) == validated.model_dump_json(
                exclude_unset=True
            )
            for notice, expected in zip(built.notices, validated.notices, strict=True):
                _assert_same_model(notice, expected)
    for bad in ({"verdict_summary": 3}, {"lang": "de"}, {"notices": [{"field": 1}]}):
        data = {**captured[0], **bad}
        with pytest.raises(pydantic.ValidationError) as general:
            Assessment.model_validate(data)
        with pytest.raises(pydantic.ValidationError) as ours:
            original(data)
        assert str(ours.value) == str(general.value)
