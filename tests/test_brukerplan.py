"""BrukerPlan (issue 11, item 6): a documented mapping held as data derives
unknown resident fields; a derived value is shown as derived everywhere and never
overrides a value the team entered; `roprules import brukerplan` writes one
profile per CSV row, or nothing at all."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, get_args

import pytest

from roprules.cli import main
from roprules.contract import brukerplan
from roprules.contract.brukerplan import AREAS, Mapping_, check_table, table
from roprules.contract.intake import load_resident
from roprules.contract.profiles import BrukerPlan, ResidentProfile, profile_to_facts
from roprules.report.render import render_assessment

DEBT = "support.debt-without-follow-up"
# economy 4 derives debt_problems; with no economy follow-up the debt rule fires
# on the derived value alone.
RESIDENT: dict[str, Any] = {
    "id": "BP-1",
    "economy_follow_up": False,
    "brukerplan": {"economy": 4, "mental_health": 5, "work_activity": 1},
}
LABEL = {"nb": "avledet fra BrukerPlan", "en": "derived from BrukerPlan"}
HEADER = "id," + ",".join(AREAS)


# --------------------------------------------------------------------------- the table


def test_the_table_is_complete_and_valid_against_the_contract():
    rows = table()
    assert rows, "the shipped table maps at least one score"
    assert check_table(list(rows)) == []
    fields = ResidentProfile.model_fields
    for row in rows:
        assert row.area in BrukerPlan.model_fields
        assert 1 <= row.low <= row.high <= 5
        annotation = fields[row.field].annotation
        allowed = {a for arg in get_args(annotation) for a in (get_args(arg) or (arg,))}
        assert row.value in allowed or (isinstance(row.value, bool) and bool in allowed)
        assert row.reason["nb"].strip() and row.reason["en"].strip()
    mapped = {(r.area, r.field, r.value) for r in rows}
    assert ("mental_health", "mental_illness_severity", "severe") in mapped
    assert ("economy", "debt_problems", True) in mapped


def test_the_table_documents_every_area_it_leaves_out():
    import yaml

    from roprules.contract.brukerplan import _table_text

    data = yaml.safe_load(_table_text())
    covered = {m["area"] for m in data["mappings"]} | {m["area"] for m in data["not_mapped"]}
    assert covered == set(AREAS)
    assert all(m["reason"]["nb"] and m["reason"]["en"] for m in data["not_mapped"])


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (Mapping_("mood", 5, 5, "psychosis", True, {"nb": "x", "en": "x"}), "unknown area"),
        (Mapping_("economy", 4, 6, "debt_problems", True, {"nb": "x", "en": "x"}), "scores"),
        (Mapping_("economy", 4, 5, "debts", True, {"nb": "x", "en": "x"}), "not a resident"),
        (Mapping_("economy", 4, 5, "debt_problems", "yes", {"nb": "x", "en": "x"}), "not a value"),
        (
            Mapping_("housing", 5, 5, "housing_competence", "bad", {"nb": "x", "en": "x"}),
            "not a value",
        ),
        (Mapping_("economy", 4, 5, "debt_problems", True, {"nb": "x"}), "reason"),
    ],
)
def test_a_bad_table_row_is_refused(row, problem):
    problems = check_table([row])
    assert any(problem in p for p in problems), problems


def test_two_rows_for_one_field_may_not_overlap_or_come_from_two_areas():
    reason = {"nb": "x", "en": "x"}
    overlap = [
        Mapping_("economy", 4, 5, "debt_problems", True, reason),
        Mapping_("economy", 5, 5, "debt_problems", True, reason),
    ]
    assert any("overlaps" in p for p in check_table(overlap))
    two_areas = [
        Mapping_("economy", 5, 5, "debt_problems", True, reason),
        Mapping_("housing", 5, 5, "debt_problems", True, reason),
    ]
    assert any("already derived from economy" in p for p in check_table(two_areas))


# --------------------------------------------------------------------------- derivation


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"mental_health": 5}, {"resident.mental_illness_severity": "severe"}),
        ({"mental_health": 4}, {}),
        (
            {"substance_use": 5},
            {"resident.substance_severity": "severe", "resident.substance_use": "active"},
        ),
        ({"substance_use": 4}, {}),
        ({"economy": 4}, {"resident.debt_problems": True}),
        ({"economy": 5}, {"resident.debt_problems": True}),
        ({"economy": 3}, {}),
        ({"work_activity": 1}, {"resident.has_daytime_activity": True}),
        ({"work_activity": 5}, {}),
        ({"housing": 5, "network": 5, "physical_health": 5, "social_functioning": 5}, {}),
    ],
)
def test_scores_derive_only_what_the_table_says(scores, expected):
    resident = ResidentProfile.model_validate({"id": "R-1", "brukerplan": scores})
    facts = profile_to_facts("resident", resident)
    derived = {k: v for k, v in facts.items() if not k.startswith("resident.brukerplan.")}
    assert derived == expected


def test_a_value_the_team_entered_is_never_overridden(engine):
    entered = {
        "id": "R-1",
        "debt_problems": False,
        "mental_illness_severity": "mild",
        "substance_use": "past",
        "economy_follow_up": False,
        "brukerplan": {"economy": 5, "mental_health": 5, "substance_use": 5},
    }
    facts = profile_to_facts("resident", ResidentProfile.model_validate(entered))
    assert facts["resident.debt_problems"] is False
    assert facts["resident.mental_illness_severity"] == "mild"
    assert facts["resident.substance_use"] == "past"
    assert facts["resident.substance_severity"] == "severe"  # unknown, so derived
    assessment = engine.assess_resident(entered, lang="en")
    assert DEBT not in {f.rule_id for f in assessment.findings}
    assert {n.field for n in assessment.notices} == {"resident.substance_severity"}
    for finding in assessment.findings:
        for fact in finding.facts:
            if fact.field in ("resident.mental_illness_severity", "resident.substance_use"):
                assert (fact.derived, fact.derived_from) == (False, None)


def test_no_scores_derive_nothing_and_add_no_notice(engine):
    assessment = engine.assess_resident({"id": "R-1", "economy_follow_up": False})
    assert assessment.notices == ()
    assert all(not fact.derived for f in assessment.findings for fact in f.facts)


# --------------------------------------------------------------------------- display


def _debt_fact(assessment):
    (finding,) = [f for f in assessment.findings if f.rule_id == DEBT]
    (fact,) = [f for f in finding.facts if f.field == "resident.debt_problems"]
    return fact


def test_the_derived_value_is_marked_in_the_json(engine):
    assessment = engine.assess_resident(RESIDENT, lang="en")
    data = json.loads(assessment.model_dump_json())
    (finding,) = [f for f in data["findings"] if f["rule_id"] == DEBT]
    facts = {f["field"]: f for f in finding["facts"]}
    debt = facts["resident.debt_problems"]
    assert debt["value"] is True
    assert debt["derived"] is True
    assert debt["derived_from"] == "resident.brukerplan.economy"
    follow_up = facts["resident.economy_follow_up"]
    assert (follow_up["derived"], follow_up["derived_from"]) == (False, None)
    notices = {n["field"]: n for n in data["notices"]}
    assert set(notices) == {
        "resident.debt_problems",
        "resident.mental_illness_severity",
        "resident.has_daytime_activity",
    }
    assert "derived from BrukerPlan" in notices["resident.debt_problems"]["message"]
    assert notices["resident.debt_problems"]["replacement"] is None


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_report_shows_the_derived_value_as_derived(engine, fmt, lang):
    assessment = engine.assess_resident(RESIDENT, lang=lang)
    assert _debt_fact(assessment).derived
    out = render_assessment(assessment, fmt)
    if fmt == "html":
        out = _html_text(out)
    yes = "ja" if lang == "nb" else "yes"
    assert f"{yes} ({LABEL[lang]})" in out, "the fact in the finding is marked"
    # the team's own value next to it is not
    no = "nei" if lang == "nb" else "no"
    assert f"{no} ({LABEL[lang]})" not in out
    assert out.count(LABEL[lang]) >= 3, "every derived value has its notice"


def test_the_coercion_derivation_keeps_its_own_wording(engine):
    assessment = engine.assess_resident({"id": "R-1", "needs_coercion": False})
    out = render_assessment(assessment, "text")
    assert LABEL["nb"] not in out


def _html_text(html: str) -> str:
    parts: list[str] = []

    class Text(HTMLParser):
        def handle_data(self, data: str) -> None:
            parts.append(data)

    Text(convert_charrefs=True).feed(html)
    return " ".join("".join(parts).split())


# --------------------------------------------------------------------------- import


def _csv(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "brukerplan.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_import_writes_one_profile_per_row_that_then_assesses(tmp_path, engine, capsys):
    out = tmp_path / "profiles"
    out.mkdir()
    source = _csv(tmp_path, "BP-1,5,4,5,3,5,3,2,1", "BP-2,1,1,2,,3,2,2,5")
    assert main(["import", "brukerplan", str(source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["BP-1.yaml", "BP-2.yaml"]
    first = load_resident(out / "BP-1.yaml")
    assert first.id == "BP-1"
    assert first.brukerplan == BrukerPlan(
        substance_use=5,
        economy=4,
        mental_health=5,
        physical_health=3,
        housing=5,
        social_functioning=3,
        network=2,
        work_activity=1,
    )
    assert first.model_dump(exclude_none=True).keys() == {"id", "brukerplan"}
    second = load_resident(out / "BP-2.yaml")
    assert second.brukerplan is not None and second.brukerplan.physical_health is None
    assert (out / "BP-1.yaml").stat().st_mode & 0o077 == 0
    assessment = engine.assess_resident(first, lang="en")
    assert {n.field for n in assessment.notices} >= {"resident.mental_illness_severity"}
    assert main(["resident", "--resident", str(out / "BP-1.yaml"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["resident_id"] == "BP-1"


def test_import_reads_semicolons_and_any_column_order(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    header = ";".join(reversed(("id", *AREAS)))
    source = _csv(tmp_path, "1;2;3;4;5;1;2;4;R-7", header=header)
    brukerplan.import_csv(source, out)
    profile = load_resident(out / "R-7.yaml")
    assert profile.brukerplan is not None
    assert (profile.brukerplan.work_activity, profile.brukerplan.substance_use) == (1, 4)


@pytest.mark.parametrize(
    ("lines", "header", "expected"),
    [
        (["BP-1,6,1,1,1,1,1,1,1"], HEADER, ["row 2, column substance_use"]),
        (["BP-1,1,1,1,1,1,1,1,x"], HEADER, ["row 2, column work_activity"]),
        (["BP-1,1,1,1,1,1,1,1,1,1"], HEADER + ",name", ["row 1, column 10"]),
        (["BP-1,1,1,1,1,1,1,1"], "id," + ",".join(AREAS[:-1]), ["row 1, column work_activity"]),
        (
            ["BP-1,1,1,1,1,1,1,1,1", "BP-2,1,1,1,1,1,1,1,1", "BP-1,2,2,2,2,2,2,2,2"],
            HEADER,
            ["row 4, column id"],
        ),
        (["BP-1,1,1,1,1,1,1,1,1", "bp-1,1,1,1,1,1,1,1,1"], HEADER, ["row 3, column id"]),
        (["bad id,1,1,1,1,1,1,1,1"], HEADER, ["row 2, column id"]),
        (["BP-1,1,1,1,1,1,1,1"], HEADER, ["row 2"]),
    ],
)
def test_a_bad_csv_is_refused_by_row_and_column_and_writes_nothing(
    tmp_path, capsys, lines, header, expected
):
    out = tmp_path / "out"
    out.mkdir()
    good = "OK-1,1,1,1,1,1,1,1,1" if header == HEADER else None
    source = _csv(tmp_path, *([good] if good else []), *lines, header=header)
    code = main(["import", "brukerplan", str(source), "--out", str(out), "--lang", "en"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for where in expected:
        # the good first row shifts the bad ones down by one
        shifted = where if where.startswith("row 1") or not good else _shift(where)
        assert shifted in err, err
    assert list(out.iterdir()) == [], "nothing is written"


def _shift(where: str) -> str:
    number = int(where.split(",")[0].split()[1])
    return where.replace(f"row {number}", f"row {number + 1}", 1)


def test_an_identity_number_is_refused_and_never_echoed(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    number = "15076500565"  # a valid fødselsnummer (test value)
    source = _csv(
        tmp_path,
        "OK-1,1,1,1,1,1,1,1,1",
        f"{number},1,1,1,1,1,1,1,1",
        f"OK-2,{number},1,1,1,1,1,1,1",
    )
    assert main(["import", "brukerplan", str(source), "--out", str(out), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "row 3, column id" in err
    assert "row 4, column substance_use" in err
    assert "national identity number" in err
    assert number not in err
    assert list(out.iterdir()) == []


def test_every_bad_row_is_reported_at_once_in_bokmal(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    source = _csv(tmp_path, "A,6,1,1,1,1,1,1,1", "A,1,1,1,1,1,1,1,0")
    assert main(["import", "brukerplan", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rad 2, kolonne substance_use" in err
    assert "rad 3, kolonne id: samme id som i rad 2" in err
    assert "rad 3, kolonne work_activity" in err
    assert list(out.iterdir()) == []


def test_an_existing_profile_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "BP-2.yaml").write_text("id: BP-2\n", encoding="utf-8")
    source = _csv(tmp_path, "BP-1,1,1,1,1,1,1,1,1", "BP-2,1,1,1,1,1,1,1,1")
    assert main(["import", "brukerplan", str(source), "--out", str(out), "--lang", "en"]) == 2
    assert "row 3, column id" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["BP-2.yaml"]
    assert (out / "BP-2.yaml").read_text(encoding="utf-8") == "id: BP-2\n"


def test_import_needs_an_existing_folder_and_rows(tmp_path, capsys):
    source = _csv(tmp_path, "BP-1,1,1,1,1,1,1,1,1")
    assert main(["import", "brukerplan", str(source), "--out", str(tmp_path / "no")]) == 2
    empty = _csv(tmp_path)
    assert main(["import", "brukerplan", str(empty), "--out", str(tmp_path), "--lang", "en"]) == 2
    assert "no rows" in capsys.readouterr().err
