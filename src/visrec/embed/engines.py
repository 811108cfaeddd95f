"""Inference engines: a callable mapping a preprocessed batch to feature vectors.

``make_engine(backbone, "torch" | "onnx" | "auto", device)`` returns an object with
``name``, ``batch_size`` (its preferred batch) and ``__call__(batch) -> features``.
``"torch"`` is the reference path (PyTorch eager, eval mode, ``inference_mode``,
``channels_last``); ``"onnx"`` is ONNX Runtime (``visrec.embed.onnx_engine``);
``"auto"`` picks ONNX Runtime when it is installed, else torch. The Ray engine runs a
whole pipeline rather than one batch, so ``visrec.embed.extract`` handles it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from visrec.errors import VisrecError

if TYPE_CHECKING:
    from visrec.embed.backbones import Backbone

__all__ = ["ENGINES", "Engine", "TorchEngine", "make_engine", "resolve_device"]

ENGINES = ("auto", "torch", "onnx", "ray")
DEVICES = ("auto", "cpu", "cuda")


@runtime_checkable
class Engine(Protocol):
    """What ``visrec embed`` needs from an inference engine."""

    name: str
    batch_size: int

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """float32 (B, 3, H, W) -> float32 (B, dim)."""
        ...


def _cuda_driver_present() -> bool:
    """False when the NVIDIA driver library cannot be loaded, so torch cannot see a GPU.

    Answering "cpu" from this avoids importing torch (~190 MB, seconds) on the ONNX path
    of a machine without a GPU; with a driver present, torch still decides.
    """
    import ctypes

    try:
        ctypes.CDLL("nvcuda.dll" if os.name == "nt" else "libcuda.so.1")
    except OSError:
        return False
    return True


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; validates names."""
    dev = device.strip().lower()
    if dev not in DEVICES and not dev.startswith("cuda:"):
        raise VisrecError(f"unknown device {device!r}; expected one of {', '.join(DEVICES)}")
    if dev == "cpu" or (dev == "auto" and not _cuda_driver_present()):
        return "cpu"
    import torch

    if dev == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise VisrecError(
            f"device {device!r} requested but torch sees no CUDA GPU "
            f"(torch {torch.__version__}); use --device cpu or install a CUDA build of torch"
        )
    return dev


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
    """

    name = "torch"

    def __init__(self, backbone: Backbone, device: str = "auto", batch_size: int | None = None):
        import torch

        self.backbone = backbone
        self.device = resolve_device(device)
        self.batch_size = int(batch_size or (64 if self.device.startswith("cuda") else 16))
        model = backbone.build_model().eval()
        if self.device.startswith("cuda"):
            # cuDNN autotuning may pick different kernels run to run; the reference path
            # promises identical vectors for identical inputs.
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
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
        with torch.inference_mode():
            out = self.model(x)
        return out.float().cpu().numpy().astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"<TorchEngine {self.backbone.name} device={self.device} batch={self.batch_size}>"


def _onnx_available() -> bool:
    # What ``OnnxEngine`` requires (``onnx_engine.onnx_available``), checked without
    # importing either package; missing ``onnx`` must mean "fall back", not an error.
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _make_onnx(backbone: Backbone, device: str, batch_size: int | None) -> Engine:
    module = importlib.import_module("visrec.embed.onnx_engine")
    engine: Engine = module.OnnxEngine(backbone, device)
    if batch_size:
        engine.batch_size = int(batch_size)
    return engine


def make_engine(
    backbone: Backbone,
    engine: str | Engine = "auto",
    device: str = "auto",
    *,
    batch_size: int | None = None,
) -> Engine:
    """Build an inference engine for ``backbone``.

    Parameters
    ----------
    backbone : Backbone
    engine : {"auto", "torch", "onnx"}, default "auto"
        ``"auto"``: ONNX Runtime if ``onnxruntime`` and ``onnx`` are importable (and
        it can use the requested device), else torch.
    device : {"auto", "cpu", "cuda"}, default "auto"
    batch_size : int, optional
        Overrides the engine's preferred batch size.

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
        return TorchEngine(backbone, device, batch_size)
    if name == "onnx":
        if not _onnx_available():
            raise VisrecError(
                "engine 'onnx' needs onnxruntime and onnx (pip install onnxruntime "
                "onnx); use --engine torch"
            )
        return _make_onnx(backbone, device, batch_size)
    # auto
    dev = resolve_device(device)
    if _onnx_available():
        usable = True
        if dev.startswith("cuda"):
            import onnxruntime

            usable = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        if usable:
            try:
                return _make_onnx(backbone, dev, batch_size)
            except VisrecError:
                raise
            except Exception as exc:
                warnings.warn(
                    f"ONNX Runtime engine unavailable ({type(exc).__name__}: {exc}); "
                    "falling back to torch",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return TorchEngine(backbone, dev, batch_size)
