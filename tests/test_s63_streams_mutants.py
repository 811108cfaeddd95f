"""Mutation audit (s63) of ``visrec.commands._streams`` (which stream a command's lines
go to, and how a command survives a closed stdout or stderr) and
``visrec.data.load_result`` (``LoadResult``, ``BadRecord``, the "skipped" lines).

Mutants: 71 in total (44 in ``_streams``, 27 in ``load_result``). Killed before
(existing tests): 28; 22 were not run against every test that covers them within the time
box (18 ``_streams`` mutants not run on ``test_closed_stdout.py``, 4 ``load_result`` ones not
run at all). Killed after (with this file): 70. Equivalent: 1.

- S24 (no "already guarded" check in ``survives_closed_stderr``): equivalent, the outer
  guard swallows every error, so the inner one never breaks and the outer gives the same
  status.

The tests run in process on stand-in streams and on real pipes (``os.pipe``), so they
are fast; ``test_closed_stdout.py`` covers the same rules end to end in subprocesses.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import io
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from visrec.commands import _streams
from visrec.commands._streams import (
    CLOSED_STDOUT_STATUS,
    _NoStream,
    _StdoutGuard,
    closed_stdout_status,
    say_note,
    say_written,
    stdout_closed,
    stdout_failed_status,
    survives_closed_stderr,
    survives_closed_stdout,
)
from visrec.data.load_result import BadRecord, LoadResult, by_kind_text, encoding_warnings
from visrec.data.text_files import DecodedText

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


class _Stream(io.StringIO):
    """A stand-in stream: its writes or its flush fail with ``write_exc`` /
    ``flush_exc``; counts the calls that reached it."""

    def __init__(self, write_exc: OSError | None = None, flush_exc: OSError | None = None) -> None:
        super().__init__()
        self.write_exc, self.flush_exc = write_exc, flush_exc
        self.writes = self.flushes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        if self.write_exc is not None:
            raise self.write_exc
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1
        if self.flush_exc is not None:
            raise self.flush_exc


def _gone() -> BrokenPipeError:
    return BrokenPipeError(errno.EPIPE, "Broken pipe")


# --- say_note / say_written --------------------------------------------------------


def test_a_note_reaches_a_block_buffered_stderr_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a host whose stderr is not line-buffered still sees a progress note as it is said
    raw = io.BytesIO()
    err = io.TextIOWrapper(raw, encoding="utf-8", line_buffering=False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", out)
    say_note("reading ratings.csv")
    assert raw.getvalue() == b"reading ratings.csv\n"
    assert out.getvalue() == ""


def test_wrote_lines_follow_a_blank_line_and_skip_missing_paths(
    capsys: pytest.CaptureFixture[str],
) -> None:
    say_written("a.json", None, "", Path("b.html"))
    assert capsys.readouterr() == ("\nwrote a.json\nwrote b.html\n", "")
    say_written(None, "")
    assert capsys.readouterr() == ("", "")  # nothing written: not even the blank line


# --- _StdoutGuard ------------------------------------------------------------------


def test_a_guard_drops_output_once_the_reader_has_gone() -> None:
    stream = _Stream(write_exc=_gone())
    guard = _StdoutGuard(stream)
    assert guard.write("abc") == 3  # said as written: print() goes on
    assert guard.broken and guard.failed is None
    stream.write_exc = None
    assert guard.write("later") == 5
    guard.flush()
    assert stream.writes == 1 and stream.flushes == 0  # nothing more reached it
    assert stream.getvalue() == ""


def test_a_guard_keeps_a_failure_that_is_not_a_closed_pipe() -> None:
    guard = _StdoutGuard(_Stream(write_exc=ENOSPC))
    guard.write("x")
    assert guard.broken and guard.failed is ENOSPC
    flushing = _StdoutGuard(_Stream(flush_exc=ENOSPC))
    flushing.write("x")
    flushing.flush()
    assert flushing.broken and flushing.failed is ENOSPC


def test_a_guard_passes_on_what_it_does_not_handle() -> None:
    stream = _Stream()
    guard = _StdoutGuard(stream)
    assert guard.write("hi") == 2
    assert guard.getvalue() == "hi"  # the stream's own method
    assert guard.encoding is stream.encoding


def test_a_closed_stdout_is_a_bad_descriptor_not_a_closed_pipe() -> None:
    with pytest.raises(OSError) as info:
        _NoStream().write("x")
    assert info.value.errno == errno.EBADF and not isinstance(info.value, BrokenPipeError)


# --- closed_stdout_status / _to_devnull -------------------------------------------


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_after_the_reader_left_stdout_goes_to_devnull(monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    with open(w, "w") as out:
        monkeypatch.setattr(sys, "stdout", out)
        before = _fds()
        assert closed_stdout_status() == CLOSED_STDOUT_STATUS == 141
        assert closed_stdout_status(130) == 130  # the command's own failure wins
        assert _fds() == before  # devnull's descriptor closed again
        os.write(w, b"the last flush")
        monkeypatch.undo()
    assert os.read(r, 100) == b""  # not in the pipe: only its end
    os.close(r)


def test_a_stand_in_with_no_descriptor_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert closed_stdout_status(0) == 141


def test_a_failed_stdout_is_one_error_line_and_status_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert stdout_failed_status(ENOSPC) == 1
    assert stdout_failed_status(ENOSPC, 2) == 2
    assert stdout_failed_status(OSError("odd")) == 1
    assert capsys.readouterr() == (
        "",
        "error: cannot write to stdout (No space left on device)\n" * 2
        + "error: cannot write to stdout (odd)\n",
    )


# --- survives_closed_stderr --------------------------------------------------------


def _say(status: int) -> int:
    print("a note", file=sys.stderr)
    return status


@pytest.mark.parametrize(("status", "expected"), [(0, 141), (2, 2)])
def test_a_stderr_whose_reader_left_gives_141_unless_the_command_failed(
    status: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = _Stream(write_exc=_gone())
    monkeypatch.setattr(sys, "stderr", stream)
    assert survives_closed_stderr(lambda: _say(status)) == expected
    assert sys.stderr is stream  # put back


def test_a_stderr_that_fails_otherwise_keeps_the_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Stream(write_exc=ENOSPC))
    assert survives_closed_stderr(lambda: _say(0)) == 0  # `2> /dev/full`: nothing to say


def test_a_stderr_pipe_closed_at_the_last_flush_gives_141(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Stream(flush_exc=_gone())
    monkeypatch.setattr(sys, "stderr", stream)
    assert survives_closed_stderr(lambda: 0) == 141
    assert stream.flushes == 1


def test_no_stderr_runs_the_command_unguarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", None)
    seen: list[object] = []

    def run() -> int:
        seen.append(sys.stderr)
        return 4

    assert survives_closed_stderr(run) == 4
    assert seen == [None] and sys.stderr is None


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_after_stderrs_reader_left_the_rest_goes_to_devnull(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r, w = os.pipe()
    with open(w, "w") as err:
        monkeypatch.setattr(sys, "stderr", err)

        def run() -> int:
            sys.stderr._lost(_gone())  # type: ignore[union-attr]  # the reader left here
            return 0

        assert survives_closed_stderr(run) == 141
        os.write(w, b"an error line")
        monkeypatch.undo()
    assert os.read(r, 100) == b""
    os.close(r)


# --- survives_closed_stdout / stdout_closed ----------------------------------------


def _printing(status: int, lines: int = 1) -> argparse.Namespace:
    return argparse.Namespace(status=status, lines=lines)


@survives_closed_stdout
def _command(args: argparse.Namespace) -> int:
    for i in range(args.lines):
        print(f"result {i}")
    return int(args.status)


def test_a_command_puts_stdout_back(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Stream()
    monkeypatch.setattr(sys, "stdout", stream)
    assert _command(_printing(0)) == 0
    assert sys.stdout is stream and stream.getvalue() == "result 0\n"


@pytest.mark.parametrize(("status", "expected"), [(0, 141), (3, 3)])
def test_a_reader_that_left_gives_141_unless_the_command_failed(
    status: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", _Stream(write_exc=_gone()))
    assert _command(_printing(status)) == expected


def test_a_pipe_closed_at_the_commands_last_flush_gives_141(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the table sat whole in the buffer: the guard's own flush meets the closed pipe
    stream = _Stream(flush_exc=_gone())
    monkeypatch.setattr(sys, "stdout", stream)
    assert _command(_printing(0)) == 141
    assert stream.getvalue() == "result 0\n" and stream.flushes == 1


@pytest.mark.parametrize(("status", "expected"), [(0, 1), (2, 2)])
def test_a_full_stdout_keeps_the_commands_own_failure(
    status: int, expected: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _Stream(write_exc=ENOSPC))
    assert _command(_printing(status)) == expected
    assert capsys.readouterr().err == "error: cannot write to stdout (No space left on device)\n"


@pytest.mark.parametrize(
    ("lines", "status", "expected"), [(0, 0, 0), (0, 3, 3), (1, 0, 1), (1, 2, 2)]
)
def test_a_command_started_with_stdout_closed(
    lines: int,
    status: int,
    expected: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    assert _command(_printing(status, lines)) == expected
    assert sys.stdout is None  # put back
    said = "error: cannot write to stdout (Bad file descriptor)\n" if lines else ""
    assert capsys.readouterr().err == said


def test_stdout_closed_flushes_first_and_is_false_outside_a_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", _Stream(flush_exc=_gone()))
    assert stdout_closed() is False  # not guarded: a closed stdout raises there instead
    seen: list[bool] = []

    @survives_closed_stdout
    def run(args: argparse.Namespace) -> int:
        print("a table")
        seen.append(stdout_closed())  # the buffered table met the closed pipe
        return 0

    assert run(argparse.Namespace()) == 141
    assert seen == [True]


def test_a_command_run_by_another_sees_the_reader_leave(monkeypatch: pytest.MonkeyPatch) -> None:
    # one guard: the inner command (evaluate inside a runner) must learn that its table
    # was not handed over, or it drops its resume record
    monkeypatch.setattr(sys, "stdout", _Stream(write_exc=_gone()))
    seen: list[object] = []

    @survives_closed_stdout
    def inner(args: argparse.Namespace) -> int:
        print("inner table")
        seen.append(stdout_closed())
        seen.append(sys.stdout)
        return 0

    @survives_closed_stdout
    def outer(args: argparse.Namespace) -> int:
        seen.append(sys.stdout)
        return inner(args)

    assert outer(argparse.Namespace()) == 141
    assert seen[1] is True and seen[0] is seen[2]


# --- load_result ------------------------------------------------------------------


def _bad(kinds: str) -> list[BadRecord]:
    return [BadRecord("r.csv", i + 2, k, f"reason {i}") for i, k in enumerate(kinds)]


def test_a_bad_record_names_file_and_line_and_cannot_change() -> None:
    rec = BadRecord("r.csv", 17, "null rating", "rating is empty")
    assert str(rec) == "r.csv:17: rating is empty"
    assert len({rec, BadRecord("r.csv", 17, "null rating", "rating is empty")}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.line = 3  # type: ignore[misc]


def test_counts_by_kind_read_with_thousands_and_most_frequent_first() -> None:
    assert by_kind_text({"missing rating": 1400, "empty user id": 3}) == (
        "1,403 (missing rating 1,400, empty user id 3)"
    )
    res = LoadResult(pd.DataFrame({"a": [1, 2]}), bad=_bad("abb"))
    assert list(res.bad_by_kind().items()) == [("b", 2), ("a", 1)]
    assert (res.n_rows, res.n_bad) == (2, 3)


def test_describe_bad_shows_limit_records_then_the_rest_counted() -> None:
    assert LoadResult(pd.DataFrame()).describe_bad() == "bad records: 0"
    five = LoadResult(pd.DataFrame(), bad=_bad("aaaaa"))
    assert five.describe_bad() == "\n".join(
        ["bad records: 5 (a 5)", *(f"  r.csv:{i + 2}: reason {i}" for i in range(5))]
    )
    seven = LoadResult(pd.DataFrame(), bad=_bad("aaaaaaa"))
    assert seven.describe_bad(2).splitlines() == [
        "bad records: 7 (a 7)",
        "  r.csv:2: reason 0",
        "  r.csv:3: reason 1",
        "  ... and 5 more",
    ]


def test_report_lines_say_skipped_records_and_kept_warnings() -> None:
    assert LoadResult(pd.DataFrame({"a": [1]})).report_lines("r.csv") == []
    warn = [BadRecord("r.csv", i, "extra fields", f"merged {i}") for i in range(1, 5)]
    res = LoadResult(pd.DataFrame({"a": range(10)}), bad=_bad("aaaa"), warnings=warn)
    assert res.report_lines("r.csv") == [
        "r.csv: skipped 4 records; bad records: 4 (a 4)\n  r.csv:2: reason 0\n"
        "  r.csv:3: reason 1\n  r.csv:4: reason 2\n  ... and 1 more",
        "r.csv: 4 warnings, rows kept: r.csv:1: merged 1; r.csv:2: merged 2; "
        "r.csv:3: merged 3 ... and 1 more",
    ]
    three = LoadResult(pd.DataFrame(), warnings=warn[:3])
    assert three.report_lines("r.csv") == [
        "r.csv: 3 warnings, rows kept: r.csv:1: merged 1; r.csv:2: merged 2; r.csv:3: merged 3"
    ]


def test_to_interactions_keeps_every_row() -> None:
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"]})
    inter = LoadResult(frame).to_interactions()
    assert (inter.n_users, inter.n_items, len(inter)) == (2, 2, 3)


def test_encoding_warnings_name_their_lines() -> None:
    assert encoding_warnings(DecodedText("x", "utf-8"), "r.csv") == []
    decoded = DecodedText("x", "utf-8", warning=(7, "line 7 is not UTF-8"), joined=(40, 1200))
    mixed, joined = encoding_warnings(decoded, "r.csv")
    assert mixed == BadRecord("r.csv", 7, "mixed encodings", "line 7 is not UTF-8")
    assert (joined.file, joined.line, joined.kind) == ("r.csv", 40, "byte-order mark inside")
    assert joined.reason.startswith("1,200 lines begin with a byte-order mark")


def test_the_module_keeps_its_names() -> None:
    assert _streams.CLOSED_STDOUT_STATUS == 141
