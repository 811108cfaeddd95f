"""Item-table loader: an item id plus attributes (category, title, ...) per row.

CSV/TSV (separator sniffed), Parquet, MovieLens ``u.item`` (pipe-separated,
latin-1, 19 genre flags) and Amazon ``meta_<Category>.json[.gz]`` metadata. Like the
interactions loader it returns a :class:`~visrec.data.load_result.LoadResult` that keeps
every record it could not use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from visrec.data.column_names import column_key
from visrec.data.id_spelling import ids_as_text, written_two_ways
from visrec.data.interactions import ITEM
from visrec.data.row_reasons import field_count_hint, nul_id_reason, spaced_note
from visrec.data.tables import (
    BadRecord,
    LoadResult,
    encoding_warnings,
    is_json_file,
    multiline_warnings,
    read_parquet_frame,
)
from visrec.data.text_files import (
    PathLike,
    decode_text,
    first_text_line,
    header_row,
    no_first_line,
    resolve_folder,
    sniff_sep,
    split_rows,
    text_lines,
)
from visrec.errors import InputNotFoundError, VisrecError, agree, counted, names_text

# File names searched in a dataset folder, in order of preference.
ITEM_FILES = ("u.item", "styles.csv", "items.csv")

ML_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def load_item_table(
    path: PathLike, id_col: str = "id", label_col: str | None = None, *, sep: str | None = None
) -> LoadResult:
    """Load an item table (id plus attributes such as a category).

    Parameters
    ----------
    path : str or Path
        CSV/TSV/parquet with a header, e.g. fashion-products ``styles.csv``; or a
        MovieLens ``u.item`` (pipe-separated, latin-1, no header) or a folder holding
        it, which gives columns ``item_id``, ``title``, ``release_date``, ``genres``
        (``|``-joined) and ``genre`` (the first listed genre); or an Amazon
        ``meta_<Category>.json[.gz]`` (``id_col`` ``"asin"``; the 2023 release's
        ``.jsonl[.gz]``, ``"parent_asin"``), which gives the columns of
        :func:`visrec.data.amazon.load_amazon_meta` with ``categories`` joined by " > "
        (and ``main_cat`` also as ``main_category``, the 2023 name).
    id_col : str, default "id"
        Column with the item ids; renamed to ``item_id`` (str). Ignored for u.item.
    label_col : str, optional
        Column that must be present; rows with an empty label are dropped and reported.
    sep : str, optional
        Field separator; sniffed when omitted.

    Returns
    -------
    LoadResult
        Rows with more fields than the header (unquoted commas in a free-text column)
        are repaired by joining the extra fields into the last column when that is not
        the id or label column (listed in ``warnings``), otherwise dropped (``bad``).
        Rows with too few fields, empty ids, ids holding a NUL byte (a damaged file's),
        empty labels or duplicate ids are in ``bad``; of the rows sharing an id, the
        first one not rejected for another reason is kept (a row with an empty label
        does not shadow a later labelled one). Records kept whose quoted field ran
        over several lines (a quote left open swallows the rows after it) are said in
        ``warnings``.
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(p)
    if p.is_dir():
        p = resolve_folder(p, ITEM_FILES, "item table")
    if p.name == "u.item":
        result = _load_ml_items(p)
    elif is_json_file(p):
        result = _load_meta_items(p, id_col)
    elif p.name.lower().endswith(".parquet"):
        result = _load_parquet_items(p, id_col)
    else:
        result = _load_text_items(p, id_col, label_col, sep)
    if label_col is not None:
        col = "genre" if p.name == "u.item" and label_col in ("genre", "genres") else label_col
        # not the loader's own "_line" either: --label-col line would rename it
        in_file = spelt_as(col, [str(c) for c in result.frame.columns if c not in (ITEM, "_line")])
        if in_file != col:  # 'MasterCategory' for masterCategory: known by the name typed
            result.frame = result.frame.rename(columns={in_file: col})
        if col == "_line" or col not in result.frame.columns:
            # The file's own names: not the internal "_line", the id column as spelled there.
            id_name = ITEM if p.name == "u.item" else id_col
            shown = [id_name if c == ITEM else c for c in result.frame.columns if c != "_line"]
            if label_col == id_name:  # it is there: read as the ids
                raise VisrecError(
                    f"{p}: {label_col!r} is the id column, so it cannot be the label "
                    f"column too; name another (columns: {names_text(shown)})"
                )
            raise VisrecError(f"{p}: no label column {label_col!r} (columns: {names_text(shown)})")
        lab = result.frame[col]
        empty = (lab.isna() | (lab.astype(str).str.strip() == "")).to_numpy()
        if empty.any():
            # Every branch above adds "_line", the record's line (row) in the file.
            lines = result.frame["_line"].to_numpy()
            for j in np.flatnonzero(empty):
                result.bad.append(
                    BadRecord(
                        str(p),
                        int(lines[j]),
                        "empty label",
                        f"item {result.frame[ITEM].iloc[j]!r}: empty {label_col!r}",
                    )
                )
            result.frame = result.frame[~empty].reset_index(drop=True)
            result.bad.sort(key=lambda b: b.line)
    # Repeated ids are resolved only now, among the rows that survived the label check:
    # a rejected row must not count as the item's first occurrence, or a later valid row
    # would be dropped as its "duplicate" and the item left with no row at all.
    result = _dedupe_items(result, str(p))
    result.frame = result.frame.drop(columns="_line")
    return result


def spelt_as(want: str, names: Sequence[str]) -> str:
    """The column ``want`` names: itself, else the one column whose name differs from
    it only in case, spaces, '_', '-' or '.' (as ``--user-col`` finds its column),
    else ``want`` (for the error that follows)."""
    if want in names:
        return want
    same = [n for n in names if column_key(n) == column_key(want)]
    return same[0] if len(same) == 1 else want


def _load_parquet_items(p: Path, id_col: str) -> LoadResult:
    """A parquet item table; ids as the interactions loader reads them (whole-number
    floats as integers), a null or empty id is a bad record with its row number."""
    df = read_parquet_frame(p)
    id_col = spelt_as(id_col, [str(c) for c in df.columns])
    if id_col not in df.columns:
        raise VisrecError(f"{p}: no column {id_col!r} (columns: {names_text(df.columns)})")
    if ITEM in df.columns and id_col != ITEM:
        raise VisrecError(
            f"{p}: column {ITEM!r} clashes with the loader's own {ITEM!r} "
            f"(the id column {id_col!r} becomes {ITEM!r}); rename it"
        )
    where = str(p)
    raw_ids = ids_as_text(df[id_col], where)
    ids = raw_ids.str.strip()
    empty = (ids.isna() | (ids == "")).to_numpy()
    lines = np.arange(1, len(df) + 1, dtype=np.int64)
    bad = [
        BadRecord(where, int(lines[j]), "empty item id", f"row {lines[j]}: empty {id_col!r}")
        for j in np.flatnonzero(empty)
    ]
    # a NUL byte, kept as read, would make an id no other file spells
    nul = ~empty & ids.str.contains("\x00", regex=False, na=False).to_numpy(dtype=bool)
    bad += [
        BadRecord(
            where,
            int(lines[j]),
            "NUL in item id",
            f"row {lines[j]}: {nul_id_reason('item', ids.iloc[j])}",
        )
        for j in np.flatnonzero(nul)
    ]
    bad.sort(key=lambda b: b.line)
    df = df.rename(columns={id_col: ITEM})
    df[ITEM] = ids
    df["_line"] = lines
    kept = ~(empty | nul)
    df = df[kept].reset_index(drop=True)
    spaced = spaced_note("item", raw_ids[kept & (raw_ids != ids).to_numpy(dtype=bool)].unique())
    return LoadResult(
        frame=df,
        bad=bad,
        n_read=len(lines),
        files=[where],
        formats={where: "parquet"},
        notes=[spaced] if spaced else [],
    )


def _load_meta_items(p: Path, id_col: str) -> LoadResult:
    """An Amazon ``meta_<Category>.json[.gz]`` file as an item table (``item_id`` =
    asin; ``categories``, the record's breadcrumb list, joined with " > ")."""
    from visrec.data.amazon import is_meta_file, load_amazon_meta

    if not is_meta_file(p):
        from visrec.data.tables import is_review_file

        # a review file repeats each asin once per review: not one row per item
        review = is_review_file(p)
        what = (
            "an Amazon review file, not an item table"
            if review
            else "not an item table (a JSON file is read only as Amazon metadata)"
        )
        photos = (
            " (for review photos, a 'review_id,category' CSV: docs/analysis.md, visrec cluster)"
            if review
            else ""
        )
        raise VisrecError(
            f"{p}: {what}; give the category's meta_<Category>.json[.gz] or a CSV such as "
            f"'asin,category'{photos}"
        )
    if id_col not in ("asin", "parent_asin", ITEM):  # parent_asin: the 2023 release's
        raise VisrecError(
            f"{p}: Amazon metadata is keyed by 'asin' ('parent_asin' in the 2023 release); "
            f"got id column {id_col!r}"
        )
    # repeated asins are resolved after the label check, as for other tables
    result = load_amazon_meta(p, with_lines=True, keep_repeats=True)
    # "_where" (file and line, for fetch's messages) is no column of the file: an item
    # table keeps only the internal "_line", which the caller drops
    result.frame = result.frame.drop(columns="_where")
    result.frame["categories"] = [" > ".join(c) for c in result.frame["categories"]]
    # the 2023 release's name for main_cat, so --label-col takes the file's own name
    result.frame["main_category"] = result.frame["main_cat"]
    return result


def _unique_names(header: list[str]) -> list[str]:
    """Header names made unique: the first of each non-blank name keeps it; a repeat
    gets ``.1``, ``.2``, ... and a blank one becomes ``unnamed`` (numbered the same way)."""
    first = {h: k for k, h in reversed(list(enumerate(header))) if h}
    taken = set(first)
    out: list[str] = []
    for k, h in enumerate(header):
        if h and first[h] == k:
            out.append(h)
            continue
        base, n = h or "unnamed", 0
        name = base if not h and base not in taken else f"{base}.{n + 1}"
        while name in taken:
            n += 1
            name = f"{base}.{n + 1}"
        taken.add(name)
        out.append(name)
    return out


def _load_text_items(p: Path, id_col: str, label_col: str | None, sep: str | None) -> LoadResult:
    """A CSV/TSV item table with a header line (separator sniffed unless ``sep``)."""
    decoded = decode_text(p)
    text = decoded.text
    first = first_text_line(text)
    if not first:
        raise no_first_line(p, text, "an item table with a header")
    if sep is None:
        sep = decoded.sep or sniff_sep(first, p.suffix.lower())
    where = str(p)
    # records whose quoted field runs over lines: a quote left open in a title makes
    # the rows after it part of that field, said as the interactions loader says it
    multiline: list[tuple[int, int]] = []
    rows = iter(split_rows(text, sep, where, multiline))
    names = header_row(rows, where)
    id_col = spelt_as(id_col, names)
    label_col = None if label_col is None else spelt_as(label_col, names)
    header = _checked_header(names, id_col, label_col, where)
    warnings = encoding_warnings(decoded, where)
    spaced: list[str] = []
    data, lines, bad, n_read = _item_rows(
        rows, header, id_col, label_col, sep, where, warnings, names, spaced
    )
    warnings += multiline_warnings(multiline, bad, where)
    df = pd.DataFrame(data, columns=header)
    df = df.rename(columns={id_col: ITEM})
    df[ITEM] = df[ITEM].astype(str)
    result = LoadResult(
        frame=df,
        bad=bad,
        warnings=warnings,
        n_read=n_read,
        files=[where],
        formats={where: f"table with header, sep {sep!r}"},
        notes=[n for n in [spaced_note("item", spaced)] if n],
    )
    df["_line"] = np.asarray(lines, dtype=np.int64)
    return result


def _checked_header(header: list[str], id_col: str, label_col: str | None, where: str) -> list[str]:
    """The header's names made unique; a VisrecError if the id column is missing or clashes."""
    # every column becomes a frame column: the id or label column twice broke `cluster
    # --labels`, so that is refused; other repeats (an export's blank trailing columns,
    # two 'note' columns) are numbered as pandas does ('note', 'note.1'; blank: 'unnamed')
    repeated = [h for h in (id_col, label_col) if h is not None and header.count(h) > 1]
    if repeated:
        raise VisrecError(
            f"{where}: the header names column {repeated[0]!r} more than once; rename or "
            "drop the extra ones"
        )
    header = _unique_names(header)
    taken = [h for h in header if h == "_line" or (h == ITEM and id_col != ITEM)]
    if taken and id_col in header:
        # the id column is renamed item_id and "_line" holds each row's line
        raise VisrecError(
            f"{where}: column {taken[0]!r} clashes with the loader's own {taken[0]!r} "
            f"(the id column {id_col!r} becomes {ITEM!r}); rename it"
        )
    if id_col not in header:
        numeric = any(header) and all(
            h.replace(".", "", 1).lstrip("-").isdigit() for h in header if h
        )
        hint = (
            "; its first line looks like data, not a header: the table needs a header line "
            "naming the id and label columns"
            if numeric
            else ""
        )
        raise VisrecError(f"{where}: no id column {id_col!r} (columns: {names_text(header)}){hint}")
    return header


def _item_rows(
    rows: Iterator[tuple[int, list[str]]],
    header: list[str],
    id_col: str,
    label_col: str | None,
    sep: str,
    where: str,
    warnings: list[BadRecord],
    names: Sequence[str] = (),
    spaced: list[str] | None = None,
) -> tuple[list[list[str]], list[int], list[BadRecord], int]:
    """``(data, lines, bad, n_read)`` of the data ``rows``; merges go to ``warnings``.
    ``names``: the header line's names as read (``header`` has them made unique);
    ``spaced`` gets the ids kept that had spaces around them, as written."""
    idx = header.index(id_col)
    n = len(header)
    # Extra fields can only be merged into a last column that is free text.
    mergeable = header[-1] not in (id_col, label_col)
    bad: list[BadRecord] = []
    data: list[list[str]] = []
    lines: list[int] = []
    n_read = 0
    for line, fields in rows:
        n_read += 1
        if len(fields) > n and mergeable:
            warnings.append(
                BadRecord(
                    where,
                    line,
                    "extra fields merged",
                    f"expected {n} fields, got {len(fields)}; joined the extra fields "
                    f"into {header[-1]!r}",
                )
            )
            fields = [*fields[: n - 1], sep.join(fields[n - 1 :])]
        elif len(fields) != n:
            bad.append(
                BadRecord(
                    where,
                    line,
                    "wrong field count",
                    f"expected {n} fields, got {len(fields)}" + field_count_hint(fields, n, names),
                )
            )
            continue
        if not fields[idx].strip():
            bad.append(BadRecord(where, line, "empty item id", f"empty {id_col!r}"))
            continue
        if "\x00" in fields[idx]:
            reason = nul_id_reason("item", fields[idx].strip())
            bad.append(BadRecord(where, line, "NUL in item id", reason))
            continue
        if fields[idx].strip() == id_col and all(
            f.strip() == h for f, h in zip(fields, header, strict=True) if f.strip()
        ):  # cat a.csv b.csv: b's header would become the item 'id'
            bad.append(
                BadRecord(where, line, "header repeated", "a header line again (files joined?)")
            )
            continue
        data.append([f.strip() for f in fields])
        lines.append(line)
        if spaced is not None and fields[idx] != data[-1][idx]:
            spaced.append(fields[idx])
    return data, lines, bad, n_read


def _dedupe_items(result: LoadResult, where: str) -> LoadResult:
    """Drop rows whose id appeared on an earlier kept row (first kept), listing them in
    ``bad``; the frame must have ``_line``."""
    df = result.frame
    dup = df.duplicated(ITEM, keep="first").to_numpy()
    if dup.any():
        first_line = df.drop_duplicates(ITEM).set_index(ITEM)["_line"]
        for j in np.flatnonzero(dup):
            item = df[ITEM].iloc[j]
            result.bad.append(
                BadRecord(
                    where,
                    int(df["_line"].iloc[j]),
                    "duplicate item id",
                    f"item {item!r} already on line {int(first_line[item])} (kept that)",
                )
            )
        result.bad.sort(key=lambda b: b.line)
        df = df[~dup].reset_index(drop=True)
    result.frame = df
    return result


def _load_ml_items(p: Path) -> LoadResult:
    # latin-1 as GroupLens writes it, but a copy saved as UTF-8 stays UTF-8 (read as
    # latin-1, 'Misérables' would become 'MisÃ©rables')
    decoded = decode_text(p)
    text = decoded.text
    genres = list(ML_GENRES)
    genre_file = p.with_name("u.genre")
    if genre_file.is_file():
        named = [
            ln.split("|")[0]
            for ln in genre_file.read_text(encoding="latin-1").splitlines()
            if "|" in ln
        ]
        if named:
            genres = named
    where = str(p)
    n_expected = 5 + len(genres)
    spaced: list[str] = []
    bad: list[BadRecord] = []
    rows: list[dict[str, object]] = []
    lines: list[int] = []
    n_read = 0
    for line, raw in enumerate(text_lines(text), start=1):
        if not raw.strip():
            continue
        n_read += 1
        f = raw.split("|")
        if len(f) != n_expected:
            bad.append(
                BadRecord(
                    where,
                    line,
                    "wrong field count",
                    f"expected {n_expected} '|'-separated fields, got {len(f)}"
                    + field_count_hint(f, n_expected),
                )
            )
            continue
        if not f[0].strip():
            bad.append(BadRecord(where, line, "empty item id", "empty first field (the movie id)"))
            continue
        if "\x00" in f[0]:
            bad.append(
                BadRecord(where, line, "NUL in item id", nul_id_reason("item", f[0].strip()))
            )
            continue
        flags = [g for g, v in zip(genres, f[5:], strict=True) if v.strip() == "1"]
        rows.append(
            {
                ITEM: f[0].strip(),
                "title": f[1],
                "release_date": f[2],
                "genres": "|".join(flags),
                "genre": flags[0] if flags else "unknown",
            }
        )
        lines.append(line)
        if f[0] != f[0].strip():
            spaced.append(f[0])
    df = pd.DataFrame(rows, columns=[ITEM, "title", "release_date", "genres", "genre"])
    result = LoadResult(
        frame=df,
        bad=bad,
        warnings=encoding_warnings(decoded, where),
        n_read=n_read,
        files=[where],
        formats={where: "MovieLens u.item"},
        notes=[n for n in [spaced_note("item", spaced)] if n],
    )
    df["_line"] = np.asarray(lines, dtype=np.int64)
    return result


def label_spelling_notes(where: str, raw: pd.Series, labels: pd.Series) -> list[str]:
    """What a label column writes two ways, each line starting with ``where``: with and
    without spaces around (``raw`` as read, ``labels`` trimmed: taken as one label, as ids
    are), or two ways that print alike (two labels, as written: two columns a table shows
    with one name): two Unicode forms, with and without a zero-width character, with '-'
    and a dash that looks like it (:data:`visrec.data.id_spelling.PRINT_ALIKE`). ``visrec
    cluster``, ``similar`` and ``demo`` say these of the same labels alike."""
    notes = []
    distinct = raw.drop_duplicates()
    stripped = distinct.str.strip()
    joined = stripped[stripped.duplicated(keep=False)].drop_duplicates()
    if len(joined):
        spellings = distinct[stripped.isin(joined.iloc[:2])].tolist()[:4]
        notes.append(
            f"{where}: {counted(len(joined), 'label')} written with and without spaces "
            f"around {agree(len(joined), 'it', 'them')} ({', '.join(ascii(v) for v in spellings)}) "
            f"{agree(len(joined), 'is taken as one', 'are taken as one each')}"
        )
    # the checks of ids, each said as of labels
    for n, how, _, listed in written_two_ways(labels.drop_duplicates().to_numpy(dtype=object)):
        notes.append(
            f"{where}: {counted(n, 'label')} {how} ({listed}): two labels, as written; write "
            f"{agree(n, 'it', 'each')} one way"
        )
    return notes
