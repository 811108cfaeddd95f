"""visrec demo (session 51): a second SIGTERM during the shutdown the first started, an
interrupt just as a temporary file is made, and the demo's mutation audit."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from visrec import _atomic

SRC = Path(__file__).resolve().parents[1] / "src"

# the child runs the real `visrec demo`; only the demo's cleanup after an interrupt is
# slowed, so that timeout's second SIGTERM (to the process group) surely lands in it
_CHILD = textwrap.dedent(
    """
    import sys, time
    import visrec.commands.demo as demo_cmd

    kept = demo_cmd._kept_runs
    calls = []

    def slow_cleanup(args):
        calls.append(1)
        if len(calls) == 2:  # the first is before the run, the second its cleanup
            print("cleaning up", file=sys.stderr, flush=True)
            time.sleep(2)
        return kept(args)

    demo_cmd._kept_runs = slow_cleanup
    from visrec.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _wait_for(proc: subprocess.Popen[str], start: str, seen: list[str]) -> None:
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        assert line, f"the demo ended before {start!r}: {''.join(seen)}"
        seen.append(line)
        if line.startswith(start):
            return


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is no signal to handle there")
def test_a_second_sigterm_does_not_cut_the_demos_cleanup_short(tmp_path: Path) -> None:
    # it raised a second Terminated inside the cleanup: the line saying what was kept
    # for a rerun was lost (a bare "interrupted" instead); in the embedding's cleanup
    # an inference thread left running aborted the process at exit (status 134)
    child = tmp_path / "child.py"
    child.write_text(_CHILD)
    out = tmp_path / "out"
    argv = [sys.executable, str(child), "demo", "--items", "8", "--users", "4",
            "--image-size", "32", "--no-recommenders", "--out", str(out),
            "--report", str(tmp_path / "r" / "index.html")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    seen: list[str] = []
    try:
        _wait_for(proc, "clustering", seen)  # the vectors are written: kept for a rerun
        proc.send_signal(signal.SIGTERM)
        _wait_for(proc, "cleaning up", seen)
        proc.send_signal(signal.SIGTERM)  # timeout's second one, to the process group
        stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    err = "".join(seen) + err
    assert proc.returncode == 143, err
    assert stdout == "" and "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"interrupted: the image vectors in {out / 'vectors.parquet'} are kept; "
        "run the same command again to resume"
    )
    assert err.count("interrupted") == 1
    assert not (out / "results.json").exists()
    assert not [p.name for p in out.iterdir() if p.name.endswith((".tmp", ".lock"))]


@pytest.fixture
def _sigterm_default(request: pytest.FixtureRequest) -> None:
    # the state of a fresh process, where `visrec` handles SIGTERM itself
    for sig in (signal.SIGTERM, signal.SIGHUP):
        before = signal.signal(sig, signal.SIG_DFL)
        request.addfinalizer(lambda sig=sig, before=before: signal.signal(sig, before))
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, old_int))


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGHUP there")
@pytest.mark.usefixtures("_sigterm_default")
def test_a_repeated_sigterm_is_noted_but_a_ctrl_c_still_interrupts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec.commands.report as report_cmd
    from visrec.cli import main

    steps: list[str] = []

    def run(args: Any) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("no interrupt")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # the repeat: the cleanup goes on
            # killed mutant: the last ending signal reported (129), not the first
            os.kill(os.getpid(), signal.SIGHUP)  # the terminal going too
            steps.append("cleaned")
            try:
                os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C still stops it
                steps.append("not stopped")
            except KeyboardInterrupt:
                steps.append("stopped")

    monkeypatch.setattr(report_cmd, "run", run)
    assert main(["report", "r.json", "-o", "r.html"]) == 143  # the first signal's status
    assert steps == ["cleaned", "stopped"]
    assert capsys.readouterr().err == "interrupted\n"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def _ctrl_c() -> None:
    # sent to the main thread, which the hold covers: a process-wide SIGINT may be taken
    # by another thread of the test process and handled unheld (see _make_empty)
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.mark.parametrize("after", ["open", "close"])
def test_an_interrupt_as_the_temporary_file_is_made_leaves_no_file_nor_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: str
) -> None:
    # where mknod is refused: a real Ctrl-C that arrives during the open(2) or close(2),
    # handled as the call returned, before the descriptor was stored or the caller knew
    # the name, left an empty `.name.<hex>.tmp` (one per interrupted catalogue image,
    # never swept) or an open descriptor; now held until both are done, then raised
    target = tmp_path / "item0001.jpg"
    real = {"open": os.open, "close": os.close}
    fds: list[int] = []

    def refused(*a: Any, **kw: Any) -> None:
        raise PermissionError(1, "Operation not permitted")  # macOS without root

    def open_(path: Any, *a: Any, **kw: Any) -> int:
        fd = real["open"](path, *a, **kw)
        if str(path).endswith(".tmp"):
            fds.append(fd)
            if after == "open":
                _ctrl_c()
        return fd

    def close(fd: int) -> None:
        real["close"](fd)
        if after == "close" and fd in fds:
            _ctrl_c()

    monkeypatch.setattr(_atomic.os, "mknod", refused)
    monkeypatch.setattr(_atomic.os, "open", open_)
    monkeypatch.setattr(_atomic.os, "close", close)
    with pytest.raises(KeyboardInterrupt), _atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"never")
    monkeypatch.undo()
    assert fds and sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(OSError):  # closed (a later open may reuse the number: checked now)
        os.fstat(fds[0])


def test_a_ctrl_c_any_thread_takes_as_the_temporary_file_is_made_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a process-wide SIGINT, which the kernel may give a thread the main thread's hold
    # does not cover (PyTorch's): the file is made without a descriptor to leave open
    target = tmp_path / "item0001.jpg"
    real = os.mknod
    made: list[str] = []

    def mknod(path: Any, *a: Any, **kw: Any) -> None:
        real(path, *a, **kw)
        made.append(os.fspath(path))
        os.kill(os.getpid(), signal.SIGINT)

    def no_open(*a: Any, **kw: Any) -> int:
        raise AssertionError("opened: a descriptor an interrupt could leave open")

    monkeypatch.setattr(_atomic.os, "mknod", mknod)
    monkeypatch.setattr(_atomic.os, "open", no_open)
    with pytest.raises(KeyboardInterrupt), _atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"never")
    monkeypatch.undo()
    assert made and sorted(p.name for p in tmp_path.iterdir()) == []
    with _atomic.atomic_path(target) as tmp:  # made with the same mode as before
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o666 & ~_umask()
        tmp.write_bytes(b"kept")
    assert target.read_bytes() == b"kept"


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_the_generated_catalogue_has_the_documented_size_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # killed mutant: --users defaulting to the item count (320 users, docs/demo.md says 150)
    import visrec.demo.pipeline as pipeline
    from visrec.cli import main

    seen: list[dict[str, Any]] = []

    def fake(*a: Any, **kw: Any) -> Any:
        seen.append(kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_demo", fake)
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--report", str(tmp_path / "r.html"), "-q"]) == 130
    (kw,) = seen
    # docs/demo.md: 320 product photos, 150 users; --help: 224 px
    assert (kw["n_items"], kw["n_users"], kw["image_size"]) == (320, 150, 224)


def _reaches_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *options: str,
    out: Path | None = None,
    report: Path | None = None,
) -> int:
    """``visrec demo OPTIONS``' status, the pipeline stopped as it starts (130)."""
    import visrec.demo.pipeline as pipeline
    from visrec.cli import main

    def stop(*a: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_demo", stop)
    out = out or tmp_path / "out"
    report = report or tmp_path / "r.html"
    return main(["demo", *options, "--out", str(out), "--report", str(report), "-q"])


@pytest.mark.parametrize(
    ("options", "said"),
    [
        # killed mutant: --users / --knn-k floors at 0 (the catalogue's own error came
        # after the folder was made, naming n_users=, not the option)
        (["--users", "0"], "--users must be at least 1, got 0"),
        (["--knn-k", "0"], "--knn-k must be at least 1, got 0"),
        # killed mutant: --max-items 1 taken (a one-item demo: no clusters, no KNN)
        (["--max-items", "1"], "--max-items 1: expected at least 2"),
    ],
)
def test_the_demos_option_floors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    said: str,
) -> None:
    status = _reaches_the_pipeline(monkeypatch, tmp_path, *options)
    assert (status, capsys.readouterr().err) == (2, f"error: {said}\n")
    assert not (tmp_path / "out").exists()


def test_a_results_json_with_some_of_a_demos_keys_is_no_demos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    # killed mutant: any one of a demo's keys taken as a demo's results.json, so the
    # user's vectors.parquet beside it would be replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "vectors.parquet").write_text("the user's")
    (mine / "results.json").write_text(json.dumps({"dataset": "mine", "layout": "x"}))
    assert _reaches_the_pipeline(monkeypatch, tmp_path, out=mine) == 2
    assert "but no sign that a demo wrote them" in capsys.readouterr().err
    assert (mine / "vectors.parquet").read_text() == "the user's"


def test_a_report_path_that_is_a_folder_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # killed mutant: the --report check dropped (the pipeline ran, and only the
    # report's write at the end failed)
    folder = tmp_path / "reports"
    folder.mkdir()
    assert _reaches_the_pipeline(monkeypatch, tmp_path, report=folder) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --report: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_max_items_of_at_least_the_catalogue_is_no_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # killed mutant: --max-items equal to the item count "sampled" every item, with a
    # note saying a random sample of 12 of 12 items was used
    import visrec.embed.extract as extract
    from test_demo import _colour_embedder
    from visrec.demo.pipeline import run_demo

    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    res = run_demo(
        tmp_path / "out", report_path=tmp_path / "r.html", n_items=12, n_users=6,
        image_size=32, max_items=12, recommenders=False, progress=False, echo=None,
    )  # fmt: skip
    assert res.n_items == 12 and not any("sample" in n for n in res.notes)
