"""Session 67's small fixes outside the mutation audits."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_merge_variants import ROWS, _frame
from test_s63_resume_mutants import _vectors
from visrec.cli import main
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


def test_knn_rating_with_too_few_rows_kept_by_include_missing_blames_the_ratings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --include-missing rows without a vector are kept, so too few rows is too few
    ratings: the message said "only 1 rating row(s) have a vector", which is not why."""
    v = _vectors(tmp_path, n=3)
    r = tmp_path / "r.csv"
    r.write_text("user_id,item_id,rating\nu1,i1,3\n")
    assert main(["knn-rating", "--interactions", str(r), "--vectors", v, "--include-missing"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(f"only 1 rating row in {r}; the KNN needs 2 (one to train on, one to test)")
    )
