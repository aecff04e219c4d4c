"""The command line: a thin layer over the Python API and the renderers.

Exit codes: 0 when an assessment (or other output) was produced, whatever the
verdict; 2 on bad input or a bad ruleset (a clear message, no traceback,
nothing written); 3 when the engine failed (no partial result).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from roprules.api import Engine
from roprules.documents import InputError
from roprules.engine import EngineError
from roprules.intake import load_offer, load_resident, profile_files
from roprules.plain import why_undetermined
from roprules.profiles import profile_to_facts
from roprules.render import render_assessment, render_matrix, render_ranking
from roprules.ruleset import RulesetError, load_ruleset

EXIT_OK, EXIT_BAD_INPUT, EXIT_ENGINE = 0, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with the message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"roprules: error: {message}\n")


def _output_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    parser.add_argument("--format", choices=formats, default="text", help="output format")
    parser.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")


def _rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, help="rules directory (default: shipped rules)")
    parser.add_argument("--overlay", type=Path, help="municipality overlay file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="roprules",
        description="Decision support for housing people with co-occurring substance-use "
        "and mental disorders (SINTEF 2020).",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print package, ruleset and engine backend"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    report_formats = ("text", "json", "markdown", "html")

    check = commands.add_parser("check", help="assess a proposed placement")
    check.add_argument("--resident", required=True, type=Path)
    check.add_argument("--offer", required=True, type=Path)
    _output_options(check, report_formats)
    _rules_options(check)

    audit = commands.add_parser("audit", help="audit an offer on its own")
    audit.add_argument("--offer", required=True, type=Path)
    _output_options(audit, report_formats)
    _rules_options(audit)

    resident = commands.add_parser("resident", help="check a resident profile on its own")
    resident.add_argument("--resident", required=True, type=Path)
    _output_options(resident, report_formats)
    _rules_options(resident)

    rank = commands.add_parser("rank", help="rank several offers for one resident")
    rank.add_argument("--resident", required=True, type=Path)
    rank.add_argument("offers", nargs="+", type=Path, metavar="OFFER_FILE_OR_DIR")
    _output_options(rank, report_formats)
    _rules_options(rank)

    matrix = commands.add_parser(
        "matrix", help="screen every resident against every offer (verdicts, no texts)"
    )
    matrix.add_argument("--residents", nargs="+", required=True, type=Path, metavar="FILE_OR_DIR")
    matrix.add_argument("--offers", nargs="+", required=True, type=Path, metavar="FILE_OR_DIR")
    matrix.add_argument("--format", choices=("text", "json"), default="text")
    matrix.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")
    matrix.add_argument("--out", type=Path, help="write to this file instead of stdout")
    _rules_options(matrix)

    schema = commands.add_parser("schema", help="print the JSON Schema of a profile or an output")
    schema.add_argument("kind", choices=("resident", "offer", "assessment", "ranking", "matrix"))
    schema.add_argument("--lang", choices=("nb", "en"), default="en", help="descriptions (en)")
    template = commands.add_parser("template", help="print a blank profile to fill in (YAML)")
    template.add_argument("kind", choices=("resident", "offer"))
    template.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")
    template.add_argument("--out", type=Path, help="write to this file instead of stdout")
    docs_cmd = commands.add_parser("docs", help="generate reference documents")
    docs_sub = docs_cmd.add_subparsers(dest="docs_command", required=True, parser_class=_Parser)
    contract = docs_sub.add_parser("contract", help="every field of the contract (Markdown)")
    contract.add_argument("--out", type=Path, help="write to this file instead of stdout")
    _rules_options(contract)

    rules = commands.add_parser("rules", help="work with the rule base")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    lint = rules_commands.add_parser("lint", help="check the rule base")
    lint.add_argument("--source", type=Path, help="the report text, to verify quotes")
    _rules_options(lint)
    coverage = rules_commands.add_parser("coverage", help="what the rules cover")
    coverage.add_argument("--profiles", type=Path, help="profiles directory (default: profiles/)")
    coverage.add_argument("--format", choices=("text", "json"), default="text")
    _rules_options(coverage)
    docs = rules_commands.add_parser("docs", help="render the policy handbook")
    docs.add_argument("--format", choices=("html", "markdown"), default="html")
    docs.add_argument("--lang", choices=("nb", "en"), default="nb")
    docs.add_argument("--out", type=Path, required=True, help="output directory")
    _rules_options(docs)

    # --- roprules serve: the HTTP service (its code lives in roprules/service/) ---
    from roprules.service.serve import add_parser as add_serve_parser

    add_serve_parser(commands)
    from roprules.store.commands import add_parsers as add_store_parsers

    add_store_parsers(commands)
    return parser


class _VersionAction(argparse.Action):
    """`roprules --version`: package, ruleset (name, version, sha256) and engine backend."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from roprules.service.catalogue import version_text

        try:
            print(version_text(Engine.load()))
        except RulesetError as exc:
            parser.exit(EXIT_BAD_INPUT, f"roprules: error: {exc}\n")
        parser.exit(EXIT_OK)


def _profile_files(paths: Sequence[Path], kind: str = "offer") -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = profile_files(path)
            if not found:
                raise InputError(f"{path}: no {kind} profiles (*.yaml, *.yml, *.json) in directory")
            files.extend(found)
        else:
            files.append(path)
    return files


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror}") from None


def _color(args: argparse.Namespace) -> bool:
    return args.out is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _run(args: argparse.Namespace) -> int:
    if args.command in ("schema", "template", "docs"):
        from roprules import contract_docs

        if args.command == "schema" and args.kind in ("assessment", "ranking", "matrix"):
            from roprules.schemas import json_schema

            print(json.dumps(json_schema(args.kind), indent=2, ensure_ascii=False))
        elif args.command == "schema":
            _emit(contract_docs.schema_text(args.kind, args.lang), None)
        elif args.command == "template":
            _emit(contract_docs.profile_template(args.kind, args.lang), args.out)
        else:
            ruleset = load_ruleset(args.rules, args.overlay)
            _emit(contract_docs.contract_markdown(ruleset), args.out)
        return EXIT_OK
    if args.command in ("users", "db"):
        from roprules.store.commands import run as run_store_command

        return run_store_command(args)
    if args.command == "serve":
        from roprules.service.serve import run as run_serve

        return run_serve(args)
    if args.command == "rules":
        from roprules.rules_tools import run_rules_command

        return run_rules_command(args)
    if args.command == "matrix":
        residents = [load_resident(p) for p in _profile_files(args.residents, "resident")]
        offers = [load_offer(p) for p in _profile_files(args.offers, "offer")]
        result = Engine.load(args.rules, args.overlay).matrix(residents, offers)
        _emit(render_matrix(result, args.format, lang=args.lang), args.out)
        return EXIT_OK
    # Profiles first: bad input fails fast, before the rule base is loaded.
    resident = load_resident(args.resident) if args.command != "audit" else None
    offer = load_offer(args.offer) if args.command in ("check", "audit") else None
    offers = [load_offer(p) for p in _profile_files(args.offers)] if args.command == "rank" else []
    engine = Engine.load(args.rules, args.overlay)
    if args.command == "rank":
        ranking = engine.rank(resident, offers, lang=args.lang)
        _emit(render_ranking(ranking, args.format, lang=args.lang, color=_color(args)), args.out)
        return EXIT_OK
    if resident is not None and offer is not None:
        assessment = engine.check(resident, offer, lang=args.lang)
    elif offer is not None:
        assessment = engine.audit(offer, lang=args.lang)
    else:
        assessment = engine.assess_resident(resident, lang=args.lang)
    why = None
    if args.format in ("markdown", "html"):  # the "why not" view of undetermined rules
        facts = {**profile_to_facts("resident", resident), **profile_to_facts("offer", offer)}
        why = why_undetermined(engine.ruleset, assessment, facts)
    _emit(render_assessment(assessment, args.format, color=_color(args), why=why), args.out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (InputError, RulesetError) as exc:
        for message in exc.messages:
            print(f"roprules: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except EngineError as exc:
        print(f"roprules: engine error: {exc}", file=sys.stderr)
        return EXIT_ENGINE
    except BrokenPipeError:  # e.g. `roprules schema resident | head`
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
