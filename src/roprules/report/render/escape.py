"""Escaping per output format: one function per format, applied by the environment.

Every string that reaches a report, a ranking, the matrix or the handbook may come
from a profile or a rule file, so every `{{ ... }}` output is escaped for the format
it lands in. The template environment does this itself (`finalize`, chosen by the
template's file name), so a template author cannot forget it:

- text (`*.txt.j2`): `text()` -- control characters (C0, C1, DEL, incl. ESC, CR,
  newline, tab), Unicode format characters (bidi overrides and isolates, marks,
  zero-width characters, BOM) and line/paragraph separators are shown escaped
  (`\\x1b`, `\\u202e`), so a value can neither move the cursor, recolour or clear the
  terminal, reorder what is shown, nor start a line of its own.
- Markdown (`*.md.j2`): `markdown()` -- one line (white space collapsed), the same
  characters neutralised, and every character with a Markdown meaning escaped: no
  raw HTML, entity, link, image, autolink, emphasis, code span, table cell break,
  heading, list item or block quote can come from a value.
- HTML (`*.html.j2`): `html()` -- the same characters neutralised (line breaks and
  tabs kept, they are white space in HTML); Jinja2's autoescaping then escapes
  `<>&"'`.
- JSON: `json_text()` -- the serialised document with every such character written
  as a `\\uXXXX` escape (the value is unchanged; only its spelling).

Output the template itself builds from escaped parts (terminal colours from
`paint`, Markdown from the `md`, `code`, `url` and `codeblock` filters, HTML from
macros) is `Markup` and passes through unchanged. Nothing else may be `Markup`:
templates must not use `|safe` (the one exception is the stylesheet, `css|safe`).

For a template author:
- write `{{ value }}`; the environment escapes it for the template's format. A new
  template needs one of the suffixes in FORMAT_BY_SUFFIX (anything else is text).
- Markdown: `{{ x|code }}` for an identifier as inline code, `{{ url|url }}` for a
  link (http/https only, else shown as text), `{{ text|codeblock("jinja") }}` for a
  multi-line text; `|md` is what `{{ }}` does anyway.
- text: `{{ paint(x, style) }}` for colour; never write escape sequences yourself.
- HTML: links only `{% if url is web_url %}<a href="{{ url }}">`.
- Build strings from plain values, then output them: `{{ a ~ b }}` with `a` already
  Markup (a `paint`, `md` or macro result) HTML-escapes the plain part (Jinja2's
  autoescaping), which is wrong in text and Markdown.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

FORMAT_BY_SUFFIX = {".txt.j2": "text", ".md.j2": "markdown", ".html.j2": "html"}

# Characters that are invisible or act on the display instead of being shown:
# control characters (Cc), format characters (Cf: bidi embeddings, overrides,
# isolates and marks, zero-width space/joiners, word joiner, BOM, ...), line and
# paragraph separators (Zl, Zp) and lone surrogates (Cs).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


_CANDIDATE = re.compile(r"[^\x20-\x7e]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def is_hidden(char: str) -> bool:
    """True for a character every format shows escaped (control, format, separator)."""
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def _visible(char: str) -> str:
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def has_hidden(text: str) -> bool:
    """True if `text` holds a character that is shown escaped."""
    if text.isascii() and text.isprintable():
        return False
    return any(is_hidden(c) for c in _CANDIDATE.findall(text))


def neutralise(value: Any, *, keep: str = "") -> str:
    """`value` as a string with every hidden character shown escaped (`\\x1b`, `\\u202e`).

    The characters in `keep` (line feed, tab) stay as they are.
    """
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        if not is_hidden(char) or char in keep:
            return char
        return _visible(char)

    return _CANDIDATE.sub(replace, text)


# --- text --------------------------------------------------------------------


def text(value: Any) -> str:
    """A value for the terminal or a text file: hidden characters shown escaped."""
    return neutralise(value)


def text_column(value: Any, width: int) -> Markup:
    """A value for a column of a text table: escaped, then padded to `width`."""
    return Markup(text(value).ljust(width))


# --- Markdown ----------------------------------------------------------------

# Every ASCII punctuation character that starts or ends Markdown syntax (CommonMark
# and GFM: emphasis, strikethrough, code, links, images, raw HTML, autolinks,
# entities, tables, headings, block quotes). `\` first, so escapes stay escapes.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&~])")
# GFM extended autolinks: `http://...`, `www....`, `user@host`.
_MD_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<=www)(\.)|(@)")
# A value at the start of a line must not open a list, a setext heading or a
# thematic break: `- `, `+ `, `= `, `1. `, `1) `.
_MD_LINE_START = re.compile(r"^([-+=])|^(\d{1,9})([.)])(?=\s|$)")


def _md_line_start(match: re.Match[str]) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return f"{match.group(2)}\\{match.group(3)}"


def markdown(value: Any) -> str:
    """A value as literal Markdown text on one line: nothing in it is syntax."""
    if isinstance(value, Markup):
        return str(value)
    joined = " ".join(("" if value is None else str(value)).split())
    escaped = _MD_SPECIAL.sub(r"\\\1", neutralise(joined))
    escaped = _MD_AUTOLINK.sub(lambda m: "\\" + m.group(), escaped)
    return _MD_LINE_START.sub(_md_line_start, escaped)


def md(value: Any) -> Markup:
    """Filter `md`: a value escaped for Markdown (also what every `{{ }}` does)."""
    return Markup(markdown(value))


def md_code(value: Any) -> Markup:
    """Filter `code`: an identifier (field path, rule id) as inline code.

    A value that a code span cannot hold literally (a backtick, a `|` that would split
    a table cell, a hidden character) is shown as escaped text instead.
    """
    if isinstance(value, Markup):
        return value
    raw = "" if value is None else str(value)
    one_line = " ".join(raw.split())
    if not one_line or "`" in one_line or "|" in one_line or has_hidden(one_line):
        return md(raw)
    return Markup(f"`{one_line}`")


def web_url(value: Any) -> bool:
    """True for an absolute http(s) URL with a host (the only links a report shows)."""
    if not isinstance(value, str) or has_hidden(value) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return value.startswith(("http://", "https://")) and bool(parts.hostname)


_URL_SAFE = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%\[\]]")


def md_url(value: Any) -> Markup:
    """Filter `url`: an http(s) URL as a Markdown autolink `<...>`; anything else as text.

    Characters an autolink cannot hold (`<`, `>`, space, `|`, backslash, non-ASCII)
    are percent-encoded.
    """
    if not web_url(value):
        return md(value)
    encoded = "".join(
        c if _URL_SAFE.fullmatch(c) else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        for c in str(value)
    )
    return Markup(f"<{encoded}>")


def md_codeblock(value: Any, info: str = "") -> Markup:
    """Filter `codeblock`: a multi-line text as a fenced code block it cannot close.

    The fence is longer than any run of backticks in the text; hidden characters
    other than line feed are shown escaped.
    """
    body = neutralise(value, keep="\n").rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    info = re.sub(r"[^A-Za-z0-9_-]", "", info)
    return Markup(f"{fence}{info}\n{body}\n{fence}")


# --- HTML --------------------------------------------------------------------


def html(value: Any) -> Any:
    """A value for HTML before autoescaping: hidden characters shown escaped.

    Tab and line feed stay (white space in HTML, meaningful in `<pre>`). The result
    is a plain string, so Jinja2's autoescaping still escapes `<>&"'`.
    """
    if isinstance(value, Markup):
        return value
    return neutralise(value, keep="\t\n")


# --- JSON --------------------------------------------------------------------


# A serialiser escapes C0 controls already; DEL and everything above ASCII may stand raw.
_JSON_CANDIDATE = re.compile(r"[^\x00-\x7e]")


def _json_visible(match: re.Match[str]) -> str:
    char = match.group()
    if not is_hidden(char) or char == "\n":
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(document: str) -> str:
    """A serialised JSON document with every hidden character written as `\\uXXXX`.

    JSON's structure is ASCII, so such a character can only stand inside a string,
    where the escape means the same character: the parsed value is unchanged.
    """
    return _JSON_CANDIDATE.sub(_json_visible, document)


# --- the hook the environment applies to every `{{ ... }}` ---------------------

_BY_FORMAT = {"text": text, "markdown": markdown, "html": html}


@functools.cache
def format_of(template_name: str | None) -> str:
    """The output format of a template, from its file name (unknown: text, the strictest)."""
    for suffix, fmt in FORMAT_BY_SUFFIX.items():
        if template_name and template_name.endswith(suffix):
            return fmt
    return "text"


def finalize(fmt: str, value: Any) -> Any:
    """What `{{ value }}` writes in a template of format `fmt`."""
    if isinstance(value, Markup):
        return value
    if fmt == "html":
        return html(value)  # autoescaping follows
    return Markup(_BY_FORMAT[fmt](value))
