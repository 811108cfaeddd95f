"""Mutation audit (session 68) of ``visrec.embed.backbones``, ``visrec.embed.compute`` and
``visrec.embed.vector_source``.

40 hand-written mutants (32 in backbones, 7 in compute, 1 in vector_source), picked apart
from sessions 60, 62, 63, 64 and 66: the default backbone, the recorded preprocessing
(crop, mean/std rounding, jpeg_draft), draft size, RGB conversion, squash/shorter-side
resize and crop rounding, mean/std scaling, channel order, pooled Lite features (flatten,
average pool), the Lite and ResNet18 constants, install hints, weights arguments and
files, weights ids, strict loading, ResNet18's head/pool/eval, the registry's keys, errors
and options; compute's shape check, last partial batch, batch size, the all-zero check.
Killed by the existing tests: 37; 40 after these tests; 0 equivalent.

Survivors now killed here:
- ``"jpeg_draft": True`` -> ``False`` (recorded preprocessing disagreeing with the draft
  decode): test_the_recorded_preprocessing_says_jpeg_draft_decoding;
- the unknown-resize-policy error dropped (falls through to shorter-side resize and crop):
  test_an_unknown_resize_policy_is_refused_by_name;
- Lite weights' ``missing or unexpected`` -> ``unexpected`` (a state dict lacking a layer
  loaded, the layer left random): test_lite_weights_lacking_a_layer_are_refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from test_embed import TinyBackbone, _images, _run
from visrec.embed.backbones import EfficientNetLite0
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError


def test_the_recorded_preprocessing_says_jpeg_draft_decoding(tmp_path: Path) -> None:
    # mutant: "jpeg_draft" recorded False while every JPEG is still decoded in draft
    # mode (Decoder passes backbone.draft_size to load_image)
    folder = _images(tmp_path / "imgs", 2, size=(200, 150))
    out = tmp_path / "v.parquet"
    _run(folder, out)
    meta = read_vectors(out).meta
    assert meta["preprocessing"]["jpeg_draft"] is True
    assert meta["preprocessing"] == TinyBackbone().preprocessing
    assert meta["weights_id"] == TinyBackbone().weights_id


class _Stretch(TinyBackbone):
    resize = "stretch"


def test_an_unknown_resize_policy_is_refused_by_name() -> None:
    # mutant: the unknown policy fell through to the shorter-side resize and crop
    img = Image.new("RGB", (40, 30), (10, 20, 30))
    with pytest.raises(VisrecError, match=r"tiny-test: unknown resize policy 'stretch'"):
        _Stretch().resized(img)


def test_lite_weights_lacking_a_layer_are_refused(tmp_path: Path) -> None:
    # mutant: only unexpected keys refused: a state dict without the head's conv
    # loaded, leaving that layer at its random initial values
    state = torch.load(EfficientNetLite0().weights_path(), map_location="cpu", weights_only=True)
    del state["_conv_head.weight"]
    path = tmp_path / "cut.pth"
    torch.save(state, path)
    with pytest.raises(VisrecError, match=r"do not fit the network \(missing .*_conv_head"):
        EfficientNetLite0(weights=path).build_model()
