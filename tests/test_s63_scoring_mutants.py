"""evaluate_model (visrec.evaluation.model_scoring) pinned where a session 63 mutation
audit found no test holding it.

Audited: evaluate_model and its helpers (_integer, _check_k, _check_batch_size,
_check_types, _check_exclude, _check_usable, _check_no_nan, _excluded_pairs,
_pairs_matrix, _check_fitted_on). 55 mutants in all; 40 killed by the earlier tests,
49 with these; 6 equivalent:

- k_list = k, or min(k, n_cand) without max(.., 1): metrics.top_k clamps k to the
  candidates itself, and n_cand = 0 means no test row, so no user is scored;
- no extra.eliminate_zeros(): an explicit zero of the mask reads False in astype(bool);
- no "m.data[:] = 1.0" in _pairs_matrix: a repeated pair sums to 2, read as a boolean
  (and 2 - 2 * 1 is 0 for a test positive);
- "if n_cand and listed" -> "if listed": no candidate means no test user, no list;
- calling new_item_scorer when no candidate has a picture: every model scores an empty
  block to an empty block (the guard only spares the call).

Also held here beyond the mutants: the hand-computed figures of a tiny warm split with
and without excluded pairs, and an empty test split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import ArgumentTypeError, VisrecError
from visrec.evaluation.model_scoring import _excluded_pairs
from visrec.evaluation.protocols import Split
from visrec.evaluation.runner import evaluate_model
from visrec.models.popularity import Popularity

ITEMS = ["i0", "i1", "i2", "i3", "i4"]


def _warm() -> Split:
    # a: trained on i0, tested on i1; b: trained on i1, tested on i2 and i3; c: trained
    # on i2 and i4, tested on i0 (every item is a candidate of the warm split)
    train = Interactions.from_frame(
        pd.DataFrame({"user_id": ["a", "b", "c", "c"], "item_id": ["i0", "i1", "i2", "i4"]}),
        user_map=IdMap(np.array(["a", "b", "c"], dtype=object)),
        item_map=IdMap(np.array(ITEMS, dtype=object)),
    )
    test = Interactions.from_frame(
        pd.DataFrame({"user_id": ["a", "b", "b", "c"], "item_id": ["i1", "i2", "i3", "i0"]}),
        user_map=train.user_map,
        item_map=train.item_map,
    )
    return Split(protocol="warm", train=train, test=test)


class _Fixed(Popularity):
    """Scores user u's items by the row u of a fixed matrix (its own per-user order)."""

    def __init__(self, table: np.ndarray | None = None) -> None:
        self.table = table

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        assert self.table is not None
        s: np.ndarray = self.table[np.asarray(user_idx)].astype(np.float32)
        return s if item_idx is None else s[:, item_idx]


# the same ranking for everyone, i4 > i3 > i2 > i1 > i0
_DESC = np.tile(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32), (3, 1))


def _fixed(split: Split, table: np.ndarray = _DESC) -> _Fixed:
    return _Fixed(table).fit(split.train)


def test_a_bool_k_is_refused_as_no_integer() -> None:
    # kills _integer dropping "not isinstance(value, bool)": True would be k = 1
    split = _warm()
    with pytest.raises(ArgumentTypeError, match=r"^k must be an integer, got True$"):
        evaluate_model(_fixed(split), split, k=True)


@pytest.mark.parametrize("batch_size", [2.0, "2"])
def test_a_batch_size_of_another_type_is_named(batch_size: Any) -> None:
    # kills dropping _integer(batch_size): 2.0 failed in range() with Python's words and
    # "2" in the comparison, neither naming batch_size
    split = _warm()
    with pytest.raises(ArgumentTypeError, match=r"^batch_size must be an integer, got "):
        evaluate_model(_fixed(split), split, batch_size=batch_size)


class _Pictures(_Fixed):
    """Scores a new item by its vector's first coordinate, the same for every user."""

    scores_new_items = True

    def check_vector_meta(self, meta: Any) -> None:
        pass

    def new_item_scorer(self, vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda u: np.tile(vectors[:, 0].astype(np.float32), (len(u), 1))


def _cold() -> Split:
    train = Interactions.from_frame(
        pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["t0", "t1", "t0"]})
    )
    test = Interactions.from_frame(
        pd.DataFrame({"user_id": ["a", "b"], "item_id": ["c0", "c1"]}),
        user_map=train.user_map,
        item_map=IdMap(np.array(["c0", "c1", "c2"], dtype=object)),
    )
    return Split(protocol="cold-items", train=train, test=test)


def test_a_model_scoring_pictures_needs_no_vectors_on_a_warm_split() -> None:
    # kills "split.cold and model.scores_new_items" -> "model.scores_new_items": a warm
    # split's candidates are the model's own items, scored without new vectors
    split = _warm()
    got = evaluate_model(_Pictures(_DESC).fit(split.train), split, k=2)
    assert got == {**evaluate_model(_fixed(split), split, k=2), "score_s": got["score_s"]}


def test_cold_items_without_vectors_for_a_picture_model_are_refused_in_words() -> None:
    # kills dropping "if item_vectors is None: raise": None.meta, an AttributeError
    split = _cold()
    with pytest.raises(
        VisrecError,
        match=r"^model 'popularity' scores cold items from image vectors: pass item vectors$",
    ):
        evaluate_model(_Pictures().fit(split.train), split, k=2)


def test_the_figures_of_a_hand_ranked_warm_split() -> None:
    # i4 > i3 > i2 > i1 > i0 for everyone, k = 2, training items left out:
    # a (trained i0, tests i1): top [i4, i3], no hit; AUC: i1 below i2, i3, i4 -> 0
    # b (trained i1, tests i2, i3): top [i4, i3], one hit at rank 2: recall 1/2, NDCG
    #   (1/log2 3) / (1 + 1/log2 3); AUC: i2, i3 each beat i0, not i4 -> 2/4
    # c (trained i2, i4, tests i0): top [i3, i1], no hit; AUC 0
    # coverage: i4, i3, i1 listed of 5 candidates
    split = _warm()
    g = 1 / np.log2(3)
    want = {"auc": 0.5 / 3, "recall": 0.5 / 3, "ndcg": g / (1 + g) / 3, "hit_rate": 1 / 3}
    for batch_size in (1, 2, 512):  # kills the users' ranges off by one
        got = evaluate_model(_fixed(split), split, k=2, batch_size=batch_size)
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-12), (batch_size, key)
        assert got["coverage"] == 3 / 5
        assert (got["n_test_users"], got["n_candidates"]) == (3.0, 5.0)


def test_items_of_one_picture_get_their_own_shared_score() -> None:
    # kills reading the distinct vectors' scores in another order: c0 and c2 share a
    # vector scored 1, c1's is scored 2. Top-1 is c1 for both users: b's hit, a's miss;
    # AUC: a's c0 loses to c1 and ties c2 (1/4), b's c1 beats both (1)
    split = _cold()
    iv = ItemVectors(
        ids=np.array(["c0", "c1", "c2"]),
        vectors=np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0]], dtype=np.float32),
        has_image=np.array([True, True, True]),
        meta={"backbone": "test"},
    )
    got = evaluate_model(_Pictures().fit(split.train), split, k=1, item_vectors=iv)
    assert (got["recall"], got["hit_rate"], got["auc"]) == (0.5, 0.5, 0.625)
    assert got["coverage"] == 1 / 3


def test_a_split_without_test_rows_gives_no_figures_not_zeros() -> None:
    # kills "else float('nan')" -> 0.0 for the means and for coverage
    split = _warm()
    empty = Interactions.from_frame(
        pd.DataFrame({"user_id": [], "item_id": []}, dtype=object),
        user_map=split.train.user_map,
        item_map=split.train.item_map,
    )
    got = evaluate_model(_fixed(split), Split("warm", split.train, empty), k=2)
    for key in ("auc", "recall", "ndcg", "hit_rate", "coverage"):
        assert np.isnan(got[key]), key
    assert (got["n_test_users"], got["n_candidates"]) == (0.0, 5.0)


def test_scores_held_as_python_numbers_are_scored_as_floats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kills dropping the dtype guard before np.isnan: an object array of numbers (the
    # metrics read it as float64) raised numpy's TypeError instead
    split = _warm()
    model = _fixed(split)
    plain = evaluate_model(model, split, k=2)
    table = _DESC.astype(object)
    monkeypatch.setattr(model, "score", lambda u, item_idx=None: table[u])
    got = evaluate_model(model, split, k=2)
    assert {**got, "score_s": 0} == {**plain, "score_s": 0}


def test_excluded_pairs_change_the_figures_as_by_hand() -> None:
    # on the hand-ranked split (see above), exclude (c, i3), (b, i0) and (a, i1):
    # a's i1 is a test positive and stays one: no change for a;
    # b: i0 no longer a negative: AUC 0 (i2 and i3 lose to i4), top still [i4, i3];
    # c: i3 left out besides i2, i4: top [i1, i0], a hit at rank 2: recall 1, NDCG 1/log2 3
    split = _warm()
    exclude = pd.DataFrame({"user_id": ["c", "b", "a"], "item_id": ["i3", "i0", "i1"]})
    got = evaluate_model(_fixed(split), split, k=2, exclude=exclude)
    g = 1 / np.log2(3)
    assert got["auc"] == 0.0
    assert got["recall"] == pytest.approx(1.5 / 3, rel=1e-12)
    assert got["ndcg"] == pytest.approx((g / (1 + g) + g) / 3, rel=1e-12)
    assert got["hit_rate"] == pytest.approx(2 / 3, rel=1e-12)
    assert got["coverage"] == 4 / 5


def test_an_empty_exclude_frame_needs_no_columns() -> None:
    # kills checking the columns of an empty frame: it excludes nothing, columns or not
    split = _warm()
    got = evaluate_model(_fixed(split), split, k=2, exclude=pd.DataFrame())
    plain = evaluate_model(_fixed(split), split, k=2)
    assert {**got, "score_s": 0} == {**plain, "score_s": 0}


def test_an_unfitted_model_is_refused_as_not_fitted() -> None:
    # kills dropping model._check_fitted(): an AttributeError on user_map_ instead
    split = _warm()
    with pytest.raises(VisrecError, match=r"^_Fixed is not fitted yet: call fit\(\) first$"):
        evaluate_model(_Fixed(_DESC), split, k=2)


def test_excluded_pairs_are_distinct_text_pairs_and_none_on_cold_items() -> None:
    # kills dropping known_at_test (a cold-items split excludes nothing: who rates a new
    # item low is the future) and dropping drop_duplicates (the runner's warm_known draws
    # each row once: a repeated pair was kept for training more often than the rest)
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 20]})
    exclude = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [20, 20, 10]})
    warm = _excluded_pairs(exclude, frame, "warm")
    assert warm is not None
    assert warm.to_dict("list") == {"user_id": ["1", "2"], "item_id": ["20", "10"]}
    cold = _excluded_pairs(exclude, frame, "cold-items")
    assert cold is not None and len(cold) == 0
    assert _excluded_pairs(None, frame, "warm") is None


def test_a_model_fitted_on_other_user_ids_of_the_same_shape_is_refused() -> None:
    # kills dropping "model.user_map_ == train.user_map": the same items and the same
    # pattern of pairs, but every user renamed, so its score rows are other users
    split = _warm()
    frame = split.train.to_frame()
    frame["user_id"] = frame["user_id"].astype(str) + "-other"
    users = IdMap(np.array(["a-other", "b-other", "c-other"], dtype=object))
    renamed = Interactions.from_frame(frame, user_map=users, item_map=split.train.item_map)
    other = _Fixed(_DESC).fit(renamed)
    assert (other.seen_ != split.train.to_csr("binary")).nnz == 0
    with pytest.raises(VisrecError, match="was not fitted on this split's training rows"):
        evaluate_model(other, split, k=2)


def test_a_model_fitted_on_as_many_other_pairs_of_the_same_ids_is_refused() -> None:
    # kills "(model.seen_ != rows).nnz == 0" -> "model.seen_.nnz == rows.nnz": another
    # seed's split of the same users and items holds as many pairs, but other ones
    split = _warm()
    frame = split.train.to_frame()
    frame.loc[frame["user_id"] == "a", "item_id"] = "i3"  # a trained on i3, not i0
    moved = Interactions.from_frame(
        frame, user_map=split.train.user_map, item_map=split.train.item_map
    )
    other = _Fixed(_DESC).fit(moved)
    assert other.seen_.nnz == split.train.to_csr("binary").nnz
    with pytest.raises(VisrecError, match="was not fitted on this split's training rows"):
        evaluate_model(other, split, k=2)
