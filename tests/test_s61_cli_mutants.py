"""Session 61 mutation audit of ``visrec.cli`` and ``visrec.errors``: the exit status
and the one ``error:`` line each kind of failure gets, and that no traceback escapes
for a user's error. 66 hand-made mutants (48 in cli.py, 18 in errors.py): 49 killed
by the existing tests, 15 more by these, 2 equivalent (an io.UnsupportedOperation
never has an errno; no input-path option has two spellings).

Each test names the mutant(s) it kills. Most raise a chosen exception from a command's
``run`` (``visrec report``'s, patched) and read what ``main`` returns and prints.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
from collections.abc import Callable

import pytest

import visrec.commands.report as report_cmd
from visrec import cli
from visrec.cli import main

REPORT = ["report", "r.json", "-o", "r.html"]


def _raising(exc: BaseException) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise exc

    return run


def _one_error(err: str) -> str:
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("error: "), err
    return err.rstrip("\n")


# M5 (an interrupt before run_command, while parsing, returned 1, not 130)
def test_ctrl_c_while_parsing_is_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def build() -> argparse.ArgumentParser:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", build)
    assert main(REPORT) == 130
    out, err = capsys.readouterr()
    assert (out, err) == ("", "interrupted\n")


# M34 (torch's allocator advice kept when it is among the first three sentences)
def test_gpu_out_of_memory_leaves_out_the_allocator_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "CUDA out of memory. Tried to allocate 2.00 GiB. If reserved but unallocated "
        "memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True."
    )
    monkeypatch.setattr(report_cmd, "run", _raising(RuntimeError(text)))
    assert main(REPORT) == 1
    line = _one_error(capsys.readouterr().err)
    assert line.startswith(
        "error: out of GPU memory (CUDA out of memory. Tried to allocate 2.00 GiB); ask for less"
    ), line
    assert "PYTORCH_CUDA_ALLOC_CONF" not in line


# M13 (out of memory said as a bad input, exit 2), M14 (a bare MemoryError said as
# "out of memory ()")
def test_a_bare_memory_error_is_one_line_and_a_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_cmd, "run", _raising(MemoryError()))
    assert main(REPORT) == 1
    line = _one_error(capsys.readouterr().err)
    assert line.startswith("error: out of memory (an allocation failed); ask for less"), line


# M9 (the missing file's name printed as it is), M30 (a carriage return kept)
@pytest.mark.parametrize("name", ["a\nb.csv", "a\rb.csv"])
def test_a_missing_file_with_a_line_break_in_its_name_stays_one_line(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", name)
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    assert main(REPORT) == 2
    shown = name.replace("\n", "\\n").replace("\r", "\\r")
    assert _one_error(capsys.readouterr().err) == f"error: {shown}: no such file or directory"


# session 61 fix: other control characters in a name reached the terminal as they are
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("nx\x1b[31mred.csv", "nx\\x1b[31mred.csv"),
        ("a\x07b\x7fc\x9bd.csv", "a\\x07b\\x7fc\\x9bd.csv"),
        ("tab\there.csv", "tab\there.csv"),  # a tab is harmless: kept
        ("caf\u00e9.csv", "caf\u00e9.csv"),  # printable non-ASCII is not touched
        # a right-to-left override would show "a\u202egpj.csv" as "avsc.jpg"
        ("a\u202egpj.csv", "a\\u202egpj.csv"),
    ],
)
def test_control_characters_in_a_missing_name_are_escaped(
    name: str, shown: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", name)
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    assert main(REPORT) == 2
    assert _one_error(capsys.readouterr().err) == f"error: {shown}: no such file or directory"


# M28 (a rename's two paths joined by a comma), M29 (one path said twice)
@pytest.mark.parametrize(
    ("names", "said"),
    [(("a.tmp", "a.csv"), "'a.tmp' -> 'a.csv'"), (("a.csv", "a.csv"), "'a.csv'")],
)
def test_a_refused_rename_names_both_paths_once(
    names: tuple[str, str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exc = PermissionError(errno.EACCES, "Permission denied", names[0], None, names[1])
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    assert main(REPORT) == 1
    assert _one_error(capsys.readouterr().err) == f"error: {said}: Permission denied"


# M26 (a surrogate in multi-line text taken for a path), M27 (in text longer than any
# path): a bug to mend, whose traceback says where
@pytest.mark.parametrize("text", ["a\udcffb\nc", "a\udcff" + "b" * 5000])
def test_a_surrogate_in_text_that_is_no_path_keeps_its_traceback(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exc = UnicodeEncodeError("utf-8", text, 1, 2, "surrogates not allowed")
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    with pytest.raises(UnicodeEncodeError):
        main(REPORT)


# M41 (the Ctrl-C mark left set after the command, seen by a notebook's next code)
def test_the_interrupt_mark_is_cleared_when_the_command_ends(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec import _interrupt

    def run(args: argparse.Namespace) -> int:
        _interrupt.mark()
        raise KeyboardInterrupt

    monkeypatch.setattr(report_cmd, "run", run)
    assert main(REPORT) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert not _interrupt.pressed() and _interrupt.ending_signal() == 0


# M46 (a caller's sys.stderr of None not given back)
def test_a_closed_stderr_is_given_back_as_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setattr(report_cmd, "run", _raising(MemoryError()))
    monkeypatch.setattr(sys, "stderr", None)
    assert main(REPORT) == 1
    assert sys.stderr is None
    assert capsys.readouterr().out == ""  # the error line went nowhere, not to stdout


# M47 (a character the encoding lacks written as '?', not as \uXXXX)
def test_raw_or_escaped_keeps_raw_bytes_and_escapes_the_rest() -> None:
    assert "a\udcffé€".encode("latin-1", errors=cli._RAW_OR_ESCAPED) == b"a\xff\xe9\\u20ac"


# M48 (--version without the program's name)
def test_version_names_the_program(capsys: pytest.CaptureFixture[str]) -> None:
    from visrec import __version__

    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"visrec {__version__}\n"


# E9 (a missing input said without its name)
def test_input_not_found_without_words_names_its_path() -> None:
    from visrec.errors import InputNotFoundError

    exc = InputNotFoundError("v.parquet")
    assert str(exc) == "v.parquet: no such file or directory"
    assert (exc.errno, exc.filename) == (errno.ENOENT, "v.parquet")


# E11 (a pyarrow OSError that names no file: the read's path dropped), E18 (a failed
# rename's second path dropped), E7 (a folder given for a file said as a refusal)
def test_failed_calls_keep_the_paths_and_status_of_the_system_error() -> None:
    from visrec.errors import WriteError, read_error, write_error

    read = read_error("cannot read x", OSError("Detail: [errno 21] Is a directory"), "x")
    assert (read.filename, read.errno, read.exit_status) == ("x", errno.EISDIR, 2)
    assert read.strerror == "Is a directory" and str(read) == "cannot read x"
    rename = PermissionError(errno.EACCES, "Permission denied", "a.tmp", None, "a.csv")
    written: WriteError = write_error("cannot write a.csv", rename)
    assert (written.filename, written.filename2, written.exit_status) == ("a.tmp", "a.csv", 1)


# E13 (the folder that could not be made, when it is not the output, left unnamed)
def test_failed_write_names_another_path_than_the_output() -> None:
    from visrec.errors import failed_write

    exc = PermissionError(errno.EACCES, "Permission denied", "/ro/out")
    assert failed_write(exc, "/ro/out/r.json") == "'/ro/out': Permission denied"
    assert failed_write(exc, "/ro/out") == "Permission denied"


# E14 (DEL printed raw), E15 (a bidi override printed raw), E16 (a blank column name
# read as a stray comma)
def test_names_and_listings_show_what_would_mislead() -> None:
    from visrec.errors import has_control, names_text, shown

    assert has_control("a\x7fb") and not has_control("café")
    assert shown("a\u202egnp.doc") == repr("a\u202egnp.doc") and shown("ok.png") == "ok.png"
    assert names_text(["user_id", " ", "a\nb"]) == 'user_id, " ", a\\nb'


# E10 (the first "Detail: [errno N]" taken, which may be part of a path in the text)
def test_errno_of_reads_pyarrows_last_detail() -> None:
    from visrec.errors import errno_of

    exc = OSError("Failed to open local file '/d/Detail: [errno 13] x'. Detail: [errno 27] Big")
    assert errno_of(exc) == errno.EFBIG
    assert errno_of(OSError(errno.EIO, "Input/output error")) == errno.EIO
    assert errno_of(OSError("no number")) is None


# M21 (Path.resolve's "Symlink loop" RuntimeError, before Python 3.13, a traceback)
def test_a_symlink_loop_is_a_bad_input_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exc = RuntimeError("Symlink loop from '/d/a'")
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    assert main(REPORT) == 2
    assert _one_error(capsys.readouterr().err) == "error: Symlink loop from '/d/a'"


# M40 (a second SIGTERM, as `timeout` sends to the process and its group, raised in
# the middle of the cleanup the first one started)
def test_a_repeated_sigterm_lets_the_cleanup_finish(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    import os
    import signal

    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a fresh process's
    request.addfinalizer(lambda: signal.signal(signal.SIGTERM, before))
    cleaned: list[bool] = []

    def run(args: argparse.Namespace) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("no interrupt")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            cleaned.append(True)

    monkeypatch.setattr(report_cmd, "run", run)
    assert main(REPORT) == 143
    assert capsys.readouterr().err == "interrupted\n" and cleaned == [True]


# E12 (pyarrow's OSError, whose errno is only in its text, said as a damaged file,
# exit 2, not as the system's refusal, exit 1)
def test_an_unreadable_file_with_the_errno_in_the_text_is_a_refusal() -> None:
    from visrec.errors import ReadError, unreadable_file

    exc = OSError("Failed to read 'v.parquet'. Detail: [errno 5] Input/output error")
    err = unreadable_file("v.parquet: cannot read", exc, "v.parquet")
    assert isinstance(err, ReadError) and err.exit_status == 1
    assert (err.errno, err.filename) == (errno.EIO, "v.parquet")
    damaged = unreadable_file("v.parquet: damaged", ValueError("bad footer"), "v.parquet")
    assert type(damaged).__name__ == "VisrecError" and damaged.exit_status == 2


# M17 (a file name that is not UTF-8, met by pyarrow, said as the system's refusal)
def test_an_undecodable_name_is_a_bad_input_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "/d/a\udcffb.parquet"
    exc = UnicodeEncodeError("utf-8", name, 4, 5, "surrogates not allowed")
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    assert main(REPORT) == 2
    line = _one_error(capsys.readouterr().err)
    assert line.startswith("error: '/d/a\\xffb.parquet': text that is not valid UTF-8"), line
    assert "rename it" in line


class _FailingStdout(io.StringIO):
    """A stdout whose last flush fails as a pipe whose reader left, or a full disk."""

    def __init__(self, exc: OSError) -> None:
        super().__init__()
        self.exc = exc

    def flush(self) -> None:
        raise self.exc


# M22 (no flush at the end: a closed pipe met in the interpreter's last flush, exit
# 120 with "Exception ignored"), M23 (`> /dev/full` at that flush: exit 0, unsaid)
def test_the_last_flush_of_stdout_gives_the_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from visrec.commands._streams import CLOSED_STDOUT_STATUS

    def ok(args: argparse.Namespace) -> int:
        return 0

    monkeypatch.setattr(sys, "stdout", _FailingStdout(BrokenPipeError(errno.EPIPE, "pipe")))
    assert cli.run_command(ok, argparse.Namespace()) == CLOSED_STDOUT_STATUS
    assert capsys.readouterr().err == ""
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(sys, "stdout", _FailingStdout(full))
    assert cli.run_command(ok, argparse.Namespace()) == 1
    assert capsys.readouterr().err == "error: cannot write to stdout (No space left on device)\n"


# E4 (a full disk said as a bad input, exit 2), E5 (an I/O error likewise)
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EACCES, errno.EFBIG])
def test_a_refusal_of_the_system_is_exit_status_1(err: int) -> None:
    from visrec.errors import WriteError, write_error

    written: WriteError = write_error("cannot write o.csv", OSError(err, os.strerror(err), "o"))
    assert written.exit_status == 1 and written.strerror == os.strerror(err)


# E17 (a note added to a missing input's error lost when a worker process pickles it)
def test_a_missing_input_error_keeps_its_note_through_pickle() -> None:
    import pickle

    from visrec.errors import InputNotFoundError

    exc = InputNotFoundError("v.parquet", "vectors file 'v.parquet' does not exist")
    exc.add_note("while embedding part 3")
    back = pickle.loads(pickle.dumps(exc))
    assert str(back) == "vectors file 'v.parquet' does not exist"
    assert back.filename == "v.parquet" and back.__notes__ == ["while embedding part 3"]
