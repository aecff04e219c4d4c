"""Renderers: an Assessment or a Ranking as text, Markdown, HTML or JSON.

Renderers never evaluate rules; they format what the engine returned, with
labels from the message catalogue. Templates are Jinja2 files in `templates/`,
rendered in a sandbox. Every `{{ ... }}` is escaped for the template's format
(`render/escape.py`): see that module for what a template author may use.
"""

from roprules.report.render.reports import (
    FORMATS,
    render_assessment,
    render_compare,
    render_matrix,
    render_ranking,
)

__all__ = ["FORMATS", "render_assessment", "render_compare", "render_matrix", "render_ranking"]
