"""Ranking with reasons, and offers side by side (issue 11 item 4).

An offer about which little is known must not rank above a well-described one
merely because nothing could fire: rules that could not be evaluated count at
`ranking.unknown_weight` of their weight.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import OFFERS_DIR, REPO, RESIDENTS_DIR, offer_file, shared_engine
from roprules import Engine, cli
from roprules.contract.assessment import Compare, Ranking
from roprules.contract.documents import InputError
from roprules.evaluation.ranking import SEVERITY_WEIGHT, rank_key, rank_score
from roprules.report.ranking import reason_text
from roprules.rulebase.ruleset import RulesetError

PROFILES = REPO / "tests" / "profiles" / "ranking"
RESIDENT = PROFILES / "resident.yaml"
WELL = PROFILES / "offer-well-described.yaml"
BARELY = PROFILES / "offer-barely-described.yaml"
AS_OF = "2026-12-01"


class _SharedEngine:
    @staticmethod
    def load(rules_dir=None, overlay=None, *, backend="auto"):
        if rules_dir is None and overlay is None:
            return shared_engine(backend)
        return Engine.load(rules_dir, overlay, backend=backend)


@pytest.fixture(autouse=True)
def fast_engine(monkeypatch):
    monkeypatch.setattr(cli, "Engine", _SharedEngine)


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ the order


def test_well_described_offer_with_a_minor_finding_ranks_above_a_barely_described_one(engine):
    ranking = engine.rank(RESIDENT, [BARELY, WELL], as_of=AS_OF)
    first, second = ranking.ranking
    assert [first.offer_id, second.offer_id] == ["O-well-described", "O-barely-described"]
    assert first.verdict == second.verdict == "suitable"
    assert first.findings_by_severity["minor"] == 1
    assert sum(second.findings_by_severity.values()) == 0  # nothing could fire
    assert first.missing == 0 and second.missing > 0
    assert first.score == SEVERITY_WEIGHT["minor"]
    assert second.score > first.score


def test_reasons_are_one_plain_line_in_both_languages(engine):
    nb = engine.rank(RESIDENT, [BARELY, WELL], as_of=AS_OF)
    en = engine.rank(RESIDENT, [BARELY, WELL], as_of=AS_OF, lang="en")
    assert nb.ranking[0].reason == "Egnet; 1 mindre merknad"
    assert en.ranking[0].reason == "Suitable; 1 minor finding"
    missing = nb.ranking[1].missing
    assert nb.ranking[1].reason == f"Egnet; ingen merknader; {missing} spørsmål er åpne"
    assert en.ranking[1].reason == f"Suitable; no findings; {missing} questions are open"
    for entry in nb.ranking + en.ranking:
        assert "\n" not in entry.reason
        assert entry.remedy_summary is None  # no remedies computed


def test_reason_counts_every_severity_and_the_singular():
    counts = {"critical": 2, "major": 1, "minor": 0, "info": 1}
    assert reason_text("unsuitable", counts, 1, "nb") == (
        "Uegnet; 2 kritiske merknader; 1 vesentlig merknad; 1 råd; 1 spørsmål er åpent"
    )
    assert reason_text("unsuitable", counts, 1, "en") == (
        "Unsuitable; 2 critical findings; 1 major finding; 1 piece of advice; 1 question is open"
    )


def test_unknown_weight_is_a_bounded_parameter_an_overlay_can_change(tmp_path: Path):
    engine = shared_engine()
    parameter = engine.ruleset.parameters["ranking.unknown_weight"]
    assert parameter.value == 0.5 and (parameter.min, parameter.max) == (0, 1)
    assert parameter.rationale.nb and parameter.rationale.en
    # At 0 an open question weighs nothing: the barely described offer, with no
    # finding, comes first again (a municipality's choice, within bounds).
    overlay = tmp_path / "k.yaml"
    overlay.write_text("name: K\nparameters:\n  ranking.unknown_weight: 0\n", encoding="utf-8")
    with Engine.load(overlay=overlay, backend="evaluator") as local:
        ranking = local.rank(RESIDENT, [WELL, BARELY], as_of=AS_OF)
    assert [e.offer_id for e in ranking.ranking] == ["O-barely-described", "O-well-described"]
    assert ranking.ranking[0].score == 0
    overlay.write_text("name: K\nparameters:\n  ranking.unknown_weight: 1.5\n", encoding="utf-8")
    with pytest.raises(RulesetError) as refused:
        Engine.load(overlay=overlay, backend="evaluator")
    assert any("ranking.unknown_weight" in m for m in refused.value.messages)


@given(
    fired=st.lists(st.sampled_from(list(SEVERITY_WEIGHT)), max_size=6),
    open_rules=st.lists(st.sampled_from(list(SEVERITY_WEIGHT)), max_size=6),
    more=st.sampled_from(list(SEVERITY_WEIGHT)),
    weight=st.floats(min_value=0.01, max_value=1),
)
def test_an_extra_open_rule_never_improves_the_score(fired, open_rules, more, weight):
    base = rank_score(fired, open_rules, weight)
    assert rank_score(fired, [*open_rules, more], weight) > base
    assert rank_score(list(reversed(fired)), list(reversed(open_rules)), weight) == base
    assert rank_key("suitable", 1000.0, "Z") < rank_key("conditional", 0.0, "A")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resident=st.sampled_from(sorted(RESIDENTS_DIR.glob("*.yaml"))))
def test_matrix_orders_offers_as_rank_does(resident):
    engine = shared_engine()
    offers = sorted(OFFERS_DIR.glob("*.yaml"))
    ranking = engine.rank(resident, offers, as_of=AS_OF)
    matrix = engine.matrix([resident], offers, as_of=AS_OF)
    assert [c.offer_id for c in matrix.rows[0].ranking] == [e.offer_id for e in ranking.ranking]
    scores = [(e.verdict, e.score) for e in ranking.ranking]
    assert all(score is not None for _, score in scores)


# ------------------------------------------------------------------ summary detail


def test_summary_ranking_of_the_shipped_offers_is_a_few_kilobytes(capsys):
    resident = next(RESIDENTS_DIR.glob("r01*.yaml"))
    code, full, _ = run(capsys, "rank", "--resident", resident, OFFERS_DIR, "--format", "json")
    assert code == 0
    code, summary, _ = run(
        capsys,
        "rank",
        "--resident",
        resident,
        OFFERS_DIR,
        "--format",
        "json",
        "--detail",
        "summary",
    )
    assert code == 0
    assert len(summary.encode()) < 12_000 < 100_000 < len(full.encode())
    data = json.loads(summary)
    Ranking.model_validate(data)
    assert data["detail"] == "summary"
    offers = len(list(OFFERS_DIR.glob("*.yaml")))
    assert len(data["ranking"]) == offers
    for entry in data["ranking"]:
        assert entry["assessment"] is None
        assert entry["reason"] and entry["score"] is not None
        assert isinstance(entry["rule_ids"], list)
    for word in ('"facts"', '"sources"', '"explanation"', '"suggestions"'):
        assert word not in summary
    # The order and the verdicts are those of the full ranking.
    full_data = json.loads(full)
    assert [e["offer_id"] for e in full_data["ranking"]] == [e["offer_id"] for e in data["ranking"]]


def test_summary_detail_through_the_api(engine):
    summary = engine.rank(RESIDENT, [WELL, BARELY], as_of=AS_OF, detail="summary")
    assert summary.detail == "summary"
    assert summary.ranking[0].rule_ids == ("building.no-sprinkler",)
    with pytest.raises(ValueError):
        engine.rank(RESIDENT, [WELL], detail="short")


# ------------------------------------------------------------------ compare


def test_compare_puts_offers_side_by_side(engine):
    gaseid = offer_file("aalesund-gaseid")
    compared = engine.compare(RESIDENT, [BARELY, WELL, gaseid], as_of=AS_OF, lang="en")
    assert [o.offer_id for o in compared.offers] == [
        "O-barely-described",
        "O-well-described",
        "O-aalesund-gaseid",
    ]
    assert [o.rank for o in compared.offers][:2] == [3, 1]
    by_rule = {row.rule_id: row for row in compared.rows}
    sprinkler = by_rule["building.no-sprinkler"]
    assert [c.status for c in sprinkler.cells] == ["open", "finding", "open"]
    assert sprinkler.cells[1].severity == "minor"
    assert sprinkler.theme_title
    for row in compared.rows:
        assert len(row.cells) == 3
        assert any(c.status != "not_applicable" for c in row.cells)
    # Every finding and every open rule of each offer has its row.
    for offer, column in zip(compared.offers, range(3), strict=True):
        for finding in offer.assessment.findings:
            assert by_rule[finding.rule_id].cells[column].status == "finding"
        for rule in offer.assessment.undetermined:
            assert by_rule[rule.rule_id].cells[column].status == "open"
    # Rows follow the rule base's themes.
    themes = [t.name for t in engine.ruleset.themes]
    positions = [themes.index(row.theme) for row in compared.rows]
    assert positions == sorted(positions)


@pytest.mark.parametrize("count", [1, 5])
def test_compare_takes_two_to_four_offers(engine, count):
    offers = sorted(OFFERS_DIR.glob("*.yaml"))[:count]
    with pytest.raises(InputError) as refused:
        engine.compare(RESIDENT, offers)
    assert refused.value.errors[0].field == "offers"
    assert refused.value.errors[0].code == "wrong_count"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", "Offers side by side"),
        ("markdown", "| **Verdict** |"),
        ("html", '<th scope="col">Finding</th>'),
        ("json", '"schema_version"'),
    ],
)
def test_compare_command_in_every_format(capsys, fmt, expected):
    code, out, err = run(
        capsys,
        "compare",
        "--resident",
        RESIDENT,
        BARELY,
        WELL,
        "--format",
        fmt,
        "--lang",
        "en",
        "--as-of",
        AS_OF,
    )
    assert code == 0, err
    assert expected in out
    assert "The dwelling has no extinguishing system" in out
    if fmt == "json":
        document = Compare.model_validate(json.loads(out))
        assert [o.reason for o in document.offers] == [
            f"Suitable; no findings; {document.offers[0].missing} questions are open",
            "Suitable; 1 minor finding",
        ]
    else:
        assert "Suitable; 1 minor finding" in out
        assert "open question" in out and "not applicable" in out


def test_compare_out_suffix_picks_the_format(capsys, tmp_path):
    target = tmp_path / "side-by-side.html"
    code, _, err = run(capsys, "compare", "--resident", RESIDENT, BARELY, WELL, "--out", target)
    assert code == 0, err
    assert target.read_text(encoding="utf-8").lstrip().startswith("<!DOCTYPE html>")


def test_compare_summary_has_no_nested_assessments(capsys):
    code, out, _ = run(
        capsys,
        "compare",
        "--resident",
        RESIDENT,
        BARELY,
        WELL,
        "--format",
        "json",
        "--detail",
        "summary",
    )
    assert code == 0
    data = json.loads(out)
    assert data["detail"] == "summary"
    assert all(offer["assessment"] is None for offer in data["offers"])
    assert data["rows"]


def test_five_offers_are_refused_with_a_clear_error(capsys):
    offers = sorted(OFFERS_DIR.glob("*.yaml"))[:5]
    code, out, err = run(capsys, "compare", "--resident", RESIDENT, *offers)
    assert code == 2
    assert out == ""
    assert "offers" in err and "2" in err and "4" in err and "5" in err
    assert "Traceback" not in err


def test_compare_schema_command(capsys):
    code, out, _ = run(capsys, "schema", "compare")
    assert code == 0
    schema = json.loads(out)
    assert "rows" in schema["properties"] and schema["$id"].startswith(
        "urn:roprules:schema:compare"
    )


def test_ranking_renderers_show_the_reason(capsys):
    for fmt in ("text", "markdown", "html"):
        code, out, _ = run(
            capsys, "rank", "--resident", RESIDENT, BARELY, WELL, "--format", fmt, "--as-of", AS_OF
        )
        assert code == 0
        assert "Egnet; 1 mindre merknad" in out
        assert "spørsmål er åpne" in out


def test_test_profiles_are_valid_profiles():
    for path in (RESIDENT, WELL, BARELY):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["id"]


def test_compare_takes_a_folder_of_offers(capsys, tmp_path):
    folder = tmp_path / "offers"
    folder.mkdir()
    for source in (WELL, BARELY):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, "compare", "--resident", RESIDENT, folder, "--format", "json")
    assert code == 0, err
    assert {o["offer_id"] for o in json.loads(out)["offers"]} == {
        "O-well-described",
        "O-barely-described",
    }
    code, _, err = run(capsys, "compare", "--resident", RESIDENT, OFFERS_DIR)
    assert code == 2 and "4" in err


def test_remedy_summary_is_the_verdict_remedys_text_when_computed():
    from types import SimpleNamespace

    from roprules.report.ranking import remedy_text

    computed = SimpleNamespace(verdict_remedy=SimpleNamespace(text="Avtal tilsyn om natten."))
    assert remedy_text(computed) == "Avtal tilsyn om natten."
    assert remedy_text(SimpleNamespace(verdict_remedy=None)) is None
    assert remedy_text(SimpleNamespace()) is None  # remedies not computed
