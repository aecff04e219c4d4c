"""Shared fixtures: one Engine per test session, paths to the shipped files.

Loading the engine compiles every rule and registers it with durable_rules, so
it is done once (`shared_engine`) and reused by every test module. Modules that
parametrize over the rules at collection time call `shared_engine()` directly.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from roprules import Engine
from roprules.profiles import OfferProfile, ResidentProfile, profile_to_facts

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "rules"
PROFILES_DIR = REPO / "profiles"
RESIDENTS_DIR = PROFILES_DIR / "residents"
OFFERS_DIR = PROFILES_DIR / "offers"
# CI clones the repository with a copy of shared/ beside it, as on a developer machine.
SPEC_DIR = REPO.parent / "shared" / "spec"


@functools.cache
def shared_engine() -> Engine:
    """The engine over the shipped rules, loaded once per session."""
    return Engine.load()


@pytest.fixture(scope="session")
def engine() -> Engine:
    return shared_engine()


@pytest.fixture(scope="session")
def ruleset(engine: Engine):
    return engine.ruleset


@pytest.fixture(scope="session")
def assessor(engine: Engine):
    # The assessor holds one durable_rules engine per rule scope (`durable[scope]`).
    return engine._assessor


def resident_file(prefix: str) -> Path:
    """The shipped resident profile whose file name starts with `prefix` (e.g. "r01")."""
    (match,) = sorted(RESIDENTS_DIR.glob(f"{prefix}*.yaml"))
    return match


def offer_file(name: str) -> Path:
    path = OFFERS_DIR / f"{name}.yaml"
    assert path.is_file(), path
    return path


def facts_of(
    resident: ResidentProfile | None = None, offer: OfferProfile | None = None
) -> dict[str, Any]:
    """The flat facts the engine reads for a resident and/or an offer."""
    return {**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}


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
