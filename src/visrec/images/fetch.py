"""Download images from URLs into an on-disk cache, safely and concurrently.

Each URL is stored once as ``<cache_dir>/<sha256(url)>.<ext>``, where the extension
comes from the decoded format. A file only enters the cache after Pillow decoded it
completely, and it is written atomically, so anything in the cache is a usable image
and is never downloaded again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import http.client
import io
import os
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from visrec import __version__
from visrec._atomic import atomic_path

_EXT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}
_CHUNK = 64 * 1024
_TMP_SUFFIX = ".part"
_STALE_TMP_S = 3600.0  # a temp file this old belongs to a killed run


class _FetchError(Exception):
    """One failed attempt; ``retry`` says whether another attempt may succeed."""

    def __init__(self, kind: str, detail: str, retry: bool) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.retry = retry


@dataclass
class FetchReport(Mapping[str, "Path | str"]):
    """Outcome per URL: ``report[url]`` is the cached ``Path`` or an error string.

    Error strings start with a short kind followed by ``": "`` and details, e.g.
    ``"http 404: Not Found"``, ``"timeout: ..."``, ``"too large: ..."``,
    ``"not an image: ..."``, ``"broken image: ..."``, ``"truncated download: ..."``,
    ``"connection error: ..."``, ``"invalid url: ..."``.

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
            lines.append(f"  {kind:<20} {n:>7,}")
            shown = [u for u, e in self.errors.items() if e.split(":", 1)[0] == kind]
            for u in shown[:examples]:
                lines.append(f"      {u}  ({self.errors[u]})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "n_urls": len(self.urls),
            "n_ok": len(self.paths),
            "n_cached": self.n_cached,
            "n_downloaded": self.n_downloaded,
            "n_failed": len(self.errors),
            "failures_by_kind": self.failures_by_kind(),
            "errors": dict(self.errors),
        }


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
                if e.name.endswith(_TMP_SUFFIX) and now - e.stat().st_mtime > _STALE_TMP_S:
                    with contextlib.suppress(OSError):
                        os.unlink(e.path)
                continue
            if not e.is_file():
                continue
            stem, _, _ = e.name.partition(".")
            out[stem] = Path(e.path)
    return out


def _verify_image(data: bytes) -> str:
    """Decode ``data`` fully; return the file extension for its format."""
    from PIL import Image

    if not data:
        raise _FetchError("not an image", "empty body", retry=False)
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _FetchError("too large", f"image has too many pixels ({exc})", retry=False) from None
    except Exception as exc:  # Pillow raises several types for non-images
        # Pillow names the in-memory buffer by its address: drop it so reports are stable
        detail = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc))
        raise _FetchError("not an image", f"{type(exc).__name__}: {detail}", retry=False) from None
    try:
        with im:
            fmt = im.format or ""
            # JPEG decodes at reduced scale but still reads the whole stream, so a
            # cut-off file fails here just the same, at a fraction of the cost.
            im.draft("RGB", (256, 256))
            im.load()
    except Image.DecompressionBombError as exc:
        raise _FetchError("too large", f"image has too many pixels ({exc})", retry=False) from None
    except Exception as exc:
        raise _FetchError("broken image", f"{type(exc).__name__}: {exc}", retry=False) from None
    return _EXT.get(fmt, fmt.lower() or "img")


def _download(url: str, timeout: float, max_bytes: int) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": f"visrec/{__version__}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            length_h = resp.headers.get("Content-Length")
            length = int(length_h) if length_h and length_h.strip().isdigit() else None
            if length is not None and length > max_bytes:
                raise _FetchError(
                    "too large", f"Content-Length {length:,} > max_bytes {max_bytes:,}", False
                )
            buf = bytearray()
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                buf += chunk
                if len(buf) > max_bytes:
                    raise _FetchError("too large", f"body exceeds max_bytes {max_bytes:,}", False)
            if length is not None and len(buf) < length:
                raise _FetchError(
                    "truncated download", f"got {len(buf):,} of {length:,} bytes", True
                )
            return bytes(buf)
    except _FetchError:
        raise
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code == 429
        raise _FetchError(f"http {exc.code}", str(exc.reason), retry) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _FetchError("timeout", f"no answer within {timeout:g}s", True) from None
        raise _FetchError("connection error", str(exc.reason), True) from None
    except TimeoutError:
        raise _FetchError("timeout", f"no data within {timeout:g}s", True) from None
    except http.client.IncompleteRead as exc:
        raise _FetchError("truncated download", f"got {len(exc.partial):,} bytes", True) from None
    except (http.client.HTTPException, OSError) as exc:
        raise _FetchError("connection error", f"{type(exc).__name__}: {exc}", True) from None
    except ValueError as exc:  # malformed URL inside urllib
        raise _FetchError("invalid url", str(exc), False) from None


def _fetch_one(
    url: str,
    cache_dir: Path,
    timeout: float,
    retries: int,
    backoff: float,
    max_bytes: int,
) -> Path:
    if not url.lower().startswith(("http://", "https://")):
        # Never file:// or other schemes: a manifest must not read local files this way.
        raise _FetchError("invalid url", "expected http:// or https://", retry=False)
    attempt = 0
    while True:
        try:
            data = _download(url, timeout, max_bytes)
            ext = _verify_image(data)
            target = cache_dir / f"{cache_key(url)}.{ext}"
            with atomic_path(target, suffix=_TMP_SUFFIX) as tmp:
                tmp.write_bytes(data)
            return target
        except _FetchError as exc:
            if not exc.retry or attempt >= retries:
                raise
            time.sleep(backoff * (2**attempt))
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
    progress: bool = True,
) -> FetchReport:
    """Fetch image URLs into ``cache_dir``; cached URLs are not downloaded again.

    Parameters
    ----------
    urls : iterable of str
        http(s) URLs; repeats are fetched once.
    cache_dir : str or Path
        Created when missing. Files are named ``<sha256(url)>.<ext>``.
    workers : int, default 16
        Concurrent downloads (threads).
    timeout : float, default 10.0
        Seconds to wait for the connection and for each read.
    retries : int, default 3
        Extra attempts after the first, on connection errors, timeouts, truncated
        transfers, HTTP 5xx and 429 (never on other 4xx or bad content); the k-th
        retry waits ``backoff * 2**(k-1)`` seconds.
    backoff : float, default 0.5
    max_bytes : int, default 20_000_000
        Larger bodies are refused (by Content-Length, or by stopping the read).
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    FetchReport
        ``report[url]`` is the cached path or an error string; ``report.summary()``
        groups the failures by kind.
    """
    from tqdm import tqdm

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
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
    with tqdm(
        total=len(report.urls),
        initial=report.n_cached,
        desc="fetch",
        unit="img",
        disable=not progress,
    ) as bar:
        if todo:
            pool = ThreadPoolExecutor(max_workers=max(1, workers))
            try:
                futures = {
                    pool.submit(_fetch_one, u, cache, timeout, retries, backoff, max_bytes): u
                    for u in todo
                }
                for fut in as_completed(futures):
                    url = futures[fut]
                    try:
                        report.paths[url] = fut.result()
                        report.n_downloaded += 1
                    except _FetchError as exc:
                        report.errors[url] = str(exc)
                    except Exception as exc:  # a bug or disk error must not lose the rest
                        report.errors[url] = f"error: {type(exc).__name__}: {exc}"
                    bar.update(1)
            finally:
                # On Ctrl-C, drop queued downloads instead of waiting for all of them.
                pool.shutdown(wait=True, cancel_futures=True)
    # Keep input order in both dicts so reports and manifests are deterministic.
    report.paths = {u: report.paths[u] for u in report.urls if u in report.paths}
    report.errors = {u: report.errors[u] for u in report.urls if u in report.errors}
    return report


def write_manifest(path: str | Path, rows: Iterable[tuple[str, Path | str, str]]) -> int:
    """Write ``item_id,path,url`` rows to a CSV atomically; return the row count.

    Paths inside the manifest's folder are written relative to it (so the pair can be
    moved together), others absolute; :func:`visrec.data.images_index.load_manifest`
    resolves both.
    """
    target = Path(path)
    base = target.resolve().parent
    n = 0
    with atomic_path(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "path", "url"])
        for item, p, url in rows:
            ap = Path(p).resolve()
            try:
                shown = str(ap.relative_to(base))
            except ValueError:
                shown = str(ap)
            w.writerow([item, shown, url])
            n += 1
    return n
