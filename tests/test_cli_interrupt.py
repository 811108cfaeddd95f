"""After a Ctrl-C, any failure is reported as the interrupt (exit 130, one line), not a
traceback: compiled code can turn the KeyboardInterrupt into another exception."""

from __future__ import annotations

import argparse
import io
import os
import signal
from collections.abc import Callable, Iterator

import pytest

import visrec.commands.report as report_cmd
from visrec.cli import main
from visrec.errors import VisrecError


def _ctrl_c_then(exc: Exception) -> Callable[..., int]:
    def run(*args: object) -> int:
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            raise exc from None  # what an interrupted compiled import did
        raise AssertionError("no KeyboardInterrupt")

    return run


@pytest.fixture(autouse=True)
def _default_handler() -> Iterator[None]:
    # as in a terminal, also when pytest runs as a background job that ignores SIGINT
    # (these tests would otherwise all be skipped there)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_a_failure_after_ctrl_c_is_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_cmd, "run", _ctrl_c_then(ValueError("half-imported module")))
    assert main(["report", "r.json", "-o", "r.html"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_failure_without_ctrl_c_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(args: argparse.Namespace) -> int:
        raise ValueError("a bug")

    monkeypatch.setattr(report_cmd, "run", run)
    with pytest.raises(ValueError, match="a bug"):
        main(["report", "r.json", "-o", "r.html"])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("CUDA error"),
        OSError(5, "Input/output error"),
        MemoryError(),
        VisrecError("x.parquet: cannot read (a wrapped interrupt)"),
    ],
)
def test_any_failure_after_ctrl_c_is_the_interrupt(
    exc: Exception, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_cmd, "run", _ctrl_c_then(exc))
    assert main(["report", "r.json", "-o", "r.html"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize(
    "exc", [io.UnsupportedOperation("fileno"), OSError("a library's own OSError, no errno")]
)
def test_an_oserror_that_is_a_bug_keeps_its_traceback(
    exc: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setattr(report_cmd, "run", run)
    with pytest.raises(type(exc)):
        main(["report", "r.json", "-o", "r.html"])


def test_ctrl_c_during_the_onnx_import_is_no_reason_to_fall_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """engine="auto" falls back to torch when ONNX Runtime cannot start; a Ctrl-C that
    came out of its C-extension import as an ImportError used to be taken for that,
    and the run went on with torch and exit 0."""
    import visrec.commands.embed as embed_cmd
    from test_embed import TinyBackbone
    from visrec.embed import engines

    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "onnx")
    monkeypatch.setattr(
        engines,
        "_make_onnx",
        _ctrl_c_then(ImportError("initialization failed")),  # type: ignore[arg-type]
    )
    fell_back: list[object] = []
    monkeypatch.setattr(engines, "TorchEngine", lambda *a: fell_back.append(a))

    def run(args: argparse.Namespace) -> int:
        engines.make_engine(TinyBackbone(), "auto", "cpu")
        return 0

    monkeypatch.setattr(embed_cmd, "run", run)
    assert main(["embed", "imgs", "-o", "v.parquet"]) == 130
    assert capsys.readouterr().err == "interrupted\n" and fell_back == []
    from visrec import _interrupt

    assert not _interrupt.pressed()  # the next call in this process starts afresh
    # without a Ctrl-C the same ImportError is a missing engine: torch takes over
    monkeypatch.setattr(engines, "_make_onnx", _raise(ImportError("no onnxruntime")))
    with pytest.warns(RuntimeWarning, match="falling back to torch"):
        assert main(["embed", "imgs", "-o", "v.parquet"]) == 0
    assert len(fell_back) == 1


def _raise(exc: Exception) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise exc

    return fail


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_is_an_interrupt_with_the_status_of_the_signal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    sig: int,
    status: int,
) -> None:
    # by default a SIGTERM (timeout, docker stop, a scheduler) or a SIGHUP (a terminal
    # or SSH session gone) kills at once, leaving the temporary files and locks a
    # Ctrl-C removes
    before = signal.signal(sig, signal.SIG_DFL)  # the state of a fresh process
    request.addfinalizer(lambda: signal.signal(sig, before))
    cleaned = []

    def run(args: argparse.Namespace) -> int:
        try:
            os.kill(os.getpid(), sig)
            raise AssertionError("no interrupt")
        finally:
            cleaned.append(True)

    monkeypatch.setattr(report_cmd, "run", run)
    assert main(["report", "r.json", "-o", "r.html"]) == status
    assert capsys.readouterr().err == "interrupted\n" and cleaned == [True]
    assert signal.getsignal(sig) == signal.SIG_DFL  # put back
    # and a Ctrl-C after it is 130 again
    monkeypatch.setattr(report_cmd, "run", _ctrl_c_then(ValueError("half-imported")))
    assert main(["report", "r.json", "-o", "r.html"]) == 130


def test_an_ignored_sighup_stays_ignored(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # `nohup visrec ...`: the run must go on when the terminal goes
    real_handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    request.addfinalizer(lambda: [signal.signal(s, h) for s, h in real_handlers.items()])
    monkeypatch.setattr(
        signal, "getsignal", lambda s: signal.SIG_IGN if s == signal.SIGHUP else signal.SIG_DFL
    )
    set_to: list[int] = []
    real = signal.signal
    monkeypatch.setattr(signal, "signal", lambda s, h: (set_to.append(s), real(s, h))[1])
    monkeypatch.setattr(report_cmd, "run", lambda args: 0)
    assert main(["report", "r.json", "-o", "r.html"]) == 0
    assert signal.SIGHUP not in set_to and signal.SIGTERM in set_to
