"""The ``Interactions`` container and the ``IdMap`` that turns raw ids into indices.

Orientation is always users x items. One ``IdMap`` per axis is built from the training
data, never mutated afterwards, and saved with every model; raw ids (ASINs, movie ids)
only appear at the edges (CLI, reports).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from visrec._frozen import restore_read_only
from visrec.data.id_spelling import find_ids, ids_as_text, is_one_id, shown_ids, spell_ids
from visrec.errors import ArgumentTypeError, VisrecError, agree, counted, names_text

# Canonical column names used by every loader.
USER = "user_id"
ITEM = "item_id"
RATING = "rating"
TIMESTAMP = "timestamp"


@dataclass(frozen=True, eq=False)
class IdMap:
    """Immutable bijection between raw string ids and dense indices ``0..n-1``.

    Parameters
    ----------
    ids : ndarray of str, shape (n,)
        Raw ids in index order. Must be unique.

    Notes
    -----
    Two maps are equal when they hold the same ids in the same order.
    """

    ids: np.ndarray
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.asarray([str(x) for x in self.ids], dtype=object)
        index = {v: i for i, v in enumerate(ids)}
        if len(index) != len(ids):
            # the dict kept each id's last position; the first id whose position differs
            dup = next(v for i, v in enumerate(ids) if index[v] != i)
            raise VisrecError(f"id map: duplicate id {dup!r}")
        ids.setflags(write=False)  # the map is shared (model.item_map_): keep it fixed
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", index)

    def __setstate__(self, state: dict[str, Any]) -> None:
        restore_read_only(self, state)

    @classmethod
    def from_values(cls, values: Iterable[object]) -> IdMap:
        """Build a map from raw values in order of first appearance (spelt as
        :func:`spell_ids` spells them: ``7.0`` is the id ``"7"``)."""
        first = pd.unique(pd.Series(list(values)))  # before spelling: a million rows, few ids
        return cls(np.asarray(pd.unique(pd.Series(spell_ids(first), dtype=object))))

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return self is other or (
            len(self.ids) == len(other.ids) and bool((self.ids == other.ids).all())
        )

    def __hash__(self) -> int:
        return hash(tuple(self.ids))

    def __contains__(self, raw: object) -> bool:
        # one id: a list is no id of the map (its first element is not asked about)
        return is_one_id(raw) and find_ids(self._index, raw)[0] is not None

    def to_index(
        self,
        raw: Iterable[object] | str | int | float,
        missing: Literal["error", "ignore", "minus_one"] = "error",
    ) -> np.ndarray:
        """Map raw ids to int64 indices.

        ``raw`` is a sequence of ids, or one id (a string or a number: ``"196"`` is
        one id, not three), spelt as :func:`spell_ids` spells them, so a float column
        (``196.0``) finds the ids ``Interactions.from_frame`` made of it.
        ``missing="error"`` raises naming the first unknown id, ``"minus_one"`` returns -1
        for unknown ids, ``"ignore"`` drops them.
        """
        if missing not in ("error", "ignore", "minus_one"):
            raise VisrecError(
                f"id map: missing={missing!r}; expected 'error', 'ignore' or 'minus_one'"
            )
        found = find_ids(self._index, raw)
        if missing == "error" and None in found:
            first = spell_ids(raw)[found.index(None)]
            raise VisrecError(f"unknown id {first!r} (not in the training data)")
        if missing == "ignore":
            return np.asarray([i for i in found if i is not None], dtype=np.int64)
        return np.asarray([-1 if i is None else i for i in found], dtype=np.int64)

    def to_raw(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """Map indices back to raw string ids.

        Raises
        ------
        VisrecError
            For an index that is no integer (``1.7``, ``True``) or out of ``0..n-1``,
            ``-1`` included: it pads a recommendation list that ran out of
            candidates, and would otherwise read as the last id.
        """
        a = np.asarray(idx)
        if a.size == 0:
            return self.ids[np.zeros(a.shape, dtype=np.int64)]
        if a.dtype.kind not in "iu":
            raise VisrecError(
                f"id map: indices must be integers, got {a.ravel()[0]!r} ({a.dtype.name})"
            )
        bad = (a < 0) | (a >= len(self.ids))
        if bad.any():
            first = int(a[bad].ravel()[0])
            pad = (
                " (-1 pads a list that ran out of candidates: keep ids >= 0)" if first == -1 else ""
            )
            raise VisrecError(f"id map: index {first} is out of range 0..{len(self.ids) - 1}{pad}")
        return self.ids[a.astype(np.int64)]

    def to_list(self) -> list[str]:
        """The raw ids in index order, as a list of str."""
        return [str(x) for x in self.ids]

    def __repr__(self) -> str:  # a notebook shows it: the count and a few ids, not all
        more = ", ..." if len(self.ids) > 3 else ""
        return f"IdMap({counted(len(self.ids), 'id')}: {shown_ids(self.ids)}{more})"


def check_columns_once(df: pd.DataFrame, what: str = "interactions table") -> None:
    """Refuse a frame with two columns of one canonical name (``pd.concat`` of frames
    side by side): ``df["item_id"]`` would be a frame, and the failure an
    ``AttributeError`` from deep inside pandas."""
    for col in (USER, ITEM, RATING, TIMESTAMP):
        n = int((df.columns == col).sum())
        if n > 1:
            raise VisrecError(
                f"{what} has {n} columns named {col!r}; keep one "
                f"(columns: {names_text(df.columns)})"
            )


@dataclass(frozen=True, eq=False)
class Interactions:
    """User-item interactions as parallel index arrays (users x items).

    Compared and hashed by identity (its arrays have no one truth value).

    Attributes
    ----------
    user_map, item_map : IdMap
        Raw id <-> index maps; ``item_map`` may include items with no interactions
        (e.g. cold-start candidates that only have images).
    user_idx, item_idx : ndarray of int32, shape (n,)
    rating : ndarray of float32, shape (n,) or None
    timestamp : ndarray of int64, shape (n,) or None
    """

    user_map: IdMap
    item_map: IdMap
    user_idx: np.ndarray
    item_idx: np.ndarray
    rating: np.ndarray | None = None
    timestamp: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("user_map", "item_map"):
            # a list of ids builds and fits, then fails far away (saving a model)
            if not isinstance(getattr(self, name), IdMap):
                raise VisrecError(
                    f"interactions: {name} must be an IdMap (IdMap(ids) builds one), got "
                    f"{type(getattr(self, name)).__name__}"
                )
        for name, kinds, what in (("rating", "iuf", "numbers"), ("timestamp", "iu", "integers")):
            arr = getattr(self, name)
            if arr is None:
                continue
            arr = np.asarray(arr)
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in kinds):
                raise VisrecError(
                    f"interactions: {name} must be a 1-D array of {what}, got "
                    f"{arr.dtype.name} of shape {arr.shape}"
                )
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise VisrecError(f"interactions: {name} holds NaN or infinite values")
        for name in ("user_idx", "item_idx", "rating", "timestamp"):
            arr = getattr(self, name)
            if arr is not None:
                # a copy: read-only flags on the caller's array (or a view of it) would
                # neither stop its owner writing nor leave the caller's array writable
                arr = np.array(arr)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)
        n = len(self.user_idx)
        for name in ("item_idx", "rating", "timestamp"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise VisrecError(
                    f"interactions: {name} has {counted(len(arr), 'row')}, expected {n}"
                )
        for name, id_map in (("user_idx", self.user_map), ("item_idx", self.item_map)):
            arr = getattr(self, name)
            # a float index would be truncated, one out of range fails far away (scipy)
            if arr.size and (arr.dtype.kind not in "iu" or arr.ndim != 1):
                raise VisrecError(
                    f"interactions: {name} must be a 1-D array of integers, got "
                    f"{arr.dtype.name} of shape {arr.shape}"
                )
            if arr.size and (arr.min() < 0 or arr.max() >= len(id_map)):
                bad = int(arr[(arr < 0) | (arr >= len(id_map))][0])
                raise VisrecError(
                    f"interactions: {name} holds {bad}, outside the id map's 0..{len(id_map) - 1}"
                )

    def __setstate__(self, state: dict[str, Any]) -> None:
        restore_read_only(self, state)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
        extra_items: Iterable[object] = (),
    ) -> Interactions:
        """Build from a frame with canonical columns ``user_id``, ``item_id``
        and optionally ``rating``, ``timestamp``.

        When ``user_map``/``item_map`` are given (e.g. the training maps), rows whose ids
        are not in them raise; otherwise maps are built from ``df`` (plus ``extra_items``
        appended to the item map).

        Raises
        ------
        VisrecError
            When a ``rating`` or ``timestamp`` column has missing values: the column
            would otherwise have to be dropped or the rows guessed at. The loaders
            already drop and report such rows; select ``[user_id, item_id]`` for
            implicit feedback. Also for a missing id, and for a timestamp that is
            neither a number (of seconds) nor a datetime (see :func:`timestamp_seconds`).

        Notes
        -----
        Ids are text, written as the loaders write them: a float id column's whole
        numbers as integers (``7``, not ``7.0``; pandas makes a column with a gap float).
        """
        if not isinstance(df, pd.DataFrame):
            raise ArgumentTypeError(
                f"Interactions.from_frame takes a DataFrame, got {type(df).__name__}"
            )
        for col in (USER, ITEM):
            if col not in df.columns:
                raise VisrecError(
                    f"interactions table has no {col!r} column (columns: {names_text(df.columns)})"
                )
        check_columns_once(df)
        users = id_column(df, USER)
        items = id_column(df, ITEM)
        if user_map is None:
            user_map = IdMap.from_values(users)
        extra = spell_ids(extra_items)
        if item_map is None:
            item_map = IdMap.from_values(list(items) + extra)
        elif extra:  # they would be silently left out of the given map
            raise VisrecError(
                "interactions: extra_items only apply when the item map is built here; "
                "the given item_map is used as it is"
            )
        for col in (RATING, TIMESTAMP):
            if col in df.columns:
                _check_complete(df, col)
        rating = rating_values(df[RATING]) if RATING in df.columns else None
        ts = timestamp_seconds(df[TIMESTAMP]) if TIMESTAMP in df.columns else None
        return cls(
            user_map=user_map,
            item_map=item_map,
            user_idx=user_map.to_index(users).astype(np.int32),
            item_idx=item_map.to_index(items).astype(np.int32),
            rating=rating,
            timestamp=ts,
        )

    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """Rows selected by a boolean mask or index array; id maps are kept as they are.

        Raises
        ------
        VisrecError
            For a mask of another length than the rows, positions that are no integers
            or lie outside ``-n..n-1``: said here, not as numpy's ``IndexError``.
        """
        sel = np.asarray(mask_or_index)
        n = len(self)
        if sel.size == 0 and sel.dtype.kind != "b":  # [] is no rows, not a float index
            sel = sel.astype(np.int64)
        if sel.dtype.kind == "b":
            if sel.shape != (n,):
                raise VisrecError(
                    f"interactions: a subset mask needs one flag per row, shape ({n},), "
                    f"got shape {sel.shape}"
                )
        elif sel.dtype.kind not in "iu" or sel.ndim != 1:
            raise VisrecError(
                "interactions: subset takes a boolean mask or a 1-D array of row positions "
                f"(integers), got {sel.dtype.name} of shape {sel.shape}"
            )
        elif sel.size and (sel.min() < -n or sel.max() >= n):
            bad = int(sel[(sel < -n) | (sel >= n)][0])
            raise VisrecError(f"interactions: subset row {bad} is outside 0..{n - 1}")
        return Interactions(
            user_map=self.user_map,
            item_map=self.item_map,
            user_idx=self.user_idx[sel],
            item_idx=self.item_idx[sel],
            rating=None if self.rating is None else self.rating[sel],
            timestamp=None if self.timestamp is None else self.timestamp[sel],
        )

    # ------------------------------------------------------------------ views
    @property
    def n_users(self) -> int:
        """Users in ``user_map`` (those with no interaction here included)."""
        return len(self.user_map)

    @property
    def n_items(self) -> int:
        """Items in ``item_map``: candidates with only an image included."""
        return len(self.item_map)

    def __repr__(self) -> str:  # sizes, not every id and index
        extra = [
            c for c, a in (("rating", self.rating), ("timestamp", self.timestamp)) if a is not None
        ]
        with_ = f", with {' and '.join(extra)}" if extra else ""
        return (
            f"Interactions({counted(self.n_users, 'user')} x {counted(self.n_items, 'item')}, "
            f"{counted(len(self), 'row')}{with_})"
        )

    def __len__(self) -> int:
        return len(self.user_idx)

    def to_csr(self, values: Literal["binary", "rating"] = "binary") -> sp.csr_matrix:
        """Users x items sparse matrix; duplicates are collapsed (binary) or the last
        rating wins (rating)."""
        if values not in ("binary", "rating"):
            raise VisrecError(f"to_csr: values={values!r}; expected 'binary' or 'rating'")
        if values == "rating":
            if self.rating is None:
                raise VisrecError("interactions have no ratings")
            data = self.rating.astype(np.float32)
            # keep the last occurrence of each (user, item) pair
            key = self.user_idx.astype(np.int64) * self.n_items + self.item_idx
            _, last = np.unique(key[::-1], return_index=True)
            keep = len(key) - 1 - last
            m = sp.csr_matrix(
                (data[keep], (self.user_idx[keep], self.item_idx[keep])),
                shape=(self.n_users, self.n_items),
            )
        else:
            m = sp.csr_matrix(
                (np.ones(len(self), dtype=np.float32), (self.user_idx, self.item_idx)),
                shape=(self.n_users, self.n_items),
            )
            m.data[:] = 1.0
        m.sort_indices()
        return m

    def to_frame(self) -> pd.DataFrame:
        """Raw-id frame with canonical columns."""
        out = pd.DataFrame(
            {
                USER: self.user_map.to_raw(self.user_idx),
                ITEM: self.item_map.to_raw(self.item_idx),
            }
        )
        if self.rating is not None:
            out[RATING] = self.rating
        if self.timestamp is not None:
            out[TIMESTAMP] = self.timestamp
        return out


def id_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """``df[col]`` as text ids, as the loaders write them (a float column's whole
    numbers as integers: ``7``, not ``7.0``); a missing or blank id is an error, not
    ``'nan'`` or one user made of every blank cell (the file loaders report those rows)."""
    text = ids_as_text(df[col], "interactions")
    missing = text.isna().to_numpy()
    # blank ids ("", " ", a tab: the loaders report such cells), looked for among the
    # distinct ids, far fewer than the rows
    distinct = pd.Series(pd.unique(text[~missing]))
    blank = distinct[distinct.str.strip().eq("")]
    if len(blank):
        missing = missing | text.isin(blank).to_numpy()
    if missing.any():
        j = int(np.argmax(missing))
        raise VisrecError(
            f"interactions: {int(missing.sum()):,} of {len(df):,} {col} values "
            f"{agree(missing.sum(), 'is', 'are')} missing "
            f"or empty (the first at position {j}); drop those rows or give them an id"
        )
    return text.to_numpy(dtype=object)


def sortable_times(col: pd.Series) -> pd.Series:
    """A complete timestamp column in a form that sorts by time: numbers and datetimes
    as they are (fractions of a second keep their order), text parsed as numbers.

    Raises
    ------
    VisrecError
        For a value that is neither a number nor a datetime, naming it: sorting text
        would put ``"10"`` before ``"2"``.
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    if pd.api.types.is_bool_dtype(col) or not (
        pd.api.types.is_numeric_dtype(col)
        or col.dtype == object
        or pd.api.types.is_string_dtype(col)
    ):
        raise VisrecError(f"interactions: timestamps must be numbers or datetimes, not {col.dtype}")
    num = col if pd.api.types.is_numeric_dtype(col) else pd.to_numeric(col, errors="coerce")
    values = np.asarray(num, dtype=np.float64)
    bad = ~np.isfinite(values) | (np.abs(values) >= 2.0**63)
    if bad.any():
        j = int(np.argmax(bad))
        value = col.iloc[j]
        if isinstance(value, np.generic):  # said as 1e+19, not np.float64(1e+19)
            value = value.item()
        raise VisrecError(
            f"interactions: timestamp {value!r} at position {j} is not a number of "
            "seconds; convert the column (pandas.to_datetime for dates)"
        )
    return num


def rating_values(col: pd.Series) -> np.ndarray:
    """A complete rating column as float32, text such as ``"4"`` read as a number.

    Raises
    ------
    VisrecError
        Naming the first value that is no finite number or is beyond float32's range:
        pandas' own error for ``"five"`` named no row, and ``1e300`` became infinity.
    """
    num = col if pd.api.types.is_numeric_dtype(col) else pd.to_numeric(col, errors="coerce")
    # a complex number is no rating (numpy would drop its imaginary part)
    complex_ = pd.api.types.is_complex_dtype(num)
    values = np.full(len(col), np.nan) if complex_ else np.asarray(num, dtype=np.float64)
    bad = ~np.isfinite(values) | (np.abs(values) > np.finfo(np.float32).max)
    if bad.any():
        j = int(np.argmax(bad))
        value = col.iloc[j]
        if isinstance(value, np.generic):  # said as inf, not np.float64(inf)
            value = value.item()
        raise VisrecError(
            f"interactions: rating {value!r} at position {j} is not a finite number within "
            "float32's range (NaN or infinite values, text and huge numbers are refused)"
        )
    return values.astype(np.float32)


def timestamp_seconds(col: pd.Series) -> np.ndarray:
    """A complete timestamp column as int64 seconds since 1970 (UTC), as
    ``Interactions`` stores it: see :func:`sortable_times`; fractions of a second are
    dropped, datetimes converted."""
    times = sortable_times(col)
    if pd.api.types.is_datetime64_any_dtype(times):
        if getattr(times.dt, "tz", None) is not None:
            times = times.dt.tz_convert("UTC").dt.tz_localize(None)
        return times.to_numpy().astype("datetime64[s]").astype(np.int64)
    if pd.api.types.is_integer_dtype(times):
        return times.to_numpy(dtype=np.int64)  # exact beyond 2**53
    return np.floor(np.asarray(times, dtype=np.float64)).astype(np.int64)


def _check_complete(df: pd.DataFrame, col: str, shown: int = 5) -> None:
    """Raise naming the rows when ``df[col]`` has missing values."""
    missing = df[col].isna().to_numpy()
    if not missing.any():
        return
    pos = np.flatnonzero(missing)
    rows = ", ".join(
        f"position {int(j)} (user {spell_ids(df[USER].iloc[j])[0]!r}, "
        f"item {spell_ids(df[ITEM].iloc[j])[0]!r})"
        for j in pos[:shown]
    )
    more = f" and {len(pos) - shown:,} more" if len(pos) > shown else ""
    raise VisrecError(
        f"interactions: {len(pos):,} of {len(df):,} {col} values "
        f"{agree(len(pos), 'is', 'are')} missing: {rows}{more}; "
        f"drop those rows or the {col!r} column first"
    )
