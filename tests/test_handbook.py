"""The policy handbook: complete, self-contained, loads in a browser."""

from __future__ import annotations

import re

import pytest

from conftest import chromium_dump, needs_chromium
from roprules.contract.rule_schema import section_key
from roprules.report.handbook import is_beyond, render_handbook, write_handbook
from roprules.rulebase.ruleset import load_ruleset


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


@pytest.fixture(scope="module", params=[("html", "nb"), ("markdown", "en"), ("html", "en")])
def handbook(request, ruleset):
    fmt, lang = request.param
    return fmt, lang, render_handbook(ruleset, fmt, lang)


def _sections(ruleset):
    return {s.section for r in ruleset.rules for s in r.spec.sources if s.section}


def test_contains_every_rule_parameter_and_section(ruleset, handbook):
    fmt, _, text = handbook
    missing = [r.id for r in ruleset.rules if r.id not in text]
    assert not missing, f"rules missing from the {fmt} handbook: {missing}"
    missing = [name for name in ruleset.parameters if name not in text]
    assert not missing, f"parameters missing from the {fmt} handbook: {missing}"
    for section in _sections(ruleset):
        if fmt == "html":
            assert f'id="section-{section}"' in text, section
        else:
            assert re.search(rf"^\| {re.escape(section)} \|", text, re.M), section


def test_section_index_is_in_natural_order(ruleset):
    text = render_handbook(ruleset, "html", "nb")
    found = re.findall(r'<tr id="section-([^"]+)">', text)
    assert found == sorted(_sections(ruleset), key=section_key)
    assert sorted(["11.2", "Sammendrag", "9", "4.1", "3.3", "10"], key=section_key) == [
        "Sammendrag",
        "3.3",
        "4.1",
        "9",
        "10",
        "11.2",
    ]


def test_beyond_rules_are_shown_apart(ruleset):
    text = render_handbook(ruleset, "html", "en")
    beyond_part = text[text.index('<section id="beyond">') : text.index('<section id="index">')]
    rules_part = text[text.index('<section id="rules">') : text.index('<section id="beyond">')]
    beyond = [r for r in ruleset.rules if is_beyond(r)]
    assert beyond
    for rule in ruleset.rules:
        anchor = f'id="{rule.id}"'
        if is_beyond(rule):
            assert anchor in beyond_part and anchor not in rules_part
        else:
            assert anchor in rules_part and anchor not in beyond_part


def test_rules_show_plain_conditions_quotes_and_examples(ruleset):
    text = render_handbook(ruleset, "html", "nb")
    assert "Utløses når beboerens voldsrisiko er høy og tilbudets bemanning på stedet" in text
    assert "Disse kan ikke plasseres i småhus eller andre botilbud uten tilsyn" in text
    assert "regelen slår til" in text and "regelen slår ikke til" in text
    # the introduction explains the four verdicts in order
    order = [
        text.index(word) for word in ("Uegnet", "Kan ikke vurderes ennå", "Egnet med forbehold")
    ]
    assert order == sorted(order)


def test_html_is_self_contained(ruleset):
    text = render_handbook(ruleset, "html", "en")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="en">' in text
    assert "@media print" in text
    assert "<script" not in text and "<link" not in text and "src=" not in text


def test_overlay_is_shown(ruleset, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        "name: Eksempel kommune 2026\n"
        "parameters:\n  max_distance_to_shop_m: 1500\n"
        "rules:\n  location.far-from-shop:\n    severity: info\n"
        "    reason: Butikken kjøres ut av hjemmetjenesten.\n"
        "    approved_by: kommunalsjef helse og omsorg\n",
        encoding="utf-8",
    )
    with_overlay = load_ruleset(overlay=overlay)
    text = render_handbook(with_overlay, "markdown", "nb")
    assert "Eksempel kommune 2026" in text
    assert "1500 (lokal verdi; standardverdi 1000)" in text
    assert (
        "`location.far-from-shop`: mindre → råd: Butikken kjøres ut av hjemmetjenesten. "
        "(godkjent av kommunalsjef helse og omsorg)"
    ) in text


def test_write_handbook_files(ruleset, tmp_path):
    assert write_handbook(ruleset, "html", "nb", tmp_path / "h") == [tmp_path / "h" / "index.html"]
    assert write_handbook(ruleset, "markdown", "en", tmp_path / "m") == [
        tmp_path / "m" / "handbook.md"
    ]
    with pytest.raises(ValueError):
        write_handbook(ruleset, "pdf", "nb", tmp_path)


@needs_chromium
def test_handbook_loads_in_chromium(ruleset, tmp_path):
    [path] = write_handbook(ruleset, "html", "nb", tmp_path / "handbook")
    result = chromium_dump(path, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    title = f"<title>Regelhåndbok – {ruleset.title.nb}</title>"
    assert title in result.stdout
    assert 'id="supervision.high-violence-risk-unsupervised"' in result.stdout


def test_rules_show_the_facts_they_read_with_their_class(ruleset):
    both = {"offer.staffing", "resident.violence_risk"}
    rule = next(r for r in ruleset.rules if both <= r.fields)
    md = render_handbook(ruleset, "markdown", "nb")
    block = md.split(f"`{rule.id}`", 1)[1].split("\n#### ", 1)[0]
    assert "**Opplysninger regelen leser:**" in block
    assert "bemanning på stedet (kan endres i tilbudet)" in block
    assert "voldsrisiko (fast opplysning)" in block
    html = render_handbook(ruleset, "html", "en")
    assert "Who can change a fact" in html
    block = html.split(f'id="{rule.id}"', 1)[1].split("</section>", 1)[0]
    assert 'staffing <span class="small">(the offer can change it)</span>' in block
