"""The command line: a thin layer over the Python API and the renderers.

Exit codes: 0 when an assessment (or other output) was produced, whatever the
verdict; 2 on bad input or a bad ruleset (a clear message, no traceback,
nothing written); 3 when the engine failed (no partial result).

Errors are printed in the language of `--lang` (bokmål by default), one line
per problem on stderr; with `--format json` the same problems are written to
stdout as one RFC 9457 problem document `{"type", "title", "status", "errors"}`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from roprules.api import COMPARE_MAX, COMPARE_MIN, Engine, assessment_date, compare_count_error
from roprules.contract.documents import (
    MAX_DOCUMENT_BYTES,
    InputError,
    decode,
    file_error,
    parse_text,
)
from roprules.contract.errors import ErrorDetail, problem_document, text
from roprules.contract.intake import check_dates, collect, load_offer, load_resident, profile_files
from roprules.contract.output import check_target, write_atomically
from roprules.contract.profiles import PROFILE_MODELS
from roprules.evaluation.backends import BACKEND_CHOICES, BackendUnavailable, EngineError
from roprules.evaluation.outcome import assessment_facts
from roprules.report.render import (
    render_assessment,
    render_compare,
    render_matrix,
    render_ranking,
)
from roprules.report.render.reports import MATRIX_FORMATS
from roprules.rulebase.ruleset import RulesetError

EXIT_OK, EXIT_BAD_INPUT, EXIT_ENGINE = 0, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with the message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"roprules: error: {message}\n")


# `--out FILE` without `--format`: the format from the file's suffix.
FORMAT_BY_SUFFIX = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
}


def _output_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    parser.add_argument(
        "--format",
        choices=formats,
        default=None,
        help="output format (default: from the --out file's suffix, else text)",
    )
    parser.set_defaults(format_choices=tuple(formats))
    parser.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")


def _as_of(text: str) -> date:
    try:
        return assessment_date(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD; got {text[:20]!r}") from None


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least 1; got {text[:20]!r}"
        )
    return int(text)


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


def _detail_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detail",
        choices=("full", "summary"),
        default="full",
        help="JSON only: full (every nested assessment) or summary (verdicts, reasons, "
        "counts and rule ids; a few KB)",
    )


def _rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, help="rules directory (default: shipped rules)")
    parser.add_argument("--overlay", type=Path, help="municipality overlay file")
    _engine_option(parser, argparse.SUPPRESS)  # also accepted after the command


ENGINE_HELP = (
    "rule engine backend: durable (durable_rules, Python 3.11/3.12), evaluator "
    "(the three-valued evaluator, every Python), auto (durable where it imports; default)"
)


def _engine_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--engine", choices=BACKEND_CHOICES, default=default, help=ENGINE_HELP)


def _contract_output(args: argparse.Namespace) -> str:
    """The text of `template` or `docs contract`."""
    from roprules.report import contract_docs
    from roprules.rulebase.ruleset import load_ruleset

    if args.command == "template":
        return contract_docs.profile_template(args.kind, args.lang)
    return contract_docs.contract_markdown(load_ruleset(args.rules, args.overlay))


def _remedies_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-remedies",
        dest="remedies",
        action="store_false",
        help="leave out what would make it suitable (the «Dette må til» block; faster)",
    )


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands, each of whose options are added when it is chosen.

    Building every command's parser (~40 options, each with its help text, and
    gettext looked up for argparse's own texts per parser) costs ~2 % of a `roprules
    check`; one command is used per run. The names and one-line helps are added at
    once (the top-level help and "invalid choice" list them), a command's options just
    before argparse parses its arguments (also for `roprules CMD --help`), so what
    is parsed, printed and refused is the same as with every parser built at once.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._fills: dict[str, Callable[[argparse.ArgumentParser], None]] = {}

    def add_command(
        self, name: str, fill: Callable[[argparse.ArgumentParser], None], **kwargs: Any
    ) -> argparse.ArgumentParser:
        parser = self.add_parser(name, **kwargs)
        self._fills[name] = fill
        return parser

    def fill_all(self) -> None:
        """Every command's options (what `build_parser` gave before they were lazy)."""
        for name in list(self._fills):
            self._fills.pop(name)(self._name_parser_map[name])

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        fill = self._fills.pop(values[0], None)
        if fill is not None:
            fill(self._name_parser_map[values[0]])
        super().__call__(parser, namespace, values, option_string)


REPORT_FORMATS = ("text", "json", "markdown", "html")


def _fill_check(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--resident", required=True, type=Path, help="resident profile file (- for stdin)"
    )
    check.add_argument("--offer", required=True, type=Path)
    _output_options(check, REPORT_FORMATS)
    _rules_options(check)
    _as_of_option(check)
    _remedies_option(check)


def _fill_audit(audit: argparse.ArgumentParser) -> None:
    audit.add_argument("--offer", required=True, type=Path)
    _output_options(audit, REPORT_FORMATS)
    _rules_options(audit)
    _as_of_option(audit)
    _remedies_option(audit)


def _fill_resident(resident: argparse.ArgumentParser) -> None:
    resident.add_argument(
        "--resident", required=True, type=Path, help="resident profile file (- for stdin)"
    )
    _output_options(resident, REPORT_FORMATS)
    _rules_options(resident)
    _as_of_option(resident)


def _fill_rank(rank: argparse.ArgumentParser) -> None:
    rank.add_argument(
        "--resident", required=True, type=Path, help="resident profile file (- for stdin)"
    )
    rank.add_argument("offers", nargs="+", type=Path, metavar="OFFER_FILE_OR_DIR")
    _output_options(rank, REPORT_FORMATS)
    _detail_option(rank)
    _rules_options(rank)
    _as_of_option(rank)
    _remedies_option(rank)


def _fill_compare(compare: argparse.ArgumentParser) -> None:
    compare.add_argument(
        "--resident", required=True, type=Path, help="resident profile file (- for stdin)"
    )
    compare.add_argument("offers", nargs="+", type=Path, metavar="OFFER_FILE_OR_DIR")
    _output_options(compare, REPORT_FORMATS)
    _detail_option(compare)
    _rules_options(compare)
    _as_of_option(compare)
    _remedies_option(compare)


def _fill_matrix(matrix: argparse.ArgumentParser) -> None:
    matrix.add_argument("--residents", nargs="+", required=True, type=Path, metavar="FILE_OR_DIR")
    matrix.add_argument("--offers", nargs="+", required=True, type=Path, metavar="FILE_OR_DIR")
    matrix.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="screen in N processes, each loading the rules once (default 1)",
    )
    _output_options(matrix, MATRIX_FORMATS)
    _rules_options(matrix)
    _as_of_option(matrix)
    _remedies_option(matrix)


def _fill_schema(schema: argparse.ArgumentParser) -> None:
    """`schema --lang`, `template resident|offer` and `docs contract`, from the field registry."""
    schema.add_argument(
        "kind", choices=("resident", "offer", "assessment", "ranking", "matrix", "compare")
    )
    schema.add_argument("--lang", choices=("nb", "en"), default="en", help="descriptions (en)")


def _fill_template(template: argparse.ArgumentParser) -> None:
    template.add_argument("kind", choices=tuple(PROFILE_MODELS))
    template.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")
    template.add_argument("--out", type=Path, help="write to this file instead of stdout")


def _fill_docs(docs: argparse.ArgumentParser) -> None:
    docs_commands = docs.add_subparsers(dest="docs_command", required=True, parser_class=_Parser)
    contract = docs_commands.add_parser("contract", help="every field of the contract (Markdown)")
    contract.add_argument("--out", type=Path, help="write to this file instead of stdout")
    _rules_options(contract)


def _fill_rules(rules: argparse.ArgumentParser) -> None:
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


def _fill_import(importer: argparse.ArgumentParser) -> None:
    import_commands = importer.add_subparsers(
        dest="import_command", required=True, parser_class=_Parser
    )
    brukerplan = import_commands.add_parser(
        "brukerplan", help="one resident profile per row of a BrukerPlan CSV (id + 8 scores)"
    )
    brukerplan.add_argument("file", type=Path, metavar="FILE.csv")
    brukerplan.add_argument("--out", type=Path, required=True, help="folder for the profiles")
    brukerplan.add_argument("--lang", choices=("nb", "en"), default="nb", help="language (nb)")


def build_parser(*, every_command: bool = True) -> argparse.ArgumentParser:
    """The command line's parser. `every_command=False` (what `main` uses) adds a
    command's options only when it is chosen (`_Commands`); what is parsed is the same."""
    parser = _Parser(
        prog="roprules",
        description="Decision support for housing people with co-occurring substance-use "
        "and mental disorders (SINTEF 2020).",
    )
    _as_of_option(parser, top=True)
    _engine_option(parser, "auto")
    parser.add_argument(
        "--version", action=_VersionAction, help="print package, ruleset and engine backend"
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, action=_Commands
    )
    assert isinstance(commands, _Commands)
    commands.add_command("check", _fill_check, help="assess a proposed placement")
    commands.add_command("audit", _fill_audit, help="audit an offer on its own")
    commands.add_command("resident", _fill_resident, help="check a resident profile on its own")
    commands.add_command("rank", _fill_rank, help="rank several offers for one resident")
    commands.add_command(
        "compare", _fill_compare, help="2 to 4 offers side by side for one resident (one table)"
    )
    commands.add_command(
        "matrix",
        _fill_matrix,
        help="screen every resident against every offer (verdicts, no texts)",
    )
    commands.add_command(
        "schema", _fill_schema, help="print the JSON Schema of a profile or an output"
    )
    commands.add_command("template", _fill_template, help="print a blank profile to fill in (YAML)")
    commands.add_command("docs", _fill_docs, help="generate reference documents")
    commands.add_command("rules", _fill_rules, help="work with the rule base")
    commands.add_command("import", _fill_import, help="import profiles from another tool")

    # --- roprules serve: the HTTP service (its code lives in roprules/service/) ---
    from roprules.service.serve import add_parser as add_serve_parser

    add_serve_parser(commands)
    from roprules.store.commands import add_parsers as add_store_parsers

    add_store_parsers(commands)  # users, db, decisions
    if every_command:
        commands.fill_all()
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


def _profile_files(paths: Sequence[Path], kind: str = "offer", lang: str = "en") -> list[Path]:
    files: list[Path] = []
    errors: list[ErrorDetail] = []
    for path in paths:
        try:
            is_dir = path.is_dir()
        except OSError:  # a name too long, a symlink loop: reported when it is read
            is_dir = False
        if is_dir:
            found = profile_files(path)
            if not found:
                errors.extend(
                    file_error(str(path), "bad_file", text("no_profiles", lang, kind)).errors
                )
            files.extend(found)
        else:
            files.append(path)
    if errors:
        raise InputError(errors=errors)
    return files


STDIN, STDIN_NAME = "-", "<stdin>"


def _read_stdin(lang: str) -> Any:
    """`-`: one YAML or JSON profile from standard input, bounded like a file."""
    try:
        raw = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError, AttributeError):  # closed or not readable
        raise file_error(STDIN_NAME, "bad_file", text("cannot_read", lang, "error")) from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        message = text("too_large_read", lang, MAX_DOCUMENT_BYTES)
        raise file_error(STDIN_NAME, "too_large", message)
    document = decode(raw, STDIN_NAME, lang)
    json_format = document.lstrip().startswith("{")
    return parse_text(document, STDIN_NAME, json_format=json_format, profile=True, lang=lang)


def _load_one(loader: Callable[..., Any], path: Path, lang: str, as_of: date) -> Any:
    """A profile file (`-`: standard input), validated, with no date after the assessment date."""
    if str(path) == STDIN:
        profile = loader(_read_stdin(lang), lang=lang, label=STDIN_NAME)
        return check_dates(profile, as_of, STDIN_NAME)
    return check_dates(loader(path, lang=lang), as_of, str(path))


def _load_all(
    loader: Callable[..., Any], paths: Sequence[Path], lang: str, as_of: date
) -> list[Any]:
    return collect([lambda p=p: _load_one(loader, p, lang, as_of) for p in paths])


def _emit(output: str, out: Path | None, lang: str = "en") -> None:
    """Standard output, or the --out file written whole (see output.write_atomically)."""
    if out is None:
        sys.stdout.write(output)
        sys.stdout.flush()
        return
    write_atomically(out, output, lang=lang)


def _color(args: argparse.Namespace) -> bool:
    return args.out is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _lang_of(args: argparse.Namespace) -> str:
    lang = getattr(args, "lang", "nb")
    return lang if lang in ("nb", "en") else "nb"


def _resolve_format(args: argparse.Namespace) -> None:
    """`--format` if given; else the `--out` file's suffix if the command offers it; else text."""
    choices = getattr(args, "format_choices", None)
    if choices is None or getattr(args, "format", None) is not None:
        return
    out = getattr(args, "out", None)
    suffix = FORMAT_BY_SUFFIX.get(out.suffix.lower()) if out is not None else None
    if suffix is not None and suffix not in choices:
        # A .csv report would be text in a file that says CSV: refuse rather than guess.
        offered = ", ".join(choices)
        raise InputError(
            errors=[
                ErrorDetail(
                    field="--out",
                    code="not_allowed",
                    message=f"{args.command} cannot write {suffix}; give --format ({offered})",
                    file=str(out),
                )
            ]
        )
    args.format = suffix or "text"


def _run(args: argparse.Namespace) -> int:
    _resolve_format(args)
    lang = _lang_of(args)
    if getattr(args, "out", None) is not None and args.command not in ("rules", "import"):
        check_target(args.out, lang)  # refuse a bad --out before any work
    if args.command == "schema":
        from roprules.report import contract_docs

        if args.kind in ("assessment", "ranking", "matrix", "compare"):
            from roprules.contract.schemas import json_schema

            _emit(json.dumps(json_schema(args.kind), indent=2, ensure_ascii=False) + "\n", None)
        else:
            _emit(contract_docs.schema_text(args.kind, args.lang), None)
        return EXIT_OK
    if args.command in ("template", "docs"):
        _emit(_contract_output(args), args.out, lang)
        return EXIT_OK
    if args.command in ("users", "db", "decisions"):
        from roprules.store.commands import run as run_store_command

        return run_store_command(args)
    if args.command == "serve":
        from roprules.service.serve import run as run_serve

        return run_serve(args)
    if args.command == "import":
        from roprules.contract.brukerplan import import_csv

        written = import_csv(args.file, args.out, lang=lang)
        message = "profiler skrevet til" if lang == "nb" else "profiles written to"
        print(f"{len(written)} {message} {args.out}", file=sys.stderr)
        return EXIT_OK
    if args.command == "rules":
        from roprules.rules_tools import run_rules_command

        return run_rules_command(args)
    as_of = assessment_date(args.as_of)
    if args.command == "matrix":
        resident_files, offer_files = collect(
            [
                lambda: _profile_files(args.residents, "resident", lang),
                lambda: _profile_files(args.offers, "offer", lang),
            ]
        )
        residents, offers = collect(
            [
                lambda: _load_all(load_resident, resident_files, lang, as_of),
                lambda: _load_all(load_offer, offer_files, lang, as_of),
            ]
        )
        engine = Engine.load(args.rules, args.overlay, backend=args.engine)
        with engine:
            result = engine.matrix(
                residents,
                offers,
                lang=lang,
                as_of=as_of,
                workers=args.workers,
                remedies=args.remedies,
            )
        _emit(render_matrix(result, args.format, lang=args.lang), args.out, lang)
        return EXIT_OK
    # Profiles first: bad input fails fast, before the rule base is loaded; every
    # problem of every profile is reported at once.
    resident = offer = None
    offers: list[Any] = []
    loaders: list[Callable[[], Any]] = []
    if args.command != "audit":
        loaders.append(lambda: _load_one(load_resident, args.resident, lang, as_of))
    if args.command in ("check", "audit"):
        loaders.append(lambda: _load_one(load_offer, args.offer, lang, as_of))
    if args.command == "rank":
        loaders.append(
            lambda: _load_all(load_offer, _profile_files(args.offers, "offer", lang), lang, as_of)
        )
    if args.command == "compare":
        compared = _profile_files(args.offers, "offer", lang)
        if not COMPARE_MIN <= len(compared) <= COMPARE_MAX:
            raise InputError(errors=[compare_count_error(len(compared), lang)])
        loaders.append(lambda: _load_all(load_offer, compared, lang, as_of))
    loaded = collect(loaders)
    if args.command != "audit":
        resident = loaded.pop(0)
    if args.command in ("check", "audit"):
        offer = loaded.pop(0)
    if args.command in ("rank", "compare"):
        offers = loaded.pop(0)
    engine = Engine.load(args.rules, args.overlay, backend=args.engine)
    if args.command == "rank":
        ranking = engine.rank(resident, offers, lang=args.lang, as_of=as_of, remedies=args.remedies)
        shown = render_ranking(
            ranking, args.format, lang=args.lang, color=_color(args), detail=args.detail
        )
        _emit(shown, args.out, lang)
        return EXIT_OK
    if args.command == "compare":
        table = engine.compare(
            resident, offers, lang=args.lang, as_of=as_of, remedies=args.remedies
        )
        _emit(render_compare(table, args.format, detail=args.detail), args.out, lang)
        return EXIT_OK
    if resident is not None and offer is not None:
        assessment = engine.check(
            resident, offer, lang=args.lang, as_of=as_of, remedies=args.remedies
        )
    elif offer is not None:
        assessment = engine.audit(offer, lang=args.lang, as_of=as_of, remedies=args.remedies)
    else:
        assessment = engine.assess_resident(resident, lang=args.lang, as_of=as_of)
    why = None
    if args.format in ("markdown", "html"):  # the "why not" view of undetermined rules
        facts = assessment_facts(resident, offer, as_of)
        from roprules.report.plain import why_undetermined

        why = why_undetermined(engine.ruleset, assessment, facts)
    _emit(render_assessment(assessment, args.format, color=_color(args), why=why), args.out, lang)
    return EXIT_OK


def _report(errors: list[ErrorDetail], args: argparse.Namespace | None) -> None:
    """Bad input: a problem document on stdout (--format json) or one line per problem."""
    lang = _lang_of(args) if args is not None else "nb"
    to_stdout = getattr(args, "out", None) is None
    if args is not None and getattr(args, "format", None) == "json" and to_stdout:
        try:
            document = problem_document(errors, lang)
            try:
                shown = json.dumps(document, ensure_ascii=False, indent=2)
                shown.encode(sys.stdout.encoding or "utf-8")
            except UnicodeEncodeError:  # e.g. a file name that is not valid UTF-8
                shown = json.dumps(document, ensure_ascii=True, indent=2)
            sys.stdout.write(shown)
            sys.stdout.write("\n")
            sys.stdout.flush()
            return
        except OSError:
            pass
    prefix = text("error_prefix", lang)
    for error in errors:
        print(prefix + error.line(), file=sys.stderr)


def _silence_stdout() -> None:
    """After a failed write to stdout, make the interpreter's final flush harmless."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# A command allocates mostly objects that live until it ends (the rule base, its
# conditions and explanations, the profiles): the cyclic collector's passes over them
# free nothing and cost about a tenth of a check. While a command runs (not `serve`,
# which runs for as long as it is let), collection starts after many more allocations;
# the collector's thresholds are the process's, so they are restored when the last
# command running in it (main() may be called from several threads) ends.
_RELAXED_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def _relaxed_gc() -> Iterator[None]:
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0]:  # 0: collection is off, leave it so
                gc.set_threshold(max(_gc_saved[0], _RELAXED_GC_THRESHOLD), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved[0]:
                gc.set_threshold(*_gc_saved)


# At exit the interpreter's last collections walk every object still alive (the
# contract's models and validators, the rule base): ~4 % of a `roprules check`, to free
# nothing a finished command needs freed. A command other than `serve` moves them out
# of the collector's reach at exit (`gc.freeze`), once the atexit hooks run; until then
# collection is as usual, so a process that calls main() many times is unaffected.
_FREEZE_AT_EXIT = [False]


def _freeze_at_exit() -> None:
    if not _FREEZE_AT_EXIT[0]:
        _FREEZE_AT_EXIT[0] = True
        atexit.register(gc.freeze)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(every_command=False).parse_args(argv)
    if args.command == "serve":
        return _main(args)
    _freeze_at_exit()
    with _relaxed_gc():
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    try:
        code = _run(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except InputError as exc:
        _report(exc.errors, args)
        return EXIT_BAD_INPUT
    except (RulesetError, BackendUnavailable) as exc:
        errors = getattr(exc, "errors", None) or [
            ErrorDetail(field="", code="bad_file", message=m) for m in exc.messages
        ]
        _report(list(errors), args)
        return EXIT_BAD_INPUT
    except EngineError as exc:
        print(f"roprules: engine error: {exc}", file=sys.stderr)
        return EXIT_ENGINE
    except BrokenPipeError:  # e.g. `roprules schema resident | head`: the reader stopped
        _silence_stdout()
        return EXIT_OK
    except OSError as exc:  # e.g. stdout is /dev/full
        _silence_stdout()
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "error")
        lang = _lang_of(args)
        print(
            f"{text('error_prefix', lang)}stdout: {text('cannot_write', lang, reason)}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
