"""Embed resume and reuse (session 51 audit): a Ctrl-C'd ``visrec embed`` resumed gives
the uninterrupted run's file, and the mutants of extraction the older tests let live."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

import visrec._bars as bars_mod
from test_embed import TinyBackbone
from test_embed_retry_rows import Flaky, _embed
from tiny_embed import image_folder, stopped_before_output
from visrec._bars import QuietBar
from visrec.embed.chunk_files import vectors_engine
from visrec.embed.extract import embed_images, parts_dir
from visrec.embed.store import read_vectors
from visrec.images.decode import is_transient

# A backbone of one's own (docs/embed.md), slowed down so that a Ctrl-C lands mid-run.
SLOW_TINY = textwrap.dedent(
    """
    import sys
    import time

    import torch

    from visrec.cli import main
    from visrec.embed.backbones import Backbone, register_backbone


    class Slow(torch.nn.Module):
        def forward(self, x):
            time.sleep(0.05)
            return x


    class Tiny(Backbone):
        name = "tiny"
        dim = 8
        input_size = (32, 32)
        resize = "squash"
        resize_size = 32

        @property
        def weights_id(self) -> str:
            return "tiny-seed0"

        def build_model(self) -> torch.nn.Module:
            torch.manual_seed(0)
            conv = torch.nn.Conv2d(3, 8, 3)
            pool = torch.nn.AdaptiveAvgPool2d(1)
            return torch.nn.Sequential(Slow(), conv, pool, torch.nn.Flatten()).eval()


    register_backbone("tiny", Tiny)
    sys.exit(main(sys.argv[1:]))
    """
)

N_CLI = 48


@pytest.mark.slow
def test_ctrl_c_then_resume_through_the_cli_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    images = tmp_path / "img"
    images.mkdir()
    rng = np.random.default_rng(3)
    for i in range(N_CLI):
        arr = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        Image.fromarray(arr).save(images / f"{i:03d}.jpg", quality=90)
    (images / "005.jpg").write_bytes(b"not a picture")  # a failure kept across the resume
    script = tmp_path / "my_embed.py"
    script.write_text(SLOW_TINY)
    args = [str(images), "--backbone", "tiny", "--engine", "torch", "--batch-size", "2"]
    args += ["--chunk-size", "4", "--workers", "2", "-q"]
    cmd = [sys.executable, str(script), "embed", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out, ref = tmp_path / "v.parquet", tmp_path / "ref.parquet"
    parts = parts_dir(out)

    proc = subprocess.Popen([*cmd, "-o", str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if parts.is_dir() and len(list(parts.glob("chunk-*.parquet"))) >= 2:
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"exit {proc.returncode}: {err[-2000:]}"
    assert not out.exists()
    done = sorted(parts.glob("chunk-*.parquet"))
    assert sorted(p.name for p in parts.iterdir()) == [p.name for p in done]  # no temp files
    n_done = sum(pq.read_metadata(f).num_rows for f in done)
    assert 0 < n_done < N_CLI

    resumed = subprocess.run([*cmd, "-o", str(out)], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    m = re.search(r"reused (\d+), computed (\d+)", resumed.stdout)
    assert m is not None, resumed.stdout
    assert (int(m.group(1)), int(m.group(2))) == (n_done, N_CLI - n_done)
    assert "005.jpg (item 005)" in resumed.stderr
    assert not parts.exists()

    whole = subprocess.run([*cmd, "-o", str(ref)], env=env, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    a, b = read_vectors(out), read_vectors(ref)
    assert list(a.ids) == list(b.ids) == [f"{i:03d}" for i in range(N_CLI)]
    assert np.array_equal(a.has_image, b.has_image) and not a.has_image[5]
    assert np.array_equal(a.vectors, b.vectors)
    assert pq.read_table(out).equals(pq.read_table(ref), check_metadata=True)


# ------------------------------------------------ mutants of the reuse plan that lived


def test_a_stale_chunk_file_does_not_undo_a_good_vector_of_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: extract._plan without `del part_files[fp]` (a chunk file with a read error
    # left by a killed run used instead of the output that holds the chunk whole)
    folder = image_folder(tmp_path / "imgs", 20)
    out = tmp_path / "v.parquet"
    flaky = Flaky(monkeypatch, {"003.jpg"})
    stopped_before_output(monkeypatch, lambda: _embed(folder, out))  # run A, killed
    saved = tmp_path / "saved-parts"
    parts_dir(out).rename(saved)  # out of the way of run B, which finishes the output
    flaky.failing.clear()
    whole = _embed(folder, out)
    assert whole.failures == [] and not parts_dir(out).exists()
    before = read_vectors(out)
    saved.rename(parts_dir(out))  # run A's chunk files, found by the next run
    Image.new("RGB", (40, 30), (9, 99, 199)).save(folder / "020.jpg")  # a new chunk
    flaky.failing.add("003.jpg")  # and 003 unreadable for a while again
    flaky.seen.clear()
    res = _embed(folder, out)
    assert flaky.seen["003.jpg"] == 0  # its vector in the output is reused
    got = read_vectors(out)
    assert res.failures == [] and got.has_image.all()
    assert np.array_equal(got.vectors[:20], before.vectors)
    assert not parts_dir(out).exists()


def test_a_healed_image_in_a_chunk_file_is_not_computed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: extract._plan looking in the old output before the chunk files (the
    # output's read error recomputed although a killed run's chunk file healed it)
    folder = image_folder(tmp_path / "imgs", 20)
    out = tmp_path / "v.parquet"
    clean = _embed(folder, None).vectors
    flaky = Flaky(monkeypatch, {"003.jpg"})
    assert [i for i, _, _ in _embed(folder, out).failures] == ["003"]
    flaky.failing.clear()
    stopped_before_output(monkeypatch, lambda: _embed(folder, out))  # 003 healed, killed
    flaky.failing.add("003.jpg")  # and unreadable again for a while
    flaky.seen.clear()
    res = _embed(folder, out)
    assert flaky.seen["003.jpg"] == 0 and res.n_reused == 20
    got = read_vectors(out)
    assert res.failures == [] and got.has_image.all()
    assert np.array_equal(got.vectors, clean.vectors)


def test_the_progress_bar_of_a_resumed_run_ends_at_every_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _compute_missing's bar starting at 0, not at the images reused (a resumed
    # run's bar stopped short of its total); compute_chunks not counting a bad image
    folder = image_folder(tmp_path / "imgs", 20)
    (folder / "010.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")  # a failure, counted too
    bars: list[QuietBar] = []

    def recorded(*args: object, show: bool, **kw: Any) -> QuietBar:
        bars.append(real_bar(*args, show=False, **kw))
        return bars[-1]

    real_bar = bars_mod.progress_bar
    monkeypatch.setattr(bars_mod, "progress_bar", recorded)
    out = tmp_path / "v.parquet"
    stopped_before_output(monkeypatch, lambda: _embed(folder, out, progress=True))
    assert bars[-1].n == bars[-1].total == 20
    sorted(parts_dir(out).glob("chunk-*.parquet"))[0].unlink()  # a chunk not finished
    res = _embed(folder, out, progress=True)
    assert 0 < res.n_reused < 20
    assert bars[-1].n == bars[-1].total == 20
    assert [i for i, _, _ in res.failures] == ["010"]


class OtherWeights(TinyBackbone):
    """``TinyBackbone``'s name, layers and preprocessing with other weights."""

    @property
    def weights_id(self) -> str:
        return "tiny-seed-1"

    def build_model(self) -> torch.nn.Module:
        model = super().build_model()
        with torch.no_grad():
            model[0].weight.mul_(-1.0)
        return model


def test_vectors_of_other_weights_are_never_reused(tmp_path: Path) -> None:
    # kills: backbone_key without the weights id (new weights reused the old vectors)
    folder = image_folder(tmp_path / "imgs", 12)
    out = tmp_path / "v.parquet"
    _embed(folder, out)
    items = [(p.stem, p) for p in sorted(folder.glob("*.jpg"))]
    kw: dict[str, Any] = {"engine": "torch", "progress": False, "chunk_size": 8}
    res = embed_images(items, out, backbone=OtherWeights(), **kw)
    assert res.n_reused == 0 and res.n_computed == 12
    fresh = embed_images(items, None, backbone=OtherWeights(), **kw).vectors
    got = read_vectors(out)
    assert got.meta["weights_id"] == "tiny-seed-1"
    assert np.array_equal(got.vectors, fresh.vectors)


def test_a_system_read_error_outside_the_decoder_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: Decoder._one's `exc.errno is not None` branch dropped (an EIO met after
    # load_image, in the backbone's preprocessing, then failed the image for good)
    folder = image_folder(tmp_path / "imgs", 6)
    image_folder(tmp_path / "odd", 1, size=(50, 30))
    (tmp_path / "odd" / "000.jpg").rename(folder / "odd.jpg")
    real = TinyBackbone.preprocess

    def preprocess(self: TinyBackbone, img: Any) -> Any:
        if img.size == (50, 30):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(self, img)

    monkeypatch.setattr(TinyBackbone, "preprocess", preprocess)
    res = _embed(folder, None)
    assert [i for i, _, _ in res.failures] == ["odd"]
    assert is_transient(res.failures[0][2]), res.failures[0][2]


def test_the_engine_recorded_for_a_ray_pipelines_vectors() -> None:
    # kills: vectors_engine returning the engine's own name ("ray") for a pipeline
    # whose actors run torch or ONNX (their vectors differ by ~1e-5)
    assert vectors_engine(SimpleNamespace(name="ray", engine="torch")) == "torch"
    assert vectors_engine(SimpleNamespace(name="ray", engine="onnx")) == "onnx"
    on_cluster = SimpleNamespace(name="ray", engine="auto", ray_address="auto")
    assert vectors_engine(on_cluster) == "ray"  # its nodes choose for themselves
    assert vectors_engine(SimpleNamespace(name="torch")) == "torch"
