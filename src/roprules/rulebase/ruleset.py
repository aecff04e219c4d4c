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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from roprules.contract.document_cache import DocumentCache, document_cache, read_document_cached
from roprules.contract.documents import InputError, read_document_and_bytes
from roprules.contract.intake import check_dates, validate_profile, validation_messages
from roprules.contract.messages import Messages, messages
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.contract.rule_schema import (
    SEVERITY_ORDER,
    Localized,
    Overlay,
    Parameter,
    ParametersFile,
    RuleChange,
    RuleFile,
    RulesetHeader,
    RuleSpec,
    Severity,
    ThemeHeader,
    value_problem,
)
from roprules.rulebase.conditions import (
    Condition,
    ConditionError,
    Evaluator,
    compile_evaluator,
    fields_of,
    parse_condition,
)
from roprules.rulebase.durable_compile import (
    GUARD_KEY,
    GUARD_VALUE,
    ExpressionTooLarge,
    compile_condition,
    durable_expressions,
)
from roprules.rulebase.explanations import RuleTexts, TemplateError, environments

DURABLE_GUARD = {GUARD_KEY: GUARD_VALUE}
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


@dataclass(frozen=True)
class LocalChange:
    """An overlay's change to one rule: its new severity (None = switched off)."""

    rule_id: str
    original_severity: Severity
    severity: Severity | None
    reason: str
    approved_by: str


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
    local_change: LocalChange | None = None  # set when an overlay changed the severity
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
    law_as_of: date | None = None  # when the legal statements of the texts were checked
    # Every rule an overlay changed or switched off (switched-off rules are not in `rules`).
    local_changes: tuple[LocalChange, ...] = ()

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
    return Path(__file__).resolve().parents[3] / "rules"


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


def _read_model(
    path: Path,
    model: type[BaseModel],
    errors: list[str],
    contents: dict[Path, bytes] | None = None,
    store: DocumentCache | None = None,
) -> Any:
    """The validated file and its document; its bytes go into `contents` (to hash
    exactly what was read). The document may come from `store` (parsed at an earlier
    start from the same bytes); it is validated all the same."""
    try:
        raw, data = read_document_cached(path, store)
        if contents is not None:
            contents[path] = data
    except InputError as exc:
        errors.extend(exc.messages)
        return None, None
    try:
        return model.model_validate(raw), raw
    except ValidationError as exc:
        errors.extend(_pydantic_messages(model, exc, str(path), raw))
        return None, raw


def file_digest(
    paths: Iterable[Path], root: Path, contents: Mapping[Path, bytes] | None = None
) -> str:
    """SHA-256 over the files' names and bytes: the bytes that were read and checked
    (`contents`) where given, so a file changed after loading cannot alter the hash."""
    digest = hashlib.sha256()
    for path in paths:
        data = contents[path] if contents is not None and path in contents else path.read_bytes()
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(data + b"\0")
    return digest.hexdigest()


def load_overlay(path: str | Path) -> tuple[Overlay, str]:
    """The overlay and the SHA-256 of the very bytes it was parsed from (read once, so
    that `--overlay /dev/stdin` or a process substitution is hashed correctly)."""
    path = Path(path)
    document, raw = read_document_and_bytes(path, allow_stream=True)
    try:
        overlay = Overlay.model_validate(document)
    except ValidationError as exc:
        raise InputError(validation_messages(Overlay, exc, str(path))) from None
    return overlay, hashlib.sha256(raw).hexdigest()


def load_ruleset(
    rules_dir: str | Path | None = None,
    overlay: str | Path | None = None,
    *,
    messages_catalogue: Messages | None = None,
) -> Ruleset:
    """Load and check every rule file; raise RulesetError listing every problem.

    The parsed documents may come from the on-disk cache (contract/document_cache.py);
    a rule base that fails any check is read again from its files alone, so that every
    error is found and worded from the YAML itself.
    """
    root = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    catalogue = messages_catalogue or messages()
    read_overlay = _read_once(overlay) if overlay is not None else None
    store = document_cache()
    if store is not None:
        try:
            return _load_ruleset(root, overlay, read_overlay, catalogue, store)
        except RulesetError:
            pass
    return _load_ruleset(root, overlay, read_overlay, catalogue, None)


def _read_once(overlay: str | Path) -> Callable[[], tuple[Overlay, str]]:
    """The overlay read at the first call only (it may be a pipe such as /dev/stdin,
    which a second reading would find empty); later calls give the same result."""
    result: list[Any] = []

    def read() -> tuple[Overlay, str]:
        if not result:
            try:
                result.append(load_overlay(overlay))
            except InputError as exc:
                result.append(exc)
        if isinstance(result[0], InputError):
            raise result[0]
        return result[0]

    return read


def _load_ruleset(
    root: Path,
    overlay: str | Path | None,
    read_overlay: Callable[[], tuple[Overlay, str]] | None,
    catalogue: Messages,
    store: DocumentCache | None,
) -> Ruleset:
    errors: list[str] = []
    if not _is_dir(root):
        raise RulesetError([f"{root}: no such rules directory"])

    contents: dict[Path, bytes] = {}  # the bytes read, hashed below
    header, _ = _read_model(root / HEADER_FILE, RulesetHeader, errors, contents, store)
    params_file, _ = _read_model(root / PARAMETERS_FILE, ParametersFile, errors, contents, store)
    if header is None or params_file is None:
        raise RulesetError(errors)

    theme_paths = _theme_paths(root, header, errors)
    parameters: dict[str, Parameter] = dict(params_file.parameters)
    params = {name: p.value for name, p in parameters.items()}

    overlay_info = None
    changes: dict[str, RuleChange] = {}
    if overlay is not None and read_overlay is not None:
        try:
            overlay_model, overlay_hash = read_overlay()
        except InputError as exc:
            raise RulesetError(exc.messages) from None
        overlay_info = OverlayInfo(overlay_model.name, overlay_hash, str(overlay))
        for name, value in overlay_model.parameters.items():
            if name not in params:
                errors.append(f"{overlay}: parameters.{name}: unknown parameter")
            elif problem := value_problem(parameters[name], value):
                errors.append(f"{overlay}: parameters.{name}: {problem}")
            else:
                params[name] = value
        changes = dict(overlay_model.rules)
    severities = {rid: c.severity for rid, c in changes.items() if c.severity is not None}

    envs = environments(catalogue)
    themes: list[Theme] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for header_theme, paths in theme_paths:
        themes.append(
            Theme(header_theme.id, header_theme.title, header_theme.id, header_theme.description)
        )
        for path in paths:
            rule_file, _ = _read_model(path, RuleFile, errors, contents, store)
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
                    spec,
                    header_theme.id,
                    path,
                    params,
                    severities,
                    catalogue,
                    envs,
                    errors,
                    law_as_of=header.law_as_of,
                )
                if rule is not None:
                    rules.append(rule)

    for rule_id in changes:
        if rule_id not in seen:
            errors.append(f"{overlay}: rules.{rule_id}: unknown rule")
    errors.extend(supersedes_problems(rules, defined=seen))
    if errors:
        raise RulesetError(errors)
    local_changes = tuple(
        LocalChange(rule.id, rule.spec.severity, change.severity, change.reason, change.approved_by)
        for rule in rules
        if (change := changes.get(rule.id)) is not None
    )
    by_rule = {change.rule_id: change for change in local_changes}
    rules = [
        replace(rule, local_change=by_rule.get(rule.id))
        for rule in rules
        if rule.id not in by_rule or by_rule[rule.id].severity is not None
    ]

    rule_paths = [path for _, paths in theme_paths for path in paths]
    sha = file_digest([root / HEADER_FILE, root / PARAMETERS_FILE, *rule_paths], root, contents)
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
        law_as_of=header.law_as_of,
        local_changes=local_changes,
    )


def supersedes_problems(rules: Iterable[Rule], defined: Iterable[str] = ()) -> list[str]:
    """`supersedes` names existing rules, never itself, never a more severe rule
    (by the catalogue's severities; criteria.md, Supersedes). A rule in `defined`
    that failed to build has its own error already, so it is not "unknown" here."""
    by_id = {rule.id: rule for rule in rules}
    failed = set(defined) - set(by_id)
    problems = []
    for rule in by_id.values():
        for index, other_id in enumerate(rule.spec.supersedes):
            where = f"{rule.file}: {rule.id}: supersedes[{index}]"
            other = by_id.get(other_id)
            if other is None:
                if other_id not in failed:
                    problems.append(f"{where}: unknown rule {other_id!r}")
            elif other is rule:
                problems.append(f"{where}: a rule cannot supersede itself")
            elif SEVERITY_ORDER[other.spec.severity] < SEVERITY_ORDER[rule.spec.severity]:
                problems.append(
                    f"{where}: {other_id} is {other.spec.severity}, more severe than this "
                    f"rule ({rule.spec.severity}); a rule never supersedes a more severe one"
                )
    return problems


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
        if not inside(root, folder):  # the id pattern already forbids "..": belt and braces
            errors.append(
                f"{root / HEADER_FILE}: themes: {theme.id} is outside the rules directory"
            )
            continue
        if not _is_dir(folder) or folder.is_symlink():
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


def inside(root: Path, path: Path) -> bool:
    """True when `path` (symbolic links resolved) lies inside the directory `root`."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a name too long
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # e.g. a name too long
        return False


def _build_rule(
    spec: RuleSpec,
    theme: str,
    path: Path,
    params: Mapping[str, Any],
    severities: Mapping[str, Severity],
    catalogue: Messages,
    envs: Mapping[str, Any],
    errors: list[str],
    *,
    law_as_of: date | None = None,
) -> Rule | None:
    where = f"{path}: {spec.id}"
    before = len(errors)
    try:
        condition = parse_condition(spec.when, "when", params)
    except ConditionError as exc:
        errors.extend(f"{where}: {message}" for message in exc.messages)
        condition = None
    else:
        # Checked here, before durable_rules ever sees it: a condition that cannot be
        # split into expressions within the C library's limits is refused at load.
        try:
            durable_expressions(compile_condition(condition, params), DURABLE_GUARD)
        except ExpressionTooLarge as exc:
            errors.append(f"{where}: when: the condition is {exc}")
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
        errors.append(f"{where}: {exc}")
        texts = None
    errors.extend(f"{where}: {m}" for m in example_problems(spec, law_as_of))
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


def example_as_of(case: Mapping[str, Any], default: date | None = None) -> date:
    """The assessment date of a worked example: its own `as_of`, else the ruleset's
    `law_as_of`, else today. Examples with dates give `as_of` so they never age."""
    value = case.get("as_of")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    return default or date.today()


def example_problems(spec: RuleSpec, default_as_of: date | None = None) -> list[str]:
    """Examples must be valid (partial) profiles of the parts the rule's scope reads.

    Besides the profiles an example may carry `as_of` (YYYY-MM-DD), the
    assessment date its dates are measured from.
    """
    problems = []
    for label, cases in spec.examples.model_dump().items():
        for index, case in enumerate(cases):
            where = f"examples.{label}[{index}]"
            expected = set(_NEEDS[spec.scope])
            if set(case) - {"as_of"} != expected:
                parts = ", ".join(sorted(expected))
                problems.append(f"{where}: expected exactly {parts} (and optionally as_of)")
                continue
            try:
                as_of = example_as_of(case, default_as_of)
            except (TypeError, ValueError):
                problems.append(f"{where}: as_of: expected a date YYYY-MM-DD")
                continue
            try:
                for profile in example_profiles(case):
                    if profile is not None:
                        check_dates(profile, as_of, "example")
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
