"""``visrec train``: fit a recommender on an interactions file and save it to a folder."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec._atomic import (
    content_stamp,
    create_temp_folder,
    keep_mode,
    side_prefix,
    sync_path,
    write_text_atomic,
)
from visrec.commands._checks import check_seed
from visrec.commands._common import (
    INTERACTIONS_HELP,
    LastPathNoted,
    add_interactions_args,
    add_layout_args,
    add_min_rating_arg,
    check_model_device,
    check_param_names,
    layout_args,
    load_interactions_frame,
    low_ratings_note,
    parse_params,
    say_note,
    skipped_records,
    split_min_rating,
    survives_closed_stdout,
)
from visrec.commands._help import MODEL_NAMES, HelpFormatter
from visrec.commands._progress import (
    add_progress_args,
    check_quiet_params,
    fit_lines_in_logs,
    show_progress,
)
from visrec.errors import VisrecError, WriteError, agree, counted, write_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from visrec.data.interactions import Interactions
    from visrec.embed.store import ItemVectors
    from visrec.models.base import Recommender

EPILOG = f"""\
examples:
  visrec train --model bpr --interactions train.csv -o models/bpr
  visrec train --model vbpr --interactions train.csv --vectors vectors.parquet \\
      -o models/vbpr
  visrec train --model visual-cf --interactions u.data \\
      --vectors vectors.parquet -o models/vcf --seed 1
  visrec recommend models/vcf --n 20 -o recs.csv --items new_items.txt

A long fit saves its training state every minute in a hidden folder next to the model
folder (.NAME.checkpoint); if it is interrupted (Ctrl-C, a crash, a killed job), the same
command resumes from the last saved epoch and gives the same model as an uninterrupted
run. Other data or settings start over; --no-resume always does. The folder is removed
once the model is saved.

A progress bar shows on a terminal; when stderr goes to a file, a line a minute tells
how a long fit is going instead (--quiet hides both).

Every row of the interactions file is an implicit positive (ratings and timestamps are
not used, unless --min-rating keeps only rows rated at least that, as in visrec
evaluate; duplicate user-item pairs collapse; a note counts the rows rated 2 of 5, or 4
of 10, or lower). Accepted layouts: a CSV with header
user_id,item_id[,rating,timestamp] (and common aliases, or --user-col and --item-col;
TSV too), MovieLens u.data, Parquet, Amazon reviews .json.gz (or a folder of them).

Models: {MODEL_NAMES} (those that read pictures need --vectors: vbpr and
visual-cf of the built-in ones); defaults are the tuned ones (see docs/models.md). On
sparse data (under 40 distinct interactions per item) bpr, vbpr and visual-cf choose
their L2 penalties on an inner validation split (reg=auto: three extra fits, one line
on stderr says what was chosen); --param reg=0.01 (vbpr: and --param reg_visual=0.001)
keeps the MovieLens values without it.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help=f"fit a recommender ({MODEL_NAMES}) and save it",
        description="Fit a recommender on implicit feedback and save it to a model folder "
        "(plain arrays + JSON; loading runs no code).",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="NAME",
        help=f"model name ({MODEL_NAMES})",
    )
    add_interactions_args(
        p, f"training {INTERACTIONS_HELP}; every row a positive", metavar="TRAIN.csv"
    )
    p.add_argument(
        "--vectors",
        metavar="V.parquet",
        help="item vectors parquet from `visrec embed`",
        action=LastPathNoted,
    )
    add_min_rating_arg(p, "; the items a user rated below it are never recommended to them either")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="MODEL_DIR",
        help="model folder to write: new, empty, or an earlier model folder holding only "
        "what visrec train wrote there (replaced whole)",
    )
    p.add_argument(
        "--seed", type=int, default=None, metavar="S", help="random_state of the model (default 0)"
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter, e.g. --param factors=32 (repeatable; a value is "
        "read as JSON or as a number such as .01, else as a plain string)",
    )
    p.add_argument(
        "--no-resume",
        action="store_true",
        help="ignore the saved state of an interrupted run of this command and start over",
    )
    add_progress_args(p, what="a progress bar over epochs", quiet_help="no progress bar")
    add_layout_args(p, time_use="not used by train")
    p.set_defaults(func=run)


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec._atomic import exclusive_lock
    from visrec.models.registry import get_model_class

    if not str(args.output).strip():  # Path("") is the current folder
        raise VisrecError("-o: output path is empty; name a folder, e.g. -o models/bpr")
    if str(args.output) == "-":  # not stdout: a folder named "-" nobody asked for
        raise VisrecError(
            "-o '-': a model is a folder, not a stream; name a folder, e.g. -o models/bpr"
        )
    if args.seed is not None:
        check_seed(args.seed, "--seed")
    out = Path(args.output)
    # os.path: Path.is_symlink lets a name too long out bare (before 3.13)
    if os.path.islink(out) and out.is_dir():  # swap in the folder it names; keep the link
        out = Path(os.path.realpath(out))
    check_model_folder(out)  # before training: never lose an hour's fit to a bad -o
    klass = get_model_class(args.model)
    params = parse_params(args.param)
    check_param_names(klass, params, args.model)
    check_quiet_params(args, params, "--param verbose")
    defaults = klass().get_params()
    if args.seed is not None and params.get("random_state", args.seed) != args.seed:
        raise VisrecError(
            f"--seed {args.seed} and --param random_state={params['random_state']} disagree; "
            "give one of them"
        )
    if "random_state" in defaults:
        params.setdefault("random_state", 0 if args.seed is None else args.seed)
    elif args.seed is not None:  # popularity: counts, and one fixed tie order
        print(
            f"note: model {args.model!r} has no randomness: --seed does not change it",
            file=sys.stderr,
        )
    # a progress bar on long fits, unless output goes to a file/pipe (or --quiet)
    if show_progress(args) and "verbose" in defaults:
        params.setdefault("verbose", True)
    try:
        model = klass(**params)
    except TypeError as exc:
        raise VisrecError(f"model {args.model!r}: bad --param ({exc})") from exc
    model.check_params()  # a wrong-type or out-of-range --param fails now, not mid-fit
    check_model_device(model)
    # one fit per folder: two would share the saved training state and swap the
    # folder under each other; taken before the data is read, so a second run is
    # refused at once
    with exclusive_lock(out, "visrec train") as held:
        return _load_fit_and_save(args, out, model, sole_writer=held)


def _load_fit_and_save(
    args: argparse.Namespace, out: Path, model: Recommender, *, sole_writer: bool
) -> int:
    from visrec.data.interactions import ITEM, USER, Interactions
    from visrec.embed.store import read_vectors, spread_notes

    t0 = time.perf_counter()
    # the inputs as they are before they are read: a file replaced while it is read (or
    # after) must not key a saved state of the data it no longer holds
    try:
        before: str | None = _fit_key(args, model.get_params())
    except (OSError, VisrecError):  # a missing or odd input: the read says what, in its words
        before = None
    frame = load_interactions_frame(
        args.interactions,
        ids_only=True,
        keep_rating=args.min_rating is not None,
        peek_rating=args.min_rating is None,
        **layout_args(args),
    )
    skipped = skipped_records(frame)  # for train.json: rows this model never saw
    low = None
    if args.min_rating is None and "rating" in frame.columns:
        # every row a positive, as documented; said (once the inputs are found usable)
        # when 1-star rows are among them
        low = low_ratings_note(frame["rating"])
        frame = frame.drop(columns="rating")
    below = frame.iloc[:0]
    if args.min_rating is not None:
        frame, below = split_min_rating(frame, args.min_rating, args.interactions, say_note)
    inter = Interactions.from_frame(frame[[USER, ITEM]])

    vectors = None
    if args.vectors:
        # a model that reads no pictures: the file's metadata and ids only (still
        # refused when it is no vectors file), not its 1-2 s per 200 MB of vectors
        vectors = read_vectors(args.vectors, only=None if model.uses_vectors else ())
        if model.uses_vectors:
            check_training_vectors(
                vectors,
                inter.item_map.ids,
                args.vectors,
                args.interactions,
                model.missing_vector_effect,
            )
            try:  # the model's own needs (visual-cf: two pictured items), naming the file
                model._check_usable_vectors(inter, vectors)
            except VisrecError as exc:
                raise VisrecError(f"{args.vectors}: {exc}") from None
            for text in spread_notes(
                vectors,
                inter.item_map.ids,
                args.vectors,
                "training item",
                model.vector_length_matters,
            ):
                print(f"warning: {text}", file=sys.stderr)
        else:
            print(f"note: model {args.model!r} does not use --vectors", file=sys.stderr)
    elif model.uses_vectors:
        raise VisrecError(f"model {args.model!r} needs item vectors: pass --vectors V.parquet")

    if low:
        say_note(low)
    if not args.quiet and not show_progress(args):
        # no bar in a log file: at least say that a (possibly long) fit has started,
        # and that the validation fits of reg=auto come first
        from visrec.models._auto_reg import validation_ahead

        ahead = validation_ahead(model, inter.to_csr("binary"))
        print(
            f"training {args.model} on {counted(inter.n_users, 'user')} x "
            f"{counted(inter.n_items, 'item')} ({counted(len(inter), 'row')}) ..."
            + (f"\n  {ahead}" if ahead else ""),
            file=sys.stderr,
            flush=True,
        )
    key: str | None = _fit_key(args, model.get_params())
    if before is not None and key != before:
        print(
            "note: an input file changed while it was read; no training state is kept for "
            "this fit (an interrupted run starts over)",
            file=sys.stderr,
        )
        key = None
    return _fit_and_save(
        args, out, model, inter, vectors, t0, below, key, skipped, sole_writer=sole_writer
    )


def _exclude_rated_below(model: Recommender, below: pd.DataFrame) -> int:
    """Never recommend the (user, item) pairs rated below --min-rating to their user
    (``exclude_pairs``): not positives to learn from, but a film someone rated 2 stars
    is no recommendation for them. Returns how many were added (pairs of users or items
    the model does not know cannot be recommended anyway)."""
    from visrec.data.interactions import ITEM, USER

    if not len(below):
        return 0
    u = model.user_map_.to_index(below[USER].to_numpy(dtype=object), missing="minus_one")
    i = model.item_map_.to_index(below[ITEM].to_numpy(dtype=object), missing="minus_one")
    ok = (u >= 0) & (i >= 0)
    return model.exclude_pairs(u[ok], i[ok])


def _fit_and_save(
    args: argparse.Namespace,
    out: Path,
    model: Recommender,
    inter: Interactions,
    vectors: ItemVectors | None,
    t0: float,
    below: pd.DataFrame,
    key: str | None,
    skipped: dict[str, int],
    *,
    sole_writer: bool,
) -> int:
    """Fit under a checkpointing block keyed by ``key`` (None: keep no state, the
    inputs changed while they were read), then save the model folder (``skipped``: the
    records the loader skipped, by kind, for train.json)."""
    from visrec.models._auto_reg import chosen_label
    from visrec.models._checkpoint import checkpointing

    ckpt_dir = checkpoint_folder(out)
    if args.no_resume:
        _remove_checkpoint(ckpt_dir)
    # a pipe (`<(cat f)`) is read once: a rerun cannot tell its data, so no state is kept
    streamed = _is_stream(args.interactions)
    saving = (
        contextlib.nullcontext()
        if streamed or key is None
        else checkpointing(ckpt_dir, key, log=say_note)
    )
    model.load_fit_backend()  # "fit N s" times the fit, not PyTorch's first import
    t1 = time.perf_counter()
    ckpt = None
    try:
        # no bar in a log file: a line a minute instead, so a long fit is seen to move
        with saving as ckpt, fit_lines_in_logs(args):
            model.fit(inter, vectors if model.uses_vectors else None)
    except KeyboardInterrupt:
        if streamed or key is None:
            why = "the interactions came from a pipe" if streamed else "an input changed"
            what = (
                f"interrupted: {why}, so no training state was kept; the same command "
                "starts the fit over"
            )
        elif ckpt is not None and ckpt.kept:  # saved (or resumed) under this run's key
            # --no-resume drops the state first: "the same command" would start over
            again = "the command without --no-resume" if args.no_resume else "the same command"
            # which fit and epoch, so a user can tell how much a resume saves
            last = f"; last: {ckpt.last[0]}" if ckpt.last else ""
            what = f"interrupted (state saved every minute{last}): run {again} again to resume"
        else:  # no state was saved: a resume would find nothing
            what = (
                "interrupted before the training state was first saved (once a minute): "
                "the same command starts the fit over"
            )
        print(what, file=sys.stderr)
        return 130
    fit_s = time.perf_counter() - t1
    # a resumed fit timed only what was left: said, so the figure is not read as a fit's
    resumed = ckpt is not None and bool(ckpt.resumed)
    for note in model.fit_notes():  # what validation chose: reg=auto, profile_weight
        print(note, file=sys.stderr)
    second = model.new_item_fit()
    if second and chosen_label(model) is None:
        # penalties the user gave (reg=auto's line names a second fit it chose): the
        # extra fit's time is explained
        print(
            f"note: {args.model} made a second fit, at {second}, to score items known only "
            "by an image (its penalties for known items differ)",
            file=sys.stderr,
        )
    n_pairs = int(model.seen_.nnz)  # fit built the binary matrix: no second build
    n_excluded = _exclude_rated_below(model, below)
    if n_excluded:
        print(
            "--min-rating: "
            + agree(n_excluded, "the (user, item) pair", f"the {n_excluded:,} (user, item) pairs")
            + f" rated below it {agree(n_excluded, 'is', 'are')} never recommended to "
            + f"{agree(n_excluded, 'its', 'their')} user",
            file=sys.stderr,
        )

    provenance = {
        "model": args.model,
        "params": model.get_params(),
        # a pipe (<(cat f)) resolves to "/proc/PID/fd/pipe:[N]": kept as given
        "interactions": (
            str(args.interactions)
            if _is_stream(args.interactions)
            else str(Path(args.interactions).resolve())
        ),
        "vectors": str(Path(args.vectors).resolve()) if args.vectors else None,
        # the same two relative to the model folder: `recommend` tries them when the
        # absolute ones are gone (the whole project folder moved)
        "interactions_relative": (
            None if _is_stream(args.interactions) else _relative(args.interactions, out)
        ),
        "vectors_relative": _relative(args.vectors, out) if args.vectors else None,
        "seed": model.get_params().get("random_state"),  # None: a model without one
        "min_rating": args.min_rating,
        "n_users": inter.n_users,
        "n_items": inter.n_items,
        "n_rows": len(inter),
        "records_skipped": skipped,  # by kind; said on stderr as they were read
        "n_pairs": n_pairs,
        "n_excluded_below_min_rating": n_excluded,
        "fit_seconds": round(fit_s, 3),
        "fit_resumed": resumed,
    }
    save_model_folder(model, out, provenance, sole_writer=sole_writer)
    # named as typed; a link -o (out is then the folder it names) with that folder beside
    shown = (
        args.output if str(Path(args.output)) == str(out) else f"{args.output} (a link to {out})"
    )
    try:
        _say_other_states(ckpt_dir, ckpt.kept if ckpt is not None else [])
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    except KeyboardInterrupt:  # the model is whole (swapped in): only clean-up was left
        print(f"interrupted: the model was written to {shown}", file=sys.stderr)
        return 130
    total = time.perf_counter() - t0
    print(
        f"trained {args.model}: {counted(inter.n_users, 'user')}, "
        f"{counted(inter.n_items, 'item')}, {counted(len(inter), 'row')} "
        f"({counted(n_pairs, 'distinct pair')}); fit {fit_s:.1f} s"
        f"{' (the resumed part)' if resumed else ''}, total {total:.1f} s -> {shown}"
    )
    return 0


def check_training_vectors(
    vectors: ItemVectors,
    item_ids: np.ndarray,
    vpath: str,
    ipath: str,
    effect: str,
) -> None:
    """Refuse vectors a fit cannot use; report training items without one, saying what
    that means for the fit (``effect``: the model's ``missing_vector_effect``).

    Raises
    ------
    VisrecError
        A training item's vector holds NaN or infinity (one such row turns the feature
        scaler's mean, and with it every score, into NaN), or no training item has a
        vector at all (ids spelt differently in the two files, e.g. ``7`` vs ``007``).
    """
    from visrec.commands._common import check_vectors_match, name_ids
    from visrec.data.id_spelling import respelt, respelt_hint
    from visrec.embed.store import check_finite_vectors
    from visrec.embed.vector_source import item_vector_word

    check_finite_vectors(vectors, item_ids, vpath, noun="training item")
    check_vectors_match(vectors, item_ids, vpath, ipath, noun="training items", respelt_note=False)
    has = vectors.has_image_for(item_ids)
    missing = len(has) - int(has.sum())
    if missing:
        # '086' in the interactions and 86 in the vectors: say so, it is not a photo gap
        hint = respelt_hint(
            respelt(item_ids[~has], vectors.ids[vectors.has_image], item_ids), "the vectors file"
        )
        # items spelt otherwise are a likely mistake (a model without pictures for
        # them), not a photo gap: a warning then
        print(
            f"{'warning' if hint else 'note'}: {vpath}: {missing:,} of {len(has):,} "
            f"training items have no {item_vector_word(vectors.meta.get('backbone'))} "
            f"({effect})"
            f"{name_ids(item_ids[~has], None)}{hint}",
            file=sys.stderr,
        )


def _relative(path: str, out: Path) -> str | None:
    """``path`` relative to the model folder ``out`` (None where there is no such path:
    another drive)."""
    try:
        return os.path.relpath(Path(path).resolve(), Path(out).resolve())
    except ValueError:
        return None


def checkpoint_folder(out: Path) -> Path:
    """Where an interrupted ``visrec train -o OUT`` keeps its training state."""
    return out.parent / f"{side_prefix(out.name, len('checkpoint'))}checkpoint"


def _say_other_states(folder: Path, kept: list[str]) -> None:
    """Name the saved states in ``folder`` that this fit neither saved nor resumed (an
    interrupted fit of another model or other data into the same -o), which go with it:
    their command's rerun starts over."""
    try:
        others = sorted(
            f.name for f in folder.iterdir() if f.suffix in (".pt", ".json") and f.stem not in kept
        )
    except OSError:  # no folder (nothing saved), or not one
        return
    if others:
        print(
            f"note: removed the saved training state of an interrupted fit of another model, "
            f"data or settings into this folder ({folder}: {', '.join(others)}); its "
            "command will start over",
            file=sys.stderr,
        )


def _remove_checkpoint(folder: Path) -> None:
    """Delete the saved training state (``--no-resume``): a folder, or whatever is in the
    way under its reserved name; failing that, stop rather than resume it."""
    try:
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        elif folder.exists() or folder.is_symlink():
            folder.unlink()
    except OSError as exc:
        raise write_error(
            f"--no-resume: cannot remove the saved training state {folder} ({exc.strerror or exc})",
            exc,
        ) from exc


def _fit_key(args: argparse.Namespace, params: dict[str, Any]) -> str:
    """Fingerprint of what decides a fit: the input files (path, size, modification
    time and the bytes at both ends: :func:`~visrec._atomic.content_stamp`), how they
    are read (separator, columns), the model and its hyperparameters, and the library
    versions."""
    import hashlib

    from visrec._revision import code_revision, library_versions
    from visrec.data.tables import interaction_sources

    def stamp(path: str | None) -> list[Any] | None:
        if not path:
            return None
        if _is_stream(path):  # no size or time to key on (nor resumed)
            return [str(path), "not a regular file"]
        top = Path(os.path.realpath(path))
        if not top.is_dir():
            return [str(top), content_stamp(top)]
        # the files load_interactions reads there (one table, or a folder of Amazon
        # review files): editing one leaves the folder's own times alone, and the rest
        # of the folder (images) does not matter
        return [[str(f), content_stamp(f)] for f in interaction_sources(top)]

    what = {
        "model": args.model,
        "params": {k: v for k, v in params.items() if k != "verbose"},  # bar only
        "interactions": stamp(args.interactions),
        "vectors": stamp(args.vectors),
        "min_rating": getattr(args, "min_rating", None),  # callers may build args bare
        # another --item-col of the same file is other data
        "layout": layout_args(args),
        # numpy: its random streams decide the sampled triples; read from the package
        # metadata, so a popularity fit does not import torch for its key
        "versions": [code_revision(), library_versions()],
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _is_stream(path: str | None) -> bool:
    """Whether ``path`` is a pipe or device (``<(cat f)``), not a file or folder."""
    if not path:
        return False
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _check_writable(out: Path) -> None:
    """The model is saved into a temporary folder beside ``out``, then swapped in: try
    that folder for real now, not after the fit (a read-only disk, a name too long)."""
    from visrec._atomic import blocking_parent, check_dotdot, probe_writable

    try:
        check_dotdot(out)
    except VisrecError as exc:
        raise VisrecError(f"-o: {exc}") from None
    blocked = blocking_parent(out)
    if blocked is not None:  # said as every other output says it, not "Not a directory"
        raise VisrecError(f"-o: output path {str(out)!r}: {blocked}")
    try:
        probe_writable(out)
    except OSError as exc:
        raise write_error(f"-o: cannot write {str(out)!r} ({exc.strerror or exc})", exc) from exc


def check_model_folder(out: Path) -> None:
    """Refuse an ``-o`` folder that ``save_model_folder`` must not replace.

    A missing folder, an empty one and a visrec model folder (one a previous
    ``visrec train`` wrote) are fine; anything else would be deleted by the swap, so it
    is an error, raised before any training. So is the current folder or a parent of it
    (it cannot be swapped out from under the process).

    Raises
    ------
    WriteError
        The folder cannot be written, or its files removed (no permission).
    VisrecError
        Naming the folder and why it cannot be used.
    """
    resolved = Path(os.path.realpath(out))  # not Path.resolve: a symlink loop raises there
    try:
        cwd: Path | None = Path(os.path.realpath(Path.cwd()))
    except OSError:  # removed while the model was fitted: an absolute -o still works
        cwd = None
    if cwd is not None and (resolved == cwd or resolved in cwd.parents):
        raise VisrecError(
            f"{out}: is the current folder or one above it; name a folder for the model, "
            "e.g. -o models/bpr"
        )
    # lexists: Path.exists lets a name too long out bare (before 3.13), where the probe
    # says "-o: cannot write" as for any output
    if not os.path.lexists(out):
        _check_writable(out)
        return
    if out.is_symlink() and not out.exists():
        raise VisrecError(
            f"{out} is a link to {os.readlink(out)!r}, which does not exist; remove the link "
            "or make the folder it names"
        )
    if not out.is_dir():
        what = "it is a file" if out.is_file() else "it is not a folder"
        raise VisrecError(f"{out} exists and is not a visrec model folder ({what})")
    _check_writable(out)
    if not any(out.iterdir()):
        return
    # (imported here: numpy and pandas would slow every `visrec --help`)
    from visrec.models.model_folder import ARRAYS_NPZ, MODEL_JSON, TRAIN_JSON, is_model_folder

    if not is_model_folder(out):
        raise VisrecError(
            f"{out} exists and is not a visrec model folder (no visrec model.json in it); "
            "name a new or empty folder, or an earlier model folder to replace"
        )
    # the swap deletes the whole folder: only a model's own files may be in it
    own = {MODEL_JSON, ARRAYS_NPZ, TRAIN_JSON}  # what save_model_folder writes
    other = sorted(p.name for p in out.iterdir() if p.name not in own)
    if other:
        shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
        raise VisrecError(
            f"{out} is an earlier model folder but also holds {shown}, which replacing "
            f"it would delete; move them out (a model folder holds only {MODEL_JSON}, "
            f"{ARRAYS_NPZ} and {TRAIN_JSON}) or name another folder"
        )
    if not out.is_symlink() and not os.access(out, os.W_OK | os.X_OK):
        # the swap would succeed, but the previous model's files could not be removed
        # from it: a hidden copy left beside it on every run, without a word
        raise WriteError(
            f"-o: {out} exists and its files cannot be removed (no write permission on "
            "the folder), so the previous model could not be replaced cleanly; fix its "
            "permissions or name another folder",
            errno.EACCES,
            filename=str(out),
        )


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``), so a
    reader sees the old folder or the new one, never neither. False where the system or
    file system cannot (the caller then renames in two steps)."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):  # no libc found, or glibc < 2.28
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(done == 0)


def _swap_in(new: Path, out: Path) -> None:
    """Replace folder ``out`` by ``new``: in one step where the system can swap two
    paths, else in two renames; on failure the previous ``out`` is put back, or, if
    even that fails, kept in a ``.NAME.old.*`` folder that the error names."""
    if _exchange(new, out):
        # `new` now holds the previous model, or the link `out` was (its target stays)
        if new.is_symlink():
            new.unlink()
        else:
            _remove_previous(new)
        return
    # mkdtemp adds 8 characters
    old = Path(tempfile.mkdtemp(prefix=f"{side_prefix(out.name, 12)}old.", dir=out.parent))
    parked = old / out.name
    try:
        os.replace(out, parked)
    except OSError as exc:
        old.rmdir()  # the error would name it, gone now
        raise write_error(
            f"{out}: cannot replace the model folder ({exc.strerror or exc}); the previous "
            "model is unchanged",
            exc,
        ) from exc
    except BaseException:
        old.rmdir()
        raise
    try:
        os.replace(new, out)
    except BaseException as exc:
        try:
            os.replace(parked, out)  # put the previous model back
        except OSError as restore_exc:
            raise write_error(
                f"{out}: could not replace the model folder ({exc}) nor put the previous "
                f"one back ({restore_exc}); the previous model is in {parked}",
                restore_exc,
            ) from exc
        old.rmdir()
        raise
    _remove_previous(old)


def _remove_previous(folder: Path) -> None:
    """Remove the folder holding the replaced model; if that fails (its files cannot
    be deleted), say so and where it is, not leave a hidden copy without a word."""
    import sys

    failed: list[BaseException] = []
    if sys.version_info >= (3, 12):  # onerror is deprecated there
        shutil.rmtree(folder, onexc=lambda f, p, e: failed.append(e))
    else:
        shutil.rmtree(folder, onerror=lambda f, p, e: failed.append(e[1]))
    if failed and folder.exists():
        print(
            f"warning: the previous model could not be removed "
            f"({getattr(failed[0], 'strerror', None) or failed[0]}); it is in "
            f"{folder}: remove it yourself",
            file=sys.stderr,
        )


#: in the name of a save's temporary folder (``.NAME.visrec-save-XXXXXXXX``), which
#: the next save of NAME removes when a kill left it
SAVE_TAG = "visrec-save-"


def save_model_folder(
    model: Recommender, out: Path, provenance: dict[str, Any], *, sole_writer: bool = False
) -> None:
    """Save into a temporary sibling folder, then swap it in, so a reader never sees a
    half-written model (an existing folder is replaced only once the new one is complete,
    and only when :func:`check_model_folder` allows it). ``sole_writer``: the caller
    holds ``out``'s lock, so a killed save's temporary folder is removed whatever its
    age (no other save can be writing it)."""
    check_model_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # folders of saves killed before they could clean up (mkdtemp: 8 characters), by a
    # name no user gives a folder: a hidden `.model.20261130` backup is not one. The
    # .NAME.old.* ones are left alone: an error named them as holding a previous model
    from visrec._atomic import STALE_AFTER_S, sweep_stale
    from visrec.models.model_folder import TRAIN_JSON  # the provenance `recommend` reads

    prefix = side_prefix(out.name, len(SAVE_TAG) + 8) + SAVE_TAG
    sweep_stale(
        out.parent,
        prefix,
        r"[a-z0-9_]{8}",
        dirs=True,
        max_age=0 if sole_writer else STALE_AFTER_S,
    )
    tmp = create_temp_folder(out.parent, prefix)
    try:
        # the files without save()'s lock: this run holds the output's, and the lock
        # file of a fresh random folder would outlive a kill here
        model._save_files(tmp)
        write_text_atomic(tmp / TRAIN_JSON, json.dumps(provenance, indent=2))  # synced
        if out.exists():
            # as atomic_path keeps a file's: a `chmod 700` model folder (its users' ids
            # and seen items) must not come back opened by the umask
            for name in os.listdir(tmp):
                keep_mode(out / name, tmp / name)
            keep_mode(out, tmp)
            _swap_in(tmp, out)
        else:
            os.replace(tmp, out)
        sync_path(out.parent)  # the new name, as atomic_path syncs a file's
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and isinstance(exc.filename, str):
            # name the user's folder, not the hidden one just removed
            with contextlib.suppress(ValueError):
                exc.filename = str(out / Path(exc.filename).relative_to(tmp))
        raise
