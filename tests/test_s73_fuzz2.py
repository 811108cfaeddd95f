"""Fuzzing the commands' id, image, label and item-table inputs (session 73, fuzz2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_s63_resume_mutants import _vectors
from visrec.cli import main


def _knn(tmp_path: Path, rows: str, *extra: str) -> tuple[int, Path]:
    """``visrec knn-rating`` on ratings ``rows`` (user,item,rating lines) and items i0..i5."""
    v = _vectors(tmp_path)
    r = tmp_path / "r.csv"
    r.write_text("user_id,item_id,rating\n" + rows)
    return main(["knn-rating", "--interactions", str(r), "--vectors", v, *extra]), r


@pytest.mark.parametrize(
    ("rows", "extra", "said"),
    [
        ("u0,i1,4\nu1,i2,4\n", (), "rating KNN: all 2 ratings are 4"),
        ("u0,i1,4\nu1,i2,5\n", (), "test size 0.2 of 2 rows leaves 1 training row"),
        (
            "u0,i1,4\nu1,i2,5\nu1,i3,5\n",
            ("--k", "1", "--test-size", "0.9"),
            "leaves 0 to train on",
        ),
    ],
)
def test_knn_rating_too_little_data_names_the_ratings_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: str,
    extra: tuple[str, ...],
    said: str,
) -> None:
    """The library's errors about the ratings as a whole (one value, too few rows for the
    split or k) came without the file: "error: rating KNN: all 2 ratings are 4"."""
    rc, r = _knn(tmp_path, rows, *extra)
    assert rc == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"error: {r}: rating KNN: ")
    assert said in last


def test_knn_rating_one_rated_row_blames_the_ratings_not_the_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One rating row whose item has a vector: the error said "only 1 rating row has a
    vector in V.parquet (do the item_id values match the vector ids?)": they do."""
    rc, r = _knn(tmp_path, "u0,i1,4\n")
    assert rc == 2
    err = capsys.readouterr().err
    assert err.strip().endswith(
        f"only 1 rating row in {r}; the KNN needs 2 (one to train on, one to test)"
    )
    assert "match the vector ids" not in err
