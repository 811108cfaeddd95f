"""Index arguments of the Python API: positions in a fitted id map, nothing else.

``np.asarray(x, dtype=np.int64)`` would turn a raw id ``"196"`` into position 196,
``True`` into 1 and ``1.9`` into 1: a silently wrong answer. Raw ids are mapped at the
edges (``model.user_map_.to_index([...])``); here only integers pass.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, ValuesView
from collections.abc import Set as AbstractSet
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from visrec.errors import VisrecError

#: what the index arguments of the models' methods take: an int, a list or an array of
#: them, or a generator or ``dict.keys()`` / ``.values()`` of them (read once, in order;
#: a set is refused at run time: it has no order)
Indices: TypeAlias = ArrayLike | Iterator[int | np.integer[Any]] | KeysView[Any] | ValuesView[Any]


def among(subset: np.ndarray, item_idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Where the items of ``subset`` (sorted item indices) are in a score block over
    ``item_idx`` (all items when None): ``(columns, their item indices)``."""
    if item_idx is None:
        return subset, subset
    cols = np.flatnonzero(np.isin(item_idx, subset))
    return cols, item_idx[cols]


def as_indices(values: Any, what: str) -> np.ndarray:
    """``values`` as a 1-D int64 array; non-integer values are a clear error.

    Parameters
    ----------
    values : int or array-like of int
        Positions in the ``what`` id map (``user`` or ``item``). An empty list is fine.
    what : str
        ``"user"`` or ``"item"``, for the message.
    """
    if isinstance(values, Iterator | KeysView | ValuesView):  # a generator, dict.keys()
        values = list(values)
    elif isinstance(values, AbstractSet):  # numpy makes one object of it
        raise VisrecError(
            f"{what} indices: a set has no order, and answers follow the order given; "
            "pass a list or an array (sorted(...), say)"
        )
    a = np.atleast_1d(np.asarray(values))
    if (
        a.dtype.kind in "iu"
        and isinstance(values, (list, tuple))
        and any(isinstance(v, (bool, np.bool_)) for v in values)
    ):
        # np.asarray([1, True]) is an int64 array: keep the bool to name it below
        a = np.atleast_1d(np.asarray(values, dtype=object))
    elif (
        a.dtype.kind == "f"
        and isinstance(values, (list, tuple))
        and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    ):
        # np.asarray([2**63, -1]) is a float array: keep the ints to name the big one below
        a = np.atleast_1d(np.asarray(values, dtype=object))
    if a.ndim > 1:  # flattening would answer for a list of users as if it were one
        raise VisrecError(
            f"{what} indices must be one index or a 1-D list of them, got shape {a.shape}"
        )
    bad = _first_non_integer(a)
    if (
        bad is not None
        and a.dtype.kind == "f"
        and isinstance(values, (list, tuple))
        and bool(np.isfinite(a).all() and np.array_equal(a, np.round(a)))  # no 1.5, NaN, inf
    ):
        # [1, 2.0] is a float array of whole numbers: name the 2.0 given, not position 0
        bad = next((j for j, v in enumerate(values) if isinstance(v, (float, np.floating))), bad)
    if bad is not None:
        value = a.ravel()[bad]
        example = value.item() if isinstance(value, np.generic) else value
        raise VisrecError(
            f"{what} indices must be integer positions in the {what} id map, got "
            f"{example!r} at position {bad} ({_kind(a)}); map raw ids first, e.g. "
            f"model.{what}_map_.to_index([...])"
        )
    if a.dtype.kind == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
        # numpy would wrap 2**63 + 5 round to a negative index without a word
        raise VisrecError(f"unknown {what} index {int(a.max())} (beyond int64)")
    try:
        return a.astype(np.int64).ravel()
    except OverflowError:  # a Python int beyond int64 is in no id map
        big = next(int(v) for v in a.ravel() if not -(2**63) <= int(v) < 2**63)
        raise VisrecError(f"unknown {what} index {big} (beyond int64)") from None


def _kind(a: np.ndarray) -> str:
    """What the values are, in words a user knows (not numpy's ``str96``)."""
    return {"U": "text", "S": "bytes", "O": "objects", "b": "true/false"}.get(
        a.dtype.kind, a.dtype.name
    )


def _first_non_integer(a: np.ndarray) -> int | None:
    """Position (in ``a.ravel()``) of the first value that is not an integer, if any."""
    if a.dtype.kind in "iu" or a.size == 0:
        return None
    flat = a.ravel()
    if a.dtype.kind == "O":  # e.g. a pandas object column of Python ints
        ok = [isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in flat]
        return None if all(ok) else ok.index(False)
    if a.dtype.kind == "f":  # name the value that is no whole number (NaN, 1.5), if any
        frac = ~np.isfinite(flat) | (flat != np.round(flat))
        return int(np.argmax(frac)) if frac.any() else 0
    return 0
