"""The command line: output formats, exit codes, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import OFFERS_DIR, REPO, offer_file, resident_file, shared_engine
from roprules import Engine, cli
from roprules.contract.assessment import VERDICT_RANK
from roprules.contract.messages import messages
from roprules.contract.profiles import ResidentProfile

ROPRULES = REPO / ".venv" / "bin" / "roprules"
R01 = resident_file("r01")
R05 = resident_file("r05")
GASEID = offer_file("aalesund-gaseid")
REINSHOLM = offer_file("verdal-reinsholm")


class _SharedEngine:
    """Engine.load for the CLI, reusing the session's engine for the shipped rules."""

    @staticmethod
    def load(rules_dir=None, overlay=None, *, backend="auto"):
        if rules_dir is None and overlay is None:
            return shared_engine(backend)
        return Engine.load(rules_dir, overlay, backend=backend)


@pytest.fixture(autouse=True)
def fast_engine(monkeypatch):
    monkeypatch.setattr(cli, "Engine", _SharedEngine)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- check


def test_check_text_in_norwegian(capsys, engine):
    expected = engine.check(R01, GASEID)
    code, out, err = run(capsys, "check", "--resident", R01, "--offer", GASEID)
    assert code == 0, err
    assert err == ""
    label = messages().term("verdict", expected.verdict, "nb")
    assert label.lower() in out.lower()
    for finding in expected.findings:
        assert engine.ruleset.rule(finding.rule_id).spec.title.nb in out
        assert finding.rule_id in out
    assert "R-001" in out and "O-aalesund-gaseid" in out


def test_check_text_in_english(capsys, engine):
    expected = engine.check(R01, GASEID, lang="en")
    code, out, _ = run(capsys, "check", "--resident", R01, "--offer", GASEID, "--lang", "en")
    assert code == 0
    assert messages().term("verdict", expected.verdict, "en").lower() in out.lower()
    first = engine.ruleset.rule(expected.findings[0].rule_id).spec.title
    assert first.en in out
    assert first.nb not in out


def test_check_json(capsys, engine):
    data = run_json(capsys, "check", "--resident", R05, "--offer", GASEID)
    expected = engine.check(R05, GASEID)
    assert data["verdict"] == expected.verdict
    assert data["scope"] == "placement"
    assert data["ruleset"]["sha256"] == engine.ruleset.sha256
    assert len(data["ruleset"]["sha256"]) == 64
    assert [f["rule_id"] for f in data["findings"]] == [f.rule_id for f in expected.findings]
    assert data["findings"], "r05 in Gåseid has findings"
    for finding in data["findings"]:
        assert {"rule_id", "kind", "severity", "title", "explanation", "facts", "sources"} <= set(
            finding
        )
    fields = [m["field"] for m in data["missing"]]
    assert "resident.violence_risk" in fields
    assert all(f.startswith(("resident.", "offer.")) for f in fields)
    assert all(m["rules"] and m["severity"] and m["question"] for m in data["missing"])


def test_check_json_english(capsys):
    nb = run_json(capsys, "check", "--resident", R01, "--offer", GASEID)
    en = run_json(capsys, "check", "--resident", R01, "--offer", GASEID, "--lang", "en")
    assert en["lang"] == "en" and nb["lang"] == "nb"
    assert [f["rule_id"] for f in en["findings"]] == [f["rule_id"] for f in nb["findings"]]
    assert en["findings"][0]["title"] != nb["findings"][0]["title"]


def test_out_file(capsys, tmp_path):
    target = tmp_path / "assessment.json"
    code, out, _ = run(
        capsys, "check", "--resident", R01, "--offer", GASEID, "--format", "json", "--out", target
    )
    assert code == 0
    assert out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["verdict"] == "unsuitable"


def test_acceptance_only_id_and_age_against_small_house(capsys, tmp_path):
    resident = write(tmp_path, "resident.yaml", "id: R-new\nage: 34\n")
    offer = write(tmp_path, "offer.yaml", "id: O-small\ntype: small_house\n")
    data = run_json(capsys, "check", "--resident", resident, "--offer", offer)
    assert data["verdict"] == "incomplete"
    missing = {m["field"]: m for m in data["missing"]}
    assert "resident.violence_risk" in missing
    assert missing["resident.violence_risk"]["severity"] == "critical"
    assert (
        "supervision.high-violence-risk-unsupervised" in missing["resident.violence_risk"]["rules"]
    )
    assert all(f["severity"] != "critical" for f in data["findings"])


# --------------------------------------------------------------------------- other commands


def test_audit(capsys, engine):
    data = run_json(capsys, "audit", "--offer", REINSHOLM)
    assert data["scope"] == "offer"
    assert data["resident_id"] is None
    assert data["verdict"] == engine.audit(REINSHOLM).verdict
    offer_rules = {r.id for r in engine.ruleset.rules if r.scope == "offer"}
    assert {f["rule_id"] for f in data["findings"]} <= offer_rules
    code, out, _ = run(capsys, "audit", "--offer", REINSHOLM)
    assert code == 0 and "O-verdal-reinsholm" in out


def test_resident(capsys, engine):
    data = run_json(capsys, "resident", "--resident", R05)
    assert data["scope"] == "resident"
    assert data["offer_id"] is None
    resident_rules = {r.id for r in engine.ruleset.rules if r.scope == "resident"}
    assert {f["rule_id"] for f in data["findings"]} <= resident_rules
    # r05 has no danger assessment (profiles/README.md)
    assert "danger-assessment.missing" in {f["rule_id"] for f in data["findings"]}
    code, out, _ = run(capsys, "resident", "--resident", R05)
    assert code == 0 and "R-005" in out


def test_rank_directory(capsys):
    data = run_json(capsys, "rank", "--resident", resident_file("r06"), OFFERS_DIR)
    assert data["resident_id"] == "R-006"
    ranking = data["ranking"]
    offers = sorted(OFFERS_DIR.glob("*.yaml"))
    assert len(ranking) == len(offers)
    assert len({r["offer_id"] for r in ranking}) == len(offers)
    for entry in ranking:
        assert {"offer_id", "verdict", "rank"} <= set(entry)
    ranks = [VERDICT_RANK[entry["verdict"]] for entry in ranking]
    assert ranks == sorted(ranks), [e["verdict"] for e in ranking]
    assert [e["rank"] for e in ranking] == list(range(1, len(ranking) + 1))


def test_rank_order_best_first(capsys):
    # r01: Trondheim is not unsuitable, Gåseid is; the ranking must put Trondheim first.
    data = run_json(capsys, "rank", "--resident", R01, GASEID, offer_file("trondheim-planned-11"))
    order = [e["offer_id"] for e in data["ranking"]]
    assert order == ["O-trondheim-planned-11", "O-aalesund-gaseid"]
    assert data["ranking"][-1]["verdict"] == "unsuitable"


def test_rank_text(capsys):
    code, out, _ = run(capsys, "rank", "--resident", R01, GASEID, REINSHOLM)
    assert code == 0
    assert "O-aalesund-gaseid" in out and "O-verdal-reinsholm" in out


def test_schema_resident(capsys):
    code, out, _ = run(capsys, "schema", "resident")
    assert code == 0
    schema = json.loads(out)
    assert schema["type"] == "object"
    assert set(schema["properties"]) == set(ResidentProfile.model_fields)
    assert schema["required"] == ["id"]
    assert schema.get("additionalProperties") is False


def test_schema_offer(capsys):
    code, out, _ = run(capsys, "schema", "offer")
    assert code == 0
    schema = json.loads(out)
    assert set(schema["required"]) == {"id", "type"}
    assert "building" in schema["properties"]


# --------------------------------------------------------------------------- bad input


BAD_RESIDENTS = {
    "typo": ("id: R-1\nviolense_risk: high\n", ["violense_risk", "did you mean violence_risk"]),
    "enum": ("id: R-1\nviolence_risk: hihg\n", ["violence_risk", "hihg"]),
    "age-low": ("id: R-1\nage: 15\n", ["age", "16"]),
    "age-high": ("id: R-1\nage: 111\n", ["age", "110"]),
    "no-id": ("age: 40\n", ["id", "required"]),
    "fnr": ("id: '31129912319'\n", ["id", "national identity number"]),
    "yaml-date": ("id: R-1\ndanger_assessment_date: 2025-13-01\n", ["resident.yaml"]),
}


@pytest.mark.parametrize("case", list(BAD_RESIDENTS))
def test_bad_resident_exits_2_without_traceback(capsys, tmp_path, case):
    text, expected = BAD_RESIDENTS[case]
    resident = write(tmp_path, "resident.yaml", text)
    out_file = tmp_path / "out.json"
    try:
        code, out, err = run(
            capsys,
            "check",
            "--resident",
            resident,
            "--offer",
            GASEID,
            "--out",
            out_file,
            "--lang",
            "en",
        )
    except Exception as exc:  # an uncaught exception is a traceback for the user
        pytest.fail(f"the CLI raised {type(exc).__name__}: {exc}")
    assert code == 2
    assert "Traceback" not in err
    assert str(resident) in err
    for word in expected:
        assert word in err, err
    assert out == ""
    assert not out_file.exists()


def test_bad_offer_exits_2(capsys, tmp_path):
    offer = write(
        tmp_path, "offer.yaml", "id: O-1\ntype: small_house\nbuilding: {sprinkle: none}\n"
    )
    code, out, err = run(capsys, "audit", "--offer", offer, "--lang", "en")
    assert code == 2
    assert "building.sprinkle" in err and "did you mean sprinkler" in err
    assert out == ""


def test_missing_file_exits_2(capsys, tmp_path):
    out_file = tmp_path / "out.txt"
    missing = tmp_path / "nope.yaml"
    code, _, err = run(
        capsys, "check", "--resident", missing, "--offer", GASEID, "--out", out_file, "--lang", "en"
    )
    assert code == 2
    assert f"{missing}: no such file" in err
    assert "Traceback" not in err
    assert not out_file.exists()


def test_rank_bad_offer_writes_nothing(capsys, tmp_path):
    offers = tmp_path / "offers"
    offers.mkdir()
    write(offers, "a.yaml", "id: O-a\ntype: small_house\n")
    write(offers, "b.yaml", "id: O-b\ntype: smallhouse\n")
    out_file = tmp_path / "ranking.json"
    code, _, err = run(capsys, "rank", "--resident", R01, offers, "--out", out_file)
    assert code == 2
    assert "b.yaml" in err and "smallhouse" in err
    assert not out_file.exists()


def test_rank_empty_directory(capsys, tmp_path):
    code, _, err = run(capsys, "rank", "--resident", R01, tmp_path, "--lang", "en")
    assert code == 2
    assert "no offer profiles" in err


def test_bad_rules_directory_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "audit", "--offer", GASEID, "--rules", tmp_path / "no-rules")
    assert code == 2
    assert "no such rules directory" in err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["check", "--resident", str(R01)])
    assert info.value.code == 2
    assert "--offer" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end


def test_end_to_end_subprocess(tmp_path):
    assert ROPRULES.exists(), ROPRULES
    result = subprocess.run(
        [
            str(ROPRULES),
            "check",
            "--resident",
            str(R01),
            "--offer",
            str(GASEID),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "unsuitable"
    assert "supervision.high-violence-risk-unsupervised" in {f["rule_id"] for f in data["findings"]}
    assert data["ruleset"]["sha256"] == shared_engine().ruleset.sha256

    bad = write(tmp_path, "bad.yaml", "id: R-1\nviolense_risk: high\n")
    out_file = tmp_path / "out.txt"
    result = subprocess.run(
        [
            str(ROPRULES),
            "check",
            "--resident",
            str(bad),
            "--offer",
            str(GASEID),
            "--out",
            str(out_file),
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "violense_risk: unknown field (did you mean violence_risk?)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out_file.exists()


def test_a_command_leaves_the_collector_as_it_found_it(capsys):
    """main() relaxes the cyclic collector while a command runs; the process's own
    thresholds are back afterwards, and a collector switched off stays off."""
    import gc

    before = gc.get_threshold()
    assert (
        cli.main(["check", "--resident", str(R01), "--offer", str(offer_file("verdal-reinsholm"))])
        == 0
    )
    assert gc.get_threshold() == before
    gc.set_threshold(0)
    try:
        assert cli.main(["schema", "resident"]) == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
    capsys.readouterr()


def test_objects_leave_the_collector_only_at_exit(tmp_path):
    """A command (not `serve`) freezes the objects left at exit, so the interpreter's
    last collections do not walk them; while the process runs, nothing is frozen.

    Measured against the count at start: some interpreters begin with objects frozen
    already (pyenv's 3.12.1 starts at 375)."""
    code = (
        "import atexit, gc, sys\n"
        "start = gc.get_freeze_count()\n"
        "atexit.register(lambda: print('at exit', gc.get_freeze_count() > start))\n"
        "from roprules.cli import main\n"
        "for _ in range(2):\n"
        "    assert main(sys.argv[1:]) == 0\n"
        "print('after main', gc.get_freeze_count() - start)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "schema", "resident"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        check=True,
    )
    assert result.stdout.splitlines()[-2:] == ["after main 0", "at exit True"]
