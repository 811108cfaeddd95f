"""``visrec data``: inspect datasets (``visrec data summary PATH...``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from visrec.commands._common import (
    add_layout_args,
    layout_args,
    say_note,
    survives_closed_stdout,
)
from visrec.commands._help import HelpFormatter

SUMMARY_EPILOG = """\
examples:
  visrec data summary ../shared/data/amazon/AMAZON_FASHION_5.json.gz
  visrec data summary AMAZON_FASHION_5.json.gz All_Beauty_5.json.gz   # one table
  visrec data summary movielens-100k-posters/        # u.data + posters/ folder
  visrec data summary ratings.csv --json summary.json

PATH can be:
  Amazon review files (.json / .json.gz; JSON lines or pretty-printed
    objects); several of them are combined into one table, a category per file
  Amazon metadata files (meta_<Category>.json[.gz])
  an interactions table: CSV/TSV with a header such as
    user_id,item_id,rating,timestamp (aliases like userId, movieId, reviewerID,
    asin, overall are recognised), parquet, or MovieLens u.data (tab-separated,
    no header)
  a dataset folder: u.data / ratings.csv plus an image folder (posters/ or
    images/) named <item_id>.<jpg|png|...>, and/or an item table (u.item,
    styles.csv)

Records that cannot be used (null rating, missing id, broken JSON, wrong field count)
are not kept; they are counted and the first few are listed as file:line.
"""

DATA_EPILOG = """\
examples:
  visrec data summary ../shared/data/amazon/AMAZON_FASHION_5.json.gz
  visrec data summary movielens-100k-posters/        # u.data + posters/ folder
  visrec data summary ratings.csv --json summary.json
  visrec data summary --help                         # what PATH can be
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "data",
        help="inspect datasets (data summary PATH...)",
        description="Inspect datasets before using them.",
        epilog=DATA_EPILOG,
        formatter_class=HelpFormatter,
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    s = sub.add_parser(
        "summary",
        help="count rows, users, items, ratings, images and bad records",
        description=(
            "Print counts for one or more datasets: rows, users, items, the rating "
            "histogram, reviews/items with images, categories and bad records."
        ),
        epilog=SUMMARY_EPILOG,
        formatter_class=HelpFormatter,
    )
    s.add_argument("paths", nargs="+", metavar="PATH", help="files or dataset folders")
    s.add_argument("--json", default=None, metavar="OUT", help="also write the counts as JSON")
    add_layout_args(s, "counted by data summary", "checked by data summary: bad times are reported")
    s.set_defaults(func=run_summary)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    import sys

    p.print_help(sys.stderr)  # a usage error (status 2): nothing on stdout
    return 2


@survives_closed_stdout
def run_summary(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from visrec._atomic import write_text_atomic
    from visrec.commands._common import (
        check_output_file,
        check_outputs_distinct,
        folder_data,
        named_like_outputs,
        with_run,
    )
    from visrec.data.summary import format_summary, summarize

    check_output_file(args.json, "--json")  # before reading the data, not after it
    if args.json:  # a dataset folder's files are inputs too: --json must not replace one
        outputs = {"--json": args.json}
        paths = [Path(p) for p in args.paths]
        # subfolders too (a dataset's posters/): their data files named like --json,
        # by what a link there leads to; an earlier summary there is not one
        inside = (f for p in paths if p.is_dir() for f in p.rglob("*"))
        deep = [
            f
            for f in named_like_outputs(outputs, inside)
            if folder_data(f) or folder_data(Path(os.path.realpath(f)))
        ]
        check_outputs_distinct(outputs, [("PATH", f) for f in [*paths, *deep]])
    sections = summarize(_distinct_paths(args.paths), layout_args(args))
    print(format_summary(sections))
    if args.json:
        write_text_atomic(
            args.json, json.dumps(with_run({"sections": sections}, args), indent=2) + "\n"
        )
        print(f"\nwrote {args.json}")
    return 0


def _distinct_paths(paths: list[str]) -> list[str]:
    """``paths`` without repeats of the same file (``a.json.gz ./a.json.gz``, or two
    overlapping globs), first spelling kept: review files given together form one table,
    so a repeat would count every review twice. Each repeat is reported."""
    import os

    seen: set[str] = set()
    kept: list[str] = []
    for p in paths:
        key = os.path.realpath(p)
        if key in seen:
            say_note(f"note: {p} was given more than once; counted once")
            continue
        seen.add(key)
        kept.append(p)
    return kept
