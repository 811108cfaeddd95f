"""Session 64 mutation audit of ``visrec.data.timestamps`` (after session 56's,
tests/test_s56_timestamps_ids_mutants.py), and a gap found by the session 63 audit.

M63 (``visrec.commands._common.load_interactions_frame``): with ``time_optional`` a
file whose time is unusable in some rows is read again without it; dropping
``review_digest=review_digest`` from that re-read lost the columns that notice Amazon's
copies of a review under each variant. Killed by the first two tests.

timestamps.py: 53 mutants (none of session 56's T1-T24), 25 killed by the tests that
existed, 30 after these (A2, A3, A10, E2, and B11, which found a bug: a numeric date
with mixed separators, '01/02-2020', was read month first in a day-first column; fixed
in ``_NUMERIC_DATE``). 14 equivalent:
- A4 (numpy's fast float cast skipped): the same values, only slower (ASCII, no ``_``).
- A8 (no ``.strip()`` before ``int``): the caller strips the column already.
- A15 (``len(s) and`` dropped): an empty column never has ``kinds.dates``.
- A19 (``numbers & filled`` -> ``numbers``): a number is never blank.
- A20 (the no-number shortcut dropped), A21 (blanks among ``rest``): same kinds and
  messages, one more date parse.
- A22, A23 (``n_dates`` filled in where it is 0): it is shown only for a number among
  dates, which these branches never have.
- B5, B6 (month 0 or 13 let through): '2020-00-05' and '2020-13-05' are NaT anyway.
- B7 (no ``fillna`` of the tail): ``(.*)`` always matches, never NaN.
- B8 (no early return without numeric dates): the same series, copied.
- C5 (a two-digit year always 20yy in ``_fits_the_other_order``): 19yy and 20yy are
  leap years alike but for 00, which ``_full_year`` makes 2000 this century.
- E3 (no float64 cast after ``to_numeric``): the fallback runs only when some value
  fails, so ``to_numeric`` gives NaN and float64 already.
9 not killable with pandas 3.1.1 installed (D2-D10: the far-year fallback in
``_date_seconds``, its ``isna`` test, tz localising, ``OverflowError``, the
``_FAR_YEAR`` bounds and look-behind): pandas 3 parses such dates in seconds itself,
so the fallback, needed on pandas 2 (pyproject allows >=2.1), never runs here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_session40_mutation_gaps import _review as review_of
from test_session40_mutation_gaps import _write as write_reviews
from visrec.cli import main
from visrec.commands._common import load_interactions_frame
from visrec.data.load_result import LoadResult
from visrec.data.tables import load_interactions
from visrec.data.timestamps import _to_float


def _review(user: str, asin: str, t: int | None, stars: float, text: str) -> dict[str, object]:
    rec = review_of(user, asin, 0 if t is None else t, stars, text)
    if t is None:
        del rec["unixReviewTime"]
    return rec


def _copies_without_a_time(tmp_path: Path) -> Path:
    """12 users, each one review listed under both variants A and B of a product and one
    review of each of Q, R, S (12 of 60 rows are copies); u0's review of Q has no time."""
    rows: list[dict[str, object]] = []
    for u in range(12):
        rows += [_review(f"u{u}", a, 10 + u, 5, f"nice {u}") for a in ("A", "B")]
        rows += [
            _review(f"u{u}", i, None if (u, i) == (0, "Q") else 100 + u, 4 - u % 3, f"{i} {u}")
            for i in ("Q", "R", "S")
        ]
    return write_reviews(tmp_path / "Shop_5.json.gz", rows)


def test_time_optional_reread_keeps_the_review_digest(tmp_path: Path) -> None:
    """M63 (``review_digest=review_digest`` dropped from the re-read without the time):
    a review file with one row lacking a time still gets its ``review_digest`` and
    ``review_has_text`` columns, so copies of a review are still noticed."""
    src = _copies_without_a_time(tmp_path)
    said: list[str] = []
    frame = load_interactions_frame(src, time_optional=True, review_digest=True, log=said.append)
    assert any("1 row has no usable time" in s for s in said)
    assert len(frame) == 60 and "timestamp" not in frame.columns
    assert {"review_digest", "review_has_text"} <= set(frame.columns)
    # u0's two copies share one digest, other reviews differ
    u0 = frame[frame["user_id"] == "u0"].set_index("item_id")["review_digest"]
    assert u0["A"] == u0["B"] and u0.nunique() == 4


def test_rating_eval_notes_copies_when_a_review_has_no_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """M63 end to end: ``visrec rating-eval`` re-reads the file without its time and
    still says that 12 of 60 rows copy a review under another item."""
    src = _copies_without_a_time(tmp_path)
    js = tmp_path / "r.json"
    assert main(["rating-eval", "--interactions", str(src), "--json", str(js)]) == 0
    err = capsys.readouterr().err
    assert "1 row has no usable time" in err
    said = "12 of 60 rows (20.0%) copy a review under another item"
    assert f"note: {said}" in err
    result = json.loads(js.read_text())
    assert any(n.startswith(said) for n in result["notes"])
    assert result["n_train"] + result["n_test"] == 60


# ------------------------------------------------------------------ timestamps.py


def _load_csv(tmp_path: Path, header: str, *rows: str) -> LoadResult:
    path = tmp_path / "t.csv"
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return load_interactions(path)


def test_non_ascii_digits_are_no_number(tmp_path: Path) -> None:
    """A2 (only the ``_`` test before numpy's float cast): Python's float() reads
    Arabic-Indic digits, ``to_numeric`` does not; a rating '٤' and a timestamp '١٢٣' are
    refused whatever the rest of the column holds."""
    res = _load_csv(
        tmp_path, "user_id,item_id,rating,timestamp", "u1,a,٤,5", "u2,b,3,١٢٣", "u3,c,4,7"
    )
    assert res.frame["user_id"].tolist() == ["u3"]
    reasons = [b.reason for b in res.bad]
    assert reasons[0] == "rating '٤' is not a number"
    assert reasons[1].startswith("timestamp '١٢٣' is not a number")


def test_underscores_beside_missing_values_are_no_number() -> None:
    """A3 (the text of a column mixing strings and NaN taken as empty): '1_000' beside a
    NaN is still refused, as it is in a column of strings only."""
    out = _to_float(pd.Series(["1_000", np.nan, "2"], dtype=object))
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 2.0


def test_pandas_na_among_numbers_is_a_missing_value() -> None:
    """E2 (only ``ValueError`` caught from numpy's float cast): ``pd.NA`` makes the cast
    raise ``TypeError``; the value is NaN and the rest is read."""
    out = _to_float(pd.Series(["1", pd.NA, "2.5"], dtype=object))
    assert out[0] == 1.0 and np.isnan(out[1]) and out[2] == 2.5


def test_most_negative_int64_written_as_an_integer_is_kept(tmp_path: Path) -> None:
    """A10 (``-(2**63) < v``): -9223372036854775808 written out is the least int64,
    kept exactly; one less is out of range."""
    res = _load_csv(
        tmp_path,
        "user_id,item_id,timestamp",
        "u1,a,-9223372036854775808",
        "u2,b,-9223372036854775809",
        "u3,c,9223372036854775807",
    )
    assert res.frame["timestamp"].tolist() == [-(2**63), 2**63 - 1]
    assert [b.reason for b in res.bad] == [
        "timestamp '-9223372036854775809' is out of range (int64 seconds)"
    ]


def test_a_date_with_mixed_separators_takes_the_columns_day_month_order(
    tmp_path: Path,
) -> None:
    """Bug (found with B11, the separator back-reference): '01/02-2020' did not match the
    numeric-date pattern, so pandas read it month first (2 January) in a column whose
    '13/01/2020' makes it day first, where '01/02/2020' is 1 February: one order per
    column, whatever separators a value mixes."""
    res = _load_csv(
        tmp_path,
        "user_id,item_id,timestamp",
        "u1,a,13/01/2020",
        "u2,b,01/02-2020",
        "u3,c,01.02/2020",
        "u4,d,01/02/2020",
    )
    days = pd.to_datetime(res.frame["timestamp"], unit="s").dt.strftime("%Y-%m-%d").tolist()
    assert days == ["2020-01-13", "2020-02-01", "2020-02-01", "2020-02-01"]
    assert res.bad == []


def test_now_and_today_are_no_time_the_file_holds(tmp_path: Path) -> None:
    """pandas reads the words "now" and "today" as the moment of the load: a row with
    one got a time that changed from run to run. They are bad records, named by line."""
    res = _load_csv(
        tmp_path, "user_id,item_id,timestamp",
        "u1,a,2020-01-01", "u2,b,now", "u3,c,2020-02-03", "u4,d,today",
    )  # fmt: skip
    assert res.frame["user_id"].tolist() == ["u1", "u3"]
    assert res.frame["timestamp"].tolist() == [1577836800, 1580688000]
    assert [(b.line, b.reason) for b in res.bad] == [
        (3, "timestamp 'now' is not a number or a date"),
        (5, "timestamp 'today' is not a number or a date"),
    ]


def test_now_is_no_release_date_of_an_item_either() -> None:
    """The item features read dates through the same reader: "now" in a date column was
    this year, a value that changed with the day the features were fitted."""
    from visrec.data.item_features import fit_encoding
    from visrec.errors import VisrecError

    frame = pd.DataFrame({"item_id": ["a", "b", "c"], "released": ["1995-07-02", "1996", "now"]})
    with pytest.raises(
        VisrecError,
        match=r"column 'released': 1 value is not a date \(e\.g\. 'now', item 'c'\)",
    ):
        fit_encoding(frame, [("released", "date")])
