"""The exit status of a raw OSError that reaches the CLI's last fallback: 1 when the
system refused (no permission, a full disk), 2 for a wrong path or name (a folder given
for a file, a name too long), as a worded ReadError or WriteError of the same errno has
(before, every such OSError exited 1, so a script could not tell them apart)."""

from __future__ import annotations

import errno

import pytest

import visrec.commands.report as report_cmd
from test_s61_cli_mutants import REPORT, _one_error, _raising
from visrec.cli import main
from visrec.errors import ReadError, WriteError, failed_call_status


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (errno.EACCES, 1),
        (errno.ENOSPC, 1),
        (errno.EIO, 1),
        (errno.ENOTDIR, 2),
        (errno.ENAMETOOLONG, 2),
        (errno.EISDIR, 2),
    ],
)
def test_a_raw_os_error_exits_as_a_worded_one_of_its_errno(
    err: int,
    status: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os

    exc = OSError(err, os.strerror(err), "/d/x.csv")
    monkeypatch.setattr(report_cmd, "run", _raising(exc))
    assert main(REPORT) == status
    assert _one_error(capsys.readouterr().err) == f"error: '/d/x.csv': {os.strerror(err)}"
    # the same status as the worded errors of that errno
    assert ReadError("r", err).exit_status == status
    assert WriteError("w", err).exit_status == status
    assert failed_call_status(err) == status


def test_no_errno_is_no_refusal() -> None:
    assert failed_call_status(None) == 2
