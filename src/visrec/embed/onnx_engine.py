"""ONNX Runtime inference engine: the fast path for ``visrec embed``.

The backbone's PyTorch feature model is exported to ONNX once and cached in the user
cache directory; later runs load the cached file in well under a second. On this
project's 2-core CPU machine ONNX Runtime runs EfficientNet-Lite0 4-6x faster than
PyTorch eager (about 250 vs 40-60 images/s), with the same vectors (max abs
difference ~1e-5, cosine > 0.99999).

Cache location: ``$VISREC_CACHE/onnx/`` if ``VISREC_CACHE`` is set, otherwise
``$XDG_CACHE_HOME/visrec/onnx/`` (default ``~/.cache/visrec/onnx/``). The file name
holds the backbone name, its weights id and a hash of everything that changes the
exported graph (preprocessing, opset, torch version, dim), so a changed backbone never
reuses a stale export. Each ``.onnx`` file has a ``.sha256`` sidecar; a file whose
digest does not match (truncated, corrupted) is exported again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from visrec._atomic import (
    atomic_path,
    blocking_parent,
    not_regular,
    shown_path,
    sweep_temp_files,
    utf8_path,
    write_text_atomic,
)
from visrec._device import parse_device, resolve_device
from visrec._interrupt import reraise_if_pressed
from visrec._revision import package_version
from visrec.errors import VisrecError, WriteError, write_error

log = logging.getLogger(__name__)

OPSET = 17
# Measured on the 2-core CPU machine (benchmarks/embed_throughput.py and CPU time per
# image, EfficientNet-Lite0): forward-only img/s is highest at batch 1-4 and falls
# slowly beyond (larger activations leave the cache); inside the embed pipeline batch 4
# cost the least CPU per image (7.6 ms vs 7.9 at 8 and 8.6 at 16; docs/scale.md).
DEFAULT_CPU_BATCH = 4
# On a GPU larger batches amortise the host->device copy and kernel launches.
DEFAULT_CUDA_BATCH = 128
INPUT_NAME = "input"
OUTPUT_NAME = "features"


def onnx_available() -> bool:
    """True when onnxruntime and onnx are installed (the engine can run).

    Checked with ``find_spec``, without importing either package: ``make_engine`` asks
    this on every ``engine="auto"`` call, also when it then runs torch.
    """
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _import_ort() -> Any:
    """``onnxruntime``, imported without its telemetry: recent versions write a device id
    and an event database under ``~/.cache/Microsoft`` on import (and print a coloured
    line when they cannot), neither of which a user of visrec asked for. A user's own
    ``ORT_DISABLE_TELEMETRY`` is kept."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def ort_cuda_missing() -> str | None:
    """``None`` when ONNX Runtime has a CUDA provider, else why not.

    The availability probe for ``visrec._device.resolve_device``.
    """
    ort = _import_ort()

    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" in providers:
        return None
    return (
        f"onnxruntime has no CUDAExecutionProvider here (available: {providers}); "
        "install onnxruntime-gpu, or use --device cpu"
    )


def cache_dir() -> Path:
    """Folder holding exported ONNX models (created on demand)."""
    from visrec._cache import cache_dir as shared

    return shared("onnx")


def physical_cores() -> int:
    """Cores this process may use, counting each physical core once.

    ONNX Runtime's intra-op pool gains nothing from SMT siblings and loses to them on a
    busy machine, so hyper-threads are not counted.
    """
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        import platform

        if sys.platform == "darwin" and platform.machine() == "arm64":
            return max(1, os.cpu_count() or 1)  # Apple Silicon: no hyper-threads
        return max(1, (os.cpu_count() or 2) // 2)
    cores: set[tuple[str, str]] = set()
    for cpu in allowed:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        try:
            pkg = Path(base, "physical_package_id").read_text().strip()
            core = Path(base, "core_id").read_text().strip()
        except OSError:
            return len(allowed)
        cores.add((pkg, core))
    return max(1, len(cores))


def export_key(backbone: Any) -> str:
    """Cache file stem for ``backbone``: ``<name>-<weights_id>-<hash>``."""
    payload = json.dumps(
        {
            "name": backbone.name,
            "weights_id": str(backbone.weights_id),
            "dim": int(backbone.dim),
            "preprocessing": backbone.preprocessing,
            "opset": OPSET,
            # from the metadata: a cache hit (e.g. in a Ray actor) imports no torch
            "torch": package_version("torch"),
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{backbone.name}")
    weights = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(backbone.weights_id))
    return f"{safe}-{weights}-{digest}"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _export_ready(model: Any) -> Any:
    """Swap autograd-Function activations (MemoryEfficientSwish) for plain ones.

    Whether the tracer exports a custom ``torch.autograd.Function`` depends on the torch
    release (2.13 traces through this one under ``no_grad``); the plain form computes the
    same and exports under every release ``torch>=2.6`` allows. Only those modules are
    replaced: ``EfficientNet.set_swish(False)`` would also turn Lite's ReLU6 into Swish
    and change the network.
    """
    import torch

    class _Swish(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.sigmoid(x)

    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if type(child).__name__ == "MemoryEfficientSwish":
                setattr(parent, child_name, _Swish())
    return model


def _out_of_memory(exc: Exception) -> bool:
    """onnxruntime's ways of saying an allocation failed (its own exception types)."""
    text = str(exc)
    return "bad_alloc" in text or "Failed to allocate memory" in text


def export_onnx(backbone: Any, path: str | os.PathLike[str]) -> Path:
    """Export ``backbone.build_model()`` to ONNX at ``path`` (atomically).

    The graph takes ``input`` of shape (batch, 3, H, W) float32, already preprocessed
    by ``backbone.preprocess``, and returns ``features`` of shape (batch, dim); the
    batch axis is dynamic.
    """
    import torch

    from visrec.embed.backbones import build_quietly

    target = Path(path)
    model = _export_ready(build_quietly(backbone)).eval()
    size = _input_hw(backbone)
    dummy = torch.zeros((2, 3, *size), dtype=torch.float32)
    with atomic_path(target) as tmp, torch.no_grad(), warnings.catch_warnings():
        # The legacy (TorchScript) exporter is deprecated but handles this model family
        # without onnxscript; its constant-folding notes are harmless. Only torch's: the
        # filter list is the process's, and a host thread's warnings must still show.
        warnings.filterwarnings("ignore", module=r"torch(\.|$)")
        # its own deprecation notice is raised at the caller (stacklevel 2): here
        warnings.filterwarnings(
            "ignore", message="You are using the legacy TorchScript-based ONNX export"
        )
        torch.onnx.export(
            model,
            (dummy,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    write_text_atomic(target.with_suffix(".sha256"), _file_sha256(target) + "\n")
    return target


def _input_hw(backbone: Any) -> tuple[int, int]:
    """(H, W) the backbone's preprocessing produces, from a probe image."""
    from PIL import Image

    probe = backbone.preprocess(Image.new("RGB", (256, 256), (127, 127, 127)))
    arr = np.asarray(probe)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise VisrecError(
            f"backbone {backbone.name!r}: preprocess returned shape {arr.shape}, expected (3, H, W)"
        )
    return int(arr.shape[1]), int(arr.shape[2])


def _cache_valid(path: Path) -> bool:
    sidecar = path.with_suffix(".sha256")
    if not path.is_file() or not sidecar.is_file():
        return False
    try:
        return sidecar.read_text().strip() == _file_sha256(path)
    except OSError:
        return False


def cached_onnx_path(backbone: Any, directory: str | os.PathLike[str] | None = None) -> Path:
    """Path of the ONNX export for ``backbone``, exporting it first if needed."""
    folder = Path(directory) if directory is not None else cache_dir()
    path = folder / f"{export_key(backbone)}.onnx"
    if not utf8_path(path):  # torch's exporter and onnxruntime take UTF-8 paths only
        where = "VISREC_CACHE" if os.environ.get("VISREC_CACHE") else "the cache folder"
        raise CacheUnwritable(
            f"{where} '{shown_path(folder)}' is not valid UTF-8, which the ONNX export "
            "cannot write to; set VISREC_CACHE to a folder with a UTF-8 name"
        )
    # an export killed mid-way leaves its temporary file (up to the model's size); an
    # hour old, no export is writing it. Also on a cache hit: none may come again
    sweep_temp_files(path)
    if _cache_valid(path):
        return path
    with _EXPORT_LOCK:  # two first uses in threads: one exports, the other waits for it
        if _cache_valid(path):
            return path
        return _export_to_cache(backbone, path)


#: one export at a time in this process (torch's exporter keeps global state)
_EXPORT_LOCK = threading.Lock()


class CacheUnwritable(WriteError):
    """The ONNX export cache cannot be written: ``engine="auto"`` runs torch instead.
    A :class:`~visrec.errors.WriteError` as every failed write is (exit status 1 when
    the system refused, an ``OSError`` with the failed call's ``errno``)."""


def _export_to_cache(
    backbone: Any, path: Path, why: str = "is missing its digest or corrupted"
) -> Path:
    """Export ``backbone`` to the cache file ``path`` (``why`` an existing one is
    replaced, for the log); a failed write is a :class:`CacheUnwritable` naming
    VISREC_CACHE. The caller holds ``_EXPORT_LOCK``."""
    where = "VISREC_CACHE" if os.environ.get("VISREC_CACHE") else "the cache folder"
    # a file where the cache folder should be: said in the variable's name, not as the
    # output path of a hashed export file inside it
    blocked = blocking_parent(path)
    if blocked is not None:
        raise CacheUnwritable(f"{where}: {blocked}; set VISREC_CACHE to a writable folder")
    # a folder or pipe at the export's or its digest's name: the write's own check
    # (an OutputPathError, an OSError) was worded again below as "cannot write ...
    # (output path ... name a file)", advice no user of a cache can follow; a pipe was
    # no CacheUnwritable at all (engine "auto" failed instead of running torch)
    for file in (path, path.with_suffix(".sha256")):
        kind = not_regular(file)
        if kind is not None:
            raise CacheUnwritable(
                f"{where}: '{shown_path(file)}' is {kind}, where the ONNX export keeps a "
                "file; remove it or set VISREC_CACHE to another folder"
            )
    if path.exists():
        log.warning("ONNX cache %s %s; exporting again", path, why)
    log.info("exporting %s to ONNX at %s (once)", backbone.name, path)
    try:
        return export_onnx(backbone, path)
    except OSError as exc:
        from visrec._atomic import WRITE_FULL

        advice = (
            # neither room nor another folder helps past the shell's limit
            "a file size limit (ulimit -f) stops the write; raise it"
            if exc.errno == errno.EFBIG
            else "free space or set VISREC_CACHE to a writable folder with room"
            if exc.errno in WRITE_FULL
            else "set VISREC_CACHE to a writable folder"
        )
        said = f"cannot write the ONNX model cache {path} ({exc.strerror or exc}); {advice}"
        raise write_error(said, exc, CacheUnwritable) from exc


class OnnxEngine:
    """Run a backbone's feature model with ONNX Runtime.

    Parameters
    ----------
    backbone : Backbone
        From ``visrec.embed.backbones.get_backbone``; exported to ONNX on first use.
    device : str, default "auto"
        ``"auto"`` (CUDA when onnxruntime has a CUDA provider, else CPU), ``"cpu"``,
        ``"cuda"`` or ``"cuda:N"``.
    batch_size : int, optional
        Preferred batch size for callers; default 4 on CPU, 128 on CUDA.
    threads : int, optional
        Intra-op threads per session call; default 1 on CPU (``parallel`` runs one
        call per physical core), the number of physical cores on CUDA.
    model_dir : path, optional
        Where the exported model is cached; default ``cache_dir()``.
    spinning : bool, default False
        Let idle ONNX Runtime threads busy-wait for work (its own default). Off here:
        spinning threads take CPU from the decode threads of the embed pipeline.
    parallel : int, optional
        Batches the embed pipeline runs at once; default on CPU the physical cores
        divided by ``threads`` (one single-threaded run per core), 1 on CUDA.

    Attributes
    ----------
    name : str
        ``"onnx"``.
    device : str
        ``"cpu"`` or ``"cuda"``, as resolved.
    model_path : Path
        The cached ONNX file in use.
    """

    name = "onnx"

    def __init__(
        self,
        backbone: Any,
        device: str = "auto",
        *,
        batch_size: int | None = None,
        threads: int | None = None,
        model_dir: str | os.PathLike[str] | None = None,
        spinning: bool = False,
        parallel: int | None = None,
    ) -> None:
        if not onnx_available():
            raise VisrecError(
                "the onnx engine needs the packages onnx and onnxruntime "
                "(pip install onnx onnxruntime); or use --engine torch"
            )
        ort = _import_ort()

        self.backbone = backbone
        self.dim = int(backbone.dim)
        kind, index = parse_device(resolve_device(device, ort_cuda_missing))
        self.device, device_id = kind, index or 0
        self.batch_size = int(
            batch_size or (DEFAULT_CUDA_BATCH if self.device == "cuda" else DEFAULT_CPU_BATCH)
        )
        if self.batch_size < 1:
            raise VisrecError(f"batch size must be >= 1, got {self.batch_size}")
        # On CPU, one single-threaded run per core beats one run spread over the cores:
        # no per-operator thread hand-offs (measured on 2 cores: 250-260 vs 230 img/s).
        # ``parallel`` tells the extraction pipeline how many batches to run at once
        # (InferenceSession.run is thread-safe and releases the GIL).
        cpu = self.device != "cuda"
        self.threads = int(threads or (1 if cpu else physical_cores()))
        self.parallel = int(parallel or (max(1, physical_cores() // self.threads) if cpu else 1))
        self.model_path = cached_onnx_path(backbone, model_dir)

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        # Idle pool threads otherwise spin for a while after each run and steal the
        # cores the decode threads need between batches.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        opts.log_severity_level = 3
        providers: list[Any] = ["CPUExecutionProvider"]
        if self.device == "cuda":
            providers = [("CUDAExecutionProvider", {"device_id": device_id}), *providers]
        self.providers = providers
        self._session = self._open(ort, opts, providers)

    def _open(self, ort: Any, opts: Any, providers: list[Any]) -> Any:
        try:
            return ort.InferenceSession(str(self.model_path), opts, providers=providers)
        except Exception as exc:  # corrupted despite the digest (e.g. ORT version change)
            reraise_if_pressed(exc)  # a Ctrl-C inside the C++ loader: no re-export
            if _out_of_memory(exc):
                # out of memory (ulimit -v), not a damaged file: the cache is kept as it
                # is, digest included, not exported again by every later run
                raise MemoryError(f"onnxruntime could not load {self.model_path}") from exc
            # its digest goes first: an export cut short must not leave the old file
            # marked good. One that cannot be removed (a read-only cache) is left: the
            # export below writes to the same folder and says why it cannot
            with contextlib.suppress(OSError):
                self.model_path.with_suffix(".sha256").unlink()
            # as the first export: a failed write is a CacheUnwritable (engine "auto"
            # runs torch instead), not a raw OSError; one export at a time
            with _EXPORT_LOCK:
                why = f"cannot be loaded by onnxruntime ({exc})"
                self.model_path = _export_to_cache(self.backbone, self.model_path, why)
            try:
                return ort.InferenceSession(str(self.model_path), opts, providers=providers)
            except Exception as exc2:
                raise VisrecError(
                    f"onnxruntime cannot load the exported model {self.model_path}: {exc2}"
                ) from exc2

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Features for a preprocessed batch.

        Parameters
        ----------
        batch : ndarray of float32, shape (B, 3, H, W)

        Returns
        -------
        ndarray of float32, shape (B, dim)
        """
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: x})
        except Exception as exc:
            if _out_of_memory(exc):  # the CLI's one line, not onnxruntime's traceback
                raise MemoryError(f"onnxruntime: a batch of {len(x)} images") from exc
            raise
        return np.asarray(out, dtype=np.float32)

    def __repr__(self) -> str:
        return (
            f"OnnxEngine(backbone={self.backbone.name!r}, device={self.device!r}, "
            f"batch_size={self.batch_size}, threads={self.threads})"
        )
