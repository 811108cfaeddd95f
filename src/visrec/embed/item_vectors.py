"""The in-memory container of image vectors, :class:`ItemVectors`, and how its ids,
vectors and ``has_image`` flags are taken in (:func:`vector_rows`, :func:`image_flags`).

Reading and writing them to a Parquet file is :mod:`visrec.embed.store`'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from visrec._frozen import read_only, restore_read_only
from visrec.data.id_spelling import find_ids, is_one_id, spell_ids
from visrec.embed.vector_checks import nonzero_rows
from visrec.errors import VisrecError, counted


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: how spell_ids writes a missing value (None, NaN, pandas' NA, NaT)
_MISSING_SPELT = ["None", "nan", "NaN", "<NA>", "NaT"]


def _missing_ids(raw: Any, spelt: np.ndarray) -> None:
    """An error for a missing (None, NaN, NA) or blank id: spelt, it would be the item
    ``'nan'`` or ``'None'``, which a real item of that name would then share (as an
    interactions frame and a vectors file refuse such ids, so do vectors made here).
    ``spelt`` is ``raw`` as :func:`spell_ids` gives it. In C on the spelt ids (a read of
    a million vectors makes one): a missing value can only be among those spelt as one
    of :data:`_MISSING_SPELT`, and only then is ``raw`` itself looked at."""
    try:
        text = pa.array(spelt, pa.string())
    except UnicodeEncodeError:  # a lone surrogate (a file name's undecodable byte)
        bad = next(i for i in spelt if not _is_utf8(i))
        raise VisrecError(
            f"item vectors: item id {bad!r} is not valid UTF-8 text, which Parquet needs"
        ) from None
    missing = np.asarray(
        pc.equal(pc.utf8_trim_whitespace(text), "").to_numpy(zero_copy_only=False), dtype=bool
    )
    maybe_na = bool(pc.any(pc.is_in(text, pa.array(_MISSING_SPELT))).as_py())
    if not (maybe_na or missing.any()):
        return  # the usual case: raw is not looked at
    one = isinstance(raw, str | bytes) or np.ndim(raw) == 0
    values = pd.Series([raw] if one else list(raw), dtype=object)
    if maybe_na:
        missing |= values.isna().to_numpy(dtype=bool)
    if missing.any():
        j = int(np.flatnonzero(missing)[0])
        shown = values.iloc[j]
        raise VisrecError(
            f"item vectors: item id {shown!r} (position {j}) is missing or blank; every "
            "vector needs an item id"
        )


@dataclass(frozen=True)
class ItemVectors:
    """Image vectors for a set of items. Frozen, as ``Interactions`` is: the checks
    below hold for its life (``has_image = ["False"]`` set later would be read as True).

    Attributes
    ----------
    ids : ndarray of str, shape (n,)
    vectors : ndarray of float32, shape (n, d)
        Rows where ``has_image`` is False are never read by a model or a search
        (``visrec embed`` writes zeros there).
    has_image : ndarray of bool, shape (n,), default None
        True/False, or 1/0 (anything else is an error: ``bool("False")`` is True). A
        row of zeros has no image whatever its flag says (another tool's "no picture"
        row; no image gives a CNN feature of all zeros): one rule for every command.
        None (the default): every row has an image but those of zeros, as a vectors
        file without a ``has_image`` column is read.
    meta : dict
        backbone, dim, preprocessing, visrec_version, ...
    """

    ids: np.ndarray
    vectors: np.ndarray
    # None only until __post_init__, which makes it an array: readers see an array
    has_image: np.ndarray = None  # type: ignore[assignment]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # spelt as an id map spells them (a float column of whole numbers: 7.0 -> "7"),
        # so vectors keyed by a column pandas made float still match the interactions
        raw = self.ids
        if not is_one_id(raw) and not isinstance(raw, np.ndarray | pd.Series | pd.Index | list):
            raw = list(raw)  # a generator or a dict's keys: read twice below
        set_ = object.__setattr__  # frozen: only here are the fields set
        set_(self, "ids", read_only(np.asarray(spell_ids(raw), dtype=object)))
        _missing_ids(raw, self.ids)
        set_(self, "vectors", read_only(vector_rows(self.vectors, self.ids)))
        given = self.has_image
        flags = np.ones(len(self.ids), dtype=bool) if given is None else image_flags(given)
        v = self.vectors
        if len(flags) == len(v) and v.ndim == 2 and v.shape[1] and flags.any():
            flags = flags & nonzero_rows(v)  # width 0: ids only, no vector to be zero
        set_(self, "has_image", read_only(flags))
        n = len(self.ids)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != n or len(self.has_image) != n:
            # without has_image, its flags are made one per id: not counted as given
            flags_said = "no has_image" if given is None else f"{len(flags)} has_image flags"
            raise VisrecError(
                f"item vectors: {n} ids, vectors of shape {self.vectors.shape}, "
                f"{flags_said}; expected (n, d) with n = {n}"
            )
        # align() maps each id to one row: a second row would silently win
        if len(set(self.ids)) != n:
            counts = Counter(self.ids)
            dup = [i for i in self.ids if counts[i] > 1]
            rows = [k + 1 for k, i in enumerate(self.ids) if i == dup[0]]
            shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
            raise VisrecError(
                f"item vectors: item id {dup[0]!r} has {counts[dup[0]]} rows ({shown}, "
                f"counting from 1; {counted(len(set(dup)), 'id')} repeated); each item needs "
                "exactly one vector"
            )

    def __setstate__(self, state: dict[str, Any]) -> None:
        restore_read_only(self, state)

    @property
    def dim(self) -> int:
        """The vectors' width ``d`` (0 for a store of ids only)."""
        return int(self.vectors.shape[1])

    def __repr__(self) -> str:  # sizes and the backbone, not the arrays
        backbone = self.meta.get("backbone")
        named = f", backbone={backbone!r}" if backbone else ""
        return (
            f"ItemVectors({counted(len(self), 'item')} x {self.dim}, "
            f"{int(self.has_image.sum()):,} with an image{named})"
        )

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, item_ids: Any) -> np.ndarray:
        """The row of each of ``item_ids`` in this store, -1 where absent (ids spelt as
        ``find_ids`` looks them up)."""
        return _positions({v: i for i, v in enumerate(self.ids)}, item_ids)

    def has_image_for(self, item_ids: Any) -> np.ndarray:
        """``has_image`` for ``item_ids`` in that order (False for absent items): what
        ``align`` gives without building the ``(m, d)`` rows."""
        pos = self.positions(item_ids)
        has = np.zeros(len(pos), dtype=bool)
        has[pos >= 0] = self.has_image[pos[pos >= 0]]
        return has

    def align(self, item_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Rows for ``item_ids`` in that order: ``(vectors (m, d), has_image (m,))``.

        Items absent from this store get a zero row and ``has_image=False``: an item
        never borrows another item's row. So do items marked ``has_image=False``,
        whatever their stored row holds (an old vector, NaN): a reader that uses every
        row, as the rating KNN does with zero vectors, must not see it. One id given as
        a string is one item.
        """
        pos = self.positions(item_ids)
        out = np.zeros((len(pos), self.dim), dtype=np.float32)
        has = np.zeros(len(pos), dtype=bool)
        ok = pos >= 0
        has[ok] = self.has_image[pos[ok]]
        if len(self.vectors):
            # straight into out: a fancy-index copy first doubled a catalogue's peak
            # ("clip": with "raise" numpy buffers out)
            np.take(self.vectors, np.where(has, pos, 0), axis=0, out=out, mode="clip")
            out[~has] = 0.0
        return out, has


def _positions(index: dict[str, int], item_ids: Any) -> np.ndarray:
    """Rows of ``item_ids`` (-1 where absent), ids spelt as ``find_ids`` looks them up."""
    return np.asarray([-1 if i is None else i for i in find_ids(index, item_ids)], np.int64)


def vector_rows(values: Any, ids: np.ndarray | None = None) -> np.ndarray:
    """The vectors as a C-contiguous float32 ``(n, d)`` array, from anything numpy reads
    as numbers (objects too: ``Decimal``, pandas' nullable floats). A column of one array
    per item (pandas' ``df["vector"]`` of a Parquet file) is stacked, naming the first
    item (of ``ids``) whose vector is missing or of another length; complex numbers and
    text are refused in words, not numpy's."""
    a = values
    try:
        if isinstance(a, pd.DataFrame):  # nullable columns: pd.NA is no float
            times = [str(t) for t in a.dtypes if getattr(t, "kind", "") in "mM"]
            if times:  # said before pandas' own words for them
                raise ValueError(f"got {times[0]} values")
            a = a.to_numpy(na_value=np.nan)
        elif isinstance(a, pd.Series):
            a = a.to_numpy()
        if (
            isinstance(a, np.ndarray)
            and a.dtype == object
            and a.ndim == 1
            and any(np.ndim(row) for row in a)  # one array per item, not one number
        ):
            a = _stacked(a, ids)
        a = np.asarray(a)
        if a.dtype.kind in "cmM":  # numpy drops an imaginary part, takes times as numbers
            raise ValueError(f"got {a.dtype.name} values, e.g. {a.flat[0]}")
        return np.ascontiguousarray(a, dtype=np.float32)
    except (ValueError, TypeError) as exc:  # text that is not a number, None
        raise VisrecError(
            f"item vectors: vectors must be numbers, an (n, d) array or one equal-length "
            f"array per item; {str(exc).splitlines()[0]}"
        ) from None


def _stacked(rows: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    """One array per item stacked into ``(n, d)``; a missing row or one of another
    length is named by its item."""
    arrays = [np.asarray(row) for row in rows]
    want = arrays[0].shape
    for j, arr in enumerate(arrays):
        if arr.shape != want or arr.ndim != 1:
            who = f"item {ids[j]!r}" if ids is not None and j < len(ids) else f"row {j}"
            if arr.ndim != 1:  # None, NaN (a merge's missing row), a table
                raise ValueError(f"{who} has no vector ({rows[j]!r})")
            raise ValueError(f"{who} has {arr.shape[0]} values where the first item has {want[0]}")
    return np.stack(arrays)


def image_flags(values: Any) -> np.ndarray:
    """``has_image`` as a 1-D bool array; only booleans or 0/1 are taken."""
    a = np.asarray(values)
    ok = a.ndim == 1 and (
        a.size == 0
        or a.dtype.kind == "b"
        or (a.dtype.kind in "iu" and bool(np.isin(a, (0, 1)).all()))
    )
    if not ok:
        raise VisrecError(
            f"item vectors: has_image must be a 1-D array of true/false (or 1/0), got "
            f"{a.dtype.name} of shape {a.shape}"
        )
    return a.astype(bool)
