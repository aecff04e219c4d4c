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
from datetime import date
from pathlib import Path

from roprules.api import Engine, assessment_date
from roprules.assess import assessment_facts
from roprules.documents import InputError
from roprules.engine import EngineError
from roprules.intake import check_dates, load_offer, load_resident, profile_files
from roprules.plain import why_undetermined
from roprules.profiles import PROFILE_MODELS
from roprules.render import render_assessment, render_matrix, render_ranking
from roprules.ruleset import RulesetError

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


def _as_of(text: str) -> date:
    try:
        return assessment_date(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD; got {text[:20]!r}") from None


def _as_of_option(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """`--as-of` before the command (global) or after it; the later one wins."""
    parser.add_argument(
        "--as-of",
        type=_as_of,
        # A command's own default must not hide a global --as-of given before it.
        default=None if top else argparse.SUPPRESS,
        metavar="YYYY-MM-DD",
        help="the assessment date every date rule is measured from (default: today)",
    )


def _rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, help="rules directory (default: shipped rules)")
    parser.add_argument("--overlay", type=Path, help="municipality overlay file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="roprules",
        description="Decision support for housing people with co-occurring substance-use "
        "and mental disorders (SINTEF 2020).",
    )
    _as_of_option(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    report_formats = ("text", "json", "markdown", "html")

    check = commands.add_parser("check", help="assess a proposed placement")
    check.add_argument("--resident", required=True, type=Path)
    check.add_argument("--offer", required=True, type=Path)
    _output_options(check, report_formats)
    _rules_options(check)
    _as_of_option(check)

    audit = commands.add_parser("audit", help="audit an offer on its own")
    audit.add_argument("--offer", required=True, type=Path)
    _output_options(audit, report_formats)
    _rules_options(audit)
    _as_of_option(audit)

    resident = commands.add_parser("resident", help="check a resident profile on its own")
    resident.add_argument("--resident", required=True, type=Path)
    _output_options(resident, report_formats)
    _rules_options(resident)
    _as_of_option(resident)

    rank = commands.add_parser("rank", help="rank several offers for one resident")
    rank.add_argument("--resident", required=True, type=Path)
    rank.add_argument("offers", nargs="+", type=Path, metavar="OFFER_FILE_OR_DIR")
    _output_options(rank, report_formats)
    _rules_options(rank)
    _as_of_option(rank)

    matrix = commands.add_parser(
        "matrix", help="screen every resident against every offer (verdicts, no texts)"
    )
    matrix.add_argument("--residents", nargs="+", required=True, type=Path, metavar="FILE_OR_DIR")
    matrix.add_argument("--offers", nargs="+", required=True, type=Path, metavar="FILE_OR_DIR")
    matrix.add_argument("--format", choices=("text", "json"), default="text")
    matrix.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")
    matrix.add_argument("--out", type=Path, help="write to this file instead of stdout")
    _rules_options(matrix)
    _as_of_option(matrix)

    schema = commands.add_parser("schema", help="print the JSON Schema of a profile")
    schema.add_argument("kind", choices=("resident", "offer"))

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
    return parser


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
    if args.command == "schema":
        model = PROFILE_MODELS[args.kind]
        print(json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.command == "rules":
        from roprules.rules_tools import run_rules_command

        return run_rules_command(args)
    as_of = assessment_date(args.as_of)
    if args.command == "matrix":
        residents = [
            check_dates(load_resident(p), as_of, str(p))
            for p in _profile_files(args.residents, "resident")
        ]
        offers = [
            check_dates(load_offer(p), as_of, str(p)) for p in _profile_files(args.offers, "offer")
        ]
        result = Engine.load(args.rules, args.overlay).matrix(residents, offers, as_of=as_of)
        _emit(render_matrix(result, args.format, lang=args.lang), args.out)
        return EXIT_OK
    # Profiles first: bad input fails fast, before the rule base is loaded.
    resident = offer = None
    if args.command != "audit":
        resident = check_dates(load_resident(args.resident), as_of, str(args.resident))
    if args.command in ("check", "audit"):
        offer = check_dates(load_offer(args.offer), as_of, str(args.offer))
    offers = (
        [check_dates(load_offer(p), as_of, str(p)) for p in _profile_files(args.offers)]
        if args.command == "rank"
        else []
    )
    engine = Engine.load(args.rules, args.overlay)
    if args.command == "rank":
        ranking = engine.rank(resident, offers, lang=args.lang, as_of=as_of)
        _emit(render_ranking(ranking, args.format, lang=args.lang, color=_color(args)), args.out)
        return EXIT_OK
    if resident is not None and offer is not None:
        assessment = engine.check(resident, offer, lang=args.lang, as_of=as_of)
    elif offer is not None:
        assessment = engine.audit(offer, lang=args.lang, as_of=as_of)
    else:
        assessment = engine.assess_resident(resident, lang=args.lang, as_of=as_of)
    why = None
    if args.format in ("markdown", "html"):  # the "why not" view of undetermined rules
        facts = assessment_facts(resident, offer, as_of)
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
