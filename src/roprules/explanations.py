"""Explanation and suggestion templates: checked at load, rendered in a sandbox.

Rule texts are Jinja2 templates over the facts (`{{ offer.staffing }}`). They
are compiled once per language in a `SandboxedEnvironment`, and the loader
accepts only a small, safe subset of the language: names `resident`, `offer`
and `params`, attribute chains that are fields of the contract or parameters,
`if`/`else`, comparisons, `is none` tests, and literals. Anything else — calls,
filters, dunder attributes, unknown fields — refuses the ruleset at load.

Values render as their labels in the reader's language, so a template never
shows `round_the_clock` to a Norwegian reader; an unknown value renders as
"ukjent"/"unknown".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from roprules.fields import RULE_FIELDS
from roprules.messages import LANGUAGES, Messages

ROOTS = ("resident", "offer", "params")
_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Const,
    nodes.Test,
    nodes.Name,
    nodes.Getattr,
)
_ALLOWED_TESTS = ("none", "defined", "undefined")


class TemplateError(Exception):
    pass


def _environment(lang: str, messages: Messages) -> SandboxedEnvironment:
    unknown = messages.term("booleans", "unknown", lang)
    return SandboxedEnvironment(
        autoescape=False,  # plain text; the HTML renderer escapes the rendered result
        finalize=lambda value: unknown if value is None else value,
        keep_trailing_newline=False,
    )


def _chain(node: nodes.Getattr) -> str | None:
    """`offer.building.sprinkler` from a Getattr chain rooted in a Name."""
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
    env = SandboxedEnvironment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from None
    paths: set[str] = set()
    inside_chain: set[int] = set()
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateError(f"'{type(node).__name__}' is not allowed in rule templates")
        if isinstance(node, nodes.Test) and node.name not in _ALLOWED_TESTS:
            raise TemplateError(f"test '{node.name}' is not allowed in rule templates")
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
    for path in paths:
        root = path.split(".", 1)[0]
        if root not in ROOTS:
            raise TemplateError(f"unknown name {root!r}; templates may read {', '.join(ROOTS)}")
        if root == "params":
            if path.removeprefix("params.") not in params:
                raise TemplateError(f"unknown parameter {path!r}")
        elif path not in RULE_FIELDS:
            raise TemplateError(f"unknown field {path!r} (not in the contract)")
    return tuple(sorted(paths))


class RuleTexts:
    """One rule's explanation and suggestion, ready to render in each language.

    Each text is kept in the cheapest form that renders it exactly as the
    sandboxed Jinja2 template would: a plain string when it has no template
    syntax, a list of literal pieces and field paths when it only substitutes
    values (`{{ offer.staffing }}`), and the compiled sandboxed template for
    anything else (`{% if %}`). A test holds the fast forms to Jinja2's output.
    """

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, str]],  # {"explanation": {"nb": ..., "en": ...}}
        params: Mapping[str, Any],
        messages: Messages,
        environments: Mapping[str, SandboxedEnvironment],
    ):
        self._messages = messages
        found: set[str] = set()
        self._sources = {
            (part, lang): texts[lang] for part, texts in sources.items() for lang in LANGUAGES
        }
        self._pieces: dict[tuple[str, str], tuple[str | _Path, ...] | None] = {}
        for key, text in self._sources.items():
            found.update(referenced_paths(text, params))
            self._pieces[key] = substitution_pieces(text)
        self.paths = tuple(sorted(found))
        self._environments = environments
        self._templates: dict[tuple[str, str], Any] = {}

    def _template(self, part: str, lang: str) -> Any:
        """Compiled on first use: most rules never fire, and compiling all slows start-up."""
        key = (part, lang)
        template = self._templates.get(key)
        if template is None:
            template = self._environments[lang].from_string(self._sources[key])
            self._templates[key] = template
        return template

    def _shown(
        self, path: str, lang: str, facts: Mapping[str, Any], params: Mapping[str, Any]
    ) -> Any:
        """A value as the template sees it: a parameter, or a fact's label; None if unknown."""
        if path.startswith("params."):
            return params.get(path.removeprefix("params."))
        raw = facts.get(path)
        return None if raw is None else self._messages.value_label(path, raw, lang)

    def render(
        self, part: str, lang: str, facts: Mapping[str, Any], params: Mapping[str, Any]
    ) -> str:
        pieces = self._pieces[(part, lang)]
        if pieces is not None:
            unknown = self._messages.term("booleans", "unknown", lang)
            out = []
            for piece in pieces:
                if isinstance(piece, _Path):
                    value = self._shown(piece.path, lang, facts, params)
                    out.append(unknown if value is None else str(value))
                else:
                    out.append(piece)
            return "".join(out).strip()
        return self.render_jinja(part, lang, facts, params)

    def render_jinja(
        self, part: str, lang: str, facts: Mapping[str, Any], params: Mapping[str, Any]
    ) -> str:
        """The text through its sandboxed Jinja2 template (the reference rendering)."""
        context: dict[str, Any] = {}
        for path in self.paths:
            _set_path(context, path, self._shown(path, lang, facts, params))
        template = self._template(part, lang)
        # shared=True: the context holds only the facts; no copy of the globals per render.
        return "".join(
            template.root_render_func(template.new_context(context, shared=True))
        ).strip()


@dataclass(frozen=True)
class _Path:
    path: str


def substitution_pieces(source: str) -> tuple[str | _Path, ...] | None:
    """Literal text and `{{ a.b.c }}` paths, or None when the text needs Jinja2 itself."""
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


def _set_path(context: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    current = context
    for name in parents:
        current = current.setdefault(name, {})
    current[leaf] = value


def environments(messages: Messages) -> dict[str, SandboxedEnvironment]:
    return {lang: _environment(lang, messages) for lang in LANGUAGES}
