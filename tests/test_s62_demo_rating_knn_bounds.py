"""The two boundaries of the demo's rating-KNN step that the session-62 demo audit left
open: the too-few-rows floor ``max(knn_k + 1, 5)`` (k neighbours need k + 1 rows: one to
predict and k to vote) and the "and N more" after the first 3 items without an image."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from visrec.demo.datasets import DemoDataset
from visrec.demo.pipeline import _rating_knn


def _quiet(*args: object, **kwargs: object) -> None:
    pass


def _run(
    tmp_path: Path, frame: pd.DataFrame, with_image: list[str], knn_k: int
) -> tuple[object, str | None]:
    ds = DemoDataset("d", "generic", tmp_path, {}, {}, "category", interactions=frame)
    ids = sorted(set(frame["item_id"]) | set(with_image))
    iv = SimpleNamespace(
        ids=np.array(ids, dtype=object), has_image=np.array([i in with_image for i in ids])
    )
    return _rating_knn(ds, frame, iv, 0, knn_k=knn_k, test_size=0.2, say=_quiet)


def _ratings(items: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{n}" for n in range(len(items))],
            "item_id": items,
            "rating": [float(1 + n % 2) for n in range(len(items))],
        }
    )


def test_k_neighbours_need_k_plus_one_rows(tmp_path: Path) -> None:
    items = [f"i{n}" for n in range(5)]
    result, note = _run(tmp_path, _ratings(items), items, knn_k=5)
    assert result is None
    assert note == "only 5 rating rows with an image: too few for rating KNN"


def test_five_rows_are_the_floor_for_a_small_k(tmp_path: Path) -> None:
    items = [f"i{n}" for n in range(4)]
    result, note = _run(tmp_path, _ratings(items), items, knn_k=1)
    assert result is None
    assert note == "only 4 rating rows with an image: too few for rating KNN"


def test_three_items_without_an_image_are_all_named(tmp_path: Path) -> None:
    items = ["a", "b", "c"]
    result, note = _run(tmp_path, _ratings(items), [], knn_k=3)
    assert result is None and note is not None
    assert "their item has no usable image ('a', 'b', 'c')" in note
    assert "more" not in note


def test_a_fourth_item_without_an_image_is_counted(tmp_path: Path) -> None:
    items = ["a", "b", "c", "d", "d"]
    result, note = _run(tmp_path, _ratings(items), [], knn_k=3)
    assert result is None and note is not None
    assert "5 of 5 rating rows left out: their item has no usable image" in note
    assert "('a', 'b', 'c' and 1 more)" in note
