"""``visrec similar``: items that look most like the given ones (cosine on image vectors)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Set
from pathlib import Path
from typing import Any

from visrec.commands._checks import check_at_least
from visrec.commands._common import (
    LastPathNoted,
    add_vectors_positional,
    check_output_file,
    check_outputs_distinct,
    name_ids,
    run_rows,
    say_written,
    scan_photos,
    survives_closed_stdout,
    take_vectors_arg,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_no_bar_args
from visrec.errors import VisrecError, agree, counted, shown

EPILOG = """\
examples:
  visrec embed images/ -o vectors.parquet
  visrec similar vectors.parquet 10001 10002 --n 5
  visrec similar vectors.parquet 10001 --n 20 --json similar.json
  visrec similar vectors.parquet 10001 10002 --report similar.html \\
      --images images/
  # each id with its title
  visrec similar posters.parquet 50 \\
      --labels ../shared/data/movielens-100k-posters/u.item --id-col item_id \\
      --label-col title

Exact cosine nearest neighbours among items that have an image; the query item itself
is never listed. An id given twice is answered once; one that starts with '-' goes
after '--', the options before it (visrec similar --n 5 vectors.parquet -- -A7). When
fewer than --n other items have an image, all of them are listed (noted on stderr).
--json writes [{"item_id", "neighbours": [{"item_id", "rank", "score"}, ...]}, ...].
--report writes one self-contained HTML page showing each query's photo next to its
neighbours' photos (from --images, the folder given to `visrec embed`), with rank and
cosine. --labels TABLE --id-col C --label-col L shows each item's L (a title, a
category) beside its id, in the listing, the JSON ("label") and the report; TABLE is
read as for `visrec cluster` (CSV/TSV/Parquet, a MovieLens u.item, an Amazon meta file).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "similar",
        usage=(
            "visrec similar [-h] VECTORS ITEM_ID [ITEM_ID ...] [--n N] [--json OUT]\n"
            "                      [--report HTML] [--images DIR]\n"
            "                      [--labels TABLE --id-col NAME --label-col NAME]\n"
            "                      [-v | -q]\n"
            "       (or --vectors VECTORS in VECTORS' place)"
        ),
        help="items whose pictures look most like the given items",
        description="Nearest neighbours of items by cosine similarity of image vectors.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_vectors_positional(p)
    p.add_argument("item_ids", metavar="ITEM_ID", nargs="+", help="query item id(s)")
    p.add_argument("--n", type=int, default=10, help="neighbours per item (default 10)")
    p.add_argument("--json", metavar="OUT", help="also write the neighbours as JSON")
    p.add_argument(
        "--report",
        metavar="HTML",
        help="also write an HTML page: each query's photo next to its neighbours' photos",
    )
    p.add_argument(
        "--images",
        action=LastPathNoted,
        metavar="DIR",
        help="with --report: the folder of <item_id>.<ext> images, subfolders too (or a "
        "manifest CSV, as for `visrec embed --manifest`)",
    )
    p.add_argument(
        "--labels",
        action=LastPathNoted,
        metavar="TABLE",
        help="item table whose --label-col is shown beside each id (CSV, TSV, Parquet, "
        "a MovieLens u.item, an Amazon meta file)",
    )
    p.add_argument(
        "--id-col", metavar="NAME", help="with --labels: the column of TABLE holding the item id"
    )
    p.add_argument(
        "--label-col",
        metavar="NAME",
        help="with --labels: the column of TABLE to show (a title, a category)",
    )
    add_no_bar_args(p)
    p.set_defaults(func=run)


def _shown(item_id: str, alike: Set[str] = frozenset()) -> str:
    """An id as printed: as it is, or as Python writes it when it holds a line break
    or another control character that would cut or garble the listing; as escapes
    (``ascii``) when it is in ``alike``, the ids that print like another one shown."""
    if item_id in alike:
        return ascii(item_id)
    return repr(item_id) if any(not c.isprintable() for c in item_id) else item_id


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec._atomic import write_text_atomic
    from visrec._display_width import ljust_display
    from visrec.data.id_spelling import look_alikes
    from visrec.embed.store import read_vectors
    from visrec.search.knn import SimilarItems

    take_vectors_arg(args, "similar", "item_ids")
    check_output_file(args.json, "--json")
    check_output_file(args.report, "--report")
    outputs = {"--json": args.json, "--report": args.report}
    # --labels here too: an output that is the table is named as it, not by its suffix
    check_outputs_distinct(outputs, {"VECTORS": args.vectors, "--labels": args.labels})
    photos = scan_photos(args.images, args.report, outputs)
    check_at_least(args.n, 1, "--n")
    label_of = _read_labels(args)
    vectors = read_vectors(args.vectors)
    if not len(vectors):
        raise VisrecError(f"{args.vectors} holds no items")
    index = SimilarItems(vectors)
    queries = list(dict.fromkeys(args.item_ids))  # each distinct id once, in given order
    try:
        results = index.query(queries, n=args.n)
    except VisrecError as exc:  # which vectors file
        raise VisrecError(f"{args.vectors}: {exc}") from None
    repeated = [f"{i!r} ({k} times)" for i, k in Counter(args.item_ids).items() if k > 1]
    if repeated:
        print(
            f"note: given more than once: {', '.join(repeated)}; each is answered once",
            file=sys.stderr,
        )
    # what the lists lack, said on stderr and in the report too
    from visrec.embed.store import spread_notes

    notes: list[str] = spread_notes(
        vectors,
        vectors.ids,
        args.vectors,
        length_matters=False,
        consequence="so every similarity is 1 and the lists follow the file's order",
    )
    others = len(index) - 1  # every query has an image (query() refuses one without)
    if 0 < others < args.n:
        notes.append(
            f"only {others:,} other {agree(others, 'item has', 'items have')} an "
            f"image; showing {others:,} per item, not {args.n:,}"
        )
    # has_image rows that are left out all the same: said, not silently dropped
    broken = index.not_finite_
    if len(broken):
        notes.append(
            f"{args.vectors}: {counted(len(broken), 'item')} whose vector holds NaN or "
            f"infinite values {agree(len(broken), 'is', 'are')} left out"
            f"{name_ids(broken, None)}"
        )
    if label_of is not None:
        unlabelled = _unlabelled_note(args, results, label_of)
        notes += [unlabelled] if unlabelled else []
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    labels = label_of or {}
    backbone = vectors.meta.get("backbone", "unknown backbone")
    print(
        f"{len(index):,} of {len(vectors):,} items {agree(len(index), 'has', 'have')} an "
        f"image ({backbone}); "
        "cosine similarity, 1 = same direction"
    )
    # café given in two Unicode forms is two queries: their headings must differ
    alike = look_alikes(str(i) for r in results for i in (r.query, *r.ids))
    for res in results:
        # a label's no-break space is text; only control characters are escaped
        named = f" ({shown(labels[res.query])})" if res.query in labels else ""
        print(f"\nitems most like {_shown(res.query, alike)}{named}:")
        for rank, (iid, score) in enumerate(zip(res.ids, res.scores, strict=True), 1):
            label = f"  {shown(labels[iid])}" if iid in labels else ""
            # padded by terminal columns: an id in CJK stood its score a column out
            print(f"  {rank:>3}  {ljust_display(_shown(iid, alike), 24)} {score:.3f}{label}")
        if not res.ids:  # the query is the only item with a usable image
            print("  (none: no other item in the file has a usable image to compare with)")
    if args.json:
        lists = [_labelled(r.to_dict(), label_of) for r in results]
        write_text_atomic(args.json, json.dumps(lists, indent=2) + "\n")
    if args.report:
        from visrec.report.similar import any_photo_shown, write_similar_report

        if args.images and not any_photo_shown(results, photos):
            print(
                f"note: {args.images} holds no <item_id>.<ext> image of the items shown; "
                "the report shows grey tiles",
                file=sys.stderr,
            )
        elif photos:
            notes += _note_missing_photos(results, photos, args.images)

        info = {
            # as the terminal shows them (cluster's and knn-rating's pages do too)
            "vectors": shown(str(args.vectors)),
            "backbone": str(backbone),
            "images": shown(str(args.images)) if args.images else "",
            "labels": f"{shown(str(args.labels))} ({shown(args.label_col)})" if args.labels else "",
            **run_rows(args),
        }
        write_similar_report(
            args.report, results, photos, {k: v for k, v in info.items() if v}, notes, labels
        )
    say_written(args.json, args.report)
    return 0


def _read_labels(args: argparse.Namespace) -> dict[str, str] | None:
    """``--labels``: each item's label by id (None without), read before the search so
    that a bad table stops it at once; the records the table lost are said."""
    from visrec.commands._common import say_note
    from visrec.commands._labels import read_label_table

    if args.labels is None:
        given = [o for o, v in (("--id-col", args.id_col), ("--label-col", args.label_col)) if v]
        if given:
            verb = "go" if len(given) > 1 else "goes"
            raise VisrecError(f"{' and '.join(given)} {verb} with --labels TABLE, which is missing")
        return None
    missing = [o for o, v in (("--id-col", args.id_col), ("--label-col", args.label_col)) if not v]
    if missing:
        what = {"--id-col": "holding the item id", "--label-col": "to show beside each id"}
        raise VisrecError(
            f"--labels needs {' and '.join(missing)}: the column of {args.labels} "
            + ", and the one ".join(what[o] for o in missing)
        )
    ids, labels, notes = read_label_table(args.labels, args.id_col, args.label_col)
    for line in notes:
        say_note(line)
    return dict(zip(ids, labels, strict=True))


def _unlabelled_note(
    args: argparse.Namespace, results: list[Any], label_of: dict[str, str]
) -> str | None:
    """One note when items shown have no label in ``--labels`` (another id spelling, or
    a table of other items); None when every one has."""
    from visrec.data.id_spelling import respelt, respelt_hint

    listed = list(dict.fromkeys(str(i) for r in results for i in (r.query, *r.ids)))
    bare = [i for i in listed if i not in label_of]
    if not bare:
        return None
    # '10001' here, '0010001' in the table
    again = respelt_hint(respelt(bare, list(label_of)), "it")
    have = "has" if len(bare) == 1 else "have"
    return (
        f"{len(bare):,} of the {len(listed):,} items shown {have} no {args.label_col!r} in "
        f"{args.labels}{name_ids(bare, None)}{again}"
    )


def _labelled(lists: dict[str, Any], label_of: dict[str, str] | None) -> dict[str, Any]:
    """A query's JSON with each item's ``label`` (null when the table has none), with
    ``--labels``."""
    if label_of is None:
        return lists
    for n in lists["neighbours"]:
        n["label"] = label_of.get(n["item_id"])
    query = lists["item_id"]  # the label next to the id it names
    return {"item_id": query, "label": label_of.get(query), "neighbours": lists["neighbours"]}


def _note_missing_photos(results: list[Any], photos: dict[str, Path], where: str) -> list[str]:
    """Notes (also said on stderr) on the items shown whose photo ``where`` lacks, or
    whose photo cannot be read (a missing file named by a manifest, a broken image):
    they show as grey tiles."""
    from visrec.data.id_spelling import respelt, respelt_hint
    from visrec.report.plots import thumbnail_jpeg

    def listed(ids: list[str]) -> str:
        return ", ".join(map(repr, ids[:5])) + (", ..." if len(ids) > 5 else "")

    shown = dict.fromkeys(str(i) for r in results for i in (r.query, *r.ids))
    absent = [i for i in shown if i not in photos]
    bad = [i for i in shown if i in photos and thumbnail_jpeg(photos[i]) is None]
    notes = []
    if absent:
        have, show = ("has", "shows") if len(absent) == 1 else ("have", "show")
        notes.append(
            f"{len(absent):,} of the {len(shown):,} items shown {have} no image in {where} "
            f"and {show} as grey tiles: {listed(absent)}"
            # 'café' here, 'café' in another Unicode form there: said, as cluster says it
            + respelt_hint(respelt(absent, list(photos)), "it")
        )
    if bad:
        notes.append(
            f"{len(bad):,} of the photos shown cannot be read (missing or not an image) and "
            f"show as grey tiles: {listed(bad)}"
        )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return notes
