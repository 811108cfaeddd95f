"""The faster paths of `visrec recommend` at catalogue scale give the lists and scores
of the plain block path: popularity's one ranking, new items' picture terms worked out
once per candidate set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.models.base import Recommender
from visrec.models.candidates import CandidateSet, _lists_of_one_row, iter_recommendations
from visrec.models.popularity import Popularity
from visrec.models.vbpr import VBPR
from visrec.models.visual_cf import VisualCF


@pytest.mark.parametrize("n", [1, 5, 40])
def test_popularity_lists_from_one_ranking_equal_the_block_ranking(n: int) -> None:
    rng = np.random.default_rng(n)
    # ties (counts repeat), heavy and light users, excluded pairs
    users = rng.integers(0, 150, 900)
    items = np.minimum(rng.zipf(1.6, 900), 30) - 1
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in users], "item_id": [f"i{i}" for i in items]})
    # a user who has the 20 most popular items: their list starts after all of them
    counts = frame.drop_duplicates()["item_id"].value_counts(sort=False)
    top = sorted(counts.index, key=lambda i: (-counts[i], i))[:20]
    frame = pd.concat([pd.DataFrame({"user_id": "heavy", "item_id": top}), frame])
    model = Popularity().fit(Interactions.from_frame(frame.drop_duplicates()))
    model.exclude_pairs(np.array([0, 1, 1]), np.array([2, 0, 3]))
    n_items = len(model.item_map_)
    # known candidates in a shuffled order, some left out, plus two never seen
    known = rng.permutation(n_items)[: n_items - 3]
    cands = CandidateSet(
        raw_ids=np.array([*model.item_map_.ids[known], "new1", "new2"], dtype=object),
        known_idx=np.concatenate([known, [-1, -1]]),
        new_vectors=None,
        new_pos=np.zeros(0, dtype=np.int64),
    )
    asked = rng.permutation(len(model.user_map_))[:45]
    asked[3] = model.user_map_.to_index(["heavy"])[0]
    fast = list(_lists_of_one_row(model, cands, n, asked, 7))
    assert model.same_scores_for_every_user  # iter_recommendations takes that path
    model.same_scores_for_every_user = False  # type: ignore[misc]  # the block path
    block = list(iter_recommendations(model, cands, n, batch_users=11, users=asked))
    got = [np.concatenate([b[k] for b in fast]) for k in range(3)]
    want = [np.concatenate([b[k] for b in block]) for k in range(3)]
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])  # NaN pads where a list is short
    assert np.isneginf(got[2]).any() == (n == 40)  # the unscorable new items come last


def _pictures(n_items: int, d: int, seed: int) -> tuple[pd.DataFrame, ItemVectors]:
    rng = np.random.default_rng(seed)
    items = [f"i{i}" for i in range(n_items)]
    rows = [(f"u{u}", items[i]) for u in range(40) for i in rng.choice(n_items, 8, replace=False)]
    vecs = rng.normal(size=(n_items + 30, d)).astype(np.float32)
    ids = np.array([*items, *(f"new{k}" for k in range(30))], dtype=object)
    has = np.ones(len(ids), dtype=bool)
    has[-3:] = False  # new items without a photo: -inf
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return frame, ItemVectors(ids, vecs, has)


@pytest.mark.parametrize(
    "model",
    [
        VisualCF(epochs=3, random_state=0, profile_weight=1.0),
        VisualCF(epochs=3, random_state=0, profile_weight=0.0),
        VBPR(epochs=2, finetune_epochs=1, random_state=0),
    ],
    ids=["visual-cf+profile", "visual-cf", "vbpr"],
)
def test_new_items_scored_from_terms_worked_out_once(
    model: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, vectors = _pictures(25, 6, 1)
    model.fit(Interactions.from_frame(frame), vectors)
    new = ItemVectors(vectors.ids[25:], vectors.vectors[25:], vectors.has_image[25:])
    users = np.arange(len(model.user_map_))
    whole = model.score_new_items(users, new)
    terms = model.new_item_terms(new)
    np.testing.assert_array_equal(model.score_new_item_terms(users, terms), whole)
    assert np.isneginf(whole[:, -3:]).all() and np.isfinite(whole[:, :-3]).all()

    # recommend's blocks of users: the picture terms are worked out once, not per block
    calls = []
    real = type(model)._new_terms

    def counted(self: Recommender, v: np.ndarray) -> tuple[np.ndarray, ...]:
        calls.append(len(v))
        return real(self, v)  # type: ignore[arg-type]

    monkeypatch.setattr(type(model), "_new_terms", counted)
    cands = CandidateSet(
        raw_ids=new.ids,
        known_idx=np.full(len(new), -1),
        new_vectors=new.vectors[new.has_image],
        new_pos=np.flatnonzero(new.has_image),
    )
    lists = list(iter_recommendations(model, cands, 5, batch_users=7))
    assert len(lists) == -(-len(users) // 7) and calls == [len(new) - 3]
    top = np.concatenate([b[1] for b in lists])
    best = np.argsort(-np.where(np.isneginf(whole), -np.inf, whole), axis=1, kind="stable")[:, 0]
    assert (top[:, 0] == best).all()


class _ShiftedVisualCF(VisualCF):
    """A model written against the older extension point: ``_score_new`` alone."""

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return super()._score_new(user_idx, vectors) + 1000.0


class _PersonalPopularity(Popularity):
    """Popularity plus a per-user term: no longer one row for every user."""

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        s = super()._score(user_idx, item_idx)
        cols = np.arange(s.shape[1]) if item_idx is None else np.asarray(item_idx)
        return s + ((user_idx[:, None] * 7 + cols[None, :]) % 5).astype(np.float32)


def test_a_subclass_overriding_only_score_new_is_scored_through_it() -> None:
    frame, vectors = _pictures(25, 6, 2)
    model = _ShiftedVisualCF(epochs=3, random_state=0, profile_weight=0.0)
    model.fit(Interactions.from_frame(frame), vectors)
    plain = VisualCF(**model.get_params()).fit(Interactions.from_frame(frame), vectors)
    new = ItemVectors(vectors.ids[25:], vectors.vectors[25:], vectors.has_image[25:])
    users = np.arange(len(model.user_map_))
    shifted, base = model.score_new_items(users, new), plain.score_new_items(users, new)
    np.testing.assert_allclose(shifted[:, :-3], base[:, :-3] + 1000.0, rtol=1e-6)
    cands = CandidateSet(
        raw_ids=new.ids[:-3],
        known_idx=np.full(len(new) - 3, -1),
        new_vectors=new.vectors[:-3],
        new_pos=np.arange(len(new) - 3),
    )
    (_, _, val), *_ = list(iter_recommendations(model, cands, 3, batch_users=len(users)))
    assert (val > 900).all()


def test_a_popularity_subclass_with_a_user_term_keeps_the_block_path() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"user_id": [f"u{u}" for u in rng.integers(0, 20, 200)],
         "item_id": [f"i{i}" for i in rng.integers(0, 15, 200)]}
    )  # fmt: skip
    model = _PersonalPopularity().fit(Interactions.from_frame(frame.drop_duplicates()))
    n_items = len(model.item_map_)
    cands = CandidateSet(
        raw_ids=model.item_map_.ids.copy(),
        known_idx=np.arange(n_items),
        new_vectors=None,
        new_pos=np.zeros(0, dtype=np.int64),
    )
    lists = np.concatenate([b[1] for b in iter_recommendations(model, cands, 4, batch_users=6)])
    users = np.arange(len(model.user_map_))
    want, _ = model.recommend(users, n=4)
    np.testing.assert_array_equal(lists, want)
    assert len({tuple(r) for r in lists}) > 1  # the users' lists differ
