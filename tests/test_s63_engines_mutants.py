"""Mutation audit of ``visrec.embed.engines`` and ``visrec.embed.compute``.

Audited: TorchEngine (threads, default batch, batch shape check, empty batch, eval
mode, inference mode, the cuDNN guard), ``_deterministic_cudnn``, ``auto_engine_name``,
``make_engine`` (ready objects, name parsing, batch check, ray/onnx refusals, the auto
fallback and what it re-raises, the arguments each engine gets), the Decoder (URLs,
failure reasons, Ctrl-C, bounded prefetch, close), ``default_workers`` and
``compute_chunks`` (batch sizes, chunk boundaries, parallel batches, bounded pending
batches, progress, shape check, the all-zero-vector failure, pipeline engines).

Mutants: 68 in total; 23 killed by the existing tests (a lower bound: the slow embed
files were run only for mutants nothing else killed), 61 killed with this file, 7
equivalent:
- empty-batch early return removed: torch's conv/pool/flatten give (0, dim) anyway;
- channels_last dropped for the input: a speed choice, same values;
- ``max(1, max_inflight)`` -> ``max_inflight``: a window of <= 0 yields at once, as 1;
- prefetch ``>=`` -> ``>``: one more image in flight, same results in the same order;
- ``reason or "unreadable"`` -> ``reason``: ``Decoder._one`` never returns None twice;
- ``decoded.close()`` dropped: ``decoder.close()`` cancels and joins the pool anyway;
- one decode thread instead of ``workers``: slower, same results.
"""

from __future__ import annotations

import errno
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

from test_embed import TinyBackbone
from visrec import _interrupt
from visrec.embed import engines, onnx_engine
from visrec.embed.compute import ZERO_VECTOR, Decoder, compute_chunks, default_workers
from visrec.embed.engines import TorchEngine, auto_engine_name, make_engine
from visrec.errors import VisrecError
from visrec.images.decode import RETRY_PREFIX

# ---------------------------------------------------------------------- helpers


def _pngs(folder: Path, n: int, seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)
        p = folder / f"{i:03d}.png"
        Image.fromarray(arr).save(p)
        paths.append(str(p))
    return paths


def _todo(chunks: list[list[str]]) -> list[tuple[int, list[tuple[str, str]]]]:
    return [(i, [(f"item{i}_{j}", p) for j, p in enumerate(c)]) for i, c in enumerate(chunks)]


class Ones:
    """An engine answering ones, recording each batch's size."""

    name = "ones"

    def __init__(self, dim: int, batch_size: int, parallel: int = 1) -> None:
        self.dim, self.batch_size, self.parallel = dim, batch_size, parallel
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            self.sizes.append(len(batch))
        return np.ones((len(batch), self.dim), np.float32)


Chunk = tuple[int, np.ndarray, np.ndarray, list[Any]]


def _collect() -> tuple[list[Chunk], Any]:
    got: list[Chunk] = []

    def on_chunk(i: int, v: np.ndarray, h: np.ndarray, e: list[Any]) -> None:
        got.append((i, np.array(v), np.array(h), list(e)))

    return got, on_chunk


@pytest.fixture
def restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------- engines


def test_torch_engine_sets_threads_and_cpu_default_batch(restore_threads: None) -> None:
    target = 1 if torch.get_num_threads() != 1 else 2
    eng = make_engine(TinyBackbone(), "torch", "cpu", threads=target)
    assert torch.get_num_threads() == target
    assert eng.batch_size == 16  # the documented CPU default


def test_auto_falling_to_torch_keeps_threads_and_batch(
    monkeypatch: pytest.MonkeyPatch, restore_threads: None
) -> None:
    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "torch")
    target = 1 if torch.get_num_threads() != 1 else 2
    eng = make_engine(TinyBackbone(), "auto", "cpu", batch_size=5, threads=target)
    assert isinstance(eng, TorchEngine) and eng.batch_size == 5
    assert torch.get_num_threads() == target


def test_torch_engine_rejects_a_batch_without_three_channels() -> None:
    eng = TorchEngine(TinyBackbone(), "cpu")
    with pytest.raises(VisrecError, match=r"expected a \(B, 3, H, W\) batch, got \(2, 1, 32, 32\)"):
        eng(np.zeros((2, 1, 32, 32), np.float32))


def test_torch_engine_empty_batch_has_the_backbone_width() -> None:
    out = TorchEngine(TinyBackbone(), "cpu")(np.zeros((0, 3, 32, 32), np.float32))
    assert out.shape == (0, 8) and out.dtype == np.float32


class DropoutBackbone(TinyBackbone):
    """A backbone whose model comes back in training mode, with dropout."""

    name = "tiny-dropout"

    def build_model(self) -> torch.nn.Module:
        model = super().build_model()
        return torch.nn.Sequential(torch.nn.Dropout(0.5), model).train()


def test_torch_engine_runs_the_model_in_eval_mode() -> None:
    bb = DropoutBackbone()
    eng = TorchEngine(bb, "cpu")
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    ref = bb.build_model().eval()
    with torch.inference_mode():
        want = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(eng(x), want, rtol=1e-5, atol=1e-6)


def test_torch_engine_wraps_each_pass_in_the_cudnn_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = engines._deterministic_cudnn

    def recording(torch_mod: Any, device: str) -> Any:
        seen.append(device)
        return real(torch_mod, device)

    monkeypatch.setattr(engines, "_deterministic_cudnn", recording)
    eng = TorchEngine(TinyBackbone(), "cpu")
    eng(np.zeros((1, 3, 32, 32), np.float32))
    assert seen == ["cpu"]


def test_cudnn_guard_sets_benchmark_off_and_deterministic_on() -> None:
    cudnn = torch.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, False
        with engines._deterministic_cudnn(torch, "cuda:0"):
            assert cudnn.benchmark is False and cudnn.deterministic is True
        assert (cudnn.benchmark, cudnn.deterministic) == (True, False)
    finally:
        cudnn.benchmark, cudnn.deterministic = before


@pytest.mark.parametrize(
    ("available", "cuda_missing", "device", "want"),
    [
        (True, "no CUDA provider", "cpu", "onnx"),
        (True, "no CUDA provider", "cuda:0", "torch"),
        (True, None, "cuda:0", "onnx"),
        (True, None, "cpu", "onnx"),
        (False, None, "cpu", "torch"),
        (False, None, "cuda:0", "torch"),
    ],
)
def test_auto_engine_name(
    monkeypatch: pytest.MonkeyPatch,
    available: bool,
    cuda_missing: str | None,
    device: str,
    want: str,
) -> None:
    monkeypatch.setattr(onnx_engine, "onnx_available", lambda: available)
    monkeypatch.setattr(onnx_engine, "ort_cuda_missing", lambda: cuda_missing)
    assert auto_engine_name(device) == want


def test_a_ready_engine_object_is_returned_as_is() -> None:
    ready = Ones(8, 3)
    assert make_engine(TinyBackbone(), ready) is ready


def test_engine_name_is_case_and_space_blind() -> None:
    assert isinstance(make_engine(TinyBackbone(), "  Torch ", "cpu"), TorchEngine)


class FakeOnnx:
    calls: ClassVar[list[tuple[Any, ...]]] = []

    def __init__(self, backbone: Any, device: str, batch_size: Any = None, threads: Any = None):
        FakeOnnx.calls.append((device, batch_size, threads))
        self.name, self.batch_size = "onnx", batch_size or 1

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        raise AssertionError("not run")


@pytest.mark.parametrize("engine", ["auto", "onnx"])
def test_onnx_gets_the_resolved_device_batch_and_threads(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    FakeOnnx.calls = []
    monkeypatch.setattr(onnx_engine, "OnnxEngine", FakeOnnx)
    monkeypatch.setattr(onnx_engine, "onnx_available", lambda: True)
    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "onnx")
    monkeypatch.setattr(engines, "torch_device", lambda device: "cpu")
    eng = make_engine(TinyBackbone(), engine, "auto", batch_size=5, threads=3)
    assert isinstance(eng, FakeOnnx)
    want_device = "cpu" if engine == "auto" else "auto"  # "onnx" resolves it itself
    assert FakeOnnx.calls == [(want_device, 5, 3)]


@pytest.mark.parametrize("exc", [VisrecError("no such device"), MemoryError()])
def test_auto_does_not_fall_back_on_errors_torch_would_share(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "onnx")
    monkeypatch.setattr(engines, "_make_onnx", failing)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(type(exc)):
            make_engine(TinyBackbone(), "auto", "cpu")


@pytest.mark.parametrize(
    ("exc", "why"),
    [
        (onnx_engine.CacheUnwritable("cache folder '/ro' is read-only"), "is read-only"),
        (RuntimeError("export failed"), "RuntimeError: export failed"),
    ],
)
def test_auto_falls_back_to_torch_with_a_runtime_warning(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException, why: str
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "onnx")
    monkeypatch.setattr(engines, "_make_onnx", failing)
    with pytest.warns(RuntimeWarning, match=f"ONNX Runtime engine unavailable .*{why}"):
        eng = make_engine(TinyBackbone(), "auto", "cpu", batch_size=2)
    assert isinstance(eng, TorchEngine) and eng.batch_size == 2


# ---------------------------------------------------------------------- decoder


class Raising(TinyBackbone):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def preprocess(self, img: Image.Image) -> np.ndarray:
        raise self.exc


def _reason(tmp_path: Path, exc: BaseException) -> str | None:
    path = _pngs(tmp_path, 1)[0]
    dec = Decoder(Raising(exc), 1, 2)
    try:
        arr, reason = dec._one(path)
    finally:
        dec.close()
    assert arr is None
    return reason


def test_decoder_out_of_memory_is_transient(tmp_path: Path) -> None:
    assert _reason(tmp_path, MemoryError()) == RETRY_PREFIX + "out of memory while resizing"


def test_decoder_os_errors_with_and_without_errno(tmp_path: Path) -> None:
    with_errno = OSError(errno.EIO, "Input/output error")
    assert _reason(tmp_path / "a", with_errno) == RETRY_PREFIX + "Input/output error"
    assert _reason(tmp_path / "b", OSError("broken data stream")) == (
        "unreadable: OSError: broken data stream"
    )


def test_decoder_reraises_an_odd_error_after_ctrl_c(tmp_path: Path) -> None:
    _interrupt.mark()
    try:
        with pytest.raises(KeyboardInterrupt):
            _reason(tmp_path, ImportError("interrupted import"))
    finally:
        _interrupt.clear()
    assert _reason(tmp_path / "b", ImportError("x")) == "unreadable: ImportError: x"


class Counting(TinyBackbone):
    """Counts preprocess calls; each takes a little while."""

    def __init__(self, delay: float = 0.0) -> None:
        self.count = 0
        self.delay = delay
        self.lock = threading.Lock()

    def preprocess(self, img: Image.Image) -> np.ndarray:
        time.sleep(self.delay)
        with self.lock:
            self.count += 1
        return super().preprocess(img)


def test_decoder_close_cancels_what_was_not_started(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 3) * 20
    bb = Counting(delay=0.02)
    dec = Decoder(bb, 1, max_inflight=len(paths))
    gen = dec.map(iter(paths))
    next(gen)
    gen.close()
    dec.close()
    assert bb.count < len(paths) // 2


def test_default_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    for cpus, want in [(None, 1), (1, 1), (3, 3), (16, 4)]:
        monkeypatch.setattr("visrec.embed.compute.os.cpu_count", lambda c=cpus: c)
        assert default_workers() == want


# ---------------------------------------------------------------------- compute


def test_batches_never_exceed_batch_size(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 13)
    eng = Ones(8, 4)
    got, on_chunk = _collect()
    compute_chunks(
        _todo([paths[:10], paths[10:]]), TinyBackbone(), eng, 2, on_chunk, lambda n: None
    )
    assert eng.sizes == [4, 4, 2, 3]
    assert [c[0] for c in got] == [0, 1] and all(c[2].all() for c in got)


class Blocking:
    """The first call waits until released (or times out); counts what was decoded."""

    name = "blocking"
    batch_size = 1
    parallel = 1

    def __init__(self, bb: Counting) -> None:
        self.bb = bb
        self.release = threading.Event()
        self.decoded_while_blocked = -1
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == 1:
            time.sleep(0.6)
            self.decoded_while_blocked = self.bb.count
        return np.ones((len(batch), 8), np.float32)


def test_prefetch_is_bounded_while_the_engine_is_busy(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 4) * 15  # 60 images, one chunk
    bb = Counting()
    eng = Blocking(bb)
    got, on_chunk = _collect()
    compute_chunks(_todo([paths]), bb, eng, 1, on_chunk, lambda n: None)
    assert got[0][2].all()
    # decoder window max(2*1*1, 4*1) = 4, two waiting batches, one running, one being
    # gathered: nowhere near all 60 images held in memory at once
    assert 0 < eng.decoded_while_blocked <= 12


class Overlap:
    """Records how many calls run at the same time."""

    name = "overlap"
    batch_size = 1

    def __init__(self, parallel: int) -> None:
        self.parallel = parallel
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()
        self.both = threading.Event()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now >= 2:
                self.both.set()
        self.both.wait(timeout=10.0)  # give a second batch the chance to start alongside
        with self.lock:
            self.now -= 1
        return np.ones((len(batch), 8), np.float32)


def test_a_parallel_engine_runs_batches_at_once(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 12)
    eng = Overlap(parallel=2)
    got, on_chunk = _collect()
    compute_chunks(_todo([paths]), TinyBackbone(), eng, 2, on_chunk, lambda n: None)
    assert eng.most == 2 and got[0][2].all()


class FailFirst:
    """Batch one fails once batch two (in another thread) has started; two takes longer."""

    name = "failfirst"
    batch_size = 1
    parallel = 2

    def __init__(self) -> None:
        self.calls = 0
        self.second_done = threading.Event()
        self.second_started = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            self.calls += 1
            me = self.calls
        if me == 1:
            self.second_started.wait(timeout=5.0)
            raise RuntimeError("engine failed")
        self.second_started.set()
        time.sleep(0.5)
        self.second_done.set()
        return np.ones((len(batch), 8), np.float32)


def test_an_engine_error_surfaces_after_running_batches_end(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 2)
    eng = FailFirst()
    got, on_chunk = _collect()
    with pytest.raises(RuntimeError, match="engine failed"):
        compute_chunks(_todo([paths]), TinyBackbone(), eng, 1, on_chunk, lambda n: None)
    assert got == []
    # no engine call is left running in the background when compute_chunks returns
    assert eng.second_done.is_set()


class ZeroSecond(Ones):
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = super().__call__(batch)
        out[1] = 0.0
        return out


def test_a_zero_vector_is_a_failure_and_a_bad_file_keeps_its_reason(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 3)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    got, on_chunk = _collect()
    progress: list[int] = []
    compute_chunks(
        _todo([[paths[0], paths[1], str(bad), paths[2]]]),
        TinyBackbone(),
        ZeroSecond(8, 4),
        1,
        on_chunk,
        progress.append,
    )
    [(_, _, has, errors)] = got
    assert has.tolist() == [True, False, False, True]
    assert errors[0] is None and errors[3] is None
    assert errors[1] == ZERO_VECTOR
    assert errors[2] not in (None, ZERO_VECTOR)
    assert sum(progress) == 4


def test_a_pipeline_engine_gets_the_zero_vector_check(tmp_path: Path) -> None:
    class Pipeline:
        name = "pipe"
        batch_size = 2

        def compute_chunks(self, todo: Any, on_chunk: Any, on_progress: Any) -> None:
            vectors = np.array([[1.0] * 8, [0.0] * 8], np.float32)
            on_chunk(0, vectors, np.array([True, True]), [None, None])
            on_progress(2)

    got, on_chunk = _collect()
    progress: list[int] = []
    compute_chunks(_todo([["a", "b"]]), TinyBackbone(), Pipeline(), 1, on_chunk, progress.append)
    [(_, _, has, errors)] = got
    assert has.tolist() == [True, False] and errors == [None, ZERO_VECTOR]
    assert progress == [2]


class SlowLast(Ones):
    """Later batches take a while, so a chunk reported early would miss them."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.sizes:
            time.sleep(0.1)
        return super().__call__(batch)


def test_a_chunk_is_reported_only_when_all_its_batches_are_in(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 6)
    eng = SlowLast(8, 1, parallel=2)
    got, on_chunk = _collect()
    progress: list[int] = []
    compute_chunks(_todo([paths]), TinyBackbone(), eng, 1, on_chunk, progress.append)
    [(_, vectors, has, errors)] = got
    assert has.all() and (vectors == 1).all() and errors == [None] * 6
    assert progress == [1] * 6


class OneRow(Ones):
    """Answers a single row whatever the batch: numpy would broadcast it to every row."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        super().__call__(batch)
        return np.ones((1, self.dim), np.float32)


def test_an_engine_answering_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 3)
    got, on_chunk = _collect()
    with pytest.raises(
        VisrecError, match=r"engine 'ones' returned shape \(1, 8\), expected \(3, 8\)"
    ):
        compute_chunks(_todo([paths]), TinyBackbone(), OneRow(8, 4), 1, on_chunk, lambda n: None)
    assert got == []
