"""visrec embed junk: a run that fails before its first chunk leaves no empty parts
folder (one holding chunks stays: it is the resume), and a parts path that is no folder
is one clear error at start-up, before the model loads."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import visrec.embed.chunk_files as chunk_files_mod
import visrec.embed.extract as extract_mod
from test_embed import TinyBackbone
from visrec.embed.extract import embed_images, parts_dir
from visrec.errors import VisrecError


@pytest.fixture
def items(tmp_path: Path) -> list[tuple[str, Path]]:
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        arr = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:03d}.jpg", quality=90)
    return [(p.stem, p) for p in sorted(folder.glob("*.jpg"))]


def _embed(items: list[tuple[str, Path]], out: Path) -> Any:
    return embed_images(items, out, backbone=TinyBackbone(), engine="torch", batch_size=4,
                        workers=1, chunk_size=4, progress=False)  # fmt: skip


def _disk_full_after(monkeypatch: pytest.MonkeyPatch, n_ok: int) -> None:
    """Chunk writes fail with ENOSPC once ``n_ok`` of them have been written."""
    real = chunk_files_mod.pq.write_table
    calls = [0]

    def write_table(table: Any, where: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] > n_ok:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, where, *args, **kwargs)

    monkeypatch.setattr(chunk_files_mod.pq, "write_table", write_table)


def test_a_full_disk_before_the_first_chunk_leaves_no_parts_folder(
    items: list[tuple[str, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a.parquet"
    _disk_full_after(monkeypatch, 0)
    with pytest.raises(OSError, match="No space left"):
        _embed(items, out)
    assert not parts_dir(out).exists() and not out.exists()


def test_a_parts_folder_holding_chunks_is_kept_for_the_resume(
    items: list[tuple[str, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a.parquet"
    _disk_full_after(monkeypatch, 1)
    with pytest.raises(OSError, match="No space left"):
        _embed(items, out)
    assert len(list(parts_dir(out).glob("chunk-*.parquet"))) == 1


@pytest.mark.parametrize("kind", ["file", "fifo", "dangling link"])
def test_a_parts_path_that_is_no_folder_is_named_before_the_model_loads(
    kind: str, items: list[tuple[str, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a.parquet"
    parts = parts_dir(out)
    if kind == "file":
        parts.write_text("x")
    elif kind == "fifo":
        os.mkfifo(parts)
    else:
        os.symlink(tmp_path / "gone", parts)

    def no_model(*args: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(extract_mod, "_engine_for", no_model)
    with pytest.raises(VisrecError) as info:
        _embed(items, out)
    assert str(info.value) == f"{parts} is in the way (not a folder): remove it"
    assert os.path.lexists(parts) and not out.exists()  # left for the user to look at
