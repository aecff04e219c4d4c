"""The policy handbook: the whole rule base as one readable document.

`write_handbook(ruleset, "html" | "markdown", "nb" | "en", out_dir)` writes
`index.html` (one self-contained file: inline CSS, no external assets) or
`handbook.md`: an introduction (purpose, source, how verdicts are formed), the
parameters and any overlay in force, every rule by theme with its condition in
plain language, texts, citations and worked examples, the rules that rest on
sources other than the report shown apart, and an index by report section.
Used by `roprules rules docs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roprules.authoring.lint import example_facts
from roprules.contract.fields import field_registry
from roprules.contract.messages import messages
from roprules.contract.rule_schema import section_key
from roprules.report.plain import describe, ruleset_units
from roprules.report.render.reports import _environment, _helpers
from roprules.rulebase.ruleset import Rule, Ruleset

FILES = {"html": "index.html", "markdown": "handbook.md"}
TEMPLATES = {"html": "handbook.html.j2", "markdown": "handbook.md.j2"}
VERDICT_ORDER = ("unsuitable", "incomplete", "conditional", "suitable")
BEYOND = "beyond"
_EXPECTED = ("fires", "silent", "undetermined")


def _term(lang: str, *keys: str) -> str:
    """A (possibly nested) term from terms.yaml, e.g. ("handbook", "expected", "fires")."""
    entry: Any = messages().terms
    for key in keys:
        entry = entry.get(key, {}) if isinstance(entry, dict) else {}
    if isinstance(entry, dict) and entry.get(lang):
        return str(entry[lang])
    return keys[-1]


def _flatten(prefix: str, data: Mapping[str, Any], into: list[tuple[str, Any]]) -> None:
    for key, value in data.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(path, value, into)
        else:
            into.append((path, value))


def _example_rows(case: Mapping[str, Any], lang: str) -> list[dict[str, str]]:
    catalogue = messages()
    flat: list[tuple[str, Any]] = []
    for part in ("resident", "offer"):
        if isinstance(case.get(part), dict):
            _flatten(part, case[part], flat)
    return [
        {
            "field": path,
            "label": catalogue.field_label(path, lang),
            "value": catalogue.value_label(path, value, lang),
        }
        for path, value in flat
    ]


def is_beyond(rule: Rule) -> bool:
    """A rule from outside the report: theme `beyond`, or no source with a report section."""
    return rule.theme == BEYOND or not any(s.section for s in rule.spec.sources)


def _rule_view(rule: Rule, ruleset: Ruleset, lang: str, units: Mapping[str, str]) -> dict:
    spec = rule.spec
    worked = example_facts(spec.examples.fires[0], ruleset.law_as_of)
    examples = []
    for expected in _EXPECTED:
        for index, case in enumerate(getattr(spec.examples, expected), start=1):
            examples.append(
                {
                    "expected": expected,
                    "expected_label": _term(lang, "handbook", "expected", expected),
                    "number": index,
                    "rows": _example_rows(case, lang),
                }
            )
    return {
        "id": rule.id,
        "theme": rule.theme,
        "title": spec.title.get(lang),
        "severity": rule.severity,
        "spec_severity": spec.severity if spec.severity != rule.severity else None,
        "scope": spec.scope,
        "kind": spec.kind,
        "topics": list(spec.topics),
        "fields": _fields_read(rule, lang),
        "condition": describe(rule.condition, lang, ruleset.params, units=units),
        # A worked example, not template code: the texts as the first example
        # that fires shows them (issue 8, item 3).
        "explanation": rule.texts.render("explanation", lang, worked, ruleset.params),
        "suggestion": rule.texts.render("suggestion", lang, worked, ruleset.params),
        "sources": [s.model_dump() for s in spec.sources],
        "note": spec.note.get(lang) if spec.note else None,
        "examples": examples,
    }


def _fields_read(rule: Rule, lang: str) -> list[dict[str, str]]:
    """The facts a rule reads, each with its label and class (who can change it)."""

    registry = field_registry()
    rows = []
    for path in sorted(rule.fields):
        info = registry.get(path)
        if info is None:
            continue
        rows.append(
            {
                "path": path,
                "label": info.text("label", lang),
                "class": info.field_class,
                "class_label": _term(lang, "field_class", info.field_class),
            }
        )
    return rows


def _parameters(ruleset: Ruleset, lang: str) -> list[dict]:
    rows = []
    for name, parameter in ruleset.parameters.items():
        reason = parameter.reason
        if reason is not None and not isinstance(reason, str):
            reason = reason.get(lang)
        value = ruleset.params.get(name, parameter.value)
        rows.append(
            {
                "name": name,
                "value": value,
                "base_value": parameter.value,
                "overridden": value != parameter.value,
                "unit": _term(lang, "units", parameter.unit)
                if parameter.unit in messages().terms.get("units", {})
                else parameter.unit,
                "rationale": parameter.rationale.get(lang),
                "origin": parameter.origin,
                "origin_label": _term(lang, "origin", parameter.origin),
                "section": parameter.section,
                "reason": " ".join(reason.split()) if reason else None,
            }
        )
    return rows


def handbook_context(ruleset: Ruleset, lang: str) -> dict[str, Any]:
    """Everything the handbook templates show, as plain data."""
    units = ruleset_units(ruleset)
    themes = []
    beyond_rules = []
    for theme in ruleset.themes:
        views = []
        for rule in ruleset.rules:
            if rule.theme != theme.name:
                continue
            view = _rule_view(rule, ruleset, lang, units)
            (beyond_rules if is_beyond(rule) else views).append(view)
        if views:
            themes.append(
                {
                    "name": theme.name,
                    "title": theme.title.get(lang),
                    "description": theme.description.get(lang) if theme.description else None,
                    "rules": views,
                }
            )
    titles = {rule.id: rule.spec.title.get(lang) for rule in ruleset.rules}
    by_section: dict[str, list[str]] = {}
    for rule in ruleset.rules:
        for source in rule.spec.sources:
            if source.section:
                ids = by_section.setdefault(source.section, [])
                if rule.id not in ids:
                    ids.append(rule.id)
    index = [
        {"section": section, "rules": [{"id": i, "title": titles[i]} for i in sorted(ids)]}
        for section, ids in sorted(by_section.items(), key=lambda item: section_key(item[0]))
    ]
    header = ruleset.header
    source = dict(header.source) if header and header.source else {}
    overlay = ruleset.overlay
    return {
        "rs": {
            "name": ruleset.name,
            "version": ruleset.version,
            "sha256": ruleset.sha256,
            "title": ruleset.title.get(lang),
            "law_as_of": ruleset.law_as_of,
        },
        "source": source,
        "overlay": (
            {"name": overlay.name, "sha256": overlay.sha256, "file": Path(overlay.file).name}
            if overlay
            else None
        ),
        # Every local change of the overlay, with its reason and approver
        # (a switched-off rule has "to": None and is not in the rule list).
        "severity_changes": [
            {
                "id": c.rule_id,
                "from": c.original_severity,
                "to": c.severity,
                "reason": c.reason,
                "approved_by": c.approved_by,
            }
            for c in ruleset.local_changes
        ],
        "verdicts": [
            {
                "key": key,
                "label": _term(lang, "verdict", key),
                "rule": _term(lang, "handbook", "verdict_rule", key),
                "meaning": _term(lang, "verdict_meaning", key),
            }
            for key in VERDICT_ORDER
        ],
        "field_classes": [
            {
                "key": key,
                "label": _term(lang, "field_class", key),
                "meaning": _term(lang, "field_class_meaning", key),
            }
            for key in ("offer", "process", "fixed")  # roprules.contract.fields.FIELD_CLASSES
        ],
        "parameters": _parameters(ruleset, lang),
        "themes": themes,
        "beyond": beyond_rules,
        "index": index,
        "rule_count": len(ruleset.rules),
        "h": lambda key: _term(lang, "handbook", key),
    }


def render_handbook(ruleset: Ruleset, fmt: str, lang: str) -> str:
    if fmt not in TEMPLATES:
        raise ValueError(f"format must be one of {', '.join(TEMPLATES)}; got {fmt!r}")
    if lang not in ("nb", "en"):
        raise ValueError(f"lang must be nb or en; got {lang!r}")
    template = _environment().get_template(TEMPLATES[fmt])
    return template.render(**_helpers(lang), **handbook_context(ruleset, lang))


def write_handbook(ruleset: Ruleset, fmt: str, lang: str, out_dir: Path) -> list[Path]:
    """Render the handbook into `out_dir` (created if needed); return the files written."""
    from roprules.contract.documents import file_error
    from roprules.contract.output import write_atomically

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise file_error(
            str(out_dir), "bad_file", "exists and is not a directory (--out names a directory)"
        )
    text = render_handbook(ruleset, fmt, lang)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error(str(out_dir), "bad_file", f"cannot create: {exc.strerror}") from None
    # An existing handbook file in the directory is replaced whole.
    return [write_atomically(out_dir / FILES[fmt], text)]
