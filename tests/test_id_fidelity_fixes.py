"""Ids kept exact across every join: whole numbers above 2**53 in a Parquet column with
a null, Amazon review ids whose natural key another review's repeat already took, the
missing-value words pandas reads back, negative whole numbers spelt two ways, and the
notes that name unmatched ids where they are kept (summary, JSON, report)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.id_spelling import MISSING_WORDS, missing_words, respelt, spelt_two_ways
from visrec.data.item_tables import load_item_table
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors, write_vectors

BIG = 2**53  # float64 holds every whole number up to here, and no odd one above


def test_whole_number_ids_beyond_2_53_with_a_null_stay_distinct_in_parquet(
    tmp_path: Path,
) -> None:
    # pyarrow writes no pandas metadata (as Spark, polars, DuckDB do); pandas read the
    # column with a null as float64 and BIG + 1 became BIG: one item, another's rows
    items = pa.array([BIG + 1, BIG, None, 9, BIG + 3], pa.int64())
    pq.write_table(pa.table({"user_id": [1, 2, 3, 4, 5], "item_id": items}), tmp_path / "i.parquet")
    res = load_interactions(tmp_path / "i.parquet")
    assert res.frame["item_id"].tolist() == [str(BIG + 1), str(BIG), "9", str(BIG + 3)]
    assert [b.line for b in res.bad] == [3]  # the null: an empty id, said
    labels = pa.array([BIG + 1, BIG, BIG + 3, BIG + 2, 5, None], pa.int64())
    cats = ["odd", "even", "odd", "even", "x", "y"]
    pq.write_table(pa.table({"id": labels, "cat": cats}), tmp_path / "l.parquet")
    frame = load_item_table(tmp_path / "l.parquet", id_col="id", label_col="cat").frame
    got = dict(zip(frame["item_id"], frame["cat"], strict=True))
    assert got == {
        str(BIG + 1): "odd", str(BIG): "even", str(BIG + 3): "odd", str(BIG + 2): "even",
        "5": "x",
    }  # fmt: skip


def test_a_whole_number_rating_column_with_a_null_still_reads(tmp_path: Path) -> None:
    table = pa.table(
        {"user_id": ["u", "v", "w"], "item_id": ["a", "b", "c"],
         "rating": pa.array([5, None, 3], pa.int64())}
    )  # fmt: skip
    pq.write_table(table, tmp_path / "r.parquet")
    res = load_interactions(tmp_path / "r.parquet")
    assert res.frame["rating"].tolist() == [5.0, 3.0] and [b.line for b in res.bad] == [2]


def _reviews(path: Path, records: list[dict[str, object]]) -> None:
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)


def test_amazon_review_ids_stay_unique_when_a_repeat_takes_another_reviews_key(
    tmp_path: Path,
) -> None:
    # reviewerIDs may hold '_': user 'U''s second review of A at time 5 was numbered
    # 'A_U_5_2', the natural key of user 'U_5''s review at time 2, and fetch kept one
    # of the two photos
    photo = "http://127.0.0.1:1/{}.jpg"
    recs: list[dict[str, object]] = [
        {"reviewerID": "U", "asin": "A", "overall": 5, "unixReviewTime": 5},
        {"reviewerID": "U", "asin": "A", "overall": 4, "unixReviewTime": 5},
        {"reviewerID": "U_5", "asin": "A", "overall": 3, "unixReviewTime": 2},
        {"reviewerID": "U_5", "asin": "A", "overall": None},  # no rating, no time: '_x'
        {"reviewerID": "U", "asin": "A", "overall": None, "unixReviewTime": 5},
    ]
    for j, r in enumerate(recs):
        r["image"] = [photo.format(j)]
    _reviews(tmp_path / "Test_5.json.gz", recs)
    full = load_amazon_reviews(tmp_path / "Test_5.json.gz").frame["review_id"].tolist()
    assert full == ["A_U_5", "A_U_5_2", "A_U_5_2_2"]
    photos = load_amazon_reviews(tmp_path / "Test_5.json.gz", for_photos=True).frame
    ids = photos["review_id"].tolist()
    assert ids[:3] == full and len(set(ids)) == len(recs)  # the same ids, none shared
    # the other order: the natural key first, the repeat skips it
    _reviews(tmp_path / "Other_5.json.gz", [recs[2], recs[0], recs[1]])
    other = load_amazon_reviews(tmp_path / "Other_5.json.gz").frame["review_id"].tolist()
    assert other == ["A_U_5_2", "A_U_5", "A_U_5_3"]
    # a review the full load drops, between two it keeps: its photo is no kept review's
    _reviews(tmp_path / "Mid_5.json.gz", [recs[0], recs[4], recs[1]])
    kept = load_amazon_reviews(tmp_path / "Mid_5.json.gz").frame["review_id"].tolist()
    mid = load_amazon_reviews(tmp_path / "Mid_5.json.gz", for_photos=True).frame
    assert kept == ["A_U_5", "A_U_5_2"]
    assert mid["review_id"].tolist() == ["A_U_5", "A_U_5_x", "A_U_5_2"]
    assert mid["image"].tolist() == [[photo.format(0)], [photo.format(4)], [photo.format(1)]]


def test_every_word_pandas_reads_as_missing_is_noted() -> None:
    # the words a pandas default read_csv turns into NaN (its STR_NA_VALUES, written
    # out here, not taken from visrec's list), found by reading them
    pandas_words = {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                    "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                    "nan", "null"}  # fmt: skip
    candidates = sorted(pandas_words | MISSING_WORDS | {"n.a.", "NAB"})
    text = "id\n" + "\n".join(candidates) + "\n"
    read = pd.read_csv(io.StringIO(text), dtype=str)["id"]
    lost = [w for w, v in zip(candidates, read, strict=True) if pd.isna(v)]
    assert set(lost) == pandas_words  # what this pandas reads as missing
    assert set(lost) <= MISSING_WORDS
    assert set(missing_words(lost)) == set(lost) and missing_words(["n.a.", "NAB"]) == []


def test_negative_whole_numbers_spelt_two_ways_are_found() -> None:
    assert respelt(["-03"], ["-3"]) == [("-03", "-3")]
    assert respelt(["-3"], ["3"]) == []  # a sign is no spelling
    assert spelt_two_ways(["-3", "-03", "-3.0", "3"]) == (1, [["-3", "-03", "-3.0"]])
    assert spelt_two_ways(["-0", "0"]) == (1, [["-0", "0"]])
    assert spelt_two_ways(["-3", "3", "-7"]) == (0, [])
    assert spelt_two_ways(["-3", "-03"]) == (1, [["-3", "-03"]])


def test_the_hint_names_the_plain_spelling_when_there_is_one() -> None:
    assert respelt(["1.0"], ["001", "1"]) == [("1.0", "1")]
    assert respelt(["07"], ["7.0", "7"]) == [("07", "7")]
    assert respelt(["07"], ["7.0", "007"]) == [("07", "7.0")]  # none plain: the first
    assert respelt(["SKU-7"], ["Sku-7", "sku-7"]) == [("SKU-7", "sku-7")]


def _images(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True)
    for n in names:
        Image.new("RGB", (8, 8), (n.__hash__() % 255, 0, 0)).save(folder / f"{n}.jpg")


def test_data_summary_names_images_that_match_no_item_and_their_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _images(tmp_path / "ds" / "images", ["51", "52", "53", "54", "9"])
    rows = "".join(f"1\t{i}\t5\t1\n" for i in ["0051", "0052", "9"])
    (tmp_path / "ds" / "u.data").write_text(rows)
    assert main(["data", "summary", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert (
        "'51', '52', '53' and 1 more; 2 of them are in the items spelt otherwise ('51' as '0051', "
        "'52' as '0052')"
    ) in out


def _vectors(path: Path, ids: list[str]) -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(ids), 4)).astype(np.float32)
    write_vectors(path, ItemVectors(np.array(ids, dtype=object), vecs, np.ones(len(ids), bool)))


def test_evaluate_keeps_the_respelt_ids_note_with_its_figures(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    items = [f"{i:03d}" for i in range(30)]  # the vectors say '7', the ratings '007'
    rows = [(f"u{u}", items[i]) for u in range(20) for i in rng.choice(30, 6, replace=False)]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(tmp_path / "r.csv", index=False)
    _vectors(tmp_path / "v.parquet", items[:20] + [str(i) for i in range(20, 30)])
    args = ["evaluate", "--interactions", str(tmp_path / "r.csv"), "--vectors"]
    args += [str(tmp_path / "v.parquet"), "--models", "popularity", "--seeds", "1", "-q"]
    assert main([*args, "--json", str(tmp_path / "e.json")]) == 0
    notes = json.loads((tmp_path / "e.json").read_text())["notes"]
    respelt_notes = [n for n in notes if "spelt otherwise" in n]
    assert len(respelt_notes) == 1 and "'020' as '20'" in respelt_notes[0]


def test_cluster_says_which_items_the_reports_photos_leave_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["0051", "0052", "9", "10", "11", "12"]
    _vectors(tmp_path / "v.parquet", ids)
    pd.DataFrame({"id": ids, "cat": list("aabbcc")}).to_csv(tmp_path / "l.csv", index=False)
    _images(tmp_path / "img", ["51", "52", "9", "10", "11"])
    args = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "l.csv")]
    args += ["--id-col", "id", "--label-col", "cat", "--k", "2"]
    args += ["--report", str(tmp_path / "c.html"), "--images", str(tmp_path / "img")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "3 of the 6 clustered items have no image in" in err
    assert "('0051', '0052', '12')" in err and "('0051' as '51', '0052' as '52')" in err


def test_similar_prints_an_id_with_a_line_break_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["a\nb", "c", "d\te", "plain"]
    _vectors(tmp_path / "v.parquet", ids)
    assert main(["similar", str(tmp_path / "v.parquet"), "a\nb", "--n", "3"]) == 0
    out = capsys.readouterr().out
    assert "items most like 'a\\nb':" in out and "'d\\te'" in out
    assert [line for line in out.splitlines() if line.strip() in ("a", "b")] == []


def test_ids_in_two_unicode_forms_that_print_alike_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.data.id_spelling import look_alike

    composed, decomposed = "Caf\u00e9", "Cafe\u0301"
    assert look_alike(["a", "b", "A"]) == (0, [])  # ASCII: case is no look-alike
    assert look_alike([composed, decomposed, "x"]) == (1, [[composed, decomposed]])
    four = [f"{w}{form}" for w in "abcd" for form in ("\u00e9", "e\u0301")]
    n, groups = look_alike(four)
    assert n == 4 and len(groups) == 3  # the count, and the first three to show
    # pandas 3 gives a str column's unique() as an Arrow array; all NFC: none alike
    arrow = pd.Series([composed, "x", composed + "2"], dtype="str").unique()
    assert look_alike(arrow) == (0, [])
    both = pd.Series([composed, decomposed, "x"], dtype="str").unique()
    assert look_alike(both) == (1, [[composed, decomposed]])
    rows = [("u1", composed), ("u1", "x"), ("u2", decomposed), ("u2", "x")]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(tmp_path / "r.csv", index=False)
    argv = ["train", "--model", "popularity", "--interactions", str(tmp_path / "r.csv")]
    assert main([*argv, "-o", str(tmp_path / "m"), "-q"]) == 0
    err = capsys.readouterr().err
    assert (
        "1 item id written in two Unicode forms that print alike ('Caf\\xe9', "
        "'Cafe\\u0301'); each form is a different item, as written"
    ) in err
