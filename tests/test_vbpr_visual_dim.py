"""VBPR's ``visual_dim`` (training on principal components, folded into the saved
``E``/``beta'``): determinism, resume, tiny catalogues, new-item consistency and the CLI
end to end. The shared fixtures use 16-d vectors, so the default of 256 would not reduce
anything: every fit here asks for fewer components than that."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_models import DIM, N_ITEMS, N_USERS, checkerboard
from test_train_checkpoint import _fit_interrupted
from visrec.cli import main
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.models import _checkpoint, _train
from visrec.models.base import Recommender
from visrec.models.registry import make_model

PARAMS: dict[str, Any] = {
    "factors": 4,
    "visual_factors": 4,
    "epochs": 6,
    "finetune_epochs": 3,
    "lr": 0.05,
    "batch_size": 32,
    "visual_dim": 3,
    "device": "cpu",
    "reg": 0.01,  # fixed: reg="auto" would add validation fits on this sparse board
    "reg_visual": 1e-3,
}
USERS = np.arange(N_USERS)


def _visual(model: Any) -> np.ndarray:
    """Known items' visual terms ``theta_u . (E f_i) + beta' . f_i`` for every user."""
    return np.asarray(model.user_visual_factors_ @ model.item_visual_.T + model.item_visual_bias_)


def _with_cold(n_cold: int = 4) -> tuple[Interactions, ItemVectors]:
    """The checkerboard plus ``n_cold`` items in the id map with an image and no
    interaction (cold-start candidates known at training time)."""
    inter, vec = checkerboard()
    rng = np.random.default_rng(1)
    ids = [*inter.item_map.ids, *(f"c{k}" for k in range(n_cold))]
    frame = pd.DataFrame(
        {
            "user_id": np.asarray(inter.user_map.ids)[inter.user_idx],
            "item_id": np.asarray(inter.item_map.ids)[inter.item_idx],
        }
    )
    full = Interactions.from_frame(frame, user_map=inter.user_map, item_map=IdMap(ids))
    extra = np.abs(rng.normal(0.5, 0.5, (n_cold, DIM))).astype(np.float32)
    return full, ItemVectors(
        ids=np.asarray(ids),
        vectors=np.vstack([vec.vectors, extra]),
        has_image=np.ones(len(ids), bool),
        meta=vec.meta,
    )


def test_same_seed_same_model_bit_for_bit_and_across_save_load(tmp_path: Path) -> None:
    inter, vec = checkerboard()
    a = make_model("vbpr", **PARAMS).fit(inter, vec)
    b = make_model("vbpr", **PARAMS).fit(inter, vec)
    for attr in a._array_attrs:
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)
    loaded = Recommender.load(a.save(tmp_path / "m"))
    assert loaded.get_params()["visual_dim"] == 3
    np.testing.assert_array_equal(loaded.score(USERS), a.score(USERS))
    np.testing.assert_array_equal(
        loaded.score_new_items(USERS, vec.vectors), a.score_new_items(USERS, vec.vectors)
    )


def test_visual_dim_at_least_the_width_is_the_unreduced_model() -> None:
    inter, vec = checkerboard()
    full = make_model("vbpr", **{**PARAMS, "visual_dim": None}).fit(inter, vec)
    for vd in (DIM, DIM + 1, 256):
        same = make_model("vbpr", **{**PARAMS, "visual_dim": vd}).fit(inter, vec)
        for attr in full._array_attrs:
            np.testing.assert_array_equal(getattr(same, attr), getattr(full, attr))


def test_items_with_an_image_and_no_interactions_score_as_new_items() -> None:
    # they are in the id map but not in the fit of the components; their known-item
    # visual terms and the new-item path on the same vectors must agree
    inter, vec = _with_cold()
    model = make_model("vbpr", **PARAMS).fit(inter, vec)
    cold = np.arange(N_ITEMS, len(vec.ids))
    assert model.item_scorable_[cold].all()
    np.testing.assert_array_equal(model.item_factors_[cold], 0.0)
    known = model.score(USERS)[:, cold]
    new = model.score_new_items(USERS, vec.vectors[cold])
    np.testing.assert_allclose(new, known, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.score_new_items(USERS, vec.vectors), _visual(model), atol=1e-5)


@pytest.mark.parametrize("n_images", [1, 2, 3])
def test_fewer_image_items_than_visual_dim(n_images: int) -> None:
    # fewer training rows than components: as many components as rows, finite scores,
    # training items without an image get the neutral visual term (zero); a new item
    # given as a row of zeros has no picture: -inf
    inter, vec = checkerboard()
    has = np.zeros(N_ITEMS, bool)
    has[:n_images] = True
    vectors = np.where(has[:, None], vec.vectors, 0.0).astype(np.float32)
    iv = ItemVectors(ids=vec.ids, vectors=vectors, has_image=has, meta=vec.meta)
    model = make_model("vbpr", **{**PARAMS, "visual_dim": 8}).fit(inter, iv)
    assert model.projection_.shape == (DIM, 4) and model.visual_bias_.shape == (DIM,)
    assert np.isfinite(model.score(USERS)).all()
    np.testing.assert_array_equal(model.item_visual_[~has], 0.0)
    new = model.score_new_items(USERS, vectors)
    np.testing.assert_allclose(new[:, has], _visual(model)[:, has], atol=1e-5)
    assert np.isneginf(new[:, ~has]).all()


def test_all_zero_vectors_are_no_pictures_and_nearly_all_zero_train_finite() -> None:
    inter, vec = checkerboard()
    zeros = np.zeros_like(vec.vectors)
    iv = ItemVectors(ids=vec.ids, vectors=zeros, has_image=vec.has_image, meta=vec.meta)
    assert not iv.has_image.any()  # a row of zeros is no picture
    with pytest.raises(VisrecError, match="has_image false or a vector of zeros"):
        make_model("vbpr", **PARAMS).fit(inter, iv)
    zeros[0] = 1.0  # one picture, the rest none: a scale from one row, nothing divides by 0
    iv = ItemVectors(ids=vec.ids, vectors=zeros, has_image=vec.has_image, meta=vec.meta)
    model = make_model("vbpr", **PARAMS).fit(inter, iv)
    assert np.isfinite(model.projection_).all() and np.isfinite(model.score(USERS)).all()


@pytest.mark.parametrize("bad", [True, 2.5, 4.0, "4", [4]])
def test_visual_dim_of_the_wrong_type_is_refused(bad: object) -> None:
    inter, vec = checkerboard()
    with pytest.raises(VisrecError, match=r"model 'vbpr': visual_dim=.* must be an integer"):
        make_model("vbpr", **{**PARAMS, "visual_dim": bad}).fit(inter, vec)


@pytest.mark.parametrize("lazy", [False, True])
def test_interrupted_reduced_fit_resumes_to_the_same_arrays(
    lazy: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the components are recomputed on resume: they must come out the same, or the
    # restored E (which acts on them) would be applied to other features; interrupted
    # once in the main epochs and once in the fine-tuning epochs
    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0 if lazy else 16)
    inter, vec = checkerboard()
    whole = make_model("vbpr", **PARAMS).fit(inter, vec)
    for call, folder in ((4, tmp_path / "main"), (8, tmp_path / "tune")):
        _fit_interrupted(monkeypatch, folder, "key", call, "vbpr", PARAMS, inter, vec)
        notes: list[str] = []
        with _checkpoint.checkpointing(folder, "key", every_s=0, log=notes.append):
            resumed = make_model("vbpr", **PARAMS).fit(inter, vec)
        # a finished stage is reused whole (the main epochs, when the fine-tuning was
        # interrupted), the interrupted one resumed
        assert notes and notes[-1].startswith("resuming vbpr"), notes
        assert all(n.startswith(("resuming vbpr", "reusing the finished vbpr ")) for n in notes)
        for attr in resumed._array_attrs:
            np.testing.assert_array_equal(getattr(resumed, attr), getattr(whole, attr))


def test_cli_train_then_recommend_unseen_items(tmp_path: Path) -> None:
    # visrec train --param visual_dim=3, then recommend over known + unseen candidates
    # whose vectors come from --vectors: the unseen items' scores are the new-item path's
    inter, vec = checkerboard()
    train = tmp_path / "train.csv"
    users = np.asarray(inter.user_map.ids)[inter.user_idx]
    items = np.asarray(inter.item_map.ids)[inter.item_idx]
    pd.DataFrame({"user_id": users, "item_id": items}).to_csv(train, index=False)
    write_vectors(tmp_path / "v.parquet", vec)
    out = tmp_path / "model"
    params = [a for k, v in PARAMS.items() for a in ("--param", f"{k}={json.dumps(v)}")]
    assert main(["train", "--model", "vbpr", "--interactions", str(train),
                 "--vectors", str(tmp_path / "v.parquet"), "-o", str(out), "--quiet",
                 *params]) == 0  # fmt: skip
    model = Recommender.load(out)
    assert model.get_params()["visual_dim"] == 3

    rng = np.random.default_rng(5)
    new_ids = np.asarray(["n0", "n1", "n2"])
    new_vec = np.abs(rng.normal(0.5, 0.5, (3, DIM))).astype(np.float32)
    write_vectors(
        tmp_path / "new.parquet",
        ItemVectors(ids=new_ids, vectors=new_vec, has_image=np.ones(3, bool), meta=vec.meta),
    )
    (tmp_path / "items.txt").write_text("\n".join(["i0", "i15", *new_ids]) + "\n")
    recs = tmp_path / "recs.csv"
    assert main(["recommend", str(out), "--n", "5", "-o", str(recs),
                 "--items", str(tmp_path / "items.txt"),
                 "--vectors", str(tmp_path / "new.parquet")]) == 0  # fmt: skip
    got = pd.read_csv(recs, dtype={"user_id": str, "item_id": str})
    assert set(got["item_id"]) >= set(new_ids)
    new_scores = model.score_new_items(USERS, new_vec)
    rows = got[got["item_id"].isin(new_ids)]
    u = model.user_map_.to_index(rows["user_id"])
    k = np.searchsorted(new_ids, rows["item_id"].to_numpy())
    np.testing.assert_allclose(rows["score"], new_scores[u, k], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("visual_dim", [3, None])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("cold", [False, True])
def test_a_non_finite_vector_is_refused_naming_the_item(
    visual_dim: int | None, bad: float, cold: bool
) -> None:
    # before: with visual_dim the SVD raised sklearn's bare "Input contains NaN." from
    # deep inside the fit; with None the fit went through and every score came out NaN
    # (an item without interactions is still drawn as a negative)
    inter, vec = _with_cold() if cold else checkerboard()
    row = len(vec.ids) - 1 if cold else 3
    vectors = vec.vectors.copy()
    vectors[row, 2] = bad
    iv = ItemVectors(ids=vec.ids, vectors=vectors, has_image=vec.has_image, meta=vec.meta)
    with pytest.raises(VisrecError, match=rf"item '{vec.ids[row]}'.*NaN, infinite or huge"):
        make_model("vbpr", **{**PARAMS, "visual_dim": visual_dim}).fit(inter, iv)
