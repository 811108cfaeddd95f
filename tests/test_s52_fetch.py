"""Session 52's audit of fetch's retries: the backoff's doubling stops at a minute, a
chunked body cut off says how much came, an HTML (or PDF, JSON) body sent with 200 is
named, and the retry rules that no earlier test pinned (a connection dropped before
the answer, a redirect loop, an empty body, the Retry-After cap's wording). A local
HTTP server on 127.0.0.1; backoff waits are recorded instead of slept."""

from __future__ import annotations

import io
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from quiet_http import QuietHandler, serving
from visrec.cli import main
from visrec.images.fetch import MAX_BACKOFF_S, backoff_wait, fetch_images


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buf, format="JPEG")
    return buf.getvalue()


JPEG = _jpeg()
BODIES = {
    "/html": (b"\n  <!DOCTYPE html><html><body>Access denied</body></html>", "text/html"),
    "/pdf": (b"%PDF-1.4\n%%EOF\n", "application/pdf"),
    "/json": (b'{"error": "rate limited"}', "application/json"),
    "/noise": (b"\x00\x01\x02 nothing known", "image/jpeg"),
    "/empty": (b"", "image/jpeg"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Counter[str]]]:
    """``/drop/<n>/<tag>``: the first ``n`` requests are reset before any answer, later
    ones get the JPEG; ``/chunks``: three whole chunks of 50,000 bytes, then one cut
    off (a clean close); ``/loop``: a redirect to itself; ``/ask/<seconds>``: a 429 with that
    Retry-After; the paths of ``BODIES``: that body with 200. Requests are counted."""
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _reset(self) -> None:
            # SO_LINGER 0: the close sends a reset, not a clean end
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def do_GET(self) -> None:
            with lock:
                hits[self.path] += 1
                n = hits[self.path]
            parts = self.path.strip("/").split("/")
            if parts[0] == "drop":
                if n <= int(parts[1]):
                    self._reset()
                else:
                    self._send(200, JPEG)
            elif parts[0] == "chunks":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(3):
                    self.wfile.write(b"c350\r\n" + b"\xff" * 50_000 + b"\r\n")
                self.wfile.write(b"c350\r\n" + b"\xff" * 1_000)
                self.close_connection = True
            elif parts[0] == "loop":
                self._send(302, b"", {"Location": self.path})
            elif parts[0] == "ask":
                self._send(429, b"", {"Retry-After": parts[1]})
            elif self.path in BODIES:
                body, ctype = BODIES[self.path]
                self._send(200, body, {"Content-Type": ctype})
            else:
                self._send(404, b"?")

    with serving(Handler) as base:
        yield base, hits


FAST: dict[str, Any] = {"timeout": 5.0, "progress": False, "workers": 1}


def _refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/x.jpg"


def test_the_doubling_backoff_stops_at_a_minute(tmp_path: Path, waits: list[float]) -> None:
    """``--retries 20`` waited 0.5 s, 1 s, ... 3 days before its last attempt."""
    url = _refused_url()
    rep = fetch_images([url], tmp_path, retries=10, backoff=0.5, **FAST)
    assert rep.errors == {url: "connection error: Connection refused"}
    assert waits == [0.5, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert MAX_BACKOFF_S == 60


def test_a_backoff_asked_longer_than_the_cap_is_waited_as_asked() -> None:
    assert backoff_wait(120.0, 0) == 120.0
    assert backoff_wait(120.0, 5) == 120.0
    assert backoff_wait(0.5, 6) == 32.0
    assert backoff_wait(0.5, 7) == 60.0


def test_no_backoff_and_a_thousand_retries_end_in_the_servers_error(
    tmp_path: Path, waits: list[float]
) -> None:
    """``0.0 * 2**1024`` is an OverflowError: the 1,025th retry failed as a bug."""
    assert backoff_wait(0.0, 5000) == 0.0
    url = _refused_url()
    rep = fetch_images([url], tmp_path, retries=1030, backoff=0.0, **FAST)
    assert rep.errors == {url: "connection error: Connection refused"}
    assert len(waits) == 1030 and set(waits) == {0.0}


def test_a_chunked_body_cut_off_says_how_much_came_and_is_retried(
    server: tuple[str, Counter[str]], tmp_path: Path, waits: list[float]
) -> None:
    """Only the last read's share was counted (``got 18,928 bytes`` of 151,000: three
    whole chunks and 1,000 bytes of a fourth)."""
    base, hits = server
    rep = fetch_images([f"{base}/chunks"], tmp_path, retries=1, backoff=0.01, **FAST)
    assert rep.errors == {f"{base}/chunks": "truncated download: got 151,000 bytes"}
    assert hits["/chunks"] == 2 and waits == [0.01]
    assert list(tmp_path.iterdir()) == []


def test_a_connection_reset_before_the_answer_is_retried(
    server: tuple[str, Counter[str]], tmp_path: Path, waits: list[float]
) -> None:
    base, hits = server
    url = f"{base}/drop/2/a"
    rep = fetch_images([url], tmp_path, retries=2, backoff=0.01, **FAST)
    assert not rep.errors and rep.n_downloaded == 1
    assert Path(rep[url]).read_bytes() == JPEG
    assert hits["/drop/2/a"] == 3 and waits == [0.01, 0.02]


def test_a_connection_reset_every_time_is_a_connection_error(
    server: tuple[str, Counter[str]], tmp_path: Path, waits: list[float]
) -> None:
    base, hits = server
    url = f"{base}/drop/9/b"
    rep = fetch_images([url], tmp_path, retries=1, backoff=0.01, **FAST)
    assert rep.errors[url].startswith("connection error: ")
    assert hits["/drop/9/b"] == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/html", "not an image: HTML page (UnidentifiedImageError: cannot identify image file)"),
        ("/pdf", "not an image: PDF document (UnidentifiedImageError: cannot identify image file)"),
        ("/json", "not an image: JSON/text (UnidentifiedImageError: cannot identify image file)"),
        ("/noise", "not an image: UnidentifiedImageError: cannot identify image file"),
        ("/empty", "not an image: empty body"),
    ],
)
def test_a_body_that_is_no_image_is_named_and_not_retried(
    server: tuple[str, Counter[str]], tmp_path: Path, path: str, error: str
) -> None:
    base, hits = server
    before = hits[path]
    rep = fetch_images([base + path], tmp_path, retries=3, backoff=0.01, **FAST)
    assert rep.errors == {base + path: error}
    assert hits[path] - before == 1 and list(tmp_path.iterdir()) == []


def test_an_html_page_names_its_item_and_url_at_the_command_line(
    server: tuple[str, Counter[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = server
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\nshoe-7,{base}/html\n")
    cache = tmp_path / "c"
    assert main(["fetch", str(urls), "--cache", str(cache), "-q", "--retries", "0"]) == 1
    out, err = capsys.readouterr()
    assert f"{base}/html  (not an image: HTML page (UnidentifiedImageError" in out
    assert "'shoe-7'" in err
    assert [p.name for p in cache.iterdir()] == ["manifest.csv"]  # its header only


def test_a_redirect_loop_is_not_retried(
    server: tuple[str, Counter[str]], tmp_path: Path, waits: list[float]
) -> None:
    base, hits = server
    rep = fetch_images([f"{base}/loop"], tmp_path, retries=3, backoff=0.01, **FAST)
    assert rep.errors[f"{base}/loop"].startswith("too many redirects: ")
    assert waits == [] and hits["/loop"] <= 11


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("59", "(the server asked to wait 59s)"),
        ("60", "(the server asked to wait 60s or longer; a retry waits 60s at most)"),
        ("3600", "(the server asked to wait 60s or longer; a retry waits 60s at most)"),
    ],
)
def test_a_retry_after_at_or_past_the_cap_says_it_is_capped(
    server: tuple[str, Counter[str]], tmp_path: Path, waits: list[float], asked: str, said: str
) -> None:
    base, _ = server
    url = f"{base}/ask/{asked}"
    rep = fetch_images([url], tmp_path, retries=1, backoff=0.01, **FAST)
    assert rep.errors == {url: f"http 429: Too Many Requests {said}"}
    assert waits == [min(float(asked), 60.0)]
