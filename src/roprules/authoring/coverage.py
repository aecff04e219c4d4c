"""`roprules rules coverage`: what the rule base covers, and what it does not.

For each rule: how many of its worked examples fire it, and in which shipped
profiles (placements of every resident in every offer, offer audits, resident
checks) it fires. For each report section: how many rules cite it. Reviewers
see which rules are never exercised by realistic profiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from roprules.authoring.lint import example_facts
from roprules.contract.intake import load_offer, load_resident, profile_files
from roprules.contract.rule_schema import section_key
from roprules.evaluation.outcome import Evaluator, assessment_facts
from roprules.rulebase.ruleset import Ruleset


@dataclass
class RuleCoverage:
    rule_id: str
    theme: str
    severity: str
    examples_firing: int
    examples_total: int
    profile_cases: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    rules: list[RuleCoverage]
    sections: dict[str, list[str]]  # report section -> rule ids citing it
    other_sources: dict[str, list[str]]  # title -> rule ids (beyond the report)
    profile_cases: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile_cases": self.profile_cases,
            "rules": [vars(r) for r in self.rules],
            "sections": self.sections,
            "other_sources": self.other_sources,
        }


def _cases(profiles_dir: Path) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(label, scope, facts) for every shipped placement, audit and resident check."""
    residents = [load_resident(p) for p in profile_files(profiles_dir / "residents")]
    offers = [load_offer(p) for p in profile_files(profiles_dir / "offers")]
    cases: list[tuple[str, str, Mapping[str, Any]]] = []
    today = date.today()  # coverage shows where rules fire now
    for resident in residents:
        cases.append((resident.id, "resident", assessment_facts(resident, None, today)))
    for offer in offers:
        cases.append((offer.id, "offer", assessment_facts(None, offer, today)))
    for resident in residents:
        for offer in offers:
            facts = assessment_facts(resident, offer, today)
            cases.append((f"{resident.id} → {offer.id}", "placement", facts))
    return cases


def coverage(ruleset: Ruleset, profiles_dir: Path, *, backend: str = "auto") -> Coverage:
    assessor = Evaluator(ruleset, backend=backend)
    hits: dict[str, list[str]] = {rule.id: [] for rule in ruleset.rules}
    cases = _cases(profiles_dir)
    for label, scope, facts in cases:
        for rule in assessor.outcome(scope, facts).fired:
            if scope == "placement" and rule.scope != "placement":
                continue  # counted once, in its own audit or resident check
            hits[rule.id].append(label)
    rules = []
    for rule in ruleset.rules:
        examples = rule.spec.examples
        firing = sum(rule.evaluate(example_facts(case)) is True for case in examples.fires)
        total = len(examples.fires) + len(examples.silent) + len(examples.undetermined)
        rules.append(RuleCoverage(rule.id, rule.theme, rule.severity, firing, total, hits[rule.id]))
    sections: dict[str, list[str]] = {}
    others: dict[str, list[str]] = {}
    for rule in ruleset.rules:
        for source in rule.spec.sources:
            target = (
                sections.setdefault(source.section, [])
                if source.section
                else others.setdefault(source.title or "?", [])
            )
            if rule.id not in target:
                target.append(rule.id)
    ordered = {key: sections[key] for key in sorted(sections, key=section_key)}
    return Coverage(rules, ordered, others, len(cases))


def format_text(result: Coverage) -> str:
    lines = [f"Rules and where they fire ({result.profile_cases} shipped profile cases)", ""]
    for rule in result.rules:
        shown = ", ".join(rule.profile_cases[:3])
        more = f" (+{len(rule.profile_cases) - 3})" if len(rule.profile_cases) > 3 else ""
        lines.append(
            f"  {rule.rule_id:55} {rule.severity:8} examples {rule.examples_firing} firing "
            f"of {rule.examples_total}; profiles {len(rule.profile_cases):3}"
            + (f": {shown}{more}" if shown else "")
        )
    never = [r.rule_id for r in result.rules if not r.profile_cases]
    lines += ["", f"Rules that fire in no shipped profile ({len(never)}):"]
    lines += [f"  {rule_id}" for rule_id in never] or ["  (none)"]
    lines += ["", "Report sections cited, by number of rules:"]
    for section, rule_ids in result.sections.items():
        lines.append(f"  §{section:12} {len(rule_ids):3} rules")
    counts = Counter({title: len(ids) for title, ids in result.other_sources.items()})
    lines += ["", "Sources beyond the report:"]
    lines += [f"  {count:3} rules  {title}" for title, count in counts.most_common()]
    return "\n".join(lines) + "\n"
