"""Rule texts: the fast renderings equal the sandboxed Jinja2 rendering exactly."""

from __future__ import annotations

import pytest

from roprules.authoring.lint import example_facts
from roprules.rulebase.explanations import substitution_pieces

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
