"""`visrec embed`: a parts folder that is a symlink is refused before any work (its
chunk files would be left in the folder it names), and a chunk's ``engines`` entry
names the engines of the vectors it holds now, also after its read errors healed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import visrec.embed.extract as extract_mod
from test_embed_retry_rows import Renamed, _embed, _meta, _same_as, flaky_case
from tiny_embed import embed_tiny, image_folder, stopped_before_output
from visrec.cli import main as cli_main
from visrec.embed.extract import cut_chunks, parts_dir
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError

# ----------------------------------------------- 1. OUT.parts a symlink


def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(*args: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(extract_mod, "_engine_for", no_model)


def _linked_parts(tmp_path: Path, out: Path) -> Path:
    """``out``'s parts folder as a symlink to a folder elsewhere holding a file."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not visrec's")
    parts_dir(out).symlink_to(elsewhere, target_is_directory=True)
    return elsewhere


def test_a_symlinked_parts_folder_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = image_folder(tmp_path / "imgs", 6)
    out = tmp_path / "out" / "v.parquet"
    out.parent.mkdir()
    elsewhere = _linked_parts(tmp_path, out)
    _no_model(monkeypatch)
    with pytest.raises(VisrecError) as info:
        embed_tiny(folder, out)
    parts = parts_dir(out)
    assert str(info.value) == (
        f"{parts} is a symlink: remove it (visrec keeps its chunk files in a folder of its own)"
    )
    # nothing written, nothing removed: the link and the folder it names as they were
    assert not out.exists() and parts.is_symlink()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["v.parquet.parts"]


def test_a_symlinked_parts_folder_is_refused_also_when_up_to_date(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 6)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    before = out.read_bytes()
    elsewhere = _linked_parts(tmp_path, out)
    with pytest.raises(VisrecError, match="is a symlink: remove it"):
        embed_tiny(folder, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


def test_once_the_link_is_removed_no_chunk_file_is_left(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 10)
    out = tmp_path / "v.parquet"
    elsewhere = _linked_parts(tmp_path, out)
    with pytest.raises(VisrecError, match="is a symlink: remove it"):
        embed_tiny(folder, out)
    parts_dir(out).unlink()
    res = embed_tiny(folder, out)
    assert res.n_computed == 10 and len(read_vectors(out)) == 10
    assert not os.path.lexists(parts_dir(out))
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


def test_cli_names_a_symlinked_parts_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = image_folder(tmp_path / "imgs", 4)
    out = tmp_path / "v.parquet"
    elsewhere = _linked_parts(tmp_path, out)
    _no_model(monkeypatch)
    assert cli_main(["embed", str(folder), "-o", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {parts_dir(out)} is a symlink: remove it (visrec keeps its chunk files "
        "in a folder of its own)\n"
    )
    assert not out.exists() and sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


# ----------------------------------------------- 2. engines after read errors heal


def _first_chunk(n: int) -> set[str]:
    """File names of the first chunk of ``n`` images cut as ``_embed`` cuts them."""
    chunk = cut_chunks([(f"{i:03d}", "") for i in range(n)], 8)[0]
    return {f"{i}.jpg" for i, _ in chunk}


def test_a_chunk_of_read_errors_healed_by_another_engine_is_that_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _first_chunk(20)
    assert len(first) == 6  # 000-005, and 14 in the second chunk
    # the whole chunk unreadable for a while
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, set(first))
    _embed(folder, out)
    assert _meta(out)["engines"] == ["torch", "torch"]
    assert not read_vectors(out).has_image[:6].any()
    flaky.failing.clear()
    res = _embed(folder, out, engine=Renamed("onnx"))
    assert res.n_computed == 6
    # every vector of the chunk is onnx's: no torch in its entry
    assert _meta(out)["engines"] == ["onnx", "torch"]
    _same_as(res, clean)


def test_a_chunk_healed_in_steps_by_one_engine_is_that_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, _first_chunk(20))
    _embed(folder, out)  # by torch: no vector in the first chunk
    flaky.failing.discard("000.jpg")
    _embed(folder, out, engine=Renamed("onnx"))
    assert _meta(out)["engines"] == ["onnx", "torch"]
    assert list(_meta(out)["retry"].values()) == [["001", "002", "003", "004", "005"]]
    flaky.failing.clear()  # the rest heals by the same engine as 000
    res = _embed(folder, out, engine=Renamed("onnx"))
    assert res.n_computed == 5 and _meta(out)["engines"] == ["onnx", "torch"]
    assert _meta(out)["retry"] == {}
    _same_as(res, clean)


def test_a_chunk_healed_by_two_engines_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out, flaky, _ = flaky_case(tmp_path, monkeypatch, _first_chunk(20))
    _embed(folder, out)
    flaky.failing.discard("000.jpg")
    _embed(folder, out, engine=Renamed("onnx"))
    flaky.failing.clear()
    _embed(folder, out)  # 001-005 by torch, beside 000 by onnx
    assert _meta(out)["engines"] == ["onnx+torch", "torch"]


def test_a_read_error_healed_by_the_engine_of_the_rest_after_another_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out, flaky, _ = flaky_case(tmp_path, monkeypatch, {"003.jpg"})
    _embed(folder, out)
    _embed(folder, out, engine=Renamed("onnx"))  # failing again: no onnx vector
    assert _meta(out)["engines"] == ["torch", "torch"]
    flaky.failing.clear()
    res = _embed(folder, out)
    assert res.n_computed == 1 and _meta(out)["engines"] == ["torch", "torch"]


def test_a_chunk_file_of_read_errors_healed_by_another_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the kept rows come from an interrupted run's chunk file rather than the output
    folder, out, flaky, clean = flaky_case(tmp_path, monkeypatch, _first_chunk(20))

    stopped_before_output(monkeypatch, lambda: _embed(folder, out))
    assert len(list(parts_dir(out).glob("chunk-*.parquet"))) == 2
    flaky.failing.clear()
    res = _embed(folder, out, engine=Renamed("onnx"))
    assert res.n_computed == 6 and _meta(out)["engines"] == ["onnx", "torch"]
    _same_as(res, clean)
