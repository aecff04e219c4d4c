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
