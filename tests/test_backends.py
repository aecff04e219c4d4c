"""Two backends, one rule base: choosing one, recording it, and importing durable lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import roprules.cli as cli
import roprules.evaluation.backends as backends
from conftest import BACKENDS, REPO, needs_durable, offer_file, resident_file, shared_engine
from roprules import BackendUnavailable, Engine

RESIDENT = resident_file("r01")
OFFER = offer_file("aalesund-gaseid")


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_assessment_records_its_backend(backend):
    engine = shared_engine(backend)
    assert engine.backend == backend
    expected = backends.backend_version(backend)
    assert expected and expected != "unknown"
    for assessment in (
        engine.check(RESIDENT, OFFER),
        engine.audit(OFFER),
        engine.assess_resident(RESIDENT),
        *(r.assessment for r in engine.rank(RESIDENT, [OFFER]).ranking),
    ):
        assert assessment.backend is not None
        assert (assessment.backend.name, assessment.backend.version) == (backend, expected)
        data = json.loads(assessment.model_dump_json())
        assert data["backend"] == {"name": backend, "version": expected}


def test_auto_chooses_durable_where_it_imports():
    expected = "durable" if backends.durable_available() else "evaluator"
    assert backends.resolve_backend("auto") == expected
    assert shared_engine().backend == expected


def test_the_evaluator_reports_the_installed_version():
    """roprules' `__version__` is what its package metadata says (pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("roprules")
    except PackageNotFoundError:
        pytest.skip("roprules is not installed here (only on the path)")
    assert backends.backend_version("evaluator") == installed


@needs_durable
def test_durable_reports_the_pinned_version():
    assert backends.backend_version("durable") == "2.0.28"


def test_unknown_backend_is_refused():
    with pytest.raises(BackendUnavailable, match="unknown engine backend"):
        Engine.load(backend="drools")


def test_durable_where_it_cannot_be_imported_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backends, "durable_import_error", lambda: "ImportError: undefined symbol")
    with pytest.raises(BackendUnavailable, match="evaluator") as caught:
        backends.resolve_backend("durable")
    assert "3.11 and 3.12" in str(caught.value)
    assert backends.resolve_backend("auto") == "evaluator"


def test_cli_engine_option_before_and_after_the_command(capsys):
    for argv in (
        ["--engine", "evaluator", "check"],
        ["check", "--engine", "evaluator"],
    ):
        code = cli.main(
            [*argv, "--resident", str(RESIDENT), "--offer", str(OFFER), "--format", "json"]
        )
        out = capsys.readouterr().out
        assert code == 0
        assert json.loads(out)["backend"]["name"] == "evaluator"


def test_cli_unavailable_backend_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(backends, "durable_import_error", lambda: "ImportError: undefined symbol")
    code = cli.main(["--engine", "durable", "audit", "--offer", str(OFFER)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "durable" in captured.err and "Traceback" not in captured.err


def test_cli_bad_engine_choice_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--engine", "fast", "audit", "--offer", str(OFFER)])
    assert caught.value.code == 2


def test_import_and_evaluator_do_not_import_durable_rules():
    out = run_python(
        "import sys, roprules\n"
        "from roprules import Engine\n"
        "engine = Engine.load(backend='evaluator')\n"
        f"engine.check({str(RESIDENT)!r}, {str(OFFER)!r})\n"
        "print('durable_rules_engine' in sys.modules, 'durable' in sys.modules)\n"
    )
    assert out == "False False"


def test_roprules_imports_when_durable_rules_cannot_be_imported():
    """As on Python 3.13: the import of durable_rules fails; auto falls back to the evaluator."""
    out = run_python(
        "import sys\n"
        "sys.modules['durable_rules_engine'] = None  # import raises ImportError\n"
        "from roprules import Engine\n"
        "with Engine.load() as engine:\n"
        f"    a = engine.check({str(RESIDENT)!r}, {str(OFFER)!r})\n"
        "print(engine.backend, a.backend.name, a.verdict)\n"
    )
    assert out == "evaluator evaluator unsuitable"


@needs_durable
def test_backends_give_the_same_assessment_for_the_shipped_profiles():
    durable, evaluator = shared_engine("durable"), shared_engine("evaluator")
    residents = sorted((REPO / "profiles" / "residents").glob("*.yaml"))
    offers = sorted((REPO / "profiles" / "offers").glob("*.yaml"))
    for resident in residents:
        for offer in offers:
            first = durable.check(resident, offer).model_dump(exclude={"created_at", "backend"})
            second = evaluator.check(resident, offer).model_dump(exclude={"created_at", "backend"})
            assert first == second, (resident.name, offer.name)


def test_schema_command_does_not_import_durable_rules():
    out = run_python(
        "import contextlib, io, sys\n"
        "from roprules.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as schema:\n"
        "    code = main(['schema', 'resident'])\n"
        "found = '\"properties\"' in schema.getvalue()\n"
        "print(code, 'durable_rules_engine' in sys.modules, found)\n"
    )
    assert out == "0 False True"
