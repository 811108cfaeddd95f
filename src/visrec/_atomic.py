"""Atomic file writes: write to a temp file in the same folder, then rename; and one
writer per output at a time (:func:`exclusive_lock`)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeGuard

from visrec.errors import BusyError, InputNotFoundError, VisrecError, not_utf8_hint, write_error


class OutputPathError(VisrecError, IsADirectoryError):
    """An output path names a folder. A :class:`VisrecError` (one line at the CLI) that
    stays an ``OSError`` for callers that handle failed writes as such."""


def check_dotdot(path: Path) -> None:
    """Refuse a ``..`` after a folder that does not exist: ``out/nosuch/..`` is no
    folder to the system (``touch`` fails), though ``mkdir(parents=True)`` would make
    ``nosuch`` to reach it."""
    parts = path.parts
    for j in range(1, len(parts)):
        if parts[j] == ".." and not Path(*parts[:j]).is_dir():
            raise VisrecError(
                f"output path {str(path)!r}: {str(Path(*parts[:j]))!r} is not a folder, so "
                "the '..' after it leads nowhere; name the folder without it"
            )


def is_path(value: object) -> TypeGuard[str | os.PathLike[str]]:
    """Whether ``value`` is a path (``str`` or ``os.PathLike`` of text): ``None``, a
    number or bytes would meet ``os.fspath``'s own TypeError, which names no argument."""
    return isinstance(value, str | os.PathLike) and isinstance(os.fspath(value), str)


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a ``Path``, checked to be writable as a file by :func:`atomic_path`.

    Raises
    ------
    OutputPathError
        ``path`` is an existing folder (the rename over it would fail only after all
        the work that made the file).
    VisrecError
        A file is in the way of the folders above ``path``; ``path`` is ``-`` or names
        something other than a regular file (``/dev/stdout``, a pipe).
    """
    if not is_path(path):
        raise TypeError(f"output path must be a str or os.PathLike, got {path!r}")
    raw = os.fspath(path)
    target = Path(path)
    if str(path) == "-":  # not stdout: a file named "-" nobody asked for
        raise VisrecError("output path '-': writing to stdout is not supported; name a file")
    if not raw:  # Path("") is the current folder
        raise VisrecError("output path is empty; name a file")
    if raw.endswith("/") or raw.endswith(os.sep):  # Path() drops the slash: "out/" -> "out"
        raise OutputPathError(
            f"output path {raw!r} ends with '/', so it names a folder; name a file"
        )
    try:
        st = os.stat(target)  # through symlinks: /dev/stdout -> /proc/self/fd/1
        loop = False
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            # said now, as another output that cannot be written is: Path.is_dir let it
            # out bare before 3.13, and from 3.13 says nothing, so the rename of the
            # (shorter) temporary file met it only after all the work
            raise write_error(f"cannot write {str(target)!r} ({exc.strerror})", exc) from None
        st = None
        loop = exc.errno == errno.ELOOP  # from 3.13 the rename would replace the link
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"output path {str(target)!r} is a directory; name a file")
    check_dotdot(target)
    if loop:
        raise VisrecError(
            f"output path {str(target)!r} goes through a symlink loop (a link that "
            "leads back to itself); remove the link or name another file"
        )
    if st is not None and not stat.S_ISREG(st.st_mode):
        # the rename would put a file in place of the device or pipe (of /dev/stdout
        # itself, as root), and nothing would reach it
        raise VisrecError(
            f"output path {str(target)!r} is not a regular file (a device, pipe or "
            "terminal); name a file"
        )
    stream = _own_stream(target, st) if st is not None else None
    if stream is not None:
        # `-o /dev/stdout > f`, or `-o f > f`: the rename replaces f, and what the
        # command prints goes to the old, unlinked file, lost
        raise VisrecError(
            f"output path {str(target)!r} is this command's {stream} (redirected to that "
            "file); name another file"
        )
    blocked = blocking_parent(target)
    if blocked is not None:
        raise VisrecError(f"output path {str(target)!r}: {blocked}")
    return target


def broken_link(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str | None:
    """Why ``path``, which cannot be opened as missing, is not simply missing: "a
    symlink loop (...)" (the path or a folder above it), "a link to a file or folder
    that does not exist"; None when nothing by that name is there."""
    try:
        os.stat(path)
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop (a link that leads back to itself)"
    except ValueError:  # a NUL byte
        return None
    return "a link to a file or folder that does not exist" if os.path.islink(path) else None


def absent(path: str | os.PathLike[str]) -> str:
    """The end of "FILE ..." for an input that cannot be found: "does not exist", or
    what :func:`broken_link` finds there ("is a link to a file or folder that does not
    exist")."""
    why = broken_link(path)
    if why is None and os.fspath(path) == "-":
        return f"does not exist ({NO_DASH_STDIN})"
    return "does not exist" if why is None else f"is {why}"


#: said for an input named ``-``, the shell idiom for standard input
NO_DASH_STDIN = "visrec reads no standard input as '-': name a file, or /dev/stdin"


def file_version(path: str | os.PathLike[str]) -> tuple[int, int, int, int] | None:
    """Which version of a file ``path`` names now (inode, size, modification and change
    times): an atomic write (a new inode), a rewrite in place and ``cp -p`` over it (a
    new change time) each give another; None when nothing is there. In memory only: a
    ``chmod`` or a copy with ``cp -a`` changes it too, so keys kept on disk use
    :func:`content_stamp`."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


#: how much of each end of a file :func:`content_stamp` reads
STAMP_BYTES = 16384


def content_stamp(path: str | os.PathLike[str]) -> str | None:
    """A file's size, modification time and a digest of its first and last
    ``STAMP_BYTES``, for keys kept on disk (embed's chunks, a fit's or a recommend
    run's resume state): ``cp -p`` of another file of the same size over it changes
    the key, while ``chmod``, ``cp -a`` and a restore from a backup (new inode and
    change time, the same bytes and times) do not. None when nothing is there; a pipe
    or device (no bytes to read without waiting) is keyed by size and time alone."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return f"{st.st_size}:{st.st_mtime_ns}"
        with open(path, "rb") as fh:
            ends = fh.read(STAMP_BYTES)
            if st.st_size > 2 * STAMP_BYTES:
                fh.seek(-STAMP_BYTES, os.SEEK_END)
            ends += fh.read(STAMP_BYTES)
    except OSError:
        return None
    digest = hashlib.blake2b(ends, digest_size=8).hexdigest()
    return f"{st.st_size}:{st.st_mtime_ns}:{digest}"


def check_input_exists(path: str | os.PathLike[str], what: str) -> None:
    """Refuse an input that is not there, in one line naming it as ``what`` ("vectors
    file 'v.parquet' does not exist", or "... is a link to a file or folder that does
    not exist": :func:`absent`), as an ``InputNotFoundError``: a ``VisrecError`` and a
    ``FileNotFoundError``, as every missing input is."""
    if not os.path.exists(path):
        raise InputNotFoundError(path, f"{what} {os.fspath(path)!r} {absent(path)}")


def blocking_parent(path: Path) -> str | None:
    """What stands in the way of the folders above ``path`` (``"'a/f' is a file, not a
    folder"``): the nearest existing entry above it when that is not a folder, a file or
    a link to nothing (``mkdir`` would fail on it with "Not a directory" or "File
    exists"); None when the way is clear."""
    for parent in path.parents:
        if os.path.lexists(parent):
            if parent.is_dir():
                return None
            what = "a file" if parent.exists() else "a link to nothing"
            return f"{str(parent)!r} is {what}, not a folder"
    return None


def _own_stream(target: Path, st: os.stat_result) -> str | None:
    """The stream ("standard output", "standard error") this process writes to the
    file named ``target`` (whose stat is ``st``), else None. Another hard link to that
    file is not it: the rename replaces only that name, and the stream's file stays."""
    for fd, name in ((1, "standard output"), (2, "standard error")):
        try:
            fst = os.fstat(fd)
        except OSError:  # closed (`>&-`)
            continue
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            continue
        if st.st_nlink <= 1:
            return name
        try:  # which of the names the stream was opened by (Linux)
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return name  # cannot tell: refused, as losing the stream's file is worse
        if os.path.realpath(target) == opened:
            return name
    return None


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it exists but is no regular file, symlinks followed ("a
    pipe", "a folder", ...); None when it is missing or a regular file.

    For the side files visrec reads back on a rerun (resume records, saved training
    state): opening a pipe with no writer for reading waits for ever, a device may never
    end, so such a thing is refused or skipped before it is opened. Errors other than a
    symlink loop are left to the reader, which names them.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "a symlink loop" if exc.errno == errno.ELOOP else None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def check_side_file(path: str | os.PathLike[str], keeps: str) -> None:
    """Refuse a ``path`` where visrec keeps ``keeps`` that is no regular file (see
    :func:`not_regular`), in one line naming it, before anything opens it.

    Raises
    ------
    VisrecError
        ``"out.json.partial.jsonl is not a regular file (a pipe): remove it, visrec
        keeps its resume record there"``.
    """
    kind = not_regular(path)
    if kind is not None:
        raise VisrecError(
            f"{os.fspath(path)} is not a regular file ({kind}): remove it, visrec keeps "
            f"{keeps} there"
        )


def written_file(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces: through a symlink, the file it names (the
    link stays, as :func:`atomic_path` keeps it); else ``path`` itself."""
    target = Path(path)
    # os.path: Path.is_symlink lets a name too long out bare (before 3.13)
    return Path(os.path.realpath(target)) if os.path.islink(target) else target


def remove_output(path: str | os.PathLike[str]) -> None:
    """Remove the file a write to ``path`` would replace (:func:`written_file`: through a
    symlink, the file it names, and the link stays, as :func:`atomic_path` keeps it), so
    that an earlier run's output does not outlive a failed write beside this run's other
    outputs. Nothing there is no error; a folder is left for the write to refuse."""
    target = written_file(path)
    if target.is_dir():
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)


def side_file(target: Path, tail: str) -> Path:
    """``<target>.<tail>`` beside the output ``target`` (a resume record, a partial
    file), or, where that name would pass the system's limit, the hidden
    ``.<start of name>~<8 hex>.<tail>`` of :func:`side_prefix`."""
    path = target.with_name(f"{target.name}.{tail}")
    if len(os.fsencode(path.name)) > _NAME_MAX:
        path = target.with_name(side_prefix(target.name, len(os.fsencode(tail))) + tail)
    return path


def probe_writable(target: Path) -> None:
    """Check for real that a file can be created next to ``target``: missing folders are
    made, an empty file is created in the last one, then both are removed again, so
    nothing is left behind (permission bits say little to root, and nothing about
    ``/proc``). A symlink is followed: the file it names is the one written (as
    :func:`atomic_path` does). Raises ``OSError`` when it cannot."""
    target = written_file(target)
    made: list[Path] = []
    try:
        make_folders(target.parent, made)
        _create_temp(target.parent, target.name, ".probe").unlink()
        # the output's own name may pass the system's limit where the temporary file's
        # (cut to fit) does not: the lookup says so (ENAMETOOLONG), not the rename at the end
        with contextlib.suppress(FileNotFoundError):
            os.lstat(target)
    finally:
        remove_empty(made)


def make_folders(folder: Path, made: list[Path]) -> None:
    """Make ``folder`` and its missing parents one at a time, appending to ``made`` each
    one this call made (not one that turned out to be there: after a missing folder,
    ``..`` may lead to one of the user's). Raises ``OSError`` as ``mkdir`` does."""
    missing = []
    for p in (folder, *folder.parents):
        if os.path.lexists(p):
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        made.append(p)


def remove_empty(made: list[Path]) -> None:
    """Remove the folders of ``made`` (as :func:`make_folders` lists them) that are
    empty, deepest first: what a failed or interrupted run made for nothing."""
    for p in reversed(made):
        with contextlib.suppress(OSError):
            p.rmdir()


#: a temporary file or folder this old was left by a killed process (kill -9, a power
#: cut): no write takes that long between two changes of its file
STALE_AFTER_S = 3600.0


def sweep_stale(
    folder: Path, prefix: str, pattern: str, *, dirs: bool = False, max_age: float = STALE_AFTER_S
) -> None:
    """Remove the leftovers of writes that were killed before they could clean up:
    entries of ``folder`` named ``prefix`` + ``pattern`` (a regex; files, or folders with
    ``dirs``) not changed for ``max_age`` seconds. ``max_age=0`` removes them whatever
    their age: only for a caller that holds the output (:func:`exclusive_lock`), so no
    other writer can be using them. Best effort: errors are ignored."""
    import shutil

    name = re.compile(re.escape(prefix) + pattern)
    now = time.time()
    try:
        # never a lock file (exclusive_lock): a long run holds it for hours, unchanged
        entries = [
            e
            for e in os.scandir(folder)
            if name.fullmatch(e.name) and not e.name.endswith(LOCK_SUFFIX)
        ]
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_symlink() or entry.is_dir() != dirs:
                continue
            if max_age > 0 and now - entry.stat().st_mtime < max_age:
                continue
            if dirs:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def utf8_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is valid UTF-8 on disk (Linux allows any bytes; pyarrow, for
    one, takes only UTF-8 paths), and as Python holds it: under ``LC_ALL=C`` with
    ``PYTHONUTF8=0`` a UTF-8 name comes in as surrogates, which pyarrow refuses too."""
    try:
        os.fsencode(path).decode("utf-8")
        text = os.fspath(path)
        if isinstance(text, str):
            text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def require_utf8_name(path: str | os.PathLike[str]) -> None:
    """Refuse, before its content is read, a file whose name is not valid UTF-8 where a
    library encodes names strictly (pyarrow, for every Parquet file)."""
    if not utf8_path(path):
        raise VisrecError(
            f"'{shown_path(path)}': a file name that is not valid UTF-8 cannot be used "
            f"here; rename it{not_utf8_hint()}"
        )


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` for a message, its bytes that are not UTF-8 as ``\\xff`` (as ``ls -b``)."""
    name = os.fspath(path)
    try:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a lone surrogate of another origin
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


#: the longest file name most filesystems take, in bytes
_NAME_MAX = 255


def cut_name(name: str, max_bytes: int) -> str:
    """The longest start of ``name`` that takes at most ``max_bytes`` bytes on disk, cut
    between characters (a split one is not valid UTF-8: pyarrow, for one, refuses such
    a path)."""
    out, n = [], 0
    for ch in name:
        n += len(os.fsencode(ch))  # an undecodable byte (surrogate escape) counts 1
        if n > max_bytes:
            break
        out.append(ch)
    return "".join(out)


def side_prefix(name: str, tail: int) -> str:
    """``.<name>.``: how a hidden file beside output ``name`` starts when ``tail`` more
    bytes follow (a temporary file's random part and suffix, ``lock``). Where that would
    pass the system's 255 bytes, the name is cut and a digest of the whole name added
    (``.<start of name>~<8 hex>.``); one name and tail always get one prefix, so the
    sweep of a killed write's temporary files and the lock find them for long names
    too, and every name that fits keeps its plain form."""
    prefix = f".{name}."
    if len(os.fsencode(prefix)) + tail <= _NAME_MAX:
        return prefix
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    return f".{cut_name(name, _NAME_MAX - tail - 11)}~{digest}."  # 11: dots, '~', digest


def _temp_prefix(name: str, suffix: str) -> str:
    """The prefix of :func:`_create_temp`'s files for output ``name``."""
    return side_prefix(name, 12 + len(os.fsencode(suffix)))


def create_temp_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder ``<prefix><8 hex>`` in ``parent`` with mode 0777 minus the
    umask, as :func:`_create_temp` makes its files (mkdtemp's 0700 would need a chmod,
    and a fixed 0755 ignores a umask of 077 or 002)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            os.mkdir(path, 0o777)
        except FileExistsError:
            continue
        return path


def _create_temp(folder: Path, name: str, suffix: str) -> Path:
    """Create a new empty file ``.<name>.<12 hex><suffix>`` in ``folder`` (see
    :func:`side_prefix`) with mode 0666 minus the process umask.

    mkstemp would make it 0600; creating it exclusively with mode 0o666 lets the kernel
    apply the umask in force now, which needs no (racy) os.umask read from threads.
    """
    prefix = _temp_prefix(name, suffix)
    while True:
        path = folder / f"{prefix}{os.urandom(6).hex()}{suffix}"
        try:
            _make_empty(path)
        except FileExistsError:
            continue
        except OSError:  # refused: nothing was made
            raise
        except BaseException:
            _remove_made(path)  # the name is random: a file there now is the one made
            raise
        return path


def _make_empty(path: Path) -> None:
    """Create the empty file ``path`` (0o666 minus the umask), failing if it exists.

    A Ctrl-C or SIGTERM handled as an open(2) returns leaves its descriptor open (the
    caller then removes the file it cannot name). mknod(2) makes the file without one;
    where it is refused (macOS without root, some network file systems) the open and
    close run with the signals held, which covers the main thread only: a signal the
    kernel gives another thread (PyTorch's) is handled unheld."""
    try:
        os.mknod(path, stat.S_IFREG | 0o666)
        return
    except FileExistsError:
        raise
    except (AttributeError, OSError):  # no mknod here, or refused: the open says why
        pass
    with _signals_held():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP while the block runs (Python runs signal handlers
    in the main thread only, so other threads need not; no-op without sigmasks)."""
    if not hasattr(signal, "pthread_sigmask") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _remove_made(path: Path) -> None:
    """Remove the temporary file :func:`_create_temp` made before it failed (the name is
    its own: a file of that name already there fails the open with FileExistsError)."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def new_temp_file(path: str | os.PathLike[str], suffix: str = ".tmp") -> Path:
    """A new empty file beside ``path``, named as :func:`atomic_path` names its temporary
    files (so a later sweep removes it after a kill), once stale ones are swept."""
    target = Path(path)
    sweep_temp_files(target, suffix)
    return _create_temp(target.parent, target.name, suffix)


def sweep_temp_files(
    path: str | os.PathLike[str], suffix: str = ".tmp", *, max_age: float = STALE_AFTER_S
) -> None:
    """Remove the temporary files of killed :func:`atomic_path` writes of ``path``
    (``.<name>.<12 hex><suffix>`` beside it) older than ``max_age`` (:func:`sweep_stale`)."""
    target = Path(path)
    pattern = r"[0-9a-f]{12}" + re.escape(suffix)
    sweep_stale(target.parent, _temp_prefix(target.name, suffix), pattern, max_age=max_age)


def sync_path(path: Path) -> None:
    """fsync ``path`` (a file, or a folder's entries). A file's write error that only
    the sync reports (ENOSPC, EIO on a network disk) fails the write; a filesystem that
    cannot sync (EINVAL), or a folder that cannot be opened or synced, is gone on from."""
    folder = path.is_dir()
    try:
        # a file through a handle that may write: Windows' FlushFileBuffers refuses a
        # read-only one (EBADF)
        fd = os.open(path, os.O_RDONLY if folder else os.O_RDWR)
    except PermissionError:  # a umask that leaves the owner no write bit: written anyway
        return
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not folder and exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            if exc.filename is None:  # fsync names no file: "Input/output error" alone
                exc.filename = str(path)
            raise
    finally:
        os.close(fd)


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
    (:func:`check_output_path`). The folders made for it are removed again when the
    write fails or is interrupted (those left empty).
    """
    target = written_file(check_output_path(path))  # through a link: the file it names
    made: list[Path] = []
    try:
        make_folders(target.parent, made)
        if sweep:  # not by default: a folder of many small outputs (fetch's cache)
            # would be listed on every write
            sweep_temp_files(target, suffix)
        for attempt in range(3):
            try:
                tmp_path = _create_temp(target.parent, target.name, suffix)
                break
            except FileNotFoundError as exc:  # a concurrent write that failed removed
                if attempt == 2:  # the folder it made, which this one also wanted
                    exc.filename = str(target)
                    raise
                make_folders(target.parent, made)
            except OSError as exc:  # it names the hidden temporary file: the output is news
                exc.filename = str(target)
                raise
    except OSError as exc:
        remove_empty(made)
        # no folder or file for the output can be made: said as the commands' checks say
        # it (check_output_file), naming the output, not the folder above it that failed,
        # and a WriteError as every failed write of the API is (write_report, save...)
        raise write_error(f"cannot write {str(path)!r} ({exc.strerror or exc})", exc) from exc
    except BaseException:
        remove_empty(made)
        raise
    try:
        yield tmp_path
        # synced before the rename, and the folder after it: a power cut or crash must
        # not leave the new name on an empty or cut file (resume reads outputs back)
        sync_path(tmp_path)
        keep_mode(target, tmp_path)
        os.replace(tmp_path, target)
        sync_path(target.parent)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        remove_empty(made)
        if isinstance(exc, OSError):
            name_output(exc, target, tmp_path)
        raise


def keep_mode(target: Path, tmp_path: Path) -> None:
    """Give ``tmp_path`` the permissions of the file it replaces: a rewrite must not
    turn a ``chmod 600`` output (private ratings, say) into one the umask opens. A
    folder that replaces a folder (a model folder) keeps its permissions alike."""
    try:
        old = os.stat(target)
    except OSError:  # nothing there yet (or unreadable: the rename will say)
        return
    if stat.S_ISREG(old.st_mode) or (stat.S_ISDIR(old.st_mode) and tmp_path.is_dir()):
        os.chmod(tmp_path, stat.S_IMODE(old.st_mode))


#: a write that found no room: the disk, the user's quota, the file size limit
WRITE_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def name_output(exc: OSError, target: Path, written: Path) -> None:
    """Make ``exc``, raised while ``written`` was written for the output ``target``,
    name ``target``: a write() through a file object names no file (the error would say
    only "No space left on device"), and the file written in its place means little."""
    if (exc.filename is None and exc.errno in WRITE_FULL) or exc.filename == str(written):
        exc.filename = str(target)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically. A file name with bytes that are not
    UTF-8 quoted in ``text`` (a lone surrogate in Python) is written escaped (``\\udcff``),
    as UTF-8 has no way to hold it. Temporary files of killed earlier writes of ``path``
    are swept (a report, a JSON: one write per run, so listing the folder costs nothing)."""
    with atomic_path(path, sweep=True) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")


LOCK_SUFFIX = ".lock"


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of :func:`exclusive_lock` for ``path``: ``.<name>.lock`` beside it
    (hidden, like the temporary files of :func:`atomic_path`; see :func:`side_prefix`)."""
    target = Path(path)
    tail = LOCK_SUFFIX[1:]
    return target.with_name(side_prefix(target.name, len(tail)) + tail)


def _holder(fd: int) -> tuple[str | None, str]:
    """Who holds the lock, from what it wrote into the lock file: the command (``visrec
    evaluate``; None when not written, as by a visrec before it was) and its pid and
    start time."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        pid, started = int(info["pid"]), float(info["started"])
        host = str(info.get("host") or "")
        when = time.gmtime(started)  # UTC: the holder may run in another time zone
    except (OSError, ValueError, KeyError, TypeError, OverflowError, AttributeError):
        return None, "another process"  # not written yet, or by something else
    fmt = "%H:%M:%S UTC" if when[:3] == time.gmtime()[:3] else "%Y-%m-%d %H:%M:%S UTC"
    on = f" on {host}" if host and host != socket.gethostname() else ""
    what = info.get("what")
    return (what if isinstance(what, str) else None), (
        f"pid {pid}{on}, started {time.strftime(fmt, when)}"
    )


@contextlib.contextmanager
def exclusive_lock(
    path: str | os.PathLike[str], what: str, advice: str = "give another output"
) -> Iterator[bool]:
    """Hold ``path`` for one writer: a second ``exclusive_lock`` on it, from any process
    (or a second call in this one), raises :class:`VisrecError` at once, naming the
    holder's pid and start time: ``PATH is being written by another WHAT (pid 1234,
    started 12:03:04 UTC); wait for it to finish, or give another output`` (``advice``
    ends it).

    An advisory ``flock`` on :func:`lock_path`, which records the holder's pid, host and
    start time and is removed on release. The system releases a flock when its process
    dies (``kill -9``), so a lock file left behind never blocks: the next run locks it.
    A no-op where no lock can be had: on Windows (no ``fcntl``), where the lock file
    cannot be created (a read-only folder: nothing is written there then) and on a
    filesystem without ``flock``. Yields True when the lock is held, False in those
    cases (a caller may then not assume it is the only writer).
    """
    if sys.platform == "win32":
        yield False
        return
    target = written_file(path)  # the file atomic_path writes: two links to it, one lock
    lock = lock_path(target)
    made: list[Path] = []
    try:
        for _ in range(3):
            with contextlib.suppress(OSError):  # else no lock, and the write says what is wrong
                make_folders(target.parent, made)
            fd = _acquire(lock, target, what, advice)
            # a run that made the same new folder and failed removed it again between
            # our mkdir and our lock file: make it anew, not go on without a lock
            if fd is not None or os.path.isdir(target.parent):
                break
        if fd is None:
            yield False
            return
        try:
            with contextlib.suppress(OSError):  # the details of the message only
                info = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": time.time(),
                    "what": what,  # a second command names the first, not itself
                }
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(info).encode(), 0)
            yield True
        finally:
            # unlinked while still locked: whoever opened this file meanwhile finds, once
            # it has the lock, that the path no longer names it (``_same_file``), and
            # retries
            with contextlib.suppress(OSError):
                os.unlink(lock)
            os.close(fd)
    finally:
        # a run that failed or was interrupted before writing anything leaves no empty
        # folders it made for its output
        remove_empty(made)


def _acquire(lock: Path, target: Path, what: str, advice: str) -> int | None:
    """The descriptor of ``lock``, flocked; None where locking is not possible."""
    import fcntl

    replaced = False
    missing = 0
    while True:
        readonly = created = False
        try:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
                created = True
            except FileExistsError:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:
            try:  # another user's lock file: flock works on a read-only descriptor too
                fd = os.open(lock, os.O_RDONLY)
            except FileNotFoundError:
                # its holder just removed it: try again, a few times; the lock file may
                # also be missing in a folder we cannot write (no lock can be had there)
                missing += 1
                if missing > 3:
                    return None
                continue
            except OSError:
                return None
            readonly = True
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder_what, holder = _holder(fd)
            released = not _same_file(fd, lock)  # its holder just finished: try again
            os.close(fd)
            if released:
                continue
            raise BusyError(
                f"{target} is being written by another {holder_what or what} ({holder}); "
                f"wait for it to finish, or {advice}"
            ) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                # no lock to be had: a file this call made, on a filesystem that has no
                # flock at all, is of no use to anyone and would stay beside the output;
                # ENOLCK (an NFS lock manager out of reach) is no proof that nobody
                # else holds one, so their file stays
                if created and exc.errno != errno.ENOLCK:
                    with contextlib.suppress(OSError):
                        os.unlink(lock)
                return None
            raise
        # The holder may have unlinked the file between our open and flock, and a third
        # process created and locked a new one at the path: only the file the path
        # names now counts, else two processes would each hold a lock.
        if not _same_file(fd, lock):
            os.close(fd)
            continue
        if readonly and not replaced:
            # its holder is gone, but we cannot write our pid into its file: put a file
            # of our own in its place, else the next run is told a dead holder's pid
            replaced = True
            with contextlib.suppress(OSError):
                os.unlink(lock)
                os.close(fd)
                continue
        return fd


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)
