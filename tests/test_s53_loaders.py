"""Session 53, loaders: a header line ending in its separator and a line holding NUL
bytes are said in the "wrong field count" reason (one :func:`field_count_hint` for the
interactions and item-table loaders), item tables (CSV/TSV, Parquet, MovieLens
``u.item``) refuse an id holding a NUL byte in the interactions loader's words
(:func:`nul_id_reason`), and a ``u.item`` line with no id is an "empty item id"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from visrec.data.item_tables import load_item_table
from visrec.data.row_reasons import field_count_hint, nul_id_reason
from visrec.data.tables import load_interactions

HEADER_HINT = "the header's last column has no name: a separator at the end of the header line?"
NUL_HINT = "the line holds NUL bytes: a damaged file?"
#: clean lines past the 8 KiB a binary check reads, so a NUL byte after them is read
PAD = 2000


def _no_csv_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas' and pyarrow's CSV readers made to fail: an older pandas' C parser (2.1)
    ends a field at a NUL byte, so no item table may go through them."""
    import pyarrow.csv

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a CSV parser that may cut a field at NUL")

    monkeypatch.setattr(pd, "read_csv", refuse)
    monkeypatch.setattr(pyarrow.csv, "read_csv", refuse)


# --- the header's last column has no name ----------------------------------------------


def test_a_header_ending_in_its_separator_is_said_for_each_short_row(tmp_path: Path) -> None:
    # before: "expected 4 fields, got 3" alone, for every row of the file
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating,\n1,2,3\n4,5\n6,7,8,9\n")
    res = load_interactions(p)
    assert [str(b) for b in res.bad] == [
        f"{p}:2: expected 4 fields, got 3 ({HEADER_HINT})",
        # two short: more than the one unnamed column explains
        f"{p}:3: expected 4 fields, got 2",
    ]
    assert res.frame["user_id"].tolist() == ["6"]  # the row of 4 fields is read


def test_a_header_with_every_name_is_no_header_hint(tmp_path: Path) -> None:
    # mutant: the hint for any short row (unnamed count ignored)
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating\n1,2\n")
    assert [str(b) for b in load_interactions(p).bad] == [f"{p}:2: expected 3 fields, got 2"]


def test_two_unnamed_header_columns_are_counted(tmp_path: Path) -> None:
    # mutant: only the last name looked at (a row two short gets no hint)
    p = tmp_path / "r.tsv"
    p.write_text("user\titem\trating\t\t\n1\t2\t3\n1\t2\t3\t\n")
    reasons = [b.reason for b in load_interactions(p).bad]
    hint = "the header's last 2 columns have no name: separators at the end of the header line?"
    assert reasons == [f"expected 5 fields, got 3 ({hint})", f"expected 5 fields, got 4 ({hint})"]


def test_an_item_table_header_ending_in_its_separator_is_said(tmp_path: Path) -> None:
    # the item-table loader's field counts use the same hint (before: none)
    p = tmp_path / "items.csv"
    p.write_text("id,category,\na,shoe\nb,hat,\n")
    res = load_item_table(p, label_col="category")
    assert res.frame["item_id"].tolist() == ["b"]
    assert [str(b) for b in res.bad] == [f"{p}:2: expected 3 fields, got 2 ({HEADER_HINT})"]


# --- a line holding NUL bytes, refused for its field count ------------------------------


def test_a_short_line_holding_nul_bytes_says_so(tmp_path: Path) -> None:
    # before: "expected 3 fields, got 2" alone
    p = tmp_path / "r.csv"
    body = "".join(f"{i},{i},3\n" for i in range(PAD))
    p.write_text("user_id,item_id,rating\n" + body + "1,2\x00\x003\n1,2\n")
    bad = load_interactions(p).bad
    assert [b.reason for b in bad] == [
        f"expected 3 fields, got 2 ({NUL_HINT})",
        "expected 3 fields, got 2",  # mutant: the NUL hint for every short line
    ]
    assert bad[0].line == PAD + 2


def test_a_long_line_holding_nul_bytes_and_an_empty_end_gives_both_hints() -> None:
    # the hints are joined, not one in place of the other
    got = field_count_hint(["1", "2\x00", ""], 2)
    assert got == f" (the extra field empty: a separator at the end of the line?; {NUL_HINT})"


def test_a_u_item_line_of_the_wrong_count_holding_nul_says_so(tmp_path: Path) -> None:
    genres = "|".join(["0"] * 19)
    body = "".join(f"{i}|Title {i}|01-Jan-1995||http://x|{genres}\n" for i in range(1, 300))
    p = tmp_path / "u.item"
    p.write_text(body + "300|T\x00\x00|01-Jan-1995\n")
    res = load_item_table(p)
    assert [str(b) for b in res.bad] == [
        f"{p}:300: expected 24 '|'-separated fields, got 3 ({NUL_HINT})"
    ]


# --- NUL in item ids ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "sep"), [("items.csv", ","), ("items.tsv", "\t")])
def test_a_nul_byte_in_a_text_item_tables_id_is_a_bad_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, sep: str
) -> None:
    # before: kept as the item '5\x006'
    _no_csv_parsers(monkeypatch)
    body = "".join(f"i{k}{sep}c\n" for k in range(PAD))
    p = tmp_path / name
    # spaces around it: the id is said as read, trimmed (mutant: said untrimmed)
    p.write_text(f"id{sep}category\n" + body + f" 5\x006 {sep}shoe\n56{sep}hat\n")
    res = load_item_table(p, label_col="category")
    line = PAD + 2
    assert [(b.line, b.kind) for b in res.bad] == [(line, "NUL in item id")]
    assert str(res.bad[0]) == f"{p}:{line}: {nul_id_reason('item', '5' + chr(0) + '6')}"
    assert not res.frame["item_id"].str.contains("\x00").any()
    assert res.frame["item_id"].iloc[-1] == "56"
    assert len(res.frame) == PAD + 1


def test_the_nul_wording_is_the_interactions_loaders(tmp_path: Path) -> None:
    # one wording: the interactions loader's reason is nul_id_reason's too (mutants:
    # _validate back to its own words, nul_id_reason's words changed)
    p = tmp_path / "r.parquet"
    pd.DataFrame({"user_id": ["a\x00b", "c"], "item_id": ["x", "y"]}).to_parquet(p)
    assert [b.reason for b in load_interactions(p).bad] == [
        f"row 1: {nul_id_reason('user', 'a' + chr(0) + 'b')}"
    ]
    assert nul_id_reason("item", "q\x00") == (
        "item id 'q\\x00' holds a NUL byte, which no id can (a damaged file?)"
    )


def test_a_nul_byte_in_a_parquet_item_tables_id_is_a_bad_row(tmp_path: Path) -> None:
    # before: kept. The empty id after it: bad records in row order (mutant: no sort)
    p = tmp_path / "items.parquet"
    pd.DataFrame({"sku": ["a", "b\x00", None, " c "], "cat": ["x", "y", "z", "w"]}).to_parquet(p)
    res = load_item_table(p, id_col="sku")
    assert res.frame["item_id"].tolist() == ["a", "c"]
    assert [(b.line, b.kind, b.reason) for b in res.bad] == [
        (2, "NUL in item id", f"row 2: {nul_id_reason('item', 'b' + chr(0))}"),
        (3, "empty item id", "row 3: empty 'sku'"),
    ]


def _u_item(tmp_path: Path, *lines: str) -> Path:
    genres = "|".join(["0"] * 18 + ["1"])
    body = "".join(f"{i}|Title {i}|01-Jan-1995||http://x|{genres}\n" for i in range(1, 300))
    p = tmp_path / "u.item"
    p.write_text(body + "".join(f"{ln}|T|01-Jan-1995||http://x|{genres}\n" for ln in lines))
    return p


def test_a_nul_byte_in_a_u_item_id_is_a_bad_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: kept as the item '7\x008'
    _no_csv_parsers(monkeypatch)
    p = _u_item(tmp_path, "7\x008", "300")
    res = load_item_table(p)
    assert [str(b) for b in res.bad] == [f"{p}:300: {nul_id_reason('item', '7' + chr(0) + '8')}"]
    assert res.bad[0].kind == "NUL in item id"
    assert res.frame["item_id"].iloc[-1] == "300"
    assert len(res.frame) == 300


def test_a_u_item_line_with_no_id_is_an_empty_item_id(tmp_path: Path) -> None:
    # before: "expected 24 '|'-separated fields, got 24"
    p = _u_item(tmp_path, " ", "300")
    res = load_item_table(p)
    assert [(b.line, b.kind, b.reason) for b in res.bad] == [
        (300, "empty item id", "empty first field (the movie id)")
    ]
    assert res.frame["item_id"].iloc[-1] == "300"
