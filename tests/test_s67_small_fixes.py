"""Session 67's small fixes outside the mutation audits."""

from __future__ import annotations

from pathlib import Path

from test_merge_variants import ROWS, _frame
from visrec.data.variants import merge_variants


def test_an_empty_merge_has_the_item_tables_column_types(tmp_path: Path) -> None:
    """The item table of an empty review frame had object ``item_id``/``product_id``
    columns (float ones before the cast); a non-empty table has strings, and a caller
    concatenating the two got a mix."""
    full = merge_variants(_frame(ROWS, tmp_path)).items
    empty = merge_variants(_frame(ROWS, tmp_path).iloc[:0]).items
    assert len(empty) == 0
    assert empty.columns.tolist() == full.columns.tolist()
    assert empty.dtypes.tolist() == full.dtypes.tolist()
