"""The message catalogue: labels, questions and terms in bokmål and English.

`messages/fields.yaml` holds, for every contract field, a label, the question to
ask when it is unknown, and labels for its enum values; `messages/terms.yaml`
holds the assessment vocabulary (verdicts, severities, scopes, topics). Both ship
inside the package; a test fails when any field or value lacks a text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from roprules.contract.document_cache import document_cache, parse_cached

LANGUAGES = ("nb", "en")
# Units shown after a number in reports ("800 m", "25 minutter").
MEASURES = frozenset({"m", "m2", "minutes", "months", "years"})


class Messages:
    """Look-ups with a visible fallback: a missing text shows its key, never nothing."""

    def __init__(self, fields: dict[str, Any], terms: dict[str, Any]):
        self.fields = fields
        self.terms = terms
        self._labels: dict[tuple[Any, ...], str] = {}  # `value_label` of hashable values

    def field_label(self, path: str, lang: str) -> str:
        if path.startswith("params."):
            return self.term("parameter", "label", lang) + " " + path.removeprefix("params.")
        entry = self.fields.get(path, {})
        return entry.get("label", {}).get(lang) or path

    def question(self, path: str, lang: str) -> str:
        entry = self.fields.get(path, {})
        question = entry.get("question", {}).get(lang)
        if question:
            return question
        label = self.field_label(path, lang)
        return f"Hva er {label}?" if lang == "nb" else f"What is the {label}?"

    def value_label(self, path: str, value: Any, lang: str) -> str:
        """A value as a reader sees it: enum labels, ja/nei, numbers, lists joined;
        looked up once computed for text, booleans and whole numbers (keyed with the
        type: True == 1), the values whose equality decides their label."""
        kind = value.__class__
        if kind is str or kind is bool or kind is int:
            key = (path, kind, value, lang)
            label = self._labels.get(key)
            if label is None:
                if len(self._labels) >= 8192:
                    self._labels.clear()
                label = self._labels[key] = self._value_label(path, value, lang)
            return label
        return self._value_label(path, value, lang)

    def _value_label(self, path: str, value: Any, lang: str) -> str:
        if value is None:
            return self.term("booleans", "unknown", lang)
        if isinstance(value, bool):
            return self.term("booleans", "true" if value else "false", lang)
        if isinstance(value, (list, tuple)):
            if not value:
                # An empty list means what its field says (contract.md): "none" for
                # most, a general risk for violence_risk_towards.
                empty = self.fields.get(path, {}).get("empty", {}).get(lang)
                return empty or self.term("list", "empty", lang)
            return ", ".join(self.value_label(path, item, lang) for item in value)
        if isinstance(value, (int, float)):
            text = f"{value:g}" if isinstance(value, float) else str(value)
            if lang == "nb":
                text = text.replace(".", ",")
            unit = self.fields.get(path, {}).get("unit")
            if unit in MEASURES:  # a count needs no unit: its label says what it counts
                text += " " + self.term("units", unit, lang)
            return text
        values = self.fields.get(path, {}).get("values", {})
        return values.get(value, {}).get(lang) or str(value)

    def notice(self, key: str, lang: str) -> str:
        """A deprecation notice in the reader's language; the key itself if it has none."""
        return self.term("notices", key, lang)

    def term(self, group: str, key: str, lang: str) -> str:
        entry = self.terms.get(group, {}).get(key, {})
        if isinstance(entry, dict):
            return entry.get(lang) or key
        return key


def _read(name: str) -> dict[str, Any]:
    """A catalogue, parsed once per version of its bytes (contract/document_cache.py)."""
    raw = resources.files("roprules").joinpath("messages", name).read_bytes()
    return parse_cached(raw, name, document_cache()) or {}


@cache
def messages() -> Messages:
    return Messages(_read("fields.yaml"), _read("terms.yaml"))
