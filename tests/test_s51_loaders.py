"""Session 51, interaction-table loaders: behaviour a mutation audit of the loaders
(column matching, row checks, time parsing, the ``Interactions`` container) found no
test pinning down, and messages for awkward files a user gives ``visrec train``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.interactions import IdMap, Interactions
from visrec.data.tables import load_interactions
from visrec.errors import VisrecError


# ------------------------------------------------------------------ column matching
def test_parent_asin_is_the_item_beside_asin(tmp_path: Path) -> None:
    # kills: 'asin' listed before 'parentasin' (each variant became an item of its own)
    p = tmp_path / "reviews.csv"
    p.write_text("user_id,asin,parent_asin,rating\nu1,B01-red,B01,5\nu2,B01-blue,B01,4\n")
    res = load_interactions(p)
    assert res.frame["item_id"].tolist() == ["B01", "B01"]
    assert res.columns and "asin" in res.unread_columns


def test_the_looks_like_data_hint_needs_every_header_field_a_number(tmp_path: Path) -> None:
    # kills: all() -> any() in the hint: a real header with one numeric name is no data
    p = tmp_path / "t.csv"
    p.write_text("who,what,2024\na,b,1\n")
    with pytest.raises(VisrecError, match="no column 'user'") as e:
        load_interactions(p, user_col="user", item_col="what")
    assert "looks like data" not in str(e.value)
    q = tmp_path / "n.csv"
    q.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(VisrecError, match="looks like data"):
        load_interactions(q, user_col="user_id", item_col="item_id")


# ------------------------------------------------------------------ awkward files
def test_a_headerless_file_of_text_ids_is_told_to_add_a_header(tmp_path: Path) -> None:
    # its first row was read as a header: "rename that column in the header" alone
    # sent the user looking for a header the file does not have
    p = tmp_path / "t.csv"
    p.write_text("u12;i10;3;1700000000\nu13;i11;4;1700000001\n")
    with pytest.raises(VisrecError, match=r"first line looks like data.*add a header line") as e:
        load_interactions(p)
    assert "rename that column" not in str(e.value)  # no header to rename a column in
    q = tmp_path / "h.csv"  # a real header that names no id column: no such hint
    q.write_text("who,what,score\na,b,1\n")
    with pytest.raises(VisrecError, match="cannot tell") as e:
        load_interactions(q)
    assert "looks like data" not in str(e.value)


def test_a_header_only_file_says_it_has_no_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fails before the fix: a bare "no usable interactions" left the user to guess why
    p = tmp_path / "inter.csv"
    p.write_text("user_id,item_id,rating\n")
    out = tmp_path / "m"
    assert main(["train", "--model", "popularity", "--interactions", str(p), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "inter.csv: no usable interactions (no rows, only the column names: user_id, " in err


# ------------------------------------------------------------------ rows and lines
def _table(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_row_of_two_empty_ids_is_one_bad_record(tmp_path: Path) -> None:
    # kills: the empty item id of a row already dropped for its empty user reported too
    p = _table(tmp_path, "user_id,item_id,rating\nu1,i1,5\n,,4\nu3,i3,4\n")
    res = load_interactions(p)
    assert [(b.line, b.kind) for b in res.bad] == [(3, "empty user id")]
    assert res.n_bad == 1


def test_a_carriage_return_inside_a_parquet_id_is_a_bad_record(tmp_path: Path) -> None:
    # kills: only '\n' looked for: an id ending in a lone '\r' went into the model, and
    # printed back it moved the cursor over its own line (text files turn it into '\n')
    p = tmp_path / "t.parquet"
    pd.DataFrame({"user_id": ["u1\r", "u2"], "item_id": ["i1", "i2"]}).to_parquet(p)
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["u2"]
    assert [(b.line, b.kind) for b in res.bad] == [(1, "line break in a value")]


def test_a_line_of_only_spaces_and_tabs_counts_in_line_numbers(tmp_path: Path) -> None:
    # kills: the fast path's line count check dropped (pandas skips such a line, and
    # every line below it was named one too early)
    for blank in (" \t ", "   "):
        p = _table(tmp_path, f"user_id,item_id,rating\nu1,i1,4\nu2,i2,4\n{blank}\nu3,i3,x\n")
        res = load_interactions(p)
        assert res.frame["user_id"].tolist() == ["u1", "u2"]
        assert [(b.line, b.kind) for b in res.bad] == [(5, "non-numeric rating")]


def test_a_header_repeated_under_names_given_by_option_is_dropped(tmp_path: Path) -> None:
    # kills: the table's own header names no longer looked for ('buyer' is no alias)
    p = _table(tmp_path, "buyer,thing\nu1,i1\nbuyer,thing\nu2,i2\n")
    res = load_interactions(p, user_col="buyer", item_col="thing")
    assert res.frame["user_id"].tolist() == ["u1", "u2"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "header repeated")]


# ------------------------------------------------------------------ the container
def test_the_id_map_names_the_id_given_twice() -> None:
    # kills: the error naming the last id instead of the repeated one
    with pytest.raises(VisrecError, match="duplicate id 'a'"):
        IdMap(np.array(["a", "b", "a", "c"]))


def test_a_timestamp_beyond_int64_is_refused_not_wrapped_round() -> None:
    # kills: the 2**63 bound dropped (1e19 seconds became a negative int64)
    df = pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"], "timestamp": [1.0, 1e19]})
    with pytest.raises(VisrecError, match=r"timestamp 1e\+19 at position 1 is not a number"):
        Interactions.from_frame(df)
