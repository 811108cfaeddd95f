"""Time columns of an interactions table: epoch numbers or dates, read as int64 seconds.

:func:`_parse_timestamps` decides per column whether it holds numbers or dates
(:func:`_time_kinds`), reads numeric dates in one day/month order for the whole column
(:func:`_one_day_month_order`) and reports the values that are no time or beyond int64;
:func:`_fits_the_other_order` tells a bad date that only the other order would read.
:func:`_to_float`, the lenient float parse it starts from, also reads the rating
column. Used by the interactions loader's row checks
(:mod:`visrec.data.interaction_rows`), which turn the values these mark as bad into its
bad records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _to_float(s: pd.Series) -> np.ndarray:
    """Floats with NaN where a value does not parse."""
    values = s.to_numpy(dtype=object)
    try:
        text = "".join(values)
    except TypeError:  # numbers or missing values among the text
        text = "".join(v for v in values if isinstance(v, str))
    # numpy's own str -> float cast is ~10x faster than to_numeric on clean columns, but
    # it is Python's float(), which takes '1_000' and non-ASCII digits that to_numeric
    # refuses: one rule for every value, whatever the rest of the column holds
    if text.isascii() and "_" not in text:
        try:
            return np.asarray(values, dtype=np.float64)
        except (ValueError, TypeError):
            pass
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


# int64 seconds; float64 holds every integer exactly up to 2**53 only
_INT64_LIMIT = 2.0**63
_EXACT_FLOAT = 2.0**53


# a year of one or three digits is matched too, so that it is refused (a typo of a
# year, '01/02/202'), not left to dateutil, which reads it in either day/month order;
# so are mixed separators ('01/02-2020'), read in the column's order as the rest
_NUMERIC_DATE = r"^\s*(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{1,4})(?!\d)(.*)$"


def _full_year(yy: int) -> int:
    """A two-digit year as pandas (dateutil) reads it in other date formats: the year
    ending so that is nearest now, at most 49 years ahead (``70`` is 2070 in 2026, ``80``
    is 1980), so one column's ``3/4/70`` and ``Mar 5 70`` are the same century."""
    import datetime

    now = datetime.datetime.now(datetime.UTC).year  # not the local date: same in every zone
    year = now // 100 * 100 + yy
    if year > now + 49:
        year -= 100
    elif year < now - 50:
        year += 100
    return year


def _fits_the_other_order(value: str) -> bool:
    """A numeric date (``13/01/2020``) that one day/month order reads and the other does
    not: when it failed, it went against the order its column took."""
    import datetime

    m = re.match(_NUMERIC_DATE, value)
    if m is None:
        return False
    a, b, y = int(m.group(1)), int(m.group(3)), m.group(4)
    if len(y) not in (2, 4):
        return False  # no date in either order
    year = int(y) if len(y) == 4 else _full_year(int(y))

    def real(day: int, month: int) -> bool:
        try:
            datetime.date(year, month, day)
        except ValueError:
            return False
        return True

    return real(a, b) != real(b, a)


def _one_day_month_order(s: pd.Series) -> pd.Series:
    """Dates such as ``03/04/2020`` rewritten as ``2020-04-03`` by one day/month order
    for the whole column: day first when some value's first number is above 12 (and no
    more values say month first), else month first (the US order, pandas' default).
    A year of one or three digits is no year (``01/02/202``): not a date, and no say
    in the order.
    A value that contradicts the order is made unparseable: a bad record, never read
    the other way round (``format="mixed"`` judged each value alone, so one file's
    ``13/01/2020`` and ``01/02/2020`` were read in different orders)."""
    parts = s.astype(str).str.extract(_NUMERIC_DATE)
    hit = parts[0].notna().to_numpy()
    if not hit.any():
        return s
    first = parts[0][hit].astype(int).to_numpy()
    second = parts[2][hit].astype(int).to_numpy()
    year = parts[3][hit].astype(str).to_numpy()
    has_year = np.asarray([len(y) in (2, 4) for y in year], dtype=bool)
    day_first = (first[has_year] > 12).sum() > (second[has_year] > 12).sum()
    day, month = (first, second) if day_first else (second, first)
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & has_year
    year = np.asarray([y if len(y) == 4 else str(_full_year(int(y))) for y in year], dtype=object)
    tail = parts[4][hit].fillna("").astype(str).to_numpy()
    iso = [
        f"{y}-{m:02d}-{d:02d}{t}" if good else "not a date"
        for y, m, d, t, good in zip(year, month, day, tail, ok, strict=True)
    ]
    out = s.astype(object).copy()
    out.iloc[np.flatnonzero(hit)] = iso
    return out


# a four-digit year outside pandas 2's nanosecond range (1677-09-21 to 2262-04-11)
_FAR_YEAR = re.compile(
    r"(?<!\d)(?:0\d{3}|1[0-5]\d\d|16[0-7]\d|226[2-9]|22[7-9]\d|2[3-9]\d\d|[3-9]\d{3})(?!\d)"
)


def read_dates(cells: pd.Series) -> pd.Series[pd.Timestamp]:
    """The cells as UTC datetimes, each value parsed alone; NaT where unreadable, and for
    "now" and "today", which pandas reads as the moment of the call: no date a file
    holds, and one that would change from run to run."""
    dt = pd.to_datetime(cells, errors="coerce", utc=True, format="mixed")
    return dt.mask(cells.astype(str).isin(["now", "today"]))


def _date_seconds(s: pd.Series) -> np.ndarray:
    """Seconds since the epoch of each value read as a date, NaN where it is none."""
    text = _one_day_month_order(s)
    dt = read_dates(text)
    # the epoch in the dates' own unit: a nanosecond one overflows past 2262
    epoch = pd.Timestamp(0, tz="UTC").as_unit(dt.dt.unit)
    # a copy: pandas 3 may hand back a read-only view, and the fallback below writes to it
    secs = (dt - epoch).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    # pandas 2 parses a column of text in nanoseconds only, so 2300-01-01 is NaT there
    # (pandas 3 picks a wider unit); its scalar Timestamp reads such a date in seconds
    nat = np.flatnonzero(np.isnan(secs))
    far = text.iloc[nat].astype(str).str.contains(_FAR_YEAR).to_numpy(dtype=bool)
    for j in nat[far]:
        try:
            t = pd.Timestamp(text.iloc[j])
        except (ValueError, OverflowError):
            continue
        if not pd.isna(t):  # "NaT" itself parses, as no time
            secs[j] = (t if t.tzinfo else t.tz_localize("UTC")).timestamp()
    return secs


@dataclass
class _TimeKinds:
    """What a time column holds: ``dates`` when it is read as dates."""

    dates: bool
    numbers: np.ndarray  # mask of the values that are numbers
    n_filled: int
    n_numbers: int
    n_dates: int  # values that parse as dates (counted only when numbers are there too)


def _time_kinds(s: pd.Series, numbers: np.ndarray) -> _TimeKinds:
    """Numbers or dates: dates when no value is a number, or when more of them parse
    as dates than are numbers (a column of dates with a stray number: one number made
    every date "not a number", 600 rows lost for one). Placeholders (``NULL``, ``-``)
    are neither: 600 of them beside 400 epoch seconds leave a column of numbers."""
    filled = (s.notna() & (s != "")).to_numpy()  # the caller's text is stripped already
    n_filled, n_num = int(filled.sum()), int((numbers & filled).sum())
    rest = filled & ~numbers
    if not rest.any():  # numbers only (or nothing)
        return _TimeKinds(False, numbers, n_filled, n_num, 0)
    if n_num == 0:  # no number: dates, each value parsed as one
        return _TimeKinds(True, numbers, n_filled, 0, 0)
    n_dates = int(np.isfinite(_date_seconds(s[rest])).sum())
    return _TimeKinds(n_dates > n_num, numbers, n_filled, n_num, n_dates)


def _parse_timestamps(
    s: pd.Series,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, _TimeKinds]:
    """Integer seconds, from numbers or dates (:func:`_time_kinds` says which).

    Returns the seconds, the mask of values that are no time, the mask of those among
    them that are numbers beyond int64 (``1e30``), reported as out of range instead of
    wrapping round to -9223372036854775808, and what the column holds.
    """
    num = _to_float(s)
    bad = ~np.isfinite(num)
    kinds = _time_kinds(s, ~bad)
    if len(s) and kinds.dates:
        secs = _date_seconds(s)
        ok = np.isfinite(secs) & bad  # a number among dates is no date
        return np.where(ok, secs, 0).astype(np.int64), ~ok, np.zeros(len(s), dtype=bool), kinds
    big = ~bad & (np.abs(num) >= _EXACT_FLOAT)
    out_of_range = ~bad & ((num >= _INT64_LIMIT) | (num < -_INT64_LIMIT))
    ts = np.where(bad | out_of_range, 0, num).astype(np.int64)
    for j in np.flatnonzero(big):
        # an integer written out beyond 2**53 is judged and taken exactly, not as the
        # float64 it rounds to (9223372036854775807 rounds to 2**63)
        try:
            v = int(str(s.iloc[j]).strip())
        except ValueError:
            continue  # "1e30": the float's judgement stands
        out_of_range[j] = not -(2**63) <= v < 2**63
        ts[j] = 0 if out_of_range[j] else v
    bad |= out_of_range
    return ts, bad, out_of_range, kinds
