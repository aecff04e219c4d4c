"""Reading YAML and JSON documents safely.

Profiles and rule files come from people and from other systems, so this module
treats every file as untrusted: a size limit, UTF-8 only, `yaml.safe_load`
semantics without anchors or aliases (no "billion laughs"), no duplicate keys,
and no NaN or infinity (refused by the models, with the field path). Every
failure is an `InputError` naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from roprules.contract.errors import ErrorDetail, sanitise, text

MAX_DOCUMENT_BYTES = 1024 * 1024


class InputError(Exception):
    """Bad input: each problem names the file, the field path and what was expected.

    `errors` holds one `ErrorDetail` (field, code, message, file) per problem;
    `messages` holds the same problems as lines `FILE: FIELD: message`.
    """

    def __init__(
        self,
        messages: list[str] | str | None = None,
        *,
        errors: list[ErrorDetail] | None = None,
        code: str = "bad_file",
    ):
        if errors is None:
            lines = [messages] if isinstance(messages, str) else list(messages or [])
            errors = [ErrorDetail(field="", code=code, message=line) for line in lines]
        self.errors: list[ErrorDetail] = list(errors)
        self.messages: list[str] = [e.line() for e in self.errors]
        super().__init__("\n".join(self.messages))


def file_error(name: str, code: str, message: str) -> InputError:
    """An error about a whole file (no field path)."""
    return InputError(errors=[ErrorDetail(field="", code=code, message=message, file=name)])


_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
MAX_DEPTH = 50  # profiles nest three levels; anything deeper is an attack or an accident
_OPENING = frozenset({yaml.MappingStartEvent, yaml.SequenceStartEvent})
_CLOSING = frozenset({yaml.MappingEndEvent, yaml.SequenceEndEvent})


class _NotPlain(Exception):
    """A node the direct construction leaves to PyYAML's general one."""


_STRING_TAG = "tag:yaml.org,2002:str"
_SEQUENCE_TAG = "tag:yaml.org,2002:seq"
_MAPPING_TAG = "tag:yaml.org,2002:map"
_COLLECTION_TAGS = frozenset(
    {_SEQUENCE_TAG, _MAPPING_TAG, "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap"}
)


class _StrictSafeLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """safe_load semantics that also refuse duplicate keys (anchors: see `_check_tokens`)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"keys must be text; {key_node.value!r} was read as {key!r} "
                    "(YAML reads unquoted on/off/yes/no as booleans: quote the key)",
                    key_node.start_mark,
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_document(self, node: Any) -> Any:
        """The document's data: plain maps, lists and scalars built directly, about twice as
        fast as PyYAML's general construction (each rule file is read at every start);
        anything else (a merge key, an unusual tag, a key that is not text, a duplicate)
        goes the general way, which also words its errors. A test holds the two equal."""
        _check_depth(node)
        try:
            data = self._plain(node)
        except _NotPlain:
            return super().construct_document(node)
        self.constructed_objects = {}
        self.recursive_objects = {}
        self.state_generators = []
        return data

    def _plain(self, node: Any) -> Any:
        kind = node.__class__
        if kind is yaml.ScalarNode:
            construct = self.yaml_constructors.get(node.tag)
            if construct is None or node.tag in _COLLECTION_TAGS:
                raise _NotPlain
            return construct(self, node)
        if kind is yaml.SequenceNode and node.tag == _SEQUENCE_TAG:
            return [self._plain(child) for child in node.value]
        if kind is yaml.MappingNode and node.tag == _MAPPING_TAG:
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not yaml.ScalarNode or key_node.tag != _STRING_TAG:
                    raise _NotPlain
                key = key_node.value
                if key in mapping:
                    raise _NotPlain
                mapping[key] = self._plain(value_node)
            return mapping
        raise _NotPlain


def _check_tokens(text: str) -> None:
    """Refuse anchors, aliases and deep nesting before anything is composed.

    A pass over libyaml's parse events is cheap and bounded by the text's length
    (libyaml itself stops at 1,000 levels), so a "billion laughs" document is
    refused before it can expand. Events, not tokens: half as many objects.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        kind = event.__class__
        if kind is yaml.AliasEvent or getattr(event, "anchor", None) is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases are not allowed", event.start_mark
            )
        if kind in _OPENING:
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.constructor.ConstructorError(
                    None, None, "nested too deeply", event.start_mark
                )
        elif kind in _CLOSING:
            depth -= 1


def _check_depth(root: Any) -> None:
    """Refuse a composed document nested deeper than MAX_DEPTH (libyaml itself stops
    composing at 1,000 levels, so the graph is there to be walked)."""
    pending = [(root, 0)]
    while pending:
        node, depth = pending.pop()
        if node.__class__ is yaml.ScalarNode:
            continue
        depth += 1
        if depth > MAX_DEPTH:
            raise yaml.constructor.ConstructorError(
                None, None, "nested too deeply", node.start_mark
            )
        if node.__class__ is yaml.MappingNode:
            pending.extend((part, depth) for pair in node.value for part in pair)
        else:
            pending.extend((child, depth) for child in node.value)


class SuspectNumber:
    """A YAML number that a person would not read as YAML does: `040` (octal 32),
    `0x28`, `4_0`, `1:30` (sexagesimal 90). Profiles refuse it with the field path."""

    __slots__ = ("source_text",)

    def __init__(self, source_text: str):
        self.source_text = source_text

    def __repr__(self) -> str:
        return f"SuspectNumber({self.source_text!r})"


_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(
    r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


class _ProfileLoader(_StrictSafeLoader):
    """The strict loader, and numbers only in plain decimal writing (profiles)."""

    def construct_yaml_int(self, node: Any) -> Any:
        value = self.construct_scalar(node)
        if not _PLAIN_INT.fullmatch(value):
            return SuspectNumber(value)
        return int(value)

    def construct_yaml_float(self, node: Any) -> Any:
        value = self.construct_scalar(node)
        if not _PLAIN_FLOAT.fullmatch(value):
            return SuspectNumber(value)
        return super().construct_yaml_float(node)


_ProfileLoader.add_constructor("tag:yaml.org,2002:int", _ProfileLoader.construct_yaml_int)
_ProfileLoader.add_constructor("tag:yaml.org,2002:float", _ProfileLoader.construct_yaml_float)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_text(
    text_: str, name: str, *, json_format: bool = False, profile: bool = False, lang: str = "en"
) -> Any:
    """Parse one document from text; `name` is used in error messages.

    `profile=True` reads numbers strictly (see `SuspectNumber`).
    """
    if not text_.strip():
        raise file_error(name, "bad_file", text("file_empty", lang))
    if json_format:
        try:
            # NaN and Infinity parse as floats here; the contract models refuse them with
            # the field path, which is the message a person can act on.
            return json.loads(text_, object_pairs_hook=_json_pairs)
        except (ValueError, RecursionError) as exc:
            raise file_error(name, "syntax", text("not_json", lang, _short(str(exc)))) from None
    try:
        # An anchor is written with "&", an alias with "*": a text without either
        # cannot hold one, and its depth is checked on the composed nodes. Only
        # texts with either character are scanned before composing.
        if "&" in text_ or "*" in text_:
            _check_tokens(text_)
        return yaml.load(text_, Loader=_ProfileLoader if profile else _StrictSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = text("line_col", lang, mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:  # libyaml's own limit, worded like ours
            problem = "nested too deeply"
        raise file_error(name, "syntax", text("not_yaml", lang, where, _short(problem))) from None
    except RecursionError:
        raise file_error(name, "syntax", text("not_yaml", lang, "", "nested too deeply")) from None
    except ValueError as exc:  # e.g. an impossible date such as 2024-13-45
        raise file_error(name, "syntax", text("not_yaml", lang, "", _short(str(exc)))) from None


def _short(message: str) -> str:
    """A parser's message, which may quote the input: bounded and without control characters."""
    return sanitise(message, 160)


def read_bytes(
    path: str | Path,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    lang: str = "en",
    allow_stream: bool = False,
) -> bytes:
    """The bytes of a regular file (or, with `allow_stream`, a pipe such as /dev/stdin),
    read once and bounded by `max_bytes`; every failure is an `InputError`."""
    path = Path(path)
    name = str(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise file_error(name, "bad_file", text("is_directory", lang))
        stream = stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)  # /dev/stdin
        if allow_stream and stream:
            with path.open("rb") as handle:
                raw = handle.read(max_bytes + 1)
        else:
            # Opened without blocking (a FIFO swapped in after the stat cannot hang us),
            # then checked on the open file itself.
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags)
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise file_error(name, "bad_file", text("not_regular", lang))
                if info.st_size > max_bytes:
                    raise file_error(
                        name, "too_large", text("too_large", lang, info.st_size, max_bytes)
                    )
                raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise file_error(name, "bad_file", text("no_such_file", lang)) from None
    except IsADirectoryError:
        raise file_error(name, "bad_file", text("is_directory", lang)) from None
    except PermissionError:
        raise file_error(name, "bad_file", text("permission", lang)) from None
    except OSError as exc:  # a symlink loop, a name too long, an I/O error ...
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "error")
        raise file_error(name, "bad_file", text("cannot_read", lang, reason)) from None
    except ValueError:  # e.g. a NUL byte in the path
        raise file_error(name, "bad_file", text("cannot_read", lang, "invalid path")) from None
    if len(raw) > max_bytes:
        raise file_error(name, "too_large", text("too_large_read", lang, max_bytes))
    return raw


def decode(raw: bytes, name: str, lang: str = "en") -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise file_error(name, "bad_file", text("not_utf8", lang, exc.start)) from None


def read_document(
    path: str | Path,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    lang: str = "en",
    profile: bool = False,
    allow_stream: bool = False,
) -> Any:
    """Read one YAML or JSON document (JSON by the `.json` suffix)."""
    return read_document_and_bytes(
        path, max_bytes=max_bytes, lang=lang, profile=profile, allow_stream=allow_stream
    )[0]


def read_document_and_bytes(
    path: str | Path,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    lang: str = "en",
    profile: bool = False,
    allow_stream: bool = False,
) -> tuple[Any, bytes]:
    """The parsed document and the exact bytes it was parsed from (read once, to hash)."""
    path = Path(path)
    raw = read_bytes(path, max_bytes=max_bytes, lang=lang, allow_stream=allow_stream)
    text_ = decode(raw, str(path), lang)
    data = parse_text(
        text_, str(path), json_format=path.suffix.lower() == ".json", profile=profile, lang=lang
    )
    return data, raw
