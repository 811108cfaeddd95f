"""Small image folders and a millisecond embed for the embed tests (8-d random conv
net, no weights)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import visrec.embed.extract as extract_mod
from test_embed import TinyBackbone
from visrec.data.images_index import scan_images
from visrec.embed.extract import EmbedResult, embed_images


def image_folder(folder: Path, n: int, size: tuple[int, int] = (40, 30)) -> Path:
    """``n`` random JPEGs ``000.jpg``... of ``size`` (width, height) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:03d}.jpg", quality=90)
    return folder


def embed_tiny(folder: Path, out: Path | None, **kw: Any) -> EmbedResult:
    """``embed_images`` of ``folder`` with ``TinyBackbone`` on torch, chunks of 4."""
    kw.setdefault("chunk_size", 4)
    return embed_images(
        scan_images(folder).images,
        out,
        backbone=TinyBackbone(),
        engine="torch",
        batch_size=3,
        workers=2,
        progress=False,
        **kw,
    )


def stopped_before_output(monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any]) -> None:
    """Run ``run`` (an embed) so that Ctrl-C stops it once its chunk files are written,
    before the output is put together: what an interrupted run leaves behind."""

    def crash(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(extract_mod, "assemble", crash)
        with pytest.raises(KeyboardInterrupt):
            run()
