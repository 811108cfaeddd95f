"""Mutation audit (session 69, third pass) of ``visrec.embed.onnx_engine`` and
``visrec.embed.ray_engine``.

Aimed at what the s62/s63/s66 audits left: ``onnx_available`` with one package
missing, ``physical_cores`` (hyper-thread siblings, an unreadable sysfs topology),
the CUDA engine's providers, threads, ``parallel``, batch and session options, the
repr, a run failure's type and the out-of-memory count, a Ctrl-C while loading; on
the Ray side ``_stop_prefetchers`` with a prefetcher that fails to stop, handlers put
back from a worker thread, a host's faulthandler, ``ray.init``'s arguments, the
failed-connection wording, the repr, closing an abandoned iteration, and
``embed_with_ray`` passing ``ray_address``.

Mutants: 59 in total (28 onnx_engine, 31 ray_engine); 39 killed by the tests before
this file (run against the onnx/ray test files and the earlier mutant tests), 59
killed after it, 0 equivalent.

Which tests kill which mutants:
- onnx_available ``all`` -> ``any`` (O1):
  test_onnx_without_one_of_its_two_packages_is_unavailable.
- physical_cores counting allowed CPUs (O5): test_hyper_thread_siblings_count_as_one_core;
  its OSError fallback returning 1 (O4): test_an_unreadable_topology_counts_every_allowed_cpu.
- CUDA providers without the CPU fallback (O17), threads default 1 on CUDA (O18),
  ``parallel`` = cores on CUDA (O19), inter-op threads 0 (O20), ORT_PARALLEL (O21),
  log severity 1 (O22), repr showing ``parallel`` as threads (O27):
  test_a_cuda_engine_uses_every_core_in_one_call_with_cpu_as_fallback.
- ``_open`` without ``reraise_if_pressed`` (O24):
  test_a_ctrl_c_while_loading_the_model_is_not_a_re_export.
- a non-OOM run error wrapped as VisrecError (O25):
  test_a_run_failure_keeps_its_type_and_out_of_memory_counts_the_batch.
- ``_stop_prefetchers`` catching only ValueError (R6):
  test_a_prefetcher_that_fails_to_stop_is_left_and_the_others_stopped.
- ``put_back_handlers`` without the main-thread check (R7):
  test_handlers_are_put_back_only_from_the_main_thread.
- faulthandler disabled whenever on (R10): test_a_hosts_own_faulthandler_stays_on.
- ``include_dashboard=True`` (R15), the failed connection naming "a local instance"
  for a given address (R19), the repr without the address (R28):
  test_ray_starts_without_its_dashboard_and_names_the_cluster_it_cannot_join.
- the abandoned iterator not closed (R26): test_an_iteration_the_driver_leaves_is_closed.
- ``embed_with_ray`` dropping ``ray_address`` (R29):
  test_embed_with_ray_joins_the_cluster_it_is_given.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_embed import TinyBackbone
from test_s66_engines_mutants import _copy_export
from visrec.embed import onnx_engine
from visrec.embed.onnx_engine import OnnxEngine, export_key, export_onnx
from visrec.errors import VisrecError


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real export of the tiny backbone (its digest beside it)."""
    pytest.importorskip("onnx", reason="onnx is not installed")
    bb = TinyBackbone()
    return export_onnx(bb, tmp_path_factory.mktemp("onnx-s69") / f"{export_key(bb)}.onnx")


# ------------------------------------------------------------------ embed/onnx_engine.py


def test_onnx_without_one_of_its_two_packages_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Catches ``all`` -> ``any`` in ``onnx_available``: onnxruntime without onnx (which
    the export needs) counted as an installed engine."""
    real = importlib.util.find_spec
    assert onnx_engine.onnx_available()
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a)
    )
    assert not onnx_engine.onnx_available()
    with pytest.raises(VisrecError, match=r"needs the packages onnx and onnxruntime"):
        OnnxEngine(TinyBackbone(), "cpu")


def _topology(root: Path, siblings: dict[int, tuple[str, str]]) -> None:
    for cpu, (package, core) in siblings.items():
        folder = root / f"sys/devices/system/cpu/cpu{cpu}/topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text(f"{package}\n")
        (folder / "core_id").write_text(f"{core}\n")


def _sysfs_under(monkeypatch: pytest.MonkeyPatch, root: Path, cpus: set[int]) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    monkeypatch.setattr(onnx_engine, "Path", lambda base, name: root / base.lstrip("/") / name)


def test_hyper_thread_siblings_count_as_one_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Catches ``physical_cores`` counting the allowed CPUs instead of their distinct
    (package, core) pairs: two sockets of two cores, each with two hyper-threads."""
    siblings = {
        0: ("0", "0"), 1: ("0", "1"), 2: ("1", "0"), 3: ("1", "1"),
        4: ("0", "0"), 5: ("0", "1"), 6: ("1", "0"), 7: ("1", "1"),
    }  # fmt: skip
    _topology(tmp_path, siblings)
    _sysfs_under(monkeypatch, tmp_path, set(siblings))
    assert onnx_engine.physical_cores() == 4
    # the same core id on two packages is two cores
    _sysfs_under(monkeypatch, tmp_path, {0, 2})
    assert onnx_engine.physical_cores() == 2


def test_an_unreadable_topology_counts_every_allowed_cpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Catches the fallback of ``physical_cores`` (no readable sysfs topology, as in some
    containers) giving 1 core instead of the CPUs the process may use."""
    _topology(tmp_path, {0: ("0", "0")})  # cpu 0 readable, the others not
    _sysfs_under(monkeypatch, tmp_path, {0, 1, 2})
    assert onnx_engine.physical_cores() == 3


def _cuda_sessions(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """onnxruntime with a CUDA provider, its sessions recorded instead of opened."""
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    seen: list[dict[str, Any]] = []

    def recording(path: str, opts: Any, providers: Any) -> Any:
        seen.append({"opts": opts, "providers": providers})
        return object()

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPU"]
    )
    monkeypatch.setattr(onnxruntime, "InferenceSession", recording)
    return seen


def test_a_cuda_engine_uses_every_core_in_one_call_with_cpu_as_fallback(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches, on CUDA: the CPU provider dropped after the CUDA one (operators CUDA
    lacks had nowhere to run), the threads default of 1 instead of the physical cores,
    ``parallel`` of the cores instead of 1 (several batches racing for one GPU), the
    CPU batch default, and the session options (parallel execution mode, more than one
    inter-op thread, onnxruntime's warnings shown)."""
    import onnxruntime

    _copy_export(exported, tmp_path)
    seen = _cuda_sessions(monkeypatch)
    monkeypatch.setattr(onnx_engine, "physical_cores", lambda: 6)
    eng = OnnxEngine(TinyBackbone(), "cuda:1", model_dir=tmp_path)
    assert eng.device == "cuda"
    assert seen[-1]["providers"] == [
        ("CUDAExecutionProvider", {"device_id": 1}),
        "CPUExecutionProvider",
    ]
    assert (eng.threads, eng.parallel) == (6, 1)
    assert eng.batch_size == onnx_engine.DEFAULT_CUDA_BATCH > onnx_engine.DEFAULT_CPU_BATCH
    opts = seen[-1]["opts"]
    assert opts.intra_op_num_threads == 6
    assert opts.inter_op_num_threads == 1
    assert opts.execution_mode == onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    assert opts.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert opts.log_severity_level >= 3  # errors only
    # given values win over the defaults
    eng = OnnxEngine(TinyBackbone(), "cuda", model_dir=tmp_path, threads=2, parallel=3)
    assert (eng.threads, eng.parallel) == (2, 3)
    assert seen[-1]["providers"][0] == ("CUDAExecutionProvider", {"device_id": 0})
    assert "threads=2)" in repr(eng) and "device='cuda'" in repr(eng)


class _Failing:
    """An onnxruntime session whose every run raises ``exc``."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def run(self, names: Any, feeds: Any) -> Any:
        raise self.exc


def test_a_run_failure_keeps_its_type_and_out_of_memory_counts_the_batch(
    exported: Path, tmp_path: Path
) -> None:
    """Catches ``__call__`` wrapping an error other than out of memory (a caller's
    handler for onnxruntime's own error saw another type), and the out-of-memory line
    counting the engine's batch size instead of the images in the failed batch."""
    _copy_export(exported, tmp_path)
    eng = OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path)
    batch = np.zeros((3, 3, 32, 32), np.float32)
    assert eng.batch_size != len(batch)
    failure = RuntimeError("INVALID_ARGUMENT: wrong rank")
    eng._session = _Failing(failure)
    with pytest.raises(RuntimeError) as got:
        eng(batch)
    assert got.value is failure
    eng._session = _Failing(RuntimeError("std::bad_alloc"))
    with pytest.raises(MemoryError, match=r"^onnxruntime: a batch of 3 images$"):
        eng(batch)


def test_a_ctrl_c_while_loading_the_model_is_not_a_re_export(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches ``_open`` without ``reraise_if_pressed``: a Ctrl-C that reached the C++
    loader as another error was taken for a damaged file, its digest removed and the
    model exported again before the interrupt was seen."""
    from visrec import _interrupt

    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    path = _copy_export(exported, tmp_path)
    digest = path.with_suffix(".sha256").read_text()
    calls: list[str] = []

    def interrupted(model: str, opts: Any, providers: Any) -> Any:
        calls.append(model)
        raise RuntimeError("interrupted inside the loader")

    monkeypatch.setattr(onnxruntime, "InferenceSession", interrupted)
    monkeypatch.setattr(onnx_engine, "export_onnx", lambda *a: pytest.fail("exported again"))
    _interrupt.mark()
    try:
        with pytest.raises(KeyboardInterrupt) as got:
            OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path)
    finally:
        _interrupt.clear()
    assert isinstance(got.value.__cause__, RuntimeError)
    assert calls == [str(path)]
    assert path.with_suffix(".sha256").read_text() == digest  # the cache is kept as good


# ------------------------------------------------------------------ embed/ray_engine.py


def test_a_prefetcher_that_fails_to_stop_is_left_and_the_others_stopped() -> None:
    """Catches ``_stop_prefetchers`` catching only ``ValueError``: a prefetcher-like
    thread of another Ray whose ``stop`` raised failed the cleanup of a run that had
    already failed (its error replaced by this one), and the later ones stayed."""
    from visrec.embed.ray_engine import _stop_prefetchers

    class Prefetcher:
        def __init__(self, broken: bool) -> None:
            self.broken = broken
            self._blocks: list[object] = [object()]
            self._condition = threading.Condition()
            self.done = threading.Event()
            self.thread = threading.Thread(target=self._run, name="Prefetcher", daemon=True)

        def _run(self) -> None:
            self.done.wait(10)

        def stop(self) -> None:
            if self.broken:
                raise RuntimeError("another Ray's prefetcher")
            self.done.set()

    before = set(threading.enumerate())
    owners = [Prefetcher(broken=True), Prefetcher(broken=False)]
    for owner in owners:
        owner.thread.start()
    try:
        _stop_prefetchers(before)  # raises nothing
        assert not owners[1].thread.is_alive()
        assert owners[1]._blocks == []
    finally:
        for owner in owners:
            owner.done.set()
            owner.thread.join(5)


def test_handlers_are_put_back_only_from_the_main_thread() -> None:
    """Catches ``put_back_handlers`` without its main-thread check: a host running the
    pipeline in a worker thread got ``ValueError: signal only works in main thread``
    from the cleanup after a run (only the main thread can set handlers)."""
    from visrec.embed.ray_engine import _ProcessState

    before = signal.getsignal(signal.SIGTERM)
    kept = _ProcessState()
    errors: list[BaseException] = []

    def cleanup() -> None:
        try:
            kept.put_back()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    signal.signal(signal.SIGTERM, lambda *a: None)  # what ray.init does
    try:
        worker = threading.Thread(target=cleanup)
        worker.start()
        worker.join(10)
        assert errors == []
        kept.put_back_handlers()  # from the main thread it is put back
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_hosts_own_faulthandler_stays_on() -> None:
    """Catches ``put_back`` turning faulthandler off whenever it is on: a host that had
    enabled it itself lost its tracebacks on a crash after one Ray run."""
    import faulthandler

    from visrec.embed.ray_engine import _ProcessState

    was = faulthandler.is_enabled()
    faulthandler.enable()
    try:
        kept = _ProcessState()
        kept.put_back()
        assert faulthandler.is_enabled()
    finally:
        if not was:
            faulthandler.disable()


class _InitRay:
    """A Ray not yet running whose ``init`` records its arguments, or fails with
    ``failure``."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.kwargs: list[dict[str, Any]] = []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.kwargs.append(kwargs)
        if self.failure is not None:
            raise self.failure


def test_ray_starts_without_its_dashboard_and_names_the_cluster_it_cannot_join() -> None:
    """Catches ``include_dashboard=True`` (a web server on a port for a run that needs
    none) and the failed connection naming "a local instance" instead of the address
    the user gave."""
    from test_s52_ray_engine import BB
    from visrec.embed.ray_engine import RayPipeline

    fake = _InitRay()
    pipeline = RayPipeline(BB, "cpu")
    assert pipeline._start(fake) is True
    pipeline._kept.put_back()
    assert fake.kwargs[0]["include_dashboard"] is False
    assert fake.kwargs[0]["log_to_driver"] is True
    address = "ray://head.example:10001"
    joining = RayPipeline(BB, "cpu", ray_address=address)
    with pytest.raises(VisrecError) as got:
        joining._start(_InitRay(ConnectionError("connection timed out")))
    assert str(got.value) == (
        f"cannot start/connect Ray ({address}): connection timed out; to start a local "
        "Ray for this run instead, leave out --ray-address"
    )
    assert repr(joining) == f"<RayPipeline {BB.name} device=cpu ray={address}>"
    assert repr(pipeline) == f"<RayPipeline {BB.name} device=cpu ray=local>"


def test_an_iteration_the_driver_leaves_is_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Catches the driver not closing Ray Data's iterator when saving a chunk failed (a
    full disk): its blocks and prefetching stayed until the iterator was collected."""
    import test_s52_ray_engine as s52
    from visrec.embed import engines, ray_engine

    fake = s52._FakeRay(cpus=4, shuffle=False)
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(engines, "make_engine", lambda *a, **kw: s52._MeanEngine())
    real = s52._Dataset.iter_batches
    made: list[_Tracked] = []

    def tracked(self: Any, batch_size: None, batch_format: str) -> _Tracked:
        made.append(_Tracked(real(self, batch_size, batch_format)))
        return made[-1]

    monkeypatch.setattr(s52._Dataset, "iter_batches", tracked)
    items = s52._items(tmp_path)
    todo = [(0, items[:4]), (1, items[4:8])]

    def full_disk(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        ray_engine.RayPipeline(s52.BB, "cpu").compute_chunks(todo, full_disk, lambda n: None)
    assert len(made) == 1 and made[0].closed
    # a run that ends normally leaves the closing to Ray Data
    ray_engine.RayPipeline(s52.BB, "cpu").compute_chunks(todo, lambda *a: None, lambda n: None)
    assert len(made) == 2 and not made[1].closed


class _Tracked:
    """An iterator that notes whether ``close`` was called."""

    def __init__(self, it: Any) -> None:
        self.it, self.closed = it, False

    def __iter__(self) -> _Tracked:
        return self

    def __next__(self) -> Any:
        return next(self.it)

    def close(self) -> None:
        self.closed = True


def test_embed_with_ray_joins_the_cluster_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Catches ``embed_with_ray`` not passing ``ray_address`` on: the run started a
    local instance instead of joining the user's cluster."""
    import test_s52_ray_engine as s52
    from visrec.embed import engines, ray_engine

    class Joining(s52._FakeRay):
        def __init__(self) -> None:
            super().__init__(cpus=4)
            self.kwargs: list[dict[str, Any]] = []

        def is_initialized(self) -> bool:
            return False

        def init(self, **kwargs: Any) -> None:
            self.kwargs.append(kwargs)

        def shutdown(self) -> None:
            pass

    fake = Joining()
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(engines, "make_engine", lambda *a, **kw: s52._MeanEngine())
    res = ray_engine.embed_with_ray(
        s52._items(tmp_path), tmp_path / "v.parquet", backbone=s52.BB, device="cpu",
        ray_address="head.example:6379", progress=False, chunk_size=4,
    )  # fmt: skip
    assert [k["address"] for k in fake.kwargs] == ["head.example:6379"]
    assert "num_cpus" not in fake.kwargs[0]  # a joined cluster's own CPUs
    assert res.engine == "ray"
