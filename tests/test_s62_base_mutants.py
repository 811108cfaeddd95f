"""Mutation audit of ``visrec.models.base`` (the shared ``Recommender``): fit's checks,
the id-index checks, ``score``, ``recommend`` (training items left out, candidates,
padding, ties), ``exclude_pairs``, ``score_new_items`` / ``new_item_terms`` (the
``has_image`` mask) and ``similar_items``.

The tests run a tiny model of fixed scores (``_Table``), so every list is known.

Mutant counts: 62 in all; killed before 19 (by test_models.py, test_top_n.py,
test_s49_scoring_mutants.py, test_s50_recommend_mutants.py, test_similar.py: other files
were not run, so a few counted as survivors, exclude_pairs' say, may die there); killed
after 60 (these tests kill every one but the 3 the files above kill and the 2 below);
equivalent 2:

* re-applying the zero-row check to an ``ItemVectors``' mask: ``ItemVectors`` already
  clears ``has_image`` on rows of zeros when it is built, and it is frozen;
* one user more per ``recommend`` block: blocks only bound memory, each user's list is
  worked out alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models.base import Recommender

# users x items; user 0 saw items 0 and 3, user 1 item 4, user 2 nothing of these five
TABLE = np.array(
    [
        [9.0, 5.0, 5.0, 8.0, 1.0, 2.0],
        [3.0, 3.0, 7.0, 1.0, 9.0, 3.0],
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    ],
    dtype=np.float32,
)
SEEN = [("u0", "i0"), ("u0", "i3"), ("u1", "i4"), ("u2", "i5")]


class _Table(Recommender):
    """Scores a user's item from ``TABLE``; a new item by the sum of its vector times
    (user index + 1); item embeddings are ``EMB``."""

    name = "table-test"
    uses_vectors = False
    scores_new_items = True
    EMB: ClassVar[np.ndarray] = np.array(
        [[1, 0], [2, 0.1], [0, 1], [0, 3], [1, 1], [-1, 0]], dtype=np.float64
    )

    def __init__(self, lr: float = 0.1, verbose: bool = False) -> None:
        self.lr = lr
        self.verbose = verbose

    def _fit(self, interactions: Any, vectors: Any, has_image: Any) -> None:
        self.table_ = TABLE.copy()

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        out: np.ndarray = self.table_[user_idx].astype(np.float64)  # score() makes float32
        return out

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        out: np.ndarray = (user_idx[:, None] + 1.0) * vectors.sum(axis=1)[None, :]
        return out

    def vector_dim(self) -> int:
        return 2

    def _item_embeddings(self) -> np.ndarray:
        return self.EMB


def _inter() -> Interactions:
    df = pd.DataFrame(SEEN, columns=["user_id", "item_id"])
    return Interactions.from_frame(
        df,
        user_map=IdMap(np.array(["u0", "u1", "u2"])),
        item_map=IdMap(np.array([f"i{k}" for k in range(6)])),
    )


@pytest.fixture()
def model() -> _Table:
    return _Table().fit(_inter())


# ------------------------------------------------------------------ recommend


def test_recommend_leaves_out_training_items_and_breaks_ties_by_lower_index(
    model: _Table,
) -> None:
    ids, scores = model.recommend([0, 1], n=3)
    # user 0: 0 and 3 seen; 1 and 2 tie at 5 -> 1 first
    np.testing.assert_array_equal(ids, [[1, 2, 5], [2, 0, 1]])
    np.testing.assert_array_equal(scores, [[5, 5, 2], [7, 3, 3]])
    assert scores.dtype == np.float64


def test_recommend_with_filter_seen_false_keeps_them(model: _Table) -> None:
    ids, _ = model.recommend(0, n=2, filter_seen=False)
    np.testing.assert_array_equal(ids, [[0, 3]])


def test_recommend_pads_past_the_candidates_with_minus_one(model: _Table) -> None:
    ids, scores = model.recommend(0, n=10)
    # width is the catalogue's (6), not n; 4 unseen items, then padding
    assert ids.shape == (1, 6)
    np.testing.assert_array_equal(ids, [[1, 2, 5, 4, -1, -1]])
    assert np.isneginf(scores[0, 4:]).all()


def test_recommend_over_candidates(model: _Table) -> None:
    # duplicates taken once; a seen candidate (3) is left out; padded to min(n, n_items)
    ids, scores = model.recommend([0, 1], n=4, items=[5, 3, 1, 5])
    np.testing.assert_array_equal(ids, [[1, 5, -1, -1], [1, 5, 3, -1]])
    np.testing.assert_array_equal(scores[0, :2], [5, 2])
    np.testing.assert_array_equal(scores[1, :3], [3, 3, 1])
    assert np.isneginf(scores[0, 2:]).all() and np.isneginf(scores[1, 3])
    # more asked than the catalogue holds: the width is still the catalogue's
    ids, scores = model.recommend(2, n=50, items=[1, 2])
    np.testing.assert_array_equal(ids, [[2, 1, -1, -1, -1, -1]])
    assert np.isneginf(scores[0, 2:]).all()


def test_recommend_over_candidate_zero_of_a_user_who_saw_it(model: _Table) -> None:
    # candidate column 0 is item 2; user 1 saw item 4 (no candidate), user 0 saw 0 and 3
    ids, _ = model.recommend([0, 1], n=2, items=[2, 0])
    np.testing.assert_array_equal(ids, [[2, -1], [2, 0]])


def test_recommend_for_no_users_has_the_list_width(model: _Table) -> None:
    ids, scores = model.recommend([], n=3)
    assert ids.shape == (0, 3) and scores.shape == (0, 3)
    ids, _ = model.recommend([], n=50)
    assert ids.shape == (0, 6)


def test_recommend_refuses_a_filter_seen_that_is_no_bool(model: _Table) -> None:
    with pytest.raises(VisrecError, match="filter_seen must be True or False, got 'no'"):
        model.recommend(0, filter_seen="no")  # type: ignore[arg-type]


# ------------------------------------------------------------------ unknown indices


@pytest.mark.parametrize("bad", [3, -1])
def test_unknown_user_index_is_named(model: _Table, bad: int) -> None:
    with pytest.raises(VisrecError, match=rf"unknown user index {bad} \(model has 3 users\)"):
        model.recommend([0, bad])
    with pytest.raises(VisrecError, match=rf"unknown user index {bad} "):
        model.score([bad])


def test_first_unknown_user_is_named(model: _Table) -> None:
    with pytest.raises(VisrecError, match="unknown user index 7 "):
        model.score([0, 7, 9])


@pytest.mark.parametrize("bad", [6, -1])
def test_unknown_item_index_is_named(model: _Table, bad: int) -> None:
    with pytest.raises(VisrecError, match=rf"unknown item index {bad} \(model has 6 items\)"):
        model.score(0, [1, bad])
    with pytest.raises(VisrecError, match=rf"unknown item index {bad} "):
        model.recommend(0, items=[bad])


def test_first_unknown_item_is_named(model: _Table) -> None:
    with pytest.raises(VisrecError, match="unknown item index 8 "):
        model.score(0, [0, 8, 9])


def test_score_of_some_items_is_float32_columns(model: _Table) -> None:
    s = model.score([2, 0], [5, 1])
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, [[6, 2], [2, 5]])


# ------------------------------------------------------------------ exclude_pairs


def test_exclude_pairs_counts_only_new_pairs_and_blocks_them(model: _Table) -> None:
    # (0, 0) is a training pair, (1, 2) new, given twice
    assert model.exclude_pairs([0, 1, 1], [0, 2, 2]) == 1
    assert model.exclude_pairs([1], [2]) == 0
    ids, _ = model.recommend(1, n=2)
    np.testing.assert_array_equal(ids, [[0, 1]])
    # excluded_ holds the extra pair only, not the training pairs
    assert model.excluded_ is not None
    assert model.excluded_.nnz == 1


def test_exclude_pairs_needs_as_many_users_as_items(model: _Table) -> None:
    with pytest.raises(VisrecError, match="as many users as items, got 2 and 1"):
        model.exclude_pairs([0, 1], [2])


# ------------------------------------------------------------------ new items


def test_new_items_without_image_or_zero_rows_score_minus_inf(model: _Table) -> None:
    v = np.array([[1, 2], [0, 0], [3, 0]], dtype=np.float32)
    s = model.score_new_items([0, 1], v, has_image=[True, True, False])
    np.testing.assert_array_equal(s[:, 0], [3, 6])
    assert np.isneginf(s[:, 1:]).all()


def test_new_items_flags_must_be_one_per_row(model: _Table) -> None:
    v = np.ones((3, 2), dtype=np.float32)
    with pytest.raises(VisrecError, match=r"has_image must have shape \(3,\).*got shape \(2,\)"):
        model.score_new_items(0, v, has_image=[True, False])


def test_new_items_broken_row_without_image_is_fine(model: _Table) -> None:
    v = np.array([[np.nan, 1], [1, 1], [np.inf, 0]], dtype=np.float32)
    s = model.score_new_items(0, v, has_image=[False, True, False])
    np.testing.assert_array_equal(s[0], [-np.inf, 2, -np.inf])
    with pytest.raises(VisrecError, match=r"vectors row 2 holds .*\(1 row in all\)"):
        model.score_new_items(0, v, has_image=[False, True, True])


def test_new_items_rows_without_image_reach_the_model_as_zeros(model: _Table) -> None:
    seen: list[np.ndarray] = []

    def spy(user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        seen.append(vectors.copy())
        return np.zeros((len(user_idx), len(vectors)))

    model._score_new = spy  # type: ignore[method-assign]
    v = np.array([[np.nan, 1], [1, 1]], dtype=np.float32)
    model.score_new_items(0, v, has_image=[False, True])
    np.testing.assert_array_equal(seen[0], [[0, 0], [1, 1]])


def test_new_items_from_item_vectors_bring_their_mask(model: _Table) -> None:
    iv = ItemVectors(
        ids=np.array(["n0", "n1"]),
        vectors=np.array([[1, 1], [2, 2]], dtype=np.float32),
        has_image=np.array([False, True]),
        meta={"backbone": "test"},
    )
    s = model.score_new_items(1, iv)
    np.testing.assert_array_equal(s, [[-np.inf, 8]])
    with pytest.raises(VisrecError, match="has_image comes with the ItemVectors"):
        model.score_new_items(1, iv, has_image=[True, True])


def test_new_items_refuse_a_path_and_a_wrong_width(model: _Table) -> None:
    with pytest.raises(VisrecError, match=r"got the path 'v\.npz'"):
        model.score_new_items(0, "v.npz")
    with pytest.raises(VisrecError, match="dimension 3, the model was trained on 2-d"):
        model.score_new_items(0, np.ones((1, 3), dtype=np.float32))
    with pytest.raises(VisrecError, match=r"got \(2,\) \(one vector: pass vectors\[None, :\]\)"):
        model.score_new_items(0, np.ones(2, dtype=np.float32))


# ------------------------------------------------------------------ fit checks


class _Diverges(_Table):
    """Leaves NaN in a learned array named by ``ATTR``."""

    uses_vectors = True
    ATTR: ClassVar[str] = "item_factors_"

    def _fit(self, interactions: Any, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        setattr(self, self.ATTR, np.array([1.0, np.nan]))

    @property
    def _array_attrs(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.ATTR,)


def _vectors(rows: dict[str, list[float]]) -> ItemVectors:
    ids = list(rows)
    return ItemVectors(
        ids=np.array(ids),
        vectors=np.array([rows[i] for i in ids], dtype=np.float32),
        has_image=np.ones(len(ids), dtype=bool),
        meta={"backbone": "test"},
    )


@pytest.mark.parametrize(
    ("attr", "fix"),
    [("item_factors_", "lower lr or raise reg"), ("profile_", "lower profile_weight")],
)
def test_a_fit_leaving_nan_in_an_array_is_refused(attr: str, fix: str) -> None:
    class M(_Diverges):
        ATTR = attr

    good = _vectors({f"i{k}": [1.0, float(k)] for k in range(6)})
    with pytest.raises(VisrecError, match=rf"fit diverged \({attr} holds .*\); {fix}$"):
        M().fit(_inter(), good)


def test_broken_training_vectors_are_counted_among_training_items_only() -> None:
    rows = {f"i{k}": [1.0, float(k)] for k in range(6)}
    rows["i2"] = [np.nan, 0.0]
    rows["i4"] = [np.inf, 0.0]
    rows["other"] = [np.nan, 1.0]  # not a training item: not counted
    with pytest.raises(VisrecError, match=r"item 'i2' holds .*\(2 items in all\)"):
        _Diverges().fit(_inter(), _vectors(rows))


# ------------------------------------------------------------------ similar_items


def test_similar_items_by_cosine_without_the_item_itself(model: _Table) -> None:
    ids, sims = model.similar_items([0, 3], n=2)
    # item 0 (1, 0): item 1 (2, 0.1) is nearly parallel, then 4 (1, 1); item 3 (0, 3): 2
    np.testing.assert_array_equal(ids, [[1, 4], [2, 4]])
    np.testing.assert_allclose(sims[1], [1.0, np.sqrt(0.5)])
    assert sims[0, 0] < 1.0


def test_similar_items_never_lists_or_queries_unscorable_items(model: _Table) -> None:
    scorable = np.array([True, False, True, True, True, True])
    model._scorable_items = lambda: scorable  # type: ignore[method-assign]
    ids, _ = model.similar_items([0, 1], n=2)
    np.testing.assert_array_equal(ids, [[4, 2], [-1, -1]])


# ------------------------------------------------------------------ fitted params


def test_scoring_reads_the_fitted_params_and_save_refuses_changed_ones(model: _Table) -> None:
    model.set_params(lr=0.5)
    assert model.fitted_param("lr") == 0.1
    with pytest.raises(VisrecError, match=r"set_params changed lr 0.1 -> 0.5 after the fit"):
        model.check_params_unchanged()


def test_params_set_back_or_verbose_are_no_change(model: _Table) -> None:
    model.set_params(lr=float("0.1"), verbose=True)  # an equal float, another object
    model.check_params_unchanged()


# ------------------------------------------------------------------ vectors' backbone


class _Looks(_Table):
    uses_vectors = True


def _fitted_on(meta: dict[str, Any]) -> _Looks:
    iv = _vectors({f"i{k}": [1.0, float(k)] for k in range(6)})
    iv = ItemVectors(ids=iv.ids, vectors=iv.vectors, has_image=iv.has_image, meta=meta)
    return _Looks().fit(_inter(), iv)


def _new(meta: dict[str, Any]) -> ItemVectors:
    return ItemVectors(
        ids=np.array(["n0"]),
        vectors=np.array([[1, 2]], dtype=np.float32),
        has_image=np.array([True]),
        meta=meta,
    )


def test_new_item_vectors_of_another_backbone_are_refused() -> None:
    m = _fitted_on({"backbone": "test"})
    np.testing.assert_array_equal(m.score_new_items(0, _new({"backbone": "test"})), [[3]])
    with pytest.raises(VisrecError, match="from 'other', the model was trained on 'test'"):
        m.score_new_items(0, _new({"backbone": "other"}))


def test_new_item_vectors_of_other_weights_are_refused() -> None:
    m = _fitted_on({"backbone": "test", "weights_id": "a.pt:abc"})
    m.score_new_items(0, _new({"backbone": "test", "weights_id": "b.pt:abc"}))
    with pytest.raises(VisrecError, match=r"other weights or preprocessing.*'a\.pt:abc' vs"):
        m.score_new_items(0, _new({"backbone": "test", "weights_id": "a.pt:xyz"}))


def test_similar_items_of_no_items_is_an_empty_list(model: _Table) -> None:
    ids, sims = model.similar_items([], n=2)
    assert ids.shape == (0, 2) and sims.shape == (0, 2)


# ------------------------------------------------------------------ new-item extension points


class _Split(_Table):
    """Scores new items in two steps, the pictures' part counted."""

    def _new_terms(self, vectors: np.ndarray) -> tuple[np.ndarray, ...]:
        self.term_calls = getattr(self, "term_calls", 0) + 1
        return (vectors.sum(axis=1),)

    def _score_terms(self, user_idx: np.ndarray, terms: tuple[np.ndarray, ...]) -> np.ndarray:
        out: np.ndarray = (user_idx[:, None] + 1.0) * terms[0][None, :]
        return out

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return np.full((len(user_idx), len(vectors)), -5.0)  # the split one is meant


def test_the_pictures_part_of_new_items_is_worked_out_once_for_all_blocks() -> None:
    m = _Split().fit(_inter())
    v = np.array([[1, 2], [0, 1]], dtype=np.float32)
    score = m.new_item_scorer(v)
    np.testing.assert_array_equal(score(np.array([0])), [[3, 1]])
    np.testing.assert_array_equal(score(np.array([1, 2])), [[6, 2], [9, 3]])
    assert m.term_calls == 1


def test_a_score_new_set_on_the_instance_is_what_scores() -> None:
    m = _Split().fit(_inter())
    m._score_new = lambda u, v: np.full((len(u), len(v)), 4.0)  # type: ignore[method-assign,assignment]
    np.testing.assert_array_equal(m.score_new_items(0, np.ones((1, 2))), [[4]])


def test_a_score_new_items_set_on_the_instance_is_called_per_block(model: _Table) -> None:
    calls: list[int] = []

    def own(user_idx: Any, vectors: Any, has_image: Any = None) -> np.ndarray:
        calls.append(len(user_idx))
        return np.zeros((len(user_idx), len(vectors)), dtype=np.float32)

    model.score_new_items = own  # type: ignore[method-assign]
    score = model.new_item_scorer(np.ones((3, 2), dtype=np.float32))
    score(np.array([0, 1]))
    assert calls == [2]
