"""The text report of an assessment, written in Python instead of a Jinja2 template.

`roprules check` prints this report at every start; importing Jinja2 and compiling
the template cost ~40 ms of a ~0.35 s start (benchmarks/README.md, cold start),
the rendering itself ~1 ms. The report is built here line by line, exactly as the
former `assessment.txt.j2` wrote it (tests/test_text_report.py holds the two
byte-equal on every scope, both languages, with and without colour).

Escaping is the same as in a template: every value goes through `escape.text`
(hidden characters shown escaped); `paint` escapes, then colours. Nothing written
here bypasses it: the literal parts are the report's own punctuation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roprules.contract.messages import messages
from roprules.report.remedies import word as remedy_word
from roprules.report.render import escape

if TYPE_CHECKING:
    from roprules.contract.assessment import Assessment

_BRUKERPLAN = "resident.brukerplan."


def assessment_text(assessment: Assessment, *, color: bool = False) -> str:
    """The assessment as the terminal or a `.txt` file shows it."""
    from roprules.report.render.reports import (
        _ANSI,
        covered,
        group_questions,
        local_change_text,
        long_date,
    )

    a = assessment
    lang = a.lang
    catalogue = messages()
    esc = escape.text

    def term(group: str, key: str) -> str:
        return catalogue.term(group, key, lang)

    def paint(value: Any, style: str) -> str:
        shown = esc(value)
        if not color or style not in _ANSI:
            return shown
        return f"\x1b[{_ANSI[style]}m{shown}\x1b[0m"

    out: list[str] = []
    line = out.append

    title = {
        "placement": term("ui", "report_title"),
        "offer": term("ui", "audit_title"),
        "resident": term("ui", "resident_title"),
    }[a.scope]
    line(paint(title, "heading") + "\n")
    line(esc("=" * len(title)) + "\n")
    if a.resident_id:
        line(f"{esc(term('ui', 'resident'))}: {esc(a.resident_id)}\n")
    if a.offer_id:
        kind = ""
        if a.offer_type:
            kind = ", " + esc(catalogue.value_label("offer.type", a.offer_type, lang))
        line(
            f"{esc(term('ui', 'offer'))}: {esc(a.offer_name or a.offer_id)} "
            f"({esc(a.offer_id)}{kind})\n"
        )
    if a.created_at:
        line(f"{esc(term('ui', 'date'))}: {esc(a.created_at.date().isoformat())}\n")
    if a.as_of:
        line(f"{esc(term('ui', 'as_of'))}: {esc(long_date(a.as_of, lang))}\n")
    ruleset = a.ruleset
    line(
        f"{esc(term('ui', 'ruleset'))}: {esc(ruleset.name)} {esc(ruleset.version)} "
        f"(sha256 {esc(ruleset.sha256[:12])})"
    )
    if ruleset.overlay:
        line(
            f"; {esc(term('ui', 'overlay'))}: {esc(ruleset.overlay.name)} "
            f"(sha256 {esc(ruleset.overlay.sha256[:12])})"
        )
    line("\n")
    if ruleset.law_as_of:
        line(f"{esc(term('ui', 'law_as_of'))} {esc(long_date(ruleset.law_as_of, lang))}.\n")
    line("\n")
    verdict = a.verdict_summary or term("verdict", a.verdict).capitalize()
    line(f"{esc(term('ui', 'verdict'))}: {paint(verdict, a.verdict)}\n")
    meaning = "offer_verdict_meaning" if a.scope == "offer" else "verdict_meaning"
    line(esc(term(meaning, a.verdict)) + "\n")
    if a.verdict_remedy and a.verdict != "suitable":
        line("\n")
        line(paint(remedy_word("heading", lang), "heading") + "\n")
        line(f"  {esc(a.verdict_remedy.text)}\n")
        for f in a.findings:
            if f.remedies is None or f.superseded_by:
                continue
            remedy = f.remedies[0].text if f.remedies else remedy_word("none", lang)
            line(f"  - {esc(f.title)}: {esc(remedy)}\n")
    if a.notices:
        line("\n")
        line(paint(term("ui", "notices"), "heading") + "\n")
        for notice in a.notices:
            line(f"  ! {esc(notice.message)}\n")
    line("\n")

    heading = f"{term('ui', 'findings')} ({len(a.findings)})"
    line(paint(heading, "heading") + "\n")
    line(esc("-" * len(heading)) + "\n")
    shown = False
    for f in a.findings:
        if f.superseded_by:
            continue
        shown = True
        severity = paint(f"[{term('severity', f.severity)}]", f.severity)
        line(f"{severity} {esc(f.title)}  ({esc(f.rule_id)})\n")
        if f.local_change:
            line(f"  ({esc(local_change_text(f.local_change, lang))})\n")
        line(f"  {esc(f.explanation)}\n")
        for fact in f.facts:
            origin = ""
            if fact.derived:
                from_plan = fact.derived_from and fact.derived_from.startswith(_BRUKERPLAN)
                key = "brukerplan" if from_plan else "derived"
                origin = f" ({esc(term('value_origin', key))})"
            line(f"    - {esc(fact.label)}: {esc(fact.display)}{origin}\n")
        line(f"  {esc(term('ui', 'suggestion'))}: {esc(' '.join(f.suggestions))}\n")
        for g in covered(a.findings, f):
            line(
                f"  {esc(term('ui', 'supersedes'))}: [{esc(term('severity', g.severity))}] "
                f"{esc(g.title)} ({esc(g.rule_id)})\n"
            )
        for s in f.sources:
            if s.section:
                where = f"{esc(term('ui', 'section'))} {esc(s.section)}: «{esc(s.quote)}»"
            else:
                where = esc(s.title) + (f" <{esc(s.url)}>" if s.url else "")
            line(f"  {esc(term('ui', 'source'))}: {where}\n")
        line("\n")
    if not shown:
        line(esc(term("ui", "no_findings")) + "\n\n")

    heading = f"{term('ui', 'missing')} ({len(a.missing)})"
    line(paint(heading, "heading") + "\n")
    line(esc("-" * len(heading)) + "\n")
    if a.missing:
        line(esc(term("open_questions", "intro")) + "\n\n")
    asked = "offer_asked_of" if a.scope == "offer" else "asked_of"
    groups = group_questions(a.missing)
    for who, questions in groups:
        line(paint(f"{term(asked, who)} ({len(questions)})", "heading") + "\n")
        line(f"  {esc(term(asked + '_meaning', who))}\n")
        for q in questions:
            line(f"[ ] {esc(q.question)}\n")
            if q.could_change_verdict:
                could = "* " + term("open_questions", "could_change").capitalize()
                line(f"    {paint(could, 'major')}\n")
            decides = "; ".join(q.decides or q.rules)
            line(f"    {esc(term('open_questions', 'decides'))}: {esc(decides)}\n")
            severity = paint(term("severity", q.severity), q.severity)
            line(f"    ({esc(q.field)}; {severity})\n")
        line("\n")
    if not groups:
        line(esc(term("ui", "no_missing")) + "\n\n")
    line(esc(term("ui", "disclaimer")) + "\n")
    return "".join(out)
