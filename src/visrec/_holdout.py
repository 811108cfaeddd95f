"""The per-user hold-out rule behind ``evaluation.protocols.warm_split`` and the inner
validation split of ``reg="auto"`` (``models._auto_reg``).

It lives at the package root because both the evaluation protocols (upper layer) and
the models (lower layer) use it, and the models must not import the evaluation package.
"""

from __future__ import annotations

import numpy as np


def per_user_holdout(
    user_codes: np.ndarray, n_users: int, ratio: float, rng: np.random.Generator
) -> np.ndarray:
    """Which rows to hold out: per user ``round(ratio * n)`` random rows of their ``n``,
    at least 1 and never all of them (a user with one row keeps it).

    Parameters
    ----------
    user_codes : ndarray of int, shape (n_rows,)
        Each row's user, ``0 .. n_users - 1``, in any order.
    n_users : int
    ratio : float
    rng : Generator
        Draws one uniform number per row (and nothing else).

    Returns
    -------
    ndarray of bool, shape (n_rows,)
    """
    counts = np.bincount(user_codes, minlength=n_users)
    n_out = np.clip(np.rint(ratio * counts).astype(np.int64), 1, None)
    n_out = np.where(counts >= 2, np.minimum(n_out, counts - 1), 0)
    # a random position of each row within its user: sort by (user, random key)
    order = np.lexsort((rng.random(len(user_codes)), user_codes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(user_codes), dtype=np.int64)
    pos[order] = np.arange(len(user_codes)) - starts[user_codes[order]]
    return np.asarray(pos < n_out[user_codes])
