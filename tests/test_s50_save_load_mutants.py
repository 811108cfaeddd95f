"""Save/load mutation audit (session 50): tests that kill the mutations of
``models/model_folder.py`` that the existing tests let live (each names its mutation),
and a pickled object array refused on load without running it. Data: a few hand-made
pairs for popularity (no PyTorch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.registry import make_model

#: items as text that a number parser would change: "007" is not "7", "1e3" not 1000
ITEMS = ["007", "7", "1e3", "b"]


def _popularity(tmp_path: Path) -> tuple[Recommender, Path]:
    """Popularity on hand-made pairs, saved: counts 007:1, 7:2, 1e3:1, b:0; user "010"
    saw only 007."""
    pairs = [("010", "007"), ("2", "7"), ("3", "7"), ("2", "1e3")]
    df = pd.DataFrame(pairs, columns=["user_id", "item_id"])
    inter = Interactions.from_frame(df, user_map=IdMap(["010", "2", "3"]), item_map=IdMap(ITEMS))
    model = make_model("popularity").fit(inter)
    return model, model.save(tmp_path / "m")


def _rewrite(npz: Path, **arrays: np.ndarray) -> None:
    with np.load(npz) as z:
        kept = {k: z[k] for k in z.files}
    np.savez(npz, **{**kept, **arrays})  # type: ignore[arg-type]


def test_a_pickled_object_array_is_refused_without_running_it(tmp_path: Path) -> None:
    """np.load with allow_pickle=False (mutation M01, allow_pickle=True, is killed here
    too): unpickling this array would create ``ran``."""
    _, folder = _popularity(tmp_path)
    ran = tmp_path / "ran"

    class Touch:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(ran), "w"))

    _rewrite(folder / "arrays.npz", item_counts_=np.array([Touch()], dtype=object))
    with pytest.raises(VisrecError, match=r"arrays\.npz: unreadable or corrupt") as info:
        Recommender.load(folder)
    assert "\n" not in str(info.value)
    assert not ran.exists()


def test_a_lone_npy_array_as_arrays_npz_is_refused_in_one_line(tmp_path: Path) -> None:
    """M02 (model_folder.read_arrays: no check that np.load gave an .npz archive): a
    TypeError from ``with`` on an ndarray, not one line naming the file."""
    _, folder = _popularity(tmp_path)
    with open(folder / "arrays.npz", "wb") as fh:
        np.save(fh, np.ones(3))
    with pytest.raises(VisrecError, match=r"arrays\.npz: a single \.npy array"):
        Recommender.load(folder)


def test_text_ids_round_trip_as_written_and_in_order(tmp_path: Path) -> None:
    """M12 (unpack_ids turned digit-only ids into numbers' text, '007' -> '7'): the id
    maps come back as the same strings in the same order, and the item '7' keeps its
    count (2, hand-counted) apart from '007' (1)."""
    _, folder = _popularity(tmp_path)
    loaded = Recommender.load(folder)
    assert loaded.item_map_.to_list() == ITEMS
    assert loaded.user_map_.to_list() == ["010", "2", "3"]
    assert loaded.item_counts_.tolist() == [1.0, 2.0, 1.0, 0.0]  # type: ignore[attr-defined]
