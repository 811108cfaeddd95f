"""Session 69's review of error messages against "a clear error names the file, line or
id": each test runs a command on a tiny bad input and pins the one line it prints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


def _vectors_with_ids(path: Path, ids: list[str]) -> Path:
    """A visrec vectors file whose item_id column holds ``ids`` as given (a blank one
    too, which write_vectors refuses)."""
    ok = path.with_name("ok.parquet")
    n = len(ids)
    vectors = np.arange(1, 4 * n + 1, dtype=np.float32).reshape(n, 4)
    write_vectors(ok, ItemVectors([f"x{k}" for k in range(n)], vectors, np.ones(n, bool)))
    table = pq.read_table(ok)
    table = table.set_column(0, "item_id", pa.array(ids, pa.string()))
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_item_id_in_a_vectors_file_is_named_by_its_row_from_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], blank: str
) -> None:
    # was "V: item vectors: item id '' (position 1) is missing or blank": the row
    # counted from 0, where a null id on the same row was "row 2 has no item_id"
    v = _vectors_with_ids(tmp_path / "v.parquet", ["a", blank, "c"])
    assert main(["similar", str(v), "a"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {v}: row 2 has a blank item_id ({blank!r}); every vector needs an item id"
    )


def _table(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_value_that_is_no_number_names_its_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was "... (e.g. 'x'); ...": which of the table's items holds it was left to find
    items = _table(tmp_path, "items.csv", "item_id,year\ni0,1990\ni1,x\ni2,1991\n")
    out = tmp_path / "f.parquet"
    assert main(["features", str(items), "--columns", "year:number", "-o", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {items}: column 'year': 1 value is not a number (e.g. 'x', item 'i1'); "
        "give the column's kind after its name (year:category) or mend those cells"
    )


def test_like_says_the_values_it_encodes_as_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was silent: with --like, a year 'x' became "missing" and the run said nothing
    first = tmp_path / "first.parquet"
    ok = _table(tmp_path, "ok.csv", "item_id,year\na,1990\nb,1995\nc,1991\n")
    assert main(["features", str(ok), "--columns", "year:number", "-o", str(first)]) == 0
    capsys.readouterr()
    new = _table(tmp_path, "new.csv", "item_id,year\nd,1992\ne,soon\nf,\ng,later\n")
    out = tmp_path / "later.parquet"
    assert main(["features", str(new), "--like", str(first), "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"note: {new}: column 'year': 2 values are not a number (e.g. 'soon', item 'e'); "
        f"encoded as missing, as {first} encodes an empty cell"
    ]


def test_visual_cf_with_one_pictured_item_names_the_vectors_file_and_the_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was "error: visual-cf needs at least 2 items with both interactions and an image
    # vector": neither the file nor how many (or which) items had one
    rows = "".join(f"u{u},i{(u + k) % 4}\n" for u in range(6) for k in range(2))
    inter = _table(tmp_path, "inter.csv", "user_id,item_id\n" + rows)
    v = tmp_path / "v.parquet"
    has = np.array([True, False, False, False])
    vectors = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
    write_vectors(v, ItemVectors([f"i{k}" for k in range(4)], vectors, has))
    out = tmp_path / "m"
    args = ["train", "--model", "visual-cf", "--interactions", str(inter), "--vectors", str(v)]
    assert main([*args, "-o", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: {v}: model 'visual-cf' needs at least 2 items with both interactions and an "
        "image vector (to learn how pictures map to tastes); 1 of the 4 training items has "
        "one ('i0')"
    )
    assert not out.exists()
