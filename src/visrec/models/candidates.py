"""Ranking a mixed candidate list: items the model knows plus items it never saw.

``visrec recommend --items`` may name items that were not in the training data. Models
with ``scores_new_items`` score those from their image vectors; every candidate that
cannot be scored (the model cannot score new items, the item has no vector, or the model
gives it ``-inf``) is ranked after all scored candidates, with score ``-inf``. Ties,
those included, are broken by a seeded pseudo-random order of the candidates
(:func:`tie_key`; ``visrec recommend`` puts the candidates in that order), not by
candidate-file order: a file's order can carry a signal (MovieLens ids roughly follow
popularity, so a numerically sorted list would let the order decide a constant scorer's
top-n), which is why ``visrec evaluate`` shuffles its cold candidates the same way. The
user's training items are never returned.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from visrec._ranking import top_candidates
from visrec.embed.store import distinct_rows
from visrec.models.base import Recommender, defined_in


@dataclass
class CandidateSet:
    """Candidates split by how they can be scored.

    Attributes
    ----------
    raw_ids : ndarray of str, shape (c,)
        All candidates, in output-tiebreak order.
    known_idx : ndarray of int64, shape (c,)
        Model item index per candidate, -1 when the model never saw it.
    new_vectors : ndarray of float32, shape (m, d) or None
        Vectors of the unseen candidates that the model will score (row ``k`` is the
        candidate at ``new_pos[k]``).
    new_pos : ndarray of int64, shape (m,)
        Positions (into ``raw_ids``) of the rows of ``new_vectors``.
    """

    raw_ids: np.ndarray
    known_idx: np.ndarray
    new_vectors: np.ndarray | None
    new_pos: np.ndarray

    def __post_init__(self) -> None:
        # each distinct vector is scored once and its score copied: a matrix product
        # rounds a row by where it sits in the block, so two items with one photo
        # differed in the last bit, and the candidate file's order broke their tie
        self.new_distinct: np.ndarray | None = None
        self.new_inverse = np.zeros(0, dtype=np.int64)
        if self.new_vectors is not None and len(self.new_vectors):
            self.new_distinct, self.new_inverse = distinct_rows(self.new_vectors)
        self._scorer: tuple[Recommender, Callable[[np.ndarray], np.ndarray]] | None = None

    def score_new(self, model: Recommender, user_idx: np.ndarray) -> np.ndarray:
        """``model``'s scores of the distinct new vectors for ``user_idx``; their
        pictures' part is worked out on the first block of users and kept for the others
        (at 20,000 new items, redoing it per block of 800 users was a third of
        ``visrec recommend``)."""
        assert self.new_distinct is not None
        if self._scorer is None or self._scorer[0] is not model:
            self._scorer = (model, model.new_item_scorer(self.new_distinct))
        return self._scorer[1](user_idx)

    def __len__(self) -> int:
        return len(self.raw_ids)


def tie_seed(model: Recommender) -> int:
    """The model's integer ``random_state`` (0 when it has none, e.g. popularity), so the
    tie order of its candidates is fixed for a given model and seed: the seed of its
    fit, not one ``set_params`` gave it since (that takes effect at the next fit)."""
    seed = model.fitted_param("random_state") if hasattr(model, "random_state") else None
    return int(seed) if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) else 0


def tie_key(raw_ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """A seeded pseudo-random rank per candidate, independent of the candidates' order.

    The ids are sorted first, then ranked by a ``numpy.random.default_rng(seed)``
    permutation, so the same candidate set in any file order gets the same keys.

    Parameters
    ----------
    raw_ids : ndarray of str, shape (c,)
        Distinct candidate ids.
    seed : int, default 0

    Returns
    -------
    ndarray of int64, shape (c,)
        A permutation of ``0..c-1``; ``key[i]`` is candidate ``i``'s place among ties.
    """
    ids = np.asarray(raw_ids).astype(np.str_)
    by_id = np.argsort(ids, kind="stable")
    key = np.empty(len(ids), dtype=np.int64)
    key[by_id] = np.random.default_rng(seed).permutation(len(ids))
    return key


def score_block(
    model: Recommender, user_idx: np.ndarray, cands: CandidateSet, *, mark_seen: bool = True
) -> np.ndarray:
    """Scores ``(len(user_idx), len(cands))``; ``-inf`` where a candidate cannot be scored
    (a NaN score from the model counts as that), NaN where it is one of the user's
    training items (unless ``mark_seen`` is False)."""
    c = len(cands)
    known_pos = np.flatnonzero(cands.known_idx >= 0)
    if len(known_pos) == c:  # every candidate known: the model's block is the block
        everything = c == len(model.item_map_) and bool((cands.known_idx == np.arange(c)).all())
        out = model.score(user_idx, None if everything else cands.known_idx)
    else:
        # the known items' scores, the distinct new vectors' and one -inf column side by
        # side, then one gather per row into candidate order: column scatters into the
        # block (out[:, pos] = ...) took 4-6x as long at 20,000 candidates
        parts, col = [], np.full(c, -1, dtype=np.int64)
        if len(known_pos):
            parts.append(model.score(user_idx, cands.known_idx[known_pos]))
            col[known_pos] = np.arange(len(known_pos))
        if cands.new_distinct is not None and len(cands.new_pos):
            col[cands.new_pos] = len(known_pos) + cands.new_inverse
            parts.append(cands.score_new(model, user_idx))
        unscorable = np.full((len(user_idx), 1), -np.inf, dtype=np.float32)
        col[col < 0] = sum(p.shape[1] for p in parts)  # the -inf column
        side = np.hstack([*parts, unscorable]).astype(np.float32, copy=False)
        out = np.take(side, col, axis=1)
        del side
    # NaN marks the user's training items below; a NaN score (e.g. from a NaN vector)
    # would silently drop the candidate from every list, so it is unscorable instead
    # (fmax takes the number: -inf for NaN, the score itself otherwise; in place)
    np.fmax(out, -np.inf, out=out)
    if len(known_pos) and mark_seen:
        # the user's training items: map model item index -> candidate position
        col_of = np.full(len(model.item_map_), -1, dtype=np.int64)
        col_of[cands.known_idx[known_pos]] = known_pos
        seen = model._blocked(user_idx)
        rows = np.repeat(np.arange(len(user_idx)), np.diff(seen.indptr))
        cols = col_of[seen.indices]
        hit = cols >= 0
        out[rows[hit], cols[hit]] = np.nan
    return out


def rank_block(
    scores: np.ndarray,
    n: int,
    new_pos: np.ndarray | None = None,
    new_slots: int = 0,
    *,
    overwrite: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``n`` candidate positions and scores per row: scored candidates by score, then
    unscorable ones (``-inf``) in candidate order; NaN (training items) never. Callers
    put the candidates in :func:`tie_key` order first, so ties do not follow a file.

    With ``new_slots`` > 0, each row holds at least ``min(new_slots, n)`` of the scored
    candidates at ``new_pos`` (those unseen in training), fewer only when fewer are
    scorable: the best-scored of them replace the lowest-ranked others. The row stays
    in score order.

    Returns ``(positions, scores)`` of shape ``(rows, n)``; -1 / NaN pads rows with fewer
    than ``n`` eligible candidates. With ``overwrite``, ``scores`` (a block the caller
    drops afterwards) holds ``-inf`` for its NaN on return: no copy of the block.
    """
    # one ranking rule (visrec._ranking): training items (NaN) excluded, everything else
    # by score, the unscorable (-inf) last and among themselves by candidate position;
    # +inf (a score that overflowed) is a score like any other: first
    exclude = np.isnan(scores)
    if overwrite:
        key = scores
        np.copyto(key, -np.inf, where=exclude)
    else:
        key = np.where(exclude, -np.inf, scores)
    idx, val = top_candidates(key, n, exclude, masked=True)
    if new_slots > 0 and new_pos is not None and len(new_pos):
        _reserve_new(idx, val, key, new_pos, min(new_slots, n))
    val[idx < 0] = np.nan
    return idx, val


def _reserve_new(
    idx: np.ndarray, val: np.ndarray, key: np.ndarray, new_pos: np.ndarray, k: int
) -> None:
    """Make room in each row of ``idx``/``val`` (in place) for the ``k`` best-scored
    candidates at ``new_pos``.

    A new item's score is the model's expectation from its picture alone, so it rarely
    reaches a list next to the items people did buy; a shop that wants new items shown
    reserves places for them. The top-n already holds the best new items it has, so
    the next ones in score order replace its lowest-ranked other candidates.
    """
    # ties break by column: in candidate position (the seeded order), not in the order
    # new_pos lists them (the candidate file's, which must not decide)
    new_pos = np.sort(new_pos)
    sub = key[:, new_pos]
    best, _ = top_candidates(sub, k, np.isneginf(sub))  # unscorable: no reserved place
    is_new = np.zeros(key.shape[1], dtype=bool)
    is_new[new_pos] = True
    rows, n = idx.shape
    r = np.arange(rows)[:, None]
    listed = idx >= 0  # a prefix of each row: -1 pads the end
    in_list = np.zeros(key.shape, dtype=bool)
    in_list[np.broadcast_to(r, idx.shape)[listed], idx[listed]] = True
    new_listed = listed & is_new[np.where(listed, idx, 0)]
    wanted = best >= 0
    want = np.where(wanted, new_pos[np.where(wanted, best, 0)], -1)
    fresh = wanted & ~in_list[r, np.maximum(want, 0)]  # wanted, not listed yet
    # the new items listed are among the best wanted, so `fresh` holds enough
    take = np.maximum(wanted.sum(axis=1) - new_listed.sum(axis=1), 0)
    todo = np.flatnonzero(take)
    if not len(todo):
        return
    idx_t, listed_t, want_t, take_t = idx[todo], listed[todo], want[todo], take[todo]
    add = fresh[todo] & (np.cumsum(fresh[todo], axis=1) <= take_t[:, None])
    # drop the lowest-ranked others beyond the places left free
    drop = np.maximum(listed_t.sum(axis=1) + take_t - n, 0)
    others = listed_t & ~new_listed[todo]
    from_end = np.cumsum(others[:, ::-1], axis=1)[:, ::-1]  # others at or after each place
    keep = listed_t & ~(others & (from_end <= drop[:, None]))
    merged = np.concatenate([idx_t, want_t], axis=1)
    use = np.concatenate([keep, add], axis=1)
    score = key[todo[:, None], np.maximum(merged, 0)]
    order = np.lexsort((merged, -score, ~use), axis=1)[:, :n]  # by score, then position
    merged = np.take_along_axis(merged, order, axis=1)
    use = np.take_along_axis(use, order, axis=1)
    idx[todo] = np.where(use, merged, -1)
    val[todo] = np.where(use, np.take_along_axis(score, order, axis=1), -np.inf)


def iter_recommendations(
    model: Recommender,
    cands: CandidateSet,
    n: int,
    batch_users: int | None = None,
    new_slots: int = 0,
    users: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(user_idx (b,), positions (b, n), scores (b, n))`` for every model user
    (or the user indices ``users``, in their order), in batches sized so one score block
    stays around 16 M entries; ``new_slots`` as in :func:`rank_block`, for the
    candidates the model scores from their vectors."""
    if users is None:
        users = np.arange(len(model.user_map_), dtype=np.int64)
    if _one_row_for_all(model) and (new_slots == 0 or not len(cands.new_pos)):
        yield from _lists_of_one_row(model, cands, n, users, batch_users or 4096)
        return
    if batch_users is None:
        batch_users = max(1, min(4096, 16_000_000 // max(len(cands), 1)))
    for start in range(0, len(users), batch_users):
        u = np.asarray(users[start : start + batch_users], dtype=np.int64)
        block = score_block(model, u, cands)
        pos, val = rank_block(block, n, cands.new_pos, new_slots, overwrite=True)
        yield u, pos, val


def _one_row_for_all(model: Recommender) -> bool:
    """``same_scores_for_every_user``, where nothing below the class that said so scores
    otherwise (a subclass of popularity with a per-user term keeps the block path)."""
    if not getattr(model, "same_scores_for_every_user", False):
        return False
    scorers = ("_score", "score", "_score_new", "score_new_items", "_score_terms")
    if any(name in vars(model) for name in scorers):
        return False
    cls = type(model)
    said = defined_in(cls, "same_scores_for_every_user")
    return all(defined_in(cls, name) >= said for name in scorers)


def _lists_of_one_row(
    model: Recommender, cands: CandidateSet, n: int, users: np.ndarray, batch_users: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`iter_recommendations` for a model whose users all get the same score row:
    the candidates are ranked once (the rule of :func:`rank_block`: by score, then
    position, the unscorable last), and each user's list is the first ``n`` of that
    order that are not theirs. Only the first ``n`` plus as many places as a user of
    the batch has items are looked at: 50,000 users x 76,000 items took 53 s ranked as
    blocks, a fraction of a second so."""
    c = len(cands)
    if not len(users):
        return
    row = score_block(model, users[:1], cands, mark_seen=False)[0].astype(np.float64)
    order = np.lexsort((np.arange(c), -row))  # -inf (unscorable) last, by position
    place = np.empty(c, dtype=np.int64)
    place[order] = np.arange(c)
    known_pos = np.flatnonzero(cands.known_idx >= 0)
    col_of = np.full(len(model.item_map_), -1, dtype=np.int64)
    col_of[cands.known_idx[known_pos]] = known_pos
    for start in range(0, len(users), batch_users):
        u = np.asarray(users[start : start + batch_users], dtype=np.int64)
        seen = model._blocked(u)
        rows = np.repeat(np.arange(len(u)), np.diff(seen.indptr))
        cols = col_of[seen.indices]
        rows, at = rows[cols >= 0], place[cols[cols >= 0]]
        most = int(np.bincount(rows, minlength=len(u)).max()) if len(rows) else 0
        width = min(c, n + most)  # a list's items all come from the first `width`
        blocked = np.zeros((len(u), width), dtype=bool)
        near = at < width
        blocked[rows[near], at[near]] = True
        free = ~blocked
        slot = np.cumsum(free, axis=1) - 1
        r, j = np.nonzero(free & (slot < n))
        pos = np.full((len(u), n), -1, dtype=np.int64)
        val = np.full((len(u), n), np.nan, dtype=np.float64)
        pos[r, slot[r, j]] = order[j]
        val[r, slot[r, j]] = row[order[j]]
        yield u, pos, val
