"""``visrec knn-rating``: the tutorial's star-rating KNN on image vectors, with a baseline."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from visrec.commands._checks import check_at_least, check_seed
from visrec.commands._common import (
    LastPathNoted,
    add_interactions_args,
    add_layout_args,
    check_output_file,
    check_outputs_distinct,
    check_vectors_match,
    interactions_named,
    layout_args,
    load_interactions_frame,
    name_ids,
    no_rating_column,
    run_rows,
    say_note,
    say_written,
    skipped_records,
    survives_closed_stdout,
    with_run,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_no_bar_args
from visrec.errors import VisrecError, agree, counted, names_text, shown

EPILOG = """\
examples:
  visrec knn-rating --interactions u.data --vectors ml100k.parquet
  visrec knn-rating --interactions reviews.json.gz --vectors photos.parquet \\
      --key-col review_id --include-missing        # the tutorial's setting
  visrec knn-rating --interactions ratings.csv --vectors v.parquet --k 5 \\
      --json knn.json

Each rating row gets the image vector of its key (item_id by default; review_id for
Amazon review photos, as the tutorial embedded one photo per review). The accuracy is
always printed next to the majority class learned on the training split.

--json writes accuracy, majority_accuracy, majority_class, mae, majority_mae, k, n_train,
n_test, labels, same_vector_share, against_majority (the call against the majority
class), confusion (the matrix), notes, include_missing, key_col, records_skipped (bad rows
left out, by kind) and run (the visrec version, time and command line).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "knn-rating",
        help="predict star ratings from image vectors with KNN, next to the majority class",
        description=(
            "The tutorial's protocol: KNN (k=3) predicts the star rating from the image "
            "vector, 80/20 split with random_state=1234. Prints accuracy next to the "
            "majority-class baseline, MAE and the confusion matrix."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_interactions_args(
        p,
        "ratings: CSV/TSV/Parquet with user_id,item_id,rating, MovieLens u.data, "
        "or an Amazon review file",
    )
    p.add_argument(
        "--vectors", required=True, metavar="V", help="vectors Parquet", action=LastPathNoted
    )
    p.add_argument(
        "--key-col",
        default="item_id",
        choices=["item_id", "review_id"],
        help="what the vector ids are: item_id (default: one picture per item) or review_id "
        "(vectors of an Amazon review file's review photos, which visrec fetch keys so)",
    )
    p.add_argument("--k", type=int, default=3, help="neighbours (default 3)")
    p.add_argument(
        "--test-size", type=float, default=0.2, metavar="F", help="held-out share (default 0.2)"
    )
    p.add_argument(
        "--random-state",
        "--seed",
        type=int,
        default=1234,
        metavar="S",
        help="split seed (default 1234)",
    )
    p.add_argument(
        "--include-missing",
        action="store_true",
        help="keep rows without an image, with an all-zero vector (the tutorial's "
        "behaviour); by default they are left out and counted",
    )
    p.add_argument("--json", default=None, metavar="OUT", help="write the results as JSON")
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write an HTML report: accuracy and MAE next to the majority class, a "
        "bar chart, the confusion matrix",
    )
    add_layout_args(p, "the stars predicted", "not used here")
    add_no_bar_args(p)
    p.set_defaults(func=run)


def ratings_with_vectors(
    frame: Any, vectors_path: str, key_col: str, include_missing: bool, source: str = "ratings"
) -> tuple[Any, Any, Any, list[str]]:
    """Rows that have a rating, their vectors and a has-image mask.

    Returns ``(frame_kept, vectors (n, d), has_image (n,), notes)``; ``notes`` are the
    lines that say which rows were left out and why.
    """
    import numpy as np

    from visrec.embed.store import check_finite_vectors, read_vectors, spread_notes

    if key_col not in frame.columns:
        why = (
            ": review ids come with Amazon review files (give one, or --key-col item_id)"
            if key_col == "review_id"
            else ""
        )
        raise VisrecError(
            f"{source}: no {key_col!r} column (columns: {names_text(frame.columns)}){why}"
        )
    if "rating" not in frame.columns:
        raise no_rating_column(source, "knn-rating")
    notes: list[str] = []
    rating = frame["rating"].astype("float64")
    bad = ~np.isfinite(rating.to_numpy())
    if bad.any():
        notes.append(f"left out {counted(int(bad.sum()), 'row')} with no rating")
    keys = frame[key_col]
    no_key = keys.isna().to_numpy()
    if (no_key & ~bad).any():
        notes.append(f"left out {counted(int((no_key & ~bad).sum()), 'row')} with no {key_col}")
    frame = frame.loc[~bad & ~no_key].reset_index(drop=True)
    iv = read_vectors(vectors_path)
    if not len(iv):
        raise VisrecError(f"{vectors_path} holds no items")
    if len(frame) < 2:  # too few ratings, whatever the vectors hold
        raise VisrecError(
            f"only {counted(len(frame), 'rating row')} in {source}; the KNN needs 2 (one to "
            "train on, one to test)"
        )
    # --include-missing would otherwise run on all-zero vectors, silently
    respelt = check_vectors_match(
        iv,
        frame[key_col],
        vectors_path,
        source,
        noun=f"{key_col} values",
        review_photo_advice=(
            "; the vectors are one per review photo (<asin>_<reviewerID>_<time>, as visrec "
            "fetch names them): give --key-col review_id with the review file"
        ),
        quiet=True,  # said with the other notes, and kept in --json and --report
    )
    if respelt:
        notes.append(respelt)
    rated = frame[key_col].astype(str).unique()
    check_finite_vectors(iv, rated, vectors_path)
    notes += spread_notes(
        iv,
        rated,
        vectors_path,
        "rated item",
        length_matters=False,
        consequence="so KNN's neighbours are picked by row order, not by the pictures",
    )
    vecs, has = iv.align(frame[key_col].astype(str).tolist())
    n_missing = int((~has).sum())
    if include_missing:
        notes.append(
            f"{n_missing:,} of {len(frame):,} rows {agree(n_missing, 'has', 'have')} no image: "
            "kept with an all-zero "
            "vector (--include-missing, the tutorial's behaviour)"
        )
    else:
        if n_missing:
            # which ones, so a user can look for their pictures (by first appearance)
            lacking = frame[key_col].astype(str)[~has].drop_duplicates().to_numpy()
            notes.append(
                f"left out {n_missing:,} of {len(frame):,} rows whose {key_col} has no image"
                f"{name_ids(lacking, None, 3)} (--include-missing keeps them with zero vectors)"
            )
        frame = frame.loc[has].reset_index(drop=True)
        vecs, has = vecs[has], has[has]
    return frame, vecs, has, notes


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec._atomic import write_text_atomic
    from visrec.analysis.rating_knn import knn_rating

    if not 0.0 < args.test_size < 1.0:
        raise VisrecError(f"--test-size must be between 0 and 1, got {args.test_size}")
    check_at_least(args.k, 1, "--k")
    check_seed(args.random_state, "--random-state")
    check_output_file(args.json, "--json")
    check_output_file(args.report, "--report")
    check_outputs_distinct(
        {"--json": args.json, "--report": args.report},
        {"--interactions": args.interactions, "--vectors": args.vectors},
    )
    # the ids and the rating only: a blank or malformed timestamp (never used here)
    # costs no row; review photos are keyed by review_id, which only a full load reads
    by_item = args.key_col == "item_id"
    frame = load_interactions_frame(
        args.interactions, ids_only=by_item, keep_rating=by_item, **layout_args(args)
    )
    skipped = skipped_records(frame)  # kept with the results: rows they are not about
    frame, vecs, _, notes = ratings_with_vectors(
        frame, args.vectors, args.key_col, args.include_missing, args.interactions
    )
    n_rep = int(frame.duplicated(["user_id", "item_id"]).sum())
    if n_rep:
        # the 5-core files list some reviews more than once (All_Beauty_5: 1,177)
        notes.append(
            f"{n_rep:,} of {len(frame):,} rows {agree(n_rep, 'repeats', 'repeat')} an earlier "
            "row's (user, item); the "
            "tutorial's row split can train on a copy of a test row (visrec rating-eval "
            "counts each pair once)"
        )
    for line in notes:
        say_note(line)
    if len(frame) < 2:  # 2 rated rows, at least one without a vector (left out)
        n = len(frame)
        raise VisrecError(
            f"only {counted(n, 'rating row')} {agree(n, 'has', 'have')} a vector in "
            f"{args.vectors} (do the {args.key_col} values match the vector ids?)"
        )
    with interactions_named(args.interactions):  # one rating value, too few rows: which file
        res = knn_rating(
            vecs,
            frame["rating"].to_numpy(dtype="float64"),
            k=args.k,
            test_size=args.test_size,
            random_state=args.random_state,
        )
    if args.key_col != "item_id":
        # rating-eval reads one vector per item: review photos are no input of it
        res = dataclasses.replace(
            res,
            picture_alone=(
                "visrec rating-eval --protocol cold-items, with one vector per item (the "
                "meta file's product photos), asks the picture alone"
            ),
        )
    print(res.format())
    same = res.same_item_caveat()  # ML-100K: 99.8%, other ratings of the same movie
    if same is not None:
        say_note(f"note: {same}")
    if args.json:
        out = res.to_dict()
        # what stderr and the report say beside the figures: the rows left out and
        # the same-vector caveat, so the JSON alone is read as they are
        out["notes"] = [*notes, *([same] if same is not None else [])]
        out["include_missing"] = bool(args.include_missing)
        out["key_col"] = args.key_col
        out["records_skipped"] = skipped
        write_text_atomic(args.json, json.dumps(with_run(out, args), indent=2) + "\n")
    if args.report:
        from visrec.report.html import ReportData, data_name, write_report

        # the page escapes them; shown() is for a line break or a bidi override in a
        # path or a column name, which a browser would fold or obey (as `visrec cluster`)
        name, key_col = data_name(args.interactions), shown(args.key_col)
        data = ReportData(
            title="visrec knn-rating" + (f": {name}" if name else ""),
            dataset=f"{shown(str(args.interactions))}, vectors {shown(str(args.vectors))}",
            summary={
                "rating rows used": len(frame),
                "vectors joined on": key_col,
                "rows without an image": "kept, zero vector"
                if args.include_missing
                else "left out",
                "neighbours k": args.k,
                "test share": args.test_size,
                "split seed": str(args.random_state),
                **run_rows(args),
            },
            knn=res,
            knn_note="; ".join(notes) or None,
            parts=("summary", "knn"),
            intro=(
                "The tutorial's question: does an item's picture predict the star rating "
                "people give it? A KNN on the image vectors, next to the baseline that "
                "always predicts the most common rating."
            ),
        )
        write_report(args.report, data)
    say_written(args.json, args.report)
    return 0
