"""visrec.embed: backbones, engines, extraction (bad images, determinism, reuse, resume)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from conftest import flip_vector_page
from visrec import _device as device_mod
from visrec._parquet import read_columns
from visrec.cli import main as cli_main
from visrec.embed import engines as engines_mod
from visrec.embed import onnx_engine
from visrec.embed.backbones import Backbone, get_backbone, list_backbones
from visrec.embed.engines import TorchEngine, make_engine
from visrec.embed.extract import (
    EmbedResult,
    cut_chunks,
    embed_folder,
    embed_images,
    parts_dir,
)
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError
from visrec.images.decode import load_image

if TYPE_CHECKING:
    from conftest import BarCase


class TinyBackbone(Backbone):
    """A 8-d random conv net: the same code paths as a real backbone, in milliseconds."""

    name = "tiny-test"
    dim = 8
    input_size = (32, 32)
    resize = "shorter"
    resize_size = 32
    mean = (0.5, 0.5, 0.5)
    std = (0.25, 0.25, 0.25)

    @property
    def weights_id(self) -> str:
        return "tiny-seed-0"

    def build_model(self) -> torch.nn.Module:
        gen = torch.Generator().manual_seed(0)
        conv = torch.nn.Conv2d(3, self.dim, 5, stride=2)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 0.1)
            assert conv.bias is not None
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.1)
        return torch.nn.Sequential(
            conv, torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
        ).eval()


class TinySquash(TinyBackbone):
    resize = "squash"


def _images(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (40, 30)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:03d}.jpg", quality=90)
    return folder


def _bad_images(folder: Path) -> None:
    (folder / "doc.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (folder / "empty.jpg").write_bytes(b"")
    buf = (folder / "000.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(buf[: len(buf) // 2])


def _reference(bb: Backbone, paths: list[Path]) -> np.ndarray:
    model = bb.build_model()
    x = torch.from_numpy(
        np.stack([bb.preprocess(load_image(p, draft_size=bb.draft_size)) for p in paths])
    )
    with torch.inference_mode():
        out: np.ndarray = model(x).numpy()
    return out


# ----------------------------------------------------------------------- backbones


def test_registry_lists_default_first() -> None:
    assert list_backbones()[0] == "efficientnet-lite0"
    assert "resnet18" in list_backbones()
    with pytest.raises(VisrecError, match=r"unknown backbone 'vgg'.*efficientnet-lite0"):
        get_backbone("vgg")


def test_efficientnet_preprocessing_and_weights_id() -> None:
    bb = get_backbone()
    assert bb.name == "efficientnet-lite0" and bb.dim == 1280
    pp = bb.preprocessing
    assert pp["input_size"] == [224, 224] and pp["resize"] == "shorter"
    assert pp["mean"] == [round(127 / 255, 8)] * 3 and pp["std"] == [round(128 / 255, 8)] * 3
    json.dumps(pp)  # JSON-able
    assert bb.weights_id.startswith("efficientnet-lite0-57934424.pth:")
    # White -> (255 - 127) / 128 = 1.0 exactly; black -> -127/128.
    white = bb.preprocess(Image.new("RGB", (300, 200), (255, 255, 255)))
    assert white.shape == (3, 224, 224) and white.dtype == np.float32
    np.testing.assert_allclose(white, 1.0, atol=1e-6)
    black = bb.preprocess(Image.new("RGB", (50, 80), (0, 0, 0)))
    np.testing.assert_allclose(black, -127 / 128, atol=1e-6)


def test_resize_shorter_side_then_center_crop() -> None:
    bb = TinyBackbone()
    arr = np.zeros((32, 96, 3), dtype=np.uint8)  # wide image: left/middle/right thirds
    arr[:, :32] = (255, 0, 0)
    arr[:, 32:64] = (0, 255, 0)
    arr[:, 64:] = (0, 0, 255)
    out = np.asarray(bb.resized(Image.fromarray(arr)))
    assert out.shape == (32, 32, 3)
    assert tuple(out[16, 16]) == (0, 255, 0)  # only the centre third survives the crop
    squashed = np.asarray(TinySquash().resized(Image.fromarray(arr)))
    assert squashed.shape == (32, 32, 3)
    assert squashed[16, 2, 0] > 200 and squashed[16, 29, 2] > 200


def test_resnet18_from_local_torchvision_state_dict(tmp_path: Path, monkeypatch: Any) -> None:
    from visrec.embed.backbones import _plain_resnet18

    ref = _plain_resnet18().eval()
    for m in ref.modules():  # non-trivial BN statistics so a mis-load would show
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "resnet18.pth"
    torch.save(ref.state_dict(), path)
    assert "layer1.0.conv1.weight" in ref.state_dict()
    assert "layer2.0.downsample.1.running_var" in ref.state_dict()

    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    ref.fc = torch.nn.Identity()
    with torch.inference_mode():
        expected = ref(x)
    bb = get_backbone("resnet18", weights=path)
    assert bb.dim == 512 and bb.preprocessing["resize_size"] == 256
    assert bb.weights_id.startswith("resnet18.pth:")
    with torch.inference_mode():
        got = bb.build_model()(x)
    assert got.shape == (2, 512)
    assert torch.equal(got, expected)

    monkeypatch.setenv("VISREC_RESNET18_WEIGHTS", str(path))
    with torch.inference_mode():
        assert torch.equal(get_backbone("resnet18").build_model()(x), expected)


def test_resnet18_bad_weights_and_missing_torchvision(tmp_path: Path, monkeypatch: Any) -> None:
    bad = tmp_path / "other.pth"
    torch.save({"foo.weight": torch.zeros(3)}, bad)
    with pytest.raises(VisrecError, match="not a torchvision resnet18 state_dict"):
        get_backbone("resnet18", weights=bad).build_model()
    with pytest.raises(VisrecError, match="does not exist"):
        get_backbone("resnet18", weights=tmp_path / "nope.pth").build_model()
    monkeypatch.delenv("VISREC_RESNET18_WEIGHTS", raising=False)
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(VisrecError, match=r"VISREC_RESNET18_WEIGHTS.*torchvision==0\.29\.1"):
            get_backbone("resnet18").build_model()


# ----------------------------------------------------------------------- engines


def test_make_engine_choices() -> None:
    bb = TinyBackbone()
    eng = make_engine(bb, "torch", "cpu", batch_size=3)
    assert isinstance(eng, TorchEngine) and eng.name == "torch" and eng.batch_size == 3
    x = np.random.default_rng(0).normal(size=(5, 3, 32, 32)).astype(np.float32)
    a, b = eng(x), eng(x)
    assert a.shape == (5, 8) and a.dtype == np.float32 and np.array_equal(a, b)
    with pytest.raises(VisrecError, match="unknown engine"):
        make_engine(bb, "tensorrt")
    with pytest.raises(VisrecError, match="ray engine runs a whole pipeline"):
        make_engine(bb, "ray")
    with pytest.raises(VisrecError, match="unknown device"):
        make_engine(bb, "torch", "tpu")
    if not torch.cuda.is_available():
        with pytest.raises(VisrecError, match="no CUDA GPU"):
            make_engine(bb, "torch", "cuda")


def test_auto_engine_falls_back_to_torch(monkeypatch: Any) -> None:
    monkeypatch.setattr(onnx_engine, "onnx_available", lambda: False)
    assert make_engine(TinyBackbone(), "auto", "cpu").name == "torch"
    with pytest.raises(VisrecError, match="needs onnxruntime"):
        make_engine(TinyBackbone(), "onnx", "cpu")


def test_picking_the_device_does_not_import_torch() -> None:
    # The ONNX path must not pay for importing torch just to pick the device.
    import subprocess

    code = (
        "import sys; import visrec.embed.engines; from visrec._device import torch_device; "
        "assert torch_device('cpu') == 'cpu'; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_engines_share_one_device_parser() -> None:
    # "cuda:x" used to reach torch (engines) or be taken as "cuda" (ray); every parser
    # now rejects it up front, naming the value and the accepted forms.
    with pytest.raises(VisrecError, match=r"unknown device 'cuda:x'; expected auto, cpu, cuda"):
        device_mod.torch_device("cuda:x")
    assert device_mod.torch_device(None) in ("cpu", "cuda")
    assert device_mod.torch_device(" CPU ") == "cpu"


def test_cuda_without_driver_is_refused_without_torch(monkeypatch: Any) -> None:
    monkeypatch.setattr(device_mod, "cuda_driver_present", lambda: False)
    assert device_mod.torch_device("auto") == "cpu"
    with pytest.raises(VisrecError, match="no CUDA GPU"):
        device_mod.torch_device("cuda:0")


def test_make_engine_threads_sets_torch_pool() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        make_engine(TinyBackbone(), "torch", "cpu", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_onnx_available_does_not_import_the_packages(monkeypatch: Any) -> None:
    import subprocess

    code = (
        "import sys; from visrec.embed.onnx_engine import onnx_available; onnx_available(); "
        "print('onnxruntime' in sys.modules, 'onnx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
    # A missing package (None in sys.modules blocks its import) means "not available".
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert onnx_engine.onnx_available() is False


# ----------------------------------------------------------------------- extraction


def test_embed_bad_images_zero_rows_in_input_order(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 5)
    _bad_images(folder)
    bb = TinyBackbone()
    res = embed_folder(folder, backbone=bb, engine="torch", batch_size=2, progress=False)
    iv = res.vectors
    assert list(iv.ids) == ["000", "001", "002", "003", "004", "cut", "doc", "empty"]
    assert iv.vectors.shape == (8, 8)
    assert iv.has_image.tolist() == [True] * 5 + [False] * 3
    assert np.all(iv.vectors[5:] == 0) and np.all(np.abs(iv.vectors[:5]).sum(1) > 0)
    reasons = {i: r for i, _, r in res.failures}
    assert reasons == {
        "cut": "truncated",
        "doc": "not an image (PDF document)",
        "empty": "empty file",
    }
    assert res.n_ok == 5 and res.n_reused == 0 and res.n_computed == 8
    expected = _reference(bb, [folder / f"{i:03d}.jpg" for i in range(5)])
    np.testing.assert_allclose(iv.vectors[:5], expected, rtol=1e-5, atol=1e-6)
    assert iv.meta["backbone"] == "tiny-test" and iv.meta["weights_id"] == "tiny-seed-0"


def test_embed_deterministic_across_workers_and_runs(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 11, size=(64, 48))
    items = [(p.stem, p) for p in sorted(folder.iterdir())][::-1]  # order is the caller's
    kw: dict[str, Any] = {
        "backbone": TinyBackbone(),
        "engine": "torch",
        "batch_size": 4,
        "progress": False,
    }
    a = embed_images(items, workers=1, **kw).vectors
    b = embed_images(items, workers=4, chunk_size=3, **kw).vectors
    c = embed_images(dict(items), tmp_path / "v.parquet", workers=3, **kw).vectors
    assert list(a.ids) == [i for i, _ in items]
    assert np.array_equal(a.vectors, b.vectors)
    assert np.array_equal(a.vectors, c.vectors) and list(c.ids) == list(a.ids)


def test_embed_duplicate_ids_rejected(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match="'a' is listed twice"):
        embed_images(
            [("a", tmp_path / "x.jpg"), ("a", tmp_path / "y.jpg")],
            backbone=TinyBackbone(),
            progress=False,
        )


def _run(folder: Path, out: Path, bb: Backbone | None = None, **kw: Any) -> EmbedResult:
    params: dict[str, Any] = {
        "backbone": bb or TinyBackbone(),
        "engine": "torch",
        "batch_size": 2,
        "chunk_size": 4,
        "progress": False,
    }
    params.update(kw)
    return embed_folder(folder, out, **params)


def test_output_file_format_and_reuse(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 10)
    _bad_images(folder)
    out = tmp_path / "v.parquet"
    first = _run(folder, out)
    assert not parts_dir(out).exists()
    pf = pq.ParquetFile(out)
    sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)]
    ids = sorted(p.stem for p in folder.iterdir())
    assert sizes == [len(c) for c in cut_chunks([(i, "") for i in ids], 4)]
    assert sum(sizes) == 13 and max(sizes) <= 8 and len(sizes) >= 2
    assert [f.name for f in pf.schema_arrow] == ["item_id", "vector", "has_image"]
    vtype = pf.schema_arrow.field("vector").type
    assert pa.types.is_fixed_size_list(vtype) and vtype.list_size == 8
    assert vtype.value_type == pa.float32()
    meta = read_vectors(out).meta
    assert meta["dim"] == 8 and meta["preprocessing"] == TinyBackbone().preprocessing
    assert meta["visrec_version"] and meta["key"]
    assert len(meta["failures"]) == 3

    second = _run(folder, out)
    assert second.n_reused == 13 and second.n_computed == 0
    assert sorted(second.failures) == sorted(first.failures)
    assert np.array_equal(second.vectors.vectors, first.vectors.vectors)


def test_changed_preprocessing_never_reuses(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 6)
    out = tmp_path / "v.parquet"
    _run(folder, out)
    before = read_vectors(out)
    res = _run(folder, out, bb=TinySquash())
    assert res.n_reused == 0 and res.n_computed == 6
    assert any("different backbone, weights or preprocessing" in n for n in res.notes)
    after = read_vectors(out)
    assert after.meta["preprocessing"]["resize"] == "squash"
    assert not np.allclose(after.vectors, before.vectors)
    # A chunk left in the parts folder by a crashed run with other preprocessing is
    # ignored too, and the note says why.
    out2 = tmp_path / "v2.parquet"
    assert _crash_after(folder, out2, TinyBackbone(), n_chunks=1)
    assert _rows_in_parts(out2)[0] == 1
    res2 = _run(folder, out2, bb=TinySquash())
    assert res2.n_reused == 0 and res2.n_computed == 6
    assert any(
        "1 chunk computed with a different backbone, weights or preprocessing: not used, "
        "and removed when this run completes" in n
        for n in res2.notes
    )
    assert np.array_equal(read_vectors(out2).vectors, after.vectors)
    # a crashed run's chunk of other images: not used, and said to go with this run
    out3 = tmp_path / "v3.parquet"
    assert _crash_after(folder, out3, TinyBackbone(), n_chunks=1)
    other = _images(tmp_path / "other", 5, seed=9)
    res3 = _run(other, out3)
    assert res3.n_reused == 0 and res3.n_computed == 5
    assert any(
        "1 chunk for other or changed images: not used, and removed when this run completes" in n
        for n in res3.notes
    )
    assert not parts_dir(out3).exists()


def test_changed_image_recomputes_only_its_chunk(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 10)
    out = tmp_path / "v.parquet"
    _run(folder, out)
    old = read_vectors(out)
    Image.new("RGB", (40, 30), (250, 250, 0)).save(folder / "005.jpg")
    res = _run(folder, out)
    chunk = next(
        c for c in cut_chunks([(f"{i:03d}", "") for i in range(10)], 4) if ("005", "") in c
    )
    assert res.n_computed == len(chunk) < 10 and res.n_reused == 10 - len(chunk)
    new = read_vectors(out)
    changed = np.flatnonzero(np.any(new.vectors != old.vectors, axis=1))
    assert changed.tolist() == [5]


class _Boom(RuntimeError):
    pass


def _rows_in_parts(out: Path) -> tuple[int, int]:
    """(chunk files, rows in them) in the parts folder of ``out``."""
    files = sorted(parts_dir(out).glob("chunk-*.parquet"))
    return len(files), sum(pq.read_metadata(f).num_rows for f in files)


def _crash_after(folder: Path, out: Path, bb: Backbone, n_chunks: int) -> bool:
    """Run an embedding whose engine dies once ``n_chunks`` chunks are on disk."""
    real = engines_mod.make_engine

    def dying(*args: Any, **kw: Any) -> Any:
        eng = real(*args, **kw)

        class Dying:
            name = eng.name
            batch_size = eng.batch_size

            def __call__(self, batch: np.ndarray) -> np.ndarray:
                if _rows_in_parts(out)[0] >= n_chunks:
                    raise _Boom
                return eng(batch)

        return Dying()

    engines_mod.make_engine = dying
    try:
        _run(folder, out, bb=bb)
    except _Boom:
        return True
    finally:
        engines_mod.make_engine = real
    return False


def test_interrupted_run_resumes_in_process(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 14)
    ref = _run(folder, tmp_path / "ref.parquet").vectors
    out = tmp_path / "v.parquet"
    assert _crash_after(folder, out, TinyBackbone(), n_chunks=2)
    assert not out.exists()
    n_files, n_rows = _rows_in_parts(out)
    assert n_files == 2 and 0 < n_rows < 14
    res = _run(folder, out)
    assert res.n_reused == n_rows and res.n_computed == 14 - n_rows
    got = read_vectors(out)
    assert list(got.ids) == list(ref.ids)
    assert np.array_equal(got.vectors, ref.vectors)
    assert not parts_dir(out).exists()


@pytest.mark.parametrize("damage", ["not parquet", "a flipped byte"])
def test_damaged_chunk_file_is_recomputed(tmp_path: Path, damage: str) -> None:
    folder = _images(tmp_path / "imgs", 10)
    ref = _run(folder, tmp_path / "ref.parquet").vectors
    out = tmp_path / "v.parquet"
    assert _crash_after(folder, out, TinyBackbone(), n_chunks=2)
    first, second = sorted(parts_dir(out).glob("chunk-*.parquet"))
    kept = pq.read_metadata(second).num_rows
    if damage == "not parquet":
        first.write_bytes(b"PAR1 this is not parquet")
    else:  # a vector page's CRC no longer matches: no other sign of it
        flip_vector_page(first)
        with pytest.raises(OSError, match="CRC checksum verification failed"):
            read_columns(first)
    res = _run(folder, out)
    assert res.n_reused == kept and res.n_computed == 10 - kept
    assert any("damaged chunk file" in n for n in res.notes)
    assert np.array_equal(read_vectors(out).vectors, ref.vectors)


def test_cut_chunks_sizes_and_locality() -> None:
    pairs = [(str(i), "") for i in range(5000)]
    chunks = cut_chunks(pairs, 64)
    sizes = [len(c) for c in chunks]
    assert [p for c in chunks for p in c] == pairs  # order kept, nothing lost
    assert min(sizes[:-1]) >= 16 and max(sizes) <= 128
    assert 50 <= np.mean(sizes) <= 70
    assert cut_chunks(pairs, 64) == chunks  # deterministic
    inserted = [*pairs[:2500], ("new", ""), *pairs[2500:]]
    before = {tuple(c) for c in chunks}
    changed = [c for c in cut_chunks(inserted, 64) if tuple(c) not in before]
    assert 1 <= len(changed) <= 2
    assert [len(c) for c in cut_chunks(pairs[:5], 1)] == [1] * 5


def test_added_image_recomputes_one_or_two_chunks(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 120, size=(16, 16))
    out = tmp_path / "v.parquet"
    _run(folder, out, chunk_size=8)
    Image.new("RGB", (16, 16), (9, 99, 199)).save(folder / "050a.jpg")  # sorts mid-way
    res = _run(folder, out, chunk_size=8)
    assert res.n == 121 and 1 <= res.n_computed <= 32 and res.n_reused == 121 - res.n_computed
    fresh = _run(folder, tmp_path / "fresh.parquet", chunk_size=8).vectors
    got = read_vectors(out)
    assert list(got.ids) == list(fresh.ids)
    np.testing.assert_allclose(got.vectors, fresh.vectors, rtol=1e-6, atol=1e-7)


def test_empty_item_list_writes_empty_file(tmp_path: Path) -> None:
    res = embed_images([], tmp_path / "v.parquet", backbone=TinyBackbone(), progress=False)
    assert res.n == 0 and res.vectors.vectors.shape == (0, 8)


def _foreign_outputs(tmp_path: Path) -> list[Path]:
    """Existing files at an output path that are not vectors files: text, plain Parquet."""
    text = tmp_path / "ratings.parquet"
    text.write_text("user_id,item_id\n1,2\n")
    plain = tmp_path / "plain.parquet"  # Parquet, but not written by visrec
    pq.write_table(pa.table({"user_id": ["1"], "item_id": ["2"]}), plain)
    return [text, plain]


def test_library_refuses_to_replace_a_file_that_is_not_vectors(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 5)
    for out in _foreign_outputs(tmp_path):
        before = out.read_bytes()
        with pytest.raises(VisrecError, match=r"is not a visrec vectors file.*overwrite=True"):
            _run(folder, out)
        assert out.read_bytes() == before and not parts_dir(out).exists()
        res = _run(folder, out, overwrite=True)
        assert res.n_computed == 5 and any("will be replaced" in n for n in res.notes)
        assert read_vectors(out).vectors.shape == (5, 8)
        again = _run(folder, out)  # now a vectors file: resumed in place, no overwrite needed
        assert again.n_reused == 5 and again.n_computed == 0


# ----------------------------------------------------------------------- CLI


def test_cli_embed_small_folder(tmp_path: Path, capsys: Any) -> None:
    folder = _images(tmp_path / "imgs", 4, size=(60, 90))
    (folder / "broken.jpg").write_bytes(b"%PDF-1.5 not a jpeg")
    out = tmp_path / "v.parquet"
    summary = tmp_path / "s.json"
    argv = [
        "embed",
        str(folder),
        "-o",
        str(out),
        "--engine",
        "torch",
        "--batch-size",
        "2",
        "--quiet",
        "--json",
        str(summary),
    ]
    assert cli_main(argv) == 0
    text, err = capsys.readouterr()
    assert "embedded 4 of 5 images" in text and "ok 4, failed 1, reused 0" in text
    assert "broken.jpg (item broken): not an image (PDF document)" in err
    iv = read_vectors(out)
    assert iv.vectors.shape == (5, 1280) and iv.has_image.tolist() == [True] * 4 + [False]
    assert iv.meta["backbone"] == "efficientnet-lite0"
    data = json.loads(summary.read_text())
    assert data["failures"] == [
        {
            "item_id": "broken",
            "path": str(folder / "broken.jpg"),
            "reason": "not an image (PDF document)",
        }
    ]

    assert cli_main(argv) == 0
    out_err = capsys.readouterr()
    assert "reused 5" in out_err.out
    assert "note:" not in out_err.err  # a .parquet name: nothing to say
    assert np.array_equal(read_vectors(out).vectors, iv.vectors)
    # a name that says another format is refused before any work (visrec's readers go
    # by the suffix); another name is written all the same (as Parquet), with a note
    assert cli_main([*argv[:3], str(tmp_path / "v.csv"), *argv[4:-2]]) == 2
    assert "ends in .csv (CSV), but visrec writes Parquet there" in capsys.readouterr().err
    assert not (tmp_path / "v.csv").exists()
    odd = tmp_path / "v.vec"
    assert cli_main([*argv[:3], str(odd), *argv[4:-2]]) == 0
    assert capsys.readouterr().err == (
        f"note: {odd} is written as a Parquet file (its name does not end in .parquet)\n"
        "failed images (1; zero vector, has_image=false):\n"
        "  broken.jpg (item broken): not an image (PDF document)\n"
    )
    assert np.array_equal(read_vectors(odd).vectors, iv.vectors)
    # Determinism of the real model: a fresh run (in memory, one decode worker) gives
    # bit-identical vectors.
    again = embed_folder(folder, engine="torch", batch_size=2, workers=1, progress=False)
    assert np.array_equal(again.vectors.vectors, iv.vectors)


def test_cli_embed_manifest_and_errors(tmp_path: Path, capsys: Any) -> None:
    folder = _images(tmp_path / "imgs", 2)
    manifest = tmp_path / "items.csv"
    manifest.write_text(
        "item_id,path\nb,imgs/001.jpg\na,imgs/000.jpg\nu,https://example.invalid/x.jpg\n"
    )
    out = tmp_path / "v.parquet"
    assert (
        cli_main(
            ["embed", "--manifest", str(manifest), "-o", str(out), "--engine", "torch", "--quiet"]
        )
        == 0
    )
    assert "URL, not a local file" in capsys.readouterr().err
    iv = read_vectors(out)
    assert list(iv.ids) == ["b", "a", "u"] and iv.has_image.tolist() == [True, True, False]
    assert cli_main(["embed", str(folder)]) == 2
    assert "give the output file" in capsys.readouterr().err
    assert cli_main(["embed"]) == 2  # nothing given: both named
    assert "error: give the images and the output: visrec embed" in capsys.readouterr().err
    # the manifest given where the folder goes: the command to type instead
    assert cli_main(["embed", str(manifest), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: {manifest}: a file, not a folder of images; a manifest (item_id,path) is "
        f"given with --manifest: visrec embed --manifest {shlex.quote(str(manifest))} -o "
        f"{shlex.quote(str(out))} ...\n"
    )
    assert cli_main(["embed", str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert cli_main(["embed", str(folder), "-o", str(tmp_path), "--engine", "torch"]) == 2
    assert "-o: output path" in capsys.readouterr().err  # checked before any image is read
    assert cli_main(["embed", str(folder), "-o", str(out), "--backbone", "vgg"]) == 2
    assert "unknown backbone 'vgg'" in capsys.readouterr().err
    assert cli_main(["embed", "--list-backbones"]) == 0
    listing = capsys.readouterr().out
    assert listing.splitlines()[0].startswith("efficientnet-lite0") and "resnet18" in listing


def _tiny_cli_embed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`visrec embed` with the tiny backbone: the CLI's code paths in milliseconds."""
    import visrec.embed.extract as extract_mod

    def embed(*args: Any, **kw: Any) -> EmbedResult:
        kw["backbone"] = TinyBackbone()
        return embed_images(*args, **kw)

    monkeypatch.setattr(extract_mod, "embed_images", embed)


def test_cli_embed_bar_only_on_a_terminal(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bar_case: BarCase,
) -> None:
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    _tiny_cli_embed(monkeypatch)
    folder = _images(tmp_path / "imgs", 3)
    assert cli_main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), *flags]) == 0
    captured = capsys.readouterr()
    assert ("\r" in captured.err) is bar, captured.err
    assert "embed (" in captured.err if bar else captured.err == ""
    # the summary is printed either way
    assert "embedded 3 images" in captured.out and "ok 3, failed 0" in captured.out


def test_cli_embed_verbose_and_quiet_exclude_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli_main(
            ["embed", str(tmp_path), "-o", str(tmp_path / "v.parquet"), "--verbose", "--quiet"]
        )
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--chunk-size", "-3"], "--chunk-size must be at least 1, got -3"),
        (["--ray-address", "auto"], "--ray-address needs --engine ray"),  # not a local run
    ],
)
def test_cli_embed_bad_options_name_the_option(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "v.parquet"
    assert cli_main(["embed", str(tmp_path / "never-read"), "-o", str(out), *flags]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists()


def test_cli_embed_summary_of_one_image_and_of_a_reuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_cli_embed(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet")]
    assert cli_main(argv) == 0
    first = capsys.readouterr().out
    assert "embedded 1 image from" in first and "img/s" in first
    assert cli_main(argv) == 0
    again = capsys.readouterr().out
    assert "reused 1, computed 0" in again and "nothing to compute" in again
    assert "img/s" not in again  # no meaningless 0.0 img/s


def test_cli_embed_refuses_to_replace_a_file_that_is_not_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_cli_embed(monkeypatch)
    folder = _images(tmp_path / "imgs", 3)
    for out in _foreign_outputs(tmp_path):
        before = out.read_bytes()
        assert cli_main(["embed", str(folder), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"{out} exists and is not a visrec vectors file" in err and "--overwrite" in err
        assert len(err.strip().splitlines()) == 1
        assert out.read_bytes() == before  # refused up front: untouched
        assert not parts_dir(out).exists()

    text = tmp_path / "ratings.parquet"
    assert cli_main(["embed", str(folder), "-o", str(text), "--overwrite"]) == 0
    assert read_vectors(text).vectors.shape == (3, 8)
    # a real vectors file is still resumed in place without --overwrite
    assert cli_main(["embed", str(folder), "-o", str(text)]) == 0
    assert "reused 3, computed 0" in capsys.readouterr().out


# ----------------------------------------------------------------------- real data


@pytest.mark.slow
@pytest.mark.realdata
def test_embed_all_movielens_posters(shared_data: Path, tmp_path: Path) -> None:
    posters = shared_data / "movielens-100k-posters" / "posters"
    res = embed_folder(posters, tmp_path / "ml.parquet", progress=False)
    iv = res.vectors
    assert iv.vectors.shape == (1663, 1280)
    assert iv.has_image.all() and res.failures == []
    assert "1" in set(iv.ids) and iv.meta["backbone"] == "efficientnet-lite0"
    assert np.all(np.linalg.norm(iv.vectors, axis=1) > 0)


def test_cli_device_is_checked_by_the_shared_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img = tmp_path / "imgs"
    img.mkdir()
    Image.new("RGB", (8, 8), "red").save(img / "a.jpg")
    argv = ["embed", str(img), "-o", str(tmp_path / "v.parquet"), "--device", "gpu", "--quiet"]
    assert cli_main(argv) == 2
    assert "unknown device 'gpu'; expected auto, cpu, cuda or cuda:N" in capsys.readouterr().err
    assert not (tmp_path / "v.parquet").exists()


def test_cli_embed_notes_items_that_share_one_photo(tmp_path: Path, capsys: Any) -> None:
    # ML-100K has 26 such groups: one poster fetched for "The Fan", "The Pest", "The Quest"
    _images(tmp_path / "imgs", 2)
    manifest = tmp_path / "items.csv"
    manifest.write_text("item_id,path\nfan,imgs/001.jpg\nown,imgs/000.jpg\npest,imgs/001.jpg\n")
    out, summary = tmp_path / "v.parquet", tmp_path / "s.json"
    argv = ["embed", "--manifest", str(manifest), "-o", str(out), "--engine", "torch",
            "--quiet", "--json", str(summary)]  # fmt: skip
    assert cli_main(argv) == 0
    note = (
        "2 items share their vector with another item (1 group of identical vectors; the "
        "largest, 2 items: 'fan', 'pest'): one photo for several items (a placeholder, or a "
        "photo fetched for the wrong item?) makes them look alike to every model"
    )
    assert f"note: {note}\n" in capsys.readouterr().err
    assert note in json.loads(summary.read_text())["notes"]
    assert cli_main(["data", "summary", str(out)]) == 0
    assert f"   note: {note}\n" in capsys.readouterr().out


def test_resnet18_normalises_each_channel_with_imagenet_mean_and_std() -> None:
    from visrec.embed.backbones import get_backbone

    bb = get_backbone("resnet18")
    assert tuple(bb.mean) == (0.485, 0.456, 0.406)
    assert tuple(bb.std) == (0.229, 0.224, 0.225)
    red = bb.preprocess(Image.new("RGB", (256, 256), (255, 0, 0)))
    assert red.shape == (3, 224, 224)
    np.testing.assert_allclose(red[0], (1.0 - 0.485) / 0.229, atol=1e-5)
    np.testing.assert_allclose(red[1], (0.0 - 0.456) / 0.224, atol=1e-5)
    np.testing.assert_allclose(red[2], (0.0 - 0.406) / 0.225, atol=1e-5)


def test_tall_image_is_centre_cropped_vertically() -> None:
    # a portrait photo (most product shots) keeps its middle, not its top
    arr = np.zeros((96, 32, 3), dtype=np.uint8)  # top / middle / bottom thirds
    arr[:32] = (255, 0, 0)
    arr[32:64] = (0, 255, 0)
    arr[64:] = (0, 0, 255)
    out = np.asarray(TinyBackbone().resized(Image.fromarray(arr)))
    assert out.shape == (32, 32, 3)
    assert tuple(out[0, 16]) == (0, 255, 0)
    assert tuple(out[31, 16]) == (0, 255, 0)


def test_shorter_side_resize_truncates_the_longer_side_like_torchvision() -> None:
    # torchvision Resize(int) truncates the longer side: a 99x64 image with the
    # shorter side to 32 is 32 * 99 / 64 = 49.5 -> 49 wide (rounding would give 50)
    from visrec.embed.backbones import Backbone

    class Wide(Backbone):
        name = "tiny-wide"
        dim = 2
        input_size = (32, 49)  # (h, w): keep the whole resized width
        resize = "shorter"
        resize_size = 32
        mean = (0.5, 0.5, 0.5)
        std = (0.25, 0.25, 0.25)

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (64, 99, 3), dtype=np.uint8))
    got = np.asarray(Wide().resized(img))
    want = np.asarray(img.resize((49, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(got, want)


def test_resnet18_fine_tuned_head_corrupt_file_and_other_shapes(tmp_path: Path) -> None:
    from visrec.embed.backbones import _plain_resnet18

    ref = _plain_resnet18().eval()
    tuned = ref.state_dict()
    tuned["fc.weight"] = torch.zeros(10, 512)  # fine-tuned for 10 classes
    tuned["fc.bias"] = torch.zeros(10)
    path = tmp_path / "ft10.pth"
    torch.save(tuned, path)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    ref.fc = torch.nn.Identity()
    with torch.inference_mode():
        got = get_backbone("resnet18", weights=path).build_model()(x)
        assert torch.equal(got, ref(x))  # the head is dropped: the same features

    other = dict(tuned)
    other["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)  # not a resnet18's shape
    torch.save(other, tmp_path / "other.pth")
    with pytest.raises(VisrecError) as exc:
        get_backbone("resnet18", weights=tmp_path / "other.pth").build_model()
    text = str(exc.value)
    assert "not a torchvision resnet18 state_dict (size mismatch for layer1.0.conv1.weight" in text
    assert "\n" not in text

    (tmp_path / "broken.pth").write_bytes(b"PK\x03\x04 not a zip of tensors")
    with pytest.raises(VisrecError) as exc:
        get_backbone("resnet18", weights=tmp_path / "broken.pth").build_model()
    text = str(exc.value)
    assert "cannot load (" in text and "expected a state_dict saved with torch.save" in text
    assert "\n" not in text and "weights_only set to False" not in text
