"""The experiment runner: split x models x seeds -> metrics with mean and spread.

For every seed the runner makes one split with the chosen protocol, fits every model on
its training set (the popularity baseline is always included), scores *all* candidates
for every test user in batches, removes each user's training items, and computes AUC,
Recall@K, NDCG@K, HitRate@K and catalogue coverage@K with :mod:`visrec.evaluation.metrics`.

Candidates: all training items for the ``warm`` and ``time`` protocols; exactly the
held-out items for ``cold-items``, scored through ``Recommender.score_new_items`` from
their image vectors. A model that cannot score new items (``scores_new_items`` False)
gives them all the same score, so its AUC is 0.5 and its top-K is the first K
candidates (ties break by index): the honest "no information" line.

Resume: with ``resume=PATH`` every finished (seed, model) run is appended to a JSON-lines
record as soon as it finishes, keyed by a fingerprint of everything that determines it
(a content hash of the interactions and of the item vectors, protocol, k, test ratio,
the model's full hyperparameters, the seed, the visrec code). A second call with the
same path fits only the runs not recorded yet and returns exactly what one
uninterrupted call would have (``fit_s`` of a reused run is the recorded one); its
runs leave the record once the experiment is complete (runs of other models or seeds
stay, for their own resume; an empty record is removed).

The result, :class:`ExperimentResult` with its summary, table and JSON (and
:data:`METRICS`), lives in :mod:`visrec.evaluation.experiment_result`; the parsing of
model specs (:func:`parse_model_specs`, :func:`model_class`) in
:mod:`visrec.evaluation.model_specs`; the scoring of one fitted model on one split
(:func:`evaluate_model`, with the ``exclude`` pairs it leaves out and the checks of
``k`` and ``batch_size``) in :mod:`visrec.evaluation.model_scoring`. All are importable
from here as before.
"""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec._atomic import check_side_file, remove_empty
from visrec._bars import progress_bar
from visrec.data.interactions import ITEM, Interactions, check_columns_once, id_column
from visrec.embed.store import ItemVectors, check_finite_vectors
from visrec.errors import ArgumentTypeError, TooLittleDataError, VisrecError, agree, counted
from visrec.evaluation import run_record
from visrec.evaluation.experiment_result import COUNTS as COUNTS
from visrec.evaluation.experiment_result import METRICS as METRICS
from visrec.evaluation.experiment_result import ExperimentResult as ExperimentResult
from visrec.evaluation.model_scoring import (
    _check_batch_size,
    _check_k,
    _excluded_pairs,
    _integer,
)
from visrec.evaluation.model_scoring import evaluate_model as evaluate_model
from visrec.evaluation.model_specs import BASELINE as BASELINE
from visrec.evaluation.model_specs import ModelSpec as ModelSpec
from visrec.evaluation.model_specs import ModelSpecs as ModelSpecs
from visrec.evaluation.model_specs import _make as _make
from visrec.evaluation.model_specs import model_class as model_class
from visrec.evaluation.model_specs import parse_model_specs as parse_model_specs
from visrec.evaluation.protocols import (
    PROTOCOLS,
    Split,
    check_ratio,
    make_split,
    split_seed,
    warm_known,
)

__all__ = [
    "ExperimentResult",
    "check_item_vectors",
    "evaluate_model",
    "parse_model_specs",
    "run_experiment",
]


def seed_list(seeds: Sequence[int] | int) -> list[int]:
    """The seeds as ints: ``3`` means 0, 1, 2 (``visrec evaluate --seeds 3``); a
    repeated seed would be counted twice in the spread of one split."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise VisrecError(f"seeds={seeds}: need at least one seed")
        return list(range(int(seeds)))
    # a bool (True is no number of seeds), or text, which would be read digit by digit
    if isinstance(seeds, int | str | bytes):
        raise ArgumentTypeError(f"seeds must be a number or a list of ints, got {seeds!r}")
    try:
        listed = list(seeds)  # _integer's own TypeError names the seed: not caught here
    except TypeError as exc:
        raise ArgumentTypeError(f"seeds must be a number or a list of ints, got {seeds!r}") from exc
    # < 0 said now, as a seed: the models' check of their random_state comes next
    out = [split_seed(_integer(s, "seed")) for s in listed]
    if not out:
        raise VisrecError("need at least one seed")
    if len(set(out)) != len(out):
        dup = next(s for s in out if out.count(s) > 1)
        raise VisrecError(f"seed {dup} is listed twice: one split would count as two")
    return out


def _as_frame(data: pd.DataFrame | Interactions) -> pd.DataFrame:
    if isinstance(data, Interactions):
        return data.to_frame()
    if isinstance(data, pd.DataFrame):
        check_columns_once(data)
        return data
    raise ArgumentTypeError(f"data must be a DataFrame or Interactions, got {type(data).__name__}")


def run_experiment(
    data: pd.DataFrame | Interactions,
    item_vectors: ItemVectors | None,
    protocol: str,
    models: ModelSpecs = ("popularity",),
    seeds: Sequence[int] | int = (0, 1, 2),
    k: int = 20,
    test_ratio: float = 0.2,
    batch_size: int = 512,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    resume: str | os.PathLike[str] | None = None,
    note: Callable[[str], None] | None = None,
    keep_record: bool = False,
    vectors_source: str = "item vectors",
    exclude: pd.DataFrame | None = None,
    earlier: str | os.PathLike[str] | None = None,
) -> ExperimentResult:
    """Split, fit and score every model for every seed.

    Parameters
    ----------
    data : DataFrame (canonical columns ``user_id``, ``item_id``, optional ``rating``,
        ``timestamp``) or Interactions
        Every row is an implicit positive; duplicates are collapsed by the protocol.
    item_vectors : ItemVectors or None
        Image vectors; needed by models with ``uses_vectors`` and for ``cold-items``
        (where only items with an image are held out).
    protocol : {"warm", "time", "cold-items"}
    models : list of names, ``(name, params)`` pairs or estimators; or "name,name"
        The popularity baseline is added first when missing. A model's
        ``random_state`` is set to the seed unless given in its params (an
        estimator gives the hyperparameters it sets away from their defaults, so one
        made with ``random_state=7`` fits every seed's split from that seed).
    seeds : sequence of int, or int, default (0, 1, 2)
        One split and one fit per seed (``time`` splits are the same for every seed;
        only model initialisation changes). An int ``n`` means seeds ``0..n-1``, as
        ``visrec evaluate --seeds n``; a repeated seed is an error. The models'
        defaults were chosen on ML-100K seeds 0-3: ``range(100, 110)`` checks on
        splits no choice saw (``--random-state 100 --seeds 10``).
    k : int, default 20
    test_ratio : float, default 0.2
    batch_size : int, default 512
        Users scored at a time, >= 1 (see :func:`evaluate_model`).
    progress : bool, default True
        tqdm progress bars.
    log : callable, optional
        Receives one line per split/model (e.g. ``print`` to stderr).
    resume : path, optional
        A JSON-lines record of finished runs (default None: nothing is recorded). Each
        (seed, model) run is appended as soon as it finishes; runs already recorded for
        the same data, vectors, protocol, k, test ratio, hyperparameters, seed and
        visrec code (version and source digest) are not fitted again, and records made
        under anything else are ignored with a note. On completion this experiment's
        runs leave the record (runs of other models or seeds stay); the file goes when
        nothing is left. A pipe, folder or device at this path is an error before any
        fit.
    note : callable, optional
        Receives the resume notes ("resuming: N of M runs already done") and the seeds
        left out for want of a test user; default ``log``.
    keep_record : bool, default False
        Leave this experiment's runs in the ``resume`` record on completion, for a
        caller that first writes the results somewhere safe and then drops them with
        ``run_record.forget(resume, result.run_keys())`` (as ``visrec evaluate`` does
        once its ``--json`` is written).
    vectors_source : str, default "item vectors"
        Names ``item_vectors`` in errors (``visrec evaluate`` gives the file), as in
        :func:`check_item_vectors`.
    exclude : DataFrame, optional
        ``(user_id, item_id)`` pairs (``timestamp`` optional) that are neither
        positives nor negatives: no candidate of that user, as far as a model could
        know them at the test time (``protocols.known_at_test``): on ``warm`` a random
        share per seed, the ``1 - test_ratio`` the split keeps for training
        (``protocols.warm_known``: the others fall among the held-out rows and stay
        candidates), those no later than the user's test item on ``time``, none on
        ``cold-items`` (nobody had rated a new item). ``visrec evaluate --min-rating``
        passes the rows rated below it, which a model trained with ``--min-rating``
        never recommends, so the figures are those of the lists ``visrec recommend``
        writes. Pairs also in ``data`` are positives and stay.
    earlier : path, optional
        The results JSON of an earlier complete run (:meth:`ExperimentResult.to_json`
        keeps its runs under ``"resume"``): its runs made under the same inputs,
        settings, hyperparameters, seed and code are not fitted again (as a resume
        record's), so more seeds or models cost only the new runs. Another file, or
        none, there is nothing to reuse.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    VisrecError
        Among others: an item of ``data`` whose image vector holds NaN, infinity or
        huge values when a model scores from vectors, or a protocol that leaves no test user on any
        seed (e.g. no user with 2 or more interactions for ``warm``/``time``). A seed
        whose split alone has no test user is left out, with a note, and is listed
        in ``info`` with ``"skipped"`` (its reason); ``runs`` has no row for it.
    """
    if protocol != "time":  # which ignores it (the CLI notes that)
        check_ratio(test_ratio)  # before the data is read, as the rest of the set-up
    seeds, specs, classes = _check_setup(protocol, k, batch_size, seeds, models, item_vectors)
    k = int(k)  # np.int64(20) is a whole number too, but no JSON one (to_json)
    used: dict[str, dict[str, Any]] = {}
    for name, params in specs:
        for seed in seeds:  # each fit checks its params: here, before any fit or split
            _make(name, params, seed).check_params()
        defaults = _make(name, params, 0).get_params()  # __init__ only: cheap
        # a seed fixed in the params is a setting of the run; otherwise each split's
        used[name] = {
            n: v for n, v in defaults.items() if n != "random_state" or "random_state" in params
        }
    frame = _as_frame(data)
    excluded = _excluded_pairs(exclude, frame, protocol)
    # cold-items also reads has_image: which items may be held out
    reads_vectors = protocol == "cold-items" or any(
        c.uses_vectors or c.scores_new_items for c in classes.values()
    )
    if item_vectors is not None and reads_vectors:
        check_item_vectors(frame, item_vectors, source=vectors_source)
    setup = _Setup(
        frame=frame,
        item_vectors=item_vectors,
        protocol=protocol,
        seeds=seeds,
        specs=specs,
        k=k,
        test_ratio=test_ratio,
        batch_size=batch_size,
        progress=progress,
        excluded=excluded,
        log=log,
        note=note,
        say=note or log or (lambda _msg: None),
    )
    resumed = _open_record(resume, setup, earlier)
    try:
        rows, info, skipped = _run_all(setup, resumed)
        _check_skipped_seeds(setup, skipped, rows)
        if resumed.record is not None and not keep_record:
            # complete: nothing of this experiment to resume
            run_record.forget(resumed.record, resumed.plan)
    finally:
        # the record's folder, when opening the record made it and it stayed empty
        remove_empty(resumed.made)
    cols = ["seed", "model", *METRICS, "score_s", "n_test_users", "n_candidates", "tuned"]
    # runs recorded before the column existed lack it
    runs = pd.DataFrame(rows).reindex(columns=cols)
    return ExperimentResult(
        runs=runs, protocol=protocol, k=k, info=info, params=used,
        resume=run_record.results_section(resumed),
    )  # fmt: skip


@dataclass(frozen=True)
class _Setup:
    """The checked arguments and the data as read: what every seed's runs share."""

    frame: pd.DataFrame
    item_vectors: ItemVectors | None
    protocol: str
    seeds: list[int]
    specs: list[tuple[str, dict[str, Any]]]
    k: int
    test_ratio: float
    batch_size: int
    progress: bool
    excluded: pd.DataFrame | None
    log: Callable[[str], None] | None
    note: Callable[[str], None] | None
    #: where the resume notes and the seeds left out go: ``note``, else ``log``
    say: Callable[[str], None]


def _open_record(
    resume: str | os.PathLike[str] | None,
    setup: _Setup,
    earlier: str | os.PathLike[str] | None = None,
) -> run_record.Resumed:
    """Read the record at ``resume`` and the earlier results (None: nothing to reuse),
    noting how many runs they spare."""
    record = None if resume is None else Path(resume)
    if record is not None:
        check_side_file(record, "its resume record")  # a pipe there: read for ever
    plan: dict[tuple[int, str], dict[str, Any]] = {}
    ignored: dict[tuple[int, str], set[str]] = {}
    for seed in setup.seeds:
        for name, params in setup.specs:
            model = _make(name, params, seed)
            plan[(seed, name)] = run_record.json_params(model.get_params())
            # what this run does not depend on: a popularity or BPR run stays reusable
            # when a picture model joins (or leaves) the experiment
            ignored[(seed, name)] = set()
            if not (setup.protocol == "cold-items" or model.uses_vectors or model.scores_new_items):
                ignored[(seed, name)].add("vectors")
            if plan[(seed, name)].get("device", "cpu") not in (None, "auto"):
                ignored[(seed, name)].add("device")  # no torch, or a device set
    device = None
    if any("device" not in skip for skip in ignored.values()):
        from visrec._device import torch_device

        device = torch_device("auto")
    fp = run_record.fingerprint(
        setup.frame, setup.item_vectors, setup.protocol, setup.k, setup.test_ratio,
        setup.excluded, device=device,
    )  # fmt: skip
    return run_record.open_record(
        record, fp, plan, setup.say, METRICS, usable=_usable,
        earlier=None if earlier is None else Path(earlier), ignored=ignored,
    )  # fmt: skip


def _usable(rec: dict[str, Any]) -> bool:
    """Whether a recorded run holds what a resumed seed reads: its split's sizes (logged,
    and the split statistics of the result) and its metrics as numbers (averaged)."""
    row = rec["row"]
    return (
        run_record.has_numbers(rec["split"], _SPLIT_STATS, whole=True)
        and run_record.has_numbers(row, METRICS)
        and (row.get("seed"), row.get("model")) == (rec["seed"], rec["model"])
    )


def _run_all(
    setup: _Setup, resumed: run_record.Resumed
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[int, str]]:
    """Every seed's runs under one bar; returns the rows, ``info`` and the seeds skipped."""
    eligible = None
    if setup.protocol == "cold-items" and setup.item_vectors is not None:
        eligible = setup.item_vectors.ids[setup.item_vectors.has_image]
    done = resumed.done
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    skipped: dict[int, str] = {}  # seed -> why its split has no test user
    bar = progress_bar(
        total=len(setup.seeds) * len(setup.specs),
        initial=len(done),
        desc=f"evaluate {setup.protocol}",
        show=setup.progress,
        # no time-left estimate: runs differ by orders of magnitude (popularity's
        # seconds against BPR's minutes), so an average over runs misleads
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs "
        "[{elapsed}{postfix}]",
    )
    try:
        for seed in setup.seeds:
            split, stats = _seed_split(setup, done, seed, eligible)
            info[str(seed)] = stats
            _log_split(setup, seed, stats)
            if not stats["n_test"]:  # every metric would be NaN: fit nothing, say why
                skipped[seed] = _why_no_test(setup.protocol, stats)
                info[str(seed)] = {**stats, "skipped": skipped[seed]}
                bar.update(sum((seed, name) not in done for name, _ in setup.specs))
                continue
            rows += _run_seed(setup, resumed, seed, split, stats, bar)
    finally:
        bar.close()
    return rows, info, skipped


def _seed_split(
    setup: _Setup,
    done: dict[tuple[int, str], dict[str, Any]],
    seed: int,
    eligible: np.ndarray | None,
) -> tuple[Split | None, dict[str, Any]]:
    """The seed's split and its statistics (None and the recorded ones if all runs are)."""
    if any((seed, name) not in done for name, _ in setup.specs):
        split = make_split(
            setup.frame,
            setup.protocol,
            seed=seed,
            test_ratio=setup.test_ratio,
            eligible_items=eligible,
        )
        return split, _split_stats(split)
    # every model of this seed is recorded: no need to split again
    return None, dict(done[(seed, setup.specs[0][0])]["split"])


def _log_split(setup: _Setup, seed: int, stats: dict[str, Any]) -> None:
    """Log a seed's split sizes and dropped rows (as a note when test rows were lost)."""
    # test rows dropped are data left out: said under --quiet too (via ``say``;
    # a seed left with none gets its own note from _check_skipped_seeds)
    lost = (stats["n_dropped_users"] or stats["n_dropped_items"]) and stats["n_test"]
    tell = setup.say if lost and setup.note is not None else setup.log
    if tell is not None:
        tell(
            f"seed {seed}: {stats['n_train']:,} train / {stats['n_test']:,} test rows, "
            f"{counted(stats['n_candidates'], 'candidate')}; dropped "
            f"{counted(stats['n_dropped_users'], 'test row')} of unknown users, "
            f"{stats['n_dropped_items']:,} of unknown items, collapsed "
            f"{counted(stats['n_duplicates'], 'duplicate')}"
        )


def _run_seed(
    setup: _Setup,
    resumed: run_record.Resumed,
    seed: int,
    split: Split | None,
    stats: dict[str, Any],
    bar: Any,
) -> list[dict[str, Any]]:
    """Every model's row on one seed's split, from the record or fitted and recorded now."""
    rows: list[dict[str, Any]] = []
    known = setup.excluded
    if known is not None and setup.protocol == "warm":
        known = warm_known(known, seed, setup.test_ratio)
    for name, params in setup.specs:
        if (seed, name) in resumed.done:
            row = dict(resumed.done[(seed, name)]["row"])
            rows.append(row)
            resumed.keep(seed, name, stats, row)
            if setup.log is not None:
                setup.log(f"  {name}: {_run_line(row, setup.k)} (reused)")
            continue
        assert split is not None
        bar.set_postfix_str(f"seed {seed} {name}")
        row = _fit_and_score(
            name, params, seed, split, setup.item_vectors,
            k=setup.k, batch_size=setup.batch_size, progress=setup.progress,
            exclude=known,
        )  # fmt: skip
        rows.append(row)
        resumed.keep(seed, name, _plain_tree(stats), _plain_tree(row))
        if setup.log is not None:
            setup.log(f"  {name}: {_run_line(row, setup.k)}")
        bar.update(1)
    return rows


def _check_skipped_seeds(
    setup: _Setup, skipped: dict[int, str], rows: list[dict[str, Any]]
) -> None:
    """Refuse an experiment whose every seed was skipped; else note the seeds left out."""
    if skipped and not rows:
        reasons = list(dict.fromkeys(skipped.values()))
        where = " on any seed" if len(setup.seeds) > 1 else ""
        raise TooLittleDataError(
            f"protocol {setup.protocol!r} leaves no test user to evaluate{where}: "
            + "; ".join(reasons)
        )
    if skipped:
        kept = [str(s) for s in setup.seeds if s not in skipped]
        setup.say(
            "; ".join(f"seed {s}: no test user ({why})" for s, why in skipped.items())
            + f"; left out: the results are over {agree(len(kept), 'seed', 'seeds')} "
            + ", ".join(kept)
        )


def _check_setup(
    protocol: str,
    k: int,
    batch_size: int,
    seeds: Sequence[int] | int,
    models: ModelSpecs,
    item_vectors: ItemVectors | None,
) -> tuple[list[int], list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """Everything checkable before the data is read; returns the seeds as ints, the
    model specs (:func:`parse_model_specs`) and each model's class."""
    if protocol not in PROTOCOLS:
        raise VisrecError(f"unknown protocol {protocol!r}; choose from: {', '.join(PROTOCOLS)}")
    _check_k(k)
    _check_batch_size(batch_size)  # now, not at the first model's scoring after its fit
    seeds = seed_list(seeds)
    specs = parse_model_specs(models)
    classes = {name: model_class(name) for name, _ in specs}  # fail fast on typos
    if item_vectors is not None and not isinstance(item_vectors, ItemVectors):
        raise ArgumentTypeError(  # a path, as `visrec evaluate --vectors` takes
            "item_vectors must be an ItemVectors or None (visrec.read_vectors(path) reads "
            f"one), got {type(item_vectors).__name__}"
        )
    if item_vectors is None:
        needs = [n for n, c in classes.items() if c.uses_vectors]
        if needs:
            raise VisrecError(
                f"{agree(len(needs), 'model', 'models')} {', '.join(needs)} "
                f"{agree(len(needs), 'needs', 'need')} item vectors (item_vectors; --vectors "
                "on the command line)"
            )
        if protocol == "cold-items":
            raise VisrecError(
                "protocol 'cold-items' needs item vectors (item_vectors; --vectors on the "
                "command line)"
            )
    return seeds, specs, classes


def _fit_and_score(
    name: str,
    params: dict[str, Any],
    seed: int,
    split: Split,
    item_vectors: ItemVectors | None,
    *,
    k: int,
    batch_size: int,
    progress: bool,
    exclude: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """One run: fit model ``name`` on the split's training rows and score its test
    users; the row ``runs`` gets."""
    model = _make(name, params, seed)
    if progress and "verbose" not in params and "verbose" in model.get_params():
        # a fit's epochs under the runs' bar: a long fit shows it is moving
        # (the instance only: the recorded and reported parameters are as given)
        model.set_params(verbose=True)
    model.load_fit_backend()  # the first run's fit_s must not hold PyTorch's import
    t0 = time.perf_counter()
    model.fit(split.train, item_vectors)
    fit_s = time.perf_counter() - t0
    res = evaluate_model(
        model,
        split,
        k=k,
        item_vectors=item_vectors,
        batch_size=batch_size,
        progress=progress,
        exclude=exclude,
    )
    return {"seed": seed, "model": name, **res, "fit_s": fit_s, "tuned": model.tuned()}


def check_item_vectors(
    data: pd.DataFrame | Interactions,
    item_vectors: ItemVectors,
    source: str = "item vectors",
) -> None:
    """Refuse image vectors holding NaN, infinity or huge values (beyond ±1e12) for
    any item of ``data``.

    Every item may be scored from its vector: a training item in a fit, a held-out
    item of ``cold-items`` (which no fit sees) as a candidate. One such row turns
    scores into NaN, so the run is refused before any work, naming the items.
    Items of the vectors that ``data`` never mentions, and rows with ``has_image``
    False, are not looked at.

    Parameters
    ----------
    data : DataFrame or Interactions
    item_vectors : ItemVectors
    source : str, default "item vectors"
        Names the vectors in the message (``visrec evaluate`` gives the file).

    Raises
    ------
    VisrecError
        ``"v.parquet: 1 item vector holds NaN, infinite or huge (beyond ±1e12)
        values ('b'); ..."``.
    """
    # as text ids the way the loaders write them: a float id 7.0 is item "7"
    check_finite_vectors(item_vectors, id_column(_as_frame(data), ITEM), source)


def _why_no_test(protocol: str, stats: dict[str, Any]) -> str:
    """Why a split has no test row, from its statistics."""
    dropped = []
    if stats["n_dropped_users"]:
        dropped.append(f"{stats['n_dropped_users']:,} by users with no training row")
    if stats["n_dropped_items"]:
        dropped.append(f"{stats['n_dropped_items']:,} on items with no training row")
    if dropped:
        return "every test row was dropped: " + ", ".join(dropped)
    if protocol in ("warm", "time"):
        # a user with 2+ interactions always gives a test row, dropped only as above
        return "no user has 2 or more interactions to split (a single one stays in training)"
    return "no test row left"


_SPLIT_STATS = (
    "n_train", "n_test", "n_users", "n_test_users", "n_train_items", "n_candidates",
    "n_dropped_users", "n_dropped_items", "n_duplicates",
)  # fmt: skip


def _split_stats(split: Split) -> dict[str, int]:
    return {
        "n_train": len(split.train),
        "n_test": len(split.test),
        "n_users": int(split.train.n_users),
        "n_test_users": int(np.unique(split.test.user_idx).size),
        "n_train_items": int(split.train.n_items),
        "n_candidates": int(split.test.n_items),
        "n_dropped_users": int(split.n_dropped_users),
        "n_dropped_items": int(split.n_dropped_items),
        "n_duplicates": int(split.n_duplicates),
    }


def _run_line(row: dict[str, Any], k: int) -> str:
    def fig(v: Any) -> str:  # "n/a", as the table and the report say, not "nan"
        return "n/a" if v is None or np.isnan(v) else f"{v:.3f}"

    return (
        f"AUC {fig(row['auc'])} Recall@{k} {fig(row['recall'])} "
        f"NDCG@{k} {fig(row['ndcg'])} fit {row['fit_s']:.1f}s"
    )


def _plain_tree(v: Any) -> Any:
    """``v`` with numpy scalars as Python ones, for JSON; floats keep every bit
    (json writes their repr), NaN stays NaN."""
    if isinstance(v, dict):
        return {str(n): _plain_tree(x) for n, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain_tree(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
