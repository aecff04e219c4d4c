"""The on-disk cache of parsed documents (contract/document_cache.py): a start that
reads the cache gives exactly what parsing gives; an edited file is parsed again; a
corrupt, foreign or unwritable cache is never an error; bad rule files are worded
from the YAML, as without the cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import BACKENDS, OFFERS_DIR, REPO, RESIDENTS_DIR, RULES_DIR, comparable
from roprules.api import Engine
from roprules.contract import document_cache as dc
from roprules.contract import messages as messages_module
from roprules.contract.intake import load_offer, load_resident
from roprules.rulebase.ruleset import Ruleset, RulesetError, load_ruleset

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SRC = REPO / "src"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ROPRULES_CACHE_DIR", str(folder))
    monkeypatch.delenv("ROPRULES_NO_CACHE", raising=False)
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def summary(ruleset: Ruleset) -> dict[str, Any]:
    """Everything a loaded rule base holds that an assessment can depend on."""
    return {
        "name": ruleset.name,
        "version": ruleset.version,
        "title": ruleset.title.model_dump(),
        "sha256": ruleset.sha256,
        "law_as_of": ruleset.law_as_of,
        "themes": [(t.name, t.title.model_dump(), t.file) for t in ruleset.themes],
        "rules": [
            (r.id, r.theme, r.file, r.severity, r.spec.model_dump(), repr(r.condition))
            for r in ruleset.rules
        ],
        "parameters": {k: v.model_dump() for k, v in ruleset.parameters.items()},
        "params": dict(ruleset.params),
        "header": ruleset.header.model_dump() if ruleset.header else None,
    }


def uncached(monkeypatch: pytest.MonkeyPatch, rules: Path = RULES_DIR, **kw: Any) -> Any:
    with monkeypatch.context() as patch:
        patch.setenv("ROPRULES_NO_CACHE", "1")
        return load_ruleset(rules, **kw)


def test_a_start_from_the_cache_gives_the_same_rule_base(cache_dir, monkeypatch):
    expected = summary(uncached(monkeypatch))
    assert not entries(cache_dir)
    first = summary(load_ruleset())  # parses, writes the entries
    written = entries(cache_dir)
    assert len(written) == len(list(RULES_DIR.rglob("*.yaml")))
    stamps = [p.stat().st_mtime_ns for p in written]
    second = summary(load_ruleset())  # reads them
    assert first == expected and second == expected
    assert [p.stat().st_mtime_ns for p in entries(cache_dir)] == stamps  # nothing rewritten


def test_message_catalogues_from_the_cache_are_the_same(cache_dir, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setenv("ROPRULES_NO_CACHE", "1")
        fields, terms = messages_module._read("fields.yaml"), messages_module._read("terms.yaml")
    for _ in range(2):  # written, then read
        assert messages_module._read("fields.yaml") == fields
        assert messages_module._read("terms.yaml") == terms
    assert len(entries(cache_dir)) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_assessments_from_a_cached_start_are_the_same(cache_dir, monkeypatch, backend):
    residents = [load_resident(p) for p in sorted(RESIDENTS_DIR.glob("*.yaml"))[:4]]
    offers = [load_offer(p) for p in sorted(OFFERS_DIR.glob("*.yaml"))[:4]]
    with monkeypatch.context() as patch:
        patch.setenv("ROPRULES_NO_CACHE", "1")
        plain = Engine.load(backend=backend)
    load_ruleset()  # the entries written
    cached = Engine.load(backend=backend)
    try:
        for resident in residents:
            for offer in offers:
                for lang in ("nb", "en"):
                    a = plain.check(resident, offer, lang=lang, now=NOW, remedies=True)
                    b = cached.check(resident, offer, lang=lang, now=NOW, remedies=True)
                    assert comparable(a) == comparable(b)
    finally:
        plain.close()
        cached.close()


def copy_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    return rules


def test_an_edited_rule_file_is_parsed_again(cache_dir, tmp_path, monkeypatch):
    rules = copy_rules(tmp_path)
    before = load_ruleset(rules)
    path = rules / "building" / "building.yaml"
    edited = path.read_text(encoding="utf-8").replace(
        "Gypsum walls that are hard to repair", "Walls of gypsum, hard to repair", 1
    )
    path.write_text(edited, encoding="utf-8")
    after = load_ruleset(rules)
    title = after.rule("building.gypsum-walls").spec.title.en
    assert title == "Walls of gypsum, hard to repair"
    assert after.sha256 != before.sha256
    assert summary(after) == summary(uncached(monkeypatch, rules))


def test_the_key_holds_the_versions_and_the_parser(monkeypatch):
    import roprules

    raw = b"a: 1\n"
    key = dc.key_of(raw, "yaml")
    assert dc.key_of(raw + b" ", "yaml") != key
    assert dc.key_of(raw, "json") != key
    dc._salt.cache_clear()
    try:
        monkeypatch.setattr(roprules, "__version__", "99.0")
        assert dc.key_of(raw, "yaml") != key
        monkeypatch.undo()
        dc._salt.cache_clear()
        monkeypatch.setattr(dc, "CACHE_FORMAT", "x")
        assert dc.key_of(raw, "yaml") != key
    finally:
        monkeypatch.undo()
        dc._salt.cache_clear()
    assert dc.key_of(raw, "yaml") == key


def test_corrupt_or_foreign_entries_are_parsed_instead(cache_dir, monkeypatch):
    expected = summary(uncached(monkeypatch))
    load_ruleset()
    written = entries(cache_dir)
    damaged = {
        0: b"",
        1: b"{not json",
        2: b"[]",
        3: json.dumps({"key": "0" * 64, "document": {}, "dates": []}).encode(),
        4: b"\xff\xfe",
        5: b'{"key": null}',
    }
    for index, path in enumerate(written):
        data = damaged.get(index % len(damaged))
        entry = json.loads(path.read_bytes())
        if index % 3 == 0:  # a date place that points nowhere, or at a number
            entry["dates"] = [["no", "such", "place", False]] if index % 2 else [[0, True]]
            data = json.dumps(entry).encode()
        path.write_bytes(data or b"")
    assert summary(load_ruleset()) == expected


def test_a_tampered_entry_is_validated_like_a_file(cache_dir, monkeypatch):
    """An entry changed to an invalid rule is refused by the models; the rule base is
    then read from its files alone, which are fine."""
    expected = summary(uncached(monkeypatch))
    load_ruleset()
    for path in entries(cache_dir):
        entry = json.loads(path.read_bytes())
        document = entry["document"]
        if isinstance(document, dict) and document.get("rules"):
            document["rules"][0]["severity"] = "catastrophic"
            path.write_text(json.dumps(entry), encoding="utf-8")
    assert summary(load_ruleset()) == expected


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_is_no_error(cache_dir, monkeypatch):
    cache_dir.mkdir(mode=0o500)
    try:
        assert summary(load_ruleset()) == summary(uncached(monkeypatch))
        assert not entries(cache_dir)
    finally:
        cache_dir.chmod(0o700)


def test_a_cache_path_that_is_a_file_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("ROPRULES_CACHE_DIR", str(blocker / "roprules"))
    assert summary(load_ruleset()) == summary(uncached(monkeypatch))
    monkeypatch.setenv("ROPRULES_CACHE_DIR", str(blocker))
    assert summary(load_ruleset()) == summary(uncached(monkeypatch))
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_no_cache_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setenv("ROPRULES_NO_CACHE", "1")
    load_ruleset()
    messages_module._read("terms.yaml")
    assert not cache_dir.exists()


def test_where_the_cache_lives(tmp_path, monkeypatch):
    for name in ("ROPRULES_CACHE_DIR", "ROPRULES_NO_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert dc.cache_dir() == tmp_path / "home" / ".cache" / "roprules"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dc.cache_dir() == tmp_path / "xdg" / "roprules"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert dc.cache_dir() == tmp_path / "home" / ".cache" / "roprules"
    monkeypatch.setenv("ROPRULES_CACHE_DIR", str(tmp_path / "mine"))
    assert dc.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("ROPRULES_NO_CACHE", "1")
    assert dc.cache_dir() is None and dc.document_cache() is None
    monkeypatch.setenv("ROPRULES_NO_CACHE", "0")
    assert dc.cache_dir() == tmp_path / "mine"


BAD_RULES = {
    "an invalid rule": (
        "Gypsum walls that are hard to repair",
        "x",
        "severity: minor",
        "severity: x",
    ),
    "a syntax error": ("rules:\n", "rules:\n  - [\n", None, None),
    "a duplicate key": ("    scope: offer\n", "    scope: offer\n    scope: offer\n", None, None),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rule_files_give_the_same_errors(cache_dir, tmp_path, monkeypatch, case):
    rules = copy_rules(tmp_path)
    load_ruleset(rules)  # every entry written while the files were good
    old, new, old2, new2 = BAD_RULES[case]
    path = rules / "building" / "building.yaml"
    text = path.read_text(encoding="utf-8").replace(old, new, 1)
    if old2 is not None:
        text = text.replace(old2, new2, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesetError) as plain:
        uncached(monkeypatch, rules)
    for _ in range(2):
        with pytest.raises(RulesetError) as cached:
            load_ruleset(rules)
        assert cached.value.messages == plain.value.messages


def test_an_overlay_on_stdin_is_read_once_when_the_rules_are_bad(cache_dir, tmp_path):
    """A bad rule base is read a second time without the cache; an overlay from a pipe
    is not read again (it would be empty): the errors are those of the rules."""
    rules = copy_rules(tmp_path)
    path = rules / "building" / "building.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("severity: minor", "severity: x", 1),
        encoding="utf-8",
    )
    code = (
        "import sys; from roprules.rulebase.ruleset import load_ruleset, RulesetError\n"
        "try:\n    load_ruleset(sys.argv[1], '/dev/stdin')\n"
        "except RulesetError as exc:\n    print('\\n'.join(exc.messages))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "ROPRULES_CACHE_DIR": str(cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(rules)],
        input="name: Kommune\n",
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "severity" in out and "/dev/stdin" not in out


@pytest.mark.parametrize(
    "document",
    [
        {"a": [1, 2.5, -0.0, True, False, None, "x\u202e\x00"], "b": {"c": {}}},
        {"day": date(2026, 11, 30), "list": [date(2020, 1, 2), {"at": datetime(2026, 1, 1)}]},
        {"at": datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))},
        {"$dict": [["$date", "2026-01-01"]], "dates": [], "key": "x"},
        [1, "2026-01-01", {"x": float("inf")}],
        None,
        "text",
    ],
)
def test_documents_come_back_exactly(tmp_path, document):
    store = dc.DocumentCache(tmp_path)
    store.put(b"raw", "yaml", document)
    found, back = store.get(b"raw", "yaml")
    assert found
    assert back == document and repr(back) == repr(document)


@pytest.mark.parametrize(
    "document", [{1: "x"}, {"a": (1, 2)}, {"a": {1, 2}}, {"a": b"bytes"}, [object()]]
)
def test_what_json_cannot_give_back_is_not_cached(tmp_path, document):
    store = dc.DocumentCache(tmp_path)
    store.put(b"raw", "yaml", document)
    assert store.get(b"raw", "yaml") == (False, None)
    assert not entries(tmp_path)


def test_a_failed_write_leaves_no_file_and_no_error(cache_dir, monkeypatch):
    """A full disk or a folder that refuses the rename (also as root, where a read-only
    folder is writable): the rule base is parsed as usual, nothing is left behind."""

    def refuse(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dc.os, "replace", refuse)
    assert summary(load_ruleset()) == summary(uncached(monkeypatch))
    assert cache_dir.is_dir() and not list(cache_dir.iterdir())


def test_old_entries_are_removed_at_the_first_write(tmp_path, monkeypatch):
    monkeypatch.setattr(dc, "_PRUNED", [])
    store = dc.DocumentCache(tmp_path)
    store.put(b"old", "yaml", {"a": 1})
    store.put(b"recent", "yaml", {"b": 2})
    old, recent = (tmp_path / (dc.key_of(raw, "yaml") + ".json") for raw in (b"old", b"recent"))
    long_ago = old.stat().st_mtime - dc.MAX_AGE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    store.put(b"later", "yaml", {"c": 3})  # not the process's first write: nothing removed
    assert old.exists()
    monkeypatch.setattr(dc, "_PRUNED", [])
    store.put(b"new", "yaml", {"d": 4})
    assert not old.exists() and recent.exists()
    assert store.get(b"old", "yaml") == (False, None)
    assert store.get(b"recent", "yaml") == (True, {"b": 2})
