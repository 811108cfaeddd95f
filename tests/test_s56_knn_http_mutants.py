"""Session 56's mutation audit of similar-items search (visrec.search.knn) and the
low-level HTTP GET (visrec.images.http_get): tests that kill the mutants no earlier
test noticed. Each test names the mutant it kills (ids as in the audit's report). No
network: a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from quiet_http import QuietHandler, full_listener, serving
from small_vectors import item_vectors as _iv
from visrec import __version__
from visrec.errors import VisrecError
from visrec.images.http_get import (
    FetchError,
    Stop,
    Watchdog,
    _watched_connection,
    download,
    hide_password,
)
from visrec.search.knn import SimilarItems

# ---------------------------------------------------------------- search/knn.py


def test_vectors_of_width_zero_are_no_pictures_to_compare() -> None:
    """K04 (``norms > 0`` made ``>= 0``): a store of ids only (vectors of width 0,
    ``has_image`` kept true) has a zero norm everywhere, so nothing is indexed and a
    query is refused, not answered with scores of 0."""
    vectors = _iv(["a", "b"], [[], []])
    assert vectors.has_image.tolist() == [True, True]
    index = SimilarItems(vectors)
    assert len(index) == 0
    with pytest.raises(VisrecError, match=r"^item 'a' has no usable image"):
        index.query("a")


def test_the_spelling_hint_is_about_the_first_unknown_id_only() -> None:
    """K18 (``respelt(unknown[:1], ...)`` made ``respelt(unknown, ...)``): looking up
    every unknown id named a later one's spelling ('007' as '7') under the first
    ('zz')."""
    index = SimilarItems(_iv(["7", "b"], [[1, 0], [0, 1]]))
    with pytest.raises(VisrecError) as err:
        index.query(["zz", "007"])
    assert str(err.value) == "unknown item id 'zz': not in the vectors file (and 1 more: '007')"


# ---------------------------------------------------------------- images/http_get.py


@dataclass
class Server:
    base: str
    agents: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """``.../img``: 100 bytes; ``/to/ftp``: a redirect to an ftp URL with a password.
    The User-Agent and path of every request are recorded."""
    state: dict[str, Server] = {}

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            srv = state["s"]
            srv.agents.append(self.headers.get("User-Agent", ""))
            srv.paths.append(self.path)
            if self.path.endswith("/img"):
                self._send(200, b"i" * 100)
            elif self.path == "/to/ftp":
                self._send(302, b"", {"Location": "ftp://u:pw@example.invalid/x"})
            else:
                self._send(404, b"?")

    with serving(Handler) as base:
        state["s"] = Server(base)
        yield state["s"]


def _fails(url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        download(url, timeout=5.0, max_bytes=1000, max_time=20.0)
    return info.value


def test_a_fetch_error_is_one_line() -> None:
    """H01 (the detail kept as the library wrote it): line breaks and runs of spaces in
    a detail become single spaces, so a failure is one line of a report."""
    err = FetchError("connection error", "first line\n  second\tline ", True)
    assert str(err) == "connection error: first line second line"


def test_the_request_names_visrec_as_its_user_agent(server: Server) -> None:
    """H41 (no User-Agent header: urllib's Python-urllib/3.x, which some image hosts
    refuse)."""
    assert download(server.base + "/img", 5.0, 1000, 20.0) == b"i" * 100
    assert server.agents[-1] == f"visrec/{__version__}"


def test_a_redirect_to_ftp_is_refused_with_its_password_hidden(server: Server) -> None:
    """H19 (the refused redirect's URL shown with its password)."""
    err = _fails(server.base + "/to/ftp")
    assert str(err) == "invalid url: redirected to 'ftp://u:***@example.invalid/x': not http(s)"
    assert err.retry is False


def test_a_port_that_is_no_number_is_an_invalid_url_not_retried() -> None:
    """H39 (http.client's InvalidURL retried): a bad URL fails the same way each time."""
    err = _fails("http://127.0.0.1:abc/img")
    assert str(err) == "invalid url: nonnumeric port: 'abc'"
    assert err.retry is False


def test_a_proxy_from_the_environment_is_used(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """H42 (no ProxyHandler in the opener): ``http_proxy`` is honoured, the request goes
    to the proxy with the whole URL."""
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", server.base)
    assert download("http://visrec-test.invalid/img", 5.0, 1000, 20.0) == b"i" * 100
    assert server.paths[-1] == "http://visrec-test.invalid/img"


def test_hide_password_hides_all_of_a_password_with_an_at_sign() -> None:
    """H23 (``rpartition("@")`` made ``partition``): the host is after the last '@'."""
    assert hide_password("http://u:p@ss@h.example/x") == "http://u:***@h.example/x"
    assert hide_password("http://u@h.example/x") == "http://u@h.example/x"


def test_a_stop_before_the_attempt_starts_halts_it() -> None:
    """H10 (``track`` not halting a watchdog that comes after ``Stop.set``)."""
    stop = Stop()
    stop.set()
    with Watchdog(30.0, stop) as dog:
        assert dog.stopped
        assert not dog.expired


def test_a_stop_halts_the_attempts_in_progress_and_not_finished_ones() -> None:
    """H12 (a finished attempt left tracked, and halted by a later stop); H11 (``set``
    not halting the tracked attempts) too, which only the Ctrl-C subprocess tests of
    test_fetch_interrupt killed before."""
    stop = Stop()
    with Watchdog(30.0, stop) as done:
        pass
    with Watchdog(30.0, stop) as running:
        stop.set()
        assert running.stopped
    assert not done.stopped


def test_a_socket_connected_after_a_halt_is_shut_at_once() -> None:
    """H13 (``connected`` not shutting a socket that comes after the halt): its read
    then ends at once instead of waiting for data."""
    a, b = socket.socketpair()
    try:
        dog = Watchdog(30.0)
        dog.halt()
        dog.connected(a)
        a.settimeout(1.0)
        assert a.recv(1) == b""
    finally:
        a.close()
        b.close()


def test_a_connect_cut_off_by_max_time_tries_no_other_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """H14 (a connect shut on purpose taken as a failed address): a host with two
    addresses, both silent; max_time ends the first connect and no second one starts
    (it would wait the whole ``timeout``)."""
    listener, fillers = full_listener()
    addr = listener.getsockname()
    two = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr)] * 2
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: two)
    try:
        t0 = time.monotonic()
        with Watchdog(0.3) as dog, pytest.raises(OSError):
            _watched_connection(dog, addr, timeout=5.0)
        took = time.monotonic() - t0
    finally:
        for s in [listener, *fillers]:
            s.close()
    assert dog.expired
    assert took < 3.0
