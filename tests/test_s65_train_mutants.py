"""Mutation audit (session 65) of ``models/_train.py``'s pairwise training loop
(``fit_pairwise``, ``_epoch``, ``_optimizers``, ``single_cpu_thread``, ``adam_rows``'s
bias correction) and of ``TripleSampler``. Sessions 62 and 63 covered the sampler's
sorted keys and empty pool, the caller's generator, the epoch counts of the lines, bar
and checkpoint, a failed save, the lazy-Adam threshold and the lazy epoch loss; this
file covers what the bar is given, when a fit says its lines and saves its state, the
thread setting during a fit, the per-epoch ``extra`` arrays, the optimisers' updates
against a hand-written loop, and the sampler's rejection, negative pool and keys.

Mutants: 41 (M01-M41, all on _train.py), each run against test_s62_mtrain_mutants,
test_s63_lazy_epoch_loss, test_s62_fittorch_mutants and test_s65_fittorch_mutants (plus
test_log_progress_lines, test_train_checkpoint or test_library_hygiene where they touch
the code mutated). Killed before: 25. Survived 16, all killed here (killed after: 41):
the bar's show fixed on / off, leave=True, the loss postfix dropped, the epoch line's
loss of epoch 1, its clock restarted each epoch, fit_started dropped, the fit outside
single_cpu_thread, an epoch without pairs dividing by 0, the negative pool's positions
taken for items (first draw, re-draw), the pairs left unshuffled, ``len(sampler)``
counting the pool, Adam's and SparseAdam's default learning rate (dense path, lazy path,
the lazy path's dense Adam). Equivalent: 0. No bug found.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from test_s65_fittorch_mutants import _seen
from visrec import _bars, _progress_lines
from visrec.models import _checkpoint, _train
from visrec.models._train import TripleSampler, fit_pairwise, rows

CPU = torch.device("cpu")


class _Rows(torch.nn.Module):
    """``x = r[i] - r[j]`` on one row table, plus a dense weight ``w`` in the penalty;
    records the triples and extras it trains on and the thread count it ran with."""

    row_tables = ("r",)

    def __init__(self, n_items: int = 12) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.r = torch.nn.Parameter(torch.randn((n_items, 2), generator=g))
        self.w = torch.nn.Parameter(torch.randn(2, generator=g))
        self.lazy_rows = False
        self.seen: list[np.ndarray] = []
        self.extras: list[np.ndarray] = []
        self.threads: list[int] = []

    def forward(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, **extra: Any) -> Any:
        self.seen.append(torch.stack([u, i, j]).numpy().copy())
        self.extras.extend(v.numpy().copy() for v in extra.values())
        self.threads.append(torch.get_num_threads())
        ri, rj = rows(self.r, i, self.lazy_rows), rows(self.r, j, self.lazy_rows)
        return ((ri - rj) * self.w).sum(1), 0.01 * (self.w**2).sum()


def _fit(module: torch.nn.Module, seed: int = 0, **kw: Any) -> list[float]:
    args: dict[str, Any] = {"epochs": 2, "batch_size": 1000, "lr": 0.05, "desc": "t"}
    return fit_pairwise(
        module,
        TripleSampler(_seen(8, 12, 9)),
        rng=np.random.default_rng(seed),
        device=CPU,
        **{**args, **kw},
    )


# -- the bar and the lines ---------------------------------------------------------------


class _Spy:
    """Wraps the bar ``fit_pairwise`` makes, keeping its keywords and postfixes."""

    def __init__(self) -> None:
        self.kw: list[dict[str, Any]] = []
        self.postfix: list[dict[str, Any]] = []

    def __call__(self, it: Any, **kw: Any) -> Any:
        self.kw.append(kw)
        spy = self

        class Bar:
            def __iter__(self) -> Any:
                return iter(it)

            def set_postfix(self, **p: Any) -> None:
                spy.postfix.append(p)

        return Bar()


@pytest.mark.parametrize("verbose", [False, True])
def test_the_bar_shows_with_verbose_only_is_not_left_and_shows_each_loss(
    verbose: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: show fixed on or off, leave=True (a finished stage's bar stayed on screen),
    # the loss postfix dropped
    spy = _Spy()
    monkeypatch.setattr(_bars, "progress_bar", spy)
    with _progress_lines.owner("visual-cf"):
        losses = _fit(_Rows(), epochs=3, verbose=verbose, desc="bpr")
    (kw,) = spy.kw
    assert kw["show"] is verbose and kw["leave"] is False
    assert kw["unit"] == "epoch" and kw["desc"] == "bpr of visual-cf"
    assert kw["initial"] == 0 and kw["total"] == 3
    assert spy.postfix == [{"loss": f"{v:.4f}"} for v in losses]


def test_a_fit_in_a_block_waits_every_s_from_its_own_start() -> None:
    # the block's clock was set long ago (an earlier fit, a trial's score): a short fit
    # still says nothing -- kills: fit_started not called
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=50):
        active = _progress_lines._ACTIVE.get()
        assert active is not None
        active.last -= 100
        _fit(_Rows(), epochs=2)
    assert lines == []


def test_an_epoch_line_counts_the_time_since_the_fit_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the fit's clock is read once when it starts, here 3 minutes "ago"; each line says
    # the time since then -- kills: each line timed from its own epoch's end
    real = time.monotonic
    calls: list[float] = []

    class Clock:
        @staticmethod
        def monotonic() -> float:
            calls.append(0)
            return float(real() - (180.0 if len(calls) == 1 else 0.0))

    monkeypatch.setattr(_train, "time", Clock)
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=0):
        losses = _fit(_Rows(), epochs=2)
    assert len(lines) == 2
    for n, (line, loss) in enumerate(zip(lines, losses, strict=True), start=1):
        assert line.startswith(f"  t: epoch {n}/2, loss {loss:.4f}, 3.0 min"), line


# -- when the state is saved -------------------------------------------------------------


def _saves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    epochs: list[int] = []
    real = _checkpoint.save_state

    def spy(ckpt: Any, desc: str, epoch: int, *a: Any) -> bool:
        epochs.append(epoch)
        return real(ckpt, desc, epoch, *a)

    monkeypatch.setattr(_checkpoint, "save_state", spy)
    return epochs


def test_no_state_is_saved_before_every_s_has_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: the save interval ignored (a state written after every epoch)
    saves = _saves(monkeypatch)
    with _checkpoint.checkpointing(tmp_path, "k", every_s=3600, log=lambda _m: None) as ckpt:
        _fit(_Rows(), epochs=3)
        assert ckpt.last == []
    assert saves == []


def test_the_save_interval_counts_from_the_last_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the block's clock is long past: epoch 1 saves, and the next save is every_s after
    # that one -- kills: saved_at not moved on by a save
    saves = _saves(monkeypatch)
    with _checkpoint.checkpointing(tmp_path, "k", every_s=1800, log=lambda _m: None) as ckpt:
        ckpt.saved_at[0] -= 3600
        _fit(_Rows(), epochs=3)
        assert ckpt.last == ["t, epoch 1 of 3"]
    assert saves == [1]


# -- the thread setting ------------------------------------------------------------------


def test_a_cpu_fit_trains_on_one_thread_and_puts_the_count_back() -> None:
    # kills: fit_pairwise outside single_cpu_thread, the CPU test flipped, 2 threads
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        m = _Rows()
        _fit(m, epochs=2)
        assert m.threads == [1, 1]
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


# -- the per-epoch extras ----------------------------------------------------------------


def _extra(calls: list[int]) -> dict[str, Any]:
    def positions(n: int) -> np.ndarray:
        calls.append(n)
        return np.arange(n) + 1000 * len(calls)

    return {"pos": positions}


def test_extras_are_drawn_once_an_epoch_and_sliced_batch_by_batch() -> None:
    # kills: every batch given the epoch's first rows of the extras (autograd path)
    calls: list[int] = []
    m = _Rows()
    n = len(TripleSampler(_seen(8, 12, 9)))
    _fit(m, epochs=2, batch_size=5, extra=_extra(calls))
    assert calls == [n, n]
    got = np.concatenate(m.extras)
    np.testing.assert_array_equal(got, np.r_[np.arange(n) + 1000, np.arange(n) + 2000])


class _LazyRows(_Rows):
    """A module with its own lazy step (counted), as BPR and VBPR have."""

    def __init__(self) -> None:
        super().__init__()
        self.lazy_calls = 0

    def lazy_step(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, opts: Any, **extra: Any
    ) -> float:
        self.lazy_calls += 1
        self.extras.extend(v.numpy().copy() for v in extra.values())
        return 0.5


def test_the_lazy_step_gets_its_batchs_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: every batch given the epoch's first rows of the extras (lazy path)
    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
    calls: list[int] = []
    m = _LazyRows()
    n = len(TripleSampler(_seen(8, 12, 9)))
    losses = _fit(m, epochs=1, batch_size=5, extra=_extra(calls))
    assert m.lazy_calls == -(-n // 5) and losses == [0.5]
    np.testing.assert_array_equal(np.concatenate(m.extras), np.arange(n) + 1000)


def test_a_module_with_small_tables_trains_by_autograd_though_it_has_a_lazy_step() -> None:
    # kills: the lazy step used whenever the module has one (not only when lazy_rows)
    m = _LazyRows()
    _fit(m, epochs=1, batch_size=5)
    assert m.lazy_calls == 0 and len(m.seen) > 0


# -- the updates against a hand-written loop ---------------------------------------------


def _by_hand(lazy: bool, epochs: int, batch_size: int, lr: float) -> tuple[Any, list[float]]:
    """The same fit written out: Adam (or SparseAdam on r and Adam on w) on the mean
    -log sigmoid loss plus the penalty, batch by batch, the loss averaged by triple."""
    m = _Rows()
    m.lazy_rows = lazy
    sampler, rng = TripleSampler(_seen(8, 12, 9)), np.random.default_rng(0)
    if lazy:
        opts: list[Any] = [torch.optim.SparseAdam([m.r], lr=lr), torch.optim.Adam([m.w], lr=lr)]
    else:
        opts = [torch.optim.Adam([m.r, m.w], lr=lr)]
    losses = []
    for _ in range(epochs):
        u, i, j = (torch.from_numpy(a) for a in sampler.epoch(rng))
        total = 0.0
        for s in range(0, len(u), batch_size):
            x, pen = m(u[s : s + batch_size], i[s : s + batch_size], j[s : s + batch_size])
            loss = -F.logsigmoid(x).mean() + pen
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()
            total += float(loss.detach()) * len(x)
        losses.append(total / len(u))
    return m, losses


@pytest.mark.parametrize("lazy", [False, True])
def test_the_updates_are_adams_on_the_mean_loss_at_the_given_rate(
    lazy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: zero_grad dropped (gradients summed over batches), only the first
    # optimiser stepped, the summed loss, the default learning rate (Adam, SparseAdam,
    # the lazy path's dense Adam), the dense parameters left out on the lazy path, the
    # epoch loss weighted by batch_size (a short last batch)
    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0 if lazy else 10**6)
    want, want_losses = _by_hand(lazy, epochs=3, batch_size=7, lr=0.05)
    m = _Rows()
    losses = _fit(m, epochs=3, batch_size=7, lr=0.05)
    assert m.lazy_rows is lazy
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    torch.testing.assert_close(m.r, want.r)
    torch.testing.assert_close(m.w, want.w)


def test_adam_rows_corrects_the_first_steps_bias() -> None:
    # a step of adam_rows is SparseAdam's: on the first steps, too, where the bias
    # correction matters most -- kills: either correction made a constant
    p = torch.nn.Parameter(torch.ones((3, 2)))
    q = torch.nn.Parameter(torch.ones((3, 2)))
    opt_p = torch.optim.SparseAdam([p], lr=0.1, betas=(0.8, 0.9))
    opt_q = torch.optim.SparseAdam([q], lr=0.1, betas=(0.8, 0.9))
    idx = torch.tensor([0, 2])
    for g in ([[1.0, -2.0], [0.5, 3.0]], [[2.0, 1.0], [-1.0, 0.1]], [[0.3, 0.3], [4.0, -4.0]]):
        grad = torch.tensor(g)
        _train.adam_rows(opt_p, p, idx, grad)
        q.grad = torch.sparse_coo_tensor(idx[None], grad, (3, 2), check_invariants=True)
        opt_q.step()  # type: ignore[no-untyped-call]
        torch.testing.assert_close(p.detach(), q.detach())


def test_an_epoch_without_pairs_has_loss_zero() -> None:
    # kills: the epoch mean without its guard (a ZeroDivisionError)
    m = _Rows()
    empty = sp.csr_matrix((3, 12), dtype=np.float32)
    losses = fit_pairwise(
        m,
        TripleSampler(empty),
        epochs=2,
        batch_size=4,
        lr=0.1,
        rng=np.random.default_rng(0),
        device=CPU,
        desc="t",
    )
    assert losses == [0.0, 0.0] and m.seen == []


# -- the sampler -------------------------------------------------------------------------


def test_negatives_are_redrawn_until_they_miss_the_users_items() -> None:
    # every user saw one of two items: a first draw hits it half the time, and ten
    # more rounds leave about 1 in 2,000 -- kills: one round only, the re-drawn rows
    # taken by their place among the bad ones instead of in the epoch
    seen = sp.csr_matrix(np.eye(2, dtype=np.float32)[np.arange(600) % 2])
    sampler = TripleSampler(seen)
    u, i, j = sampler.epoch(np.random.default_rng(0))
    assert np.sum(i == j) <= 3
    np.testing.assert_array_equal(i, u % 2)


def test_negatives_come_from_the_pool_given() -> None:
    # kills: the pool's positions taken for items (first draw or re-draw)
    seen = sp.csr_matrix(np.eye(10, dtype=np.float32)[[7, 8, 7, 8, 1, 7]])
    pool = np.array([7, 8, 9])
    sampler = TripleSampler(seen, negatives=pool)
    for seed in range(5):
        _u, i, j = sampler.epoch(np.random.default_rng(seed))
        assert set(j.tolist()) <= {7, 8, 9}
        assert set(j[i == 7].tolist()) <= {8, 9} and set(j[i == 8].tolist()) <= {7, 9}


def test_an_epoch_is_every_pair_once_shuffled() -> None:
    # kills: the pairs taken in the matrix's order (the permutation drawn but unused)
    seen = _seen(20, 15, 4)
    sampler = TripleSampler(seen)
    assert len(sampler) == seen.nnz
    coo = seen.tocoo()
    u, i, _ = sampler.epoch(np.random.default_rng(0))
    pairs = sorted(zip(u.tolist(), i.tolist(), strict=True))
    assert pairs == sorted(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    assert not np.array_equal(u, coo.row)


def test_a_pair_is_keyed_by_the_catalogue_width() -> None:
    # keys u * n_items + i; with the users' count (2) the pair (0, 2) took (1, 0)'s key
    # and user 0 could never draw items 2-4 -- kills: n_items read from the row count
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=np.float32))
    sampler = TripleSampler(seen)
    uu, jj = np.meshgrid(np.arange(2), np.arange(5), indexing="ij")
    found = sampler._is_pos(uu.ravel(), jj.ravel()).reshape(2, 5)
    np.testing.assert_array_equal(found, seen.toarray() > 0)
    drawn: set[int] = set()
    for seed in range(30):
        u, _, j = sampler.epoch(np.random.default_rng(seed))
        drawn |= set(j[u == 0].tolist())
    assert drawn == {1, 2, 3, 4}
