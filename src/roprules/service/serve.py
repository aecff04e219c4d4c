"""`roprules serve`: the command's options and its start-up checks.

Only argparse is imported at module level, so registering the command costs the
CLI nothing; FastAPI and uvicorn are imported when the service starts. Bad
configuration (rules, overlay, offer register, token file, a public address
without authentication) is refused before listening: exit 2 with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2
CONFIG_ENV = "ROPRULES_SERVE_CONFIG"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 10.0
DEFAULT_DB = "sqlite:///roprules.db"


def add_parser(commands: Any) -> None:
    """`serve`; its options are added when it is chosen where the command line's
    subcommands allow it (`add_command`, cli.py), else at once."""
    help_text = "run the HTTP service (OpenAPI, CDS Hooks)"
    if hasattr(commands, "add_command"):
        commands.add_command("serve", _serve_options, help=help_text)
    else:
        _serve_options(commands.add_parser("serve", help=help_text))


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    serve.add_argument("--rules", type=Path, help="rules directory (default: shipped rules)")
    serve.add_argument("--overlay", type=Path, help="municipality overlay file")
    serve.add_argument("--offers", type=Path, metavar="DIR", help="offer register directory")
    serve.add_argument(
        "--token-file",
        type=Path,
        help="file of SHA-256 hex digests of accepted bearer tokens (required off loopback)",
    )
    serve.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="request body limit in bytes"
    )
    serve.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="per-request time limit, seconds"
    )
    serve.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="URL",
        help="decision store (default sqlite:///roprules.db; or postgresql+psycopg://…)",
    )
    serve.add_argument(
        "--auth",
        choices=("local", "accounts", "proxy"),
        default=None,
        help="web sign-in: local (loopback only, the default there), accounts, or proxy",
    )
    serve.add_argument("--proxy-user-header", default="X-Forwarded-User", help="with --auth proxy")
    serve.add_argument("--proxy-role-header", default="X-Forwarded-Role", help="with --auth proxy")
    serve.add_argument(
        "--session-secret-file",
        type=Path,
        help="file with the key that signs session cookies (default: next to an SQLite db)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser calls from this origin (repeatable; default: CORS off)",
    )


class ServeError(Exception):
    pass


def _config(args: argparse.Namespace) -> dict[str, Any]:
    from roprules.service.auth import is_loopback

    return {
        "rules": str(args.rules) if args.rules else None,
        "overlay": str(args.overlay) if args.overlay else None,
        "offers": str(args.offers) if args.offers else None,
        "token_file": str(args.token_file) if args.token_file else None,
        "max_body": args.max_body,
        "timeout": args.timeout,
        "cors": list(args.cors_origin),
        "db": args.db,
        "auth": args.auth or "local",
        "user_header": args.proxy_user_header,
        "role_header": args.proxy_role_header,
        "secret_file": str(args.session_secret_file) if args.session_secret_file else None,
        "secure_cookies": not is_loopback(args.host),
        # The global `--engine auto|durable|evaluator`.
        "engine": getattr(args, "engine", None),
    }


def build_app(config: dict[str, Any]) -> Any:
    """The app for a configuration; InputError, RulesetError or ServeError if it is bad."""
    from roprules.api import Engine
    from roprules.service.app import create_app
    from roprules.service.auth import TokenFileError, read_token_hashes

    digests: tuple[bytes, ...] = ()
    if config.get("token_file"):
        try:
            digests = read_token_hashes(config["token_file"])
        except TokenFileError as exc:
            raise ServeError(str(exc)) from None
    if config.get("db") and config.get("secure_cookies") and config.get("auth") == "local":
        raise ServeError(
            "refusing to serve the web app off loopback without sign-in: give --auth accounts "
            "(roprules users add …) or --auth proxy, or listen on 127.0.0.1"
        )
    engine = Engine.load(
        config.get("rules"), config.get("overlay"), backend=config.get("engine") or "auto"
    )
    # One assessment before listening: the first request then costs what the others do.
    engine.check({"id": "warm-up", "age": 40}, {"id": "warm-up", "type": "ordinary"})
    app = create_app(
        engine,
        offers_dir=config.get("offers"),
        token_digests=digests,
        max_body=config["max_body"],
        timeout=config["timeout"],
        cors_origins=config.get("cors") or (),
    )
    if config.get("db"):
        _attach_web(app, engine, config)
    return app


def _attach_web(app: Any, engine: Any, config: dict[str, Any]) -> None:
    """The web app and its decision store, on the same app (roprules.web, roprules.store)."""
    from roprules.service.app import OfferRegister
    from roprules.store import DecisionStore, StoreError
    from roprules.web import WebAuth, attach_web

    try:
        store = DecisionStore.open(config["db"])
    except StoreError as exc:
        raise ServeError(str(exc)) from None
    if config.get("offers"):  # the files seed the register; edits then live in the database
        store.offers.import_missing(
            list(OfferRegister.from_dir(config["offers"]).offers.values()), actor="import"
        )
    auth = WebAuth(config["auth"], config["user_header"], config["role_header"])
    attach_web(
        app,
        engine,
        store,
        auth=auth,
        session_secret=session_secret(config),
        secure_cookies=config["secure_cookies"],
    )


def session_secret(config: dict[str, Any]) -> str:
    """The key that signs session cookies: read from its file, made once if missing.

    Kept in a file (mode 0600) so that every worker process and a restart share it.
    """
    import secrets

    path = (
        Path(config["secret_file"]) if config.get("secret_file") else _default_secret_path(config)
    )
    try:
        if path.is_file():
            secret = path.read_text(encoding="ascii").strip()
            if len(secret) >= 32:
                return secret
            raise ServeError(f"{path}: a session secret has at least 32 characters")
        secret = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secret + "\n")
        return secret
    except (OSError, UnicodeDecodeError) as exc:
        raise ServeError(
            f"{path}: cannot read or create the session secret ({exc.strerror or exc})"
        ) from None


def _default_secret_path(config: dict[str, Any]) -> Path:
    url = str(config["db"])
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url[len("sqlite:///") :]).with_suffix(".secret")
    raise ServeError("give --session-secret-file when the store is not an SQLite file")


def app_from_env() -> Any:
    """uvicorn's factory in each worker process: the configuration comes from the parent."""
    return build_app(json.loads(os.environ[CONFIG_ENV]))


def log_config() -> dict[str, Any]:
    fmt = "%(asctime)s %(levelname)s %(name)s %(message)s"
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "roprules.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "roprules.service": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def run(args: argparse.Namespace) -> int:
    from roprules.service.auth import is_loopback

    if not is_loopback(args.host) and args.token_file is None:
        print(
            f"roprules: error: refusing to listen on {args.host} without authentication: "
            "give --token-file (SHA-256 digests of bearer tokens), or listen on 127.0.0.1",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    for name, value, low in (
        ("--port", args.port, 0),
        ("--workers", args.workers, 1),
        ("--max-body", args.max_body, 1),
    ):
        if value < low or (name == "--port" and value > 65535):
            print(f"roprules: error: {name}: out of range: {value}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if not args.timeout > 0:
        print("roprules: error: --timeout: must be more than 0 seconds", file=sys.stderr)
        return EXIT_BAD_INPUT
    config = _config(args)
    try:
        app = build_app(config)  # checked here, once, before listening
    except ServeError as exc:
        print(f"roprules: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    import uvicorn

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_config": log_config(),
        "server_header": False,
        "proxy_headers": False,
    }
    if args.workers == 1:
        uvicorn.run(app, **options)
    else:
        del app
        os.environ[CONFIG_ENV] = json.dumps(config)
        uvicorn.run(
            "roprules.service.serve:app_from_env", factory=True, workers=args.workers, **options
        )
    return EXIT_OK
