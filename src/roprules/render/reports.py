"""Rendering assessments and rankings through the format's Jinja2 template."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from roprules.assessment import Assessment, Ranking
from roprules.messages import messages
from roprules.rule_schema import SEVERITY_ORDER

FORMATS = ("text", "json", "markdown", "html")
_TEMPLATE = {
    "text": "assessment.txt.j2",
    "markdown": "assessment.md.j2",
    "html": "assessment.html.j2",
}
_RANK_TEMPLATE = {"text": "ranking.txt.j2", "markdown": "ranking.md.j2", "html": "ranking.html.j2"}


@cache
def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=PackageLoader("roprules", "render/templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def _helpers(lang: str) -> dict[str, Any]:
    catalogue = messages()
    return {
        "lang": lang,
        "term": lambda group, key: catalogue.term(group, key, lang),
        "field_label": lambda path: catalogue.field_label(path, lang),
        "value_label": lambda path, value: catalogue.value_label(path, value, lang),
        "severity_order": list(SEVERITY_ORDER),
    }


def render_assessment(assessment: Assessment, fmt: str = "text", *, color: bool = False) -> str:
    if fmt == "json":
        return assessment.model_dump_json(indent=2) + "\n"
    template = _environment().get_template(_TEMPLATE[fmt])
    return template.render(a=assessment, color=color, **_helpers(assessment.lang))


def render_ranking(
    ranking: Ranking, fmt: str = "text", *, lang: str = "nb", color: bool = False
) -> str:
    if fmt == "json":
        return json.dumps(ranking.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    template = _environment().get_template(_RANK_TEMPLATE[fmt])
    return template.render(r=ranking, color=color, **_helpers(lang))
