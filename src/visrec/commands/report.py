"""``visrec report``: the HTML report of a saved ``visrec evaluate --json`` result."""

from __future__ import annotations

import argparse
from typing import Any

from visrec.commands._common import (
    check_output_file,
    check_outputs_distinct,
    survives_closed_stdout,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_no_bar_args
from visrec.errors import VisrecError

EPILOG = """\
examples:
  visrec evaluate --interactions u.data --vectors v.parquet \\
      --protocol cold-items --json cold.json
  visrec report cold.json -o cold.html
  visrec report cold.json -o cold.html --title "Posters, cold start"

The report is the one `visrec evaluate --report` writes, made from the saved result
without fitting anything again: does the best model with pictures beat the best one
without, seed by seed; the table; bar plots with one dot per seed; the splits; what
validation chose; every hyperparameter. One HTML file, no scripts, no links out.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="an HTML report of a saved `visrec evaluate --json` result",
        description="Write the HTML report of a `visrec evaluate --json` result file.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("result", metavar="RESULT.json", help="a `visrec evaluate --json` file")
    p.add_argument("-o", "--output", required=True, metavar="HTML", help="the report to write")
    p.add_argument(
        "--title",
        default=None,
        help=(
            "the report's heading (default: visrec evaluate: PROTOCOL protocol on DATA, "
            "the interactions file's name when the result records it)"
        ),
    )
    add_no_bar_args(p)
    p.set_defaults(func=run)


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec.report.evaluation import read_result, write_evaluation_report

    if args.title is not None and not args.title.strip():
        raise VisrecError("--title is empty; leave it out for the default title")
    check_output_file(args.output, "-o", "HTML")
    check_outputs_distinct({"-o": args.output}, {"RESULT.json": args.result}, {"-o": "HTML"})
    result = read_result(args.result)
    write_evaluation_report(args.output, result, {"result": str(args.result)}, args.title)
    print(f"wrote {args.output}")
    return 0
