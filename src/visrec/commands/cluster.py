"""``visrec cluster``: K-means on image vectors vs the items' categories."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

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


def read_label_table(path: str, id_col: str, label_col: str) -> tuple[Any, int]:
    """Read an item table as strings; returns ``(frame, n_malformed_lines_skipped)``.

    Uses ``visrec.data.tables.load_item_table`` when the package has it; otherwise
    pandas, skipping (and counting) lines with the wrong number of fields.
    """
    import pandas as pd

    if not os.path.exists(path):
        raise VisrecError(f"label table {path!r} does not exist")
    try:
        from visrec.data.tables import load_item_table  # type: ignore[attr-defined]
    except ImportError:
        load_item_table = None
    if load_item_table is not None:
        try:
            loaded = load_item_table(path)
        except TypeError:  # a signature this command does not know: read it ourselves
            loaded = None
        frame = getattr(loaded, "frame", loaded)
        skipped = int(getattr(loaded, "n_bad", 0) or 0)
        if isinstance(frame, pd.DataFrame):
            return _check_cols(frame.astype(str, copy=False), path, id_col, label_col), skipped

    skipped_lines: list[list[str]] = []

    def bad_line(fields: list[str]) -> None:
        skipped_lines.append(fields)
        return None

    lower = path.lower()
    try:
        if lower.endswith(".parquet"):
            frame = pd.read_parquet(path)
            frame = frame.astype({c: str for c in frame.columns if c in (id_col, label_col)})
        else:
            sep = "\t" if lower.endswith((".tsv", ".tab", ".tsv.gz")) else ","
            frame = pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                engine="python",
                on_bad_lines=bad_line,
            )
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise VisrecError(f"{path}: cannot read as a table ({exc})") from exc
    return _check_cols(frame, path, id_col, label_col), len(skipped_lines)


def _check_cols(frame: Any, path: str, id_col: str, label_col: str) -> Any:
    for col in (id_col, label_col):
        if col not in frame.columns:
            raise VisrecError(
                f"{path}: no column {col!r} (columns: {', '.join(map(str, frame.columns))})"
            )
    return frame


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from visrec._atomic import write_text_atomic
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.embed.store import read_vectors

    iv = read_vectors(args.vectors)
    table, n_bad = read_label_table(args.labels, args.id_col, args.label_col)
    if n_bad:
        print(f"{args.labels}: skipped {n_bad:,} malformed line(s)")

    ids = table[args.id_col].astype(str).str.strip()
    labs = table[args.label_col]
    ok = labs.notna() & (labs.astype(str).str.strip() != "") & ids.ne("")
    label_of: dict[str, str] = {}
    n_dup = 0
    for i, lab in zip(ids[ok], labs[ok].astype(str).str.strip(), strict=True):
        if i in label_of:
            n_dup += 1
            continue
        label_of[i] = lab
    if n_dup:
        print(f"{args.labels}: {n_dup:,} repeated id(s); the first row of each is used")

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
            wanted = [w.strip() for w in args.keep.split(",") if w.strip()]
            missing = [w for w in wanted if w not in set(present.tolist())]
            if missing:
                values = sorted(set(present.tolist()))
                raise VisrecError(
                    f"--keep: no item has label(s) {', '.join(map(repr, missing))} "
                    f"(labels present: {', '.join(values[:30])})"
                )
        else:
            if args.top_labels < 1:
                raise VisrecError(f"--top-labels must be at least 1, got {args.top_labels}")
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
    res = cluster_vs_labels(
        iv.vectors[keep], item_labels[keep].astype(str), k=args.k, random_state=args.random_state
    )
    print()
    print(res.format())
    if args.json:
        write_text_atomic(args.json, json.dumps(res.to_json(), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0
