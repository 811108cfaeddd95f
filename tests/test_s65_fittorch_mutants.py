"""Mutation audit (session 65) of ``models/_fit_torch.py`` (BPR's and VBPR's modules,
their hand-written lazy steps, the two fits' outputs, VBPR's fine-tuning) and
``models/_fresh_fit.py``. Sessions 50, 58 and 62 covered the closed-form scores and
penalties, the reported lazy losses, the seeds and ``init_std``; this file covers the
lazy steps' parameter updates (dropout and fine-tuning included), what fine-tuning
freezes, the outputs' dtypes and shapes, and the names and ``verbose`` the fits hand on.

Mutants: 54 (45 on _fit_torch.py, 9 on _fresh_fit.py). The older suite (the fit and
fresh-fit test files) was run on 37 of them within the audit's time (M24-M40, 17
mutants of VBPR's forward and lazy step and its names/verbose, were not; this file kills
all 17): killed before 33, survived 4 (the BPR user factors returned as float64;
``verbose`` not handed on, BPR; an empty fine-tuning stage run for 0 epochs; the frozen
projection recomputed every batch). Killed after: 53. Equivalent: 1 -- the fine-tuning
projection ``_frozen_z`` recomputed each batch instead of cached (E and beta' are
frozen then, so the values are the same; only slower). No bug found.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from visrec.data.interactions import Interactions
from visrec.errors import ArgumentTypeError
from visrec.models import _fit_torch, _train
from visrec.models._fresh_fit import check_fit_inputs, fit_from_scratch
from visrec.models._train import TripleSampler, fit_pairwise

CPU = torch.device("cpu")


def _seen(n_users: int, n_items: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < 0.3
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # nobody empty
    return sp.csr_matrix(dense.astype(np.float32))


def _drop_half(n: int) -> np.ndarray:
    # the same flags whichever path draws them (not from the fit's generator)
    return (np.random.default_rng(11).random(n) < 0.5).astype(np.float32)


def _no_drop(n: int) -> np.ndarray:
    return np.zeros(n, np.float32)


def _bpr_module() -> torch.nn.Module:
    rng = np.random.default_rng(1)
    return _fit_torch._BPRModule(rng.normal(size=(12, 3)), rng.normal(size=(10, 3)), 0.5)


def _vbpr_module(finetune: bool) -> torch.nn.Module:
    rng = np.random.default_rng(3)
    m = _fit_torch._VBPRModule(
        rng.normal(size=(10, 4)).astype(np.float32),
        rng.normal(size=(12, 2)), rng.normal(size=(10, 2)),
        rng.normal(size=(12, 3)), rng.normal(size=(4, 3)),
        0.5, 0.2,
    )  # fmt: skip
    with torch.no_grad():
        m.bias.copy_(torch.from_numpy(rng.normal(size=(10, 1)).astype(np.float32)))
        m.visual_bias.copy_(torch.from_numpy(rng.normal(size=4).astype(np.float32)))
    if finetune:  # as fit_vbpr_terms freezes them for the fine-tuning epochs
        for p in (m.user_visual, m.proj, m.visual_bias):
            p.requires_grad_(False)
    return m


def _train_lazily(module: torch.nn.Module, by_hand: bool, **extra: Any) -> dict[str, np.ndarray]:
    """The parameters after 3 epochs of ``fit_pairwise`` on the lazy path, from the
    module's hand-written ``lazy_step`` or from autograd (``lazy_step`` hidden)."""
    if not by_hand:
        setattr(module, "lazy_step", None)  # noqa: B010 -- nn.Module typing rejects None
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
        fit_pairwise(
            module, TripleSampler(_seen(12, 10, 0)), epochs=3, batch_size=8, lr=0.05,
            rng=np.random.default_rng(0), device=CPU, desc="t", extra=extra or None,
        )  # fmt: skip
    finally:
        mp.undo()
    assert module.lazy_rows
    return {n: p.detach().numpy().copy() for n, p in module.named_parameters()}


_FROZEN = ("user_visual", "proj", "visual_bias")


@pytest.mark.parametrize(
    ("make", "extra", "frozen"),
    [
        (_bpr_module, {}, ()),
        (lambda: _vbpr_module(False), {"drop": _drop_half}, ()),
        (lambda: _vbpr_module(False), {"drop": _no_drop}, ()),
        (lambda: _vbpr_module(True), {"drop": _no_drop}, _FROZEN),
    ],
    ids=["bpr", "vbpr-dropout", "vbpr", "vbpr-finetune"],
)
def test_the_lazy_steps_move_every_parameter_as_autograd_does(
    make: Any, extra: Any, frozen: tuple[str, ...]
) -> None:
    # reg 0.5, reg_visual 0.2 and every term non-zero, so each gradient term matters;
    # kills: a sign or factor wrong in a hand-written gradient (user, items, biases,
    # theta_u, E, beta'), the dropout not masking the free terms' gradient, the
    # frozen projection's differences swapped, theta_u stepped while frozen
    before = {n: p.detach().numpy().copy() for n, p in make().named_parameters()}
    lazy, auto = _train_lazily(make(), True, **extra), _train_lazily(make(), False, **extra)
    for name, want in auto.items():
        np.testing.assert_allclose(lazy[name], want, rtol=2e-4, atol=2e-5, err_msg=name)
        moved = np.abs(want - before[name]).max()
        assert moved == 0.0 if name in frozen else moved > 1e-3, name


_VBPR_ARGS: dict[str, Any] = {
    "factors": 3, "visual_factors": 2, "init_std": 0.3, "reg": 0.1, "reg_visual": 0.1,
    "epochs": 2, "item_dropout": 0.2, "batch_size": 8, "lr": 0.05, "device": "cpu",
    "desc": "vb",
}  # fmt: skip


def _vbpr_terms(finetune_epochs: int, **kw: Any) -> dict[str, np.ndarray]:
    feats = np.random.default_rng(7).normal(size=(10, 4)).astype(np.float32)
    return _fit_torch.fit_vbpr_terms(
        feats, _seen(12, 10, 4), finetune_epochs=finetune_epochs,
        rng=np.random.default_rng(0), **{**_VBPR_ARGS, **kw},
    )  # fmt: skip


@pytest.mark.parametrize("lazy", [False, True])
def test_fine_tuning_trains_the_free_terms_only(
    lazy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the main epochs draw the same numbers either way, so theta_u, E and beta' after
    # fine-tuning are those the main epochs left; kills: one of them not frozen
    if lazy:
        monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
    main, tuned = _vbpr_terms(0), _vbpr_terms(3)
    for name in ("user_visual", "proj", "visual_bias"):
        np.testing.assert_array_equal(tuned[name], main[name], err_msg=name)
    for name in ("user", "item", "bias"):
        assert np.abs(tuned[name] - main[name]).max() > 1e-3, name


def test_the_fits_return_float32_tables_and_flat_biases() -> None:
    seen = _seen(12, 10, 5)
    user, item, bias = _fit_torch.fit_bpr_factors(
        seen, factors=3, epochs=1, lr=0.05, reg=0.01, batch_size=8, init_std=0.1,
        device="cpu", rng=np.random.default_rng(0),
    )  # fmt: skip
    assert [a.dtype for a in (user, item, bias)] == [np.float32] * 3
    assert (user.shape, item.shape, bias.shape) == ((12, 3), (10, 3), (10,))
    terms = _vbpr_terms(1)
    shapes = {"user": (12, 3), "item": (10, 3), "bias": (10,), "user_visual": (12, 2),
              "proj": (4, 2), "visual_bias": (4,)}  # fmt: skip
    assert {k: v.shape for k, v in terms.items()} == shapes
    assert {v.dtype for v in terms.values()} == {np.dtype(np.float32)}


def test_the_fits_hand_on_their_names_and_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    # desc names the checkpoint and the bar: two fits within one model need two names;
    # kills: a fixed name, fine-tuning under the main fit's name, verbose dropped
    calls: list[tuple[str, bool]] = []
    real = fit_pairwise

    def spy(*args: Any, desc: str, verbose: bool = False, **kw: Any) -> list[float]:
        calls.append((desc, verbose))
        return real(*args, desc=desc, verbose=verbose, **kw)

    monkeypatch.setattr(_fit_torch, "fit_pairwise", spy)
    for verbose in (True, False):
        _fit_torch.fit_bpr_factors(
            _seen(12, 10, 5), factors=3, epochs=1, lr=0.05, reg=0.01, batch_size=8,
            init_std=0.1, device="cpu", rng=np.random.default_rng(0), verbose=verbose,
            desc="inner-bpr",
        )  # fmt: skip
        _vbpr_terms(1, verbose=verbose, desc="my-vbpr")
    assert calls == [
        ("inner-bpr", True), ("my-vbpr", True), ("my-vbpr-finetune", True),
        ("inner-bpr", False), ("my-vbpr", False), ("my-vbpr-finetune", False),
    ]  # fmt: skip
    # no fine-tuning epochs: no fine-tuning stage at all
    calls.clear()
    _vbpr_terms(0, desc="my-vbpr")
    assert calls == [("my-vbpr", False)]


# -- _fresh_fit ------------------------------------------------------------------------


class _Fitted:
    def __init__(self) -> None:
        self.alpha = 1.0
        self.table_ = np.ones(2)  # an earlier fit's


def test_a_fit_starts_clean_and_its_result_is_returned() -> None:
    # kills: the earlier fit's arrays left in place while the new fit runs; the result
    # of the fit dropped
    est = _Fitted()
    seen: list[bool] = []

    def fit() -> str:
        seen.append(hasattr(est, "table_"))
        est.table_ = np.zeros(3)
        return "fitted"

    assert fit_from_scratch(est, fit) == "fitted"
    assert seen == [False]
    np.testing.assert_array_equal(est.table_, np.zeros(3))


@pytest.mark.parametrize("bad", [np.zeros((2, 3), np.float32), "vectors.npz"])
def test_item_vectors_of_another_type_are_named(bad: object) -> None:
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}))
    check_fit_inputs("vbpr", inter)  # no vectors: nothing to check
    with pytest.raises(ArgumentTypeError) as err:
        check_fit_inputs("vbpr", inter, bad)
    assert str(err.value) == (
        "model 'vbpr': item_vectors must be an ItemVectors (ids, vectors, has_image; "
        f"visrec.read_vectors reads one), got {type(bad).__name__}"
    )
