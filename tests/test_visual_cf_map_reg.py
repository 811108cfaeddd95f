"""visual-cf's ``map_reg``: known items rank with the BPR of ``reg``, items known only by
an image with a second BPR at ``map_reg`` (fitted only when the two differ)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, N_USERS, checkerboard, group_vectors
from test_train_checkpoint import _resumed_equals_whole
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.models import visual_cf
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


def test_known_items_rank_as_bpr_and_image_items_as_with_map_reg() -> None:
    inter, vec = with_image_only_item()
    both = vcf(reg=0.1).fit(inter, vec)  # map_reg 0.01 by default: two BPRs
    bpr = make_model("bpr", **{**FAST["bpr"], "reg": 0.1}).fit(inter)
    weak = vcf(reg=0.01).fit(inter, vec)  # one BPR at 0.01, as before map_reg existed
    known = np.arange(inter.n_items - 1)
    np.testing.assert_array_equal(both.score(USERS)[:, known], bpr.score(USERS)[:, known])
    # the image-only item (to float rounding: a one-column product) and new items: the
    # weak model's scores
    np.testing.assert_allclose(both.score(USERS)[:, -1], weak.score(USERS)[:, -1], rtol=1e-6)
    new = group_vectors(np.array([False, True]), np.random.default_rng(5))
    np.testing.assert_array_equal(both.score_new_items(USERS, new),
                                  weak.score_new_items(USERS, new))  # fmt: skip
    assert not np.array_equal(both.user_factors_, both.image_user_factors_)  # type: ignore[attr-defined]


def test_one_bpr_when_the_penalties_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    calls: list[float] = []
    real = visual_cf.fit_bpr_factors

    def spy(*a: Any, **k: Any) -> Any:
        calls.append(k["reg"])
        return real(*a, **k)

    monkeypatch.setattr(visual_cf, "fit_bpr_factors", spy)
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
    np.testing.assert_array_equal(back.score(USERS), m.score(USERS))
    new = group_vectors(np.array([True]), np.random.default_rng(3))
    np.testing.assert_array_equal(back.score_new_items(USERS, new), m.score_new_items(USERS, new))


def test_two_bpr_save_load_round_trip(tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    m = vcf(reg=0.1).fit(inter, vec)
    back = Recommender.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.score(USERS), m.score(USERS))
    new = group_vectors(np.array([True]), np.random.default_rng(3))
    np.testing.assert_array_equal(back.score_new_items(USERS, new), m.score_new_items(USERS, new))


@pytest.mark.parametrize("call", [3, 9])  # in the known items' BPR, in the map's
def test_interrupted_two_bpr_fit_resumes_to_the_same_arrays(
    call: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(  # dense: reg="auto" would add no fit, but reg is fixed here
        {"user_id": rng.integers(0, 60, 3000), "item_id": rng.integers(0, 40, 3000)}
    ).astype(str)
    inter = Interactions.from_frame(frame.drop_duplicates())
    ids = np.asarray(inter.item_map.ids)
    iv = ItemVectors(ids=ids, vectors=rng.random((len(ids), 8), dtype=np.float32),
                     has_image=np.ones(len(ids), bool))  # fmt: skip
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
