"""Checks of and notes on the values of image vectors, before a model or a search uses
them: vectors for none of the items, NaN / infinite / huge values, identical vectors
(one photo for several items), all one vector or a few far too long.

The per-row tests (:func:`usable_rows`, :func:`nonzero_rows`...) go a block of
:data:`ROW_BLOCK` rows at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from visrec.data.id_spelling import shown_ids
from visrec.errors import HAS_VECTOR, VisrecError, agree, counted, none_of

if TYPE_CHECKING:
    from visrec.embed.item_vectors import ItemVectors


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
