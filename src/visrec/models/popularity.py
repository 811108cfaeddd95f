"""Popularity baseline: every user gets the most-interacted-with items."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.model_folder import ARRAYS_NPZ


class Popularity(Recommender):
    """Scores an item by its number of distinct training users.

    Items with no training interactions score ``-inf`` (a count of 0 says nothing about
    an item nobody could interact with); items unseen in training cannot be scored.

    Attributes
    ----------
    item_counts_ : ndarray of float32, shape (n_items,)
        Distinct training users per item (besides the base class's ``user_map_``,
        ``item_map_``, ``seen_``).
    item_scores_ : ndarray of float32, shape (n_items,)
        The score row every user gets: the counts, ``-inf`` where 0 (derived, not saved).
    """

    name = "popularity"
    _scores_item_subsets = True
    same_scores_for_every_user = True
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {"item_counts_": ("items",)}
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)

    item_counts_: np.ndarray
    #: the score row: counts, with -inf for items without interactions; derived from
    #: ``item_counts_`` (so not saved) once, in ``fit`` and on ``load``
    item_scores_: np.ndarray

    def __init__(self) -> None:
        pass

    def _fit(
        self,
        interactions: Interactions,
        vectors: np.ndarray | None,
        has_image: np.ndarray | None,
    ) -> None:
        self.item_counts_ = np.asarray(self.seen_.sum(axis=0)).ravel().astype(np.float32)
        # the score row is derived the same way after fit as after load
        self._after_load()

    def _after_load(self) -> None:
        counts = self.item_counts_
        # whole counts from 0 to the item's pairs in seen_ (in a folder saved before
        # excluded_, seen_ also held the pairs `train --min-rating` left out of the
        # fit): a negative count ranked every item -inf. Compared in float32, as saved
        # (a count over 2**24 is rounded there).
        if counts.shape == (self.seen_.shape[1],):
            most = np.asarray(self.seen_.sum(axis=0)).ravel().astype(np.float32)
            wrong = np.flatnonzero((counts < 0) | (counts > most) | (counts != np.round(counts)))
            if len(wrong):
                raise VisrecError(
                    f"{ARRAYS_NPZ}: item_counts_ says {float(counts[wrong[0]]):g} for item "
                    f"{self.item_map_.ids[wrong[0]]!r}, which has {int(most[wrong[0]])} "
                    "training pairs: the folder is damaged; train it again"
                )
        self.item_scores_ = np.where(counts > 0, counts, -np.inf).astype(np.float32)

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        row = self.item_scores_ if item_idx is None else self.item_scores_[item_idx]
        # a fresh array per call: callers may write into their scores (e.g. -inf masks)
        return np.broadcast_to(row, (len(user_idx), len(row))).copy()
