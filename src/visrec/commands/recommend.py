"""``visrec recommend``: top-n items for every training user of a saved model.

The users and candidates a run ranks (the ``--users`` and ``--items`` files, the unseen
candidates' vectors) are read in :mod:`._recs_inputs`, which :func:`read_candidates`,
:func:`read_users`, :func:`read_id_list` and :func:`model_users` come from; the resume
bookkeeping lives in :mod:`._recs_progress`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from visrec.commands._common import (
    LastPathNoted,
    check_output_file,
    check_outputs_distinct,
    say_note,
    survives_closed_stdout,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._new_items import vectors_file_meta
from visrec.commands._progress import add_progress_args, fit_lines_in_logs, show_progress
from visrec.commands._recs_inputs import _candidate_set, _check_vectors_option
from visrec.commands._recs_inputs import model_users as model_users
from visrec.commands._recs_inputs import read_candidates as read_candidates
from visrec.commands._recs_inputs import read_id_list as read_id_list
from visrec.commands._recs_inputs import read_users as read_users
from visrec.errors import VisrecError, agree, counted, none_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from visrec.commands import _recs_progress
    from visrec.models.base import Recommender
    from visrec.models.candidates import CandidateSet

EPILOG = """\
examples:
  visrec recommend models/bpr --n 20 -o recs.csv
  visrec recommend models/vbpr --n 20 -o recs.csv --items candidates.txt
  visrec recommend models/vbpr --n 20 -o recs.csv --items new.txt \\
      --vectors new.parquet
  visrec recommend models/visual-cf --n 20 --new-slots 5 -o recs.csv \\
      --items catalogue_and_new.txt --vectors all.parquet
  visrec recommend models/bpr --n 10 -o recs.csv --users some_users.txt

Output: CSV with header user_id,item_id,rank,score (rank 1..n), n rows per training
user (fewer only when fewer candidates are left; none for a user whose every candidate
is a training item, counted in the summary), never one of the user's training items
(nor, for a model trained with --min-rating, one they rated below it). --items (one
item_id per line) restricts the candidates; --users (one user_id per line) the users,
in the file's order (a user not in training is an error: the model knows nothing of
them; --unknown-users skip leaves such users out, popular gives them the most popular
candidates). Candidates unseen in training are scored from their image vectors (--vectors,
else the vectors file recorded by `visrec train` when it still exists) by models that
can (of the built-in ones, vbpr and visual-cf); a model that cannot, or a candidate
with no vector (or one holding NaN), is reported once on stderr and such candidates
are ranked after all scored ones, with score -inf; among themselves they are in a
pseudo-random order seeded by the model's random_state (the same for any order of the
--items file, whose order would otherwise decide them).

A new item's score is what the model expects from its picture alone, so next to items
people bought it rarely reaches the top n: --new-slots K keeps K places per list for
the best-scored unseen candidates (the list stays in score order).

A progress bar over the users shows on a terminal (--quiet hides it, --verbose forces it).
Rows go to RECS.csv.partial until every list is in, then it becomes RECS.csv; after
Ctrl-C or a kill, the same command again goes on from the last recorded user (within
seconds of the stop) and writes the file one run would have (--no-resume starts over).
"""


#: scores as written: nine significant digits read back as the float32 a model scored
#: exactly, and a popularity count below a billion as itself (six gave 1.23457e+06)
SCORE_FORMAT = "%.9g"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recommend",
        help="write the top-n items for every training user of a saved model",
        description="Rank candidate items for every user a saved model was trained on.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="model folder written by `visrec train`")
    p.add_argument("--n", type=int, default=20, metavar="N", help="items per user (default 20)")
    p.add_argument("-o", "--output", required=True, metavar="RECS.csv", help="output CSV")
    p.add_argument(
        "--items",
        action=LastPathNoted,
        metavar="CANDIDATES.txt",
        help="candidate item ids, one per line (default: all known items)",
    )
    p.add_argument(
        "--vectors",
        action=LastPathNoted,
        metavar="V.parquet",
        help="item vectors parquet for candidates unseen in training",
    )
    p.add_argument(
        "--users",
        action=LastPathNoted,
        metavar="USERS.txt",
        help="user ids to recommend for, one per line (default: every training user)",
    )
    p.add_argument(
        "--unknown-users",
        choices=("error", "skip", "popular"),
        default=None,
        help="with --users, users the model was not trained on (new customers): error "
        "(default) stops naming the first; skip leaves them out with a note; popular gives "
        "them the candidates most taken in training (no history to personalise by), "
        "after the known users' lists",
    )
    p.add_argument(
        "--skip-unknown-users",
        action="store_true",
        help="the same as --unknown-users skip",
    )
    p.add_argument(
        "--new-slots",
        type=int,
        default=0,
        metavar="K",
        help="keep K of the n places of every list for candidates unseen in training "
        "(the best-scored ones), for models that score them from vectors; default 0: one "
        "ranking by score, where new items rarely reach the top next to bought ones "
        "(--unknown-users popular lists are the popular known items: no new ones)",
    )
    p.add_argument(
        "--batch-users",
        type=int,
        default=None,
        metavar="N",
        help="users scored per batch (default: auto)",
    )
    p.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="start over: discard the lists an interrupted earlier run wrote to "
        "RECS.csv.partial instead of going on from them",
    )
    add_progress_args(p, what="a progress bar over the users")
    p.set_defaults(func=run)


#: what a damaged train.json costs: the --vectors default, and -o's check against the
#: training interactions (it cannot know them)
_UNUSED_PATHS = (
    "the paths it records are not used (the vectors, as the default for --vectors; the "
    "training interactions, which -o is checked not to replace)"
)


def recorded_paths(tj: Path, say: bool = True) -> dict[str, str | None]:
    """The ``vectors`` and ``interactions`` paths ``visrec train`` recorded in the model
    folder's ``train.json`` (None: not recorded), with a note when the file is there but
    unusable (the vectors are only a default for ``--vectors``, the interactions only
    an input ``-o`` must not replace, so damage there never stops a run). A path gone
    since is the one at the same place relative to the model folder, when there is one
    (said, for the vectors, unless ``say`` is False: ``--vectors`` was given)."""
    from visrec.models.model_folder import read_train_json

    out: dict[str, str | None] = {"vectors": None, "interactions": None}
    try:
        provenance = read_train_json(tj)
    except VisrecError as exc:  # unreadable, or not a JSON object
        print(f"note: {exc}; {_UNUSED_PATHS}", file=sys.stderr)
        return out
    for key in out:
        path = provenance.get(key)
        if path is None or isinstance(path, str):
            gone = bool(path) and not Path(str(path)).exists()
            out[key] = (_moved(tj, provenance, key, say) if gone else path) or None
        elif key == "vectors":  # the one a run reads
            print(f"note: {tj}: 'vectors' is not a path ({path!r}); not used", file=sys.stderr)
    return out


def _moved(tj: Path, provenance: dict[str, Any], key: str, say: bool) -> str:
    """The recorded ``key`` path, gone: the one at its place relative to the model folder
    when there is one there (the project folder moved), said for the vectors."""
    path, rel = provenance[key], provenance.get(f"{key}_relative")
    if not isinstance(rel, str) or not rel or not (tj.parent / rel).exists():
        return str(path)
    found = str(tj.parent / rel)
    if key == "vectors" and say:
        print(
            f"note: {path} (the vectors file {tj} records) is gone; using {found}, at the "
            "same place relative to the model folder",
            file=sys.stderr,
        )
    return found


def _unknown_users_mode(args: argparse.Namespace) -> str:
    """``--unknown-users`` (``--skip-unknown-users`` is its ``skip``), checked."""
    mode = args.unknown_users
    if args.skip_unknown_users:
        if mode not in (None, "skip"):
            raise VisrecError(
                f"--skip-unknown-users and --unknown-users {mode} contradict each other; give one"
            )
        mode = "skip"
    if mode is not None and not args.users:
        option = "--skip-unknown-users" if args.skip_unknown_users else "--unknown-users"
        raise VisrecError(f"{option} is for a --users file")
    return mode or "error"


def popular_list(
    model: Recommender, raw: np.ndarray, known: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` candidates most taken in training, for a user with no history: their
    positions in ``raw`` and their training pair counts as scores. Candidates unseen in
    training, or taken by nobody, score -inf and come last; ties keep ``raw``'s (seeded)
    order."""
    import numpy as np

    counts = np.asarray(model.seen_.sum(axis=0), dtype=np.float64).ravel()
    score = np.full(len(raw), -np.inf)
    k = known >= 0
    score[k] = counts[known[k]]
    score[score == 0] = -np.inf
    top = np.argsort(-score, kind="stable")[:n]
    return top, score[top]


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec._atomic import exclusive_lock, written_file
    from visrec.commands import _recs_progress

    unknown_users = _checked_options(args)
    # checked before any work: the final rename onto a directory fails only at the end
    check_output_file(args.output, "-o", "CSV")
    target = written_file(args.output)  # through a link: the file it names
    _recs_progress.check_side_files(target)
    recorded = _check_output_replaces_no_input(args)
    # one run per output, from before the inputs are read: a second one stops at once
    with exclusive_lock(target, "visrec recommend") as held:
        vmeta = vectors_file_meta(args.vectors) if args.vectors else None
        t0 = time.perf_counter()
        # keyed by the model read, not by the folder at the first checkpoint: a train
        # swapping a new one in meanwhile made a resume mix two models' lists
        model, key = _recs_progress.load_keyed(args.model_dir)
        _check_vectors_option(args, vmeta, model)
        users, newcomers = (
            model_users(args.users, model, unknown_users) if args.users else (None, [])
        )
        cands, n_unseen = _candidate_set(args, model, recorded)
        tally = _write_recommendations(args, target, held, (model, key), cands, users, newcomers)
    if tally is None:  # Ctrl-C: said where the finished lists are
        return 130
    _say_done(tally, newcomers, len(cands.raw_ids), n_unseen, t0, args.output)
    # only where some new candidate was scored: ranked last for want of a vector,
    # --new-slots does nothing for it (and _candidate_set said why)
    if n_unseen and tally.n_new == 0 and tally.n_rows and len(cands.new_pos):
        which = (
            "the only candidate unseen in training is in no list"
            if n_unseen == 1
            else f"none of the {n_unseen:,} candidates unseen in training is in any list"
        )
        say_note(
            f"note: {which}: a new item's score is what its picture alone predicts, and the "
            "items people took rank above it; --new-slots K keeps K places of each list for "
            "the best-scored new items"
        )
    return 0


def _checked_options(args: argparse.Namespace) -> str:
    """The ``--unknown-users`` mode, once ``--n``, ``--batch-users``, ``--new-slots`` pass."""
    if args.n < 1:
        raise VisrecError(f"--n must be at least 1, got {args.n}")
    unknown_users = _unknown_users_mode(args)
    if args.batch_users is not None and args.batch_users < 1:
        raise VisrecError(f"--batch-users must be at least 1, got {args.batch_users}")
    if not 0 <= args.new_slots <= args.n:
        raise VisrecError(f"--new-slots must be between 0 and --n ({args.n}), got {args.new_slots}")
    return unknown_users


def _check_output_replaces_no_input(args: argparse.Namespace) -> str | None:
    """The vectors path train.json records, once ``-o`` is checked against every input."""
    from visrec._atomic import written_file
    from visrec.commands import _recs_progress
    from visrec.models.model_folder import TRAIN_JSON

    folder = Path(args.model_dir)
    model_files = {  # the model's own files: model.json, arrays.npz, train.json
        f"model folder's {p.name}": p for p in (folder.iterdir() if folder.is_dir() else ())
    }
    # the vectors train.json names: read for unseen candidates, and hours of embedding;
    # the training interactions it names: `-o` must not replace the data behind the model
    paths = recorded_paths(folder / TRAIN_JSON, say=not args.vectors)
    recorded = paths["vectors"]
    rows, record = _recs_progress.side_files(written_file(args.output))
    check_outputs_distinct(
        {
            "-o": args.output,
            # written and renamed onto -o: an input there would be lost as surely
            "-o's partial file": rows,
            "-o's resume record": record,
        },
        {
            "--items": args.items,
            "--users": args.users,
            "--vectors": args.vectors,
            **model_files,
            f"vectors (recorded in {TRAIN_JSON})": recorded,
            f"training interactions (recorded in {TRAIN_JSON})": paths["interactions"],
        },
        # an -o there must be a list of recommendations: another table would be lost
        {"-o": "recommendations CSV"},
    )
    return recorded


@dataclass
class _Tally:
    """What the closing line counts: users asked for, rows written, lists empty or short."""

    n_asked: int
    full: int  # the length a list falls short of (0: none is counted short)
    n_rows: int = 0
    n_empty: int = 0
    n_short: int = 0
    #: rows of candidates unseen in training; None when a resumed run wrote only a part
    n_new: int | None = 0

    def counts(self) -> dict[str, int]:
        """The counts a resumed run starts from (see :mod:`._recs_progress`)."""
        return {"n_rows": self.n_rows, "n_empty": self.n_empty, "n_short": self.n_short}


def _write_recommendations(
    args: argparse.Namespace,
    target: Path,
    held: bool,
    keyed: tuple[Recommender, str],
    cands: CandidateSet,
    users: np.ndarray | None,
    newcomers: list[str],
) -> _Tally | None:
    """Writes ``-o`` (the file ``target``, under the caller's lock when ``held``): the
    users' lists, then the newcomers' popular ones, going on from an interrupted run's
    (:mod:`._recs_progress`; only under the lock; ``keyed``: the model and its key from
    ``load_keyed``); returns counts, or None after Ctrl-C (said, with where the
    finished lists are kept)."""
    import numpy as np

    from visrec._atomic import name_output
    from visrec.commands import _recs_progress
    from visrec.commands._csv_quoting import csv_quoting

    model, key = keyed
    order = np.arange(len(model.user_map_), dtype=np.int64) if users is None else users
    tally = _Tally(
        n_asked=len(order),
        # lists cut short by the user's own training items; with fewer candidates than
        # --n every list is short, which the candidate count already says
        full=args.n if len(cands.raw_ids) >= args.n else 0,
    )
    # a list never holds more than the candidates: --n beyond that sized the
    # blocks (users x n) for nothing, up to a failed allocation
    n_list = min(args.n, len(cands.raw_ids))
    # named as the options, for the note of a resume they refuse
    options = {
        "--n": n_list,
        "--new-slots": min(args.new_slots, n_list),
        "--batch-users": args.batch_users,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    fp = _recs_progress.fingerprint(key, cands, users, newcomers, options)
    prog = (
        _recs_progress.start(target, fp, len(order), args.resume, say_note)
        if held
        else _recs_progress.private(target, fp)
    )
    for name, value in prog.counts.items():
        setattr(tally, name, value)
    if prog.users_done:  # the lists written before are not counted again
        tally.n_new = None
    # from the ids, once: a check of every written row doubled the time to write them
    quoting = csv_quoting(model.user_map_.ids, cands.raw_ids, newcomers)
    try:
        with prog.open() as fh:
            _write_lists(args, fh, model, cands, order, prog, tally, options, quoting)
            if newcomers:
                _write_popular(fh, model, cands, newcomers, n_list, tally, quoting)
        prog.finish(target)
    except KeyboardInterrupt:
        if prog.finished:  # between the rename and the record's removal
            prog.forget()
            print(f"interrupted: every list was already in {target}", file=sys.stderr)
        else:
            kept = prog.kept(len(order), args.resume) or "no list was kept"
            print(f"interrupted: {kept}", file=sys.stderr)
            prog.drop_unrecorded()
        return None
    except Exception as exc:  # a write, or a model's scoring, failed: say what stays
        kept = prog.kept(len(order), args.resume)
        if kept:
            print(kept, file=sys.stderr)
        prog.drop_unrecorded()
        if isinstance(exc, OSError):
            name_output(exc, target, prog.rows)
        raise
    return tally


def _write_lists(
    args: argparse.Namespace,
    fh: TextIO,
    model: Recommender,
    cands: CandidateSet,
    order: np.ndarray,
    prog: _recs_progress.Progress,
    tally: _Tally,
    options: dict[str, Any],
    quoting: Literal[0, 1],
) -> None:
    """Writes the lists of the users of ``order`` not done yet, under a progress bar."""
    from visrec._bars import progress_bar
    from visrec.models.candidates import iter_recommendations

    bar = progress_bar(
        total=tally.n_asked,
        initial=prog.users_done,
        unit="user",
        desc="recommend",
        show=show_progress(args),
        auto=False,
        file=sys.stderr,
        leave=False,
    )
    with bar, fit_lines_in_logs(args):  # into a log file, a line a minute: users done of all
        batches = iter_recommendations(
            model,
            cands,
            options["--n"],
            args.batch_users,
            options["--new-slots"],
            order[prog.users_done :],
        )
        _write_batches(fh, batches, model.user_map_.ids, cands, bar, tally, prog, quoting)


def _write_popular(
    fh: TextIO,
    model: Recommender,
    cands: CandidateSet,
    newcomers: list[str],
    n_list: int,
    tally: _Tally,
    quoting: Literal[0, 1],
) -> None:
    """Writes the new users' lists: the candidates most taken in training."""
    import numpy as np

    raw = cands.raw_ids
    top, score = popular_list(model, raw, cands.known_idx, n_list)
    taken = int(np.isfinite(score).sum())  # a list cut short of them holds them all
    if taken < len(top):  # nothing to rank the rest by: said, not left to '-inf' alone
        of = f"of the {counted(len(raw), 'candidate')}"
        none = none_of(len(raw), "candidates", "was taken", "was not taken")
        say_note(
            f"note: {none} in training, so "
            + (
                "the new users' lists are in a seeded random order (score -inf)"
                if len(raw) > 1
                else "it is scored -inf in the new users' lists"
            )
            if not taken
            else f"note: only {taken:,} {of} {agree(taken, 'was', 'were')} taken in "
            f"training, so the new users' lists end with {counted(len(top) - taken, 'candidate')}"
            " in a seeded random order (score -inf)"
        )
    if tally.n_new is not None:  # their lists end with the new candidates when room is left
        tally.n_new += len(newcomers) * int((cands.known_idx[top] < 0).sum())
    tally.n_rows += _write_rows(
        fh,
        {
            "user_id": np.repeat(np.asarray(newcomers, dtype=object), len(top)),
            "item_id": np.tile(raw[top], len(newcomers)),
            "rank": np.tile(np.arange(1, len(top) + 1), len(newcomers)),
            "score": np.tile(score, len(newcomers)),
        },
        quoting,
    )


def _write_batches(
    fh: TextIO,
    batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
    user_ids: np.ndarray,
    cands: CandidateSet,
    bar: Any,
    tally: _Tally,
    prog: _recs_progress.Progress,
    quoting: Literal[0, 1],
) -> None:
    """Writes each batch's rows to ``fh``, counting rows and empty or short lists, and
    records the progress after a batch now and then."""
    import numpy as np

    from visrec import _progress_lines

    _progress_lines.fit_started()
    begun, done = time.monotonic(), prog.users_done
    raw, unseen = cands.raw_ids, cands.known_idx < 0
    for u, pos, val in batches:
        bar.update(len(u))
        done += len(u)
        _progress_lines.step_done("recommend", done, tally.n_asked, "users", begun)
        ok = pos >= 0
        tally.n_empty += int((~ok.any(axis=1)).sum())  # every candidate is a training item
        n_ok = ok.sum(axis=1)
        tally.n_short += int(((n_ok > 0) & (n_ok < tally.full)).sum())
        rows, cols = np.nonzero(ok)
        if tally.n_new is not None:
            tally.n_new += int(unseen[pos[rows, cols]].sum())
        tally.n_rows += _write_rows(
            fh,
            {
                "user_id": user_ids[u[rows]],
                "item_id": raw[pos[rows, cols]],
                "rank": cols + 1,
                "score": val[rows, cols],
            },
            quoting,
        )
        prog.block_done(fh, done, tally.counts())


def _write_rows(fh: TextIO, columns: dict[str, np.ndarray], quoting: Literal[0, 1]) -> int:
    """Writes ``columns`` to ``fh`` as CSV rows without a header, quoted as ``quoting``
    (:func:`~visrec.commands._csv_quoting.csv_quoting`); returns how many."""
    import pandas as pd

    frame = pd.DataFrame(columns)
    frame.to_csv(
        fh,
        header=False,
        index=False,
        float_format=SCORE_FORMAT,
        lineterminator="\n",
        quoting=quoting,
    )
    return len(frame)


def _say_done(
    tally: _Tally,
    newcomers: list[str],
    n_candidates: int,
    n_unseen: int,
    t0: float,
    output: str,
) -> None:
    """Prints the closing line: users, rows, candidates and the time since ``t0``."""
    n_users = tally.n_asked - tally.n_empty
    parts = []
    if tally.n_empty:
        parts.append(
            f"{counted(tally.n_empty, 'user')} with no candidate left, every one a training item: "
            "no rows"
        )
    if tally.n_short:
        parts.append(
            f"{counted(tally.n_short, 'user')} with fewer than {tally.full:,} candidates left once "
            "their training items are out: shorter lists"
        )
    empty = f" ({'; '.join(parts)})" if parts else ""
    if newcomers:
        empty += f" and popular lists for {counted(len(newcomers), 'new user')}"
    print(
        f"recommended for {counted(n_users, 'user')}{empty} from "
        f"{counted(n_candidates, 'candidate')} "
        f"({n_unseen:,} unseen in training): {counted(tally.n_rows, 'row')} in "
        f"{time.perf_counter() - t0:.1f} s -> {output}"
    )
    if not tally.n_rows:  # a header alone is a success only on paper: said on stderr too
        print(
            f"warning: {output} holds no recommendation, only its header: every candidate "
            "of every user is one of their training items",
            file=sys.stderr,
        )
