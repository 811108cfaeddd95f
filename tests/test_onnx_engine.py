"""ONNX Runtime engine: same vectors as the PyTorch reference, cached export, devices."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
pytest.importorskip("onnx", reason="onnx is not installed")

from PIL import Image

from visrec.embed import onnx_engine
from visrec.embed.backbones import EfficientNetLite0, get_backbone
from visrec.embed.onnx_engine import OnnxEngine, cached_onnx_path, export_key
from visrec.errors import VisrecError


def _images() -> list[Image.Image]:
    """Five unlike images: noise, gradients, flat colours, non-square sizes."""
    rng = np.random.default_rng(0)
    out = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))]
    yy, xx = np.mgrid[0:300, 0:200]
    grad = np.stack([xx * 255 // 199, yy * 255 // 299, (xx + yy) % 256], -1).astype(np.uint8)
    out.append(Image.fromarray(grad))
    out.append(Image.new("RGB", (224, 224), (200, 30, 30)))
    out.append(Image.new("RGB", (100, 400), (20, 160, 240)))
    checker = ((xx // 25 + yy // 25) % 2 * 255).astype(np.uint8)
    out.append(Image.fromarray(np.stack([checker] * 3, -1)))
    return out


@pytest.fixture(scope="module")
def backbone() -> EfficientNetLite0:
    return get_backbone("efficientnet-lite0")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def batch(backbone: EfficientNetLite0) -> np.ndarray:
    return np.stack([backbone.preprocess(im) for im in _images()])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def engine(backbone: EfficientNetLite0, model_dir: Path) -> OnnxEngine:
    return OnnxEngine(backbone, "cpu", model_dir=model_dir)


@pytest.fixture(scope="module")
def reference(backbone: EfficientNetLite0, batch: np.ndarray) -> np.ndarray:
    import torch

    model = backbone.build_model().eval()
    with torch.inference_mode():
        return model(torch.from_numpy(batch)).numpy()


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_same_vectors_as_torch(engine: OnnxEngine, batch: np.ndarray, reference: np.ndarray):
    out = engine(batch)
    assert out.shape == (5, 1280)
    assert out.dtype == np.float32
    assert _cosine(out, reference).min() >= 0.9999
    assert np.abs(out - reference).max() < 1e-3
    # Different images give clearly different vectors (the comparison above is not vacuous).
    assert _cosine(reference[:1], reference[2:3])[0] < 0.99


def test_batch_size_does_not_change_vectors(engine: OnnxEngine, batch: np.ndarray):
    whole = engine(batch)
    one_by_one = np.concatenate([engine(batch[i : i + 1]) for i in range(len(batch))])
    np.testing.assert_allclose(one_by_one, whole, atol=1e-4)


def test_empty_batch(engine: OnnxEngine):
    assert engine(np.zeros((0, 3, 224, 224), np.float32)).shape == (0, 1280)


def test_engine_attributes(engine: OnnxEngine, model_dir: Path):
    assert engine.name == "onnx"
    assert engine.device == "cpu"
    assert engine.batch_size == onnx_engine.DEFAULT_CPU_BATCH
    assert engine.threads >= 1
    assert engine.model_path.parent == model_dir
    assert engine.model_path.with_suffix(".sha256").is_file()


def test_cached_export_is_reused(backbone, engine: OnnxEngine, model_dir: Path, monkeypatch):
    def no_export(*args, **kwargs):
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(onnx_engine, "export_onnx", no_export)
    assert cached_onnx_path(backbone, model_dir) == engine.model_path
    OnnxEngine(backbone, "cpu", model_dir=model_dir, batch_size=3)


def test_a_killed_exports_temporary_file_is_removed_once_stale(
    backbone, engine: OnnxEngine, tmp_path: Path, monkeypatch
):
    # the cache is valid, so no export comes to sweep: the lookup does
    import time

    from visrec._atomic import STALE_AFTER_S

    model_dir = tmp_path / "cache"
    model_dir.mkdir()
    for f in (engine.model_path, engine.model_path.with_suffix(".sha256")):
        shutil.copy(f, model_dir / f.name)
    name = engine.model_path.name
    old, new = model_dir / f".{name}.0123456789ab.tmp", model_dir / f".{name}.ba9876543210.tmp"
    for f in (old, new):
        f.write_bytes(b"half an export")
    hours_ago = time.time() - STALE_AFTER_S - 60
    os.utime(old, (hours_ago, hours_ago))
    monkeypatch.setattr(onnx_engine, "export_onnx", None)  # reused, never exported
    assert cached_onnx_path(backbone, model_dir) == model_dir / name
    assert not old.exists() and new.exists()  # a fresh one may be another export's


def test_corrupted_cache_is_exported_again(
    backbone, engine: OnnxEngine, batch: np.ndarray, tmp_path: Path, monkeypatch
):
    good = engine.model_path
    path = tmp_path / good.name
    shutil.copy(good, path)
    shutil.copy(good.with_suffix(".sha256"), path.with_suffix(".sha256"))
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # truncated
    calls = []

    def fake_export(bb, target):
        # Re-exporting for real takes seconds; copying the known-good export is what a
        # successful export leaves behind.
        calls.append(target)
        shutil.copy(good, target)
        shutil.copy(good.with_suffix(".sha256"), Path(target).with_suffix(".sha256"))
        return Path(target)

    monkeypatch.setattr(onnx_engine, "export_onnx", fake_export)
    fresh = OnnxEngine(backbone, "cpu", model_dir=tmp_path)
    assert calls == [path]
    np.testing.assert_allclose(fresh(batch[:2]), engine(batch[:2]), atol=1e-6)


def test_missing_digest_is_exported_again(backbone, engine, tmp_path: Path, monkeypatch):
    shutil.copy(engine.model_path, tmp_path / engine.model_path.name)  # no .sha256
    calls = []
    monkeypatch.setattr(onnx_engine, "export_onnx", lambda bb, target: calls.append(target))
    cached_onnx_path(backbone, tmp_path)
    assert calls == [tmp_path / engine.model_path.name]


def test_changed_preprocessing_or_weights_changes_the_cache_key(backbone):
    class OtherMean(EfficientNetLite0):
        mean = (0.5, 0.5, 0.5)

    class OtherWeights(EfficientNetLite0):
        @property
        def weights_id(self) -> str:
            return "finetuned.pth:0123456789ab"

    key = export_key(backbone)
    assert key.startswith("efficientnet-lite0-efficientnet-lite0-")
    assert export_key(get_backbone("efficientnet-lite0")) == key
    assert export_key(OtherMean()) != key
    assert export_key(OtherWeights()) != key


def test_cache_dir_follows_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "c"))
    assert onnx_engine.cache_dir() == tmp_path / "c" / "onnx"
    monkeypatch.delenv("VISREC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert onnx_engine.cache_dir() == tmp_path / "xdg" / "visrec" / "onnx"


def test_cuda_without_provider_is_a_clear_error(backbone, model_dir: Path, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(VisrecError, match="CUDAExecutionProvider"):
        OnnxEngine(backbone, "cuda", model_dir=model_dir)
    with pytest.raises(VisrecError, match="unknown device"):
        OnnxEngine(backbone, "tpu", model_dir=model_dir)


def test_cuda_provider_is_chosen_when_available(backbone, model_dir: Path, monkeypatch):
    import onnxruntime

    seen = {}

    def fake_session(path, opts, providers):
        seen["providers"] = providers
        return object()

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPU"]
    )
    monkeypatch.setattr(onnxruntime, "InferenceSession", fake_session)
    eng = OnnxEngine(backbone, "auto", model_dir=model_dir)
    assert eng.device == "cuda"
    assert eng.batch_size == onnx_engine.DEFAULT_CUDA_BATCH
    assert seen["providers"][0] == ("CUDAExecutionProvider", {"device_id": 0})
    eng = OnnxEngine(backbone, "cuda:1", model_dir=model_dir)
    assert seen["providers"][0] == ("CUDAExecutionProvider", {"device_id": 1})


def test_make_engine_auto_and_onnx_use_this_engine(backbone, engine, monkeypatch):
    from visrec.embed.engines import make_engine

    made = []

    def fake(bb, device, **kwargs):
        made.append((bb, device))
        return engine

    monkeypatch.setattr(onnx_engine, "OnnxEngine", fake)
    assert make_engine(backbone, "auto", "cpu") is engine
    assert make_engine(backbone, "onnx", "cpu") is engine
    assert made == [(backbone, "cpu"), (backbone, "cpu")]


def test_make_engine_passes_batch_size_and_threads(backbone, engine, monkeypatch):
    from visrec.embed.engines import make_engine

    made = []

    def fake(bb, device, **kwargs):
        made.append(kwargs)
        return engine

    monkeypatch.setattr(onnx_engine, "OnnxEngine", fake)
    make_engine(backbone, "auto", "cpu", batch_size=3, threads=2)
    assert made == [{"batch_size": 3, "threads": 2}]


def test_onnx_on_cpu_does_not_import_torch(engine: OnnxEngine, batch: np.ndarray, tmp_path):
    # With the export cached, engine="onnx", device="cpu" runs without torch (importing
    # it costs seconds and ~190 MB), and gives the vectors of this process's engine.
    import subprocess
    import sys

    (tmp_path / "onnx").mkdir()
    shutil.copy(engine.model_path, tmp_path / "onnx")
    shutil.copy(engine.model_path.with_suffix(".sha256"), tmp_path / "onnx")
    np.save(tmp_path / "batch.npy", batch[:2])
    code = (
        "import sys, numpy as np\n"
        "from visrec.embed.backbones import get_backbone\n"
        "from visrec.embed.engines import make_engine\n"
        "eng = make_engine(get_backbone('efficientnet-lite0'), 'onnx', 'cpu')\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, eng(np.load({str(tmp_path / 'batch.npy')!r})))\n"
        "print(eng.name, 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "VISREC_CACHE": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "onnx False"
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), engine(batch[:2]))


def test_physical_cores_is_positive():
    assert onnx_engine.physical_cores() >= 1


def test_auto_runs_torch_when_the_export_cache_cannot_be_written(
    backbone, tmp_path: Path, monkeypatch
):
    # a read-only home or a file named as VISREC_CACHE stopped `embed` with the default
    # engine, though torch needs no cache: auto warns and runs torch; onnx still refuses
    from visrec.embed.engines import TorchEngine, make_engine

    (tmp_path / "c").write_text("not a folder")
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "c"))
    with pytest.warns(RuntimeWarning, match=r"VISREC_CACHE: .*falling back to torch$"):
        eng = make_engine(backbone, "auto", "cpu")
    assert isinstance(eng, TorchEngine)
    with pytest.raises(VisrecError, match="set VISREC_CACHE to a writable folder"):
        make_engine(backbone, "onnx", "cpu")


def test_embed_with_an_unwritable_cache_writes_the_vectors(tmp_path: Path, monkeypatch):
    from test_embed_qa_fixes import _folder
    from visrec.cli import main
    from visrec.embed.store import read_vectors

    _folder(tmp_path / "imgs", ["a", "b"])
    (tmp_path / "c").write_text("not a folder")
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "c"))
    with pytest.warns(RuntimeWarning, match="falling back to torch"):
        assert main(["embed", str(tmp_path / "imgs"), "-o", str(tmp_path / "v.parquet")]) == 0
    ids = list(read_vectors(tmp_path / "v.parquet").ids)
    assert sorted(ids) == ["a", "b"]


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (RuntimeError("exporter broke"), r"\(RuntimeError: exporter broke\)"),
        (PermissionError(13, "Permission denied"), r"cannot write the ONNX model cache"),
    ],
)
def test_auto_runs_torch_when_the_export_fails(
    backbone, tmp_path: Path, monkeypatch, error: Exception, said: str
):
    # an exporter error (an op a registered backbone uses, torch trouble) is not the
    # user's input: auto runs torch, as before the cache check; onnx says what failed
    from visrec.embed.engines import TorchEngine, make_engine

    def broken(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(onnx_engine, "export_onnx", broken)
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "empty"))
    with pytest.warns(RuntimeWarning, match=said + r".*; falling back to torch$"):
        assert isinstance(make_engine(backbone, "auto", "cpu"), TorchEngine)
    with pytest.raises(type(error) if isinstance(error, RuntimeError) else VisrecError):
        make_engine(backbone, "onnx", "cpu")


def test_a_backbone_error_still_stops_auto(backbone, model_dir: Path, monkeypatch):
    # a VisrecError that is not about the cache (a backbone whose preprocessing gives a
    # wrong shape) is the user's to fix: auto stops on it instead of running torch
    from visrec.embed.engines import make_engine

    def wrong(*args: object, **kwargs: object) -> None:
        raise VisrecError("backbone 'x': preprocess returned shape (224, 224), expected (3, H, W)")

    monkeypatch.setattr(onnx_engine, "cached_onnx_path", wrong)
    with pytest.raises(VisrecError, match="preprocess returned shape"):
        make_engine(backbone, "auto", "cpu")
