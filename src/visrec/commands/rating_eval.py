"""``visrec rating-eval``: rating predictors side by side on the same split."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from visrec.commands import _resume
from visrec.commands._checks import check_at_least, check_seed, check_seeds
from visrec.commands._common import (
    LastPathNoted,
    add_interactions_args,
    add_layout_args,
    check_output_file,
    check_outputs_distinct,
    check_vectors_match,
    interactions_named,
    layout_args,
    load_interactions_frame,
    no_rating_column,
    say_note,
    say_written,
    skipped_records,
    survives_closed_stdout,
    with_run,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_progress_args, show_progress
from visrec.errors import VisrecError

EPILOG = """\
examples:
  visrec rating-eval --interactions u.data --vectors ml100k.parquet
  visrec rating-eval --interactions ratings.csv --vectors v.parquet --seeds 3 \\
      --json re.json
  # no vectors: baselines and MF only
  visrec rating-eval --interactions ratings.csv
  visrec rating-eval --interactions u.data --vectors ml100k.parquet \\
      --protocol cold-items

Models, all on the same split (default: a random 20% of rating rows held out, as the
tutorial did; --protocol cold-items holds out 20% of the items): majority class, global mean,
item mean, user mean, the tutorial's KNN (k=3) on image vectors, biased matrix factorisation, and
biased MF with a visual term (the image vector shifts the item's factors and bias).

Accuracy rounds each prediction to the nearest rating value; MAE and RMSE are in stars.

--json writes {"n_train", "n_test", "seeds", "protocol", "notes", "sizes", "models": {name:
{accuracy, mae, rmse, fit_seconds, *_std}}, "runs": [...], "resume", "records_skipped",
"run"} ("models" keyed as the runs name them: "majority class", its rating(s) in
"classes"; "sizes": [train, test] per seed; "resume": the seeds a rerun into the same
--json reuses; "records_skipped": bad rows left out, by kind; "run": the visrec version,
time and command line). A progress bar shows on a terminal (--quiet hides it, --verbose
shows it in a log too).

interrupted runs:
  Every finished seed (all its models) is recorded at once in
  OUT.partial.jsonl next to --json OUT (without --json: in
  $VISREC_CACHE/rating-eval/, else $XDG_CACHE_HOME/visrec/rating-eval/, else
  ~/.cache/visrec/rating-eval/). Run the same command again after Ctrl-C, a
  kill or a crash and only the missing seeds are fitted; the table and JSON
  are those of an uninterrupted run. Records made with other data, vectors,
  settings or MF hyperparameters are ignored (with a note). The record is
  removed once the JSON and report are written (without --json: once the table
  is printed); --no-resume starts over: the old record is deleted and this
  run's finished seeds are recorded afresh (a file there that is no record is
  left alone, and then nothing is recorded).
  The JSON keeps the seeds too: the same command into the same --json with
  more --seeds fits only the new ones (an identical rerun fits nothing;
  --no-resume fits them all again).
"""


#: the KNN's neighbours when --k is not given (None in argparse: given without
#: --vectors, where no KNN runs, it gets a note); the tutorial's k
KNN_K = 3


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "rating-eval",
        help="rating prediction: KNN on images vs MF (with/without images) vs baselines",
        description=(
            "Compare rating predictors on the same split: majority class, global mean, item "
            "mean, user mean, the tutorial's image KNN, biased MF and biased MF with a visual "
            "term. "
            "Prints accuracy, MAE and RMSE."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_interactions_args(
        p,
        "ratings: CSV/TSV/Parquet with user_id,item_id,rating, MovieLens u.data, or an "
        "Amazon review file",
    )
    p.add_argument(
        "--vectors",
        default=None,
        metavar="V",
        help="item vectors Parquet (`visrec embed`)",
        action=LastPathNoted,
    )
    p.add_argument(
        "--protocol",
        choices=("random", "cold-items"),
        default="random",
        help="random: hold out rating rows (the tutorial's split, default); cold-items: "
        "hold out whole items (with --vectors, items that have an image), so only "
        "their pictures are known",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="number of splits (default 1, at most 1000)",
    )
    p.add_argument(
        "--test-size", type=float, default=0.2, metavar="F", help="held-out share (default 0.2)"
    )
    p.add_argument(
        "--random-state",
        type=int,
        default=1234,
        metavar="S",
        help="seed of the first split (default 1234)",
    )
    p.add_argument("--k", type=int, default=None, help=f"neighbours of the KNN (default {KNN_K})")
    p.add_argument(
        "--n-factors",
        type=int,
        default=None,
        metavar="N",
        help="MF latent factors (default 32; 0: biases only)",
    )
    p.add_argument(
        "--n-epochs",
        type=int,
        default=None,
        metavar="N",
        help="MF full-batch Adam steps (default 150)",
    )
    p.add_argument("--reg", type=float, default=None, help="MF L2 regularisation (default 0.1)")
    p.add_argument(
        "--reg-visual",
        type=float,
        default=None,
        metavar="REG",
        help="L2 penalty on the visual term of MF + visual (default 0.01; lower lets "
        "pictures say more, which helps only when they carry signal)",
    )
    p.add_argument("--json", default=None, metavar="OUT", help="write the table as JSON")
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write an HTML report: does the picture predict stars (KNN vs the "
        "baselines; MF with vs without the visual term, seed by seed), table, bar plots",
    )
    p.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="start over: fit every seed, reusing none recorded by an interrupted earlier "
        "run or kept in an earlier --json (see 'interrupted runs' below)",
    )
    add_progress_args(p)
    add_layout_args(p, "the stars predicted", "of repeated ratings of a pair, the latest is kept")
    p.set_defaults(func=run)


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec.analysis.rating_eval import rating_eval
    from visrec.embed.store import read_vectors

    started = time.perf_counter()
    check_output_file(args.json, "--json")  # before the run, not after it
    check_output_file(args.report, "--report")
    check_outputs_distinct(
        {"--json": args.json, "--report": args.report},
        {"--interactions": args.interactions, "--vectors": args.vectors},
    )
    if not 0.0 < args.test_size < 1.0:
        raise VisrecError(f"--test-size must be between 0 and 1, got {args.test_size}")
    check_seeds(args.seeds)
    check_seed(args.random_state, "--random-state", count=args.seeds)
    check_at_least(args.k, 1, "--k")
    check_at_least(args.n_factors, 0, "--n-factors")  # 0: biases only
    check_at_least(args.n_epochs, 1, "--n-epochs")
    check_at_least(args.reg, 0, "--reg")
    check_at_least(args.reg_visual, 0, "--reg-visual")
    frame = load_interactions_frame(
        args.interactions, time_optional=True, review_digest=True, **layout_args(args)
    )
    skipped = skipped_records(frame)  # kept with the results: rows they are not about
    if "rating" not in frame.columns:
        raise no_rating_column(args.interactions, "rating-eval")
    from visrec.data.variants import take_copy_note

    frame, copies = take_copy_note(frame, args.interactions)  # Amazon's copies of a review
    iv = read_vectors(args.vectors) if args.vectors else None
    respelt = None  # a note on ids spelt otherwise in the vectors: kept with the results
    same: list[str] = []  # vectors all one: kept with the results too
    if iv is not None:
        from visrec.embed.store import spread_notes

        respelt = check_vectors_match(iv, frame["item_id"], args.vectors, args.interactions)
        same = spread_notes(
            iv,
            frame["item_id"].astype(str).unique(),
            str(args.vectors),
            "rated item",
            length_matters=False,
            consequence="so the KNN and the visual MF term cannot use the pictures",
        )  # said with the results' notes, at the end
    else:
        unused = [
            o for o, v in (("--k", args.k), ("--reg-visual", args.reg_visual)) if v is not None
        ]
        if unused:  # an option with no effect, said rather than silently ignored
            say_note(
                f"note: {' and '.join(unused)} {'are' if len(unused) > 1 else 'is'} for the "
                "image models (the KNN, MF + visual), which need --vectors: not used"
            )
    if args.k is None:
        args.k = KNN_K
    mf: dict[str, Any] = {}
    for name in ("n_factors", "n_epochs", "reg", "reg_visual"):
        if getattr(args, name) is not None:
            mf[name] = getattr(args, name)
    record = _record_path(args)

    def body(record: Path | None) -> None:
        with interactions_named(args.interactions):  # too few ratings: which file
            res = rating_eval(
                frame,
                iv,
                test_size=args.test_size,
                random_state=args.random_state,
                n_seeds=args.seeds,
                protocol=args.protocol,
                knn_k=args.k,
                mf_params=mf,
                progress=show_progress(args),
                resume=record,
                note=say_note,  # resume notes: shown with --quiet too
                keep_record=True,  # until the results are out: see _report
                vectors_source=str(args.vectors),  # a NaN vector's error names the file
                # the seeds of the last complete run into the same --json
                earlier=args.json if args.json and args.resume else None,
            )
        if respelt:
            res.notes.append(respelt)
        res.notes.extend(same)
        if copies:
            res.notes.append(copies)
        _report(args, res, record, skipped)
        if not args.quiet:  # train, recommend and embed give theirs in their result line
            say_note(f"time: {time.perf_counter() - started:.1f} s")

    return _resume.run_resumable(
        "visrec rating-eval", args.json, record, args.resume, body, unit="seeds",
        report=args.report,
    )  # fmt: skip


def _report(
    args: argparse.Namespace, res: Any, record: Path | None, skipped: dict[str, int]
) -> None:
    """The table, the JSON and the report; the resume record is dropped only once the
    results are out: the files written or, without ``--json``, the table read from
    stdout (``... | head`` closed it: the record stays for a rerun)."""
    from visrec._atomic import write_text_atomic
    from visrec.evaluation import run_record

    print(res.format(notes=False))
    for line in res.notes:  # about the input: stderr, as every command's notes
        say_note(f"note: {line}")
    # one time and command for both files
    data = with_run({**res.to_dict(), "records_skipped": skipped}, args)
    if args.json:
        write_text_atomic(args.json, json.dumps(data, indent=2) + "\n")
    if args.report:
        from visrec.report.rating import write_rating_report

        inputs = {"interactions": str(args.interactions), "vectors": args.vectors or ""}
        if skipped:
            from visrec.data.tables import by_kind_text

            inputs["records skipped"] = by_kind_text(skipped)
        write_rating_report(args.report, data, inputs)
    if args.json and record is not None:
        run_record.forget(record, res.run_keys())
    say_written(args.json, args.report)
    if not args.json:  # the table, the only copy of the results, must have been read
        _resume.drop_when_read(record, res.run_keys(), args.resume, unit="seeds")


def _record_path(args: argparse.Namespace) -> Path | None:
    """Where finished seeds are recorded (:func:`visrec.commands._resume.record_path`):
    ``OUT.partial.jsonl`` next to ``--json OUT``, else a file in :func:`_cache_dir`
    named after the inputs and settings (the record checks the contents too)."""
    key = [
        str(Path(args.interactions).resolve()),
        str(Path(args.vectors).resolve()) if args.vectors else None,
        args.protocol, args.k, args.test_size,
    ]  # fmt: skip
    return _resume.record_path(args.json, args.interactions, key, _cache_dir())


def _cache_dir() -> Path:
    """Where records of runs without ``--json`` go (:func:`visrec._cache.cache_dir`)."""
    from visrec._cache import cache_dir

    return cache_dir("rating-eval")
