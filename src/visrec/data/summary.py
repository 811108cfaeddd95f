"""``visrec data summary``: what is in a dataset, counted.

Paths are grouped into sections: all Amazon review files form one table (as the
loaders combine them), all Amazon meta files another, and every other path (a
MovieLens-style folder, ``u.data``, a CSV/TSV/parquet table, an image folder, a folder of
Amazon review files) is its own section. Each section is a plain dict (JSON-ready) that
:func:`format_summary` prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec.data.amazon import is_meta_file, load_amazon_meta, load_amazon_reviews
from visrec.data.column_names import NoIdColumnError
from visrec.data.id_spelling import id_notes
from visrec.data.images_index import IMAGE_SUFFIXES, scan_images
from visrec.data.interactions import ITEM, RATING, USER
from visrec.data.item_tables import ITEM_FILES, load_item_table
from visrec.data.tables import (
    INTERACTION_FILES,
    LoadResult,
    amazon_review_files,
    is_json_file,
    load_interactions,
    refuse_layout,
    unread_interaction_files,
)
from visrec.data.text_files import (
    PathLike,
    decode_text,
    first_text_line,
    no_first_line,
    sniff_sep,
    split_first,
)
from visrec.data.variants import count_variant_copies
from visrec.errors import InputNotFoundError, VisrecError, counted, names_text

_IMAGE_SUBDIRS = ("posters", "images", "photos", "img")
# Item-table columns shown as categories when present, in order of preference.
_CATEGORY_COLUMNS = ("masterCategory", "category", "main_cat", "genre")
MAX_BAD_SHOWN = 5


def summarize(
    paths: Sequence[PathLike], layout: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Summaries of ``paths``, one dict per section (see module docstring); ``layout``
    (``sep``, ``user_col``, ...) is passed to ``load_interactions`` for the tables."""
    lay = {k: v for k, v in (layout or {}).items() if v is not None}
    ps = [Path(p) for p in paths]
    for p in ps:
        if not p.exists():
            raise InputNotFoundError(p)
    reviews = [p for p in ps if p.is_file() and is_json_file(p) and not is_meta_file(p)]
    metas = [p for p in ps if p.is_file() and is_json_file(p) and is_meta_file(p)]
    sections: list[dict[str, Any]] = []
    for p in reviews + metas:  # as load_interactions refuses them: not silently ignored
        _refuse_layout(p, lay)
    if reviews:
        sections.append(_summarize_reviews(load_amazon_reviews(reviews, review_digest=True)))
    if metas:
        sections.append(_summarize_meta(load_amazon_meta(metas)))
    for p in ps:
        if p in reviews or p in metas:
            continue
        if not p.is_dir():
            sections.append(_summarize_table(p, lay))
            continue
        # Amazon metadata beside the reviews is part of the data set: summarised too
        # (it was left out without a word); a folder of metadata alone is that section
        folder_metas = sorted(
            f for f in p.iterdir() if f.is_file() and is_json_file(f) and is_meta_file(f)
        )
        if not (folder_metas and _only_metadata(p)):
            sections.append(_summarize_folder(p, lay))
        if folder_metas:
            sections.append(_summarize_meta(load_amazon_meta(folder_metas)))
    return sections


def _only_metadata(p: Path) -> bool:
    """Whether folder ``p`` holds none of what :func:`_summarize_folder` reads (an
    interactions file, Amazon reviews, an item table, images)."""
    return (
        not any((p / n).is_file() for n in (*INTERACTION_FILES, *ITEM_FILES))
        and not amazon_review_files(p)
        and _image_folder(p) is None
    )


def _refuse_layout(p: Path, layout: dict[str, Any]) -> None:
    """:func:`refuse_layout` for ``layout``, the keyword arguments of ``load_interactions``."""
    refuse_layout(p, layout.get("sep"), {k: v for k, v in layout.items() if k != "sep"})


# ---------------------------------------------------------------------- sections
def _base(kind: str, res: LoadResult) -> dict[str, Any]:
    return {
        "kind": kind,
        "files": list(res.files),
        "formats": dict(res.formats),
        "records_read": res.n_read,
        "rows": res.n_rows,
        "bad": _bad(res),
        # a quantity, a date under a name no alias has: seen here before a fit ignores it
        "columns_not_read": list(res.unread_columns),
        # the loader's notes on the ids (spaces removed around them), as commands say them
        "id_notes": list(res.notes),
    }


def _bad(res: LoadResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "count": res.n_bad,
        "by_kind": res.bad_by_kind(),
        "first": [str(b) for b in res.bad[:MAX_BAD_SHOWN]],
    }
    if res.warnings:
        out["repaired"] = len(res.warnings)
        out["repaired_first"] = [str(b) for b in res.warnings[:MAX_BAD_SHOWN]]
    return out


def _interaction_counts(df: pd.DataFrame, notes: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "users": int(df[USER].nunique()),
        "items": int(df[ITEM].nunique()),
        "duplicate_pairs": int(df.duplicated([USER, ITEM]).sum()),
        "id_notes": [*notes, *id_notes(df)],  # as the commands that train on it say them
    }
    if len(df):
        # how sparse: what reg="auto" reads (distinct pairs per item) and a split needs
        pairs = df[[USER, ITEM]].drop_duplicates()
        for key, col in (("items_per_user", USER), ("users_per_item", ITEM)):
            n = pairs.groupby(col, sort=False).size().to_numpy()
            out[key] = {
                "mean": round(float(n.mean()), 1),
                "median": float(np.median(n)),
                "min": int(n.min()),
                "max": int(n.max()),
            }
    if RATING in df.columns and len(df):
        r = df[RATING].to_numpy(dtype=np.float64)
        values, counts = np.unique(r, return_counts=True)
        if len(values) <= 20:
            out["ratings"] = {_num(v): int(c) for v, c in zip(values, counts, strict=True)}
        else:
            out["rating_stats"] = {
                "min": float(r.min()),
                "median": float(np.median(r)),
                "max": float(r.max()),
                "mean": float(r.mean()),
            }
        out["rating_mean"] = round(float(r.mean()), 4)
    return out


#: ratings (and means) this large are written with an exponent (written out: 16 digits
#: or more)
_WITH_EXPONENT = 1e15


def _num(v: float) -> str:
    # whole numbers as written, up to where they get an exponent
    if float(v).is_integer() and abs(v) < _WITH_EXPONENT:
        return str(int(v))
    short = f"{v:g}"
    # a value six digits cannot tell from its neighbour (0.3 and 0.30000000000000004,
    # 4.0000001) is written in full: else two ratings took one key and a count was lost
    return short if float(short) == v else repr(float(v))


def _mean(v: float) -> str:
    """A mean to three decimals, or with an exponent for a huge one."""
    return f"{v:.3f}" if abs(v) < _WITH_EXPONENT else f"{v:.4g}"


def _summarize_reviews(res: LoadResult) -> dict[str, Any]:
    df = res.frame
    out = _base("Amazon reviews", res)
    out.update(_interaction_counts(df, res.notes))
    has_photo = df["image"].map(len).to_numpy() > 0 if len(df) else np.zeros(0, dtype=bool)
    out["reviews_with_photos"] = int(has_photo.sum())
    out["photo_urls"] = int(df["image"].map(len).sum()) if len(df) else 0
    out["items_with_review_photos"] = int(df.loc[has_photo, ITEM].nunique())
    out["categories"] = {str(k): int(v) for k, v in df["category"].value_counts().items()}
    out["variant_copies"] = count_variant_copies(df)
    return out


def _summarize_meta(res: LoadResult) -> dict[str, Any]:
    df = res.frame
    out = _base("Amazon metadata", res)
    out["items"] = len(df)
    out["items_with_image_urls"] = int((df["image_urls"].map(len) > 0).sum()) if len(df) else 0
    out["categories"] = {str(k): int(v) for k, v in df["category"].value_counts().items()}
    mc = df["main_cat"][df["main_cat"] != ""]
    if len(mc):
        out["main_cat"] = {str(k): int(v) for k, v in mc.value_counts().head(10).items()}
    return out


def _summarize_table(p: Path, layout: dict[str, Any]) -> dict[str, Any]:
    if p.name in ITEM_FILES:
        return _summarize_items(_load_items_guess(p))
    if p.name.lower().endswith(".parquet"):
        vectors = _summarize_vectors(p)
        if vectors is not None:
            return vectors
    # Amazon review files never get here: summarize() groups them into one section.
    try:
        res = load_interactions(p, **layout)
    except NoIdColumnError as exc:
        if exc.column != USER:
            raise
        # an image manifest or an item table by another name: advice on renaming a
        # user column would be wrong
        raise VisrecError(
            f"{p}: no user column, so not an interactions table; data summary reads "
            f"interactions tables, item tables named {', '.join(ITEM_FILES)}, Amazon "
            "review and meta files, dataset folders and visrec vectors files (an image "
            "manifest is read by visrec embed --manifest)"
        ) from exc
    out = _base("interactions", res)
    out.update(_interaction_counts(res.frame, res.notes))
    return out


def _summarize_vectors(p: Path) -> dict[str, Any] | None:
    """A ``visrec embed`` vectors file (None for other Parquet): read as interactions it
    failed with "cannot tell which column holds the user ids"."""
    import pyarrow.parquet as pq

    from visrec.embed.store import (
        duplicate_groups,
        duplicate_note,
        finite_rows,
        is_foreign_file,
        read_vector_ids,
        read_vectors,
        usable_rows,
    )

    if is_foreign_file(p):
        # a vectors file made by other tools (no visrec metadata), which the other
        # commands read all the same
        try:
            names = set(pq.read_schema(p).names)
        except Exception:  # pyarrow raises many types for damaged files: not vectors
            return None
        if not {"item_id", "vector"} <= names or "user_id" in names:
            return None
    iv = read_vectors(p)
    finite = finite_rows(iv.vectors)
    in_range = usable_rows(iv.vectors)
    # the file's own flags (ids only: no zero rule): rows it calls images that are zeros
    flagged = read_vector_ids(p).has_image
    usable = iv.has_image & in_range  # a row of zeros has no image (ItemVectors)
    groups = duplicate_groups(iv.vectors, usable)
    return {
        "kind": "item vectors",
        "files": [str(p)],
        "formats": {str(p): "parquet"},
        "backbone": str(iv.meta.get("backbone", "unknown backbone")),
        "dim": iv.dim,
        "items": len(iv),
        "items_with_image": int(usable.sum()),
        # has_image rows the commands refuse: NaN/inf, and values beyond the range
        "not_finite": int((iv.has_image & ~finite).sum()),
        "huge": int((iv.has_image & finite & ~in_range).sum()),
        "all_zero": int((flagged & ~iv.has_image).sum()),
        # the same photo for many items: a placeholder image, or variants of one product
        "duplicate_vectors": {
            "items": sum(len(g) for g in groups),
            "groups": len(groups),
            "largest": [str(iv.ids[r]) for r in groups[0][:20]] if groups else [],
        },
        "duplicate_note": duplicate_note(iv.ids, groups),
        "bad": {"count": 0, "by_kind": {}, "first": []},
    }


def _summarize_items(res: LoadResult) -> dict[str, Any]:
    out = _base("item table", res)
    out["items"] = res.n_rows
    for col in _CATEGORY_COLUMNS:
        if col in res.frame.columns:
            text = res.frame[col].astype("string").str.strip()
            empty = text.isna() | (text == "")  # counted apart: not a category named ""
            counts = text[~empty].value_counts()
            out["category_column"] = col
            out["categories"] = {str(k): int(v) for k, v in counts.head(20).items()}
            if len(counts) > 20:
                out["categories_not_shown"] = len(counts) - 20
            out["items_without_category"] = int(empty.sum())
            out["category_total"] = res.n_rows  # shares of all items, not of those shown
            break
    return out


def _image_folder(p: Path) -> Path | None:
    for name in _IMAGE_SUBDIRS:
        if (p / name).is_dir():
            return p / name
    if any(c.suffix.lower() in IMAGE_SUFFIXES for c in p.iterdir() if c.is_file()):
        return p
    return None


def _images_beside_reviews(p: Path) -> list[str]:
    """Image folders and loose images in review folder ``p``: review photos are URLs
    inside the records, so these are not read, and are said to be left out."""
    unread = [f"{n}/" for n in _IMAGE_SUBDIRS if (p / n).is_dir()]
    loose = sum(1 for c in p.iterdir() if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES)
    if loose:
        unread.append(counted(loose, "image file"))
    return unread


def _summarize_folder(p: Path, layout: dict[str, Any]) -> dict[str, Any]:
    inter = next((p / n for n in INTERACTION_FILES if (p / n).is_file()), None)
    reviews = amazon_review_files(p) if inter is None else []
    if reviews:  # the one table load_interactions reads from this folder
        _refuse_layout(reviews[0], layout)
        section = _summarize_reviews(load_amazon_reviews(reviews, review_digest=True))
        if unread_images := _images_beside_reviews(p):
            section["files_not_read"] = unread_images
        return section
    items_file = next((p / n for n in ITEM_FILES if (p / n).is_file()), None)
    img_dir = _image_folder(p)
    scan = scan_images(img_dir) if img_dir is not None else None
    images = scan.images if scan is not None else {}
    out: dict[str, Any]
    if inter is not None:
        res = load_interactions(inter, **layout)
        out = _base("interactions", res)
        out.update(_interaction_counts(res.frame, res.notes))
        in_order = res.frame[ITEM].unique()  # first-seen order: a deterministic reference
        item_ids = set(in_order)
    elif items_file is not None:
        res = _load_items_guess(items_file)
        out = _summarize_items(res)
        in_order = res.frame[ITEM].unique()  # first-seen order: a deterministic reference
        item_ids = set(in_order)
    else:
        if img_dir is None:
            listing = ", ".join(sorted(c.name for c in p.iterdir())[:10])
            raise VisrecError(
                f"{p}: found no interactions ({', '.join(INTERACTION_FILES)}), item table "
                f"({', '.join(ITEM_FILES)}) or images here ("
                + (f"contents: {listing}" if listing else "the folder is empty")
                + ")"
            )
        out = {
            "kind": "image folder",
            "files": [],
            "formats": {},
            "rows": 0,
            "bad": {"count": 0, "by_kind": {}, "first": []},
        }
        item_ids = set()
        in_order = np.asarray([], dtype=object)
    out["folder"] = str(p)
    # a second table or image folder beside the one summarised: said, not a silent guess
    unread = [f.name for f in unread_interaction_files(p)] if inter is not None else []
    unread += [f"{n}/" for n in _IMAGE_SUBDIRS if img_dir != p / n and (p / n).is_dir()]
    if unread:
        out["files_not_read"] = unread
    if inter is not None and items_file is not None:
        cat = _load_items_guess(items_file)
        out["catalogue_items"] = cat.n_rows
    if img_dir is not None:
        out["image_folder"] = str(img_dir)
        out["images_found"] = len(images)
        # what `visrec embed` would skip in the same folder, said the same way
        out["images_skipped"] = scan.skipped_note() if scan is not None else None
        if item_ids:
            with_img = item_ids & images.keys()
            out["items_with_image"] = len(with_img)
            unmatched = sorted(images.keys() - item_ids)
            out["images_without_item"] = len(unmatched)
            if unmatched:  # which, and whether the items have them under another spelling
                from visrec.data.id_spelling import respelt, respelt_hint, shown

                more = f" and {len(unmatched) - 3:,} more" if len(unmatched) > 3 else ""
                out["images_without_item_note"] = (
                    f"{', '.join(shown(i) for i in unmatched[:3])}{more}"
                    + respelt_hint(respelt(unmatched, in_order), "the items")
                )
            if inter is not None:
                out["rows_on_items_with_image"] = int(res.frame[ITEM].isin(with_img).sum())
    return out


def _load_items_guess(path: Path) -> LoadResult:
    if path.name == "u.item":
        return load_item_table(path)
    # the line the item-table loader takes for the header (blank lines and rows of empty
    # fields skipped), decoded as it decodes it (compressed, latin-1, a "sep=;" line)
    decoded = decode_text(path)
    header = first_text_line(decoded.text)
    if not header:
        raise no_first_line(path, decoded.text, "an item table with a header")
    # Sniffed as the item-table loader does, so the id column is found in a tab-,
    # semicolon- or pipe-separated header as well as a comma-separated one.
    sep = decoded.sep or sniff_sep(header, path.suffix.lower())
    names = [h.strip() for h in split_first(header, sep)]
    known = ("item_id", "id", "asin", "sku", "product_id")
    id_col = next((c for c in known if c in names), None)
    if id_col is None:
        raise VisrecError(
            f"{path}: an item table needs an id column named {', '.join(known[:-1])} or "
            f"{known[-1]} (columns: {names_text(names)})"
        )
    return load_item_table(path, id_col=id_col)


# ---------------------------------------------------------------------- printing
def _pct(n: int, total: int) -> str:
    return f"({100.0 * n / total:.1f}%)" if total else ""


def _row(label: str, value: int, total: int | None = None) -> str:
    """A counted line: label, value, and its share of ``total`` when there is one."""
    pct = f"  {_pct(value, total)}" if total else ""
    return f"   {label:<32}{value:>10,}{pct}"


def _vector_lines(s: dict[str, Any]) -> list[str]:
    """The lines of an item vectors section, below its ``==`` header."""
    lines = [f"   item vectors ({s['backbone']}, {s['dim']} dimensions)"]
    lines.append(f"   {'items':<32}{s['items']:>10,}")
    lines.append(_row("items with an image", s["items_with_image"], s["items"]))
    for key, what in (
        ("not_finite", "NaN or infinite values (refused by the recommenders)"),
        ("huge", "values beyond ±1e12 (refused by the recommenders)"),
        ("all_zero", "all zeros (counted as no image)"),
    ):
        if s.get(key):
            lines.append(f"   has_image rows with {what}: {s[key]:,}")
    if s.get("duplicate_note"):
        lines.append(f"   note: {s['duplicate_note']}")
    return lines


def _interaction_lines(s: dict[str, Any], rows: int) -> list[str]:
    """Rows, users, items, repeated pairs and ratings of an interactions section."""
    lines = [
        _row("rows (reviews)" if s["kind"] == "Amazon reviews" else "rows (interactions)", rows),
        _row("users", s["users"]),
        _row("items", s["items"]),
    ]
    for key, label in (("items_per_user", "items per user"), ("users_per_item", "users per item")):
        if key in s:
            st = s[key]
            lines.append(
                f"   {label:<32}mean {st['mean']:g}, median {st['median']:g}, "
                f"{st['min']:,}-{st['max']:,}"
            )
    if s.get("duplicate_pairs"):
        # rows after a pair's first (134 in AMAZON_FASHION_5, over 81 pairs)
        lines.append(_row("rows repeating a user-item pair", s["duplicate_pairs"], rows))
    if s.get("variant_copies"):
        # All_Beauty_5: most rows; merge the variants before a split (docs/evaluation.md)
        lines.append(_row("copies of another item's review", s["variant_copies"], rows))
        lines.append(
            "     (same reviewer, time, stars and text as a row of another item: one "
            "review Amazon lists under each variant of a product; merge the variants "
            "before evaluating: visrec data merge-variants FILE -o merged.csv)"
        )
    if "ratings" in s:
        lines.append(f"   ratings (mean {_mean(s['rating_mean'])})")
        for k, v in s["ratings"].items():
            lines.append(f"     {k:<30}{v:>10,}  {_pct(v, rows)}")
    elif "rating_stats" in s:
        st = s["rating_stats"]
        lines.append(
            f"   ratings: min {st['min']:g}, median {st['median']:g}, "
            f"mean {_mean(st['mean'])}, max {st['max']:g}"
        )
    return lines


def _item_lines(s: dict[str, Any], rows: int) -> list[str]:
    """The counts of items, photos and images a section has (those it has keys for)."""
    lines: list[str] = []
    if s["kind"] == "Amazon reviews":
        lines.append(_row("reviews with photo URLs", s["reviews_with_photos"], rows))
        lines.append(_row("photo URLs", s["photo_urls"]))
        lines.append(_row("items with any review photo", s["items_with_review_photos"], s["items"]))
    if s["kind"] in ("Amazon metadata", "item table"):
        lines.append(_row("items", s["items"]))
    if s["kind"] == "Amazon metadata":
        lines.append(_row("items with image URLs", s["items_with_image_urls"], s["items"]))
    if "catalogue_items" in s:
        lines.append(_row("items in the item table", s["catalogue_items"]))
    if "images_found" in s:
        lines.append(_row(f"images in {Path(s['image_folder']).name}/", s["images_found"]))
        if s.get("images_skipped"):
            lines.append(f"   {s['images_skipped']}")
    if "items_with_image" in s:
        base = s.get("items") or s.get("catalogue_items") or 0
        lines.append(_row("items with an image", s["items_with_image"], base))
        lines.append(_row("images matching no item", s["images_without_item"]))
        if s.get("images_without_item_note"):
            lines.append(f"     {s['images_without_item_note']}")
    if "rows_on_items_with_image" in s:
        lines.append(_row("rows on items with an image", s["rows_on_items_with_image"], rows))
    return lines


def _category_lines(s: dict[str, Any]) -> list[str]:
    """The categories of a section with their shares (none when it has no category column)."""
    lines: list[str] = []
    # a category column of blanks only is said too (all "(no category)"), not left out
    if s.get("categories") or s.get("items_without_category"):
        col = s.get("category_column", "category")
        lines.append(f"   categories ({col})")
        total = s.get("category_total") or sum(s["categories"].values())
        for k, v in s["categories"].items():
            lines.append(f"     {k:<30}{v:>10,}  {_pct(v, total)}")
        if s.get("categories_not_shown"):
            lines.append(f"     ... and {s['categories_not_shown']:,} more")
        if s.get("items_without_category"):
            n = s["items_without_category"]
            lines.append(f"     {'(no category)':<30}{n:>10,}  {_pct(n, total)}")
    return lines


def _not_read_lines(s: dict[str, Any]) -> list[str]:
    """What reading left out or doubted: columns not read, bad records, warnings."""
    lines: list[str] = []
    if s.get("files_not_read"):
        reviews = s["kind"] == "Amazon reviews"  # every review file is read, no image
        files = s.get("files", [])
        read = [Path(f).name for f in (files if reviews else files[:1])]
        read += [f"{Path(s['image_folder']).name}/"] if s.get("image_folder") else []
        lines.append(f"   not read: {', '.join(s['files_not_read'])} (read: {', '.join(read)})")
        if reviews:
            lines.append(
                "     (review photos are the URLs in the records; give an image folder "
                "itself to summarise it)"
            )
        else:
            lines.append("     (give the file or image folder itself to read another)")
    if s.get("columns_not_read"):
        names = ", ".join(s["columns_not_read"])
        lines.append(f"   columns not read (every row is one interaction): {names}")
    bad = s["bad"]
    if bad["count"]:
        kinds = ", ".join(f"{k} {n:,}" for k, n in bad["by_kind"].items())
        lines.append(f"   bad records (not kept): {bad['count']:,} ({kinds})")
        lines += [f"     {b}" for b in bad["first"]]
        if bad["count"] > len(bad["first"]):
            lines.append(f"     ... and {bad['count'] - len(bad['first']):,} more")
    else:
        lines.append("   bad records (not kept): 0")
    if bad.get("repaired"):
        # rows repaired (extra fields merged) or kept with a doubt (an unreadable
        # 'verified', a file read as latin-1 although some lines were UTF-8)
        lines.append(f"   warnings (rows kept): {bad['repaired']:,}")
        lines += [f"     {b}" for b in bad["repaired_first"]]
    return lines


def format_summary(sections: Sequence[dict[str, Any]]) -> str:
    """Human-readable text for :func:`summarize`'s output."""
    blocks = []
    for s in sections:
        lines: list[str] = []
        where = s.get("folder") or ", ".join(s["files"])
        fmts = sorted(set(s.get("formats", {}).values()))
        lines.append(f"== {where}")
        if s["kind"] == "item vectors":
            lines += _vector_lines(s)
            blocks.append("\n".join(lines))
            continue
        lines.append(f"   {s['kind']}" + (f"; {', '.join(fmts)}" if fmts else ""))
        rows = int(s.get("rows", 0))
        if s["kind"] in ("Amazon reviews", "interactions"):
            lines += _interaction_lines(s, rows)
        for text in s.get("id_notes") or ():
            lines.append(f"   note: {text}")
        lines += _item_lines(s, rows)
        lines += _category_lines(s)
        lines += _not_read_lines(s)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
