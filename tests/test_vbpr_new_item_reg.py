"""VBPR's ``new_item_reg`` / ``new_item_reg_visual``: known items rank with the fit at
the model's penalties, items known only by an image with the visual terms of a second
fit at the new-item penalties (fitted only when the two differ)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_models import FAST, N_USERS, checkerboard, group_vectors
from test_train_checkpoint import _resumed_equals_whole, dense_data
from test_visual_cf_map_reg import assert_same_scores, assert_two_fits, with_image_only_item
from visrec.errors import VisrecError
from visrec.models import _train
from visrec.models.base import Recommender
from visrec.models.registry import make_model

USERS = np.arange(N_USERS)
#: the model's own penalties stronger than the new-item defaults (0.01, 1e-3)
STRONG = {"reg": 0.1, "reg_visual": 0.1}
ONE_FIT = {"new_item_reg": None, "new_item_reg_visual": None}


def vbpr(**kw: Any) -> Recommender:
    params = {k: v for k, v in FAST["vbpr"].items() if k not in ONE_FIT}
    return make_model("vbpr", **{**params, **kw})


def test_known_items_rank_as_the_strong_fit_and_image_items_as_the_weak_one() -> None:
    inter, vec = with_image_only_item()
    both = vbpr(**STRONG).fit(inter, vec)  # new items at (0.01, 1e-3): a second fit
    strong = vbpr(**STRONG, **ONE_FIT).fit(inter, vec)
    weak = vbpr(reg=0.01, reg_visual=1e-3).fit(inter, vec)  # what VBPR gave before
    assert_two_fits(both, strong, weak)
    new = group_vectors(np.array([False, True]), np.random.default_rng(5))
    assert not np.array_equal(both.score_new_items(USERS, new), strong.score_new_items(USERS, new))


def test_one_fit_when_the_penalties_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    descs: list[str] = []
    real = _train.fit_pairwise

    def spy(*a: Any, **k: Any) -> Any:
        descs.append(k["desc"])
        return real(*a, **k)

    monkeypatch.setattr("visrec.models._fit_torch.fit_pairwise", spy)
    vbpr(reg=0.01, reg_visual=1e-3).fit(inter, vec)
    vbpr(**STRONG, **ONE_FIT).fit(inter, vec)
    assert descs == ["vbpr", "vbpr-finetune"] * 2
    descs.clear()
    vbpr(**STRONG).fit(inter, vec)
    assert descs == ["vbpr", "vbpr-finetune", "vbpr-new", "vbpr-new-finetune"]


def test_saved_before_new_item_reg_loads_and_scores_as_saved(tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    m = vbpr(**STRONG, **ONE_FIT).fit(inter, vec)
    folder = m.save(tmp_path / "old")
    meta = json.loads((folder / "model.json").read_text())
    for name in ONE_FIT:  # what an older version wrote: no such params or arrays
        del meta["params"][name]
    (folder / "model.json").write_text(json.dumps(meta))
    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("new_")}
    np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]
    back = Recommender.load(folder)
    assert back.get_params()["new_item_reg"] is None
    assert_same_scores(back, m)


@pytest.mark.parametrize("kw", [STRONG, {"reg": 0.01, "reg_visual": 1e-3}])
def test_save_load_round_trip(kw: dict[str, float], tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    m = vbpr(**kw).fit(inter, vec)
    back = Recommender.load(m.save(tmp_path / "m"))
    assert_same_scores(back, m)


# 6 + 2 epochs per fit: call 3 is the 3rd main epoch of the known items' fit, call 11
# the 3rd main epoch of the new-item fit, call 16 the 2nd fine-tuning epoch of the latter
@pytest.mark.parametrize(
    ("call", "resumed"),
    [(3, "vbpr at epoch 3 of 6"), (11, "vbpr-new at epoch 3 of 6"),
     (16, "vbpr-new-finetune at epoch 2 of 2")],
)  # fmt: skip
def test_interrupted_two_fit_resumes_to_the_same_arrays(
    call: int, resumed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter, iv = dense_data()
    params = {"epochs": 6, "finetune_epochs": 2, "batch_size": 64, **STRONG}
    notes = _resumed_equals_whole(monkeypatch, tmp_path, call, "vbpr", params, False,
                                  (inter, iv))  # fmt: skip
    desc = resumed.split()[0]
    assert notes[-1] == f"resuming {resumed} (from {tmp_path / (desc + '.pt')})"


def test_recommend_over_known_and_image_only_candidates_uses_both_fits() -> None:
    inter, vec = with_image_only_item()
    both = vbpr(**STRONG).fit(inter, vec)
    strong = vbpr(**STRONG, **ONE_FIT).fit(inter, vec)
    weak = vbpr(reg=0.01, reg_visual=1e-3).fit(inter, vec)
    io = inter.n_items - 1
    cand = np.array([io, 0, 1, inter.n_items // 2, inter.n_items - 2])
    expected = strong.score(USERS)[:, cand].astype(np.float64)
    expected[:, 0] = weak.score(USERS)[:, io]
    seen = both.seen_[USERS].toarray()[:, cand] > 0
    ids, scores = both.recommend(USERS, n=len(cand), items=cand)
    for u in USERS:
        keep = ~seen[u]
        assert sorted(ids[u][ids[u] >= 0].tolist()) == sorted(cand[keep].tolist())
        got = dict(zip(ids[u].tolist(), scores[u].tolist(), strict=True))
        np.testing.assert_allclose([got[c] for c in cand[keep]], expected[u, keep], rtol=1e-5)
        assert (np.diff(scores[u][ids[u] >= 0]) <= 0).all()


def _without_arrays(folder: Path, names: list[str]) -> None:
    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if k not in names}
    np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]


NEW_ARRAYS = ["new_user_visual_factors_", "new_projection_", "new_visual_bias_",
              "new_item_visual_", "new_item_visual_bias_"]  # fmt: skip


# one of them, or all (a two-fit folder must not pass for one saved before new_item_reg)
@pytest.mark.parametrize("dropped", [["new_projection_"], NEW_ARRAYS])
def test_a_two_fit_folder_missing_new_item_arrays_is_a_clear_error(
    dropped: list[str], tmp_path: Path
) -> None:
    inter, vec = with_image_only_item()
    folder = vbpr(**STRONG).fit(inter, vec).save(tmp_path / "m")
    _without_arrays(folder, dropped)
    # the message names the folder: the error comes from inside the model's loading
    head = re.escape(f"{folder}: model 'vbpr': arrays.npz lacks {dropped[0]}")
    with pytest.raises(VisrecError, match=f"^{head}"):
        Recommender.load(folder)


def test_a_one_fit_folder_with_some_new_item_arrays_is_a_clear_error(tmp_path: Path) -> None:
    # a one-fit folder holds none of them (save leaves the copies out); some but not
    # all means a damaged folder
    inter, vec = with_image_only_item()
    folder = vbpr(**STRONG, **ONE_FIT).fit(inter, vec).save(tmp_path / "m")
    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    for name in NEW_ARRAYS[:-1]:
        arrays[name] = arrays[name.removeprefix("new_")]
    np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"lacks new_item_visual_bias_ \(the new-item fit at "):
        Recommender.load(folder)


def test_a_one_fit_folder_leaves_the_new_item_copies_out(tmp_path: Path) -> None:
    inter, vec = with_image_only_item()
    for kw, saved in ((ONE_FIT, False), ({}, True)):
        m = vbpr(**STRONG, **kw).fit(inter, vec)
        folder = m.save(tmp_path / str(saved))
        with np.load(folder / "arrays.npz") as z:
            assert all((a in z.files) == saved for a in NEW_ARRAYS)
        assert_same_scores(Recommender.load(folder), m)
