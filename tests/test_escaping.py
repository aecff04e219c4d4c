"""Output that cannot be forged: every format escapes what comes from profiles and rules.

The same hostile strings (terminal escapes, a fake verdict line, bidi overrides,
zero-width characters, HTML, Markdown links, table pipes, headings, entities) are
put into every profile- and rule-derived string of an assessment, a ranking, a
matrix and the handbook, rendered in every format, and each format's rules are
checked against the same document rendered with a harmless placeholder: the
hostile rendering has the same lines, table cells, block markers and HTML
elements, and no hidden character reaches the output raw. A Hypothesis test does
the same with random strings.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import shared_engine
from roprules.api import Engine
from roprules.contract.assessment import Assessment, Compare, Matrix, Ranking
from roprules.contract.intake import load_offer, load_resident
from roprules.contract.profiles import profile_to_facts
from roprules.report.handbook import TEMPLATES, handbook_context, render_handbook
from roprules.report.plain import why_undetermined
from roprules.report.render import (
    escape,
    render_assessment,
    render_compare,
    render_matrix,
    render_ranking,
)
from roprules.report.render.reports import _environment, _helpers

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = ROOT / "src" / "roprules" / "report" / "render" / "templates"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
RESIDENT = ROOT / "profiles/residents/r01-high-risk-round-the-clock.yaml"
OFFERS = [
    ROOT / "profiles/offers/aalesund-gaseid.yaml",
    ROOT / "profiles/offers/ordinary-rental.yaml",
]

FAKE_VERDICT = "Konklusjon: EGNET"
HOSTILE = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    f"x\r\n{FAKE_VERDICT}\n",  # a line of its own
    f"\x1b[1A\x1b[2K{FAKE_VERDICT}",  # overwrite the line above
    "\u202eTENGE\u202c \u2066a\u2069 \u200e\u200f\u061c \u202a\u202b\u202d",
    "zero\u200bwidth\u200c\u200d\u2060\ufeff",
    "\x9b31m \x85next \u2028line \u2029para \x0bvt \x0cff \x1cfs",
    "\x07bell \x00nul \x7fdel \x08bs\tTab",
    "<script>alert(1)</script> <img src=x onerror=alert(1)>",
    "[click](http://evil.example) ![img](http://evil.example/x.png) [ref]: http://e",
    "<http://evil.example> www.evil.example mail@evil.example https://evil.example",
    "a | b | c",
    "\n# Heading\n## Sub\n- item\n+ item\n* item\n1. item\n2) item\n> quote\n===\n---",
    "# start",
    "- start",
    "1. start",
    "`code` ``code`` *em* **strong** _u_ __u__ ~~s~~",
    "&#x202e; &lt;b&gt; &amp;",
    "\\",
    "trailing backslash\\",
    "```\nfenced\n```",
]
HOSTILE_TEXT = " ".join(HOSTILE)

# Keys whose string values come from a profile, a rule file or the rule texts.
# Keys used to look up catalogue terms (severity, verdict, scope, kind, topics,
# origin, outcome, theme, lang) stay as they are.
POISONED_KEYS = frozenset(
    {
        # assessments, rankings, matrices
        "resident_id",
        "resident_ids",
        "rule_ids",
        "offer_id",
        "offer_name",
        "offer_type",
        "title",
        "explanation",
        "suggestions",
        "label",
        "display",
        "field",
        "question",
        "rules",
        "rule_id",
        "waiting_on",
        "quote",
        "section",
        "url",
        "note",
        "name",
        "version",
        "sha256",
        "text",
        "value",
        # the handbook
        "id",
        "condition",
        "suggestion",
        "expected_label",
        "origin_label",
        "rationale",
        "reason",
        "theme_title",
        "remedy_summary",
        "unit",
        "description",
        "publisher",
        "meaning",
        "rule",
        "file",
    }
)


def poison(data: Any, text: str, key: str | None = None) -> Any:
    """`data` with every string under a POISONED_KEYS key replaced by `text`."""
    if isinstance(data, dict):
        # The backend's name is a code (durable | evaluator), not a profile string.
        return {k: v if k == "backend" else poison(v, text, k) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [poison(v, text, key) for v in data]
    if isinstance(data, str) and key in POISONED_KEYS:
        return f"https://example.org/{text}" if key == "url" else text
    return data


def _why_rows(why: dict[str, Iterable[Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        rule_id: [
            {
                "text": row.text,
                "outcome": row.outcome,
                "values": [{"label": v.label, "display": v.display} for v in row.values],
            }
            for row in rows
        ]
        for rule_id, rows in why.items()
    }


# --- the rules of each format ------------------------------------------------


def hidden_in(output: str, allowed: str = "\n") -> list[str]:
    return sorted({c for c in output if escape.is_hidden(c) and c not in allowed})


def check_text(output: str, benign: str) -> None:
    assert hidden_in(output) == [], "raw control, bidi or zero-width characters in text"
    assert output.count("\n") == benign.count("\n"), "a value started a line of its own"
    assert not any(line.startswith(FAKE_VERDICT) for line in output.split("\n"))


_AUTOLINK = re.compile(r"<https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%\[\]]*>")
_FENCE = re.compile(r"^(`{3,})[A-Za-z0-9_-]*$")
_BLOCK_START = re.compile(r"^(#{1,6} |[-+*] (\[ \] )?|\d{1,9}[.)] |> ?|=+\s*$|-{3,}\s*$|\|)")
_COUNTED = "[]<>*_~`|#&"


def _outside_fences(lines: list[str]) -> list[str]:
    """The lines with each fenced code block (any number of lines) as one line "FENCE"."""
    kept: list[str] = []
    fence = None
    for line in lines:
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence = match.group(1)
                kept.append("FENCE")
            else:
                kept.append(line)
        elif line == fence:
            fence = None
    assert fence is None, "a fenced code block was not closed"
    return kept


_ESCAPE_OR_CODE = re.compile(r"\\.|`[^`]*`")


def _unescaped(line: str) -> str:
    """The line without escaped characters, code spans and autolinks."""
    line = _AUTOLINK.sub("AUTOLINK", line)
    return _ESCAPE_OR_CODE.sub(lambda m: "E" if m.group().startswith("\\") else "CODE", line)


def check_markdown(output: str, benign: str) -> None:
    assert hidden_in(output) == [], "raw control, bidi or zero-width characters in Markdown"
    lines = _outside_fences(output.split("\n"))
    expected = _outside_fences(benign.split("\n"))
    assert len(lines) == len(expected), "a value started a line of its own"
    for line, base in zip(lines, expected, strict=True):
        if "FENCE" in (line, base):
            assert line == base
            continue
        # The same block structure: heading, list item, quote, table row, rule.
        found, wanted = _BLOCK_START.match(line), _BLOCK_START.match(base)
        assert (found and found.group()) == (wanted and wanted.group()), line
        bare, bare_base = _unescaped(line), _unescaped(base)
        # No Markdown syntax from a value: the same unescaped special characters.
        for char in _COUNTED:
            assert bare.count(char) == bare_base.count(char), (char, line)
        assert "](" not in bare and "<" not in bare.replace("AUTOLINK", "")
        assert not re.search(r"&(#\w+|\w+);", bare), line
        for url in _AUTOLINK.findall(line):
            assert not re.search(r"\s", url)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs.extend(v or "" for k, v in attrs if k == "href")
        self.attrs.update(k for k, _ in attrs)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)


def _elements(document: str) -> _Elements:
    parser = _Elements()
    parser.feed(document)
    parser.close()
    return parser


def check_html(output: str, benign: str) -> None:
    assert hidden_in(output, "\n\t") == [], "raw control, bidi or zero-width characters in HTML"
    found, expected = _elements(output), _elements(benign)
    # A source link is left out when its URL is not a plain http(s) URL.
    tags = [t for t in found.tags if t not in ("a", "/a")]
    assert tags == [t for t in expected.tags if t not in ("a", "/a")], "HTML elements changed"
    assert found.tags.count("a") <= expected.tags.count("a")
    for href in found.hrefs:
        assert href.startswith(("https://", "http://", "#")), href


def check_json(output: str, model: Any) -> None:
    assert hidden_in(output) == [], "raw control, bidi or zero-width characters in JSON"
    assert json.loads(output) == json.loads(model.model_dump_json())


FORMULA_START = ("=", "+", "-", "@")


def check_csv(output: str, benign: str) -> None:
    assert hidden_in(output, "\r\n") == [], "raw control, bidi or zero-width characters in CSV"
    assert output.count("\n") == benign.count("\n"), "a value started a row of its own"
    rows = list(csv.reader(io.StringIO(output, newline="")))
    expected = list(csv.reader(io.StringIO(benign, newline="")))
    assert [len(row) for row in rows] == [len(row) for row in expected], "CSV cells changed"
    for row in rows:
        for cell in row:
            assert not cell.lstrip().startswith(FORMULA_START), cell


CHECKS: dict[str, Callable[[str, str], None]] = {
    "text": check_text,
    "markdown": check_markdown,
    "html": check_html,
}
MATRIX_CHECKS = {**CHECKS, "csv": check_csv}


# --- what is rendered ----------------------------------------------------------


@pytest.fixture(scope="module")
def engine():
    return shared_engine()


@functools.cache
def _documents() -> dict[str, Any]:
    """An assessment (with `why` rows), a ranking, a matrix and a handbook context."""
    engine = shared_engine()
    resident = load_resident(RESIDENT)
    offers = [load_offer(path) for path in OFFERS]
    facts = {**profile_to_facts("resident", resident), **profile_to_facts("offer", offers[1])}
    assessment = engine.check(resident, offers[1], lang="nb", now=NOW)
    why = _why_rows(why_undetermined(engine.ruleset, assessment, facts))
    audit = engine.audit(offers[0], lang="en", now=NOW)
    ranking = engine.rank(resident, offers, lang="nb", now=NOW)
    matrix = engine.matrix([resident], offers)
    compare = engine.compare(resident, offers, lang="nb", now=NOW)
    assert assessment.findings and assessment.missing and assessment.undetermined and why
    return {
        "assessment": (assessment, why),
        "audit": (audit, {}),
        "ranking": ranking,
        "matrix": matrix,
        "compare": compare,
        "handbook": handbook_context(engine.ruleset, "nb"),
    }


def _renderings(
    documents: dict[str, Any], text: str, *, handbook: bool = True
) -> dict[tuple[str, str], str]:
    """Every document with `text` in every poisoned string, in every format."""
    out: dict[tuple[str, str], str] = {}
    for name in ("assessment", "audit"):
        model, why = documents[name]
        poisoned = Assessment.model_validate(poison(model.model_dump(mode="json"), text))
        for fmt in ("text", "markdown", "html"):
            out[name, fmt] = render_assessment(poisoned, fmt, why=poison(why, text))
        out[name, "json"] = render_assessment(poisoned, "json")
        out[name, "model"] = poisoned  # type: ignore[assignment]
    ranking = Ranking.model_validate(poison(documents["ranking"].model_dump(mode="json"), text))
    for fmt in ("text", "markdown", "html", "json"):
        out["ranking", fmt] = render_ranking(ranking, fmt, lang="nb")
    out["ranking", "model"] = ranking  # type: ignore[assignment]
    matrix = Matrix.model_validate(poison(documents["matrix"].model_dump(mode="json"), text))
    for fmt in ("text", "markdown", "html", "csv", "json"):
        out["matrix", fmt] = render_matrix(matrix, fmt, lang="nb")
    out["matrix", "model"] = matrix  # type: ignore[assignment]
    compare = Compare.model_validate(poison(documents["compare"].model_dump(mode="json"), text))
    for fmt in ("text", "markdown", "html", "json"):
        out["compare", fmt] = render_compare(compare, fmt, lang="nb")
    out["compare", "model"] = compare  # type: ignore[assignment]
    context = poison(documents["handbook"], text)
    for fmt in ("markdown", "html") if handbook else ():
        template = _environment().get_template(TEMPLATES[fmt])
        out["handbook", fmt] = template.render(**_helpers("nb"), **context)
    return out


def check_all(
    documents: dict[str, Any],
    text: str,
    benign: dict[tuple[str, str], str],
    *,
    handbook: bool = True,
) -> None:
    rendered = _renderings(documents, text, handbook=handbook)
    for (name, fmt), output in rendered.items():
        if fmt == "model":
            continue
        if fmt == "json":
            check_json(output, rendered[name, "model"])
        else:
            MATRIX_CHECKS[fmt](output, benign[name, fmt])


@functools.cache
def _benign() -> dict[tuple[str, str], str]:
    return _renderings(_documents(), "benign")


@pytest.fixture(scope="module")
def documents():
    return _documents()


@pytest.fixture(scope="module")
def benign():
    return _benign()


def test_hostile_strings_in_every_format(documents, benign):
    check_all(documents, HOSTILE_TEXT, benign)
    for piece in HOSTILE:
        # The (large) handbook again only for what matters at the start of a value.
        check_all(documents, piece, benign, handbook=piece[0] in "#-1\n`")


def test_hostile_strings_are_shown_not_obeyed(documents):
    rendered = _renderings(documents, HOSTILE_TEXT)
    text = rendered["assessment", "text"]
    assert "\\x1b[2J\\x1b[H" in text and "\\u202eTENGE\\u202c" in text
    assert f"x\\r\\n{FAKE_VERDICT}\\n" in text
    markdown = rendered["assessment", "markdown"]
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    assert "\\[click\\](http\\://evil.example)" in markdown
    assert "a \\| b \\| c" in markdown
    html = rendered["assessment", "html"]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\u202eTENGE\\u202c" in html
    assert "\\u202e" in rendered["assessment", "json"]
    assert "\\u202e" in rendered["handbook", "markdown"]


def test_colour_is_the_only_escape_sequence(documents):
    model, _ = documents["assessment"]
    poisoned = Assessment.model_validate(poison(model.model_dump(mode="json"), HOSTILE_TEXT))
    coloured = render_assessment(poisoned, "text", color=True)
    sequences = set(re.findall(r"\x1b\[[0-9;]*m", coloured))
    assert sequences and all(s.endswith("m") for s in sequences)
    assert coloured.count("\x1b") == len(re.findall(r"\x1b\[[0-9;]*m", coloured))
    assert f"\n{FAKE_VERDICT}" not in coloured


HIDDEN_CHARS = st.sampled_from(
    [chr(c) for c in range(0x20)]
    + ["\x7f", "\x85", "\x9b", "\xad", "\u061c", "\u180e", "\u2028", "\u2029", "\ufeff"]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2060, 0x206A)]
    + ["\U000e0001", "\U000e0041"]
)
MARKUP_CHARS = st.sampled_from([*"<>&|#[]()!*_~`\\-+=.:/@ \"'{}", "www.", "://", "1. "])
# Never empty: an empty value would hide optional lines and change the structure.
FUZZ = (
    st.lists(st.one_of(HIDDEN_CHARS, MARKUP_CHARS, st.text(max_size=3)), min_size=1, max_size=30)
    .map("".join)
    .filter(bool)
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=FUZZ)
def test_fuzz_every_format(text):
    """Assessments, rankings and matrices in text, Markdown, HTML and JSON."""
    check_all(_documents(), text, _benign(), handbook=False)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=FUZZ)
def test_fuzz_handbook(text):
    """The handbook (large: fewer examples) in Markdown and HTML, and the rest again."""
    check_all(_documents(), text, _benign())


# --- rule texts from a rule base --------------------------------------------------


def _poison_rule_files(rules_dir: Path, text: str) -> int:
    """Every rule's title, explanation, suggestion, note and source notes set to `text`."""
    count = 0
    for path in sorted(rules_dir.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            continue
        for rule in data["rules"]:
            for key in ("title", "explanation", "suggestion", "note"):
                if isinstance(rule.get(key), dict) and {"nb", "en"} <= set(rule[key]):
                    rule[key] = {"nb": text, "en": text}
            for source in rule.get("sources", []):
                source["note"] = text
                if source.get("url"):
                    source["url"] = HOSTILE_URL
                    source["title"] = text
            count += 1
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return count


# A web address the loader accepts (no spaces), full of characters with a meaning.
HOSTILE_URL = 'https://evil.example/<b>|x|</b>?q=`x`&r=[a](b)"onclick=alert(1)'


@pytest.fixture(scope="module")
def hostile_rules(tmp_path_factory):
    """A copy of the shipped rule base whose texts all carry the hostile strings."""
    rules_dir = tmp_path_factory.mktemp("hostile") / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    # No Jinja syntax in a rule text (that is the template checker's business).
    text = HOSTILE_TEXT.replace("{", "(").replace("}", ")")
    assert _poison_rule_files(rules_dir, text) > 10
    engine = Engine.load(rules_dir)
    yield engine
    if hasattr(engine, "close"):
        engine.close()


def test_hostile_rule_texts_in_every_format(hostile_rules, engine):
    resident = load_resident(RESIDENT)
    offers = [load_offer(path) for path in OFFERS]
    hostile = hostile_rules.check(resident, offers[0], lang="nb", now=NOW)
    plain = engine.check(resident, offers[0], lang="nb", now=NOW)
    assert hostile.findings and hostile.findings[0].title.startswith("\x1b[2J")
    for fmt, check in CHECKS.items():
        output = render_assessment(hostile, fmt)
        base = render_assessment(plain, fmt)
        if fmt == "text":
            check(output, base)
        else:
            # Rule texts change the whole document; hold each format's own rules.
            assert hidden_in(output, "\n\t" if fmt == "html" else "\n") == []
    markdown = render_assessment(hostile, "markdown")
    assert "<javascript" not in markdown and "](" not in _unescaped(markdown)
    html = render_assessment(hostile, "html")
    assert 'href="javascript' not in html and "<script" not in html
    check_json(render_assessment(hostile, "json"), hostile)
    ranking = hostile_rules.rank(resident, offers, lang="nb", now=NOW)
    for fmt in ("text", "markdown", "html"):
        assert hidden_in(render_ranking(ranking, fmt, lang="nb"), "\n\t") == []
    # The matrix's gap summary quotes rule titles.
    matrix = hostile_rules.matrix([resident], offers, lang="nb")
    assert matrix.gaps and matrix.gaps[0].title and matrix.gaps[0].title.startswith("\x1b[2J")
    for fmt in ("text", "markdown", "html", "csv"):
        output = render_matrix(matrix, fmt, lang="nb")
        assert hidden_in(output, "\r\n\t") == []
        if fmt == "html":
            assert "<script" not in output
        if fmt == "markdown":
            assert not any("<" in _unescaped(line) for line in output.split("\n"))
        if fmt == "csv":
            check_csv(output, render_matrix(engine.matrix([resident], offers), "csv"))
    check_json(render_matrix(matrix, "json"), matrix)
    for fmt, lang in (("markdown", "nb"), ("html", "en")):
        handbook = render_handbook(hostile_rules.ruleset, fmt, lang)
        assert hidden_in(handbook, "\n\t" if fmt == "html" else "\n") == []
        if fmt == "html":
            elements = _elements(handbook)
            assert "<script" not in handbook and "onclick" not in elements.attrs
            assert HOSTILE_URL in elements.hrefs  # one attribute value, nothing more
        else:
            # an autolink with everything but plain URL characters percent-encoded
            assert "<https://evil.example/%3Cb%3E%7Cx%7C%3C/b%3E?q=%60x%60&r=[a](b)%22" in handbook
            bare = [_unescaped(line) for line in _outside_fences(handbook.split("\n"))]
            assert not any("](" in line or "<" in line for line in bare)


# --- the hook cannot be bypassed ------------------------------------------------------


def test_templates_do_not_bypass_the_escaping():
    """Only the stylesheet is marked safe; every other output goes through the hook."""
    templates = sorted(TEMPLATE_DIR.glob("*.j2"))
    assert templates
    for path in templates:
        assert path.name.endswith(tuple(escape.FORMAT_BY_SUFFIX)), f"{path.name}: unknown format"
        source = path.read_text(encoding="utf-8").replace("{{ css|safe }}", "")
        for pattern in (r"\|\s*safe\b", r"\|\s*forceescape\b", r"{%-?\s*autoescape"):
            assert not re.search(pattern, source), f"{path.name} bypasses the escaping"


def test_markup_is_made_only_by_the_escaping_module():
    """Python code never marks a string as safe outside report/render/escape.py and paint()."""
    allowed = {"report/render/escape.py": None, "report/render/reports.py": 2}
    for path in sorted((ROOT / "src" / "roprules").rglob("*.py")):
        name = path.relative_to(ROOT / "src" / "roprules").as_posix()
        uses = len(re.findall(r"\bMarkup\(", path.read_text(encoding="utf-8")))
        if name in allowed:
            assert allowed[name] is None or uses <= allowed[name], name
        else:
            assert uses == 0, f"{name} makes Markup; escape through render/escape.py"


def test_every_template_format_has_its_escaping():
    env = _environment()
    assert env.autoescape is True and env.finalize is not None
    for name, fmt in (("a.txt.j2", "text"), ("a.md.j2", "markdown"), ("a.html.j2", "html")):
        assert escape.format_of(name) == fmt
    assert escape.format_of(None) == "text"


# --- the escaping functions themselves ----------------------------------------------


def test_text_escaping_shows_what_is_hidden():
    assert escape.text("R-1\x1b[2J\r\nKonklusjon") == "R-1\\x1b[2J\\r\\nKonklusjon"
    assert escape.text("a\u202eb\u2066c\u200bd\U000e0041") == (
        "a\\u202eb\\u2066c\\u200bd\\U000e0041"
    )
    assert escape.text("Småhus på Gåseid – 40 m²") == "Småhus på Gåseid – 40 m²"
    assert escape.text(None) == "" and escape.text(12) == "12"


def test_markdown_escaping():
    assert escape.markdown("a | b") == "a \\| b"
    assert escape.markdown("# x\n- y") == "\\# x - y"
    assert escape.markdown("- x") == "\\- x" and escape.markdown("1. x") == "1\\. x"
    assert escape.markdown("1.5 m") == "1.5 m" and escape.markdown("-5") == "\\-5"
    assert escape.markdown("[a](http://b)") == "\\[a\\](http\\://b)"
    assert escape.markdown("<b>&amp;") == "\\<b\\>\\&amp;"
    assert escape.markdown("WWW.x.no a@b.no") == "WWW\\.x.no a\\@b.no"
    assert escape.markdown("x\u202e") == "x\\\\u202e"


def test_markdown_code_url_and_code_block():
    assert escape.md_code("supervision.x") == "`supervision.x`"
    assert escape.md_code("a|b") == "a\\|b" and escape.md_code("a`b") == "a\\`b"
    assert escape.md_code("a\x1bb") == "a\\\\x1bb"
    assert escape.md_url("https://x.no/a b") == "https\\://x.no/a b"
    assert escape.md_url("https://x.no/a>b<c|d") == "<https://x.no/a%3Eb%3Cc%7Cd>"
    assert escape.md_url("https://x.no/å") == "<https://x.no/%C3%A5>"
    assert escape.md_url("javascript:alert(1)") == "javascript:alert(1)"
    assert escape.md_url("http:///nohost") == "http\\:///nohost"
    block = escape.md_codeblock("a\n````\nb\x1b\n", "jinja")
    assert block == "`````jinja\na\n````\nb\\x1b\n`````"


def test_html_and_json_escaping():
    assert escape.html("a\u202eb\n\tc\rd") == "a\\u202eb\n\tc\\rd"
    assert escape.json_text('{"a": "x\u202e\x7f\U000e0041æ"}') == (
        '{"a": "x\\u202e\\u007f\\udb40\\udc41æ"}'
    )
    assert json.loads(escape.json_text(json.dumps({"a": "\u202e\x85"}, ensure_ascii=False))) == {
        "a": "\u202e\x85"
    }


def test_cli_never_prints_a_forged_line(capsys, tmp_path, monkeypatch):
    """From the command line: a crafted offer is refused (exit 2) or shown escaped."""
    from roprules import cli

    engine = shared_engine()

    class _Engine:
        @staticmethod
        def load(*args: Any, **kwargs: Any) -> Engine:
            return engine

    monkeypatch.setattr(cli, "Engine", _Engine)
    offer = {
        "id": "O-1",
        "name": f"Hus\x1b[2J\x1b[H\n{FAKE_VERDICT}\u202e",
        "type": "small_house",
        "staffing": "ambulant",
    }
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(offer), encoding="utf-8")
    for fmt in ("text", "markdown", "html", "json"):
        code = cli.main(
            ["check", "--resident", str(RESIDENT), "--offer", str(path), "--format", fmt]
        )
        out, err = capsys.readouterr()
        assert code in (0, 2), err
        assert hidden_in(out, "\n\t") == [] and hidden_in(err, "\n") == []
        if fmt in ("text", "markdown"):  # in HTML a line break is only white space
            assert not any(line.startswith(FAKE_VERDICT) for line in out.splitlines())
        if code == 0 and fmt == "text":
            assert "Hus\\x1b[2J\\x1b[H\\nKonklusjon: EGNET\\u202e" in out
