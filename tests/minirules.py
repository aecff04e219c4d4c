"""A small rule base written from dicts, for tests of loader and engine features.

Keeps tests independent of the shipped catalogue (which the rule helpers
rewrite) and of its file layout: one place knows how a rules directory looks.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from conftest import RULES_DIR

THEME = "test"


def rule(rule_id: str, when: Any, **changes: Any) -> dict[str, Any]:
    """A valid resident rule with the given condition; `changes` override any key."""
    base: dict[str, Any] = {
        "id": rule_id,
        "scope": "resident",
        "kind": "warning",
        "severity": "major",
        "topics": ["safety"],
        "when": when,
        "title": {"nb": "Tittel", "en": "Title"},
        "explanation": {"nb": "Forklaring.", "en": "Explanation."},
        "suggestion": {"nb": "Tiltak.", "en": "Suggestion."},
        "sources": [{"title": "Test source", "url": "https://example.org"}],
        "examples": {"fires": [{"resident": {}}], "silent": [{"resident": {}}]},
    }
    base.update(changes)
    return base


def write_rules(tmp_path: Path, rules: list[dict[str, Any]], **header: Any) -> Path:
    """A rules directory holding `rules` in one theme folder, with the shipped parameters."""
    root = tmp_path / "minirules"
    root.mkdir()
    shutil.copy(RULES_DIR / "parameters.yaml", root / "parameters.yaml")
    document = {
        "name": "test-rules",
        "version": "0.0.1",
        "title": {"nb": "Testregler", "en": "Test rules"},
        "themes": [{"id": THEME, "title": {"nb": "Test", "en": "Test"}}],
        **header,
    }
    dump(root / "ruleset.yaml", document)
    (root / THEME).mkdir()
    by_prefix: dict[str, list[dict[str, Any]]] = {}
    for item in rules:  # one file per id prefix (docs/rule-format.md, Layout)
        by_prefix.setdefault(str(item["id"]).split(".", 1)[0], []).append(item)
    for prefix, items in by_prefix.items():
        dump(root / THEME / f"{prefix}.yaml", {"rules": items})
    return root


def dump(path: Path, document: Any) -> None:
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
