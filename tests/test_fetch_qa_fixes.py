"""`visrec fetch` QA fixes: an overall time limit per download, outputs that are sources,
manifest entries that are URLs but not http(s), URLs needing percent-encoding, images over
embed's pixel limit, ids repeated across sources, one-line errors.

Every server is a local one on 127.0.0.1 started here.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from PIL import Image

from quiet_http import serving
from visrec.cli import main
from visrec.data.images_index import load_manifest
from visrec.images.decode import DEFAULT_MAX_PIXELS
from visrec.images.fetch import cache_key, fetch_images, normalize_url


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buf, format="JPEG")
    return buf.getvalue()


JPEG = _jpeg()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(side: int) -> bytes:
    """A valid all-black 1-bit PNG of side x side pixels (small when compressed)."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


BOMB_SIDE = 10_400  # 108 Mpx: over embed's limit, under the 2x at which Pillow raises
assert DEFAULT_MAX_PIXELS < BOMB_SIDE**2 < 2 * DEFAULT_MAX_PIXELS
BOMB = _bomb_png(BOMB_SIDE)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Counter]]:
    hits: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, body: bytes, ctype: str = "image/jpeg") -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _dribble(self, data: bytes, n: int) -> None:
            # the first n bytes one at a time, 0.1 s apart (well within any per-read
            # timeout), then the rest: 4 s for n=40 when nobody stops it
            for i in range(n):
                if stop.is_set():
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(0.1)
            self.wfile.write(data[n:])

        def do_GET(self) -> None:
            with lock:
                hits[self.path] += 1
            if self.path in OK_PATHS:
                self._send(JPEG)
            elif self.path == "/dribble.jpg":  # headers at once, then the body slowly
                self.send_response(200)
                self.send_header("Content-Length", str(len(JPEG)))
                self.end_headers()
                self.wfile.flush()
                self._dribble(JPEG, 40)
            elif self.path == "/dribble-headers.jpg":  # even the headers come slowly
                head = (
                    f"HTTP/1.0 200 OK\r\nContent-Length: {len(JPEG)}\r\n"
                    f"X-Padding: {'x' * 60}\r\n\r\n"
                ).encode()
                self._dribble(head + JPEG, 40)
            elif self.path == "/bomb.png":
                self._send(BOMB, "image/png")
            elif self.path in ("/loop", "/to-ftp", "/to-file"):
                self.send_response(302)
                where = {
                    "/loop": "/loop",
                    "/to-ftp": "ftp://127.0.0.1/x.jpg",
                    "/to-file": "file:///etc/passwd",
                }[self.path]
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/chain/"):  # a finite chain: /chain/N -> N-1 -> ... 0
                n = int(self.path.rsplit("/", 1)[1])
                self.send_response(302 if n else 404)
                where = f"/chain/{n - 1}" if n else ""
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

    with serving(Handler) as base:
        try:
            yield base, hits
        finally:
            stop.set()  # before the shutdown: the slow handlers wait on it


# what the server sees for the URLs test 4 asks for, and a plain one
OK_PATHS = (
    "/ok.jpg",
    "/my%20image.jpg",
    "/%C3%A9t%C3%A9.jpg?q=a%20b%C3%A9",
    "/already%20encoded.jpg",
)
FAST = {"backoff": 0.01, "progress": False, "workers": 4}


# ------------------------------------------------------------ 1. overall time limit
@pytest.mark.parametrize("path", ["/dribble.jpg", "/dribble-headers.jpg"])
def test_a_server_sending_a_byte_now_and_then_times_out_after_max_time(
    server: tuple[str, Counter], tmp_path: Path, path: str
) -> None:
    base, hits = server
    before = hits[path]
    t0 = time.monotonic()
    rep = fetch_images([base + path], tmp_path, timeout=2.0, max_time=0.4, retries=1, **FAST)
    took = time.monotonic() - t0
    err = rep.errors[base + path]
    assert err == "timeout: download not finished within 0.4s (max_time)", err
    assert hits[path] - before == 1  # not retried: a link this slow stays slow
    assert took < 2.5, took  # 2 x 0.4 s, not 2 x 4 s of dribbling
    assert list(tmp_path.iterdir()) == []


def test_max_time_defaults_to_a_multiple_of_timeout_and_cli_takes_it(
    server: tuple[str, Counter], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = server
    # timeout 0.25 s: the default max_time is 6 x 0.25 = 1.5 s, which the 4 s dribble
    # overruns while no single read waits 0.25 s
    rep = fetch_images([base + "/dribble.jpg"], tmp_path / "a", timeout=0.25, retries=0, **FAST)
    assert rep.errors[base + "/dribble.jpg"].startswith(
        "timeout: download not finished within 1.5s"
    )
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\nslow,{base}/dribble.jpg\nok,{base}/ok.jpg\n")
    args = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "--quiet", "--retries", "0"]
    assert main([*args, "--max-time", "0.3", "--json", str(tmp_path / "f.json")]) == 0
    out = capsys.readouterr().out
    assert "fetched 1 of 2 image URLs" in out and "within 0.3s" in out
    assert json.loads((tmp_path / "f.json").read_text())["failures_by_kind"] == {"timeout": 1}
    assert main([*args, "--max-time", "0"]) == 2
    assert "--max-time must be more than 0 and at most 86400 seconds (a day), got 0" in (
        capsys.readouterr().err
    )
    # a day of --timeout: the default --max-time is a day too, not six (refused)
    from visrec.images.fetch import default_max_time

    assert default_max_time(86400) == 86400 and default_max_time(10) == 60


# --------------------------------------------------- 2. an output that is a source
def test_an_output_that_is_a_source_is_refused_before_anything_is_fetched(
    server: tuple[str, Counter], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, hits = server
    cache = tmp_path / "c"
    cache.mkdir()
    text = f"item_id,url\nA,{base}/ok.jpg\nB,{base}/nothing-here.jpg\n"
    shop = tmp_path / "shop.csv"
    shop.write_text(text)
    in_cache = cache / "manifest.csv"  # the default output when -o is not given
    in_cache.write_text(text)
    link = tmp_path / "link.csv"
    link.symlink_to(shop)
    before = hits["/ok.jpg"]
    cases = [
        ([str(shop), "-o", str(shop)], "-o: ", shop),
        ([str(shop), "-o", str(link)], "-o: ", shop),  # the same file through a link
        ([str(link), "-o", str(tmp_path / "." / "shop.csv")], "-o: ", shop),
        ([str(in_cache)], "--cache (its manifest.csv): ", in_cache),
        ([str(shop), "-o", str(tmp_path / "m.csv"), "--json", str(shop)], "--json: ", shop),
    ]
    for extra, option, source in cases:
        rc = main(["fetch", *extra, "--cache", str(cache), "--quiet"])
        err = capsys.readouterr().err
        assert rc == 2, (extra, err)
        assert option in err and "is the source file" in err and str(source.name) in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert shop.read_text() == text and in_cache.read_text() == text
    assert hits["/ok.jpg"] == before  # refused before any download
    same = str(tmp_path / "x.out")  # no format in the name: the clash is refused
    assert main(["fetch", str(shop), "--cache", str(cache), "-o", same, "--json", same]) == 2
    assert "is also the manifest" in capsys.readouterr().err


# -------------------------------------- 3. manifest entries that are URLs, not http(s)
def test_non_http_urls_in_a_manifest_are_failures_naming_item_and_line(
    server: tuple[str, Counter], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, hits = server
    host = base.removeprefix("http://")
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "local.jpg").write_bytes(JPEG)
    rows = {
        "rel": f"//{host}/ok.jpg",
        "noscheme": f"{host}/ok.jpg",
        "typo": f"htps://{host}/ok.jpg",
        "passwd": "file:///etc/passwd",
        "ftp": f"ftp://{host}/ok.jpg",
        "local": "img/local.jpg",  # a local file, for `visrec embed`: skipped, not an error
        "good": f"{base}/ok.jpg",
    }
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\n" + "".join(f"{k},{v}\n" for k, v in rows.items()))
    js = tmp_path / "f.json"
    before = Counter(hits)
    rc = main(["fetch", str(urls), "--cache", str(tmp_path / "c"), "--quiet", "--json", str(js)])
    out, err = capsys.readouterr()
    assert rc == 0
    assert f"{urls}: skipped 1 entry that is a local path (for `visrec embed`" in err
    assert "fetched 1 of 6 image URLs" in out and "5 failed" in out
    data = json.loads(js.read_text())
    assert data["failures_by_kind"] == {"invalid url": 5}
    assert data["n_urls"] == 6 and data["n_failed"] == 5 and data["n_keys"] == 6
    errs = data["errors"]
    for line, (key, loc) in enumerate(rows.items(), start=2):
        if key in ("local", "good"):
            assert loc not in errs
            continue
        assert errs[loc].startswith("invalid url: "), errs[loc]
        assert f"item {key!r} ({urls} line {line})" in errs[loc], errs[loc]
    assert f"{rows['rel']}  (invalid url: " in out  # the summary shows examples too
    assert "scheme 'htps' is not http or https" in errs[rows["typo"]]
    assert "no scheme (starts with //)" in errs[rows["rel"]]
    assert hits["/ok.jpg"] - before["/ok.jpg"] == 1  # only `good` was requested
    assert list(load_manifest(tmp_path / "c" / "manifest.csv")) == ["good"]


def test_a_manifest_of_only_invalid_urls_exits_1_and_local_only_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,url\na,ftp://h/x.jpg\nb,127.0.0.1/x.jpg\nc,cdn.shop.com/x.jpg\n")
    assert main(["fetch", str(bad), "--cache", str(tmp_path / "c"), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"\n  invalid url +3\n", out) and f"{bad} line 4" in out, out
    local = tmp_path / "local.csv"
    # folders named like hosts are paths when the file is there
    (tmp_path / "img.v2").mkdir()
    (tmp_path / "img.v2" / "z.jpg").write_bytes(b"")
    (tmp_path / "shop.de").mkdir()
    (tmp_path / "shop.de" / "w.jpg").write_bytes(b"")
    local.write_text("item_id,path\na,x.jpg\nb,/data/y.png\nc,img.v2/z.jpg\nd,shop.de/w.jpg\n")
    assert main(["fetch", str(local), "--cache", str(tmp_path / "c"), "--quiet"]) == 2
    assert "no http(s) URLs in this manifest" in capsys.readouterr().err


# ------------------------------------------------- 4. URLs that need percent-encoding
def test_spaces_and_non_ascii_in_urls_are_percent_encoded(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    base, hits = server
    urls = [
        f"{base}/my image.jpg",
        f"{base}/été.jpg?q=a bé",
        f"{base}/already%20encoded.jpg",
    ]
    before = Counter(hits)
    rep = fetch_images(urls, tmp_path, timeout=2.0, retries=2, **FAST)
    assert not rep.errors, rep.errors
    sent = {p: hits[p] - before[p] for p in hits if hits[p] != before[p]}
    assert sent == {
        "/my%20image.jpg": 1,
        "/%C3%A9t%C3%A9.jpg?q=a%20b%C3%A9": 1,
        "/already%20encoded.jpg": 1,  # not encoded twice
    }
    # cached and listed under the URL as written
    assert rep.paths[urls[0]] == tmp_path / f"{cache_key(urls[0])}.jpg"


def test_a_url_still_invalid_after_encoding_is_not_retried(tmp_path: Path) -> None:
    urls = ["http://ho st/x.jpg", "http://127.0.0.1:99999/x.jpg", "http:///x.jpg", "http://[zz]/x"]
    t0 = time.monotonic()
    rep = fetch_images(urls, tmp_path, timeout=1.0, retries=3, backoff=1.0, progress=False)
    assert time.monotonic() - t0 < 1.0  # no backoff sleeps: nothing was retried
    assert {u: e.split(":", 1)[0] for u, e in rep.errors.items()} == dict.fromkeys(
        urls, "invalid url"
    )
    assert "host 'ho st' is not a valid name" in rep.errors[urls[0]]
    assert "bad port" in rep.errors[urls[1]]


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://h/ok.jpg?a=1&b=2", "http://h/ok.jpg?a=1&b=2"),
        ("HTTPS://H:8443/a b.jpg#frag", "https://H:8443/a%20b.jpg"),
        ("http://h/100%/x%41%2f", "http://h/100%25/x%41%2f"),
        ('http://h/a<b>"c".jpg', "http://h/a%3Cb%3E%22c%22.jpg"),
        ("http://bücher.example/ü.jpg", "http://xn--bcher-kva.example/%C3%BC.jpg"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_normalize_url(url: str, sent: str) -> None:
    assert normalize_url(url) == sent


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("//cdn.example/x.jpg", r"no scheme \(starts with //\)"),
        ("cdn.example/x.jpg", "no scheme"),
        ("htps://h/x.jpg", "scheme 'htps' is not http or https"),
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("http:/h/x.jpg", r"no host: expected http://host/\.\.\."),
        ("http://h:port/x.jpg", "bad port"),
        # urllib took "user:secret@h" for a host name, and retried it as a DNS failure
        ("http://user:secret@h/x.jpg", "a user name or password in a URL is not supported"),
        ("https://user@h/x.jpg", "a user name or password in a URL is not supported"),
    ],
)
def test_normalize_url_refuses(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        normalize_url(url)


def test_a_password_in_a_url_is_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.images.http_get import hide_password

    assert hide_password("http://ann:s3cret@h:81/x.jpg?q=1") == "http://ann:***@h:81/x.jpg?q=1"
    assert hide_password("http://ann@h/x.jpg") == "http://ann@h/x.jpg"  # no password
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\ncred,http://ann:s3cret@127.0.0.1:9/x.jpg\n")
    js = tmp_path / "f.json"
    argv = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-q", "--json", str(js)]
    assert main(argv) == 1  # refused, never requested
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err + js.read_text()
    assert "a user name or password in a URL is not supported" in out
    # nor in the error naming two URLs of one item
    other = tmp_path / "other.csv"
    other.write_text("item_id,url\ncred,http://127.0.0.1:9/y.jpg\n")
    assert main(["fetch", str(other), str(urls), "--cache", str(tmp_path / "c"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "'http://ann:***@127.0.0.1:9/x.jpg'" in err and "s3cret" not in err
    # two URLs that differ only in the password: both failures kept in --json
    from visrec.images.fetch import FetchReport

    rep = FetchReport()
    rep.add_failure("http://ann:one@h/x.jpg", "invalid url: a")
    rep.add_failure("http://ann:two@h/x.jpg", "invalid url: b")
    assert rep.to_dict()["errors"] == {
        "http://ann:***@h/x.jpg": "invalid url: a",
        "http://ann:***@h/x.jpg (2)": "invalid url: b",
    }


def test_a_file_too_large_for_the_size_limit_fails_that_url_only() -> None:
    # ulimit -f: one big image fails, the smaller ones fit (a full disk stops the fetch)
    import errno
    from concurrent.futures import Future

    from visrec.images.fetch import FetchReport, _collect

    rep, fut = FetchReport(), Future()  # type: ignore[var-annotated]
    fut.set_exception(OSError(errno.EFBIG, "File too large"))
    _collect(rep, "http://h/big.png", fut)
    assert rep.errors == {"http://h/big.png": "error: OSError: [Errno 27] File too large"}
    full = Future()  # type: ignore[var-annotated]
    full.set_exception(OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(OSError, match="No space left"):
        _collect(rep, "http://h/x.jpg", full)


def test_a_ctrl_c_keeps_its_report_when_a_finished_download_met_a_full_disk() -> None:
    # the refused cache write, re-raised, replaced the interrupted note and its hint
    import errno
    from concurrent.futures import Future, ThreadPoolExecutor

    from visrec.images.fetch import FetchInterrupted, FetchReport, _interrupt
    from visrec.images.http_get import Stop

    full = Future()  # type: ignore[var-annotated]
    full.set_exception(OSError(errno.ENOSPC, "No space left on device"))
    rep = FetchReport(urls=["http://h/x.jpg"])
    with ThreadPoolExecutor(1) as pool:
        got = _interrupt(rep, {full: "http://h/x.jpg"}, pool, Stop())
    assert isinstance(got, FetchInterrupted)
    assert got.report.errors == {
        "http://h/x.jpg": "error: OSError: [Errno 28] No space left on device"
    }


# ------------------------------------------------- 5. over embed's pixel limit
def test_an_image_over_embeds_pixel_limit_is_refused_without_a_pillow_warning(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    base, _ = server
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\nbomb,{base}/bomb.png\nok,{base}/ok.jpg\n")
    js = tmp_path / "f.json"
    cmd = [sys.executable, "-m", "visrec", "fetch", str(urls), "--cache", str(tmp_path / "c")]
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # would show any warning let through
    res = subprocess.run(
        [*cmd, "--quiet", "--json", str(js)], capture_output=True, text=True, env=env, timeout=60
    )
    assert res.returncode == 0, res.stderr
    # "warning:": how the CLI shows a warning (Python's own format names its category)
    assert "Warning" not in res.stderr and "warning:" not in res.stderr, res.stderr
    err = json.loads(js.read_text())["errors"][f"{base}/bomb.png"]
    assert err == (
        f"too large: decompression bomb ({BOMB_SIDE:,} x {BOMB_SIDE:,} pixels; "
        f"visrec embed's limit is {DEFAULT_MAX_PIXELS:,} pixels)"
    )
    assert list(load_manifest(tmp_path / "c" / "manifest.csv")) == ["ok"]


# ----------------------------------- 6. ids repeated across sources; one-line errors
def test_an_id_in_two_manifests_with_different_urls_is_an_error_naming_both(
    server: tuple[str, Counter], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, hits = server
    m1, m2 = tmp_path / "m1.csv", tmp_path / "m2.csv"
    m1.write_text(f"item_id,url\na,{base}/ok.jpg\nx,{base}/ok.jpg\n")
    m2.write_text(f"item_id,url\nb,{base}/ok.jpg\n\nx,{base}/my image.jpg\n")
    before = Counter(hits)
    assert main(["fetch", str(m1), str(m2), "--cache", str(tmp_path / "c"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{m2} line 4: item 'x'" in err and f"{m1} line 3" in err, err
    assert hits == before  # nothing fetched
    # the same URL again is the same image: fetched once, listed once
    m2.write_text(f"item_id,url\nb,{base}/ok.jpg\nx,{base}/ok.jpg\n")
    assert (
        main(["fetch", str(m1), str(m2), str(m1), "--cache", str(tmp_path / "c"), "--quiet"]) == 0
    )
    assert list(load_manifest(tmp_path / "c" / "manifest.csv")) == ["a", "x", "b"]


def test_a_redirect_loop_is_reported_on_one_line(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    base, _ = server
    rep = fetch_images([f"{base}/loop"], tmp_path, timeout=2.0, retries=0, **FAST)
    err = rep.errors[f"{base}/loop"]
    assert err == "too many redirects: more than 10, or a loop (the last: 302 Found)"
    assert len(rep.summary().splitlines()) == 3  # totals, the kind, one example
    # a finite chain of 12 is not called an infinite loop
    rep = fetch_images([f"{base}/chain/12"], tmp_path, timeout=2.0, retries=0, **FAST)
    assert rep.errors[f"{base}/chain/12"].startswith("too many redirects: more than 10,")


def test_a_redirect_to_another_scheme_is_an_invalid_url(
    server: tuple[str, Counter], tmp_path: Path
) -> None:
    base, hits = server
    before = hits["/to-ftp"]
    rep = fetch_images([f"{base}/to-ftp"], tmp_path, timeout=2.0, retries=2, **FAST)
    assert rep.errors[f"{base}/to-ftp"] == (
        "invalid url: redirected to 'ftp://127.0.0.1/x.jpg': not http(s)"
    )
    assert hits["/to-ftp"] - before == 1  # not retried
    # file: (which urllib refuses itself, as an "http 302") is the same kind of failure
    rep = fetch_images([f"{base}/to-file"], tmp_path, timeout=2.0, retries=2, **FAST)
    assert rep.errors[f"{base}/to-file"] == (
        "invalid url: redirected to 'file:///etc/passwd': not http(s)"
    )


def test_a_bad_url_in_a_review_or_meta_file_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the error named the file only; a real review file has thousands of records
    rev = tmp_path / "A_5.json"
    recs = [
        {"reviewerID": "U1", "asin": "B1", "overall": 5, "unixReviewTime": 1},
        {"reviewerID": "U2", "asin": "B2", "overall": 5, "unixReviewTime": 1, "image": "pic"},
    ]
    rev.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    meta = tmp_path / "meta_A.json"
    meta.write_text(
        json.dumps({"asin": "B1"}) + "\n\n" + json.dumps({"asin": "B9", "imageURL": ["x"]}) + "\n"
    )
    for src, where in ((rev, f"{rev} line 2"), (meta, f"{meta} line 3")):
        args = ["fetch", str(src), "--cache", str(tmp_path / "c"), "-q", "--retries", "0"]
        assert main(args) == 1
        out = capsys.readouterr().out
        assert f"({where}): no scheme" in out, out


def test_what_says_it_does_not_apply_to_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\na,http://127.0.0.1:9/a.jpg\n")  # nothing listens on 9
    args = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-q", "--retries", "0"]
    assert main([*args, "--what", "review-photos"]) == 1  # nothing fetched
    assert f"--what review-photos does not apply to {urls}" in capsys.readouterr().err
