"""visual-cf's ``profile_weight="auto"`` keeps the taste term off unless its validation
gain is both large (``PROFILE_MARGIN``) and carried by clearly more users than it hurts
(a one-sided sign test): at a tiny Recall@20 a 10% gain is a handful of hits, which
random vectors win by chance. And when no validation runs, the note says why."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from test_models import checkerboard
from test_visual_cf_profile import AUTO, _shop
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models import _checkpoint, visual_cf
from visrec.models.base import Recommender
from visrec.models.visual_cf import PROFILE_WEIGHTS, VisualCF, _decide


def _random_shop(seed: int) -> tuple[Interactions, ItemVectors]:
    """1,500 users x 2,500 items, 6 items each by a mild popularity, and random 64-d
    vectors: pictures that say nothing, at a validation Recall@20 near 0.04."""
    rng = np.random.default_rng(seed)
    n_items = 2500
    pop = rng.lognormal(0, 0.3, n_items)
    rows = []
    for u in range(1500):
        rows += [
            (f"u{u}", f"i{i}") for i in rng.choice(n_items, 6, replace=False, p=pop / pop.sum())
        ]
    items = IdMap([f"i{i}" for i in range(n_items)])
    inter = Interactions.from_frame(
        pd.DataFrame(rows, columns=["user_id", "item_id"]), item_map=items
    )
    vecs = rng.normal(size=(n_items, 64)).astype(np.float32)
    return inter, ItemVectors(np.asarray(items.ids), vecs, np.ones(n_items, dtype=bool))


def test_random_vectors_that_fool_the_mean_gain_keep_weight_zero() -> None:
    # seed 4: weight 2's mean validation Recall@20 beats 0's by more than 10% (the old
    # rule switched the term on), from about as many users hurt as helped
    model = VisualCF(**AUTO).fit(*_random_shop(4))
    assert model.chosen_profile_weight() == 0 and float(model.profile_scale_[0]) == 0
    val, sign = model.profile_validation_, model.profile_sign_
    assert sign is not None and set(sign) == set(val) - {"profile_weight=0"}
    best = max(val, key=val.__getitem__)
    assert _decide(val) == float(best.split("=")[1]) > 0  # the mean gain alone: fooled
    better, worse = sign[best]
    assert better + worse > 100 and visual_cf._sign_p(better, worse) > 0.01
    note = model.profile_note() or ""
    assert note.endswith(
        f": 0 (none gains 10% over 0 significantly: {best.split('=')[1]} did better for "
        f"{better:,} validation users, worse for {worse:,})"
    )


def test_a_visual_taste_still_turns_the_term_on() -> None:
    model = VisualCF(**AUTO).fit(*_shop(visual=True))
    val, sign = model.profile_validation_, model.profile_sign_
    best = max(val, key=val.__getitem__)
    assert sign is not None and visual_cf._sign_p(*sign[best]) < 0.01
    assert model.chosen_profile_weight() == float(best.split("=")[1]) > 0
    assert float(model.profile_scale_[0]) > 0


def test_decide_wants_the_gain_from_clearly_more_users_helped_than_hurt() -> None:
    # a 25% mean gain at weight 1 from a handful of users: kept by the mean alone (a
    # model saved before the counts), not with 6 users helped against 2 hurt
    scores = {"profile_weight=0": 0.004, "profile_weight=0.5": 0.004}
    scores |= {"profile_weight=1": 0.005, "profile_weight=2": 0.0041}
    few = {"profile_weight=0.5": [1, 1], "profile_weight=1": [6, 2], "profile_weight=2": [3, 3]}
    assert _decide(scores) == 1.0
    assert _decide(scores, few) == 0.0
    assert _decide(scores, {**few, "profile_weight=1": [60, 20]}) == 1.0
    # significant but under the margin: still 0
    assert (
        _decide({**scores, "profile_weight=1": 0.0043}, {**few, "profile_weight=1": [60, 20]}) == 0
    )
    assert _decide(scores, {}) == 0.0  # no counts for the best: nothing shows a gain


@pytest.mark.parametrize(("better", "worse"), [(0, 0), (0, 5), (5, 0), (6, 2), (60, 20), (9, 9)])
def test_sign_p_is_the_binomial_tail(better: int, worse: int) -> None:
    n = better + worse
    want = sum(math.comb(n, k) for k in range(better, n + 1)) / 2**n if better else 1.0
    assert visual_cf._sign_p(better, worse) == pytest.approx(want, rel=1e-9)


def test_fold_recall_counts_the_users_each_weight_helps_and_hurts() -> None:
    # 40 candidates ranked 0..39 by the mapped score; item 25 looks like users 0 and 2's
    # profile: any weight lifts it into their top 20, a hit for user 0 (it is theirs)
    # and a miss for user 2 (it pushes their item 19 out); user 1 is untouched
    p = np.ones((3, 1), dtype=np.float32)
    mq = np.arange(40, 0, -1, dtype=np.float32)[:, None]
    pictures = np.zeros((40, 2), dtype=np.float32)
    pictures[:, 1] = 1
    pictures[25] = [1, 0]
    profiles = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    rel = np.zeros((3, 40), dtype=bool)
    rel[0, 25] = rel[1, 5] = rel[2, 19] = True
    got = visual_cf._fold_recall(
        p, mq, np.zeros(40, np.float32), 100.0, profiles, pictures, sp.csr_matrix(rel), np.arange(3)
    )
    n = len(PROFILE_WEIGHTS)
    np.testing.assert_allclose(got[0], [2 / 3] * n)
    np.testing.assert_array_equal(got[1], [0] + [1] * (n - 1))
    np.testing.assert_array_equal(got[2], [0] + [1] * (n - 1))


def test_a_fold_saved_without_the_counts_is_redone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_visual_cf_profile import _count_bpr_fits

    inter, iv = _shop(visual=True)
    params = {**AUTO, "epochs": 4}
    with _checkpoint.checkpointing(tmp_path, "k", every_s=3600, log=lambda _: None):
        whole = VisualCF(**params).fit(inter, iv)
    n = len(PROFILE_WEIGHTS)
    for k in (1, 2, 3):
        path = tmp_path / f"profile-fold-{k}.json"
        state = json.loads(path.read_text())
        assert len(state["values"]) == 3 * n
        state["values"] = state["values"][:n]  # as saved before: recall only
        path.write_text(json.dumps(state))
    fits = _count_bpr_fits(monkeypatch)
    with _checkpoint.checkpointing(tmp_path, "k", every_s=3600, log=lambda _: None):
        again = VisualCF(**params).fit(inter, iv)
    assert [f for f in fits if f.startswith("profile-fold")] == [
        "profile-fold-1",
        "profile-fold-2",
        "profile-fold-3",
    ]
    assert again.profile_validation_ == whole.profile_validation_
    assert again.profile_sign_ == whole.profile_sign_


def _one_item_each() -> tuple[Interactions, ItemVectors]:
    """600 items, 1,200 users of one item each: no user has a held-out item and another."""
    rng = np.random.default_rng(0)
    items = IdMap([f"i{i}" for i in range(600)])
    df = pd.DataFrame(
        {"user_id": [f"u{u}" for u in range(1200)], "item_id": [f"i{u % 600}" for u in range(1200)]}
    )
    vecs = rng.normal(size=(600, 8)).astype(np.float32)
    return Interactions.from_frame(df, item_map=items), ItemVectors(
        np.asarray(items.ids), vecs, np.ones(600, bool)
    )


ITEMS = "fewer than 500 items with interactions and an image"
USERS = "no user with a held-out item and another"


@pytest.mark.parametrize(
    ("data", "why"), [(checkerboard, ITEMS), (_one_item_each, USERS)], ids=["items", "users"]
)
def test_the_note_names_the_reason_no_validation_ran(tmp_path: Path, data: Any, why: str) -> None:
    model = VisualCF(**AUTO).fit(*data())
    want = (
        f"profile_weight=auto: no validation possible ({why}), so profile_weight=0: no taste term"
    )
    assert model.profile_validation_ == {} and model.profile_note() == want
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.profile_note() == want
    # saved before the reason was kept: both, as then
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["extra"]["profile_unvalidated"], meta["extra"]["profile_sign"]
    meta_path.write_text(json.dumps(meta))
    old = Recommender.load(tmp_path / "m")
    assert f"({ITEMS}, or {USERS})" in (old.profile_note() or "")


def test_counts_round_trip_and_a_damaged_one_is_refused(tmp_path: Path) -> None:
    inter, iv = _shop(visual=True)
    model = VisualCF(**{**AUTO, "epochs": 4}).fit(inter, iv)
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.profile_sign_ == model.profile_sign_
    assert loaded.chosen_profile_weight() == model.chosen_profile_weight()
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["extra"]["profile_sign"] = {"profile_weight=1": [3, -1]}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VisrecError, match="no usable profile_sign"):
        Recommender.load(tmp_path / "m")
