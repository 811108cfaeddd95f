"""Session 59 mutation audit of ``visrec.data.item_tables`` and ``visrec.data.tables``.

81 hand-written mutants were tried against the tests that reach the two modules (the
tests covering each mutated line; two first written as invalid Python were rewritten).
60 were killed by the tests that existed, 3 are equivalent (a comma test before a regex
that allows no comma; ``_ML_ROW``'s decimal rating, which ``NUMBER`` takes anyway for a
sniffed separator; a one-file review folder read through the file's path, which loads
the same records and only names another true refusal first), and the 18 others are
killed by the tests below, each naming its mutant: a missing item table, a blank Parquet
label, the order of ``bad`` after the label check, an ambiguous column spelling,
upper-case ``.CSV`` suffixes, a label column typed in another case kept from absorbing
extra fields, ``_line`` and ``item_id`` clashes, extra fields joined with the file's own
separator, a blank id, ``n_read``, u.item flags, ids and encoding warnings, blank header
names, the latin-1 id warning and upper-case ``.JSON`` names.

One bug is fixed: a quote left open in an item table's free-text column silently made
the rows after it part of that field (the items were lost without a word); the item
loader now warns as the interactions loader does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from visrec.data.item_tables import load_item_table, spelt_as
from visrec.data.tables import is_json_file, load_interactions
from visrec.errors import InputNotFoundError, VisrecError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# 24 '|'-separated fields: id, title, date, video date, URL, 19 genre flags
def u_item_line(item: str, title: str, flags: str = "0|" * 18 + "0") -> str:
    return f"{item}|{title}|01-Jan-1995||http://x|{flags}"


def test_a_missing_item_table_is_an_input_not_found_error(tmp_path: Path) -> None:
    # I01: without the exists() check a bare FileNotFoundError came from decode_text
    with pytest.raises(InputNotFoundError, match=r"items\.csv"):
        load_item_table(tmp_path / "items.csv")


def test_a_blank_parquet_label_is_an_empty_label(tmp_path: Path) -> None:
    # I05: Parquet cells are not stripped: "  " must count as empty, as in a CSV
    f = tmp_path / "items.parquet"
    pd.DataFrame({"id": ["a", "b"], "category": ["  ", "shoes"]}).to_parquet(f)
    res = load_item_table(f, label_col="category")
    assert res.frame["item_id"].tolist() == ["b"]
    assert [(b.line, b.kind) for b in res.bad] == [(1, "empty label")]


def test_bad_records_stay_in_line_order_after_the_label_check(tmp_path: Path) -> None:
    # I06: the empty label (line 2) was appended after the short row (line 3)
    f = write(tmp_path / "items.csv", "id,category,title\n1,,t\n2,b\n3,c,t\n")
    res = load_item_table(f, label_col="category")
    assert [(b.line, b.kind) for b in res.bad] == [(2, "empty label"), (3, "wrong field count")]


def test_a_column_spelling_that_fits_two_columns_is_not_guessed(tmp_path: Path) -> None:
    # I11: with two columns of one key, the first was taken silently
    assert spelt_as("MAINCAT", ["id", "Main Cat", "main_cat"]) == "MAINCAT"
    assert spelt_as("MAINCAT", ["id", "Main Cat"]) == "Main Cat"
    f = write(tmp_path / "items.csv", "id,Main Cat,main_cat\n1,a,b\n")
    with pytest.raises(VisrecError, match="no label column 'MAINCAT'"):
        load_item_table(f, label_col="MAINCAT")


def test_an_upper_case_csv_suffix_is_a_csv(tmp_path: Path) -> None:
    # I23 (item table) and T03 (interactions): '.CSV' was not '.csv', so a stray tab
    # in the header made the tab the separator and the header one column
    items = write(tmp_path / "ITEMS.CSV", "id,category,note\t\n1,a,x\n")
    res = load_item_table(items)
    assert res.frame["item_id"].tolist() == ["1"] and res.frame["note"].tolist() == ["x"]
    ratings = write(tmp_path / "R.CSV", "user_id,item_id,rating\t\nu1,i1,4\n")
    assert load_interactions(ratings).frame["rating"].tolist() == [4.0]


def test_a_label_column_typed_in_another_case_takes_no_extra_fields(tmp_path: Path) -> None:
    # I24: label_col 'category' for 'Category' as the last column: the row's extra
    # field was joined into the label instead of the row being reported
    f = write(tmp_path / "items.csv", "id,title,Category\n1,a,b,Shoes\n2,c,Bags\n")
    res = load_item_table(f, label_col="category")
    assert res.frame["category"].tolist() == ["Bags"]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "wrong field count")]
    assert res.warnings == []


def test_a_line_column_clashes_with_the_loaders_own(tmp_path: Path) -> None:
    # I26: a '_line' column was overwritten by the line numbers
    f = write(tmp_path / "items.csv", "id,_line,category\n1,7,a\n")
    with pytest.raises(VisrecError, match="column '_line' clashes"):
        load_item_table(f)


def test_a_missing_id_column_is_said_before_an_item_id_clash(tmp_path: Path) -> None:
    # I27: 'item_id' in a table without the 'id' column asked for: not a clash
    f = write(tmp_path / "items.csv", "item_id,category\n1,a\n")
    with pytest.raises(VisrecError, match="no id column 'id'"):
        load_item_table(f)


def test_extra_fields_are_joined_with_the_files_own_separator(tmp_path: Path) -> None:
    # I31: joined with ',' the title of a ';' file read 'hello, world'
    f = write(tmp_path / "items.txt", "id;cat;title\n1;a;hello; world\n")
    res = load_item_table(f)
    assert res.frame["title"].tolist() == ["hello; world"]
    assert [w.kind for w in res.warnings] == ["extra fields merged"]


def test_a_blank_item_id_is_an_empty_item_id(tmp_path: Path) -> None:
    # I32: an id of spaces became the item '' (stripped after the check)
    f = write(tmp_path / "items.csv", "id,category\n  ,a\n2,b\n")
    res = load_item_table(f)
    assert res.frame["item_id"].tolist() == ["2"]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "empty item id")]


def test_n_read_counts_every_record_of_an_item_table(tmp_path: Path) -> None:
    # I36: n_read stayed 0, so "read 0 records" with items loaded
    f = write(tmp_path / "items.csv", "id,category\n1,a\n1,b\n,c\n2\n3,d\n")
    res = load_item_table(f)
    assert res.n_read == 5 and res.frame["item_id"].tolist() == ["1", "3"]
    assert res.n_bad == 3


def test_u_item_flags_and_ids_are_read_past_stray_spaces(tmp_path: Path) -> None:
    # I38: a last flag "1 " was not a 1; I45: an id " 7" kept its space
    flags = "0|" * 18 + "1 "
    write(tmp_path / "u.item", u_item_line(" 7", "Movie", flags) + "\n")
    res = load_item_table(tmp_path)
    assert res.frame["item_id"].tolist() == ["7"]
    assert res.frame["genre"].tolist() == ["Western"]


def test_a_u_item_mixing_encodings_says_so(tmp_path: Path) -> None:
    # I43: u.item's warnings were dropped: a latin-1 line in a UTF-8 file unsaid
    lines = [
        u_item_line("1", "Misérables").encode("utf-8"),
        u_item_line("2", "Amélie").encode("utf-8"),
        u_item_line("3", "Café").encode("latin-1"),
    ]
    (tmp_path / "u.item").write_bytes(b"\n".join(lines) + b"\n")
    res = load_item_table(tmp_path)
    assert res.frame["title"].tolist() == ["Misérables", "Amélie", "Café"]
    assert [(w.line, w.kind) for w in res.warnings] == [(3, "mixed encodings")]


def test_blank_header_names_are_no_unread_columns(tmp_path: Path) -> None:
    # T10: a trailing comma on the header listed '' as a column left unread
    f = write(tmp_path / "r.csv", "user_id,item_id,rating,\nu1,i1,4,\n")
    res = load_interactions(f)
    assert res.unread_columns == [] and res.frame["rating"].tolist() == [4.0]


def test_an_accent_outside_the_ids_of_a_latin1_table_is_no_warning(tmp_path: Path) -> None:
    # T11: the "ids with accents are written out as UTF-8" warning for a title only
    f = tmp_path / "r.csv"
    f.write_bytes("user_id,item_id,title\nu1,i1,Café\n".encode("latin-1"))
    res = load_interactions(f)
    assert res.frame["item_id"].tolist() == ["i1"] and res.warnings == []
    g = tmp_path / "q.csv"
    g.write_bytes("user_id,item_id\nu1,café\n".encode("latin-1"))
    assert [w.kind for w in load_interactions(g).warnings] == ["not UTF-8"]


def test_an_upper_case_json_name_is_an_amazon_review_file(tmp_path: Path) -> None:
    # T16: 'Books_5.JSON' was read as a text table ("cannot tell which column ...")
    assert is_json_file(Path("Books_5.JSON.GZ")) and is_json_file(Path("x.JSONL"))
    rec = {"reviewerID": "u1", "asin": "i1", "overall": 5.0, "unixReviewTime": 100}
    f = write(tmp_path / "Books_5.JSON", json.dumps(rec) + "\n")
    res = load_interactions(f)
    assert res.frame["user_id"].tolist() == ["u1"] and res.frame["item_id"].tolist() == ["i1"]


def test_a_quote_left_open_in_an_item_table_is_said(tmp_path: Path) -> None:
    # the bug fixed: rows 3-4 became part of item 1's title, with no warning
    f = write(tmp_path / "items.csv", 'id,category,title\n1,a,"Bad\n2,b,Good\n3,c,"x"\n4,d,ok\n')
    res = load_item_table(f)
    assert res.frame["item_id"].tolist() == ["1", "4"]
    assert [(w.line, w.kind) for w in res.warnings] == [(2, "quoted line breaks")]
    assert "lines 2-4" in res.warnings[0].reason
    # a row dropped for its field count is said as that, not again as a warning
    g = write(tmp_path / "g.csv", 'id,category\n1,"a\nb",x\n2,c\n')
    res = load_item_table(g, label_col="category")  # so no extra field is merged
    assert [b.kind for b in res.bad] == ["wrong field count"] and res.warnings == []
