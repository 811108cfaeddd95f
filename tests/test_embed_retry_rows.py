"""`visrec embed` resuming, finer: a read error that may pass recomputes that image only
(the rest of its chunk is reused), each chunk records the engine that computed it, and a
killed run's temporary output is removed by the next run at once."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from test_embed import TinyBackbone
from visrec import _atomic
from visrec.embed.extract import EmbedResult, embed_images


def _folder(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:03d}.jpg", quality=90)
    return folder


def _items(folder: Path) -> list[tuple[str, Path]]:
    return [(p.stem, p) for p in sorted(folder.glob("*.jpg"))]


def _embed(folder: Path, out: Path | None, **kw: Any) -> EmbedResult:
    kw.setdefault("chunk_size", 8)
    kw.setdefault("engine", "torch")
    return embed_images(
        _items(folder),
        out,
        backbone=TinyBackbone(),
        batch_size=3,
        workers=2,
        progress=False,
        **kw,
    )


# ----------------------------------------------- 3. temp files of killed runs


def test_embed_removes_its_outputs_temp_files_at_once(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "imgs", 4)
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


def test_without_the_lock_the_hour_rule_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.embed.extract as extract_mod

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
    folder = _folder(tmp_path / "imgs", 4)
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
