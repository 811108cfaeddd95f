"""Walking a backbone of one's own as its author (an installed package's entry point in
``visrec.backbones``): a ``build_model`` that raises, a ``preprocess`` that returns
another shape than the backbone's input, and ``recommend --vectors`` given another
backbone's vectors of another width. Before, the first two ended in a traceback (the
plugin's, numpy's "all input arrays must have the same shape" or onnxruntime's), and the
third said only "vectors have dimension 1280, the model was trained on 8-d vectors",
not which backbone to embed with, as docs/embed.md promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_s73_backbones import NETS, _images, _site
from test_s73_plugins import _visrec
from visrec.cli import main
from visrec.embed.item_vectors import ItemVectors
from visrec.embed.store import write_vectors

BROKEN = (
    NETS
    + """

class Broken(Tiny):
    name = "broken"

    def build_model(self) -> torch.nn.Module:
        raise RuntimeError("weights file tiny.bin not found")


class Ragged(Tiny):
    name = "ragged"

    def resized(self, img):
        return img.convert("RGB")  # no resize: each image its own size
"""
)


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_a_plugin_that_cannot_build_its_model_is_one_error_line(
    tmp_path: Path, engine: str
) -> None:
    site = _site(tmp_path / "site", "broken = mynetpkg.nets:Broken\n", module=BROKEN)
    images = _images(tmp_path / "imgs")
    done = _visrec(site, "embed", str(images), "--backbone", "broken", "--engine", engine,
                   "-o", str(tmp_path / "v.parquet"), cwd=tmp_path,)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "error: backbone 'broken' (mynetpkg.nets.Broken) cannot build its model: "
        "RuntimeError: weights file tiny.bin not found\n"
    )


def test_a_preprocess_of_another_shape_names_the_backbone_and_item(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", "ragged = mynetpkg.nets:Ragged\n", module=BROKEN)
    images = _images(tmp_path / "imgs")
    done = _visrec(site, "embed", str(images), "--backbone", "ragged", "--engine", "torch",
                   "-o", str(tmp_path / "v.parquet"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(
        "error: backbone 'ragged': preprocess returned shape (3, 40, 40) for item 'p0' ("
    ), done.stderr
    assert done.stderr.endswith(
        "expected (3, 32, 32) (channels, then its input_size (height, width))\n"
    )


def _vectors(path: Path, ids: list[str], dim: int, backbone: str) -> Path:
    vec = np.random.default_rng(dim).random((len(ids), dim)).astype(np.float32) + 0.1
    meta = {"backbone": backbone, "weights_id": f"{backbone}-w", "dim": dim}
    write_vectors(path, ItemVectors(np.asarray(ids), vec, np.ones(len(ids), bool), meta))
    return path


def test_recommend_with_another_backbones_vectors_advises_the_backbone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # another backbone's vectors are mostly of another width too: the backbone check
    # comes first, as it says what to embed with (the width check alone did not)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"user_id": rng.integers(0, 20, 300), "item_id": rng.integers(0, 30, 300)})
    frame.drop_duplicates().to_csv(tmp_path / "train.csv", index=False)
    ids = [str(i) for i in range(30)]
    mine = _vectors(tmp_path / "mine.parquet", ids, 8, "resnet18")
    other = _vectors(tmp_path / "other.parquet", ids, 4, "efficientnet-lite0")
    model = tmp_path / "m"
    assert main(["train", "--model", "visual-cf", "--interactions", str(tmp_path / "train.csv"),
                 "--vectors", str(mine), "-o", str(model), "-q", "--param", "epochs=1",
                 "--param", "profile_weight=0"]) == 0  # fmt: skip
    capsys.readouterr()
    recs = str(tmp_path / "r.csv")
    assert main(["recommend", str(model), "--vectors", str(other), "-o", recs]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {other}: holds efficientnet-lite0 vectors, but model 'visual-cf' was trained "
        "on resnet18 vectors, so its scores of new items from these would be meaningless; "
        "embed the new items with `visrec embed --backbone resnet18`, or train on "
        "efficientnet-lite0 vectors\n"
    )
    assert main(["recommend", str(model), "--vectors", str(mine), "-o", recs]) == 0
