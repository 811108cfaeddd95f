"""One parser for ``--device`` strings, shared by every engine.

Accepted forms: ``"auto"`` (or ``None``), ``"cpu"``, ``"cuda"`` and ``"cuda:N"``, case
and surrounding spaces ignored. Whether CUDA is usable depends on the backend (torch,
ONNX Runtime, a Ray cluster), so ``resolve_device`` takes that answer as a probe and
only calls it when the answer matters: ``"cpu"`` never asks, which keeps e.g. torch out
of the ONNX-on-CPU path.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from visrec.errors import VisrecError

__all__ = [
    "DEVICE_FORMS",
    "cuda_driver_present",
    "parse_device",
    "resolve_device",
    "torch_cuda_missing",
    "torch_device",
]

DEVICE_FORMS = "auto, cpu, cuda or cuda:N"


def parse_device(device: str | None) -> tuple[str, int | None]:
    """Validate a device string.

    Parameters
    ----------
    device : str or None
        ``None`` means ``"auto"``.

    Returns
    -------
    kind : {"auto", "cpu", "cuda"}
    index : int or None
        ``N`` of ``"cuda:N"``; ``None`` for every other form.

    Raises
    ------
    VisrecError
        For anything else, naming the value and the accepted forms.
    """
    dev = "auto" if device is None else str(device).strip().lower()
    if dev in ("auto", "cpu", "cuda"):
        return dev, None
    kind, sep, idx = dev.partition(":")
    if kind == "cuda" and sep and idx.isascii() and idx.isdigit():
        return "cuda", int(idx)
    raise VisrecError(f"unknown device {device!r}; expected {DEVICE_FORMS}")


def resolve_device(device: str | None, cuda_missing: Callable[[], str | None]) -> str:
    """The device to run on: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Parameters
    ----------
    device : str or None
        As for ``parse_device``.
    cuda_missing : callable
        Returns ``None`` when the backend can use CUDA, else why not (ending with what
        to do about it), e.g. ``"torch sees no CUDA GPU; use --device cpu"``. Called
        only for ``"auto"`` and the CUDA forms.

    Returns
    -------
    str
        ``"auto"`` becomes ``"cuda"`` when ``cuda_missing()`` is ``None``, else
        ``"cpu"``; an explicit CUDA device is returned normalised (``"cuda"`` or
        ``"cuda:N"``).

    Raises
    ------
    VisrecError
        For an unknown device string, or a CUDA device the backend cannot use.
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        return "cpu"
    why = cuda_missing()
    if kind == "auto":
        return "cuda" if why is None else "cpu"
    if why is not None:
        raise VisrecError(f"device {device!r} requested but {why}")
    return "cuda" if index is None else f"cuda:{index}"


def cuda_driver_present() -> bool:
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


# embed takes --device; models take a device parameter (train/evaluate --param device=...)
_USE_CPU = (
    "use device cpu (device='cpu' in Python; visrec embed --device cpu; a model's "
    "--param device=cpu)"
)


def torch_cuda_missing() -> str | None:
    """``None`` when torch can use CUDA, else why not (the probe for ``resolve_device``)."""
    if not cuda_driver_present():
        return f"torch sees no CUDA GPU (no NVIDIA driver found); {_USE_CPU}"
    import torch

    if torch.cuda.is_available():
        return None
    return (
        f"torch sees no CUDA GPU (torch {torch.__version__}); {_USE_CPU}, or install "
        "a CUDA build of torch"
    )


def torch_device(device: str | None = "auto") -> str:
    """The torch device for ``device``: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    ``"auto"`` (or ``None``) -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; an
    unknown string or an unusable CUDA device raises ``VisrecError``. Used by the
    embedding engines and the recommenders' training alike.
    """
    return resolve_device(device, torch_cuda_missing)
