"""Shared helpers for the models: device choice, vectorised triple sampling, feature
scaling and ridge regression.

Everything random takes a ``numpy.random.Generator`` made from the model's
``random_state``; nothing seeds global state.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from visrec import _progress_lines
from visrec.errors import NotFittedError, VisrecError
from visrec.models import _checkpoint

if TYPE_CHECKING:
    import torch


def fit_device(device: str | None) -> torch.device:
    """``None``/``"auto"`` -> CUDA when torch sees a GPU, else CPU; ``"cpu"``, ``"cuda"``,
    ``"cuda:N"`` as given; anything else, or CUDA without a GPU, raises ``VisrecError``
    (the same rules as ``visrec embed --device``: ``visrec._device``)."""
    import torch

    from visrec._device import torch_device

    return torch.device(torch_device(device))


class TripleSampler:
    """Draws BPR triples ``(user, positive item, negative item)``.

    Positives are drawn uniformly from the training pairs (so active users count more,
    as in the original BPR); negatives uniformly from ``negatives`` (default: all items)
    and re-drawn while they hit one of the user's positives.

    Parameters
    ----------
    seen : csr_matrix of shape (n_users, n_items)
        Binary user x item training matrix (duplicates already collapsed).
    negatives : ndarray of int, optional
        Item indices negatives are drawn from.
    """

    def __init__(self, seen: sp.csr_matrix, negatives: np.ndarray | None = None) -> None:
        coo = seen.tocoo()
        self.n_items = seen.shape[1]
        self.users = coo.row.astype(np.int64)
        self.items = coo.col.astype(np.int64)
        self.keys = np.sort(self.users * self.n_items + self.items)
        self.negatives = (
            np.arange(self.n_items, dtype=np.int64)
            if negatives is None
            else np.asarray(negatives, dtype=np.int64)
        )
        if len(self.negatives) == 0:
            raise VisrecError("no items to draw negatives from")

    def __len__(self) -> int:
        return len(self.users)

    def _is_pos(self, u: np.ndarray, j: np.ndarray) -> np.ndarray:
        key = u * self.n_items + j
        pos = np.searchsorted(self.keys, key)
        pos = np.minimum(pos, len(self.keys) - 1)
        found: np.ndarray = self.keys[pos] == key
        return found

    def epoch(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch: every training pair once (shuffled) with a fresh negative each."""
        order = rng.permutation(len(self.users))
        u, i = self.users[order], self.items[order]
        j = self.negatives[rng.integers(0, len(self.negatives), size=len(u))]
        # a few rounds of rejection; the rare leftovers (users who saw almost everything)
        # stay as they are, which only adds a little noise to the gradient
        bad = np.flatnonzero(self._is_pos(u, j))
        for _ in range(10):
            if len(bad) == 0:
                break
            j[bad] = self.negatives[rng.integers(0, len(self.negatives), size=len(bad))]
            bad = bad[self._is_pos(u[bad], j[bad])]  # re-check only the re-drawn ones
        return u, i, j


class FeatureScaler:
    """Standardises image vectors: per-dimension centring, optionally a projection on the
    leading principal components, then one global scale so the rows' root-mean-square
    norm is 1. Fitted on the rows given (callers pass training items with an image only).

    Parameters
    ----------
    n_components : int or None, default None
        Keep this many principal components (fewer when there are fewer rows); None, or
        a value >= the input dimension, keeps every dimension unprojected.
    dtype : numpy dtype, default float32
        Dtype of ``mean_`` and of what ``transform`` returns.

    Attributes
    ----------
    mean_ : ndarray of shape (d,)
    components_ : ndarray of shape (n_components, d) or None
    scale_ : float
    """

    def __init__(self, n_components: int | None = None, dtype: npt.DTypeLike = np.float32) -> None:
        self.n_components = n_components
        self.dtype = dtype
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.scale_: float = 1.0

    def fit(self, vectors: np.ndarray, mask: np.ndarray | None = None) -> FeatureScaler:
        """Learn the statistics from ``vectors (n, d)``, or from its rows where ``mask``."""
        rows = vectors if mask is None else vectors[mask]
        if len(rows) == 0:
            raise VisrecError("no item has an image vector: cannot fit on vectors")
        self.mean_ = rows.mean(axis=0).astype(self.dtype)
        if mask is None or rows.dtype != np.result_type(rows, self.mean_):
            centred = rows - self.mean_
        else:  # rows is already a copy: centre it in place (one copy of a large set less)
            centred = rows
            centred -= self.mean_
        self.components_ = None
        if self.n_components is not None and int(self.n_components) < rows.shape[1]:
            # the leading principal components carry most of the variance, cost a
            # fraction of the full width downstream, and are less to overfit
            from sklearn.utils.extmath import randomized_svd

            from visrec._blas_threads import one_blas_thread

            k = min(int(self.n_components), len(rows))
            with one_blas_thread():
                _, _, self.components_ = randomized_svd(centred, k, random_state=0)
            centred = centred @ self.components_.T
        # row norms in float64, a block of rows at a time (not a float64 copy of all)
        sq = np.concatenate(
            [
                (centred[s : s + _ROWS].astype(np.float64) ** 2).sum(axis=1)
                for s in range(0, len(centred), _ROWS)
            ]
        )
        norm = float(np.sqrt(sq.mean()))
        self.scale_ = norm if norm > 0 else 1.0
        return self

    def transform(self, vectors: np.ndarray, has_image: np.ndarray | None = None) -> np.ndarray:
        """Centre, project and scale ``vectors (m, d)``.

        Rows without an image map to 0, the neutral (average-looking) feature, instead
        of to ``-mean``. ``has_image`` defaults to the rows that are not all zero, which
        is how a vector store marks "no image".
        """
        if self.mean_ is None:
            raise NotFittedError("FeatureScaler is not fitted yet: call fit() first")
        if vectors.shape[1] != len(self.mean_):
            raise VisrecError(
                f"vectors have dimension {vectors.shape[1]}, the model was trained on "
                f"{len(self.mean_)}-d vectors (use the same backbone)"
            )
        centred = vectors - self.mean_
        if self.components_ is not None:
            centred = centred @ self.components_.T
        centred /= self.scale_  # centred is this call's own array: no second copy
        out: np.ndarray = centred.astype(self.dtype, copy=False)
        out[~(vectors.any(axis=1) if has_image is None else has_image)] = 0.0
        return out

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean (d,), [scale])`` as float32, the form models save (``feature_mean_``,
        ``feature_scale_``); see :meth:`from_arrays`. Projected scalers are not saved."""
        if self.mean_ is None:
            raise NotFittedError("FeatureScaler is not fitted yet: call fit() first")
        if self.components_ is not None:
            raise VisrecError("to_arrays: a projected FeatureScaler has no array form")
        return (
            np.asarray(self.mean_, dtype=np.float32),
            np.asarray([self.scale_], dtype=np.float32),
        )

    @classmethod
    def from_arrays(cls, mean: np.ndarray, scale: np.ndarray) -> FeatureScaler:
        """The fitted scaler that :meth:`to_arrays` returned the state of."""
        scaler = cls()
        scaler.mean_ = np.asarray(mean, dtype=np.float32)
        scaler.scale_ = float(np.asarray(scale).ravel()[0])
        return scaler


def power_normalise(vectors: np.ndarray) -> np.ndarray:
    """Signed square root, then unit L2 norm per row; all-zero rows ("no image") stay zero.

    Pooled CNN features are heavy-tailed (a few channels dominate); the square root
    evens them out and the L2 norm removes image-level contrast. On ML-100K posters it
    raised visual-cf's cold-start Recall@20 on every split tried (see docs/models.md).
    """
    # in one buffer: a catalogue's matrix is gigabytes, and each temporary was a copy
    out = np.abs(vectors, dtype=np.float32)
    np.sqrt(out, out=out)
    out *= np.sign(vectors)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norm == 0, 1.0, norm)
    unit: np.ndarray = out
    return unit


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept.

    Parameters
    ----------
    x : ndarray of shape (n, d)
    y : ndarray of shape (n, t)
    alpha : float
        L2 penalty on the weights.

    Returns
    -------
    weights : ndarray of shape (d, t)
    intercept : ndarray of shape (t,)
    """
    n, d = x.shape
    if n >= d and n * d > _RIDGE_IN_ONE:
        return _ridge_in_blocks(x, y, alpha)
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - xm, y - ym
    if n < d:  # dual form is cheaper when there are fewer samples than dimensions
        k = xc @ xc.T
        a = np.linalg.solve(k + alpha * np.eye(n), yc)
        w = xc.T @ a
    else:
        w = np.linalg.solve(xc.T @ xc + alpha * np.eye(d), xc.T @ yc)
    return w.astype(np.float32), (ym - xm @ w).astype(np.float32)


#: rows of a float32 block turned into float64 at a time (84 MB at 1280 dimensions)
_ROWS = 8192
#: above this many entries, ridge builds X'X block by block: two float64 copies of a
#: 150,000 x 1280 feature matrix were 3 GB (smaller inputs keep the one-step sums, and
#: so their results to the last bit)
_RIDGE_IN_ONE = 50_000_000


def _ridge_in_blocks(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``ridge``'s primal form with ``X'X`` and ``X'y`` summed over blocks of rows."""
    n, d = x.shape
    xm = x.mean(axis=0, dtype=np.float64)
    ym = y.mean(axis=0, dtype=np.float64)
    xtx = np.zeros((d, d))
    xty = np.zeros((d, y.shape[1]))
    for s in range(0, n, _ROWS):
        xc = x[s : s + _ROWS].astype(np.float64) - xm
        xtx += xc.T @ xc
        xty += xc.T @ (y[s : s + _ROWS].astype(np.float64) - ym)
    w = np.linalg.solve(xtx + alpha * np.eye(d), xty)
    return w.astype(np.float32), (ym - xm @ w).astype(np.float32)


def rows(table: torch.Tensor, idx: torch.Tensor, sparse: bool) -> torch.Tensor:
    """``table[idx]``; with ``sparse`` the gradient is sparse (for lazy Adam, see
    ``_lazy_rows``)."""
    import torch.nn.functional as F

    return F.embedding(idx, table, sparse=sparse)


def fit_pairwise(
    module: torch.nn.Module,
    sampler: TripleSampler,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    device: torch.device,
    desc: str,
    extra: dict[str, Callable[[int], np.ndarray]] | None = None,
    verbose: bool = False,
) -> list[float]:
    """Minibatch Adam on the BPR loss.

    ``module(u, i, j, **batch_extra)`` returns ``(x_uij, penalty)``: the score differences
    of shape ``(b,)`` and a scalar regularisation term. ``extra`` maps a keyword to a
    function ``n -> ndarray (n,)`` called once per epoch (e.g. drop flags drawn from the
    caller's generator); its slices are passed to the module. Returns the mean loss per
    epoch.

    A module may name its per-row parameters (user/item factors and biases) in a
    ``row_tables`` class attribute; it must then look them up only through
    ``rows(table, idx, self.lazy_rows)``, because ``fit_pairwise`` sets ``lazy_rows`` to
    train large tables with lazy Adam, which needs sparse gradients (see
    :func:`_lazy_rows`). A module may also have ``lazy_step(u, i, j, opts, **batch_extra)
    -> loss``: one batch with its own gradients and :func:`adam_rows`, used instead of
    autograd on the lazy path.

    Inside a ``_checkpoint.checkpointing`` block the training state is saved now and
    then under the name ``desc``, and a saved state of the same key is resumed (see
    :mod:`visrec.models._checkpoint`). Inside a ``_progress_lines.fit_lines`` block a line
    tells the progress now and then (for logs, where no bar shows).
    """
    from visrec._bars import progress_bar

    module.to(device)
    lazy = _lazy_rows(module, batch_size)
    # the module's forward reads this to look its row tables up with sparse gradients
    setattr(module, "lazy_rows", lazy)  # noqa: B010 -- nn.Module typing rejects a bool
    opts = _optimizers(module, lr, lazy)
    losses: list[float] = []
    ckpt = _checkpoint.active()
    start = 0
    if ckpt is not None:
        start, losses = _checkpoint.restore_state(ckpt, desc, module, opts, rng, epochs)
        if start:
            ckpt.last[:] = [f"{_progress_lines.fit_name(desc)}, epoch {start} of {epochs}"]
    started = time.monotonic()
    _progress_lines.fit_started()
    bar = progress_bar(
        range(start, epochs),
        desc=_progress_lines.fit_name(desc),  # "bpr of visual-cf", as its log lines say
        unit="epoch",
        initial=start,
        total=epochs,
        show=verbose,
        leave=False,
    )
    with single_cpu_thread(device):
        for epoch in bar:
            _epoch(module, opts, sampler, rng, device, batch_size, extra, losses)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            _progress_lines.epoch_done(desc, epoch + 1, epochs, losses[-1], started)
            # the last epoch too: a finished stage of a fit with more (vbpr's fine-tuning,
            # visual-cf's second BPR) is then not redone by a resumed run
            if (
                ckpt is not None
                and "cannot save" not in ckpt.said  # a failed save is not retried per stage
                and time.monotonic() - ckpt.saved_at[0] >= ckpt.every_s
            ):
                if not _checkpoint.save_state(ckpt, desc, epoch + 1, module, opts, rng, losses):
                    ckpt = None  # said once; no retry every epoch
                else:
                    ckpt.saved_at[0] = time.monotonic()
                    said = f"{_progress_lines.fit_name(desc)}, epoch {epoch + 1} of {epochs}"
                    ckpt.last[:] = [said]
    return losses


# Lazy Adam pays off once the row tables are much larger than what a batch touches
# (at most 3 x batch_size rows per table): measured per batch of 1024 on one CPU thread,
# ML-100K (943 users, 1,682 items) dense Adam 2.2 ms vs lazy 3.4 ms; 30k users x 12k
# items dense 13.6 ms vs lazy 5.6 ms. GPUs were not measured, so they keep dense Adam.
LAZY_ROWS_PER_BATCH = 16


def _lazy_rows(module: torch.nn.Module, batch_size: int) -> bool:
    """Whether ``module``'s row tables should train with lazy Adam.

    The row tables (``module.row_tables``: user/item factors and biases) are looked up
    a few thousand rows per batch. Dense Adam updates every row at every step, so an
    epoch costs ``batches x rows`` (12 minutes for 80 BPR epochs at 30k users / 12k
    items / 596k pairs). Lazy Adam (``SparseAdam``) updates only the rows in the batch,
    which pays off on the CPU once the row tables hold more than
    ``LAZY_ROWS_PER_BATCH x batch_size`` rows in all (bias tables included); small
    tables train faster with dense Adam.
    """
    names = set(getattr(module, "row_tables", ()))
    tables = [p for n, p in module.named_parameters() if n in names]
    on_cpu = all(p.device.type == "cpu" for p in tables)
    return on_cpu and sum(p.shape[0] for p in tables) > LAZY_ROWS_PER_BATCH * batch_size


def sum_rows(idx: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(rows, *sums)``: the distinct values of ``idx`` and, for each of ``values``
    (shape ``(len(idx), ...)``), the sum of the rows that each one indexes, as a sparse
    gradient coalesces them."""
    import torch

    rows, inverse = torch.unique(idx, return_inverse=True)
    return (rows, *(summed_at(inverse, len(rows), v) for v in values))


def summed_at(at: torch.Tensor, n: int, values: torch.Tensor) -> torch.Tensor:
    """``(n, ...)``: row ``k`` is the sum of the ``values`` rows whose ``at`` is ``k``."""
    return values.new_zeros((n, *values.shape[1:])).index_add_(0, at, values)


def adam_rows(
    opt: torch.optim.Optimizer, param: torch.Tensor, rows: torch.Tensor, grad: torch.Tensor
) -> None:
    """One ``SparseAdam`` step on ``param``'s ``rows`` (distinct) with their gradient
    ``grad``, computed with dense index ops instead of sparse tensors.

    The arithmetic and the state (``step``, ``exp_avg``, ``exp_avg_sq`` in
    ``opt.state[param]``) are ``torch.optim.SparseAdam``'s, so a checkpoint is the same
    whichever of the two made it. ``param`` must be in ``opt`` (its lr, betas, eps).
    """
    import torch

    group = next(g for g in opt.param_groups if any(p is param for p in g["params"]))
    beta1, beta2 = group["betas"]
    state = opt.state[param]
    if not state:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(param)
        state["exp_avg_sq"] = torch.zeros_like(param)
    state["step"] += 1
    step = state["step"]
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    with torch.no_grad():
        old_avg = exp_avg.index_select(0, rows)
        avg_update = (grad - old_avg).mul_(1 - beta1)
        exp_avg.index_add_(0, rows, avg_update)
        old_sq = exp_avg_sq.index_select(0, rows)
        sq_update = grad.pow(2).sub_(old_sq).mul_(1 - beta2)
        exp_avg_sq.index_add_(0, rows, sq_update)
        numer = avg_update.add_(old_avg)
        denom = sq_update.add_(old_sq).sqrt_().add_(group["eps"])
        step_size = float(group["lr"]) * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        param.detach().index_add_(0, rows, numer.div_(denom).mul_(-step_size))


def _optimizers(module: torch.nn.Module, lr: float, lazy: bool) -> list[torch.optim.Optimizer]:
    """Adam on every trainable parameter, or (``lazy``) ``SparseAdam`` on the row
    tables and Adam on the rest (e.g. VBPR's ``E`` and ``beta'``). Frozen parameters
    (``requires_grad`` off, as in VBPR's fine-tuning) get no optimizer state."""
    import torch

    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not lazy:
        return [torch.optim.Adam([p for _, p in trainable], lr=lr)]
    names = set(getattr(module, "row_tables", ()))
    tables = [p for n, p in trainable if n in names]
    dense = [p for n, p in trainable if n not in names]
    opts: list[torch.optim.Optimizer] = [torch.optim.SparseAdam(tables, lr=lr)]
    if dense:
        opts.append(torch.optim.Adam(dense, lr=lr))
    return opts


@contextlib.contextmanager
def single_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run CPU training on one intra-op thread, restoring the setting afterwards.

    The per-batch ops are small, so extra threads buy nothing, and on a busy machine
    their spin-waiting made an epoch 8x slower (measured: 60 s vs 8 s per 2 BPR epochs
    on ML-100K with the 2 cores shared).
    """
    import torch

    if device.type != "cpu":
        yield
        return
    global _one_thread_fits, _threads_before
    # torch's thread count is the process's: with fits in several threads, the first
    # to start saves the host's count and the last to finish puts it back (each one
    # restoring what it saw left the host on 1 thread)
    with _THREADS_LOCK:
        if _one_thread_fits == 0:
            _threads_before = torch.get_num_threads()
            torch.set_num_threads(1)
        _one_thread_fits += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _one_thread_fits -= 1
            if _one_thread_fits == 0:
                torch.set_num_threads(_threads_before)


_THREADS_LOCK = threading.Lock()
_one_thread_fits = 0  # fits inside single_cpu_thread now
_threads_before = 0  # the count the first of them found


def _epoch(
    module: torch.nn.Module,
    opts: list[torch.optim.Optimizer],
    sampler: TripleSampler,
    rng: np.random.Generator,
    device: torch.device,
    batch_size: int,
    extra: dict[str, Callable[[int], np.ndarray]] | None,
    losses: list[float],
) -> None:
    import torch
    import torch.nn.functional as F

    # hand-written gradients and lazy Adam for the modules that have them (BPR, VBPR):
    # the autograd path with SparseAdam makes the same updates 1.5-1.7x slower
    lazy_step = getattr(module, "lazy_step", None) if getattr(module, "lazy_rows", False) else None
    u, i, j = sampler.epoch(rng)
    tu = torch.from_numpy(u).to(device)
    ti = torch.from_numpy(i).to(device)
    tj = torch.from_numpy(j).to(device)
    # drop flags etc. are drawn here so each epoch's randomness stays in one place
    tx = {k: torch.from_numpy(f(len(u))).to(device) for k, f in (extra or {}).items()}
    total = 0.0
    for start in range(0, len(u), batch_size):
        sl = slice(start, start + batch_size)
        if lazy_step is not None:
            batch_extra = {k: v[sl] for k, v in tx.items()}
            total += lazy_step(tu[sl], ti[sl], tj[sl], opts, **batch_extra) * len(tu[sl])
            continue
        x, penalty = module(tu[sl], ti[sl], tj[sl], **{k: v[sl] for k, v in tx.items()})
        loss = -F.logsigmoid(x).mean() + penalty
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in opts:
            opt.step()
        total += float(loss.detach()) * len(x)
    losses.append(total / max(len(u), 1))
