"""Mutation audit (session 62) of ``visrec.embed.onnx_engine`` and ``visrec.embed.backbones``.

Audited: resize/crop/squash policy, the thin-image shortcut, channel order and
mean/std normalisation, ResNet18's constants (256 -> 224, bilinear, ImageNet stats),
JPEG draft size, pooled features, weights loading and its errors, install hints,
the registry's order and names; the ONNX export (dummy input from the backbone's own
preprocess, Swish swap, dynamic batch), the export cache key, digest and re-export,
the engine's threads/parallel defaults, dtype handling, empty batches, OOM wording.

Mutants: 63 in total; 42 killed by the tests before this file, 56 after it,
7 equivalent:
- ``w <= h`` -> ``w < h``: a square image gets s x s from either branch.
- the thin-image box without ``min(w, ...)``: the clamp only trims float error
  (58.00000000000001 for 58); Pillow gives bit-identical pixels.
- ``do_constant_folding=False``: the same arithmetic, folded at load by onnxruntime.
- MemoryEfficientSwish not swapped: this torch's exporter inlines the autograd
  Function (the swap is kept for older ones; a wrong swap is caught below).
- the lock-free first ``_cache_valid`` check dropped: the check under the lock answers
  the same.
- the output's float32 cast dropped: onnxruntime returns float32 for this graph.
- ``batch_size < 1`` -> ``< 0``: 0 becomes the default through ``or``; the two differ
  only for a non-int in (0, 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from visrec.embed.backbones import Backbone
from visrec.errors import VisrecError


class _SmallCrop(Backbone):
    """Resizes the shorter side to 16 px, then takes a 32 x 32 centre crop (padding)."""

    name = "tiny-small-resize"
    dim = 2
    input_size = (32, 32)
    resize = "shorter"
    resize_size = 16
    mean = (0.5, 0.5, 0.5)
    std = (0.25, 0.25, 0.25)


def test_a_thin_image_under_a_crop_larger_than_the_resize_is_padded_not_stretched() -> None:
    # mutant: the thin-image shortcut (resample only the crop's box) taken also when the
    # crop is larger than the resized image: the box is clamped to the source, so the
    # picture was stretched over the padding a full resize and crop leave
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(1, 255, (400, 4, 3), dtype=np.uint8))  # 4 wide
    got = np.asarray(_SmallCrop().resized(img))
    full = img.resize((16, 1600), Image.Resampling.BILINEAR)  # shorter side 4 -> 16
    want = np.asarray(full.crop((-8, 784, 24, 816)))
    assert got.shape == (32, 32, 3)
    np.testing.assert_array_equal(got, want)
    assert not got[:, :8].any() and got[:, 8:24].all()


# ------------------------------------------------------------------ preprocessing


def test_resnet18_resizes_bilinearly_to_256_then_crops_224() -> None:
    # mutants: ResNet18's interpolation "bicubic"; its resize_size 224 (torchvision's
    # ImageNet transform resizes the shorter side to 256, then crops 224)
    from visrec.embed.backbones import get_backbone

    rng = np.random.default_rng(5)
    img = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    bb = get_backbone("resnet18")
    want = img.resize((341, 256), Image.Resampling.BILINEAR).crop((58, 16, 282, 240))
    np.testing.assert_array_equal(np.asarray(bb.resized(img)), np.asarray(want))
    assert bb.preprocessing["interpolation"] == "bilinear"


def test_resnet18_jpegs_are_drafted_no_smaller_than_its_256_px_resize(tmp_path: Path) -> None:
    # mutant: draft_size from the crop (224) rather than the resize (256): a 480 px
    # JPEG was decoded at 240 px and then upscaled to 256
    from visrec.embed.backbones import get_backbone
    from visrec.images.decode import load_image

    bb = get_backbone("resnet18")
    assert bb.draft_size == (256, 256)
    rng = np.random.default_rng(11)
    path = tmp_path / "photo.jpg"
    Image.fromarray(rng.integers(0, 255, (480, 480, 3), dtype=np.uint8)).save(path, quality=90)
    assert load_image(path, draft_size=bb.draft_size).size == (480, 480)


def test_the_default_backbone_is_listed_first_whatever_sorts_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mutant: list_backbones sorted by name alone ("efficientnet-lite0" happens to sort
    # first among the built-in names)
    from visrec.embed import backbones

    monkeypatch.setattr(backbones, "_REGISTRY", dict(backbones._REGISTRY))
    backbones.register_backbone("alexnet", _SmallCrop)
    names = backbones.list_backbones()
    assert names[0] == "efficientnet-lite0"
    assert names[1:] == sorted(names[1:]) and "alexnet" in names


def test_resnet18_with_local_weights_has_no_torchvision_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: import_problem imports torchvision also when the weights are a local
    # file (a listing then called a usable resnet18 broken)
    from visrec.embed.backbones import get_backbone

    monkeypatch.setitem(sys.modules, "torchvision", None)  # as if it does not import
    path = tmp_path / "r18.pth"
    path.write_bytes(b"not read by import_problem")
    bb = get_backbone("resnet18", weights=path)
    assert bb.missing() is None and bb.import_problem() is None


def test_resnet18_weights_with_a_layer_too_many_are_refused_naming_it(tmp_path: Path) -> None:
    # mutant: only missing keys refused (a state_dict of a deeper network, which holds
    # every resnet18 key and more, loaded as if it were a resnet18)
    from visrec.embed.backbones import _plain_resnet18, get_backbone

    state = _plain_resnet18().state_dict()
    state["layer5.0.conv1.weight"] = torch.zeros(1)
    path = tmp_path / "deeper.pth"
    torch.save(state, path)
    with pytest.raises(VisrecError, match=r"not a torchvision resnet18 .*layer5\.0\.conv1"):
        get_backbone("resnet18", weights=path).build_model()


# ------------------------------------------------------------------ ONNX export


class _TinyNet(torch.nn.Module):
    """(B, 3, H, W) -> (B, 2): a conv, an activation, a global average pool."""

    def __init__(self, act: torch.nn.Module) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled: torch.Tensor = self.act(self.conv(x)).mean((2, 3))
        return pooled


class _TinyOnnx(Backbone):
    """A non-square (32 x 48) input, 2-d output, a Swish as an autograd Function."""

    name = "tiny/onnx"  # a "/" in the name must not make a sub-folder of the cache
    dim = 2
    input_size = (32, 48)
    resize = "squash"
    resize_size = 32
    mean = (0.5, 0.5, 0.5)
    std = (0.25, 0.25, 0.25)

    @property
    def weights_id(self) -> str:
        return "tiny-s62:000000000000"

    def build_model(self) -> torch.nn.Module:
        from efficientnet_lite_pytorch.utils import MemoryEfficientSwish

        torch.manual_seed(0)
        return _TinyNet(MemoryEfficientSwish()).eval()


@pytest.fixture(scope="module")
def tiny_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from visrec.embed.onnx_engine import OnnxEngine

    return OnnxEngine(_TinyOnnx(), "cpu", model_dir=tmp_path_factory.mktemp("tiny-onnx"))


def _tiny_batch() -> np.ndarray:
    rng = np.random.default_rng(7)
    bb = _TinyOnnx()
    imgs = [Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)) for _ in range(3)]
    return np.stack([bb.preprocess(im) for im in imgs])


def test_a_custom_backbone_exports_with_its_own_input_size_and_swish(tiny_engine: Any) -> None:
    # mutants: the export's dummy input from a fixed 224 x 224 probe (not the
    # backbone's own preprocess); MemoryEfficientSwish (an autograd Function the
    # tracer cannot export) left in, or swapped for another activation than x*sigmoid(x)
    batch = _tiny_batch()
    assert batch.shape == (3, 3, 32, 48)
    with torch.inference_mode():
        want = _TinyOnnx().build_model()(torch.from_numpy(batch)).numpy()
    got = tiny_engine(batch)
    assert got.shape == (3, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    assert np.abs(want).max() > 1e-2 and (want < 0).any()  # a swish has negative values


def test_the_cache_file_name_keeps_a_slash_in_the_name_out_of_the_path(
    tiny_engine: Any,
) -> None:
    # mutant: the backbone's name put in the file name unescaped ("tiny/onnx" made a
    # sub-folder "tiny" of the cache)
    from visrec.embed.onnx_engine import export_key

    assert "/" not in export_key(_TinyOnnx())
    assert export_key(_TinyOnnx()).startswith("tiny_onnx-tiny-s62_000000000000-")
    assert tiny_engine.model_path.parent.name != "tiny"


def test_an_empty_batch_has_the_backbones_own_width(tiny_engine: Any) -> None:
    # mutant: an empty batch answered with 1280 columns (EfficientNet-Lite's width)
    out = tiny_engine(np.zeros((0, 3, 32, 48), np.float32))
    assert out.shape == (0, 2) and out.dtype == np.float32


def test_a_float64_batch_is_run_as_float32(tiny_engine: Any) -> None:
    # mutant: the batch handed to onnxruntime without the float32 conversion (it
    # refuses a double tensor for a float input)
    batch = _tiny_batch()
    np.testing.assert_array_equal(tiny_engine(batch.astype(np.float64)), tiny_engine(batch))


def test_cpu_engine_runs_one_thread_per_call_and_one_call_per_core(tiny_engine: Any) -> None:
    # mutants: the default CPU threads the number of cores (not 1); parallel the
    # number of cores whatever the threads
    from visrec.embed.onnx_engine import OnnxEngine, physical_cores

    assert tiny_engine.threads == 1 and tiny_engine.parallel == physical_cores()
    two = OnnxEngine(_TinyOnnx(), "cpu", threads=2, model_dir=tiny_engine.model_path.parent)
    assert two.threads == 2 and two.parallel == max(1, physical_cores() // 2)


def test_a_backbone_whose_preprocess_is_not_channels_first_is_named(tmp_path: Path) -> None:
    # mutant: the probe's check of the channel axis dropped (an HWC array of 3 axes
    # passed, and the export was traced on a wrong shape)
    from visrec.embed.onnx_engine import _input_hw

    class ChannelsLast(_TinyOnnx):
        def preprocess(self, img: Image.Image) -> np.ndarray:
            return super().preprocess(img).transpose(1, 2, 0)

    with pytest.raises(VisrecError, match=r"'tiny/onnx'.*\(32, 48, 3\), expected \(3, H, W\)"):
        _input_hw(ChannelsLast())
    assert _input_hw(_TinyOnnx()) == (32, 48)


def test_the_cache_key_changes_with_the_output_dimension() -> None:
    # mutant: dim left out of the export key (a backbone of the same name and weights
    # whose head was cut to another width reused the old graph)
    from visrec.embed.onnx_engine import export_key

    class Wider(_TinyOnnx):
        dim = 4

    assert export_key(Wider()) != export_key(_TinyOnnx())


def test_onnxruntimes_failed_allocation_is_out_of_memory() -> None:
    # mutant: only "bad_alloc" recognised (the CPU arena says "Failed to allocate memory")
    from visrec.embed.onnx_engine import _out_of_memory

    assert _out_of_memory(RuntimeError("std::bad_alloc"))
    assert _out_of_memory(RuntimeError("[ONNXRuntimeError] : 6 : Failed to allocate memory"))
    assert not _out_of_memory(RuntimeError("Invalid rank for input: input"))
