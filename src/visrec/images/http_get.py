"""One HTTP(S) download with hard limits: a whole-download time limit (``max_time``)
that a server trickling bytes cannot evade, a size limit, redirects only to http(s),
and a fetch-wide stop (Ctrl-C) that shuts every socket in flight at once.

``download`` raises ``FetchError`` (with whether another attempt may succeed) or
``Stopped``; ``visrec.images.fetch`` retries, verifies and caches.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from visrec import __version__

__all__ = ["FetchError", "Stop", "Stopped", "Watchdog", "download"]

READ_SIZE = 64 * 1024


class FetchError(Exception):
    """One failed attempt; ``retry`` says whether another attempt may succeed."""

    def __init__(self, kind: str, detail: str, retry: bool, wait: float | None = None) -> None:
        # one line, whatever the library or server said (a reason may hold line breaks)
        detail = " ".join(detail.split())
        if wait is not None and wait >= MAX_RETRY_AFTER_S:
            # the cap, not the ask: an hour asked for is not waited for
            detail += (
                f" (the server asked to wait {wait:g}s or longer; a retry waits "
                f"{MAX_RETRY_AFTER_S:g}s at most)"
            )
        elif wait is not None:
            detail += f" (the server asked to wait {wait:g}s)"
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.retry = retry
        #: seconds the server asked to wait before another attempt (Retry-After)
        self.wait = wait


#: urllib's reason when a chain of redirects is over 10 long (or loops)
TOO_MANY_REDIRECTS = "more than 10 redirects (or a loop); the last said: "

#: the longest Retry-After honoured: a server asking for an hour is not waited for
MAX_RETRY_AFTER_S = 60.0


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number, or an HTTP date), at most
    ``MAX_RETRY_AFTER_S``; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        import email.utils
        import time

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # asctime and '-0000' dates: GMT (RFC 7231), not local
            import datetime

            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class Stopped(Exception):
    """A download given up because the whole fetch is being stopped (Ctrl-C)."""


class Stop:
    """Stops a whole fetch (Ctrl-C): no new attempt starts, backoff waits end, and the
    attempts in progress have their sockets shut at once, so a read blocked for up to
    ``timeout`` returns now instead of being waited for."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._dogs: set[Watchdog] = set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less when stopped; whether stopped."""
        return self._event.wait(seconds)

    def set(self) -> None:
        with self._lock:
            self._event.set()
            dogs = list(self._dogs)
        for dog in dogs:
            dog.halt()

    def track(self, dog: Watchdog) -> None:
        with self._lock:
            self._dogs.add(dog)
            stopped = self._event.is_set()
        if stopped:  # set() ran just before: it did not see this one
            dog.halt()

    def untrack(self, dog: Watchdog) -> None:
        with self._lock:
            self._dogs.discard(dog)


class Watchdog:
    """Ends one download attempt when its time is up, or when the fetch is stopped.

    The per-read ``timeout`` of ``urlopen`` never trips while a server sends a byte now
    and then, so a timer shuts down the attempt's sockets (those of redirects too); the
    blocked read then returns and the attempt is reported as a timeout. ``halt`` (from
    :class:`Stop`) does the same at once.
    """

    def __init__(self, limit: float, stop: Stop | None = None) -> None:
        self.limit = limit
        self.expired = False  # max_time ran out
        self.stopped = False  # halted by the fetch's Stop
        self._stop = stop
        self._lock = threading.Lock()
        # the sockets themselves: a connection drops its reference once the response
        # headers are in, while the body is still read from the socket
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(limit, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        if self._stop is not None:
            self._stop.track(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        if self._stop is not None:
            self._stop.untrack(self)

    def connected(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if self.expired or self.stopped:  # that happened while this one connected
                _shut(sock)

    def _expire(self) -> None:
        self._end("expired")

    def halt(self) -> None:
        self._end("stopped")

    def _end(self, why: str) -> None:
        """Mark the attempt ``expired`` or ``stopped`` and shut its sockets."""
        with self._lock:
            setattr(self, why, True)
            for s in self._socks:
                _shut(s)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched_connection(
    dog: Watchdog,
    address: tuple[str, int],
    timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """``socket.create_connection`` that hands each socket to ``dog`` before it
    connects: a stop (Ctrl-C) or ``max_time`` then ends a connect blocked on a silent
    host at once (``shutdown`` aborts it), not after ``timeout``. The name lookup before
    it cannot be cut short."""
    host, port = address
    err: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            dog.connected(sock)
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            if dog.expired or dog.stopped:  # shut on purpose: no other address
                raise
            err = exc
    raise err if err is not None else OSError(f"no address found for {host!r}")


class _WatchedHTTP(http.client.HTTPConnection):
    watchdog: Watchdog

    def connect(self) -> None:
        self._create_connection = functools.partial(_watched_connection, self.watchdog)
        super().connect()


class _WatchedHTTPS(http.client.HTTPSConnection):
    watchdog: Watchdog

    def connect(self) -> None:
        self._create_connection = functools.partial(_watched_connection, self.watchdog)
        super().connect()
        # the TLS socket that replaced the raw one (detached by wrap_socket); a TLS
        # handshake stalled by the server is not cut short, only the connect before it
        self.watchdog.connected(self.sock)


def _watched_opener(
    kind: type[_WatchedHTTP] | type[_WatchedHTTPS], watchdog: Watchdog
) -> Callable[..., http.client.HTTPConnection]:
    """The connection factory ``do_open`` takes: ``kind`` with ``watchdog`` attached."""

    def make(host: str, /, **kwargs: Any) -> http.client.HTTPConnection:
        conn = kind(host, **kwargs)
        conn.watchdog = watchdog
        return conn

    return make


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched_opener(_WatchedHTTP, self._watchdog), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        make = _watched_opener(_WatchedHTTPS, self._watchdog)
        # the handler's own SSL context, as urllib's https_open passes it
        return self.do_open(make, req, context=getattr(self, "_context", None))


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    # urllib says "infinite loop" for a finite chain of more than 10 as well
    inf_msg = TOO_MANY_REDIRECTS

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any
    ) -> Any:
        # urllib refuses file:, data:, javascript: itself, but as an "http 302" error;
        # checked here so that every other scheme is an invalid url, as ftp: is
        newurl = headers.get("location") or headers.get("uri")
        if newurl:
            scheme = urllib.parse.urlsplit(newurl).scheme.lower()
            if scheme not in ("http", "https", ""):
                fp.close()  # the response and its socket (see _read)
                shown = hide_password(newurl)
                raise FetchError("invalid url", f"redirected to {shown!r}: not http(s)", False)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        # the scheme was checked by http_error_302 (every redirect code comes there)
        parts = urllib.parse.urlsplit(newurl)
        if "@" in parts.netloc:  # urllib would take user:password@host for a host name
            fp.close()
            raise FetchError(
                "invalid url",
                f"redirected to {hide_password(newurl)!r}: a user name or password in a URL "
                "is not supported",
                False,
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def hide_password(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part (if any) shown as
    ``***``: URLs are printed in reports and JSON."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user.split(':', 1)[0]}:***@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def download(
    url: str, timeout: float, max_bytes: int, max_time: float, stop: Stop | None = None
) -> bytes:
    # a max_time stop is not retried: a link this slow would spend max_time again and
    # fail again (four 60 s attempts per URL at the defaults)
    with Watchdog(max_time, stop) as dog:
        try:
            data = _read(url, dog, timeout, max_bytes)
        except Exception:
            # whatever the shut-down socket made the reader raise
            if dog.stopped:
                raise Stopped from None
            if dog.expired:
                raise FetchError("timeout", _too_slow(max_time), False) from None
            raise
        # a body without Content-Length "ends" when its socket is shut
        if dog.stopped:
            raise Stopped
        if dog.expired:
            raise FetchError("timeout", _too_slow(max_time), False)
        return data


def _too_slow(max_time: float) -> str:
    return f"download not finished within {max_time:g}s (max_time)"


def _read(url: str, dog: Watchdog, timeout: float, max_bytes: int) -> bytes:
    # build_opener's defaults would also follow a redirect to ftp://
    opener = urllib.request.OpenerDirector()
    for h in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _HTTPHandler(dog),
        _HTTPSHandler(dog),
        urllib.request.HTTPDefaultErrorHandler(),
        _RedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(h)
    try:
        # built in here: a URL urllib cannot parse ("http://[::1/x") is the ValueError below
        req = urllib.request.Request(url, headers={"User-Agent": f"visrec/{__version__}"})
        with opener.open(req, timeout=timeout) as resp:
            length_h = resp.headers.get("Content-Length")
            length = int(length_h) if length_h and length_h.strip().isdigit() else None
            if length is not None and length > max_bytes:
                raise FetchError(
                    "too large", f"Content-Length {length:,} > max_bytes {max_bytes:,}", False
                )
            buf = bytearray()
            while True:
                # Ctrl-C: a blocked read returns as its socket is shut; no further read
                if dog.stopped:
                    raise Stopped
                try:
                    chunk = resp.read(READ_SIZE)
                except http.client.IncompleteRead as exc:
                    # a chunked body cut off: ``partial`` is this read's finished chunks,
                    # the one cut off is in the IncompleteRead it was raised from
                    cut = exc.__cause__
                    got = len(buf) + len(exc.partial)
                    got += len(cut.partial) if isinstance(cut, http.client.IncompleteRead) else 0
                    raise FetchError("truncated download", f"got {got:,} bytes", True) from None
                if not chunk:
                    break
                buf += chunk
                if len(buf) > max_bytes:
                    raise FetchError("too large", f"body exceeds max_bytes {max_bytes:,}", False)
            if length is not None and len(buf) < length:
                raise FetchError(
                    "truncated download", f"got {len(buf):,} of {length:,} bytes", True
                )
            return bytes(buf)
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        # the error holds the response and its socket: left to the garbage collector, a
        # manifest of a thousand dead URLs ran out of file descriptors
        exc.close()
        if str(exc.reason).startswith(TOO_MANY_REDIRECTS):
            last = str(exc.reason).removeprefix(TOO_MANY_REDIRECTS)
            raise FetchError(
                "too many redirects",
                f"more than 10, or a loop (the last: {exc.code} {last})",
                False,
            ) from None
        retry = exc.code >= 500 or exc.code == 429
        # 429 / 503 may say how long to back off: honoured (capped), so 16 workers do
        # not hammer a rate-limited server at 0.5 s, 1 s, 2 s
        wait = retry_after(exc.headers.get("Retry-After")) if exc.headers else None
        raise FetchError(f"http {exc.code}", str(exc.reason), retry, wait) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchError("timeout", f"no answer within {timeout:g}s", True) from None
        reason = exc.reason
        # "Connection refused", not "[Errno 111] Connection refused"
        why = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise FetchError("connection error", why, True) from None
    except TimeoutError:
        raise FetchError("timeout", f"no data within {timeout:g}s", True) from None
    except http.client.InvalidURL as exc:  # what normalize_url let through; never retried
        raise FetchError("invalid url", str(exc), False) from None
    except (http.client.HTTPException, OSError) as exc:
        raise FetchError("connection error", f"{type(exc).__name__}: {exc}", True) from None
    except ValueError as exc:  # malformed URL inside urllib
        raise FetchError("invalid url", str(exc), False) from None
