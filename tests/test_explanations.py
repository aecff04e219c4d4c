"""Rule texts: the fast renderings equal the sandboxed Jinja2 rendering exactly."""

from __future__ import annotations

import pytest

from roprules.authoring.lint import example_facts
from roprules.rulebase.explanations import quick_pieces, substitution_pieces

PARTS = ("explanation", "suggestion")


def test_fast_rendering_equals_jinja_for_every_example(ruleset):
    checked = 0
    for rule in ruleset.rules:
        examples = rule.spec.examples
        cases = [example_facts(c) for c in (*examples.fires, *examples.undetermined)]
        for facts in [*cases, {}]:  # {} : every value unknown
            for part in PARTS:
                for lang in ("nb", "en"):
                    fast = rule.texts.render(part, lang, facts, ruleset.params)
                    reference = rule.texts.render_jinja(part, lang, facts, ruleset.params)
                    assert fast == reference, (rule.id, part, lang)
                    checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Plain text.", ("Plain text.",)),
        ("Har {{ offer.staffing }}.", ("Har ", "offer.staffing", ".")),
        ("{% if offer.staffing %}x{% endif %}", None),
        ("{{ offer.staffing is none }}", None),
    ],
)
def test_substitution_pieces(source, expected):
    pieces = substitution_pieces(source)
    if expected is None:
        assert pieces is None
    else:
        assert tuple(getattr(p, "path", p) for p in pieces) == expected


def _shipped_sources(ruleset) -> set[str]:
    sources: set[str] = set()
    for rule in ruleset.rules:
        for part in ("explanation", "suggestion"):
            text = getattr(rule.spec, part).model_dump()
            variants = [text["default"], *text["cases"].values()] if "by" in text else [text]
            for localized in variants:
                sources.update(localized[lang] for lang in ("nb", "en"))
    return sources


def test_quick_pieces_equal_jinja_pieces_on_every_shipped_text(ruleset):
    """The texts read without Jinja2 at load give the pieces Jinja2's parser gives."""
    sources = _shipped_sources(ruleset)
    quick = 0
    for source in sources:
        pieces = quick_pieces(source)
        if pieces is not None:
            assert pieces == substitution_pieces(source), source
            quick += 1
    assert quick > 0.9 * len(sources)


@pytest.mark.parametrize(
    "source",
    [
        "",
        "\n",
        "Har {{ offer.staffing }}.\n",
        "{{offer.staffing}}{{ resident.age }}",
        "a\n\nb {{ params.max_units }} c\n\n",
        "Tekst med } og { og % og #.",
        "{{ offer.staffing }} }} x",
        "{{- offer.staffing }}",
        "{{ offer.staffing|upper }}",
        "{# note #}x",
        "{% raw %}{{ x }}{% endraw %}",
        "a\r\nb",
        "{{ offer .staffing }}",
        "{{ staffing }}",
        "{{ cycler.x }}",
    ],
)
def test_quick_pieces_agree_with_jinja_or_defer(source):
    pieces = quick_pieces(source)
    if pieces is not None:
        assert pieces == substitution_pieces(source)
