"""``visrec evaluate``: recommenders side by side on one protocol, several seeds."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec.commands import _resume
from visrec.commands._checks import check_seed, check_seeds
from visrec.commands._common import (
    LastPathNoted,
    add_interactions_args,
    add_layout_args,
    add_min_rating_arg,
    check_model_device,
    check_output_file,
    check_outputs_distinct,
    check_param_names,
    check_vectors_match,
    interactions_named,
    layout_args,
    load_interactions_frame,
    parse_model_params,
    say_written,
    skipped_records,
    split_min_rating,
    survives_closed_stdout,
    with_run,
)
from visrec.commands._help import MODEL_NAMES, HelpFormatter
from visrec.commands._progress import (
    add_progress_args,
    check_quiet_params,
    fit_lines_in_logs,
    show_progress,
)
from visrec.errors import VisrecError, agree, counted

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from visrec.embed.store import ItemVectors
    from visrec.evaluation.experiment_result import ExperimentResult

# with --vectors every model; without, only those that need no pictures
DEFAULT_MODELS = "popularity,bpr,vbpr,visual-cf"
DEFAULT_MODELS_NO_VECTORS = "popularity,bpr"
#: --test-size when not given (the share of each user's rows held out by warm)
DEFAULT_TEST_SIZE = 0.2

EPILOG = """\
examples:
  visrec evaluate --interactions u.data --vectors ml100k.parquet --protocol warm
  visrec evaluate --interactions u.data --vectors ml100k.parquet \\
      --protocol cold-items --models popularity,bpr,vbpr,visual-cf --seeds 3 \\
      --json cold.json --report cold.html
  visrec evaluate --interactions ratings.csv --protocol time \\
      --models popularity,bpr --param bpr.epochs=20 --min-rating 4
  # the same model with two settings, one table
  visrec evaluate --interactions ratings.csv \\
      --models popularity,bpr,bpr@strong --param bpr@strong.reg=0.1

protocols:
  warm        per-user random 80/20 (users with >= 2 interactions give test
              rows)
  time        leave-last-out: each user's latest interaction is the test
              (needs timestamps)
  cold-items  20% of the items (among those with an image vector) held out
              with all their interactions; candidates are exactly those items,
              scored from their vectors

Every row is an implicit positive (use --min-rating to keep only ratings >= a value);
duplicate (user, item) rows are collapsed. Metrics are computed over all candidates
except each user's training items: AUC (ties count 0.5), Recall@K = hits /
min(K, |test|), NDCG@K (binary), HitRate@K, Coverage@K (distinct recommended items /
candidates), mean ± std over seeds S..S+N-1 (--random-state S, default 0). The
popularity baseline is always included. Under the table, the answer in words: do
pictures help here (seed by seed, with a sign test), as the --report gives it.

interrupted runs:
  Every finished (seed, model) run is recorded at once in OUT.partial.jsonl
  next to --json OUT (for an OUT name near the system's 255 bytes: hidden,
  under a cut name; without --json: in $VISREC_CACHE/evaluate/, else
  $XDG_CACHE_HOME/visrec/evaluate/, else ~/.cache/visrec/evaluate/). Run the
  same command again after Ctrl-C, a kill or a crash and only the missing runs
  are fitted; the table and JSON are those of an uninterrupted run. Records
  made with other data, vectors, settings or hyperparameters are ignored (with
  a note). The record is removed once the JSON is written (without --json:
  once the table is printed); --no-resume starts over: the old record is
  deleted and this run's finished runs are recorded afresh (a file there that
  is no record is left alone, and then nothing is recorded).
  The JSON keeps the runs too: the same command into the same --json with
  more --seeds or another model fits only the new runs (an identical rerun
  fits nothing; --no-resume fits them all again).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="compare recommenders (AUC, Recall@K, NDCG@K...) on a warm/time/cold split",
        description=(
            "Split the interactions with a protocol, fit every model on the training part "
            "for several seeds, and print mean ± std of AUC, Recall@K, NDCG@K, HitRate@K, "
            "catalogue coverage and fit seconds, next to the popularity baseline."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_interactions_args(p)
    p.add_argument(
        "--vectors",
        action=LastPathNoted,
        default=None,
        metavar="V",
        help="item vectors Parquet from `visrec embed` (needed by the models that read "
        "pictures, vbpr and visual-cf of the built-in ones, and by cold-items)",
    )
    p.add_argument(
        "--protocol", choices=("warm", "time", "cold-items"), default="warm", help="default warm"
    )
    p.add_argument(
        "--models",
        default=None,
        help=f"comma-separated registered models ({MODEL_NAMES}; default {DEFAULT_MODELS} "
        f"with --vectors, {DEFAULT_MODELS_NO_VECTORS} without); NAME@LABEL adds a variant "
        "with its own --param NAME@LABEL.KEY=VALUE, e.g. bpr@strong (it starts from the "
        "defaults, not from NAME's --param)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=3,
        metavar="N",
        help="number of seeds S..S+N-1, S from --random-state (default 3, at most 1000)",
    )
    p.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="S",
        help="the first seed (default 0). The models' defaults were chosen on seeds 0-3: "
        "for a check on splits no choice saw, start elsewhere, e.g. --random-state 100",
    )
    p.add_argument("--k", type=int, default=20, help="list length for @K metrics (default 20)")
    p.add_argument(
        "--test-size",
        "--test-ratio",
        dest="test_ratio",
        type=float,
        default=None,  # None, not 0.2: an explicit 0.2 with --protocol time gets its note
        metavar="F",
        help=f"held-out share (default {DEFAULT_TEST_SIZE}; not used by --protocol time)",
    )
    add_min_rating_arg(p)
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="MODEL.NAME=VALUE",
        help="a model hyperparameter, e.g. --param vbpr.epochs=30 (repeatable; VALUE is JSON, "
        "a number such as .01, or a string)",
    )
    p.add_argument(
        "--batch-users",
        "--batch-size",  # its first name, kept: embed's --batch-size is images
        dest="batch_size",
        type=int,
        default=512,
        metavar="N",
        help="users scored at a time (default 512), as recommend --batch-users",
    )
    p.add_argument("--json", default=None, metavar="OUT", help="also write the results as JSON")
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write a self-contained HTML report: does the best model with pictures "
        "beat the best without, seed by seed; bar plots; splits; hyperparameters (from a "
        "saved --json later: visrec report OUT.json -o HTML)",
    )
    p.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="start over: fit every run, reusing none recorded by an interrupted earlier "
        "run or kept in an earlier --json (see 'interrupted runs' below)",
    )
    add_progress_args(
        p,
        what="progress bars",
        quiet_help="no progress bars, per-seed lines (but for a seed whose split dropped test "
        "rows) or the minute lines of long fits in a log",
    )
    add_layout_args(p)
    p.set_defaults(func=run)


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from visrec.embed.store import read_vectors
    from visrec.evaluation.runner import run_experiment

    # through tqdm: a line printed while the runs' bar is drawn cut into it
    def log(msg: str) -> None:
        if not args.quiet:
            tqdm.write(msg, file=sys.stderr)

    def say(msg: str) -> None:  # what was lost or changed: shown with --quiet too
        tqdm.write(msg, file=sys.stderr)

    started = time.perf_counter()
    _check_options(args, say)
    specs = _model_specs(args)
    frame, skipped = _load_frame(args, say)
    notes: list[str] = []  # what qualifies the figures: printed, and kept with them
    frame, below = _drop_below_min_rating(args, frame, notes, say)
    frame, below = _note_variant_copies(args, frame, below, notes, say)
    if args.protocol == "time" and "timestamp" in frame.columns:
        _note_latest_ties(frame, notes, say)
    iv = read_vectors(args.vectors) if args.vectors else None
    if iv is not None:
        _note_vector_coverage(args, iv, frame, notes, log, say)
        _warn_vector_spread(args, iv, frame, specs, notes, say)
    record = _record_path(args)

    def body(record: Path | None) -> None:
        # no bars in a log file: a line a minute from a long fit instead (as visrec train)
        with fit_lines_in_logs(args), interactions_named(args.interactions):
            res = run_experiment(
                frame,
                iv,
                args.protocol,
                specs,
                seeds=range(args.random_state, args.random_state + args.seeds),
                k=args.k,
                test_ratio=args.test_ratio,
                batch_size=args.batch_size,
                progress=show_progress(args),
                log=log,
                resume=record,
                note=say,
                keep_record=True,  # until the results are out: see _report
                vectors_source=str(args.vectors),  # a NaN vector's error names the file
                exclude=below,
                # the runs of the last complete run into the same --json, e.g. before
                # --seeds went from 3 to 10
                earlier=args.json if args.json and args.resume else None,
            )
        _attach_inputs(args, res, notes, skipped)
        from visrec.embed.vector_source import what_vectors_show
        from visrec.report.verdict import MADE_BY

        made_by = None if iv is None else iv.meta.get("backbone")
        if what_vectors_show(made_by) != "pictures":  # then a str
            # the verdict then speaks of attributes, not pictures
            res.inputs[MADE_BY] = str(made_by)
        _report(args, res, record)
        # how long (resumed runs: this run's part); train, recommend and embed give
        # theirs in their result line
        log(f"time: {time.perf_counter() - started:.1f} s")

    return _resume.run_resumable(
        "visrec evaluate", args.json, record, args.resume, body, report=args.report
    )


def _check_options(args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """Refuses bad outputs and option values before any work; ``--test-size`` 0.2 if not given."""
    check_output_file(args.json, "--json")  # before the run, not after it
    check_output_file(args.report, "--report")
    check_outputs_distinct(
        {"--json": args.json, "--report": args.report},
        {"--interactions": args.interactions, "--vectors": args.vectors},
    )
    check_seeds(args.seeds)
    check_seed(args.random_state, "--random-state", count=args.seeds)
    if args.batch_size < 1:
        raise VisrecError(f"--batch-users must be at least 1, got {args.batch_size}")
    if args.k < 1:
        raise VisrecError(f"--k must be at least 1, got {args.k}")
    if args.test_ratio is not None and not 0.0 < args.test_ratio < 1.0:
        raise VisrecError(f"--test-size must be between 0 and 1, got {args.test_ratio}")
    if args.protocol == "time" and args.test_ratio is not None:
        say(
            "note: --test-size (--test-ratio) has no effect with --protocol time "
            "(each user's latest interaction is the test)"
        )
    if args.test_ratio is None:
        args.test_ratio = DEFAULT_TEST_SIZE


def _print_verdict(data: dict[str, Any]) -> None:
    """The report's answer under the table: the question the toolkit is for, answered
    on the terminal too (it was in the HTML only)."""
    from visrec.report.verdict import in_words_of, verdict

    lines = verdict(data)
    if lines:
        print("\n" + in_words_of(data, "do pictures help here?"))
        for line in lines:
            print(f"  {line}")


def _model_specs(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """``(name, params)`` of each ``--models`` entry (default set if not given), checked."""
    from visrec.evaluation.model_specs import parse_model_specs

    default = DEFAULT_MODELS if args.vectors else DEFAULT_MODELS_NO_VECTORS
    if args.models is None:
        args.models = default
    elif not any(m.strip() for m in args.models.split(",")):
        raise VisrecError(
            f"--models is empty; name at least one model, or leave the option out for "
            f"the default {default}"
        )
    if any(not m.strip() for m in args.models.split(",")[:-1]):
        # 'popularity,$M,bpr' with M unset: a model left out without a word
        raise VisrecError(
            f"--models {args.models!r}: an empty name between commas; name every model"
        )
    names = [n for n, _ in parse_model_specs(args.models)]
    params = parse_model_params(args.param, names)
    specs = [(n, params.get(n, {})) for n in names]
    for n, p in specs:
        check_quiet_params(args, p, f"--param {n}.verbose")
    _check_params(specs)
    return specs


def _load_frame(
    args: argparse.Namespace, say: Callable[[str], None]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The ``--interactions`` rows, and the records skipped reading them (by kind)."""
    # implicit feedback: a blank or malformed field must not cost the row unless it is
    # needed: the rating for --min-rating, the time for a split by time
    frame = load_interactions_frame(
        args.interactions,
        ids_only=True,
        keep_rating=args.min_rating is not None,
        keep_time=args.protocol == "time",
        log=say,  # skipped records: data lost, never hidden
        time_use="only --protocol time reads it",
        review_digest=True,  # Amazon's copies of a review under each variant: said
        **layout_args(args),
    )
    return frame, skipped_records(frame)  # kept with the results: rows they are not about


def _drop_below_min_rating(
    args: argparse.Namespace, frame: pd.DataFrame, notes: list[str], say: Callable[[str], None]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``(rows kept, rows below)`` by ``--min-rating`` (noted), or ``(frame, None)`` without."""
    if args.min_rating is None:
        return frame, None
    # the counts are said; the pairs below stay out of their user's candidates as far
    # as known at the test time, as `visrec train --min-rating` keeps them out of the
    # lists recommend writes
    frame, below = split_min_rating(frame, args.min_rating, args.interactions, say)
    for text in _below_note(frame, below, args.min_rating, args.protocol, args.test_ratio):
        notes.append(text)
        say(f"note: {text}")  # it moves the figures: said under --quiet too
    return frame, below


def _note_variant_copies(
    args: argparse.Namespace,
    frame: pd.DataFrame,
    below: pd.DataFrame | None,
    notes: list[str],
    say: Callable[[str], None],
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Says, and adds to ``notes``, how many of the rows evaluated (Amazon review files)
    copy a review under another variant (the figures reward finding the copy); returns
    ``frame`` and ``below`` without the review digest that told."""
    from visrec.data.variants import take_copy_note

    frame, text = take_copy_note(frame, args.interactions)
    if text:
        notes.append(text)
        say(f"note: {text}")
    if below is not None:
        below, _ = take_copy_note(below, args.interactions)  # its digest: no note
    return frame, below


def _note_latest_ties(frame: pd.DataFrame, notes: list[str], say: Callable[[str], None]) -> None:
    """Says, and adds to ``notes``, how many users have several items at their latest time."""
    from visrec.evaluation.protocols import latest_ties

    tied, tested = latest_ties(frame)
    if tied:  # the file's row order picks their test item: say so
        notes.append(
            f"{tied:,} of {tested:,} users {agree(tied, 'has', 'have')} several items at "
            "their latest time; "
            "the later row in the file is their test item"
        )
        say(f"note: {notes[-1]}")


def _note_vector_coverage(
    args: argparse.Namespace,
    iv: ItemVectors,
    frame: pd.DataFrame,
    notes: list[str],
    log: Callable[[str], None],
    say: Callable[[str], None],
) -> None:
    """Says how many rows are on an item with an image; a shortfall is added to ``notes``."""
    respelt = check_vectors_match(iv, frame["item_id"], args.vectors, args.interactions)
    n_known = int(frame["item_id"].astype(str).isin(set(iv.ids[iv.has_image])).sum())
    coverage = (
        f"{args.vectors}: {counted(len(iv), 'item vector')}; {n_known:,} of {len(frame):,} rows "
        f"{agree(n_known, 'is', 'are')} on an item with an image"
    )
    if n_known < len(frame):  # what the image models can use: said under --quiet too
        notes.append(coverage)
        say(coverage)
        if respelt:  # printed already: kept with the figures it explains
            notes.append(respelt)
    else:
        log(coverage)


def _warn_vector_spread(
    args: argparse.Namespace,
    iv: ItemVectors,
    frame: pd.DataFrame,
    specs: list[tuple[str, dict[str, Any]]],
    notes: list[str],
    say: Callable[[str], None],
) -> None:
    """Warns, and adds to ``notes``, of vectors a model that reads them learns nothing from."""
    from visrec.embed.store import spread_notes
    from visrec.evaluation.model_specs import model_class

    readers = [model_class(n) for n, _ in specs]
    readers = [c for c in readers if c.uses_vectors or c.scores_new_items]
    if readers:
        longer = any(c.vector_length_matters for c in readers)
        for text in spread_notes(iv, frame["item_id"].unique(), args.vectors, "item", longer):
            notes.append(text)
            say(f"warning: {text}")


def _attach_inputs(
    args: argparse.Namespace, res: ExperimentResult, notes: list[str], skipped: dict[str, int]
) -> None:
    """Puts the notes, the inputs and the skipped records into ``res``, for the JSON and report."""
    res.notes = list(notes)
    res.inputs = {"interactions": str(args.interactions), "vectors": args.vectors or ""}
    if args.min_rating is not None:
        res.inputs["rows kept"] = f"rating >= {args.min_rating:g}"
    res.records_skipped = skipped
    if skipped:  # for the report's list of inputs
        from visrec.data.tables import by_kind_text

        res.inputs["records skipped"] = by_kind_text(skipped)


def _report(args: argparse.Namespace, res: Any, record: Path | None) -> None:
    """The JSON and the report, the table, the notes; the resume record is dropped only
    once the results are out, the files written (both: an interrupt between them kept a
    new JSON beside an old report and no record) or, without ``--json``, the table read
    from stdout (``... | head`` closed it: the record stays for a rerun)."""
    from visrec.evaluation import run_record

    stats = [s for s in res.info.values() if "skipped" not in s]
    # small catalogues (an Amazon 5-core category has 30-90 items; 5 held out): a test
    # user of warm/time has a training item, which is no candidate for that user
    n_cand = max(int(s["n_candidates"]) for s in stats) - (args.protocol != "cold-items")
    trivial = None
    auc = "auc" in res.runs and bool(res.runs["auc"].notna().any())
    no_auc = None
    if not auc:
        from visrec.evaluation.experiment_result import NOTHING_TO_RANK

        no_auc = NOTHING_TO_RANK
        res.notes.append(no_auc)
    elif n_cand <= args.k:
        trivial = (
            f"{counted(n_cand, 'candidate')} per test user at most, <= --k {args.k}: "
            f"Recall@{args.k} and HitRate@{args.k} are 1 for any ranking (every candidate "
            f"is in the top {args.k}); compare AUC and NDCG@{args.k}, "
            "or lower --k"
        )
        res.notes.append(trivial)
    elif 2 * args.k >= n_cand:
        # 20 of 36 new items: a random list already finds half the test items
        trivial = (
            f"{counted(n_cand, 'candidate')} per test user at most: the top {args.k} is half of "
            f"them or more, so even a random ranking has a high Recall@{args.k}; read it "
            "against popularity's, or lower --k"
        )
        res.notes.append(trivial)
    same_split = None
    if args.protocol == "time" and len(stats) > 1:
        same_split = (
            "protocol time: every seed holds out the same rows (each user's last), so the "
            "spread is that of the model fits alone"
        )
        res.notes.append(same_split)
    # the table first: a failed write (a full disk) must not lose the results
    n_seeds = len(stats)
    left_out = [seed for seed, s in res.info.items() if "skipped" in s]
    seeds = f"seeds {n_seeds} (mean ± std)" if n_seeds > 1 else "1 seed (no spread)"
    if left_out:
        which = agree(len(left_out), "seed", "seeds")
        seeds += f"; {which} {', '.join(left_out)} left out: no test user"
    # ranges over the seeds: a warm or cold-items split differs from seed to seed
    print(
        f"protocol {args.protocol}: {_span(stats, 'n_train')} train / "
        f"{_span(stats, 'n_test')} test rows, {_span(stats, 'n_candidates')} candidates, " + seeds
    )
    print(res.table())
    tuned = res.tuned_note()
    if tuned:
        print(tuned)
    data = with_run(res.to_dict(), args)  # one time and command for both files
    _print_verdict(data)
    for note in (no_auc, trivial, same_split):
        if note is not None:
            print(f"note: {note}", file=sys.stderr)
    if args.json:
        import json

        from visrec._atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(data, indent=2) + "\n")
    if args.report:
        from visrec.report.evaluation import write_evaluation_report

        write_evaluation_report(args.report, data)
    if args.json and record is not None:
        run_record.forget(record, res.run_keys())
    say_written(args.json, args.report)
    if not args.json:  # the table, the only copy of the results, must have been read
        _resume.drop_when_read(record, res.run_keys(), args.resume)


def _span(stats: list[dict[str, Any]], key: str) -> str:
    """``"80,000"``, or ``"79,981-80,012"`` when the seeds' splits differ."""
    lo, hi = min(int(s[key]) for s in stats), max(int(s[key]) for s in stats)
    return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"


def _check_params(specs: list[tuple[str, dict[str, Any]]]) -> None:
    """Fail before loading and splitting on an unknown ``--param`` name or a wrong-type
    or out-of-range value (the runner would only meet them at that model's first fit)."""
    from visrec.evaluation.model_specs import model_class

    for name, params in specs:
        check_param_names(model_class(name), params, name, f"{name}.{{name}}=VALUE")
        try:
            model = model_class(name)(**params)
        except TypeError as exc:  # an unknown name: the runner's message, only sooner
            raise VisrecError(f"model {name!r}: bad parameters {params} ({exc})") from exc
        model.check_params()
        check_model_device(model, name)


def _below_note(
    frame: pd.DataFrame,
    below: pd.DataFrame,
    min_rating: float,
    protocol: str,
    test_ratio: float = 0.2,
) -> list[str]:
    """What becomes of the pairs rated below ``--min-rating`` on this protocol (the
    runner leaves out only those a model could know at the test time)."""
    from visrec.evaluation.protocols import known_at_test

    pairs = ["user_id", "item_id"]
    n_below = len(below[pairs].drop_duplicates())
    if not n_below:
        return []
    rated = f"(user, item) pairs rated below --min-rating {min_rating:g}"
    if protocol == "cold-items":
        return [
            f"{n_below:,} {rated} are not left out of the candidates (those on a held-out "
            "item are candidates): nobody had rated a held-out item at training time, so "
            "who will rate it low is not known (such a pair counts as a miss when ranked "
            "high)"
        ]
    if protocol == "warm":
        share = 1.0 - test_ratio
        return [
            f"{n_below:,} {rated}: on each seed a random {share:.0%} of them (the share "
            "the split keeps for training) are neither hits nor misses: left out of that "
            "user's candidates, as a model trained with --min-rating never recommends "
            "them; the others fall among the held-out rows and stay candidates (a miss "
            "when ranked high)"
        ]
    n_out = len(known_at_test(below, frame, protocol)[pairs].drop_duplicates())
    later = (
        f"; the {n_below - n_out:,} rated after their user's test item stay candidates "
        "(not known at that time)"
        if n_out < n_below
        else ""
    )
    return [
        f"{n_out:,} {rated} are neither hits nor misses: left out of that user's "
        f"candidates, as a model trained with --min-rating never recommends them{later}"
    ]


def _record_path(args: argparse.Namespace) -> Path | None:
    """Where finished runs are recorded (:func:`visrec.commands._resume.record_path`):
    ``OUT.partial.jsonl`` next to ``--json OUT``, else a file in :func:`_cache_dir`
    named after the inputs and settings."""
    key = [
        str(Path(args.interactions).resolve()),
        str(Path(args.vectors).resolve()) if args.vectors else None,
        # a time split holds out each user's last interaction whatever --test-size: the
        # default's value, so that the name of a record an earlier visrec made stays
        args.protocol, args.k, DEFAULT_TEST_SIZE if args.protocol == "time" else args.test_ratio,
        args.min_rating,
    ]  # fmt: skip
    return _resume.record_path(args.json, args.interactions, key, _cache_dir())


def _cache_dir() -> Path:
    """Where records of runs without ``--json`` go (:func:`visrec._cache.cache_dir`)."""
    from visrec._cache import cache_dir

    return cache_dir("evaluate")
