"""Split protocols: turn one interactions table into a training and a test set.

Every protocol

* treats each row as an implicit positive and first collapses duplicate
  ``(user_id, item_id)`` rows (keeping the latest by timestamp, else the last row);
* builds the id maps from the **training rows only** (``IdMap`` is immutable, so the
  maps are shared by ``train`` and ``test`` and never mutated);
* drops test rows whose user (or, for the warm/time protocols, item) never appears in
  training, and counts them in ``Split.n_dropped_users`` / ``Split.n_dropped_items``.

Protocols
---------
``warm``
    Per-user random split: each user with at least 2 interactions puts
    ``round(test_ratio * n)`` of them (at least 1, at most ``n - 1``) into the test
    set; users with one interaction stay entirely in training.
``time``
    Leave-last-out: each user's latest interaction (by timestamp; ties broken by row
    order, the later row counting as later) is the test, for users with >= 2 rows.
``cold-items``
    A random ``floor(test_ratio * n_eligible)`` of the items are held out with *all*
    their interactions. The training item map does not contain them; the evaluation
    candidates are exactly the held-out items (``test.item_map``), which models must
    score from their image vectors (``Recommender.score_new_items``).

The candidates of the warm and time protocols are all training items (``train.item_map``)
minus each user's own training items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visrec._holdout import per_user_holdout
from visrec.data.id_spelling import find_ids
from visrec.data.interactions import (
    ITEM,
    RATING,
    TIMESTAMP,
    USER,
    IdMap,
    Interactions,
    _check_complete,
    check_columns_once,
    id_column,
    sortable_times,
)
from visrec.errors import ArgumentTypeError, TooLittleDataError, VisrecError, counted, names_text

PROTOCOLS: tuple[str, ...] = ("warm", "time", "cold-items")

__all__ = [
    "PROTOCOLS",
    "Split",
    "cold_items_split",
    "collapse_duplicates",
    "make_split",
    "time_split",
    "warm_split",
]


@dataclass(frozen=True)
class Split:
    """The result of a protocol.

    Attributes
    ----------
    protocol : str
    train : Interactions
        Id maps built from the training rows only.
    test : Interactions
        Same ``user_map`` as ``train``. For ``warm``/``time`` also the same
        ``item_map``; for ``cold-items`` its ``item_map`` is the held-out items (the
        candidates), disjoint from ``train.item_map``.
    n_dropped_users : int
        Test rows dropped because their user has no training row.
    n_dropped_items : int
        Test rows dropped because their item has no training row (warm/time only).
    n_duplicates : int
        Duplicate ``(user, item)`` rows collapsed before splitting.
    info : dict
        Protocol parameters (seed, ratio, ...), for reports.
    """

    protocol: str
    train: Interactions
    test: Interactions
    n_dropped_users: int = 0
    n_dropped_items: int = 0
    n_duplicates: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def cold(self) -> bool:
        """True when the candidates are items unseen in training."""
        return self.protocol == "cold-items"

    @property
    def candidate_ids(self) -> np.ndarray:
        """Raw ids of the evaluation candidates, in candidate-index order."""
        return self.test.item_map.ids


def _check_frame(frame: pd.DataFrame | Interactions) -> pd.DataFrame:
    if isinstance(frame, Interactions):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(
            f"expected a DataFrame or Interactions to split, got {type(frame).__name__}"
        )
    for col in (USER, ITEM):
        if col not in frame.columns:
            raise VisrecError(
                f"interactions table has no {col!r} column (columns: {names_text(frame.columns)})"
            )
    if len(frame) == 0:
        raise VisrecError("interactions table is empty: nothing to split")
    out = frame.copy()
    out[USER] = id_column(out, USER)
    out[ITEM] = id_column(out, ITEM)
    if TIMESTAMP in out.columns and out[TIMESTAMP].notna().all():
        # the latest row decides duplicates and the time split's test item: text
        # timestamps would sort "10" before "2" (numbers and datetimes keep their
        # fractions of a second here; Interactions stores whole seconds)
        out[TIMESTAMP] = sortable_times(out[TIMESTAMP])
    return out.reset_index(drop=True)


def _refuse_missing(frame: pd.DataFrame | Interactions) -> None:
    """A missing rating or timestamp named by its position in the caller's table, before
    the split: found later in the training part, the position and count were the part's
    (they changed with the seed), and one that fell among dropped test rows went unsaid."""
    if isinstance(frame, pd.DataFrame):
        for col in (RATING, TIMESTAMP):
            if col in frame.columns:
                _check_complete(frame, col)


def collapse_duplicates(frame: pd.DataFrame | Interactions) -> tuple[pd.DataFrame, int]:
    """Keep one row per ``(user_id, item_id)``: the latest by timestamp when there is a
    timestamp column, else the last row. Returns ``(frame, n_removed)``; row order of
    the kept rows is preserved."""
    df = _check_frame(frame)
    if TIMESTAMP in df.columns and df[TIMESTAMP].notna().all():
        order = np.lexsort((np.arange(len(df)), df[TIMESTAMP].to_numpy()))
        keep_pos = df.iloc[order].drop_duplicates([USER, ITEM], keep="last").index
    else:
        keep_pos = df.drop_duplicates([USER, ITEM], keep="last").index
    kept = df.loc[np.sort(np.asarray(keep_pos))].reset_index(drop=True)
    return kept, len(df) - len(kept)


def _build(
    protocol: str,
    train_df: pd.DataFrame,
    test_df: pd.DataFrame,
    n_dup: int,
    info: dict[str, Any],
    test_item_map: IdMap | None = None,
) -> Split:
    train = Interactions.from_frame(train_df)
    known_u = test_df[USER].isin(set(train.user_map.ids))
    n_drop_u = int((~known_u).sum())
    test_df = test_df[known_u]
    if test_item_map is None:
        item_map = train.item_map
        known_i = test_df[ITEM].isin(set(item_map.ids))
        n_drop_i = int((~known_i).sum())
        test_df = test_df[known_i]
    else:
        item_map = test_item_map
        n_drop_i = 0
    test = Interactions.from_frame(test_df, user_map=train.user_map, item_map=item_map)
    return Split(
        protocol=protocol,
        train=train,
        test=test,
        n_dropped_users=n_drop_u,
        n_dropped_items=n_drop_i,
        n_duplicates=n_dup,
        info=info,
    )


def split_seed(seed: object) -> int:
    """A split's seed: a whole number >= 0 (it is written in reports and JSON)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VisrecError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_ratio(test_ratio: object) -> float:
    """A test share in (0, 1), as a plain float (``split.info`` keeps it: a numpy scalar
    there is no JSON number); a string or a bool is refused by name, not compared."""
    if isinstance(test_ratio, bool) or not isinstance(test_ratio, (int, float, np.number)):
        raise VisrecError(f"test_ratio must be a number in (0, 1), got {test_ratio!r}")
    if not 0.0 < test_ratio < 1.0:
        raise VisrecError(f"test_ratio must be in (0, 1), got {test_ratio}")
    return float(test_ratio)


def warm_split(frame: pd.DataFrame | Interactions, test_ratio: float = 0.2, seed: int = 0) -> Split:
    """Per-user random split (see the module docstring).

    Parameters
    ----------
    frame : DataFrame with columns ``user_id``, ``item_id`` (``rating``, ``timestamp``
        optional), or an ``Interactions``.
    test_ratio : float, default 0.2
    seed : int, default 0
    """
    test_ratio = check_ratio(test_ratio)
    df, n_dup = collapse_duplicates(frame)
    _refuse_missing(frame)
    seed = split_seed(seed)  # as written in reports and JSON
    rng = np.random.default_rng(seed)
    ucode, uinv = np.unique(df[USER].to_numpy(), return_inverse=True)
    is_test = per_user_holdout(uinv, len(ucode), test_ratio, rng)
    info = {"seed": seed, "test_ratio": test_ratio}
    return _build("warm", df[~is_test], df[is_test], n_dup, info)


def latest_ties(frame: pd.DataFrame) -> tuple[int, int]:
    """``(tied, users)``: of the ``users`` with 2 or more interactions (those
    :func:`time_split` tests), how many have several items at their latest time, where
    the later row decides their test item (Amazon's review times are whole days).
    Counted on the rows :func:`time_split` uses (:func:`collapse_duplicates`)."""
    df, _ = collapse_duplicates(frame[[USER, ITEM, TIMESTAMP]])
    uinv = pd.factorize(df[USER])[0]
    ts = df[TIMESTAMP].to_numpy()
    order = np.lexsort((ts, uinv))  # by user, then time
    u, t = uinv[order], ts[order]
    last = np.ones(len(u), dtype=bool)  # each user's latest row (in time order)
    last[:-1] = u[1:] != u[:-1]
    tied = np.zeros(len(u), dtype=bool)  # the row before it: same user, same time
    tied[1:] = (u[1:] == u[:-1]) & (t[1:] == t[:-1])
    counts = np.bincount(uinv)
    return int((last & tied).sum()), int((counts >= 2).sum())


def warm_known(pairs: pd.DataFrame, seed: int, test_ratio: float) -> pd.DataFrame:
    """The ``pairs`` (rated below ``--min-rating``, say) a model knows on a warm split of
    ``seed``: each with probability ``1 - test_ratio``, as the split keeps that share of
    every user's rows for training. Left out of the candidates all of them would tell
    the scoring which popular items each user will meet in the held-out rows and take
    them away as hard negatives; the others stay candidates, a miss when ranked high,
    as on a cold-items split. Drawn from a stream of its own, so the split is the
    same as without them."""
    rng = np.random.default_rng([int(seed), 1])
    return pairs[rng.random(len(pairs)) >= test_ratio]


def known_at_test(exclude: pd.DataFrame, frame: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """The rows of ``exclude`` (pairs that are neither positives nor negatives, such as
    those rated below ``--min-rating``) that a model could know when its user's test
    interactions happen, so leaving them out of the candidates uses no future:

    * ``warm``: all of them here (a random split has no before and after); the runner
      then keeps, seed by seed, the share the split keeps for training
      (:func:`warm_known`), as the rest fall among the held-out rows;
    * ``time``: those no later than the user's test time (their latest time in
      ``frame``); all when ``exclude`` has no ``timestamp`` column;
    * ``cold-items``: none: every candidate is an item nobody had rated at training
      time, so who rates it low is the future (such a pair stays a candidate, a miss).
    """
    if protocol == "cold-items":
        return exclude.iloc[:0]
    if protocol != "time" or TIMESTAMP not in exclude.columns or TIMESTAMP not in frame:
        return exclude
    if frame[TIMESTAMP].isna().any():  # time_split refuses it, naming the rows
        return exclude
    times = pd.Series(sortable_times(frame[TIMESTAMP]).to_numpy(), index=id_column(frame, USER))
    test_time = times.groupby(level=0).max()
    dated = exclude[TIMESTAMP].notna().to_numpy()  # a pair without a time stays out
    when = pd.Series(sortable_times(exclude.loc[dated, TIMESTAMP]).array)
    limit = pd.Series(test_time.reindex(id_column(exclude, USER)[dated]).array)
    try:
        earlier = (when <= limit).to_numpy(dtype=bool)  # False where limit is missing
    except TypeError:
        raise VisrecError(
            "exclude's timestamps and the data's cannot be compared (numbers against "
            "datetimes, or datetimes with and without a time zone): give both alike"
        ) from None
    keep = np.ones(len(exclude), dtype=bool)
    # a user with no row in frame is no test user: their pairs change nothing
    keep[dated] = limit.isna().to_numpy() | earlier
    return exclude[keep]


def time_split(frame: pd.DataFrame | Interactions) -> Split:
    """Leave-last-out by timestamp (see the module docstring); deterministic."""
    df, n_dup = collapse_duplicates(frame)
    if TIMESTAMP not in df.columns or df[TIMESTAMP].isna().any():
        raise TooLittleDataError(
            "protocol 'time' needs a timestamp for every interaction; the table has "
            + (
                "no 'timestamp' column"
                if TIMESTAMP not in df.columns
                else f"{counted(int(df[TIMESTAMP].isna().sum()), 'row')} without one"
            )
            + " (a time column under another name: --time-col NAME on the command line, "
            "timestamp_col= in load_interactions; or use the 'warm' protocol)"
        )
    _refuse_missing(frame)  # a missing rating, named at its place in the whole table
    ts = df[TIMESTAMP].to_numpy()
    _, uinv = np.unique(df[USER].to_numpy(), return_inverse=True)
    order = np.lexsort((np.arange(len(df)), ts, uinv))
    u_sorted = uinv[order]
    last = np.ones(len(df), dtype=bool)
    last[:-1] = u_sorted[1:] != u_sorted[:-1]
    counts = np.bincount(uinv)
    is_test = np.zeros(len(df), dtype=bool)
    is_test[order[last]] = True
    is_test &= counts[uinv] >= 2
    return _build("time", df[~is_test], df[is_test], n_dup, {})


def cold_items_split(
    frame: pd.DataFrame | Interactions,
    test_ratio: float = 0.2,
    seed: int = 0,
    eligible_items: np.ndarray | list[str] | None = None,
) -> Split:
    """Hold out a random ``floor(test_ratio * n_eligible)`` items with all their rows.

    Parameters
    ----------
    frame : DataFrame or Interactions
    test_ratio : float, default 0.2
    seed : int, default 0
    eligible_items : array of raw item ids, optional
        Items that may be held out (e.g. the items that have an image vector: an item
        without one cannot be recommended from its picture). Default: every item.

    Notes
    -----
    ``test.item_map`` lists the held-out items in a random order drawn from ``seed``
    (so that index-order tie-breaking carries no information).
    """
    test_ratio = check_ratio(test_ratio)
    df, n_dup = collapse_duplicates(frame)
    _refuse_missing(frame)
    seed = split_seed(seed)  # as written in reports and JSON
    rng = np.random.default_rng(seed)
    held = draw_cold_items(df[ITEM], test_ratio, rng, eligible_items)
    is_test = df[ITEM].isin(held).to_numpy()
    # Candidates in a random (seeded) order: a model with no information gives them all
    # one score, and its top-K is then the first K by index, which must not carry
    # information. First appearance in a file does (popular items show up early: on
    # MovieLens-100K seed 0 it more than doubles a constant scorer's Recall@20, 0.175
    # vs 0.073).
    present = IdMap.from_values(df.loc[is_test, ITEM]).ids
    test_items = IdMap(present[rng.permutation(len(present))])
    info = {"seed": seed, "test_ratio": test_ratio, "n_candidates": len(test_items)}
    return _build("cold-items", df[~is_test], df[is_test], n_dup, info, test_items)


def draw_cold_items(
    item_ids: pd.Series | np.ndarray,
    test_ratio: float,
    rng: np.random.Generator,
    eligible_items: np.ndarray | list[str] | None = None,
    who: str = "cold-items split",
    ratio_name: str = "test_ratio",
) -> set[Any]:
    """The items a cold-items split holds out: ``floor(test_ratio * n_eligible)`` drawn
    with ``rng`` from the distinct ``item_ids`` (in :class:`IdMap` order) that are
    ``eligible_items`` (found under either spelling of a number; all when None).

    One draw for ``cold_items_split`` and ``visrec rating-eval --protocol cold-items``:
    the same data, ratio and seed hold out the same items in both.
    """
    items = IdMap.from_values(item_ids).ids
    if eligible_items is not None:
        found = find_ids({v: j for j, v in enumerate(items)}, eligible_items)
        pool = items[sorted({j for j in found if j is not None})]
    else:
        pool = items
    n_hold = int(np.floor(test_ratio * len(pool)))
    if n_hold < 1 or n_hold >= len(items):
        # eligible = has an image vector: 0 of them usually means ids spelt differently
        which = (
            f" (of the {len(items):,} items, those with an image vector)"
            if eligible_items is not None
            else ""
        )
        raise VisrecError(
            f"{who}: {counted(len(pool), 'eligible item')}{which} x {ratio_name} {test_ratio} "
            f"gives {counted(n_hold, 'held-out item')}; need at least 1 and fewer than all "
            f"{len(items)}"
        )
    return set(pool[rng.choice(len(pool), size=n_hold, replace=False)])


def make_split(
    frame: pd.DataFrame | Interactions,
    protocol: str,
    seed: int = 0,
    test_ratio: float = 0.2,
    eligible_items: np.ndarray | list[str] | None = None,
) -> Split:
    """Split ``frame`` by the protocol named ``protocol``.

    Parameters
    ----------
    frame : DataFrame or Interactions
        Columns ``user_id``, ``item_id`` (and ``timestamp`` for ``time``).
    protocol : {"warm", "time", "cold-items"}
        :func:`warm_split` (per-user random), :func:`time_split` (each user's last
        row) or :func:`cold_items_split` (whole items held out).
    seed : int, default 0
        Ignored by ``time``.
    test_ratio : float, default 0.2
        Held-out share of each user's rows (warm) or of the items (cold-items);
        ignored by ``time``.
    eligible_items : array of raw item ids, optional
        Only for ``cold-items``: the items that may be held out (those with an image).

    Returns
    -------
    Split
        ``train`` and ``test`` Interactions on one user map (from the training rows)
        and, for warm and time, one item map; for cold-items the test item map is the
        held-out items (the candidates). Also counts of what was dropped.
    """
    if isinstance(frame, pd.DataFrame):
        check_columns_once(frame)
    if protocol == "warm":
        return warm_split(frame, test_ratio=test_ratio, seed=seed)
    if protocol == "time":
        return time_split(frame)
    if protocol == "cold-items":
        return cold_items_split(
            frame, test_ratio=test_ratio, seed=seed, eligible_items=eligible_items
        )
    raise VisrecError(f"unknown protocol {protocol!r}; choose from: {', '.join(PROTOCOLS)}")
