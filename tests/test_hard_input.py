"""Hardening of the input side (issue 9, items 4, 5, 7-11; issue 12, item 3).

Identity numbers in any spelling and any place, short sanitised excerpts, model
objects validated again, structured errors in bokmål and English, files that are
not regular files, output written whole or not at all, overlays hashed from the
bytes read, and no silent coercion of numbers and dates.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import roprules.cli as cli
import roprules.contract.output as output
from roprules.api import Engine
from roprules.contract.documents import InputError, read_document
from roprules.contract.errors import CASE_REF_PATTERN, CODES, ErrorDetail, excerpt, problem_document
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.national_id import contains_national_id, is_national_id, make_national_id
from roprules.contract.profiles import OfferProfile, ResidentProfile

REPO = Path(__file__).resolve().parents[1]
RESIDENT = REPO / "profiles" / "residents" / "r06-low-need.yaml"
OFFER = REPO / "profiles" / "offers" / "verdal-reinsholm.yaml"
ROPRULES = Path(sys.executable).parent / "roprules"
FNR = "01019012057"  # a valid fødselsnummer (check digits right), made up
FNR_2 = "31129912319"
D_NUMBER = "41019012040"


def errors_of(call: Any, *args: Any, **kwargs: Any) -> list[ErrorDetail]:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    assert info.value.errors, "an InputError without structured errors"
    assert all(e.code in CODES for e in info.value.errors), info.value.errors
    assert info.value.messages == [e.line() for e in info.value.errors]
    return info.value.errors


def run(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------ item 4: identity numbers


def test_check_digits_are_validated() -> None:
    assert is_national_id(FNR) and is_national_id(FNR_2) and is_national_id(D_NUMBER)
    assert make_national_id("010190", "120") == FNR
    # The same digits with a wrong check digit, and other ordinary 11-digit numbers, pass.
    for ordinary in ("01019012058", "12345678901", "31129912345", "99999999999"):
        assert not is_national_id(ordinary), ordinary
        assert not contains_national_id(f"ordre {ordinary}")


@pytest.mark.parametrize(
    "spelling",
    [
        FNR,
        "010190-12057",
        "01.01.90.12057",
        "010190  12057",
        "0101 9012057",
        "010190_12057",
        "0101\u200b9012057",
        "01\u200d01\u200d90\u200d12057",
        "０１０１９０１２０５７",  # full-width digits
        f"sak {FNR} x",
        f"R-{FNR}",
    ],
)
def test_identity_number_found_in_any_spelling(spelling: str) -> None:
    assert contains_national_id(spelling)


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"id": "R-1", "violence_risk": "010190-12057"}, "violence_risk"),
        ({"id": "R-1", "violence_risk_towards": ["staff", FNR]}, "violence_risk_towards"),
        ({"id": "R-1", "age": int(FNR)}, "age"),  # the leading zero is lost in a number
        ({"id": "R-1", FNR: "high"}, "(top level)"),
        ({"id": "R-1", "brukerplan": {FNR: 1}}, "brukerplan"),
        ({"id": D_NUMBER}, "id"),
        ({"id": "R-1", "age": {"note": f"fnr {FNR}"}}, "age"),  # a mapping where none belongs
    ],
)
def test_identity_number_refused_in_resident_naming_the_field(
    profile: dict[str, Any], field: str
) -> None:
    (error,) = errors_of(load_resident, profile)
    assert error.code == "national_id"
    assert error.field == field
    for digits in ("12057", "12040", FNR, "1019012057"):
        assert digits not in error.line()


def test_identity_number_in_an_integer_field_of_an_offer() -> None:
    offer = {"id": "O-1", "type": "ordinary", "location": {"distance_to_shop_m": int(FNR_2)}}
    (error,) = errors_of(load_offer, offer)
    assert (error.field, error.code) == ("location.distance_to_shop_m", "national_id")
    assert FNR_2 not in error.line()
    # An ordinary large distance is a distance.
    offer["location"] = {"distance_to_shop_m": 31129912345}
    assert load_offer(offer).location.distance_to_shop_m == 31129912345  # type: ignore[union-attr]


@pytest.mark.parametrize("good", ["R-001", "sak-ø1", "A.B_c-9", "R" * 64, "12345678901"])
def test_case_reference_pattern_accepts(good: str) -> None:
    assert load_resident({"id": good}).id == good


@pytest.mark.parametrize(
    "bad", ["Kari Nordmann", "R" * 65, "../etc", "R-1\n", "R\u202e1", "sak#1", "R-1 "]
)
def test_case_reference_pattern_refuses(bad: str) -> None:
    (error,) = errors_of(load_resident, {"id": bad})
    assert (error.field, error.code) == ("id", "bad_id")
    assert "\n" not in error.message and "\u202e" not in error.message


def test_case_reference_pattern_is_in_the_json_schema() -> None:
    for model in (ResidentProfile, OfferProfile):
        id_schema = model.model_json_schema()["properties"]["id"]
        assert id_schema["pattern"] == CASE_REF_PATTERN and id_schema["maxLength"] == 64


# ------------------------------------------------------------ item 5: no echo


def test_a_mapping_as_id_is_not_printed() -> None:
    secret = {"name": "Kari Nordmann", "address": "Storgata 1", "more": list(range(100))}
    (error,) = errors_of(load_resident, {"id": secret})
    assert error.field == "id" and error.code == "wrong_type"
    assert "Kari" not in error.message and "Storgata" not in error.message
    assert len(error.message) < 200


def test_a_huge_enum_value_gives_a_short_message() -> None:
    (error,) = errors_of(load_resident, {"id": "R-1", "violence_risk": "x" * 900_000})
    assert error.code == "not_allowed"
    assert len(error.line()) < 300


def test_excerpts_are_short_and_escaped() -> None:
    shown = excerpt("\x1b[2J\u202eKonklusjon: EGNET\nmore" + "y" * 100)
    assert "\x1b" not in shown and "\u202e" not in shown and "\n" not in shown
    assert "\\x1b" in shown and "\\u202e" in shown
    assert len(shown) <= 45 and shown.endswith("…'")
    assert excerpt(f"navn {FNR}") == "(hidden)"
    assert excerpt(int(FNR_2)) == "(hidden)"
    assert excerpt({"a": 1}) == "a mapping"


def test_hostile_unknown_key_is_escaped_in_the_field_path() -> None:
    (error,) = errors_of(load_resident, {"id": "R-1", "\x1b]0;owned\x07" + "k" * 500: 1})
    assert error.code == "unknown_key"
    assert "\x1b" not in error.field and "\x07" not in error.field
    assert len(error.field) <= 70


# ------------------------------------------------------------ item 7: Python API


def test_model_construct_is_validated_again(engine: Engine) -> None:
    resident = ResidentProfile.model_construct(id="R-1", age=-5)
    errors = errors_of(engine.check, resident, OFFER, lang="en")
    assert [(e.field, e.code, e.file) for e in errors] == [("age", "out_of_range", "resident")]


def test_mutated_model_is_validated_again(engine: Engine) -> None:
    resident = load_resident(RESIDENT)
    resident.id = FNR
    offer = load_offer(OFFER)
    offer.units = True  # type: ignore[assignment]
    for call in (
        lambda: engine.check(resident, offer),
        lambda: engine.assess_resident(resident),
        lambda: engine.rank(resident, [offer]),
        lambda: engine.matrix([resident], [offer]),
    ):
        errors = errors_of(call)
        assert ("id", "national_id") in [(e.field, e.code) for e in errors]
        assert all(FNR not in e.line() for e in errors)
    (error,) = errors_of(engine.audit, offer)
    assert (error.field, error.code) == ("units", "wrong_type")


def test_errors_of_both_profiles_are_reported(engine: Engine) -> None:
    errors = errors_of(
        engine.check,
        {"id": "R-1", "age": 7, "violense_risk": "high"},
        {"id": "O-1", "type": "shelter"},
        lang="en",
    )
    found = {(e.file, e.field, e.code) for e in errors}
    assert found == {
        ("resident", "age", "out_of_range"),
        ("resident", "violense_risk", "unknown_key"),
        ("offer", "type", "not_allowed"),
    }


def test_rank_and_matrix_report_every_bad_profile(engine: Engine) -> None:
    good = {"id": "O-1", "type": "ordinary"}
    bad = [{"id": "O-2", "type": "x"}, {"id": "O-3", "type": "ordinary", "units": 0}]
    errors = errors_of(engine.rank, RESIDENT, [good, *bad], lang="en")
    assert {e.file for e in errors} == {"offers[1]", "offers[2]"}
    errors = errors_of(engine.matrix, [RESIDENT, {"id": "R 2"}], [good, *bad])
    assert {e.file for e in errors} == {"residents[1]", "offers[1]", "offers[2]"}


@pytest.mark.parametrize("offers", [None, 42, "profiles/offers", {"id": "O-1", "type": "ordinary"}])
def test_rank_and_matrix_want_a_list(engine: Engine, offers: Any) -> None:
    (error,) = errors_of(engine.rank, RESIDENT, offers, lang="en")
    assert (error.field, error.code) == ("offers", "wrong_type")
    (error,) = errors_of(engine.matrix, offers, [OFFER], lang="en")
    assert (error.field, error.code) == ("residents", "wrong_type")


def test_error_details_are_json_ready() -> None:
    errors = errors_of(load_resident, {"id": "R-1", "age": "40"})
    document = problem_document(errors, "en")
    assert json.loads(json.dumps(document)) == document
    assert document["status"] == 400 and document["errors"][0]["code"] == "wrong_type"
    assert set(document["errors"][0]) == {"field", "code", "message", "file"}


# ------------------------------------------------------------ issue 12 item 3: language


def test_messages_in_bokmal_by_default(engine: Engine) -> None:
    (error,) = errors_of(engine.assess_resident, {"id": "R-1", "alder": 40})
    assert error.message == "ukjent felt (mente du age?)"
    (error,) = errors_of(engine.assess_resident, {"id": "R-1", "alder": 40}, lang="en")
    assert error.message == "unknown field (did you mean age?)"


@pytest.mark.parametrize(
    ("profile", "field", "suggestion"),
    [
        ({"id": "R-1", "alder": 40}, "alder", "age"),
        ({"id": "R-1", "husstand": "single"}, "husstand", "household"),
        ({"id": "R-1", "voldsrisiko": "high"}, "voldsrisiko", "violence_risk"),
        ({"id": "R-1", "violense_risk": "high"}, "violense_risk", "violence_risk"),
        ({"id": "R-1", "violence_risk": "høy"}, "violence_risk", "'high'"),
        ({"id": "R-1", "violence_risk": "hihg"}, "violence_risk", "'high'"),
        ({"id": "R-1", "fire_risk": "lav"}, "fire_risk", "'low'"),
        ({"id": "R-1", "brukerplan": {"økonomi": 3}}, "brukerplan.økonomi", "economy"),
    ],
)
def test_did_you_mean_knows_norwegian_words(
    profile: dict[str, Any], field: str, suggestion: str
) -> None:
    (error,) = errors_of(load_resident, profile, lang="nb")
    assert error.field == field
    assert f"(mente du {suggestion}?)" in error.message


def test_did_you_mean_in_offers_and_first_words_of_labels() -> None:
    offer = {"id": "O-1", "type": "ordinary", "bemanning": "daytime", "building": {"sprinkel": 1}}
    errors = errors_of(load_offer, offer, lang="nb")
    assert {e.field: e.message for e in errors} == {
        "bemanning": "ukjent felt (mente du staffing?)",
        "building.sprinkel": "ukjent felt (mente du sprinkler?)",
    }


def test_cli_json_errors_are_a_problem_document(capsys: pytest.CaptureFixture[str], tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("id: R-1\nalder: 40\nage: 040\n", encoding="utf-8")
    code, out, err = run(capsys, "check", "--resident", bad, "--offer", OFFER, "--format", "json")
    assert code == 2 and err == ""
    document = json.loads(out)
    assert document["type"] and document["title"] == "Ugyldige inndata"
    assert document["status"] == 400
    assert [(e["field"], e["code"]) for e in document["errors"]] == [
        ("age", "wrong_type"),
        ("alder", "unknown_key"),
    ]
    assert all(e["file"] == str(bad) for e in document["errors"])
    code, out, err = run(capsys, "check", "--resident", bad, "--offer", OFFER, "--lang", "nb")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("roprules: feil: ") for line in lines)
    assert "Traceback" not in err


# ------------------------------------------------------------ item 8: files and paths


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "resident.yaml"
    os.mkfifo(fifo)
    (error,) = errors_of(read_document, fifo)
    assert error.code == "bad_file" and "not a regular file" in error.message


@pytest.mark.parametrize("kind", ["loop", "long", "nul"])
def test_unreadable_paths_are_input_errors(tmp_path: Path, kind: str) -> None:
    if kind == "loop":
        path = tmp_path / "loop.yaml"
        path.symlink_to(path)
    elif kind == "long":
        path = tmp_path / ("x" * 300 + ".yaml")
    else:
        path = tmp_path / "a\0b.yaml"
    (error,) = errors_of(load_resident, path)
    assert error.code == "bad_file"


def _process(*argv: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROPRULES), *(str(a) for a in argv)],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_stdout_to_dev_full_is_exit_2_without_traceback() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [str(ROPRULES), "schema", "resident"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert "stdout" in result.stderr


def test_closed_pipe_is_quiet() -> None:
    command = f"'{ROPRULES}' schema resident | head -c 1 > /dev/null; echo ${{PIPESTATUS[0]}}"
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert result.stdout.strip() == "0"


def test_docs_out_on_an_existing_file_is_refused(capsys, tmp_path) -> None:
    existing = tmp_path / "handbook.html"
    existing.write_text("keep me", encoding="utf-8")
    code, _, err = run(capsys, "rules", "docs", "--out", existing)
    assert code == 2 and "Traceback" not in err and str(existing) in err
    assert existing.read_text(encoding="utf-8") == "keep me"


def test_lint_source_binary_file_is_refused(capsys, tmp_path) -> None:
    binary = tmp_path / "report.txt"
    binary.write_bytes(b"\x00\xff\xfe\x80binary")
    code, _, err = run(capsys, "rules", "lint", "--source", binary)
    assert code == 2 and "UTF-8" in err and "Traceback" not in err


def test_coverage_missing_profiles_is_exit_2(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "rules", "coverage", "--profiles", tmp_path / "nope")
    assert code == 2 and "nope" in err


@pytest.mark.parametrize("kind", ["dotdot", "symlink"])
def test_themes_must_stay_inside_the_rules_dir(tmp_path: Path, kind: str) -> None:
    import shutil

    import yaml

    from roprules.rulebase.ruleset import RulesetError, load_ruleset

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mix.yaml").write_text("rules: []\n", encoding="utf-8")
    header = yaml.safe_load((rules / "ruleset.yaml").read_text(encoding="utf-8"))
    first = header["themes"][0]
    if kind == "dotdot":
        header["themes"][0] = {**first, "id": "../outside"}
    else:  # a theme folder that is a symbolic link to a folder outside
        shutil.rmtree(rules / first["id"])
        (rules / first["id"]).symlink_to(outside, target_is_directory=True)
    (rules / "ruleset.yaml").write_text(yaml.safe_dump(header), encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_ruleset(rules)
    assert any("themes" in m or "theme folder" in m for m in info.value.messages), info.value


def test_rank_reports_every_bad_offer_file(capsys, tmp_path) -> None:
    bad_a = tmp_path / "a.yaml"
    bad_a.write_text("id: O-a\ntype: shelter\n", encoding="utf-8")
    bad_b = tmp_path / "b.yaml"
    bad_b.write_text("id: O-b\ntype: ordinary\nunits: 0\n", encoding="utf-8")
    code, _, err = run(capsys, "rank", "--resident", RESIDENT, OFFER, bad_a, bad_b, "--lang", "en")
    assert code == 2
    assert f"{bad_a}: type:" in err and f"{bad_b}: units:" in err


# ------------------------------------------------------------ item 9: whole or nothing


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path, monkeypatch) -> None:
    target = tmp_path / "report.json"
    output.write_atomically(target, "first")
    assert target.read_text(encoding="utf-8") == "first"

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", disk_full)
    (error,) = errors_of(output.write_atomically, target, "second, longer text")
    assert "No space left" in error.message
    assert target.read_text(encoding="utf-8") == "first"  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp file


def test_cli_out_failure_is_exit_2_and_leaves_no_file(capsys, tmp_path, monkeypatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", disk_full)
    out = tmp_path / "report.txt"
    code, stdout, err = run(capsys, "check", "--resident", RESIDENT, "--offer", OFFER, "--out", out)
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["directory", "missing-folder"])
def test_cli_out_to_a_bad_target_is_refused_before_work(capsys, tmp_path, kind) -> None:
    out = tmp_path if kind == "directory" else tmp_path / "no" / "report.txt"
    code, _, err = run(capsys, "audit", "--offer", OFFER, "--out", out)
    assert code == 2 and str(out) in err


# ------------------------------------------------------------ item 10: hashes of bytes read


def test_overlay_from_stdin_is_hashed_from_the_bytes_read(tmp_path: Path) -> None:
    overlay = b"name: Eksempel kommune\n"
    result = _process(
        "audit",
        "--offer",
        OFFER,
        "--overlay",
        "/dev/stdin",
        "--format",
        "json",
        input=overlay.decode(),
    )
    assert result.returncode == 0, result.stderr
    recorded = json.loads(result.stdout)["ruleset"]["overlay"]
    assert recorded["sha256"] == hashlib.sha256(overlay).hexdigest()


def test_overlay_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from roprules.rulebase.ruleset import load_overlay

    path = tmp_path / "kommune.yaml"
    path.write_bytes(b"name: K\n")
    monkeypatch.setattr(Path, "read_bytes", lambda self: b"something else")
    _, sha = load_overlay(path)
    assert sha == hashlib.sha256(b"name: K\n").hexdigest()


def test_rule_files_are_hashed_from_the_bytes_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from roprules.rulebase.ruleset import load_ruleset

    before = load_ruleset().sha256
    monkeypatch.setattr(Path, "read_bytes", lambda self: b"changed after reading")
    assert load_ruleset().sha256 == before


# ------------------------------------------------------------ item 11: no coercion


@pytest.mark.parametrize("written", ["040", "0x28", "4_0", "1:30", "0b101", "+040"])
def test_numbers_written_unusually_are_refused(tmp_path: Path, written: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"id: R-1\nage: {written}\n", encoding="utf-8")
    (error,) = errors_of(load_resident, path)
    assert (error.field, error.code) == ("age", "wrong_type")
    assert f"'{written}'" in error.message


@pytest.mark.parametrize("value", [0, 1_700_000_000, "0", "1.1.2025", True, 2025.5])
def test_dates_are_dates(value: Any) -> None:
    (error,) = errors_of(load_resident, {"id": "R-1", "danger_assessment_date": value})
    assert (error.field, error.code) == ("danger_assessment_date", "bad_date")


def test_date_with_time_is_refused_and_plain_dates_pass(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("id: R-1\ndanger_assessment_date: 2025-01-01 10:00:00\n", encoding="utf-8")
    (error,) = errors_of(load_resident, path)
    assert error.code == "bad_date"
    path.write_text("id: R-1\ndanger_assessment_date: 2025-01-02\n", encoding="utf-8")
    assert load_resident(path).danger_assessment_date == date(2025, 1, 2)
    assert load_resident(
        {"id": "R-1", "danger_assessment_date": "2025-01-02"}
    ).danger_assessment_date == date(2025, 1, 2)


@pytest.mark.parametrize(
    ("offer", "field"),
    [
        ({"units": True}, "units"),
        ({"location": {"distance_to_shop_m": "1500"}}, "location.distance_to_shop_m"),
        ({"building": {"floor_area_m2": "40"}}, "building.floor_area_m2"),
        ({"units": 2.0}, "units"),
    ],
)
def test_no_silent_coercion_in_offers(offer: dict[str, Any], field: str) -> None:
    (error,) = errors_of(load_offer, {"id": "O-1", "type": "ordinary", **offer})
    assert (error.field, error.code) == (field, "wrong_type")


def test_plain_numbers_still_read(tmp_path: Path) -> None:
    path = tmp_path / "o.yaml"
    path.write_text(
        "id: O-1\ntype: ordinary\nunits: 12\n"
        "building: {floor_area_m2: 40.5}\nlocation: {distance_to_shop_m: 0}\n",
        encoding="utf-8",
    )
    offer: OfferProfile = load_offer(path)
    assert offer.units == 12 and offer.location and offer.location.distance_to_shop_m == 0
    assert offer.building and offer.building.floor_area_m2 == 40.5


# ------------------------------------------------------------ property


_SEPARATORS = ["", " ", "  ", "-", ".", "_", "\u200b", "\u200d", "\u2060", "\ufeff", " - "]
_WRAP = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå ABC-", max_size=12)
_TEXT_FIELDS = [
    (load_resident, {"id": "R-1"}, "violence_risk", "violence_risk"),
    (load_resident, {"id": "R-1"}, "id", "id"),
    (load_offer, {"id": "O-1", "type": "ordinary"}, "name", "name"),
    (load_offer, {"id": "O-1", "type": "ordinary"}, "municipality", "municipality"),
    (load_offer, {"id": "O-1"}, "type", "type"),
    (load_offer, {"id": "O-1", "type": "ordinary"}, "staffing", "staffing"),
]


@st.composite
def identity_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, spelling): a valid number written with random separators."""
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))
    month = draw(st.integers(1, 12))
    year = draw(st.integers(0, 99))
    individual = draw(st.integers(0, 999))
    digits = make_national_id(f"{day:02d}{month:02d}{year:02d}", f"{individual:03d}")
    assume(digits is not None)
    assert digits is not None
    cuts = sorted(draw(st.sets(st.integers(1, 10), max_size=4)))
    pieces = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, 11], strict=True)]
    spelling = pieces[0]
    for piece in pieces[1:]:
        spelling += draw(st.sampled_from(_SEPARATORS)) + piece
    return digits, spelling


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    number=identity_numbers(),
    before=_WRAP,
    after=_WRAP,
    target=st.sampled_from(_TEXT_FIELDS),
    lang=st.sampled_from(["nb", "en"]),
)
def test_identity_numbers_are_refused_naming_the_field_never_echoed(
    number: tuple[str, str], before: str, after: str, target: Any, lang: str
) -> None:
    digits, spelling = number
    loader, base, key, field = target
    value = f"{before} {spelling} {after}" if before or after else spelling
    errors = errors_of(loader, {**base, key: value}, lang=lang)
    assert (field, "national_id") in [(e.field, e.code) for e in errors]
    everything = "\n".join(e.line() for e in errors)
    assert digits not in everything and spelling not in everything
    assert digits[6:] not in everything  # not even the personal number
    # As a key, too.
    errors = errors_of(loader, {**base, value: 1}, lang=lang)
    assert any(e.code == "national_id" for e in errors)
    assert digits[6:] not in "\n".join(e.line() for e in errors)


_INT_FIELDS = [
    (load_resident, {"id": "R-1"}, ("age",)),
    (load_offer, {"id": "O-1", "type": "ordinary"}, ("units",)),
    (load_offer, {"id": "O-1", "type": "ordinary"}, ("location", "distance_to_shop_m")),
    (load_offer, {"id": "O-1", "type": "ordinary"}, ("co_residents", "under_30")),
    (load_offer, {"id": "O-1", "type": "ordinary"}, ("building", "floor_area_m2")),
]


@settings(max_examples=60, deadline=None)
@given(number=identity_numbers(), target=st.sampled_from(_INT_FIELDS), as_float=st.booleans())
def test_identity_numbers_as_numbers_are_refused(
    number: tuple[str, str], target: Any, as_float: bool
) -> None:
    digits, _ = number
    loader, base, path = target
    value: int | float = float(int(digits)) if as_float else int(digits)
    profile: dict[str, Any] = dict(base)
    if len(path) == 2:
        profile[path[0]] = {path[1]: value}
    else:
        profile[path[0]] = value
    errors = errors_of(loader, profile)
    assert (".".join(path), "national_id") in [(e.field, e.code) for e in errors]
    assert digits.lstrip("0")[-5:] not in "\n".join(e.line() for e in errors)
