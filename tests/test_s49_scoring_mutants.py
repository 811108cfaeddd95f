"""RatingMF and evaluate_model pinned where a session 49 mutation audit found no test
holding them: RatingMF's Adam step, per-rating and visual penalties, E's start and the
user-mean fallbacks (by hand or by the ridge solution they converge to); evaluate_model's
k / batch_size checks, the ids and counts in its messages, exclude and test pairs that
are training items, and its user count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, checkerboard
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.evaluation.protocols import Split, cold_items_split, make_split
from visrec.evaluation.runner import evaluate_model
from visrec.models.base import Recommender
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import make_model


def _three_ratings() -> Interactions:
    # u0 rates i0 5 and i1 3, u1 rates i0 1: mu = 3, centred ratings 2, 0, -2
    frame = pd.DataFrame(
        {"user_id": ["u0", "u0", "u1"], "item_id": ["i0", "i1", "i0"], "rating": [5.0, 3.0, 1.0]}
    )
    return Interactions.from_frame(frame)


def test_one_adam_step_moves_each_bias_by_lr_against_its_gradient() -> None:
    # From zero biases the loss gradient is (2/3)(0 - centred) per rating: u0's sums to
    # -4/3, u1's to +4/3, i0's to 0 and i1's to 0. Adam's first step, bias-corrected,
    # moves each parameter by lr * g / (|g| + eps): +lr for u0, -lr for u1, 0 for items.
    inter = _three_ratings()
    m = RatingMF(n_factors=0, visual=False, reg=0.0, n_epochs=1, lr=0.5).fit(inter)
    np.testing.assert_allclose(m.user_bias_, [0.5, -0.5], atol=1e-6)
    np.testing.assert_allclose(m.item_bias_, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(m.predict([0, 1, 0], [0, 0, 1]), [3.5, 2.5, 3.5], atol=1e-6)
    # the second step: residuals -1.5, 0.5, 1.5 give user gradients -2/3 and 1; with
    # beta1 0.9, beta2 0.999 u0 moves by 0.5 * m_hat / sqrt(v_hat), where
    # m_hat = (0.09 * -4/3 + 0.1 * -2/3) / 0.19 and v_hat = (0.000999 * 16/9 + 0.001 * 4/9)
    # / (1 - 0.999^2); u1 likewise with 4/3 and 1
    two = RatingMF(n_factors=0, visual=False, reg=0.0, n_epochs=2, lr=0.5).fit(inter)
    mh = np.array([(0.09 * -4 / 3 + 0.1 * -2 / 3), (0.09 * 4 / 3 + 0.1)]) / 0.19
    vh = np.array([0.000999 * 16 / 9 + 0.001 * 4 / 9, 0.000999 * 16 / 9 + 0.001])
    step = 0.5 * mh / np.sqrt(vh / (1 - 0.999**2))
    np.testing.assert_allclose(two.user_bias_, [0.5 - step[0], -0.5 - step[1]], atol=1e-6)
    np.testing.assert_allclose(two.user_bias_, [0.96609, -0.99129], atol=1e-5)


def test_converged_biases_are_the_per_rating_ridge_solution() -> None:
    # biases only: minimise mean_r (c - b_u - b_i)^2 + reg * mean_r (b_u^2 + b_i^2);
    # its minimiser solves (X'X + reg * diag(ratings per parameter)) theta = X'c
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c"],
            "item_id": ["x", "y", "z", "x", "y", "x"],
            "rating": [5.0, 4.0, 1.0, 4.0, 2.0, 3.0],
        }
    )
    inter = Interactions.from_frame(frame)
    reg = 0.5
    m = RatingMF(n_factors=0, visual=False, reg=reg, n_epochs=3000, lr=0.01).fit(inter)
    r = np.asarray(inter.rating)
    nu, ni = inter.n_users, inter.n_items
    x = np.zeros((len(r), nu + ni))
    x[np.arange(len(r)), inter.user_idx] = 1.0
    x[np.arange(len(r)), nu + np.asarray(inter.item_idx)] = 1.0
    theta = np.linalg.solve(x.T @ x + reg * np.diag(x.sum(axis=0)), x.T @ (r - r.mean()))
    np.testing.assert_allclose(m.user_bias_, theta[:nu], atol=2e-3)
    np.testing.assert_allclose(m.item_bias_, theta[nu:], atol=2e-3)


def test_user_means_and_fallbacks_for_users_and_items_in_the_map_without_ratings() -> None:
    # a rates x 1 and y 4 (mean 2.5), b rates x 5; user c and item z are in the maps
    # without a rating: mu = 10/3
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]})
    frame["rating"] = [1.0, 4.0, 5.0]
    inter = Interactions.from_frame(
        frame, user_map=IdMap(np.array(["a", "b", "c"], dtype=object)), extra_items=["z"]
    )
    a, b, c = inter.user_map.to_index(np.array(["a", "b", "c"], dtype=object))
    x, z = inter.item_map.to_index(np.array(["x", "z"], dtype=object))
    m = RatingMF(n_factors=3, visual=False, n_epochs=20).fit(inter)
    np.testing.assert_allclose(m.user_mean_[[a, b, c]], [2.5, 5.0, 10 / 3])
    # an item without ratings: the user's plain mean, no taste term from a random q_z
    np.testing.assert_allclose(m.predict([a, b, c, -1], [z, z, z, z]), [2.5, 5.0, 10 / 3, 10 / 3])
    # an unknown item (-1) the same: neither the bias nor the factors of item 0
    np.testing.assert_allclose(m.predict([a, b, -1], [-1, -1, -1]), [2.5, 5.0, 10 / 3])
    # a user without ratings on a rated item: mu + b_x, no taste term from a random p_c
    assert m.predict([c], [x])[0] == pytest.approx(10 / 3 + m.item_bias_[x])
    assert m.predict([-1], [x])[0] == pytest.approx(10 / 3 + m.item_bias_[x])


def test_an_out_of_range_index_is_said_with_the_valid_range() -> None:
    m = RatingMF(n_factors=0, visual=False, n_epochs=1).fit(_three_ratings())
    with pytest.raises(
        VisrecError, match=r"^predict: item index 2 out of range \(0\.\.1, or -1 for unknown\)$"
    ):
        m.predict([0], [2])
    with pytest.raises(
        VisrecError, match=r"^predict: user index 2 out of range \(0\.\.1, or -1 for unknown\)$"
    ):
        m.predict([2], [0])


def _visual_fixture(d: int = 16) -> tuple[Interactions, np.ndarray]:
    rng = np.random.default_rng(3)
    uu, ii = np.nonzero(rng.random((10, 8)) < 0.7)
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in uu], "item_id": [f"i{i}" for i in ii]})
    frame["rating"] = rng.integers(1, 6, size=len(uu)).astype(float)
    inter = Interactions.from_frame(frame)
    return inter, rng.normal(size=(inter.n_items, d))


def test_the_visual_projection_starts_at_init_scale_over_root_d() -> None:
    # E f_i then starts as large as q_i for standardised f (rows of norm ~1), whatever d
    inter, v = _visual_fixture(d=16)
    m = RatingMF(n_factors=32, visual_dim=None, n_epochs=1, lr=1e-12, init_scale=0.1)
    e = m.fit(inter, v).visual_projection_
    assert e is not None and e.shape == (32, 16)
    assert 0.02 < float(e.std()) < 0.03  # 0.1 / sqrt(16) = 0.025 (512 draws)


def test_reg_visual_pulls_the_visual_projection_towards_zero() -> None:
    # with a huge reg_visual the penalty's gradient 2 * reg_visual * E has E's sign, so
    # Adam's first step shrinks every entry of E by lr (from E's start: a fit of a
    # vanishing lr)
    inter, v = _visual_fixture(d=4)
    kw = {"n_factors": 3, "visual_dim": None, "n_epochs": 1}
    e0 = RatingMF(lr=1e-12, reg_visual=1e9, **kw).fit(inter, v).visual_projection_
    e1 = RatingMF(lr=1e-3, reg_visual=1e9, **kw).fit(inter, v).visual_projection_
    assert e0 is not None and e1 is not None
    np.testing.assert_allclose(e1, e0 - 1e-3 * np.sign(e0), atol=1e-9)


def test_converged_visual_bias_is_the_ridge_solution_with_reg_visual() -> None:
    # no factors: mean_r (c - b_u - b_i - w . f_i)^2 + reg * mean_r (b_u^2 + b_i^2)
    # + reg_visual * |w|^2 is a ridge regression; times n, w's penalty is n * reg_visual
    inter, v = _visual_fixture(d=3)
    reg, reg_visual = 0.3, 0.05
    m = RatingMF(
        n_factors=0, visual_dim=None, reg=reg, reg_visual=reg_visual, n_epochs=4000, lr=0.01
    ).fit(inter, v)
    assert m.item_visual_ is not None and m.visual_bias_ is not None
    r = np.asarray(inter.rating)
    n, nu, ni = len(r), inter.n_users, inter.n_items
    x = np.zeros((n, nu + ni))
    x[np.arange(n), inter.user_idx] = 1.0
    x[np.arange(n), nu + np.asarray(inter.item_idx)] = 1.0
    x = np.hstack([x, m.item_visual_[inter.item_idx]])
    pen = np.concatenate([reg * x[:, : nu + ni].sum(axis=0), np.full(3, n * reg_visual)])
    theta = np.linalg.solve(x.T @ x + np.diag(pen), x.T @ (r - r.mean()))
    np.testing.assert_allclose(m.visual_bias_, theta[nu + ni :], atol=2e-3)
    np.testing.assert_allclose(m.item_bias_, theta[nu : nu + ni], atol=2e-3)


# ---------------------------------------------------------------------- evaluate_model
@pytest.fixture(scope="module")
def cold() -> tuple[Split, Recommender, ItemVectors]:
    inter, iv = checkerboard()
    split = cold_items_split(inter, seed=0)
    model = make_model("visual-cf", **FAST["visual-cf"]).fit(split.train, iv)
    return split, model, iv


@pytest.fixture(scope="module")
def warm() -> tuple[Split, Recommender]:
    inter, _ = checkerboard()
    split = make_split(inter.to_frame(), "warm", seed=0)
    return split, make_model("popularity").fit(split.train)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"k": 0}, "k must be positive, got 0"),
        ({"k": -3}, "k must be positive, got -3"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
    ],
)
def test_evaluate_refuses_k_and_batch_size_below_one(warm, kw, message) -> None:
    split, model = warm
    with pytest.raises(VisrecError, match=f"^{message}$"):
        evaluate_model(model, split, **kw)
    # said first, before the model is checked against the split or a user scored
    other = make_model("popularity").fit(cold_items_split(split.train, seed=0).train)
    with pytest.raises(VisrecError, match=f"^{message}$"):
        evaluate_model(other, split, **kw)


def test_a_broken_candidate_vector_is_named_when_an_earlier_candidate_has_no_image(cold) -> None:
    # the check sees only the candidates with an image: its row numbers are not the
    # candidates' own once one before it has none
    split, model, iv = cold
    ids = list(iv.ids)
    first, broken = (str(x) for x in split.test.item_map.ids[[0, 2]])
    v, has = iv.vectors.copy(), iv.has_image.copy()
    has[ids.index(first)] = False
    v[ids.index(broken)] = np.inf
    with pytest.raises(VisrecError, match=rf"1 candidate item vector holds .*\('{broken}'\)"):
        evaluate_model(model, split, k=5, item_vectors=ItemVectors(iv.ids, v, has, iv.meta))


def test_nan_scores_name_the_first_user_and_item_and_count_them(warm, monkeypatch) -> None:
    split, model = warm
    test = split.test
    users = np.unique(np.asarray(test.user_idx))

    def score(u, item_idx=None):
        s = np.zeros((len(u), test.n_items), dtype=np.float32)
        if u[0] == users[0]:  # the first block: its rows 1 and 2
            s[1, [3, 5]] = np.nan
            s[2, 0] = np.nan
        return s

    monkeypatch.setattr(model, "score", score)
    uid, iid = test.user_map.ids[users[1]], test.item_map.ids[3]
    with pytest.raises(
        VisrecError,
        match=rf"NaN for user '{uid}' and item '{iid}' \(3 NaN scores among 4 users\)",
    ):
        evaluate_model(model, split, k=5, batch_size=4)


def test_evaluate_counts_test_users_and_candidates(cold) -> None:
    split, model, iv = cold
    test = split.test
    out = evaluate_model(model, split, k=5, item_vectors=iv)
    assert len(test) > len(np.unique(test.user_idx))  # users with several test items
    assert out["n_test_users"] == len(np.unique(test.user_idx))
    assert out["n_candidates"] == test.n_items


def test_exclude_pairs_of_unknown_ids_are_ignored(warm) -> None:
    split, model = warm
    u, i = split.test.user_map.ids[0], split.test.item_map.ids[0]
    unknown = pd.DataFrame({"user_id": [u, "nobody"], "item_id": ["no-such-item", i]})
    got = evaluate_model(model, split, k=5, exclude=unknown)
    plain = evaluate_model(model, split, k=5)
    for key in ("auc", "recall", "ndcg", "hit_rate", "coverage"):
        assert got[key] == plain[key]


def test_exclude_without_an_item_id_column_is_named(warm) -> None:
    split, model = warm
    with pytest.raises(TypeError, match=r"item_id columns, got the columns \['user_id'\]$"):
        evaluate_model(model, split, exclude=pd.DataFrame({"user_id": ["u1"]}))


def test_a_model_fitted_elsewhere_is_refused_with_both_sizes(warm) -> None:
    split, _ = warm
    train = split.train
    other_rows = cold_items_split(train, seed=0).train
    other = make_model("popularity").fit(other_rows)
    nu, ni, nnz = other_rows.n_users, other_rows.n_items, other_rows.to_csr("binary").nnz
    rows = train.to_csr("binary").nnz
    assert nnz != rows
    with pytest.raises(
        VisrecError,
        match=rf"^model 'popularity' was not fitted on this split's training rows \(its "
        rf"{nu} users x {ni} items and {nnz} pairs are not split.train's {train.n_users} x "
        rf"{train.n_items} and {rows}\); fit it on split.train$",
    ):
        evaluate_model(other, split, k=5)


def test_a_test_pair_that_is_also_a_training_item_is_neither_hit_nor_miss(warm) -> None:
    # a hand-made split may repeat a training pair in its test rows: the pair is left
    # out of the candidates like any training item, so it cannot count as a miss either
    split, model = warm
    train = split.train
    u, i = train.user_map.ids[train.user_idx[0]], train.item_map.ids[train.item_idx[0]]
    frame = pd.concat(
        [split.test.to_frame(), pd.DataFrame({"user_id": [u], "item_id": [i]})],
        ignore_index=True,
    )
    test = Interactions.from_frame(frame, user_map=train.user_map, item_map=train.item_map)
    again = Split("warm", train, test)
    n_cand = train.n_items  # every candidate listed: each user's test item is a hit
    before = evaluate_model(model, split, k=n_cand)
    after = evaluate_model(model, again, k=n_cand)
    assert before["recall"] == after["recall"] == 1.0
    assert before["ndcg"] == after["ndcg"]
    assert before["hit_rate"] == after["hit_rate"] == 1.0


def test_a_model_fitted_on_other_item_ids_of_the_same_shape_is_refused(warm) -> None:
    # the same users and the same pattern of pairs, but every item renamed: its scores'
    # columns are other items than the split's candidates
    split, _ = warm
    train = split.train
    frame = train.to_frame()
    frame["item_id"] = frame["item_id"].astype(str) + "-other"
    items = IdMap(np.array([f"{i}-other" for i in train.item_map.ids], dtype=object))
    renamed = Interactions.from_frame(frame, user_map=train.user_map, item_map=items)
    other = make_model("popularity").fit(renamed)
    assert (other.seen_ != train.to_csr("binary")).nnz == 0
    with pytest.raises(VisrecError, match="was not fitted on this split's training rows"):
        evaluate_model(other, split, k=5)


def test_scores_of_the_wrong_shape_are_named(warm, monkeypatch) -> None:
    split, model = warm
    n_cand = split.test.n_items
    monkeypatch.setattr(model, "score", lambda u, item_idx=None: np.zeros((len(u), n_cand + 1)))
    with pytest.raises(
        VisrecError,
        match=rf"^model 'popularity' returned scores of shape \(4, {n_cand + 1}\), "
        rf"expected \(4, {n_cand}\)$",
    ):
        evaluate_model(model, split, k=5, batch_size=4)
