"""Input files as real users have them (an outside audit of the readers): files joined
with `cat` (a header or a BOM inside the table), bzip2/xz/zip/zstd compression, Excel's
`sep=;` line, a u.item saved as UTF-8, a table exported as JSON lines, the 2014 Amazon
format, the 2018 metadata's HTML main_cat, a folder of Parquet parts, and manifests
that are not comma-separated UTF-8 with lower-case names."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from visrec.data.amazon import category_from_filename, load_amazon_meta
from visrec.data.images_index import load_manifest
from visrec.data.item_tables import load_item_table
from visrec.data.tables import load_interactions
from visrec.errors import VisrecError

CLEAN = "user_id,item_id,rating\n1,10,4\n2,20,5\n"


@pytest.mark.parametrize("ids_only", [False, True])
def test_a_header_repeated_inside_the_table_is_a_bad_record(tmp_path: Path, ids_only: bool) -> None:
    p = tmp_path / "joined.csv"
    p.write_text(CLEAN + "user_id,item_id,rating\n3,30,4\n")
    res = load_interactions(p, ids_only=ids_only)
    assert res.frame["user_id"].tolist() == ["1", "2", "3"]
    assert [(b.line, b.kind) for b in res.bad] == [(4, "header repeated")]


@pytest.mark.parametrize("ids_only", [False, True])
@pytest.mark.parametrize(
    "second", ["userId,movieId,rating", "UserID,ItemID,Rating", "User\xa0ID,Item\u3000ID,rating"]
)
def test_a_header_repeated_in_another_spelling_is_a_bad_record(
    tmp_path: Path, ids_only: bool, second: str
) -> None:
    # two exports joined with cat: the second spells its header its own way
    p = tmp_path / "joined.csv"
    p.write_text(CLEAN + second + "\n3,30,4\n")
    res = load_interactions(p, ids_only=ids_only)
    assert res.frame["user_id"].tolist() == ["1", "2", "3"]
    assert [(b.line, b.kind) for b in res.bad] == [(4, "header repeated")]


def test_a_header_inside_a_headerless_table_is_a_bad_record(tmp_path: Path) -> None:
    p = tmp_path / "joined.csv"
    p.write_text('1,10\n2,20\n"UserId","Movie_ID"\n3,30\n')
    res = load_interactions(p, ids_only=True)
    assert res.frame["user_id"].tolist() == ["1", "2", "3"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "header repeated")]


def test_a_user_named_like_a_column_stays_when_the_item_is_an_id(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("1,10\nuser,20\n")
    assert load_interactions(p, ids_only=True).frame["user_id"].tolist() == ["1", "user"]


def test_a_bom_inside_the_file_is_dropped_with_a_warning(tmp_path: Path) -> None:
    p = tmp_path / "joined.csv"
    p.write_bytes(b"\xef\xbb\xbf" + CLEAN.encode() + b"\xef\xbb\xbf3,30,4\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["1", "2", "3"]
    assert [(w.line, w.kind) for w in res.warnings] == [(4, "byte-order mark inside")]


def test_a_repeated_header_in_an_item_table_is_a_bad_record(tmp_path: Path) -> None:
    p = tmp_path / "items.csv"
    p.write_text("id,label\n1,a\nid,label\n2,b\n")
    res = load_item_table(p)
    assert res.frame["item_id"].tolist() == ["1", "2"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "header repeated")]


@pytest.mark.parametrize(
    ("name", "pack"),
    [("t.csv.bz2", bz2.compress), ("t.csv.xz", lzma.compress), ("t.csv", bz2.compress)],
)
def test_bzip2_and_xz_tables_are_read(tmp_path: Path, name: str, pack) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / name
    p.write_bytes(pack(CLEAN.encode()))
    assert load_interactions(p).frame["item_id"].tolist() == ["10", "20"]


def test_a_text_starting_bzh_is_no_bzip2(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("BZh9,item_id\n1,2\n")
    with pytest.raises(VisrecError, match="user ids"):
        load_interactions(p)


def test_zip_and_zstd_files_get_one_line_saying_what_they_are(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ratings.csv", CLEAN)
    (tmp_path / "r.csv.zip").write_bytes(buf.getvalue())
    with pytest.raises(VisrecError, match=r"r\.csv\.zip: a zip archive; .*unzip it first"):
        load_interactions(tmp_path / "r.csv.zip")
    (tmp_path / "r.csv.zst").write_bytes(b"\x28\xb5\x2f\xfd" + bytes(16))
    with pytest.raises(VisrecError, match="zstd-compressed"):
        load_interactions(tmp_path / "r.csv.zst")
    (tmp_path / "bad.csv.bz2").write_bytes(b"BZh91AY&SY" + bytes(8))
    with pytest.raises(VisrecError, match="not a valid bzip2 file"):
        load_interactions(tmp_path / "bad.csv.bz2")


def test_excels_sep_line_names_the_separator_and_keeps_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "excel.csv"
    p.write_text("sep=;\r\nuser_id;item_id;rating\r\n1;10;4\r\n2;20;x\r\n")
    res = load_interactions(p)
    assert res.frame["item_id"].tolist() == ["10"]
    assert [b.line for b in res.bad] == [4]
    items = tmp_path / "items.csv"
    items.write_text("sep=;\nid;label\n1;a,b\n")
    assert load_item_table(items, label_col="label").frame["label"].tolist() == ["a,b"]


def test_a_u_item_saved_as_utf8_keeps_its_accents(tmp_path: Path) -> None:
    row = "1|Misérables, Les (1995)|01-Jan-1995||http://x|" + "|".join("0" * 18) + "|1\n"
    (tmp_path / "u.item").write_text(row, encoding="utf-8")
    assert load_item_table(tmp_path / "u.item").frame["title"].tolist() == [
        "Misérables, Les (1995)"
    ]
    (tmp_path / "u.item").write_text(row, encoding="latin-1")
    assert load_item_table(tmp_path / "u.item").frame["title"].tolist() == [
        "Misérables, Les (1995)"
    ]


def test_a_table_exported_as_json_lines_is_refused_saying_so(tmp_path: Path) -> None:
    p = tmp_path / "inter.jsonl"
    pd.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"]}).to_json(
        p, orient="records", lines=True
    )
    with pytest.raises(VisrecError, match=r"read as Amazon reviews only.*CSV or Parquet"):
        load_interactions(p)


@pytest.mark.parametrize(
    ("suffix", "pack"),
    # the last: gzip under a plain .json name, known by its magic bytes as tables are
    [(".bz2", bz2.compress), (".xz", lzma.compress), ("", gzip.compress)],
)
def test_amazon_reviews_compressed_as_tables_may_be_are_read(
    tmp_path: Path, suffix: str, pack
) -> None:  # type: ignore[no-untyped-def]
    reviews = (
        '{"overall": 5.0, "reviewerID": "A1", "asin": "B1", "unixReviewTime": 1}\n'
        '{"overall": 3.0, "reviewerID": "A2", "asin": "B1", "unixReviewTime": 2}\n'
    )
    folder = tmp_path / "amazon"
    folder.mkdir()
    p = folder / f"Beauty_5.json{suffix}"
    p.write_bytes(pack(reviews.encode()))
    for given in (p, folder):  # the file, or the folder that holds it
        assert load_interactions(given).frame["user_id"].tolist() == ["A1", "A2"]
    assert category_from_filename(p) == "Beauty"


def test_the_2014_amazon_format_is_refused_saying_so(tmp_path: Path) -> None:
    p = tmp_path / "reviews_Old.json"
    p.write_text("{'reviewerID': 'A1', 'asin': 'B1', 'overall': 5.0}\n")
    with pytest.raises(VisrecError, match=r"Python's notation.*2014"):
        load_interactions(p)


def test_an_html_main_cat_becomes_its_alt_text(tmp_path: Path) -> None:
    p = tmp_path / "meta_AMAZON_FASHION.json"
    p.write_text(
        '{"asin": "B1", "main_cat": "<img src=\\"https://x/store.png\\" '
        'class=\\"nav-categ-image\\" alt=\\"AMAZON FASHION\\"/>"}\n'
        '{"asin": "B2", "main_cat": "All Beauty"}\n'
        '{"asin": "B3", "main_cat": "<img src=\\"y.png\\" alt=\\"Health &amp; Care\\"/>"}\n'
    )
    assert load_amazon_meta(p).frame["main_cat"].tolist() == [
        "AMAZON FASHION",
        "All Beauty",
        "Health & Care",
    ]


def test_a_folder_of_parquet_parts_says_how_to_join_them(tmp_path: Path) -> None:
    folder = tmp_path / "inter.parquet"
    folder.mkdir()
    for k in range(5):
        pd.DataFrame({"user_id": [str(k)], "item_id": ["i"]}).to_parquet(
            folder / f"part-{k}.parquet"
        )
    with pytest.raises(VisrecError, match=r"Parquet parts \(part-0.parquet.* and 2 more\).*join"):
        load_interactions(folder)


def test_manifests_are_decoded_and_sniffed_as_other_tables(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "m1.csv").write_bytes("Item ID;Image Path\ncafé;a.jpg\n".encode("cp1252"))
    (tmp_path / "m2.csv.gz").write_bytes(gzip.compress(b"item_id|path\nb|a.jpg\n"))
    assert load_manifest(tmp_path / "m1.csv") == {"café": str(tmp_path / "a.jpg")}
    assert load_manifest(tmp_path / "m2.csv.gz") == {"b": str(tmp_path / "a.jpg")}


@pytest.mark.parametrize(
    ("content", "said"),
    [
        # two manifests joined with cat: the header was the item 'item_id', a zero vector
        (b"item_id,path\n1,a.jpg\nitem_id,path\n2,b.jpg\n", "the header again"),
        (b"item_id,path\n1,a.jpg\nITEM_ID,Path\n2,b.jpg\n", "the header again"),
        # its paths must match the files: 'café' read as Windows-1252 names no file
        ("item_id,path\ncafé,café.jpg\n".encode() + b"na\xefve,na\xefve.jpg\n",
         "not read: a manifest.s paths must match the file names"),
    ],
)  # fmt: skip
def test_a_bad_manifest_line_is_an_error_naming_it(
    tmp_path: Path, content: bytes, said: str
) -> None:
    p = tmp_path / "m.csv"
    p.write_bytes(content)
    with pytest.raises(VisrecError, match=rf"m\.csv line 3: {said}"):
        load_manifest(p)


def test_a_folder_holding_a_vectors_file_is_no_parquet_dataset(tmp_path: Path) -> None:
    pd.DataFrame({"item_id": ["1"]}).to_parquet(tmp_path / "vectors.parquet")
    (tmp_path / "a=b.jpg").write_bytes(b"x")
    with pytest.raises(VisrecError, match="folder has no interactions file"):
        load_interactions(tmp_path)


@pytest.mark.parametrize("empty_row", [",", ",,", ";"])
def test_an_empty_first_row_as_wide_as_the_header_is_no_repeated_header(
    tmp_path: Path, empty_row: str
) -> None:
    # a spreadsheet writes an empty first row as wide as its table: the header is the
    # next line, read once (the fast parser took it for data, then for a header again)
    sep = empty_row[0]
    cols = ["user_id", "item_id", "rating"][: len(empty_row) + 1]
    rows = [["1", "10", "4"][: len(cols)], ["2", "20", "3"][: len(cols)]]
    p = tmp_path / "sheet.csv"
    p.write_text("\n".join([empty_row, sep.join(cols), *(sep.join(r) for r in rows)]) + "\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["1", "2"]
    assert res.bad == [] and res.n_read == 2


def test_an_excel_tab_sep_line_with_a_trailing_tab_is_no_row(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    p.write_text("sep=\t\t\n1\t2\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["1"] and res.bad == [] and res.n_read == 1
