"""The ``visrec`` command line.

Each subcommand lives in ``visrec.commands.<name>`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking
the parsed ``argparse.Namespace`` and returning an exit status. Heavy imports (torch,
sklearn) happen inside those callables, so ``visrec --help`` stays fast.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import io
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TypeGuard

from visrec import __version__, _interrupt
from visrec._atomic import NO_DASH_STDIN, broken_link, shown_path
from visrec.commands._common import (
    closed_stdout_status,
    say_parse_notes,
    stdout_failed_status,
    survives_closed_stderr,
)
from visrec.commands._help import HelpFormatter, Parser
from visrec.errors import (
    DECEPTIVE,
    InputNotFoundError,
    VisrecError,
    failed_call_status,
    is_control,
    not_utf8_hint,
)

# Order here is the order in ``visrec --help``.
COMMAND_MODULES = (
    "demo",
    "data",
    "fetch",
    "embed",
    "features",
    "cluster",
    "knn_rating",
    "train",
    "recommend",
    "evaluate",
    "report",
    "rating_eval",
    "similar",
)

DESCRIPTION = """\
visrec: does what a product looks like make recommendations better?

Typical flow:
  visrec data summary reviews.json.gz          # what is in the data
  visrec embed IMAGES_DIR -o vectors.parquet   # image -> vector (EfficientNet)
  visrec cluster vectors.parquet --labels styles.csv --id-col id \\
      --label-col masterCategory               # clusters vs categories
  visrec knn-rating --interactions u.data --vectors vectors.parquet
  visrec evaluate --interactions u.data --vectors vectors.parquet \\
      --protocol cold-items --report cold.html # does the picture help?
  visrec demo                                  # all of it, on generated data
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="visrec", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"visrec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"visrec.commands.{name}").register(sub)
    return parser


@contextlib.contextmanager
def _ctrl_c_seen() -> Iterator[None]:
    """Marks a Ctrl-C in :mod:`visrec._interrupt` while a command runs, keeping
    Python's own handler.

    A KeyboardInterrupt raised inside compiled code, an import of one for example, can
    come out as another exception (a ValueError was seen in knn-rating): after a Ctrl-C
    any failure is the interrupt, not a traceback. Only where Python's default handler
    is installed, from the main thread: otherwise nothing changes.

    A SIGTERM, where its handler is the default (which kills at once), is raised as
    :class:`visrec._interrupt.Terminated`, a KeyboardInterrupt: temporary files are
    removed, resume notes printed, and ``main`` returns 143. So is a SIGHUP (a closed
    terminal, a dropped SSH session; status 129), unless ignored (``nohup``). Once one
    is raised, another SIGTERM or SIGHUP is noted, not raised: the cleanup runs to its end.
    """
    _interrupt.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # SIGTERM only where nobody handles it: by default it kills at once, leaving the
    # temporary files and lock a Ctrl-C would have removed
    ends = [
        s
        for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None))  # no SIGHUP on Windows
        if s is not None and signal.getsignal(s) == signal.SIG_DFL
    ]
    ctrl_c = signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def note(signum: int, frame: FrameType | None) -> None:
        _interrupt.mark()  # read by run_command and by lower layers that fall back on an exception
        signal.default_int_handler(signum, frame)

    def note_term(signum: int, frame: FrameType | None) -> None:
        # a repeat is the same request (`timeout` sends one to the process and one to
        # its group): raised again, it cut short the cleanup the first one started
        # (the demo lost the line saying what it kept for a rerun, and said
        # "interrupted" twice). A Ctrl-C still interrupts it.
        again = _interrupt.ending_signal() != 0
        _interrupt.mark(signum=signum)
        if not again:
            raise _interrupt.Terminated

    if ctrl_c:
        signal.signal(signal.SIGINT, note)
    for s in ends:
        signal.signal(s, note_term)
    try:
        with _interrupt.imports_held(("torch",)):  # raised into its import, it aborted
            yield
    finally:
        if ctrl_c:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        for s in ends:
            signal.signal(s, signal.SIG_DFL)
        # a later call in this process (a notebook, a test) starts without the press
        _interrupt.clear()


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stderr is not None:
        # `visrec ... 2>&1 | head`: a note may meet the closed pipe before any result does
        return survives_closed_stderr(lambda: _guarded_main(argv))
    # started with stderr closed (`2>&-`): Python sets it to None, and print() and
    # tqdm.write() to None write to stdout, mixing notes into the results; an in-process
    # caller gets its None back
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sys.stderr = sink
        try:
            return survives_closed_stderr(lambda: _guarded_main(argv))
        finally:
            sys.stderr = None


def _guarded_main(argv: Sequence[str] | None) -> int:
    try:
        with _warnings_in_one_line(), warnings.catch_warnings():
            from visrec.images.pillow_warnings import quiet_pillow_warnings

            # each damaged file's Pillow warning, not only the first file's (one_line
            # says each once per file, and at most PILLOW_LINES of them)
            warnings.filterwarnings("always", category=UserWarning, module="PIL")
            quiet_pillow_warnings()  # undone when the command returns (main may run in-process)
            return _main(argv)
    except KeyboardInterrupt:  # before run_command's handler is in place: parsing, imports
        print("interrupted", file=sys.stderr)
        return 130


#: Pillow warnings about damaged files shown per command, each naming its file
PILLOW_LINES = 20


@contextlib.contextmanager
def _warnings_in_one_line() -> Iterator[None]:
    """A warning shown as ``warning: <message>`` on one line, not Python's ``path:line:
    Category: message`` plus a line of visrec's source (and a library's text running
    to several lines). Only the formatting: a caller that records warnings
    (``catch_warnings(record=True)``, ``pytest.warns``) still gets them."""
    old = warnings.formatwarning
    said: set[tuple[str, str]] = set()

    def one_line(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        from visrec.errors import shown

        # an escape sequence in a library's text (a label's, quoted by matplotlib) would
        # reach the terminal as a command
        text = shown(" ".join(str(message).split()))
        if f"{os.sep}PIL{os.sep}" in filename:  # Pillow's: about the file being read
            decode = sys.modules.get("visrec.images.decode")
            where = decode.image_being_read() if decode is not None else None
            if (text, where or "") in said or len(said) > PILLOW_LINES:
                return ""  # said for this file already, or enough said
            said.add((text, where or ""))
            if len(said) > PILLOW_LINES:
                return "warning: more of Pillow's warnings about damaged files are not shown\n"
            if where:
                text += f" (reading {where})"
        return f"warning: {text}\n"

    warnings.formatwarning = one_line
    try:
        yield
    finally:
        warnings.formatwarning = old


def _main(argv: Sequence[str] | None) -> int:
    _print_any_name()  # before argparse, which prints --help (evaluate's has a '±')
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the (sub)command's own parser: its usage, and a hint
        command = _command_parser(parser, args)
        extra = command.take_trailing(args, extra)
        if extra:
            command.unknown_options(extra)
    # the command line, for the `run` block of --json results (_common.with_run)
    args.argv_ = list(sys.argv[1:] if argv is None else argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)  # a usage error (status 2): nothing on stdout
        return 2
    empty = empty_value(_command_parser(parser, args), args)
    if empty:
        print(f"error: {empty}", file=sys.stderr)
        return 2
    say_parse_notes(args)
    with _ctrl_c_seen():
        status = run_command(func, args)
        # 128 + SIGTERM (or SIGHUP), as the shell reports a process the signal killed
        return _interrupt.exit_status() if status == 130 else status


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Parser:
    """The parser of the (sub)command ``args`` were parsed for (``data summary``'s for
    ``visrec data summary ...``)."""
    found = parser
    while True:
        subs = [a for a in found._actions if isinstance(a, argparse._SubParsersAction)]
        chosen = getattr(args, subs[0].dest, None) if subs else None
        if chosen is None or chosen not in subs[0].choices:
            break
        found = subs[0].choices[chosen]
    assert isinstance(found, Parser)
    return found


#: the arguments that name a file or folder to read, by dest, with what they name. An
#: empty one read as false meant the option left out (``--vectors ""``: fitted with no
#: pictures, exit 0) or as the current folder (``visrec data summary ""``), without a
#: word. Outputs given as "" are refused where they are written (``--json: output path
#: is empty``). tests/test_s53_empty_values.py fails on an argument in neither list.
INPUT_PATHS = {
    "vectors": "a vectors file", "vectors_opt": "a vectors file",
    "items": "a file of item ids", "users": "a file of user ids",
    "manifest": "a manifest file", "data": "a dataset folder", "labels": "a label table",
    "images": "a folder of images", "images_dir": "a folder of images",
    "interactions": "an interactions file", "model_dir": "a model folder",
    "result": "a results file", "paths": "a file or folder", "sources": "a file or folder",
    "table": "an item table", "like": "a `visrec features` output",
}  # fmt: skip


def empty_value(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """What is wrong with an input path given as "" (an unset shell variable:
    ``--vectors "$V"``), or None."""
    for action in parser._actions:
        what = INPUT_PATHS.get(action.dest)
        if what is None or not isinstance(action, argparse._StoreAction | argparse._AppendAction):
            continue
        value = getattr(args, action.dest, None)
        if value == action.default or "" not in (value if isinstance(value, list) else [value]):
            continue
        if not action.option_strings:  # a positional argument
            name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
        else:
            name = max(action.option_strings, key=len)
        said = f"{name}: path is empty (an unset shell variable?); name {what}"
        return said if action.required or not action.option_strings else f"{said}, or leave it out"
    return None


def _print_any_name() -> None:
    """Let stdout print file names with bytes that are not UTF-8 (as ``ls`` does), as
    Python does by itself under the C locale; under others such a print failed. A stdout
    that is not UTF-8 (Windows writes a file or pipe in its code page, cp1252) prints
    an id it cannot encode as ``\\u6064``: it failed with a traceback once the outputs
    were written."""
    if sys.stdout is None or sys.stdout is not sys.__stdout__:
        return  # not the process's own: a caller's capture (pytest) or a redirect
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    utf8 = encoding in ("utf8", "")
    # an ASCII stdout of the C locale with PYTHONUTF8=0 is 'surrogateescape' already,
    # which fails on a '±' or an 'é' of the data all the same
    fails = ("strict",) if utf8 else ("strict", "surrogateescape")
    if reconfigure is not None and getattr(sys.stdout, "errors", None) in fails:
        errors = "surrogateescape" if utf8 else _RAW_OR_ESCAPED
        with contextlib.suppress(Exception):  # a stream that cannot: leave it as it is
            reconfigure(errors=errors)


def _raw_or_escaped(exc: UnicodeError) -> tuple[str | bytes, int]:
    """An encoding error handler: a file name's undecodable bytes as they are (as
    ``surrogateescape``), any other character the encoding lacks as ``\\uXXXX``."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    try:
        return codecs.lookup_error("surrogateescape")(exc)
    except UnicodeEncodeError:
        return codecs.lookup_error("backslashreplace")(exc)


_RAW_OR_ESCAPED = "visrec-raw-or-escaped"
codecs.register_error(_RAW_OR_ESCAPED, _raw_or_escaped)


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``func(args)``'s exit status, with every failure a user can fix or the system
    caused said in one ``error:`` line (status 2 bad input, 1 refused by the system,
    75 an output another run is writing now, 130 interrupted) and only a bug left as a
    traceback.

    Every ``visrec`` command runs through it, and so do the scripts in ``benchmarks/``,
    so a full disk or a Ctrl-C reads the same there.
    """
    try:
        status = int(func(args) or 0)
    # before VisrecError: an InputNotFoundError is both, and this branch says a missing
    # path best (a hint for '-' given for standard input)
    except FileNotFoundError as exc:
        if exc.filename is None and "No usable temporary directory" in str(exc.strerror):
            # tempfile's test write failed everywhere (a library imported mid-run asks for
            # one): a full disk or no permission, a refusal of the system, not bad input
            print(
                f"error: no room to write a temporary file ({_one_line(exc.strerror)}): the "
                "disk is full or not writable; free space, or set TMPDIR to a writable folder",
                file=sys.stderr,
            )
            status = 1
        elif isinstance(exc, InputNotFoundError) and exc.message:  # worded by its caller
            print(f"error: {_one_line(exc.message)}", file=sys.stderr)
            status = 2
        elif exc.filename is None:  # no file named: e.g. the current folder was removed
            print(f"error: {_nameless_missing(exc)}", file=sys.stderr)
            status = 2
        else:
            print(f"error: {_one_line(exc.filename)}: {_missing(exc.filename)}", file=sys.stderr)
            status = 2
    except VisrecError as exc:
        if _interrupt.pressed():  # a failure a Ctrl-C caused, worded as a bad input
            print("interrupted", file=sys.stderr)
            status = 130
        else:
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            status = exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130
    except MemoryError as exc:
        # an allocation numpy or torch refused (a huge --param factors=, --n or
        # --batch-users): the cause in one line, not a traceback from deep inside
        if _interrupt.pressed():  # what a Ctrl-C became on its way out of compiled code
            print("interrupted", file=sys.stderr)
            status = 130
        else:
            print(_out_of_memory(_one_line(exc) or "an allocation failed"), file=sys.stderr)
            status = 1
    except BrokenPipeError:
        # the safety net: output outside a `survives_closed_stdout` command (whose
        # files are then lost) met a reader that went away (`visrec ... | head`)
        return closed_stdout_status()
    except Exception as exc:
        if _interrupt.pressed():  # whatever it became on its way out of compiled code
            print("interrupted", file=sys.stderr)
            status = 130
        elif _refused_by_system(exc):
            # a full disk, no permission, a name too long: not a bug, so one line
            # naming the path; writes are atomic, so no output was damaged. The status
            # is a worded ReadError's or WriteError's for the same errno
            print(f"error: {_one_line(_os_error(exc))}", file=sys.stderr)
            status = failed_call_status(exc.errno)
        elif _undecodable_name(exc):
            # a path that is not UTF-8 (Linux allows any bytes) meets a library that
            # encodes paths strictly: pyarrow, for every Parquet file
            print(
                f"error: '{_one_line(shown_path(exc.object))}': text that is not valid "
                "UTF-8 (a file name, or an id read from a file) cannot be used here; "
                f"rename it{not_utf8_hint()}",
                file=sys.stderr,
            )
            status = 2
        elif _accelerator_out_of_memory(exc):
            print(_out_of_memory_on_gpu(str(exc)), file=sys.stderr)
            status = 1
        elif _no_memory_to_load(exc) or (
            isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
        ):
            # torch's CPU allocator says it with a RuntimeError, not a MemoryError
            print(_out_of_memory(_one_line(str(exc).splitlines()[0])), file=sys.stderr)
            status = 1
        elif isinstance(exc, RuntimeError) and str(exc) == "can't start new thread":
            print(
                "error: cannot start another thread (can't start new thread): the "
                "system's limit on threads or memory is reached; ask for fewer workers "
                "(e.g. --workers 2) or free memory",
                file=sys.stderr,
            )
            status = 1
        elif isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop"):
            print(f"error: {_one_line(exc)}", file=sys.stderr)  # Path.resolve before 3.13
            status = 2
        else:
            raise  # a bug: its traceback is what a report needs
    try:
        # unread lines still buffered: a closed pipe shows here, as the same status,
        # not in the interpreter's last flush (a traceback-like note, exit 120)
        if sys.stdout is not None:  # None: started with stdout closed (`>&-`)
            sys.stdout.flush()
    except BrokenPipeError:
        return closed_stdout_status(status)
    except OSError as exc:  # `> /dev/full`
        return stdout_failed_status(exc, status)
    return status


def _no_memory_to_load(exc: Exception) -> bool:
    """A library that could not be loaded for want of memory (``ulimit -v``): the
    system's "failed to map segment from shared object" through an ImportError (a
    module) or an OSError (ctypes, e.g. libgomp)."""
    text = str(exc)
    return isinstance(exc, ImportError | OSError) and (
        "failed to map segment" in text or "cannot allocate memory" in text.lower()
    )


def _accelerator_out_of_memory(exc: Exception) -> bool:
    """torch out of GPU memory: CUDA's ``OutOfMemoryError`` (a RuntimeError, checked by
    name so that torch need not be imported here) or Apple's MPS RuntimeError."""
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc)
    return (
        type(exc).__name__ == "OutOfMemoryError" and type(exc).__module__.startswith("torch")
    ) or text.startswith(("CUDA out of memory", "MPS backend out of memory"))


def _out_of_memory_on_gpu(text: str) -> str:
    """The one line for torch out of GPU memory: its message's first sentences (what was
    asked, what the GPU has), not its advice on allocator settings."""
    sentences = re.split(r"(?<=\.)\s+", _one_line(text.strip().splitlines()[0] if text else ""))
    said = [s for s in sentences[:3] if not s.startswith(("Of the allocated", "If reserved"))]
    detail = " ".join(said).rstrip(".") or "an allocation failed"
    return (
        f"error: out of GPU memory ({detail}); ask for less (e.g. fewer factors, a smaller "
        "batch), free the GPU, or run on the CPU (--device cpu, or --param device=cpu "
        "for a model)"
    )


def _out_of_memory(detail: str) -> str:
    return (
        f"error: out of memory ({detail}); ask for less (e.g. fewer factors, a smaller "
        "--n or batch) or free memory"
    )


def _missing(path: object) -> str:
    """Why ``path`` cannot be opened when it "does not exist": a link that is there but
    leads nowhere is named as such, not as a missing file."""
    why = broken_link(path) if isinstance(path, str | bytes | os.PathLike) else None
    if why is None and path == "-":
        return f"no such file ({NO_DASH_STDIN})"
    return why or "no such file or directory"


def _nameless_missing(exc: FileNotFoundError) -> str:
    """A missing file the error does not name: the current folder, when it is gone
    (``os.getcwd`` fails), else the error's own words."""
    try:
        os.getcwd()
    except OSError:
        return (
            "the current folder no longer exists (removed while visrec ran?); cd to a "
            "folder that does and run the command again"
        )
    return _one_line(exc.strerror or exc)


def _one_line(what: object) -> str:
    """An error as the one line it must be: a line break in a file name (Linux allows
    one) is shown as ``\\n``, so the message is not cut in two, and any other control
    character (an escape sequence in a name) as ``\\xNN``, so it does not drive the
    terminal, and an invisible one that reorders what follows (``errors.DECEPTIVE``)
    as ``\\uNNNN``, so the name reads as it is. A tab stays."""
    text = str(what).replace("\r", "\\r").replace("\n", "\\n")
    return "".join(_escaped(c) for c in text)


def _escaped(c: str) -> str:
    # a control character (an escape sequence) would drive the terminal, an invisible
    # one that reorders what follows (errors.DECEPTIVE) would misname the file; a tab stays
    if is_control(c) and c != "\t":
        return f"\\x{ord(c):02x}"
    return f"\\u{ord(c):04x}" if c in DECEPTIVE else c


def _undecodable_name(exc: BaseException) -> TypeGuard[UnicodeEncodeError]:
    """Encoding a path with undecodable bytes (Python keeps them as lone surrogates).
    Only a string that can be a path: any other text holding one (a report quoting such
    a name) is a bug to mend, whose traceback says where."""
    return (
        isinstance(exc, UnicodeEncodeError)
        and exc.reason == "surrogates not allowed"
        and isinstance(exc.object, str)
        and "\n" not in exc.object
        and len(exc.object) <= 4096  # PATH_MAX
    )


def _refused_by_system(exc: BaseException) -> TypeGuard[OSError]:
    """An OSError of the system (it has an errno), not one a library raises for a bad
    value (``io.UnsupportedOperation``, Pillow's UnidentifiedImageError: no errno)."""
    return (
        isinstance(exc, OSError)
        and exc.errno is not None
        and not isinstance(exc, io.UnsupportedOperation)
    )


def _os_error(exc: OSError) -> str:
    """``PATH: No space left on device`` (``A -> B: ...`` for a rename; one name when
    both are the output, as a failed rename of its temporary file is said)."""
    why = exc.strerror or str(exc)
    names = list(
        dict.fromkeys(repr(str(f)) for f in (exc.filename, exc.filename2) if f is not None)
    )
    return f"{' -> '.join(names)}: {why}" if names else why


if __name__ == "__main__":
    sys.exit(main())
