"""The web app's own texts (ui.yaml), in bokmål and English."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LANGS = ("nb", "en")


@cache
def _texts() -> dict[str, dict[str, str]]:
    data = yaml.safe_load((Path(__file__).parent / "ui.yaml").read_text(encoding="utf-8"))
    return {str(key): value for key, value in data.items()}


def ui(key: str, lang: str) -> str:
    """The text `key` in `lang`; a missing key is a programming error, caught by the tests."""
    return _texts()[key][lang]


def all_keys() -> list[str]:
    return list(_texts())
