"""The words for open questions: the verdict summary and each question's entry.

`verdict_summary` states the verdict with the open questions that weigh on it:
«Egnet så langt opplysningene rekker; 7 vesentlige spørsmål er åpne.» /
"Suitable as far as the information goes; 7 major questions are open."
The numbers come from roprules.evaluation.questions; the texts from terms.yaml
(`open_questions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from roprules.contract.fields import field_registry
from roprules.contract.messages import Messages
from roprules.contract.rule_schema import SEVERITY_ORDER
from roprules.evaluation.questions import question_order
from roprules.rulebase.ruleset import Rule

# The verdicts that hold only as far as the information goes (a fired critical rule, or
# a critical rule left open, already says so itself).
_QUALIFIED = ("suitable", "conditional")
# The open questions the summary names: those that can weigh on the verdict.
_NAMED = ("critical", "major")


def verdict_summary(
    catalogue: Messages, verdict: str, open_counts: Mapping[str, int], lang: str
) -> str:
    """The verdict in one sentence with the open critical and major questions."""

    def term(key: str) -> str:
        return catalogue.term("open_questions", key, lang)

    label = catalogue.term("verdict", verdict, lang)
    label = label[:1].upper() + label[1:]
    parts = [
        term(f"{severity}_one" if open_counts[severity] == 1 else f"{severity}_many").format(
            n=open_counts[severity]
        )
        for severity in _NAMED
        if open_counts.get(severity)
    ]
    if not parts:
        return label + "."
    total = sum(open_counts.get(severity, 0) for severity in _NAMED)
    questions = f" {term('and')} ".join(parts) + " " + term("one" if total == 1 else "many")
    if verdict in _QUALIFIED:
        label += " " + term("as_far_as")
    return f"{label}; {questions}."


def missing_entries(
    waiting: Mapping[str, Sequence[Rule]],
    could_change: Mapping[str, bool] | None,
    catalogue: Messages,
    lang: str,
) -> list[dict[str, Any]]:
    """One entry per missing field, those that could change the verdict first, then by
    severity, by how many rules wait on it, and by field (`question_order`)."""
    registry = field_registry()
    entries = []
    for path, rules in waiting.items():
        ordered = sorted(rules, key=lambda r: (SEVERITY_ORDER[r.severity], r.id))
        severity = ordered[0].severity
        info = registry.get(path)
        entries.append(
            {
                "field": path,
                "rules": sorted(r.id for r in rules),
                "severity": severity,
                "question": catalogue.question(path, lang),
                "label": catalogue.field_label(path, lang),
                "could_change_verdict": None if could_change is None else could_change.get(path),
                "asked_of": info.asked_of if info else None,
                "decides": [r.spec.title.get(lang) for r in ordered],
            }
        )
    return sorted(
        entries,
        key=lambda m: question_order(
            m["could_change_verdict"], m["severity"], len(m["rules"]), m["field"]
        ),
    )
