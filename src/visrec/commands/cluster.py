"""``visrec cluster``: K-means on image vectors vs the items' categories."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from visrec.commands._checks import check_at_least, check_seed
from visrec.commands._common import check_output_file
from visrec.errors import VisrecError

EPILOG = """\
examples:
  visrec cluster fashion.parquet --labels styles.csv --id-col id --label-col masterCategory \\
      --keep Apparel,Footwear,Accessories
  visrec cluster fashion.parquet --labels styles.csv --id-col id \\
      --label-col masterCategory --top-labels 3 --json clusters.json
  visrec cluster vectors.parquet --labels items.tsv --id-col item_id --label-col genre --k 8

Items without an image (has_image false) or without a label are left out and counted.
--json writes {"k", "n", "ari", "nmi", "purity", "table"}; "table" is a nested dict
{cluster: {label: count}}.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cluster",
        help="K-means on image vectors, compared with item categories (ARI, NMI, purity)",
        description=(
            "Cluster item image vectors with K-means and compare the clusters with a "
            "category column: prints the cluster x category table, ARI, NMI and purity."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="vectors Parquet from `visrec embed`")
    p.add_argument(
        "--labels", required=True, metavar="TABLE", help="item table (CSV, TSV or Parquet)"
    )
    p.add_argument("--id-col", required=True, help="column of TABLE holding the item id")
    p.add_argument("--label-col", required=True, help="column of TABLE holding the category")
    p.add_argument(
        "--k", type=int, default=None, help="number of clusters (default: number of labels)"
    )
    sel = p.add_mutually_exclusive_group()
    sel.add_argument(
        "--keep", default=None, metavar="A,B,C", help="only items with one of these labels"
    )
    sel.add_argument(
        "--top-labels",
        type=int,
        default=None,
        metavar="N",
        help="only items with one of the N most frequent labels",
    )
    p.add_argument("--random-state", type=int, default=0, help="K-means seed (default 0)")
    p.add_argument("--json", default=None, metavar="OUT", help="write the scores and table")
    p.set_defaults(func=run)


def read_label_table(path: str, id_col: str, label_col: str) -> tuple[Any, Any, list[str]]:
    """Item ids and labels of an item table (``visrec.data.item_tables.load_item_table``).

    Returns ``(ids, labels, notes)``: two aligned string Series (ids unique, labels
    non-empty) and lines saying which records were dropped or repaired and why.
    """
    from visrec.data.interactions import ITEM
    from visrec.data.item_tables import load_item_table

    if not os.path.exists(path):
        raise VisrecError(f"label table {path!r} does not exist")
    loaded = load_item_table(path, id_col=id_col, label_col=label_col)
    notes: list[str] = []
    if loaded.n_bad:
        notes.append(f"{path}: skipped {loaded.n_bad:,} record(s); " + loaded.describe_bad(3))
    if loaded.warnings:
        notes.append(
            f"{path}: repaired {len(loaded.warnings):,} line(s) with extra fields "
            f"(e.g. {loaded.warnings[0]})"
        )
    frame = loaded.frame
    return frame[ITEM].astype(str), frame[label_col].astype(str).str.strip(), notes


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from visrec._atomic import write_text_atomic
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.embed.store import read_vectors

    check_output_file(args.json, "--json")
    check_at_least(args.k, 1, "--k")
    check_at_least(args.top_labels, 1, "--top-labels")
    check_seed(args.random_state, "--random-state")
    iv = read_vectors(args.vectors)
    ids, labs, notes = read_label_table(args.labels, args.id_col, args.label_col)
    for line in notes:
        print(line)
    label_of = dict(zip(ids, labs, strict=True))

    n_total = len(iv)
    no_image = ~iv.has_image
    item_labels = np.asarray([label_of.get(str(i)) for i in iv.ids], dtype=object)
    no_label = np.asarray([lab is None for lab in item_labels]) & ~no_image
    keep = ~no_image & ~no_label
    print(
        f"{args.vectors}: {n_total:,} items; left out {int(no_image.sum()):,} without an "
        f"image and {int(no_label.sum()):,} without a label in {args.labels}"
    )

    if args.keep or args.top_labels is not None:
        present = item_labels[keep].astype(str)
        if args.keep:
            # repeats dropped: "--keep Apparel,Apparel" is one label, not two
            wanted = list(dict.fromkeys(w.strip() for w in args.keep.split(",") if w.strip()))
            present_set = set(present.tolist())
            missing = [w for w in wanted if w not in present_set]
            if missing:
                values = sorted(present_set)
                raise VisrecError(
                    f"--keep: no item has label(s) {', '.join(map(repr, missing))} "
                    f"(labels present: {', '.join(values[:30])})"
                )
        else:
            import pandas as pd

            wanted = pd.Series(present).value_counts().index[: args.top_labels].tolist()
        wanted_set = set(wanted)
        in_set = np.asarray([lab in wanted_set for lab in item_labels])
        n_out = int((keep & ~in_set).sum())
        keep &= in_set
        print(f"kept labels {', '.join(wanted)}; left out {n_out:,} items with other labels")

    if not keep.any():
        raise VisrecError(
            f"no item of {args.vectors} has both an image and a label in {args.labels} "
            f"(are the ids in column {args.id_col!r} the same as the vector ids?)"
        )
    distinct = sorted(set(item_labels[keep].astype(str).tolist()))
    if len(distinct) < 2:
        how = (
            f" (--keep {args.keep})"
            if args.keep
            else f" (--top-labels {args.top_labels})"
            if args.top_labels is not None
            else ""
        )
        raise VisrecError(
            f"all {int(keep.sum()):,} items left to cluster have the label {distinct[0]!r}"
            f"{how}: clusters can only be compared with at least 2 distinct labels (with "
            "one, ARI, NMI and purity are fixed by construction); keep more labels"
        )
    res = cluster_vs_labels(
        iv.vectors[keep], item_labels[keep].astype(str), k=args.k, random_state=args.random_state
    )
    print()
    print(res.format())
    if args.json:
        write_text_atomic(args.json, json.dumps(res.to_json(), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0
