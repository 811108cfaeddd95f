"""Mutation audit (session 66) of ``visrec.embed.extract`` and ``visrec.embed.backbones``.

44 hand-written mutants (30 in backbones, 14 in extract), picked apart from session 60's:
preprocessing constants and order, output shape/dtype, row alignment, failures naming
their file, weights-file checks, device/batch/workers reaching the engine, the registry.
Killed by the existing tests: 29; 43 after these tests. 1 equivalent: the in-memory
vectors allocated as float64 (``ItemVectors`` stores float32 whatever it is given, and
the engine's values are float32). Survivors now killed here: resnet18 draft size from the
crop; empty VISREC_RESNET18_WEIGHTS taken as a path; list_backbones plainly sorted; a
missing weights file read as an I/O error; the thin-image crop-box path never taken;
device (in memory and to a file) and batch size not reaching make_engine; workers not
used with an output; chunk size 0 accepted; images_per_second at 0 s; 0-d array ids;
a Series iterated as pairs; NaN ids. Only tests that kill one of these are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import visrec.embed.backbones as bb_mod
import visrec.embed.engines as engines_mod
import visrec.embed.extract as extract_mod
from test_embed import TinyBackbone
from tiny_embed import image_folder
from visrec.data.images_index import scan_images
from visrec.embed.backbones import (
    DEFAULT_BACKBONE,
    ResNet18,
    _file_id,
    get_backbone,
    list_backbones,
)
from visrec.embed.extract import EmbedResult, embed_images
from visrec.errors import InputNotFoundError, VisrecError


class _NeverBuilt(TinyBackbone):
    def build_model(self) -> torch.nn.Module:
        raise AssertionError("the model was built")


# --------------------------------------------------------------------------- preprocessing


def test_a_very_thin_image_is_resampled_in_its_crop_box_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mutant: the crop-box branch of Backbone.resized never taken: a 2 x 4000 picture
    # was first resized to 224 x 448,000 pixels (a 1 x 20000 one: gigapixels)
    real = Image.Image.resize
    asked: list[tuple[int, int]] = []

    def resize(self: Image.Image, size: tuple[int, int], *a: Any, **kw: Any) -> Image.Image:
        asked.append(tuple(size))  # type: ignore[arg-type]
        if size[0] * size[1] > 10_000_000:
            raise AssertionError(f"resized to {size}")
        return real(self, size, *a, **kw)

    monkeypatch.setattr(Image.Image, "resize", resize)
    img = Image.new("RGB", (2, 4000), (200, 100, 50))
    got = get_backbone("efficientnet-lite0").preprocess(img)
    assert got.shape == (3, 224, 224) and asked == [(224, 224)]
    want = (np.array([200, 100, 50], dtype=np.float32) - 127.0) / 128.0
    np.testing.assert_allclose(got[:, 112, 112], want, atol=1e-5)


def test_resnet18_drafts_jpegs_at_its_resize_size_not_its_crop() -> None:
    # mutant: draft_size from the crop (224) for a "shorter" backbone: a JPEG decoded
    # below the 256 it is resized to
    assert ResNet18().draft_size == (256, 256)
    assert get_backbone("efficientnet-lite0").draft_size == (224, 224)


# --------------------------------------------------------------------------- weights


def test_a_weights_file_that_is_not_there_is_not_found(tmp_path: Path) -> None:
    # mutant: file_version's None not taken as "missing": a read error instead
    with pytest.raises(InputNotFoundError):
        _file_id(str(tmp_path / "gone.pt"))


def test_an_empty_resnet18_environment_variable_means_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mutant: VISREC_RESNET18_WEIGHTS="" taken as the path '' ("does not exist")
    monkeypatch.setenv(ResNet18.ENV, "")
    bb = ResNet18()
    assert "does not exist" not in (bb.missing() or "")
    assert bb.weights_id.startswith("torchvision:")


def test_the_default_backbone_is_listed_first_whatever_the_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mutant: list_backbones plainly sorted (the default first only by the alphabet)
    monkeypatch.setitem(bb_mod._REGISTRY, "alexnet", TinyBackbone)
    names = list_backbones()
    assert names[0] == DEFAULT_BACKBONE and "alexnet" in names


class _Spy:
    """make_engine, recording its device and batch size and running on the CPU."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []
        self.real = engines_mod.make_engine

    def __call__(self, bb: Any, engine: Any, device: str = "auto", **kw: Any) -> Any:
        self.calls.append((device, kw.get("batch_size")))
        return self.real(bb, "torch", "cpu", **kw)


@pytest.mark.parametrize("to_file", [False, True])
def test_device_and_batch_size_reach_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, to_file: bool
) -> None:
    # mutants: device replaced by "auto" (in memory, and with an output); batch size
    # not passed on to make_engine
    spy = _Spy()
    monkeypatch.setattr(engines_mod, "make_engine", spy)
    folder = image_folder(tmp_path / "img", 2)
    out = tmp_path / "v.parquet" if to_file else None
    res = embed_images(scan_images(folder).images, out, backbone=TinyBackbone(),
                       engine="torch", device="cuda:3", batch_size=5, progress=False)  # fmt: skip
    assert spy.calls == [("cuda:3", 5)]
    assert res.vectors.vectors.shape == (2, 8)


def test_workers_given_are_used_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: the chunk computation with an output always on default_workers()
    def no_default() -> int:
        raise AssertionError("default_workers used though workers were given")

    monkeypatch.setattr(extract_mod, "default_workers", no_default)
    folder = image_folder(tmp_path / "img", 2)
    items = scan_images(folder).images
    res = embed_images(items, tmp_path / "v.parquet", backbone=TinyBackbone(),
                       engine="torch", workers=2, progress=False)  # fmt: skip
    assert res.n_computed == 2


def test_a_chunk_size_of_zero_is_refused() -> None:
    # mutant: `value < 1` -> `value < 0` in _count_arg
    with pytest.raises(VisrecError, match="chunk size must be >= 1, got 0"):
        embed_images([("a", "a.jpg")], None, backbone=_NeverBuilt(), chunk_size=0)


def test_counts_of_a_result_with_a_failure_and_no_time() -> None:
    # mutants: n_ok counting failed items; images_per_second dividing by 0 seconds
    res = EmbedResult(ids=["a", "b"], failures=[("b", "b.jpg", "file not found")],
                      n_reused=0, n_computed=2, seconds=0.0, output=None,
                      backbone="tiny-test", engine="torch")  # fmt: skip
    assert res.n == 2 and res.n_ok == 1
    assert res.images_per_second == 0.0


def test_item_ids_from_numpy_scalars_and_a_series(tmp_path: Path) -> None:
    # mutants: a 0-d array id not unwrapped; a Series iterated as a sequence (its paths)
    folder = image_folder(tmp_path / "img", 2)
    paths = [str(folder / "000.jpg"), str(folder / "001.jpg")]
    arrays: Any = [(np.array(7), paths[0]), (np.array(8), paths[1])]
    res = embed_images(arrays, None,
                       backbone=TinyBackbone(), engine="torch", progress=False)  # fmt: skip
    assert res.ids == ["7", "8"]
    series: Any = pd.Series({"x": paths[1], "y": paths[0]})
    res = embed_images(series, None,
                       backbone=TinyBackbone(), engine="torch", progress=False)  # fmt: skip
    assert res.ids == ["x", "y"] and res.failures == []


def test_a_missing_item_id_is_refused() -> None:
    # mutant: the pd.isna check dropped (NaN became the item "nan")
    with pytest.raises(VisrecError, match="is missing; give it an id"):
        nan_id: Any = [(float("nan"), "a.jpg")]
        embed_images(nan_id, None, backbone=_NeverBuilt())
