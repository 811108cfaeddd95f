"""visrec fetch with a cache it cannot write: one line naming --cache before any
download, and a run that fetched nothing leaves an existing manifest alone."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import visrec.images.fetch as fetch_mod
from visrec.cli import main
from visrec.images.fetch import CacheDirError, check_cache_dir, fetch_images


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every download attempted (none reaches the network)."""
    seen: list[str] = []

    def download(url: str, *args: object) -> bytes:
        seen.append(url)
        raise fetch_mod.FetchError("connection error", "refused", False)

    monkeypatch.setattr(fetch_mod, "download", download)
    return seen


@pytest.fixture
def urls(tmp_path: Path) -> Path:
    path = tmp_path / "urls.csv"
    path.write_text("item_id,url\nA,http://127.0.0.1:9/a.jpg\nB,http://127.0.0.1:9/b.jpg\n")
    return path


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(target: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fetch_mod, "probe_writable", refuse)


def test_a_read_only_cache_is_one_error_before_any_download(
    urls: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    downloads: list[str],
) -> None:
    keep = tmp_path / "keep.csv"
    keep.write_text("item_id,path,url\nA,a.jpg,http://h/a.jpg\n")
    _read_only(monkeypatch)
    cache = tmp_path / "ro"
    cache.mkdir()
    argv = ["fetch", str(urls), "--cache", str(cache), "-o", str(keep), "--quiet"]
    assert main(argv) == 1  # the system refused (read-only): exit 1
    err = capsys.readouterr().err
    assert err == f"error: --cache: cannot write to {str(cache)!r} (Read-only file system)\n"
    assert downloads == [] and keep.read_text().count("\n") == 2


@pytest.mark.parametrize("kind", ["file", "dangling link", "under a file"])
def test_a_cache_that_is_no_folder_is_one_error_naming_cache(
    kind: str,
    urls: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    downloads: list[str],
) -> None:
    cache = tmp_path / "c"
    if kind == "file":
        cache.write_text("x")
    elif kind == "dangling link":
        os.symlink(tmp_path / "gone", cache)
    else:
        cache.write_text("x")
        cache = cache / "sub"
    argv = ["fetch", str(urls), "--cache", str(cache), "-o", str(tmp_path / "m.csv"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --cache: {str(cache)!r} ") or err.startswith(
        f"error: --cache: cannot write to {str(cache)!r} ("
    ), err
    assert len(err.splitlines()) == 1 and downloads == []
    assert not (tmp_path / "m.csv").exists() and not (tmp_path / "gone").exists()


def test_nothing_fetched_leaves_an_existing_manifest(
    urls: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], downloads: list[str]
) -> None:
    keep = tmp_path / "keep.csv"
    before = "item_id,path,url\n" + "".join(f"i{n},{n}.jpg,http://h/{n}.jpg\n" for n in range(12))
    keep.write_text(before)
    report = tmp_path / "r.json"
    argv = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-o", str(keep), "--quiet"]
    assert main([*argv, "--json", str(report)]) == 1
    assert len(downloads) == 2 and keep.read_text() == before
    err = capsys.readouterr().err
    assert (
        "error: none of the 2 URLs could be fetched (for 2 images; the summary says "
        f"why): {keep} is left as it was; if this machine cannot reach them"
    ) in err
    # one photo for several items (Amazon reviews do this): URLs are counted once
    urls.write_text(urls.read_text() + "C,http://127.0.0.1:9/a.jpg\n")
    assert main(argv) == 1
    got = capsys.readouterr()
    assert "fetched 0 of 2 image URLs" in got.out  # the summary's count, the same
    assert (
        "error: none of the 2 URLs could be fetched (for 3 images; the summary says "
        f"why): {keep} is left as it was; if this machine cannot reach them"
    ) in got.err
    data = json.loads(report.read_text())
    assert data["manifest_written"] is False and data["manifest_rows"] == 0
    # with no manifest there yet, the empty one is still written (as before)
    fresh = tmp_path / "fresh.csv"
    assert (
        main(["fetch", str(urls), "--cache", str(tmp_path / "c"), "-o", str(fresh), "--quiet"]) == 1
    )
    assert fresh.read_text() == "item_id,path,url\n"
    # said on stderr with the exit status, not only in the summary on stdout
    assert (
        f"could be fetched (for 3 images; the summary says why): {fresh} holds only its "
        "header; if this machine cannot reach them" in (capsys.readouterr().err)
    )


def test_fetch_images_checks_the_cache_before_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloads: list[str]
) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(CacheDirError, match="is not a folder") as info:
        fetch_images(["http://127.0.0.1:9/a.jpg"], afile, progress=False)
    assert isinstance(info.value, OSError)  # still an OSError for library callers
    _read_only(monkeypatch)
    with pytest.raises(CacheDirError, match=r"\(Read-only file system\)"):
        fetch_images(["http://127.0.0.1:9/a.jpg"], tmp_path / "c", progress=False)
    assert downloads == []


def test_check_cache_dir_without_make_leaves_nothing(tmp_path: Path) -> None:
    check_cache_dir(tmp_path / "a" / "b", make=False)
    assert list(tmp_path.iterdir()) == []
    assert check_cache_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the probe file is gone
