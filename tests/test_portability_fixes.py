"""What a Mac or Windows user met (a portability review, simulated on Linux): embed's
rewrite of its output replaced a file still open, a stdout in a code page failed on an
id it cannot encode, CSV rows took ``os.linesep``, a pipe's reader leaving said EINVAL,
and Apple Silicon ran half its cores."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from test_embed_qa_fixes import _folder
from visrec.cli import main
from visrec.embed.extract import embed_folder
from visrec.embed.store import ItemVectors, read_vectors, write_vectors


def test_embed_closes_the_old_output_before_replacing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows refuses to replace a file that is open; the reused chunks were read from
    # the old output, still open at the rename: every rerun after an image was added
    # failed at the very end
    import visrec._atomic as atomic
    import visrec.embed.output as output
    from test_embed import TinyBackbone

    folder = _folder(tmp_path / "imgs", [f"{i:03d}" for i in range(6)])
    out = tmp_path / "v.parquet"
    embed_folder(folder, out, backbone=TinyBackbone(), chunk_size=2, progress=False)
    opened: list[Any] = []

    class Tracked(pq.ParquetFile):  # type: ignore[misc]
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self.open_ = True
            opened.append(self)

        def close(self, force: bool = False) -> None:
            self.open_ = False
            super().close(force=force)

    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == out:
            assert not [f for f in opened if f.open_], "the old output is still open"
        real_replace(src, dst)

    monkeypatch.setattr(output.pq, "ParquetFile", Tracked)
    monkeypatch.setattr(atomic.os, "replace", replace)
    _folder(tmp_path / "imgs", ["006"])  # an image added: the other chunks are reused
    res = embed_folder(folder, out, backbone=TinyBackbone(), chunk_size=2, progress=False)
    assert opened and res.n_reused > 0
    assert read_vectors(out).ids.tolist() == [f"{i:03d}" for i in range(7)]


def test_an_id_stdout_cannot_encode_is_escaped_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows writes a redirected stdout in its code page (cp1252): a Chinese id failed
    # with UnicodeEncodeError after the outputs were written
    ids = np.asarray(["T恤-01", "mug", "靴子"], dtype=object)
    vec = tmp_path / "v.parquet"
    write_vectors(vec, ItemVectors(ids, np.eye(3, 4, dtype=np.float32) + 0.1, np.ones(3, bool)))
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252")
    monkeypatch.setattr("sys.stdout", stdout)
    # a caller's own stream (a notebook's, a test's capture) is left as it is
    with pytest.raises(UnicodeEncodeError):  # its own rules stand
        main(["similar", str(vec), "mug", "--n", "2"])
    assert stdout.errors == "strict"
    monkeypatch.setattr("sys.__stdout__", stdout)  # the process's own
    assert main(["similar", str(vec), "mug", "--n", "2"]) == 0
    stdout.flush()
    text = raw.getvalue().decode("cp1252")
    assert "T\\u6064-01" in text and "\\u9774\\u5b50" in text
    # a file name's undecodable byte still goes out as it is, as on a UTF-8 stdout
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="latin-1")
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.__stdout__", stdout)
    weird = tmp_path / os.fsdecode(b"r\xff.csv")
    weird.write_text("user_id,item_id\nu1,i1\n")
    assert main(["data", "summary", str(weird)]) == 0
    stdout.flush()
    assert b"r\xff.csv" in raw.getvalue()  # (a TMPDIR's own accent goes out as latin-1)


def test_csv_rows_end_in_a_newline_whatever_os_linesep_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pandas ends rows with os.linesep ("\r\n" on Windows), which a text-mode write then
    # doubled ("\r\r\n": a blank row after each) or which mixed with a "\n" header
    from visrec.demo.synth import make_catalogue

    monkeypatch.setattr(os, "linesep", "\r\n")
    cat = make_catalogue(tmp_path / "cat", n_items=8, n_users=4, image_size=32)
    for path in (cat.items_csv, cat.root / "interactions.csv"):
        assert b"\r" not in path.read_bytes()
    train = tmp_path / "t.csv"
    pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]}).to_csv(
        train, index=False
    )
    model, recs = tmp_path / "m", tmp_path / "recs.csv"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(model)]
    assert main(argv) == 0
    assert main(["recommend", str(model), "--n", "2", "-o", str(recs), "-q"]) == 0
    data = recs.read_bytes()
    assert data == b"user_id,item_id,rank,score\nb,y,1,1\n"  # a has seen every item


def test_a_pipe_reader_leaving_with_einval_on_windows_is_a_closed_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.commands import _common

    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.EINVAL, "Invalid argument")

    # os.name is the process's: undone before any assert (pytest's report reads it)
    monkeypatch.setattr(_common.os, "name", "nt")
    on_windows = _common._StdoutGuard(Gone())
    on_windows.write("x")
    monkeypatch.setattr(_common.os, "name", "posix")
    elsewhere = _common._StdoutGuard(Gone())
    elsewhere.write("x")
    monkeypatch.undo()
    assert on_windows.broken and on_windows.failed is None  # the reader left: exit 141
    assert elsewhere.failed is not None  # elsewhere EINVAL is a real failure


def test_apple_silicon_counts_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform
    import sys

    from visrec.embed import onnx_engine

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert onnx_engine.physical_cores() == 8  # no hyper-threads to leave out
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert onnx_engine.physical_cores() == 4
