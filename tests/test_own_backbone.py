"""A backbone of one's own, registered in a small wrapper script around ``visrec.cli.main``
(docs/embed.md, "A backbone of your own"): embedded by both engines, and a new weights
id gives new vectors instead of the ONNX export cached for the old one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

from visrec.embed.store import read_vectors

SCRIPT = textwrap.dedent(
    """
    import os
    import sys

    import torch

    from visrec.cli import main
    from visrec.embed.backbones import Backbone, register_backbone


    class Tiny(Backbone):
        name = "tiny"
        dim = 8
        input_size = (32, 32)
        resize = "squash"
        resize_size = 32

        @property
        def weights_id(self) -> str:
            # names the weights: the ONNX cache and embed's reuse of vectors go by it
            return f"tiny-seed{os.environ['TINY_SEED']}"

        def build_model(self) -> torch.nn.Module:
            torch.manual_seed(int(os.environ["TINY_SEED"]))
            layers = [torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
            return torch.nn.Sequential(*layers).eval()


    register_backbone("tiny", Tiny)
    sys.exit(main(sys.argv[1:]))
    """
)


def _embed(tmp_path: Path, seed: int, out: str, *extra: str) -> np.ndarray:
    env = {**os.environ, "TINY_SEED": str(seed), "VISREC_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, str(tmp_path / "my_embed.py"), "embed", str(tmp_path / "img")]
    done = subprocess.run(
        [*cmd, "--backbone", "tiny", "-o", str(tmp_path / out), "-q", *extra],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    vec = read_vectors(tmp_path / out)
    assert vec.meta["backbone"] == "tiny" and vec.meta["weights_id"] == f"tiny-seed{seed}"
    order = np.argsort(np.asarray(vec.ids))
    return np.asarray(vec.vectors)[order]


def test_a_backbone_registered_in_a_wrapper_script(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        img = Image.new("RGB", (40, 40), colour)
        img.paste((250, 250, 250), (0, 0, 10 + 10 * i, 20))  # not flat: a pattern each
        img.save(tmp_path / "img" / f"p{i}.png")
    (tmp_path / "my_embed.py").write_text(SCRIPT)
    onnx = _embed(tmp_path, 0, "a.parquet", "--engine", "onnx")
    torch_ = _embed(tmp_path, 0, "b.parquet", "--engine", "torch")
    assert onnx.shape == (3, 8)
    np.testing.assert_allclose(onnx, torch_, atol=1e-4)
    # other weights under another id: exported again, not the cached seed-0 graph
    other = _embed(tmp_path, 1, "c.parquet", "--engine", "onnx")
    assert np.abs(other - onnx).max() > 1e-2
    np.testing.assert_allclose(
        other, _embed(tmp_path, 1, "d.parquet", "--engine", "torch"), atol=1e-4
    )
