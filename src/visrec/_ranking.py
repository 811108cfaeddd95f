"""The one top-k routine behind ``models.base.top_n`` and ``evaluation.metrics.top_k``,
and the one hit / Recall@K rule behind the metrics and the models' validation scores.

It lives at the package root because both the models (lower layer) and the metrics
(upper layer) use it, and the models must not import the evaluation package.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def top_candidates(
    scores: np.ndarray, n: int, exclude: np.ndarray | None = None, *, masked: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` best candidates per row, best first.

    One rule: entries where ``exclude`` is True are never returned; every other entry is
    a candidate, ranked by score (higher first, ``-inf`` last) and then by the lower
    index, so results are deterministic. Rows with fewer than ``n`` candidates are padded
    with index -1 and value -inf.

    Parameters
    ----------
    scores : ndarray of float, shape (n_rows, n_cols)
        No NaN (callers check or own that).
    n : int
        List length, positive (callers check it and word the error).
    exclude : ndarray of bool, shape (n_rows, n_cols), optional
        Default: the entries equal to ``-inf`` (the scores carry the exclusion).
    masked : bool, default False
        The caller already set ``scores`` to ``-inf`` where ``exclude`` is True (one
        pass over a large block saved).

    Returns
    -------
    idx : ndarray of int64, shape (n_rows, n)
    vals : ndarray of float64, shape (n_rows, n)
    """
    n_rows, n_cols = scores.shape
    k = min(n, n_cols)
    out_idx = np.full((n_rows, n), -1, dtype=np.int64)
    out_val = np.full((n_rows, n), -np.inf, dtype=np.float64)
    if k == 0 or n_rows == 0:
        return out_idx, out_val
    # Excluded entries sink to -inf. Where they tie with -inf candidates, the exclusion
    # flag ranks them below (``exclude`` given); by default they *are* the -inf entries,
    # so the scores alone order everything and no full-size mask is built.
    key = scores
    if exclude is not None and not masked and exclude.any():
        key = np.where(exclude, -np.inf, scores)
    if k < n_cols:
        # the k largest, without a negated copy of the block
        part = np.argpartition(key, n_cols - k, axis=1)[:, n_cols - k :]
        # argpartition picks arbitrary members of a tie at the k-th place; redo those
        # rows with a full (stable) sort so the lowest indices win and results never
        # depend on the partition algorithm
        kth = np.take_along_axis(key, part, axis=1).min(axis=1)
        tied = np.flatnonzero((key >= kth[:, None]).sum(axis=1) > k)
        if len(tied):
            if exclude is None:
                part[tied] = np.argsort(-key[tied], axis=1, kind="stable")[:, :k]
            else:  # lexsort is stable too; the flag puts excluded below -inf candidates
                part[tied] = np.lexsort((-key[tied], exclude[tied]), axis=1)[:, :k]
    else:
        part = np.tile(np.arange(n_cols), (n_rows, 1))
    vals = np.take_along_axis(key, part, axis=1)
    if exclude is None:
        order = np.lexsort((part, -vals), axis=1)
    else:
        order = np.lexsort((part, -vals, np.take_along_axis(exclude, part, axis=1)), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    dropped = np.isneginf(vals) if exclude is None else np.take_along_axis(exclude, idx, axis=1)
    out_idx[:, :k] = np.where(dropped, -1, idx)
    out_val[:, :k] = vals
    return out_idx, out_val


def hits_in_top(top: np.ndarray, relevant: Any) -> np.ndarray:
    """``(n_rows, n)`` bool: whether each listed index is relevant in its row; the
    padding index -1 is never a hit (it would read the last column). ``relevant``: a
    dense bool array, or a scipy CSR matrix (read at the listed entries only: no dense
    rows x items block, which for validation's 1,024 users of a 200,000-item catalogue
    cost seconds and a gigabyte per block).

    The one hit rule behind ``evaluation.metrics`` and the models' validation scores.
    """
    valid = top >= 0
    if relevant.shape[1] == 0:
        # no candidates: every slot is padding, and column 0, read for it, is not there
        return np.zeros(top.shape, dtype=bool)
    cols = np.where(valid, top, 0)
    if isinstance(relevant, np.ndarray):
        return np.asarray(np.take_along_axis(relevant, cols, axis=1) & valid)
    rows = np.broadcast_to(np.arange(top.shape[0])[:, None], top.shape)
    got = relevant[rows.ravel(), cols.ravel()]  # np.matrix, or sparse in newer scipy
    read: np.ndarray = got.toarray() if hasattr(got, "toarray") else np.asarray(got)
    hits: np.ndarray = (read.ravel() != 0).reshape(top.shape) & valid
    return hits


def recall_rows(top: np.ndarray, relevant: Any) -> np.ndarray:
    """Recall@n per row, hits / ``min(n, |relevant|)`` (``visrec evaluate``'s
    definition); NaN for rows with no relevant item. ``relevant`` as ``hits_in_top``
    takes it."""
    if isinstance(relevant, np.ndarray):
        rel = relevant.astype(bool, copy=False)
        n_rel = rel.sum(axis=1)
    else:  # CSR: its stored entries per row
        rel, n_rel = relevant, np.diff(relevant.indptr)
    hits = hits_in_top(top, rel).sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, hits / np.maximum(np.minimum(n_rel, top.shape[1]), 1), np.nan)
