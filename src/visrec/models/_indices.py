"""Index arguments of the Python API: positions in a fitted id map, nothing else.

``np.asarray(x, dtype=np.int64)`` would turn a raw id ``"196"`` into position 196,
``True`` into 1 and ``1.9`` into 1: a silently wrong answer. Raw ids are mapped at the
edges (``model.user_map_.to_index([...])``); here only integers pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visrec.errors import VisrecError


def as_indices(values: Any, what: str, owner: str = "model") -> np.ndarray:
    """``values`` as a 1-D int64 array; non-integer values are a clear error.

    Parameters
    ----------
    values : int or array-like of int
        Positions in the ``what`` id map (``user`` or ``item``). An empty list is fine.
    what : str
        ``"user"`` or ``"item"``, for the message.
    owner : str, default "model"
        What holds the id map, for the message (``model.user_map_``).
    """
    a = np.atleast_1d(np.asarray(values))
    if a.size and not _integral(a):
        first = a.ravel()[0]
        example = first.item() if isinstance(first, np.generic) else first
        raise VisrecError(
            f"{what} indices must be integer positions in the {what} id map, got "
            f"{example!r} ({a.dtype.name}); map raw ids first, e.g. "
            f"{owner}.{what}_map_.to_index([...])"
        )
    return a.astype(np.int64).ravel()


def _integral(a: np.ndarray) -> bool:
    if a.dtype.kind in "iu":
        return True
    if a.dtype.kind == "O":  # e.g. a pandas object column of Python ints
        return all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in a.flat)
    return False
