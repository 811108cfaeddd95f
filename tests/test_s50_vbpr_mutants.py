"""Known-answer checks of VBPR and the shared BPR training loop (``_train``) that kill
mutations the older tests let through (session 50's mutation audit): the triple
sampler, the feature scaling, the batch loop's learning rate, penalty and loss, VBPR's
terms and its closed-form scores."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from test_models import FAST, N_USERS, checkerboard, group_vectors
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.models import _fit_torch, _train
from visrec.models._train import FeatureScaler, TripleSampler, fit_pairwise, rows
from visrec.models.registry import make_model

CPU = torch.device("cpu")


# -- TripleSampler ---------------------------------------------------------------------


def _seen(n_users: int, n_items: int, density: float, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < density
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # nobody empty
    return sp.csr_matrix(dense.astype(np.float32))


def test_every_training_pair_is_a_positive_the_last_one_too() -> None:
    # kills: _is_pos clamped one key short (the highest user x item pair never found)
    seen = _seen(6, 9, 0.3, 0)
    s = TripleSampler(seen)
    coo = seen.tocoo()
    assert s._is_pos(coo.row.astype(np.int64), coo.col.astype(np.int64)).all()
    dense = seen.toarray() > 0
    u, j = np.nonzero(~dense)
    assert not s._is_pos(u.astype(np.int64), j.astype(np.int64)).any()


def test_negatives_miss_the_users_positives() -> None:
    # each user saw ~30% of the items: after 10 rejection rounds a positive survives
    # with odds 0.3**11 (none in these ~1,900 triples); one round (0.3**2) or none leave
    # dozens -- kills: no rejection, one rejection round
    seen = _seen(30, 40, 0.3, 1)
    s, rng = TripleSampler(seen), np.random.default_rng(0)
    dense = seen.toarray() > 0
    for _ in range(5):
        u, i, j = s.epoch(rng)
        assert dense[u, i].all()
        assert not dense[u, j].any()


def test_an_epoch_is_every_pair_once_in_shuffled_order() -> None:
    # kills: positives in the matrix's (user-sorted) order: each batch then holds one
    # or two users, not a sample of the data
    seen = _seen(20, 15, 0.3, 2)
    s, rng = TripleSampler(seen), np.random.default_rng(0)
    coo = seen.tocoo()
    u, i, _ = s.epoch(rng)
    key = u * 15 + i
    np.testing.assert_array_equal(np.sort(key), np.sort(coo.row * 15 + coo.col))
    assert not np.array_equal(key, coo.row * 15 + coo.col)  # not the matrix order
    u2, i2, _ = s.epoch(rng)
    assert not np.array_equal(key, u2 * 15 + i2)  # nor the same order every epoch


def test_negatives_are_uniform_over_the_catalogue() -> None:
    # everyone saw items 0..4 and nobody 5..9: each of 5..9 is a fifth of the negatives
    # (~500 of 2,500); kills: the first draw over all but the last item (item 9 then
    # comes only from the re-draws, about half as often)
    dense = np.zeros((50, 10), dtype=np.float32)
    dense[:, :5] = 1.0
    s, rng = TripleSampler(sp.csr_matrix(dense)), np.random.default_rng(0)
    js = np.concatenate([s.epoch(rng)[2] for _ in range(10)])
    counts = np.bincount(js, minlength=10)
    assert counts[:5].sum() <= 10  # positives left after 10 re-draws: 0.5**11 of 2,500
    assert (np.abs(counts[5:] - 500) < 75).all(), counts


# -- FeatureScaler ----------------------------------------------------------------------


def test_scale_is_the_root_mean_square_norm() -> None:
    # centred rows of norms 1, 1, 3, 3: RMS sqrt(5), not the mean norm 2;
    # kills: mean norm, scale multiplying instead of dividing
    v = np.array([[1, 0], [-1, 0], [0, 3], [0, -3]], dtype=np.float32) + 5.0
    sc = FeatureScaler().fit(v)
    np.testing.assert_allclose(sc.mean_, [5.0, 5.0])
    assert sc.scale_ == pytest.approx(math.sqrt(5.0))
    out = sc.transform(v)
    np.testing.assert_allclose(out, (v - 5.0) / math.sqrt(5.0), rtol=1e-6)
    np.testing.assert_allclose(np.sqrt((out**2).sum(1).mean()), 1.0, rtol=1e-6)


def test_transform_zeroes_the_rows_flagged_without_an_image() -> None:
    # kills: has_image ignored (only all-zero rows taken for "no image")
    v = np.array([[1, 0], [-1, 0], [0, 3], [0, -3]], dtype=np.float32) + 5.0
    out = FeatureScaler().fit(v).transform(v, np.array([True, False, True, False]))
    np.testing.assert_array_equal(out[[1, 3]], 0.0)
    assert (out[[0, 2]] != 0).any(axis=1).all()


def test_principal_components_do_not_depend_on_global_random_state() -> None:
    # kills: randomized_svd left unseeded (it then draws from np.random's global state)
    v = np.random.default_rng(4).normal(size=(30, 12)).astype(np.float32)
    state = np.random.get_state()
    try:
        np.random.seed(1)
        a = FeatureScaler(n_components=3).fit(v).components_
        np.random.seed(2)
        b = FeatureScaler(n_components=3).fit(v).components_
    finally:
        np.random.set_state(state)  # other tests' global state as it was
    np.testing.assert_array_equal(a, b)


# -- fit_pairwise: batches, learning rate, penalty, loss ----------------------------------


class _Scalar(torch.nn.Module):
    """``x = w`` for every triple, ``penalty = c w**2``: one parameter whose Adam steps
    are known by hand. Records the batch sizes it saw."""

    def __init__(self, w: float, c: float) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))
        self.c = c
        self.batches: list[int] = []

    def forward(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.batches.append(len(u))
        return self.w * torch.ones(len(u)), self.c * self.w**2


def _fit(module: torch.nn.Module, seen: sp.csr_matrix, **kw: Any) -> list[float]:
    args: dict[str, Any] = {"epochs": 1, "batch_size": 4, "lr": 0.01, "desc": "t"}
    return fit_pairwise(
        module, TripleSampler(seen), rng=np.random.default_rng(0), device=CPU, **{**args, **kw}
    )


def test_every_triple_is_trained_the_last_partial_batch_too() -> None:
    # 10 pairs in batches of 4: 4, 4, 2 -- kills: the last partial batch dropped
    seen = sp.csr_matrix(np.eye(10, dtype=np.float32))
    m = _Scalar(0.0, 0.0)
    _fit(m, seen, epochs=2)
    assert m.batches == [4, 4, 2] * 2


def test_first_adam_step_is_the_learning_rate() -> None:
    # x = w = 0: d(-log sigmoid(w))/dw = -1/2, and Adam's first step is lr * g / (|g| +
    # eps); the loss of that batch is log 2 -- kills: lr scaled, loss weights
    seen = sp.csr_matrix(np.eye(4, dtype=np.float32))  # 4 pairs: one batch
    m = _Scalar(0.0, 0.0)
    losses = _fit(m, seen, lr=0.01)
    assert float(m.w.detach()) == pytest.approx(0.01 * 0.5 / (0.5 + 1e-8), rel=1e-6)
    assert losses == [pytest.approx(math.log(2.0), rel=1e-6)]


def test_epoch_loss_is_the_mean_over_triples() -> None:
    # 10 triples in batches of 4, 4, 2, each batch's loss about log 2 (lr tiny): the
    # epoch's mean is log 2 only with each batch weighted by its own size
    seen = sp.csr_matrix(np.eye(10, dtype=np.float32))
    (loss,) = _fit(_Scalar(0.0, 0.0), seen, lr=1e-7)
    assert loss == pytest.approx(math.log(2.0), rel=1e-5)


def test_the_penalty_is_minimised() -> None:
    # w = 1, penalty w**2 and x = 0 * w: the gradient is the penalty's (+2), so Adam's
    # first step is -lr; the loss is log 2 + 1 -- kills: penalty dropped, sign flipped
    seen = sp.csr_matrix(np.eye(4, dtype=np.float32))

    class Penalised(_Scalar):
        def forward(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> Any:
            return 0.0 * self.w * torch.ones(len(u)), self.c * self.w**2

    m = Penalised(1.0, 1.0)
    losses = _fit(m, seen, lr=0.01)
    assert float(m.w.detach()) == pytest.approx(1.0 - 0.01 * 2 / (2 + 1e-8), rel=1e-6)
    assert losses == [pytest.approx(math.log(2.0) + 1.0, rel=1e-6)]


def test_lazy_path_steps_row_tables_and_dense_parameters_by_the_learning_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # lazy Adam (SparseAdam on the row table, Adam on the dense w): every row and w
    # moves by lr on the first step -- kills: either optimizer's lr scaled
    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)

    class RowsAndDense(torch.nn.Module):
        row_tables = ("r",)
        lazy_rows = False

        def __init__(self) -> None:
            super().__init__()
            self.r = torch.nn.Parameter(torch.zeros((4, 1)))
            self.w = torch.nn.Parameter(torch.tensor(0.0))

        def forward(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> Any:
            lazy = self.lazy_rows
            x = rows(self.r, i, lazy)[:, 0] - rows(self.r, j, lazy)[:, 0] + self.w
            return x, torch.zeros(())

    seen = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))  # u0: i0, j in 1..3
    m = RowsAndDense()
    _fit(m, seen, lr=0.01)
    assert m.lazy_rows
    r = m.r.detach().numpy()[:, 0]
    assert r[0] == pytest.approx(0.01, rel=1e-5) and float(m.w.detach()) == pytest.approx(
        0.01, rel=1e-5
    )
    assert sorted(r[1:]) == pytest.approx([-0.01, 0.0, 0.0], rel=1e-5)  # the one negative


# -- VBPR's terms -------------------------------------------------------------------------


def _module() -> _fit_torch._VBPRModule:
    rng = np.random.default_rng(5)
    feats = rng.normal(size=(3, 4)).astype(np.float32)
    m = _fit_torch._VBPRModule(
        feats,
        rng.normal(size=(2, 3)),
        rng.normal(size=(3, 3)),
        rng.normal(size=(2, 2)),
        rng.normal(size=(4, 2)),
        reg=0.1,
        reg_visual=0.01,
    )
    with torch.no_grad():
        m.bias.copy_(torch.tensor([[0.5], [-0.2], [0.3]]))
        m.visual_bias.copy_(torch.tensor([0.1, -0.3, 0.2, 0.4]))
    return m


def test_vbpr_score_difference_and_penalty_in_closed_form() -> None:
    # x_uij = (beta_i - beta_j + gamma_u.(gamma_i - gamma_j)) (1 - drop)
    #         + theta_u . E (f_i - f_j) + beta' . (f_i - f_j)
    # penalty = reg mean(|gamma_u|^2 + |gamma_i|^2 + |gamma_j|^2 + beta_i^2 + beta_j^2
    #           + |theta_u|^2) + reg_visual (|E|^2 + |beta'|^2)
    # kills: dropout not switching the free terms off, beta' dropped from x, theta_u or
    # beta' unpenalised
    m = _module()
    p = {k: v.detach().numpy().astype(np.float64) for k, v in m.named_parameters()}
    f = m.feats.numpy().astype(np.float64)
    u, i, j = np.array([0, 1]), np.array([0, 2]), np.array([1, 0])
    drop = np.array([0.0, 1.0])
    gu, gi, gj, th = p["user"][u], p["item"][i], p["item"][j], p["user_visual"][u]
    bi, bj = p["bias"][i, 0], p["bias"][j, 0]
    df = f[i] - f[j]
    free = bi - bj + (gu * (gi - gj)).sum(1)
    want_x = free * (1 - drop) + (th * (df @ p["proj"])).sum(1) + df @ p["visual_bias"]
    sq = (gu**2).sum(1) + (gi**2).sum(1) + (gj**2).sum(1) + bi**2 + bj**2 + (th**2).sum(1)
    want_pen = 0.1 * sq.mean() + 0.01 * ((p["proj"] ** 2).sum() + (p["visual_bias"] ** 2).sum())
    t = {k: torch.from_numpy(v) for k, v in {"u": u, "i": i, "j": j}.items()}
    x, pen = m(t["u"], t["i"], t["j"], torch.tensor(drop, dtype=torch.float32))
    np.testing.assert_allclose(x.detach().numpy(), want_x, rtol=1e-5)
    assert float(pen.detach()) == pytest.approx(want_pen, rel=1e-5)
    assert abs(free[1]) > 0.1  # the dropped row had a free part to lose


def test_bpr_score_difference_and_penalty_in_closed_form() -> None:
    # x_uij = b_i - b_j + p_u.(q_i - q_j); penalty = reg mean(|p_u|^2 + |q_i|^2 + |q_j|^2
    # + b_i^2 + b_j^2) -- kills: the item biases unpenalised
    rng = np.random.default_rng(6)
    m = _fit_torch._BPRModule(rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), reg=0.1)
    with torch.no_grad():
        m.bias.copy_(torch.tensor([[0.5], [-0.2], [0.3]]))
    p = {k: v.detach().numpy().astype(np.float64) for k, v in m.named_parameters()}
    u, i, j = np.array([0, 1]), np.array([0, 2]), np.array([1, 0])
    pu, qi, qj, bi, bj = p["user"][u], p["item"][i], p["item"][j], p["bias"][i, 0], p["bias"][j, 0]
    sq = (pu**2).sum(1) + (qi**2).sum(1) + (qj**2).sum(1) + bi**2 + bj**2
    x, pen = m(torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(j))
    np.testing.assert_allclose(x.detach().numpy(), bi - bj + (pu * (qi - qj)).sum(1), rtol=1e-5)
    assert float(pen.detach()) == pytest.approx(0.1 * sq.mean(), rel=1e-5)


# -- VBPR, the model -------------------------------------------------------------------------


def _with_extra_items() -> tuple[Interactions, ItemVectors]:
    """The checkerboard plus item 20, nobody's and flagged without an image though its
    row is not zero, and item 21, nobody's, with a group-A image far from the rest."""
    inter, vec = checkerboard()
    items = IdMap([*inter.item_map.to_list(), "noimage", "fresh"])
    inter2 = Interactions.from_frame(inter.to_frame(), user_map=inter.user_map, item_map=items)
    extra = group_vectors(np.array([False, False]), np.random.default_rng(3)) * 50.0
    v = np.vstack([vec.vectors, extra])
    has = np.r_[np.ones(20, bool), False, True]
    return inter2, ItemVectors(ids=np.asarray(items.ids), vectors=v, has_image=has)


def vbpr(**kw: Any) -> Any:
    return make_model("vbpr", **{**FAST["vbpr"], **kw})


@pytest.mark.parametrize("two_fits", [False, True])
def test_scores_are_the_closed_form_of_the_saved_terms(two_fits: bool) -> None:
    # known items: beta_i + gamma_u.gamma_i + theta_u.(E f_i) + beta'.f_i; items known
    # only by an image, and new items: theta'_u.(E' f) + beta''.f with the new-item
    # fit's terms (the model's own with one fit), f = (v - mean) / scale -- kills:
    # a term dropped, the wrong fit's theta_u or beta'
    inter, vec = _with_extra_items()
    kw = {"reg": 0.1, "reg_visual": 0.1, "new_item_reg": 0.01, "new_item_reg_visual": 1e-3}
    m = vbpr(**(kw if two_fits else {}))
    m.fit(inter, vec)
    assert m.one_fit_ is not two_fits
    users = np.arange(N_USERS)
    f = (vec.vectors.astype(np.float64) - m.feature_mean_) / m.feature_scale_[0]
    known = (
        m.item_bias_
        + m.user_factors_ @ m.item_factors_.T
        + m.user_visual_factors_ @ (f @ m.projection_).T
        + f @ m.visual_bias_
    )
    cold = m.new_user_visual_factors_ @ (f @ m.new_projection_).T + f @ m.new_visual_bias_
    s = m.score(users)
    np.testing.assert_allclose(s[:, :20], known[:, :20], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s[:, 21], cold[:, 21], rtol=1e-4, atol=1e-5)
    assert np.isneginf(s[:, 20]).all()
    new = m.score_new_items(users, vec.vectors[[3, 21]])
    np.testing.assert_allclose(new, cold[:, [3, 21]], rtol=1e-4, atol=1e-5)
    if two_fits:  # the two fits differ, so the checks above tell them apart
        assert not np.allclose(cold[:, 21], known[:, 21] - m.item_bias_[21], atol=1e-3)
