"""``malmoi compare REPORT_A REPORT_B``: what got better and worse between two HTML reports of ``malmoi test``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from malmoi.cli._common import EXIT_OK, Commands, UserError
from malmoi.outputs import check_file, marked


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("compare", help="what got better and worse between two reports of `malmoi test --report`")
    p.add_argument("report_a", help="the report before (HTML)")
    p.add_argument("report_b", help="the report after (HTML)")
    p.add_argument("--examples", type=int, default=10, help="utterances listed per kind of change (default 10)")
    p.add_argument("--json", dest="json_out", help="also write the whole comparison as JSON to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from malmoi.report import ReportError, compare, format_comparison, read_report

    if args.examples < 0:
        raise UserError("--examples must be 0 or more")
    if args.json_out:
        check_file(args.json_out, "--json")
    try:
        result = compare(read_report(args.report_a), read_report(args.report_b))
    except ReportError as exc:
        raise UserError(str(exc)) from None
    print(format_comparison(result, examples=args.examples))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(marked(result), ensure_ascii=False, indent=2), "utf-8")
    return EXIT_OK
