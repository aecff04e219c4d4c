"""An on-disk cache of parsed documents: the rule base and the message catalogues.

Every command reads the same ~30 YAML files (the rule files, the parameters, the
message catalogues) and composing them in libyaml was ~60 ms of a ~0.35 s
`roprules check` (benchmarks/README.md, cold start). The cache keeps each parsed
document as JSON, so the next start reads it with the json module (C) instead.

What makes it safe to use:

- **Keyed by content.** An entry's name is the SHA-256 of the document's exact
  bytes together with everything that decides what parsing them gives: the cache
  format, the roprules version, the SHA-256 of the parsing code (documents.py),
  the Python, PyYAML and pydantic versions. An edited rule file has other bytes and
  so another key: nothing to invalidate, a stale entry is never found. Entries
  written more than 30 days ago are removed when a new entry is written.
- **Plain data only, never code.** An entry is JSON: maps with text keys, lists,
  text, numbers, booleans, null; dates are kept as ISO text with the list of where
  they stand. No pickle, no marshal. A document holding anything else is not cached.
- **Still checked.** What comes from the cache is validated by the same models as
  what comes from the file, so a tampered entry can do no more than a tampered rule
  file. A rule base that fails any check is read again from its files, without the
  cache, so every error is worded from the YAML itself.
- **Never in the way.** Any failure to read, decode or write an entry (a missing or
  read-only folder, a full disk, a corrupt or foreign file) falls back to parsing,
  silently. Entries are written whole (a temporary file, then `os.replace`).

Where: `$ROPRULES_CACHE_DIR`, else `$XDG_CACHE_HOME/roprules`, else
`~/.cache/roprules`. `ROPRULES_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from roprules.contract import documents
from roprules.contract.documents import decode, parse_text, read_bytes, read_document_and_bytes

CACHE_FORMAT = "1"
MAX_AGE_SECONDS = 30 * 24 * 3600
_SUFFIX = ".json"


class _NotCacheable(Exception):
    """A value that JSON cannot give back exactly as parsed."""


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is turned off."""
    if os.environ.get("ROPRULES_NO_CACHE", "") not in ("", "0"):
        return None
    configured = os.environ.get("ROPRULES_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "roprules"
    try:
        return Path.home() / ".cache" / "roprules"
    except (RuntimeError, KeyError, OSError):  # no home directory
        return None


@cache
def _salt() -> bytes:
    """Everything besides the bytes that decides what parsing them gives."""
    import pydantic
    import yaml

    from roprules import __version__  # here: the package is importing this module

    parser = hashlib.sha256(Path(documents.__file__).read_bytes()).hexdigest()
    parts = (
        CACHE_FORMAT,
        __version__,
        parser,
        sys.version,
        getattr(yaml, "__version__", "?"),
        str(getattr(yaml, "__with_libyaml__", "?")),
        pydantic.VERSION,
    )
    return "\0".join(parts).encode() + b"\0\0"


def key_of(raw: bytes, kind: str) -> str:
    """The entry's name: the bytes, how they are read (`kind`) and the salt."""
    digest = hashlib.sha256(_salt())
    digest.update(kind.encode() + b"\0")
    digest.update(raw)
    return digest.hexdigest()


def _plain(value: Any, path: list[Any], dates: list[list[Any]]) -> Any:
    """`value` as JSON gives it back; dates become ISO text, their places (`path`, the
    keys and indexes down to them) noted in `dates`."""
    kind = value.__class__
    if kind is str or kind is bool or kind is int or kind is float or value is None:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if key.__class__ is not str:
                raise _NotCacheable
            path.append(key)
            out[key] = _plain(item, path, dates)
            path.pop()
        return out
    if kind is list:
        items = []
        for index, item in enumerate(value):
            path.append(index)
            items.append(_plain(item, path, dates))
            path.pop()
        return items
    if kind is date or kind is datetime:
        dates.append([*path, kind is datetime])
        return value.isoformat()
    raise _NotCacheable


def _restore(document: Any, dates: Any) -> Any:
    """The document with its dates back (the inverse of `_plain`)."""
    if not isinstance(dates, list):
        raise ValueError("bad entry")
    for place in dates:
        *steps, last, is_datetime = place
        parent = document
        for step in steps:
            parent = parent[step]
        text = parent[last]
        if not isinstance(text, str):
            raise ValueError("bad entry")
        parent[last] = datetime.fromisoformat(text) if is_datetime else date.fromisoformat(text)
    return document


_PRUNED: list[bool] = []  # old entries are looked for once per process, at the first write


class DocumentCache:
    """Parsed documents by the SHA-256 of their bytes, in one folder."""

    def __init__(self, directory: Path):
        self.directory = directory

    def get(self, raw: bytes, kind: str) -> tuple[bool, Any]:
        """(True, document) for a stored entry; (False, None) for none or a bad one."""
        key = key_of(raw, kind)
        try:
            with open(self.directory / (key + _SUFFIX), "rb") as handle:
                entry = json.loads(handle.read())
            if entry["key"] != key:
                return False, None
            return True, _restore(entry["document"], entry["dates"])
        except Exception:  # missing, unreadable, corrupt, foreign: parse instead
            return False, None

    def put(self, raw: bytes, kind: str, document: Any) -> None:
        """Store the document parsed from `raw`; silently nothing when it cannot be."""
        try:
            dates: list[list[Any]] = []
            entry = {
                "key": key_of(raw, kind),
                "document": _plain(document, [], dates),
                "dates": dates,
            }
            data = json.dumps(entry, allow_nan=True).encode("ascii")
            import tempfile  # only when an entry is written (it imports shutil, random)

            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=_SUFFIX)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, self.directory / (entry["key"] + _SUFFIX))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
            if not _PRUNED:
                _PRUNED.append(True)
                self._prune()
        except Exception:  # read-only, full, not a folder, not cacheable: no entry
            return

    def _prune(self) -> None:
        """Remove entries written more than MAX_AGE_SECONDS ago (at the first write of a
        process, never on a start that only reads); one still in use is written again."""
        limit = time.time() - MAX_AGE_SECONDS
        for path in self.directory.glob("*" + _SUFFIX):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < limit:
                    path.unlink()


def document_cache() -> DocumentCache | None:
    """The cache to use now (the environment is read at every call), or None."""
    directory = cache_dir()
    return DocumentCache(directory) if directory is not None else None


def read_document_cached(path: Path, store: DocumentCache | None) -> tuple[Any, bytes]:
    """`documents.read_document_and_bytes(path)` through the cache: the same document,
    the same bytes, the same errors (nothing that fails to parse is stored)."""
    if store is None:
        return read_document_and_bytes(path)
    raw = read_bytes(path)
    kind = "json" if path.suffix.lower() == ".json" else "yaml"
    found, document = store.get(raw, kind)
    if not found:
        document = parse_text(decode(raw, str(path)), str(path), json_format=kind == "json")
        store.put(raw, kind, document)
    return document, raw


def parse_cached(raw: bytes, name: str, store: DocumentCache | None) -> Any:
    """A packaged YAML document (a message catalogue) from its bytes, through the cache."""
    if store is not None:
        found, document = store.get(raw, "yaml")
        if found:
            return document
    document = parse_text(raw.decode("utf-8"), name)
    if store is not None:
        store.put(raw, "yaml", document)
    return document
