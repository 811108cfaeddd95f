"""Atomic file writes: write to a temp file in the same folder, then rename."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from visrec.errors import VisrecError


class OutputPathError(VisrecError, IsADirectoryError):
    """An output path names a folder. A :class:`VisrecError` (one line at the CLI) that
    stays an ``OSError`` for callers that handle failed writes as such."""


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a ``Path``, checked to be writable as a file by :func:`atomic_path`.

    Raises
    ------
    OutputPathError
        ``path`` is an existing folder (the rename over it would fail only after all
        the work that made the file).
    VisrecError
        A file is in the way of the folders above ``path``.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(f"output path {str(target)!r} is a directory; name a file")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise VisrecError(
                    f"output path {str(target)!r}: {str(parent)!r} is a file, not a folder"
                )
            break
    return target


def probe_writable(target: Path) -> None:
    """Check for real that a file can be created next to ``target``: missing folders are
    made, an empty file is created in the last one, then both are removed again, so
    nothing is left behind (permission bits say little to root, and nothing about
    ``/proc``). Raises ``OSError`` when it cannot."""
    folder = target.parent
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    made: list[Path] = []
    try:
        for p in reversed(missing):
            p.mkdir()
            made.append(p)
        _create_temp(folder, f".{target.name}.", ".probe").unlink()
    finally:
        for p in reversed(made):
            with contextlib.suppress(OSError):
                p.rmdir()


#: a temporary file or folder this old was left by a killed process (kill -9, a power
#: cut): no write takes that long between two changes of its file
STALE_AFTER_S = 3600.0


def sweep_stale(folder: Path, prefix: str, pattern: str, *, dirs: bool = False) -> None:
    """Remove the leftovers of writes that were killed before they could clean up:
    entries of ``folder`` named ``prefix`` + ``pattern`` (a regex; files, or folders with
    ``dirs``) not changed for ``STALE_AFTER_S``. Best effort: errors are ignored."""
    import shutil
    import time

    name = re.compile(re.escape(prefix) + pattern)
    now = time.time()
    try:
        entries = [e for e in os.scandir(folder) if name.fullmatch(e.name)]
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_symlink() or entry.is_dir() != dirs:
                continue
            if now - entry.stat().st_mtime < STALE_AFTER_S:
                continue
            if dirs:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _create_temp(folder: Path, prefix: str, suffix: str) -> Path:
    """Create a new empty file with mode 0666 minus the process umask.

    mkstemp would make it 0600; creating it with O_EXCL and mode 0o666 lets the kernel
    apply the umask in force now, which needs no (racy) os.umask read from threads.
    """
    while True:
        name = f"{prefix}{os.urandom(6).hex()}{suffix}"
        try:
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return folder / name


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], suffix: str = ".tmp", *, sweep: bool = False
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    On error the temporary file is removed and ``path`` is left untouched, so readers
    never see a half-written file (rename is atomic on POSIX within one filesystem).
    The temporary file is ``.<name>.<random><suffix>`` in the same folder; with
    ``sweep``, such files of killed earlier writes are removed once stale (for big
    outputs: a vectors file). A ``path``
    that is a folder, or under a file, is an error before anything is created
    (:func:`check_output_path`).
    """
    target = check_output_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if sweep:  # not by default: a folder of many small outputs (fetch's cache) would
        # be listed on every write
        sweep_stale(target.parent, f".{target.name}.", r"[0-9a-f]{12}" + re.escape(suffix))
    tmp_path = _create_temp(target.parent, f".{target.name}.", suffix)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
