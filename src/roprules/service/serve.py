"""`roprules serve`: the command's options and its start-up checks.

Only argparse is imported at module level, so registering the command costs the
CLI nothing; FastAPI and uvicorn are imported when the service starts. Bad
configuration (rules, overlay, offer register, token file, a public address
without authentication) is refused before listening: exit 2 with a message.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2
CONFIG_ENV = "ROPRULES_SERVE_CONFIG"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 10.0


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the HTTP service (OpenAPI, CDS Hooks)")
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
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser calls from this origin (repeatable; default: CORS off)",
    )


class ServeError(Exception):
    pass


def _config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "rules": str(args.rules) if args.rules else None,
        "overlay": str(args.overlay) if args.overlay else None,
        "offers": str(args.offers) if args.offers else None,
        "token_file": str(args.token_file) if args.token_file else None,
        "max_body": args.max_body,
        "timeout": args.timeout,
        "cors": list(args.cors_origin),
        # The global `--engine auto|durable|evaluator`, where the CLI has it.
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
    options: dict[str, Any] = {}
    if config.get("engine") and "backend" in inspect.signature(Engine.load).parameters:
        options["backend"] = config["engine"]
    engine = Engine.load(config.get("rules"), config.get("overlay"), **options)
    # One assessment before listening: the first request then costs what the others do.
    engine.check({"id": "warm-up", "age": 40}, {"id": "warm-up", "type": "ordinary"})
    return create_app(
        engine,
        offers_dir=config.get("offers"),
        token_digests=digests,
        max_body=config["max_body"],
        timeout=config["timeout"],
        cors_origins=config.get("cors") or (),
    )


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
