"""`roprules users add`, `roprules db upgrade|downgrade` and `roprules decisions pdf|html`.

Accounts, the schema, and a stored decision as a document: the same document as
the web app's decision page (`/decisions/<id>`), for the case file; HTML always,
PDF where the optional WeasyPrint extra is installed (`pip install 'roprules[pdf]'`);
where it is not, exit 2 saying what is missing. The parsers import nothing heavy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2
DEFAULT_DB = "sqlite:///roprules.db"


def add_parsers(commands: Any) -> None:
    """`users`, `db` and `decisions`; their options are added when one is chosen where the
    command line's subcommands allow it (`add_command`, cli.py), else at once."""
    for name, fill, help_text in (
        ("users", _users_options, "web app accounts"),
        ("db", _db_options, "the decision store's schema"),
        ("decisions", _decisions_options, "a recorded decision as a document"),
    ):
        if hasattr(commands, "add_command"):
            commands.add_command(name, fill, help=help_text)
        else:
            fill(commands.add_parser(name, help=help_text))


def _users_options(users: argparse.ArgumentParser) -> None:
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add an account (the password is asked for)")
    add.add_argument("username")
    add.add_argument("--role", choices=("reader", "member", "admin"), required=True)
    add.add_argument("--db", default=DEFAULT_DB, metavar="URL")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )


def _db_options(db: argparse.ArgumentParser) -> None:
    db_sub = db.add_subparsers(dest="db_command", required=True)
    for name in ("upgrade", "downgrade"):
        step = db_sub.add_parser(name, help=f"migrate the schema ({name})")
        step.add_argument("revision", nargs="?", default="head" if name == "upgrade" else "-1")
        step.add_argument("--db", default=DEFAULT_DB, metavar="URL")


def _decisions_options(decisions: argparse.ArgumentParser) -> None:
    documents = decisions.add_subparsers(dest="decisions_command", required=True)
    for name, what in (("pdf", "as PDF (needs the pdf extra)"), ("html", "as one HTML file")):
        document = documents.add_parser(name, help=f"the decision document {what}")
        document.add_argument("record_id", metavar="RECORD_ID")
        document.add_argument("--out", type=Path, required=True, metavar="FILE")
        document.add_argument("--db", default=DEFAULT_DB, metavar="URL")
        document.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")


def _fail(message: str) -> int:
    print(f"roprules: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_decisions(args: argparse.Namespace) -> int:
    """`roprules decisions pdf|html RECORD_ID --out FILE`: the decision document."""
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
        return _fail(type(exc).__name__)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.command == "decisions":
        return run_decisions(args)
    from roprules.store import DecisionStore, StoreError
    from roprules.store.accounts import AccountError
    from roprules.store.repository import migrate

    try:
        if args.command == "db":
            migrate(args.db, args.revision, down=args.db_command == "downgrade")
            return EXIT_OK
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            import getpass  # here: only `users add` asks (it imports termios)

            password = getpass.getpass("Passord: ")
        with DecisionStore.open(args.db) as store:
            store.users.add(args.username, password, args.role, actor="cli")
    except (AccountError, StoreError) as exc:
        print(f"roprules: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # alembic and the driver raise their own kinds
        print(f"roprules: error: {type(exc).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK
