"""``visrec features``: an item table's attributes as a vectors file, alone or next to
the image vectors, so every command that takes ``--vectors`` can weigh them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, NamedTuple

from visrec.commands._checks import check_at_least
from visrec.commands._common import (
    LastPathNoted,
    check_output_file,
    check_outputs_distinct,
    check_vectors_match,
    name_ids,
    say_note,
    survives_closed_stdout,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_no_bar_args
from visrec.embed.vector_source import ATTRIBUTES, attributes_backbone
from visrec.errors import VisrecError, agree, counted, names_text

if TYPE_CHECKING:
    from visrec.data.item_features import SavedEncoding

EPILOG = """\
examples:
  # MovieLens: genres and release date; then cold start with them
  visrec features u.item --columns genres,release_date -o meta.parquet
  visrec evaluate --interactions u.data --vectors meta.parquet \\
      --protocol cold-items
  # the same next to the posters' vectors
  visrec features u.item --columns genres,release_date \\
      --vectors posters.parquet -o both.parquet
  # a shop's category, colour and year; new items later, encoded alike
  visrec features styles.csv --id-col id \\
      --columns masterCategory,baseColour,year -o attrs.parquet
  visrec features new_styles.csv --id-col id --like attrs.parquet \\
      -o new_attrs.parquet

Each column becomes numbers by its kind, guessed or given after a colon
(genres:multi):
  category  one 0/1 feature per value (the --max-levels most common; the
            rest share "(other)"); nearly unique values (a title, an id)
            are refused
  multi     "|"-joined values (MovieLens genres): one 0/1 feature per value,
            as for a category
  number    the value standardised, plus value >= each decile (a linear
            model can then fit a curve), plus a "missing" flag where cells
            are empty
  date      its year (with the fraction), as a number
Each column's block is scaled to the same size, so a column with many values
does not outweigh one with few. The output is a vectors file like `visrec
embed`'s (item_id, vector, has_image) whose metadata keeps the encoding:
`--like` encodes other items the same way, and a model trained on one
encoding refuses vectors of another.

With --vectors the image vectors come first, scaled to a typical length of 1,
then the attributes, of typical length 1 times --weight (default 1). Items of
the table with no image get zeros in the image part, items with an image but
no row in the table zeros in the attributes part; both are kept and counted.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "features",
        help="an item table's attributes (category, genres, year...) as vectors",
        description=(
            "Turn columns of an item table (CSV/TSV/Parquet with a header, MovieLens "
            "u.item, Amazon meta_*.json) into a vectors file, alone or next to the "
            "image vectors: do the pictures say more than the catalogue already does?"
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("table", metavar="ITEMS", help="the item table (or a folder holding u.item)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FEATURES.parquet",
        help="the vectors file to write (Parquet, read wherever `visrec embed`'s is)",
    )
    p.add_argument(
        "--columns",
        metavar="NAME[:KIND],...",
        help="the columns to encode, comma-separated; KIND is category, multi, number "
        "or date (guessed when left out). Required unless --like",
    )
    p.add_argument(
        "--id-col",
        default="item_id",
        metavar="NAME",
        help="the column of item ids (default: item_id; ignored for u.item)",
    )
    p.add_argument(
        "--vectors",
        action=LastPathNoted,
        metavar="V.parquet",
        help="image vectors (from `visrec embed`) to put the attributes next to",
    )
    p.add_argument(
        "--weight",
        type=float,
        default=None,
        help="with --vectors: the attributes' size next to the image part's (default 1)",
    )
    p.add_argument(
        "--max-levels",
        type=int,
        default=50,
        metavar="N",
        help="a category or multi column keeps its N most common values, the rest are "
        "'(other)' (default 50)",
    )
    p.add_argument(
        "--like",
        action=LastPathNoted,
        metavar="FEATURES.parquet",
        help="encode as an earlier output of this command did (its columns, values, "
        "scales and --weight): for items added later",
    )
    add_no_bar_args(p)
    p.set_defaults(func=run)


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    import math

    import numpy as np

    from visrec._atomic import check_input_exists
    from visrec.data import item_features as f
    from visrec.data.interactions import ITEM
    from visrec.data.item_tables import load_item_table
    from visrec.embed.store import ItemVectors, read_vectors, write_vectors

    check_at_least(args.max_levels, 1, "--max-levels")
    if args.weight is not None and not (math.isfinite(args.weight) and args.weight > 0):
        raise VisrecError(f"--weight must be a positive number, got {args.weight}")
    if args.weight is not None and args.vectors is None:
        raise VisrecError("--weight weighs the attributes against --vectors; give --vectors")
    if (args.columns is None) == (args.like is None):
        raise VisrecError(
            "give --columns (which attributes to encode) or --like (an earlier output "
            "whose encoding to reuse)"
            if args.columns is None
            else "--columns and --like both say which columns to encode; give one"
        )
    check_input_exists(args.table, "item table")
    for name, path in (("--vectors", args.vectors), ("--like", args.like)):
        if path is not None:
            check_input_exists(path, f"{name} file")
    check_output_file(args.output, "-o", "Parquet")
    inputs = {"ITEMS": args.table, "--vectors": args.vectors, "--like": args.like}
    # an empty file (touch, mktemp) and an earlier output are replaced; anything else
    # may be the user's data (interactions.parquet, u.data)
    check_outputs_distinct({"-o": args.output}, inputs, {"-o": "vectors Parquet"})

    like: SavedEncoding | None = None
    if args.like is not None:
        like = f.saved_encoding(read_vectors(args.like, only=()).meta, args.like)
        codes, weight = like.codes, like.weight
        if (weight is None) != (args.vectors is None):
            raise VisrecError(
                f"{args.like} was made without image vectors: leave out --vectors"
                if weight is None
                else f"{args.like} was made with image vectors: give --vectors too"
            )
        if args.weight is not None and weight is not None and args.weight != weight:
            raise VisrecError(
                f"--weight {args.weight:g} differs from {args.like}'s {weight:g}; leave it out"
            )
    loaded = load_item_table(args.table, id_col=args.id_col)
    for line in loaded.report_lines(args.table):
        say_note(line)
    frame = loaded.frame
    if frame.empty:
        raise VisrecError(f"{args.table}: no items in it: nothing to encode")
    shown = [c for c in frame.columns if c != ITEM]
    if args.like is None:
        columns = f.parse_columns(args.columns)
        for name, kind in columns:
            if name not in frame.columns or name == ITEM:
                raise VisrecError(
                    f"{args.table}: no column {name!r} to encode (columns: {names_text(shown)})"
                    + _kind_hint(name, kind, shown, f.KINDS)
                )
        try:
            codes = f.fit_encoding(frame, columns, args.max_levels)
        except VisrecError as exc:
            raise VisrecError(f"{args.table}: {exc}") from None
        weight = None if args.vectors is None else (1.0 if args.weight is None else args.weight)
    else:
        lacking = [c.name for c in codes if c.name not in frame.columns]
        if lacking:
            raise VisrecError(
                f"{args.table}: no {agree(len(lacking), 'column', 'columns')} "
                f"{', '.join(map(repr, lacking))}, which {args.like} encodes "
                f"(columns: {names_text(shown)})"
            )
        # encoded as missing, as an empty cell is: said, not lost unseen
        for c in (c for c in codes if c.kind in ("number", "date")):
            bad = f.unreadable_cells(frame, c.name, c.kind)
            if len(bad):
                say_note(
                    f"note: {args.table}: {f.unreadable_text(frame, c.name, c.kind, bad)}; "
                    f"encoded as missing, as {args.like} encodes an empty cell"
                )
    attrs = f.encode(frame, codes)
    ids = frame[ITEM].astype(str).to_numpy(object)
    meta: dict[str, Any] = {
        "backbone": ATTRIBUTES,
        "item_features": {"columns": f.codes_to_json(codes), "weight": weight},
        "feature_names": f.feature_names(codes),
    }
    digest = f.encoding_digest(codes, weight)
    if args.vectors is None:
        meta["preprocessing"] = {"item_features": digest}
        out = Combined(attrs, ids, np.ones(len(ids), bool), meta, "")
    else:
        images = read_vectors(args.vectors)
        # another dataset's vectors (or ids spelt otherwise) would join nothing
        check_vectors_match(images, ids, args.vectors, args.table)
        images = _without_broken_vectors(images, args.vectors)
        out = _next_to_images(images, ids, attrs, float(weight or 1.0), meta, digest, like)
    write_vectors(args.output, ItemVectors(out.ids, out.vectors, out.has_image, out.meta))
    parts = "; ".join(c.summary() for c in codes)
    print(
        f"wrote {args.output}: {counted(len(out.ids), 'item')} x "
        f"{counted(out.vectors.shape[1], 'number')} "
        f"({attrs.shape[1]:,} from the table: {parts}){out.said}"
    )
    return 0


def _kind_hint(name: str, kind: str | None, columns: list[Any], kinds: tuple[str, ...]) -> str:
    """What a ``:`` in ``--columns`` was taken for, when that is why no column matched:
    ``price:numeric`` (a kind misspelt) or ``rel:date`` (a column named so, read as
    column ``rel`` of kind ``date``)."""
    if kind is not None and f"{name}:{kind}" in columns:
        return (
            f"; {name}:{kind} was read as column {name!r} of kind {kind!r}: a name holding "
            f"':' takes its kind after one more (--columns '{name}:{kind}:KIND')"
        )
    head, colon, tail = name.rpartition(":")
    if kind is None and colon and head.strip() in columns:
        return f"; {tail.strip()!r} after ':' is no kind ({', '.join(kinds)})"
    return ""


class Combined(NamedTuple):
    """What ``visrec features`` writes: the vectors file's rows and its metadata, and
    what it says of them after the counts (empty without --vectors)."""

    vectors: Any
    ids: Any
    has_image: Any
    meta: dict[str, Any]
    said: str


def _without_broken_vectors(iv: Any, path: str) -> Any:
    """``iv`` with each vector a fit could not use (``usable_rows``: NaN, infinite or
    huge values) taken as no image, said: one such row made the shared image scale NaN,
    and so every item's image part."""
    import dataclasses

    from visrec.embed.vector_checks import UNUSABLE_VALUES, usable_rows

    broken = iv.has_image & ~usable_rows(iv.vectors)
    n = int(broken.sum())
    if not n:
        return iv
    say_note(
        f"note: {path}: {counted(n, 'item')} whose vector holds {UNUSABLE_VALUES} "
        f"{agree(n, 'is', 'are')} taken as having no image (zeros there)"
        f"{name_ids(iv.ids[broken], None)}"
    )
    return dataclasses.replace(iv, has_image=iv.has_image & ~broken)


def _next_to_images(
    iv: Any,
    ids: Any,
    attrs: Any,
    weight: float,
    meta: dict[str, Any],
    digest: str,
    like: SavedEncoding | None,
) -> Combined:
    """The image vectors (scaled to RMS row norm 1 over the rows with an image), then the
    attributes times ``weight``, for the union of both files' items."""
    import numpy as np

    img = iv.vectors.astype(np.float64)
    rows = img[iv.has_image]
    if not len(rows):
        raise VisrecError("the --vectors file has no item with an image")
    saved = None if like is None else like.image_scale
    scale = saved if saved else 1.0 / float(np.sqrt((rows**2).sum(axis=1).mean()))
    table_ids = {i: k for k, i in enumerate(ids)}
    only_images = [i for i in iv.ids if i not in table_ids]
    all_ids = np.asarray(list(ids) + only_images, dtype=object)
    out = np.zeros((len(all_ids), img.shape[1] + attrs.shape[1]), np.float32)
    at = {i: k for k, i in enumerate(all_ids)}
    where = np.fromiter((at[i] for i in iv.ids), int, len(iv.ids))
    out[where[iv.has_image], : img.shape[1]] = img[iv.has_image] * scale
    out[: len(ids), img.shape[1] :] = attrs * weight
    has = np.zeros(len(all_ids), bool)
    has[: len(ids)] = True
    has[where[iv.has_image]] = True
    image_meta = dict(iv.meta)
    backbone = attributes_backbone(image_meta.get("backbone") or "image")
    if like is not None and like.backbone != backbone:
        raise VisrecError(
            f"the --vectors file's backbone makes {backbone!r}, the --like file holds "
            f"{like.backbone!r}: give the image vectors it was made with"
        )
    pre = image_meta.get("preprocessing")
    new = {
        **{k: v for k, v in image_meta.items() if k == "weights_id"},
        **meta,
        "backbone": backbone,
        "preprocessing": {**(pre if isinstance(pre, dict) else {}), "item_features": digest},
        "image_scale": scale,
    }
    with_image = set(np.asarray(iv.ids)[iv.has_image])
    no_image = sum(1 for i in ids if i not in with_image)
    outside = len(set(only_images) & with_image)
    say = (
        f"; {no_image:,} of the table's items {agree(no_image, 'has', 'have')} no image "
        f"(zeros there), {outside:,} item{agree(outside, '', 's')} with an image "
        f"{agree(outside, 'is', 'are')} not in the table (zeros there)"
    )
    return Combined(out, all_ids, has, new, say)
