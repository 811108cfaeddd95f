"""Plumbing shared by several commands (not a command itself: ``visrec.cli`` lists
the command modules by name).

- arguments: the ``--interactions`` / ``--min-rating`` options, VECTORS given first or
  as ``--vectors``;
- input: loading an interactions file with a report of what was skipped, id spellings,
  vectors that belong to another data set, photo folders;
- naming ids in a note;
- the ``run`` block of a ``--json`` result: which visrec wrote it, when, from what
  command line.

The rest is in siblings named for what they hold, and re-exported here (the commands
and tests import it from this module):

- parameters (:mod:`visrec.commands._params`): ``KEY=VALUE`` overrides, their names,
  a model's ``device``;
- outputs (:mod:`visrec.commands._output_paths`): output paths checked before any work
  (distinct, not an input, not stdout);
- streams (:mod:`visrec.commands._streams`): results and "wrote ..." lines on stdout,
  every other line on stderr (:func:`say_note`); a closed pipe (``visrec ... | head``)
  ends a command quietly, files written. ``_resume`` looks ``stdout_closed`` up here,
  at call time, so a test can patch it on this module.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec._atomic import check_input_exists
from visrec.commands._output_paths import check_output_file as check_output_file
from visrec.commands._output_paths import check_outputs_distinct as check_outputs_distinct
from visrec.commands._output_paths import folder_data as folder_data
from visrec.commands._output_paths import folder_inputs as folder_inputs
from visrec.commands._output_paths import named_like_outputs as named_like_outputs
from visrec.commands._params import check_model_device as check_model_device
from visrec.commands._params import check_param_names as check_param_names
from visrec.commands._params import parse_model_params as parse_model_params
from visrec.commands._params import parse_param as parse_param
from visrec.commands._params import parse_params as parse_params
from visrec.commands._streams import CLOSED_STDOUT_STATUS as CLOSED_STDOUT_STATUS
from visrec.commands._streams import _StdoutGuard as _StdoutGuard
from visrec.commands._streams import closed_stdout_status as closed_stdout_status
from visrec.commands._streams import say_note as say_note
from visrec.commands._streams import say_written as say_written
from visrec.commands._streams import stdout_closed as stdout_closed
from visrec.commands._streams import stdout_failed_status as stdout_failed_status
from visrec.commands._streams import survives_closed_stderr as survives_closed_stderr
from visrec.commands._streams import survives_closed_stdout as survives_closed_stdout
from visrec.errors import (
    HAS_VECTOR,
    TooLittleDataError,
    VisrecError,
    agree,
    counted,
    names_text,
    none_of,
)

if TYPE_CHECKING:  # pandas is imported by the loader, not by ``visrec --help``
    import numpy as np
    import pandas as pd

#: bad records listed by name (file:line) in a load report; the rest are counted
BAD_LINES_SHOWN = 3

INTERACTIONS_HELP = (
    "interactions: CSV/TSV/Parquet with user_id,item_id[,rating,timestamp], "
    "MovieLens u.data, Amazon reviews .json.gz (or a folder of them: one table)"
)


def add_interactions_args(
    parser: argparse.ArgumentParser, help: str = INTERACTIONS_HELP, *, metavar: str | None = "F"
) -> None:
    """Add the required ``--interactions`` option, read by :func:`load_interactions_frame`.

    Parameters
    ----------
    parser : ArgumentParser
    help : str
        Help text (each command names the columns it needs).
    metavar : str or None, default "F"
        ``None`` keeps argparse's default (``INTERACTIONS``).
    """
    parser.add_argument(
        "--interactions", required=True, metavar=metavar, help=help, action=_LastInputNoted
    )


class LastPathNoted(argparse._StoreAction):
    """An input path given twice is read once, with its last value, as every option is;
    a note says which file is left unread (``--vectors A --vectors B`` read B alone
    without a word). A store action still, as ``cli.empty_value`` checks those for an
    empty path. For every optional input of ``cli.INPUT_PATHS``."""

    #: the note's reason, in brackets after it
    why = "the last value given wins"

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        before = getattr(namespace, self.dest, None)
        if before is not None and before != values:
            # said by cli once the whole line parsed: not above a usage error it ends in
            held = getattr(namespace, PARSE_NOTES, None)
            if held is None:
                held = []
                setattr(namespace, PARSE_NOTES, held)
            held.append(
                f"note: {option_string} given twice: {values} is read, {before} is not ({self.why})"
            )
        setattr(namespace, self.dest, values)


#: the ``args`` attribute holding the notes found while parsing (``LastPathNoted``)
PARSE_NOTES = "parse_notes_"


def say_parse_notes(args: argparse.Namespace) -> None:
    """Print the notes found while parsing ``args`` (after it parsed without error)."""
    for line in getattr(args, PARSE_NOTES, None) or ():
        say_note(line)


class _LastInputNoted(LastPathNoted):
    """``--interactions`` given twice (two category files: one read alone)."""

    why = "one file or folder is read; for several review files, give the folder holding them"


def finite_number(text: str) -> float:
    """An argparse ``type``: a float that is a number (``nan`` and ``inf`` kept no row, or
    every row, without a word)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def add_min_rating_arg(parser: argparse.ArgumentParser, more: str = "") -> None:
    """Add ``--min-rating`` (float, default None), for ``load_interactions_frame``;
    ``more`` ends its help (what the command does with the rows below)."""
    parser.add_argument(
        "--min-rating",
        type=finite_number,
        default=None,
        metavar="R",
        help="keep only rows with rating >= this value (default: every row is a positive)" + more,
    )


def add_vectors_positional(parser: argparse.ArgumentParser) -> None:
    """The vectors file as the first positional ``VECTORS``, or as ``--vectors`` like
    every other command takes it; :func:`take_vectors_arg` settles which was given."""
    parser.add_argument(
        "vectors",
        metavar="VECTORS",
        nargs="?",
        help="vectors Parquet from `visrec embed` (required; --vectors VECTORS works too)",
    )
    parser.add_argument(
        "--vectors",
        dest="vectors_opt",
        metavar="VECTORS",
        help=argparse.SUPPRESS,
        action=LastPathNoted,
    )


def take_vectors_arg(args: argparse.Namespace, command: str, more: str | None = None) -> None:
    """Set ``args.vectors`` from ``VECTORS`` or ``--vectors``.

    ``more``: the list attribute of the positionals after VECTORS (``similar``'s item
    ids). With ``--vectors``, every positional is one of those (argparse gave the first
    to VECTORS), unless it names an existing ``.parquet`` file: two vectors files.
    Without it, argparse gives a lone positional to ``more``: VECTORS or the ids are
    missing, and the error asks for both.
    """
    given = args.vectors_opt
    usage = f"visrec {command} VECTORS" + (" ITEM_ID..." if more else " ...")
    rest = getattr(args, more) if more else []
    if given is not None:
        first = args.vectors
        if first is not None:
            if more is None:
                raise VisrecError(f"two vectors files: {first} and --vectors {given}; give one")
            rest.insert(0, first)
        if rest and _vectors_like(rest[0]):
            raise VisrecError(f"two vectors files: {rest[0]} and --vectors {given}; give one")
        args.vectors = given
    if args.vectors is None and len(rest) > 1 and _vectors_like(rest[0]):
        # `similar V --n 2 1`: argparse gave V to ITEM_ID, and the id after the option
        # joined it there (Parser.take_trailing)
        args.vectors = rest.pop(0)
    if args.vectors is None:
        if len(rest) == 1 and _vectors_like(rest[0]):  # argparse gave the file to ITEM_ID
            raise VisrecError(f"no item id after the vectors file: {usage}")
        what = "the vectors file (from visrec embed)" + (" and the item ids" if more else "")
        raise VisrecError(f"give {what}: {usage}")


def _vectors_like(arg: str) -> bool:
    """A positional that names an existing ``.parquet`` file: a vectors file, not an id."""
    return arg.endswith(".parquet") and os.path.isfile(arg)


def add_layout_args(
    parser: argparse.ArgumentParser,
    rating_use: str = "read with --min-rating",
    time_use: str = "read by --protocol time",
) -> None:
    """``--sep`` and ``--user-col/--item-col/--rating-col/--time-col``: the layout of an
    interactions file whose header the aliases do not cover (``sku``, ``ordered_at``
    are; a shop's own names may not be). Read by :func:`layout_args`. ``rating_use`` /
    ``time_use`` say when this command reads those two columns."""
    # argparse wraps a group's description, not its title
    g = parser.add_argument_group(
        "interactions file layout",
        "By default the columns are found from the header: user_id, userId, customer_id, "
        "reviewerID, ...; item_id, movieId, asin, sku, ...",
    )
    g.add_argument("--sep", metavar="SEP", help="field separator (default: sniffed; '\\t' for tab)")
    for kind, what in (
        ("user", "the user ids"),
        ("item", "the item ids"),
        ("rating", f"the rating ({rating_use})"),
        ("time", f"the time ({time_use})"),
    ):
        g.add_argument(f"--{kind}-col", metavar="NAME", help=f"the column holding {what}")


def layout_args(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`load_interactions_frame` from ``add_layout_args``'s
    options (none when the command has none)."""
    sep = getattr(args, "sep", None)
    return {
        "sep": {"\\t": "\t", "tab": "\t"}.get(sep, sep) if sep is not None else None,
        "user_col": getattr(args, "user_col", None),
        "item_col": getattr(args, "item_col", None),
        "rating_col": getattr(args, "rating_col", None),
        "timestamp_col": getattr(args, "time_col", None),
    }


def load_interactions_frame(
    path: str | Path,
    *,
    ids_only: bool = False,
    keep_rating: bool = False,
    keep_time: bool = False,
    log: Callable[[str], None] | None = None,
    sep: str | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    timestamp_col: str | None = None,
    time_use: str = "this command does not use the time",
    time_optional: bool = False,
    review_digest: bool = False,
    peek_rating: bool = False,
) -> pd.DataFrame:
    """An interactions file as a frame with canonical columns, reporting what was dropped.

    Any layout :func:`visrec.data.tables.load_interactions` reads (CSV/TSV/Parquet with a
    header, MovieLens ``u.data``, a dataset folder, Amazon review files, which add
    ``review_id``).

    Parameters
    ----------
    path : str or Path
    ids_only : bool, default False
        Read only the user and item ids, plus what ``keep_rating``/``keep_time`` ask
        for (implicit feedback: every row is a positive, so a blank or malformed field
        that is not needed must not drop it).
    keep_rating : bool, default False
        With ``ids_only``, read the rating too (``--min-rating``, :func:`split_min_rating`,
        needs it). A row without a usable rating is then skipped and reported.
    keep_time : bool, default False
        With ``ids_only``, read the timestamp too (a split by time needs it; a row
        without one is still skipped and reported).
    log : callable, optional
        Receives the report lines: records skipped by the loader (counts per kind and
        the first few as ``file:line: reason``) and the header columns not read.
        Default :func:`say_note` (stderr: lines about the input, never the results on
        stdout).
    time_optional : bool, default False
        A full load whose time only breaks ties (which of repeated ratings of a pair is
        kept): when some rows' time is unusable, the file is read again without the
        time, so those rows are kept (of repeated pairs the last row wins), with a note.
    sep, user_col, item_col, rating_col, timestamp_col : str, optional
        The file's layout (``--sep``, ``--user-col``, ...); a rating or time column
        that this load does not read is noted and left alone.
    time_use : str, default "this command does not use the time"
        Ends the note on an unread time column: when the command reads the time.
    review_digest : bool, default False
        Amazon review files get their ``review_digest`` and ``review_has_text`` columns
        (:func:`visrec.data.variants.variant_copy_note` reads them).
    peek_rating : bool, default False
        With ``ids_only`` (and no ``keep_rating``), the rating column is read too when
        there is one, for a note only (:func:`low_ratings_note`): the rows are those of
        the load without it (when a row's rating is unusable, the frame has no
        ``rating`` column; Amazon review files are read again without the rating).

    Returns
    -------
    DataFrame
        ``user_id``, ``item_id`` (str) and, when present, ``rating``, ``timestamp``, ...

    Raises
    ------
    VisrecError
        The file does not exist, or no usable row is left.
    """
    from visrec.data.interactions import RATING
    from visrec.data.tables import load_interactions, unread_interaction_files

    log = say_note if log is None else log
    check_input_exists(path, "interactions file")
    named = {c for c in (rating_col, timestamp_col) if c is not None}  # said below
    unused: dict[str, str] = {}  # option -> column named but not read: still checked
    if ids_only and rating_col is not None and not keep_rating:
        log(f"note: --rating-col {rating_col} is not read here (only with --min-rating)")
        unused["--rating-col"], rating_col = rating_col, None
    if ids_only and timestamp_col is not None and not keep_time:
        log(f"note: --time-col {timestamp_col} is not read here ({time_use})")
        unused["--time-col"], timestamp_col = timestamp_col, None
    peek = peek_rating and ids_only and not keep_rating and rating_col is None
    loaded = load_interactions(
        path,
        ids_only=ids_only,
        keep_rating=keep_rating or peek,
        keep_time=keep_time,
        sep=sep,
        user_col=user_col,
        item_col=item_col,
        rating_col=rating_col,
        timestamp_col=timestamp_col,
        review_digest=review_digest,
        peek_rating=peek,
    )
    if peek and RATING in loaded.frame.columns and loaded.frame[RATING].isna().any():
        # a kept row's rating is unusable (read as NaN, the row kept: the rows are
        # those of the load without the rating): no note, and no rating column
        loaded.frame = loaded.frame.drop(columns=RATING)
    if peek and any("rating" in b.kind for b in loaded.bad):
        # Amazon review files drop a row for its rating even so: read as if there
        # were no rating (a load reading fewer columns drops no row that one reading
        # more keeps; a row dropped for its id is dropped either way)
        loaded = load_interactions(
            path,
            ids_only=True,
            keep_time=keep_time,
            sep=sep,
            user_col=user_col,
            item_col=item_col,
            timestamp_col=timestamp_col,
            review_digest=review_digest,
        )
    # a table's unreadable time, an Amazon review's missing one
    n_bad_time = sum(b.kind in ("bad timestamp", "missing time") for b in loaded.bad)
    if time_optional and not ids_only and n_bad_time:
        log(
            f"note: {path}: {counted(n_bad_time, 'row')} {agree(n_bad_time, 'has', 'have')} "
            "no usable time, which only picks the latest of repeated ratings of a pair: the "
            f"time is not read, so {agree(n_bad_time, 'it is', 'they are')} kept (of repeated "
            "ratings of a pair, the last row wins)"
        )
        loaded = load_interactions(
            path,
            ids_only=True,
            keep_rating=True,
            sep=sep,
            user_col=user_col,
            item_col=item_col,
            rating_col=rating_col,
            review_digest=review_digest,
        )
    from visrec.data.column_names import column_key

    for option, col in unused.items():
        # a typo, as where it is read: matched as names are there ('TIMESTAMP' is one)
        if loaded.columns and column_key(col) not in {column_key(c) for c in loaded.columns}:
            raise VisrecError(
                f"{path}: no column {col!r} ({option}; columns: {', '.join(loaded.columns)})"
            )
    for line in loaded.report_lines(path, BAD_LINES_SHOWN):
        log(line)
    unread = unread_interaction_files(path)
    if unread:  # a folder holding two tables: which one was read is no silent guess
        log(
            f"note: {path}: read {', '.join(loaded.files[:1])}; not read: "
            f"{', '.join(f.name for f in unread)} (give a file instead of the folder)"
        )
    cols = [c for c in loaded.unread_columns if c not in named]
    if cols:
        # a quantity or a date under a name the aliases miss: said, not silently lost
        names = ", ".join(repr(c) for c in cols[:5]) + (
            f" and {len(cols) - 5:,} more" if len(cols) > 5 else ""
        )
        why = (
            ": every row is one interaction; a rating or time column under another name "
            "is named with --rating-col / --time-col (or renamed to rating / timestamp)"
            if ids_only and not keep_rating
            else ""
        )
        log(f"note: {path}: {agree(len(cols), 'column', 'columns')} {names} not read{why}")
    frame = loaded.frame
    if len(frame) == 0:
        n_bad = loaded.n_bad
        all_skipped = agree(n_bad, "the only record was", f"all {n_bad:,} records were")
        why = f" ({all_skipped} skipped)" if n_bad else ""
        if not loaded.n_read and loaded.columns:  # said, not left to guess at
            why = f" (no rows, only the column names: {names_text(loaded.columns)})"
        raise VisrecError(f"{path}: no usable interactions{why}")
    note_id_spellings(frame, str(path))
    frame.attrs[SKIPPED] = loaded.bad_by_kind()
    return frame


#: ``frame.attrs`` key of :func:`load_interactions_frame`'s frame: the records the
#: loader skipped, by kind, for the results a command writes (said on stderr too)
SKIPPED = "visrec_skipped"


def skipped_records(frame: pd.DataFrame) -> dict[str, int]:
    """The records skipped reading ``frame`` (``{"missing rating": 14, ...}``), by kind."""
    return {str(k): int(n) for k, n in frame.attrs.get(SKIPPED, {}).items()}


def no_rating_column(path: str | Path, who: str) -> VisrecError:
    """The one error for interactions without a rating column that ``who`` needs (the
    commands worded it three ways, and only one of them named --rating-col)."""
    return VisrecError(
        f"{path}: no rating column, which {who} needs; a rating column of another name "
        "is read with --rating-col NAME"
    )


@contextmanager
def interactions_named(path: str | Path) -> Iterator[None]:
    """A :class:`~visrec.errors.TooLittleDataError` raised inside (too few ratings, no
    test user) names the interactions file, as the command's other errors do: the
    library function that raises it has the table, not the file."""
    try:
        yield
    except TooLittleDataError as exc:
        raise TooLittleDataError(f"{path}: {exc}") from None


def split_min_rating(
    frame: pd.DataFrame, min_rating: float, path: str | Path, log: Callable[[str], None]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(rows with rating >= min_rating, the rows below)``, the counts logged; an error
    when there is no rating column or no row is kept."""
    if "rating" not in frame.columns:
        raise no_rating_column(path, "--min-rating")
    keep = (frame["rating"] >= min_rating).to_numpy()
    # a user who rated nothing at or above it is gone from the data: said, as no list
    # for them (recommend) or no test rows (evaluate) would otherwise be unexplained
    import pandas as pd

    from visrec.data.id_spelling import shown_ids
    from visrec.data.interactions import USER

    users = frame[USER] if USER in frame.columns else None
    left = ""
    if users is not None and not keep.all():
        gone = pd.Index(users[~keep].unique()).difference(users[keep].unique(), sort=False)
        if len(gone):
            n = len(gone)
            left = (
                f"; {counted(n, 'user')} {agree(n, 'has', 'have')} no row left and "
                f"{agree(n, 'is', 'are')} left out ({agree(n, '', 'e.g. ')}{shown_ids(gone)})"
            )
    log(
        f"--min-rating {min_rating:g}: kept {int(keep.sum()):,} of {len(frame):,} rows "
        f"({int((~keep).sum()):,} below the threshold dropped{left})"
    )
    if not keep.any():
        raise VisrecError(f"{path}: no interactions with rating >= {min_rating:g}")
    return frame[keep].reset_index(drop=True), frame[~keep].reset_index(drop=True)


def low_ratings_note(ratings: pd.Series) -> str | None:
    """What ``train`` says when it learns from every row of a file whose ratings include
    low ones: on a star scale (ratings from 0 to a top of 5 or 10, half stars too),
    the rows rated at or below 40% of the top (2 of 5, 4 of 10) are counted, as every
    row is a positive all the same. None for another scale (what is low there is not
    known) or no such row."""
    import numpy as np

    values = ratings.to_numpy(dtype=np.float64)
    if not len(values) or np.isnan(values).any():
        return None
    top = float(values.max())
    if values.min() < 0 or top not in (5.0, 10.0):
        return None
    cut = 0.4 * top
    n = int((values <= cut).sum())
    if not n:
        return None
    return (
        f"note: {counted(n, 'row')} {agree(n, 'is', 'are')} rated {cut:g} or lower; every "
        "row counts as a positive (use --min-rating R to keep only rows rated R or more)"
    )


def note_id_spellings(frame: pd.DataFrame, source: str) -> None:
    """Say on stderr when ``source`` spells one whole number in two ways (``7`` and
    ``007``: two items, as written), writes an id two ways that print alike (Unicode
    forms, a zero-width character, a dash that looks like '-'), or has ids that other
    tools read as missing (``NA``: kept as an id, but ``pandas.read_csv`` of the
    recommendations makes it NaN)."""
    from visrec.data.id_spelling import id_notes

    for line in id_notes(frame):
        print(f"note: {source}: {line}", file=sys.stderr)


def name_ids(ids: np.ndarray | Sequence[object], source: str | None, limit: int = 5) -> str:
    """``" (FILE: 'a', 'b', ... and N more)"``: the first ``limit`` ids, for a note."""
    from visrec.data.id_spelling import shown_ids

    listed = shown_ids(ids, limit)
    more = f" and {len(ids) - limit:,} more" if len(ids) > limit else ""
    return f" ({source}: {listed}{more})" if source else f" ({listed}{more})"


def scan_photos(
    images: str | None,
    report: str | None,
    outputs: Mapping[str, str | os.PathLike[str] | None],
) -> dict[str, Path] | None:
    """``--images DIR`` of a command's ``--report``: item id -> photo, read before any
    work (two photos of one id are an error now, not after the work); an output that
    would replace one of the photos is refused. None without ``--images``. The folder's
    subfolders are read too (photos by category), and a manifest CSV (as for ``visrec
    embed --manifest``) is taken instead of a folder; its URLs are left out."""
    if images is None:
        return None
    if report is None:
        raise VisrecError("--images is for the report's photos: give --report HTML too")
    from visrec.data.images_index import is_web_url, load_manifest, scan_images

    if os.path.isfile(images) and images.lower().endswith((".csv", ".tsv")):
        listed = load_manifest(images)
        files = {i: Path(p) for i, p in listed.items() if not is_web_url(p)}
    elif os.path.isdir(images):
        files = scan_images(images, recursive=True).images
        files = _fetch_cache_photos(images, files)
    else:
        raise VisrecError(f"--images: {images!r} is not a folder (or a manifest .csv/.tsv)")
    check_outputs_distinct(outputs, {f"--images photo {p.name}": p for p in files.values()})
    return files


def _fetch_cache_photos(folder: str, files: dict[str, Path]) -> dict[str, Path]:
    """A `visrec fetch` cache names its files by the URL's hash, never by item id: with
    its ``manifest.csv`` inside, the photos are found through that (as ``visrec embed``
    asks for), not shown as grey tiles for want of an ``<item_id>.<ext>`` file."""
    from visrec.data.images_index import is_web_url, load_manifest
    from visrec.images.fetch import CACHE_NAME

    manifest = Path(folder) / "manifest.csv"
    hashed = sum(1 for i in files if CACHE_NAME.fullmatch(i))
    if not files or hashed <= len(files) // 2:
        return files
    if not manifest.is_file():  # fetch -o wrote it elsewhere: the ids are in that file
        say_note(
            f"note: {folder} looks like a visrec fetch cache: {hashed:,} of {len(files):,} "
            "files are named by a 64-hex hash, not by item id, and it holds no manifest.csv; "
            "give --images the manifest that visrec fetch -o wrote (--images MANIFEST.csv)"
        )
        return files
    say_note(f"note: {folder} is a visrec fetch cache: its photos are found through {manifest}")
    listed = load_manifest(manifest)
    return {i: Path(p) for i, p in listed.items() if not is_web_url(p)}


def with_run(payload: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``payload`` plus a ``run`` block: the visrec version, the time (UTC), the command
    line and its folder, so a --json result kept for months says how to make it again.
    Made once per command (kept on ``args``): its JSON and HTML report give one time."""
    import datetime
    import shlex

    from visrec import __version__

    made = getattr(args, "run_block_", None)
    if made is not None:
        return {**payload, "run": dict(made)}
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    run: dict[str, Any] = {"visrec": __version__, "created": now}
    argv = getattr(args, "argv_", None)  # set by visrec.cli; absent when a test builds args
    if argv is not None:
        run["command"] = shlex.join(["visrec", *argv])
        try:
            run["cwd"] = os.getcwd()  # where its relative paths point
        except OSError:  # the folder was removed while the command ran: not worth a failure
            run["cwd"] = None
    args.run_block_ = run
    return {**payload, "run": dict(run)}


def run_rows(args: argparse.Namespace) -> dict[str, str]:
    """A report's rows on how it was made (the command, when, which visrec), as the
    evaluation report shows them from its JSON (the same run block as the JSON's)."""
    from visrec.report.evaluation import run_rows as rows_of

    return rows_of(with_run({}, args))


#: what to do with vectors of Amazon review photos where item vectors are wanted
REVIEW_PHOTO_ADVICE = (
    "; the vectors are one per review photo (<asin>_<reviewerID>_<time>, as visrec fetch "
    "names a review file's photos): one per item comes from the category's meta file "
    "(visrec fetch meta_<Category>.json.gz), and knn-rating --key-col review_id reads "
    "review photos"
)


def _keyed_by_review(ids: Any, vector_ids: Any) -> bool:
    """Whether most of (a sample of) the vectors' ids are ``<one of ids>_<more>``, as
    ``visrec fetch`` names the photos of a review file."""
    sample = [str(v) for v in itertools.islice(vector_ids, 200)]
    items = {str(i) for i in ids}
    hits = sum(1 for v in sample if "_" in v and v.split("_", 1)[0] in items)
    return bool(sample) and hits * 2 > len(sample)


def check_vectors_match(
    vectors: Any,
    item_ids: Any,
    vpath: str,
    ipath: str,
    noun: str = "items",
    respelt_note: bool = True,
    review_photo_advice: str = REVIEW_PHOTO_ADVICE,
    quiet: bool = False,
) -> str | None:
    """Refuse a vectors file that has no image vector for any of ``item_ids`` (the ids
    of the interactions file ``ipath``): a file of another dataset, or ids spelt
    differently (``7`` vs ``007``). Every image model would run on nothing, and the
    error came late, from deep inside, or not at all. ``vectors`` is an ``ItemVectors``.

    When only some lack a vector and the file holds them under another spelling of the
    same whole number (``'007'`` as ``'7'``), a note on stderr says so (``respelt_note``;
    ``visrec train`` says it in its own note): they count as items without a picture,
    which is no photo gap. Returns that note (for a results file), None without one;
    ``quiet``: returned only, for a caller that prints it among its own notes.
    """
    import numpy as np

    from visrec.data.id_spelling import respelt, respelt_hint

    ids = np.asarray(list(dict.fromkeys(str(i) for i in item_ids)), dtype=object)
    has = vectors.has_image_for(ids)  # not align: an (n, d) copy of a large catalogue
    note = None
    if has.any() and not has.all() and respelt_note:
        # only spellings that have an image: respelling to one without would not help
        hint = respelt_hint(respelt(ids[~has], vectors.ids[vectors.has_image], ids), "it")
        if hint:
            n = int((~has).sum())
            note = (
                f"{vpath}: {n:,} of the {len(ids):,} {noun} of {ipath} "
                f"{agree(n, 'has', 'have')} no image vector{hint}, and they count as "
                "items without a picture"
            )
            if not quiet:
                print(f"note: {note}", file=sys.stderr)
    if has.any() or not len(ids):
        return note
    known = set(vectors.ids)
    in_file = np.array([i in known for i in ids], dtype=bool)
    if in_file.all():
        raise VisrecError(
            f"{vpath}: {none_of(len(ids), noun, *HAS_VECTOR)} (each has "
            "has_image false or a vector of zeros: no picture)"
        )
    if in_file.any():  # the rest absent: most likely spelt otherwise, said as such
        n_in = int(in_file.sum())
        absent = ids[~in_file]
        raise VisrecError(
            f"{vpath}: {none_of(len(ids), noun, *HAS_VECTOR)}: {n_in:,} "
            f"{agree(n_in, 'is', 'are')} in it without a picture (has_image false or "
            f"a vector of zeros) and {len(absent):,} {agree(len(absent), 'is', 'are')} "
            f"not in it ({ipath}{name_ids(absent, None, 3)}, "
            f"{vpath}{name_ids(vectors.ids, None, 3)})"
            + respelt_hint(respelt(absent, vectors.ids), "it")
        )
    raise VisrecError(
        f"{vpath}: {none_of(len(ids), noun, 'is in it', 'is not in it')}; item ids must be "
        f"spelt the same in both files ({ipath}{name_ids(ids, None, 3)}, "
        f"{vpath}{name_ids(vectors.ids, None, 3)})"
        + respelt_hint(respelt(ids, vectors.ids), "it")
        + (review_photo_advice if _keyed_by_review(ids, vectors.ids) else "")
    )
