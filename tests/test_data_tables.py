"""Generic loaders: interactions tables (CSV/TSV/parquet/MovieLens) and item tables."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visrec.cli import main
from visrec.data.item_tables import load_item_table
from visrec.data.summary import format_summary, summarize
from visrec.data.tables import load_interactions
from visrec.data.text_files import sniff_sep, split_first
from visrec.errors import VisrecError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_canonical_header_csv(tmp_path: Path) -> None:
    f = write(tmp_path / "r.csv", "user_id,item_id,rating,timestamp\nu1,i1,5,100\nu2,i1,3.5,200\n")
    res = load_interactions(f)
    df = res.frame
    assert list(df.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert list(df["user_id"]) == ["u1", "u2"] and list(df["item_id"]) == ["i1", "i1"]
    assert list(df["rating"]) == [5.0, 3.5] and list(df["timestamp"]) == [100, 200]
    assert df["timestamp"].dtype == np.int64 and df["rating"].dtype == np.float64
    assert res.n_bad == 0 and res.n_read == 2


def test_ids_only_and_aliases(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "user_id,item_id\n1,10\n2,20\n")
    assert list(load_interactions(f).frame.columns) == ["user_id", "item_id"]
    g = write(tmp_path / "ml.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n")
    df = load_interactions(g).frame
    assert (df["user_id"].iloc[0], df["item_id"].iloc[0], df["rating"].iloc[0]) == ("1", "31", 2.5)
    h = write(tmp_path / "am.tsv", "reviewerID\tasin\toverall\tunixReviewTime\nA1\tB1\t4\t9\n")
    df = load_interactions(h).frame
    assert list(df.iloc[0]) == ["A1", "B1", 4.0, 9]


def test_repeated_column_is_refused(tmp_path: Path) -> None:
    # which of two item columns holds the ids would be a silent guess
    f = write(tmp_path / "d.csv", "user_id,item_id,Item ID\nu1,a,b\nu2,b,c\n")
    with pytest.raises(VisrecError, match=r"d\.csv: the header names the item_id column more"):
        load_interactions(f)
    g = write(tmp_path / "r.csv", "user_id,item_id,rating,rating\nu1,a,1,5\n")
    with pytest.raises(VisrecError, match=r"the rating column more than once \('rating', 'rat"):
        load_interactions(g)
    # a repeated column that is not read is fine (train reads ids only), and so is one
    # named exactly
    h = write(tmp_path / "n.csv", "user_id,item_id,note,note\nu1,a,x,y\n")
    assert list(load_interactions(h).frame["item_id"]) == ["a"]
    assert list(load_interactions(g, ids_only=True).frame["item_id"]) == ["a"]
    with pytest.raises(VisrecError, match="rating column more than once"):
        load_interactions(g, ids_only=True, keep_rating=True)
    u = write(tmp_path / "u.csv", "user_id,User ID,item_id\nu1,x,a\n")
    with pytest.raises(VisrecError, match="user_id column more than once"):
        load_interactions(u)
    assert list(load_interactions(u, user_col="user_id").frame["user_id"]) == ["u1"]
    assert list(load_interactions(u, user_col="User ID").frame["user_id"]) == ["x"]
    pq_path = tmp_path / "r.parquet"
    pd.DataFrame(
        [["u1", "a", 1, 5]], columns=["user_id", "item_id", "rating", "Rating"]
    ).to_parquet(pq_path)
    assert list(load_interactions(pq_path, ids_only=True).frame["item_id"]) == ["a"]
    with pytest.raises(VisrecError, match="rating column more than once"):
        load_interactions(pq_path)


def test_a_column_named_for_one_role_is_not_also_taken_by_alias(tmp_path: Path) -> None:
    f = write(tmp_path / "ml.csv", "userId,movieId,rating,timestamp\n1,10,4,88\n2,10,5,89\n")
    # item_col="userId" left userId to the user role by alias: users were items
    with pytest.raises(VisrecError, match=r"user ids \(columns: .*'userId' is named for item_col"):
        load_interactions(f, item_col="userId")
    with pytest.raises(VisrecError, match=r"item ids .*'movieId' is named for rating_col"):
        load_interactions(f, rating_col="movieId")
    # the column named for the time is the time; the rating has no column left
    res = load_interactions(f, timestamp_col="rating")
    assert list(res.frame["timestamp"]) == [4, 5] and "rating" not in res.frame
    assert res.unread_columns == ["timestamp"]
    # a repeated name is ambiguous when it is named too
    g = write(tmp_path / "r.csv", "user_id,item_id,rating,rating\nu1,a,1,5\n")
    with pytest.raises(VisrecError, match="rating column more than once"):
        load_interactions(g, rating_col="rating")


def test_bad_timestamp_reason_says_how_the_column_is_read(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", "user_id,item_id,timestamp\nu1,a,5\nu1,b,2020-01-02\n")
    res = load_interactions(f)
    assert [b.reason for b in res.bad] == [
        "timestamp '2020-01-02' is not a number (the column holds numbers: 1 of 2 filled values)"
    ]
    g = write(tmp_path / "d.csv", "user_id,item_id,timestamp\nu1,a,2020-01-02\nu1,b,soon\n")
    assert [b.reason for b in load_interactions(g).bad] == [
        "timestamp 'soon' is not a number or a date"
    ]
    # a column of dates with one stray number is dates: the number is the bad record
    # (it made all 600 dates "not a number"); blanks count for neither kind
    rows = "".join(f"u{k},i{k},2020-01-{k % 28 + 1:02d}\n" for k in range(600))
    h = write(tmp_path / "m.csv", "user_id,item_id,timestamp\n" + rows + "u9,i9,0\nu8,i8,\n")
    res = load_interactions(h)
    assert len(res.frame) == 600 and res.frame["timestamp"].iloc[0] == 1577836800
    # a number that would parse as a date (20240315) is a number all the same
    odd = write(tmp_path / "o.csv", "user_id,item_id,timestamp\n" + rows + "u9,i9,20240315\n")
    assert [b.line for b in load_interactions(odd).bad] == [602]
    assert [(b.line, b.reason) for b in res.bad] == [
        (602, "timestamp '0' is a number in a column of dates (600 of 601 filled values; one "
         "kind per column)"),
        (603, "timestamp '' is not a number or a date"),
    ]  # fmt: skip
    # placeholders are no dates: 600 NULLs beside 400 epoch seconds are a column of
    # numbers, and the 400 rows are kept
    rows = "".join(f"u{k},i{k},{'NULL' if k < 600 else 1600000000 + k}\n" for k in range(1000))
    res = load_interactions(write(tmp_path / "n.csv", "user_id,item_id,timestamp\n" + rows))
    assert len(res.frame) == 400 and len(res.bad) == 600
    assert res.bad[0].reason == (
        "timestamp 'NULL' is not a number (the column holds numbers: 400 of 1,000 filled values)"
    )


def test_explicit_columns_and_semicolon(tmp_path: Path) -> None:
    f = write(tmp_path / "x.txt", "who;what;stars\nann;lamp;4\nbob;desk;2\n")
    res = load_interactions(f, user_col="who", item_col="what", rating_col="stars")
    assert list(res.frame["user_id"]) == ["ann", "bob"] and list(res.frame["rating"]) == [4, 2]
    with pytest.raises(VisrecError, match="no column 'nope'"):
        load_interactions(f, user_col="nope", item_col="what")
    with pytest.raises(VisrecError, match="cannot tell which column holds the user ids") as info:
        load_interactions(f)
    # what to put in the file, or how to name the columns (CLI and Python)
    msg = str(info.value)
    assert "--user-col / --item-col on the command line" in msg
    assert "rename that column in the header to user_id" in msg and "reviewerid" in msg
    assert "MovieLens u.data" in msg and "user_col=, item_col=" in msg


def test_udata_headerless_and_folder(tmp_path: Path) -> None:
    (tmp_path / "ml").mkdir()
    f = write(tmp_path / "ml" / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    for p in (f, tmp_path / "ml"):
        res = load_interactions(p)
        assert list(res.frame["user_id"]) == ["196", "186"]
        assert list(res.frame["timestamp"]) == [881250949, 891717742]
        assert "MovieLens u.data" in next(iter(res.formats.values()))
    dat = write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    assert list(load_interactions(dat).frame["item_id"]) == ["1193", "661"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(VisrecError, match="no interactions file"):
        load_interactions(tmp_path / "empty")


def test_folder_bad_rows_name_the_file_found(tmp_path: Path) -> None:
    (tmp_path / "ml").mkdir()
    f = write(tmp_path / "ml" / "u.data", "196\t242\t3\t881250949\n186\t302\tx\t891717742\n")
    res = load_interactions(tmp_path / "ml")
    assert res.files == [str(f)]
    assert [str(b) for b in res.bad] == [f"{f}:2: rating 'x' is not a number"]


BAD_CSV = (
    "user_id,item_id,rating,timestamp\n"
    "u1,i1,5,100\n"  # 2 ok
    "u2,i2,abc,101\n"  # 3 non-numeric rating
    ",i3,4,102\n"  # 4 empty user
    "u4,i4,3\n"  # 5 wrong field count
    "u5,i5,,104\n"  # 6 missing rating
    "u6,i6,2,tomorrow\n"  # 7 bad timestamp
    "u7,,2,105\n"  # 8 empty item
    "u8,i8,1,106\n"  # 9 ok
)


@pytest.mark.parametrize("variant", ["fast", "slow"])
def test_bad_rows_reported_with_line_numbers(tmp_path: Path, variant: str) -> None:
    text = BAD_CSV
    if variant == "slow":  # a quoted field sends it through the row-by-row parser
        text = text.replace("u8,i8", '"u8",i8')
    f = write(tmp_path / "bad.csv", text)
    res = load_interactions(f)
    assert list(res.frame["user_id"]) == ["u1", "u8"]
    assert [(b.line, b.kind) for b in res.bad] == [
        (3, "non-numeric rating"),
        (4, "empty user id"),
        (5, "wrong field count"),
        (6, "missing rating"),
        (7, "bad timestamp"),
        (8, "empty item id"),
    ]
    assert str(res.bad[0]) == f"{f}:3: rating 'abc' is not a number"
    assert str(res.bad[2]) == f"{f}:5: expected 4 fields, got 3"
    assert res.n_read == 8


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    f = write(tmp_path / "b.csv", "user_id,item_id,rating\n\nu1,i1,5\n\nu2,i2,x\n")
    res = load_interactions(f)
    assert [(b.line, b.kind) for b in res.bad] == [(5, "non-numeric rating")]
    assert list(res.frame["user_id"]) == ["u1"]


def test_date_timestamps(tmp_path: Path) -> None:
    f = write(tmp_path / "d.csv", "user_id,item_id,timestamp\na,b,1970-01-02\nc,d,never\n")
    res = load_interactions(f)
    assert list(res.frame["timestamp"]) == [86400]
    assert [b.line for b in res.bad] == [3]


def test_parquet(tmp_path: Path) -> None:
    f = tmp_path / "r.parquet"
    pd.DataFrame(
        {"userId": [1, 2, None], "movieId": [5, 6, 7], "rating": [4.0, None, 3.0]}
    ).to_parquet(f)
    res = load_interactions(f)
    assert list(res.frame["user_id"]) == ["1"]  # not "1.0" although the column is float
    assert [(b.line, b.kind) for b in res.bad] == [(2, "missing rating"), (3, "empty user id")]
    assert res.bad[0].reason.startswith("row 2:")


def test_parquet_string_ids(tmp_path: Path) -> None:
    f = tmp_path / "s.parquet"
    pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"]}).to_parquet(f)
    assert list(load_interactions(f).frame["item_id"]) == ["x", "y"]


# ------------------------------------------------------------------ ids_only
def test_ids_only_keeps_rows_with_blank_or_bad_rating_and_timestamp(tmp_path: Path) -> None:
    text = "user_id,item_id,rating,timestamp\nu1,i1,5,1\nu1,i2,,2\nu2,i1,x,\nu3,,4,4\nu4,i4\n"
    f = write(tmp_path / "TRAIN.csv", text)
    full = load_interactions(f)
    assert list(full.frame["item_id"]) == ["i1"]  # the default still drops them
    res = load_interactions(f, ids_only=True)
    assert list(res.frame.columns) == ["user_id", "item_id"]
    assert list(zip(res.frame["user_id"], res.frame["item_id"], strict=True)) == [
        ("u1", "i1"),
        ("u1", "i2"),
        ("u2", "i1"),
    ]
    # an empty id or a short row is still unusable, and still reported
    assert [(b.line, b.kind) for b in res.bad] == [(5, "empty item id"), (6, "wrong field count")]
    assert res.n_read == 5
    inter = res.to_interactions()
    assert len(inter) == 3 and inter.rating is None and inter.timestamp is None


def test_ids_only_tsv_and_udata(tmp_path: Path) -> None:
    t = write(tmp_path / "r.tsv", "userId\tmovieId\trating\ttimestamp\n1\t10\t\t5\n2\t20\t3\tnow\n")
    assert load_interactions(t).n_rows == 0
    res = load_interactions(t, ids_only=True)
    assert list(res.frame["item_id"]) == ["10", "20"] and res.n_bad == 0
    u = write(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t\t891717742\n")
    assert load_interactions(u).n_rows == 1
    res = load_interactions(u, ids_only=True)
    assert list(res.frame["user_id"]) == ["196", "186"] and res.n_bad == 0
    assert "MovieLens u.data" in next(iter(res.formats.values()))


def test_ids_only_parquet(tmp_path: Path) -> None:
    f = tmp_path / "r.parquet"
    pd.DataFrame(
        {"userId": [1, 2, None], "movieId": [5, 6, 7], "rating": [4.0, None, 3.0]}
    ).to_parquet(f)
    res = load_interactions(f, ids_only=True)
    assert list(res.frame.columns) == ["user_id", "item_id"]
    assert list(res.frame["user_id"]) == ["1", "2"]  # the null rating no longer drops row 2
    assert [(b.line, b.kind) for b in res.bad] == [(3, "empty user id")]


def test_ids_only_with_rating_column_is_an_error(tmp_path: Path) -> None:
    f = write(tmp_path / "x.csv", "who,what,stars\nann,lamp,4\n")
    with pytest.raises(VisrecError, match="ids_only reads only the user and item columns"):
        load_interactions(f, user_col="who", item_col="what", rating_col="stars", ids_only=True)


# rows 3 and 4 have a blank and a malformed time, row 5 a malformed rating
_KEEP_RATING_CSV = (
    "user_id,item_id,rating,timestamp\nu1,i1,5,10\nu1,i2,4,\nu2,i1,3,45x\nu2,i2,x,40\n"
)


@pytest.mark.parametrize("slow", [False, True], ids=["fast-path", "csv-fallback"])
def test_keep_rating_reads_the_rating_but_not_the_time(tmp_path: Path, slow: bool) -> None:
    # a quoted field sends the file to the row-by-row csv parse
    text = _KEEP_RATING_CSV.replace("u1,i1,", '"u1",i1,') if slow else _KEEP_RATING_CSV
    f = write(tmp_path / "r.csv", text)
    assert load_interactions(f).n_rows == 1  # the full loader needs every field
    res = load_interactions(f, ids_only=True, keep_rating=True)
    assert list(res.frame.columns) == ["user_id", "item_id", "rating"]
    assert res.frame.values.tolist() == [["u1", "i1", 5.0], ["u1", "i2", 4.0], ["u2", "i1", 3.0]]
    # a rating that cannot be read is still a reason to drop the row
    assert [(b.line, b.kind) for b in res.bad] == [(5, "non-numeric rating")]
    both = load_interactions(f, ids_only=True, keep_rating=True, keep_time=True)
    assert list(both.frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert both.frame.values.tolist() == [["u1", "i1", 5.0, 10]]
    assert [(b.line, b.kind) for b in both.bad] == [
        (3, "bad timestamp"),
        (4, "bad timestamp"),
        (5, "non-numeric rating"),
    ]


def test_keep_rating_parquet(tmp_path: Path) -> None:
    f = tmp_path / "r.parquet"
    pd.DataFrame(
        {
            "userId": [1, 2, 3, 4],
            "movieId": [5, 6, 7, 8],
            "rating": [4.0, 5.0, None, 3.0],
            "timestamp": ["10", "", "30", "soon"],
        }
    ).to_parquet(f)
    assert load_interactions(f).n_rows == 1
    res = load_interactions(f, ids_only=True, keep_rating=True)
    assert list(res.frame.columns) == ["user_id", "item_id", "rating"]
    assert list(res.frame["user_id"]) == ["1", "2", "4"]  # blank and bad times kept
    assert list(res.frame["rating"]) == [4.0, 5.0, 3.0]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "missing rating")]


def test_keep_rating_and_keep_time_need_ids_only_and_name_columns(tmp_path: Path) -> None:
    f = write(tmp_path / "x.csv", "who,what,stars,when\nann,lamp,4,\nbob,lamp,5,7\n")
    with pytest.raises(VisrecError, match=r"keep_rating only applies with ids_only"):
        load_interactions(f, keep_rating=True)
    named = {"user_col": "who", "item_col": "what", "rating_col": "stars"}
    res = load_interactions(f, **named, ids_only=True, keep_rating=True)
    assert list(res.frame["rating"]) == [4.0, 5.0] and res.n_bad == 0
    # the time column is named but would not be read
    with pytest.raises(VisrecError, match=r"timestamp_col='when' would be ignored"):
        load_interactions(f, **named, timestamp_col="when", ids_only=True, keep_rating=True)
    res = load_interactions(f, **named, timestamp_col="when", ids_only=True, keep_rating=True,
                            keep_time=True)  # fmt: skip
    assert list(res.frame["timestamp"]) == [7] and [b.line for b in res.bad] == [2]


def test_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match="empty"):
        load_interactions(write(tmp_path / "e.csv", "\n"))
    with pytest.raises(FileNotFoundError):
        load_interactions(tmp_path / "missing.csv")


def test_binary_files_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # random bytes without a NUL used to come back as garbled column names, and with a
    # lone CR as a traceback from inside the csv module
    rng = np.random.default_rng(3)
    noise = bytes(b for b in rng.integers(1, 256, 4000).tolist())
    cases = {"noise.bin": noise, "nul.csv": b"user_id,item_id\n\x00\x01,b\n"}
    cases["utf16.csv"] = "user_id,item_id\nu1,i1\n".encode("utf-16")
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(VisrecError, match="looks like a binary file"):
            load_interactions(tmp_path / name)
        assert main(["data", "summary", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {tmp_path / name}: looks like a binary")
        assert err.count("\n") == 1


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_old_mac_and_windows_line_ends(tmp_path: Path, newline: str) -> None:
    text = newline.join(["user_id,item_id,rating", "u1,i1,5", "u2,i2,3", ""])
    f = tmp_path / "r.csv"
    f.write_bytes(text.encode())
    df = load_interactions(f).frame
    assert df.values.tolist() == [["u1", "i1", 5.0], ["u2", "i2", 3.0]]
    g = tmp_path / "items.csv"
    g.write_bytes(newline.join(["item_id,title", "i1,One", "i2,Two", ""]).encode())
    assert list(load_item_table(g, id_col="item_id").frame["item_id"]) == ["i1", "i2"]


# ------------------------------------------------------------------ property test
ids = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
        min_size=1,
        max_size=8,
    )
    .map(str.strip)
    .filter(bool)
)
rows = st.lists(
    st.tuples(ids, ids, st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 2**40)),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows, st.sampled_from([",", "\t", ";"]))
def test_csv_round_trip(tmp_path: Path, data: list[tuple[str, str, float, int]], sep: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(["user_id", "item_id", "rating", "timestamp"])
    w.writerows(data)
    f = tmp_path / "rt.csv"
    f.write_text(buf.getvalue(), encoding="utf-8")
    res = load_interactions(f, sep=sep)
    assert res.n_bad == 0
    assert list(res.frame["user_id"]) == [r[0] for r in data]
    assert list(res.frame["item_id"]) == [r[1] for r in data]
    assert np.allclose(res.frame["rating"], [r[2] for r in data])
    assert list(res.frame["timestamp"]) == [r[3] for r in data]


# ------------------------------------------------------------------ item tables
def test_item_table_repairs_extra_commas_and_reports(tmp_path: Path) -> None:
    f = write(
        tmp_path / "styles.csv",
        "id,masterCategory,productDisplayName\n"
        "1,Apparel,Blue shirt\n"
        "2,Footwear,Shoe, black, size 9\n"  # extra commas in the free text -> repaired
        "3,Apparel\n"  # too few -> bad
        ",Apparel,No id\n"  # empty id -> bad
        "1,Accessories,duplicate\n"  # duplicate id -> bad
        "5,,No label\n",  # empty label -> bad (label_col given)
    )
    res = load_item_table(f, "id", "masterCategory")
    df = res.frame
    assert list(df["item_id"]) == ["1", "2"]
    assert df["productDisplayName"].iloc[1] == "Shoe, black, size 9"
    assert [(w.line, w.kind) for w in res.warnings] == [(3, "extra fields merged")]
    assert [(b.line, b.kind) for b in res.bad] == [
        (4, "wrong field count"),
        (5, "empty item id"),
        (6, "duplicate item id"),
        (7, "empty label"),
    ]
    assert "already on line 2" in res.bad[2].reason


def test_item_table_extra_fields_in_label_column_are_bad(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", "id,label\n1,a\n2,b,c\n")
    res = load_item_table(f, "id", "label")
    assert list(res.frame["item_id"]) == ["1"] and [b.line for b in res.bad] == [3]
    assert "_line" not in res.frame.columns


def test_item_table_errors(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", "id,label\n1,a\n")
    with pytest.raises(VisrecError, match="no id column 'sku'") as info:
        load_item_table(f, "sku")
    assert "looks like data" not in str(info.value)
    # a headerless table (u.data given as --labels): its first row was read as the header
    g = write(tmp_path / "u.tsv", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    with pytest.raises(VisrecError, match="its first line looks like data, not a header"):
        load_item_table(g, "item_id", "kind")
    with pytest.raises(VisrecError, match="no label column 'color'"):
        load_item_table(f, "id", "color")


def test_movielens_u_item(tmp_path: Path) -> None:
    flags = ["0"] * 19
    f1, f2 = flags.copy(), flags.copy()
    f1[3] = f1[5] = "1"  # Animation, Comedy
    text = (
        "1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(f1) + "\n"
        "2|Caf\xe9 (1996)|01-Jan-1996||http://y|" + "|".join(f2) + "\n"
        "3|short|line\n"
    )
    f = tmp_path / "u.item"
    f.write_bytes(text.encode("latin-1"))
    res = load_item_table(f)
    df = res.frame
    assert list(df["item_id"]) == ["1", "2"]
    assert df["title"].iloc[1] == "Café (1996)"
    assert list(df["genres"]) == ["Animation|Comedy", ""]
    assert list(df["genre"]) == ["Animation", "unknown"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "wrong field count")]


# ------------------------------------------------------------------ summary
def test_summary_of_generic_csv(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = write(tmp_path / "r.csv", "user_id,item_id,rating\na,x,5\na,y,4\nb,x,5\nb,x,5\nc,z,oops\n")
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(f), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rows (interactions)                      4" in text
    assert "     5                                      3  (75.0%)" in text
    assert f"{f}:6: rating 'oops' is not a number" in text
    s = json.loads(out.read_text())["sections"][0]
    assert (s["users"], s["items"], s["duplicate_pairs"]) == (2, 2, 1)
    assert s["ratings"] == {"4": 1, "5": 3}
    # distinct pairs: a has x and y, b has x (twice: once); x has a and b, y has a
    assert s["items_per_user"] == {"mean": 1.5, "median": 1.5, "min": 1, "max": 2}
    assert s["users_per_item"] == {"mean": 1.5, "median": 1.5, "min": 1, "max": 2}
    assert "items per user                  mean 1.5, median 1.5, 1-2" in text


def test_summary_of_folder_with_images(tmp_path: Path) -> None:
    d = tmp_path / "set"
    (d / "posters").mkdir(parents=True)
    write(d / "u.data", "1\t10\t5\t1\n2\t10\t4\t2\n2\t11\t3\t3\n3\t12\t1\t4\n")
    for name in ("10.jpg", "12.PNG", "99.jpg", "notes.txt"):
        (d / "posters" / name).write_bytes(b"x")
    s = summarize([d])[0]
    assert (s["rows"], s["users"], s["items"]) == (4, 3, 3)
    assert (s["images_found"], s["items_with_image"], s["images_without_item"]) == (3, 2, 1)
    assert s["rows_on_items_with_image"] == 3
    assert "items with an image                      2  (66.7%)" in format_summary([s])


@pytest.mark.parametrize("sep", ["\t", ",", ";", "|"])
def test_summary_of_item_table_sniffs_the_separator(tmp_path: Path, sep: str) -> None:
    rows = [["item_id", "category"], ["a", "mug"], ["b", "mug"], ["c", "bag"]]
    f = write(tmp_path / "items.csv", "".join(sep.join(r) + "\n" for r in rows))
    s = summarize([f])[0]
    assert s["kind"] == "item table" and s["items"] == 3
    assert s["categories"] == {"mug": 2, "bag": 1}


def test_summary_of_folder_with_tab_separated_item_table(tmp_path: Path) -> None:
    d = tmp_path / "set"
    (d / "images").mkdir(parents=True)
    write(d / "items.csv", "item_id\tcategory\n1\tApparel\n2\tFootwear\n")
    (d / "images" / "1.jpg").write_bytes(b"x")
    s = summarize([d])[0]
    assert (s["items"], s["items_with_image"], s["category_column"]) == (2, 1, "category")


# ------------------------------------------------------------------ real data
@pytest.mark.realdata
def test_real_udata(shared_data: Path) -> None:
    ml = shared_data / "movielens-100k-posters"
    for p in (ml / "u.data", ml):
        res = load_interactions(p)
        df = res.frame
        assert (len(df), df["user_id"].nunique(), df["item_id"].nunique()) == (100000, 943, 1682)
        assert res.n_bad == 0
    assert df["rating"].value_counts().to_dict() == {
        4: 34174,
        3: 27145,
        5: 21201,
        2: 11370,
        1: 6110,
    }


@pytest.mark.realdata
def test_real_summary_movielens_folder(shared_data: Path) -> None:
    s = summarize([shared_data / "movielens-100k-posters"])[0]
    assert (s["rows"], s["users"], s["items"]) == (100000, 943, 1682)
    assert s["items_with_image"] == 1663 and s["rows_on_items_with_image"] == 99815


@pytest.mark.realdata
def test_real_item_tables(shared_data: Path) -> None:
    styles = load_item_table(
        shared_data / "fashion-products" / "styles.csv", "id", "masterCategory"
    )
    assert styles.n_rows == 3000 and styles.n_bad == 0
    counts = styles.frame["masterCategory"].value_counts()
    assert (counts["Apparel"], counts["Footwear"], counts["Accessories"]) == (1683, 651, 650)
    items = load_item_table(shared_data / "movielens-100k-posters" / "u.item")
    assert items.n_rows == 1682 and items.frame["title"].iloc[0] == "Toy Story (1995)"


@pytest.mark.parametrize(
    ("line", "suffix", "sep"),
    [
        ("1::2::5::881250949", ".dat", "::"),
        ("a,b,c", ".tsv", "\t"),
        ("a\tb", ".txt", "\t"),
        ("a\tb\tc,d", ".csv", "\t"),  # .csv only stops a single tab from deciding
        ("a;b;c,d", ".csv", ";"),
        ("a|b|c", ".txt", "|"),
        ("abc", ".txt", ","),
    ],
)
def test_sniff_sep(line: str, suffix: str, sep: str) -> None:
    assert sniff_sep(line, suffix) == sep


def test_split_first_quotes_one_char_separators_only() -> None:
    assert split_first('id,"a, b",c', ",") == ["id", "a, b", "c"]
    assert split_first('1::"x::y"', "::") == ["1", '"x', 'y"']


def test_report_lines_say_what_was_skipped_and_what_was_kept_with_a_caveat() -> None:
    from visrec.data.tables import BadRecord, LoadResult

    bad = [BadRecord("r.csv", n, "null rating", "rating is empty") for n in (2, 5)]
    kept = [BadRecord("r.csv", n, "latin-1", "read as latin-1") for n in (3, 4, 6, 7)]
    res = LoadResult(pd.DataFrame(), bad=bad, warnings=kept)
    skipped, caveats = res.report_lines("r.csv", limit=3)
    assert skipped.startswith("r.csv: skipped 2 records; bad records: 2 (null rating 2)")
    assert "r.csv:5: rating is empty" in skipped
    assert caveats == (
        "r.csv: 4 warnings, rows kept: r.csv:3: read as latin-1; r.csv:4: read as latin-1; "
        "r.csv:6: read as latin-1 ... and 1 more"
    )
    assert LoadResult(pd.DataFrame()).report_lines("r.csv") == []


def test_day_31_is_a_date(tmp_path: Path) -> None:
    # 31/01/2020 is a real date (day-first column), not a bad record
    from visrec.data.tables import load_interactions

    path = tmp_path / "d.csv"
    path.write_text("user_id,item_id,timestamp\nu1,i1,31/01/2020\nu1,i2,13/02/2020\n")
    res = load_interactions(path)
    assert res.bad == []
    got = pd.to_datetime(res.frame["timestamp"], unit="s")
    assert got.dt.strftime("%Y-%m-%d").tolist() == ["2020-01-31", "2020-02-13"]


def test_dots_in_header_names_are_ignored(tmp_path: Path) -> None:
    # "case, spaces, '_', '-', '.' ignored" in header names
    from visrec.data.tables import load_interactions

    path = tmp_path / "d.csv"
    path.write_text("User.Id,Item.Id,Rating\nu1,i1,4\nu2,i2,5\n")
    frame = load_interactions(path).frame
    assert frame[["user_id", "item_id"]].values.tolist() == [["u1", "i1"], ["u2", "i2"]]
    assert frame["rating"].tolist() == [4.0, 5.0]


def test_a_column_named_for_the_user_is_not_also_read_as_the_rating(tmp_path: Path) -> None:
    # user_col="score" takes that column; "score" (a rating alias) is then not the
    # rating as well (which would drop every row as a non-numeric rating)
    from visrec.data.tables import load_interactions

    path = tmp_path / "d.csv"
    path.write_text("score,item_id\nu1,i1\nu2,i2\n")
    res = load_interactions(path, user_col="score")
    assert res.bad == []
    assert res.frame["user_id"].tolist() == ["u1", "u2"]
    assert "rating" not in res.frame.columns


def test_a_number_is_judged_by_one_rule_whatever_the_rest_of_the_column(tmp_path: Path) -> None:
    # Python's float() takes '1_000' and Arabic-Indic digits, pandas' to_numeric does
    # not: which one judged a value depended on whether another row failed
    clean = write(tmp_path / "a.csv", "user_id,item_id,rating\nu1,a,1_000\nu2,b,4\nu3,c,\u0664\n")
    mixed = write(tmp_path / "b.csv", "user_id,item_id,rating\nu1,a,1_000\nu2,b,4\nu3,c,oops\n")
    for f in (clean, mixed):
        res = load_interactions(f)
        assert res.frame["rating"].tolist() == [4.0]
        assert "rating '1_000' is not a number" in res.bad[0].reason
    stamps = write(tmp_path / "t.csv", "user_id,item_id,timestamp\nu1,a,1_600_000_000\nu1,b,5\n")
    assert [b.line for b in load_interactions(stamps).bad] == [2]


def test_ids_keep_unicode_line_separators_in_double_colon_files(tmp_path: Path) -> None:
    # str.splitlines() broke rows at U+2028 and form feeds: a bogus short row and a
    # kept row for a user that does not exist
    f = tmp_path / "ratings.dat"
    f.write_text("1::2::5::881250949\n1\u2028x::3::4::881250950\n", encoding="utf-8")
    res = load_interactions(f)
    assert res.bad == []
    assert res.frame["user_id"].tolist() == ["1", "1\u2028x"]


def test_gzip_is_read_whatever_the_case_of_its_suffix(tmp_path: Path) -> None:
    import gzip

    body = b"user_id,item_id\nu1,a\nu2,b\n"
    for name in ("r.csv.GZ", "r2.csv.Gz", "plain.csv"):
        (tmp_path / name).write_bytes(gzip.compress(body))
        assert load_interactions(tmp_path / name).frame["item_id"].tolist() == ["a", "b"]


def test_a_label_column_read_for_labels_leaves_empty_labels_out_with_a_note(
    tmp_path: Path,
) -> None:
    from visrec.commands._labels import read_label_table

    flags = ["0"] * 19
    f1 = flags.copy()
    f1[3] = "1"
    text = (
        "1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(f1) + "\n"
        "2|No genre (1996)|01-Jan-1996||http://y|" + "|".join(flags) + "\n"
    )
    f = tmp_path / "u.item"
    f.write_bytes(text.encode("latin-1"))
    ids, labels, notes = read_label_table(str(f), "item_id", "genres")  # "" for item 2
    assert list(ids) == ["1"] and list(labels) == ["Animation"]
    assert notes == [f"{f}: 1 item with an empty 'genres' left out (e.g. '2')"]
