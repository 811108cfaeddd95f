"""Session 60 mutation audit of ``visrec.models.candidates`` (ranking a candidate list for
``visrec recommend``) and ``visrec.models.base`` (the shared ``Recommender``: fit checks,
score / recommend, training items left out, candidate restriction, unknown ids, items
known only by a vector).

63 hand-written mutants: 45 killed by the existing tests, 12 killed by the tests below,
6 equivalent (see the session's report). Each test names the mutant it
kills. Popularity (no PyTorch) serves every test.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import NotFittedError, VisrecError
from visrec.models.base import Recommender
from visrec.models.candidates import CandidateSet, iter_recommendations, tie_seed
from visrec.models.popularity import Popularity


def _popularity() -> Popularity:
    """Users u0..u5, items i0..i6: u takes i(u), i(u+1), i(u+2) mod 7; counts 1..3."""
    rows = [(f"u{u}", f"i{(u + k) % 7}") for u in range(6) for k in range(3)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return Popularity().fit(Interactions.from_frame(frame))


def _all_known(model: Popularity) -> CandidateSet:
    c = len(model.item_map_)
    raw = np.asarray(model.item_map_.to_list(), dtype=object)
    return CandidateSet(raw, np.arange(c, dtype=np.int64), None, np.zeros(0, dtype=np.int64))


def test_a_scorer_set_on_the_instance_gives_each_user_their_own_list() -> None:
    # kills: _one_row_for_all without its `name in vars(model)` check: a popularity model
    # whose `score` was replaced on the instance (per-user scores) took the one-ranking
    # path, and every user got the first user's list
    model = _popularity()
    n_items = len(model.item_map_)

    def per_user(user_idx: object, item_idx: object = None) -> np.ndarray:
        u = np.atleast_1d(np.asarray(user_idx))
        s: np.ndarray = -np.abs(np.arange(n_items)[None, :] - (u[:, None] + 3) % n_items)
        s = s.astype(np.float32)
        return s if item_idx is None else s[:, np.asarray(item_idx)]

    model.score = per_user  # type: ignore[method-assign]
    ((users, pos, _),) = list(iter_recommendations(model, _all_known(model), 1))
    # each user's best is item (u + 3) % 7, which is none of their training items
    assert pos[:, 0].tolist() == [(u + 3) % n_items for u in users.tolist()]


def test_no_users_give_no_lists_for_a_model_that_scores_every_user_alike() -> None:
    # kills: _lists_of_one_row without `if not len(users): return` (IndexError on the
    # first user's score row); `visrec recommend` resumed after its last user asks so
    model = _popularity()
    got = list(iter_recommendations(model, _all_known(model), 3, users=np.zeros(0, np.int64)))
    assert got == []


def test_recommend_for_users_who_are_all_new_gives_the_popular_lists(
    popularity_dir: Path, tmp_path: Path
) -> None:
    # kills: the same mutant, through `visrec recommend --users` where no user is known
    users = tmp_path / "users.txt"
    users.write_text("zed\nabe\n")
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(popularity_dir), "--n", "2", "-o", str(out), "--quiet"]
    assert main([*argv, "--users", str(users), "--unknown-users", "popular"]) == 0
    recs = pd.read_csv(out, dtype=str)
    assert recs["user_id"].tolist() == ["zed", "zed", "abe", "abe"]


def test_a_user_index_one_past_the_last_is_unknown() -> None:
    # kills: _check_users with `u > len(user_map_)`: popularity's scores ignore the user,
    # so index n_users was scored as if it were a user
    model = _popularity()
    n_users = len(model.user_map_)
    with pytest.raises(VisrecError, match=f"unknown user index {n_users} \\(model has 6 users"):
        model.score(n_users)
    with pytest.raises(VisrecError, match="unknown user index"):
        model.recommend([0, n_users], n=2)


def test_no_users_give_lists_as_wide_as_the_catalogue_allows() -> None:
    # kills: recommend's empty-users return with `np.empty((0, n))`: width n, not
    # min(n, n_items) as for any other user list
    model = _popularity()
    ids, scores = model.recommend(np.zeros(0, dtype=np.int64), n=50)
    assert ids.shape == scores.shape == (0, 7)
    assert model.recommend([0], n=50)[0].shape == (1, 7)


def test_exclude_pairs_counts_only_pairs_not_excluded_before() -> None:
    # kills: exclude_pairs counting against the training pairs alone
    # (`merged.nnz - self.seen_.nnz`): a pair excluded twice was counted twice
    model = _popularity()
    i5 = int(model.item_map_.to_index(["i5"])[0])  # u0 took i0, i1, i2
    i0 = int(model.item_map_.to_index(["i0"])[0])
    assert model.exclude_pairs([0], [i5]) == 1
    assert model.exclude_pairs([0, 0], [i5, i0]) == 0  # excluded already; a training pair
    assert i5 not in model.recommend(0, n=7)[0].tolist()


def test_exclude_pairs_of_unequal_lengths_is_refused_in_one_line() -> None:
    # kills: exclude_pairs without its length check (scipy's own error, or a wrong pair)
    model = _popularity()
    with pytest.raises(VisrecError, match="as many users as items, got 2 and 1"):
        model.exclude_pairs([0, 1], [3])


class _Float64Scores(Popularity):
    """Popularity whose ``_score`` hands back float64, as a user's own subclass may."""

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return super()._score(user_idx, item_idx).astype(np.float64)


def test_score_is_float32_whatever_the_model_computes_in() -> None:
    # kills: score without `dtype=np.float32` (the documented return type)
    rows = [("a", "x"), ("a", "y"), ("b", "x")]
    model = _Float64Scores().fit(
        Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    )
    assert model.score([0, 1]).dtype == np.float32
    assert model.score(0, [1]).dtype == np.float32


@pytest.mark.parametrize("as_path", [False, True])
def test_a_path_for_vectors_is_refused_naming_read_vectors(tmp_path: Path, as_path: bool) -> None:
    # kills: new_item_terms without its str / PathLike check (the path read as an array)
    model = _popularity()
    path = tmp_path / "v.parquet"
    with pytest.raises(VisrecError, match=r"visrec\.read_vectors\(path\).*the path"):
        model.score_new_items(0, path if as_path else str(path))  # type: ignore[arg-type]


def test_one_vector_is_refused_with_the_hint_to_add_an_axis() -> None:
    # kills: _check_vector_shape without the 1-D hint
    model = _popularity()
    with pytest.raises(VisrecError, match=r"got \(4,\) \(one vector: pass vectors\[None, :\]\)"):
        model.new_item_terms(np.ones(4, dtype=np.float32))
    with pytest.raises(VisrecError, match=r"shape \(m, d\).*got \(1, 1, 4\)$"):
        model.new_item_terms(np.ones((1, 1, 4), dtype=np.float32))


def test_vectors_that_name_no_backbone_are_not_refused() -> None:
    # kills: check_vector_meta refusing vectors whose meta names no backbone
    # (`if mine and mine != theirs`): a file made outside `visrec embed` says none
    rows = [("a", "x"), ("a", "y"), ("b", "x")]
    inter = Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    vecs = ItemVectors(
        np.asarray(["x", "y"]), np.eye(2, dtype=np.float32), np.ones(2, bool), {"backbone": "r50"}
    )
    model = Popularity().fit(inter, vecs)
    for meta in (None, {}, {"backbone": ""}, {"backbone": "r50"}):
        model.check_vector_meta(meta)
    with pytest.raises(VisrecError, match="from 'clip', the model was trained on 'r50'"):
        model.check_vector_meta({"backbone": "clip"})


class _Seeded(SimpleNamespace):
    """A stand-in model: a seed, maybe the fit's, and the base class's rule for which."""

    fitted_param = Recommender.fitted_param


def test_tie_seed_is_the_integer_random_state_only() -> None:
    # kills: tie_seed taking a bool for an integer (True would seed 1)
    assert tie_seed(_Seeded(random_state=True)) == 0  # type: ignore[arg-type]
    assert tie_seed(_Seeded(random_state=np.int64(7))) == 7  # type: ignore[arg-type]
    assert tie_seed(_Seeded(random_state=None)) == 0  # type: ignore[arg-type]
    assert tie_seed(_popularity()) == 0


def test_an_unfitted_model_says_to_call_fit() -> None:
    # kills: _check_fitted's message without "call fit() first" (what to do next)
    with pytest.raises(NotFittedError, match=r"^Popularity is not fitted yet: call fit\(\) first$"):
        Popularity().recommend(0)


def test_tie_seed_is_the_fits_not_a_later_set_params() -> None:
    # the helper's observation, fixed: set_params(random_state=...) after a fit changed
    # the tie order of the fitted model's lists
    fitted = _Seeded(random_state=9, fit_params_={"random_state": 3})
    assert tie_seed(fitted) == 3  # type: ignore[arg-type]
    assert tie_seed(_Seeded(random_state=9)) == 9  # type: ignore[arg-type]
