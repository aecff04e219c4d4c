"""The screening matrix agrees with full assessments, cell by cell."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, chromium_dump, needs_chromium
from roprules import Engine
from roprules.cli import main
from roprules.contract.assessment import Matrix, MatrixCell
from roprules.contract.documents import InputError
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.backends import EngineError
from roprules.evaluation.matrix import screen, screen_each_cell
from roprules.report.render import render_matrix
from roprules.report.render.reports import csv_cell
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


# --- the grid: formats, vacancies, gaps ---------------------------------------------

SHIPPED_RESIDENTS = REPO / "profiles" / "residents"
SHIPPED_OFFERS = REPO / "profiles" / "offers"


def _matrix_out(path, *extra):
    return main(
        [
            "matrix",
            "--residents",
            str(SHIPPED_RESIDENTS),
            "--offers",
            str(SHIPPED_OFFERS),
            "--as-of",
            "2026-11-30",
            "--out",
            str(path),
            *extra,
        ]
    )


def test_matrix_writes_every_format_from_the_file_suffix(tmp_path):
    residents = sorted(p.stem for p in SHIPPED_RESIDENTS.glob("*.yaml"))
    offers = len(list(SHIPPED_OFFERS.glob("*.yaml")))
    written = {}
    for suffix in ("txt", "md", "html", "csv", "json"):
        target = tmp_path / f"grid.{suffix}"
        assert _matrix_out(target) == 0
        written[suffix] = target.read_text(encoding="utf-8")
    document = json.loads(written["json"])
    assert len(document["rows"]) == len(residents)
    assert len(document["offers"]) == offers
    assert document["schema_version"] == "2.0"
    # Text: a grid with a line per resident and a column per offer, and the team decides.
    assert "Konklusjon for hver beboer i hvert tilbud" in written["txt"]
    grid_line = next(line for line in written["txt"].splitlines() if line.startswith("R-001 "))
    assert len(grid_line.split()) == offers + 1
    assert "teamets beslutning" in written["txt"]
    # Markdown: a table row per resident with a cell per offer and the best offer.
    row = next(line for line in written["md"].splitlines() if line.startswith("| R-001 |"))
    assert row.count(" | ") == offers + 1
    assert "`O-trondheim-planned-11` |" in row
    assert "egnet med forbehold" in row and "uegnet" in row
    # HTML: header cells with scope, a class per verdict and the verdict in words.
    html = written["html"]
    assert html.count('<th scope="row">R-') == len(residents)
    assert 'class="cell-unsuitable"' in html and ">uegnet<" in html
    assert "@media print" in html
    # CSV: a header, a row per resident, a column per offer plus the best offer.
    rows = list(csv.reader(io.StringIO(written["csv"], newline="")))
    assert len(rows) == len(residents) + 1
    assert all(len(r) == offers + 2 for r in rows)
    assert rows[0][0] == "Beboer" and rows[0][-1] == "Beste tilbud"


def test_matrix_format_option_wins_over_the_suffix(tmp_path):
    target = tmp_path / "grid.html"
    assert _matrix_out(target, "--format", "csv") == 0
    assert target.read_text(encoding="utf-8").startswith("Beboer,")
    unknown = tmp_path / "grid.out"
    assert _matrix_out(unknown) == 0
    assert unknown.read_text(encoding="utf-8").startswith("Oversikt: beboere mot botilbud")


def test_check_picks_the_format_from_out(tmp_path):
    target = tmp_path / "report.html"
    code = main(
        [
            "check",
            "--resident",
            str(SHIPPED_RESIDENTS / "r01-high-risk-round-the-clock.yaml"),
            "--offer",
            str(SHIPPED_OFFERS / "aalesund-gaseid.yaml"),
            "--out",
            str(target),
        ]
    )
    assert code == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    as_json = tmp_path / "report.json"
    assert (
        main(
            [
                "audit",
                "--offer",
                str(SHIPPED_OFFERS / "aalesund-gaseid.yaml"),
                "--out",
                str(as_json),
            ]
        )
        == 0
    )
    assert json.loads(as_json.read_text(encoding="utf-8"))["scope"] == "offer"


def test_a_suffix_the_command_cannot_write_is_refused(tmp_path, capsys):
    """`check --out report.csv` would be text in a file that says CSV: exit 2, no file."""
    target = tmp_path / "report.csv"
    offer = str(SHIPPED_OFFERS / "aalesund-gaseid.yaml")
    assert main(["audit", "--offer", offer, "--out", str(target)]) == 2
    assert not target.exists()
    assert "--format" in capsys.readouterr().err


def _offer(path, **changes):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {**data, **changes}


def _gap_portfolio():
    """Three offers without round-the-clock staff; residents who need it, and one who does not."""
    offers = [
        _offer(SHIPPED_OFFERS / "aalesund-gaseid.yaml", vacant_units=0),
        _offer(SHIPPED_OFFERS / "aalesund-kverve.yaml", vacant_units=1),
        _offer(SHIPPED_OFFERS / "ordinary-rental.yaml"),
    ]
    residents = [
        SHIPPED_RESIDENTS / "r01-high-risk-round-the-clock.yaml",
        SHIPPED_RESIDENTS / "r03-ageing-dementia.yaml",
        SHIPPED_RESIDENTS / "r06-low-need.yaml",
    ]
    return residents, offers


def test_gap_summary_names_an_unmet_need(engine):
    residents, offers = _gap_portfolio()
    matrix = engine.matrix(residents, offers, lang="nb", as_of="2026-11-30")
    unmet = {gap.rule_id: gap for gap in matrix.gaps}
    need = unmet["supervision.round-the-clock-needed"]
    assert need.resident_ids == ["R-001", "R-003"]
    assert need.offers == 3
    assert "hele døgnet" in (need.title or "")
    assert all("R-006" not in gap.resident_ids for gap in matrix.gaps)
    assert [o.vacant_units for o in matrix.offers] == [0, 1, None]
    text = render_matrix(matrix, "text", lang="nb")
    assert (
        "2 beboere (R-001, R-003): i alle de 3 tilbudene gjelder «Beboeren trenger personale "
        "hele døgnet, men tilbudet har det ikke»" in " ".join(text.split())
    )
    assert "[INGEN LEDIGE]" in text  # the offer with no vacancy is marked
    english = render_matrix(
        engine.matrix(residents, offers, lang="en", as_of="2026-11-30"), "markdown", lang="en"
    )
    assert "2 residents (R-001, R-003): in all 3 offers" in english
    assert "T1 (no vacancy)" not in english and "O1 (no vacancy)" in english
    assert "prioritising between people is the team's decision" in english.lower()


def test_no_gap_when_everyone_has_an_acceptable_offer(engine):
    matrix = engine.matrix(
        [SHIPPED_RESIDENTS / "r06-low-need.yaml"],
        [SHIPPED_OFFERS / "aalesund-kverve.yaml"],
        as_of="2026-11-30",
    )
    assert matrix.rows[0].ranking[0].verdict in ("suitable", "conditional")
    assert matrix.gaps == []
    assert "Hver beboer har minst ett tilbud" in render_matrix(matrix, "text")


def test_csv_defuses_formula_like_cells(engine):
    residents, offers = _gap_portfolio()
    offers[1]["id"] = "-2"  # a valid id that a spreadsheet would read as a number
    matrix = engine.matrix(residents, offers, as_of="2026-11-30").model_dump(mode="json")
    # Ids the profile checks refuse, as a renderer might still meet them (e.g. an old export).
    hostile = {
        "O-aalesund-gaseid": '=HYPERLINK("http://evil.example","klikk")',
        "R-001": "@SUM(A1:A9)",
        "R-003": "+1+1",
    }

    def swap(data):
        if isinstance(data, dict):
            return {k: swap(v) for k, v in data.items()}
        if isinstance(data, list):
            return [swap(v) for v in data]
        return hostile.get(data, data) if isinstance(data, str) else data

    rendered = render_matrix(Matrix.model_validate(swap(matrix)), "csv")
    rows = list(csv.reader(io.StringIO(rendered, newline="")))
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example","klikk") (ingen ledige)' in cells
    assert "'-2" in cells and "'@SUM(A1:A9)" in cells and "'+1+1" in cells
    assert not any(cell.lstrip().startswith(("=", "+", "-", "@")) for cell in cells)
    assert csv_cell(" -2") == "' -2" and csv_cell("R-1") == "R-1"


@needs_chromium
def test_matrix_html_renders_in_chromium(tmp_path, engine):
    residents, offers = _gap_portfolio()
    matrix = engine.matrix(residents, offers, as_of="2026-11-30")
    page = tmp_path / "grid.html"
    page.write_text(render_matrix(matrix, "html"), encoding="utf-8")
    result = chromium_dump(page, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "Konklusjon for hver beboer i hvert tilbud" in dom
    assert dom.count('<th scope="row">R-') == 3
    assert "Beboeren trenger personale hele døgnet" in dom
    assert "ingen ledige" in dom


# --- a whole city: the fast path, worker processes, a compact grid --------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    residents=st.lists(resident_profiles(), min_size=1, max_size=4),
    offers=st.lists(offer_profiles(), min_size=1, max_size=5),
)
def test_screen_agrees_with_every_cell_through_the_backend(each_engine, residents, offers):
    """The per-class evaluation gives the cells, order and gaps of running every cell.

    Offer ids repeat on purpose: equal cells keep the order the offers were given.
    """
    people = [ResidentProfile.model_validate(r) for r in residents]
    places = [
        OfferProfile.model_validate({**offer, "id": f"O-{index % 3}"})
        for index, offer in enumerate(offers)
    ]
    day = date.today()
    assessor = each_engine._evaluator
    fast = screen(assessor, people, places, as_of=day, lang="en")
    reference = screen_each_cell(assessor, people, places, as_of=day, lang="en")
    assert fast.model_dump() == reference.model_dump()


def test_workers_give_the_same_matrix(tmp_path):
    """Two worker processes give the grid one process gives, byte for byte, in every language."""
    residents = sorted(SHIPPED_RESIDENTS.glob("*.yaml"))
    offers = sorted(SHIPPED_OFFERS.glob("*.yaml"))
    with Engine.load() as engine:
        for lang in ("nb", "en"):
            one = engine.matrix(residents, offers, lang=lang, as_of="2026-11-30")
            two = engine.matrix(residents, offers, lang=lang, as_of="2026-11-30", workers=2)
            assert two.model_dump_json() == one.model_dump_json()
            assert render_matrix(two, "text", lang=lang) == render_matrix(one, "text", lang=lang)
        # More residents than chunks, some repeated: rows come back in the order given.
        many = [
            {**yaml.safe_load(path.read_text(encoding="utf-8")), "id": f"R-{i:03d}"}
            for i, path in enumerate(residents * 3)
        ]
        one = engine.matrix(many, offers, as_of="2026-11-30")
        two = engine.matrix(many, offers, as_of="2026-11-30", workers=2)
        assert [row.resident_id for row in two.rows] == [r["id"] for r in many]
        assert two.model_dump() == one.model_dump()
    target = tmp_path / "two.json"
    assert _matrix_out(target, "--workers", "2") == 0
    assert _matrix_out(tmp_path / "one.json") == 0
    assert target.read_text(encoding="utf-8") == (tmp_path / "one.json").read_text(encoding="utf-8")


def test_bad_input_is_the_same_error_with_workers_and_they_stay():
    """The offers are validated first and the residents while the worker starts on the
    offers: the same InputError, problems in the same order, and the worker is kept."""
    residents = [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(SHIPPED_RESIDENTS.glob("*.yaml"))[:3]
    ]
    offers = [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(SHIPPED_OFFERS.glob("*.yaml"))[:3]
    ]
    bad_resident = {**residents[1], "age": "old"}
    bad_offer = {**offers[2], "vacant_units": -3}
    cases = [
        ([residents[0], bad_resident], offers),
        (residents, [offers[0], bad_offer]),
        ([bad_resident, residents[0], bad_resident], [bad_offer, offers[1]]),
        ([bad_resident], [offers[0], {"id": 5}]),
    ]
    with Engine.load() as engine:
        engine.matrix(residents, offers, as_of="2026-11-30", workers=2)
        pids = [process.pid for process in engine._matrix_workers.pids]
        for people, places in cases:
            errors = []
            for workers in (1, 2):
                with pytest.raises(InputError) as caught:
                    engine.matrix(people, places, as_of="2026-11-30", workers=workers)
                errors.append(caught.value.errors)
            assert errors[0] == errors[1] and errors[0]
        one = engine.matrix(residents, offers, as_of="2026-11-30")
        two = engine.matrix(residents, offers, as_of="2026-11-30", workers=2)
        assert two.model_dump_json() == one.model_dump_json()
        assert [process.pid for process in engine._matrix_workers.pids] == pids


def test_a_bad_offer_after_pieces_were_sent_is_the_same_error_and_the_workers_stay():
    """The offers go to the workers piece by piece as they are validated: a bad offer in a
    later piece is the error `workers=1` gives, the workers drop what they were sent, and
    the next grid (with more workers than one, too) is the same as in one process."""
    residents = [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(SHIPPED_RESIDENTS.glob("*.yaml"))[:4]
    ]
    shipped = [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(SHIPPED_OFFERS.glob("*.yaml"))
    ]
    offers = [{**offer, "id": f"O-{i:02d}"} for i, offer in enumerate(shipped * 6)][:24]
    bad = [*offers[:14], {**offers[14], "vacant_units": -3}, *offers[15:]]
    with Engine.load() as engine:
        for workers in (2, 3):
            engine.matrix(residents, offers[:3], as_of="2026-11-30", workers=workers)
            pids = [process.pid for process in engine._matrix_workers.pids]
            errors = []
            for count in (1, workers):
                with pytest.raises(InputError) as caught:
                    engine.matrix(residents, bad, as_of="2026-11-30", workers=count)
                errors.append(caught.value.errors)
            assert errors[0] == errors[1] and errors[0]
            one = engine.matrix(residents, offers, as_of="2026-11-30")
            many = engine.matrix(residents, offers, as_of="2026-11-30", workers=workers)
            assert many.model_dump_json() == one.model_dump_json()
            assert [process.pid for process in engine._matrix_workers.pids] == pids


def test_a_worker_that_cannot_load_the_same_rules_is_an_error(tmp_path):
    """Workers reload the rule files; if they changed since the engine loaded them, refuse."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    engine = Engine.load(rules)
    parameters = rules / "parameters.yaml"
    parameters.write_text(parameters.read_text(encoding="utf-8") + "\n# edited\n", "utf-8")
    residents = [SHIPPED_RESIDENTS / "r06-low-need.yaml"]
    offers = [SHIPPED_OFFERS / "aalesund-kverve.yaml"]
    with engine, pytest.raises(EngineError, match="rule files changed"):
        engine.matrix(residents, offers, as_of="2026-11-30", workers=2)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_positive_whole_number(engine, workers):
    with pytest.raises(ValueError, match="workers"):
        engine.matrix([SHIPPED_RESIDENTS / "r06-low-need.yaml"], [], workers=workers)


def test_the_grid_is_compact_and_still_validates(engine):
    """Cells are slotted and share what is equal; validating the model accepts every cell."""
    residents, offers = _gap_portfolio()
    matrix = engine.matrix(residents * 2, offers * 2, as_of="2026-11-30")
    cells = [cell for row in matrix.rows for cell in row.ranking]
    assert all(isinstance(cell, MatrixCell) and not hasattr(cell, "__dict__") for cell in cells)
    by_counts: dict[tuple[int, ...], set[int]] = {}
    for cell in cells:
        by_counts.setdefault(tuple(cell.findings_by_severity.values()), set()).add(
            id(cell.findings_by_severity)
        )
    assert all(len(ids) == 1 for ids in by_counts.values())  # one dict per distinct count
    validated = Matrix.model_validate(matrix.model_dump())
    assert validated == matrix
    assert Matrix.model_validate_json(matrix.model_dump_json()).model_dump() == matrix.model_dump()
    broken = matrix.model_dump()
    broken["rows"][0]["ranking"][0]["verdict"] = "maybe"
    with pytest.raises(ValueError, match="verdict"):
        Matrix.model_validate(broken)


def test_workers_load_the_same_overlay(tmp_path):
    """A local overlay reaches the workers: the grid with it is the same in two processes."""
    overlay = tmp_path / "kommune.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "name": "Eksempel kommune",
                "rules": {
                    "supervision.high-violence-risk-unsupervised": {
                        "severity": "major",
                        "reason": "Lokal vurdering etter høring.",
                        "approved_by": "kommunalsjef helse og omsorg",
                    }
                },
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    residents, offers = _gap_portfolio()
    with Engine.load(overlay=overlay) as engine:
        one = engine.matrix(residents, offers, as_of="2026-11-30")
        two = engine.matrix(residents, offers, as_of="2026-11-30", workers=2)
    assert two.model_dump() == one.model_dump()
    assert one.ruleset.overlay is not None
    with Engine.load() as plain:
        without = plain.matrix(residents, offers, as_of="2026-11-30")
    assert without.model_dump() != one.model_dump()  # the overlay changed something
