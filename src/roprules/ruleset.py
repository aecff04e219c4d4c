"""Loading the rule base: rule files by theme, parameters, overlays; checked whole, hashed.

Layout: `rules/<theme>/<prefix>.yaml` holds the rules whose id starts with
`<prefix>.`, so a reviewer finds a rule's file from its id; the themes and their
order are listed in `ruleset.yaml`.

A ruleset that fails any check is refused whole, with every problem listed by
file and rule id: a partly loaded policy would give advice nobody reviewed.
The SHA-256 over the rule files and parameters goes into every assessment, so
any assessment can be reproduced with the exact rules that made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from roprules.conditions import (
    Condition,
    ConditionError,
    Evaluator,
    compile_evaluator,
    fields_of,
    parse_condition,
)
from roprules.documents import InputError, read_document
from roprules.explanations import RuleTexts, TemplateError, environments
from roprules.intake import validate_profile, validation_messages
from roprules.messages import Messages, messages
from roprules.profiles import OfferProfile, ResidentProfile
from roprules.rule_schema import (
    Localized,
    Overlay,
    Parameter,
    ParametersFile,
    RuleFile,
    RulesetHeader,
    RuleSpec,
    Severity,
    ThemeHeader,
)

HEADER_FILE = "ruleset.yaml"
PARAMETERS_FILE = "parameters.yaml"
EXAMPLE_ID = "example"


class RulesetError(Exception):
    """The rule base cannot be used; `messages` lists every problem found."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass(frozen=True)
class Theme:
    name: str
    title: Localized
    file: str
    description: Localized | None = None


@dataclass(frozen=True, eq=False)
class Rule:
    """One rule, ready to run: its spec, parsed condition, compiled texts."""

    spec: RuleSpec
    theme: str
    file: str
    condition: Condition
    evaluate: Evaluator
    texts: RuleTexts
    severity: Severity  # the spec's severity, or the overlay's
    # Copied from the spec and the condition once: read on every assessment.
    id: str = field(init=False)
    scope: str = field(init=False)
    fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", self.spec.id)
        object.__setattr__(self, "scope", self.spec.scope)
        object.__setattr__(self, "fields", fields_of(self.condition))


@dataclass(frozen=True)
class OverlayInfo:
    name: str
    sha256: str
    file: str


@dataclass(frozen=True, eq=False)
class Ruleset:
    name: str
    version: str
    title: Localized
    sha256: str
    directory: str
    themes: tuple[Theme, ...]
    rules: tuple[Rule, ...]
    parameters: Mapping[str, Parameter]
    params: Mapping[str, Any]  # effective values (overlay applied)
    overlay: OverlayInfo | None = None
    header: RulesetHeader | None = field(default=None, repr=False)

    def rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    @cached_property
    def _by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}


def default_rules_dir() -> Path:
    """The rules shipped in the package; in a source checkout, the repository's rules/."""
    packaged = resources.files("roprules").joinpath("rules")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "rules"


def _pydantic_messages(
    model: type[BaseModel], exc: ValidationError, file: str, raw: Any
) -> list[str]:
    """Validation errors of a theme file, named by rule id where there is one."""
    out = []
    for message, error in zip(
        validation_messages(model, exc, file), exc.errors(include_url=False), strict=True
    ):
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            try:
                rule_id = raw["rules"][loc[1]].get("id", f"rules[{loc[1]}]")
            except (KeyError, IndexError, TypeError, AttributeError):
                rule_id = f"rules[{loc[1]}]"
            message = message.replace(f"{file}: ", f"{file}: {rule_id}: ", 1)
        out.append(message)
    return out


def _read_model(path: Path, model: type[BaseModel], errors: list[str]) -> Any:
    try:
        raw = read_document(path)
    except InputError as exc:
        errors.extend(exc.messages)
        return None, None
    try:
        return model.model_validate(raw), raw
    except ValidationError as exc:
        errors.extend(_pydantic_messages(model, exc, str(path), raw))
        return None, raw


def file_digest(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_overlay(path: str | Path) -> tuple[Overlay, str]:
    path = Path(path)
    raw = read_document(path)
    try:
        overlay = Overlay.model_validate(raw)
    except ValidationError as exc:
        raise InputError(validation_messages(Overlay, exc, str(path))) from None
    return overlay, hashlib.sha256(path.read_bytes()).hexdigest()


def load_ruleset(
    rules_dir: str | Path | None = None,
    overlay: str | Path | None = None,
    *,
    messages_catalogue: Messages | None = None,
) -> Ruleset:
    """Load and check every rule file; raise RulesetError listing every problem."""
    root = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    catalogue = messages_catalogue or messages()
    errors: list[str] = []
    if not root.is_dir():
        raise RulesetError([f"{root}: no such rules directory"])

    header, _ = _read_model(root / HEADER_FILE, RulesetHeader, errors)
    params_file, _ = _read_model(root / PARAMETERS_FILE, ParametersFile, errors)
    if header is None or params_file is None:
        raise RulesetError(errors)

    theme_paths = _theme_paths(root, header, errors)
    parameters: dict[str, Parameter] = dict(params_file.parameters)
    params = {name: p.value for name, p in parameters.items()}

    overlay_info = None
    severities: dict[str, Severity] = {}
    if overlay is not None:
        try:
            overlay_model, overlay_hash = load_overlay(overlay)
        except InputError as exc:
            raise RulesetError(exc.messages) from None
        overlay_info = OverlayInfo(overlay_model.name, overlay_hash, str(overlay))
        for name, value in overlay_model.parameters.items():
            if name not in params:
                errors.append(f"{overlay}: parameters.{name}: unknown parameter")
            else:
                params[name] = value
        severities = dict(overlay_model.severities)

    envs = environments(catalogue)
    themes: list[Theme] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for header_theme, paths in theme_paths:
        themes.append(
            Theme(header_theme.id, header_theme.title, header_theme.id, header_theme.description)
        )
        for path in paths:
            rule_file, _ = _read_model(path, RuleFile, errors)
            if rule_file is None:
                continue
            for spec in rule_file.rules:
                where = f"{path}: {spec.id}"
                if spec.id.split(".", 1)[0] != path.stem:
                    errors.append(
                        f"{where}: a rule whose id starts with "
                        f"'{spec.id.split('.', 1)[0]}.' belongs in "
                        f"{header_theme.id}/{spec.id.split('.', 1)[0]}.yaml"
                    )
                    continue
                if spec.id in seen:
                    errors.append(f"{where}: duplicate rule id (also in {seen[spec.id]})")
                    continue
                seen[spec.id] = str(path)
                rule = _build_rule(
                    spec, header_theme.id, path, params, severities, catalogue, envs, errors
                )
                if rule is not None:
                    rules.append(rule)

    for rule_id in severities:
        if rule_id not in seen:
            errors.append(f"{overlay}: severities.{rule_id}: unknown rule")
    if errors:
        raise RulesetError(errors)

    rule_paths = [path for _, paths in theme_paths for path in paths]
    sha = file_digest([root / HEADER_FILE, root / PARAMETERS_FILE, *rule_paths], root)
    return Ruleset(
        name=header.name,
        version=header.version,
        title=header.title,
        sha256=sha,
        directory=str(root),
        themes=tuple(themes),
        rules=tuple(rules),
        parameters=parameters,
        params=params,
        overlay=overlay_info,
        header=header,
    )


def _theme_paths(
    root: Path, header: RulesetHeader, errors: list[str]
) -> list[tuple[ThemeHeader, list[Path]]]:
    """Each listed theme with its rule files, in order; stray files and folders are errors.

    Only files directly inside the rules folder's theme folders are read, so a
    rule base cannot pull in files from elsewhere.
    """
    listed = {theme.id for theme in header.themes}
    for path in sorted(root.iterdir()):
        if path.name in (HEADER_FILE, PARAMETERS_FILE) or path.name.startswith("."):
            continue
        if path.is_dir() and not path.is_symlink() and path.name in listed:
            continue
        if path.is_dir() or path.suffix == ".yaml":  # other files (a README) are not rules
            errors.append(f"{path}: not a theme folder listed under 'themes' in {HEADER_FILE}")
    out: list[tuple[ThemeHeader, list[Path]]] = []
    for theme in header.themes:
        folder = root / theme.id
        if not folder.is_dir() or folder.is_symlink():
            errors.append(f"{root / HEADER_FILE}: themes: {theme.id}/ does not exist")
            continue
        paths = []
        for path in sorted(folder.iterdir()):
            if path.suffix == ".yaml" and path.is_file() and not path.is_symlink():
                paths.append(path)
            elif path.is_dir() or path.suffix == ".yaml":
                errors.append(f"{path}: a theme folder holds rule files (<prefix>.yaml) only")
        if not paths:
            errors.append(f"{folder}: no rule files")
        out.append((theme, paths))
    return out


def _build_rule(
    spec: RuleSpec,
    theme: str,
    path: Path,
    params: Mapping[str, Any],
    severities: Mapping[str, Severity],
    catalogue: Messages,
    envs: Mapping[str, Any],
    errors: list[str],
) -> Rule | None:
    where = f"{path}: {spec.id}"
    before = len(errors)
    try:
        condition = parse_condition(spec.when, "when", params)
    except ConditionError as exc:
        errors.extend(f"{where}: {message}" for message in exc.messages)
        condition = None
    try:
        texts = RuleTexts(
            {
                "explanation": spec.explanation.model_dump(),
                "suggestion": spec.suggestion.model_dump(),
            },
            params,
            catalogue,
            envs,
        )
    except TemplateError as exc:
        errors.append(f"{where}: explanation/suggestion: {exc}")
        texts = None
    errors.extend(f"{where}: {m}" for m in example_problems(spec))
    if len(errors) > before or condition is None or texts is None:
        return None
    return Rule(
        spec=spec,
        theme=theme,
        file=path.name,
        condition=condition,
        evaluate=compile_evaluator(condition, params),
        texts=texts,
        severity=severities.get(spec.id, spec.severity),
    )


_NEEDS = {"placement": ("resident", "offer"), "offer": ("offer",), "resident": ("resident",)}


def example_problems(spec: RuleSpec) -> list[str]:
    """Examples must be valid (partial) profiles of the parts the rule's scope reads."""
    problems = []
    for label, cases in spec.examples.model_dump().items():
        for index, case in enumerate(cases):
            where = f"examples.{label}[{index}]"
            expected = set(_NEEDS[spec.scope])
            if set(case) != expected:
                problems.append(f"{where}: expected exactly {', '.join(sorted(expected))}")
                continue
            try:
                example_profiles(case)
            except InputError as exc:
                problems.extend(f"{where}: {m}" for m in exc.messages)
    return problems


def example_profiles(case: Mapping[str, Any]) -> tuple[ResidentProfile | None, OfferProfile | None]:
    """The profiles of one example, with the case reference filled in."""
    resident = offer = None
    if "resident" in case:
        data = case["resident"]
        if not isinstance(data, dict):
            raise InputError("resident: expected a mapping of fields")
        resident = validate_profile(ResidentProfile, {"id": EXAMPLE_ID, **data}, "resident")
    if "offer" in case:
        data = case["offer"]
        if not isinstance(data, dict):
            raise InputError("offer: expected a mapping of fields")
        offer = validate_profile(OfferProfile, {"id": EXAMPLE_ID, **data}, "offer")
    return resident, offer
