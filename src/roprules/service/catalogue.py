"""Read-only views of the rule base and the contract: fields, rules, parameters, version.

`fields_view` is a thin reader over whatever the field registry
(`roprules.contract.fields.FIELDS`) and the message catalogue (`messages/fields.yaml`)
hold: it passes on any extra attribute the registry or the catalogue gains
(help texts, bounds, deprecation) without needing to know it in advance.
"""

from __future__ import annotations

import dataclasses
from importlib import metadata
from typing import Any

from pydantic import BaseModel

import roprules
from roprules.contract.assessment import SCHEMA_VERSION
from roprules.contract.fields import FIELDS, field_limits
from roprules.contract.messages import messages

LANGS = ("nb", "en")


def _localized(value: Any) -> dict[str, str] | None:
    """{nb, en} from a catalogue entry or a Localized model; None if absent."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {lang: value.get(lang) for lang in LANGS if value.get(lang) is not None} or None
    if all(hasattr(value, lang) for lang in LANGS):
        return {lang: getattr(value, lang) for lang in LANGS}
    return {lang: str(value) for lang in LANGS}


def _text(value: Any, lang: str) -> Any:
    """A rule text in one language; a declarative text (by/cases) as data."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, lang) and isinstance(getattr(value, lang), str):
        return getattr(value, lang)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return value


_SPEC_KNOWN = {"path", "kind", "values"}
_ENTRY_KNOWN = {"label", "question", "values", "help"}


def fields_view() -> list[dict[str, Any]]:
    """Every contract field with what a form needs: type, values, labels, help, question."""
    catalogue = messages().fields
    bounds = field_limits()
    required = {"resident.id", "offer.id", "offer.type"}
    out: list[dict[str, Any]] = []
    for path, spec in FIELDS.items():
        entry = catalogue.get(path, {}) or {}
        value_labels = entry.get("values", {}) or {}
        item: dict[str, Any] = {
            "path": path,
            "type": spec.kind,
            "required": path in required,
            "values": [
                {"value": value, "label": _localized(value_labels.get(value))}
                for value in spec.values
            ],
            "label": _localized(entry.get("label")),
            "help": _localized(entry.get("help") or getattr(spec, "help", None)),
            "question": _localized(entry.get("question")),
            **bounds.get(path, {}),
        }
        # Whatever else the registry or the catalogue holds (deprecation, units, ...).
        if dataclasses.is_dataclass(spec):
            for extra in dataclasses.fields(spec):
                if extra.name not in _SPEC_KNOWN and extra.name != "help":
                    value = getattr(spec, extra.name)
                    item.setdefault(extra.name, _plain(value))
        for key, value in entry.items():
            if key not in _ENTRY_KNOWN:
                item.setdefault(key, _plain(value))
        out.append(item)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def rule_summary(rule: Any, lang: str) -> dict[str, Any]:
    spec = rule.spec
    return {
        "id": rule.id,
        "scope": rule.scope,
        "kind": spec.kind,
        "severity": rule.severity,
        "theme": rule.theme,
        "topics": list(spec.topics),
        "title": _text(spec.title, lang),
    }


def rule_detail(rule: Any, lang: str) -> dict[str, Any]:
    spec = rule.spec
    detail = rule_summary(rule, lang)
    detail.update(
        {
            "explanation": _text(spec.explanation, lang),
            "suggestion": _text(spec.suggestion, lang),
            "note": _text(getattr(spec, "note", None), lang),
            "when": _plain(spec.when),
            "fields": sorted(rule.fields),
            "sources": [
                source.model_dump(mode="json", exclude_none=True) for source in spec.sources
            ],
            "supersedes": list(getattr(spec, "supersedes", None) or []),
        }
    )
    local_change = getattr(rule, "local_change", None)
    if local_change is not None:
        detail["local_change"] = _plain(local_change)
    return detail


def parameters_view(ruleset: Any, lang: str) -> list[dict[str, Any]]:
    out = []
    for name, parameter in ruleset.parameters.items():
        item = {
            "name": name,
            "value": ruleset.params.get(name, parameter.value),
            "default": parameter.value,
            "unit": parameter.unit,
            "origin": parameter.origin,
            "section": parameter.section,
            "rationale": _text(parameter.rationale, lang),
        }
        for bound in ("min", "max"):
            if getattr(parameter, bound, None) is not None:
                item[bound] = getattr(parameter, bound)
        out.append(item)
    return out


def ruleset_ref(ruleset: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "name": ruleset.name,
        "version": ruleset.version,
        "sha256": ruleset.sha256,
    }
    law_as_of = getattr(ruleset, "law_as_of", None) or getattr(
        getattr(ruleset, "header", None), "law_as_of", None
    )
    if law_as_of is not None:
        ref["law_as_of"] = str(law_as_of)
    if ruleset.overlay is not None:
        ref["overlay"] = {"name": ruleset.overlay.name, "sha256": ruleset.overlay.sha256}
    return ref


def backend_of(engine: Any) -> dict[str, Any] | None:
    """The engine backend ({name, version}) if the Engine reports one."""
    backend = getattr(engine, "backend", None)
    if backend is None:
        return None
    if isinstance(backend, str):
        return {"name": backend, "version": _durable_version() if backend == "durable" else ""}
    if isinstance(backend, BaseModel):
        return backend.model_dump(mode="json")
    name = getattr(backend, "name", None)
    if isinstance(name, str):
        return {"name": name, "version": str(getattr(backend, "version", ""))}
    return {"name": str(backend), "version": ""}


def _durable_version() -> str:
    try:
        return metadata.version("durable-rules")
    except metadata.PackageNotFoundError:
        return ""


def package_version() -> str:
    try:
        return metadata.version("roprules")
    except metadata.PackageNotFoundError:
        return roprules.__version__


def version_view(engine: Any) -> dict[str, Any]:
    return {
        "package": {"name": "roprules", "version": package_version()},
        "ruleset": ruleset_ref(engine.ruleset),
        "backend": backend_of(engine) or {"name": "durable", "version": _durable_version()},
        "schema_version": SCHEMA_VERSION,
    }


def version_text(engine: Any) -> str:
    """One line for `roprules --version`."""
    view = version_view(engine)
    ruleset = view["ruleset"]
    backend = view["backend"]
    return (
        f"roprules {view['package']['version']}; ruleset {ruleset['name']} {ruleset['version']}"
        f" (sha256 {ruleset['sha256']}); engine {backend['name']} {backend['version']}".rstrip()
        + f"; schema {view['schema_version']}"
    )
