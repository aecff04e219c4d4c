"""The printable decision document as PDF, through WeasyPrint, when it is installed.

WeasyPrint is an optional extra (`pip install 'roprules[pdf]'`) and needs Pango
from the system (Debian: `apt-get install libpango-1.0-0 libpangoft2-1.0-0`).
Where either is missing, `unavailable()` says which, the web app hides the PDF
link and the PDF route answers 501 with that message; nothing else changes.

The HTML given is the decision page itself, with its stylesheet inlined: WeasyPrint
lays it out for print (the stylesheet's `@media print` part), fetches nothing, and
writes a tagged PDF (PDF/UA-1) in the page's language.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

INSTALL_HINT = "pip install 'roprules[pdf]'"
SYSTEM_HINT = "apt-get install libpango-1.0-0 libpangoft2-1.0-0"


class PdfUnavailable(RuntimeError):
    """PDF output cannot be made here; the message says what is missing."""


@functools.cache
def _weasyprint() -> tuple[Any, str | None]:
    """The weasyprint module, or None and why it cannot be used."""
    try:
        import weasyprint
    except ImportError:
        return None, f"WeasyPrint is not installed ({INSTALL_HINT})"
    except OSError:  # raised when Pango and its companions cannot be loaded
        return None, f"WeasyPrint cannot load the Pango system libraries ({SYSTEM_HINT})"
    except Exception as exc:  # a broken install: say what kind, never a traceback
        return None, f"WeasyPrint could not be loaded ({type(exc).__name__})"
    # Unsupported CSS in a browser stylesheet is expected; it is not worth a warning.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return weasyprint, None


def unavailable() -> str | None:
    """None where PDF output works here; otherwise what is missing, in one sentence."""
    return _weasyprint()[1]


def _no_fetching(weasyprint: Any) -> Any:
    """A URL fetcher that refuses every URL: the document is self-contained."""
    refusal = "the decision document fetches no external resources"
    fetcher_class = getattr(getattr(weasyprint, "urls", None), "URLFetcher", None)
    if fetcher_class is not None:  # WeasyPrint 66 and later

        class _Refuse(fetcher_class):  # type: ignore[misc, valid-type]
            def fetch(self, url: str, headers: Any = None) -> Any:
                raise ValueError(refusal)

        return _Refuse()

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(refusal)

    return refuse


def html_to_pdf(html: str) -> bytes:
    """A self-contained HTML document as PDF bytes; PdfUnavailable where it cannot be made."""
    weasyprint, problem = _weasyprint()
    if problem is not None:
        raise PdfUnavailable(problem)
    document = weasyprint.HTML(string=html, url_fetcher=_no_fetching(weasyprint))
    # PDF/UA: a tagged PDF (headings, lists, tables, reading order) with the document's
    # language and title, which screen readers need; a decision letter must be readable.
    return bytes(document.write_pdf(pdf_variant="pdf/ua-1"))
