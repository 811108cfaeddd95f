"""Mutation audit of ``visrec.models.model_folder`` and ``visrec.models._save_load``
(session 66): the files of a saved model folder, refused when tampered, corrupt or of
another layout with one line naming the file; no pickle; the id map round trip.

45 mutants (37 of model_folder, 8 of _save_load): 21 killed by the existing save/load
tests (model-folder damage, s50, s61 x2, params-and-load; for time, most run against a
-k selection or the one test naming the code, so a few counted as survivors below may
also die elsewhere: an old layout of bytes ids, first counted here, is killed by
test_model_folder_damage's old-layout test), 23 survived them and are killed here
(model.json without the save token, a count of True, an extra axis, the model's own
array gone, lone-surrogate ids, each check of the packed ids and of the training pairs, numpy
arrays in vector_meta, a user's model.json / arrays.npz saved over, hidden files, a
save stopped between its files, a zero scale). 1 equivalent: without marking the row
boundaries in ``_pair_twice`` a fall between rows only takes the sorting path, which
finds no pair twice either. Killed after: 44 of 45.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_model_folder_damage import _edit_model_json
from test_models import DIM, FAST, checkerboard
from test_s61_saveload_mutants import Arrays, _load_error, _rewrite
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import MixedSavesError, VisrecError
from visrec.models.base import Recommender
from visrec.models.model_folder import SAVE_TOKEN
from visrec.models.registry import make_model


def _popularity(users: list[str], items: list[str]) -> Recommender:
    frame = pd.DataFrame({"user_id": users, "item_id": items})
    return make_model("popularity").fit(Interactions.from_frame(frame))


@pytest.fixture
def pop_folder(tmp_path: Path) -> Path:
    """Popularity on users a, b, c and items x, y, z, w; saved."""
    model = _popularity(["a", "a", "b", "c", "c"], ["x", "y", "z", "x", "w"])
    return model.save(tmp_path / "m")


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    inter, vec = checkerboard()
    vec = ItemVectors(vec.ids, vec.vectors, vec.has_image, meta={**vec.meta, "dim": DIM})
    return {n: make_model(n, **FAST[n]).fit(inter, vec) for n in ("bpr", "vbpr")}


# ------------------------------------------------------------------ model.json


def test_params_that_are_no_object_are_refused(pop_folder: Path) -> None:
    # mutant: read_model_json no longer checks that "params" is an object
    mj = _edit_model_json(pop_folder, lambda m: m.update(params=["x"]))
    assert _load_error(pop_folder).startswith(f"{mj}: not a visrec model.json")


def test_a_model_json_without_the_arrays_save_token_is_a_mix(pop_folder: Path) -> None:
    # mutant: a model.json lacking the token accepted whatever arrays.npz holds
    _edit_model_json(pop_folder, lambda m: m.pop(SAVE_TOKEN))
    with pytest.raises(MixedSavesError, match="come from two different saves"):
        Recommender.load(pop_folder)


def test_a_count_of_true_is_no_whole_number(tmp_path: Path) -> None:
    # mutant: a bool taken for an int; True == 1, the one user's count
    folder = _popularity(["a"], ["x"]).save(tmp_path / "m")
    mj = _edit_model_json(folder, lambda m: m.update(n_users=True))
    assert _load_error(folder) == (
        f"{mj}: n_users is True, not a whole number; train the model again"
    )


def test_a_count_of_another_fit_is_refused(pop_folder: Path) -> None:
    # mutant: model.json's n_items never compared with the id map
    mj = _edit_model_json(pop_folder, lambda m: m.update(n_items=5))
    assert _load_error(pop_folder).startswith(f"{mj}: n_items is 5, but arrays.npz holds 4")


# ------------------------------------------------------------------ learned arrays


def test_a_learned_array_gone_is_named(pop_folder: Path) -> None:
    # mutant: the last needed array (the model's own) left out of the check
    npz = _rewrite(pop_folder, lambda a: a.pop("item_counts_"))
    assert _load_error(pop_folder) == (f"{npz}: missing array item_counts_; train the model again")


def test_a_learned_array_with_an_extra_axis_is_refused_in_one_line(pop_folder: Path) -> None:
    # mutant: only too few axes refused; one too many reached zip(strict=True)
    npz = _rewrite(pop_folder, lambda a: a.update(item_counts_=a["item_counts_"][:, None]))
    assert _load_error(pop_folder) == (
        f"{npz}: item_counts_ has shape (4, 1), expected (items); train the model again"
    )


def test_a_matrix_of_another_width_is_named_by_its_axis(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # mutant: only axis 0 compared; the scoring probe then said it vaguely
    folder = fitted["bpr"].save(tmp_path / "m")
    npz = _rewrite(folder, lambda a: a.update(item_factors_=a["item_factors_"][:, :-1]))
    assert f"{npz}: item_factors_ has shape" in _load_error(folder)
    assert "(axis 1)" in _load_error(folder)


def test_a_mask_saved_as_integers_is_refused(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # mutant: the kind checked for float arrays only
    folder = fitted["vbpr"].save(tmp_path / "m")
    npz = _rewrite(folder, lambda a: a.update(item_scorable_=a["item_scorable_"].astype(np.int8)))
    assert _load_error(folder) == (
        f"{npz}: item_scorable_ holds int8 values, expected true/false values; "
        "train the model again"
    )


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_a_scale_that_is_not_positive_is_refused(
    scale: float, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # mutant: > 0 weakened to >= 0 (a zero scale divides every new item's score to NaN)
    folder = fitted["vbpr"].save(tmp_path / "m")
    npz = _rewrite(folder, lambda a: a.update(feature_scale_=np.array([scale], np.float32)))
    assert _load_error(folder) == (
        f"{npz}: feature_scale_ must be positive, holds {scale}; train the model again"
    )


# ------------------------------------------------------------------ the id map


@pytest.mark.parametrize(
    "ids", [["a\udc80", "b"], ["\ud800x", "é", "", "漢字"]], ids=["lone-low", "lone-high"]
)
def test_ids_holding_lone_surrogates_round_trip(ids: list[str], tmp_path: Path) -> None:
    # mutants: encode or decode with another error handler than surrogatepass
    # pandas' arrow strings refuse lone surrogates: the maps set after the fit
    model = _popularity([f"u{k}" for k in range(len(ids))], [f"i{k}" for k in range(len(ids))])
    model.user_map_ = IdMap(np.asarray(ids, dtype=object))
    model.item_map_ = IdMap(np.asarray(ids[::-1], dtype=object))
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.user_map_.to_list() == model.user_map_.to_list() == ids
    assert loaded.item_map_.to_list() == model.item_map_.to_list()


def _ids_change(change: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> Any:
    def apply(a: Arrays) -> None:
        a["item_ids_utf8"], a["item_ids_offsets"] = change(
            a["item_ids_utf8"], a["item_ids_offsets"]
        )

    return apply


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda d, o: (d.astype(np.int64), o),
            "bytes must be a 1-d uint8 array, got int64 (4,)",
        ),
        (
            lambda d, o: (d, o[:0]),
            "offsets must be a non-empty 1-d integer array, got int64 (0,)",
        ),
        (
            lambda d, o: (np.concatenate([np.frombuffer(b"q", np.uint8), d]), o + 1),
            "offsets must rise from 0 to 5 (the byte count)",
        ),
        (
            lambda d, o: (np.concatenate([d, np.frombuffer(b"q", np.uint8)]), o),
            "offsets must rise from 0 to 5 (the byte count)",
        ),
        (
            lambda d, o: (d, np.array([0, 3, 2, 3, 4])),
            "offsets must rise from 0 to 4 (the byte count)",
        ),
    ],
    ids=["int64-bytes", "no-offsets", "not-from-0", "trailing-bytes", "falling"],
)
def test_id_arrays_that_do_not_describe_the_ids_are_refused(
    change: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    said: str,
    pop_folder: Path,
) -> None:
    # mutants: each check of the packed ids dropped (int64 bytes read 8 a value; the
    # ids shifted, cut or silently emptied)
    npz = _rewrite(pop_folder, _ids_change(change))
    assert _load_error(pop_folder) == f"{npz}: item_ids {said}; train the model again"


def test_a_duplicate_id_names_the_arrays(pop_folder: Path) -> None:
    # mutant: the IdMap's error raised as is, naming no file
    npz = _rewrite(
        pop_folder,
        _ids_change(lambda d, o: (np.frombuffer(b"xxzw", np.uint8), np.arange(5))),
    )
    msg = _load_error(pop_folder)
    assert msg.startswith(f"{npz}: ") and msg.endswith("; train the model again")


# ------------------------------------------------------------------ the training pairs


def _seen(indptr: list[int], indices: list[int], dtype: Any = np.int32) -> Any:
    def apply(a: Arrays) -> None:
        a["seen_indptr"] = np.array(indptr, dtype=dtype)
        a["seen_indices"] = np.array(indices, dtype=dtype)

    return apply


@pytest.mark.parametrize(
    ("indptr", "indices", "dtype", "said"),
    [
        ([0, 1, 2, 3, 3], [0, 1, 2], np.int32, "seen_indptr has 5 entries for 3 users"),
        ([1, 1, 2, 3], [0, 1, 2], np.int32, "seen_indptr must rise from 0 to 3"),
        ([0, 2, 1, 3], [0, 1, 2], np.uint32, "seen_indptr must rise from 0 to 3"),
        ([0, 2, 2, 2], [3, 3], np.int32, "seen_indices lists item index 3 twice for user index 0"),
        (
            [0, 3, 3, 3],
            [1, 2, 2],
            np.int32,
            "seen_indices lists item index 2 twice for user index 0",
        ),
        (
            [0, 3, 3, 3],
            [3, 1, 3],
            np.uint32,
            "seen_indices lists item index 3 twice for user index 0",
        ),
    ],
    ids=["indptr-long", "indptr-from-1", "uint-falling", "two-twice", "sorted-twice", "uint-twice"],
)
def test_training_pairs_that_do_not_fit_are_refused(
    indptr: list[int], indices: list[int], dtype: Any, said: str, pop_folder: Path
) -> None:
    # mutants: each check of seen_matrix / _pair_twice weakened (a longer indptr, one not
    # from 0, an unsigned fall wrapped to a rise, a pair twice in a 2-entry, a sorted or
    # an unsigned row)
    npz = _rewrite(pop_folder, _seen(indptr, indices, dtype))
    assert _load_error(pop_folder).startswith(
        f"{npz}: the seen_ arrays do not fit the id maps ({said}"
    )


# ------------------------------------------------------------------ JSON state


def test_a_vector_meta_holding_an_array_is_saved_as_a_list(tmp_path: Path) -> None:
    # mutant: json_default refuses numpy arrays (a preprocessing mean)
    model = _popularity(["a", "b"], ["x", "y"])
    model.vector_meta_ = {"backbone": "b", "preprocessing": {"mean": np.array([0.5, 0.25])}}
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.vector_meta_ == {"backbone": "b", "preprocessing": {"mean": [0.5, 0.25]}}


def test_a_vector_meta_whose_preprocessing_is_no_object_is_refused(pop_folder: Path) -> None:
    # mutant: the preprocessing's kind left unchecked
    mj = _edit_model_json(pop_folder, lambda m: m.update(vector_meta={"preprocessing": "x"}))
    assert _load_error(pop_folder) == (
        f"{mj}: vector_meta is an object whose preprocessing 'x' is not an object; "
        "train the model again"
    )


# ------------------------------------------------------------------ saving into a folder


def test_a_model_json_that_visrec_did_not_write_is_not_saved_over(tmp_path: Path) -> None:
    # mutant: is_model_folder without "visrec_version": a user's {"model": ...} overwritten
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.json").write_text('{"model": "mine"}')
    with pytest.raises(VisrecError, match=r"it holds model\.json but no visrec model\.json"):
        _popularity(["a"], ["x"]).save(folder)
    assert (folder / "model.json").read_text() == '{"model": "mine"}'


def test_hidden_files_do_not_make_a_folder_foreign(tmp_path: Path) -> None:
    # mutant: .DS_Store counted as the user's file, and the save refused
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / ".DS_Store").write_bytes(b"x")
    _popularity(["a"], ["x"]).save(folder)
    assert Recommender.load(folder).item_map_.to_list() == ["x"]


def test_an_arrays_npz_of_the_users_own_is_not_saved_over(tmp_path: Path) -> None:
    # mutant: any lone arrays.npz taken for a save stopped between its two files
    folder = tmp_path / "m"
    folder.mkdir()
    np.savez(folder / "arrays.npz", mine=np.arange(3))
    before = (folder / "arrays.npz").read_bytes()
    with pytest.raises(VisrecError, match=r"it holds arrays\.npz but no visrec model\.json"):
        _popularity(["a"], ["x"]).save(folder)
    assert (folder / "arrays.npz").read_bytes() == before


def test_a_save_stopped_between_its_two_files_is_saved_over(tmp_path: Path) -> None:
    # mutant: the save token's member looked up without ".npy": never found
    folder = _popularity(["a"], ["x"]).save(tmp_path / "m")
    (folder / "model.json").unlink()
    _popularity(["b", "c"], ["y", "z"]).save(folder)
    assert Recommender.load(folder).user_map_.to_list() == ["b", "c"]


def test_excluded_pairs_round_trip(tmp_path: Path) -> None:
    # mutant: the excluded pairs not saved: recommended again after a reload
    model = _popularity(["a", "a", "b"], ["x", "y", "z"])
    assert model.exclude_pairs([0], [2]) == 1
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.excluded_ is not None
    assert loaded.excluded_.toarray().astype(int).tolist() == [[0, 0, 1], [0, 0, 0]]
    ids, _ = loaded.recommend(0, n=3)
    assert 2 not in ids.ravel().tolist()
