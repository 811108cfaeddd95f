"""Session 63's mutation audit of the low-level HTTP GET (visrec.images.http_get).

60 mutants were applied one at a time (flipped comparisons, dropped branches and
checks, changed constants, retry flags, Retry-After parsing, the watchdog's timer and
socket shutting, the redirect checks, the read loop), each run against every test that
calls into the module (found by profiling) and the Ctrl-C subprocess tests.

Counts: total 60; killed before 42; killed after (with this file) 51; equivalent 9:

- value.strip() dropped in retry_after: float() and the date parser both ignore
  surrounding whitespace (and http.client strips header values).
- "when is None" dropped: since Python 3.10 parsedate_to_datetime raises ValueError
  instead of returning None (the project needs 3.11).
- IndexError dropped from the caught errors: 3.11's date parser raises none (700k
  fuzzed dates tried); it guards older parsers.
- source_address bind dropped in _watched_connection: urllib's connections never
  pass one.
- the HTTPS handler's context not passed to do_open: HTTPSHandler() is built without
  one, so it is None either way and http.client builds its default context.
- .lower() of a redirect's scheme dropped: urlsplit already lowercases the scheme.
- the stop check before each read dropped: a stop shuts the sockets, so the next read
  returns at most bytes already buffered, then EOF, and download's checks after the
  read raise Stopped anyway (a stop before the connect fails the request's send).
- ``except FetchError: raise`` dropped: no later clause of _read catches FetchError.
- READ_SIZE made 1: the same bytes, read more slowly.

Also fixed: ``download`` of a URL urllib cannot parse (``http://[::1/x``) raised a bare
ValueError, not the FetchError the module promises (``visrec fetch`` checks URLs first,
so only a direct caller saw it); the last test pins it.

No network: local servers on 127.0.0.1 only. Each test names the mutant it kills.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from quiet_http import QuietHandler, full_listener, serving
from visrec.images.http_get import (
    FetchError,
    Stop,
    Stopped,
    Watchdog,
    _watched_connection,
    download,
    hide_password,
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """``/busy``: a 503 with ``Retry-After: 0``; ``/half``: a chunked body whose first
    chunk of 100 bytes comes at once, then silence; ``/short``: 99 bytes of a
    Content-Length of 100; ``/to/bad-host``: a redirect to a host urllib cannot parse."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/busy":
                self._send(503, b"busy", {"Retry-After": "0"})
            elif self.path == "/half":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"64\r\n" + b"h" * 100 + b"\r\n")
                self.wfile.flush()
                time.sleep(5.0)
            elif self.path == "/short":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"s" * 99)
            elif self.path == "/to/bad-host":
                self._send(302, b"", {"Location": "http://[abc]/x"})
            else:
                self._send(404, b"?")

    with serving(Handler) as url:
        yield url


def test_a_retry_after_of_zero_is_still_reported(base: str) -> None:
    """M03 (``elif wait is not None`` made ``elif wait``): a server asking to wait 0 s
    asked for something, and the report says so like any other wait."""
    with pytest.raises(FetchError) as info:
        download(base + "/busy", timeout=5.0, max_bytes=1000, max_time=20.0)
    err = info.value
    assert str(err) == "http 503: Service Unavailable (the server asked to wait 0s)"
    assert err.wait == 0.0
    assert err.retry is True


def test_a_socket_connected_after_max_time_ran_out_is_shut_at_once() -> None:
    """M17 (``connected`` shutting a late socket only after a stop, not after expiry):
    its read ends at once instead of waiting for data."""
    a, b = socket.socketpair()
    try:
        dog = Watchdog(30.0)
        dog._expire()
        dog.connected(a)
        a.settimeout(1.0)
        assert a.recv(1) == b""
        assert dog.expired and not dog.stopped
    finally:
        a.close()
        b.close()


def test_a_finished_attempt_is_never_marked_expired_later() -> None:
    """M19 (the timer not cancelled on exit): it fired after the attempt was over,
    marking it expired and keeping a thread alive for ``max_time`` per download."""
    with Watchdog(0.2) as dog:
        pass
    time.sleep(0.5)
    assert not dog.expired


def test_an_attempt_left_open_does_not_hold_up_exit() -> None:
    """The timer is a daemon thread: a process ending while an attempt is open (Ctrl-C
    in a worker) exits at once, not after ``max_time``."""
    script = (
        "from visrec.images.http_get import Watchdog\n"
        "Watchdog(30.0).__enter__()\n"
        "print('left', flush=True)\n"
    )
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=25)
    assert out.stdout == "left\n"
    assert time.monotonic() - t0 < 15.0


def test_a_connect_cut_off_by_a_stop_tries_no_other_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """M24 (only a max_time expiry taken as a shut on purpose): a host with two silent
    addresses; a stop (Ctrl-C) ends the first connect and no second one starts (it
    would wait the whole ``timeout``)."""
    listener, fillers = full_listener()
    addr = listener.getsockname()
    two = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr)] * 2
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: two)
    stop = Stop()
    timer = threading.Timer(0.3, stop.set)
    try:
        t0 = time.monotonic()
        with Watchdog(30.0, stop) as dog, pytest.raises(OSError):
            timer.start()
            _watched_connection(dog, addr, timeout=5.0)
        took = time.monotonic() - t0
    finally:
        timer.cancel()
        for s in [listener, *fillers]:
            s.close()
    assert dog.stopped and not dog.expired
    assert len(dog._socks) == 1
    assert took < 3.0


def test_hide_password_leaves_a_url_it_cannot_parse_as_it_is() -> None:
    """M33 (urlsplit's ValueError not caught): a URL with an unclosed IPv6 bracket is
    printed as given, not a crash in the middle of a report."""
    assert hide_password("http://u:pw@[::1/x") == "http://u:pw@[::1/x"


def test_a_stop_during_the_body_is_a_stop_not_a_truncated_download(base: str) -> None:
    """M35 (the stop check dropped where the reader failed): a stop while a chunked body
    is arriving made the shut socket look like a truncated download, which is
    retried."""
    stop = Stop()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(Stopped):
            download(base + "/half", timeout=10.0, max_bytes=10_000, max_time=20.0, stop=stop)
        assert time.monotonic() - t0 < 3.0
    finally:
        timer.cancel()


def test_a_body_one_byte_short_of_its_length_is_truncated(base: str) -> None:
    """M44 (``len(buf) < length`` made ``< length - 1``): 99 bytes of 100 are a cut-off
    download to retry, not an image."""
    with pytest.raises(FetchError) as info:
        download(base + "/short", timeout=5.0, max_bytes=1000, max_time=20.0)
    assert str(info.value) == "truncated download: got 99 of 100 bytes"
    assert info.value.retry is True


def test_a_redirect_to_a_url_urllib_cannot_parse_is_invalid_not_retried(base: str) -> None:
    """M53 (urllib's ValueError retried): the redirect says the same thing every time."""
    with pytest.raises(FetchError) as info:
        download(base + "/to/bad-host", timeout=5.0, max_bytes=1000, max_time=20.0)
    err = info.value
    assert str(err) == "invalid url: 'abc' does not appear to be an IPv4 or IPv6 address"
    assert err.retry is False


@pytest.mark.parametrize("url", ["http://[::1/x", "http://[abc]/x"])
def test_download_of_an_unparseable_url_is_a_fetch_error_not_a_value_error(url: str) -> None:
    # the module promises FetchError or Stopped; urllib's Request raised ValueError
    with pytest.raises(FetchError) as caught:
        download(url, timeout=1, max_bytes=100, max_time=2)
    assert caught.value.kind == "invalid url" and not caught.value.retry
