"""When a command shows progress bars: the ``--verbose`` / ``--quiet`` rule of ``visrec train``.

A bar redraws itself with ``\\r``; on a terminal that is one updating line, in a log file
(``visrec embed ... > log 2>&1``) it is thousands of lines. So bars show only when stderr
is a terminal, unless ``--verbose`` forces them or ``--quiet`` hides them.

The leading underscore keeps this module out of ``visrec.cli.COMMAND_MODULES``: it has
no ``register``; it is not a command.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from visrec.errors import VisrecError


def add_progress_args(
    parser: argparse.ArgumentParser,
    *,
    what: str = "a progress bar",
    quiet_help: str | None = None,
) -> None:
    """Add the mutually exclusive ``--verbose`` and ``--quiet`` flags (read by
    :func:`show_progress`); ``-v`` / ``-q`` are their short forms and
    ``--no-progress`` is another name of ``--quiet``.

    Parameters
    ----------
    parser : ArgumentParser
    what : str, default "a progress bar"
        What the flags show or hide, for the help text.
    quiet_help : str, optional
        Help text of ``--quiet`` when it hides more than the bars (default: "no "
        and ``what`` without its article).
    """
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=f"show {what} (default: only when stderr is a terminal)",
    )
    if quiet_help is None:
        quiet_help = "no " + what.removeprefix("a ").removeprefix("an ")
    bar.add_argument(
        "-q", "--quiet", "--no-progress", dest="quiet", action="store_true", help=quiet_help
    )


def add_no_bar_args(parser: argparse.ArgumentParser, quiet_help: str | None = None) -> None:
    """``-v`` / ``-q`` for a command that draws no progress bar: a script passing them to
    every step failed on this one with "unrecognized arguments". ``quiet_help``: what
    ``--quiet`` hides when it hides something (cluster's progress line)."""
    flags = parser.add_mutually_exclusive_group()
    flags.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="taken as by every command; this one draws no progress bar",
    )
    flags.add_argument(
        "-q",
        "--quiet",
        "--no-progress",
        dest="quiet",
        action="store_true",
        help=quiet_help
        or "taken as by every command; this one draws no progress bar (its notes stay, on stderr)",
    )


def check_quiet_params(args: argparse.Namespace, params: dict[str, Any], what: str) -> None:
    """An error for ``--quiet`` beside a model's ``verbose=true`` (``what``: how that
    was given), as ``-v -q`` is one: which of the two was meant is no guess to make."""
    # True as parsed: a mistyped value ('False', 'no') gets the type check's own error
    if getattr(args, "quiet", False) and params.get("verbose") is True:
        raise VisrecError(f"--quiet and {what}=true contradict each other; give one of them")


def show_progress(args: argparse.Namespace) -> bool:
    """True when bars should show: ``--verbose``, or stderr is a terminal and no ``--quiet``;
    never with stderr closed (``2>&-``: Python's ``sys.stderr`` is then None; or a
    closed file object, in a program that calls visrec's commands)."""
    if _no_stderr():
        return False
    return bool(args.verbose or (not args.quiet and sys.stderr.isatty()))


def _no_stderr() -> bool:
    """stderr closed: None (``2>&-``), or a closed file object in a calling program."""
    return sys.stderr is None or bool(getattr(sys.stderr, "closed", False))


def fit_lines_in_logs(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    """Where no bar shows and no ``--quiet`` (stderr is a log file), a block in which
    long fits and steps print a line a minute to stderr (``visrec._progress_lines``)."""
    if args.quiet or show_progress(args) or _no_stderr():  # nowhere to write the lines
        return contextlib.nullcontext()
    from visrec._progress_lines import fit_lines

    return fit_lines(lambda line: print(line, file=sys.stderr, flush=True))
