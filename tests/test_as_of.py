"""The assessment date `as_of` (contract.md, "One assessment date")."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from roprules.cli import main
from roprules.contract.documents import InputError

RESIDENT = {"id": "R-1", "danger_assessment_date": "2026-06-01", "violence_risk": "moderate"}
OFFER = {"id": "O-1", "type": "small_house"}


@pytest.mark.parametrize("as_of", [date(2026, 11, 30), "2026-11-30"])
def test_as_of_is_recorded_as_given(engine, as_of):
    assessment = engine.check(RESIDENT, OFFER, as_of=as_of)
    assert assessment.as_of == date(2026, 11, 30)
    assert json.loads(assessment.model_dump_json())["as_of"] == "2026-11-30"


def test_as_of_defaults_to_today(engine):
    assert engine.audit(OFFER).as_of == date.today()


def test_the_old_now_keyword_sets_the_date(engine):
    now = datetime(2026, 7, 1, 12, 0)
    assert engine.assess_resident(RESIDENT, now=now).as_of == date(2026, 7, 1)


def test_every_entry_point_takes_as_of(engine):
    day = date(2026, 10, 1)
    assert engine.audit(OFFER, as_of=day).as_of == day
    assert engine.assess_resident(RESIDENT, as_of=day).as_of == day
    ranking = engine.rank(RESIDENT, [OFFER], as_of=day)
    assert ranking.ranking[0].assessment.as_of == day
    assert engine.matrix([RESIDENT], [OFFER], as_of=day).as_of == day


@pytest.mark.parametrize("bad", ["2026-13-01", "01.12.2026", "2026-1-1", "", 20261201])
def test_a_bad_as_of_is_an_input_error(engine, bad):
    with pytest.raises(InputError) as info:
        engine.audit(OFFER, as_of=bad)
    assert "as_of" in info.value.messages[0]


def test_a_profile_date_after_as_of_is_an_input_error(engine):
    with pytest.raises(InputError) as info:
        engine.check(RESIDENT, OFFER, as_of="2026-05-31")
    (message,) = info.value.messages
    assert "danger_assessment_date" in message
    assert "after the assessment date 2026-05-31" in message
    # the same day is fine
    assert engine.check(RESIDENT, OFFER, as_of="2026-06-01").as_of == date(2026, 6, 1)
    with pytest.raises(InputError):
        engine.matrix([RESIDENT], [OFFER], as_of="2026-05-31")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_as_of_is_used_and_recorded(tmp_path, capsys):
    resident = write(tmp_path, "r.yaml", "id: R-1\ndanger_assessment_date: 2026-06-01\n")
    offer = write(tmp_path, "o.yaml", "id: O-1\ntype: small_house\n")
    for argv in (
        ["check", "--resident", str(resident), "--offer", str(offer)],
        ["audit", "--offer", str(offer)],
        ["resident", "--resident", str(resident)],
    ):
        assert main([*argv, "--format", "json", "--as-of", "2026-09-15"]) == 0
        assert json.loads(capsys.readouterr().out)["as_of"] == "2026-09-15"
    assert (
        main(
            [
                "rank",
                "--resident",
                str(resident),
                str(offer),
                "--format",
                "json",
                "--as-of",
                "2026-09-15",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["ranking"][0]["assessment"]["as_of"] == "2026-09-15"
    assert (
        main(
            [
                "matrix",
                "--residents",
                str(resident),
                "--offers",
                str(offer),
                "--format",
                "json",
                "--as-of",
                "2026-09-15",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-09-15"


def test_cli_refuses_a_date_after_as_of_naming_file_and_field(tmp_path, capsys):
    resident = write(tmp_path, "r.yaml", "id: R-1\ndanger_assessment_date: 2026-06-01\n")
    assert main(["resident", "--resident", str(resident), "--as-of", "2026-01-01"]) == 2
    err = capsys.readouterr().err
    assert f"{resident}: danger_assessment_date:" in err
    assert "Traceback" not in err


def test_cli_refuses_a_malformed_as_of(tmp_path, capsys):
    offer = write(tmp_path, "o.yaml", "id: O-1\ntype: small_house\n")
    with pytest.raises(SystemExit) as info:
        main(["audit", "--offer", str(offer), "--as-of", "yesterday"])
    assert info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_cli_as_of_may_come_before_the_command(tmp_path, capsys):
    offer = write(tmp_path, "o.yaml", "id: O-1\ntype: small_house\n")
    assert main(["--as-of", "2026-09-15", "audit", "--offer", str(offer), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-09-15"
