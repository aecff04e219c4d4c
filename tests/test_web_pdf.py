"""The decision document as PDF: an optional extra (WeasyPrint), hidden where it is missing."""

from __future__ import annotations

import builtins
import io
import re
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.test_web import HIGH_RISK, assess, make_app, record_decision

from roprules.cli import main
from roprules.web import pdf

needs_weasyprint = pytest.mark.skipif(
    pdf.unavailable() is not None, reason=f"no PDF output here: {pdf.unavailable()}"
)


@pytest.fixture
def recorded(tmp_path) -> tuple[TestClient, str, str]:
    """A web client, the link to a recorded decision's document and the database URL."""
    app, db = make_app(tmp_path)
    client = TestClient(app)
    response = record_decision(client, assess(client, HIGH_RISK))
    assert response.status_code == 303
    case = client.get(response.headers["location"]).text
    return client, re.search(r'href="(/decisions/[0-9a-f-]+)"', case).group(1), db


@pytest.fixture
def document_link(recorded) -> tuple[TestClient, str]:
    client, link, _ = recorded
    return client, link


def _pdf(document: bytes) -> Any:
    pypdf = pytest.importorskip("pypdf")  # in the test extra
    return pypdf.PdfReader(io.BytesIO(document))


def _pdf_text(document: bytes) -> str:
    """The text of a PDF."""
    return "\n".join(page.extract_text() for page in _pdf(document).pages)


@needs_weasyprint
def test_the_decision_document_as_pdf(document_link):
    client, link = document_link
    page = client.get(link).text
    assert f'href="{link}/document.pdf"' in page
    response = client.get(f"{link}/document.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response.content)
    assert "R-001" in text and "Tildeles ikke" in text  # the case reference and the decision
    assert "Boligkontoret" in text
    # Tagged for screen readers (PDF/UA), in the page's language, titled by the case.
    catalog = _pdf(response.content).trailer["/Root"]
    assert "/StructTreeRoot" in catalog and catalog["/Lang"] == "nb"
    assert "R-001" in _pdf(response.content).metadata.title


def test_without_weasyprint_the_link_is_hidden_and_the_route_says_why(document_link, monkeypatch):
    client, link = document_link
    monkeypatch.setattr(pdf, "_weasyprint", lambda: (None, "WeasyPrint is not installed (x)"))
    page = client.get(link).text
    assert "document.pdf" not in page
    response = client.get(f"{link}/document.pdf")
    assert response.status_code == 501
    assert "PDF kan ikke lages på denne serveren" in response.text
    assert "WeasyPrint is not installed" in response.text
    assert "Traceback" not in response.text


def test_html_to_pdf_refuses_where_weasyprint_is_missing(monkeypatch):
    monkeypatch.setattr(pdf, "_weasyprint", lambda: (None, "missing"))
    with pytest.raises(pdf.PdfUnavailable, match="missing"):
        pdf.html_to_pdf("<p>x</p>")


def test_an_unknown_record_has_no_pdf(document_link):
    client, _ = document_link
    assert (
        client.get("/decisions/00000000-0000-0000-0000-000000000000/document.pdf").status_code
        == 404
    )


# --- the command line ------------------------------------------------------------


def test_the_decision_document_from_the_command_line(recorded, tmp_path, capsys):
    _, link, db = recorded
    record_id = link.rsplit("/", 1)[1]
    out = tmp_path / "vedtak.html"
    assert main(["decisions", "html", record_id, "--db", db, "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "R-001" in html and "<style>" in html and "/static/" not in html
    assert (out.stat().st_mode & 0o077) == 0  # health data: the owner's alone
    assert main(["decisions", "html", "no-such-id", "--db", db, "--out", str(out)]) == 2
    assert "no decision record 'no-such-id'" in capsys.readouterr().err


@needs_weasyprint
def test_the_decision_pdf_from_the_command_line(recorded, tmp_path):
    _, link, db = recorded
    out = tmp_path / "vedtak.pdf"
    assert main(["decisions", "pdf", link.rsplit("/", 1)[1], "--db", db, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert "R-001" in _pdf_text(out.read_bytes())


def test_the_pdf_command_says_what_is_missing(recorded, tmp_path, capsys, monkeypatch):
    _, link, db = recorded
    monkeypatch.setattr(pdf, "_weasyprint", lambda: (None, "WeasyPrint is not installed (x)"))
    out = tmp_path / "vedtak.pdf"
    assert main(["decisions", "pdf", link.rsplit("/", 1)[1], "--db", db, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "PDF output is not available here: WeasyPrint is not installed" in err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize(
    ("error", "named"),
    [
        (ImportError("No module named 'weasyprint'"), "pip install 'roprules[pdf]'"),
        (OSError("cannot load library 'libpango-1.0-0'"), "libpango-1.0-0 libpangoft2-1.0-0"),
    ],
)
def test_what_is_missing_is_named(monkeypatch, error, named):
    """Without the package, or with the package but without Pango: one sentence, no traceback."""
    real_import = builtins.__import__

    def failing_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    pdf._weasyprint.cache_clear()
    try:
        assert named in (pdf.unavailable() or "")
        with pytest.raises(pdf.PdfUnavailable, match="WeasyPrint"):
            pdf.html_to_pdf("<p>R-001</p>")
    finally:
        pdf._weasyprint.cache_clear()
