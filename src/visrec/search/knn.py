"""Similar items by picture: exact cosine nearest neighbours over item image vectors.

Only items with a usable image (``has_image``) are searched and can be returned; an item
without one has a zero vector that would be "similar" to nothing in particular, so asking
for its neighbours is an error rather than a silent answer. The query item itself is
never among its neighbours. Exact search (one matrix product per batch of queries) is
fast enough for catalogues up to a few hundred thousand items on a CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from visrec.data.id_spelling import find_ids, is_one_id, spell_ids
from visrec.embed.store import ItemVectors
from visrec.errors import ArgumentTypeError, VisrecError
from visrec.models._top_n import check_list_length, top_n

# Queries scored per matrix product: bounds memory at _BATCH x n_items floats.
_BATCH = 256


@dataclass
class Neighbours:
    """The ``n`` most similar items to one query item, most similar first.

    Attributes
    ----------
    query : str
        The query item id.
    ids : list of str
        Neighbour ids (fewer than ``n`` when the catalogue is small).
    scores : ndarray of float64, shape (len(ids),)
        Cosine similarity to the query, in [-1, 1], descending.
    """

    query: str
    ids: list[str]
    scores: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.query,
            "neighbours": [
                {"item_id": i, "rank": r + 1, "score": float(s)}
                for r, (i, s) in enumerate(zip(self.ids, self.scores, strict=True))
            ],
        }


#: rows normalised at a time, in float64: two such blocks are the index's overhead
_NORM_BLOCK = 4096


class SimilarItems:
    """Exact cosine-similarity index over the items of an :class:`ItemVectors` store.

    Parameters
    ----------
    vectors : ItemVectors
        Items without an image, and items whose vector is all zeros or holds NaN or
        infinity, are left out of the index (they can be neither queried nor returned).

    Attributes
    ----------
    ids_ : ndarray of str, shape (n_indexed,)
        Indexed item ids, in store order.
    unit_ : ndarray of float32, shape (n_indexed, d)
        L2-normalised vectors of those items.
    not_finite_ : ndarray of str
        Ids of items with an image whose vector holds NaN or infinity (left out).
    """

    def __init__(self, vectors: ItemVectors) -> None:
        if not isinstance(vectors, ItemVectors):  # a path, as `visrec similar` takes
            raise ArgumentTypeError(
                "similar items: vectors must be an ItemVectors (visrec.read_vectors(path) "
                f"reads one), got {type(vectors).__name__}"
            )
        vecs = vectors.vectors
        # in float64, a block at a time: a float32 norm of large but finite values (1e20,
        # or 3e38 whose norm is beyond float32) overflows to inf, and a float64 copy of a
        # whole catalogue would double its memory
        norms = np.zeros(len(vecs), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, len(vecs), _NORM_BLOCK):
                block = np.asarray(vecs[start : start + _NORM_BLOCK], dtype=np.float64)
                norms[start : start + _NORM_BLOCK] = np.linalg.norm(block, axis=1)
        keep = vectors.has_image & (norms > 0) & np.isfinite(norms)
        # a NaN or infinite value makes the norm so: found without an n x d mask
        self.not_finite_ = vectors.ids[vectors.has_image & ~np.isfinite(norms)]
        self.ids_ = vectors.ids[keep]
        # the kept rows only, normalised a block at a time: a unit copy of every row,
        # then the kept ones copied out of it, held the catalogue three times over
        rows = np.flatnonzero(keep)
        self.unit_ = np.empty((len(rows), vecs.shape[1]), dtype=np.float32)
        for start in range(0, len(rows), _NORM_BLOCK):
            pick = rows[start : start + _NORM_BLOCK]
            block = np.asarray(vecs[pick], dtype=np.float64)
            self.unit_[start : start + _NORM_BLOCK] = block / norms[pick][:, None]
        self._row = {str(v): i for i, v in enumerate(self.ids_)}
        self._all = {str(v) for v in vectors.ids}

    def __len__(self) -> int:
        return len(self.ids_)

    def _rows(self, item_ids: Iterable[object] | object) -> np.ndarray:
        # one id given as a string is one query, not one per character; one number too.
        # A number is looked up as the loaders spell it (7.0 is "7") and as Python writes
        # it ("7.0"), as id maps look ids up
        values = [item_ids] if is_one_id(item_ids) else list(cast(Iterable[object], item_ids))
        rows = []
        unknown: list[str] = []
        pictureless: list[str] = []
        for iid, row in zip(spell_ids(values), find_ids(self._row, values), strict=True):
            if row is None:
                (pictureless if iid in self._all else unknown).append(iid)
            else:
                rows.append(row)
        if unknown:  # all of them at once, not one per run
            from visrec.data.id_spelling import PASTED_ID, respelt, shown_as, shown_pair

            # '007' asked, '7' there: ids are compared as written
            there = respelt(unknown[:1], self._all)
            # 'café' asked, 'café' there in another Unicode form: both as escapes
            name, has = shown_pair(*there[0], show=repr) if there else (repr(unknown[0]), "")
            hint = f" (it has {has}; ids are compared as written)" if there else ""
            if there and shown_as(*there[0]):  # "'a\tb'": a listing's id pasted back
                hint = f" (did you mean the id shown as {unknown[0]}? {PASTED_ID})"
            if not there:  # '17570' asked, 'SKU-17570' there: the number without its prefix
                hint = _prefixed_hint(unknown[0], self._all)
            rest = ", ".join(map(repr, unknown[1:6])) + (", ..." if len(unknown) > 6 else "")
            more = f" (and {len(unknown) - 1:,} more: {rest})" if len(unknown) > 1 else ""
            raise VisrecError(f"unknown item id {name}: not in the vectors file{hint}{more}")
        if pictureless:
            raise VisrecError(
                f"item {pictureless[0]!r} has no usable image (has_image is false or its "
                "vector is all zeros or not finite), so it has no picture to compare"
            )
        return np.asarray(rows, dtype=np.int64)

    def query(self, item_ids: Iterable[object], n: int = 10) -> list[Neighbours]:
        """The ``n`` nearest items to each of ``item_ids`` by cosine similarity.

        Parameters
        ----------
        item_ids : str, int or iterable of them
            Query ids (one string or number is one id); every one must be in the index (a clear
            error names the first unknown id or the first id without an image).
        n : int, default 10
            Neighbours per query; the query itself is excluded. Equal float32 cosines
            break by store order, so results are deterministic (a vector and a copy of
            it scaled by 3 can differ in the last bit after normalising: not a tie).

        Returns
        -------
        list of Neighbours, one per query, in query order
            An id given twice is answered twice, so the list lines up with
            ``item_ids`` (``zip(item_ids, result)``), as scikit-learn's
            ``kneighbors`` answers each row; ``visrec similar`` lists each distinct id
            once (``list(dict.fromkeys(ids))`` does that here).
        """
        n = check_list_length(n)
        rows = self._rows(item_ids)
        out: list[Neighbours] = []
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            sims = (self.unit_[batch] @ self.unit_.T).astype(np.float64)
            sims[np.arange(len(batch)), batch] = -np.inf  # never the query itself
            idx, vals = top_n(sims, n)
            for q, r_idx, r_val in zip(batch, idx, vals, strict=True):
                ok = r_idx >= 0
                out.append(
                    Neighbours(
                        query=str(self.ids_[q]),
                        ids=[str(v) for v in self.ids_[r_idx[ok]]],
                        scores=np.clip(r_val[ok], -1.0, 1.0),
                    )
                )
        return out


def similar_items(vectors: ItemVectors, ids: Iterable[object], n: int = 10) -> list[Neighbours]:
    """The ``n`` items that look most like each of ``ids`` (cosine of image vectors).

    Parameters
    ----------
    vectors : ItemVectors
        Items without an image (``has_image`` false, or an all-zero row) are never
        returned.
    ids : str, int or iterable of them
        Query item ids (one string or number is one id).
    n : int, default 10

    Returns
    -------
    list of Neighbours, one per query
        In query order, an id given twice answered twice. A shortcut for
        ``SimilarItems(vectors).query(ids, n)``; build the index once with
        ``SimilarItems`` to ask many times.
    """
    return SimilarItems(vectors).query(ids, n)


def _prefixed_hint(asked: str, ids: set[str]) -> str:
    """``" (it has 'SKU-17570': ids are compared whole)"``: the ids that end in
    ``asked`` after a character that is no letter or digit (a shop's prefix), a few."""
    n = len(asked)
    found = sorted(i for i in ids if len(i) > n and i.endswith(asked) and not i[-n - 1].isalnum())
    if not asked or not found:
        return ""
    listed = ", ".join(map(repr, found[:3])) + (", ..." if len(found) > 3 else "")
    return f" (it has {listed}: ids are compared whole)"
