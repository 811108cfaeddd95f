"""Tests that kill the mutants of visrec.images.fetch and visrec.commands.fetch that
no other test noticed (session 54's mutation audit of the image fetcher). Each test
names the mutant it kills. No network: the downloads are stubbed, or refused before
any request."""

from __future__ import annotations

import errno
import io
import json
import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from PIL import Image

from quiet_http import QuietHandler, serving
from visrec.cli import main
from visrec.errors import VisrecError
from visrec.images import fetch as fetch_mod
from visrec.images.fetch import (
    MAX_SECONDS,
    SHOWN_URL_CHARS,
    CacheDirError,
    FetchInterrupted,
    FetchReport,
    _collect,
    _verify_image,
    cache_key,
    check_cache_dir,
    check_seconds,
    fetch_images,
)
from visrec.images.http_get import FetchError, Stop


def test_a_day_itself_is_a_valid_time_limit() -> None:
    # kills I02: `0 < value < MAX_SECONDS` (the documented "a day at most" refused a day)
    check_seconds(MAX_SECONDS, "--timeout")
    with pytest.raises(VisrecError, match="at most 86400 seconds"):
        check_seconds(MAX_SECONDS + 1, "--timeout")


@pytest.mark.parametrize("make", [True, False])
def test_a_cache_that_links_to_nothing_names_where_it_points(tmp_path: Path, make: bool) -> None:
    # kills I03: the dangling-link check dropped (mkdir's bare "File exists", or "No
    # such file", which do not say the folder is a link to a missing one)
    cache = tmp_path / "img"
    os.symlink(tmp_path / "gone", cache)
    with pytest.raises(CacheDirError, match=r"is a link to .*gone.*which does not exist"):
        check_cache_dir(cache, make=make)
    assert not (tmp_path / "gone").exists()


def test_a_failure_recorded_for_a_fetched_url_replaces_it_once(tmp_path: Path) -> None:
    # kills I06 (the URL listed twice: `if url not in self.errors`) and I07 (its path
    # kept: `self.paths.pop` dropped, so report[url] still said fetched)
    url = "http://h/a.jpg"
    report = FetchReport(paths={url: tmp_path / "a.jpg"}, urls=[url])
    report.add_failure(url, "invalid url: refused")
    assert list(report) == [url] and len(report) == 1
    assert report[url] == "invalid url: refused" and url not in report.paths
    assert report.to_dict()["n_ok"] == 0 and report.to_dict()["n_failed"] == 1


def test_a_failure_is_recorded_as_one_line() -> None:
    # kills I08: `self.errors[url] = error` (a reason with a line break or a run of
    # spaces kept as given: a summary line split in two)
    report = FetchReport()
    report.add_failure("http://h/a.jpg", "invalid url: item 'a'\n  (urls.csv line 2):\tbad")
    assert report.errors["http://h/a.jpg"] == "invalid url: item 'a' (urls.csv line 2): bad"
    assert len(report.summary().splitlines()) == 3


def test_the_summary_names_three_example_urls_per_kind() -> None:
    # kills I09: `failed[: examples + 1]` (a fourth example shown)
    report = FetchReport()
    for n in range(5):
        report.add_failure(f"http://h/{n}.jpg", "invalid url: x")
    shown = [line.strip().split()[0] for line in report.summary().splitlines()[2:]]
    assert shown == ["http://h/0.jpg", "http://h/1.jpg", "http://h/2.jpg"]
    assert len(report.summary(examples=1).splitlines()) == 3


def test_a_url_of_exactly_the_shown_length_is_shown_whole() -> None:
    # kills I12: `len(text) < limit` (a URL of exactly SHOWN_URL_CHARS characters cut)
    url = "http://h/" + "a" * (SHOWN_URL_CHARS - len("http://h/"))
    report = FetchReport()
    report.add_failure(url, "invalid url: x")
    assert f"      {url}  (invalid url: x)" in report.summary().splitlines()
    report.add_failure(url + "b", "invalid url: x")
    assert "(201 characters)" in report.summary()


def test_three_urls_that_differ_only_in_the_password_keep_three_entries() -> None:
    # kills I14: `if key in keyed` for `while` (the third URL's key was " (2)" again,
    # which replaced the second's failure in --json)
    report = FetchReport()
    for pw in ("one", "two", "three"):
        report.add_failure(f"http://ann:{pw}@h/x.jpg", f"invalid url: {pw}")
    assert report.to_dict()["errors"] == {
        "http://ann:***@h/x.jpg": "invalid url: one",
        "http://ann:***@h/x.jpg (2)": "invalid url: two",
        "http://ann:***@h/x.jpg (3)": "invalid url: three",
    }


@pytest.mark.parametrize(
    "code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM]
)
def test_each_refused_cache_write_stops_the_fetch(code: int) -> None:
    # kills I41 (EACCES dropped from CACHE_REFUSED: a cache made unwritable mid-run
    # failed URL after URL, each downloaded in full first) and its kin for each errno
    fut: Future[Path] = Future()
    fut.set_exception(OSError(code, os.strerror(code)))
    with pytest.raises(OSError) as got:
        _collect(FetchReport(), "http://h/x.jpg", fut)
    assert got.value.errno == code


def test_fewer_than_one_worker_fetches_with_one(tmp_path: Path) -> None:
    # kills I36: `max_workers=workers` (workers=0 was a ValueError from the thread
    # pool, a traceback, instead of one worker)
    report = fetch_images(["ftp://h/x.jpg"], tmp_path / "c", workers=0, progress=False)
    assert report.errors == {"ftp://h/x.jpg": "invalid url: scheme 'ftp' is not http or https"}


def test_a_refused_cache_write_stops_the_downloads_still_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills I39: `if not finished: stop.set()` dropped (after a full disk ended the
    # fetch, the downloads in progress went on, to be lost the same way)
    made: list[Stop] = []

    class Recorded(Stop):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    def full_disk(url: str, *args: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch_mod, "Stop", Recorded)
    monkeypatch.setattr(fetch_mod, "_fetch_one", full_disk)
    with pytest.raises(OSError, match="No space left"):
        fetch_images(["http://h/x.jpg"], tmp_path / "c", workers=1, progress=False)
    assert len(made) == 1 and made[0].is_set()


def test_an_image_cut_off_in_its_pixel_data_is_said_to_end_early() -> None:
    # kills I46: the decode failure's own words ("OSError: image file is truncated (3
    # bytes not processed)") for the "truncated" that the header case says
    buf = io.BytesIO()
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    for x in range(0, 64, 4):  # some scan data to cut
        img.putpixel((x, x % 48), (0, 0, 255))
    img.save(buf, format="JPEG")
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data[:-20])).size == (64, 48)  # header whole
    with pytest.raises(FetchError) as err:
        _verify_image(data[:-20])
    assert str(err.value) == "broken image: truncated (the image ends early)"


def test_sources_without_photos_write_an_empty_manifest_and_succeed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills C20 (`written = bool(rows) or not out.exists()`: an earlier manifest, of
    # other sources, left in place for `visrec embed` to read as this run's) and C30
    # (`if n_rows == 0`: exit 1, "none of the 0 URLs could be fetched")
    reviews = tmp_path / "AMAZON_FASHION_5.json"
    reviews.write_text(
        json.dumps({"overall": 4.0, "reviewerID": "U1", "asin": "B1", "unixReviewTime": 2}) + "\n"
    )
    out = tmp_path / "photos.csv"
    out.write_text("item_id,path,url\nold,old.jpg,http://h/old.jpg\n")
    argv = ["fetch", str(reviews), "--cache", str(tmp_path / "c"), "-o", str(out), "-q"]
    assert main(argv) == 0
    assert out.read_text() == "item_id,path,url\n"
    assert "error" not in capsys.readouterr().err


def test_a_refused_url_is_not_taken_from_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills C26 (the refused URLs handed to fetch_images too: one that an older visrec
    # had cached counted as "1 from cache" while it failed, and was listed in input
    # order rather than after the URLs tried)
    url = "http://ann:pw@127.0.0.1:9/x.jpg"  # refused since: a password in the URL
    cache = tmp_path / "c"
    cache.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    (cache / f"{cache_key(url)}.png").write_bytes(buf.getvalue())
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\na,{url}\n")
    report = tmp_path / "r.json"
    argv = ["fetch", str(urls), "--cache", str(cache), "--json", str(report), "-q"]
    assert main(argv) == 1
    got = json.loads(report.read_text())
    assert (got["n_cached"], got["n_ok"], got["n_failed"]) == (0, 0, 1)
    assert "0 from cache" in capsys.readouterr().out


def test_only_old_temp_files_of_the_fetch_are_swept_from_the_cache(tmp_path: Path) -> None:
    # kills I16: `if True:` for the ``.part`` test (any dot file an hour old, a
    # user's .gitignore or another program's lock, was deleted from the cache)
    cache = tmp_path / "c"
    cache.mkdir()
    old = time.time() - 2 * 3600
    for name in (".gitignore", f".{'1' * 64}.jpg.x1y2.part"):
        (cache / name).write_text("x")
        os.utime(cache / name, (old, old))
    fetch_images([], cache, progress=False)
    assert sorted(p.name for p in cache.iterdir()) == [".gitignore"]


def test_an_interrupted_fetch_does_not_wait_for_a_stuck_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills I40: `pool.shutdown(wait=True, ...)` (Ctrl-C waited for a download stuck
    # where a shut socket cannot reach it, a name lookup, for up to --timeout)
    release, started, ended = threading.Event(), threading.Event(), threading.Event()

    def fetch_one(url: str, *args: object) -> Path:
        if not url.endswith("stuck.jpg"):
            started.wait(30)  # both downloads running: none is left queued
        else:
            started.set()
            release.wait(30)  # deaf to the stop, as a name lookup is
            ended.set()
        raise OSError(errno.EIO, "stub")

    collect = fetch_mod._collect
    pressed: list[str] = []

    def ctrl_c_once(report: FetchReport, url: str, fut: Future[Path]) -> None:
        if not pressed:
            pressed.append(url)
            raise KeyboardInterrupt
        collect(report, url, fut)

    monkeypatch.setattr(fetch_mod, "_fetch_one", fetch_one)
    monkeypatch.setattr(fetch_mod, "_collect", ctrl_c_once)
    monkeypatch.setattr(fetch_mod, "_STOP_WAIT_S", 0.05)
    try:
        with pytest.raises(FetchInterrupted) as got:
            fetch_images(["http://h/a.jpg", "http://h/stuck.jpg"], tmp_path, workers=2)
        assert not ended.is_set()  # returned while the download was still stuck
        assert got.value.n_stopped == 1
    finally:
        release.set()


def test_failures_are_reported_in_input_order_not_completion_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills I44: report.errors left in the order the downloads ended (summaries and
    # --json of the same input came out in a different order run to run)
    first_waits = threading.Event()

    def fetch_one(url: str, *args: object) -> Path:
        if url.endswith("a.jpg"):
            first_waits.wait(30)  # ends after the second one
        else:
            first_waits.set()
        raise OSError(errno.EIO, f"failed {url[-5:]}")

    monkeypatch.setattr(fetch_mod, "_fetch_one", fetch_one)
    urls = ["http://h/a.jpg", "http://h/b.jpg"]
    report = fetch_images(urls, tmp_path, workers=2, progress=False)
    assert list(report.errors) == urls


def test_a_source_named_twice_through_a_link_is_read_once(tmp_path: Path) -> None:
    # kills C05: `r = p` (a review file given as itself and through a link was read
    # twice: its photos listed again as <id>_2)
    from visrec.commands.fetch import source_files

    reviews = tmp_path / "AMAZON_FASHION_5.json"
    reviews.write_text("{}\n")
    (tmp_path / "again.json").symlink_to(reviews)
    assert source_files([str(reviews), str(tmp_path / "again.json")]) == [reviews]


@pytest.mark.parametrize("entry", ["FILE:/etc/passwd", "Data:image/png;base64,AAAA"])
def test_a_scheme_in_capitals_is_still_a_url(tmp_path: Path, entry: str) -> None:
    # kills C02: `m.group(1) in _URL_SCHEMES` (FILE:/x was skipped as a local path
    # instead of failing as an invalid url naming its item)
    from visrec.commands.fetch import looks_like_url

    assert looks_like_url(entry, tmp_path)


def test_the_offline_advice_needs_every_failure_to_be_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills C23: `any(` for `all(` (one unreachable URL among 404s advised working
    # offline, when the server answered)
    class Missing(QuietHandler):
        def do_GET(self) -> None:
            self._send(404, b"?")

    urls = tmp_path / "urls.csv"
    with serving(Missing) as base:
        urls.write_text(f"item_id,url\na,{base}/a.jpg\nb,http://127.0.0.1:9/b.jpg\n")
        argv = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-q", "--retries", "0"]
        assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "http 404" in out and "connection error" in out
    assert "none of the 2 URLs could be fetched" in err and "cannot reach" not in err


def test_a_blank_cache_name_is_refused_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills C21: `if not args.cache:` (a --cache of only spaces made a folder of that
    # name in the current folder, as the empty name once put the images there)
    monkeypatch.chdir(tmp_path)
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\na,ftp://h/a.jpg\n")
    assert main(["fetch", str(urls), "--cache", "  ", "-o", "m.csv", "-q"]) == 2
    assert "--cache: folder path is empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["urls.csv"]
