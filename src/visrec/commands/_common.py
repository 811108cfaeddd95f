"""Plumbing shared by several commands (not a command itself: ``visrec.cli`` lists
the command modules by name).

- arguments: the ``--interactions`` / ``--min-rating`` options, VECTORS given first or
  as ``--vectors``;
- input: loading an interactions file with a report of what was skipped, id spellings,
  vectors that belong to another data set, photo folders;
- parameters: ``KEY=VALUE`` overrides, their names, a model's ``device``;
- outputs: output paths checked before any work (distinct, not an input, not stdout),
  "wrote ..." lines;
- streams: results and "wrote" lines on stdout, every other line on stderr
  (:func:`say_note`); a closed pipe (``visrec ... | head``) ends a command quietly,
  files written;
- naming ids in a note;
- the ``run`` block of a ``--json`` result: which visrec wrote it, when, from what
  command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from errno import EINVAL
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec._atomic import check_input_exists
from visrec.errors import VisrecError, os_error

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
    parser.add_argument("--interactions", required=True, metavar=metavar, help=help)


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
    parser.add_argument("--vectors", dest="vectors_opt", metavar="VECTORS", help=argparse.SUPPRESS)


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
    min_rating: float | None = None,
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
) -> pd.DataFrame:
    """An interactions file as a frame with canonical columns, reporting what was dropped.

    Any layout :func:`visrec.data.tables.load_interactions` reads (CSV/TSV/Parquet with a
    header, MovieLens ``u.data``, a dataset folder, Amazon review files, which add
    ``review_id``).

    Parameters
    ----------
    path : str or Path
    min_rating : float, optional
        Keep only rows with ``rating >= min_rating``; how many were kept is logged.
    ids_only : bool, default False
        Read only the user and item ids, plus what ``keep_rating``/``keep_time`` ask
        for (implicit feedback: every row is a positive, so a blank or malformed field
        that is not needed must not drop it).
    keep_rating : bool, default False
        With ``ids_only``, read the rating too; ``min_rating`` with ``ids_only`` needs
        it. A row without a usable rating is then skipped and reported.
    keep_time : bool, default False
        With ``ids_only``, read the timestamp too (a split by time needs it; a row
        without one is still skipped and reported).
    log : callable, optional
        Receives the report lines: records skipped by the loader (counts per kind and
        the first few as ``file:line: reason``), the header columns not read, and the
        ``--min-rating`` filter. Default :func:`say_note` (stderr: lines about the
        input, never the results on stdout).
    time_optional : bool, default False
        A full load whose time only breaks ties (which of repeated ratings of a pair is
        kept): when some rows' time is unusable, the file is read again without the
        time, so those rows are kept (of repeated pairs the last row wins), with a note.
    sep, user_col, item_col, rating_col, timestamp_col : str, optional
        The file's layout (``--sep``, ``--user-col``, ...); a rating or time column
        that this load does not read is noted and left alone (``time_use`` says when
        the command reads the time).

    Returns
    -------
    DataFrame
        ``user_id``, ``item_id`` (str) and, when present, ``rating``, ``timestamp``, ...

    Raises
    ------
    VisrecError
        The file does not exist, ``min_rating`` is given but there is no rating column,
        or no usable row is left.
    """
    from visrec.data.tables import load_interactions, unread_interaction_files

    log = say_note if log is None else log
    check_input_exists(path, "interactions file")
    if ids_only and min_rating is not None and not keep_rating:
        raise VisrecError(
            "--min-rating needs the rating column; with ids_only, read it with keep_rating"
        )
    named = {c for c in (rating_col, timestamp_col) if c is not None}  # said below
    if ids_only and rating_col is not None and not keep_rating:
        log(f"note: --rating-col {rating_col} is not read here (only with --min-rating)")
        rating_col = None
    if ids_only and timestamp_col is not None and not keep_time:
        log(f"note: --time-col {timestamp_col} is not read here ({time_use})")
        timestamp_col = None
    loaded = load_interactions(
        path,
        ids_only=ids_only,
        keep_rating=keep_rating,
        keep_time=keep_time,
        sep=sep,
        user_col=user_col,
        item_col=item_col,
        rating_col=rating_col,
        timestamp_col=timestamp_col,
    )
    n_bad_time = sum(b.kind == "bad timestamp" for b in loaded.bad)
    if time_optional and not ids_only and n_bad_time:
        log(
            f"note: {path}: {n_bad_time:,} row(s) have no usable time, which only picks "
            "the latest of repeated ratings of a pair: the time is not read, so they are "
            "kept (of repeated ratings of a pair, the last row wins)"
        )
        loaded = load_interactions(
            path,
            ids_only=True,
            keep_rating=True,
            sep=sep,
            user_col=user_col,
            item_col=item_col,
            rating_col=rating_col,
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
        log(f"note: {path}: column(s) {names} not read{why}")
    frame = loaded.frame
    if len(frame) == 0:
        why = f" (all {loaded.n_bad:,} record(s) were skipped)" if loaded.n_bad else ""
        raise VisrecError(f"{path}: no usable interactions{why}")
    note_id_spellings(frame, str(path))
    if min_rating is not None:
        frame, _ = split_min_rating(frame, min_rating, path, log)
    frame.attrs[SKIPPED] = loaded.bad_by_kind()
    return frame


#: ``frame.attrs`` key of :func:`load_interactions_frame`'s frame: the records the
#: loader skipped, by kind, for the results a command writes (said on stderr too)
SKIPPED = "visrec_skipped"


def say_note(line: str) -> None:
    """Print a line about the input or the run on stderr (the streams' rule: stdout
    holds a command's results and "wrote" lines, stderr every note, skipped-record
    report, "left out" count, progress line and time), so ``> results.txt`` and
    ``| head`` see results only."""
    print(line, file=sys.stderr, flush=True)


def skipped_records(frame: pd.DataFrame) -> dict[str, int]:
    """The records skipped reading ``frame`` (``{"missing rating": 14, ...}``), by kind."""
    return {str(k): int(n) for k, n in frame.attrs.get(SKIPPED, {}).items()}


def split_min_rating(
    frame: pd.DataFrame, min_rating: float, path: str | Path, log: Callable[[str], None]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(rows with rating >= min_rating, the rows below)``, the counts logged; an error
    when there is no rating column or no row is kept."""
    if "rating" not in frame.columns:
        raise VisrecError(f"--min-rating given but {path} has no rating column")
    keep = (frame["rating"] >= min_rating).to_numpy()
    log(
        f"--min-rating {min_rating:g}: kept {int(keep.sum()):,} of {len(frame):,} rows "
        f"({int((~keep).sum()):,} below the threshold dropped)"
    )
    if not keep.any():
        raise VisrecError(f"{path}: no interactions with rating >= {min_rating:g}")
    return frame[keep].reset_index(drop=True), frame[~keep].reset_index(drop=True)


def note_id_spellings(frame: pd.DataFrame, source: str) -> None:
    """Say on stderr when ``source`` spells one whole number in two ways (``7`` and
    ``007``: two items, as written), writes an id in two Unicode forms that print alike,
    or has ids that other tools read as missing (``NA``: kept as an id, but
    ``pandas.read_csv`` of the recommendations makes it NaN)."""
    from visrec.data.id_spelling import id_notes

    for line in id_notes(frame):
        print(f"note: {source}: {line}", file=sys.stderr)


def check_output_file(path: str | os.PathLike[str] | None, option: str) -> None:
    """Fail at startup, before any work, when an output-file option cannot be written
    (it names a folder, a file is in the way of its folders, or its folder cannot be
    made or written to); ``None`` passes.

    Writers check again (``visrec._atomic.atomic_path``), but only once the result
    exists: a command calls this first so a long run is not lost to a typo. The folder
    is tried for real (``visrec._atomic.probe_writable``).

    Raises
    ------
    VisrecError
        ``"--json: output path 'out' is a directory; name a file"``, ``"--json: cannot
        write 'a/b.json' (Permission denied)"``.
    """
    from visrec._atomic import check_output_path, probe_writable

    if path is None:
        return
    try:
        target = check_output_path(path)
    except VisrecError as exc:
        raise VisrecError(f"{option}: {exc}") from exc
    try:
        probe_writable(target)
    except OSError as exc:
        raise os_error(
            f"{option}: cannot write {str(path)!r} ({exc.strerror or exc})", exc
        ) from exc


def parse_param(
    item: str, *, option: str = "--param", expected: str = "KEY=VALUE"
) -> tuple[str, Any]:
    """``"factors=32"`` -> ``("factors", 32)``.

    The value is parsed as JSON (numbers, ``true``, lists, quoted strings), or as a
    number JSON has no spelling for (``.01``, ``8.``, ``+3``); any other value is taken
    as a string, so ``device=cpu`` works unquoted.
    ``expected`` is the form named in the error for a missing ``=`` or an empty key.
    """
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise VisrecError(f"{option} {item!r}: expected {expected}")
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON: the text itself
        value = raw
        # numbers JSON has no spelling for: lr=.01, factors=8., +3 (ASCII digits only, as
        # the table loaders take them; a few dozen at most: int() refuses 4,300)
        number = r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"
        if len(raw) <= 64 and re.fullmatch(number, raw):
            value = float(raw) if re.search(r"[.eE]", raw) else int(raw)
    return key, value


def parse_params(items: Sequence[str], *, option: str = "--param") -> dict[str, Any]:
    """``["factors=32", "device=cpu"]`` -> ``{"factors": 32, "device": "cpu"}``
    (see :func:`parse_param`; a repeated key keeps its last value, with a note)."""
    out: dict[str, Any] = {}
    for item in items:
        key, value = parse_param(item, option=option)
        _set_once(out, key, value, f"{option} {key}")
    return out


def _set_once(out: dict[str, Any], key: str, value: Any, what: str) -> None:
    """``out[key] = value``; a second, different value wins, as a later option
    overrides an earlier one (a script's defaults, then the user's), with a note."""
    if key in out and out[key] != value:
        print(
            f"note: {what} is given twice ({json.dumps(out[key])}, then "
            f"{json.dumps(value)}): the last, {json.dumps(value)}, is used",
            file=sys.stderr,
        )
    out[key] = value


def parse_model_params(
    items: Sequence[str], models: Sequence[str], *, option: str = "--param"
) -> dict[str, dict[str, Any]]:
    """``["vbpr.epochs=30"]`` -> ``{"vbpr": {"epochs": 30}}``, values as in
    :func:`parse_param`; the model must be one of ``models``."""
    expected = "MODEL.NAME=VALUE, e.g. bpr.epochs=20"
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, value = parse_param(item, option=option, expected=expected)
        model, dot, name = key.rpartition(".")  # a variant label may hold a dot (bpr@0.1)
        if not dot or not model or not name:
            raise VisrecError(f"{option} {item!r}: expected {expected}")
        if model not in models:
            raise VisrecError(
                f"{option} {item!r}: model {model!r} is not in --models ({', '.join(models)})"
            )
        _set_once(out.setdefault(model, {}), name, value, f"{option} {key}")
    return out


def name_ids(ids: np.ndarray | Sequence[object], source: str | None, limit: int = 5) -> str:
    """``" (FILE: 'a', 'b', ... and N more)"``: the first ``limit`` ids, for a note."""
    from visrec.data.id_spelling import shown_ids

    listed = shown_ids(ids, limit)
    more = f" and {len(ids) - limit:,} more" if len(ids) > limit else ""
    return f" ({source}: {listed}{more})" if source else f" ({listed}{more})"


def check_model_device(model: Any, label: str | None = None) -> None:
    """The model's ``device`` hyperparameter as its fit would resolve it
    (``visrec.models._train.fit_device`` is ``torch_device``): an unknown string, or
    CUDA where torch sees no GPU, is an error before any file is read, not at the fit.
    ``"auto"`` and ``"cpu"`` need no probe (and no torch import). Not part of
    ``check_params``: a model trained on a GPU must still load on a CPU machine."""
    from visrec._device import parse_device, torch_device

    device = model.get_params().get("device")
    if device is None:
        return
    try:
        if parse_device(device)[0] == "cuda":
            torch_device(device)
    except VisrecError as exc:
        raise VisrecError(f"model {label or model.name!r}: {exc}") from exc


def check_outputs_distinct(
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Mapping[str, str | os.PathLike[str] | None]
    | Iterable[tuple[str, str | os.PathLike[str] | None]],
) -> None:
    """Refuse, before any work, an output option that names one of the command's input
    files (through a symlink or hard link too) or the same file as another output: the
    write would replace the user's data (hours of embedding, the only copy of a table).

    ``outputs`` maps option names (``"--report"``) to paths, ``inputs`` names
    (``"--interactions"``, ``"source"``) to paths, as a mapping or as pairs when one name
    stands for several files; None entries are ignored. An input that is a folder (of
    review files) stands for its own data files too, those an output could be:
    ``--json`` naming ``DIR/All_Beauty_5.json.gz`` would replace one (the loaders read a
    folder's own files, not its subfolders'); an earlier run's ``DIR/recs.csv`` is not
    one. Each path is resolved once (a folder of photos can be thousands of inputs).
    """
    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
    known: list[tuple[str, Path, bool]] = []  # (name, path, is an input)
    for name, p in pairs:
        if p is None:
            continue
        path = Path(p).expanduser()
        known.append((name, path, True))
        if path.is_dir():
            with contextlib.suppress(OSError):  # unreadable: its loader will say so
                known += [(name, f, True) for f in folder_inputs(path, outputs)]
                _refuse_shadowing(outputs, name, path)
    by_path = {_real(path): (name, path, is_input) for name, path, is_input in known}
    by_inode: dict[tuple[int, int], tuple[str, Path, bool]] | None = None
    for option, out in outputs.items():
        if out is None:
            continue
        target = Path(out).expanduser()
        hit = by_path.get(_real(target))
        if hit is None and target.exists():  # a hard link resolves elsewhere
            if by_inode is None:
                by_inode = {}
                for entry in by_path.values():
                    try:
                        st = entry[1].stat()
                    except OSError:
                        continue
                    by_inode[(st.st_dev, st.st_ino)] = entry
            st = target.stat()
            hit = by_inode.get((st.st_dev, st.st_ino))
        if hit is not None:
            name, path, is_input = hit
            if not is_input:
                raise VisrecError(f"{option} and {name} name the same file {str(out)!r}")
            where = "" if str(path) == str(target) else f" {str(path)!r}"
            raise VisrecError(
                f"{option}: {str(out)!r} is the {name} file{where}; writing it would replace "
                "it. Name another output file"
            )
        entry = (option, target, False)
        by_path[_real(target)] = entry
        if by_inode is not None and target.exists():
            st = target.stat()
            by_inode[(st.st_dev, st.st_ino)] = entry


def _real(path: Path) -> str:
    """``path`` with its links followed (not ``Path.resolve``: before 3.13 a symlink
    loop raises there, so the check would stop before the one naming the loop)."""
    return os.path.realpath(path)


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
    from visrec.data.images_index import load_manifest, scan_images

    if os.path.isfile(images) and images.lower().endswith((".csv", ".tsv")):
        listed = load_manifest(images)
        files = {i: Path(p) for i, p in listed.items() if not p.startswith(("http:", "https:"))}
    elif os.path.isdir(images):
        files = scan_images(images, recursive=True).images
    else:
        raise VisrecError(f"--images: {images!r} is not a folder (or a manifest .csv/.tsv)")
    check_outputs_distinct(outputs, {f"--images photo {p.name}": p for p in files.values()})
    return files


def with_run(payload: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``payload`` plus a ``run`` block: the visrec version, the time (UTC), the command
    line and its folder, so a --json result kept for months says how to make it again."""
    import datetime
    import shlex

    from visrec import __version__

    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    run: dict[str, Any] = {"visrec": __version__, "created": now}
    argv = getattr(args, "argv_", None)  # set by visrec.cli; absent when a test builds args
    if argv is not None:
        run["command"] = shlex.join(["visrec", *argv])
        try:
            run["cwd"] = os.getcwd()  # where its relative paths point
        except OSError:  # the folder was removed while the command ran: not worth a failure
            run["cwd"] = None
    return {**payload, "run": run}


def say_written(*paths: str | os.PathLike[str] | None) -> None:
    """After a command's printed results, one ``wrote PATH`` line per output written."""
    written = [str(p) for p in paths if p]
    if written:
        print("\n" + "\n".join(f"wrote {p}" for p in written))


#: exit status after the reader of stdout went away (``visrec ... | head``): 128 + SIGPIPE,
#: what a shell reports for a writer the signal ended
CLOSED_STDOUT_STATUS = 141


class _StdoutGuard:
    """Stands in for ``sys.stdout``: after the reader has gone (``BrokenPipeError``),
    or stdout failed otherwise (a full disk: ``failed``), further output is dropped
    instead of stopping the command."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.broken = False
        self.failed: OSError | None = None

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self.stream.write(text))
            except OSError as exc:
                self._lost(exc)
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except OSError as exc:
                self._lost(exc)

    def _lost(self, exc: OSError) -> None:
        self.broken = True
        # Windows may say a pipe's reader left with EINVAL, not a BrokenPipeError
        gone = isinstance(exc, BrokenPipeError) or (os.name == "nt" and exc.errno == EINVAL)
        if not gone:
            self.failed = exc

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, ...
        return getattr(self.stream, name)


def closed_stdout_status(status: int = 0) -> int:
    """The exit status once stdout's reader has gone: ``status`` when the command failed
    on its own (1, 130: the more useful answer), else ``CLOSED_STDOUT_STATUS``. Points
    stdout's descriptor at devnull first: the interpreter's last flush of the unread
    lines would fail again, print ``Exception ignored ... BrokenPipeError`` and exit 120.
    """
    import contextlib
    import sys

    with contextlib.suppress(OSError, ValueError):  # no descriptor (a test's stand-in)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    return status or CLOSED_STDOUT_STATUS


def stdout_failed_status(exc: OSError, status: int = 0) -> int:
    """Stdout could not be written for another reason than its reader leaving (``>
    /dev/full``): one ``error:`` line, then :func:`closed_stdout_status` of ``status``
    or 1."""
    import sys

    print(f"error: cannot write to stdout ({exc.strerror or exc})", file=sys.stderr)
    return closed_stdout_status(status or 1)


def stdout_closed() -> bool:
    """In a command run under :func:`survives_closed_stdout`: has the reader of stdout
    gone, or stdout failed (the lines printed so far flushed first, so a buffered table
    counts)? For what must wait until the output was handed over (evaluate keeps its
    resume record). A table that fit into the pipe before the reader left (``| head -1``
    on a small one) counts as handed over: a pipe cannot tell. Always False outside
    such a command, where a closed stdout raises instead."""
    import sys

    out = sys.stdout
    if not isinstance(out, _StdoutGuard):
        return False
    out.flush()
    return out.broken


def survives_closed_stdout(run: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """The one way commands that print survive ``visrec ... | head``: the reader may
    leave after the first lines, and the command must still write its files
    (``--json``, ``--report``, ``-o``), whatever order it prints and writes in. Output
    after that is dropped, no traceback, and the exit status is
    :func:`closed_stdout_status` (141, or the command's own failure status). Any other
    failure to write stdout (``> /dev/full``) is one ``error:`` line and status 1.
    ``visrec.cli.main`` stays the safety net for output outside such a command."""
    import functools
    import sys

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        # a command run by another keeps the one guard; None: started with stdout
        # closed (`>&-`), where print() writes nothing and raises nothing
        if sys.stdout is None or isinstance(sys.stdout, _StdoutGuard):
            return run(args)
        guard = _StdoutGuard(sys.stdout)
        sys.stdout = guard
        try:
            code = run(args)
            guard.flush()  # a pipe closed while the last lines sat in the buffer
        finally:  # after an error, cli.main's last flush finds a closed pipe too
            sys.stdout = guard.stream
        if guard.failed is not None:  # e.g. `> /dev/full`: the command's files are made
            return stdout_failed_status(guard.failed, code)
        return closed_stdout_status(code) if guard.broken else code

    return guarded


def check_vectors_match(
    vectors: Any,
    item_ids: Any,
    vpath: str,
    ipath: str,
    noun: str = "items",
    respelt_note: bool = True,
) -> str | None:
    """Refuse a vectors file that has no image vector for any of ``item_ids`` (the ids
    of the interactions file ``ipath``): a file of another dataset, or ids spelt
    differently (``7`` vs ``007``). Every image model would run on nothing, and the
    error came late, from deep inside, or not at all. ``vectors`` is an ``ItemVectors``.

    When only some lack a vector and the file holds them under another spelling of the
    same whole number (``'007'`` as ``'7'``), a note on stderr says so (``respelt_note``;
    ``visrec train`` says it in its own note): they count as items without a picture,
    which is no photo gap. Returns that note (for a results file), None without one.
    """
    import numpy as np

    from visrec.data.id_spelling import respelt, respelt_hint

    ids = np.asarray(list(dict.fromkeys(str(i) for i in item_ids)), dtype=object)
    has = vectors.has_image_for(ids)  # not align: an (n, d) copy of a large catalogue
    note = None
    if has.any() and not has.all() and respelt_note:
        # only spellings that have an image: respelling to one without would not help
        hint = respelt_hint(respelt(ids[~has], vectors.ids[vectors.has_image]), "it")
        if hint:
            n = int((~has).sum())
            note = (
                f"{vpath}: {n:,} of the {len(ids):,} {noun} of {ipath} "
                f"{'has' if n == 1 else 'have'} no image vector{hint}, and they count as "
                "items without a picture"
            )
            print(f"note: {note}", file=sys.stderr)
    if has.any() or not len(ids):
        return note
    known = set(vectors.ids)
    if not any(i in known for i in ids):
        raise VisrecError(
            f"{vpath}: none of the {len(ids):,} {noun} is in it; item ids must be spelt the "
            f"same in both files ({ipath}{name_ids(ids, None, 3)}, "
            f"{vpath}{name_ids(vectors.ids, None, 3)})"
            + respelt_hint(respelt(ids, vectors.ids), "it")
        )
    raise VisrecError(
        f"{vpath}: none of the {len(ids):,} {noun} has an image vector (has_image is false "
        "for all of them)"
    )


def check_param_names(
    klass: Any, params: Mapping[str, Any], label: str, item_form: str = "{name}=VALUE"
) -> None:
    """Unknown hyperparameter names in ``params`` are one error listing the model's
    names (with the closest as a suggestion), instead of Python's ``__init__() got an
    unexpected keyword argument``. ``item_form`` says how a name is written on this
    command line (``train``: ``epochs=5``; ``evaluate``: ``bpr.epochs=5``)."""
    import difflib

    known = list(klass().get_params())
    for name in params:
        if name in known:
            continue
        base = name.rpartition(".")[2]  # `train --param bpr.epochs=5`: evaluate's form
        guess = [base] if base in known else difflib.get_close_matches(base, known, n=1)
        hint = f"; did you mean {item_form.format(name=guess[0])}?" if guess else ""
        listed = f"its hyperparameters: {', '.join(known)}" if known else "it has none"
        raise VisrecError(f"model {label!r} has no hyperparameter {name!r}{hint} ({listed})")


def folder_data(path: Path) -> bool:
    """Whether a loader given ``path``'s folder reads ``path``, or one like it: an
    interactions or item table by its name, an Amazon review or meta file, an image.
    An earlier run's output saved there (``recs.csv``, an ``evaluate --json`` result) is
    not one: a rerun may replace it."""
    from visrec.data.images_index import IMAGE_SUFFIXES
    from visrec.data.tables import is_json_file, is_review_file

    if _loader_reads(path.name) or path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    return is_review_file(path) or (path.name.startswith("meta_") and is_json_file(path))


def _loader_reads(name: str) -> bool:
    """Whether a loader given a folder looks for a file of this name in it."""
    from visrec.data.item_tables import ITEM_FILES
    from visrec.data.tables import INTERACTION_FILES

    return name in INTERACTION_FILES or name in ITEM_FILES


def folder_inputs(folder: Path, outputs: Mapping[str, str | os.PathLike[str] | None]) -> list[Path]:
    """The files of the input ``folder`` an output must not replace: its tables and
    Amazon files, all of them (an output that is a link to one, under any name, is
    caught by its target), and the images named like an output (a folder of photos can
    be thousands of them: only those are looked at)."""
    from visrec.data.images_index import IMAGE_SUFFIXES

    names = {Path(o).name for o in outputs.values() if o is not None}
    return [
        f
        for f in folder.iterdir()
        if (f.name in names if f.suffix.lower() in IMAGE_SUFFIXES else folder_data(f))
    ]


def _refuse_shadowing(
    outputs: Mapping[str, str | os.PathLike[str] | None], name: str, folder: Path
) -> None:
    """Refuse a new output (one not there yet) directly in the input ``folder`` under a
    name its loader looks for (``ratings.csv`` beside an ``interactions.csv``,
    ``u.item``): the next run on the folder would read it in place of the data."""
    for option, out in outputs.items():
        if out is None:
            continue
        target = Path(out).expanduser()
        if target.exists() or target.is_symlink():  # there: an input, refused as one
            continue
        if _loader_reads(target.name) and _real(target.parent) == _real(folder):
            raise VisrecError(
                f"{option}: {str(out)!r} is in the {name} folder under a name its loader "
                "reads, so the next run on that folder would read it in place of the data. "
                "Name another output file"
            )


def named_like_outputs(
    outputs: Mapping[str, str | os.PathLike[str] | None], paths: Iterable[Any]
) -> list[Path]:
    """The ``paths`` (of a folder of thousands of inputs) whose file name is that of one
    of ``outputs``: the only ones :func:`check_outputs_distinct` needs to resolve there,
    so a large folder is not stat-ed file by file (a hard link under another name is
    not caught this way)."""
    names = {Path(o).name for o in outputs.values() if o is not None}
    return [Path(p) for p in paths if names and Path(p).name in names]
