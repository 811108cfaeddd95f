"""Ctrl-C during `visrec fetch` stops at once: downloads in progress are not waited for
(up to ``--max-time``, 60 s, each), nothing partial is left in the cache, the images
fetched before are kept and reused by the next run.

The fetch runs in a subprocess that gets a real SIGINT; every server is a local one on
127.0.0.1 started here.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from PIL import Image

from quiet_http import full_listener, serving
from visrec.cli import main
from visrec.images.fetch import cache_key


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 10, 200)).save(buf, format="JPEG")
    return buf.getvalue()


JPEG = _jpeg()
SLOW_S = 30.0  # how long a slow answer takes: what the bug made Ctrl-C wait for
# Ctrl-C must end the run well within this (it takes about a second with the fix)
PROMPT_S = 8.0


@dataclass
class Server:
    base: str
    hits: Counter = field(default_factory=Counter)
    slow: threading.Event = field(default_factory=threading.Event)  # set: slow paths are slow

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server() -> Iterator[Server]:
    lock = threading.Lock()
    done = threading.Event()  # teardown: every slow answer ends
    state = Server(base="")
    state.slow.set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _headers(self, code: int, length: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.flush()

        def do_GET(self) -> None:
            with lock:
                state.hits[self.path] += 1
            kind = self.path.strip("/").split("-")[0]
            if kind == "busy":  # always 503: the fetcher retries after a backoff
                self._headers(503, 0)
            elif kind == "ok" or not state.slow.is_set():
                self._headers(200, len(JPEG))
                self.wfile.write(JPEG)
            elif kind == "trickle":  # headers, then a byte every 0.2 s: reads return
                self._headers(200, len(JPEG))
                t_end = time.monotonic() + SLOW_S
                for i in range(len(JPEG)):
                    if done.wait(0.2) or time.monotonic() > t_end:
                        return
                    self.wfile.write(JPEG[i : i + 1])
                    self.wfile.flush()
            elif kind == "silent":  # headers, then nothing: a read blocks (--timeout 10)
                self._headers(200, len(JPEG))
                done.wait(SLOW_S)
            elif kind == "mute":  # not even the headers
                done.wait(SLOW_S)
            else:
                self._headers(404, 0)

    with serving(Handler) as base:
        state.base = base
        try:
            yield state
        finally:
            done.set()  # before the shutdown: the slow handlers wait on it


def _interrupt(
    cmd: list[str], ready: Callable[[], bool], cwd: Path, sig: int = signal.SIGINT
) -> tuple[int, str, str, float]:
    """Run ``cmd``, send it ``sig`` (SIGINT) once ``ready()``; (exit status, stdout,
    stderr, seconds from the signal to the exit)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # Ctrl-C as in a terminal, even when pytest runs as a background job that ignores
    # SIGINT (a child inherits that, and Python then leaves it ignored): a handled
    # signal is the default again in the child after exec. Likewise SIGHUP under nohup,
    # which the child would otherwise ignore as asked (its case then never stopped)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    old_hup = signal.signal(signal.SIGHUP, lambda *_: None)
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
    finally:
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGHUP, old_hup)
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None, f"ended before the interrupt: {proc.communicate()}"
            assert time.monotonic() < deadline, "the downloads never started"
            time.sleep(0.02)
        time.sleep(0.3)  # the requests are being answered: downloads in progress
        t0 = time.monotonic()
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=3 * PROMPT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"still running {3 * PROMPT_S:g}s after Ctrl-C; stderr: {err[-2000:]}")
        return proc.returncode, out, err, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _syn_sent(port: int) -> int | None:
    """How many IPv4 sockets are connecting (SYN_SENT) to ``port`` on this machine;
    None where ``/proc/net/tcp`` is not there (not Linux)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    # "sl local_address rem_address st ...": rem_address is HEXIP:HEXPORT, 02 SYN_SENT
    return sum(
        1
        for f in (line.split() for line in lines)
        if len(f) > 3 and f[2].endswith(f":{port:04X}") and f[3] == "02"
    )


def _manifest(tmp_path: Path, server: Server, paths: list[str]) -> Path:
    urls = tmp_path / "urls.csv"
    rows = [f"item{i},{server.url(p)}" for i, p in enumerate(paths)]
    urls.write_text("item_id,url\n" + "\n".join(rows) + "\n")
    return urls


SLOW_PATHS = ["/trickle-1.jpg", "/trickle-2.jpg", "/silent-1.jpg", "/mute-1.jpg"]


@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_ctrl_c_stops_downloads_in_progress_at_once_and_leaves_no_partial_file(
    server: Server, tmp_path: Path, sig: int, status: int
) -> None:
    # SIGTERM (timeout, docker stop) and SIGHUP (a dropped SSH session) are stopped the
    # same way, with 128 + the signal
    urls = _manifest(tmp_path, server, SLOW_PATHS)
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "visrec", "fetch", str(urls), "--cache", str(cache)]
    rc, _, err, took = _interrupt(
        [*cmd, "--quiet", "--workers", "8"],
        lambda: all(server.hits[p] for p in SLOW_PATHS),
        tmp_path,
        sig,
    )
    assert rc == status, err
    assert took < PROMPT_S, f"took {took:.1f}s after Ctrl-C; stderr: {err}"
    lines = err.strip().splitlines()
    assert lines == [
        "interrupted: 4 downloads in progress stopped (nothing of them kept); the cache has "
        "0 of the 4 images; run the same command again to fetch them and write the manifest"
    ], err
    # nothing at all: no image, no hidden temp file (.<name>.<random>.part), no manifest,
    # not even the cache folder the run made (left empty)
    assert not cache.exists()


def test_images_fetched_before_ctrl_c_are_kept_and_the_next_run_reuses_them(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fast = ["/ok-1.jpg", "/ok-2.jpg", "/ok-3.jpg"]
    slow = ["/trickle-1.jpg", "/silent-1.jpg"]
    urls = _manifest(tmp_path, server, fast + slow)
    cache = tmp_path / "cache"
    kept = {cache / f"{cache_key(server.url(p))}.jpg" for p in fast}
    cmd = [sys.executable, "-m", "visrec", "fetch", str(urls), "--cache", str(cache)]
    rc, _, err, took = _interrupt(
        [*cmd, "--quiet", "--workers", "8"],
        lambda: all(server.hits[p] for p in slow) and all(f.exists() for f in kept),
        tmp_path,
    )
    assert rc == 130, err
    assert took < PROMPT_S, f"took {took:.1f}s after Ctrl-C; stderr: {err}"
    assert "2 downloads in progress stopped" in err and "the cache has 3 of the 5 images" in err
    assert set(cache.iterdir()) == kept  # no temp file, no manifest
    assert all(f.read_bytes() == JPEG for f in kept)

    # the server is fast now: the next run downloads only the two stopped ones
    server.slow.clear()
    before = Counter(server.hits)
    report = tmp_path / "fetch.json"
    assert main(["fetch", str(urls), "--cache", str(cache), "--quiet", "--json", str(report)]) == 0
    got = json.loads(report.read_text())
    assert (got["n_cached"], got["n_downloaded"], got["n_failed"]) == (3, 2, 0)
    assert {p: server.hits[p] - before[p] for p in fast + slow} == {
        **dict.fromkeys(fast, 0),
        **dict.fromkeys(slow, 1),
    }
    assert "wrote" in capsys.readouterr().out and (cache / "manifest.csv").is_file()


def test_ctrl_c_ends_a_backoff_wait_between_retries(server: Server, tmp_path: Path) -> None:
    # a 503 is retried after backoff * 2**k seconds: 60 s here, which Ctrl-C must cut short
    script = (
        "import sys\n"
        "from visrec.images.fetch import fetch_images\n"
        "try:\n"
        "    fetch_images([sys.argv[1]], sys.argv[2], backoff=60.0, progress=False)\n"
        "except KeyboardInterrupt as exc:  # FetchInterrupted\n"
        "    print(exc.n_stopped, len(exc.report.paths), len(exc.report.errors))\n"
        "    sys.exit(130)\n"
    )
    cache = tmp_path / "cache"
    rc, out, err, took = _interrupt(
        [sys.executable, "-c", script, server.url("/busy-1.jpg"), str(cache)],
        lambda: server.hits["/busy-1.jpg"] > 0,
        tmp_path,
    )
    assert rc == 130, err
    assert took < PROMPT_S, f"took {took:.1f}s after Ctrl-C; stderr: {err}"
    assert out.split() == ["1", "0", "0"]  # stopped, not reported as a failure
    assert server.hits["/busy-1.jpg"] == 1  # no attempt after the interrupt
    assert sorted(os.listdir(cache)) == []


def test_ctrl_c_ends_a_connect_to_a_silent_host(tmp_path: Path) -> None:
    # A listener whose accept queue is full: Linux drops further SYNs, so a connect
    # blocks until --timeout (20 s here) unless the stop shuts its socket first.
    listener, fillers = full_listener()
    port = listener.getsockname()[1]
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\na,http://127.0.0.1:{port}/a.jpg\n")
    cache = tmp_path / "cache"
    fillers_waiting = _syn_sent(port)
    started = time.monotonic()
    cmd = [sys.executable, "-m", "visrec", "fetch", str(urls), "--cache", str(cache)]
    try:
        rc, _, err, took = _interrupt(
            [*cmd, "--quiet", "--timeout", "20"],
            # connecting: one more socket waits for the port (a fixed 2 s was too short
            # on a busy machine, still importing, and Ctrl-C came before the handler);
            # without /proc/net/tcp, 2 s after the start
            lambda: (
                _syn_sent(port) > fillers_waiting  # type: ignore[operator]
                if fillers_waiting is not None
                else time.monotonic() - started > 2.0
            ),
            tmp_path,
        )
    finally:
        for s in fillers:
            s.close()
        listener.close()
    assert rc == 130, err
    assert took < PROMPT_S, f"took {took:.1f}s after Ctrl-C; stderr: {err}"
    assert "1 download in progress stopped" in err, err
    assert not cache.exists()  # the run made it and kept nothing in it


def test_the_note_of_a_ctrl_c_after_every_url_was_tried() -> None:
    from visrec.commands.fetch import _interrupted_note
    from visrec.images.fetch import FetchReport

    report = FetchReport(urls=["u1", "u2", "u3"])
    report.paths = {"u1": Path("a.jpg"), "u2": Path("b.jpg")}
    report.errors = {"u3": "http 404: Not Found"}
    assert _interrupted_note(report, 0) == (
        "interrupted: the cache has 2 of the 3 images (every URL was tried); run the same "
        "command again to write the manifest"
    )
    del report.errors["u3"]  # u3 neither fetched nor failed: it was still to come
    assert _interrupted_note(report, 0).endswith("to fetch the rest and write the manifest")
