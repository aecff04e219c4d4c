"""The screening matrix agrees with full assessments, cell by cell."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from roprules.cli import main
from strategies import offer_profiles, resident_profiles


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    residents=st.lists(resident_profiles(), min_size=1, max_size=3),
    offers=st.lists(offer_profiles(), min_size=1, max_size=4),
)
def test_matrix_matches_rank(engine, residents, offers):
    offers = [{**offer, "id": f"O-{index}"} for index, offer in enumerate(offers)]
    matrix = engine.matrix(residents, offers)
    assert [row.resident_id for row in matrix.rows] == [r["id"] for r in residents]
    for resident, row in zip(residents, matrix.rows, strict=True):
        ranking = engine.rank(resident, offers)
        assert [c.offer_id for c in row.ranking] == [e.offer_id for e in ranking.ranking]
        for cell, entry in zip(row.ranking, ranking.ranking, strict=True):
            assert cell.rank == entry.rank
            assert cell.verdict == entry.verdict
            assert cell.findings_by_severity == entry.findings_by_severity
            assert cell.missing == entry.missing
            assert sorted(cell.rule_ids) == sorted(f.rule_id for f in entry.assessment.findings)


def test_matrix_command(capsys):
    code = main(
        [
            "matrix",
            "--residents",
            str(REPO / "profiles" / "residents"),
            "--offers",
            str(REPO / "profiles" / "offers"),
            "--format",
            "json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    residents = list((REPO / "profiles" / "residents").glob("*.yaml"))
    offers = list((REPO / "profiles" / "offers").glob("*.yaml"))
    assert len(result["rows"]) == len(residents)
    assert all(len(row["ranking"]) == len(offers) for row in result["rows"])
    r01 = next(row for row in result["rows"] if row["resident_id"] == "R-001")
    gaseid = next(c for c in r01["ranking"] if c["offer_id"] == "O-aalesund-gaseid")
    assert gaseid["verdict"] == "unsuitable"
    assert "supervision.high-violence-risk-unsupervised" in gaseid["rule_ids"]


def test_matrix_text_and_bad_input(capsys, tmp_path):
    residents = str(REPO / "profiles" / "residents")
    assert (
        main(["matrix", "--residents", residents, "--offers", str(REPO / "profiles" / "offers")])
        == 0
    )
    assert "Oversikt: beboere mot botilbud" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["matrix", "--residents", residents, "--offers", str(empty), "--lang", "en"]) == 2
    assert "no offer profiles" in capsys.readouterr().err
