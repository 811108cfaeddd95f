"""Argument checks shared by the analysis functions' Python API: one line naming the
mistake, not a TypeError from numpy or scikit-learn."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from visrec.embed.store import ItemVectors, usable_rows
from visrec.errors import VisrecError


def vector_matrix(vectors: Any, where: str, dtype: type[np.floating[Any]]) -> np.ndarray:
    """``vectors`` as an array; an ``ItemVectors`` is refused with how to pass it (its
    rows must line up with labels or ratings, which only the caller knows)."""
    if isinstance(vectors, ItemVectors):
        raise VisrecError(
            f"{where}: pass the (n, d) array of vectors (item_vectors.align(ids)[0], in "
            "the order of the labels or ratings), not the ItemVectors"
        )
    try:
        return np.asarray(vectors, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise VisrecError(f"{where}: vectors must be an (n, d) array of numbers ({exc})") from exc


def unusable_rows(values: np.ndarray) -> str:
    """Which rows of a 1-D array hold NaN or infinity, or of a 2-D array of vectors are
    not :func:`~visrec.embed.store.usable_rows` (huge values too: the rule of the CLI and
    the models), for a message: ``"row 17 (3 rows in all)"``; empty when none."""
    ok = np.isfinite(values) if values.ndim == 1 else usable_rows(values)
    bad = np.flatnonzero(~ok)
    if not len(bad):
        return ""
    return f"row {int(bad[0])}" + (f" ({len(bad):,} rows in all)" if len(bad) > 1 else "")


def missing_labels(labels: np.ndarray) -> list[int]:
    """The positions of ``labels`` (an object array) holding no label: None, NaN of any
    float type, pandas' NA and NaT (``str`` would make 'nan' a label of its own)."""
    import pandas as pd

    return [
        j for j, v in enumerate(labels) if v is None or (pd.api.types.is_scalar(v) and pd.isna(v))
    ]


def integer_arg(value: object, what: str) -> int:
    """``value`` as an int: a float such as 2.5 would be truncated or fail deep inside."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise VisrecError(f"{what} must be an integer, got {value!r}")


def seed_arg(value: object, what: str = "random_state") -> int:
    """A seed as scikit-learn takes it, ``0 .. 2**32 - 1``: outside, its own error type
    (no VisrecError) came from deep inside K-means or the split."""
    seed = integer_arg(value, what)
    if not 0 <= seed <= 2**32 - 1:
        raise VisrecError(f"{what} must be between 0 and {2**32 - 1}, got {seed}")
    return seed


def row_hashes(x: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of ``x`` (pandas' row hash, a block of rows at a time: no
    copy of the matrix), equal for rows of equal values wherever they sit: for telling
    the same vector in two places (knn-rating's same-picture share) and for an order of
    rows that does not depend on the file's (cluster)."""
    import pandas as pd

    keys = np.empty(len(x), dtype=np.uint64)
    for s in range(0, len(x), 8192):
        block = pd.DataFrame(np.asarray(x[s : s + 8192]))
        keys[s : s + 8192] = pd.util.hash_pandas_object(block, index=False).to_numpy()
    return keys
