"""The web app end to end: a real `roprules serve`, a real database, Debian's Chromium.

Playwright for Python drives /usr/bin/chromium (no browser download). A team fills
in the form for the high-risk resident, picks the small house from the register,
sees «Uegnet» and the supervision finding, answers an open question, records a
decision that overrides a major finding with a reason, and finds it again after a
reload. axe-core checks the form, result, register and decision pages. Screenshots
go to test-artifacts/ (or $ROPRULES_ARTIFACTS).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import CHROMIUM, OFFERS_DIR, REPO, needs_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = Path(os.environ.get("ROPRULES_ARTIFACTS", REPO / "test-artifacts"))
UNSUPERVISED = "supervision.high-violence-risk-unsupervised"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = needs_chromium


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("serve")
    port = _free_port()
    command = [
        sys.executable, "-m", "roprules.cli", "serve", "--port", str(port),
        "--db", f"sqlite:///{work / 'roprules.db'}", "--offers", str(OFFERS_DIR),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(process.stdout.read().decode()) from None
                time.sleep(0.2)
        else:
            raise AssertionError("roprules serve did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def serious_accessibility_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_team_assesses_answers_and_records_a_decision(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/assess")
    assert serious_accessibility_problems(page) == []
    page.get_by_label("Saksreferanse").fill("R-017")
    page.locator("#f-resident-violence_risk").get_by_label("Høy", exact=True).check()
    page.locator("#f-resident-needs_round_the_clock_staff").get_by_label("Ja", exact=True).check()
    page.locator("#f-resident-service_needs_mapped").get_by_label("Nei", exact=True).check()
    page.locator("#f-resident-age").fill("34")
    page.get_by_label("Velg et tilbud fra registeret").select_option("O-aalesund-gaseid")
    shot(page, "1-form")
    page.get_by_role("button", name="Vurder", exact=True).click()

    assert page.locator(".verdict strong").inner_text() == "Uegnet"
    assert page.locator(f'[id="finding-{UNSUPERVISED}"]').is_visible()
    assert serious_accessibility_problems(page) == []
    shot(page, "2-result")

    questions = page.locator("aside.questions .question")
    before = questions.count()
    assert before > 0
    first = questions.first
    asked = first.locator("input").first.get_attribute("name")
    first.locator("input").first.check() if first.locator("input[type=radio]").count() else (
        first.locator("input").first.fill("1")
    )
    page.get_by_role("button", name="Vurder på nytt med svarene").click()
    assert page.locator(".verdict strong").inner_text() == "Uegnet"
    remaining = page.locator("aside.questions .question input").evaluate_all(
        "inputs => inputs.map(i => i.name)"
    )
    assert asked not in remaining and page.locator("aside.questions .question").count() < before
    shot(page, "3-answered")

    decision = page.locator("section.decision")
    decision.get_by_label("Tildeles ikke").check()
    decision.get_by_label("Boligkontoret").check()
    decision.get_by_label("Kommunens tjeneste for psykisk helse og rus").check()
    major = decision.locator("fieldset.stance", has=page.locator(".badge.sev-major")).first
    major.get_by_label("Overstyrer").check()
    major.get_by_label("Begrunnelse").fill("Kartlegging er bestilt og avtalt før innflytting.")
    decision.get_by_role("button", name="Registrer vedtaket").click()

    page.wait_for_url("**/cases/R-017*")
    page.reload()
    assert "Tildeles ikke" in page.content()
    assert "Kartlegging er bestilt og avtalt før innflytting." in page.content()
    shot(page, "4-case")
    page.locator("ol.records a").first.click()
    assert page.locator("h1").inner_text().startswith("Vedtak")
    assert serious_accessibility_problems(page) == []
    shot(page, "5-decision")

    page.goto(f"{server}/offers")
    assert serious_accessibility_problems(page) == []
    page.locator('a[href="/offers/O-aalesund-gaseid/review"]').click()
    assert serious_accessibility_problems(page) == []
    shot(page, "6-register-review")
    page.close()


def test_the_form_works_with_the_keyboard_alone(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/assess")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    for _ in range(3):
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.tagName")
    assert focused in ("INPUT", "SELECT", "A", "BUTTON")
    page.close()


def test_offers_side_by_side_from_the_ranking(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/assess")
    page.get_by_label("Saksreferanse").fill("R-018")
    page.locator("#f-resident-violence_risk").get_by_label("Lav", exact=True).check()
    page.locator("#f-resident-age").fill("52")
    page.get_by_label("Velg et tilbud fra registeret").select_option("O-aalesund-gaseid")
    page.get_by_role("button", name="Vurder", exact=True).click()
    page.get_by_role("button", name="Sammenlign med tilbudene i registeret").click()
    assert serious_accessibility_problems(page) == []
    assert page.locator("table.grid tbody tr").count() == len(list(OFFERS_DIR.glob("*.yaml")))
    shot(page, "7-rank")

    chooser = page.locator("form.compare-chooser")
    for box in chooser.locator("input[type=checkbox]").all():
        box.uncheck()
    chooser.get_by_label("Småhus på Gåseid").check()
    chooser.get_by_label("Kommunal utleieleilighet i ordinært nabolag").check()
    chooser.get_by_label("Bofellesskapet i Idrettsveien").check()
    chooser.get_by_role("button", name="Vis side om side").click()

    table = page.locator("table.compare")
    assert table.locator("thead th[scope=col]").count() == 4  # the rules' column + 3 offers
    assert table.locator("tbody tr").first.locator("th").inner_text() == "Konklusjon"
    assert serious_accessibility_problems(page) == []
    shot(page, "8-compare")

    # One offer alone is refused, with the error linked to the chooser.
    chooser = page.locator("form.compare-chooser")
    for box in chooser.locator("input[type=checkbox]").all():
        box.uncheck()
    chooser.get_by_label("Småhus på Gåseid").check()
    chooser.get_by_role("button", name="Vis side om side").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible() and summary.locator('a[href="#f-compare"]').count() == 1
    assert serious_accessibility_problems(page) == []
    page.close()
