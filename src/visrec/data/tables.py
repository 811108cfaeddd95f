"""Interactions loader: CSV/TSV/parquet/MovieLens tables of user-item rows.

Every loader returns a :class:`LoadResult`: the parsed frame with canonical column
names plus the records that could not be used, each with file and line, so nothing is
dropped silently. ``LoadResult``, ``BadRecord``, ``by_kind_text`` and
``encoding_warnings`` are in :mod:`visrec.data.load_result`; they are re-exported here.
Amazon review files (``.json`` / ``.json.gz``) are handled by
:mod:`visrec.data.amazon`, which :func:`load_interactions` dispatches to. The column
aliases and the matching of a header to the canonical columns (``ALIASES``,
``column_key``, ``is_item_header``, ``NoIdColumnError``, ...) are in
:mod:`visrec.data.column_names`; their public names are re-exported here. The rows
read are checked (field counts, ids, ratings, times) into the canonical frame by
:mod:`visrec.data.interaction_rows`; a time column is read there as epoch numbers or
dates into int64 seconds by :mod:`visrec.data.timestamps`.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from visrec.data.column_names import ALIASES as ALIASES
from visrec.data.column_names import ALL_COLUMNS as ALL_COLUMNS
from visrec.data.column_names import NUMBER, _match_columns, role_option, shared_column_error
from visrec.data.column_names import SHOP_TIME_ALIASES as SHOP_TIME_ALIASES
from visrec.data.column_names import NoIdColumnError as NoIdColumnError
from visrec.data.column_names import column_key as column_key
from visrec.data.column_names import is_item_header as is_item_header
from visrec.data.column_names import is_user_header as is_user_header
from visrec.data.id_spelling import ids_as_text, is_one_id
from visrec.data.interaction_rows import Header, _fast_parse, _parse_rows
from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER
from visrec.data.load_result import BadRecord as BadRecord
from visrec.data.load_result import LoadResult as LoadResult
from visrec.data.load_result import by_kind_text as by_kind_text
from visrec.data.load_result import encoding_warnings as encoding_warnings
from visrec.data.text_files import (
    DecodedText,
    PathLike,
    decode_text,
    first_text_line,
    header_row,
    no_first_line,
    read_head,
    resolve_folder,
    sniff_sep,
    split_first,
    split_rows,
)
from visrec.errors import (
    ArgumentTypeError,
    InputNotFoundError,
    VisrecError,
    agree,
    counted,
    names_text,
    unreadable_file,
)

# File names searched in a dataset folder, in order of preference.
INTERACTION_FILES = ("u.data", "ratings.csv", "ratings.dat", "interactions.csv")
# Names that load_interactions hands to the Amazon review loader.
JSON_SUFFIXES = tuple(
    f".{kind}{packed}" for kind in ("json", "jsonl") for packed in ("", ".gz", ".bz2", ".xz")
)


def is_json_file(path: PathLike) -> bool:
    """True for ``.json`` and ``.jsonl`` names, plain or ``.gz``, ``.bz2``, ``.xz``
    (compressed as the tables may be)."""
    return Path(path).name.lower().endswith(JSON_SUFFIXES)


# How much of a JSON file's (decompressed) start is searched for a review's field name.
_SNIFF_BYTES = 1 << 16


def amazon_review_files(folder: PathLike) -> list[Path]:
    """The Amazon review files directly in ``folder`` (``.json[l]`` names, plain or compressed, not
    ``meta_*``, holding a ``"reviewerID"``, or in the 2023 release a ``"user_id"`` and
    a ``"parent_asin"``, near the start), sorted by name: what
    ``load_interactions`` reads from a folder holding no interactions table."""
    return sorted((c for c in Path(folder).iterdir() if is_review_file(c)), key=lambda c: c.name)


def is_review_file(path: Path) -> bool:
    """Whether ``path`` is an Amazon review file as :func:`amazon_review_files` finds
    them in a folder."""
    return (
        path.is_file()
        and is_json_file(path)
        and not path.name.startswith("meta_")
        and _looks_like_reviews(path)
    )


def _looks_like_reviews(path: Path) -> bool:
    """False for a JSON file whose start holds no review field (a visrec
    ``model.json``, an ``evaluate --json`` result): read as reviews, each of its records
    was a bad record, and a model folder given as --interactions failed with "no
    'reviewerID' field" instead of "no interactions file". A file that cannot be read
    counts as reviews, so the loader names the problem."""
    import lzma
    import zlib

    try:
        head = read_head(path, _SNIFF_BYTES)  # decompressed as the loader reads it
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
        return True
    # the 2018 release's field, or the 2023 release's pair (its metadata has no user_id)
    return b'"reviewerID"' in head or (b'"user_id"' in head and b'"parent_asin"' in head)


def interaction_sources(path: PathLike) -> list[Path]:
    """The files ``load_interactions(path)`` reads: ``path`` itself, or for a folder the
    first of ``INTERACTION_FILES`` in it, else its Amazon review files (all of them, as
    one table).

    Raises
    ------
    VisrecError
        A folder holding none of those, naming what was looked for and what is there.
    """
    p = Path(path)
    if not p.is_dir():
        return [p]
    if not any((p / n).is_file() for n in INTERACTION_FILES):
        reviews = amazon_review_files(p)
        if reviews:
            return reviews
        _refuse_parquet_dataset(p)
    return [resolve_folder(p, INTERACTION_FILES, "interactions")]


def _refuse_parquet_dataset(p: Path) -> None:
    """One error that says what a folder of Parquet parts (as Spark, Dask or
    ``to_parquet(partition_cols=...)`` write) is, and how to make the one file read."""
    written = (p / "_SUCCESS").exists()  # Spark's mark of a finished write
    parts = sorted(
        f.name
        for f in p.iterdir()
        if (f.is_dir() and "=" in f.name)  # a partition column's folder: rating=4
        or (
            f.suffix.lower() == ".parquet"
            and (written or f.name.startswith("part") or f.name.endswith(".snappy.parquet"))
        )
    )
    if parts:
        more = f" and {len(parts) - 3:,} more" if len(parts) > 3 else ""
        raise VisrecError(
            f"{p}: a folder of Parquet parts ({names_text(parts[:3])}{more}); "
            "interactions are read from one file: join them first, e.g. "
            f"pandas.read_parquet({str(p)!r}).to_parquet('interactions.parquet')"
        )


def unread_interaction_files(folder: PathLike) -> list[Path]:
    """The interactions files in ``folder`` that ``load_interactions(folder)`` leaves
    unread (it reads the first of ``INTERACTION_FILES``): a ``ratings.csv`` beside a
    ``u.data``, Amazon review files beside a table. Empty for a file."""
    p = Path(folder)
    if not p.is_dir():
        return []
    read = set(interaction_sources(p))
    there = [p / n for n in INTERACTION_FILES if (p / n).is_file()]
    if there:
        there += amazon_review_files(p)
    return [f for f in there if f not in read]


# --------------------------------------------------------------------- interactions
_ML_ROW = re.compile(r"^\s*\d+(\t|::)\d+\1\d+(\.\d+)?\1\d+\s*$")

#: 2-4 numbers separated by spaces only: a whitespace-separated headerless table
_SPACED_NUMBERS = r"\s*[-+]?\d+(?:\.\d+)?(?: +[-+]?\d+(?:\.\d+)?){1,3}\s*"


def load_interactions(
    path: PathLike,
    *,
    sep: str | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    timestamp_col: str | None = None,
    ids_only: bool = False,
    keep_rating: bool = False,
    keep_time: bool = False,
    review_digest: bool = False,
    peek_rating: bool = False,
) -> LoadResult:
    """Load a user-item interactions table.

    Parameters
    ----------
    path : str or Path
        A CSV/TSV file (a header ``user_id,item_id[,rating,timestamp]`` is always
        accepted; common aliases such as ``userId``, ``movieId``, ``reviewerID``,
        ``asin``, ``overall``, ``unixReviewTime`` are recognised), a parquet file, a
        MovieLens ``u.data`` (tab-separated, no header) or ``ratings.dat`` (``::``),
        a folder holding one of those, an Amazon review file (``.json[.gz]``), or a
        folder of Amazon review files (read together as one table, see
        :func:`interaction_sources`).
        A headerless file of 2-4 numeric columns is read as user, item, rating,
        timestamp.
    sep : str, optional
        Field separator; sniffed from the first line when omitted.
    user_col, item_col, rating_col, timestamp_col : str, optional
        Column names to use instead of the aliases.
    ids_only : bool, default False
        Read only the user and item columns (plus those ``keep_rating``/``keep_time``
        ask for), for implicit feedback where every row is a positive: a field that is
        not read is not parsed, so a blank or malformed rating or timestamp there does
        not drop the row. ``rating_col``/``timestamp_col`` need ``keep_rating``/
        ``keep_time`` with it. Amazon review files keep records with a missing
        ``overall`` or time.
    keep_rating : bool, default False
        With ``ids_only``, read the rating too (for a ``--min-rating`` threshold): a row
        without a usable rating is still dropped and reported, one without a usable time
        is not (unless ``keep_time``).
    keep_time : bool, default False
        With ``ids_only``, read the timestamp too (for a split by time): a row without a
        usable time is still dropped and reported, one without a usable rating is not
        (unless ``keep_rating``).
    review_digest : bool, default False
        For Amazon review files, add their ``review_digest`` and ``review_has_text``
        columns (what tells a review Amazon copied under several variants of a product,
        :mod:`visrec.data.variants`); other tables have none.
    peek_rating : bool, default False
        With ``keep_rating``, a text or Parquet table's rating that is no usable number
        neither drops nor reports its row: it reads as NaN, and the rows, ``bad`` and
        ``warnings`` are those of the load without the rating (one parse where a note
        only looks at the ratings). Amazon review files drop and report such a row.

    Returns
    -------
    LoadResult
        ``frame`` has ``user_id`` and ``item_id`` (str), and when present ``rating``
        (float64) and ``timestamp`` (int64 seconds); with ``ids_only``, only those of
        the two that ``keep_rating``/``keep_time`` ask for. Rows with a wrong field
        count, an empty id, or a non-numeric rating or timestamp in a column that is
        read are in ``bad`` with line numbers.
    """
    if not isinstance(path, str | os.PathLike):  # a DataFrame: Interactions.from_frame
        raise ArgumentTypeError(
            f"load_interactions takes a file or folder path, got {type(path).__name__}"
            + (
                " (a table already in memory: Interactions.from_frame(df))"
                if isinstance(path, pd.DataFrame)
                else ""
            )
        )
    p = Path(path)
    _refuse_options(p, sep, ids_only, keep_rating, keep_time)
    explicit = {USER: user_col, ITEM: item_col, RATING: rating_col, TIMESTAMP: timestamp_col}
    if p.is_dir():
        sources = interaction_sources(p)
        if len(sources) > 1 or is_json_file(sources[0]):
            # Amazon's categories come one file each (the tutorial combined three)
            refuse_layout(sources[0], sep, explicit)
            return _load_reviews(sources, ids_only, keep_rating, keep_time, review_digest)
        p = sources[0]
    _refuse_movielens_side_table(p)
    refuse_amazon_meta(p)
    _refuse_ignored_columns(p, explicit, ids_only, keep_rating, keep_time)
    refuse_layout(p, sep, explicit)
    _refuse_shared_columns(p, explicit)
    if is_json_file(p):
        return _load_reviews(p, ids_only, keep_rating, keep_time, review_digest)
    if p.name.lower().endswith(".parquet"):
        return _load_parquet_interactions(
            p, explicit, ids_only, keep_rating, keep_time, soft_rating=peek_rating
        )
    return _load_text_interactions(
        p, sep, explicit, ids_only, keep_rating, keep_time, soft_rating=peek_rating
    )


def _refuse_options(
    p: Path, sep: str | None, ids_only: bool, keep_rating: bool, keep_time: bool
) -> None:
    """Errors for a path that does not exist and for options that cannot apply."""
    if not p.exists():
        raise InputNotFoundError(p)
    if sep == "":
        raise VisrecError(f"{p}: an empty separator (sep, --sep) splits nothing; give one")
    if keep_rating and not ids_only:
        raise VisrecError(
            f"{p}: keep_rating only applies with ids_only (the rating is read anyway)"
        )
    if keep_time and not ids_only:
        raise VisrecError(f"{p}: keep_time only applies with ids_only (the time is read anyway)")


def _load_reviews(
    source: Path | list[Path],
    ids_only: bool,
    keep_rating: bool,
    keep_time: bool,
    review_digest: bool = False,
) -> LoadResult:
    """Amazon review files (one, or a folder's as one table), read by their own loader."""
    from visrec.data.amazon import load_amazon_reviews

    return load_amazon_reviews(
        source,
        ids_only=ids_only,
        keep_rating=keep_rating,
        keep_time=keep_time,
        review_digest=review_digest,
    )


def refuse_amazon_meta(p: Path) -> None:
    """An error for an Amazon ``meta_<Category>.json[.gz]`` given where reviews are read
    (interactions, ``data merge-variants``): each of its records said "no 'reviewerID'
    field" before the load found nothing."""
    from visrec.data.amazon import is_meta_file

    if is_json_file(p) and is_meta_file(p):
        raise VisrecError(
            f"{p}: Amazon metadata (one record per item), not reviews: titles and image "
            "URLs, for visrec fetch and --labels; the reviews are the file of the same "
            "category, <Category>_5.json.gz"
        )


def _refuse_movielens_side_table(p: Path) -> None:
    """An error for MovieLens' item, user, genre or info table given as interactions."""
    name = p.name.lower()
    if name in ("u.item", "u.user", "u.genre", "u.info"):
        # pipe-separated item/user tables: their "cannot tell which column holds the
        # user ids" listed 24 columns and an IMDb URL
        raise VisrecError(
            f"{p}: MovieLens' {name[2:]} table, not interactions; the ratings are "
            f"{p.with_name('u.data')} (or give the folder)"
        )


def _refuse_ignored_columns(
    p: Path, explicit: dict[str, str | None], ids_only: bool, keep_rating: bool, keep_time: bool
) -> None:
    """An error for a rating or time column named where ``ids_only`` would not read it."""
    rating_col, timestamp_col = explicit[RATING], explicit[TIMESTAMP]
    if ids_only and (
        (rating_col is not None and not keep_rating)
        or (timestamp_col is not None and not keep_time)
    ):
        raise VisrecError(
            f"{p}: ids_only reads only the user and item columns (and the rating with "
            f"keep_rating, the time with keep_time); rating_col={rating_col!r}, "
            f"timestamp_col={timestamp_col!r} would be ignored"
        )


def _load_text_interactions(
    p: Path,
    sep: str | None,
    explicit: dict[str, str | None],
    ids_only: bool,
    keep_rating: bool,
    keep_time: bool,
    soft_rating: bool = False,
) -> LoadResult:
    """A CSV/TSV/MovieLens text table: its layout from the first line, then its rows
    (``soft_rating``: see :func:`~visrec.data.interaction_rows._validate`)."""
    decoded = decode_text(p)
    text = decoded.text
    first = first_text_line(text)
    if not first:
        raise no_first_line(p, text, "an interactions table")
    if sep is None:
        sep = decoded.sep or _sniffed_sep(p, first)
    # The file itself, not the folder it was found in, so "file:line" points at it.
    where = str(p)
    multiline: list[tuple[int, int]] = []
    rows: Iterator[tuple[int, list[str]]] = iter(split_rows(text, sep, where, multiline))

    cols, n_expected, fmt, header, unread, names = _table_layout(
        p.name.lower(), first, sep, rows, explicit, where, ids_only, keep_rating, keep_time
    )
    skip = 0 if header == "aliases" else 1
    result = _fast_parse(text, sep, cols, n_expected, skip, where, header, soft_rating)
    if result is None:
        result = _parse_rows(
            rows, cols, n_expected, where, header, names=names, soft_rating=soft_rating
        )
    result.warnings = _file_warnings(decoded, result, multiline, where) + result.warnings
    result.files = [where]
    result.formats = {where: f"{fmt}, sep {sep!r}"}
    result.unread_columns = unread
    result.columns = names
    return result


def _sniffed_sep(p: Path, first: str) -> str:
    """The separator ``first`` and the file's suffix point to; an error for spaces."""
    suffix = "".join(p.suffixes[-1:]).lower()
    sep = sniff_sep(first, suffix)
    if sep == "," and "," not in first and re.fullmatch(_SPACED_NUMBERS, first):
        # read as one column, it would fail as "cannot tell which column holds the
        # user ids", a header problem it is not
        raise VisrecError(
            f"{p} line 1: fields separated by spaces ({first.strip()!r}); tables are "
            "read with comma, tab, ';', '|' or '::' between fields: convert it, e.g. "
            f"tr -s ' ' '\\t' < {shlex.quote(p.name)} > {shlex.quote(p.stem + '.tsv')}"
        )
    return sep


def _refuse_shared_columns(p: Path, explicit: dict[str, str | None]) -> None:
    """One column named for two roles (user_col == item_col): every user would be an
    item of the same id, and the error came later as "no test user"."""
    roles: dict[str, str] = {}
    for canon, col in explicit.items():
        if col is None:
            continue
        role = role_option(canon)
        if col in roles:
            raise shared_column_error(p, col, roles[col], role)
        roles[col] = role


def refuse_layout(p: Path, sep: str | None, explicit: dict[str, str | None]) -> None:
    """A separator or column names given for a file that has none to choose: an error,
    not an option silently ignored."""
    args = {"sep": sep, **{role_option(k): v for k, v in explicit.items()}}
    named = [f"{k}={v!r}" for k, v in args.items() if v is not None]
    if not named:
        return
    if is_json_file(p):
        raise VisrecError(f"{p}: Amazon files have fixed fields; {', '.join(named)} does not apply")
    if p.name.lower().endswith(".parquet") and sep is not None:
        raise VisrecError(f"{p}: Parquet has no separator; sep={sep!r} does not apply")


def _table_layout(
    name: str,
    first: str,
    sep: str,
    rows: Iterator[tuple[int, list[str]]],
    explicit: dict[str, str | None],
    where: str,
    ids_only: bool,
    keep_rating: bool,
    keep_time: bool,
) -> tuple[dict[str, int], int, str, Header, list[str], list[str]]:
    """``(column positions, fields per row, format name, header, header names matched
    to no column, header names)`` of a text table whose first line is ``first`` (no
    names for a headerless one); a header is taken
    from ``rows`` (consumed). ``header`` is its user and item names, or ``"aliases"``
    for a headerless table (see :func:`visrec.data.interaction_rows._validate`)."""
    headerless = all(v is None for v in explicit.values()) and (
        name == "u.data"
        or bool(_ML_ROW.match(first))
        or all(NUMBER.fullmatch(f) for f in split_first(first, sep))
    )
    if headerless:
        n_fields = len(split_first(first, sep))
        if not 2 <= n_fields <= 4:
            raise VisrecError(
                f"{where} line 1: a headerless table needs 2-4 fields "
                f"(user item [rating [timestamp]]), got {n_fields}"
            )
        cols = {c: i for i, c in enumerate((USER, ITEM, RATING, TIMESTAMP)[:n_fields])}
        n_expected = n_fields
        fmt = "MovieLens u.data" if sep == "\t" and n_fields == 4 else "headerless table"
        if sep == "::":
            fmt = "MovieLens ratings.dat"
        unread, all_names = [], []
        names: Header = "aliases"
    else:
        header = header_row(rows, where)
        used = _ids_only_columns(keep_rating, keep_time) if ids_only else ALL_COLUMNS
        cols = _match_columns(header, explicit, where, used, ids_only and keep_time)
        n_expected = len(header)
        fmt = f"table with header ({', '.join(header)})"
        unread = [h for j, h in enumerate(header) if j not in cols.values() and h]
        names = (header[cols[USER]], header[cols[ITEM]])
        all_names = list(header)

    if ids_only:
        # The other fields still count towards the row's field count.
        kept = _ids_only_columns(keep_rating, keep_time)
        cols = {c: j for c, j in cols.items() if c in kept}
    return cols, n_expected, fmt, names, unread, all_names


def _file_warnings(
    decoded: DecodedText, result: LoadResult, multiline: list[tuple[int, int]], where: str
) -> list[BadRecord]:
    """Warnings about the file as a whole: its encoding, and records kept that ran over
    several lines."""
    warnings = encoding_warnings(decoded, where)
    if (
        decoded.encoding == "cp1252"
        and decoded.first_8bit is not None
        and decoded.warning is None
        and _any_non_ascii_id(result.frame)
    ):
        # right for old Windows files, but such ids are written out as UTF-8: not byte
        # for byte those of this file (an accent in a title column changes nothing)
        warnings.append(
            BadRecord(
                where,
                decoded.first_8bit,
                "not UTF-8",
                "not valid UTF-8 (first here), so the whole file is read as Windows-1252 "
                "(latin-1); its ids with accents are written out as UTF-8",
            )
        )
    return warnings + multiline_warnings(multiline, result.bad, where)


def multiline_warnings(
    multiline: list[tuple[int, int]], bad: list[BadRecord], where: str
) -> list[BadRecord]:
    """One warning for the records kept that ran over several lines (``multiline``, as
    :func:`~visrec.data.text_files.split_rows` lists them; those in ``bad`` left out)."""
    dropped = {b.line for b in bad}
    kept_spans = [span for span in multiline if span[0] not in dropped]
    if not kept_spans:
        return []
    # kept (a review text may hold line breaks), but two stray quotes make the lines
    # between them one field: said, so such a loss is not silent
    top, bottom = kept_spans[0]
    return [
        BadRecord(
            where,
            top,
            "quoted line breaks",
            f"{counted(len(kept_spans), 'record')} {agree(len(kept_spans), 'runs', 'run')} "
            f"over several lines (a quoted field with line breaks, "
            f"{agree(len(kept_spans), '', 'the first ')}over lines {top}-{bottom}); if a "
            "quote was left "
            "open there, the rows inside it were read as part of one field",
        )
    ]


def _any_non_ascii_id(frame: pd.DataFrame) -> bool:
    """Whether a user or item id has a character beyond ASCII."""
    return any(
        not all(str(v).isascii() for v in frame[col].unique())
        for col in (USER, ITEM)
        if col in frame.columns
    )


def _ids_only_columns(keep_rating: bool, keep_time: bool) -> tuple[str, ...]:
    """The canonical columns ``ids_only`` reads, in frame order."""
    return (USER, ITEM) + ((RATING,) if keep_rating else ()) + ((TIMESTAMP,) if keep_time else ())


#: pandas' inferred kinds of an object column that hold one id per row
_FLAT = {"string", "bytes", "integer", "floating", "mixed-integer-float", "decimal", "empty"}


def read_parquet_frame(p: Path) -> pd.DataFrame:
    """A Parquet table as a frame, its saved pandas index back among the columns (a
    ``df.set_index("user_id").to_parquet()`` keeps its ids there); a one-line error for
    a repeated column name or a file pyarrow cannot read."""
    import pyarrow.parquet as pq

    from visrec._atomic import require_utf8_name
    from visrec._parquet import read_columns

    require_utf8_name(p)  # pyarrow encodes the name strictly
    try:
        names = pq.read_schema(p).names
        twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
        if twice:  # pyarrow's own error is a schema dump
            raise VisrecError(f"{p}: column name {twice[0]!r} is used twice; rename one")
        # a whole-number column with a null stays whole numbers (Python ints), not
        # float64, which would round ids above 2**53 into each other
        df: pd.DataFrame = read_columns(p).to_pandas(integer_object_nulls=True)
    except VisrecError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt files
        from visrec.embed.store import no_reader_threads, parquet_read_error

        if no_reader_threads(exc):  # the system's limit, not the file
            raise parquet_read_error(p, exc) from None
        # its first line: the rest is a schema dump
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise unreadable_file(f"{p}: cannot read parquet ({first})", exc, p) from None
    # set_index("user_id", drop=False) keeps it as a column too: that one is read
    saved = [n for n in df.index.names if n is not None and n not in df.columns]
    if saved:
        df = df.reset_index(level=saved)
    return df


def _as_row(b: BadRecord) -> BadRecord:
    """``b`` of a Parquet file, whose "line" is a row number: said so in its reason."""
    return BadRecord(b.file, b.line, b.kind, f"row {b.line}: {b.reason}")


def _load_parquet_interactions(
    p: Path,
    explicit: dict[str, str | None],
    ids_only: bool = False,
    keep_rating: bool = False,
    keep_time: bool = False,
    soft_rating: bool = False,
) -> LoadResult:
    df = read_parquet_frame(p)
    if {"item_id", "vector", "has_image"} <= set(map(str, df.columns)) and "user_id" not in df:
        # swapped arguments: the header advice below would be about the wrong file
        raise VisrecError(
            f"{p} is an item vectors file (from visrec embed), not interactions: give it "
            "as --vectors, and the user-item table as --interactions"
        )
    where = str(p)
    wanted = _ids_only_columns(keep_rating, keep_time) if ids_only else ALL_COLUMNS
    cols = _match_columns(
        [str(c) for c in df.columns], explicit, where, wanted, ids_only and keep_time
    )
    # Reuse the text path's validation: parquet rows become string fields.
    names = [c for c in wanted if c in cols]
    sub = df.iloc[:, [cols[c] for c in names]].copy()
    sub = sub.astype(object).where(sub.notna(), "")
    for j in range(2):  # user and item ids; a null one becomes "" (an empty id)
        col = df.iloc[:, cols[names[j]]]
        # a list or struct column: each id was Python's text of it ("{'a': 1}")
        if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in _FLAT:
            nested = col.map(lambda v: v is not None and not is_one_id(v)).to_numpy(dtype=bool)
            if nested.any():
                k = int(np.flatnonzero(nested)[0])
                first = col.iloc[k].tolist() if hasattr(col.iloc[k], "tolist") else col.iloc[k]
                raise VisrecError(
                    f"{p}: column {str(df.columns[cols[names[j]]])!r} holds lists or records "
                    f"(row {k + 1}: {first!r}), not ids; give a column of text or whole "
                    "numbers"
                )
        sub.iloc[:, j] = ids_as_text(col, where).fillna("")
    rows = (
        (k + 1, [str(v) for v in row])
        for k, row in enumerate(sub.itertuples(index=False, name=None))
    )
    result = _parse_rows(
        rows,
        {c: j for j, c in enumerate(names)},
        len(names),
        where,
        quoted=False,
        soft_rating=soft_rating,
    )
    # Parquet has no lines; say "row" so the numbers are not misread.
    result.bad = [_as_row(b) for b in result.bad]
    result.warnings = [_as_row(b) for b in result.warnings]
    result.files = [where]
    result.formats = {where: "parquet"}
    result.unread_columns = [str(c) for j, c in enumerate(df.columns) if j not in cols.values()]
    result.columns = [str(c) for c in df.columns]
    return result
