"""Image fetching against a local HTTP server started by the tests (127.0.0.1 only)."""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from quiet_http import serving
from visrec.cli import main
from visrec.data.images_index import load_manifest
from visrec.images.fetch import cache_key, fetch_images

if TYPE_CHECKING:
    from conftest import BarCase


def _image_bytes(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, (200, 30, 30))
    for x in range(0, size[0], 4):  # some structure so the JPEG has real scan data
        img.putpixel((x, x % size[1]), (0, 0, 255))
    img.save(buf, format=fmt)
    return buf.getvalue()


JPEG = _image_bytes("JPEG", (320, 240))
PNG = _image_bytes("PNG")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
HTML = b"<!doctype html><html><body>Sorry, this page is not available</body></html>"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Counter]]:
    hits: Counter = Counter()
    times: list[float] = []
    lock = threading.Lock()
    # /slow.jpg answers only at teardown, so it times out whatever the machine's load;
    # the other paths answer at once and get a timeout long enough for a busy machine
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(
            self, code: int, body: bytes, length: int | None = None, ctype: str = "image/jpeg"
        ) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            with lock:
                hits[path] += 1
                n = hits[path]
            if path == "/ok.jpg":
                self._send(200, JPEG)
            elif path == "/ok.png":
                self._send(200, PNG, ctype="image/png")
            elif path == "/png-named.jpg":  # content decides, not the extension
                self._send(200, PNG)
            elif path == "/missing.jpg":
                self._send(404, b"not found", ctype="text/plain")
            elif path == "/slow.jpg":
                release.wait(60)
                self._send(200, JPEG)
            elif path == "/short.jpg":  # Content-Length larger than the body
                self._send(200, JPEG[:500], length=len(JPEG))
            elif path == "/cut.jpg":  # complete transfer of a cut-off JPEG
                self._send(200, JPEG[: len(JPEG) // 2])
            elif path == "/page.jpg":
                self._send(200, HTML, ctype="text/html")
            elif path == "/doc.jpg":
                self._send(200, PDF, ctype="application/pdf")
            elif path == "/empty.jpg":
                self._send(200, b"")
            elif path == "/flaky.jpg":  # 503, then the image: for every fetch, not only the first
                if n % 2 == 1:
                    self._send(503, b"busy", ctype="text/plain")
                else:
                    self._send(200, JPEG)
            elif path == "/down.jpg":
                self._send(503, b"busy", ctype="text/plain")
            elif path == "/limited.jpg":  # 429 asking for a second's wait, then the image
                times.append(time.monotonic())
                if n % 2 == 1:
                    self.send_response(429)
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(200, JPEG)
            elif path == "/to-cred.jpg":  # a redirect to user:password@ (refused, masked)
                self.send_response(302)
                self.send_header("Location", "http://ann:s3cret@127.0.0.1:9/x.jpg")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.startswith("/to-ftp"):  # a redirect fetch refuses to follow
                self.send_response(302)
                self.send_header("Location", "ftp://example.invalid/x.jpg")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/huge-declared.jpg":
                self._send(200, b"", length=10**9)
            elif path == "/huge-stream.jpg":  # no Content-Length: HTTP/1.0 body until close
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"\xff" * 300_000)
            else:
                self._send(404, b"?", ctype="text/plain")

    hits.times = times  # type: ignore[attr-defined]
    with serving(Handler) as base:
        try:
            yield base, hits
        finally:
            release.set()  # before the shutdown: the slow handlers wait on it


FAST = {"timeout": 1.0, "backoff": 0.01, "progress": False, "workers": 8}


def test_good_images_cached_by_url_hash_then_reused(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    base, hits = server
    urls = [f"{base}/ok.jpg", f"{base}/ok.png", f"{base}/png-named.jpg", f"{base}/ok.jpg"]
    before = {p: hits[p] for p in ("/ok.jpg", "/ok.png", "/png-named.jpg")}
    rep = fetch_images(urls, tmp_path / "c", **FAST)
    assert len(rep) == 3 and rep.n_downloaded == 3 and rep.n_cached == 0 and not rep.errors
    assert rep[urls[0]] == tmp_path / "c" / f"{cache_key(urls[0])}.jpg"
    assert rep[urls[1]] == tmp_path / "c" / f"{cache_key(urls[1])}.png"
    assert Path(rep[urls[2]]).suffix == ".png"  # decoded as PNG despite the .jpg URL
    assert Path(rep[urls[0]]).read_bytes() == JPEG
    after_first = {p: hits[p] for p in before}
    assert {p: after_first[p] - before[p] for p in before} == {
        "/ok.jpg": 1,
        "/ok.png": 1,
        "/png-named.jpg": 1,
    }
    rep2 = fetch_images(urls, tmp_path / "c", **FAST)
    assert rep2.n_cached == 3 and rep2.n_downloaded == 0
    assert {p: hits[p] for p in before} == after_first  # no request at all
    assert dict(rep2.paths) == dict(rep.paths)


def test_failures_grouped_by_reason_and_nothing_partial_in_cache(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    base, hits = server
    bad = {
        "/missing.jpg": "http 404",
        "/slow.jpg": "timeout",
        "/short.jpg": "truncated download",
        "/cut.jpg": "broken image",
        "/page.jpg": "not an image",
        "/doc.jpg": "not an image",
        "/empty.jpg": "not an image",
        "/down.jpg": "http 503",
        "/huge-declared.jpg": "too large",
        "/huge-stream.jpg": "too large",
    }
    before = Counter(hits)
    cache = tmp_path / "c"
    rep = fetch_images(
        [base + p for p in bad] + ["file:///etc/passwd"],
        cache,
        retries=2,
        max_bytes=100_000,
        **FAST,
    )
    assert not rep.paths
    kinds = {u.removeprefix(base): e.split(":", 1)[0] for u, e in rep.errors.items()}
    assert kinds == {**bad, "file:///etc/passwd": "invalid url"}
    # messages are stable from run to run (Pillow would name its buffer's address)
    assert "0x" not in rep.errors[base + "/page.jpg"], rep.errors[base + "/page.jpg"]
    assert "cannot identify image file" in rep.errors[base + "/page.jpg"]
    assert rep.failures_by_kind() == {
        "not an image": 3,
        "too large": 2,
        "http 404": 1,
        "timeout": 1,
        "truncated download": 1,
        "broken image": 1,
        "http 503": 1,
        "invalid url": 1,
    }
    made = {p: hits[p] - before[p] for p in bad}
    # Retried (1 + 2 retries): timeouts, truncated transfers, 5xx. Never: 404, bad content.
    assert made == {
        "/missing.jpg": 1,
        "/slow.jpg": 3,
        "/short.jpg": 3,
        "/cut.jpg": 1,
        "/page.jpg": 1,
        "/doc.jpg": 1,
        "/empty.jpg": 1,
        "/down.jpg": 3,
        "/huge-declared.jpg": 1,
        "/huge-stream.jpg": 1,
    }
    assert list(cache.iterdir()) == []  # no partial or temp files left behind
    text = rep.summary()
    assert "fetched 0 of 11 image URLs (0 from cache, 0 downloaded); 11 failed" in text
    assert "  not an image               3" in text
    assert isinstance(rep[base + "/missing.jpg"], str)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_error_answers_close_their_connections(server: tuple[str, Counter], tmp_path: Path) -> None:
    # a 404's socket stayed open until the garbage collector ran: a manifest of a
    # thousand dead URLs ran out of file descriptors, and good images failed with it
    import gc

    base, _ = server
    urls = [f"{base}/gone-{i}.jpg" for i in range(40)] + [f"{base}/to-ftp-{i}" for i in range(20)]
    gc.collect()
    gc.disable()  # what is left open is what the code left, not what gc happened to close
    try:
        before = len(os.listdir("/proc/self/fd"))
        rep = fetch_images(urls, tmp_path / "c", **{**FAST, "retries": 0})
        left = len(os.listdir("/proc/self/fd")) - before
    finally:
        gc.enable()
    assert rep.failures_by_kind() == {"http 404": 40, "invalid url": 20}
    assert left < 5, left


def test_a_redirect_to_a_password_is_refused_without_printing_it(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    # urllib would take "ann:s3cret@127.0.0.1" for a host name
    base, _ = server
    rep = fetch_images([f"{base}/to-cred.jpg"], tmp_path / "c", **{**FAST, "retries": 0})
    assert rep.errors == {
        f"{base}/to-cred.jpg": "invalid url: redirected to 'http://ann:***@127.0.0.1:9/x.jpg': "
        "a user name or password in a URL is not supported"
    }
    assert "s3cret" not in rep.summary() + json.dumps(rep.to_dict())


def test_retry_after_503_succeeds(server: tuple[str, Counter], tmp_path: Path) -> None:
    base, hits = server
    before = hits["/flaky.jpg"]
    rep = fetch_images([f"{base}/flaky.jpg"], tmp_path, retries=1, **FAST)
    assert not rep.errors and rep.n_downloaded == 1
    assert hits["/flaky.jpg"] - before == 2
    with Image.open(rep[f"{base}/flaky.jpg"]) as im:
        assert im.size == (320, 240)


def test_a_429_waits_as_long_as_retry_after_asks(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    # the backoff here is 0.01 s: the second attempt waits the server's second
    base, hits = server
    times = hits.times  # type: ignore[attr-defined]
    start = len(times)
    rep = fetch_images([f"{base}/limited.jpg"], tmp_path, retries=1, **FAST)
    assert not rep.errors and len(times) - start == 2
    assert times[start + 1] - times[start] >= 0.9
    # out of retries: the failure says what the server asked
    rep = fetch_images([f"{base}/limited.jpg"], tmp_path / "b", retries=0, **FAST)
    assert rep.errors[f"{base}/limited.jpg"] == (
        "http 429: Too Many Requests (the server asked to wait 1s)"
    )


def test_a_full_cache_disk_stops_the_fetch_with_one_line(
    server: tuple[str, Counter],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # it was one failure per URL, every image downloaded in full and lost, and exit 0
    import errno

    import visrec.images.fetch as fetch_mod

    base, _ = server
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\n" + "".join(f"i{n},{base}/ok.jpg?n={n}\n" for n in range(6)))

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(fetch_mod.Path, "write_bytes", full)
    argv = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-q", "--workers", "1"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"error: '{tmp_path / 'c'}") and line.endswith(
        ": No space left on device"
    )
    assert out == "" and not (tmp_path / "c" / "manifest.csv").exists()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0", 0.0), ("-5", 0.0), ("1e9", 60.0), ("nan", None), ("soon", None),
     ("", None), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after_values(header: str | None, seconds: float | None) -> None:
    from visrec.images.http_get import retry_after

    assert retry_after(header) == seconds


def test_no_retries_means_one_attempt(server: tuple[str, Counter], tmp_path: Path) -> None:
    base, hits = server
    before = hits["/down.jpg"]
    rep = fetch_images([f"{base}/down.jpg"], tmp_path, retries=0, **FAST)
    assert rep.errors[f"{base}/down.jpg"].startswith("http 503")
    assert hits["/down.jpg"] - before == 1


def test_connection_refused_is_reported(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/x.jpg"
    rep = fetch_images([url], tmp_path, retries=1, **FAST)
    assert rep.errors[url] == "connection error: Connection refused"  # no "[Errno 111]"


def test_cli_fetch_from_manifest_and_review_file(
    server: tuple[str, Counter], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base, _ = server
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\nA,{base}/ok.jpg\nB,{base}/missing.jpg\nC,{base}/ok.png\n")
    cache = tmp_path / "cache"
    out = tmp_path / "out" / "fetched.csv"
    js = tmp_path / "f.json"
    rc = main(
        [
            "fetch",
            str(urls),
            "--cache",
            str(cache),
            "-o",
            str(out),
            "--no-progress",
            "--retries",
            "0",
            "--timeout",
            "1",
            "--json",
            str(js),
        ]
    )
    assert rc == 0
    text, err = capsys.readouterr()
    assert "fetched 2 of 3 image URLs" in text and "http 404" in text
    assert f"wrote {out} (2 images)" in text
    got = load_manifest(out)
    assert list(got) == ["A", "C"]
    assert Path(got["A"]).read_bytes() == JPEG
    assert json.loads(js.read_text())["failures_by_kind"] == {"http 404": 1}
    # the item missing from the manifest is named, by id, not only its URL
    assert f"1 of 3 images is not in the manifest: its URL failed ('B'; --json {js}" in err
    failed = json.loads(js.read_text())["failed_items"]
    assert list(failed) == ["B"] and failed["B"].startswith("http 404")
    # its own manifest (item_id,path,url) fetches its URLs again into another cache,
    # whatever became of the paths (it said "no http(s) URLs in this manifest")
    assert main(["fetch", str(out), "--cache", str(tmp_path / "again"), "--no-progress"]) == 0
    assert "fetched 2 of 2 image URLs (0 from cache, 2 downloaded)" in capsys.readouterr().out

    reviews = tmp_path / "AMAZON_FASHION_5.json.gz"
    recs = [
        {
            "overall": 5.0,
            "reviewerID": "U1",
            "asin": "B1",
            "unixReviewTime": 1,
            "image": [f"{base}/ok.jpg", f"{base}/ok.png"],
        },
        {"overall": 4.0, "reviewerID": "U2", "asin": "B1", "unixReviewTime": 2},
        {
            "overall": None,
            "reviewerID": "U3",
            "asin": "B1",
            "unixReviewTime": 3,
            "image": [f"{base}/ok.png"],
        },
        {
            "overall": 3.0,
            "reviewerID": "U4",
            "asin": "B2",
            "unixReviewTime": 4,
            "image": [f"{base}/page.jpg"],
        },
    ]
    reviews.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in recs).encode()))
    out2 = tmp_path / "photos.csv"
    rc = main(
        [
            "fetch",
            str(reviews),
            "--cache",
            str(cache),
            "-o",
            str(out2),
            "--no-progress",
            "--retries",
            "0",
        ]
    )
    assert rc == 0
    shown, text = capsys.readouterr()  # what the review file holds: a note on stderr
    # a photo needs no rating: the review with "overall": null is fetched too (its id
    # ends in _x, as no rating row can have it)
    assert "4 reviews, 3 with photos" in text and "null rating" not in text
    got = load_manifest(out2)
    assert list(got) == ["B1_U1_1", "B1_U3_3_x"]  # first photo only; both from the cache
    assert got["B1_U1_1"] == str((cache / f"{cache_key(base + '/ok.jpg')}.jpg").resolve())
    assert got["B1_U3_3_x"] == str((cache / f"{cache_key(base + '/ok.png')}.png").resolve())
    assert "2 from cache" in shown
    assert f"wrote {out2} (2 images)\n" in shown


def test_cli_fetch_bar_only_on_a_terminal(
    server: tuple[str, Counter],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bar_case: BarCase,
) -> None:
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    base, _ = server
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\nA,{base}/ok.png\n")
    assert main(["fetch", str(urls), "--cache", str(tmp_path / "c"), *flags]) == 0
    captured = capsys.readouterr()
    assert ("\r" in captured.err) is bar, captured.err
    assert "fetched 1 of 1 image URLs" in captured.out  # the summary either way


def test_cli_fetch_all_failed_exit_1_and_kind_mismatch(
    server: tuple[str, Counter], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base, _ = server
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\nA,{base}/missing.jpg\n")
    assert main(["fetch", str(urls), "--cache", str(tmp_path / "c"), "--no-progress"]) == 1
    assert load_manifest_rows(tmp_path / "c" / "manifest.csv") == 0
    # the items left out are named when none was fetched too, on the rerun as well
    for _ in range(2):
        assert main(["fetch", str(urls), "--cache", str(tmp_path / "c"), "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert "1 of 1 image is not in the manifest: its URL failed ('A'" in err
        assert err.endswith(
            "error: the only URL could not be fetched (for 1 image; the summary says why): "
            f"{tmp_path / 'c' / 'manifest.csv'} is left as it was\n"
        )
    meta = tmp_path / "meta_X.json"
    meta.write_text('{"asin": "B1", "imageURL": ["http://h/1.jpg"]}\n')
    assert (
        main(["fetch", str(meta), "--cache", str(tmp_path / "c"), "--what", "review-photos"]) == 2
    )
    assert "a meta file has product images" in capsys.readouterr().err


def load_manifest_rows(path: Path) -> int:
    return len(path.read_text().strip().splitlines()) - 1


def test_cache_file_mode_and_stale_temp_cleanup(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    import os

    base, _ = server
    cache = tmp_path / "c"
    cache.mkdir()
    stale, fresh = cache / ".old.jpg.abc.part", cache / ".new.jpg.def.part"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    old_mask = os.umask(0o027)
    try:
        rep = fetch_images([f"{base}/ok.jpg"], cache, **FAST)
    finally:
        os.umask(old_mask)
    assert not stale.exists() and fresh.exists()  # a fresh one may be another run's
    assert Path(rep[f"{base}/ok.jpg"]).stat().st_mode & 0o777 == 0o640


def test_a_pipe_or_dead_link_at_a_cache_name_is_replaced_by_the_download(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    # the write of the download refuses to put a file in place of a pipe: left there,
    # the URL failed on every rerun
    import os

    base, _ = server
    cache = tmp_path / "c"
    cache.mkdir()
    urls = [f"{base}/ok.jpg", f"{base}/ok.png"]
    os.mkfifo(cache / f"{cache_key(urls[0])}.jpg")
    (cache / f"{cache_key(urls[1])}.png").symlink_to(tmp_path / "gone.png")
    mine = cache / "notes.txt"
    os.mkfifo(mine)  # not one of our names: left alone
    rep = fetch_images(urls, cache, **FAST)
    assert not rep.errors and rep.n_downloaded == 2
    assert Path(rep[urls[0]]).read_bytes() == JPEG
    assert Path(rep[urls[1]]).is_file() and not Path(rep[urls[1]]).is_symlink()
    assert mine.exists()


def test_an_emptied_cache_file_is_fetched_again(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    # a crash (no fsync) or a hand left a 0-byte file: it was "from cache" for ever
    base, _ = server
    url = f"{base}/ok.jpg"
    first = fetch_images([url], tmp_path, **FAST)
    Path(first[url]).write_bytes(b"")
    again = fetch_images([url], tmp_path, **FAST)
    assert again.n_cached == 0 and again.n_downloaded == 1
    assert Path(again[url]).read_bytes() == JPEG


def test_a_phone_jpeg_that_pillow_calls_mpo_is_kept_as_jpg() -> None:
    # saved as .mpo it was skipped by `visrec embed DIR` (not an image extension)
    import io

    from PIL import Image

    from visrec.images.fetch import _verify_image

    first, second = Image.new("RGB", (20, 10), "red"), Image.new("RGB", (20, 10), "blue")
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    assert _verify_image(buf.getvalue()) == "jpg"
