"""Reading YAML and JSON documents safely.

Profiles and rule files come from people and from other systems, so this module
treats every file as untrusted: a size limit, UTF-8 only, `yaml.safe_load`
semantics without anchors or aliases (no "billion laughs"), no duplicate keys,
and no NaN or infinity (refused by the models, with the field path). Every
failure is an `InputError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

MAX_DOCUMENT_BYTES = 1024 * 1024


class InputError(Exception):
    """Bad input: each message names the file, the field path and what was expected."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
MAX_DEPTH = 50  # profiles nest three levels; anything deeper is an attack or an accident
_OPENING = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


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


def _check_tokens(text: str) -> None:
    """Refuse anchors, aliases and deep nesting before anything is composed.

    A token scan is cheap and bounded by the text's length, so a "billion
    laughs" document is refused before it can expand.
    """
    depth = 0
    for token in yaml.scan(text, Loader=_BaseLoader):
        if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases are not allowed", token.start_mark
            )
        if isinstance(token, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.constructor.ConstructorError(
                    None, None, "nested too deeply", token.start_mark
                )
        elif isinstance(token, _CLOSING):
            depth -= 1


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_text(text: str, name: str, *, json_format: bool = False) -> Any:
    """Parse one document from text; `name` is used in error messages."""
    if not text.strip():
        raise InputError(f"{name}: the file is empty")
    if json_format:
        try:
            # NaN and Infinity parse as floats here; the contract models refuse them with
            # the field path, which is the message a person can act on.
            return json.loads(text, object_pairs_hook=_json_pairs)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{name}: not valid JSON: {exc}") from None
    try:
        _check_tokens(text)
        return yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:  # libyaml's own limit, worded like ours
            problem = "nested too deeply"
        raise InputError(f"{name}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise InputError(f"{name}: not valid YAML: nested too deeply") from None
    except ValueError as exc:  # e.g. an impossible date such as 2024-13-45
        raise InputError(f"{name}: not valid YAML: {exc}") from None


def read_document(path: str | Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Read one YAML or JSON document (JSON by the `.json` suffix)."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{name}: the file is {size} bytes; the limit is {max_bytes} bytes")
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, expected a file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    if len(raw) > max_bytes:
        raise InputError(f"{name}: the file is larger than the limit of {max_bytes} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return parse_text(text, name, json_format=path.suffix.lower() == ".json")
