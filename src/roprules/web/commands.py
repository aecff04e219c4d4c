"""`roprules decisions pdf|html RECORD_ID --out FILE`: a stored decision as a document.

The same document as the web app's decision page (`/decisions/<id>`), for the
case file: HTML always, PDF where the optional WeasyPrint extra is installed
(`pip install 'roprules[pdf]'`); where it is not, exit 2 with what is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2
DEFAULT_DB = "sqlite:///roprules.db"


def add_parsers(commands: Any) -> None:
    decisions = commands.add_parser("decisions", help="a recorded decision as a document")
    sub = decisions.add_subparsers(dest="decisions_command", required=True)
    for name, what in (("pdf", "as PDF (needs the pdf extra)"), ("html", "as one HTML file")):
        document = sub.add_parser(name, help=f"the decision document {what}")
        document.add_argument("record_id", metavar="RECORD_ID")
        document.add_argument("--out", type=Path, required=True, metavar="FILE")
        document.add_argument("--db", default=DEFAULT_DB, metavar="URL")
        document.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")


def _fail(message: str) -> int:
    print(f"roprules: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args: argparse.Namespace) -> int:
    from roprules.contract.documents import InputError
    from roprules.contract.output import check_target, write_atomically
    from roprules.store import DecisionStore, StoreError
    from roprules.web import pdf
    from roprules.web.pages import decision_document_html

    if args.decisions_command == "pdf" and (problem := pdf.unavailable()) is not None:
        return _fail(f"PDF output is not available here: {problem}")
    try:
        check_target(args.out, args.lang)
        with DecisionStore.open(args.db) as store:
            record = store.get(args.record_id)
        if record is None:
            return _fail(f"{args.db}: no decision record {args.record_id!r}")
        html = decision_document_html(record, args.lang)
        data: str | bytes = pdf.html_to_pdf(html) if args.decisions_command == "pdf" else html
        write_atomically(args.out, data, lang=args.lang)
    except (InputError, StoreError, pdf.PdfUnavailable) as exc:
        return _fail(str(exc))
    except Exception as exc:  # the driver raises its own kinds: name it, no traceback
        return _fail(f"{type(exc).__name__}")
    return EXIT_OK
