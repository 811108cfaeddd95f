"""Session 56 mutation audit of ``visrec.data.timestamps`` and ``visrec.data.id_spelling``.

Each test kills mutants (named T<n> for timestamps.py, I<n> for id_spelling.py in its
docstring) that survived the tests that existed: the thresholds and units of the
timestamp column, the day/month order of numeric dates, two-digit years, and which id
spellings are noticed, how many examples a note shows and the words it uses.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dateutil import parser as dateutil_parser

from visrec.data.id_spelling import (
    PASTED_ID,
    find_ids,
    id_notes,
    ids_as_text,
    respelt,
    respelt_hint,
    shown,
    shown_ids,
    spell_ids,
    spelt_two_ways,
)
from visrec.data.load_result import LoadResult
from visrec.data.tables import load_interactions
from visrec.data.timestamps import _full_year
from visrec.errors import VisrecError


def load_times(tmp_path: Path, *stamps: str) -> LoadResult:
    """``load_interactions`` of a table with one row per timestamp."""
    rows = "".join(f"u{j},i{j},{t}\n" for j, t in enumerate(stamps))
    path = tmp_path / "t.csv"
    path.write_text("user_id,item_id,timestamp\n" + rows, encoding="utf-8")
    return load_interactions(path)


def days(res: LoadResult) -> list[str]:
    return pd.to_datetime(res.frame["timestamp"], unit="s").dt.strftime("%Y-%m-%d").tolist()


# ------------------------------------------------------------------ timestamps.py


def test_epoch_seconds_written_as_floats_up_to_int64_are_kept(tmp_path: Path) -> None:
    """T2 (``_INT64_LIMIT = 2.0**62``) and T24 (``num <= -_INT64_LIMIT``): 5e18 and
    -2**63 written as floats are int64 seconds, not out of range."""
    res = load_times(tmp_path, "5e18", "-9.223372036854775808e18", "9.223372036854775808e18")
    assert res.frame["timestamp"].tolist() == [5 * 10**18, -(2**63)]
    assert [b.reason for b in res.bad] == [
        "timestamp '9.223372036854775808e18' is out of range (int64 seconds)"
    ]


def test_a_two_digit_year_takes_the_columns_day_month_order(tmp_path: Path) -> None:
    """T4 (the two-digit year dropped from the numeric-date pattern): '01/02/20' in a
    day-first column is 1 February, not read month-first by dateutil."""
    res = load_times(tmp_path, "13/01/2020", "01/02/20")
    assert days(res) == ["2020-01-13", "2020-02-01"] and res.bad == []


def test_a_twelve_is_no_evidence_of_day_first(tmp_path: Path) -> None:
    """T12 (``first > 11``): a first number of 12 can be a month, so the column stays
    month first: '12/01/2020' is 1 December."""
    res = load_times(tmp_path, "12/01/2020", "01/02/2020")
    assert days(res) == ["2020-12-01", "2020-01-02"] and res.bad == []


def test_a_two_digit_year_in_a_numeric_date_is_the_nearest_century(tmp_path: Path) -> None:
    """T17 (a numeric date's two-digit year always 20yy): '03/04/80' is 1980, as
    dateutil reads 'Mar 5 80' in the same column."""
    res = load_times(tmp_path, "03/04/80", "Mar 5 80")
    assert days(res) == ["1980-03-04", "1980-03-05"] and res.bad == []


def test_dates_past_2262_are_seconds_not_an_overflow(tmp_path: Path) -> None:
    """T21 (the epoch not taken in the dates' own unit): 2300-01-01 is beyond a
    nanosecond timestamp, and still a date."""
    res = load_times(tmp_path, "2300-01-01", "2020-01-01")
    assert res.frame["timestamp"].tolist() == [10413792000, 1577836800]


def test_a_bad_date_both_orders_read_is_not_blamed_on_the_order(tmp_path: Path) -> None:
    """T8 (``real(a, b) or real(b, a)``): '01/02/2020 xyz' is a date in either order,
    so its fault is not the column's day/month order."""
    res = load_times(tmp_path, "13/01/2020", "01/02/2020 xyz")
    assert [b.reason for b in res.bad] == ["timestamp '01/02/2020 xyz' is not a number or a date"]


def test_the_other_order_is_judged_in_the_year_of_two_digits(tmp_path: Path) -> None:
    """T10 (a two-digit year taken as written, year 0): '02/29/00' is 29 February 2000
    read month first, so in a day-first column it is against the column's order."""
    res = load_times(tmp_path, "13/01/2020", "14/01/2020", "02/29/00")
    assert [b.reason for b in res.bad] == [
        "timestamp '02/29/00' is not a date in the day/month order the column's other "
        "dates show (one order is used for the whole column)"
    ]


@pytest.mark.parametrize(
    ("first", "odd"),
    [("13/01/2020", "01/02/202"), ("01/13/2020", "13/01/202"), ("13/01/2020", "01/02/3")],
)
def test_a_year_of_one_or_three_digits_is_no_date(tmp_path: Path, first: str, odd: str) -> None:
    """Bug found by T5 (the ``(?!\\d)`` after the year dropped): a numeric date with a
    year of 1 or 3 digits was left to dateutil, which read it in whichever day/month
    order fitted (2 January 202 in a day-first column, 13 January 202 in a month-first
    one), against the column's order and silently. It is a bad record."""
    res = load_times(tmp_path, first, odd)
    assert len(res.frame) == 1
    assert [b.reason for b in res.bad] == [f"timestamp {odd!r} is not a number or a date"]


def test_a_value_with_no_year_has_no_say_in_the_order(tmp_path: Path) -> None:
    """T5 (the ``(?!\\d)`` after the year dropped: '02/13/20201' read as a date of 2020
    with a tail) and the fix's vote over values with a year only: two values that are no
    date must not turn a day-first column month first."""
    res = load_times(tmp_path, "13/01/2020", "01/13/202", "02/13/20201")
    assert days(res) == ["2020-01-13"]
    assert [b.reason for b in res.bad] == [
        "timestamp '01/13/202' is not a number or a date",
        "timestamp '02/13/20201' is not a number or a date",
    ]


class _Clock(datetime.datetime):
    year_now = 2026

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> _Clock:
        return cls(cls.year_now, 6, 1, tzinfo=tz)


@pytest.mark.parametrize(
    ("now", "yy", "year"),
    [(2026, 75, 2075), (2026, 76, 1976), (2080, 30, 2030), (2080, 29, 2129)],
)
def test_full_year_is_at_most_49_ahead_and_50_behind(
    monkeypatch: pytest.MonkeyPatch, now: int, yy: int, year: int
) -> None:
    """T6 (``year > now + 50``) and T7 (``year <= now - 50``): the window dateutil
    uses, at a clock of 2026 and of 2080 (where the second rule comes into play)."""
    monkeypatch.setattr(_Clock, "year_now", now)
    monkeypatch.setattr(datetime, "datetime", _Clock)
    assert _full_year(yy) == year


def test_full_year_agrees_with_dateutil_today() -> None:
    """T6: every two-digit year is the century dateutil gives 'Mar 5 yy' now."""
    assert [_full_year(yy) for yy in range(100)] == [
        dateutil_parser.parse(f"Mar 5 {yy:02d}").year for yy in range(100)
    ]


# ------------------------------------------------------------------ id_spelling.py


@pytest.mark.parametrize("name", ["sku-7.jpeg", "sku-7.webp", "SKU-7.TIF"])
def test_an_id_written_as_an_image_file_name_is_found(name: str) -> None:
    """I3 (``jpe?g`` -> ``jpg``) and I4 (``webp`` dropped)."""
    assert respelt([name], ["SKU-7", "SKU-8"]) == [(name, "SKU-7")]


def test_a_plus_sign_spells_the_number_a_second_way() -> None:
    """I5 (``^\\+`` dropped from what a plain spelling never has)."""
    assert spelt_two_ways(["7", "+7", "8"]) == (1, [["7", "+7"]])


def test_the_numbers_spelt_two_ways_are_listed_in_file_order() -> None:
    """I21 (``duplicated(keep='first')``): the first group is the number whose first
    spelling comes first, not the one whose second does."""
    assert spelt_two_ways(["01", "02", "002", "001"], limit=1) == (2, [["01", "001"]])


def test_an_id_of_forty_characters_is_shown_whole() -> None:
    """I12 (``len(value) < SHOWN_CHARS``) and I13 (cut at ``SHOWN_CHARS - 2``)."""
    forty, longer = "x" * 40, "y" * 41
    assert shown(forty) == repr(forty)
    assert shown(longer) == repr("y" * 37 + "...")


def test_shown_ids_shows_three_by_default() -> None:
    """I40 (default ``limit=4``)."""
    assert shown_ids(["a", "b", "c", "d"]) == "'a', 'b', 'c'"


def test_the_hint_writes_thousands_with_commas() -> None:
    """I19 (``{n}`` instead of ``{n:,}``)."""
    pairs = [(f"0{i}", str(i)) for i in range(1, 1001)]
    assert respelt_hint(pairs, "the model") == (
        "; 1,000 of them are in the model spelt otherwise ('01' as '1', '02' as '2', "
        "'03' as '3', ...): ids are compared as written"
    )


def test_one_pasted_id_among_others_gets_the_pasting_advice() -> None:
    """I20 (``all`` instead of ``any``) and I31 (only a single quote taken for a pasted
    id): an id pasted as a listing showed it, in double quotes, beside a zero-padded one."""
    pasted = '"it\'s\\tone"'
    pairs = respelt([pasted, "07"], ["it's\tone", "7"])
    assert pairs == [(pasted, "it's\tone"), ("07", "7")]
    assert respelt_hint(pairs, "the model").endswith(f"; {PASTED_ID}")


def test_a_missing_id_given_twice_is_one_pair() -> None:
    """I36 (the missing ids not made distinct)."""
    assert respelt(["07", "07", "x"], ["7"]) == [("07", "7")]


@pytest.mark.parametrize("n", [5, 6])
def test_missing_words_note_lists_five_then_says_how_many_more(n: int) -> None:
    """I25 (``len(words) >= 5``: "and 0 more") and I26 (four words shown)."""
    words = ["NA", "null", "None", "nan", "NULL", "#N/A"][:n]
    frame = pd.DataFrame({"user_id": ["u"] * n, "item_id": words})
    more = " and 1 more" if n == 6 else ""
    assert id_notes(frame) == [
        "item ids that other tools read as a missing value are kept as ids "
        f"('NA', 'null', 'None', 'nan', 'NULL'{more})"
    ]


def test_a_whole_float_of_two_to_the_63_is_written_as_the_float() -> None:
    """I27 and I28 (``<= 2.0**63``): 2**63 is beyond int64, so it is written as the
    float is, in a column and alone, and never as a wrapped-round integer."""
    big = 2.0**63
    col = ids_as_text(pd.Series([big, 7.0, np.nan]))
    assert col.tolist() == ["9.223372036854776e+18", "7", None]
    assert spell_ids(big) == ["9.223372036854776e+18"]
    assert spell_ids([big, 7.0]) == ["9.223372036854776e+18", "7"]


def test_find_ids_finds_a_float_by_how_python_writes_it() -> None:
    """I29 (the ``str(v)`` look-up dropped): a map built from '7.0'."""
    assert find_ids({"7.0": 0, "8": 1}, [7.0, 8.0, 9.0]) == [0, 1, None]


def test_numpy_bytes_and_bytes_are_one_kind_of_id() -> None:
    """I33 (bytes not named a kind: ``np.bytes_`` became a kind of its own)."""
    col = pd.Series([np.bytes_(b"a"), b"a", 7], dtype=object, name="item_id")
    assert ids_as_text(col).tolist() == ["a", "a", "7"]


def test_a_number_and_its_text_are_refused_in_these_words() -> None:
    """I34 (the advice's words changed)."""
    col = pd.Series([7, "7", "8"], dtype=object, name="item_id")
    with pytest.raises(VisrecError) as exc:
        ids_as_text(col, "f.csv")
    assert str(exc.value) == (
        "f.csv: column 'item_id': ids 7 and '7' (int and str) are both the id '7' as "
        "text; give the column one kind of value (all text, or all numbers)"
    )


def test_bytes_that_are_no_utf8_are_refused_in_these_words() -> None:
    """I35 (the error's words changed)."""
    col = pd.Series([b"ok", b"\xff", None], dtype=object, name="item_id")
    with pytest.raises(VisrecError) as exc:
        ids_as_text(col, "f.parquet")
    assert str(exc.value) == (
        "f.parquet: column 'item_id': id b'\\xff' is bytes that are not UTF-8 text"
    )
