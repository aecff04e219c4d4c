"""`roprules users add` and `roprules db upgrade|downgrade`: accounts and the schema."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2
DEFAULT_DB = "sqlite:///roprules.db"


def add_parsers(commands: Any) -> None:
    users = commands.add_parser("users", help="web app accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add an account (the password is asked for)")
    add.add_argument("username")
    add.add_argument("--role", choices=("reader", "member", "admin"), required=True)
    add.add_argument("--db", default=DEFAULT_DB, metavar="URL")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    db = commands.add_parser("db", help="the decision store's schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    for name in ("upgrade", "downgrade"):
        step = db_sub.add_parser(name, help=f"migrate the schema ({name})")
        step.add_argument("revision", nargs="?", default="head" if name == "upgrade" else "-1")
        step.add_argument("--db", default=DEFAULT_DB, metavar="URL")


def run(args: argparse.Namespace) -> int:
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
