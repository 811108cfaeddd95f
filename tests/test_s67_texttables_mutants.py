"""Mutation audit (s67) of :mod:`visrec.data.text_files` and :mod:`visrec.data.item_tables`.

Mutants: 50 (23 in text_files, 27 in item_tables), each one exact-string change, run
against the 30 test files that name the modules (or ``load_item_table``).
Killed by the old tests: 43. Killed by the new tests below: the 7 survivors, one test
each (50 of 50 killed with this file). Equivalent: none.

Gaps closed here: Excel's ``sep=`` line found anywhere (``search`` for ``match``: a field
``sep=|`` cut off the text before it), one ``:`` taken for the ``::`` separator, a file of
blank lines said to have "no header line" instead of being empty, the "looks like data"
hint given when only *some* header names are numbers, u.item ``n_read`` counting blank
lines, ``label_col="_line"`` taking the loader's internal line numbers as labels, and
Parquet ids ``""``/blanks kept as items (only nulls checked).
No bug was found in the unmutated source.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from test_s59_tables_mutants import u_item_line, write
from visrec.data.item_tables import load_item_table
from visrec.data.text_files import decode_text, sniff_sep
from visrec.errors import VisrecError


def test_a_sep_value_inside_the_file_is_no_excel_sep_line(tmp_path: Path) -> None:
    """Only the *first* line can be Excel's ``sep=`` line: a field ``sep=|`` further down
    must not be taken for it (and the text before it cut off)."""
    f = write(tmp_path / "items.csv", "id,note\n1,sep=|\n2,plain\n")
    decoded = decode_text(f)
    assert decoded.sep is None
    assert decoded.text == "id,note\n1,sep=|\n2,plain\n"
    res = load_item_table(f)
    assert res.frame["item_id"].tolist() == ["1", "2"]
    assert res.frame["note"].tolist() == ["sep=|", "plain"]


def test_one_colon_in_the_header_is_no_double_colon_separator(tmp_path: Path) -> None:
    """Only ``::`` (MovieLens ``.dat``) is a separator; a header name holding one colon
    (``size:eu``) must leave the file comma-separated."""
    assert sniff_sep("id,size:eu", ".csv") == ","
    f = write(tmp_path / "items.csv", "id,size:eu\nA,40\nB,42\n")
    res = load_item_table(f, label_col="size:eu")
    assert res.frame["item_id"].tolist() == ["A", "B"]
    assert res.frame["size:eu"].tolist() == ["40", "42"]


def test_a_file_of_blank_lines_only_is_said_to_be_empty(tmp_path: Path) -> None:
    """Blank lines only (no field separators, nothing quoted) are an empty file, not a
    file of empty fields with "no header line"."""
    f = write(tmp_path / "items.csv", "\n  \n\n")
    with pytest.raises(VisrecError, match="file is empty, expected an item table") as err:
        load_item_table(f)
    assert "no header line" not in str(err.value)
    g = write(tmp_path / "fields.csv", ",,\n\n")
    with pytest.raises(VisrecError, match="no header line: every line is blank"):
        load_item_table(g)


def test_a_header_with_one_number_is_not_said_to_look_like_data(tmp_path: Path) -> None:
    """The "looks like data" hint needs *every* name to be a number: a header ``sku,2024``
    lacking ``id`` is only said to lack it."""
    f = write(tmp_path / "items.csv", "sku,2024\nA,1\n")
    with pytest.raises(VisrecError, match="no id column 'id'") as err:
        load_item_table(f)
    assert "looks like data" not in str(err.value)


def test_blank_parquet_ids_are_bad_records_with_their_row(tmp_path: Path) -> None:
    """A Parquet id that is ``""`` or blanks is an empty item id (rows counted from 1),
    not an item ``""``."""
    f = tmp_path / "items.parquet"
    pd.DataFrame({"id": ["a", "", "  ", "b"], "cat": ["x", "y", "z", "w"]}).to_parquet(f)
    res = load_item_table(f)
    assert res.frame["item_id"].tolist() == ["a", "b"]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "empty item id"), (3, "empty item id")]


def test_u_item_n_read_skips_blank_lines(tmp_path: Path) -> None:
    """Blank lines of a u.item are no records read."""
    text = u_item_line("1", "A (1995)") + "\n\n\n" + u_item_line("2", "B (1996)") + "\n\n"
    res = load_item_table(write(tmp_path / "u.item", text))
    assert res.n_read == 2
    assert res.frame["item_id"].tolist() == ["1", "2"]


def test_the_loaders_own_line_column_is_no_label_column(tmp_path: Path) -> None:
    """``label_col="_line"``: the loader's internal line numbers are no column of the
    file, so it is "no label column", not each row's line number taken as its label."""
    f = write(tmp_path / "items.csv", "id,cat\nA,Shoes\nB,Hats\n")
    with pytest.raises(VisrecError, match=r"no label column '_line' \(columns: id, cat\)"):
        load_item_table(f, label_col="_line")
