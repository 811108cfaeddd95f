"""The PyTorch side of BPR and VBPR: their modules and fits.

Imported only when a model is fitted: scoring and recommending with a saved model is
plain NumPy, so ``visrec recommend`` never loads torch (about 1.3 s of start-up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# torch.optim's first optimizer imports torch._dynamo (about 1.5 s): here, so that it
# is part of loading the fit backend (``load_fit_backend``), not of the first fit's time
import torch._dynamo
import torch.nn.functional as F

from visrec.models._train import (
    TripleSampler,
    adam_rows,
    fit_device,
    fit_pairwise,
    rows,
    sum_rows,
    summed_at,
)

__all__ = ["fit_bpr_factors", "fit_vbpr_terms"]


def fit_bpr_factors(
    seen: Any,
    *,
    factors: int,
    epochs: int,
    lr: float,
    reg: float,
    batch_size: int,
    init_std: float,
    device: str | None,
    rng: np.random.Generator,
    verbose: bool = False,
    desc: str = "bpr",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train BPR-MF on the binary matrix ``seen`` (n_users, n_items).

    Returns user factors ``(n_users, factors)``, item factors ``(n_items, factors)`` and
    item biases ``(n_items,)``, all float32. ``desc`` names the progress bar and the
    checkpoint: two fits within one model need two names.
    """
    n_users, n_items = seen.shape
    dev = fit_device(device)
    module = _BPRModule(
        rng.normal(0, init_std, (n_users, factors)),
        rng.normal(0, init_std, (n_items, factors)),
        reg,
    )
    fit_pairwise(
        module,
        TripleSampler(seen),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        rng=rng,
        device=dev,
        desc=desc,
        verbose=verbose,
    )
    with torch.no_grad():
        return (
            module.user.detach().cpu().numpy().astype(np.float32),
            module.item.detach().cpu().numpy().astype(np.float32),
            module.bias.detach().cpu().numpy().astype(np.float32).ravel(),
        )


class _BPRModule(torch.nn.Module):
    # looked up row by row: lazy (sparse) Adam when they are large, see _train._lazy_rows
    row_tables = ("user", "item", "bias")
    lazy_rows = False

    def __init__(self, user: np.ndarray, item: np.ndarray, reg: float) -> None:
        super().__init__()
        self.user = torch.nn.Parameter(torch.tensor(user, dtype=torch.float32))
        self.item = torch.nn.Parameter(torch.tensor(item, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.zeros((item.shape[0], 1), dtype=torch.float32))
        self.reg = reg

    def forward(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lazy = self.lazy_rows
        pu, qi, qj = rows(self.user, u, lazy), rows(self.item, i, lazy), rows(self.item, j, lazy)
        bi, bj = rows(self.bias, i, lazy)[:, 0], rows(self.bias, j, lazy)[:, 0]
        x = bi - bj + (pu * (qi - qj)).sum(dim=1)
        penalty = (
            self.reg * ((pu**2).sum(1) + (qi**2).sum(1) + (qj**2).sum(1) + bi**2 + bj**2).mean()
        )
        return x, penalty

    def lazy_step(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, opts: list[torch.optim.Optimizer]
    ) -> float:
        """One batch on the lazy path (``_train.fit_pairwise``): the gradients of
        ``forward``'s loss written out, then ``SparseAdam``'s update of the rows the
        batch touched (``adam_rows``). Returns the batch's mean loss."""
        (opt,) = opts
        with torch.no_grad():
            mf = _MFRows(self, u, i, j)
            x = mf.free
            loss = float(-F.logsigmoid(x).mean() + self.reg * mf.sq.mean())
            # d loss / d x = -sigmoid(-x) / b
            g = (torch.sigmoid(-x) * (-1.0 / len(x)))[:, None]
            mf.step(opt, self, g, self.reg)
        return loss


class _MFRows:
    """One batch's rows of the matrix-factorisation terms (user and item factors, item
    biases) for the hand-written lazy steps of BPR and VBPR: ``free`` is
    ``b_i - b_j + p_u . (q_i - q_j)``, ``sq`` each triple's squared norms."""

    def __init__(self, module: Any, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> None:
        # the parameters' data: these steps are their own backward, autograd stays out
        self.u, self.both = u, torch.cat([i, j])
        # the batch's distinct items, and where each of i then j stands among them
        self.items, self.at = torch.unique(self.both, return_inverse=True)
        self.pu = module.user.detach().index_select(0, u)
        self.qi, self.qj = module.item.detach().index_select(0, self.both).split(len(i))
        self.bi, self.bj = module.bias.detach().index_select(0, self.both)[:, 0].split(len(i))
        self.diff = self.qi - self.qj
        self.free = self.bi - self.bj + (self.pu * self.diff).sum(1)
        pu, qi, qj, bi, bj = self.pu, self.qi, self.qj, self.bi, self.bj
        self.sq = (pu * pu).sum(1) + (qi * qi).sum(1) + (qj * qj).sum(1) + bi * bi + bj * bj

    def step(self, opt: torch.optim.Optimizer, module: Any, g: torch.Tensor, reg: float) -> None:
        """``adam_rows`` on ``module.user``, ``.item`` and ``.bias`` with ``g`` (b, 1) =
        d loss / d free, plus the penalty's ``2 reg / b`` times each row."""
        r2 = 2.0 * reg / len(g)
        adam_rows(opt, module.user, *sum_rows(self.u, g * self.diff + r2 * self.pu))
        g_pu = g * self.pu
        grad_q = torch.cat([g_pu + r2 * self.qi, r2 * self.qj - g_pu])
        grad_b = torch.cat([g[:, 0] + r2 * self.bi, r2 * self.bj - g[:, 0]])[:, None]
        for table, grad in ((module.item, grad_q), (module.bias, grad_b)):
            adam_rows(opt, table, self.items, summed_at(self.at, len(self.items), grad))


def fit_vbpr_terms(
    feats: np.ndarray,
    seen: Any,
    *,
    factors: int,
    visual_factors: int,
    init_std: float,
    reg: float,
    reg_visual: float,
    epochs: int,
    finetune_epochs: int,
    item_dropout: float,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    device: str | None,
    desc: str,
    verbose: bool = False,
) -> dict[str, np.ndarray]:
    """Train VBPR on the binary matrix ``seen`` and the training features ``feats``
    (n_items, d): ``epochs`` with item dropout (both items' free terms switched off
    with probability ``item_dropout``), then ``finetune_epochs`` of the free terms
    alone with ``theta_u``, ``E`` and ``beta'`` frozen.

    Returns float32 arrays ``user``, ``item``, ``bias`` (n_items,), ``user_visual``,
    ``proj`` (d, visual_factors) and ``visual_bias`` (d,). ``rng`` is drawn from in a
    fixed order (initial values, then the sampler and dropout), so a fit is repeatable.
    """
    n_users, n_items = seen.shape
    dev = fit_device(device)
    k, k2, d = factors, visual_factors, feats.shape[1]
    module = _VBPRModule(
        feats,
        rng.normal(0, init_std, (n_users, k)),
        rng.normal(0, init_std, (n_items, k)),
        rng.normal(0, init_std, (n_users, k2)),
        rng.normal(0, init_std, (d, k2)),
        reg,
        reg_visual,
    )
    sampler = TripleSampler(seen)

    def train(n_epochs: int, name: str, drop: Callable[[int], np.ndarray]) -> None:
        fit_pairwise(
            module,
            sampler,
            epochs=n_epochs,
            batch_size=batch_size,
            lr=lr,
            rng=rng,
            device=dev,
            desc=name,
            extra={"drop": drop},
            verbose=verbose,
        )

    p = item_dropout
    train(epochs, desc, lambda m: (rng.random(m) < p).astype(np.float32))
    if finetune_epochs > 0:
        for frozen in (module.user_visual, module.proj, module.visual_bias):
            frozen.requires_grad_(False)
        # no dropout, and no draws: the sampler alone moves the generator
        train(finetune_epochs, f"{desc}-finetune", lambda m: np.zeros(m, np.float32))
    with torch.no_grad():
        return {
            "user": _np(module.user),
            "item": _np(module.item),
            "bias": _np(module.bias).ravel(),
            "user_visual": _np(module.user_visual),
            "proj": _np(module.proj),
            "visual_bias": _np(module.visual_bias),
        }


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


class _VBPRModule(torch.nn.Module):
    # looked up row by row: lazy (sparse) Adam when they are large, see
    # _train._lazy_rows; proj and visual_bias always get dense Adam
    row_tables = ("user", "item", "bias", "user_visual")
    lazy_rows = False

    def __init__(
        self,
        feats: np.ndarray,
        user: np.ndarray,
        item: np.ndarray,
        user_visual: np.ndarray,
        proj: np.ndarray,
        reg: float,
        reg_visual: float,
    ) -> None:
        super().__init__()
        f32 = torch.float32
        self.feats: torch.Tensor
        self.register_buffer("feats", torch.tensor(feats, dtype=f32))
        self.user = torch.nn.Parameter(torch.tensor(user, dtype=f32))
        self.item = torch.nn.Parameter(torch.tensor(item, dtype=f32))
        self.bias = torch.nn.Parameter(torch.zeros((item.shape[0], 1), dtype=f32))
        self.user_visual = torch.nn.Parameter(torch.tensor(user_visual, dtype=f32))
        self.proj = torch.nn.Parameter(torch.tensor(proj, dtype=f32))
        self.visual_bias = torch.nn.Parameter(torch.zeros(feats.shape[1], dtype=f32))
        self.reg = reg
        self.reg_visual = reg_visual
        # not a buffer: a cache, kept out of the state a checkpoint saves
        self._frozen_z: torch.Tensor | None = None

    def forward(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, drop: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lazy = self.lazy_rows
        pu, qi, qj = rows(self.user, u, lazy), rows(self.item, i, lazy), rows(self.item, j, lazy)
        bi, bj = rows(self.bias, i, lazy)[:, 0], rows(self.bias, j, lazy)[:, 0]
        tu = rows(self.user_visual, u, lazy)
        # [E f, beta' . f] once per distinct item of the batch (popular items recur
        # often), instead of gathering and projecting 2 x batch feature rows
        if self.proj.requires_grad:
            both = torch.cat([i, j])
            uniq, inv = torch.unique(both, return_inverse=True)
            z = self.feats[uniq] @ torch.cat([self.proj, self.visual_bias[:, None]], dim=1)
            dz = z[inv[: len(i)]] - z[inv[len(i) :]]
        else:  # fine-tuning: E and beta' are frozen, so project every item once
            if self._frozen_z is None:
                with torch.no_grad():
                    self._frozen_z = self.feats @ torch.cat(
                        [self.proj, self.visual_bias[:, None]], dim=1
                    )
            dz = self._frozen_z[i] - self._frozen_z[j]
        free = (bi - bj + (pu * (qi - qj)).sum(1)) * (1.0 - drop)
        x = free + (tu * dz[:, :-1]).sum(1) + dz[:, -1]
        penalty = self.reg * (
            (pu**2).sum(1) + (qi**2).sum(1) + (qj**2).sum(1) + bi**2 + bj**2 + (tu**2).sum(1)
        ).mean() + self.reg_visual * ((self.proj**2).sum() + (self.visual_bias**2).sum())
        return x, penalty

    def lazy_step(
        self,
        u: torch.Tensor,
        i: torch.Tensor,
        j: torch.Tensor,
        opts: list[torch.optim.Optimizer],
        drop: torch.Tensor,
    ) -> float:
        """One batch on the lazy path (``_train.fit_pairwise``): ``forward``'s loss and
        its gradients written out; ``SparseAdam``'s update of the rows the batch touched
        (``adam_rows``) and, while ``E`` and ``beta'`` train, Adam on them (``opts[1]``).
        Returns the batch's mean loss."""
        n = len(u)
        with torch.no_grad():
            mf = _MFRows(self, u, i, j)
            proj, visual_bias = self.proj.detach(), self.visual_bias.detach()
            tu = self.user_visual.detach().index_select(0, u)
            visual = self.proj.requires_grad  # False while fine-tuning
            if visual:  # [E f, beta' . f] once per distinct item, as in forward
                f = self.feats.index_select(0, mf.items)
                z = f @ torch.cat([proj, visual_bias[:, None]], dim=1)
                at_i, at_j = mf.at.split(n)
                dz = z.index_select(0, at_i) - z.index_select(0, at_j)
            else:
                if self._frozen_z is None:
                    self._frozen_z = self.feats @ torch.cat([proj, visual_bias[:, None]], dim=1)
                dz = self._frozen_z.index_select(0, i) - self._frozen_z.index_select(0, j)
            keep = 1.0 - drop
            x = mf.free * keep + (tu * dz[:, :-1]).sum(1) + dz[:, -1]
            sq = mf.sq + (tu * tu).sum(1)
            visual_sq = (proj * proj).sum() + (visual_bias * visual_bias).sum()
            loss = float(
                -F.logsigmoid(x).mean() + self.reg * sq.mean() + self.reg_visual * visual_sq
            )
            # d loss / d x = -sigmoid(-x) / b; the penalty adds 2 reg / b times each row
            g = (torch.sigmoid(-x) * (-1.0 / n))[:, None]
            sparse = opts[0]
            mf.step(sparse, self, g * keep[:, None], self.reg)
            r2 = 2.0 * self.reg / n
            if self.user_visual.requires_grad:
                adam_rows(sparse, self.user_visual, *sum_rows(u, g * dz[:, :-1] + r2 * tu))
            if visual:
                g_dz = g * torch.cat([tu, tu.new_ones((n, 1))], dim=1)
                g_z = summed_at(mf.at, len(mf.items), torch.cat([g_dz, -g_dz]))
                g_w = f.T @ g_z
                r2v = 2.0 * self.reg_visual
                self.proj.grad = g_w[:, :-1] + r2v * proj
                self.visual_bias.grad = g_w[:, -1] + r2v * visual_bias
                opts[1].step()
        return loss
