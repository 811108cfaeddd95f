"""Rating prediction done right: every model on the same split, next to naive baselines.

The tutorial predicted star ratings from the image vector alone (KNN, k=3) and reported
an accuracy with nothing to compare it to. :func:`rating_eval` scores, on the *same*
random 80/20 split of rating rows (``train_test_split``, ``random_state=1234`` as in
the tutorial; several seeds optional), after repeated ``(user, item)`` rows are collapsed
to the latest (Amazon's 5-core files list some reviews several times; a copy on each
side of the split is a lookup, not a prediction):

* ``majority class`` -- always the most common training rating;
* ``global mean`` -- the mean training rating;
* ``item mean`` -- the item's mean training rating (global mean for unseen items);
* ``user mean`` -- the user's mean training rating (global mean for new users): some
  people rate everything high, and on review data that alone can beat the item mean;
* ``KNN k=3 (image)`` -- the tutorial's KNN classifier on the rated item's image vector
  (items without an image get the zero vector, as the tutorial did);
* ``biased MF`` -- :class:`visrec.models.rating_mf.RatingMF` without images;
* ``biased MF + visual`` -- the same with the visual term.

``protocol="cold-items"`` instead holds out a random 20% of the items with all their
ratings (of those with an image, when vectors are given): the item mean and plain MF
know nothing about those items, the KNN and the visual MF see their pictures.

Metrics: accuracy (the prediction rounded to the nearest rating value seen in training,
so regressors and classifiers are comparable), MAE and RMSE of the raw prediction.
Users and items are indexed with maps built from the training split (all items with a
rating or a vector are known, so test-only items can use their image); test users
absent from training get index -1 and the model's explicit fallback.

Resume: with ``resume=PATH`` every finished seed (all its models) is appended to a
JSON-lines record (:mod:`visrec.evaluation.run_record`, model name ``"rating-eval"``)
as soon as it finishes, keyed by a content hash of the ratings and the item vectors,
the protocol, test size, KNN k, the MF hyperparameters, the seed and the visrec
version. A second call with the same path fits only the seeds not recorded yet and
returns exactly what one uninterrupted call would have (a reused seed keeps its
recorded ``fit_seconds``).

The result, :class:`RatingEvalResult` with its table and JSON (and :data:`METRICS`, the
role names :data:`BASELINE`, :data:`PICTURE`, :data:`RATINGS`, :data:`RATINGS_PICTURE`,
:data:`MAJORITY` with :func:`majority_label`, :func:`format_sizes` and
:data:`RECORD_MODEL`), lives in :mod:`visrec.analysis.rating_eval_result`; the checks
and cleaning of the inputs (and :data:`PROTOCOLS`) in
:mod:`visrec.analysis.rating_eval_inputs`. All are importable from here as before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from visrec._atomic import remove_empty
from visrec.analysis.rating_eval_inputs import PROTOCOLS as PROTOCOLS
from visrec.analysis.rating_eval_inputs import _check_args as _check_args
from visrec.analysis.rating_eval_inputs import _check_mf_params as _check_mf_params
from visrec.analysis.rating_eval_inputs import _check_vectors as _check_vectors
from visrec.analysis.rating_eval_inputs import _clean_ratings as _clean_ratings
from visrec.analysis.rating_eval_result import BASELINE as BASELINE
from visrec.analysis.rating_eval_result import MAJORITY as MAJORITY
from visrec.analysis.rating_eval_result import METRICS as METRICS
from visrec.analysis.rating_eval_result import PICTURE as PICTURE
from visrec.analysis.rating_eval_result import RATINGS as RATINGS
from visrec.analysis.rating_eval_result import RATINGS_PICTURE as RATINGS_PICTURE
from visrec.analysis.rating_eval_result import RECORD_MODEL as RECORD_MODEL
from visrec.analysis.rating_eval_result import RatingEvalResult as RatingEvalResult
from visrec.analysis.rating_eval_result import _table as _table
from visrec.analysis.rating_eval_result import format_sizes as format_sizes
from visrec.analysis.rating_eval_result import majority_label as majority_label
from visrec.data.interactions import ITEM, RATING, USER, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError, agree, counted
from visrec.evaluation.protocols import draw_cold_items

if TYPE_CHECKING:
    from visrec.evaluation.run_record import Resumed


def split_rows(
    frame: pd.DataFrame,
    protocol: str,
    test_size: float,
    seed: int,
    eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)`` of ``frame`` for a protocol (see :func:`rating_eval`).

    ``"random"`` is ``train_test_split(rows, test_size, random_state=seed)``, the same
    rows ``visrec knn-rating`` holds out; ``"cold-items"`` holds out all the rows of
    ``floor(test_size * n_items)`` items drawn as ``visrec evaluate --protocol
    cold-items`` draws them (``protocols.draw_cold_items``: the same seed and ratio hold
    out the same items). ``eligible``: the items that may be held out (those with an
    image: a new item is known by its picture only), all of them when None.
    """
    if protocol not in PROTOCOLS:
        raise VisrecError(f"rating-eval: protocol {protocol!r}; expected one of {PROTOCOLS}")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.number)):
        raise VisrecError(f"rating-eval: test size must be a number, got {test_size!r}")
    if not 0.0 < test_size < 1.0:
        raise VisrecError(f"rating-eval: test size must be between 0 and 1, got {test_size}")
    rows = np.arange(len(frame))
    if protocol == "random":
        from visrec.analysis.rating_knn import random_split

        return random_split(len(frame), test_size, seed, who="rating-eval", unit="ratings")
    if eligible is not None and not np.isin(frame[ITEM].to_numpy(), eligible).any():
        raise VisrecError("rating-eval: cold-items split: no rated item has an image to hold out")
    rng = np.random.default_rng(seed)
    cold = draw_cold_items(
        frame[ITEM],
        test_size,
        rng,
        eligible,
        who="rating-eval: cold-items split",
        ratio_name="test size",
    )
    is_test = frame[ITEM].isin(cold).to_numpy()
    return rows[~is_test], rows[is_test]


def nearest_level(pred: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each prediction replaced by the nearest value of ``levels`` (higher one on ties).

    Parameters
    ----------
    pred : ndarray of shape (n,)
    levels : ndarray of shape (m,)
        The rating scale, e.g. ``[1, 2, 3, 4, 5]``.
    """
    lv = np.unique(np.asarray(levels, dtype=np.float64))
    if len(lv) == 0:  # no scale to round to (a bare IndexError from numpy otherwise)
        raise VisrecError(
            "nearest_level: levels is empty; give the rating scale, e.g. [1, 2, 3, 4, 5]"
        )
    p = np.asarray(pred, dtype=np.float64)
    pos = np.clip(np.searchsorted(lv, p), 1, max(len(lv) - 1, 1))
    if len(lv) == 1:
        return np.full_like(p, lv[0])
    lo, hi = lv[pos - 1], lv[pos]
    return np.where(p - lo < hi - p, lo, hi)


def rating_metrics(pred: np.ndarray, truth: np.ndarray, levels: np.ndarray) -> dict[str, float]:
    """``{"accuracy", "mae", "rmse"}`` of predictions against true ratings."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    err = p - t
    return {
        "accuracy": float(np.mean(nearest_level(p, levels) == t)),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
    }


def rating_eval(
    frame: pd.DataFrame | Interactions,
    item_vectors: ItemVectors | None,
    test_size: float = 0.2,
    random_state: int = 1234,
    n_seeds: int = 1,
    protocol: str = "random",
    knn_k: int = 3,
    mf_params: dict[str, Any] | None = None,
    progress: bool = False,
    resume: str | os.PathLike[str] | None = None,
    note: Callable[[str], None] | None = None,
    keep_record: bool = False,
    vectors_source: str = "item vectors",
    earlier: str | os.PathLike[str] | None = None,
) -> RatingEvalResult:
    """Compare rating predictors on the same split(s).

    Parameters
    ----------
    frame : DataFrame or Interactions
        Rating rows with columns ``user_id``, ``item_id``, ``rating`` (``timestamp``
        optional; an ``Interactions`` must hold ratings). Repeated ``(user, item)`` rows
        count once: the latest by timestamp, else the last row (as ``visrec evaluate`` does).
    item_vectors : ItemVectors or None
        Image vectors keyed by item id. None skips the KNN and the visual MF.
    test_size : float, default 0.2
        Share of rating rows held out.
    random_state : int, default 1234
        Seed of the first split; seed ``s`` uses ``random_state + s``.
    n_seeds : int, default 1
        Number of splits; the table reports mean and standard deviation.
    protocol : {"random", "cold-items"}, default "random"
        ``"random"``: ``test_size`` of the rating rows, as the tutorial did.
        ``"cold-items"``: ``test_size`` of the *items* (of those with an image, when
        ``item_vectors`` is given), with all their ratings, are held out, so every test
        item is new: only the picture can tell the models about it.
    knn_k : int, default 3
        Neighbours of the tutorial's KNN.
    mf_params : dict, optional
        Keyword arguments for both :class:`RatingMF` models (besides ``visual``);
        ``random_state`` defaults to each split's seed.
    progress : bool, default False
        Show a tqdm progress bar.
    resume : path, optional
        A JSON-lines record of finished seeds (default None: nothing is recorded). Each
        seed is appended as soon as all its models are scored; seeds already recorded
        for the same ratings, vectors, protocol, test size, ``knn_k``, MF
        hyperparameters and visrec code are not fitted again (their rows, with
        their ``fit_seconds``, are the recorded ones), and records made under anything
        else are ignored with a note. On completion this call's seeds leave the
        record; the file goes when nothing is left. A pipe, folder or device at this
        path is an error before any fit.
    note : callable, optional
        Receives the resume notes ("resuming: N of M seeds already done (PATH)", a
        record ignored or that cannot be written); default: not shown.
    keep_record : bool, default False
        Leave this call's seeds in the ``resume`` record on completion, for a caller
        that first writes the results somewhere safe and then drops them with
        ``run_record.forget(resume, result.run_keys())`` (as ``visrec rating-eval``
        does).
    vectors_source : str, default "item vectors"
        Names the vectors in errors (``visrec rating-eval`` gives the file).
    earlier : path, optional
        The results JSON of an earlier complete call (``RatingEvalResult.to_dict``
        keeps its seeds under ``"resume"``): its seeds made under the same inputs,
        settings and code are not fitted again (as a resume record's), so more seeds
        cost only the new ones. Another file, or none, there is nothing to reuse.

    Returns
    -------
    RatingEvalResult
    """
    from visrec.evaluation import run_record

    if isinstance(frame, Interactions):  # as run_experiment takes it
        frame = frame.to_frame()
    _check_args(frame, item_vectors, protocol, n_seeds, test_size, knn_k, random_state)
    _check_mf_params(mf_params)
    df, notes = _clean_ratings(frame)
    eligible, image_notes = _check_vectors(df, item_vectors, protocol, vectors_source)
    notes += image_notes

    mf_kw = dict(mf_params or {})
    mf_kw.pop("visual", None)
    setup = _Setup(
        df=df,
        item_vectors=item_vectors,
        protocol=protocol,
        test_size=test_size,
        knn_k=knn_k,
        eligible=eligible,
        seeds=[int(random_state) + s for s in range(n_seeds)],
        mf_kw=mf_kw,
    )
    resumed = _open_record(resume, frame, setup, note or (lambda _msg: None), earlier)
    try:
        records, sizes, n_cold = _run_seeds(setup, resumed, progress)
        if resumed.record is not None and not keep_record:
            # complete: nothing of this call to resume
            run_record.forget(resumed.record, resumed.plan)
    finally:
        remove_empty(resumed.made)  # the record's folder, made for it and left empty

    runs = pd.DataFrame.from_records(records)
    if n_cold:
        notes.append(
            f"{counted(n_cold, 'test rating')} (last split) "
            f"{agree(n_cold, 'is by a user', 'are by users')} absent from training: "
            "the models' fallbacks (mean, item mean, global mean for the user mean, item "
            "bias + visual term) score them"
        )
    n_train, n_test = sizes[-1]  # the last seed's (n_seeds >= 1)
    return RatingEvalResult(
        table=_table(runs, n_seeds),
        runs=runs,
        n_train=n_train,
        n_test=n_test,
        seeds=setup.seeds,
        notes=notes,
        protocol=protocol,
        sizes=sizes,
        resume=run_record.results_section(resumed),
    )


@dataclass(frozen=True)
class _Setup:
    """The checked arguments and the cleaned ratings: what every seed's split shares."""

    df: pd.DataFrame
    item_vectors: ItemVectors | None
    protocol: str
    test_size: float
    knn_k: int
    #: the items a cold-items split may hold out (None: any)
    eligible: np.ndarray | None
    seeds: list[int]
    #: the MF's hyperparameters, without ``visual``
    mf_kw: dict[str, Any]


def _open_record(
    resume: str | os.PathLike[str] | None,
    frame: pd.DataFrame,
    setup: _Setup,
    say: Callable[[str], None],
    earlier: str | os.PathLike[str] | None = None,
) -> Resumed:
    """Read the record at ``resume`` and the earlier results (None: nothing to reuse),
    saying how many seeds they spare."""
    from visrec._atomic import check_side_file
    from visrec.evaluation import run_record
    from visrec.models.rating_mf import RatingMF

    record = None if resume is None else Path(resume)
    if record is not None:
        check_side_file(record, "its resume record")  # a pipe there: read for ever
    fp = _fingerprint(
        frame, setup.item_vectors, setup.protocol, setup.knn_k, setup.test_size, setup.eligible
    )
    mf_full = RatingMF(**setup.mf_kw).get_params()  # defaults too: a changed one refits
    mf_full.pop("visual", None)
    plan = {
        (seed, RECORD_MODEL): run_record.json_params({**mf_full, **_split_seed(seed, setup.mf_kw)})
        for seed in setup.seeds
    }
    roles = _roles(setup)
    return run_record.open_record(
        record, fp, plan, say, what="seeds", usable=lambda rec: _usable(rec, roles),
        earlier=None if earlier is None else Path(earlier),
    )  # fmt: skip


def _roles(setup: _Setup) -> list[str]:
    """What each model of a seed uses, in :func:`_eval_split`'s order: majority,
    global/item/user mean, biased MF; with vectors KNN before it and MF + visual after."""
    if setup.item_vectors is None:
        return [BASELINE] * 4 + [RATINGS]
    return [BASELINE] * 4 + [PICTURE, RATINGS, RATINGS_PICTURE]


def _usable(rec: dict[str, Any], roles: list[str]) -> bool:
    """Whether a recorded seed holds what a resumed one reads: its split's sizes and
    each model's metrics as numbers, name and role (``roles``, in order: the report's
    verdict is drawn from them)."""
    from visrec.evaluation.run_record import has_numbers

    runs = rec["row"].get("runs")
    return (
        has_numbers(rec["split"], ("n_train", "n_test", "n_cold"), whole=True)
        and isinstance(runs, list)
        and all(isinstance(r, dict) for r in runs)
        and [r.get("uses") for r in runs] == roles
        and all(
            has_numbers(r, (*METRICS, "fit_seconds")) and isinstance(r.get("model"), str)
            for r in runs
        )
    )


def _run_seeds(
    setup: _Setup, resumed: Resumed, progress: bool
) -> tuple[list[dict[str, Any]], list[tuple[int, int]], int]:
    """Every seed's runs under one bar, recorded ones as recorded; returns the runs, the
    ``(train, test)`` sizes per seed and the last split's test rows of new users."""
    from visrec._bars import progress_bar

    records: list[dict[str, Any]] = []
    sizes: list[tuple[int, int]] = []  # (train, test) per seed: cold-items splits differ
    n_cold = 0
    n_models = len(_roles(setup))
    with progress_bar(
        total=len(setup.seeds) * n_models,
        initial=len(resumed.done) * n_models,
        desc="rating-eval",
        unit="model",
        show=progress,
    ) as bar:
        for seed in setup.seeds:
            recorded = resumed.done.get((seed, RECORD_MODEL))
            if recorded is not None:  # every model of this seed, as recorded
                split = recorded["split"]
                n_train, n_test, n_cold = split["n_train"], split["n_test"], split["n_cold"]
                sizes.append((n_train, n_test))
                records += [{"seed": seed, **r} for r in recorded["row"]["runs"]]
                resumed.keep(seed, RECORD_MODEL, split, recorded["row"])
                continue
            recs, size, n_cold = _run_seed(setup, resumed, seed, bar.update)
            sizes.append(size)
            records += recs
    return records, sizes, n_cold


def _run_seed(
    setup: _Setup, resumed: Resumed, seed: int, tick: Callable[[int], Any]
) -> tuple[list[dict[str, Any]], tuple[int, int], int]:
    """Split on ``seed``, score every model and record the seed; returns its runs, the
    split's ``(train, test)`` sizes and its test rows of new users."""
    df = setup.df
    idx_train, idx_test = split_rows(df, setup.protocol, setup.test_size, seed, setup.eligible)
    train, test = df.iloc[idx_train], df.iloc[idx_test]
    n_train, n_test = len(train), len(test)
    if setup.item_vectors is not None and n_train < setup.knn_k:
        raise VisrecError(
            f"rating-eval: the {setup.protocol} split with test size {setup.test_size} leaves "
            f"{counted(n_train, 'training rating')} of {len(df):,}, fewer than the KNN's "
            f"k={setup.knn_k}; lower the test size or k"
        )
    # each split's MF starts from its own random factors (as `evaluate` seeds its
    # models), so the spread over seeds includes the fit's randomness too
    seed_kw = {**setup.mf_kw, **_split_seed(seed, setup.mf_kw)}
    recs, n_cold = _eval_split(train, test, setup.item_vectors, setup.knn_k, seed_kw, tick)
    runs = [{"seed": seed, **r} for r in recs]
    split = {"n_train": n_train, "n_test": n_test, "n_cold": n_cold}
    resumed.keep(seed, RECORD_MODEL, split, {"runs": recs})
    return runs, (n_train, n_test), n_cold


def _fingerprint(
    frame: pd.DataFrame,
    item_vectors: ItemVectors | None,
    protocol: str,
    knn_k: int,
    test_size: float,
    eligible: np.ndarray | None,
) -> dict[str, Any]:
    """What a resume record must match (see :mod:`visrec.evaluation.run_record`)."""
    from visrec.evaluation import run_record

    fp = run_record.fingerprint(frame, item_vectors, protocol, knn_k, test_size)
    if eligible is not None:  # records of splits that held out items with no picture
        fp["held_out"] = "items with an image"
    return fp


def _split_seed(seed: int, mf_kw: dict[str, Any]) -> dict[str, Any]:
    """The MF's ``random_state`` on split ``seed``: the split's seed, unless the caller
    set one."""
    return {} if "random_state" in mf_kw else {"random_state": seed}


def _eval_split(
    train: pd.DataFrame,
    test: pd.DataFrame,
    item_vectors: ItemVectors | None,
    knn_k: int,
    mf_kw: dict[str, Any],
    tick: Callable[[int], Any],
) -> tuple[list[dict[str, Any]], int]:
    """Fit and score every model on one split; returns (records, test rows of new users)."""
    from visrec.analysis.rating_knn import knn_predict_items, majority_class
    from visrec.models.rating_mf import RatingMF

    # maps from the training split; every item with a vector or a test rating is known
    # too, so an item without training ratings can still be scored from its picture
    extra = list(test[ITEM].unique())
    if item_vectors is not None:
        extra += [str(x) for x in item_vectors.ids]
    inter = Interactions.from_frame(train, extra_items=extra)
    test_u = inter.user_map.to_index(test[USER], missing="minus_one")
    test_i = inter.item_map.to_index(test[ITEM])  # all test items are in the map
    y_tr = train[RATING].to_numpy()
    y_te = test[RATING].to_numpy()
    levels = np.unique(y_tr)
    records: list[dict[str, Any]] = []

    def record(name: str, uses: str, fit: Callable[[], np.ndarray], **extra: Any) -> None:
        t0 = time.perf_counter()
        pred = fit()
        secs = time.perf_counter() - t0
        metrics = rating_metrics(pred, y_te, levels)
        records.append({"model": name, "uses": uses, **metrics, "fit_seconds": secs, **extra})
        tick(1)

    # one name on every split (the class it answers is in "class"): a name holding the
    # class made two rows, each "± nan", where the splits' most common rating differed
    majority = majority_class(y_tr)
    record(MAJORITY, BASELINE, lambda: np.full(len(y_te), majority), **{"class": majority})
    mu = float(y_tr.mean())
    record("global mean", BASELINE, lambda: np.full(len(y_te), mu))
    record("item mean", BASELINE, lambda: _group_mean(inter.item_idx, inter, test_i, mu))
    record("user mean", BASELINE, lambda: _group_mean(inter.user_idx, inter, test_u, mu))

    def plain_mf() -> np.ndarray:
        return RatingMF(visual=False, **mf_kw).fit(inter).predict(test_u, test_i)

    if item_vectors is None:
        record("biased MF", RATINGS, plain_mf)
        return records, int((test_u < 0).sum())
    vecs, has = item_vectors.align(inter.item_map.ids)
    train_i = np.asarray(inter.item_idx)
    record(
        f"KNN k={knn_k} (image)",
        PICTURE,
        lambda: knn_predict_items(vecs, train_i, y_tr, test_i, k=knn_k),
    )
    record("biased MF", RATINGS, plain_mf)
    record(
        "biased MF + visual",
        RATINGS_PICTURE,
        lambda: RatingMF(visual=True, **mf_kw).fit(inter, vecs, has).predict(test_u, test_i),
    )
    return records, int((test_u < 0).sum())


def _group_mean(
    train_idx: np.ndarray, inter: Interactions, test_idx: np.ndarray, mu: float
) -> np.ndarray:
    """Mean training rating of each test row's item (or user): ``train_idx`` indexes the
    training rows' items (users), ``test_idx`` the test rows'; ``mu`` for an index
    without training ratings or -1 (unknown)."""
    assert inter.rating is not None
    n = int(max(train_idx.max(initial=-1), test_idx.max(initial=-1))) + 1
    sums = np.bincount(train_idx, weights=inter.rating, minlength=n)
    cnts = np.bincount(train_idx, minlength=n)
    means = np.where(cnts > 0, sums / np.maximum(cnts, 1), mu)
    return np.where(test_idx >= 0, means[np.maximum(test_idx, 0)], mu)
