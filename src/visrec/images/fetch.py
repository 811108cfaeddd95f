"""Download images from URLs into an on-disk cache, safely and concurrently.

Each URL is stored once as ``<cache_dir>/<sha256(url)>.<ext>``, where the extension
comes from the decoded format. A file only enters the cache after Pillow decoded it
completely, and it is written atomically, so anything in the cache is a usable image
and is never downloaded again.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import ipaddress
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path

from visrec import _progress_lines
from visrec._atomic import atomic_path, probe_writable
from visrec.errors import VisrecError, WriteError, counted, shown, write_error

# The same pixel limit as embed, checked here from the header; Pillow's
# DecompressionBombWarning is quieted only by the command line, for its run
# (images.pillow_warnings).
from visrec.images.decode import DEFAULT_MAX_PIXELS, says_truncated, sniffed_kind
from visrec.images.http_get import (
    MAX_RETRY_AFTER_S,
    FetchError,
    Stop,
    Stopped,
    download,
    hide_password,
)

# MPO (what Pillow calls many phones' JPEGs: a JPEG with more frames after the first)
# is a JPEG to every reader: saved as .jpg, as the phone named it
_EXT = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tif",
}
_TMP_SUFFIX = ".part"
_STALE_TMP_S = 3600.0  # a temp file this old belongs to a killed run
# On Ctrl-C, how long to wait for the downloads in progress to notice that their sockets
# were shut (milliseconds, normally) before giving up on them
_STOP_WAIT_S = 2.0
#: ``max_time`` when not given: this many times the per-read ``timeout``.
MAX_TIME_FACTOR = 6
#: the longest ``timeout`` / ``max_time``: a day (``inf`` or 1e12 s is beyond the
#: platform's time_t, a traceback in every download thread)
MAX_SECONDS = 86400.0


def default_max_time(timeout: float) -> float:
    """``max_time`` when not given: ``MAX_TIME_FACTOR * timeout``, a day at most."""
    return min(MAX_TIME_FACTOR * timeout, MAX_SECONDS)


def check_seconds(value: float, name: str) -> None:
    """A time limit in (0, ``MAX_SECONDS``]; ``not <`` also refuses NaN."""
    if not 0 < value <= MAX_SECONDS:
        raise VisrecError(
            f"{name} must be more than 0 and at most {MAX_SECONDS:g} seconds (a day), got {value:g}"
        )


# Characters sent as they are (besides letters, digits and ``_.-~``); the rest (space,
# control characters, ``"<>\``, non-ASCII) are percent-encoded as UTF-8, as browsers do.
# ``%`` is kept so that ``%20`` stays ``%20``.
_PATH_SAFE = "/%!$&'()*+,;=:@[]|^"
_QUERY_SAFE = _PATH_SAFE + "?`{}"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_CHARS = re.compile(r"[A-Za-z0-9_.-]+")


class CacheDirError(WriteError):
    """The image cache folder cannot be made or written to (:func:`check_cache_dir`):
    a :class:`~visrec.errors.WriteError` as every failed write is (one line at the CLI,
    exit 1 when the system refused, an ``OSError`` with the failed call's ``errno``)."""


def check_cache_dir(cache_dir: str | os.PathLike[str], *, make: bool = True) -> Path:
    """``cache_dir`` as a ``Path``, checked for real to take files: made when missing
    (with ``make``; without it, folders made for the check are removed again), and an
    empty file created in it and removed. Run before any download: on a read-only
    cache every download would fail only after its transfer.

    Raises
    ------
    CacheDirError
        ``cache_dir`` is a file, a link to nothing, or cannot be made or written to.
    """
    cache = Path(cache_dir)
    # os.path, not Path: before 3.13 Path's let a name too long out bare, where the
    # probe below says "cannot write to" as for any folder that cannot be written
    if os.path.islink(cache) and not os.path.exists(cache):
        raise CacheDirError(
            f"{str(cache)!r} is a link to {os.readlink(cache)!r}, which does not exist; "
            "make that folder or name another"
        )
    if os.path.exists(cache) and not os.path.isdir(cache):
        raise CacheDirError(f"{str(cache)!r} is not a folder; name a folder")
    try:
        if make:
            cache.mkdir(parents=True, exist_ok=True)
        probe_writable(cache / "cache")
    except OSError as exc:
        said = f"cannot write to {str(cache)!r} ({exc.strerror or exc})"
        raise write_error(said, exc, CacheDirError) from exc
    return cache


@dataclass
class FetchReport(Mapping[str, "Path | str"]):
    """Outcome per URL: ``report[url]`` is the cached ``Path`` or an error string.

    Error strings start with a short kind followed by ``": "`` and details, e.g.
    ``"http 404: Not Found"``, ``"timeout: ..."``, ``"too large: ..."``,
    ``"not an image: ..."``, ``"broken image: ..."``, ``"truncated download: ..."``,
    ``"connection error: ..."``, ``"invalid url: ..."``. Every error is one line.

    Attributes
    ----------
    paths : dict of str to Path
        Successfully fetched (or cached) URLs.
    errors : dict of str to str
        Failed URLs and why.
    n_cached, n_downloaded : int
        How the successes were obtained.
    urls : list of str
        The distinct URLs in input order.
    """

    paths: dict[str, Path] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    n_cached: int = 0
    n_downloaded: int = 0
    urls: list[str] = field(default_factory=list)

    def __getitem__(self, url: str) -> Path | str:
        if url in self.paths:
            return self.paths[url]
        return self.errors[url]

    def __iter__(self) -> Iterator[str]:
        return iter(self.urls)

    def __len__(self) -> int:
        return len(self.urls)

    def add_failure(self, url: str, error: str) -> None:
        """Record ``url`` as failed with ``error`` (``"kind: details"``), e.g. one the
        caller refused before fetching; it is counted like the others."""
        if url not in self.errors and url not in self.paths:
            self.urls.append(url)
        self.paths.pop(url, None)
        self.errors[url] = " ".join(error.split())

    def failures_by_kind(self) -> dict[str, int]:
        """Failed URL counts per error kind, most frequent first."""
        return dict(Counter(e.split(":", 1)[0] for e in self.errors.values()).most_common())

    def summary(self, examples: int = 3) -> str:
        """Multi-line text: totals, failures grouped by kind, a few example URLs."""
        lines = [
            f"fetched {len(self.paths):,} of {len(self.urls):,} image URLs "
            f"({self.n_cached:,} from cache, {self.n_downloaded:,} downloaded); "
            f"{len(self.errors):,} failed"
        ]
        for kind, n in self.failures_by_kind().items():
            lines.append(f"  {shown(kind):<20} {n:>7,}")  # add_failure's caller words it
            failed = [u for u, e in self.errors.items() if e.split(":", 1)[0] == kind]
            for u in failed[:examples]:
                reason = _cut(self.errors[u], SHOWN_REASON_CHARS)
                lines.append(f"      {_cut(hide_password(u), SHOWN_URL_CHARS)}  ({reason})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "n_urls": len(self.urls),
            "n_ok": len(self.paths),
            "n_cached": self.n_cached,
            "n_downloaded": self.n_downloaded,
            "n_failed": len(self.errors),
            "failures_by_kind": self.failures_by_kind(),
            "errors": _shown_keys(self.errors),
        }


#: the longest URL, and reason (which names up to 3 items and their lines), a summary
#: line shows whole; the JSON keeps them whole
SHOWN_URL_CHARS = 200
SHOWN_REASON_CHARS = 1000


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was (a URL 140,000
    characters long made a summary line of as many), and shown as listings show text
    (:func:`~visrec.errors.shown`): an escape or a bidi override in a URL or a server's
    reason would reach the terminal as a command or reorder the line."""
    if len(text) <= limit:
        return shown(text)
    return f"{shown(text[: limit - 40])}... ({len(text):,} characters)"


def _shown_keys(errors: Mapping[str, str]) -> dict[str, str]:
    """``errors`` keyed by URLs with their passwords hidden; two URLs that differ only
    in the password keep both entries (the second's key gets `` (2)``)."""
    keyed: dict[str, str] = {}
    for url, error in errors.items():
        key, n = hide_password(url), 1
        while key in keyed:
            n += 1
            key = f"{hide_password(url)} ({n})"
        keyed[key] = error
    return keyed


class FetchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fetch_images`, raised once the downloads in progress stopped.

    Nothing of a stopped download is written; the images fetched before are in the
    cache, so the same call again downloads only the rest.

    Attributes
    ----------
    report : FetchReport
        What was done before the interrupt: ``paths`` are the cached images (those
        already there and those downloaded), ``errors`` the failures seen so far.
    n_stopped : int
        Downloads that were in progress and were given up.
    """

    def __init__(self, report: FetchReport, n_stopped: int) -> None:
        super().__init__(f"fetch interrupted; {counted(n_stopped, 'download')} in progress stopped")
        self.report = report
        self.n_stopped = n_stopped


#: a cache file's stem: :func:`cache_key`
CACHE_NAME = re.compile(r"[0-9a-f]{64}")


def cache_key(url: str) -> str:
    """Hex sha256 of the URL: the cache file's stem."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _scan_cache(cache_dir: Path) -> dict[str, Path]:
    # One listing instead of a glob per URL: O(n) for large caches.
    out: dict[str, Path] = {}
    now = time.time()
    with os.scandir(cache_dir) as it:
        for e in it:
            if e.name.startswith("."):
                # Temp files of in-flight writes; old ones are left by killed runs.
                if e.name.endswith(_TMP_SUFFIX):
                    st = _stat(e)
                    if st is not None and now - st.st_mtime > _STALE_TMP_S:
                        with contextlib.suppress(OSError):
                            os.unlink(e.path)
                continue
            stem, _, _ = e.name.partition(".")
            if not e.is_file():
                # a pipe, socket or dead link at one of our names: every rerun's write of
                # that URL would fail (atomic_path does not replace them); the cache is
                # ours, so it goes and the URL is downloaded again
                if CACHE_NAME.fullmatch(stem) and not e.is_dir():
                    with contextlib.suppress(OSError):
                        os.unlink(e.path)
                continue
            if CACHE_NAME.fullmatch(stem):
                st = _stat(e)
                # no image is empty (a download is checked before it is kept): a file
                # emptied by a crash or by hand is fetched again, not trusted for ever
                if st is None or st.st_size == 0:
                    continue
            out[stem] = Path(e.path)
    return out


def _stat(entry: os.DirEntry[str]) -> os.stat_result | None:
    """``entry``'s stat, or None when it is gone since the listing: another fetch into
    the same cache renames its temp files meanwhile (which stopped this one with a
    FileNotFoundError)."""
    try:
        return entry.stat()
    except FileNotFoundError:
        return None


def normalize_url(url: str) -> str:
    """Return the http(s) URL as it is requested, or raise ``ValueError`` saying why not.

    The path and query are percent-encoded the way browsers do it: spaces, control
    characters, ``"<>\\`` and non-ASCII characters (as UTF-8) are encoded, an existing
    ``%XX`` is kept as it is, a ``%`` that starts no ``%XX`` becomes ``%25``. A non-ASCII
    host name is IDNA-encoded; the fragment is dropped. Ordinary URLs come back unchanged.

    Raises
    ------
    ValueError
        Not ``http://`` or ``https://`` (``file://``, ``ftp://``, ``//host/x``, a URL
        without a scheme), no host, a host that is not a name or address, a bad port:
        ``"scheme 'ftp' is not http or https"``.
    """
    # urlsplit and .port raise ValueError themselves for a bad port or IPv6 literal
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        if url.startswith("//"):
            raise ValueError("no scheme (starts with //): write http:// or https://")
        raise ValueError("no scheme: expected http:// or https://")
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme {parts.scheme!r} is not http or https")
    if "@" in parts.netloc:  # urllib would send user:password@host to DNS as a host name
        raise ValueError("a user name or password in a URL is not supported")
    host = parts.hostname
    if not url.lstrip()[len(scheme) + 1 :].startswith("//") or not host:
        raise ValueError(f"no host: expected {scheme}://host/...")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port ({exc})") from None
    # an IPv6 literal (urlsplit took off the brackets); not ":" in host: [v1.fe], an
    # IPvFuture that urlsplit lets through, was looked up as the host name v1.fe
    if "[" in parts.netloc:
        if not parts.netloc.startswith("["):  # h[::1]: looked up as the name h[::1]
            raise ValueError(f"host {parts.netloc.partition(']')[0] + ']'!r} is not a valid name")
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValueError(f"host {host!r} is not an IPv6 address") from None
        shown_host = f"[{host}]"
    else:
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise ValueError(f"host {parts.hostname!r} is not a valid name ({exc})") from None
        if not _HOST_CHARS.fullmatch(host):
            raise ValueError(f"host {host!r} is not a valid name")
        shown_host = host
    netloc = parts.netloc
    if not netloc.isascii():
        netloc = shown_host if port is None else f"{shown_host}:{port}"
    path = _STRAY_PERCENT.sub("%25", urllib.parse.quote(parts.path, safe=_PATH_SAFE))
    query = _STRAY_PERCENT.sub("%25", urllib.parse.quote(parts.query, safe=_QUERY_SAFE))
    return urllib.parse.urlunsplit((scheme, netloc, path, query, ""))


def _verify_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """Decode ``data`` fully; return the file extension for its format.

    An image over ``max_pixels`` (``visrec embed``'s limit) is refused from its header,
    before anything is decoded.
    """
    from PIL import Image

    if not data:
        raise FetchError("not an image", "empty body", retry=False)
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise FetchError("too large", _bomb_detail(str(exc), max_pixels), retry=False) from None
    except Exception as exc:  # Pillow raises several types for non-images
        if says_truncated(str(exc)):  # an image, cut off within its header
            raise FetchError("broken image", _ENDS_EARLY, retry=False) from None
        # Pillow names the in-memory buffer by its address: drop it so reports are stable
        detail = f"{type(exc).__name__}: " + re.sub(
            r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc)
        )
        # an error or login page sent with 200 reads as Pillow reads an AVIF it lacks a
        # plugin for ("cannot identify image file"): say what the body is when it shows
        what = sniffed_kind(data[:1024])
        raise FetchError("not an image", f"{what} ({detail})" if what else detail, False) from None
    try:
        with im:
            fmt = im.format or ""
            w, h = im.size
            if w * h > max_pixels:
                raise FetchError(
                    "too large", _bomb_detail(f"{w:,} x {h:,} pixels", max_pixels), False
                )
            # JPEG decodes at reduced scale but still reads the whole stream, so a
            # cut-off file fails here just the same, at a fraction of the cost.
            im.draft("RGB", (256, 256))
            im.load()
    except FetchError:
        raise
    except Image.DecompressionBombError as exc:
        raise FetchError("too large", _bomb_detail(str(exc), max_pixels), retry=False) from None
    except Exception as exc:
        why = _ENDS_EARLY if says_truncated(str(exc)) else f"{type(exc).__name__}: {exc}"
        raise FetchError("broken image", why, retry=False) from None
    return _EXT.get(fmt, fmt.lower() or "img")


_ENDS_EARLY = "truncated (the image ends early)"


def _bomb_detail(what: str, max_pixels: int) -> str:
    m = re.search(r"\((\d+) pixels\)", what)  # Pillow's own message
    size = f"{int(m.group(1)):,} pixels" if m else what
    return f"decompression bomb ({size}; visrec embed's limit is {max_pixels:,} pixels)"


#: the longest wait the doubling of ``backoff`` reaches (``--retries 20`` waited 0.5 s,
#: 1 s, ... 3 days before its last attempt); a Retry-After is capped the same
MAX_BACKOFF_S = MAX_RETRY_AFTER_S


def backoff_wait(backoff: float, attempt: int) -> float:
    """Seconds to wait before retry ``attempt + 1``: ``backoff * 2**attempt``, at most
    ``MAX_BACKOFF_S`` (or ``backoff`` itself when that is longer)."""
    # the exponent is bounded too: 2.0**1024 is no float (backoff=0 with 1,100 retries)
    return min(backoff * 2.0 ** min(attempt, 1000), max(backoff, MAX_BACKOFF_S))


def _fetch_one(
    url: str,
    cache_dir: Path,
    timeout: float,
    retries: int,
    backoff: float,
    max_bytes: int,
    max_time: float,
    stop: Stop,
) -> Path:
    try:
        # Never file:// or other schemes: a manifest must not read local files this way.
        request_url = normalize_url(url)
    except ValueError as exc:
        raise FetchError("invalid url", str(exc), retry=False) from None
    attempt = 0
    while True:
        if stop.is_set():
            raise Stopped
        try:
            data = download(request_url, timeout, max_bytes, max_time, stop)
            ext = _verify_image(data)
            # keyed by the URL as given, so a cache made before URLs were encoded is kept
            target = cache_dir / f"{cache_key(url)}.{ext}"
            with atomic_path(target, suffix=_TMP_SUFFIX) as tmp:
                tmp.write_bytes(data)
            return target
        except FetchError as exc:
            if not exc.retry or attempt >= retries:
                raise
            if stop.wait(max(backoff_wait(backoff, attempt), exc.wait or 0.0)):
                raise Stopped from None
            attempt += 1


def fetch_images(
    urls: Iterable[str],
    cache_dir: str | Path,
    *,
    workers: int = 16,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
    max_bytes: int = 20_000_000,
    max_time: float | None = None,
    progress: bool = True,
) -> FetchReport:
    """Fetch image URLs into ``cache_dir``; cached URLs are not downloaded again.

    Parameters
    ----------
    urls : iterable of str
        http(s) URLs; repeats are fetched once.
    cache_dir : str or Path
        Created when missing. Files are named ``<sha256(url)>.<ext>``. Checked to take
        files before any download (:func:`check_cache_dir`).
    workers : int, default 16
        Concurrent downloads (threads).
    timeout : float, default 10.0
        Seconds to wait for the connection and for each read.
    retries : int, default 3
        Extra attempts after the first, on connection errors, timeouts, truncated
        transfers, HTTP 5xx and 429 (never on other 4xx or bad content); the k-th
        retry waits ``backoff * 2**(k-1)`` seconds, a minute at most (``MAX_BACKOFF_S``,
        or ``backoff`` when longer), or what the server's ``Retry-After`` asks when
        longer (a minute at most).
    backoff : float, default 0.5
    max_bytes : int, default 20_000_000
        Larger bodies are refused (by Content-Length, or by stopping the read).
    max_time : float, optional
        Seconds one download attempt may take in all (connection, redirects, headers,
        body); a slower one is stopped and counts as a ``timeout`` (not retried).
        Default ``MAX_TIME_FACTOR * timeout`` (60 s for the default timeout), a day at
        most, like ``timeout``: ``timeout`` alone
        only bounds each read, which a server sending a byte now and then never trips.
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    FetchReport
        ``report[url]`` is the cached path or an error string; ``report.summary()``
        groups the failures by kind.

    Raises
    ------
    CacheDirError
        ``cache_dir`` is no folder, or cannot be made or written to; nothing was fetched.
    FetchInterrupted
        A ``KeyboardInterrupt`` (Ctrl-C) while downloading: queued downloads are dropped
        and those in progress stopped at once (their sockets are shut), without writing
        anything of them; the exception holds the report so far.
    """
    from visrec._bars import progress_bar

    check_seconds(timeout, "timeout")
    if max_time is None:
        max_time = default_max_time(timeout)
    check_seconds(max_time, "max_time")
    cache = check_cache_dir(cache_dir)
    report = FetchReport(urls=list(dict.fromkeys(urls)))
    cached = _scan_cache(cache)
    todo: list[str] = []
    for url in report.urls:
        hit = cached.get(cache_key(url))
        if hit is not None:
            report.paths[url] = hit
            report.n_cached += 1
        else:
            todo.append(url)
    with progress_bar(
        total=len(report.urls),
        initial=report.n_cached,
        desc="fetch",
        unit="url",  # tried: a failure counts too
        show=progress,
    ) as bar:
        if todo:
            stop = Stop()
            pool = ThreadPoolExecutor(max_workers=max(1, workers))
            futures: dict[Future[Path], str] = {}
            finished = False
            try:
                futures = {
                    pool.submit(
                        _fetch_one, u, cache, timeout, retries, backoff, max_bytes, max_time, stop
                    ): u
                    for u in todo
                }
                _progress_lines.fit_started()  # a line a minute in a log file
                begun, done = time.monotonic(), report.n_cached
                for fut in as_completed(futures):
                    _collect(report, futures[fut], fut)
                    bar.update(1)
                    done += 1
                    _progress_lines.step_done("fetch", done, len(report.urls), "URLs tried", begun)
                finished = True
            except KeyboardInterrupt:
                raise _interrupt(report, futures, pool, stop) from None
            finally:
                if not finished:  # an error here: the downloads must not go on for it
                    stop.set()
                # waits only when all are done: an interrupted fetch does not wait for
                # a worker still connecting (up to ``timeout``)
                pool.shutdown(wait=finished, cancel_futures=True)
    return _in_input_order(report)


#: errnos of a cache write that stop the fetch (a full disk or quota, a read-only or
#: forbidden folder) instead of failing one URL after another; not EFBIG, the file
#: size limit: one big image fails, the smaller ones fit
CACHE_REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def _collect(report: FetchReport, url: str, fut: Future[Path]) -> None:
    try:
        report.paths[url] = fut.result()
        report.n_downloaded += 1
    except FetchError as exc:
        report.errors[url] = str(exc)
    except OSError as exc:
        if exc.errno in CACHE_REFUSED:
            # the cache cannot be written: every other download would be fetched in
            # full and lost the same way; the command stops with one line, exit 1
            raise
        report.errors[url] = f"error: {type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug must not lose the rest
        report.errors[url] = f"error: {type(exc).__name__}: {exc}"


def _interrupt(
    report: FetchReport,
    futures: Mapping[Future[Path], str],
    pool: ThreadPoolExecutor,
    stop: Stop,
) -> FetchInterrupted:
    """Stop the fetch after Ctrl-C; the exception to raise, with the report so far."""
    # Queued downloads first, so that no worker starts another one; then those in
    # progress, whose sockets are shut (also while connecting): they end in
    # milliseconds. One stuck in a name lookup or a TLS handshake, which cannot be cut
    # short, is waited for ``_STOP_WAIT_S`` at most, then left: it writes nothing.
    # a second press while this runs (100,000 futures take a while) would lose the
    # resume hint: presses are ignored until the report is made
    with _presses_ignored():
        pool.shutdown(wait=False, cancel_futures=True)
        running = [f for f in futures if not f.done()]
        stop.set()
        with contextlib.suppress(KeyboardInterrupt):  # one raised before the ignoring
            wait(running, timeout=_STOP_WAIT_S)
        n_stopped = 0
        for fut, url in futures.items():
            if fut.cancelled() or url in report.paths or url in report.errors:
                continue
            if not fut.done() or isinstance(fut.exception(), Stopped):
                n_stopped += 1
            else:  # ended on its own before it was stopped: an image written, or a failure
                try:
                    _collect(report, url, fut)
                except OSError as exc:  # a refused cache write: the interrupt wins
                    report.errors[url] = f"error: {type(exc).__name__}: {exc}"
        return FetchInterrupted(_in_input_order(report), n_stopped)


@contextlib.contextmanager
def _presses_ignored() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP ignored inside the block (from the main thread only,
    where signals land): ``timeout`` sends its signal to the process and again to its
    group, and the second one lost the report the first one asked for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))  # none on Windows
    before = {s: signal.signal(s, signal.SIG_IGN) for s in names if s is not None}
    try:
        yield
    finally:  # None: a handler not set from Python, which Python cannot set back
        for s, handler in before.items():
            if handler is not None:
                signal.signal(s, handler)


def _in_input_order(report: FetchReport) -> FetchReport:
    # Keep input order in both dicts so reports and manifests are deterministic.
    report.paths = {u: report.paths[u] for u in report.urls if u in report.paths}
    report.errors = {u: report.errors[u] for u in report.urls if u in report.errors}
    return report


def manifest_path(p: str | Path, base: Path) -> Path:
    """How a manifest in the (resolved) folder ``base`` names the file ``p``: relative
    to that folder when inside it, else absolute."""
    ap = Path(p).resolve()
    try:
        return ap.relative_to(base)
    except ValueError:
        return ap


def write_manifest(path: str | Path, rows: Iterable[tuple[str, Path | str, str]]) -> int:
    """Write ``item_id,path,url`` rows to a CSV atomically; return the row count.

    Paths inside the manifest's folder are written relative to it (so the pair can be
    moved together), others absolute; :func:`visrec.data.images_index.load_manifest`
    resolves both.
    """
    target = Path(path)
    base = target.resolve().parent
    n = 0
    with atomic_path(target, sweep=True) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "path", "url"])
        for item, p, url in rows:
            w.writerow([item, str(manifest_path(p, base)), url])
            n += 1
    return n
