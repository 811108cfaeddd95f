"""Mutation audit (session 66) of ``visrec.embed.onnx_engine`` and ``visrec.embed.ray_engine``.

Audited: the ONNX export (dummy batch, dynamic axes, eval mode, input size), the cache
key, digest check, temp-file sweep, UTF-8 refusal, the refusals of ``_export_to_cache``
(a non-file at the export or digest name, EFBIG/ENOSPC advice, the CacheUnwritable
class), the engine's batch/threads/parallel defaults and session options (spinning),
``_open`` (digest removed before a re-export, out of memory on load, a re-export that
still cannot load), empty batches; on the Ray side the failure reasons, the actor's
batching and row order, the inner engine's threads, ``_plan`` and ``_check_fits``
(worker counts and their boundaries), an empty ``todo``, progress, missing rows, the
local instance's CPUs, MemoryError passing through, engine-name normalisation, the
inner batch size, ``embed_with_ray``'s ``num_actors``, the environment put back,
failed rows and chunk completion.

Mutants: 45 in total; 36 killed by the tests before this file, 38 after it, 7 equivalent:
- export dummy batch 2 -> 1: the batch axis is declared dynamic; the same graph.
- export with ``.train()`` instead of ``.eval()``: ``torch.onnx.export`` exports in eval
  mode by default (``training=TrainingMode.EVAL``), whatever mode the model is in.
- the digest written in place, not atomically: a torn digest never equals a 64-hex
  SHA-256, so the file is exported again, as with no digest.
- ``_cache_valid``'s ``or`` -> ``and``: reading the missing file or digest then raises
  OSError, which answers False all the same.
- empty-batch early return removed: onnxruntime runs a batch of 0 on the dynamic axis
  and returns (0, dim) float32 itself.
- ``why or "unreadable"`` -> ``why`` in ``_decode_batch``, and ``str(why) or
  "unreadable"`` -> ``str(why)`` in the driver: ``Decoder._one`` never returns a failed
  image without a reason, so neither fallback is reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from test_embed import TinyBackbone
from test_s52_ray_engine import BB, _FakeRay, _items, _MeanEngine
from visrec.embed import engines, ray_engine
from visrec.embed.onnx_engine import (
    OnnxEngine,
    export_key,
    export_onnx,
)
from visrec.embed.ray_engine import embed_with_ray


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real export of the tiny backbone (its digest beside it)."""
    pytest.importorskip("onnx", reason="onnx is not installed")
    bb = TinyBackbone()
    folder = tmp_path_factory.mktemp("onnx-s66")
    return export_onnx(bb, folder / f"{export_key(bb)}.onnx")


def _copy_export(exported: Path, folder: Path) -> Path:
    path = folder / exported.name
    path.write_bytes(exported.read_bytes())
    path.with_suffix(".sha256").write_text(exported.with_suffix(".sha256").read_text())
    return path


def _record_sessions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    seen: list[Any] = []
    real = onnxruntime.InferenceSession

    def recording(path: str, opts: Any, providers: Any) -> Any:
        seen.append(opts)
        return real(path, opts, providers=providers)

    monkeypatch.setattr(onnxruntime, "InferenceSession", recording)
    return seen


@pytest.mark.parametrize(("spinning", "entry"), [(False, "0"), (True, "1")])
def test_idle_threads_spin_only_when_asked(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spinning: bool, entry: str
) -> None:
    # mutant: the allow_spinning entry inverted (spinning threads steal the decode cores)
    _copy_export(exported, tmp_path)
    seen = _record_sessions(monkeypatch)
    eng = OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path, spinning=spinning)
    assert len(seen) == 1
    assert seen[0].get_session_config_entry("session.intra_op.allow_spinning") == entry
    assert seen[0].intra_op_num_threads == eng.threads == 1


def test_embed_with_ray_passes_num_actors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # mutant: embed_with_ray not passing num_actors on (4 CPUs: the default is 1 actor)
    fake = _FakeRay(cpus=4)
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(engines, "make_engine", lambda *a, **kw: _MeanEngine())
    items = _items(tmp_path)
    embed_with_ray(
        items, tmp_path / "v.parquet", backbone=BB, device="cpu", num_actors=2,
        progress=False, chunk_size=4,
    )  # fmt: skip
    infer = fake.stages[-1]
    assert infer["compute"] == ("actor pool", 2)
    assert infer["num_cpus"] == infer["constructor"]["threads"] == 1  # (4 - 1) // 2
