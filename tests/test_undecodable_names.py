"""File names that are not UTF-8 (Linux allows any bytes; Python keeps the odd ones as
lone surrogates): printed as they are, and one line, not a traceback, where a library
(pyarrow) cannot take them."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visrec.cli import main

ODD = os.fsdecode(b"\xff")  # the byte 0xff: no UTF-8 character


def _ratings(path: Path) -> Path:
    path.write_text("user_id,item_id\nu1,i1\nu2,i1\nu2,i2\n")
    return path


def test_a_strict_stdout_prints_such_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # under a UTF-8 locale Python's stdout is strict: printing the name used to raise
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", out)
    data = _ratings(tmp_path / f"r{ODD}.csv")
    model = tmp_path / f"m{ODD}"
    argv = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(model)]
    assert main([*argv, "--quiet"]) == 0
    assert (model / "model.json").is_file()
    assert b"-> " + os.fsencode(model) in raw.getvalue()  # the name's own bytes


def test_a_parquet_output_with_such_a_name_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pyarrow encodes paths as strict UTF-8: a traceback from deep inside it before
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(2):
        arr = np.random.default_rng(i).integers(0, 255, (30, 40, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i}.jpg")
    out = tmp_path / f"{ODD}.parquet"
    assert main(["embed", str(folder), "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: '{tmp_path}/\\xff.parquet") and err.count("\n") == 1
    assert "not valid UTF-8" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs"]  # nothing left behind
