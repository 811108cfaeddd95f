"""Item vectors on disk: one Parquet file, ``item_id`` / ``vector`` / ``has_image``.

Schema metadata (key ``visrec``) records the backbone, dim, preprocessing and visrec
version, so vectors from different backbones are never mixed up.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from visrec._atomic import atomic_path, check_input_exists, require_utf8_name
from visrec._frozen import read_only, restore_read_only
from visrec._parquet import open_parquet, read_columns, write_table
from visrec.data.id_spelling import find_ids, ids_as_text, is_one_id, shown_ids, spell_ids
from visrec.errors import (
    HAS_VECTOR,
    ArgumentTypeError,
    SystemRefusal,
    VisrecError,
    agree,
    counted,
    errno_of,
    names_text,
    none_of,
    unreadable_file,
)

META_KEY = b"visrec"


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
    has_image : ndarray of bool, shape (n,)
        True/False, or 1/0 (anything else is an error: ``bool("False")`` is True). A
        row of zeros has no image whatever its flag says (another tool's "no picture"
        row; no image gives a CNN feature of all zeros): one rule for every command.
    meta : dict
        backbone, dim, preprocessing, visrec_version, ...
    """

    ids: np.ndarray
    vectors: np.ndarray
    has_image: np.ndarray
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
        flags = image_flags(self.has_image)
        v = self.vectors
        if len(flags) == len(v) and v.ndim == 2 and v.shape[1] and flags.any():
            flags = flags & nonzero_rows(v)  # width 0: ids only, no vector to be zero
        set_(self, "has_image", read_only(flags))
        n = len(self.ids)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != n or len(self.has_image) != n:
            raise VisrecError(
                f"item vectors: {n} ids, vectors of shape {self.vectors.shape}, "
                f"{len(self.has_image)} has_image flags; expected (n, d) with n = {n}"
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
            f"ItemVectors({len(self):,} items x {self.dim}, "
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


def check_some_vector(
    iv: ItemVectors, item_ids: Any, who: str, noun: str, advice: str = ""
) -> np.ndarray:
    """Which of ``item_ids`` have an image vector in ``iv``; refuses vectors of none of
    them (a file of another dataset, or ids spelt otherwise: '242.0' for '242'), naming
    the ids of both and any respelling: ``WHO: none of the N NOUN has an image vector
    (the vectors' ids look like ...; the NOUN' like ...)...ADVICE``."""
    ids = np.asarray(item_ids, dtype=object)
    has = iv.has_image_for(ids)
    if len(ids) and not has.any():
        from visrec.data.id_spelling import respelt, respelt_hint

        listed = iv.positions(ids) >= 0
        if listed.all():  # the ids match: the rows say "no picture"
            raise VisrecError(
                f"{who}: {none_of(len(ids), noun, *HAS_VECTOR)}: the vectors "
                f"list each of them with has_image false or a vector of zeros (no "
                f"picture){advice}"
            )
        if listed.any():  # the rest absent, most likely spelt otherwise
            n_in = int(listed.sum())
            raise VisrecError(
                f"{who}: {none_of(len(ids), noun, *HAS_VECTOR)}: the vectors "
                f"list {n_in:,} of them without a picture (has_image false or a vector of "
                f"zeros) and not the other {len(ids) - n_in:,} (the vectors' ids look like "
                f"{shown_ids(iv.ids)}; the {noun}' like {shown_ids(ids[~listed])})"
                + respelt_hint(respelt(ids[~listed][:1000], iv.ids), "the vectors")
                + advice
            )
        hint = respelt_hint(respelt(ids[:1000], iv.ids), "the vectors")
        raise VisrecError(
            f"{who}: {none_of(len(ids), noun, *HAS_VECTOR)} (the vectors' ids "
            f"look like {shown_ids(iv.ids) or 'nothing'}; the {noun}' like "
            f"{shown_ids(ids)}){hint}{advice}"
        )
    return has


def check_finite_vectors(iv: ItemVectors, item_ids: Any, source: str, noun: str = "item") -> None:
    """Refuse vectors holding NaN, infinity or huge values for any of ``item_ids``.

    One such row turns every score of a model into NaN (a feature scaler's mean, a
    ridge fit), so it is refused before any work, naming the items in the order of
    ``iv``. Rows with ``has_image`` False, and items not in ``item_ids``, are not
    looked at.

    Parameters
    ----------
    iv : ItemVectors
    item_ids : array-like of str
        The items that will be scored (``visrec train``: the training items,
        ``visrec evaluate``: every item of the interactions).
    source : str
        Names the vectors in the message (the file).
    noun : str, default "item"
        What the items are, in the message (``"training item"``).

    Raises
    ------
    VisrecError
        ``"v.parquet: 1 item vector holds NaN, infinite or huge (beyond ±1e12)
        values ('b'); re-embed that image or mark it has_image=false"``.
    """
    bad = ~usable_rows(iv.vectors) & iv.has_image
    if not bad.any():
        return
    used = {str(i) for i in item_ids}
    ids = [i for i in iv.ids[bad] if i in used]
    if ids:
        shown = shown_ids(ids, 5)
        more = f" and {len(ids) - 5:,} more" if len(ids) > 5 else ""
        raise VisrecError(
            f"{source}: {counted(len(ids), noun + ' vector')} "
            f"{agree(len(ids), 'holds', 'hold')} {UNUSABLE_VALUES} ({shown}{more}); "
            f"re-embed {agree(len(ids), 'that image or mark it', 'those images or mark them')} "
            "has_image=false"
        )


#: rows at a time for a per-row test: a whole (n, d) mask of a large catalogue is gigabytes
ROW_BLOCK = 65536


def _every_value(vectors: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per row: ``test`` holds for every value, tested a block of rows at a time."""
    out = np.empty(len(vectors), dtype=bool)
    for s in range(0, len(vectors), ROW_BLOCK):
        out[s : s + ROW_BLOCK] = test(vectors[s : s + ROW_BLOCK]).all(axis=1)
    return out


def finite_rows(vectors: np.ndarray) -> np.ndarray:
    """Per row: no NaN or infinity."""
    return _every_value(vectors, np.isfinite)


#: beyond this a vector value is damage, not an image feature (CNN features are small
#: numbers): a value of 3e38 is finite in float32 but overflows the models' products
MAX_ABS_VALUE = 1e12
#: how the messages name what ``usable_rows`` refuses
UNUSABLE_VALUES = "NaN, infinite or huge (beyond ±1e12) values"


def usable_rows(vectors: np.ndarray) -> np.ndarray:
    """Per row: every value finite and within ``MAX_ABS_VALUE``."""
    return _every_value(vectors, lambda block: np.abs(block) <= MAX_ABS_VALUE)  # NaN: False


def usable_values(values: Any) -> bool:
    """Every value of an array (numpy, or anything ``np.asarray`` takes, a CPU torch
    tensor too) finite and within ``MAX_ABS_VALUE``: the rule for vectors, kept by the
    models' learned arrays too (no fit makes a 1e30; one would put an item first for all)."""
    return bool((np.abs(np.asarray(values)) <= MAX_ABS_VALUE).all())  # NaN: False


def backbone_names(trained: Any, given: Any) -> tuple[str | None, str | None]:
    """The backbone named in a model's ``vector_meta_`` and in a vectors file's meta,
    None where one does not say (a file made outside ``visrec embed``). One reading for
    ``Recommender.score_new_items`` and ``visrec recommend``, which refuse a mismatch."""

    def name(meta: Any) -> str | None:
        value = meta.get("backbone") if isinstance(meta, dict) else None
        return value if isinstance(value, str) and value else None

    return name(trained), name(given)


def made_differently(trained: Any, given: Any) -> list[str]:
    """How a vectors file's meta differs from a model's ``vector_meta_`` in the weights
    or preprocessing that make a vector (``"interpolation 'bilinear' vs 'bicubic'"``);
    empty when they agree or one does not say. A preprocessing field only one side
    records is not compared: a later visrec may describe more of the same steps."""
    if not (isinstance(trained, dict) and isinstance(given, dict)):
        return []

    def plain(x: Any) -> Any:  # JSON-read lists vs in-memory tuples and numpy values
        def default(o: Any) -> Any:
            return o.tolist() if isinstance(o, np.generic | np.ndarray) else str(o)

        return json.loads(json.dumps(x, sort_keys=True, default=default))

    def same(a: Any, b: Any) -> bool:
        a, b = plain(a), plain(b)
        if a == b:
            return True
        try:  # 0.49803922 read back vs a float32 mean in memory
            return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6))
        except (TypeError, ValueError):
            return False

    out = []
    a, b = trained.get("weights_id"), given.get("weights_id")
    # "<file name>:<digest>": the same weights under another file name are the same
    if a is not None and b is not None and str(a).rpartition(":")[2] != str(b).rpartition(":")[2]:
        out.append(f"weights {a!r} vs {b!r}")
    pa_, pb = trained.get("preprocessing"), given.get("preprocessing")
    if isinstance(pa_, dict) and isinstance(pb, dict):
        out += [f"{k} {pa_[k]!r} vs {pb[k]!r}" for k in sorted(set(pa_) & set(pb), key=str)
                if not same(pa_[k], pb[k])]  # fmt: skip
    return out


def _row_bits(block: np.ndarray) -> np.ndarray:
    """``block``'s rows as unsigned integers of their values' bit patterns (bytes for a
    16-byte type such as complex128 or longdouble)."""
    block = np.ascontiguousarray(block)
    size = block.dtype.itemsize
    if size in (1, 2, 4, 8):
        return block.view(f"u{size}")
    return block.view(np.uint8).reshape(len(block), -1)


def _row_keys(block: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of ``block``: its bit patterns (:func:`_row_bits`) times
    ``coef``, summed with wrap-around. Integer sums are exact in any order, so the very
    same bytes give the very same key wherever the row sits; a float projection did
    not (a matrix product rounds a row by its place in the block: identical rows 2e-16
    apart were counted as two groups)."""
    out: np.ndarray = _row_bits(block).astype(np.uint64) @ coef
    return out


def duplicate_groups(vectors: np.ndarray, usable: np.ndarray) -> list[np.ndarray]:
    """Row indices of the ``usable`` rows that hold the very same vector as another,
    one array per group, largest group first (then by first row).

    Rows are grouped by an exact key of their bytes (a block at a time: no copy of the
    matrix) and each group is then checked value by value, so a key tie between
    different vectors never joins them. Bytes, not values: 0.0 and -0.0 differ (and
    the unused bytes of an extended-precision ``longdouble`` are compared too: not
    supported; ``ItemVectors`` holds float32).
    """
    rows = np.flatnonzero(usable)
    if len(rows) < 2:
        return []
    # fixed random odd multipliers (seed 0): the same keys from run to run
    width = _row_bits(vectors[:1]).shape[1]
    draw = np.random.default_rng(0).integers(0, 2**63, width, dtype=np.uint64)
    coef: np.ndarray = np.asarray(draw) | np.uint64(1)
    keys = np.empty(len(rows), dtype=np.uint64)
    block = max(1, ROW_BLOCK * 8 // max(1, width))  # ~4 MB of bits at a time
    for s in range(0, len(rows), block):
        keys[s : s + block] = _row_keys(vectors[rows[s : s + block]], coef)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    # rows by key, one sort: a scan per group was quadratic (500k pairs: minutes)
    by_key = np.split(rows[np.argsort(inverse.reshape(-1), kind="stable")], np.cumsum(counts)[:-1])
    groups: list[np.ndarray] = []
    for g in np.flatnonzero(counts > 1):
        members = by_key[g]
        exact: dict[bytes, list[int]] = {}
        for r in members:
            exact.setdefault(np.ascontiguousarray(vectors[r]).tobytes(), []).append(int(r))
        groups += [np.asarray(m) for m in exact.values() if len(m) > 1]
    groups.sort(key=lambda m: (-len(m), int(m[0])))
    return groups


def distinct_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct, inverse)``: the rows with identical ones dropped (``vectors`` itself
    when none repeats: no copy) and, per row of ``vectors``, its row in ``distinct``.

    A model scores each distinct vector once and the scores are copied back: a matrix
    product rounds a row by where it sits in the block, so two items with one photo got
    scores a last bit apart. Found by :func:`duplicate_groups` (an ``np.unique`` of the
    rows sorted 100,000 x 1280 vectors in 4 s, with two copies of them).
    """
    inverse = np.arange(len(vectors))
    for group in duplicate_groups(vectors, np.ones(len(vectors), dtype=bool)):
        inverse[group] = group[0]
    keep = np.unique(inverse)
    if len(keep) == len(vectors):
        return vectors, inverse
    return vectors[keep], np.searchsorted(keep, inverse)


def duplicate_note(ids: np.ndarray, groups: list[np.ndarray]) -> str | None:
    """One line on items whose vectors are identical (from ``duplicate_groups``)."""
    if not groups:
        return None
    n = sum(len(g) for g in groups)
    largest = groups[0]
    shown = shown_ids(ids[largest[:3]])
    more = ", ..." if len(largest) > 3 else ""
    return (
        f"{n:,} items share their vector with another item ({counted(len(groups), 'group')} of "
        f"identical vectors; the largest, {len(largest):,} items: {shown}{more}): one photo "
        "for several items (a placeholder, or a photo fetched for the wrong item?) makes "
        "them look alike to every model"
    )


#: a vector this many times the median length is an outlier (a pipeline bug, another
#: network's features): vbpr's one length scale is set by the typical vector
OUTLIER_LENGTH = 100.0


def spread_notes(
    iv: ItemVectors,
    item_ids: Any,
    source: str,
    noun: str = "item",
    length_matters: bool = True,
    consequence: str = "so the image terms learn nothing",
) -> list[str]:
    """Warnings on vectors a model would fit silently and learn nothing from.

    Looks at the rows of ``item_ids`` that have an image and usable values (NaN,
    infinite or huge ones are ``check_finite_vectors``'s to refuse; a NaN spread through
    the min and max and read as "all the same"): all one vector (the pictures cannot
    tell the items apart), and, when ``length_matters`` (vbpr, which scales every
    vector by one typical length and projects on their principal components), vectors
    over ``OUTLIER_LENGTH`` times the median length, which set both, so the other items'
    image terms shrink to almost nothing. ``consequence`` ends the first warning with
    what all-one-vector means for the caller (a KNN, a similar-items list).
    """
    rows = np.unique(iv.positions(item_ids))
    rows = rows[rows >= 0]
    rows = rows[iv.has_image[rows]]
    if len(rows) < 2:
        return []
    lo = np.full(iv.dim, np.inf)
    hi = np.full(iv.dim, -np.inf)
    length = np.full(len(rows), np.nan)  # NaN: an unusable row, in no median
    step = 8192  # float64 blocks of a 1280-d catalogue: 84 MB each
    for s in range(0, len(rows), step):
        block = iv.vectors[rows[s : s + step]].astype(np.float64)
        ok = usable_rows(block)
        block = block[ok]
        if len(block):
            lo, hi = np.minimum(lo, block.min(axis=0)), np.maximum(hi, block.max(axis=0))
            length[s : s + step][ok] = np.sqrt(np.einsum("ij,ij->i", block, block))
    usable = ~np.isnan(length)
    rows, length = rows[usable], length[usable]
    if len(rows) < 2:
        return []
    if not (hi > lo).any():
        return [
            f"{source}: the {len(rows):,} {noun}s' vectors are all the same: the pictures "
            f"cannot tell these items apart, {consequence}"
        ]
    median = float(np.median(length))
    far = length > OUTLIER_LENGTH * median
    if not length_matters or median <= 0 or not far.any():
        return []
    ids = iv.ids[rows[far]]
    shown = shown_ids(ids) + (", ..." if len(ids) > 3 else "")
    return [
        f"{source}: {counted(len(ids), noun + ' vector')} {agree(len(ids), 'is', 'are')} over "
        f"{OUTLIER_LENGTH:g} times as long as the median one ({shown}): "
        f"{agree(len(ids), 'it sets', 'they set')} the scale and the principal components of "
        "every image term, so the other items' image terms nearly vanish; check "
        f"{agree(len(ids), 'that vector', 'those vectors')} (another network's, or not "
        "normalised?)"
    ]


def nonzero_rows(vectors: np.ndarray) -> np.ndarray:
    """Per row: any value other than 0, tested a block of rows at a time."""
    out = np.empty(len(vectors), dtype=bool)
    for s in range(0, len(vectors), ROW_BLOCK):
        out[s : s + ROW_BLOCK] = np.any(vectors[s : s + ROW_BLOCK] != 0, axis=1)
    return out


#: the layout of a vectors file's columns and metadata (``vectors_format``; a chunk
#: file's ``format`` is its own); a reader refuses a later one (files from before it
#: was recorded hold the first)
VECTORS_FORMAT = 1


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def vectors_schema(dim: int, meta: dict[str, Any] | None = None) -> pa.Schema:
    """The Parquet schema of a vectors file: item_id, vector (fixed-size float32), has_image,
    with ``meta`` (plus ``dim``) as JSON under the ``visrec`` metadata key."""
    schema = pa.schema(
        [
            ("item_id", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("has_image", pa.bool_()),
        ]
    )
    full = {**(meta or {}), "dim": dim, "vectors_format": VECTORS_FORMAT}

    def numpy_values(o: Any) -> Any:  # np.float32(0.5) in a meta made in memory
        if isinstance(o, np.generic | np.ndarray):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} {o!r} is not a JSON value")

    try:
        text = json.dumps(full, sort_keys=True, default=numpy_values)
    except (TypeError, ValueError) as exc:  # a set, an object, a dict that holds itself
        raise VisrecError(
            f"item vectors: meta must hold JSON values (text, numbers, lists, dicts): {exc}"
        ) from None
    if problem := _meta_problem(json.loads(text)):
        # written, it would be refused on read as damaged
        raise VisrecError(f"item vectors: meta {problem}")
    return schema.with_metadata({META_KEY: text.encode()})


#: meta an embed run writes about the file's own rows: its row groups (one per chunk,
#: reused by the next run when their fingerprint matches), their engines, the images
#: to compute again, the failures and counts. True of that file only: a copy of the
#: vectors written otherwise (a subset, a join) or a model trained on them drops it.
EMBED_RUN_KEYS = (
    "chunk_size",
    "chunks",
    "engines",
    "retry",
    "failures",
    "n",
    "n_ok",
    "image_key",
)


def described(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` without the embed run's record of its file (:data:`EMBED_RUN_KEYS`): what
    the vectors are (backbone, weights, preprocessing, dim), which any copy keeps."""
    return {k: v for k, v in meta.items() if k not in EMBED_RUN_KEYS}


def vectors_to_table(iv: ItemVectors) -> pa.Table:
    """``iv`` as an Arrow table with the vectors schema; the meta keeps what the vectors
    are, not an embed run's record of the file they came from (:func:`described`)."""
    flat = pa.array(iv.vectors.reshape(-1), type=pa.float32())
    return pa.Table.from_arrays(
        [
            pa.array(list(iv.ids), type=pa.string()),
            pa.FixedSizeListArray.from_arrays(flat, iv.dim),
            pa.array(iv.has_image, type=pa.bool_()),
        ],
        schema=vectors_schema(iv.dim, described(iv.meta)),
    )


def table_to_vectors(
    table: pa.Table, source: str = "<table>", *, ids_only: bool = False
) -> ItemVectors:
    for col in ("item_id", "vector"):
        if col not in table.column_names:
            raise VisrecError(f"{source}: not a visrec vectors file ({_no_column(table, col)})")
    ids = table_to_ids(table.column("item_id"), source)
    # a file made by other tools may list only items that have a vector: all of them
    flags = (
        table.column("has_image")
        if "has_image" in table.column_names
        else pa.chunked_array([pa.array([True] * len(ids), type=pa.bool_())])
    )
    if not (pa.types.is_boolean(flags.type) or pa.types.is_integer(flags.type)):
        # bool("false") is True: a text column would mark every item as having an image
        raise VisrecError(
            f"{source}: column 'has_image' must hold true/false (or 1/0), not {flags.type}"
        )
    flag_values = flags.to_pylist()
    for col, values in (("item_id", ids), ("has_image", flag_values)):
        if None in values:
            raise VisrecError(f"{source}: row {values.index(None) + 1} has no {col}")
    if pa.types.is_integer(flags.type) and not set(flag_values) <= {0, 1}:
        raise VisrecError(f"{source}: column 'has_image' must hold 1 or 0 as integers")
    vectors = _vector_rows(table.column("vector"), ids, source, ids_only)
    meta = parse_meta((table.schema.metadata or {}).get(META_KEY), source)
    try:
        return ItemVectors(
            ids=np.asarray(ids, dtype=object),
            vectors=vectors,
            has_image=np.asarray(flag_values, dtype=bool),
            meta=meta,
        )
    except VisrecError as exc:
        # a blank id: its row in the file, counted from 1 as the null one above, not
        # ItemVectors' position from 0 (looked for only here, on the way out)
        blank = next((k for k, i in enumerate(ids) if isinstance(i, str) and not i.strip()), None)
        if blank is not None:
            raise VisrecError(
                f"{source}: row {blank + 1} has a blank item_id ({ids[blank]!r}); every "
                "vector needs an item id"
            ) from exc
        raise VisrecError(f"{source}: {exc}") from exc


def _no_column(table: pa.Table, col: str) -> str:
    """Why ``table`` is no vectors file, lacking ``col``: its columns (the first 8 of
    more), and for vectors spread over number columns (``f0 .. f511``, one a value, as
    pandas writes a DataFrame of an array) how to make the one list column read."""
    names = table.column_names
    shown = names_text(names[:8]) + (f", ... ({len(names):,} columns)" if len(names) > 8 else "")
    text = f"no {col!r} column; columns: {shown}"
    numbers = [
        f.name
        for f in table.schema
        if f.name != "item_id" and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
    ]
    if col == "vector" and len(numbers) >= 8:  # not a year and a price beside the ids
        text += (
            f"; the vectors look spread over {len(numbers):,} number columns "
            f"({names_text(numbers[:1])} ... {names_text(numbers[-1:])}): visrec reads one "
            "list column 'vector' (pandas: df['vector'] = list(df[cols].to_numpy('float32')))"
        )
    return text


def table_to_ids(id_col: pa.ChunkedArray, source: str) -> list[Any]:
    """The ``item_id`` column as the ids ``ItemVectors`` keeps (as text there)."""
    # a float column (pandas makes one with a gap) holds 7.0 for the item 7; a binary
    # one (pandas writes bytes so) holds the id's UTF-8 text
    kind = id_col.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_decimal(kind) and kind.scale == 0:  # DECIMAL(10,0): whole numbers
        try:
            id_col = id_col.cast(pa.int64())
        except pa.ArrowInvalid:  # beyond int64: the decimal's own digits
            return [None if d is None else str(d) for d in id_col.to_pylist()]
        kind = pa.int64()
    binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if not (text or binary or pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        # a list or struct column: each id would become Python's text of it ("['7']")
        raise VisrecError(
            f"{source}: column 'item_id' must hold text or whole numbers, not {id_col.type}"
        )
    if pa.types.is_floating(kind) or binary:
        return list(ids_as_text(id_col.to_pandas().rename("item_id"), source).tolist())
    return list(id_col.to_pylist())


def _vector_rows(
    col: pa.ChunkedArray, ids: list[Any], source: str, ids_only: bool = False
) -> np.ndarray:
    """The ``vector`` column as float32 ``(n, d)``, filled chunk by chunk (no combined
    copy of the column next to the table); a one-line error naming the file and the
    first bad item for anything else (not lists of numbers, a missing vector, rows of
    different lengths)."""
    kind = col.type
    if not (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    ):
        raise VisrecError(f"{source}: column 'vector' must hold lists of numbers, not {kind}")
    value = kind.value_type
    if not (pa.types.is_floating(value) or pa.types.is_integer(value)):
        raise VisrecError(
            f"{source}: column 'vector' must hold lists of numbers, not lists of {value}"
        )
    if col.null_count:
        first = int(np.flatnonzero(pc.is_null(col).to_numpy(zero_copy_only=False))[0])
        raise VisrecError(
            f"{source}: item {ids[first]!r} has no vector (null) ({col.null_count:,} "
            f"of {len(col):,} rows); an item without a picture is written with a vector of "
            "zeros (and has_image false), or left out"
        )
    if pa.types.is_fixed_size_list(kind):
        d = kind.list_size
    else:
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        values, counts = np.unique(lengths, return_counts=True)
        d = int(values[np.argmax(counts)]) if len(values) else 0  # the usual length
        odd = np.flatnonzero(lengths != d)
        if len(odd):
            raise VisrecError(
                f"{source}: vectors of different lengths: item {ids[int(odd[0])]!r} has "
                f"length {int(lengths[odd[0]])} where {int(counts.max()):,} of {len(col):,} "
                f"items have length {d}; all vectors need one length"
            )
    if d == 0 and len(col) and not ids_only:  # nothing to compare items by
        raise VisrecError(f"{source}: every vector has length 0; a vector needs numbers")
    out = np.empty((len(col), d), dtype=np.float32)
    at = 0
    for chunk in col.chunks:
        flat = chunk.flatten().to_numpy(zero_copy_only=False)  # a slice's own values
        # a float64 beyond float32 becomes inf here, which every user of the vectors
        # refuses naming the item (usable_rows), not numpy's warning with a source line
        with np.errstate(over="ignore"):
            out[at : at + len(chunk)] = np.asarray(flat).reshape(len(chunk), d)
        at += len(chunk)
    return out


def write_vectors(path: str | os.PathLike[str], iv: ItemVectors) -> None:
    """Write ``iv`` to a Parquet file, atomically (a temporary file, then a rename).

    Parameters
    ----------
    path : str or path-like
        The ``.parquet`` file; replaced when it exists.
    iv : ItemVectors
        Columns ``item_id`` (text), ``vector`` (fixed-size list of float32) and
        ``has_image`` (bool); ``iv.meta`` (backbone, preprocessing...) goes into the
        schema metadata, less an embed run's record of its own file
        (:data:`EMBED_RUN_KEYS`: ``chunks``, ``failures``, ``n``...), which is not true
        of a copy: a later ``visrec embed`` to ``path`` computes every image.
    """
    if not isinstance(iv, ItemVectors):  # e.g. the arguments swapped
        raise ArgumentTypeError(
            f"write_vectors(path, iv): iv must be an ItemVectors, got {type(iv).__name__}"
        )
    if len(iv) and not iv.dim:
        raise VisrecError(
            "write_vectors: the item vectors have width 0 (ids only): no vectors to write"
        )
    table = vectors_to_table(iv)
    with atomic_path(path, sweep=True) as tmp:
        write_table(table, tmp)


def folder_advice(p: str) -> str:
    """What to give instead of the folder ``p`` named as a vectors file when it is a
    model folder (the vectors its train.json names) or a folder of Parquet part files
    (one table as Spark or Dask write it: join them); "" for any other folder."""
    if os.path.isfile(os.path.join(p, "model.json")):  # `visrec train -o`: it read them
        from visrec.models.model_folder import TRAIN_JSON, read_train_json

        try:
            used = read_train_json(Path(p) / TRAIN_JSON).get("vectors")
        except VisrecError:  # unreadable or not an object: advise visrec embed
            used = None
        return ": a model folder (visrec train -o); give the vectors file " + (
            f"it was trained with: {used}" if isinstance(used, str) else "from visrec embed"
        )
    try:  # Spark's _SUCCESS and hidden .crc files, Dask's _metadata beside the parts
        names = [n for n in os.listdir(p) if not n.startswith((".", "_"))]
    except OSError:
        return ""
    if names and all(n.lower().endswith(".parquet") for n in names):
        return (
            f": a folder of {len(names):,} Parquet part files (one table, as Spark or Dask "
            "write it); join them into one file, e.g. with pyarrow.parquet: "
            f"write_table(read_table({p!r}), 'vectors.parquet')"
        )
    return ""


def read_vectors(
    path: str | os.PathLike[str], *, only: Collection[str] | None = None
) -> ItemVectors:
    """Read a vectors Parquet file written by ``write_vectors`` / ``visrec embed``.

    Parameters
    ----------
    path : str or path-like
    only : collection of str, optional
        Keep just the rows of these item ids, in file order; the other rows' vectors
        are decoded a batch at a time and dropped, never held (a candidate file's few
        new items out of a catalogue's vectors: 1.8 GB peak for 100,000 x 1280 read
        whole, 0.4 GB so). Ids keep the spelling a whole read gives them. Ids not in
        the file are left out; :func:`read_vector_ids` lists the file's ids, and
        :func:`vector_width` its width. Only the kept rows are checked.

    Returns
    -------
    ItemVectors
        ``ids`` (n_items,), ``vectors`` float32 (n_items, d), ``has_image`` bool
        (n_items,) and ``meta``; a file made by other tools with ``item_id`` and
        ``vector`` columns is read too (without ``has_image``, every row has an image).

    Raises
    ------
    VisrecError
        A missing (``InputNotFoundError``, also a ``FileNotFoundError``), unreadable or
        non-Parquet file, or rows of unequal width, naming the file (and the item).
    """
    p = os.fspath(path)
    if only is not None and is_one_id(only):  # one id, not one per character; 5 too
        only = [only]  # type: ignore[list-item]
    check_input_exists(p, "vectors file")
    if os.path.isdir(p):  # pyarrow would read it as a dataset of every file inside
        raise VisrecError(
            f"vectors file {p!r} is a directory, not a file"
            + (
                folder_advice(p)
                or f" (vectors of a folder of images: visrec embed {p} -o vectors.parquet)"
            )
        )
    require_utf8_name(p)  # pyarrow encodes the name strictly: said before the content
    if not os.path.isfile(p):  # pyarrow reads a file whole, from its footer: no pipe
        raise VisrecError(
            f"vectors file {p!r} is not a regular file (a pipe or device); give the "
            ".parquet file that visrec embed writes"
        )
    require_parquet(p)
    try:
        table = _read_table(p, only)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise parquet_read_error(p, exc) from exc
    try:
        return table_to_vectors(table, source=p)
    finally:
        # Arrow's allocator kept the decoded column's pages (0.6 GB for a 100,000 x
        # 1280 catalogue) for the rest of the process once the table was gone
        del table
        pa.default_memory_pool().release_unused()


def parquet_read_error(path: str | os.PathLike[str], exc: BaseException) -> VisrecError:
    """The one-line error for a Parquet file pyarrow could not read: a damaged or
    foreign file (exit 2), a file the system would not let it read (a
    :class:`~visrec.errors.ReadError`: exit 1 for no permission or an I/O error), or a
    system that would not start pyarrow's reader threads (``ulimit -v``, a thread limit:
    exit 1; the file is not to blame)."""
    if no_reader_threads(exc):
        return SystemRefusal(
            f"{os.fspath(path)}: cannot start the threads that read it ({str(exc).strip()}): the "
            "system's limit on threads or memory is reached; free memory or raise the limit"
        )
    return unreadable_file(f"{os.fspath(path)}: {unreadable_parquet(exc)}", exc, path)


def no_reader_threads(exc: BaseException) -> bool:
    """pyarrow's words for a worker thread the system refused to start."""
    return "Failed to launch worker thread" in str(exc)


def unreadable_parquet(exc: BaseException) -> str:
    """Why a Parquet file could not be read, with what to do when a page's CRC says it
    was damaged on disk (pyarrow's own words say only that the check failed)."""
    if "checksum verification failed" in str(exc):
        return (
            f"damaged on disk (a page's checksum does not match: {exc}); if `visrec embed` "
            "wrote it, run that command again: it computes only the damaged row groups again"
        )
    return f"cannot read as Parquet ({exc})"


def vector_width(path: str | os.PathLike[str]) -> int | None:
    """The width of a vectors file's ``vector`` column without reading it: the schema's
    for a fixed-size list, else the first row's; None for a file without rows."""
    pf = open_parquet(path)
    kind = pf.schema_arrow.field("vector").type
    if pa.types.is_fixed_size_list(kind):
        return int(kind.list_size)
    for batch in pf.iter_batches(batch_size=1, columns=["vector"]):
        if len(batch):
            first = batch.column(0)[0]
            return None if not first.is_valid else len(first)
    return None


def read_vector_ids(path: str | os.PathLike[str]) -> ItemVectors:
    """The ids and ``has_image`` flags of a vectors file, without its vectors: an
    :class:`ItemVectors` of width 0 (cheap; for the checks that look at every id)."""
    p = os.fspath(path)
    try:
        names = pq.read_schema(p).names
        table = read_columns(p, [c for c in names if c != "vector"]) if "vector" in names else None
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise parquet_read_error(p, exc) from exc
    if table is None:  # not a vectors file: read_vectors says so (after the except: its
        return read_vectors(p)  # ReadError is an OSError, not to be worded twice)
    empty = pa.array([[]] * table.num_rows, type=pa.list_(pa.float32()))
    return table_to_vectors(table.append_column("vector", empty), source=p, ids_only=True)


#: rows of the vector column decoded at a time
_READ_BATCH = 8192


def _read_table(p: str, only: Collection[str] | None = None) -> pa.Table:
    """The file as a table, its ``vector`` column decoded a batch at a time: read whole,
    256 MB of vectors peaked at 1.1 GB, a batch at a time at 0.77 GB. With ``only``,
    just the rows of those ids are kept, batch by batch."""
    # streamed 8 MB at a time: by default a row group's whole column chunk is read into
    # memory first (the size of the file again, for a file written in one row group)
    pf = open_parquet(p, buffer_size=8 << 20, pre_buffer=False)
    schema = pf.schema_arrow
    if "vector" not in schema.names:
        return pf.read()
    table = pf.read(columns=[c for c in schema.names if c != "vector"])
    keep = None
    # a missing id: read whole, so that the full read's check names the row
    if only is not None and "item_id" in table.column_names:
        col = table.column("item_id")
        if not col.null_count:
            # the ids as a whole read spells them (a float column's 1.0 is "1" only
            # when every id of the column is whole), then the rows
            spelt = [str(i) for i in table_to_ids(col, p)]
            # looked up as every other lookup does (3.0 finds "3"), not str(3.0) = "3.0"
            found = find_ids({s: k for k, s in enumerate(spelt)}, only)
            wanted = {spelt[k] for k in found if k is not None}
            keep = np.fromiter((i in wanted for i in spelt), dtype=bool, count=len(spelt))
            at = table.column_names.index("item_id")
            table = table.set_column(at, "item_id", pa.array(spelt, type=pa.string()))
            table = table.filter(pa.array(keep))
    field = schema.field("vector")
    batches = []
    at = 0
    for b in pf.iter_batches(batch_size=_READ_BATCH, columns=["vector"]):
        rows = b.column(0)
        if keep is not None:
            rows = rows.filter(pa.array(keep[at : at + len(b)]))
            at += len(b)
        batches.append(rows)
    return table.append_column(field, pa.chunked_array(batches, type=field.type))


def require_parquet(path: str) -> None:
    """A regular file that does not start as Parquet is an error saying what it looks
    like (pyarrow would say only "magic bytes not found in footer")."""
    kind = not_parquet(path)
    if kind is not None:
        raise VisrecError(
            f"{path}: not a Parquet file ({kind}); vectors are the .parquet file that "
            "visrec embed writes"
        )


def not_parquet(path: str) -> str | None:
    """What the regular file ``path`` looks like when it does not start as a Parquet
    file does (``PAR1``, or ``PARE`` with an encrypted footer), else None (a damaged
    Parquet file is left to pyarrow's own message). Never given a pipe: opening one
    would wait for a writer."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None  # pyarrow says why
    if head[:4] in (b"PAR1", b"PARE"):
        return None
    if not head:
        return "it is empty"
    if head[:2] == b"\x1f\x8b":
        return "it is gzip-compressed"
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
        return "it is an image"
    first = head.split(b"\n", 1)[0]
    if b"\x00" in first:
        return "its first bytes are not Parquet's"
    text = first.decode("utf-8", "ignore").strip()  # a character cut at byte 512 is no matter
    if text[:1] in ("{", "["):
        return "it looks like JSON"
    if "," in text or "\t" in text or ";" in text:
        return "it looks like a CSV/TSV table"
    return "it looks like text"


def read_vectors_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the schema metadata of a vectors file (cheap). ``dim`` is the width of the
    ``vector`` column where the schema fixes one: the data, not what the metadata says."""
    schema = pq.read_schema(os.fspath(path))
    meta = parse_meta((schema.metadata or {}).get(META_KEY), os.fspath(path))
    if "vector" in schema.names:
        kind = schema.field("vector").type
        if pa.types.is_fixed_size_list(kind):
            meta = {**meta, "dim": kind.list_size}
    return meta


def _meta_problem(meta: Any) -> str | None:
    """What is wrong with a vectors file's parsed metadata, None when nothing: checked
    on read (:func:`parse_meta`) and on write (:func:`vectors_schema`), so a file that
    is written can be read."""
    if not isinstance(meta, dict):
        return f"a JSON {type(meta).__name__}, not an object"
    dim = meta.get("dim")
    if not isinstance(meta.get("backbone", ""), str):
        return f"backbone {meta['backbone']!r} is not a name"
    if not isinstance(meta.get("preprocessing", {}), dict):
        # what a model trained on the file records and checks new vectors against
        return f"preprocessing {meta['preprocessing']!r} is not an object"
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
        return f"dim {dim!r} is not a width"
    if not _is_count(meta.get("vectors_format", 1)):
        return f"vectors_format {meta['vectors_format']!r} is not a positive integer"
    return None


def parse_meta(raw: bytes | None, source: str) -> dict[str, Any]:
    """The visrec metadata of a vectors file's schema (``{}`` when it has none); a
    one-line error naming ``source`` when it is damaged: not JSON, not an object, or a
    ``backbone`` / ``preprocessing`` / ``dim`` / ``vectors_format`` of the wrong type
    (the backbone check would be skipped, or a model trained on it refused on load)."""
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep
        detail = f"not JSON: {exc}"
    else:
        if problem := _meta_problem(meta):
            detail = problem
        elif meta.get("vectors_format", 1) > VECTORS_FORMAT:
            raise VisrecError(
                f"{source}: written in vectors format {meta['vectors_format']} by a newer visrec "
                f"({meta.get('visrec_version') or 'version not recorded'}); this one reads "
                f"format {VECTORS_FORMAT}: upgrade visrec"
            )
        else:
            return cast(dict[str, Any], meta)
    raise VisrecError(
        f"{source}: the visrec metadata in its Parquet schema is damaged ({detail}); "
        "embed the items again"
    )


def is_foreign_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` exists but is not a visrec vectors file (not Parquet, or
    Parquet without visrec metadata): writing vectors there would destroy someone's data.

    Raises
    ------
    ReadError
        The system would not let it be read (no permission, an I/O error): whose it is
        cannot be told, and "not a visrec vectors file" would send the user the wrong way.
    """
    if not os.path.exists(path):
        return False
    try:
        # a dim alone is read from a fixed-size-list column, which other tools write
        # too; visrec's metadata says more (vectors_format, backbone...)
        return not set(read_vectors_meta(path)) - {"dim"}
    except OSError as exc:
        if errno_of(exc) is not None:  # refused by the system (a folder's has no errno)
            raise parquet_read_error(path, exc) from exc
        return True
    except (ValueError, VisrecError):  # not Parquet (ArrowInvalid), damaged meta
        return True
