"""Session 66's mutation audit of the low-level HTTP GET (visrec.images.http_get), with a
few mutants of its caller ``visrec.images.fetch`` on retries, atomic saving and order.

44 mutants were applied one at a time (39 in http_get: which status codes and errors
are retried, the max_bytes checks by Content-Length and by the read loop, the
truncated-download check, the max_time checks, the redirect scheme and user:password
checks and the redirect codes they cover, the User-Agent, Retry-After parsing and
capping; 5 in fetch: the retry count, the retry flag, the atomic cache write, input
order of paths and errors), each run against the fetch and http_get test files.

Counts: total 44; killed before 34; killed after (with this file) 44; equivalent 0.

No network: local servers on 127.0.0.1 only. Each test names the mutant it kills.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from quiet_http import QuietHandler, full_listener, serving
from visrec import __version__
from visrec.images.http_get import FetchError, download

MAX = 1000  # max_bytes of the size-limit tests


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """``/code/N``: an answer of status N; ``/raw/N``: N bytes with no Content-Length
    (the body ends as the connection closes); ``/redirect/CODE?to=URL``: a redirect;
    ``/ua``: echoes the User-Agent."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            parts = path.strip("/").split("/")
            if parts[0] == "code":
                self._send(int(parts[1]), b"no")
            elif parts[0] == "raw":
                self.close_connection = True
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"r" * int(parts[1]))
            elif parts[0] == "redirect":
                self._send(int(parts[1]), b"", {"Location": query.removeprefix("to=")})
            elif parts[0] == "ua":
                self._send(200, self.headers.get("User-Agent", "").encode())
            else:
                self._send(404, b"?")

    with serving(Handler) as url:
        yield url


def _get(url: str, max_bytes: int = MAX) -> bytes:
    return download(url, timeout=5.0, max_bytes=max_bytes, max_time=20.0)


def _fail(url: str, max_bytes: int = MAX) -> FetchError:
    with pytest.raises(FetchError) as info:
        _get(url, max_bytes)
    return info.value


@pytest.mark.parametrize(
    ("code", "retry"),
    [
        *[(c, False) for c in (400, 403, 404, 408, 410, 428)],
        *[(c, True) for c in (429, 500, 502, 503, 504)],
    ],
)
def test_only_5xx_and_429_answers_are_retried(base: str, code: int, retry: bool) -> None:
    """retry_408_added (and any other 4xx made retryable): fetch_images documents
    retries on "HTTP 5xx and 429 (never on other 4xx ...)"."""
    err = _fail(f"{base}/code/{code}")
    assert err.kind == f"http {code}"
    assert err.retry is retry


def test_a_connect_timeout_is_a_retried_timeout() -> None:
    """urlerror_timeout_not_retried: a connect that times out (urllib wraps it in a
    URLError) may succeed next time, as a read timeout may."""
    listener, fillers = full_listener()
    try:
        port = listener.getsockname()[1]
        with pytest.raises(FetchError) as info:
            download(f"http://127.0.0.1:{port}/x", timeout=0.5, max_bytes=MAX, max_time=20.0)
    finally:
        for s in [listener, *fillers]:
            s.close()
    assert str(info.value) == "timeout: no answer within 0.5s"
    assert info.value.retry is True


def test_a_body_without_length_one_byte_over_max_bytes_is_refused(base: str) -> None:
    """body_limit_plus_read: without a Content-Length the read loop is the only limit;
    one byte over is too large, not a read's worth over."""
    assert _get(f"{base}/raw/{MAX}") == b"r" * MAX
    err = _fail(f"{base}/raw/{MAX + 1}")
    assert str(err) == f"too large: body exceeds max_bytes {MAX:,}"
    assert err.retry is False


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def test_a_redirect_from_http_to_https_is_followed(base: str) -> None:
    """redirect_https_refused: https is a scheme a redirect may lead to; the attempt
    reaches the https URL (a closed port here), it is no invalid url."""
    err = _fail(f"{base}/redirect/301?to=https://127.0.0.1:{_closed_port()}/x")
    assert err.kind == "connection error"
    assert err.retry is True


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_every_redirect_code_to_ftp_is_an_invalid_url(base: str, code: int) -> None:
    """redirect_301_unchecked, redirect_307_308_unchecked: urllib itself lets a redirect
    lead to ftp:, which then failed as a retried "connection error" (unknown url
    type); every redirect code is checked alike."""
    err = _fail(f"{base}/redirect/{code}?to=ftp://127.0.0.1/img.jpg")
    assert str(err) == "invalid url: redirected to 'ftp://127.0.0.1/img.jpg': not http(s)"
    assert err.retry is False


def test_the_user_agent_names_visrec_and_its_version(base: str) -> None:
    """user_agent_default, user_agent_no_version: servers see who is asking (some refuse
    urllib's default "Python-urllib/3.x"), and which release."""
    assert _get(f"{base}/ua").decode() == f"visrec/{__version__}"


def test_a_redirect_to_another_scheme_hides_its_password(base: str) -> None:
    """redirect_password_shown: the refused target is named, but errors reach reports
    and JSON, so its password is not."""
    err = _fail(f"{base}/redirect/302?to=ftp://me:s3cret@127.0.0.1/a.jpg")
    assert str(err) == "invalid url: redirected to 'ftp://me:***@127.0.0.1/a.jpg': not http(s)"
    assert "s3cret" not in str(err)


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://127.0.0.1:abc/x.jpg", "nonnumeric port: 'abc'"),
        ("http://127.0.0.1/a b.jpg", "URL can't contain control characters."),
    ],
)
def test_a_url_http_client_refuses_is_an_invalid_url_never_retried(url: str, detail: str) -> None:
    """invalidurl_retried: what http.client calls an InvalidURL fails the same way on
    every attempt."""
    with pytest.raises(FetchError) as info:
        download(url, timeout=5.0, max_bytes=MAX, max_time=20.0)
    assert str(info.value).startswith(f"invalid url: {detail}")
    assert info.value.retry is False
