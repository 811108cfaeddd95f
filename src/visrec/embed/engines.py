"""Inference engines: a callable mapping a preprocessed batch to feature vectors.

``make_engine(backbone, "torch" | "onnx" | "auto", device)`` returns an object with
``name``, ``batch_size`` (its preferred batch) and ``__call__(batch) -> features``.
``"torch"`` is the reference path (PyTorch eager, eval mode, ``inference_mode``,
``channels_last``); ``"onnx"`` is ONNX Runtime (``visrec.embed.onnx_engine``);
``"auto"`` picks ONNX Runtime when it is installed (torch, with a warning, when its
export fails or its cache cannot be written), else torch. The Ray engine runs a
whole pipeline rather than one batch, so ``visrec.embed.extract`` handles it.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from visrec._device import torch_device
from visrec._interrupt import reraise_if_pressed
from visrec.embed import onnx_engine
from visrec.errors import VisrecError

if TYPE_CHECKING:
    from visrec.embed.backbones import Backbone

__all__ = ["ENGINES", "Engine", "TorchEngine", "make_engine"]

ENGINES = ("auto", "torch", "onnx", "ray")


@runtime_checkable
class Engine(Protocol):
    """What ``visrec embed`` needs from an inference engine."""

    name: str
    batch_size: int

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """float32 (B, 3, H, W) -> float32 (B, dim)."""
        ...


class TorchEngine:
    """PyTorch eager inference: the reference path; deterministic on CPU.

    Parameters
    ----------
    backbone : Backbone
    device : {"auto", "cpu", "cuda"}, default "auto"
        ``"auto"`` uses CUDA when available.
    batch_size : int, optional
        Preferred batch; default 16 on CPU (batching barely helps a small CPU; 4-16 is
        the measured sweet spot) and 64 on CUDA.
    threads : int, optional
        If given, ``torch.set_num_threads(threads)``: torch's intra-op pool is
        process-wide, so this affects every torch model in the process.
    """

    name = "torch"

    def __init__(
        self,
        backbone: Backbone,
        device: str = "auto",
        batch_size: int | None = None,
        threads: int | None = None,
    ):
        from visrec import _interrupt

        with _interrupt.held():  # a Ctrl-C raised inside torch's import aborted the process
            import torch

        if threads:
            torch.set_num_threads(int(threads))

        self.backbone = backbone
        self.device = torch_device(device)
        self.batch_size = int(batch_size or (64 if self.device.startswith("cuda") else 16))
        from visrec.embed.backbones import build_quietly

        model = build_quietly(backbone).eval()
        # channels_last roughly doubles eager CPU throughput for these convnets.
        model = model.to(self.device)
        self.model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._torch = torch

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise VisrecError(f"torch engine: expected a (B, 3, H, W) batch, got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.backbone.dim), dtype=np.float32)
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), _deterministic_cudnn(torch, self.device):
            out = self.model(x)
        feats: np.ndarray = out.float().cpu().numpy().astype(np.float32, copy=False)
        return feats

    def __repr__(self) -> str:
        return f"<TorchEngine {self.backbone.name} device={self.device} batch={self.batch_size}>"


@contextlib.contextmanager
def _deterministic_cudnn(torch: Any, device: str) -> Iterator[None]:
    """cuDNN without autotuning, in deterministic mode, for one forward pass on a GPU.

    Autotuning may pick different kernels run to run; the reference path promises
    identical vectors for identical inputs. The flags are the process's: they are put
    back after the pass, not left for the host's own training to run under. With passes
    in several threads, the first to start saves the host's flags and the last to end
    restores them (each restoring what it saw would leave the host in this mode).
    """
    global _cudnn_passes, _cudnn_before
    if not device.startswith("cuda"):
        yield
        return
    cudnn = torch.backends.cudnn
    with _CUDNN_LOCK:
        if _cudnn_passes == 0:
            _cudnn_before = (cudnn.benchmark, cudnn.deterministic)
            cudnn.benchmark, cudnn.deterministic = False, True
        _cudnn_passes += 1
    try:
        yield
    finally:
        with _CUDNN_LOCK:
            _cudnn_passes -= 1
            if _cudnn_passes == 0:
                cudnn.benchmark, cudnn.deterministic = _cudnn_before


_CUDNN_LOCK = threading.Lock()
_cudnn_passes = 0  # GPU forward passes inside _deterministic_cudnn now
_cudnn_before = (False, False)  # the host's flags the first of them found


def _make_onnx(
    backbone: Backbone, device: str, batch_size: int | None, threads: int | None
) -> Engine:
    engine: Engine = onnx_engine.OnnxEngine(
        backbone, device, batch_size=batch_size, threads=threads
    )
    return engine


def auto_engine_name(device: str) -> str:
    """What ``engine="auto"`` runs on ``device`` (a resolved one: "cpu", "cuda:N"): the
    device torch would use; ONNX Runtime only if it can run there too."""
    if onnx_engine.onnx_available() and (device == "cpu" or onnx_engine.ort_cuda_missing() is None):
        return "onnx"
    return "torch"


def make_engine(
    backbone: Backbone,
    engine: str | Engine = "auto",
    device: str = "auto",
    *,
    batch_size: int | None = None,
    threads: int | None = None,
) -> Engine:
    """Build an inference engine for ``backbone``.

    Parameters
    ----------
    backbone : Backbone
    engine : {"auto", "torch", "onnx"}, default "auto"
        ``"auto"``: ONNX Runtime if ``onnxruntime`` and ``onnx`` are importable (and
        it can use the requested device and write its export cache), else torch, with a
        ``RuntimeWarning`` when ONNX Runtime was there but could not be used.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default "auto"
    batch_size : int, optional
        Overrides the engine's preferred batch size.
    threads : int, optional
        CPU threads for the engine (``OnnxEngine(threads=...)``, or torch's
        process-wide pool); default the engine's own choice.

    Returns
    -------
    Engine
    """
    if not isinstance(engine, str):  # a ready engine object, e.g. ray_engine.RayPipeline
        return engine
    name = engine.strip().lower()
    if name not in ENGINES:
        raise VisrecError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if batch_size is not None and batch_size < 1:
        raise VisrecError(f"batch size must be >= 1, got {batch_size}")
    if name == "ray":
        raise VisrecError(
            "the ray engine runs a whole pipeline: use visrec.embed.extract.embed_images("
            "..., engine='ray') or `visrec embed --engine ray`"
        )
    if name == "torch":
        return TorchEngine(backbone, device, batch_size, threads)
    if name == "onnx":
        if not onnx_engine.onnx_available():
            raise VisrecError(
                "engine 'onnx' needs onnxruntime and onnx (pip install onnxruntime "
                "onnx); use --engine torch"
            )
        return _make_onnx(backbone, device, batch_size, threads)
    dev = torch_device(device)
    if auto_engine_name(dev) == "onnx":
        try:
            return _make_onnx(backbone, dev, batch_size, threads)
        except onnx_engine.CacheUnwritable as exc:
            # a read-only home, a file named as VISREC_CACHE: torch needs no cache
            why = str(exc)
        except (VisrecError, MemoryError):  # torch would not have the memory either
            raise
        except Exception as exc:
            reraise_if_pressed(exc)  # a Ctrl-C during the import, not a missing engine
            why = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"ONNX Runtime engine unavailable ({why}); falling back to torch",
            RuntimeWarning,
            stacklevel=2,
        )
    return TorchEngine(backbone, dev, batch_size, threads)
