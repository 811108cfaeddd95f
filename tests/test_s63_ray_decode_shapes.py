"""``visrec.embed.ray_engine._decode_batch`` with images that preprocess to different shapes.

Every built-in backbone resizes to one input size, so this is for a user's own backbone
whose preprocessing follows the image: the rows that do not match the batch's first shape
are refused with a reason naming both shapes (before, the reason was "unreadable").
"""

from __future__ import annotations

import numpy as np
import pytest

from visrec.embed import compute
from visrec.embed.backbones import get_backbone
from visrec.embed.ray_engine import _decode_batch


def test_a_row_of_another_shape_is_refused_with_both_shapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shapes = {"a": (3, 4, 4), "b": (3, 4, 6), "c": (3, 4, 4)}

    def one(self: object, path: str) -> tuple[np.ndarray | None, str | None]:
        if path == "gone":
            return None, "file not found"
        return np.full(shapes[path], 0.5, dtype=np.float32), None

    monkeypatch.setattr(compute.Decoder, "_one", one)
    paths = ["a", "b", "gone", "c"]
    batch = {
        "chunk": np.zeros(4, dtype=np.int64),
        "row": np.arange(4),
        "path": np.asarray(paths),
    }
    out = _decode_batch(batch, get_backbone("efficientnet-lite0"))
    assert out["ok"].tolist() == [True, False, False, True]
    assert out["pixels"].shape == (4, 3, 4, 4)
    assert np.all(out["pixels"][[0, 3]] == 0.5) and np.all(out["pixels"][[1, 2]] == 0)
    assert out["reason"][1] == "preprocessed to shape (3, 4, 6), not the batch's (3, 4, 4)"
    assert out["reason"][2] == "file not found"
    assert out["reason"][0] == out["reason"][3] == ""
