"""Loader robustness (QA findings): values that crashed a loader or were changed
silently are bad records (or reported), with file and line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.item_tables import load_item_table
from visrec.data.summary import format_summary, summarize
from visrec.data.tables import load_interactions
from visrec.data.text_files import read_text
from visrec.errors import VisrecError


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    return path


def _review(t: str = "7", **fields: object) -> str:
    rec = {"overall": 4.0, "reviewerID": "U1", "asin": "B1", **fields}
    return json.dumps(rec)[:-1] + f', "unixReviewTime": {t}}}'


# ------------------------------------------------------------ 1. Amazon review times
def test_amazon_time_out_of_range_is_a_bad_record(tmp_path: Path) -> None:
    # Infinity was an OverflowError traceback, 1e30 one from pandas, 1.5 was cut to 1
    f = _jsonl(
        tmp_path / "A_5.json",
        [_review("Infinity"), _review("1e30"), _review("7"), _review("1.5"), _review("true")],
    )
    for res in (
        load_amazon_reviews(f),
        load_amazon_reviews(f, ids_only=True, keep_time=True),
    ):
        assert res.frame["timestamp"].tolist() == [7]
        assert [(b.line, b.kind) for b in res.bad] == [(k, "missing time") for k in (1, 2, 4, 5)]
        assert str(res.bad[0]) == (
            f"{f}:1: 'unixReviewTime' is Infinity, expected whole seconds within int64, "
            "and no usable reviewTime"
        )
        assert "'unixReviewTime' is 1e+30," in str(res.bad[1])
    # a usable reviewTime is the time then, as for an unreadable unixReviewTime
    g = _jsonl(tmp_path / "B_5.json", [_review("Infinity", reviewTime="01 2, 1970")])
    assert load_amazon_reviews(g).frame["timestamp"].tolist() == [86_400]
    # ids only: the time is not read, so the record is kept
    assert load_amazon_reviews(f, ids_only=True).n_rows == 5


# ------------------------------------------------------------ 2. timestamps beyond int64
def test_timestamp_beyond_int64_is_a_bad_record(tmp_path: Path) -> None:
    # 1e30 became -9223372036854775808 with only a numpy RuntimeWarning
    f = tmp_path / "r.csv"
    f.write_text(
        "user_id,item_id,rating,timestamp\n"
        "1,007,5,1e30\n"
        "2,008,4,9223372036854775807\n"
        "3,009,4,9223372036854775808\n"
        "4,010,3,-1e19\n"
        "5,011,3,9007199254740993\n"
        "6,012,2,100\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        res = load_interactions(f)
        quoted = f.with_name("q.csv")  # the row-by-row path (quotes) does the same
        quoted.write_text(f.read_text().replace("1,007", '"1",007'))
        res_q = load_interactions(quoted)
    for r in (res, res_q):
        assert r.frame["timestamp"].tolist() == [2**63 - 1, 9007199254740993, 100]
        assert [(b.line, b.kind) for b in r.bad] == [(k, "bad timestamp") for k in (2, 4, 5)]
        assert str(r.bad[0]).endswith(":2: timestamp '1e30' is out of range (int64 seconds)")
        assert "'9223372036854775808' is out of range" in str(r.bad[1])


# ------------------------------------------------------------ 4. repeated item-table columns
def test_item_table_with_a_repeated_column_is_refused(tmp_path: Path) -> None:
    # was an AttributeError traceback later, in `visrec cluster --labels`
    f = tmp_path / "styles.csv"
    f.write_text("id,masterCategory,masterCategory\n1,Apparel,Footwear\n")
    with pytest.raises(
        VisrecError,
        match=r"styles\.csv: the header names column 'masterCategory' more than once; rename",
    ):
        load_item_table(f, label_col="masterCategory")
    g = tmp_path / "ids.csv"
    g.write_text("id,x, id\n1,a,2\n")
    with pytest.raises(VisrecError, match=r"column 'id' more than once"):
        load_item_table(g)
    # the id column becomes item_id: a second item_id column would repeat it
    h = tmp_path / "both.csv"
    h.write_text("id,item_id,cat\n1,a,b\n")
    with pytest.raises(VisrecError, match=r"column 'item_id' clashes with the loader's own"):
        load_item_table(h)
    assert load_item_table(h, id_col="item_id").frame["id"].tolist() == ["1"]
    # repeats of columns that are neither the id nor the label are numbered, not refused:
    # a spreadsheet export's blank trailing columns, two note columns
    x = tmp_path / "excel.csv"
    x.write_text("id,masterCategory,note,note,,\n1,Apparel,a,b,,\n2,Footwear,c,d,,\n")
    got = load_item_table(x, label_col="masterCategory")
    assert list(got.frame.columns[:6]) == [
        "item_id",
        "masterCategory",
        "note",
        "note.1",
        "unnamed",
        "unnamed.1",
    ]
    assert got.frame["masterCategory"].tolist() == ["Apparel", "Footwear"] and got.n_bad == 0


# ------------------------------------------------------------ 5. float ids in parquet
def test_parquet_float_ids_read_alike_in_both_loaders(tmp_path: Path) -> None:
    # item tables gave "10001.0" (never matching the vectors) and "nan" for a null id
    items = tmp_path / "items.parquet"
    pd.DataFrame({"id": [10001.0, None, 10003.0], "cat": ["a", "b", "c"]}).to_parquet(items)
    res = load_item_table(items, label_col="cat")
    assert res.frame["item_id"].tolist() == ["10001", "10003"]
    assert [str(b) for b in res.bad] == [f"{items}:2: row 2: empty 'id'"]
    inter = tmp_path / "r.parquet"
    pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": [10001.0, None, 10003.0]}).to_parquet(
        inter
    )
    got = load_interactions(inter)
    assert got.frame["item_id"].tolist() == ["10001", "10003"]
    assert [(b.line, b.kind) for b in got.bad] == [(2, "empty item id")]


def test_parquet_float_id_beyond_exact_integers_is_kept_as_written(tmp_path: Path) -> None:
    # 1e20 was "TypeError: cannot safely cast non-equivalent float64 to int64"
    big = tmp_path / "big.parquet"
    pd.DataFrame({"user_id": [1.0, 1e20], "item_id": [5.0, None], "rating": [4, 5]}).to_parquet(big)
    res = load_interactions(big)
    assert res.frame[["user_id", "item_id"]].values.tolist() == [["1", "5"]]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "empty item id")]
    pd.DataFrame({"user_id": [1.0, 1e20], "item_id": [5.0, 6.0]}).to_parquet(big)
    assert load_interactions(big).frame["user_id"].tolist() == ["1", "1e+20"]
    assert main(["data", "summary", str(big)]) == 0


# ------------------------------------------------------------ 6. "verified" as text
def test_verified_strings_and_numbers(tmp_path: Path) -> None:
    # "false" (a string) was True
    values = ['"false"', '"true"', '"FALSE "', "0", "1", "true", "false", "null", '"yes"', "2"]
    f = _jsonl(tmp_path / "A_5.json", [_review(str(k), verified=None) for k in range(10)])
    f.write_text(
        "".join(
            ln.replace('"verified": null', f'"verified": {v}') + "\n"
            for ln, v in zip(f.read_text().splitlines(), values, strict=True)
        )
    )
    res = load_amazon_reviews(f)
    want = [False, True, False, False, True, True, False, False, False, False]
    assert res.frame["verified"].tolist() == want and res.n_bad == 0
    assert [str(w) for w in res.warnings] == [
        f"{f}:9: 'verified' is \"yes\", expected true or false (kept as false)",
        f"{f}:10: 'verified' is 2, expected true or false (kept as false)",
    ]


# ------------------------------------------------------------ 7. review photos, any rating
def test_for_photos_keeps_reviews_without_rating_or_time(tmp_path: Path) -> None:
    # fetch read reviews with the full loader: a photo on an "overall": null review was
    # a bad record, and its URL was not fetched
    pic = ["http://x/p.jpg"]
    recs = [
        {"overall": None, "reviewerID": "U1", "asin": "B1", "unixReviewTime": 7, "image": pic},
        {"overall": 5.0, "reviewerID": "U1", "asin": "B1", "unixReviewTime": 7, "image": pic},
        {"overall": 4.0, "reviewerID": "U1", "asin": "B1", "unixReviewTime": 7},
        {"overall": 4.0, "reviewerID": "U2", "asin": "B1", "image": pic},
        {"overall": None, "reviewerID": "U2", "asin": "B1", "image": pic},
        {"overall": 4.0, "asin": "B1", "unixReviewTime": 7, "image": pic},
    ]
    f = _jsonl(tmp_path / "A_5.json", [json.dumps(r) for r in recs])
    full = load_amazon_reviews(f)
    res = load_amazon_reviews(f, for_photos=True)
    cols = ["review_id", "user_id", "item_id", "image", "category", "_where"]
    assert list(res.frame.columns) == cols
    assert res.frame["_where"].tolist() == [f"{f} line {k}" for k in range(1, 6)]
    assert res.frame["review_id"].tolist() == [
        "B1_U1_7_x",
        "B1_U1_7",
        "B1_U1_7_2",
        "B1_U2_x",
        "B1_U2_2_x",
    ]
    # the reviews the full load keeps have its ids, so photos match rating rows
    assert full.frame["review_id"].tolist() == ["B1_U1_7", "B1_U1_7_2"]
    assert res.frame["image"].map(len).tolist() == [1, 1, 0, 1, 1]
    assert [(b.line, b.kind) for b in res.bad] == [(6, "missing reviewerID")]
    with pytest.raises(VisrecError, match="for_photos and ids_only"):
        load_amazon_reviews(f, for_photos=True, ids_only=True)


# ------------------------------------------------------------ 3. one bad byte in a UTF-8 file
MIXED = b"user_id,item_id,rating\nu1,caf\xc3\xa9,5\nu2,na\xc3\xafve,4\nu3,x\xff,3\n"


def test_one_bad_byte_keeps_the_utf8_lines(tmp_path: Path) -> None:
    # the whole file was read as latin-1: 'cafÃ©', 'naÃ¯ve', 'xÿ', with no warning; the
    # odd line is read as latin-1 and kept (a stray byte in a review's text must not
    # cost the review), with a warning naming it
    f = tmp_path / "r.csv"
    f.write_bytes(MIXED)
    res = load_interactions(f)
    assert res.frame["item_id"].tolist() == ["café", "naïve", "xÿ"] and res.n_bad == 0
    assert [str(w) for w in res.warnings] == [
        f"{f}:4: 1 line not valid UTF-8 (byte 0xff at column 5), read as "
        "Windows-1252 (latin-1), the rest of the file as UTF-8; save the file as UTF-8"
    ]
    assert res.warnings[0].kind == "mixed encodings"
    assert load_interactions(f, ids_only=True).frame["item_id"].tolist() == [
        "café",
        "naïve",
        "xÿ",
    ]
    assert read_text(f).splitlines()[3] == "u3,xÿ,3"  # `recommend --items` reads it alike
    # a latin-1 id in a UTF-8 file is read right
    g = tmp_path / "q.csv"
    g.write_bytes(b"user_id,item_id\nu1,caf\xc3\xa91\nu2,caf\xc3\xa92\nu3,caf\xe93\n")
    assert load_interactions(g).frame["item_id"].tolist() == ["café1", "café2", "café3"]
    # an item table and an Amazon file the same way, a stray byte in a review's text too
    t = tmp_path / "items.csv"
    t.write_bytes(b"id,cat\ncaf\xc3\xa9,a\nna\xc3\xafve,b\nx\xff,c\n")
    items = load_item_table(t, label_col="cat")
    assert items.frame["item_id"].tolist() == ["café", "naïve", "xÿ"] and items.n_bad == 0
    assert [(w.line, w.kind) for w in items.warnings] == [(4, "mixed encodings")]
    a = tmp_path / "A_5.json"
    a.write_bytes(
        b"".join(
            _review(asin=asin).encode("latin-1").replace(b"?", bad) + b"\n"
            for asin, bad in (("caf?", b"\xc3\xa9"), ("na?ve", b"\xc3\xaf"), ("x?", b"\x92"))
        )
    )
    reviews = load_amazon_reviews(a)
    assert reviews.frame["item_id"].tolist() == ["café", "naïve", "x\u2019"]  # cp1252 ’
    assert reviews.n_bad == 0 and [(w.line, w.kind) for w in reviews.warnings] == [
        (3, "mixed encodings")
    ]


def test_latin1_files_stay_latin1(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"user_id,item_id\nu1,caf\xe9\nu2,na\xefve\nu3,x\n")
    res = load_interactions(f)
    assert res.frame["item_id"].tolist() == ["café", "naïve", "x"]
    # read right, but the ids go out as UTF-8, not the bytes of this file: one note
    assert res.n_bad == 0 and [(w.line, w.kind) for w in res.warnings] == [(2, "not UTF-8")]
    assert read_text(f).splitlines()[1] == "u1,café"  # as `recommend --items` reads
    # latin-1 wins the majority, but a line of valid UTF-8 is now garbled: say so
    f.write_bytes(b"user_id,item_id\nu1,caf\xe9\nu2,na\xefve\nu3,caf\xc3\xa9\n")
    res = load_interactions(f)
    assert res.frame["item_id"].tolist() == ["café", "naïve", "cafÃ©"]
    assert [(w.line, w.kind) for w in res.warnings] == [(2, "mixed encodings")]
    assert "1 line of it is valid UTF-8 (line 4)" in res.warnings[0].reason
    t = tmp_path / "items.csv"
    t.write_bytes(b"id,cat\ncaf\xe9,a\nx,b\n")
    assert load_item_table(t).frame["item_id"].tolist() == ["café", "x"]


def test_windows_1252_ids_read_as_written_in_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 0x80-0x9f were latin-1's invisible controls: 'café \x801', '\x93quoted\x94'; a
    # UTF-8 TRAIN.csv with a Windows candidates file then missed both ids
    from visrec.cli import main

    ids = ["café €1", "“quoted”", "B0014HA6VG"]
    u8 = tmp_path / "train.csv"
    u8.write_text(
        "user_id,item_id\n" + "".join(f"u{u},{i}\n" for u in range(3) for i in ids[u:]),
        encoding="utf-8",
    )
    cands = tmp_path / "cands.txt"
    cands.write_bytes("\n".join(ids).encode("cp1252") + b"\n")
    assert read_text(cands).splitlines() == ids
    assert main(["train", "--model", "popularity", "--interactions", str(u8), "-o",
                 str(tmp_path / "m"), "--quiet"]) == 0  # fmt: skip
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(tmp_path / "m"), "-o", str(out), "--items", str(cands)]) == 0
    assert "unseen in training" not in capsys.readouterr().err
    recs = pd.read_csv(out, dtype=str, encoding="utf-8")
    assert set(recs["item_id"]) == {"café €1", "“quoted”"}  # B0014HA6VG: everyone has it
    # the same TRAIN.csv saved by Windows reads to the same ids
    w = tmp_path / "train_cp.csv"
    w.write_bytes(u8.read_text(encoding="utf-8").encode("cp1252"))
    assert sorted(set(load_interactions(w).frame["item_id"])) == sorted(ids)


def test_real_movielens_items_still_latin1(shared_data: Path) -> None:
    res = load_item_table(shared_data / "movielens-100k-posters" / "u.item")
    assert res.n_bad == 0 and res.n_rows == 1682 and res.warnings == []
    assert any("é" in t for t in res.frame["title"])


def test_summary_shows_load_warnings(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"user_id,item_id\nu1,caf\xe9\nu2,na\xefve\nu3,caf\xc3\xa9\n")
    text = format_summary(summarize([f]))
    assert "   warnings (rows kept): 1\n" in text
    assert f"     {f}:2: not valid UTF-8 here, so the file is read as Windows-1252" in text


# ------------------------------------------------------------ quotes left open
def _rows_with_titles(path: Path, open_at: tuple[int, ...]) -> Path:
    rows = ["user_id,item_id,rating,timestamp,title"]
    for i in range(200):
        title = '"Barbie 18 inch doll' if i in open_at else "a title"
        rows.append(f"u{i % 20},i{i % 30},5,{1000 + i},{title}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_quote_left_open_to_the_end_is_an_error(tmp_path: Path) -> None:
    # the rest of the file became one title: 189 of 200 rows gone without a word
    f = _rows_with_titles(tmp_path / "t.csv", (10,))
    with pytest.raises(VisrecError, match=r"t\.csv line 12: a quote \(\"\) opened here is never "):
        load_interactions(f)
    g = tmp_path / "ids.csv"
    g.write_text('user_id,item_id\na,"007\nb,0042\nc,7\n', encoding="utf-8")
    with pytest.raises(VisrecError, match=r"line 2: .*rest of the file \(3 lines\)"):
        load_interactions(g)
    # item tables (cluster --labels) read the same way
    h = tmp_path / "labels.csv"
    h.write_text('id,label\n1,"shoes\n2,bags\n', encoding="utf-8")
    with pytest.raises(VisrecError, match=r"labels\.csv line 2: .*never closed"):
        load_item_table(h, id_col="id", label_col="label")


def test_a_quote_closed_rows_later_is_reported(tmp_path: Path) -> None:
    f = _rows_with_titles(tmp_path / "t.csv", (10, 20))
    res = load_interactions(f)
    assert res.n_rows == 190  # the ten rows inside the quoted title are one field
    assert [(w.line, w.kind) for w in res.warnings] == [(12, "quoted line breaks")]
    assert "line breaks, over lines 12-22)" in res.warnings[0].reason
    # an id running over lines is no id: a bad record, not a warning as well
    g = tmp_path / "ids.csv"
    g.write_text('user_id,item_id\na,"007\nb,7\nc,"5\nd,6\n', encoding="utf-8")
    res = load_interactions(g)
    assert res.frame["user_id"].tolist() == ["d"] and res.warnings == []
    assert [(b.line, b.kind) for b in res.bad] == [(2, "line break in a value")]


def test_line_breaks_inside_a_closed_quote_are_kept(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text('user_id,item_id,text\na,1,"a review\nover two lines"\nb,2,ok\n', "utf-8")
    res = load_interactions(f)
    assert res.frame["user_id"].tolist() == ["a", "b"] and res.bad == []
    assert [w.kind for w in res.warnings] == ["quoted line breaks"]
