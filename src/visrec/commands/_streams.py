"""Which stream a command's lines go to, and how a command survives a closed stdout.

- results and "wrote" lines on stdout (:func:`say_written`), every other line on stderr
  (:func:`say_note`), so ``> results.txt`` and ``| head`` see results only;
- a closed pipe (``visrec ... | head``) ends a command quietly, files written
  (:func:`survives_closed_stdout`), with exit status 141 (:data:`CLOSED_STDOUT_STATUS`);
  another failure to write stdout (``> /dev/full``) is one ``error:`` line;
- the same for stderr's reader (``2>&1 | head``, where a note or a progress line may be
  the first to meet the closed pipe): :func:`survives_closed_stderr`, round every command.

:mod:`visrec.commands._common` re-exports these names; the commands import them from
there (a test patches ``_common.stdout_closed``, which ``_resume`` looks up there).
The leading underscore keeps this module out of ``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable
from errno import EINVAL
from typing import Any


def say_note(line: str) -> None:
    """Print a line about the input or the run on stderr (the streams' rule: stdout
    holds a command's results and "wrote" lines, stderr every note, skipped-record
    report, "left out" count, progress line and time), so ``> results.txt`` and
    ``| head`` see results only."""
    print(line, file=sys.stderr, flush=True)


def say_written(*paths: str | os.PathLike[str] | None) -> None:
    """After a command's printed results, one ``wrote PATH`` line per output written."""
    written = [str(p) for p in paths if p]
    if written:
        print("\n" + "\n".join(f"wrote {p}" for p in written))


#: exit status after the reader of stdout went away (``visrec ... | head``): 128 + SIGPIPE,
#: what a shell reports for a writer the signal ended
CLOSED_STDOUT_STATUS = 141


class _StdoutGuard:
    """Stands in for ``sys.stdout`` (or ``sys.stderr``): after the reader has gone
    (``BrokenPipeError``), or the stream failed otherwise (a full disk: ``failed``),
    further output is dropped instead of stopping the command."""

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


class _NoStream:
    """What a closed stdout is to a write: ``EBADF``, as the system says it."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def closed_stdout_status(status: int = 0) -> int:
    """The exit status once stdout's reader has gone: ``status`` when the command failed
    on its own (1, 130: the more useful answer), else ``CLOSED_STDOUT_STATUS``. Points
    stdout's descriptor at devnull first: the interpreter's last flush of the unread
    lines would fail again, print ``Exception ignored ... BrokenPipeError`` and exit 120.
    """
    import sys

    _to_devnull(sys.stdout)
    return status or CLOSED_STDOUT_STATUS


def _to_devnull(stream: Any) -> None:
    """Point ``stream``'s descriptor at devnull, so that what is still written to it (a
    buffer's last flush, an error line) goes nowhere instead of failing again."""
    import contextlib

    # no descriptor: a test's stand-in
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def survives_closed_stderr(run: Callable[[], int]) -> int:
    """``run()`` with ``sys.stderr`` guarded as :func:`survives_closed_stdout` guards
    stdout: once stderr's reader has gone (``visrec ... 2>&1 | head``), the notes,
    progress lines and error lines that follow are dropped, the command goes on to write
    its files, and the exit status is 141 unless the command failed on its own. A
    stderr that fails otherwise (``2> /dev/full``) is dropped too, with no way to say
    so. ``visrec.cli.main`` runs every command through it."""
    import sys

    if sys.stderr is None or isinstance(sys.stderr, _StdoutGuard):
        return run()
    err = _StdoutGuard(sys.stderr)
    sys.stderr = err
    try:
        status = run()
        err.flush()
    finally:
        sys.stderr = err.stream
        if err.broken:  # the interpreter's last flush of what is left: to devnull
            _to_devnull(err.stream)
    gone = err.broken and err.failed is None
    return (status or CLOSED_STDOUT_STATUS) if gone else status


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
    failure to write stdout (``> /dev/full``) is one ``error:`` line and status 1; so
    is a command started with stdout closed (``>&-``) that had something to print, as
    ``ls >&-`` says a write error (Python would drop the lines without a word).
    ``visrec.cli.main`` stays the safety net for output outside such a command."""
    import functools
    import sys

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        if isinstance(sys.stdout, _StdoutGuard):  # a command run by another: one guard
            return run(args)
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            sink = _StdoutGuard(_NoStream())
            sys.stdout = sink
            try:
                code = run(args)
            finally:
                sys.stdout = None
            if sink.failed is None:  # nothing was printed
                return code
            return stdout_failed_status(sink.failed, code)
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
