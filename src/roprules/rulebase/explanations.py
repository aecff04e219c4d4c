"""Explanation and suggestion texts: checked at load, rendered from their facts.

A rule text may hold substitutions and nothing else: `{{ resident.FIELD }}`,
`{{ offer.a.b }}` and `{{ params.NAME }}` (issue 9, item 3: the decided
model). Control blocks (`{% if %}`), filters, comparisons, tests, calls and
literals are refused at load, naming the rule and the text: templates see
display strings, so a comparison or a truth test in a template could only
ever give a wrong answer. A text that needs a variant per value says so
declaratively (`by`/`cases`/`default`, see `rule_schema.ByValue`), and the
facts that made a rule fire are listed by the engine beside the text.

Values render as their labels in the reader's language, so a template never
shows `round_the_clock` to a Norwegian reader; an unknown value renders as
"ukjent"/"unknown".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roprules.contract.fields import RULE_FIELDS
from roprules.contract.messages import LANGUAGES, Messages

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

# Jinja2 is imported when a text needs it (a syntax check of an unusual text, the
# reference rendering): the common texts are read and rendered without it, and a
# command that renders no Jinja2 template does not pay for importing it.
ROOTS = ("resident", "offer", "params")
_PARAMS = len("params.")  # a parameter's path past its root


@functools.cache
def _node_kinds() -> tuple[tuple[type, ...], dict[type, str]]:
    """The Jinja2 nodes a text may hold, and what each refused one is called."""
    from jinja2 import nodes

    allowed = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr)
    refused = {
        nodes.If: "a '{% if %}' block",
        nodes.For: "a '{% for %}' block",
        nodes.CondExpr: "an inline 'if'",
        nodes.Compare: "a comparison",
        nodes.Test: "a test ('is ...')",
        nodes.Filter: "a filter ('|')",
        nodes.Call: "a call",
        nodes.Const: "a literal",
        nodes.And: "'and'",
        nodes.Or: "'or'",
        nodes.Not: "'not'",
    }
    return allowed, refused


_HINT = (
    "rule texts may only substitute {{ resident.FIELD }}, {{ offer.FIELD }} or "
    "{{ params.NAME }}; for a text per value use by/cases/default"
)


class TemplateError(Exception):
    pass


def _environment(lang: str, messages: Messages) -> SandboxedEnvironment:
    from jinja2.sandbox import SandboxedEnvironment

    unknown = messages.term("booleans", "unknown", lang)
    return SandboxedEnvironment(
        autoescape=False,  # plain text; the HTML renderer escapes the rendered result
        finalize=lambda value: unknown if value is None else value,
        keep_trailing_newline=False,
    )


def _chain(node: Any) -> str | None:
    """`offer.building.sprinkler` from a Getattr chain rooted in a Name."""
    from jinja2 import nodes

    parts: list[str] = []
    current: nodes.Node = node
    while isinstance(current, nodes.Getattr):
        parts.append(current.attr)
        current = current.node
    if not isinstance(current, nodes.Name):
        return None
    parts.append(current.name)
    return ".".join(reversed(parts))


def referenced_paths(source: str, params: Mapping[str, Any]) -> tuple[str, ...]:
    """The field paths (and params.NAME) a template reads; raises TemplateError if unsafe."""
    from jinja2 import TemplateSyntaxError, nodes
    from jinja2.sandbox import SandboxedEnvironment

    allowed, refused = _node_kinds()
    env = SandboxedEnvironment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from None
    paths: set[str] = set()
    inside_chain: set[int] = set()
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, allowed):
            what = next(
                (name for kind, name in refused.items() if isinstance(node, kind)),
                f"'{type(node).__name__}'",
            )
            raise TemplateError(f"{what} is not allowed: {_HINT}")
        if isinstance(node, nodes.Getattr):
            if id(node) in inside_chain:
                continue
            path = _chain(node)
            if path is None:
                raise TemplateError("attributes may only be read from resident, offer or params")
            current: nodes.Node = node
            while isinstance(current, nodes.Getattr):
                inside_chain.add(id(current))
                current = current.node
            inside_chain.add(id(current))
            paths.add(path)
        elif isinstance(node, nodes.Name) and id(node) not in inside_chain:
            raise TemplateError(f"'{node.name}' must be followed by a field, e.g. offer.staffing")
    _check_paths(paths, params)
    return tuple(sorted(paths))


def _check_paths(paths: set[str], params: Mapping[str, Any]) -> None:
    for path in paths:
        root = path.split(".", 1)[0]
        if root not in ROOTS:
            raise TemplateError(f"unknown name {root!r}; templates may read {', '.join(ROOTS)}")
        if root == "params":
            if path.removeprefix("params.") not in params:
                raise TemplateError(f"unknown parameter {path!r}")
        elif path not in RULE_FIELDS:
            raise TemplateError(f"unknown field {path!r} (not in the contract)")


def checked_paths(pieces: tuple[str | _Path, ...], params: Mapping[str, Any]) -> tuple[str, ...]:
    """The paths of `quick_pieces`, checked as `referenced_paths` checks them."""
    paths = {piece.path for piece in pieces if isinstance(piece, _Path)}
    _check_paths(paths, params)
    return tuple(sorted(paths))


class RuleTexts:
    """One rule's explanation and suggestion, ready to render in each language.

    Each text (or each variant of a per-value text) is kept as literal pieces
    and field paths, rendered without Jinja2; `render_jinja` renders the same
    text through the sandboxed template, and a test holds the two equal.
    """

    def __init__(
        self,
        sources: Mapping[str, Any],  # {"explanation": {"nb": ..., "en": ...} or by/cases/default}
        params: Mapping[str, Any],
        messages: Messages,
        environments: Mapping[str, SandboxedEnvironment],
    ):
        self._messages = messages
        found: set[str] = set()
        # part -> (the `by` path or None, {case: {lang: text}}, {lang: default text})
        self._variants: dict[str, tuple[str | None, dict[Any, dict[str, str]], dict[str, str]]] = {}
        for part, text in sources.items():
            if "by" in text:
                by = text["by"]
                cases = _check_by(by, text["cases"])
                found.add(by)
                self._variants[part] = (by, cases, dict(text["default"]))
            else:
                self._variants[part] = (None, {}, dict(text))
        self._pieces: dict[str, tuple[str | _Path, ...]] = {}
        for part, (_, cases, default) in self._variants.items():
            for where, localized in [*((f"cases.{k}", c) for k, c in cases.items()), ("", default)]:
                for lang in LANGUAGES:
                    label = ".".join(x for x in (part, where, lang) if x)
                    source = localized[lang]
                    if source in self._pieces:
                        continue
                    # The common case, plain text and `{{ a.b }}`, is read without
                    # Jinja2 (about 1 ms per text at load); anything else goes
                    # through the sandboxed parser, which gives the error messages.
                    pieces = quick_pieces(source)
                    try:
                        if pieces is None:
                            found.update(referenced_paths(source, params))
                            pieces = substitution_pieces(source)
                        else:
                            found.update(checked_paths(pieces, params))
                    except TemplateError as exc:
                        raise TemplateError(f"{label}: {exc}") from None
                    assert pieces is not None  # referenced_paths admits substitutions only
                    self._pieces[source] = pieces
        self.paths = tuple(sorted(found))
        # The rendered text of each source without a path (most texts: ~3 in 4 shipped),
        # the same whatever the facts: `render` returns it without joining its pieces.
        self._literal: dict[str, str] = {
            source: "".join(pieces).strip()  # type: ignore[arg-type]
            for source, pieces in self._pieces.items()
            if not any(piece.__class__ is _Path for piece in pieces)
        }
        self._environments = environments
        self._templates: dict[tuple[str, str], Any] = {}

    def source(self, part: str, lang: str, facts: Mapping[str, Any]) -> str:
        """The text of `part` that applies to these facts, in `lang`."""
        by, cases, default = self._variants[part]
        if by is not None:
            value = facts.get(by)
            if value is not None and value in cases:
                return cases[value][lang]
        return default[lang]

    def _shown(
        self, path: str, lang: str, facts: Mapping[str, Any], params: Mapping[str, Any]
    ) -> Any:
        """A value as the text shows it: a parameter, or a fact's label; None if unknown."""
        if path.startswith("params."):
            return params.get(path.removeprefix("params."))
        raw = facts.get(path)
        return None if raw is None else self._messages.value_label(path, raw, lang)

    def render(
        self, part: str, lang: str, facts: Mapping[str, Any], params: Mapping[str, Any]
    ) -> str:
        """The text of `part` for these facts: its pieces, each path shown as `_shown`
        shows it (inlined, and the word for an unknown value looked up only when one is
        unknown: this runs twice for every finding not seen before). A text without a
        path was rendered once at load."""
        source = self.source(part, lang, facts)
        literal = self._literal.get(source)
        if literal is not None:
            return literal
        label = self._messages.value_label
        unknown = None
        out: list[str] = []
        append = out.append
        for piece in self._pieces[source]:
            if piece.__class__ is not _Path:
                append(piece)  # type: ignore[arg-type]
                continue
            path = piece.path  # type: ignore[union-attr]
            if path.startswith("params."):
                value = params.get(path[_PARAMS:])
            else:
                raw = facts.get(path)
                value = None if raw is None else label(path, raw, lang)
            if value is None:
                if unknown is None:
                    unknown = self._messages.term("booleans", "unknown", lang)
                append(unknown)
            else:
                append(str(value))
        return "".join(out).strip()

    def render_jinja(
        self, part: str, lang: str, facts: Mapping[str, Any], params: Mapping[str, Any]
    ) -> str:
        """The text through its sandboxed Jinja2 template (the reference rendering)."""
        source = self.source(part, lang, facts)
        context: dict[str, Any] = {}
        for path in self.paths:
            _set_path(context, path, self._shown(path, lang, facts, params))
        key = (source, lang)
        template = self._templates.get(key)
        if template is None:
            template = self._environments[lang].from_string(source)
            self._templates[key] = template
        return "".join(
            template.root_render_func(template.new_context(context, shared=True))
        ).strip()


_BOOL_CASES = {"true": True, "false": False, True: True, False: False}


def _check_by(by: Any, cases: Mapping[Any, Any]) -> dict[Any, Any]:
    """`by` names an enum or boolean field, and every case is one of its values.

    Returns the cases keyed by the fact's value: a boolean field's cases are
    written "true"/"false" (quoted: YAML keys are text) and read as booleans.
    """
    spec = RULE_FIELDS.get(by) if isinstance(by, str) else None
    if spec is None:
        raise TemplateError(f"by: unknown field {by!r} (not in the contract)")
    if spec.kind not in ("bool", "enum"):
        raise TemplateError(f"by: {by} is a {spec.kind} field; texts vary by enum or bool fields")
    keyed: dict[Any, Any] = {}
    for case, text in cases.items():
        if spec.kind == "bool" and case in _BOOL_CASES:
            keyed[_BOOL_CASES[case]] = text
        elif spec.kind == "enum" and isinstance(case, str) and case in spec.values:
            keyed[case] = text
        else:
            shown = "true, false" if spec.kind == "bool" else ", ".join(spec.values)
            raise TemplateError(f"cases: {case!r} is not a value of {by} (expected {shown})")
    return keyed


@dataclass(frozen=True)
class _Path:
    path: str


def substitution_pieces(source: str) -> tuple[str | _Path, ...] | None:
    """Literal text and `{{ a.b.c }}` paths, or None when the text needs Jinja2 itself."""
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment

    tree = SandboxedEnvironment().parse(source)
    if len(tree.body) > 1 or (tree.body and not isinstance(tree.body[0], nodes.Output)):
        return None
    pieces: list[str | _Path] = []
    for node in tree.body[0].nodes if tree.body else []:
        if isinstance(node, nodes.TemplateData):
            pieces.append(node.data)
        elif isinstance(node, nodes.Getattr) and (path := _chain(node)) is not None:
            pieces.append(_Path(path))
        else:
            return None
    return tuple(pieces)


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SUBSTITUTION = re.compile(r"\{\{[ \t]*(" + _NAME + r"(?:\." + _NAME + r")+)[ \t]*\}\}")
_JINJA_MARKS = ("{{", "}}", "{%", "%}", "{#", "#}", "\r")


def quick_pieces(source: str) -> tuple[str | _Path, ...] | None:
    """`substitution_pieces` without Jinja2, for texts that are literal text and
    `{{ a.b.c }}` only; None when the text holds anything else (then Jinja2 decides).

    As Jinja2 reads it: one trailing newline dropped, no empty literal pieces.
    A test holds it equal to `substitution_pieces` on every shipped text.
    """
    if source.endswith("\n"):
        source = source[:-1]
    parts = _SUBSTITUTION.split(source)
    pieces: list[str | _Path] = []
    for index, part in enumerate(parts):
        if index % 2:
            if part.split(".", 1)[0] not in ROOTS:
                return None  # Jinja2 names the problem
            pieces.append(_Path(part))
        elif part:
            if any(mark in part for mark in _JINJA_MARKS):
                return None
            pieces.append(part)
    return tuple(pieces)


def _set_path(context: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    current = context
    for name in parents:
        current = current.setdefault(name, {})
    current[leaf] = value


class _Environments(Mapping[str, "SandboxedEnvironment"]):
    """One sandboxed environment per language, made when first asked for."""

    def __init__(self, messages: Messages):
        self._messages = messages
        self._made: dict[str, SandboxedEnvironment] = {}

    def __getitem__(self, lang: str) -> SandboxedEnvironment:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        made = self._made.get(lang)
        if made is None:
            made = self._made[lang] = _environment(lang, self._messages)
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


def environments(messages: Messages) -> Mapping[str, SandboxedEnvironment]:
    return _Environments(messages)
