"""visual-cf's ``map_reg``: known items rank with the BPR of ``reg``, items known only by
an image with a second BPR at ``map_reg`` (fitted only when the two differ)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_models import FAST, N_USERS, checkerboard, group_vectors
from test_train_checkpoint import _resumed_equals_whole, dense_data
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.models import _fit_torch
from visrec.models.base import Recommender
from visrec.models.registry import make_model

USERS = np.arange(N_USERS)


def vcf(**kw: Any) -> Recommender:
    return make_model("visual-cf", **{**FAST["visual-cf"], **kw})


def with_image_only_item() -> tuple[Interactions, ItemVectors]:
    """The checkerboard plus item ``new`` in the id map with an image and no interactions."""
    inter, vec = checkerboard()
    items = IdMap([*inter.item_map.ids, "new"])
    frame = inter.to_frame()
    inter = Interactions.from_frame(frame, user_map=inter.user_map, item_map=items)
    extra = group_vectors(np.array([False]), np.random.default_rng(9))
    return inter, ItemVectors(
        ids=np.asarray(items.ids),
        vectors=np.vstack([vec.vectors, extra]),
        has_image=np.ones(len(items), dtype=bool),
    )


def assert_two_fits(both: Recommender, known_as: Recommender, image_as: Recommender) -> None:
    """``both`` (fitted on ``with_image_only_item``) scores its known items exactly as
    ``known_as``, and its image-only item (to float rounding: a one-column product) and
    new items as ``image_as``."""
    known = np.arange(len(both.item_map_) - 1)
    np.testing.assert_array_equal(both.score(USERS)[:, known], known_as.score(USERS)[:, known])
    np.testing.assert_allclose(both.score(USERS)[:, -1], image_as.score(USERS)[:, -1], rtol=1e-5)
    new = group_vectors(np.array([False, True]), np.random.default_rng(5))
    np.testing.assert_array_equal(both.score_new_items(USERS, new),
                                  image_as.score_new_items(USERS, new))  # fmt: skip


def assert_same_scores(a: Recommender, b: Recommender) -> None:
    """Known and new items score alike in both (e.g. a model and its loaded copy)."""
    np.testing.assert_array_equal(a.score(USERS), b.score(USERS))
    new = group_vectors(np.array([True]), np.random.default_rng(3))
    np.testing.assert_array_equal(a.score_new_items(USERS, new), b.score_new_items(USERS, new))


def test_known_items_rank_as_bpr_and_image_items_as_with_map_reg() -> None:
    inter, vec = with_image_only_item()
    both = vcf(reg=0.1).fit(inter, vec)  # map_reg 0.01 by default: two BPRs
    bpr = make_model("bpr", **{**FAST["bpr"], "reg": 0.1}).fit(inter)
    weak = vcf(reg=0.01).fit(inter, vec)  # one BPR at 0.01, as before map_reg existed
    assert_two_fits(both, bpr, weak)
    assert not np.array_equal(both.user_factors_, both.image_user_factors_)  # type: ignore[attr-defined]


def test_one_bpr_when_the_penalties_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    calls: list[float] = []
    real = _fit_torch.fit_bpr_factors

    def spy(*a: Any, **k: Any) -> Any:
        calls.append(k["reg"])
        return real(*a, **k)

    monkeypatch.setattr(_fit_torch, "fit_bpr_factors", spy)
    vcf(reg=0.01).fit(inter, vec)
    vcf(reg=0.1, map_reg=None).fit(inter, vec)
    assert calls == [0.01, 0.1]
    calls.clear()
    vcf(reg=0.1).fit(inter, vec)
    assert calls == [0.1, 0.01]


def test_saved_before_map_reg_loads_and_scores_as_saved(tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    m = vcf(reg=0.05, map_reg=None).fit(inter, vec)
    folder = m.save(tmp_path / "old")
    # what an older version wrote: no map_reg, no image_user_factors_
    meta = json.loads((folder / "model.json").read_text())
    del meta["params"]["map_reg"]
    (folder / "model.json").write_text(json.dumps(meta))
    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "image_user_factors_"}
    np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]
    back = Recommender.load(folder)
    assert back.get_params()["map_reg"] is None
    assert_same_scores(back, m)


def test_two_bpr_save_load_round_trip(tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    m = vcf(reg=0.1).fit(inter, vec)
    back = Recommender.load(m.save(tmp_path / "m"))
    assert_same_scores(back, m)


@pytest.mark.parametrize("call", [3, 9])  # in the known items' BPR, in the map's
def test_interrupted_two_bpr_fit_resumes_to_the_same_arrays(
    call: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter, iv = dense_data()
    params = {"epochs": 6, "batch_size": 64, "reg": 0.05}  # map_reg 0.01: two fits
    notes = _resumed_equals_whole(monkeypatch, tmp_path, call, "visual-cf", params, False,
                                  (inter, iv))  # fmt: skip
    desc, epoch = ("bpr", 3) if call == 3 else ("bpr-map", 3)
    assert notes[-1] == f"resuming {desc} at epoch {epoch} of 6 (from {tmp_path / (desc + '.pt')})"


def test_one_bpr_model_scores_image_only_items_as_saved(tmp_path: Path) -> None:
    # map_reg == reg (dense data's default): one BPR, whose user factors `save` writes
    # under both names; loaded, the image-only item must score bit for bit as before
    inter, vec = with_image_only_item()
    m = vcf(reg=0.01).fit(inter, vec)
    back = Recommender.load(m.save(tmp_path / "m"))
    assert back.image_user_factors_ is back.user_factors_  # type: ignore[attr-defined]
    np.testing.assert_array_equal(back.score(USERS), m.score(USERS))


def test_a_one_bpr_folder_leaves_the_user_factor_copy_out(tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    for kw, saved in (({"map_reg": None}, False), ({}, True)):
        m = vcf(reg=0.1, **kw).fit(inter, vec)
        folder = m.save(tmp_path / str(saved))
        with np.load(folder / "arrays.npz") as z:
            assert ("image_user_factors_" in z.files) == saved
        assert_same_scores(Recommender.load(folder), m)


def test_bias_weight_scales_the_mapped_bias_of_new_items_only() -> None:
    # the same seed: bias_weight changes only the b_hat term, the same for every user
    inter, iv = checkerboard()
    vecs = group_vectors(np.arange(6) >= 3, np.random.default_rng(3))
    users = np.arange(N_USERS)
    scores = {}
    for w in (0.0, 2.0):
        params = {**FAST["visual-cf"], "profile_weight": 0.0, "bias_weight": w}
        model = make_model("visual-cf", **params).fit(inter, iv)
        scores[w] = (model.score_new_items(users, vecs), model.score(users))
    diff = scores[2.0][0] - scores[0.0][0]
    np.testing.assert_allclose(diff, np.broadcast_to(diff[0], diff.shape), atol=1e-5)
    assert np.abs(diff[0]).max() > 1e-3
    np.testing.assert_array_equal(scores[2.0][1], scores[0.0][1])
