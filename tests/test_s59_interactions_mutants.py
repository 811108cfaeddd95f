"""Session 59 mutation audit of ``visrec.data.interactions``,
``visrec.data.interaction_rows`` and ``visrec.data.column_names``.

77 hand-written mutants were tried against the loader tests: 59 were killed by the tests
that existed, 3 are equivalent (a fast-path exit that the line count check repeats, a
NUL-byte guard needed by pandas 2.1 only, never by the installed pandas 3, and an int64
cast of a timestamp column that is int64 already), and the 15 others are killed by the
tests below, each naming its mutant: the end of an id map's index range, ratings that are
no finite number and arrays of unequal length given to ``Interactions``, time-zone
datetimes, a timestamp of 2**63, two columns of one name, the time-units warning seeing
only kept rows, the loaded frame's index, '-' in header names, the item header test,
spaces noticed on the row-by-row path, ``bool`` timestamps, explicit column names in
another spelling, Parquet's line-break reason and ids kept with their spaces by ``IdMap``.
One bug is fixed: a headerless file whose first line holds ``+1`` was taken for a header.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.column_names import is_item_header, is_user_header
from visrec.data.interactions import IdMap, Interactions, timestamp_seconds
from visrec.data.tables import load_interactions
from visrec.errors import VisrecError


def _write(tmp_path: Path, text: str, name: str = "TRAIN.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def test_an_index_equal_to_the_map_size_is_refused_by_to_raw() -> None:
    # m06: to_raw's range check `a >= len(ids)` made `a > len(ids)` (an IndexError)
    m = IdMap.from_values(["a", "b"])
    with pytest.raises(VisrecError, match=r"index 2 is out of range 0\.\.1"):
        m.to_raw([0, 2])
    assert m.to_raw([1, 0]).tolist() == ["b", "a"]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_ratings_that_are_no_finite_number_are_refused(bad: float) -> None:
    # m07: the NaN/infinity check of Interactions.__post_init__ dropped
    m = IdMap.from_values(["u"])
    with pytest.raises(VisrecError, match="rating holds NaN or infinite values"):
        Interactions(m, m, np.array([0, 0]), np.array([0, 0]), rating=np.array([4.0, bad]))
    if not np.isnan(bad):  # NaN is refused before, as a missing value
        df = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["i", "j"], "rating": [4.0, bad]})
        with pytest.raises(VisrecError, match="NaN or infinite"):
            Interactions.from_frame(df)


def test_arrays_shorter_than_the_user_index_are_refused() -> None:
    # m08: the row count check `len(arr) != n` made `len(arr) > n`
    m = IdMap.from_values(["u", "v"])
    with pytest.raises(VisrecError, match="item_idx has 1 row, expected 2"):
        Interactions(m, m, np.array([0, 1]), np.array([0]))
    with pytest.raises(VisrecError, match="rating has 1 row, expected 2"):
        Interactions(m, m, np.array([0, 1]), np.array([0, 1]), rating=np.array([1.0]))
    with pytest.raises(VisrecError, match="timestamp has 1 row, expected 2"):
        Interactions(m, m, np.array([0, 1]), np.array([0, 1]), timestamp=np.array([5]))


def test_zoned_datetimes_become_utc_seconds_without_a_warning() -> None:
    # m19: the tz_convert to UTC skipped (numpy converts, with a UserWarning)
    col = pd.Series(pd.to_datetime(["2020-01-01 02:00:00+02:00", "2020-01-01 03:00:00+02:00"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        secs = timestamp_seconds(col)
    assert secs.tolist() == [1577836800, 1577840400]  # midnight and 1 am UTC


def test_a_timestamp_of_two_to_the_63_is_refused_not_wrapped() -> None:
    # m21: `abs(values) >= 2**63` made `> 2**63`: 2**63 became -2**63 seconds
    df = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["i", "j"], "timestamp": [1.0, 2.0**63]})
    with pytest.raises(VisrecError, match="at position 1 is not a number of seconds"):
        Interactions.from_frame(df)


def test_two_item_columns_side_by_side_are_refused() -> None:
    # m23: check_columns_once `n > 1` made `n > 2`
    left = pd.DataFrame({"user_id": ["u"], "item_id": ["i"]})
    right = pd.DataFrame({"item_id": ["j"]})
    with pytest.raises(VisrecError, match="has 2 columns named 'item_id'; keep one"):
        Interactions.from_frame(pd.concat([left, right], axis=1))


@pytest.mark.parametrize("quoted", [False, True])
def test_a_dropped_row_does_not_make_a_time_units_warning(tmp_path: Path, quoted: bool) -> None:
    # m43: _mixed_time_units given every row, dropped ones (bad rating) too
    q = '"' if quoted else ""  # a quote sends the file down the row-by-row path
    p = _write(
        tmp_path,
        f"user_id,item_id,rating,timestamp\n{q}u1{q},i1,4,1700000000\n"
        "u2,i2,x,1700000000000\nu3,i3,5,1700000100\n",
    )
    r = load_interactions(p)
    assert r.frame["user_id"].tolist() == ["u1", "u3"]
    assert [(b.line, b.kind) for b in r.bad] == [(3, "non-numeric rating")]
    assert r.warnings == []


@pytest.mark.parametrize("quoted", [False, True])
def test_the_frame_index_runs_from_zero_after_dropped_rows(tmp_path: Path, quoted: bool) -> None:
    # m44: `df[keep].reset_index(drop=True)` made `df[keep]` (index 0, 2, ...)
    q = '"' if quoted else ""
    p = _write(tmp_path, f"user_id,item_id\n{q}u1{q},i1\nu2,\nu3,i3\n")
    r = load_interactions(p)
    assert [(b.line, b.kind) for b in r.bad] == [(3, "empty item id")]
    assert r.frame.index.tolist() == [0, 1]
    assert r.frame.loc[1, "user_id"] == "u3"


def test_dashes_in_header_names_are_ignored(tmp_path: Path) -> None:
    # m52: '-' left out of the separators column names are matched without
    p = _write(tmp_path, "User-Id,Item-Id,Star-Rating\n007,0042,4\n")
    r = load_interactions(p)
    assert r.frame.to_dict("list") == {"user_id": ["007"], "item_id": ["0042"], "rating": [4.0]}


@pytest.mark.parametrize("name", ["parent_asin", "Item ID", "movie-id", "Product.Code"])
def test_item_headers_are_matched_as_column_names_are(name: str) -> None:
    # m60: is_item_header compared the lowercased name, not column_key's
    assert is_item_header(name)
    assert not is_user_header(name)


def test_user_headers_are_matched_as_column_names_are() -> None:
    assert is_user_header("Reviewer_ID") and is_user_header(" user id ")
    assert not is_item_header("Reviewer_ID")


def test_ids_joined_by_their_spaces_are_said_on_the_row_by_row_path(tmp_path: Path) -> None:
    # m65: the row-by-row parse stripping ids before _validate sees their spellings
    p = _write(tmp_path, 'user_id,item_id\n"007",i1\n 007 ,i2\n')  # a quote: the slow path
    r = load_interactions(p)
    assert r.frame["user_id"].tolist() == ["007", "007"]
    assert [(w.line, w.kind) for w in r.warnings] == [(2, "user ids joined")]
    assert "'007', ' 007 '" in r.warnings[0].reason


def test_a_bool_timestamp_column_is_refused() -> None:
    # m71: the bool check of sortable_times dropped (True read as 1 second)
    df = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["i", "j"], "timestamp": [True, False]})
    with pytest.raises(VisrecError, match="timestamps must be numbers or datetimes, not bool"):
        Interactions.from_frame(df)


def test_a_column_named_in_another_spelling_is_found(tmp_path: Path) -> None:
    # m68: an explicit column name matched only exactly, not as column_key matches it
    p = _write(tmp_path, "buyer,sku_code,stars\nb1,s1,5\n")
    r = load_interactions(p, user_col="BUYER", item_col="SKU Code")
    assert r.frame.to_dict("list") == {"user_id": ["b1"], "item_id": ["s1"], "rating": [5.0]}
    with pytest.raises(VisrecError, match="no column 'buyer_id'"):
        load_interactions(p, user_col="buyer_id", item_col="sku_code")


def test_a_line_break_in_a_parquet_id_names_no_open_quote(tmp_path: Path) -> None:
    # m72: Parquet's reason also blamed a quote left open (Parquet has no quotes)
    p = tmp_path / "TRAIN.parquet"
    pd.DataFrame({"user_id": ["u1", "u\n2"], "item_id": ["i1", "i2"]}).to_parquet(p)
    r = load_interactions(p)
    assert r.frame["user_id"].tolist() == ["u1"]
    [bad] = r.bad
    assert (bad.line, bad.kind) == (2, "line break in a value")
    assert bad.reason.endswith("which no id, rating or time can")
    assert "quote" not in bad.reason


def test_an_id_map_keeps_ids_as_written() -> None:
    # m73: IdMap stripping its ids (' 7' and '7' would be one, a duplicate)
    m = IdMap(np.array(["007", " 7", "7", "7 "]))
    assert m.to_list() == ["007", " 7", "7", "7 "]
    assert m.to_index([" 7", "7 "]).tolist() == [1, 3]


@pytest.mark.parametrize(
    ("first", "user", "rating"),
    [("1,2,+1", "1", 1.0), ("1,2,-1", "1", -1.0), ("+1,2,5", "+1", 5.0)],
)
def test_a_headerless_file_may_start_with_a_signed_number(
    tmp_path: Path, first: str, user: str, rating: float
) -> None:
    # bug fixed here: '+1' was no number to NUMBER (only '-1' was), so a headerless
    # file of +1/-1 ratings starting with +1 was refused as a header of no user column
    p = _write(tmp_path, f"{first}\n3,4,-1\n")
    r = load_interactions(p)
    assert r.formats == {str(p): "headerless table, sep ','"}
    assert r.frame.to_dict("list") == {
        "user_id": [user, "3"],  # an id is kept as written, its sign too
        "item_id": ["2", "4"],
        "rating": [rating, -1.0],
    }
    assert r.bad == []


def test_a_space_separated_file_with_a_plus_sign_gets_the_spaces_error(tmp_path: Path) -> None:
    # the tables module's check of a first line of spaced numbers took "-1" but not "+1",
    # whose file then failed as a header problem, which it is not

    path = tmp_path / "sp.csv"
    path.write_text("1 2 +1\n3 4 -1\n")
    with pytest.raises(VisrecError, match=r"line 1: fields separated by spaces \('1 2 \+1'\)"):
        load_interactions(path)
