"""Scoring one fitted model on one split: :func:`evaluate_model`.

It scores *all* candidates for every test user in batches, leaves out each user's
training items and the ``exclude`` pairs (read and checked here for
:func:`visrec.evaluation.runner.run_experiment`), and computes AUC, Recall@K, NDCG@K,
HitRate@K and catalogue coverage@K with :mod:`visrec.evaluation.metrics`. A model not
fitted on ``split.train`` is refused. Also here: the checks of ``k``, ``batch_size`` and
integer arguments that the runner shares. :func:`evaluate_model` is importable from
:mod:`visrec.evaluation.runner` as before.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from visrec import _progress_lines
from visrec._bars import progress_bar
from visrec.data.id_spelling import shown_ids
from visrec.data.interactions import ITEM, USER, Interactions, id_column
from visrec.embed.store import UNUSABLE_VALUES, ItemVectors, distinct_rows, usable_rows
from visrec.errors import ArgumentTypeError, VisrecError, agree, counted
from visrec.evaluation import metrics as M
from visrec.evaluation.protocols import Split, known_at_test
from visrec.models.base import Recommender

__all__ = ["evaluate_model"]


def _integer(value: object, what: str) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise ArgumentTypeError(f"{what} must be an integer, got {value!r}")


def _check_k(k: object) -> None:
    if _integer(k, "k") <= 0:
        raise VisrecError(f"k must be positive, got {k}")


def _check_batch_size(batch_size: int) -> None:
    _integer(batch_size, "batch_size")
    if batch_size < 1:
        raise VisrecError(f"batch_size must be at least 1, got {batch_size}")


def evaluate_model(
    model: Recommender,
    split: Split,
    k: int = 20,
    item_vectors: ItemVectors | None = None,
    batch_size: int = 512,
    progress: bool = False,
    exclude: pd.DataFrame | None = None,
) -> dict[str, float]:
    """Metrics of one fitted model on one split.

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train``.
    split : Split
        From ``make_split``; a cold-items split made by hand should list its candidates
        (``split.test.item_map``) in a random order, as ``make_split`` does: a model that
        cannot score new items gives them one score, and ties break by that order.
    k : int, default 20
    item_vectors : ItemVectors, optional
        Needed for ``cold-items`` by models with ``scores_new_items``.
    batch_size : int, default 512
        Users scored at a time (memory is ``batch_size x n_candidates`` floats); >= 1.
    progress : bool, default False
        A tqdm bar over the users scored.
    exclude : DataFrame, optional
        ``(user_id, item_id)`` pairs left out of that user's candidates, besides their
        training items (see :func:`~visrec.evaluation.runner.run_experiment`); pairs of
        other users or items, and pairs that are test positives, are ignored.

    Returns
    -------
    dict with ``auc, recall, ndcg, hit_rate`` (means over test users), ``coverage``
    (the share of the candidates in any top-K list), ``score_s``, ``n_test_users``,
    ``n_candidates``.

    Raises
    ------
    VisrecError
        Among others: an argument of the wrong kind (also a TypeError, naming it);
        ``item_vectors`` of another backbone than the model's fit, or holding NaN for
        a candidate (named); a NaN score (naming the user and the item).
    """
    _check_types(model, split, item_vectors, exclude)
    _check_batch_size(batch_size)  # 0 would fail in range(), < 0 would score no user
    _check_k(k)
    test = split.test
    n_cand = test.n_items
    train_rows = _check_fitted_on(model, split)
    # A list longer than the candidates holds the same hits (-1 pads the rest), and
    # Recall@K / NDCG@K use min(K, |test|) with |test| <= candidates: the figures of
    # any k >= n_cand are those of k = n_cand, without a users x k array for k = 10**8.
    k_list = min(k, max(n_cand, 1))
    test_csr = test.to_csr("binary")
    users = np.unique(np.asarray(test.user_idx))
    new_vectors = None
    new_cols = new_inverse = np.zeros(0, dtype=np.int64)
    if split.cold and model.scores_new_items:
        if item_vectors is None:
            raise VisrecError(
                f"model {model.name!r} scores cold items from image vectors: pass item vectors"
            )
        # the arrays below carry no backbone: checked here, as score_new_items does
        model.check_vector_meta(item_vectors.meta)
        aligned, has = item_vectors.align(test.item_map.ids)
        # each distinct vector scored once (as visrec recommend does): a matrix product
        # rounds a row by its place in the block, and items with one photo must tie
        new_cols = np.flatnonzero(has)
        _check_usable(aligned[has], test.item_map.ids[new_cols])
        new_vectors, new_inverse = distinct_rows(aligned[has])
    seen = None if split.cold else train_rows
    if exclude is not None and len(exclude):
        extra = _pairs_matrix(exclude, test)
        extra = (extra - extra.multiply(test_csr)).tocsr()  # a test positive stays one
        extra.eliminate_zeros()
        seen = extra if seen is None else (seen + extra).tocsr()
    per: dict[str, list[np.ndarray]] = {m: [] for m in ("auc", "recall", "ndcg", "hit_rate")}
    listed: list[np.ndarray] = []  # per batch, the distinct items of its top-K lists
    t0 = time.perf_counter()
    scorer = None
    starts = range(0, len(users), batch_size)
    # into a log file (no bar), a line a minute: scoring a large split takes minutes
    _progress_lines.fit_started()
    begun = time.monotonic()
    bar = progress_bar(
        total=len(users), desc=f"  score {model.name}", unit="user", show=progress,
        leave=False,
    )  # fmt: skip
    for s in starts:
        _progress_lines.step_done(f"score {model.name}", s, len(users), "test users", begun)
        bar.update(s - bar.n)  # the users scored so far
        u = users[s : s + batch_size]
        if split.cold:
            if new_vectors is not None:
                scores = np.full((len(u), n_cand), -np.inf, dtype=np.float32)
                if len(new_cols):
                    if scorer is None:  # the pictures' part, once for all batches
                        scorer = model.new_item_scorer(new_vectors)
                    scores[:, new_cols] = scorer(u)[:, new_inverse]
            else:
                scores = np.zeros((len(u), n_cand), dtype=np.float32)
        else:
            scores = model.score(u)
        # training items (warm/time) and the pairs of ``exclude``: no hit, no miss
        mask = None if seen is None else seen[u].toarray().astype(bool)
        if scores.shape != (len(u), n_cand):
            raise VisrecError(
                f"model {model.name!r} returned scores of shape {scores.shape}, "
                f"expected {(len(u), n_cand)}"
            )
        _check_no_nan(model, scores, test.user_map.ids[u], test.item_map.ids)
        relevant = test_csr[u].toarray().astype(bool)
        per["auc"].append(M.auc(scores, relevant, mask))
        top = M.top_k(scores, k_list, mask)
        if mask is not None:
            relevant &= ~mask
        per["recall"].append(M.recall_at_k(top, relevant))
        per["ndcg"].append(M.ndcg_at_k(top, relevant))
        per["hit_rate"].append(M.hit_rate_at_k(top, relevant))
        listed.append(np.unique(top))
    bar.update(len(users) - bar.n)
    bar.close()  # on an exception its __del__ does
    out = {m: M.mean(np.concatenate(v)) if v else float("nan") for m, v in per.items()}
    # no test user, no list: an empty evaluation covers nothing, and says so (not 0)
    covered = M.coverage(np.unique(np.concatenate(listed)), n_cand) if n_cand and listed else None
    out["coverage"] = float("nan") if covered is None else covered
    out["score_s"] = time.perf_counter() - t0
    out["n_test_users"] = float(len(users))
    out["n_candidates"] = float(n_cand)
    return out


def _check_types(model: object, split: object, item_vectors: object, exclude: object) -> None:
    """Arguments of the wrong kind, named, before an attribute of theirs is missed."""
    if not isinstance(model, Recommender):
        raise ArgumentTypeError(
            f"model must be a fitted Recommender (make_model('bpr').fit(split.train)), "
            f"got {type(model).__name__}"
        )
    if not isinstance(split, Split):
        raise ArgumentTypeError(
            f"split must be a Split (make_split(data, protocol)), got {type(split).__name__}"
        )
    if item_vectors is not None and not isinstance(item_vectors, ItemVectors):
        raise ArgumentTypeError(
            "item_vectors must be an ItemVectors or None (visrec.read_vectors(path) reads "
            f"one), got {type(item_vectors).__name__}"
        )
    # an empty frame excludes nothing, columns or not
    if not (isinstance(exclude, pd.DataFrame) and not len(exclude)):
        _check_exclude(exclude)


def _check_exclude(exclude: object) -> None:
    """``exclude`` is None or a DataFrame with ``user_id`` and ``item_id`` columns (for
    ``evaluate_model`` and ``run_experiment`` alike)."""
    if exclude is not None and not (
        isinstance(exclude, pd.DataFrame) and {USER, ITEM} <= set(exclude.columns)
    ):
        got = list(exclude.columns) if isinstance(exclude, pd.DataFrame) else None
        raise ArgumentTypeError(
            "exclude must be None or a DataFrame with user_id and item_id columns, got "
            + (f"the columns {got}" if got is not None else type(exclude).__name__)
        )


def _check_usable(vectors: np.ndarray, ids: np.ndarray) -> None:
    """Refuse candidates' image vectors holding NaN, infinity or huge values, by item
    id (the model's own check names a row of the distinct vectors: no one's row)."""
    bad = np.flatnonzero(~usable_rows(vectors))
    if len(bad):
        raise VisrecError(
            f"item_vectors: {counted(len(bad), 'candidate item vector')} "
            f"{agree(len(bad), 'holds', 'hold')} {UNUSABLE_VALUES} ({shown_ids(ids[bad], 5)}); "
            f"re-embed {agree(len(bad), 'that image or mark it', 'those images or mark them')} "
            "has_image=false"
        )


def _check_no_nan(
    model: Recommender, scores: np.ndarray, user_ids: np.ndarray, item_ids: np.ndarray
) -> None:
    """Refuse NaN scores naming a user and an item (the metrics can only name a row of
    the block of users)."""
    if scores.dtype.kind not in "fc":  # no NaN to hold; the metrics check the type
        return
    nan = np.isnan(scores)
    if nan.any():
        row, col = (int(x) for x in np.argwhere(nan)[0])
        raise VisrecError(
            f"model {model.name!r} scored NaN for user {user_ids[row]!r} and item "
            f"{item_ids[col]!r} ({counted(int(nan.sum()), 'NaN score')} among "
            f"{counted(len(user_ids), 'user')}); did its fit diverge? Refit it with other "
            "hyperparameters"
        )


def _excluded_pairs(
    exclude: pd.DataFrame | None, frame: pd.DataFrame, protocol: str
) -> pd.DataFrame | None:
    """``exclude``'s distinct ``(user_id, item_id)`` pairs as text, those a model could
    know at its test time (``protocols.known_at_test``: none on a cold-items split). A
    pair that is also a positive of the data needs no care here: a training pair is no
    candidate of its user anyway, and ``evaluate_model`` keeps a test pair a positive."""
    _check_exclude(exclude)
    if exclude is None:
        return None
    exclude = known_at_test(exclude, frame, protocol)
    pairs = pd.DataFrame({USER: id_column(exclude, USER), ITEM: id_column(exclude, ITEM)})
    return pairs.drop_duplicates(ignore_index=True)


def _pairs_matrix(pairs: pd.DataFrame, test: Interactions) -> sp.csr_matrix:
    """``pairs`` as a users x candidates mask in ``test``'s maps (others dropped)."""
    u = test.user_map.to_index(pairs[USER].to_numpy(), missing="minus_one")
    i = test.item_map.to_index(pairs[ITEM].to_numpy(), missing="minus_one")
    ok = (u >= 0) & (i >= 0)
    m = sp.csr_matrix(
        (np.ones(int(ok.sum()), dtype=np.float32), (u[ok], i[ok])),
        shape=(test.n_users, test.n_items),
    )
    m.data[:] = 1.0
    return m


def _check_fitted_on(model: Recommender, split: Split) -> sp.csr_matrix:
    """The model must have been fitted on ``split.train``: scores are read by index, so
    a model fitted on all the data, or on another seed's split, would be scored against
    the wrong users and items without an error. Returns ``split.train``'s users x items
    matrix (the training items ``evaluate_model`` leaves out of the candidates)."""
    model._check_fitted()
    train = split.train
    rows = train.to_csr("binary")
    same = model.user_map_ == train.user_map and model.item_map_ == train.item_map
    # the same ids in the same order, yet fitted on the test rows too (a model fitted on
    # all the data of a split that lost no user or item): its seen pairs tell
    same = same and model.seen_.shape == rows.shape and (model.seen_ != rows).nnz == 0
    if not same:
        raise VisrecError(
            f"model {model.name!r} was not fitted on this split's training rows (its "
            f"{model.user_map_.ids.size:,} users x {model.item_map_.ids.size:,} items and "
            f"{model.seen_.nnz:,} pairs are not split.train's {train.n_users:,} x "
            f"{train.n_items:,} and {rows.nnz:,}); fit it on split.train"
        )
    return rows
