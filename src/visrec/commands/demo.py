"""``visrec demo``: the whole pipeline on a generated catalogue (or a real dataset folder)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from visrec.commands._checks import check_at_least, check_seed
from visrec.commands._common import (
    LastPathNoted,
    check_output_file,
    check_outputs_distinct,
    named_like_outputs,
    say_note,
    survives_closed_stdout,
    with_run,
)
from visrec.commands._help import BACKBONE_NAMES, HelpFormatter
from visrec.commands._progress import add_progress_args, show_progress
from visrec.errors import VisrecError, agree, counted

EPILOG = """\
examples:
  # generated catalogue, ~15-35 s on 2 cores
  visrec demo
  visrec demo --data ../shared/data/fashion-products
  visrec demo --data ../shared/data/movielens-100k-posters --max-items 500
  visrec demo --out /tmp/demo --report /tmp/demo/report/index.html

What it does: makes (or reads) a catalogue of item images, embeds every image with a
pretrained CNN, clusters the vectors with K-means and compares the clusters with the
item categories (ARI, NMI, purity), predicts star ratings from the image vectors with
KNN next to the majority-class baseline, compares the popularity, BPR, VBPR and
visual-cf recommenders on warm and cold-start items (generated catalogue only, unless
--recommenders), and writes a self-contained HTML report. The results go to stdout;
the step lines, notes and time to stderr. A progress bar shows on a terminal (--quiet
hides it and the step lines, --verbose shows it in a log too).

Outputs: OUT/catalogue/ (generated data), OUT/vectors.parquet (re-used by a re-run),
OUT/results.json (all figures), and the report (default report/index.html).

Interrupted? Run the same command again: the embedding resumes where it stopped,
and the recommender runs that finished (kept in OUT/.recommenders-*.partial.jsonl until
the results are written) are not fitted again. --no-resume fits them all again.

--data DIR accepts:
  MovieLens posters: u.data + posters/<item_id>.jpg
                     (+ u.item: first genre = category)
  fashion products:  styles.csv (id, masterCategory) + images/<id>.jpg
                     [+ interactions.csv]
  generic:           items.csv (item_id, category) + images/
                     [+ interactions.csv]
"""


#: the generated catalogue's size when not given (None in argparse: given with --data,
#: where they are not used, they get a note)
DEFAULT_ITEMS, DEFAULT_USERS, DEFAULT_SIZE = 320, 150, 224


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole pipeline (generated catalogue, or --data DIR) and write an HTML report",
        description="Image vectors -> clusters vs categories -> rating KNN vs baseline -> "
        "recommenders (popularity, BPR, VBPR, visual-cf) -> report, on a small catalogue "
        "visrec generates offline (or on --data DIR).",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--data",
        action=LastPathNoted,
        metavar="DIR",
        help="a real dataset folder instead of the generated catalogue (layouts below)",
    )
    p.add_argument(
        "--out",
        metavar="OUT",
        default="demo-out",
        help="working folder for data, vectors and results.json (default: demo-out): new, "
        "empty, or an earlier demo's (the demo replaces what it writes there)",
    )
    p.add_argument(
        "--report",
        metavar="HTML",
        default="report/index.html",
        help="where to write the HTML report (default: report/index.html)",
    )
    p.add_argument(
        "--items",
        type=int,
        metavar="N",
        default=None,
        dest="n_items",
        help="generated catalogue: number of items, at least 4, one per category "
        f"(default {DEFAULT_ITEMS})",
    )
    p.add_argument(
        "--users",
        type=int,
        metavar="N",
        default=None,
        dest="n_users",
        help=f"generated catalogue: number of users (default {DEFAULT_USERS})",
    )
    p.add_argument(
        "--image-size",
        type=int,
        metavar="PX",
        default=None,
        help=f"generated catalogue: image size in pixels, 32 to 1024 (default {DEFAULT_SIZE})",
    )
    p.add_argument(
        "--max-items",
        type=int,
        metavar="N",
        help="use a random sample of N items (quicker look at a large dataset)",
    )
    p.add_argument(
        "--backbone",
        default="efficientnet-lite0",
        metavar="NAME",
        help=f"image network: {BACKBONE_NAMES} (default efficientnet-lite0; visrec embed "
        "--list-backbones)",
    )
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "torch", "onnx", "ray"),
        help=(
            "inference engine (default auto: ONNX Runtime if installed and its model cache "
            "can be written, else torch)"
        ),
    )
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="images per inference batch (default: the engine's best)",
    )
    p.add_argument("--k", type=int, help="K-means clusters (default: number of categories)")
    p.add_argument(
        "--knn-k",
        type=int,
        default=3,
        metavar="K",
        help="neighbours in the rating KNN (default 3, the tutorial's)",
    )
    p.add_argument(
        "--recommenders",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also compare popularity, BPR, VBPR and visual-cf (warm and cold-start items; "
        "default: on for the generated catalogue, off with --data)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the catalogue, the --max-items sample, K-means and the recommenders' "
        "split (default 0); the rating KNN keeps the tutorial's split, random_state 1234",
    )
    p.add_argument("--json", metavar="JSON", help="also write the results JSON here")
    p.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="fit every recommender again instead of reusing the runs an interrupted "
        "earlier demo in --out finished",
    )
    add_progress_args(
        p,
        what="progress bars",
        quiet_help="no progress bars, step lines or time (notes on the data stay)",
    )
    p.set_defaults(func=run)


def check_demo_folder(out: Path) -> None:
    """``--out`` must be new, empty, or a folder a demo wrote: the demo replaces
    ``vectors.parquet`` there without asking, and an existing one of the user's (hours
    of embedding) was cut to the demo's items with only a note. Hidden entries (the
    embedding's resume parts, temporary files) are the demo's own."""
    from visrec.demo.pipeline import DEMO_MARKER  # pandas: not for `visrec --help`

    if not os.path.exists(out):  # not Path.exists: a name too long is the probe's to say
        # a file in the way of the folders to make: said as the other outputs say it
        # (it was "Not a directory", exit 1, after the catalogue was planned)
        from visrec._atomic import blocking_parent

        blocked = blocking_parent(out)
        if blocked is not None:
            raise VisrecError(f"--out {str(out)!r}: {blocked}")
        return
    if not out.is_dir():
        raise VisrecError(f"--out {str(out)!r} is a file, not a folder")
    entries = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if not entries or (out / DEMO_MARKER).exists() or _demo_results(out / "results.json"):
        return
    foreign = [e for e in entries if e not in ("catalogue", "vectors.parquet", "results.json")]
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    what = (
        f"holds files no demo wrote ({shown})"
        if foreign
        else f"holds {', '.join(entries)} but no sign that a demo wrote them"
    )
    raise VisrecError(
        f"--out {str(out)!r} {what}; the demo writes vectors.parquet and results.json "
        "there, replacing what is there: choose a new or empty folder"
    )


def _demo_results(path: Path) -> bool:
    """Whether ``path`` is a results.json a demo wrote (folders of demos older than the
    marker): any file of that name would let a user's vectors.parquet be replaced."""
    import json

    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(got, dict) and {"dataset", "layout", "n_embedded", "timings"} <= set(got)


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec._atomic import check_dotdot, exclusive_lock, probe_writable
    from visrec.demo.synth import CATEGORIES, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
    from visrec.embed.backbones import get_backbone
    from visrec.errors import VisrecError, write_error

    if args.data:  # first: a wrong folder is the error to see, before outputs are made
        from visrec.demo.datasets import dataset_layout

        dataset_layout(Path(args.data))
    check_output_file(args.json, "--json")
    check_output_file(args.report, "--report")
    if args.out == "":  # Path("") is the current folder
        raise VisrecError("--out: output path is empty; name a folder, e.g. --out demo-out")
    out = Path(args.out)
    try:  # `new/../out` would make `new` to reach `out`
        check_dotdot(out)
    except VisrecError as exc:
        raise VisrecError(f"--out: {exc}") from None
    check_demo_folder(out)
    try:  # for real, before the catalogue is made (a read-only disk, a name too long)
        probe_writable(out / "results.json")
    except OSError as exc:
        said = f"--out: cannot write to {str(out)!r} ({exc.strerror or exc})"
        raise write_error(said, exc) from exc
    for option, path, example in (
        ("--json", args.json, "results.json"),
        ("--report", args.report, "report.html"),
    ):
        # the folder is made by the run: the file check above cannot see it yet
        if path and os.path.abspath(path) == os.path.abspath(out):
            raise VisrecError(
                f"{option} {path} is the --out folder; name a file (e.g. {out / example})"
            )
    outputs = {
        "--json": args.json,
        "--report": args.report,
        "OUT/results.json": out / "results.json",
        "OUT/vectors.parquet": out / "vectors.parquet",
    }
    given = {"--items": args.n_items, "--users": args.n_users, "--image-size": args.image_size}
    unused = [o for o, v in given.items() if v is not None]
    if args.data and unused:  # said, not silently ignored: --max-items is the one here
        say_note(
            f"note: {', '.join(unused)} {'shape' if len(unused) > 1 else 'shapes'} the "
            "generated catalogue, not used with --data; --max-items N takes a sample of N "
            "items of a real dataset"
        )
    args.n_items = DEFAULT_ITEMS if args.n_items is None else args.n_items
    args.n_users = DEFAULT_USERS if args.n_users is None else args.n_users
    args.image_size = DEFAULT_SIZE if args.image_size is None else args.image_size
    data = Path(args.data) if args.data else None
    files = data.rglob("*") if data is not None and data.is_dir() else []
    check_outputs_distinct(outputs, [("--data", f) for f in named_like_outputs(outputs, files)])
    if not args.data and args.n_items < len(CATEGORIES):  # the generated catalogue's rule
        raise VisrecError(
            f"--items must be at least {len(CATEGORIES)} (one item per category of the generated "
            f"catalogue), got {args.n_items}"
        )
    for name in ("n_items", "n_users", "knn_k"):
        if getattr(args, name) < 1:
            option = f"--{name.removeprefix('n_').replace('_', '-')}"
            raise VisrecError(f"{option} must be at least 1, got {getattr(args, name)}")
    # Checked before anything is written, with --data too (where it is not used).
    if not MIN_IMAGE_SIZE <= args.image_size <= MAX_IMAGE_SIZE:
        raise VisrecError(
            f"--image-size {args.image_size}: expected {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels"
        )
    if args.max_items is not None and args.max_items < 2:
        raise VisrecError(f"--max-items {args.max_items}: expected at least 2")
    check_seed(args.seed, "--seed")
    check_at_least(args.batch_size, 1, "--batch-size")
    check_at_least(args.k, 1, "--k")
    # an unknown name, or one whose weights are not here (resnet18 without torchvision),
    # fails here, not after the catalogue is generated
    missing = get_backbone(args.backbone).missing()
    if missing is not None:
        raise VisrecError(f"--backbone {args.backbone}: {missing}")
    # one demo per folder: a second would regenerate the catalogue under the first,
    # which would then report figures of a mix of the two (with exit 0)
    with (
        exclusive_lock(out, "visrec demo", advice="give another --out"),
        # and one per report: two demos into two folders both said they wrote the
        # default report/index.html, which held the last one's figures
        exclusive_lock(args.report, "visrec demo", advice="give another --report"),
    ):
        return _run_locked(args)


def _run_locked(args: argparse.Namespace) -> int:
    import json

    from visrec._atomic import write_text_atomic

    t0 = time.perf_counter()
    found = _kept_runs(args)  # an earlier run's, before this one adds to it
    try:
        result = _run_demo(args)
    except KeyboardInterrupt:
        kept = _kept_runs(args)
        say_note(f"interrupted: {kept}" if kept else "interrupted")
        return 130
    except Exception as exc:  # a later step failed (the report, a full disk): say what stays
        kept = _kept_runs(args)
        # bad input refused before this run kept anything: the same command fails again,
        # so an earlier run's chunks are no news and "run it again" no advice
        refused = isinstance(exc, VisrecError) and exc.exit_status == 2 and kept == found
        if kept and not refused:
            say_note(kept)
        raise
    # the pipeline knows no command line: the CLI's results.json says how it was made,
    # as the --json copy does
    ran = json.dumps(with_run(result.to_dict(), args), indent=2)
    write_text_atomic(result.results_path, ran)
    print(result.format(notes=False))
    print()
    for line in result.section_notes():  # rows left out, caveats: stderr, as everywhere
        say_note(line)
    if not args.quiet:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
        say_note(f"time: {time.perf_counter() - t0:.1f} s ({stages})")
    print(f"report:  {result.report_path}")
    print(f"results: {result.results_path}")
    if args.json:
        write_text_atomic(args.json, ran)
        print(f"wrote {args.json}")
    return 0


def _run_demo(args: argparse.Namespace) -> Any:
    from visrec.demo.pipeline import run_demo

    return run_demo(
        args.out,
        args.data,
        report_path=args.report,
        n_items=args.n_items,
        n_users=args.n_users,
        image_size=args.image_size,
        backbone=args.backbone,
        engine=args.engine,
        batch_size=args.batch_size,
        k=args.k,
        knn_k=args.knn_k,
        max_items=args.max_items,
        recommenders=args.recommenders,
        random_state=args.seed,
        progress=show_progress(args),
        # the narration is progress (-q hides it); notes on the data always show
        echo=(lambda _line: None) if args.quiet else say_note,
        note=say_note,
        resume=args.resume,
    )


def _kept_runs(args: argparse.Namespace) -> str:
    """What an interrupted demo kept for a rerun: the embedding's finished chunks (or its
    finished vectors) and the recommender runs it finished ("" when none: nothing had
    finished, or this demo does not run the recommenders, so the same command would not
    resume them)."""
    from visrec.commands._resume import kept_runs
    from visrec.demo.recommenders import _recommenders_wanted, record_paths
    from visrec.embed.chunk_files import chunk_files_in, parts_dir

    kept = []
    parts = parts_dir(Path(args.out) / "vectors.parquet")
    try:
        n = len(chunk_files_in(parts))
    except OSError:  # no such folder: no chunk had finished
        n = 0
    vectors = Path(args.out) / "vectors.parquet"
    if n:  # reused whatever --no-resume says: it is about the recommenders
        kept.append(
            f"{counted(n, 'finished embedding chunk')} {agree(n, 'is', 'are')} kept in {parts}"
        )
    elif vectors.is_file():  # embedding done (this run's or an earlier one's): reused
        kept.append(f"the image vectors in {vectors} are kept")
    runs = None
    if _recommenders_wanted(args.recommenders, args.data)[0]:
        runs = kept_runs(record_paths(Path(args.out)), args.resume, "recommender runs")
        kept += [runs] if runs else []
    if kept and not runs:  # the runs' line says how to resume; the others' not yet
        kept.append("run the same command again to resume")
    return "; ".join(kept)
