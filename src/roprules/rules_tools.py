"""The `roprules rules …` commands: lint, coverage and docs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from roprules.authoring.coverage import coverage, format_text
from roprules.authoring.lint import lint
from roprules.contract.documents import decode, file_error, read_bytes
from roprules.rulebase.ruleset import load_ruleset

EXIT_OK, EXIT_PROBLEMS = 0, 2


def run_rules_command(args: argparse.Namespace) -> int:
    ruleset = load_ruleset(args.rules, args.overlay)
    if args.rules_command == "lint":
        if args.source is not None:
            # A regular UTF-8 text file (a binary file or a FIFO is refused, exit 2).
            decode(read_bytes(args.source, max_bytes=64 * 1024 * 1024), str(args.source))
        problems = lint(ruleset, args.source, backend=args.engine)
        for problem in problems:
            print(f"roprules: lint: {problem}", file=sys.stderr)
        if problems:
            print(f"{len(problems)} problem(s) in {len(ruleset.rules)} rules", file=sys.stderr)
            return EXIT_PROBLEMS
        checked = (
            "quotes, examples, conditions, texts"
            if args.source
            else "examples, conditions, texts (quotes not checked: no --source)"
        )
        print(f"{len(ruleset.rules)} rules OK ({checked}); sha256 {ruleset.sha256}")
        return EXIT_OK
    if args.rules_command == "coverage":
        profiles = args.profiles or Path("profiles")
        if args.profiles is not None and not args.profiles.is_dir():
            reason = "no such directory" if not args.profiles.exists() else "not a directory"
            raise file_error(str(args.profiles), "bad_file", reason)
        result = coverage(ruleset, profiles, backend=args.engine)
        if args.format == "json":
            print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        else:
            sys.stdout.write(format_text(result))
        return EXIT_OK
    from roprules.report.handbook import write_handbook

    written = write_handbook(ruleset, args.format, args.lang, args.out)
    for path in written:
        print(path)
    return EXIT_OK
