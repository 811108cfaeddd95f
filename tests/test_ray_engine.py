"""Ray engine: a local 2-CPU Ray gives exactly the local engine's output."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
pytest.importorskip("ray.data", reason="ray[data] is not installed")

from PIL import Image  # noqa: E402

from visrec.embed import ray_engine  # noqa: E402
from visrec.embed.extract import embed_images  # noqa: E402
from visrec.embed.ray_engine import RayPipeline, _ProcessState  # noqa: E402
from visrec.embed.store import read_vectors  # noqa: E402
from visrec.errors import VisrecError  # noqa: E402


def _make_items(folder: Path) -> list[tuple[str, str]]:
    """20 images in different sizes, colours and formats, 3 of them bad."""
    rng = np.random.default_rng(7)
    items: list[tuple[str, str]] = []
    for k in range(17):
        h, w = int(rng.integers(60, 300)), int(rng.integers(60, 300))
        base = rng.integers(0, 256, 3)
        arr = np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        ext = ".png" if k % 4 == 0 else ".jpg"
        path = folder / f"item{k:02d}{ext}"
        Image.fromarray(arr).save(path)
        items.append((f"item{k:02d}", str(path)))
    (folder / "doc.jpg").write_bytes(b"%PDF-1.4\n% not an image\n")
    (folder / "empty.jpg").write_bytes(b"")
    good = (folder / "item01.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(good[: len(good) // 3])
    items.insert(2, ("doc", str(folder / "doc.jpg")))
    items.insert(9, ("empty", str(folder / "empty.jpg")))
    items.insert(15, ("cut", str(folder / "cut.jpg")))
    return items


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    # Workers inherit the environment at start-up: share one ONNX export cache.
    mp = pytest.MonkeyPatch()
    mp.setenv("VISREC_CACHE", str(tmp_path_factory.mktemp("visrec-cache")))
    mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))  # Ray's ~/.ray/auth_token
    if ray.is_initialized():
        ray.shutdown()
    kept = _ProcessState()  # ray.init's SIGTERM handler and variables must not outlive it
    # Ray's sessions and sockets in a short ASCII folder of their own, removed after: a
    # TMPDIR with a space or an accent failed ray.init, and /tmp/ray kept every session
    temp = tempfile.mkdtemp(prefix="visrec-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:  # a failed ray.init too puts back what it changed (and stops what it started)
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", _temp_dir=temp)
        kept.note_environment()
        yield ray
    finally:
        ray.shutdown()
        kept.put_back()
        mp.undo()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_ray_output_equals_local_engine(local_ray, tmp_path: Path, capfd):
    items = _make_items(tmp_path)
    local = embed_images(items, tmp_path / "local.parquet", progress=False, chunk_size=8)
    distributed = embed_images(
        items, tmp_path / "ray.parquet", engine="ray", progress=False, chunk_size=8
    )
    # no error line from Ray's core about the actors' constructor arguments
    assert "constructor arguments" not in capfd.readouterr().err
    assert distributed.engine == "ray"
    assert local.engine == "onnx"  # the same inner engine, so identical vectors

    a = read_vectors(tmp_path / "local.parquet")
    b = read_vectors(tmp_path / "ray.parquet")
    assert list(b.ids) == [i for i, _ in items]
    assert list(a.ids) == list(b.ids)
    np.testing.assert_array_equal(b.has_image, a.has_image)
    assert int(b.has_image.sum()) == 17
    assert not b.has_image[[2, 9, 15]].any()
    np.testing.assert_array_equal(b.vectors, a.vectors)
    assert np.abs(b.vectors[b.has_image]).sum(1).min() > 0
    assert not b.vectors[~b.has_image].any()
    assert b.meta == a.meta  # backbone, preprocessing, chunk fingerprints, failures
    assert distributed.failures == local.failures
    assert {i for i, _, _ in distributed.failures} == {"doc", "empty", "cut"}
    reasons = {i: r for i, _, r in distributed.failures}
    assert reasons["empty"] == "empty file"
    assert reasons["doc"].startswith("not an image")

    # Re-running reuses the finished file whichever engine wrote it.
    again = embed_images(
        items, tmp_path / "ray.parquet", engine="ray", progress=False, chunk_size=8
    )
    assert again.n_reused == len(items)
    assert again.n_computed == 0


def test_ray_engine_refuses_a_file_that_is_not_vectors(tmp_path: Path):
    # refused before Ray is started, with the file untouched
    out = tmp_path / "notes.parquet"
    out.write_text("my notes")
    with pytest.raises(VisrecError, match="not a visrec vectors file"):
        embed_images(_make_items(tmp_path), out, engine="ray", progress=False)
    assert out.read_text() == "my notes"


def test_pipeline_is_not_a_batch_engine():
    from visrec.embed.backbones import get_backbone

    pipe = RayPipeline(get_backbone())
    with pytest.raises(VisrecError, match="whole chunks"):
        pipe(np.zeros((1, 3, 224, 224), np.float32))
    with pytest.raises(VisrecError, match="auto, onnx or torch"):
        RayPipeline(get_backbone(), engine="ray")


class _Resources:
    """A stand-in for the ray module that knows only the cluster's resources."""

    def __init__(self, res):
        self.res = res

    def cluster_resources(self):
        return self.res


def test_actor_plan_leaves_cpus_for_decoding():
    from visrec.embed.backbones import get_backbone

    pipe = RayPipeline(get_backbone())
    assert pipe._plan(_Resources({"CPU": 2.0}), "cpu") == (1, 1, 0)
    assert pipe._plan(_Resources({"CPU": 16.0}), "cpu") == (3, 4, 0)
    assert pipe._plan(_Resources({"CPU": 64.0, "GPU": 4.0}), "cuda") == (4, 1, 1)
    # two actors given: 3 CPUs each, one left for decoding (4 each would wait for ever)
    assert RayPipeline(get_backbone(), num_actors=2)._plan(_Resources({"CPU": 8.0}), "cpu") == (
        2,
        3,
        0,
    )


def test_an_actor_plan_the_cluster_cannot_hold_is_said_not_waited_on():
    # Ray would show 0% for ever: the actors and the decode tasks wait for CPUs or GPUs
    from visrec.embed.backbones import get_backbone

    def plan(res, device="cpu", fixed=True, **kw):
        return RayPipeline(get_backbone(), **kw)._plan(_Resources(res), device, fixed)

    two = {"CPU": 2.0}
    with pytest.raises(VisrecError, match=r"has 2 CPUs, and 2 actors of 1 CPU and"):
        plan(two, num_actors=2)  # both CPUs taken by actors: no decoding
    with pytest.raises(VisrecError, match=r"6 actors of 4 CPUs.* need 25"):
        plan({"CPU": 24.0}, num_actors=6, cpus_per_actor=4)  # the docs' example, too small
    with pytest.raises(VisrecError, match=r"has 8 CPUs.*1 actor of 8 CPU"):
        plan({"CPU": 8.0}, cpus_per_actor=8)  # no longer cut silently to 7
    with pytest.raises(VisrecError, match=r"has 1 GPU, and 2 actors of 1 GPU"):
        plan({"CPU": 8.0, "GPU": 1.0}, "cuda", num_actors=2)
    with pytest.raises(VisrecError, match=r"has 1 CPU"):
        plan({"CPU": 1.0})  # one CPU: an actor or the decoding, not both
    assert plan({"CPU": 25.0}, num_actors=6, cpus_per_actor=4) == (6, 4, 0)
    # a cluster this run joined may grow (an autoscaler): a warning, and the plan as asked
    with pytest.warns(RuntimeWarning, match="waits until the cluster grows"):
        assert plan(two, fixed=False, num_actors=2) == (2, 1, 0)


def test_device_follows_the_cluster():
    from visrec.embed.ray_engine import _resolve_ray_device

    assert _resolve_ray_device(_Resources({"CPU": 8.0}), "auto") == "cpu"
    assert _resolve_ray_device(_Resources({"CPU": 8.0, "GPU": 2.0}), "auto") == "cuda"
    assert _resolve_ray_device(_Resources({"CPU": 8.0, "GPU": 2.0}), "cpu") == "cpu"
    with pytest.raises(VisrecError, match="no GPUs"):
        _resolve_ray_device(_Resources({"CPU": 8.0}), "cuda")
    with pytest.raises(VisrecError, match="unknown device"):
        _resolve_ray_device(_Resources({"CPU": 8.0}), "tpu")
    assert _resolve_ray_device(_Resources({"CPU": 8.0, "GPU": 2.0}), "CUDA:1") == "cuda:1"
    with pytest.raises(VisrecError, match="unknown device 'cuda:x'"):
        _resolve_ray_device(_Resources({"CPU": 8.0, "GPU": 2.0}), "cuda:x")


def test_bad_device_fails_before_ray_starts():
    from visrec.embed.backbones import get_backbone

    with pytest.raises(VisrecError, match="unknown device 'tpu'; expected auto, cpu, cuda"):
        RayPipeline(get_backbone(), "tpu")


def test_actor_builds_its_engine_with_make_engine(monkeypatch):
    from visrec.embed import engines
    from visrec.embed.backbones import get_backbone
    from visrec.embed.ray_engine import _InferActor

    calls = []

    class Fake:
        name = "fake"
        batch_size = 2

        def __call__(self, batch):
            return np.ones((len(batch), 1280), np.float32)

    def fake_make_engine(backbone, engine, device, **kwargs):
        calls.append((engine, device, kwargs))
        return Fake()

    monkeypatch.setattr(engines, "make_engine", fake_make_engine)
    actor = _InferActor(get_backbone(), "auto", "cpu", None, 3)
    assert calls == [("auto", "cpu", {"batch_size": None, "threads": 3})]
    out = actor(
        {
            "chunk": np.zeros(3, int),
            "row": np.arange(3),
            "pixels": np.zeros((3, 3, 224, 224), np.float32),
            "ok": np.array([True, False, True]),
            "reason": np.array(["", "empty file", ""], dtype=object),
        }
    )
    assert out["vector"][:, 0].tolist() == [1.0, 0.0, 1.0]


def test_a_local_instance_is_started_even_beside_a_running_cluster():
    # ray.init() without an address joins a cluster running on the machine (or one a
    # kill left in /tmp/ray) and then refuses num_cpus: "local" always starts a new one
    import logging

    from visrec.embed.backbones import get_backbone
    from visrec.embed.ray_engine import _AUTH_LOGGER

    class FakeRay:
        def __init__(self):
            self.kwargs: list[dict] = []

        def is_initialized(self):
            return False

        def init(self, **kwargs):
            self.kwargs.append(kwargs)
            log = logging.getLogger(_AUTH_LOGGER)
            log.warning("Token authentication is enabled for this Ray cluster. Set ...")
            log.warning("Token authentication is disabled for this Ray cluster. Anyone ...")

    fake = FakeRay()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    keep = Keep()
    logging.getLogger(_AUTH_LOGGER).addHandler(keep)
    try:
        assert RayPipeline(get_backbone(), num_cpus=3)._start(fake) is True
        assert fake.kwargs[0]["address"] == "local" and fake.kwargs[0]["num_cpus"] == 3
        # the notice that the run's own instance enables authentication is dropped; the
        # warning that it is disabled is not, nor anything said when joining a cluster
        assert len(records) == 1 and "is disabled" in records[0]
        assert RayPipeline(get_backbone(), ray_address="auto")._start(fake) is True
        assert fake.kwargs[1] == {**fake.kwargs[1], "address": "auto"}
        assert "num_cpus" not in fake.kwargs[1]
        assert len(records) == 3
    finally:
        logging.getLogger(_AUTH_LOGGER).removeHandler(keep)
    assert not logging.getLogger(_AUTH_LOGGER).filters  # taken off again


class _HandlerTakingRay:
    """A Ray whose ``init`` does to the process what ray.init does: installs a SIGTERM
    handler that exits at once (status 15, no "interrupted" line, no resume note) and
    sets variables (PYTHONBREAKPOINT to Ray's debugger...) that ray.shutdown leaves
    behind; with ``interrupted``, a Ctrl-C comes in the middle of it."""

    def __init__(self, interrupted: bool = False) -> None:
        self.interrupted = interrupted

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: object) -> None:
        signal.signal(signal.SIGTERM, lambda *a: None)
        os.environ["PYTHONBREAKPOINT"] = "ray.util.rpdb._driver_set_trace"
        os.environ["RAY_AUTH_MODE"] = "token"
        if self.interrupted:
            raise KeyboardInterrupt

    def shutdown(self) -> None:
        pass


@pytest.fixture
def callers_handler(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """The caller's SIGTERM handler and environment, put back after the test."""

    def mine(*args: object) -> None:
        pass

    before = signal.signal(signal.SIGTERM, mine)
    request.addfinalizer(lambda: signal.signal(signal.SIGTERM, before))
    monkeypatch.delenv("PYTHONBREAKPOINT", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "mine")
    return mine


def test_a_run_leaves_the_callers_signal_handlers_and_environment(
    monkeypatch: pytest.MonkeyPatch, callers_handler: object
) -> None:
    monkeypatch.setattr(ray_engine, "_import_ray", _HandlerTakingRay)
    monkeypatch.setattr(ray_engine, "_quiet_ray_data", lambda ray: contextlib.nullcontext())
    from visrec.embed.backbones import get_backbone

    pipe = RayPipeline(get_backbone())
    during: dict[str, object] = {}

    def run(*args: object, **kwargs: object) -> None:
        during.update(handler=signal.getsignal(signal.SIGTERM), auth=os.environ["RAY_AUTH_MODE"])

    monkeypatch.setattr(pipe, "_run", run)
    pipe.compute_chunks([object()], lambda *a: None, lambda n: None)  # type: ignore[list-item]
    # the caller's handler while Ray runs (its variables too: Ray may read them)
    assert during == {"handler": callers_handler, "auth": "token"}
    assert signal.getsignal(signal.SIGTERM) is callers_handler
    assert "PYTHONBREAKPOINT" not in os.environ and os.environ["RAY_AUTH_MODE"] == "mine"


def test_a_failed_run_stops_the_block_prefetcher_ray_data_left_waiting() -> None:
    # Ray Data stops its prefetcher thread only when the iteration ends normally: after a
    # Ctrl-C or a full disk it waited for ever, one more thread per failed run
    import threading

    from visrec.embed.ray_engine import _stop_prefetchers

    class Prefetcher:  # the shape of ray.data's WaitBlockPrefetcher
        def __init__(self) -> None:
            self._blocks: list[object] = []
            self._stopped = False
            self._condition = threading.Condition()
            self.fetched_after_stop: list[object] = []
            self._thread = threading.Thread(target=self._run, name="Prefetcher", daemon=True)

        def _run(self) -> None:
            while not self._stopped:
                with self._condition:
                    if not self._blocks:
                        self._condition.wait()
                    todo, self._blocks = self._blocks[:], []
                if todo and self._stopped:
                    self.fetched_after_stop += todo  # ray.wait after ray.shutdown

        def stop(self) -> None:
            with self._condition:
                self._stopped = True
                self._condition.notify()

    before = set(threading.enumerate())
    waiting = Prefetcher()
    waiting._thread.start()
    other = threading.Thread(target=threading.Event().wait, args=(0.5,), name="other")
    other.start()
    _stop_prefetchers(before)
    waiting._thread.join(timeout=5)
    assert not waiting._thread.is_alive() and waiting.fetched_after_stop == []
    assert other.is_alive()  # a thread that is not Ray's prefetcher is left alone
    other.join()


@pytest.mark.slow
def test_a_failed_ray_run_leaves_no_prefetch_thread(
    local_ray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import threading

    import visrec.embed.extract as extract

    def full_disk(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(extract, "write_chunk", full_disk)
    items = [(f"{k}-{i}", path) for k in range(10) for i, path in _make_items(tmp_path)]
    with pytest.raises(OSError, match="No space left"):  # the driver's own failure, not Ray's
        embed_images(items, tmp_path / "ray.parquet", engine="ray", progress=False, chunk_size=50)
    assert [t for t in threading.enumerate() if t.name == "Prefetcher" and t.is_alive()] == []


def test_a_ctrl_c_during_ray_init_leaves_the_callers_handler(callers_handler: object) -> None:
    from visrec.embed.backbones import get_backbone

    with pytest.raises(KeyboardInterrupt):  # not turned into a "cannot start Ray" error
        RayPipeline(get_backbone())._start(_HandlerTakingRay(interrupted=True))
    assert signal.getsignal(signal.SIGTERM) is callers_handler
    assert "PYTHONBREAKPOINT" not in os.environ and os.environ["RAY_AUTH_MODE"] == "mine"
