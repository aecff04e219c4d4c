"""Small things a team trips on (issue 11, item 7): standard input, an offer audit's words."""

from __future__ import annotations

import io
import json
import sys

import pytest
import yaml

from conftest import REPO
from roprules.cli import main
from roprules.contract.messages import messages

RESIDENT = REPO / "profiles" / "residents" / "r06-low-need.yaml"
OFFER = REPO / "profiles" / "offers" / "aalesund-kverve.yaml"


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_resident_from_standard_input(monkeypatch, capsys):
    _stdin(monkeypatch, RESIDENT.read_bytes())
    args = ["check", "--resident", "-", "--offer", str(OFFER), "--format", "json"]
    assert main([*args, "--as-of", "2026-11-30"]) == 0
    from_stdin = json.loads(capsys.readouterr().out)
    assert (
        main(
            [
                "check",
                "--resident",
                str(RESIDENT),
                "--offer",
                str(OFFER),
                "--format",
                "json",
                "--as-of",
                "2026-11-30",
            ]
        )
        == 0
    )
    from_file = json.loads(capsys.readouterr().out)
    assert from_stdin["resident_id"] == "R-006"
    assert from_stdin["verdict"] == from_file["verdict"]
    assert [f["rule_id"] for f in from_stdin["findings"]] == [
        f["rule_id"] for f in from_file["findings"]
    ]


def test_resident_from_standard_input_as_json(monkeypatch, capsys):
    data = yaml.safe_load(RESIDENT.read_text(encoding="utf-8"))
    _stdin(monkeypatch, json.dumps(data, default=str).encode("utf-8"))
    assert main(["resident", "--resident", "-", "--lang", "en", "--as-of", "2026-11-30"]) == 0
    assert "R-006" in capsys.readouterr().out


def test_bad_profile_on_standard_input_names_stdin(monkeypatch, capsys):
    _stdin(monkeypatch, b"id: 'bad id'\n")
    assert main(["resident", "--resident", "-", "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("roprules: error: <stdin>: id:") and "Traceback" not in err
    _stdin(monkeypatch, b"")
    assert main(["resident", "--resident", "-", "--lang", "en"]) == 2
    assert "<stdin>" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_offer_audit_speaks_of_the_offer(capsys, fmt):
    offer = REPO / "profiles" / "offers" / "verdal-reinsholm.yaml"
    for lang, placement_word in (("nb", "Plasseringen"), ("en", "the placement")):
        assert main(["audit", "--offer", str(offer), "--format", "json", "--lang", lang]) == 0
        verdict = json.loads(capsys.readouterr().out)["verdict"]
        meaning = messages().term("offer_verdict_meaning", verdict, lang)
        assert meaning.startswith(("Minst", "Ingen", "At least", "No "))
        assert main(["audit", "--offer", str(offer), "--format", fmt, "--lang", lang]) == 0
        out = " ".join(capsys.readouterr().out.split()).replace("\\", "")
        assert meaning in out
        assert placement_word not in out and placement_word.lower() not in out
    assert "placement" not in str(messages().terms["offer_verdict_meaning"]).lower()
    assert "plassering" not in str(messages().terms["offer_verdict_meaning"]).lower()
