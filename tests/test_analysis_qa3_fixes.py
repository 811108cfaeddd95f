"""What a code read of the analysis modules found: vectors of items marked without an
image reached the rating KNN, pandas' NA was a cluster label, rating-eval's bar counted
one model short, and dropped timestamps were not said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.analysis import rating_eval as RE
from visrec.analysis.cluster import cluster_vs_labels
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def _ratings(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Ratings that follow the sign of each item's stored vector; items 0..19 are
    marked without an image."""
    rng = np.random.default_rng(1)
    vec = rng.normal(size=(40, 4)).astype(np.float32)
    has = np.arange(40) >= 20
    rows = [
        (u, i, int(np.clip(3 + 2 * np.sign(vec[i, 0]) + rng.integers(-1, 2), 1, 5)))
        for u in range(60)
        for i in rng.choice(40, 15, replace=False)
    ]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(path, index=False)
    return path, vec, has


def test_rows_marked_without_an_image_are_zero_whatever_the_file_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the KNN keeps such items "with an all-zero vector": it used the stale row instead
    ratings, vec, has = _ratings(tmp_path)
    ids = [str(i) for i in range(40)]
    stale = ItemVectors(ids, vec, has)
    aligned, got = stale.align(["0", "25", "nope"])
    assert got.tolist() == [False, True, False]
    assert not aligned[0].any() and np.array_equal(aligned[1], vec[25])
    empty = ItemVectors([], np.zeros((0, 4), np.float32), [])
    rows, got = empty.align(["a", "b"])
    assert rows.shape == (2, 4) and not rows.any() and not got.any()
    outputs = []
    for name, rows in (("stale", vec), ("zeros", np.where(has[:, None], vec, 0)),
                       ("nan", np.where(has[:, None], vec, np.nan))):  # fmt: skip
        path = tmp_path / f"{name}.parquet"
        write_vectors(path, ItemVectors(ids, rows, has))
        argv = ["knn-rating", "--interactions", str(ratings), "--vectors", str(path)]
        assert main([*argv, "--include-missing"]) == 0
        outputs.append(capsys.readouterr().out)
        res = RE.rating_eval(pd.read_csv(ratings), ItemVectors(ids, rows, has), n_seeds=1)
        outputs.append(res.table.drop(columns="fit_seconds", errors="ignore").to_string())
    assert outputs[0] == outputs[2] == outputs[4] and outputs[1] == outputs[3] == outputs[5]


def test_pandas_missing_labels_are_no_cluster_label() -> None:
    x = np.random.default_rng(0).normal(size=(30, 4))
    for labels in (
        pd.Series(["a"] * 10 + ["b"] * 10 + [None] * 10, dtype="string"),
        pd.Series([1] * 10 + [2] * 10 + [None] * 10, dtype="Int64"),
        np.r_[np.ones(20, np.float32), np.full(10, np.nan, np.float32)],
    ):
        with pytest.raises(VisrecError, match=r"10 labels are missing .* position 20"):
            cluster_vs_labels(x, labels)


def test_the_rating_eval_bar_counts_every_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    seen: list[tuple[Any, int]] = []

    class Counting(tqdm.auto.tqdm):  # type: ignore[misc,name-defined]
        def close(self) -> None:
            seen.append((self.total, self.n))
            super().close()

    # the bar is tqdm.auto's (a widget in a notebook)
    monkeypatch.setattr(tqdm.auto, "tqdm", Counting)
    ratings, vec, _ = _ratings(tmp_path)
    frame = pd.read_csv(ratings)
    iv = ItemVectors([str(i) for i in range(40)], vec, np.ones(40, dtype=bool))
    RE.rating_eval(frame, iv, n_seeds=2, progress=True)
    RE.rating_eval(frame, None, n_seeds=2, progress=True)
    assert set(seen) == {(14, 14), (10, 10)}  # (total, done): 7 models a seed, or 5


def test_dropped_timestamps_are_said_where_repeats_are_collapsed() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", *[f"v{k}" for k in range(12)]],
            "item_id": ["i1", "i1", *[f"j{k}" for k in range(12)]],
            "rating": [5, 1, *[3] * 12],
            "timestamp": [200, 100, np.nan, *[1] * 11],
        }
    )
    df, notes = RE._clean_ratings(frame)
    # without every time, the last row wins, and the note says why
    assert df.loc[df.user_id == "u1", "rating"].tolist() == [1]
    assert notes == [
        "1 repeated (user, item) rating collapsed to one (the last row; 1 row has no "
        "usable time, so no time is used) before splitting"
    ]
