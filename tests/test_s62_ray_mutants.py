"""Mutation audit of ``visrec.embed.ray_engine`` (the ``--engine ray`` path), session 62.

Audited: ``_import_ray``, ``_DropAuthNotice``, ``_quiet_ray_data``, ``_decode_batch``,
``_InferActor``, ``_resolve_ray_device``, ``_stop_prefetchers``, ``_ProcessState``,
``_next_batch``, ``RayPipeline`` (``__init__``, ``_start``, ``_plan``, ``_check_fits``,
``compute_chunks``, ``_run``) and ``embed_with_ray``; run against the fast tests of
test_ray_engine.py (the two ``slow`` ones, which start a real Ray, left out),
test_s52_ray_engine.py and the ray tests of test_library_hygiene.py,
test_session43_review_fixes.py and test_support_mutation_gaps.py.

Mutants: 65 total, 49 killed before, 63 killed after these tests, 2 equivalent:

- ``_decode_batch`` without ``arr.shape == shape``: ``Backbone.preprocess`` always gives
  ``(3, *input_size)``, so every decoded image has the batch's shape.
- default ``batch_size or 16`` -> 32: only the size of the Ray Data batches the driver
  cuts; the inner engine's batch (and so the vectors) does not depend on it.

Like test_s52_ray_engine.py these tests need no Ray: a stand-in Ray runs each stage in
this process.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_s52_ray_engine import BB, _FakeRay, _items, _MeanEngine
from visrec.embed import engines, ray_engine
from visrec.embed.ray_engine import RayPipeline, _ProcessState, embed_with_ray
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> _FakeRay:
    fake = _FakeRay()
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(engines, "make_engine", lambda *a, **kw: _MeanEngine())
    return fake


class _StartedHere(_FakeRay):
    """A Ray that is not running yet: ``compute_chunks`` starts it and must stop it."""

    def __init__(self, cpus: int) -> None:
        super().__init__(cpus=cpus)
        self.calls: list[str] = []

    def is_initialized(self) -> bool:
        return "init" in self.calls and "shutdown" not in self.calls

    def init(self, **kwargs: object) -> None:
        self.calls.append("init")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


class _Resources:
    """A stand-in for the ray module that knows only the cluster's resources."""

    def __init__(self, res: dict[str, float]) -> None:
        self.res = res

    def cluster_resources(self) -> dict[str, float]:
        return self.res


def test_ray_without_ray_data_is_the_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # mutant: `import ray.data` dropped: a Ray without its data extra got as far as
    # ray.data.DataContext and failed there with an AttributeError
    monkeypatch.setitem(sys.modules, "ray", types.ModuleType("ray"))
    monkeypatch.setitem(sys.modules, "ray.data", None)  # `import ray.data` fails
    with pytest.raises(VisrecError, match=r"needs Ray Data: pip install 'ray\[data\]'"):
        ray_engine._import_ray()


def test_a_stopped_prefetcher_fetches_none_of_the_blocks_it_held() -> None:
    # mutants: `owner._blocks = []` dropped (the prefetcher woke after the shutdown and
    # ray.wait()ed the blocks it still held); no `thread.join` (Ray shut down under it)
    class Prefetcher:
        def __init__(self) -> None:
            self._blocks: list[object] = []
            self._stopped = False
            self._condition = threading.Condition()
            self.waiting = threading.Event()
            self.fetched_after_stop: list[object] = []
            self._thread = threading.Thread(target=self._run, name="Prefetcher", daemon=True)

        def _run(self) -> None:
            with self._condition:
                self._blocks = ["block 1", "block 2"]  # handed over, not fetched yet
                self.waiting.set()
                self._condition.wait()
                todo, self._blocks = self._blocks, []
            time.sleep(0.3)  # winding down: stop() returns before the thread has ended
            if self._stopped:
                self.fetched_after_stop += todo

        def stop(self) -> None:
            with self._condition:
                self._stopped = True
                self._condition.notify()

    before = set(threading.enumerate())
    prefetcher = Prefetcher()
    prefetcher._thread.start()
    assert prefetcher.waiting.wait(5)
    ray_engine._stop_prefetchers(before)
    assert not prefetcher._thread.is_alive()  # joined
    assert prefetcher.fetched_after_stop == []


def test_the_ray_loggers_level_is_put_back() -> None:
    # mutant: put_back without setLevel(self.ray_level): ray.init's level stayed
    logger = logging.getLogger("ray")
    before = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        kept = _ProcessState()
        logger.setLevel(logging.WARNING)  # what ray.init(logging_level=WARNING) does
        kept.put_back()
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def test_a_handler_python_cannot_name_is_not_put_back_as_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mutant: `handler is not None and` dropped: a SIGTERM handler installed outside
    # Python (getsignal gives None) was "put back" as signal.signal(SIGTERM, None), a
    # TypeError at the end of every run
    def rays(*args: object) -> None:
        pass

    seen: list[int] = []
    real_getsignal = signal.getsignal

    def getsignal(sig: int) -> Any:
        if sig != signal.SIGTERM:
            return real_getsignal(sig)
        seen.append(sig)
        return None if len(seen) == 1 else rays  # ray.init installed its own since

    set_to: list[tuple[int, object]] = []
    monkeypatch.setattr(signal, "getsignal", getsignal)
    monkeypatch.setattr(signal, "signal", lambda sig, h: set_to.append((sig, h)))
    kept = _ProcessState()
    kept.put_back_handlers()
    assert set_to == []


def test_without_a_batch_size_the_actors_engine_keeps_its_own(
    fake_ray: _FakeRay, tmp_path: Path
) -> None:
    # mutant: `_batch_size_arg = self.batch_size`: ONNX Runtime on CPU got 16, not its 4
    RayPipeline(BB, "cpu").compute_chunks(
        [(0, _items(tmp_path)[:4])], lambda *a: None, lambda n: None
    )
    decode, infer = fake_ray.stages
    assert infer["constructor"]["batch_size"] is None
    assert decode["batch_size"] == infer["batch_size"] >= 1


def test_the_inner_engine_is_named_whatever_its_case_and_spaces(
    fake_ray: _FakeRay, tmp_path: Path
) -> None:
    # mutant: `self.engine = engine` (no strip/lower): " ONNX " was refused
    pipe = RayPipeline(BB, "cpu", engine=" ONNX ")
    assert pipe.engine == "onnx"
    pipe.compute_chunks([(0, _items(tmp_path)[:2])], lambda *a: None, lambda n: None)
    assert fake_ray.stages[1]["constructor"]["engine"] == "onnx"


def test_gpu_actors_leave_a_cpu_for_decoding() -> None:
    # mutant: the GPU plan checked `actors` CPUs, not `actors + 1`: 2 GPU actors on a
    # 2-CPU node left no CPU for the decode tasks and the run waited for ever
    pipe = RayPipeline(BB)
    with pytest.raises(
        VisrecError, match=r"has 2 CPUs, and 2 actors of 1 CPU and 1 CPU for decoding"
    ):
        pipe._plan(_Resources({"CPU": 2.0, "GPU": 2.0}), "cuda", fixed=True)
    assert pipe._plan(_Resources({"CPU": 3.0, "GPU": 2.0}), "cuda", fixed=True) == (2, 1, 1)


def test_prefetchers_are_stopped_after_a_failed_iteration_only(
    fake_ray: _FakeRay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: `if ended:` for `if not ended:`: a failed run left Ray Data's prefetcher
    # thread waiting for ever (a normal end stops it itself)
    stopped: list[object] = []
    monkeypatch.setattr(ray_engine, "_stop_prefetchers", stopped.append)
    todo = [(0, _items(tmp_path)[:6])]
    RayPipeline(BB, "cpu").compute_chunks(todo, lambda *a: None, lambda n: None)
    assert stopped == []
    fake_ray.fail_after = 1
    with pytest.raises(VisrecError, match="Ray pipeline failed"):
        RayPipeline(BB, "cpu").compute_chunks(todo, lambda *a: None, lambda n: None)
    assert len(stopped) == 1 and isinstance(stopped[0], set)


def test_nothing_to_compute_starts_no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    # mutant: no `if not todo: return`: a run with every chunk reused started Ray
    def no_ray() -> None:
        raise AssertionError("Ray was imported")

    monkeypatch.setattr(ray_engine, "_import_ray", no_ray)
    chunks: list[int] = []
    RayPipeline(BB, "cpu").compute_chunks([], lambda k, *a: chunks.append(k), chunks.append)
    assert chunks == []


def test_embed_with_ray_passes_its_options_to_the_pipeline(
    fake_ray: _FakeRay, tmp_path: Path
) -> None:
    # mutants: embed_with_ray dropping batch_size, engine or device on the way
    items = _items(tmp_path)
    res = embed_with_ray(
        items, tmp_path / "v.parquet", backbone=BB, device="cpu", batch_size=3,
        num_actors=1, engine="torch", progress=False, chunk_size=4, workers=7,
    )  # fmt: skip
    decode, infer = fake_ray.stages
    assert decode["batch_size"] == infer["batch_size"] == 3
    assert infer["compute"] == ("actor pool", 1)
    assert {k: infer["constructor"][k] for k in ("engine", "device", "batch_size")} == {
        "engine": "torch",
        "device": "cpu",
        "batch_size": 3,
    }
    assert res.engine == "ray"
    back = read_vectors(tmp_path / "v.parquet")
    assert set(back.meta["engines"]) == {"torch"}  # the engine in the actors, per chunk
    assert list(back.ids) == [i for i, _ in items]
    assert int(back.has_image.sum()) == 10
    with pytest.raises(VisrecError, match="the Ray cluster has no GPUs"):
        embed_with_ray(items, None, backbone=BB, device="cuda", progress=False)


def test_a_local_instance_that_cannot_hold_the_plan_is_an_error_and_is_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # mutant: `_run(..., fixed=started)` -> fixed=False: the instance this run started
    # (which cannot grow) got a warning, and the run waited for ever
    fake = _StartedHere(cpus=1)
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(engines, "make_engine", lambda *a, **kw: _MeanEngine())
    with pytest.raises(VisrecError, match="it would wait for them for ever"):
        RayPipeline(BB, "cpu", num_cpus=1).compute_chunks(
            [(0, _items(tmp_path)[:2])], lambda *a: None, lambda n: None
        )
    assert fake.calls == ["init", "shutdown"]
    assert fake.stages == []  # refused before any stage was planned


def test_vectors_from_the_pipeline_match_the_inner_engine_row_for_row(
    fake_ray: _FakeRay, tmp_path: Path
) -> None:
    # a chunk split over several batches, rows back in reverse: row r of each chunk is
    # exactly the inner engine's vector of image r, failed rows stay zero
    items = _items(tmp_path)
    got: dict[int, tuple[np.ndarray, np.ndarray, list[str | None]]] = {}
    RayPipeline(BB, "cpu", batch_size=2).compute_chunks(
        [(3, items[:7]), (1, items[7:])],
        lambda k, v, h, e: got.__setitem__(k, (v.copy(), h.copy(), list(e))),
        lambda n: None,
    )
    from PIL import Image

    for k, part in ((3, items[:7]), (1, items[7:])):
        vectors, has, errors = got[k]
        assert len(vectors) == len(part)
        for r, (_, path) in enumerate(part):
            if has[r]:
                want = _MeanEngine()(BB.preprocess(Image.open(path))[None])[0]
                np.testing.assert_allclose(vectors[r], want, rtol=1e-6)
                assert errors[r] is None
            else:
                assert not vectors[r].any() and errors[r]
