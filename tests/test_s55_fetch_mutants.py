"""Tests that kill the mutants of the image fetcher (visrec.images.fetch and
visrec.commands.fetch) that session 54's audit planned but did not run; session 55 ran
them, and these are the ones no other test noticed. Each test names the mutant it
kills. No network: downloads are stubbed, or refused before any request."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from visrec.cli import main
from visrec.images import fetch as fetch_mod
from visrec.images.fetch import (
    _fetch_one,
    _verify_image,
    fetch_images,
    normalize_url,
)
from visrec.images.http_get import FetchError, Stop, Stopped

CLOSED = "http://127.0.0.1:9"  # nothing listens on port 9, should one be requested


def _urls_csv(tmp_path: Path, *rows: str) -> Path:
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\n" + "".join(f"{r}\n" for r in rows))
    return urls


def test_a_bracketed_host_that_is_no_ipv6_address_is_refused() -> None:
    # kills M01: the IPv6Address check dropped (an IPvFuture literal with a colon,
    # which urlsplit lets through, went on to be requested)
    with pytest.raises(ValueError, match=r"^host 'v1\.a:b' is not an IPv6 address$"):
        normalize_url("http://[v1.a:b]/x.jpg")
    # the zone id is not part of the address checked
    assert normalize_url("http://[fe80::1%25eth0]/x.jpg") == "http://[fe80::1%25eth0]/x.jpg"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[v1.fe]/x.jpg", "host 'v1.fe' is not an IPv6 address"),
        ("http://h[::1]:8080/x.jpg", "host 'h[::1]' is not a valid name"),
    ],
)
def test_a_bracketed_host_is_never_looked_up_as_a_name(url: str, why: str) -> None:
    # not a mutant: a bug M01 showed. urlsplit lets these through (an IPvFuture
    # literal without a colon, a name before the brackets), and they were requested:
    # http.client looked up 'v1.fe' and 'h[::1]' as host names, a connection error
    # (and the offline advice) for what is an invalid url
    with pytest.raises(ValueError) as got:
        normalize_url(url)
    assert str(got.value) == why


def test_a_stray_percent_in_the_query_is_encoded() -> None:
    # kills M02: the query quoted without the stray-% fix ("100%" sent as is, which a
    # server reads as a broken escape)
    got = normalize_url("http://h/x.jpg?off=100%&b=%zz&c=%41")
    assert got == "http://h/x.jpg?off=100%25&b=%25zz&c=%41"


def test_an_image_whose_format_is_not_named_is_cached_as_img(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kills M03: `fmt.lower()` without `or "img"` (a decoder that names no format made
    # a cache file ending in a bare dot); Pillow's own plugins always name one, so the
    # decode is stubbed
    def unnamed(fp: Any, *args: Any, **kwargs: Any) -> Image.Image:
        return Image.new("RGB", (4, 4))

    monkeypatch.setattr(Image, "open", unnamed)
    assert _verify_image(b"anything") == "img"


def test_a_download_whose_turn_comes_after_the_stop_is_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills M07: the stop check at the loop top dropped (a URL a worker took up after
    # Ctrl-C was still requested, its name looked up first, which nothing can cut short)
    calls: list[str] = []

    def download(url: str, *args: object) -> bytes:
        calls.append(url)
        buf = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buf, format="PNG")
        return buf.getvalue()

    monkeypatch.setattr(fetch_mod, "download", download)
    stop = Stop()
    stop.set()
    with pytest.raises(Stopped):
        _fetch_one(f"{CLOSED}/x.jpg", tmp_path, 5.0, 3, 0.0, 10**6, 30.0, stop)
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_the_progress_bar_starts_at_the_cached_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills M08: `initial=0` (a rerun's bar started at 0 of all the URLs, and ended
    # short of its total by the number cached)
    from visrec import _bars

    cache = tmp_path / "c"
    cache.mkdir()
    cached = f"{CLOSED}/cached.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG")
    (cache / f"{fetch_mod.cache_key(cached)}.png").write_bytes(buf.getvalue())
    bars: list[Any] = []
    real = _bars.progress_bar

    def recorded(*args: Any, **kwargs: Any) -> Any:
        bars.append(real(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(_bars, "progress_bar", recorded)
    report = fetch_images([cached, "ftp://h/x.jpg"], cache, progress=False)
    assert report.n_cached == 1 and len(report.errors) == 1
    assert len(bars) == 1 and (bars[0].n, bars[0].total) == (2, 2)


def test_a_one_letter_scheme_is_a_windows_drive(tmp_path: Path) -> None:
    # kills M12: `[A-Za-z0-9+.-]*` in _SCHEME (C://photos/x.jpg, a Windows path,
    # taken for a URL with the scheme 'c' and failed as an invalid url)
    from visrec.commands.fetch import looks_like_url

    assert not looks_like_url("C://photos/x.jpg", tmp_path)
    assert looks_like_url("cc://photos/x.jpg", tmp_path)


def test_a_folder_gives_only_its_review_files_for_review_photos(tmp_path: Path) -> None:
    # kills M13: the meta files of a folder kept for --what review-photos (which then
    # refused them: "a meta file has product images, not review photos")
    from visrec.commands.fetch import source_files

    (tmp_path / "meta_AMAZON_FASHION.json").write_text("{}\n")
    (tmp_path / "AMAZON_FASHION_5.json").write_text('{"reviewerID": "U1", "asin": "B1"}\n')
    assert source_files([str(tmp_path)], "review-photos") == [tmp_path / "AMAZON_FASHION_5.json"]
    assert source_files([str(tmp_path)], "product-images") == [
        tmp_path / "meta_AMAZON_FASHION.json"
    ]


def test_three_failed_items_are_named_without_and_0_more() -> None:
    # kills M14: `len(keys) >= limit` ("'a', 'b', 'c' and 0 more"), and M17b:
    # `_examples_of(..., limit=2)` (two failed items named where the note promises three)
    from visrec.commands.fetch import _examples_of

    assert _examples_of(["a", "b", "c"]) == "'a', 'b', 'c'"
    assert _examples_of(["a", "b", "c", "d"]) == "'a', 'b', 'c' and 1 more"


def test_a_negative_retry_count_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills M15a: the --retries check dropped (--retries -1 ran, as 0)
    urls = _urls_csv(tmp_path, f"a,{CLOSED}/a.jpg")
    assert main(["fetch", str(urls), "--cache", str(tmp_path / "c"), "--retries", "-1"]) == 2
    assert "--retries must be at least 0, got -1" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_json_output_that_cannot_be_written_is_refused_before_any_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills M20: the --json check dropped (every image downloaded before the --json
    # path, a folder, failed)
    calls: list[str] = []

    def fetch_one(url: str, *args: object) -> Path:
        calls.append(url)
        raise FetchError("http 404", "Not Found", retry=False)

    monkeypatch.setattr(fetch_mod, "_fetch_one", fetch_one)
    (tmp_path / "out.json").mkdir()
    urls = _urls_csv(tmp_path, f"a,{CLOSED}/a.jpg")
    argv = [
        "fetch",
        str(urls),
        "--cache",
        str(tmp_path / "c"),
        "--json",
        str(tmp_path / "out.json"),
    ]
    assert main(argv) == 2
    assert "--json: output path" in capsys.readouterr().err
    assert calls == [] and not (tmp_path / "c").exists()


def test_what_on_one_manifest_names_it_without_and_0_more(tmp_path: Path) -> None:
    # kills M14b: `len(manifests) >= 1` ("urls.csv (and 0 more)")
    from visrec.commands.fetch import read_sources

    urls = _urls_csv(tmp_path, f"a,{CLOSED}/a.jpg")
    again = tmp_path / "more.csv"
    again.write_text(f"item_id,url\nb,{CLOSED}/b.jpg\n")
    said = "a manifest's URLs are fetched as listed"
    one = read_sources([urls], "review-photos").notes
    assert one == [f"--what review-photos does not apply to {urls}: {said}"]
    two = read_sources([urls, again], "product-images").notes
    assert two == [f"--what product-images does not apply to {urls} (and 1 more): {said}"]
