"""`visrec embed`: a parts folder that is a symlink is refused before any work (its
chunk files would be left in the folder it names)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import visrec.embed.extract as extract_mod
from tiny_embed import embed_tiny, image_folder
from visrec.cli import main as cli_main
from visrec.embed.extract import parts_dir
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
    with pytest.raises(VisrecError):
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
