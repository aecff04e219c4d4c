"""The contract for people and programs, from the field registry.

- `contract_markdown(ruleset)`: docs/contract.md, every field with its type,
  allowed values, labels, help, question, class and the rules that read it
  (`roprules docs contract --out docs/contract.md`).
- `profile_json_schema(kind, lang)`: the JSON Schema of a profile with a title
  and description for every field, `$schema` and `$id` (`roprules schema`).
- `profile_template(kind, lang)`: a blank YAML profile with every field
  commented out, its label, allowed values and help (`roprules template`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from roprules.contract.fields import (
    ASKED_OF,
    CONTRACT_VERSION,
    FIELD_CLASSES,
    OFFER_GROUPS,
    RESIDENT_GROUPS,
    FieldInfo,
    field_registry,
    strip_annotation,
)
from roprules.contract.messages import messages
from roprules.contract.profiles import PROFILE_MODELS
from roprules.evaluation.questions import SEVERITY_WEIGHTS
from roprules.rulebase.ruleset import Ruleset

KINDS = ("resident", "offer")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
GROUPS = {"resident": RESIDENT_GROUPS, "offer": OFFER_GROUPS}
_PROFILE_TITLE = {
    "resident": {"nb": "Beboerprofil", "en": "Resident profile"},
    "offer": {"nb": "Tilbudsprofil", "en": "Offer profile"},
}


def schema_id(kind: str) -> str:
    return f"urn:roprules:contract:{CONTRACT_VERSION}:{kind}-profile"


def _term(group: str, key: str, lang: str) -> str:
    return messages().term(group, key, lang)


def fields_of(kind: str) -> list[FieldInfo]:
    """The registry's fields of one profile, in model order."""
    return [info for info in field_registry().values() if info.profile == kind]


def grouped(kind: str) -> list[tuple[str, list[FieldInfo]]]:
    """The fields of a profile by group, in the order a team thinks in; model order within."""
    order = GROUPS[kind]
    buckets: dict[str, list[FieldInfo]] = {group: [] for group in order}
    for info in fields_of(kind):
        buckets.setdefault(info.group, []).append(info)
    return [(group, infos) for group, infos in buckets.items() if infos]


def rules_reading(ruleset: Ruleset) -> dict[str, list[str]]:
    """Field path -> ids of the rules whose condition reads it."""
    reading: dict[str, list[str]] = {}
    for rule in ruleset.rules:
        for path in rule.fields:
            reading.setdefault(path, []).append(rule.id)
    return {path: sorted(ids) for path, ids in reading.items()}


# --------------------------------------------------------------------------- type descriptions


def _number(value: float) -> str:
    return f"{value:g}"


def _range(info: FieldInfo) -> str:
    low, high = info.minimum, info.maximum
    if low is not None and high is not None:
        return f"{_number(low)}–{_number(high)}"
    if low is not None:
        return f"> {_number(low)}" if info.exclusive_minimum else f"≥ {_number(low)}"
    if high is not None:
        return f"≤ {_number(high)}"
    return ""


_KIND_WORDS = {
    "bool": {"nb": "ja/nei (true/false)", "en": "yes/no (true/false)"},
    "int": {"nb": "heltall", "en": "integer"},
    "number": {"nb": "tall", "en": "number"},
    "enum": {"nb": "én av verdiene", "en": "one of the values"},
    "list": {"nb": "liste med verdiene", "en": "list of the values"},
    "date": {"nb": "dato ÅÅÅÅ-MM-DD, ikke etter vurderingsdatoen", "en": "date YYYY-MM-DD"},
    "text": {"nb": "tekst, 1–200 tegn", "en": "text, 1–200 characters"},
    "object": {"nb": "gruppe av felt", "en": "group of fields"},
}


def type_text(info: FieldInfo, lang: str) -> str:
    """The type in words: "heltall 16–110 år", "yes/no (true/false)"."""
    words = _KIND_WORDS[info.kind][lang]
    if info.kind == "date" and lang == "en":
        words += ", not after the assessment date"
    if info.numeric:
        bounds = _range(info)
        if bounds:
            words += f" {bounds}"
        if info.unit:
            words += f" ({_term('units', info.unit, lang)})"
    return words


def _codes(info: FieldInfo) -> list[str]:
    return [value.code for value in info.values if not value.deprecated]


# --------------------------------------------------------------------------- docs/contract.md


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _rules_line(ids: Iterable[str]) -> str:
    ids = list(ids)
    return ", ".join(f"`{i}`" for i in ids) if ids else "no rule reads it"


def _field_section(info: FieldInfo, reading: Mapping[str, list[str]]) -> list[str]:
    lines = [f"#### `{info.path}`", ""]
    lines += ["| | bokmål | English |", "|---|---|---|"]
    for part, name in (("label", "label"), ("help", "help"), ("question", "question")):
        lines.append(
            f"| {name} | {_cell(info.text(part, 'nb'))} | {_cell(info.text(part, 'en'))} |"
        )
    lines.append("")
    required = ", required" if info.required else ""
    lines.append(f"- Type: {type_text(info, 'en')}{required}")
    if info.values:
        lines.append("- Values:")
        lines.append("")
        lines += ["  | value | bokmål | English |", "  |---|---|---|"]
        for value in info.values:
            code = f"`{value.code}`"
            if value.deprecated:
                code += f" (deprecated: read as `{value.replacement}`)"
            lines.append(f"  | {code} | {_cell(value.label['nb'])} | {_cell(value.label['en'])} |")
        lines.append("")
    lines.append(
        f"- Class: `{info.field_class}` ({_term('field_class', info.field_class, 'en')}; "
        f"{_term('field_class', info.field_class, 'nb')})"
    )
    lines.append(
        f"- Asked of: `{info.asked_of}` ({_term('asked_of', info.asked_of, 'en')}; "
        f"{_term('asked_of', info.asked_of, 'nb')})"
    )
    if info.empty:
        lines.append(f"- Empty list `[]`: {info.empty['en']}; bokmål «{info.empty['nb']}»")
    if info.deprecated:
        lines.append(f"- Deprecated: replaced by `{info.replacement}`")
    if info.kind != "object":
        lines.append(f"- Read by: {_rules_line(reading.get(info.path, []))}")
    lines.append("")
    return lines


def contract_markdown(ruleset: Ruleset) -> str:
    """docs/contract.md: every contract field, from the registry, the models and the rules."""
    reading = rules_reading(ruleset)
    lines = [
        "# The data contract, field by field",
        "",
        "<!-- Generated by `roprules docs contract --out docs/contract.md` from the field",
        "registry (src/roprules/messages/fields.yaml), the models",
        "(src/roprules/contract/profiles.py) and the rules. Do not edit by hand:",
        "tests/test_contract_docs.py fails when this file is not current. -->",
        "",
        f"Contract version {CONTRACT_VERSION}; rules read from ruleset `{ruleset.name}` "
        f"{ruleset.version}. Every field except `id` (and the offer's `type`) is optional: "
        "a field that is absent or `null` is unknown, and unknown is not false. An empty "
        "list is known and means what its help says.",
        "",
        "A blank profile to fill in: `roprules template resident|offer [--lang nb|en]`. "
        "The JSON Schema, with these texts as descriptions: `roprules schema resident|offer`. "
        "In Python: `roprules.contract.fields.field_registry()`.",
        "",
        "Each field has a class: who can change it.",
        "",
    ]
    for cls in FIELD_CLASSES:
        lines.append(
            f"- `{cls}` ({_term('field_class', cls, 'en')}; {_term('field_class', cls, 'nb')}): "
            f"{_term('field_class_meaning', cls, 'en')}"
        )
    lines += [
        "",
        "When a field is unknown, the assessment asks for it (`missing`). Each question says "
        "who answers it (`asked_of`, from src/roprules/messages/asked_of.yaml); reports group "
        "the questions by it:",
        "",
    ]
    for who in ASKED_OF:
        lines.append(
            f"- `{who}` ({_term('asked_of', who, 'en')}; {_term('asked_of', who, 'nb')}): "
            f"{_term('asked_of_meaning', who, 'en')}"
        )
    weights = ", ".join(f"{severity} {weight}" for severity, weight in SEVERITY_WEIGHTS.items())
    lines += [
        "",
        "A question *could change the verdict* (`could_change_verdict`) when some value of "
        "that field alone, every other unknown left unknown, gives another verdict: the rules "
        "waiting on it are evaluated again with each value that matters to them (every enum "
        "value, true and false, the numbers they compare it with and just above and below, "
        "lists with and without the values they test). Those questions come first, then by "
        "severity, by how many rules wait on the field, and by field. `decides` lists the "
        "titles of the rules waiting on it.",
        "",
        "`completeness` is the share of the assessment's rules that could be evaluated, each "
        f"rule weighted by its severity ({weights}): 1.0 when nothing is missing. "
        "`open_questions_by_severity` counts the missing fields by the severity of their most "
        "severe waiting rule, and `verdict_summary` states the verdict with the open critical "
        "and major questions («Egnet så langt opplysningene rekker; 7 vesentlige spørsmål er "
        "åpne.»).",
        "",
    ]
    for kind in KINDS:
        title = _PROFILE_TITLE[kind]
        lines += [f"## {title['en']} ({title['nb'].lower()})", ""]
        lines += ["| field | type | class | bokmål | English |", "|---|---|---|---|---|"]
        for info in fields_of(kind):
            lines.append(
                f"| `{info.path}` | {_cell(type_text(info, 'en'))} | {info.field_class} "
                f"| {_cell(info.text('label', 'nb'))} | {_cell(info.text('label', 'en'))} |"
            )
        lines.append("")
        for group, infos in grouped(kind):
            lines += [
                f"### {_term('field_group', group, 'en')} ({_term('field_group', group, 'nb')})",
                "",
            ]
            for info in infos:
                lines += _field_section(info, reading)
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- JSON Schema


def _describe(info: FieldInfo, lang: str) -> str:
    parts = [info.text("help", lang)]
    if info.values:
        listed = "; ".join(
            f"{v.code} = {v.label.get(lang, v.code)}" for v in info.values if not v.deprecated
        )
        parts.append(("Verdier: " if lang == "nb" else "Values: ") + listed + ".")
    if info.empty:
        word = "En tom liste betyr" if lang == "nb" else "An empty list means"
        parts.append(f"{word}: {info.empty[lang]}.")
    if info.deprecated:
        word = "Erstattet av" if lang == "nb" else "Replaced by"
        parts.append(f"{word} {info.replacement}.")
    return " ".join(p for p in parts if p)


def _annotate(props: dict[str, Any], info: FieldInfo, lang: str) -> None:
    prop = props.get(info.name)
    if prop is None:
        return
    prop["title"] = info.text("label", lang)
    prop["description"] = _describe(info, lang)
    extension: dict[str, Any] = {
        "class": info.field_class,
        "asked_of": info.asked_of,
        "group": info.group,
        "label": dict(info.label),
        "question": dict(info.question),
    }
    if info.unit:
        extension["unit"] = info.unit
    if info.values:
        extension["values"] = {v.code: dict(v.label) for v in info.values}
    if info.empty:
        extension["empty"] = dict(info.empty)
    if info.deprecated:
        extension["replacement"] = info.replacement
        prop["deprecated"] = True
    prop["x-roprules"] = extension


def profile_json_schema(kind: str, lang: str = "en") -> dict[str, Any]:
    """The JSON Schema of a profile, every field titled and described from the registry."""
    model = PROFILE_MODELS[kind]
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    where: dict[str, dict[str, Any]] = {kind: schema.get("properties", {})}

    def collect(prefix: str, cls: type[BaseModel]) -> None:
        for name, field in cls.model_fields.items():
            inner = strip_annotation(field.annotation)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                path = f"{prefix}.{name}"
                where[path] = defs.get(inner.__name__, {}).get("properties", {})
                collect(path, inner)

    collect(kind, model)
    for info in fields_of(kind):
        head = info.path.rsplit(".", 1)[0]
        _annotate(where.get(head, {}), info, lang)
    title = _PROFILE_TITLE[kind][lang]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(kind),
        **schema,
        "title": title,
        "description": (
            f"roprules, kontrakt {CONTRACT_VERSION}. Ukjent er ikke det samme som nei: "
            "et felt som mangler eller er null, er ukjent."
            if lang == "nb"
            else f"roprules, contract {CONTRACT_VERSION}. Unknown is not false: a field "
            "that is absent or null is unknown."
        ),
    }


# --------------------------------------------------------------------------- YAML template

_TEMPLATE_INTRO = {
    "nb": (
        "Fyll inn det dere vet: fjern «#» foran feltnavnet og skriv verdien etter kolon. "
        "For et felt inne i en gruppe ({groups}) fjerner dere også «#» foran gruppens navn. "
        "Det dere ikke vet, lar dere stå kommentert ut. Ukjent er ikke det samme som nei: "
        "reglene som trenger opplysningen, blir stående som åpne spørsmål. "
        "Profilen er pseudonym: ingen navn og ikke fødselsnummer."
    ),
    "en": (
        "Fill in what you know: remove the '#' before the field name and write the value "
        "after the colon. For a field inside a group ({groups}), also remove the '#' before "
        "the group's name. Leave what you do not know commented out. Unknown is not false: "
        "the rules that need it stay as open questions. "
        "The profile is pseudonymous: no names and no national identity numbers."
    ),
}
_TITLE = {
    "nb": "{title}: mal (roprules, kontrakt {version})",
    "en": "{title}: template (roprules, contract {version})",
}
_CHECK = {"nb": "Sjekk den med: {command}", "en": "Check it with: {command}"}
_COMMAND = {
    "resident": "roprules resident --resident FILE.yaml",
    "offer": "roprules audit --offer FILE.yaml",
}
_REQUIRED = {"nb": "påkrevd", "en": "required"}
_EMPTY_LIST = {
    "nb": "Skriv en liste, for eksempel [{example}]. En tom liste, [], betyr: {empty}.",
    "en": "Write a list, for example [{example}]. An empty list, [], means: {empty}.",
}
_NONE = {"nb": "ingen", "en": "none"}
_VALUES = {"nb": "Verdier", "en": "Values"}


def _comment(text: str, indent: str, width: int = 88) -> list[str]:
    """Wrap text into YAML comment lines."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(indent) + 2 + len(current) + 1 + len(word) > width:
            lines.append(f"{indent}# {current}")
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(f"{indent}# {current}")
    return lines


def _template_field(info: FieldInfo, lang: str, indent: str) -> list[str]:
    label = info.text("label", lang)
    head = label[:1].upper() + label[1:]
    if info.required:
        head += f" ({_REQUIRED[lang]})"
    lines = _comment(f"{head}. {info.text('help', lang)}", indent)
    codes = _codes(info)
    if info.kind in ("enum", "list"):
        lines.append(f"{indent}# {_VALUES[lang]}:")
        lines += [f"{indent}#   {code} = {info.value_label(code, lang)}" for code in codes]
        if info.kind == "list":
            example = ", ".join(codes[:2])
            empty = info.empty[lang] if info.empty else _NONE[lang]
            lines += _comment(_EMPTY_LIST[lang].format(example=example, empty=empty), indent)
    elif info.kind != "object":
        lines += _comment(type_text(info, lang)[:1].upper() + type_text(info, lang)[1:], indent)
    lines.append(f"#{indent}{info.name}:")
    return lines


def profile_template(kind: str, lang: str = "nb") -> str:
    """A blank YAML profile: every field commented out, with its label, values and help."""
    title = _PROFILE_TITLE[kind][lang]
    groups = ", ".join(f"{i.name}:" for i in fields_of(kind) if i.kind == "object")
    out = [f"# {_TITLE[lang].format(title=title, version=CONTRACT_VERSION)}", "#"]
    out += _comment(_TEMPLATE_INTRO[lang].format(groups=groups), "")
    command = _COMMAND[kind].replace("FILE", "FIL") if lang == "nb" else _COMMAND[kind]
    out.append(f"# {_CHECK[lang].format(command=command)}")
    live = [info for info in fields_of(kind) if not info.deprecated]
    required = [info for info in live if info.required]
    out.append("")
    for info in required:
        out += _template_field(info, lang, "")
        out.append("")
    for group, infos in grouped(kind):
        infos = [i for i in infos if not i.deprecated and not i.required]
        if not infos:
            continue
        out.append(f"# == {_term('field_group', group, lang)} ==")
        out.append("")
        for info in infos:
            indent = "  " if info.parent else ""
            out += _template_field(info, lang, indent)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def schema_text(kind: str, lang: str = "en") -> str:
    return json.dumps(profile_json_schema(kind, lang), indent=2, ensure_ascii=False) + "\n"
