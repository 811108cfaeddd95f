"""Output paths checked before any work, so a long run is not lost or turned against
the user's data: each output can be written (:func:`check_output_file`), and no output
names an input, another output, or a file an input folder's loader reads
(:func:`check_outputs_distinct`).

:mod:`visrec.commands._common` re-exports the public names; the commands import them
from there. The leading underscore keeps this module out of
``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from visrec._output_names import check_output_suffix
from visrec.errors import VisrecError, write_error

_DEFAULT_WRITES = {"--json": "JSON", "--report": "HTML"}

#: the ``writes`` kinds held to more than their format, by that format (the one
#: :func:`check_output_suffix` names), and what :func:`refuse_foreign_output` says the
#: file is not
_KINDS = {
    "recommendations CSV": ("CSV", "a list of recommendations"),
    "vectors Parquet": ("Parquet", "a visrec vectors file"),
}


def _format(writes: str) -> str:
    """The file format of the ``writes`` kind: ``"CSV"`` for ``"recommendations CSV"``."""
    return _KINDS[writes][0] if writes in _KINDS else writes


def check_output_file(
    path: str | os.PathLike[str] | None, option: str, writes: str | None = None
) -> None:
    """Fail at startup, before any work, when an output-file option cannot be written
    (it names a folder, a file is in the way of its folders, or its folder cannot be
    made or written to), or its name says another format than ``writes`` (default: JSON
    for ``--json``, HTML for ``--report``; :func:`check_output_suffix`); ``None``
    passes.

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
    writes = writes or _DEFAULT_WRITES.get(option)
    # an existing file may be one of the command's inputs: check_outputs_distinct's
    # "writing it would replace it" is the message that matters then
    if writes is not None and str(path).strip() and not os.path.lexists(path):
        check_output_suffix(path, option, _format(writes))
    try:
        target = check_output_path(path)
    except VisrecError as exc:
        raise VisrecError(f"{option}: {exc}") from exc
    try:
        probe_writable(target)
    except OSError as exc:
        raise write_error(
            f"{option}: cannot write {str(path)!r} ({exc.strerror or exc})", exc
        ) from exc


def check_outputs_distinct(
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Mapping[str, str | os.PathLike[str] | None]
    | Iterable[tuple[str, str | os.PathLike[str] | None]],
    writes: Mapping[str, str] | None = None,
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

    An output already there that is no input is then held to the format written there
    (``writes`` by option, default JSON for ``--json`` and HTML for ``--report``), as
    :func:`check_output_file` holds a new one: ``report -o old.json`` would put HTML over
    an earlier JSON result; and a JSON, HTML, recommendations CSV or vectors Parquet
    output to its bytes (:func:`refuse_foreign_output`: ``--json u.data``).
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
    for option, out in outputs.items():
        fmt = (writes or {}).get(option) or _DEFAULT_WRITES.get(option)
        # a new output's name was checked by check_output_file; an existing one waited
        # for the check above, whose "would replace" is the message for an input
        if out is not None and fmt is not None and os.path.lexists(out) and str(out).strip():
            check_output_suffix(out, option, _format(fmt))
            refuse_foreign_output(out, option, fmt)


def refuse_foreign_output(path: str | os.PathLike[str], option: str, writes: str) -> None:
    """Refuse an existing output file whose bytes are not the ``writes`` kind at all
    (``--json u.data``, ``--report notes.txt``, ``recommend -o ratings.csv``): the name
    passed :func:`check_output_suffix`, but the write would replace someone's data.
    JSON, HTML, ``"recommendations CSV"`` (a header naming a rank or score column) and
    ``"vectors Parquet"`` (a Parquet file with visrec's metadata) are told apart; other
    kinds (plain ``"CSV"``, ``"Parquet"``) pass. An empty file (``touch``, ``mktemp``),
    a hard-linked one (its data stays under the other name), a pipe and an earlier
    result are replaced.

    Raises
    ------
    ReadError
        A ``"vectors Parquet"`` output the system would not let be read
        (:func:`visrec.embed.store.is_foreign_file`).
    """
    saved = _saved_model_file(path) if writes == "JSON" else None
    if saved is not None:  # JSON too, so _not_format lets it pass: the model would be lost
        raise VisrecError(
            f"{option}: {str(path)!r} is the {saved}; writing it would replace that model's file. "
            f"Name another {option}"
        )
    kind = _not_format(path, writes)
    if kind is None:
        return
    if writes in _KINDS:  # the commands' own wording, as it was before it moved here
        why = f" ({kind})" if kind else ""
        raise VisrecError(
            f"{option}: {os.fspath(path)} exists and is not {_KINDS[writes][1]}{why}; name "
            f"another {option}, or remove it first"
        )
    raise VisrecError(
        f"{option}: {str(path)!r} exists and is not {writes} ({kind}); name "
        f"another {option}, or remove it first"
    )


def _saved_model_file(path: str | os.PathLike[str]) -> str | None:
    """``"model.json file of the visrec model folder 'm'"`` when the existing ``path``
    (through a symlink) is the ``model.json`` or ``train.json`` of a saved model, else
    None: both are JSON, which a ``--json`` output may replace, and the model was
    unreadable after (``similar --json models/bpr/model.json``)."""
    from visrec.models.model_folder import MODEL_JSON, TRAIN_JSON, is_model_folder

    real = Path(os.path.realpath(path))
    if real.name not in (MODEL_JSON, TRAIN_JSON) or not real.is_file():
        return None
    if not is_model_folder(real.parent):
        return None
    folder = real.parent if os.path.islink(path) else Path(path).parent
    return f"{real.name} file of the visrec model folder {str(folder)!r}"


def has_other_links(path: str | os.PathLike[str]) -> bool:
    """Whether the file ``path`` (through a symlink) has other hard links: the atomic
    write replaces this name only, and its data stays under the others, so nothing is
    lost."""
    try:
        return os.stat(path).st_nlink > 1
    except OSError:
        return False


def _not_format(path: str | os.PathLike[str], writes: str) -> str | None:
    """What the existing regular file ``path`` looks like when it cannot be the
    ``writes`` kind (JSON: one document opening with ``{`` or ``[``; HTML: a ``<``;
    recommendations CSV: a first line naming a rank or score column; vectors Parquet:
    visrec's metadata; ``""`` when there is no more to say), else None (also for an
    empty or unreadable file: its writer says why)."""
    from visrec.data.images_index import IMAGE_SUFFIXES

    if writes not in ("JSON", "HTML", *_KINDS) or not os.path.isfile(path):
        return None  # a pipe is not opened: it would wait for a writer
    if has_other_links(path):
        return None
    if writes == "recommendations CSV":
        return _not_recommendations(path)
    if writes == "vectors Parquet":
        from visrec.embed.store import is_foreign_file

        return "" if os.path.getsize(path) and is_foreign_file(path) else None
    if {Path(path).suffix.lower(), Path(os.path.realpath(path)).suffix.lower()} & set(
        IMAGE_SUFFIXES
    ):
        # a photo the command reads (or a link to one) is found later (a folder listed,
        # --images), and said to be that input: "remove it first" would be wrong advice
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text:  # empty, or blank lines only
        return None
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
        return "it is an image"
    if b"\x00" in head[:512]:
        return "it is binary"
    if writes == "HTML":
        return None if text.startswith("<") else "it looks like text"
    if not text.startswith(("{", "[")):
        first = text.split("\n", 1)[0]
        return "it looks like a table" if "," in first or "\t" in first else "it looks like text"
    import json

    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except ValueError:  # a document longer than the head, or a damaged one: maybe ours
        return None
    if text[end:].strip():
        return "it holds several JSON documents, as JSON lines do"
    return None


def _not_recommendations(path: str | os.PathLike[str]) -> str | None:
    """Why the regular file ``path`` is not a list of recommendations (another dataset's
    ratings.csv, u.data), else None: an earlier run's list (or another tool's: a header
    naming a rank or score column), an empty or unreadable file."""
    import re

    from visrec._atomic import written_file
    from visrec.commands._recs_progress import HEADER

    try:
        with open(written_file(path), "rb") as fh:  # through a link: the file it names
            head = fh.read(1 << 12)
    except OSError:  # the write says why
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    first = text.split("\n", 1)[0].strip().lower()
    columns = {c.strip().strip('"') for c in re.split("[,\t;]", first)}
    if text and not columns & {"rank", "score"}:
        return f"its first line names no rank or score column, as {HEADER.strip()} does"
    return None


def _real(path: Path) -> str:
    """``path`` with its links followed (not ``Path.resolve``: before 3.13 a symlink
    loop raises there, so the check would stop before the one naming the loop)."""
    return os.path.realpath(path)


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
    """Whether a loader given a folder looks for a file of exactly this name in it."""
    return _loader_name(name) == name


def _loader_name(name: str) -> str | None:
    """The file name a loader given a folder looks for that ``name`` matches without
    case, or None."""
    from visrec.data.item_tables import ITEM_FILES
    from visrec.data.tables import INTERACTION_FILES

    folded = name.casefold()
    return next((n for n in (*INTERACTION_FILES, *ITEM_FILES) if n.casefold() == folded), None)


def folder_inputs(folder: Path, outputs: Mapping[str, str | os.PathLike[str] | None]) -> list[Path]:
    """The files of the input ``folder`` an output must not replace: its tables and
    Amazon files, all of them (an output that is a link to one, under any name, is
    caught by its target), and the images named like an output (a folder of photos can
    be thousands of them: only those are looked at)."""
    from visrec.data.images_index import IMAGE_SUFFIXES

    names = _output_names(outputs)
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
    ``u.item``): the next run on the folder would read it in place of the data.

    The name is compared without case: on a file system that ignores case (macOS's and
    Windows' defaults) a new ``Ratings.csv`` is the ``ratings.csv`` the loader opens, and
    a command refused there should not pass on Linux (nor the data folder break when
    copied to a Mac)."""
    for option, out in outputs.items():
        if out is None:
            continue
        target = Path(out).expanduser()
        if target.exists() or target.is_symlink():  # there: an input, refused as one
            continue
        read = _loader_name(target.name)
        if read is not None and _real(target.parent) == _real(folder):
            why = (
                "a name its loader reads"
                if read == target.name
                else f"a name its loader reads as {read!r} where case is ignored (macOS, Windows)"
            )
            raise VisrecError(
                f"{option}: {str(out)!r} is in the {name} folder under {why}, so the next "
                "run on that folder would read it in place of the data. Name another "
                "output file"
            )


def named_like_outputs(
    outputs: Mapping[str, str | os.PathLike[str] | None], paths: Iterable[Any]
) -> list[Path]:
    """The ``paths`` (of a folder of thousands of inputs) whose file name is that of one
    of ``outputs``: the only ones :func:`check_outputs_distinct` needs to resolve there,
    so a large folder is not stat-ed file by file. An output that is a symlink counts
    by its target's name too (``-o v.vec`` linking to ``imgs/12.jpg``: written through,
    the photo would be replaced); a hard link under another name is not caught this way,
    and needs not be: the write replaces the output's name, not the photo."""
    names = _output_names(outputs)
    return [Path(p) for p in paths if names and Path(p).name in names]


def _output_names(outputs: Mapping[str, str | os.PathLike[str] | None]) -> set[str]:
    """The file names of ``outputs``, and of what those that are symlinks point to (the
    atomic writers write through a link, replacing its target)."""
    names: set[str] = set()
    for o in outputs.values():
        if o is None:
            continue
        path = Path(o).expanduser()
        names.add(path.name)
        if path.is_symlink():
            names.add(os.path.basename(_real(path)))
    return names
