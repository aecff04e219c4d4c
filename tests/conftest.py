"""Shared fixtures: one Engine per backend and test session, paths to the shipped files.

Loading the engine compiles every rule (and registers it with durable_rules), so
it is done once per backend (`shared_engine`) and reused by every test module.
Modules that parametrize over the rules at collection time call `shared_engine()`.

Backends: `engine` is the default ("auto": durable where durable_rules imports,
else the evaluator). Modules that must hold on both backends use `each_engine`
(parametrized over `BACKENDS`, the backends importable here) or override
`engine` with it; tests that talk to durable_rules itself are marked
`needs_durable` and skipped where it cannot be imported (Python 3.13+).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from roprules import Engine
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.backends import durable_available
from roprules.evaluation.outcome import assessment_facts

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "rules"
PROFILES_DIR = REPO / "profiles"
RESIDENTS_DIR = PROFILES_DIR / "residents"
OFFERS_DIR = PROFILES_DIR / "offers"
# CI clones the repository with a copy of shared/ beside it, as on a developer machine.
SPEC_DIR = REPO.parent / "shared" / "spec"


# The on-disk document cache (contract/document_cache.py) of this test run: a folder of
# its own, never the developer's ~/.cache; every load after the first reads from it.
if "ROPRULES_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="roprules-test-cache-")
    os.environ["ROPRULES_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

BACKENDS: tuple[str, ...] = ("durable", "evaluator") if durable_available() else ("evaluator",)
needs_durable = pytest.mark.skipif(
    not durable_available(), reason="durable_rules cannot be imported here (Python 3.13+)"
)


@functools.cache
def shared_engine(backend: str = "auto") -> Engine:
    """The engine over the shipped rules on one backend, loaded once per session."""
    return Engine.load(backend=backend)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return shared_engine()


@pytest.fixture(scope="session", params=BACKENDS)
def each_engine(request: pytest.FixtureRequest) -> Engine:
    """The shipped rules on every backend importable here, one test per backend."""
    return shared_engine(request.param)


@pytest.fixture(scope="session")
def ruleset(engine: Engine):
    return engine.ruleset


@pytest.fixture(scope="session")
def assessor(engine: Engine):
    # The assessor holds one backend engine per rule scope (`engines[scope]`).
    return engine._evaluator


def resident_file(prefix: str) -> Path:
    """The shipped resident profile whose file name starts with `prefix` (e.g. "r01")."""
    (match,) = sorted(RESIDENTS_DIR.glob(f"{prefix}*.yaml"))
    return match


def offer_file(name: str) -> Path:
    path = OFFERS_DIR / f"{name}.yaml"
    assert path.is_file(), path
    return path


def facts_of(
    resident: ResidentProfile | None = None,
    offer: OfferProfile | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The flat facts the engine reads for a resident and/or an offer, as of a date (today)."""
    return assessment_facts(resident, offer, as_of or date.today())


def comparable(model: Any) -> Mapping[str, Any]:
    """An assessment or ranking without its timestamp, for equality checks."""
    return model.model_dump(exclude={"created_at"})


CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None,
    reason="/usr/bin/chromium is not installed (apt-get install chromium to run this test)",
)


def chromium_dump(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Load a file in headless Chromium (flags for this closed network) and dump its DOM."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
