"""Rule texts and the message catalogue follow the language guide (language.md).

Every text a reader sees — a rule's title, explanation and suggestion (each
per-value variant too), in bokmål and English, and every text of the message
catalogue (field labels, value labels, questions, terms, notices) — is checked
for the words the guide forbids about people, outside a quote, and for Jinja
control blocks. The forbidden list is held against language.md itself, so a
term added to the guide without a pattern here fails the suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import yaml

from conftest import REPO, SPEC_DIR, shared_engine
from roprules.contract.rule_schema import ByValue, Localized
from roprules.rulebase.ruleset import example_as_of, example_profiles

# The terms language.md forbids (sections 1, 3 and 4), as case-insensitive
# patterns over text outside quotes. The report's own words may stand only
# inside a quote, which `outside_quotes` removes first.
FORBIDDEN: dict[str, str] = {
    # bokmål, about people (section 1)
    "rusmisbruker(e)": r"\brusmisbruker\w*",
    "narkomane": r"\bnarkoman\w*",
    "de tyngste": r"\bde tyngste\b",
    "ROP-ere": r"\bROP-er(?:e|ne)\b",
    "psykiatriske tilfeller": r"\bpsykiatriske? tilfell\w*",
    "tung psykiatri": r"\btunge? psykiatri\b",
    "tung rus": r"\btunge? rus\b",
    "irrasjonell(e) trafikant(er)": r"\birrasjonell\w* trafikant\w*",
    # bokmål, capacity and current names (sections 3 and 4)
    "redusert samtykkekompetanse": r"\bredusert samtykkekompetanse\b",
    "ikke samtykkekompetent": r"\bikke samtykkekompetent\b",
    "beslutningskompetanse": r"\bbeslutningskompetanse\b",
    "Fylkesmannen": r"\bfylkesmann\w*",
    # English (sections 1 and 3)
    "addicts": r"\baddicts?\b",
    "heavy users": r"\bheavy users?\b",
    "abusers": r"\b(?:substance |drug )?abusers?\b",
    "the mentally ill": r"\bthe mentally ill\b",
    "psychiatric cases": r"\bpsychiatric cases?\b",
    "reduced capacity": r"\breduced capacity\b",
    "irrational road users": r"\birrational (?:road users?|traffic\w*)\b",
    # field dumps (section 2)
    "null": r"\bnull\b",
    "ukjent: ja": r"\bukjent: ja\b",
    "unknown: true": r"\bunknown: true\b",
}
_PATTERNS = {term: re.compile(pattern, re.IGNORECASE) for term, pattern in FORBIDDEN.items()}

# A Jinja control block or comment: rule texts only substitute values (`{{ path }}`).
JINJA_BLOCK = re.compile(r"\{%|%\}|\{#|#\}")

# Quotes in the three styles the texts use: «bokmål», “English” and "straight".
_QUOTED = re.compile(r"«[^«»]*»|“[^“”]*”|\"[^\"]*\"")


def outside_quotes(text: str) -> str:
    """The text with every quoted passage removed (quotes are exempt, language.md)."""
    return _QUOTED.sub(" ", text)


def forbidden_terms(text: str) -> list[str]:
    """The guide's forbidden terms found in `text` outside a quote."""
    bare = outside_quotes(text)
    return [term for term, pattern in _PATTERNS.items() if pattern.search(bare)]


# --- the texts ---------------------------------------------------------------


def _localized_texts(value: Localized | ByValue) -> Iterator[tuple[str, str]]:
    """(where, text) for each language of a text, and of each per-value variant."""
    if isinstance(value, ByValue):
        for case, text in value.cases.items():
            for lang in ("nb", "en"):
                yield f"cases.{case}.{lang}", getattr(text, lang)
        for lang in ("nb", "en"):
            yield f"default.{lang}", getattr(value.default, lang)
    else:
        for lang in ("nb", "en"):
            yield lang, getattr(value, lang)


def rule_texts() -> list[tuple[str, str]]:
    texts = []
    for rule in shared_engine().ruleset.rules:
        for part in ("title", "explanation", "suggestion"):
            for where, text in _localized_texts(getattr(rule.spec, part)):
                texts.append((f"{rule.id}: {part}.{where}", text))
    return texts


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")


def catalogue_texts() -> list[tuple[str, str]]:
    """Every string of the message catalogue files (labels, values, questions, terms)."""
    texts = []
    folder = resources.files("roprules").joinpath("messages")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            texts.extend(_strings(data, entry.name))
    return texts


RULE_TEXTS = rule_texts()
CATALOGUE_TEXTS = catalogue_texts()


# --- the checks ----------------------------------------------------------------


def test_every_rule_text_is_collected():
    rules = shared_engine().ruleset.rules
    # title, explanation and suggestion in two languages at least, for every rule
    assert len(RULE_TEXTS) >= 6 * len(rules)
    assert len(CATALOGUE_TEXTS) > 100


@pytest.mark.parametrize(("where", "text"), RULE_TEXTS, ids=[w for w, _ in RULE_TEXTS])
def test_rule_text_has_no_forbidden_term(where, text):
    assert forbidden_terms(text) == [], f"{where}: {text!r}"


@pytest.mark.parametrize(("where", "text"), RULE_TEXTS, ids=[w for w, _ in RULE_TEXTS])
def test_rule_text_has_no_jinja_block(where, text):
    assert not JINJA_BLOCK.search(text), f"{where}: a Jinja control block in {text!r}"


@pytest.mark.parametrize(("where", "text"), CATALOGUE_TEXTS, ids=[w for w, _ in CATALOGUE_TEXTS])
def test_catalogue_text_has_no_forbidden_term(where, text):
    assert forbidden_terms(text) == [], f"{where}: {text!r}"


@pytest.mark.parametrize(("where", "text"), CATALOGUE_TEXTS, ids=[w for w, _ in CATALOGUE_TEXTS])
def test_catalogue_text_has_no_jinja_block(where, text):
    assert not JINJA_BLOCK.search(text), f"{where}: a Jinja control block in {text!r}"


# --- the checker itself ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Tunge rusmisbrukere bor allerede i klyngen.",
        "Beboeren har tung psykiatri og tung rus.",
        "Beboeren har redusert samtykkekompetanse.",
        "Rusede beboere er irrasjonelle trafikanter; boligen er uegnet.",
        "Ta kontakt med Fylkesmannen.",
        "ROP-ere trenger ro.",
        "Heavy users already live in the cluster.",
        "The resident is a psychiatric case with heavy substance abuse.",
        "The resident has reduced capacity.",
        "violence_risk er registrert med high: ja. ukjent: ja",
        "Beboeren er tung rus.",
    ],
)
def test_the_guides_bad_examples_are_caught(text):
    assert forbidden_terms(text)


@pytest.mark.parametrize(
    "text",
    [
        "To av dem som bor i klyngen i dag, har omfattende rusmiddelbruk.",
        "Beboeren har en alvorlig psykisk lidelse og omfattende rusmiddelbruk.",
        "Beboeren mangler samtykkekompetanse til å ta stilling til medisineringen.",
        "Snarveien over jernbanen er farlig, særlig for den som er ruset.",
        "Statsforvalteren kan veilede om regelverket for tvang.",
        "Rapporten kaller dette «tung rus» (§5.1).",
        'The report says "Rusede personer kan være irrasjonelle trafikanter" (§5.3).',
        "Personer med ROP-lidelser har stort sett de samme boligpreferansene.",
        "The resident lacks capacity to decide about treatment.",
        "Beboeren har en ruslidelse og bruker rusmidler.",
    ],
)
def test_the_guides_good_examples_pass(text):
    assert forbidden_terms(text) == []


def test_a_jinja_block_is_caught():
    assert JINJA_BLOCK.search("Tekst{% if resident.x %} mer{% endif %}.")
    assert not JINJA_BLOCK.search("Tilbudet har {{ offer.staffing }}.")


# The guide, beside the repository (or beside the folder of a git worktree).
LANGUAGE_MD = next(
    (
        folder / "language.md"
        for folder in (SPEC_DIR, REPO.parent.parent / "shared" / "spec")
        if (folder / "language.md").exists()
    ),
    SPEC_DIR / "language.md",
)


def _guide_terms() -> list[str]:
    """The terms language.md lists after «Never» or as usable «only in a quote»."""
    text = LANGUAGE_MD.read_text(encoding="utf-8")
    bullets = re.split(r"\n(?=- |#)", text)
    terms: list[str] = []
    for bullet in bullets:
        flat = " ".join(bullet.split())
        for marker in ("Never:", "Never «", "Never call", "only in a quote"):
            if marker not in flat:
                continue
            tail = flat[flat.index(marker) :] if marker != "only in a quote" else flat
            tail = tail.split(". ")[0] if marker == "Never call" else tail
            if marker == "only in a quote":
                tail = flat.split("Use them only")[0]
            elif marker == "Never «":
                tail = tail.split(" as a status")[0]
            elif marker == "Never:":
                tail = tail.split(" (Rule ids")[0]
            terms += re.findall(r"«([^»]+)»|“([^”]+)”", tail)
            break
    found = [a or b for a, b in terms]
    return [term for term in found if term]


def test_the_list_covers_every_term_the_guide_forbids():
    guide = _guide_terms()
    assert len(guide) >= 14, guide
    missed = [term for term in guide if not forbidden_terms(term)]
    assert missed == [], f"language.md forbids terms this test does not catch: {missed}"


# --- rendered texts (language.md, section 2) ------------------------------------

# A code where a word belongs: an enum value or field name (snake_case), or an
# unknown value shown as such. Rule ids and parameters are codes for integrators.
_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\bukjent\b|\bunknown\b|\bnull\b|\bNone\b|\bTrue\b")


def _fired_texts() -> list[tuple[str, str]]:
    engine = shared_engine()
    texts = []
    for rule in engine.ruleset.rules:
        for index, case in enumerate(rule.spec.examples.fires):
            resident, offer = example_profiles(case)
            as_of = example_as_of(case, engine.ruleset.law_as_of)
            for lang in ("nb", "en"):
                if rule.scope == "placement":
                    assessment = engine.check(resident, offer, lang=lang, as_of=as_of)
                elif rule.scope == "offer":
                    assessment = engine.audit(offer, lang=lang, as_of=as_of)
                else:
                    assessment = engine.assess_resident(resident, lang=lang, as_of=as_of)
                for finding in assessment.findings:
                    if finding.rule_id == rule.id:
                        for text in (finding.title, finding.explanation, *finding.suggestions):
                            texts.append((f"{rule.id}: fires[{index}].{lang}", text))
    return texts


def test_fired_texts_name_facts_in_words():
    texts = _fired_texts()
    assert len(texts) >= 6 * len(shared_engine().ruleset.rules)
    coded = [(where, text) for where, text in texts if _CODE.search(outside_quotes(text))]
    assert coded == [], "texts that show codes or unknown values instead of words"
