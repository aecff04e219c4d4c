"""The "why not" view keeps a condition's and/or structure, and colours by truth.

A rule's condition is shown as nested groups («Alle disse», «Minst én av disse»,
«Minst N av disse», «Ikke dette») in HTML and Markdown; a part that holds is
never shown in the failing (red) style, and every outcome has a word beside its colour.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_engine
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import profile_to_facts
from roprules.report.plain import WhyGroup, WhyRow, why, why_lines, why_tree, why_undetermined
from roprules.report.render import render_assessment
from roprules.report.render.reports import stylesheet
from roprules.rulebase.conditions import explain, leaves, parse_condition

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PARAMS = {"young_age_limit": 30}

DEMENTIA = {"resident.dementia": {"eq": True}}
WHEELCHAIR = {"resident.uses_wheelchair": {"eq": True}}
YOUNG = {"resident.age": {"lt": {"param": "young_age_limit"}}}
PSYCHOTIC = {"resident.psychosis": {"eq": True}}

# all of: dementia, (any of: wheelchair, (at least 2 of: young, psychotic, wheelchair)),
# not (all of: young, psychotic)
NESTED = {
    "all": [
        DEMENTIA,
        {"any": [WHEELCHAIR, {"at_least": {"n": 2, "of": [YOUNG, PSYCHOTIC, WHEELCHAIR]}}]},
        {"not": {"all": [YOUNG, PSYCHOTIC]}},
    ]
}
FACTS = {"resident.dementia": True, "resident.uses_wheelchair": False, "resident.age": 25}


def _tree(data: Any = NESTED, facts: dict[str, Any] = FACTS, lang: str = "nb") -> Any:
    return why_tree(parse_condition(data, "when", PARAMS), facts, PARAMS, lang)


# --- the tree ------------------------------------------------------------------


def test_tree_keeps_the_groups_and_their_outcomes():
    root = _tree()
    assert isinstance(root, WhyGroup)
    assert (root.kind, root.heading, root.outcome) == ("all", "Alle disse", "unknown")
    dementia, either, negation = root.parts
    assert isinstance(dementia, WhyRow) and dementia.outcome == "met"
    assert (either.kind, either.heading, either.outcome) == ("any", "Minst én av disse", "unknown")
    wheelchair, two_of = either.parts
    assert wheelchair.outcome == "not_met"
    assert (two_of.kind, two_of.n, two_of.heading) == ("at_least", 2, "Minst 2 av disse")
    assert [p.outcome for p in two_of.parts] == ["met", "unknown", "not_met"]
    assert (negation.kind, negation.heading, negation.outcome) == ("not", "Ikke dette", "unknown")
    (inner,) = negation.parts
    assert inner.kind == "all" and [p.outcome for p in inner.parts] == ["met", "unknown"]


def test_english_headings():
    root = _tree(lang="en")
    assert root.heading == "All of these"
    assert root.parts[1].heading == "At least one of these"
    assert root.parts[1].parts[1].heading == "At least 2 of these"
    assert root.parts[2].heading == "Not this"


def test_not_over_one_leaf_reads_as_the_negated_leaf():
    root = _tree({"not": DEMENTIA}, {"resident.dementia": False})
    assert isinstance(root, WhyRow)
    assert root.outcome == "met"  # "dementia is not yes" holds for a resident without it
    negated = parse_condition({"resident.dementia": {"ne": True}}, "when", PARAMS)
    assert root.text == why(negated, {}, PARAMS, "nb")[0].text


def test_a_group_of_one_is_its_part():
    root = _tree({"all": [{"any": [DEMENTIA]}]}, {})
    assert isinstance(root, WhyRow) and root.outcome == "unknown"


def _leaf_count(node: Any) -> int:
    return 1 if node.kind == "leaf" else sum(_leaf_count(p) for p in node.parts)


CONDITIONS = st.recursive(
    st.sampled_from([DEMENTIA, WHEELCHAIR, YOUNG, PSYCHOTIC]),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
        inner.map(lambda part: {"not": part}),
        st.lists(inner, min_size=2, max_size=3).flatmap(
            lambda parts: st.integers(1, len(parts)).map(
                lambda n: {"at_least": {"n": n, "of": parts}}
            )
        ),
    ),
    max_leaves=8,
)
FACT_SETS = st.fixed_dictionaries(
    {},
    optional={
        "resident.dementia": st.booleans(),
        "resident.uses_wheelchair": st.booleans(),
        "resident.age": st.integers(18, 80),
        "resident.psychosis": st.booleans(),
    },
)


@settings(max_examples=150, deadline=None)
@given(data=CONDITIONS, facts=FACT_SETS)
def test_tree_outcomes_agree_with_the_evaluator(data, facts):
    """The root's outcome is the condition's value; every leaf of the rule is shown once."""
    node = parse_condition(data, "when", PARAMS)
    root = why_tree(node, facts, PARAMS, "en")
    value = explain(node, facts, PARAMS).value
    assert root.outcome == {True: "met", False: "not_met", None: "unknown"}[value]
    assert _leaf_count(root) == len(list(leaves(node)))
    depths = [depth for depth, _ in why_lines(root)]
    assert depths[0] == 0 and all(b <= a + 1 for a, b in itertools.pairwise(depths))


# --- rendered --------------------------------------------------------------------


@dataclass
class _Item:
    classes: list[str]
    text: str = ""
    children: list[_Item] = field(default_factory=list)


class _Lists(HTMLParser):
    """The `ul.why-tree` lists of a page as trees of list items."""

    def __init__(self) -> None:
        super().__init__()
        self.trees: list[list[_Item]] = []
        self.stack: list[list[_Item]] = []  # the open lists' items
        self.items: list[_Item] = []  # the open items
        self.depth = 0  # nesting of <ul> inside a why tree

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "ul" and (self.depth or "why-tree" in classes):
            self.depth += 1
            children: list[_Item] = []
            if self.items:
                self.items[-1].children = children
            else:
                self.trees.append(children)
            self.stack.append(children)
        elif tag == "li" and self.depth:
            item = _Item(classes)
            self.stack[-1].append(item)
            self.items.append(item)
        elif tag == "span" and self.items and "why-outcome" in classes:
            self.items[-1].classes += [f"label:{c}" for c in classes]

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul" and self.depth:
            self.depth -= 1
            self.stack.pop()
        elif tag == "li" and self.depth:
            self.items.pop()

    def handle_data(self, data: str) -> None:
        if self.items and not self.items[-1].children:
            self.items[-1].text += data


def _report(why_for: Any) -> tuple[Any, str]:
    engine = shared_engine()
    resident = load_resident(ROOT / "profiles/residents/r06-low-need.yaml")
    offer = load_offer(ROOT / "profiles/offers/ordinary-rental.yaml")
    assessment = engine.check(resident, offer, lang="nb", now=NOW)
    facts = {**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}
    return assessment, why_for(engine, assessment, facts)


def _parse(html: str) -> list[list[_Item]]:
    parser = _Lists()
    parser.feed(html)
    return parser.trees


def test_html_shows_nested_groups():
    assessment, whys = _report(lambda e, a, f: why_undetermined(e.ruleset, a, f))
    rule_id = assessment.undetermined[0].rule_id
    whys[rule_id] = _tree()
    html = render_assessment(assessment, "html", why=whys)
    trees = _parse(html)
    assert len(trees) == len(whys)
    ours = next(t for t in trees if "Alle disse" in t[0].text and len(t[0].children) == 3)
    (root,) = ours
    assert "why-group" in root.classes
    dementia, either, negation = root.children
    assert "why-leaf" in dementia.classes and "demens" in dementia.text
    assert "Minst én av disse" in either.text
    wheelchair, two_of = either.children
    assert "rullestol" in wheelchair.text
    assert "Minst 2 av disse" in two_of.text and len(two_of.children) == 3
    assert "Ikke dette" in negation.text
    (inner,) = negation.children
    assert "Alle disse" in inner.text and len(inner.children) == 2


def test_html_of_a_real_rule_keeps_its_and_or():
    """health.follow-up-not-agreed: a leaf and an `any` group under an `all`."""
    assessment, whys = _report(lambda e, a, f: why_undetermined(e.ruleset, a, f))
    assert "health.follow-up-not-agreed" in whys
    html = render_assessment(assessment, "html", why=whys)
    section = html[html.index("health.follow-up-not-agreed</code>)</span></h3>") :]
    (root,) = _parse(section)[0]
    assert "Alle disse" in root.text
    assert any("Minst én av disse" in part.text and part.children for part in root.children)


def _items(trees: list[list[_Item]]) -> list[_Item]:
    out: list[_Item] = []
    todo = [item for tree in trees for item in tree]
    while todo:
        item = todo.pop()
        out.append(item)
        todo.extend(item.children)
    return out


def _css_rule(selector: str) -> str:
    match = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", stylesheet())
    assert match, f"no CSS rule for {selector}"
    return match.group(1)


def test_a_part_that_holds_is_not_in_the_failing_style():
    assessment, whys = _report(lambda e, a, f: why_undetermined(e.ruleset, a, f))
    whys[assessment.undetermined[0].rule_id] = _tree()
    html = render_assessment(assessment, "html", why=whys)
    items = _items(_parse(html))
    met = [i for i in items if "why-met" in i.classes]
    assert met, "the report shows at least one part that holds"
    for item in met:
        assert "label:outcome-met" in item.classes
        assert "outcome-not_met" not in " ".join(item.classes)
        assert "oppfylt" in item.text and "ikke oppfylt" not in item.text.split("—")[0]
    # Every outcome carries a word, not colour alone.
    words = {"why-met": "oppfylt", "why-not_met": "ikke oppfylt", "why-unknown": "ukjent"}
    for item in items:
        (state,) = [c for c in item.classes if c in words]
        assert words[state] in item.text
    # The style of a part that holds is neutral: never the colour of critical findings.
    red = re.search(r"--critical:\s*([^;]+);", stylesheet()).group(1).strip()
    assert "critical" not in _css_rule(".outcome-met") and red not in _css_rule(".outcome-met")
    assert _css_rule(".outcome-met") != _css_rule(".outcome-not_met")
    assert _css_rule(".outcome-unknown") not in (
        _css_rule(".outcome-met"),
        _css_rule(".outcome-not_met"),
    )


def test_markdown_nests_the_groups():
    assessment, whys = _report(lambda e, a, f: why_undetermined(e.ruleset, a, f))
    whys[assessment.undetermined[0].rule_id] = _tree()
    markdown = render_assessment(assessment, "markdown", why=whys)
    lines = markdown.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith("- ? ukjent — **Alle disse:**")
    )
    block = lines[start : start + 11]
    indents = [len(line) - len(line.lstrip(" ")) for line in block]
    assert indents == [0, 2, 2, 4, 4, 6, 6, 6, 2, 4, 6]
    assert "**Minst én av disse:**" in block[2]
    assert "**Minst 2 av disse:**" in block[4]
    assert block[1].lstrip().startswith("- ✓ oppfylt — ")
    assert "**Ikke dette:**" in block[8]


def test_a_flat_list_of_rows_still_renders():
    """`plain.why` rows (the former argument) render as one list without headings."""
    assessment, whys = _report(
        lambda e, a, f: {
            u.rule_id: why(e.ruleset.rule(u.rule_id), f, e.ruleset.params, a.lang)
            for u in a.undetermined
        }
    )
    html = render_assessment(assessment, "html", why=whys)
    trees = _parse(html)
    assert len(trees) == len(whys)
    assert all("why-leaf" in item.classes for tree in trees for item in tree)
    markdown = render_assessment(assessment, "markdown", why=whys)
    assert "**Alle disse:**" not in markdown and "- ? ukjent — " in markdown
