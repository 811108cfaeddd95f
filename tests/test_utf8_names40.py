"""Names that are not valid UTF-8 (Linux allows any bytes) where a library takes UTF-8
only: the ONNX export cache, a fetch manifest's paths, a Parquet interactions file.
Each is one line before any work, not a traceback (found by a coverage audit)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.onnx_engine import CacheUnwritable, cached_onnx_path


def _bytes_path(folder: Path, name: bytes) -> str:
    return os.fsdecode(os.fsencode(folder) + b"/" + name)


def test_an_onnx_cache_folder_not_in_utf8_is_refused_before_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.embed.backbones import get_backbone

    cache = _bytes_path(tmp_path, b"c\xff")
    monkeypatch.setenv("VISREC_CACHE", cache)
    with pytest.raises(CacheUnwritable) as err:
        cached_onnx_path(get_backbone("efficientnet-lite0"))
    assert str(err.value) == (
        f"VISREC_CACHE '{tmp_path}/c\\xff/onnx' is not valid UTF-8, which the ONNX export "
        "cannot write to; set VISREC_CACHE to a folder with a UTF-8 name"
    )
    assert not os.path.lexists(cache)  # nothing exported, nothing made
    monkeypatch.delenv("VISREC_CACHE")  # a folder given: named as the cache folder
    with pytest.raises(CacheUnwritable, match=r"^the cache folder '.*/c\\xff' is not valid"):
        cached_onnx_path(get_backbone("efficientnet-lite0"), _bytes_path(tmp_path, b"c\xff"))


def test_fetch_refuses_a_cache_the_manifest_cannot_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\na,http://127.0.0.1:9/a.jpg\n", encoding="utf-8")
    cache = _bytes_path(tmp_path, b"c\xff")
    argv = ["fetch", str(urls), "--cache", cache, "-q", "--retries", "0"]
    assert main([*argv, "-o", str(tmp_path / "m.csv")]) == 2
    assert capsys.readouterr().err == (
        f"error: --cache '{tmp_path}/c\\xff': the manifest (-o) names each image by its "
        "path in this folder, whose name is not valid UTF-8, which the manifest's text "
        "cannot hold; rename the folder, or write the manifest inside it\n"
    )
    assert not os.path.lexists(cache)
    # inside the folder the manifest names its images relative to it: no such name
    from visrec.commands.fetch import _check_manifest_paths

    _check_manifest_paths(Path(cache) / "m.csv", Path(cache), "-o")
    with pytest.raises(Exception, match="not valid UTF-8"):  # below it: absolute paths
        _check_manifest_paths(Path(cache) / "sub" / "m.csv", Path(cache), "-o")


def test_a_parquet_interactions_file_not_named_in_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = tmp_path / "r.parquet"
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]}).to_parquet(ok)
    bad = _bytes_path(tmp_path, b"r\xff.parquet")
    os.rename(ok, bad)
    said = f"error: '{tmp_path}/r\\xff.parquet': a file name that is not valid UTF-8 cannot"
    for argv in (
        ["data", "summary", bad],
        ["train", "--model", "popularity", "--interactions", bad, "-o", str(tmp_path / "m")],
    ):
        assert main(argv) != 0
        assert capsys.readouterr().err.startswith(said)
