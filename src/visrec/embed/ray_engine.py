"""Scale-out: the same extraction as ``visrec embed``, run as a Ray Data pipeline.

::

    rows (chunk, row, path)
      -> map_batches(decode + preprocess)            Ray tasks, 1 CPU each
      -> map_batches(_InferActor, ActorPoolStrategy) actors holding the model/engine
      -> driver: rows grouped back into chunks -> visrec.embed.extract saves them

Only decode and inference move to the cluster. Chunking, resuming, the stale-key checks
and the Parquet output stay local (``visrec.embed.extract`` runs them, with
``chunk_files`` and ``output``; ``RayPipeline`` is handed to it as the engine), so the
file is the local engine's file: same ids, order,
``has_image``, failures and metadata. Inside each actor the default inner engine is the
one ``engine="auto"`` picks locally (``engines.make_engine``); its vectors do not
depend on the batch size, so the output is identical to a local run on the same kind of
CPU, not merely close.

Ray is an optional dependency (``ray[data]``: ``pip install -e '.[ray]'`` in a
checkout); it is imported only here. By default a local Ray instance is started (and
shut down afterwards); with ``ray_address`` an existing cluster is used (``"auto"``,
``"ray://host:10001"`` or ``"host:6379"``). Every node needs visrec installed and the
image paths readable.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from visrec._device import parse_device, resolve_device
from visrec.embed.backbones import DEFAULT_BACKBONE, Backbone, get_backbone
from visrec.errors import VisrecError, counted

__all__ = ["RayPipeline", "embed_with_ray"]

log = logging.getLogger(__name__)

# Bytes reserved per decode task: a batch of decoded images plus Pillow's buffers.
DECODE_TASK_MEMORY = 256 * 1024**2

Todo = list[tuple[int, list[tuple[str, str]]]]
OnChunk = Callable[[int, np.ndarray, np.ndarray, list[str | None]], None]


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise VisrecError(
            "engine 'ray' needs Ray Data: pip install 'ray[data]' (the ray extra: "
            f"pip install 'visrec[ray]'); ({exc})"
        ) from exc
    return ray


#: the logger of Ray's notice that a new local instance enables token authentication
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


class _DropAuthNotice(logging.Filter):
    """Drops Ray's "Token authentication is enabled for this Ray cluster" notice (Ray
    2.60 says it at every start): for the local instance visrec starts and stops for
    one run, there is nothing to act on. Its warning that authentication is *disabled*
    passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "authentication is enabled" not in record.getMessage()


@contextlib.contextmanager
def _quiet_ray_data(ray: Any) -> Iterator[None]:
    """Ray Data without its own bars and narration for one run, its settings (the
    process's: a host's own Ray Data jobs use them) put back afterwards."""
    ctx = ray.data.DataContext.get_current()
    names = ("enable_progress_bars", "print_on_execution_start", "enable_auto_log_stats")
    saved = {n: getattr(ctx, n) for n in names}
    logger = logging.getLogger("ray.data")
    level = logger.level
    for n in names:
        setattr(ctx, n, False)  # extract's tqdm bar counts the same rows
    # Ray Data narrates every run at INFO/WARNING (progress-bar notices, plans);
    # failures still surface as exceptions.
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, v in saved.items():
            setattr(ctx, n, v)
        logger.setLevel(level)


def _decode_batch(batch: dict[str, np.ndarray], backbone: Backbone) -> dict[str, np.ndarray]:
    """Ray task: decode + preprocess a batch of paths exactly as the local engine does."""
    from visrec.embed.compute import Decoder
    from visrec.images.pillow_warnings import quiet_pillow_warnings

    paths = [str(p) for p in batch["path"]]
    n = len(paths)
    decoder = Decoder(backbone, workers=1, max_inflight=1)
    # a worker process runs no visrec.cli.main: its batch gets the command line's quiet
    with warnings.catch_warnings():
        quiet_pillow_warnings()
        try:
            decoded = [decoder._one(p) for p in paths]
        finally:
            decoder.close()
    shape = next((a.shape for a, _ in decoded if a is not None), None)
    pixels = np.zeros((n, *(shape or (3, 1, 1))), dtype=np.float32)
    ok = np.zeros(n, dtype=bool)
    reason = np.empty(n, dtype=object)
    for i, (arr, why) in enumerate(decoded):
        if arr is not None and arr.shape == shape:
            pixels[i] = arr
            ok[i] = True
            reason[i] = ""
        elif arr is not None:
            # a backbone whose preprocessing follows the image's size: name both shapes
            reason[i] = f"preprocessed to shape {arr.shape}, not the batch's {shape}"
        else:
            reason[i] = why or "unreadable"
    return {
        "chunk": batch["chunk"],
        "row": batch["row"],
        "pixels": pixels,
        "ok": ok,
        "reason": reason,
    }


class _InferActor:
    """Ray actor: holds one inference engine and embeds the decoded rows it is given."""

    def __init__(
        self, backbone: Backbone, engine: str, device: str, batch_size: int | None, threads: int
    ) -> None:
        from visrec.embed.engines import make_engine

        self.dim = backbone.dim
        # make_engine's own "auto" choice; ``threads`` gives the engine this actor's CPU
        # share rather than every core of the node.
        self.engine = make_engine(backbone, engine, device, batch_size=batch_size, threads=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = np.asarray(batch["ok"], dtype=bool)
        n = len(ok)
        vectors = np.zeros((n, self.dim), dtype=np.float32)
        good = np.flatnonzero(ok)
        if len(good):
            pixels = np.asarray(batch["pixels"])[good]
            bs = int(self.engine.batch_size)
            vectors[good] = np.concatenate(
                [self.engine(pixels[i : i + bs]) for i in range(0, len(good), bs)]
            )
        return {
            "chunk": batch["chunk"],
            "row": batch["row"],
            "vector": vectors,
            "ok": ok,
            "reason": batch["reason"],
        }


def _resolve_ray_device(ray: Any, device: str | None) -> str:
    """``device`` resolved against the GPUs of the Ray cluster."""

    def cuda_missing() -> str | None:
        resources = ray.cluster_resources()
        if float(resources.get("GPU", 0)) > 0:
            return None
        return f"the Ray cluster has no GPUs (resources: {resources}); use --device cpu"

    return resolve_device(device, cuda_missing)


def _stop_prefetchers(threads_before: set[threading.Thread]) -> None:
    """Stop the block prefetcher threads Ray Data started for an iteration that did not
    end normally (Ctrl-C, a full disk): it stops them only at a normal end, and each
    keeps itself alive, so a long-lived process gained a thread and sockets per failed
    run. Ray's internals (its ``WaitBlockPrefetcher``): anything else is left alone. A
    prefetcher another thread of the host started during this run would be stopped too
    (the thread has no link to its iterator that Ray makes public)."""
    for thread in set(threading.enumerate()) - threads_before:
        owner: Any = getattr(getattr(thread, "_target", None), "__self__", None)
        condition = getattr(owner, "_condition", None)
        if thread.name != "Prefetcher" or condition is None or not hasattr(owner, "stop"):
            continue
        try:
            with condition:  # else it wakes to ray.wait() its blocks after the shutdown
                owner._blocks = []
            owner.stop()
            thread.join(timeout=5)
        except Exception:  # another Ray's prefetcher: at worst the thread stays
            continue


class _ProcessState:
    """What ``ray.init`` changes in this process and ``ray.shutdown`` leaves changed:
    the signal handlers, the variables it sets in ``os.environ`` (PYTHONBREAKPOINT to
    Ray's remote debugger, RAY_AUTH_MODE...), the "ray" logger's level and
    ``faulthandler`` (it turns it on). Not Python's ``random`` stream, which it draws
    from: putting that back would replay draws other threads of the host made."""

    _SIGNALS = tuple(
        getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)
    )

    def __init__(self) -> None:
        self.handlers = {s: signal.getsignal(s) for s in self._SIGNALS}
        self.environ = dict(os.environ)
        self.changed: set[str] | None = None  # known once ray.init returned
        self.ray_level = logging.getLogger("ray").level
        self.faulthandler = faulthandler.is_enabled()

    def put_back_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread has (and can set) handlers
        for sig, handler in self.handlers.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)

    def note_environment(self) -> None:
        """Record the variables ``ray.init`` set (kept while Ray runs: it may read them)."""
        now = os.environ
        self.changed = {k for k in {*self.environ, *now} if self.environ.get(k) != now.get(k)}

    def put_back(self) -> None:
        self.put_back_handlers()
        if self.changed is None:  # ray.init failed part-way
            self.note_environment()
        for key in self.changed or ():
            if key in self.environ:
                os.environ[key] = self.environ[key]
            else:
                os.environ.pop(key, None)
        logging.getLogger("ray").setLevel(self.ray_level)
        if not self.faulthandler and faulthandler.is_enabled():
            faulthandler.disable()


def _next_batch(batches: Iterator[dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    """The next batch of results Ray Data gives (None at the end); its failure as "Ray
    pipeline failed". Only Ray's: a chunk the driver cannot save (a full disk) raises
    what a local run raises, not a VisrecError blaming Ray (exit 2 for a full disk)."""
    try:
        return next(batches)
    except StopIteration:
        return None
    except (VisrecError, MemoryError):  # out of memory: the CLI's line for it, as at start
        raise
    except Exception as exc:
        raise VisrecError(f"Ray pipeline failed: {type(exc).__name__}: {exc}") from exc


class RayPipeline:
    """An engine for ``visrec.embed.extract`` that computes whole chunks on Ray.

    Parameters
    ----------
    backbone : Backbone
    device : {"auto", "cpu", "cuda"}, default "auto"
        ``"auto"``: GPUs when the Ray cluster has any (one per actor), else CPUs.
    batch_size : int, optional
        Inference batch inside each actor; default the inner engine's (on CPU 4 for ONNX
        Runtime, 16 for torch).
    ray_address : str, optional
        Existing cluster to join; default: start a local Ray instance for this run.
    num_actors : int, optional
        Inference actors; default one per GPU, or on CPUs one per ``cpus_per_actor``
        CPUs while keeping at least a quarter of the CPUs (at least one) for decoding.
    cpus_per_actor : int, optional
        CPUs reserved by (and threads used in) each CPU actor; default
        ``min(4, max(1, cluster CPUs // 2))``, and with ``num_actors`` given at most
        what leaves one CPU for decoding. A plan the cluster cannot hold is an error
        on the local instance, a warning on a joined cluster (Ray would wait for ever).
    engine : {"auto", "onnx", "torch"}, default "auto"
        Inner engine in each actor, as for the local path.
    num_cpus : int, optional
        CPUs of the local Ray instance when one is started; default all.

    Notes
    -----
    ``compute_chunks`` is what ``extract`` calls; ``__call__`` is not supported (the
    pipeline needs whole chunks, not batches).
    """

    name = "ray"

    def __init__(
        self,
        backbone: Backbone,
        device: str = "auto",
        *,
        batch_size: int | None = None,
        ray_address: str | None = None,
        num_actors: int | None = None,
        cpus_per_actor: int | None = None,
        engine: str = "auto",
        num_cpus: int | None = None,
    ) -> None:
        from visrec.embed.extract import _count_arg

        parse_device(device)  # a bad device fails here, not after Ray has started
        # a 0 was taken as "the default" and a negative count or 2.5 failed inside Ray
        counts = {
            "batch size": batch_size,
            "number of actors": num_actors,
            "CPUs per actor": cpus_per_actor,
            "number of CPUs": num_cpus,
        }
        for what, value in counts.items():
            if value is not None:
                _count_arg(value, what)
        self.backbone = backbone
        self.device = device
        self.batch_size = int(batch_size or 16)
        self._batch_size_arg = batch_size
        self.ray_address = ray_address
        self.num_actors = num_actors
        self.cpus_per_actor = cpus_per_actor
        self.engine = engine.strip().lower()
        if self.engine not in ("auto", "onnx", "torch"):
            raise VisrecError(f"inner engine for Ray must be auto, onnx or torch, got {engine!r}")
        self.num_cpus = num_cpus

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        raise VisrecError("the ray engine embeds whole chunks (compute_chunks), not batches")

    def _start(self, ray: Any) -> bool:
        """Connect to or start Ray; True when this call started it (and must stop it)."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": True,
        }
        if self.ray_address:
            kwargs["address"] = self.ray_address
        else:
            # "local": a new instance even where a cluster runs on this machine (`ray
            # start`, or one a kill left in /tmp/ray), which ray.init() would join and
            # then refuse num_cpus for
            kwargs["address"] = "local"
            kwargs["num_cpus"] = self.num_cpus or os.cpu_count() or 1
        notice = logging.getLogger(_AUTH_LOGGER)
        drop = _DropAuthNotice()
        if not self.ray_address:
            notice.addFilter(drop)
        self._kept = _ProcessState()
        try:
            ray.init(**kwargs)
        except BaseException as exc:  # a Ctrl-C during the start too: a host keeps its own
            self._kept.put_back()
            if not isinstance(exc, Exception) or isinstance(exc, MemoryError):
                raise  # out of memory: the CLI's line for it, not "cannot start Ray: "
            where = self.ray_address or "a local instance"
            why = str(exc) or type(exc).__name__
            if self.ray_address:  # Ray's own words may ask for its CLI's `--address`
                why += "; to start a local Ray for this run instead, leave out --ray-address"
            raise VisrecError(f"cannot start/connect Ray ({where}): {why}") from exc
        finally:
            notice.removeFilter(drop)
        # ray.init installs its own SIGTERM handler (a bare exit: no "interrupted" line,
        # no resume note, status 15): the caller's stay in force during the run
        self._kept.put_back_handlers()
        self._kept.note_environment()
        return True

    def _plan(self, ray: Any, device: str, fixed: bool = False) -> tuple[int, int, int]:
        """(actors, cpus per actor, gpus per actor). ``fixed``: the cluster cannot grow
        (the local instance this run started), so a plan it cannot hold is an error."""
        res = ray.cluster_resources()
        cpus = max(1, int(res.get("CPU", 1)))
        if device.startswith("cuda"):
            gpus = max(1, int(res.get("GPU", 1)))
            actors = self.num_actors or gpus
            self._check_fits(f"{counted(actors, 'actor')} of 1 GPU", actors, gpus, "GPU", fixed)
            what = f"{counted(actors, 'actor')} of 1 CPU and 1 CPU for decoding"
            self._check_fits(what, actors + 1, cpus, "CPU", fixed)
            return actors, 1, 1
        # by default at most 4, and one CPU left at least for decoding; with the actors
        # given, as many as leave that CPU free
        per = self.cpus_per_actor or min(4, max(1, cpus // 2), max(1, cpus - 1))
        if self.num_actors and not self.cpus_per_actor:
            per = max(1, min(per, (cpus - 1) // self.num_actors))
        actors = self.num_actors or max(1, (cpus - max(1, cpus // 4)) // per)
        what = f"{counted(actors, 'actor')} of {counted(per, 'CPU')} and 1 CPU for decoding"
        self._check_fits(what, actors * per + 1, cpus, "CPU", fixed)
        return actors, per, 0

    def _check_fits(self, what: str, need: int, have: int, unit: str, fixed: bool) -> None:
        """Ray waits without a word until a cluster holds what the actors and the decode
        tasks reserve: say so instead of showing 0% for ever."""
        if need <= have:
            return
        msg = f"the Ray cluster has {counted(have, unit)}, and {what} need {need}"
        if fixed:
            raise VisrecError(
                f"{msg}: it would wait for them for ever; ask for fewer actors or CPUs per "
                "actor (num_actors, cpus_per_actor), or use --engine onnx or torch"
            )
        warnings.warn(
            f"{msg}: the run waits until the cluster grows (an autoscaler adds nodes), "
            "else for ever; ask for fewer actors or CPUs per actor to start now",
            RuntimeWarning,
            stacklevel=2,
        )

    def compute_chunks(
        self, todo: Todo, on_chunk: OnChunk, on_progress: Callable[[int], None]
    ) -> None:
        """Embed ``todo`` chunks; call ``on_chunk(index, vectors, has_image, errors)``.

        Chunks are handed over as soon as all their rows are back (in any order), so
        the driver holds at most the chunks in flight.
        """
        if not todo:
            return
        ray = _import_ray()
        started = self._start(ray)
        try:
            with _quiet_ray_data(ray):
                # only the local instance started here cannot grow; a joined cluster may
                fixed = started and not self.ray_address
                self._run(ray, todo, on_chunk, on_progress, fixed=fixed)
        finally:
            if started:
                ray.shutdown()
                self._kept.put_back()

    def _run(
        self,
        ray: Any,
        todo: Todo,
        on_chunk: OnChunk,
        on_progress: Callable[[int], None],
        fixed: bool = False,
    ) -> None:
        device = _resolve_ray_device(ray, self.device)
        actors, per, gpus = self._plan(ray, device, fixed)
        bs = self.batch_size
        rows = [
            {"chunk": k, "row": r, "path": path}
            for k, chunk in todo
            for r, (_, path) in enumerate(chunk)
        ]
        # Several blocks per actor keep every stage busy without huge blocks.
        blocks = max(1, min(len(rows) // bs or 1, 4 * actors * 8))
        ds = ray.data.from_items(rows, override_num_blocks=blocks)
        ds = ds.map_batches(
            _decode_batch,
            fn_kwargs={"backbone": self.backbone},
            batch_size=bs,
            batch_format="numpy",
            num_cpus=1,
            # A memory hint for the decode tasks; its being different from the actors'
            # resources also keeps Ray from fusing decoding into the inference actors,
            # where it would run in turn with inference instead of alongside it.
            memory=DECODE_TASK_MEMORY,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*ray_remote_args.* is deprecated")
            ds = ds.map_batches(
                _InferActor,
                fn_constructor_kwargs={
                    "backbone": self.backbone,
                    "engine": self.engine,
                    "device": device,
                    "batch_size": self._batch_size_arg,
                    "threads": per,
                },
                batch_size=bs,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_cpus=per,
                num_gpus=gpus,
                # no actor restarts: a lost actor's chunks are recomputed by the next run
                # anyway, and with restarts Ray logs an error line about the constructor's
                # arguments into the user's output (ray-project/ray#57733). Ray 2.60 has no
                # named parameter for it yet: an extra keyword argument, whose deprecation
                # warning is silenced
                max_restarts=0,
            )

        sizes = {k: len(chunk) for k, chunk in todo}
        pending: dict[int, tuple[np.ndarray, np.ndarray, list[str | None], list[int]]] = {}
        dim = self.backbone.dim
        threads_before = set(threading.enumerate())
        batches = iter(ds.iter_batches(batch_size=None, batch_format="numpy"))
        ended = False
        try:
            while (batch := _next_batch(batches)) is not None:
                for k, r, vec, ok, why in zip(
                    batch["chunk"],
                    batch["row"],
                    batch["vector"],
                    batch["ok"],
                    batch["reason"],
                    strict=True,
                ):
                    k, r = int(k), int(r)
                    if k not in pending:
                        n = sizes[k]
                        pending[k] = (
                            np.zeros((n, dim), np.float32),
                            np.zeros(n, bool),
                            [None] * n,
                            [0],
                        )
                    vectors, has, errors, count = pending[k]
                    if ok:
                        vectors[r] = vec
                        has[r] = True
                    else:
                        errors[r] = str(why) or "unreadable"
                    count[0] += 1
                    if count[0] == sizes[k]:
                        del pending[k]
                        on_chunk(k, vectors, has, errors)
                on_progress(len(batch["row"]))
            ended = True
        finally:
            if not ended:  # Ray Data stops its prefetcher itself at a normal end
                close = getattr(batches, "close", None)
                if close is not None:
                    close()
                _stop_prefetchers(threads_before)
        if pending:
            missing = sum(sizes[k] - c[3][0] for k, c in pending.items())
            raise VisrecError(f"Ray pipeline returned no result for {counted(missing, 'image')}")

    def __repr__(self) -> str:
        where = self.ray_address or "local"
        return f"<RayPipeline {self.backbone.name} device={self.device} ray={where}>"


def embed_with_ray(
    items: Sequence[tuple[str, str]] | Any,
    output: str | os.PathLike[str] | None = None,
    *,
    backbone: str | Backbone = DEFAULT_BACKBONE,
    device: str = "auto",
    batch_size: int | None = None,
    ray_address: str | None = None,
    progress: bool = True,
    workers: int | None = None,
    num_actors: int | None = None,
    engine: str = "auto",
    **extract_options: Any,
) -> Any:
    """``visrec.embed.extract.embed_images`` with decode and inference on Ray.

    Parameters
    ----------
    items, output, backbone, device, batch_size
        As for ``embed_images``; the result and the output file are the same.
    ray_address : str, optional
        Existing Ray cluster; default a local instance started (and stopped) here.
    progress : bool, default True
        As for ``embed_images`` (Ray Data's own bars stay off).
    workers : int, optional
        Ignored (decoding runs as Ray tasks); accepted for a uniform call.
    num_actors : int, optional
        Inference actors (see ``RayPipeline``).
    engine : {"auto", "onnx", "torch"}, default "auto"
        Inner engine in each actor.
    **extract_options
        Passed to ``embed_images`` (e.g. ``chunk_size``).

    Returns
    -------
    EmbedResult
    """
    from visrec.embed.extract import embed_images

    bb = get_backbone(backbone) if isinstance(backbone, str) else backbone
    pipeline = RayPipeline(
        bb,
        device,
        batch_size=batch_size,
        ray_address=ray_address,
        num_actors=num_actors,
        engine=engine,
    )
    return embed_images(
        items, output, backbone=bb, engine=pipeline, progress=progress, **extract_options
    )
