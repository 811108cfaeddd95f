"""``visrec data``: inspect datasets (``visrec data summary PATH...``) and merge the
product variants of Amazon review files (``visrec data merge-variants``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from visrec.commands._common import (
    add_layout_args,
    layout_args,
    say_note,
    survives_closed_stdout,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_no_bar_args
from visrec.errors import VisrecError, agree, counted

if TYPE_CHECKING:
    from visrec.data.variants import VariantMerge

_P = TypeVar("_P", str, Path)

SUMMARY_EPILOG = """\
examples:
  visrec data summary ../shared/data/amazon/AMAZON_FASHION_5.json.gz
  # one table
  visrec data summary AMAZON_FASHION_5.json.gz All_Beauty_5.json.gz
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
  visrec data merge-variants All_Beauty_5.json.gz -o beauty.csv
"""

MERGE_EPILOG = """\
examples:
  visrec data merge-variants ../shared/data/amazon/All_Beauty_5.json.gz \\
      -o beauty.csv
  visrec data merge-variants AMAZON_FASHION_5.json.gz All_Beauty_5.json.gz \\
      -o both.csv --map variants.csv
  # then as any table
  visrec evaluate --interactions beauty.csv --protocol warm

Amazon's 2018 review files list one review under each variant (size, colour) of a
product: the same reviewer, time, stars and text under several asins. A split by rows
then finds the copy under the other variant, and a held-out item's reviews stay in
training under its sibling. Two asins are variants of one product when one review with
a summary or text is listed under both (linked in chains: A~B and B~C make one product;
a review without either is stars on a day and links nothing). Each product keeps
the id of its variant with the most distinct reviews, so vectors keyed by asin still
match it.

-o gets user_id,item_id,rating,timestamp, one row per review of a product, in the
order of the files; --map gets item_id,product_id,reviews,rows for every asin read
(reviews: its distinct reviews; rows: its lines, a review repeated counted each time).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "data",
        help="inspect datasets (data summary PATH...); merge Amazon product variants",
        description=(
            "Inspect datasets before using them; merge the product variants of Amazon review files."
        ),
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
    add_no_bar_args(s)
    s.set_defaults(func=run_summary)
    m = sub.add_parser(
        "merge-variants",
        help="one item per product in Amazon review files (a review copied under "
        "each variant kept once per product)",
        description=(
            "Merge the variants of each product in Amazon review files into one item "
            "(linked by reviews with a summary or text listed under both), each review "
            "kept once per product, and write the reviews as an interactions table."
        ),
        epilog=MERGE_EPILOG,
        formatter_class=HelpFormatter,
    )
    m.add_argument(
        "paths",
        nargs="+",
        metavar="REVIEWS",
        help="Amazon review files (.json[l][.gz]) or folders of them, read as one table",
    )
    m.add_argument(
        "-o", "--output", required=True, metavar="OUT.csv", help="the merged interactions (CSV)"
    )
    m.add_argument(
        "--map", default=None, metavar="MAP.csv", help="also write each asin's product (CSV)"
    )
    m.add_argument("--json", default=None, metavar="OUT", help="also write the counts as JSON")
    add_no_bar_args(m)
    m.set_defaults(func=run_merge_variants)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    import sys

    p.print_help(sys.stderr)  # a usage error (status 2): nothing on stdout
    return 2


@survives_closed_stdout
def run_summary(args: argparse.Namespace) -> int:
    import os

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


def _distinct_paths(
    paths: list[_P], repeat: str = "was given more than once; counted once"
) -> list[_P]:
    """``paths`` without repeats of the same file (``a.json.gz ./a.json.gz``, or two
    overlapping globs, or a folder and a file in it), first spelling kept: review files
    given together form one table, so a repeat would count every review twice. Each
    repeat is reported: ``note: PATH`` and ``repeat``."""
    import os

    seen: set[str] = set()
    kept: list[_P] = []
    for p in paths:
        key = os.path.realpath(p)
        if key in seen:
            say_note(f"note: {p} {repeat}")
            continue
        seen.add(key)
        kept.append(p)
    return kept


@survives_closed_stdout
def run_merge_variants(args: argparse.Namespace) -> int:
    from visrec._atomic import write_text_atomic
    from visrec.commands._common import (
        BAD_LINES_SHOWN,
        check_output_file,
        check_outputs_distinct,
        say_written,
        with_run,
    )
    from visrec.commands._csv_quoting import csv_quoting
    from visrec.data.amazon import load_amazon_reviews
    from visrec.data.variants import merge_variants

    outputs = {"-o": args.output, "--map": args.map, "--json": args.json}
    for option, path in outputs.items():
        check_output_file(path, option, "CSV" if option != "--json" else None)
    paths = _distinct_paths(args.paths)
    files = _distinct_paths(
        _review_files(paths), "is a file already read (given twice, or a link); read once"
    )
    check_outputs_distinct(outputs, [("REVIEWS", f) for f in files], {"-o": "CSV", "--map": "CSV"})
    # the columns written and the digest only (the full load's category, from the file
    # name, and its review ids are not needed)
    loaded = load_amazon_reviews(
        files, ids_only=True, keep_rating=True, keep_time=True, review_digest=True
    )
    # a folder by its name; several paths by the files' count
    many = f"{len(files)} review file{agree(len(files), '', 's')}"
    shown = Path(paths[0]) if len(paths) == 1 else Path(many)
    for line in loaded.report_lines(shown, BAD_LINES_SHOWN):
        say_note(line)
    if not len(loaded.frame):
        n_bad = loaded.n_bad
        all_skipped = agree(n_bad, "the only record was", f"all {n_bad:,} records were")
        why = f" ({all_skipped} skipped)" if n_bad else ""
        raise VisrecError(f"{shown}: no usable reviews{why}")
    merged = merge_variants(loaded.frame)
    print(_merge_text(merged, str(shown)))
    for path, frame in ((args.output, merged.frame), (args.map, merged.items)):
        if path:
            quoting = csv_quoting(*(frame[c] for c in frame.columns))
            write_text_atomic(path, frame.to_csv(index=False, lineterminator="\n", quoting=quoting))
    if args.json:
        counts = {
            "files": [str(f) for f in files],
            "rows_in": merged.rows_in,
            "rows_out": len(merged.frame),
            "variant_copies": merged.variant_copies,
            "repeats": merged.repeats,
            "no_text_listed_again": merged.no_text_listed_again,
            "items": merged.n_items,
            "products": merged.n_products,
            "items_merged": merged.n_merged,
            "skipped_records": loaded.bad_by_kind(),
        }
        write_text_atomic(args.json, json.dumps(with_run(counts, args), indent=2) + "\n")
    say_written(args.output, args.map, args.json)
    return 0


def _review_files(paths: list[str]) -> list[Path]:
    """The Amazon review files of ``paths`` (a folder stands for its own); anything
    else is refused, naming it: a table has no review text to tell a copy by."""
    from visrec._atomic import check_input_exists
    from visrec.data.tables import amazon_review_files, is_review_file, refuse_amazon_meta

    files: list[Path] = []
    for raw in paths:
        check_input_exists(raw, "review file")
        p = Path(raw)
        refuse_amazon_meta(p)  # said as where interactions are read
        if p.is_dir():
            found = amazon_review_files(p)
            if not found:
                raise VisrecError(f"{raw}: no Amazon review files (.json[l][.gz]) in this folder")
            files += found
        elif is_review_file(p):
            files.append(p)
        elif p.is_file() and not p.stat().st_size:
            raise VisrecError(f"{raw}: empty file; give an Amazon review file")
        else:
            raise VisrecError(
                f"{raw}: not an Amazon review file (no reviewerID, or user_id and "
                "parent_asin, near its start); merge-variants matches each review's text "
                "across products, which a table of user, item, rating and time does not hold"
            )
    return files


def _merge_text(m: VariantMerge, source: str) -> str:
    """What merge-variants did, for stdout."""
    lines = [f"{source}: {counted(m.rows_in, 'row')} of {counted(m.n_items, 'item')}"]
    if m.n_merged:
        lines.append(
            f"  {counted(m.n_merged, 'item')} merged into another variant of "
            f"{agree(m.n_merged, 'its', 'their')} product: "
            f"{m.n_items:,} items -> {counted(m.n_products, 'product')}"
        )
        lines.append(f"  {counted(m.variant_copies, 'row')} copied a review under another variant")
    else:
        some = "with a summary or text " if m.no_text_listed_again else ""
        lines.append(f"  no review {some}is listed under two items: no variants to merge")
    if m.no_text_listed_again:
        lines.append(
            f"  {counted(m.no_text_listed_again, 'row')} listed a review without summary or text "
            "under another product too: kept, as stars on a day link no items"
        )
    if m.repeats:
        lines.append(f"  {counted(m.repeats, 'row')} repeated a review under its own item")
    if m.no_text_listed_again:
        lines.append(f"  {len(m.frame):,} rows written: each review once per product it is under")
    else:
        lines.append(f"  {len(m.frame):,} reviews written, one row each")
    return "\n".join(lines)
