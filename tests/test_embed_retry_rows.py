"""`visrec embed` resuming, finer: a read error that may pass recomputes that image only
(the rest of its chunk is reused), each chunk records the engine that computed it, and a
killed run's temporary output is removed by the next run at once."""

from __future__ import annotations

import errno
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow.parquet as pq
import pytest

import visrec.embed.compute as compute_mod
import visrec.embed.extract as extract_mod
import visrec.images.decode as decode_mod
from test_embed import TinyBackbone
from tiny_embed import image_folder, stopped_before_output
from visrec import _atomic
from visrec.embed.extract import EmbedResult, cut_chunks, embed_images, parts_dir
from visrec.embed.store import read_vectors, read_vectors_meta


def _items(folder: Path) -> list[tuple[str, Path]]:
    return [(p.stem, p) for p in sorted(folder.glob("*.jpg"))]


def _embed(folder: Path, out: Path | None, **kw: Any) -> EmbedResult:
    kw.setdefault("chunk_size", 8)
    kw.setdefault("engine", "torch")
    kw.setdefault("progress", False)
    return embed_images(_items(folder), out, backbone=TinyBackbone(), batch_size=3, workers=2, **kw)


def _meta(out: Path) -> dict[str, Any]:
    return read_vectors_meta(out)


def _rewrite_meta(out: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the visrec metadata of ``out`` with ``edit``, row groups unchanged: a
    file as an earlier visrec wrote it."""
    with pq.ParquetFile(out) as pf:
        meta = json.loads(pf.schema_arrow.metadata[b"visrec"])
        groups = [pf.read_row_group(g) for g in range(pf.num_row_groups)]
        schema = pf.schema_arrow
    edit(meta)
    schema = schema.with_metadata({b"visrec": json.dumps(meta).encode()})
    with pq.ParquetWriter(out, schema) as writer:
        for t in groups:
            writer.write_table(t.cast(schema))


class Flaky:
    """The decoder's ``open`` fails with EIO for the files named in ``failing`` (remove
    a name to heal it); ``seen`` counts the images decoded, by file name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failing: set[str]) -> None:
        self.failing = failing
        self.seen: Counter[str] = Counter()
        real_load = compute_mod.load_image

        def fake_open(path: Any, *args: Any, **kw: Any) -> Any:
            if Path(path).name in self.failing:
                raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
            return open(path, *args, **kw)

        def load(path: Any, **kw: Any) -> Any:
            self.seen[Path(path).name] += 1
            return real_load(path, **kw)

        monkeypatch.setattr(decode_mod, "open", fake_open, raising=False)
        monkeypatch.setattr(compute_mod, "load_image", load)


class FlakyCase(NamedTuple):
    folder: Path  # 20 images, 000-019.jpg
    out: Path  # its output, not yet written
    flaky: Flaky
    clean: EmbedResult  # the folder embedded from scratch, before any read failed


def flaky_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: set[str]) -> FlakyCase:
    """The setup of the retry tests: an image folder whose reads of ``failing`` fail."""
    folder = image_folder(tmp_path / "imgs", 20)
    clean = _embed(folder, None)
    return FlakyCase(folder, tmp_path / "v.parquet", Flaky(monkeypatch, failing), clean)


def _same_as(res: EmbedResult, clean: EmbedResult) -> None:
    """``res``'s output equals the from-scratch run ``clean``: ids, order, vectors."""
    got, want = read_vectors(res.output or ""), clean.vectors
    assert list(got.ids) == list(want.ids)
    assert np.array_equal(got.vectors, want.vectors)
    assert np.array_equal(got.has_image, want.has_image)
    assert res.failures == clean.failures


# ----------------------------------------------- 1. a read error: that image only


def test_a_read_error_recomputes_only_that_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = image_folder(tmp_path / "imgs", 20)
    (folder / "doc.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")  # a failure that stays
    clean = _embed(folder, tmp_path / "clean.parquet")
    assert [i for i, _, _ in clean.failures] == ["doc"]
    out = tmp_path / "v.parquet"
    flaky = Flaky(monkeypatch, {"002.jpg", "004.jpg", "011.jpg"})  # in both chunks
    first = _embed(folder, out)
    assert sorted(i for i, _, _ in first.failures) == ["002", "004", "011", "doc"]
    meta = _meta(out)
    # the real fingerprints, and apart the images to compute again
    assert all(not fp.startswith("retry-") for fp in meta["chunks"])
    assert sorted(meta["retry"].values()) == [["002", "004"], ["011"]]

    flaky.failing.clear()  # chmod or the disk fixed: the files' mtimes unchanged
    flaky.seen.clear()
    second = _embed(folder, out, progress=True)
    assert flaky.seen == Counter({"002.jpg": 1, "004.jpg": 1, "011.jpg": 1})
    assert second.n_computed == 3 and second.n_reused == 18
    err = capsys.readouterr().err
    assert "resuming: reused 18 vectors, 3 to compute" in err
    assert "computing again 3 images that had a read error" in err
    _same_as(second, clean)
    assert _meta(out)["retry"] == {} and _meta(out)["chunks"] == _meta(clean.output)["chunks"]
    assert not parts_dir(out).exists()

    flaky.seen.clear()
    third = _embed(folder, out)
    assert third.n_computed == 0 and third.engine == "reused" and not flaky.seen


def test_an_image_still_failing_is_tried_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, {"003.jpg", "007.jpg"})
    _embed(folder, out)
    flaky.failing.discard("007.jpg")
    flaky.seen.clear()
    second = _embed(folder, out)
    assert second.n_computed == 2 and set(flaky.seen) == {"003.jpg", "007.jpg"}
    assert [i for i, _, _ in second.failures] == ["003"]
    assert list(_meta(out)["retry"].values()) == [["003"]]
    flaky.failing.clear()
    flaky.seen.clear()
    third = _embed(folder, out)
    assert third.n_computed == 1 and set(flaky.seen) == {"003.jpg"}
    _same_as(third, clean)


def test_a_read_error_in_an_interrupted_runs_chunk_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, {"009.jpg"})

    stopped_before_output(monkeypatch, lambda: _embed(folder, out))
    assert len(list(parts_dir(out).glob("chunk-*.parquet"))) == 2
    flaky.failing.clear()
    flaky.seen.clear()
    again = _embed(folder, out)
    assert again.n_computed == 1 and set(flaky.seen) == {"009.jpg"}
    _same_as(again, clean)


def test_a_changed_chunk_is_computed_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the retry list holds only for the chunk as it was: a changed image in it changes
    # its fingerprint, and the whole chunk is computed as before
    folder, out, flaky, _ = flaky_case(tmp_path, monkeypatch, {"002.jpg"})
    _embed(folder, out)
    flaky.failing.clear()
    flaky.seen.clear()
    later = time.time() + 5
    os.utime(folder / "001.jpg", (later, later))
    again = _embed(folder, out)
    assert again.n_computed == 6 and len(flaky.seen) == 6  # 000-005
    _same_as(again, _embed(folder, None))


def test_an_output_of_the_earlier_format_recomputes_the_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, {"012.jpg"})
    _embed(folder, out)

    def earlier(meta: dict[str, Any]) -> None:  # "retry-" + fingerprint, no retry field
        retry = meta.pop("retry")
        meta.pop("engines", None)
        meta["chunks"] = ["retry-" + fp if fp in retry else fp for fp in meta["chunks"]]

    _rewrite_meta(out, earlier)
    flaky.failing.clear()
    flaky.seen.clear()
    again = _embed(folder, out)
    second_chunk = cut_chunks([(f"{i:03d}", "") for i in range(20)], 8)[1]
    assert again.n_computed == len(second_chunk) == len(flaky.seen) == 14
    assert any("computing again 1 chunk" in n for n in again.notes)
    _same_as(again, clean)


def test_a_read_error_is_retried_when_an_older_visrec_dropped_the_retry_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a visrec from before per-image retries rewrites the file without "retry", but its
    # failures still say "read error, retried next run": the image is still retried
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, {"002.jpg"})
    _embed(folder, out)
    _rewrite_meta(out, lambda meta: meta.pop("retry"))
    flaky.failing.clear()
    flaky.seen.clear()
    again = _embed(folder, out)  # not "up to date"
    assert again.n_computed == 1 and set(flaky.seen) == {"002.jpg"}
    _same_as(again, clean)


# ----------------------------------------------- 2. the engine of each chunk


class Renamed:
    """The torch engine under another name: a second engine with known vectors."""

    def __init__(self, name: str) -> None:
        from visrec.embed.engines import make_engine

        self.inner = make_engine(TinyBackbone(), "torch", "cpu", batch_size=3)
        self.name = name
        self.batch_size = self.inner.batch_size

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.inner(batch))


def _touch(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def test_each_chunk_records_its_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = image_folder(tmp_path / "imgs", 20)
    out = tmp_path / "v.parquet"
    first = _embed(folder, out)
    assert first.engine == "torch" and _meta(out)["engines"] == ["torch", "torch"]
    _touch(folder / "010.jpg")  # the second chunk only: not part of the resume key
    second = _embed(folder, out, engine=Renamed("onnx"))
    assert second.n_computed == 14
    assert _meta(out)["engines"] == ["torch", "onnx"]
    assert read_vectors(out).meta["engines"] == ["torch", "onnx"]
    assert _embed(folder, out, engine=Renamed("other")).n_computed == 0  # not in the key

    # a read error computed again by another engine: the chunk holds both engines' rows
    flaky = Flaky(monkeypatch, {"003.jpg"})
    _touch(folder / "001.jpg")
    _embed(folder, out, engine=Renamed("onnx"))
    assert _meta(out)["engines"] == ["onnx", "onnx"]
    _embed(folder, out)  # by torch, failing again: no torch vector in the chunk
    assert _meta(out)["engines"] == ["onnx", "onnx"]
    flaky.failing.clear()
    third = _embed(folder, out)
    assert third.n_computed == 1 and _meta(out)["engines"] == ["onnx+torch", "onnx"]


def test_chunk_files_record_their_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = image_folder(tmp_path / "imgs", 20)
    out = tmp_path / "v.parquet"

    stopped_before_output(monkeypatch, lambda: _embed(folder, out))
    files = sorted(parts_dir(out).glob("chunk-*.parquet"))
    assert [read_vectors_meta(f)["engine"] for f in files] == ["torch", "torch"]
    # a chunk file written before engines were recorded: its engine is unknown
    first = next(f for f in files if read_vectors_meta(f)["index"] == 0)
    table = pq.read_table(first)
    meta = json.loads(table.schema.metadata[b"visrec"])
    del meta["engine"]
    pq.write_table(table.replace_schema_metadata({b"visrec": json.dumps(meta)}), first)
    res = _embed(folder, out, engine=Renamed("onnx"))  # nothing to compute
    assert res.n_computed == 0 and _meta(out)["engines"] == [None, "torch"]


def test_an_output_without_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, out, flaky, _ = flaky_case(tmp_path, monkeypatch, {"015.jpg"})
    _embed(folder, out)
    _rewrite_meta(out, lambda meta: meta.pop("engines"))
    assert "engines" not in read_vectors_meta(out)  # the store reads it as before
    assert len(read_vectors(out)) == 20
    _touch(folder / "002.jpg")
    flaky.failing.clear()
    res = _embed(folder, out)
    # the first chunk computed whole; the second one's rows kept but for 015: by an
    # unknown engine and torch, so unknown
    assert res.n_computed == 6 + 1 and _meta(out)["engines"] == ["torch", None]
    _same_as(res, _embed(folder, None))


# ----------------------------------------------- 3. temp files of killed runs


def test_embed_removes_its_outputs_temp_files_at_once(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 4)
    out = tmp_path / "v.parquet"
    # a kill -9 mid-assembly leaves .v.parquet.<12 hex>.tmp, as big as the output: the
    # next run holds the output's lock, so it is nobody's and goes at once
    mine = tmp_path / ".v.parquet.0123456789ab.tmp"
    other = tmp_path / ".w.parquet.0123456789ab.tmp"  # another output's: an hour's grace
    odd = tmp_path / ".v.parquet.notatempfile.tmp"
    for f in (mine, other, odd):
        f.write_bytes(b"partial")
    _embed(folder, out)
    assert not mine.exists() and other.exists() and odd.exists()
    mine.write_bytes(b"partial")  # also when there is nothing to compute
    assert _embed(folder, out).n_computed == 0
    assert not mine.exists() and other.exists()


def test_a_symlinked_outputs_temp_files_go_at_once_too(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 4)
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.parquet"
    link = tmp_path / "v.parquet"
    link.symlink_to(real)
    killed = tmp_path / "data" / ".real.parquet.0123456789ab.tmp"  # where it is written
    killed.write_bytes(b"partial")
    _embed(folder, link)
    assert link.is_symlink() and real.is_file() and not killed.exists()


def test_without_the_lock_the_hour_rule_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _atomic.exclusive_lock

    def no_flock(path: Any, what: str) -> Any:  # a filesystem without flock
        class Unheld:
            def __enter__(self) -> bool:
                self.inner = real(path, what)
                self.inner.__enter__()
                return False

            def __exit__(self, *exc: Any) -> None:
                self.inner.__exit__(*exc)

        return Unheld()

    monkeypatch.setattr(extract_mod, "exclusive_lock", no_flock)
    folder = image_folder(tmp_path / "imgs", 4)
    out = tmp_path / "v.parquet"
    fresh = tmp_path / ".v.parquet.0123456789ab.tmp"  # maybe a concurrent run's
    stale = tmp_path / ".v.parquet.ba9876543210.tmp"
    for f in (fresh, stale):
        f.write_bytes(b"partial")
    hour_ago = time.time() - _atomic.STALE_AFTER_S - 60
    os.utime(stale, (hour_ago, hour_ago))
    _embed(folder, out)
    assert fresh.exists() and not stale.exists()


def test_sweep_max_age(tmp_path: Path) -> None:
    target = tmp_path / "v.parquet"
    young = tmp_path / ".v.parquet.0123456789ab.tmp"
    young.write_bytes(b"x")
    _atomic.sweep_temp_files(target)
    assert young.exists()
    _atomic.sweep_temp_files(target, max_age=0.0)
    assert not young.exists()
    with _atomic.exclusive_lock(target, "test") as held:
        assert held is True
