"""YAML documents are built directly where they are plain maps, lists and scalars; the
result (or the error) is exactly what PyYAML's general construction gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO
from roprules.contract import documents

LOADERS = {
    "strict": documents._StrictSafeLoader,
    "profile": documents._ProfileLoader,
}


def _general(loader: type) -> type:
    class General(loader):  # type: ignore[misc, valid-type]
        construct_document = yaml.constructor.BaseConstructor.construct_document

    return General


def _outcome(text: str, loader: type) -> Any:
    try:
        return ("ok", repr(yaml.load(text, Loader=loader)))
    except Exception as exc:  # the same error, worded the same
        return ("error", type(exc).__name__, str(exc))


def _shipped_documents() -> list[Path]:
    roots = [REPO / "rules", REPO / "profiles", REPO / "src" / "roprules" / "messages"]
    return sorted(p for root in roots for p in root.rglob("*.yaml"))


def test_every_shipped_document_is_built_as_pyyaml_builds_it() -> None:
    files = _shipped_documents()
    assert len(files) > 30
    for path in files:
        text = path.read_text(encoding="utf-8")
        documents._check_tokens(text)
        for name, loader in LOADERS.items():
            assert _outcome(text, loader) == _outcome(text, _general(loader)), (path, name)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1, 2.5, yes, no, ~, '3', 2024-01-31]\nc: {d: e}\n",
        "a: 040\nb: 0x28\nc: 4_0\nd: 1:30\ne: .inf\nf: .nan\ng: 1e3\n",
        "<<: {a: 1}\nb: 2\n",
        "a: 1\na: 2\n",
        "1: one\n",
        "yes: true\n",
        "? [a, b]\n: c\n",
        "=: x\n",
        "a: !!set {x, y}\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!str 12\nb: !!int '7'\n",
        "a: !!python/object:os.system x\n",
        "a: !custom x\n",
        "- a\n- - b\n  - c\n- {x: [1, {y: z}]}\n",
        "a: 2024-13-45\n",
        "plain text\n",
        "",
    ],
)
def test_unusual_documents_go_the_general_way(text: str) -> None:
    for name, loader in LOADERS.items():
        assert _outcome(text, loader) == _outcome(text, _general(loader)), name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &x 1\n", "anchors and aliases are not allowed"),
        ("a: 1\nb: *x\n", "anchors and aliases are not allowed"),
        ("a: " + "[" * 60 + "]" * 60 + "\n", "nested too deeply"),
        ("- " * 51 + "x\n", "nested too deeply"),
        (
            "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "v: 1\n",
            "nested too deeply",
        ),
    ],
)
def test_anchors_and_deep_nesting_are_refused_with_or_without_the_scan(
    text: str, problem: str
) -> None:
    """Texts with "&" or "*" are scanned before composing; the others are checked on the
    composed nodes: either way the same refusal."""
    with pytest.raises(documents.InputError, match=problem):
        documents.parse_text(text, "f.yaml")


def test_fifty_levels_are_allowed() -> None:
    assert documents.parse_text("- " * 50 + "x\n", "f.yaml") is not None
