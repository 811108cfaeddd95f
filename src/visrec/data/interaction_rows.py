"""The rows of an interactions text or Parquet table, checked into the canonical frame.

:func:`_parse_rows` checks each row's field count (and a value running over several
lines), :func:`_fast_parse` reads a clean file with pandas' C parser instead, and both
hand the columns to :func:`_validate`: empty ids and ids holding a NUL byte, ratings that
are no (finite, float32) number and timestamps that are no time (read by
:mod:`visrec.data.timestamps`) become :class:`~visrec.data.load_result.BadRecord`
entries with their line, and a column of
epoch numbers mixing units a warning (:func:`_mixed_time_units`). Used by the
interactions loader (:mod:`visrec.data.tables`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from visrec.data.column_names import ALIASES, column_key, column_keys
from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER
from visrec.data.load_result import BadRecord, LoadResult
from visrec.data.row_reasons import field_count_hint, nul_id_reason, spaced_ids_note
from visrec.data.text_files import _NO_CONTENT
from visrec.data.timestamps import _fits_the_other_order, _parse_timestamps, _to_float
from visrec.errors import agree, counted


def _parse_rows(
    rows: Iterable[tuple[int, list[str]]],
    cols: dict[str, int],
    n_expected: int,
    where: str,
    header: Header = None,
    quoted: bool = True,
    names: Sequence[str] = (),
    soft_rating: bool = False,
) -> LoadResult:
    """Row-by-row parse: checks field counts, then validates values column-wise.
    ``quoted``: the rows come from text with quotes (not Parquet), where a line break in
    a value is most often a quote left open. ``names``: the header line's names as read
    (none for a headerless table), for :func:`field_count_hint`. ``soft_rating``: see
    :func:`_validate` (a line break in the rating drops no row either)."""
    bad: list[BadRecord] = []
    lines: list[int] = []
    values: dict[str, list[str]] = {c: [] for c in cols}
    n_read = 0
    pairs = list(cols.items())
    # checked for a line break: the columns whose value can drop a row
    checked = [(c, j) for c, j in pairs if not (soft_rating and c == RATING)]
    for line, fields in rows:
        n_read += 1
        if len(fields) != n_expected:
            bad.append(
                BadRecord(
                    where,
                    line,
                    "wrong field count",
                    f"expected {n_expected} fields, got {len(fields)}"
                    + field_count_hint(fields, n_expected, names),
                )
            )
            continue
        broken = next((c for c, j in checked if "\n" in fields[j] or "\r" in fields[j]), None)
        if broken is not None:  # a quote left open, not an id or a number
            bad.append(
                BadRecord(
                    where,
                    line,
                    "line break in a value",
                    f"the {broken} field holds a line break, which no id, rating or time "
                    + ("can (or a quote was left open)" if quoted else "can"),
                )
            )
            continue
        lines.append(line)
        for c, j in pairs:
            values[c].append(fields[j])
    series = {c: pd.Series(v, dtype=str) for c, v in values.items()}
    result = _validate(series, np.asarray(lines, dtype=np.int64), where, header, soft_rating)
    result.bad = sorted(bad + result.bad, key=lambda b: b.line)
    result.n_read = n_read
    return result


def _fast_parse(
    text: str,
    sep: str,
    cols: dict[str, int],
    n_expected: int,
    skip: int,
    where: str,
    header: Header = None,
    soft_rating: bool = False,
) -> LoadResult | None:
    """The pandas C parser for clean files; None when the slow path must decide.

    Only used when line numbers stay exact: no quotes and no blank lines (nor lines
    of only spaces or tabs) but empty ones at the top (where an Excel ``sep=;`` line
    was), which are counted.
    """
    lead = 0
    if text.startswith("\n"):
        rest = text.lstrip("\n")
        lead, text = len(text) - len(rest), rest
    # an older pandas' C parser (2.1) ends a field at a NUL byte: '5\x006' read as '5'
    if len(sep) != 1 or not text[:1].strip() or '"' in text or "\r" in text or "\x00" in text:
        return None
    if skip and _NO_CONTENT.fullmatch(text.split("\n", 1)[0]):
        return None  # a spreadsheet's empty first row (',,,'): the header is below it
    if "\n\n" in text.rstrip("\n"):
        return None
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            skiprows=skip,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            quoting=csv.QUOTE_NONE,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    # The C parser rejects rows with too many fields but pads short ones; equal
    # separator totals prove that no row is short.
    if df.shape[1] != n_expected or text.count(sep) != (n_expected - 1) * (len(df) + skip):
        return None
    # it also skips lines of only spaces or tabs (no separator to count): every line
    # after it would be named one too early
    if len(df) + skip != text.rstrip("\n").count("\n") + 1:
        return None
    series = {c: df.iloc[:, j].astype(str) for c, j in cols.items()}
    lines = np.arange(1 + lead + skip, 1 + lead + skip + len(df), dtype=np.int64)
    result = _validate(series, lines, where, header, soft_rating)
    result.n_read = len(df)
    return result


#: the header's user and item column names, "aliases" for a headerless text table
#: (whose header, repeated, would be one the loader recognises), None for no check
Header = tuple[str, str] | Literal["aliases"] | None


def _validate(
    series: dict[str, pd.Series],
    lines: np.ndarray,
    where: str,
    header: Header = None,
    soft_rating: bool = False,
) -> LoadResult:
    """Strip, check ids and parse numbers column-wise; build the canonical frame.
    ``soft_rating``: a rating that is no usable number reads as NaN, neither dropping
    nor reporting its row (the rows are those of a load without the rating)."""
    n = len(lines)
    keep = np.ones(n, dtype=bool)
    problems: list[BadRecord] = []
    notes: list[BadRecord] = []  # rows kept, with a caveat
    frame: dict[str, object] = {}
    ids: dict[str, pd.Series] = {}
    for c, label in ((USER, "user"), (ITEM, "item")):
        s = series[c].str.strip() if n else series[c]
        empty = (s == "").to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
        for j in np.flatnonzero(empty & keep):
            problems.append(
                BadRecord(where, int(lines[j]), f"empty {label} id", f"empty {label} id")
            )
        keep &= ~empty
        # a damaged file's NUL bytes (the binary check reads only its start): no id
        # holds one, as the Amazon loader says too
        nul = s.str.contains("\x00", regex=False).to_numpy(dtype=bool) if n else empty
        for j in np.flatnonzero(nul & keep):
            problems.append(
                BadRecord(
                    where,
                    int(lines[j]),
                    f"NUL in {label} id",
                    nul_id_reason(label, s.iloc[j]),
                )
            )
        keep &= ~nul
        frame[c] = ids[c] = s
    if header is not None and n:
        again = _header_again(ids[USER], ids[ITEM], header) & keep
        for j in np.flatnonzero(again):
            problems.append(
                BadRecord(
                    where,
                    int(lines[j]),
                    "header repeated",
                    f"a header line again ({ids[USER].iloc[j]!r}, {ids[ITEM].iloc[j]!r}): "
                    "files joined with cat? not an interaction",
                )
            )
        keep &= ~again
    if RATING in series:
        raw = series[RATING].str.strip() if n else series[RATING]
        num = _to_float(raw)
        # ratings are kept as float32: a larger number would become inf there, and be
        # refused later under a row number of the split, not this file's line
        huge = np.isfinite(num) & (np.abs(num) > np.finfo(np.float32).max)
        bad_mask = ~np.isfinite(num) | huge
        if soft_rating:
            num = np.where(bad_mask, np.nan, num)
            bad_mask = np.zeros_like(bad_mask)
        for j in np.flatnonzero(bad_mask & keep):
            v = raw.iloc[j]
            kind = "missing rating" if v == "" else "non-numeric rating"
            reason = "missing rating" if v == "" else f"rating {v!r} is not a number"
            if np.isinf(num[j]) or v.strip().lower().lstrip("+-") == "nan":
                reason = f"rating {v!r} is not a finite number"  # e.g. a RECS.csv's -inf
            elif huge[j]:
                kind = "rating out of range"
                reason = f"rating {v!r} is out of range (a rating is at most 3.4e38)"
            if re.fullmatch(r"[+-]?\d+,\d+", v):  # a European spreadsheet's 4,5
                reason += " (a decimal comma? write it with a dot: 4.5)"
            problems.append(BadRecord(where, int(lines[j]), kind, reason))
        keep &= ~bad_mask
        frame[RATING] = num
    if TIMESTAMP in series:
        raw = series[TIMESTAMP].str.strip() if n else series[TIMESTAMP]
        ts, ts_bad, ts_huge, kinds = _parse_timestamps(raw)
        # one kind per column: numbers, or dates when more of its values are dates
        as_numbers = kinds.n_numbers > 0 and not kinds.dates
        what = (
            f"a number (the column holds numbers: {kinds.n_numbers:,} of {kinds.n_filled:,} "
            "filled values)"
            if as_numbers
            else "a number or a date"
        )
        for j in np.flatnonzero(ts_bad & keep):
            reason = (
                f"timestamp {raw.iloc[j]!r} is out of range (int64 seconds)"
                if ts_huge[j]
                else f"timestamp {raw.iloc[j]!r} is a number in a column of dates "
                f"({kinds.n_dates:,} of {kinds.n_filled:,} filled values; one kind per column)"
                if kinds.numbers[j] and not as_numbers
                else f"timestamp {raw.iloc[j]!r} is not a date in the day/month order the "
                "column's other dates show (one order is used for the whole column)"
                if not as_numbers and _fits_the_other_order(str(raw.iloc[j]))
                else f"timestamp {raw.iloc[j]!r} is not {what}"
            )
            problems.append(BadRecord(where, int(lines[j]), "bad timestamp", reason))
        keep &= ~ts_bad
        frame[TIMESTAMP] = ts
        if not kinds.dates:
            mixed = _mixed_time_units(ts[keep], lines[keep], raw[keep], where)
            if mixed is not None:
                notes.append(mixed)
    spaced = None
    if n:  # among the rows kept: a spelling that only a refused row holds joins nothing
        moved = {c: (series[c] != ids[c]).to_numpy(dtype=bool) & keep for c in (USER, ITEM)}
        joined = [
            _merged_by_spaces(series[c], ids[c], moved[c], keep, lines, where, label)
            for c, label in ((USER, "user"), (ITEM, "item"))
        ]
        notes = [m for m in joined if m is not None] + notes
        spaced = _spaced_note(series, moved)
    problems.sort(key=lambda b: b.line)
    df = pd.DataFrame(frame)
    if not keep.all():
        df = df[keep].reset_index(drop=True)
    df[USER] = df[USER].astype(str)
    df[ITEM] = df[ITEM].astype(str)
    if TIMESTAMP in df.columns:
        df[TIMESTAMP] = df[TIMESTAMP].astype("int64")
    return LoadResult(
        frame=df, bad=problems, warnings=notes, n_read=n, notes=[spaced] if spaced else []
    )


def _spaced_note(raw: dict[str, pd.Series], moved: dict[str, np.ndarray]) -> str | None:
    """The file's one note on user and item ids (of the rows kept) written with spaces
    around them, which were removed (``moved``: those rows, per column): counted
    (distinct spellings) with one example."""
    counts, example = [], None
    for c, label in ((USER, "user"), (ITEM, "item")):
        if not moved[c].any():  # the usual case
            continue
        spellings = pd.unique(raw[c][moved[c]])
        counts.append((len(spellings), label))
        if example is None:
            example = (str(spellings[0]), str(spellings[0]).strip())
    return spaced_ids_note(counts, example) if example else None


def _merged_by_spaces(
    raw: pd.Series,
    stripped: pd.Series,
    moved: np.ndarray,
    keep: np.ndarray,
    lines: np.ndarray,
    where: str,
    label: str,
) -> BadRecord | None:
    """A caveat when ids written differently only in the spaces around them (``' sp '``
    and ``'sp'``) became one id: dropping those spaces is the rule, but it joins what
    the file kept apart, which must not pass without a word (None when nothing joined).
    ``moved``: the rows kept whose id lost spaces."""
    if not moved.any():  # the usual case: nothing stripped
        return None
    # distinct spellings first: a table of millions of rows has far fewer ids
    spellings = pd.Series(pd.unique(raw[keep]), dtype=object)
    ids = spellings.str.strip()
    twice = ids.duplicated(keep=False).to_numpy()
    if not twice.any():
        return None
    joined = pd.DataFrame({"raw": spellings[twice], "id": ids[twice]})
    first = int(lines[keep & stripped.isin(set(joined["id"])).to_numpy()].min())
    groups = joined.groupby("id", sort=False)["raw"].agg(list)
    shown = "; ".join(", ".join(repr(v) for v in g) for g in groups.iloc[:3])
    more = f"; and {len(groups) - 3:,} more" if len(groups) > 3 else ""
    return BadRecord(
        where,
        first,
        f"{label} ids joined",
        f"{counted(len(groups), label + ' id')} written with and without spaces around "
        f"{agree(len(groups), 'it', 'them')} ({shown}{more}): spaces around ids are dropped, "
        f"so such spellings are one {label}",
    )


def _header_again(user: pd.Series, item: pd.Series, header: Header) -> np.ndarray:
    """Rows that hold a header, not ids: ``cat a.csv b.csv`` repeats ``a``'s header
    inside the table, where (with ids only read) it became the user ``user_id``. The
    table's own header names, and names the loader takes for the user and item columns
    (``b.csv`` may spell its header ``userId,movieId``)."""
    named = _named_like_columns(user, item)
    if isinstance(header, tuple):
        named |= (user.eq(header[0]) & item.eq(header[1])).to_numpy(dtype=bool)
    return named


def _named_like_columns(user: pd.Series, item: pd.Series) -> np.ndarray:
    """Rows whose user and item are names the loader takes for those columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # in C: a table of 700,000 distinct text ids spent seconds in Python here
    keys = column_keys(pa.array(user, pa.string()))
    hit = pc.is_in(keys, value_set=pa.array(ALIASES[USER], pa.string()))
    out = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    for j in np.flatnonzero(out):
        out[j] = column_key(item.iloc[j]) in ALIASES[ITEM]
    return out


#: epoch time units by size: each spans 1973 to 5138 in its unit
_TIME_UNITS = ("seconds", "milliseconds", "microseconds", "nanoseconds")


def _mixed_time_units(
    ts: np.ndarray, lines: np.ndarray, raw: pd.Series, where: str
) -> BadRecord | None:
    """A warning when a column of epoch numbers mixes units (one export writes
    1700000000, another 1700000000000): a time split would put every row of the larger
    unit after every row of the smaller. A value from 1e8 to 1e11 is taken for seconds,
    1e11 to 1e14 milliseconds, then micro- and nanoseconds (each unit's 1973 to 5138);
    smaller values (ordinal times) for none. None when the column keeps to one unit."""
    unit = np.full(len(ts), -1)
    for k in range(len(_TIME_UNITS)):  # ascending: each bound overrides the last
        unit[ts >= 10 ** (8 + 3 * k)] = k  # exact in int64 (nanoseconds end beyond it)
    counts = np.bincount(unit[unit >= 0], minlength=len(_TIME_UNITS))
    if np.count_nonzero(counts) < 2:
        return None
    common = int(np.argmax(counts))  # ties: the smaller unit
    rare = min((k for k in np.flatnonzero(counts) if k != common), key=lambda k: (counts[k], k))
    j = int(np.flatnonzero(unit == rare)[0])
    n_rare = int(counts[rare])
    return BadRecord(
        where,
        int(lines[j]),
        "timestamp units",
        f"timestamp {raw.iloc[j]!r} looks like {_TIME_UNITS[rare]} ({n_rare:,} such value"
        f"{'s' if n_rare > 1 else ''}) where {int(counts[common]):,} look like "
        f"{_TIME_UNITS[common]}; they are taken as written, so what goes by time "
        "(--protocol time) misorders them: convert one kind",
    )
