"""``visrec cluster``: K-means on image vectors vs the items' categories."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec.commands._checks import check_at_least, check_seed
from visrec.commands._common import (
    LastPathNoted,
    add_vectors_positional,
    check_output_file,
    check_outputs_distinct,
    name_ids,
    run_rows,
    say_note,
    say_written,
    scan_photos,
    survives_closed_stdout,
    take_vectors_arg,
    with_run,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._labels import read_label_table
from visrec.commands._progress import add_no_bar_args
from visrec.errors import VisrecError, agree, counted, shown

if TYPE_CHECKING:
    import numpy as np

    from visrec.embed.store import ItemVectors

EPILOG = """\
examples:
  visrec cluster fashion.parquet --labels styles.csv --id-col id \\
      --label-col masterCategory --keep Apparel,Footwear,Accessories
  visrec cluster fashion.parquet --labels styles.csv --id-col id \\
      --label-col masterCategory --top-labels 3 --json clusters.json
  visrec cluster vectors.parquet --labels items.tsv --id-col item_id \\
      --label-col genre --k 8
  # the table, a PCA map, photos per cluster
  visrec cluster fashion.parquet --labels styles.csv --id-col id \\
      --label-col masterCategory --report clusters.html --images images/

Items without an image (has_image false, or an all-zero vector) or without a label are left
out and counted.

--json writes {"k", "n", "ari", "nmi", "purity", "majority_share", "chance", "table",
"run"}; "majority_share" (the most common label's share) is purity's baseline, "chance"
NMI and purity with the labels shuffled (their level for pictures that say nothing of the
label); "table" is a nested dict {cluster: {label: count}}. --report writes one
self-contained HTML file: the table and scores, a 2-D PCA map of the vectors coloured by
label, and with --images (the folder given to `visrec embed`) twelve photos of each cluster.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cluster",
        usage=(
            "visrec cluster [-h] VECTORS --labels TABLE --id-col NAME\n"
            "                      --label-col NAME [--k K]\n"
            "                      [--keep A,B,C | --top-labels N] [--random-state S]\n"
            "                      [--json OUT] [--report HTML] [--images DIR]\n"
            "                      [-v | -q]\n"
            "       (or --vectors VECTORS in VECTORS' place)"
        ),
        help="K-means on image vectors, compared with item categories (ARI, NMI, purity)",
        description=(
            "Cluster item image vectors with K-means and compare the clusters with a "
            "category column: prints the cluster x category table, ARI, NMI and purity."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_vectors_positional(p)
    p.add_argument(
        "--labels",
        action=LastPathNoted,
        required=True,
        metavar="TABLE",
        help="item table (CSV, TSV, Parquet, a MovieLens u.item, an Amazon meta file)",
    )
    p.add_argument(
        "--id-col", required=True, metavar="NAME", help="column of TABLE holding the item id"
    )
    p.add_argument(
        "--label-col", required=True, metavar="NAME", help="column of TABLE holding the category"
    )
    p.add_argument(
        "--k", type=int, default=None, help="number of clusters (default: number of labels)"
    )
    sel = p.add_mutually_exclusive_group()
    sel.add_argument(
        "--keep",
        default=None,
        metavar="A,B,C",
        help="only items with one of these labels (comma-separated; a label holding a "
        "comma in double quotes: --keep '\"Clothing, Shoes & Jewelry\",Beauty')",
    )
    sel.add_argument(
        "--top-labels",
        type=int,
        default=None,
        metavar="N",
        help="only items with one of the N most frequent labels",
    )
    p.add_argument(
        "--random-state",
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of K-means, the label shuffles and the report's photos (default 0)",
    )
    p.add_argument("--json", default=None, metavar="OUT", help="write the scores and table")
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write an HTML report: table, scores, a PCA map, photos per cluster",
    )
    p.add_argument(
        "--images",
        action=LastPathNoted,
        default=None,
        metavar="DIR",
        help="with --report: the folder of <item_id>.<ext> images, subfolders too (or a "
        "manifest CSV, as for `visrec embed --manifest`) "
        "to show twelve photos of each cluster",
    )
    add_no_bar_args(p, "no progress line (the notes on what was left out stay, on stderr)")
    p.set_defaults(func=run)


def keep_labels(text: str, present: set[str]) -> list[str]:
    """The labels ``--keep`` names: comma-separated, a label holding a comma in double
    quotes (a CSV line: Amazon's "Clothing, Shoes & Jewelry"), or the whole text when it
    is one label present; repeats dropped ("Apparel,Apparel" is one label)."""
    from visrec.data.text_files import csv_reader

    if text.strip() in present:
        return [text.strip()]
    fields = next(csv_reader([text], skipinitialspace=True), [])
    return list(dict.fromkeys(f.strip() for f in fields if f.strip()))


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec._atomic import write_text_atomic
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.embed.store import check_finite_vectors, read_vectors

    photos = _check_options(args)
    iv = read_vectors(args.vectors)
    if not len(iv):
        raise VisrecError(f"{args.vectors} holds no items")
    ids, labs, notes = read_label_table(args.labels, args.id_col, args.label_col)
    for line in notes:
        say_note(line)
    label_of = dict(zip(ids, labs, strict=True))

    n_total = len(iv)
    item_labels, no_image, no_label = _items_left_out(args, iv, ids, label_of, n_total)
    keep = ~no_image & ~no_label
    # before --keep/--top-labels, which would say "labels present: " of no item at all
    _check_items_to_cluster(args, n_total, no_image, keep)
    selection = _select_labels(args, item_labels, keep)
    _check_labels_to_compare(args, keep, item_labels)
    small_note = None
    if args.k is None and not args.keep and args.top_labels is None:
        small_note = _note_small_labels(item_labels[keep].astype(str))
    # names the file and the items, where the analysis could only say "NaN somewhere"
    check_finite_vectors(iv, iv.ids[keep], args.vectors)
    res = cluster_vs_labels(
        iv.vectors[keep], item_labels[keep].astype(str), k=args.k, random_state=args.random_state,
        say=None if args.quiet else say_note,  # seconds to a minute
    )  # fmt: skip
    print(res.format())
    if args.json:
        write_text_atomic(args.json, json.dumps(with_run(res.to_dict(), args), indent=2) + "\n")
    if args.report:
        summary = _report_summary(args, keep, no_image, no_label, selection)
        _write_report(
            args, res, iv.ids[keep], iv.vectors[keep], item_labels[keep], summary, photos,
            small_note,
        )  # fmt: skip
    say_written(args.json, args.report)
    return 0


def _check_options(args: argparse.Namespace) -> dict[str, Path] | None:
    """The ``--images`` photos by item id (None without), once the options pass."""
    take_vectors_arg(args, "cluster")
    check_output_file(args.json, "--json")
    check_output_file(args.report, "--report")
    check_outputs_distinct(
        {"--json": args.json, "--report": args.report},
        {"VECTORS": args.vectors, "--labels": args.labels},
    )
    # before the clustering: two files of one id stop it here
    photos = scan_photos(args.images, args.report, {"--json": args.json, "--report": args.report})
    check_at_least(args.k, 1, "--k")
    check_at_least(args.top_labels, 1, "--top-labels")
    check_seed(args.random_state, "--random-state")
    return photos


def _items_left_out(
    args: argparse.Namespace,
    iv: ItemVectors,
    ids: Any,
    label_of: dict[str, str],
    n_total: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(item_labels, no_image, no_label)`` per vector, the items left out said."""
    import numpy as np

    # has_image is false for an all-zero vector too (ItemVectors): a placeholder row of
    # another tool, which clustered made a cluster of its own
    no_image = ~iv.has_image
    item_labels = np.asarray([label_of.get(str(i)) for i in iv.ids], dtype=object)
    no_label = np.asarray([lab is None for lab in item_labels], dtype=bool) & ~no_image
    say_note(
        f"{args.vectors}: {n_total:,} items; left out {int(no_image.sum()):,} without an "
        f"image (has_image false, or an all-zero vector) and {int(no_label.sum()):,} "
        f"without a label in {args.labels} (not in it, or with an empty label)"
    )
    if no_label.any():
        from visrec.data.id_spelling import examples, respelt

        pairs = respelt(iv.ids[no_label], ids)
        if pairs:  # '10001' in the vectors, '010001' in the table: no label gap
            say_note(
                f"note: {len(pairs):,} of the items without a label "
                f"{agree(len(pairs), 'is', 'are')} in {args.labels} spelt otherwise "
                f"({examples(pairs)}): ids are compared as written"
            )
    return item_labels, no_image, no_label


def _select_labels(
    args: argparse.Namespace, item_labels: np.ndarray, keep: np.ndarray
) -> dict[str, Any]:
    """Narrows ``keep`` in place to ``--keep``/``--top-labels``; returns its summary lines."""
    import numpy as np

    if args.keep is None and args.top_labels is None:
        return {}
    present = item_labels[keep].astype(str)
    if args.keep is not None:
        present_set = set(present.tolist())
        wanted = keep_labels(args.keep, present_set)
        if not wanted:
            raise VisrecError(
                f"--keep {args.keep!r} names no label; give labels separated by commas"
            )
        missing = [w for w in wanted if w not in present_set]
        if missing:
            values = sorted(present_set)
            more = f", ... ({len(values) - 30:,} more)" if len(values) > 30 else ""
            raise VisrecError(
                f"--keep: no item has {agree(len(missing), 'label', 'labels')} "
                f"{', '.join(map(repr, missing))} "
                f"(labels present: {', '.join(map(repr, values[:30]))}{more}; a label "
                "holding a comma is quoted: --keep '\"Clothing, Shoes & Jewelry\",Beauty')"
            )
    else:
        from visrec.report.plots import label_order

        # ties by label: the same items in another row order keep the same labels
        wanted = label_order(present)[: args.top_labels]
    wanted_set = set(wanted)
    in_set = np.asarray([lab in wanted_set for lab in item_labels])
    n_out = int((keep & ~in_set).sum())
    keep &= in_set
    # a label's tab or escape sequence would reach the terminal and the page as it is
    said = ", ".join(shown(w) for w in wanted)
    say_note(f"kept labels {said}; left out {counted(n_out, 'item')} with other labels")
    return {"labels kept": said, "left out: other labels": n_out}


def _check_items_to_cluster(
    args: argparse.Namespace, n_total: int, no_image: np.ndarray, keep: np.ndarray
) -> None:
    """Refuses vectors with no image, or no item with both an image and a label."""
    if no_image.all():
        raise VisrecError(
            f"no item of {args.vectors} has an image (has_image is false, or the vector "
            f"all zeros, for all {n_total:,}): nothing to cluster; embed the images again"
        )
    if not keep.any():
        raise VisrecError(
            f"no item of {args.vectors} has both an image and a label in {args.labels} "
            f"(are the ids in column {args.id_col!r} the same as the vector ids?)"
        )


def _check_labels_to_compare(
    args: argparse.Namespace, keep: np.ndarray, item_labels: np.ndarray
) -> None:
    """Refuses one label left to compare with, or a column of too many labels for k."""
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
            agree(
                int(keep.sum()),
                "the only item left to cluster has",
                f"all {int(keep.sum()):,} items left to cluster have",
            )
            + f" the label {distinct[0]!r}"
            f"{how}: clusters can only be compared with at least 2 distinct labels (with "
            "one, ARI, NMI and purity are fixed by construction); keep more labels"
        )
    if args.k is None and len(distinct) > MAX_DEFAULT_K:
        raise VisrecError(
            f"column {args.label_col!r} of {args.labels} holds {len(distinct):,} distinct "
            f"labels over {int(keep.sum()):,} items, and k is the number of labels unless "
            f"given: is it a category? Give --top-labels N (the N largest labels) or --k"
        )


def _report_summary(
    args: argparse.Namespace,
    keep: np.ndarray,
    no_image: np.ndarray,
    no_label: np.ndarray,
    selection: dict[str, Any],
) -> dict[str, Any]:
    """The report's summary lines: the inputs, the items clustered and left out, the seed."""
    return {
        "vectors": shown(str(args.vectors)),
        "labels": f"{shown(str(args.labels))}, column {shown(args.label_col)}",
        "items clustered": int(keep.sum()),
        "left out: no image": int(no_image.sum()),
        "left out: no label": int(no_label.sum()),
        **selection,
        "K-means seed": str(args.random_state),
        **run_rows(args),
    }


def _note_unreadable(samples: dict[int, list[tuple[str, Path]]]) -> None:
    """One note when sampled photos cannot be decoded (they show as "?" tiles)."""
    from visrec.report.plots import thumbnail_jpeg

    bad = [i for tiles in samples.values() for i, p in tiles if thumbnail_jpeg(p) is None]
    if bad:
        say_note(
            f"note: {len(bad):,} of the sampled photos cannot be read and show as '?' in "
            f"the report: {', '.join(map(repr, bad[:5]))}{', ...' if len(bad) > 5 else ''}"
        )


def _write_report(
    args: argparse.Namespace,
    res: Any,
    ids: Any,
    vectors: Any,
    labels: Any,
    summary: dict[str, Any],
    photos: dict[str, Path] | None,
    cluster_note: str | None = None,
) -> None:
    """The HTML report: the demo's cluster sections, with photos from ``--images``;
    ``cluster_note``, a caveat the terminal got too (tiny labels)."""
    import numpy as np

    from visrec.analysis.cluster import pca_2d, sample_per_cluster
    from visrec.report.html import ReportData, data_name, write_report

    coords, explained = pca_2d(np.asarray(vectors))
    samples: dict[int, list[tuple[str, Path]]] = {}
    images_note = "give --images DIR (the folder given to `visrec embed`) to see photos"
    if photos is not None:
        files = photos
        has_file = np.asarray([str(i) in files for i in ids], dtype=bool)
        if has_file.any():
            picked = sample_per_cluster(
                res.assignments[has_file],
                np.asarray(ids)[has_file],
                12,
                np.random.default_rng(args.random_state),
            )
            samples = {c: [(i, files[i]) for i in v] for c, v in picked.items()}
            _note_unreadable(samples)
            if not has_file.all():  # the photos show only some items: say which lack one
                from visrec.data.id_spelling import respelt, respelt_hint

                lacking = [str(i) for i in np.asarray(ids)[~has_file]]
                say_note(
                    f"note: {len(lacking):,} of the {len(ids):,} clustered items have no image "
                    f"in {args.images}{name_ids(lacking, None, 3)}: the report's photos "
                    "come from the others" + respelt_hint(respelt(lacking, list(files)), "it")
                )
        else:
            say_note(
                f"note: no image in {args.images} is named after a clustered item id: the "
                "report shows no photos"
            )
            images_note = (
                f"no image in {shown(str(args.images))} is named after a clustered item id"
            )
    # the page escapes them; shown() is for a line break or a bidi override in a path
    # or a column name, which a browser would fold or obey
    vectors_name, label_col = data_name(args.vectors) or "vectors", shown(args.label_col)
    data = ReportData(
        title=f"visrec cluster: {vectors_name} vs {label_col}",
        dataset=f"{shown(str(args.vectors))}, labels {label_col} from {shown(str(args.labels))}",
        summary=summary,
        cluster=res,
        cluster_samples=samples,
        item_labels={str(i): str(v) for i, v in zip(ids, labels, strict=True)},
        projection=coords,
        projection_explained=explained,
        projection_labels=[str(v) for v in labels],
        parts=("summary", "clusters", "projection"),
        intro=(
            "K-means on the image vectors, compared with the items' categories: do the "
            "pictures alone sort the items the way the catalogue does?"
        ),
        images_note=images_note,
        cluster_note=cluster_note,
    )
    write_report(args.report, data)


#: the most labels k defaults to: a column of titles or ids as labels made K-means
#: run for many minutes towards a table nobody can read
MAX_DEFAULT_K = 50

#: a label under this share of the items gets a cluster of its own all the same (k is
#: the number of labels), which K-means takes from a big label: the demo leaves them out
SMALL_LABEL_SHARE = 0.02


def _keep_field(label: str) -> str:
    """``label`` as a field of ``--keep``, which reads a CSV line: quoted when it holds a
    comma or a double quote (doubled inside)."""
    return f'"{label.replace(chr(34), chr(34) * 2)}"' if "," in label or '"' in label else label


def _note_small_labels(labels: Any) -> str | None:
    """Say when some labels are tiny: with k = the number of labels, one cluster goes to
    each, so a big category is split in two and the scores drop for a reason that has
    nothing to do with the pictures. Returns the note (for the report), None if none."""
    import pandas as pd

    counts = pd.Series(labels).value_counts()
    small = counts[counts < SMALL_LABEL_SHARE * len(labels)]
    if small.empty:
        return None
    listing = ", ".join(f"{k!r} {v:,}" for k, v in small.head(5).items())
    more = f" and {len(small) - 5:,} more" if len(small) > 5 else ""
    big = [str(k) for k in counts.index if k not in small.index]
    # the same set both ways: --keep lists them all, so only while the list is short
    # never empty: at most MAX_DEFAULT_K labels, so one holds 2% of the items or more
    how = f"--top-labels {len(big)}"
    if len(big) <= 6 and all(shown(k) == k for k in big):
        how = f"--keep {shlex.quote(','.join(map(_keep_field, big)))} (or {how})"
    elif len(big) <= 6:
        # a tab, line break or bidi override pasted into a shell (or printed to the
        # terminal) is not the label any more: --top-labels picks the same labels
        how += " (not --keep: a label holds a control or invisible character)"
    note = (
        f"{len(small):,} of the {len(counts):,} labels "
        f"{agree(len(small), 'holds', 'hold')} under "
        f"{SMALL_LABEL_SHARE:.0%} of the items ({listing}{more}), yet k counts them as "
        f"clusters, so a big label may be split to make room; to compare the main "
        f"categories, {how}"
    )
    say_note(f"note: {note}")
    return note
