"""Image files -> item vectors: streaming, parallel, crash-safe and resumable.

How a run works (``embed_images(items, "vectors.parquet")``):

1. Items are cut into chunks of about ``chunk_size`` (default 512) consecutive items,
   with content-defined boundaries (a hash of the ids), so adding an image changes one
   or two chunks, not every chunk after it. Each chunk gets a fingerprint: a hash of
   the *key* (backbone name, weights id, preprocessing) and of every item's id, file
   size and modification time.
2. Chunks already computed -- files ``vectors.parquet.parts/chunk-<fingerprint>.parquet``
   left by an interrupted run, or row groups of an existing ``vectors.parquet`` whose
   metadata lists that fingerprint -- are reused. A changed backbone, weights,
   preprocessing or image file changes the fingerprint, so stale vectors are never
   reused. Images whose read failed with an error that may pass (``is_transient``: a
   read error, out of memory) are listed per chunk (the output's ``retry``; in a chunk
   file, their errors): only they are computed again, into the chunk's other rows.
3. Missing chunks are computed: worker threads decode and preprocess images (JPEG
   draft mode, bounded prefetch) while the main thread runs the engine on batches that
   never cross a chunk boundary, so results do not depend on the number of workers or
   on which chunks an earlier run finished. Each chunk is written atomically.
4. The output is assembled by streaming chunk after chunk (one Parquet row group each)
   into a temporary file that is renamed over ``vectors.parquet``; the parts folder is
   then removed. Memory stays at about one chunk whatever the number of images. Its
   metadata lists, per chunk, the fingerprint (``chunks``) and the engine that computed
   it (``engines``: not part of the key, as ONNX and torch vectors differ by ~1e-5).

A ``kill -9`` at any point loses at most the chunks in flight; re-running the same
command recomputes only those, and the final file equals an uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from visrec import __version__
from visrec._atomic import (
    atomic_path,
    check_output_path,
    exclusive_lock,
    shown_path,
    side_prefix,
    sweep_temp_files,
    utf8_path,
)
from visrec.embed.backbones import DEFAULT_BACKBONE, Backbone, get_backbone
from visrec.embed.store import (
    META_KEY,
    ItemVectors,
    is_foreign_file,
    parse_meta,
    read_vectors,
    table_to_vectors,
    vectors_schema,
)
from visrec.errors import VisrecError
from visrec.images.decode import BadImageError, is_transient, load_image, os_failure

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EmbedResult",
    "backbone_key",
    "check_dropped",
    "cut_chunks",
    "embed_folder",
    "embed_images",
    "parts_dir",
]

DEFAULT_CHUNK_SIZE = 512
_FORMAT = "visrec-embed-chunks/1"
# in the list of chunks of an output written before per-image retries (the ``retry``
# field): a chunk holding a failure that may pass (a read error), computed whole again
_RETRY = "retry-"

ItemsArg = Mapping[str, str | os.PathLike[str]] | Sequence[tuple[str, str | os.PathLike[str]]]


@dataclass
class EmbedResult:
    """What ``embed_images`` did.

    Attributes
    ----------
    ids : list of str
        Item ids in input order.
    failures : list of (item_id, path, reason)
        Items that got a zero vector and ``has_image=False``.
    n_reused : int
        Items whose vectors came from a previous (interrupted or finished) run.
    n_computed : int
        Items decoded and embedded in this run (failures included).
    seconds : float
        Wall time of the call, model loading included.
    output : Path or None
    backbone, engine : str
    notes : list of str
        Why something was recomputed (stale key, changed files), for the summary.
    """

    ids: list[str]
    failures: list[tuple[str, str, str]]
    n_reused: int
    n_computed: int
    seconds: float
    output: Path | None
    backbone: str
    engine: str
    notes: list[str] = field(default_factory=list)
    _vectors: ItemVectors | None = field(default=None, repr=False)

    @property
    def vectors(self) -> ItemVectors:
        """All vectors, input order; read from ``output`` on first access when written."""
        if self._vectors is None:
            if self.output is None:
                raise VisrecError("embed result has neither vectors nor an output file")
            self._vectors = read_vectors(self.output)
        return self._vectors

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def n_ok(self) -> int:
        return self.n - len(self.failures)

    @property
    def images_per_second(self) -> float:
        return self.n_computed / self.seconds if self.seconds > 0 else 0.0


def backbone_key(backbone: Backbone) -> str:
    """Hash of what determines a vector: backbone name, weights id, preprocessing, dim."""
    blob = json.dumps(
        {
            "backbone": backbone.name,
            "weights_id": backbone.weights_id,
            "preprocessing": backbone.preprocessing,
            "dim": backbone.dim,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parts_dir(output: str | os.PathLike[str]) -> Path:
    """Folder holding the chunks of an unfinished run for ``output``: ``OUT.parts``, or
    a hidden name beside it when ``OUT`` is too long for that (see ``side_prefix``)."""
    out = Path(output)
    if len(os.fsencode(out.name + ".parts")) > 255:
        return out.with_name(side_prefix(out.name, len("parts")) + "parts")
    return out.with_name(out.name + ".parts")


def dropped_items(output: str | os.PathLike[str], ids: Sequence[str]) -> tuple[int, list[str]]:
    """What writing ``ids`` to ``output`` would drop from the vectors file there.

    Returns
    -------
    (int, list of str)
        The number of items in the existing file and, in its order, those of them that
        are not in ``ids``. An old id that is in ``ids`` once stripped of surrounding
        spaces (ids from file names are stripped now; ``"a .jpg"`` used to be item
        ``'a '``) is the same item renamed, not dropped. ``(0, [])`` when ``output`` is
        missing, is not a vectors file (``is_foreign_file`` handles those) or its ids
        cannot be read.
    """
    if not os.path.isfile(output) or is_foreign_file(output):
        return 0, []
    try:
        old = pq.read_table(output, columns=["item_id"]).column("item_id").to_pylist()
    except Exception:  # a damaged file: nothing to keep from it anyway
        return 0, []
    wanted = set(ids)
    return len(old), [str(i) for i in old if i not in wanted and str(i).strip() not in wanted]


def check_dropped(
    output: str | os.PathLike[str],
    ids: Sequence[str],
    replace: bool,
    advice: str = "choose another output, or pass overwrite=True to replace it",
) -> str | None:
    """Refuse (``VisrecError``) to replace the vectors file ``output`` when more than half
    of its items are not in ``ids`` (a copy-pasted output path would otherwise turn a
    big file into a small one without a word), unless ``replace``; otherwise return a
    note naming what is dropped, or None when nothing is."""
    n_old, gone = dropped_items(output, ids)
    if not gone:
        return None
    if 2 * len(gone) > n_old and not replace:
        raise VisrecError(
            f"{output} holds {n_old:,} items, {len(gone):,} of them not in this run; they "
            f"would be dropped: {advice}"
        )
    example = ", ".join(repr(i) for i in gone[:3]) + (", ..." if len(gone) > 3 else "")
    verb = "is" if len(gone) == 1 else "are"
    return (
        f"{output}: {len(gone):,} of its {n_old:,} items {verb} not in this run and "
        f"{verb} dropped from it ({example})"
    )


def _normalise_items(items: ItemsArg) -> list[tuple[str, str]]:
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for k, entry in enumerate(pairs):
        try:
            item_id, path = entry
        except (TypeError, ValueError):
            raise VisrecError(
                f"items[{k}]: expected an (item_id, path) pair, got {entry!r}"
            ) from None
        sid = str(item_id)
        try:
            sid.encode("utf-8")
        except UnicodeEncodeError:  # a file name's undecodable bytes: Parquet needs UTF-8
            raise VisrecError(
                f"item id {sid!r} (position {k}) is not valid UTF-8; rename its file"
            ) from None
        if sid in seen:
            raise VisrecError(f"item id {sid!r} is listed twice (second at position {k})")
        seen.add(sid)
        out.append((sid, os.fspath(path)))
    return out


def cut_chunks(pairs: Sequence[tuple[str, str]], chunk_size: int) -> list[list[tuple[str, str]]]:
    """Cut ``pairs`` into consecutive chunks of about ``chunk_size`` items.

    Boundaries are content-defined: a chunk ends after an item whose id hashes to a
    "cut" value (once the chunk holds at least ``chunk_size // 4`` items; at most
    ``2 * chunk_size``). They depend only on the ids near them, so adding or removing an
    image shifts at most a chunk or two, and every other chunk is reused as it is.
    """
    size = max(1, int(chunk_size))
    min_len, max_len = max(1, size // 4), 2 * size
    period = max(1, size - min_len + 1)  # mean length ~= min_len - 1 + period = size
    chunks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for pair in pairs:
        current.append(pair)
        n = len(current)
        if n >= max_len or (
            n >= min_len
            and int.from_bytes(hashlib.blake2b(pair[0].encode(), digest_size=8).digest()) % period
            == 0
        ):
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _signature(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _fingerprint(key: str, chunk: Sequence[tuple[str, str]]) -> str:
    h = hashlib.sha256(key.encode())
    for item_id, path in chunk:
        h.update(f"\n{item_id}\t{_signature(path)}".encode())
    return h.hexdigest()[:24]


def _table(
    ids: Sequence[str], vectors: np.ndarray, has_image: np.ndarray, errors: Sequence[str | None]
) -> pa.Table:
    d = vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), pa.float32())
    return pa.table(
        {
            "item_id": pa.array(list(ids), pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(flat, d),
            "has_image": pa.array(has_image, pa.bool_()),
            "error": pa.array(list(errors), pa.string()),
        }
    )


class _Decoder:
    """Decode + preprocess in worker threads, results in input order, bounded prefetch.

    Pillow's decoders and resizers release the GIL, so threads overlap decoding with
    inference without the cost of pickling arrays between processes.
    """

    def __init__(self, backbone: Backbone, workers: int, max_inflight: int) -> None:
        self.backbone = backbone
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="visrec-decode")
        self.max_inflight = max(1, max_inflight)

    def _one(self, path: str) -> tuple[np.ndarray | None, str | None]:
        if path.lower().startswith(("http://", "https://")):
            return None, "URL, not a local file (download it first: visrec fetch)"
        try:
            img = load_image(path, draft_size=self.backbone.draft_size)
            return self.backbone.preprocess(img), None
        except BadImageError as exc:
            return None, exc.reason
        except MemoryError:  # in the resize: memory taken by others may be free next run
            return None, BadImageError("out of memory while resizing", transient=True).reason
        except OSError as exc:
            if exc.errno is not None:  # a read error of the system: tried again next run
                return None, os_failure(exc).reason
            return None, f"unreadable: {type(exc).__name__}: {exc}"
        except Exception as exc:  # never let one odd file end a long run
            return None, f"unreadable: {type(exc).__name__}: {exc}"

    def map(
        self, paths: Iterator[str]
    ) -> Generator[tuple[np.ndarray | None, str | None], None, None]:
        window: deque[Future[tuple[np.ndarray | None, str | None]]] = deque()
        for path in paths:
            window.append(self.pool.submit(self._one, path))
            if len(window) >= self.max_inflight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _run_batch(
    engine: Any,
    dim: int,
    rows: list[int],
    arrays: list[np.ndarray],
    vectors: np.ndarray,
    has: np.ndarray,
) -> None:
    out = np.asarray(engine(np.stack(arrays)), dtype=np.float32)
    if out.shape != (len(rows), dim):
        raise VisrecError(
            f"engine {engine.name!r} returned shape {out.shape}, expected ({len(rows)}, {dim})"
        )
    vectors[rows] = out
    has[rows] = True


def _compute_chunks(
    todo: list[tuple[int, list[tuple[str, str]]]],
    backbone: Backbone,
    engine: Any,
    workers: int,
    on_chunk: Callable[[int, np.ndarray, np.ndarray, list[str | None]], None],
    on_progress: Callable[[int], None],
) -> None:
    """Embed the chunks in ``todo``; ``on_chunk(index, vectors, has_image, errors)``."""
    pipeline = getattr(engine, "compute_chunks", None)
    if pipeline is not None:  # a pipeline engine (Ray) decodes and infers by itself
        pipeline(todo, on_chunk, on_progress)
        return
    bs = int(engine.batch_size)
    # Engines that can run several batches at once (ONNX on CPU: one single-threaded
    # run per core) get a small pool; results land by row index, so order is unchanged.
    parallel = max(1, int(getattr(engine, "parallel", 1)))
    infer = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="visrec-infer")
    decoder = _Decoder(backbone, workers, max_inflight=max(2 * bs * parallel, 4 * workers))
    flat = (path for _, chunk in todo for _, path in chunk)
    decoded = decoder.map(flat)
    pending: deque[tuple[Future[None], int]] = deque()

    def finish_oldest() -> None:
        fut, n_rows = pending.popleft()
        fut.result()
        on_progress(n_rows)  # from this thread only: progress callbacks need no lock

    def submit(
        rows: list[int], arrays: list[np.ndarray], vectors: np.ndarray, has: np.ndarray
    ) -> None:
        # bounded: at most two batches per inference thread wait, so memory stays flat
        while len(pending) >= 2 * parallel:
            finish_oldest()
        fut = infer.submit(_run_batch, engine, backbone.dim, rows, arrays, vectors, has)
        pending.append((fut, len(rows)))

    try:
        for index, chunk in todo:
            n = len(chunk)
            vectors = np.zeros((n, backbone.dim), dtype=np.float32)
            has = np.zeros(n, dtype=bool)
            errors: list[str | None] = [None] * n
            rows: list[int] = []
            arrays: list[np.ndarray] = []

            for row in range(n):
                arr, reason = next(decoded)
                if arr is None:
                    errors[row] = reason or "unreadable"
                    on_progress(1)
                    continue
                rows.append(row)
                arrays.append(arr)
                if len(rows) == bs:
                    submit(rows, arrays, vectors, has)
                    rows, arrays = [], []
            if rows:  # batches never cross a chunk boundary: results are reproducible
                submit(rows, arrays, vectors, has)
            while pending:  # the chunk is complete only when all its batches are
                finish_oldest()
            on_chunk(index, vectors, has, errors)
    finally:
        decoded.close()
        decoder.close()
        infer.shutdown(wait=True, cancel_futures=True)


def _read_chunk_file(
    path: Path, key: str, fp: str, columns: list[str] | None = None
) -> pa.Table | None:
    """The chunk's table, or None when it is unreadable or not for (key, fingerprint)."""
    try:
        table = pq.read_table(path, columns=columns)
        meta = parse_meta((table.schema.metadata or {}).get(META_KEY), str(path))
    except Exception:
        return None
    if meta.get("key") != key or meta.get("fingerprint") != fp:
        return None
    return table


def embed_images(
    items: ItemsArg,
    output: str | os.PathLike[str] | None = None,
    *,
    backbone: str | Backbone = DEFAULT_BACKBONE,
    engine: str | Any = "auto",
    device: str = "auto",
    batch_size: int | None = None,
    workers: int | None = None,
    progress: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    ray_address: str | None = None,
    overwrite: bool = False,
) -> EmbedResult:
    """Embed item images into vectors, streaming to ``output`` and resuming if possible.

    Parameters
    ----------
    items : mapping of item_id -> path, or sequence of (item_id, path)
        Output rows follow this order. ``http(s)://`` locations are reported as failures.
    output : path, optional
        Parquet file (``visrec.embed.store`` format). With an output the run is
        chunked, crash-safe and resumable; without one everything stays in memory.
        One run per output at a time: while another holds it (``exclusive_lock``),
        ``VisrecError`` is raised at once, naming the other's pid.
    backbone : str or Backbone, default "efficientnet-lite0"
    engine : {"auto", "torch", "onnx", "ray"}, default "auto"
        ``"auto"`` uses ONNX Runtime when available, else PyTorch. ``"ray"`` runs the
        same extraction as a Ray Data pipeline (``visrec.embed.ray_engine``).
        An engine object (e.g. ``ray_engine.RayPipeline``) is used as given.
    device : {"auto", "cpu", "cuda"}, default "auto"
    batch_size : int, optional
        Default: the engine's preferred batch (on CPU 4 for ONNX Runtime, 16 for torch).
    workers : int, optional
        Decode threads; default min(4, number of CPUs). Does not change the result.
    progress : bool, default True
        tqdm progress bar and notes on stderr.
    chunk_size : int, default 512
        Mean images per resumable chunk (and per Parquet row group); chunks hold
        between ``chunk_size // 4`` and ``2 * chunk_size`` images (see ``cut_chunks``).
    ray_address : str, optional
        Only for ``engine="ray"``: an existing cluster; default a local Ray instance.
    overwrite : bool, default False
        Replace an existing ``output`` that is not a visrec vectors file, or a vectors
        file more than half of whose items are not in ``items`` (``check_dropped``).
        Without it such a file is left untouched and ``VisrecError`` is raised before
        any work. Otherwise a vectors file is resumed or recomputed in place; the items
        of it that are not in ``items`` are dropped, with a note.

    Returns
    -------
    EmbedResult
        ``.vectors`` is an ``ItemVectors`` with zero rows and ``has_image=False`` for
        the items listed in ``.failures``.
    """
    t0 = time.perf_counter()
    pairs = _normalise_items(items)
    if chunk_size < 1:
        raise VisrecError(f"chunk size must be >= 1, got {chunk_size}")
    if workers is not None and workers < 1:
        raise VisrecError(f"workers must be >= 1, got {workers}")
    if isinstance(engine, str) and engine.strip().lower() == "ray":
        try:
            from visrec.embed.ray_engine import embed_with_ray
        except ModuleNotFoundError as exc:
            raise VisrecError(f"engine 'ray' is not available ({exc})") from exc
        result: EmbedResult = embed_with_ray(
            pairs,
            output,
            backbone=backbone,
            device=device,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            ray_address=ray_address,
            chunk_size=chunk_size,
            overwrite=overwrite,
        )
        return result

    bb = get_backbone(backbone) if isinstance(backbone, str) else backbone
    key = backbone_key(bb)
    meta: dict[str, Any] = {
        "backbone": bb.name,
        "dim": bb.dim,
        "preprocessing": bb.preprocessing,
        "weights_id": bb.weights_id,
        "visrec_version": __version__,
        "key": key,
        "chunk_size": chunk_size,
    }
    notes: list[str] = []

    def note(msg: str) -> None:
        notes.append(msg)
        if progress:
            print(msg, file=sys.stderr)

    chunks = cut_chunks(pairs, chunk_size)
    ids = [i for i, _ in pairs]
    path_of = dict(pairs)

    if output is None:
        return _embed_in_memory(
            pairs, chunks, bb, meta, engine, device, batch_size, workers, progress, t0
        )

    out = Path(output)
    if out.is_dir():
        raise VisrecError(f"output {out} is a folder; expected a .parquet file path")
    check_output_path(out)  # not a pipe or device: reading it for reuse would block
    if not utf8_path(out):  # pyarrow would refuse it only at the first chunk's write
        raise VisrecError(
            f"output '{shown_path(out)}': the name is not valid UTF-8, which Parquet files "
            "need; rename it"
        )
    parts = parts_dir(out)
    if os.path.lexists(parts) and not parts.is_dir():
        # now, not at its mkdir once the model is loaded ("File exists" says not what to do)
        raise VisrecError(f"{parts} is in the way (not a folder): remove it")
    if parts.is_symlink():
        # its chunk files would land in the linked folder, and at the end only the link
        # could be removed (rmtree does not follow it): they would be left there
        raise VisrecError(
            f"{parts} is a symlink: remove it (visrec keeps its chunk files in a folder of its own)"
        )
    # One run per output: a second one would read this one's chunk files mid-write, or
    # lose its parts folder when this one removes it, and fail with a wrong hint.
    with exclusive_lock(out, "visrec embed") as held:
        if held:  # no other writer: a temp file of the output is a killed run's, maybe
            # as big as the output itself; without the lock the hour-old rule stands
            # beside the file a symlinked output names: where atomic_path writes
            sweep_temp_files(os.path.realpath(out), max_age=0.0)
        foreign = is_foreign_file(out)
        if foreign and not overwrite:
            raise VisrecError(
                f"{out} exists and is not a visrec vectors file; give another output, or "
                "overwrite=True to replace it"
            )
        dropped = None if foreign else check_dropped(out, ids, overwrite)
        fps = [_fingerprint(key, c) for c in chunks]

        # --- what can be reused -------------------------------------------------------
        if foreign:
            note(f"{out}: existing file is not a visrec vectors file; it will be replaced")
            old = _OldOutput()
        else:
            old = _old_output(out, key, note)
        if dropped:
            note(dropped)
        # A read error that may pass is retried whether or not the file lists it under
        # ``retry``: a visrec from before per-image retries rewrites the file without it.
        pending = bool(old.retry) or any(is_transient(r) for r in old.failures.values())
        if old.groups and old.chunks == fps and old.n_rows == len(pairs) and not pending:
            kept = [(i, path_of[i], r) for i, r in old.failures.items() if i in path_of]
            if progress:
                print(f"{out}: up to date, reused {len(pairs)} vectors", file=sys.stderr)
            _drop_idle_parts(parts, note)
            return EmbedResult(
                ids=ids,
                failures=kept,
                n_reused=len(pairs),
                n_computed=0,
                seconds=time.perf_counter() - t0,
                output=out,
                backbone=bb.name,
                engine="reused",
                notes=notes,
            )
        part_files, part_retry = _finished_parts(parts, key, fps, chunks, note)

        # --- compute what is missing --------------------------------------------------
        # A chunk file or row group holding images whose read error may pass: only those
        # images are computed again, into the chunk's other rows (``partial``: chunk ->
        # where its rows are kept, the items computed again).
        todo: list[tuple[int, list[tuple[str, str]]]] = []
        partial: dict[int, tuple[Path | int, list[tuple[str, str]]]] = {}
        n_reused = 0
        for k, (fp, chunk) in enumerate(zip(fps, chunks, strict=True)):
            old_again = old.retry.get(fp, set()) | {
                i for i, _ in chunk if is_transient(old.failures.get(i))
            }
            if fp in part_retry and fp in old.groups and not old_again:
                del part_files[fp]  # the old output has the chunk whole
            if fp in part_files:
                base: Path | int = part_files[fp]
                again = part_retry.get(fp, set())
            elif fp in old.groups:
                base, again = old.groups[fp], old_again
            else:
                todo.append((k, chunk))
                continue
            redo = [item for item in chunk if item[0] in again]
            if redo:
                partial[k] = (base, redo)
                todo.append((k, redo))
            n_reused += len(chunk) - len(redo)
        if partial:
            n_again = sum(len(redo) for _, redo in partial.values())
            note(
                f"{out}: computing again {n_again} image(s) that had a read error (the "
                f"other vectors of their {len(partial)} chunk(s) are reused)"
            )
        if n_reused and progress:
            print(
                f"resuming: reused {n_reused} vectors, {len(pairs) - n_reused} to compute",
                file=sys.stderr,
            )

        engine_name = "reused"
        if todo:
            eng = _engine_for(bb, engine, device, batch_size)
            engine_name = eng.name
            made_by_eng = _vectors_engine(eng)
            parts.mkdir(parents=True, exist_ok=True)

            def save_chunk(
                index: int, vectors: np.ndarray, has: np.ndarray, errors: list[str | None]
            ) -> None:
                fp = fps[index]
                ids = [i for i, _ in chunks[index]]
                made_by: str | None = made_by_eng
                if index in partial:  # the images computed again, among the kept rows
                    base, redo = partial[index]
                    computed = bool(np.asarray(has).any())  # failing again: no vector
                    vectors, has, errors, kept_by = _with_kept_rows(
                        base, out, old, fp, ids, redo, vectors, has, errors
                    )
                    redone = {i for i, _ in redo}
                    kept_any = any(h for i, h in zip(ids, has, strict=True) if i not in redone)
                    made_by = _engines_of(kept_by, kept_any, made_by, computed)
                chunk_meta = {
                    "format": _FORMAT,
                    "key": key,
                    "fingerprint": fp,
                    "index": index,
                    "engine": made_by,
                }
                table = _table(ids, vectors, has, errors)
                table = table.replace_schema_metadata(
                    {META_KEY: json.dumps(chunk_meta, sort_keys=True).encode()}
                )
                dest = parts / f"chunk-{fp}.parquet"
                with atomic_path(dest) as tmp:
                    pq.write_table(table, tmp)
                part_files[fp] = dest

            bar = _progress_bar(len(pairs), n_reused, progress, f"embed ({eng.name})")
            try:
                _compute_chunks(
                    todo, bb, eng, workers or _default_workers(), save_chunk, bar.update
                )
            except BaseException:
                # failed (a full disk, Ctrl-C) before its first chunk was saved: the empty
                # folder is junk. One holding chunk files is the resume: rmdir keeps it.
                with contextlib.suppress(OSError):
                    if not parts.is_symlink():
                        parts.rmdir()
                raise
            finally:
                bar.close()

        # --- assemble -----------------------------------------------------------------
        failures = _assemble(out, chunks, fps, part_files, old, path_of, meta, bb, key)
        if parts.exists():
            shutil.rmtree(parts, ignore_errors=True)
        return EmbedResult(
            ids=ids,
            failures=failures,
            n_reused=n_reused,
            n_computed=len(pairs) - n_reused,
            seconds=time.perf_counter() - t0,
            output=out,
            backbone=bb.name,
            engine=engine_name,
            notes=notes,
        )


@dataclass
class _OldOutput:
    """What an existing vectors file at the output path offers for reuse."""

    groups: dict[str, int] = field(default_factory=dict)  # chunk fingerprint -> row group
    failures: dict[str, str] = field(default_factory=dict)  # item id -> reason
    chunks: list[str] = field(default_factory=list)
    # fingerprint -> ids of the chunk whose read error may pass: computed again
    retry: dict[str, set[str]] = field(default_factory=dict)
    # fingerprint -> the engine that computed the chunk (None: unknown, an older file)
    engines: dict[str, str | None] = field(default_factory=dict)
    n_rows: int = 0


def _old_output(out: Path, key: str, note: Callable[[str], None]) -> _OldOutput:
    """The reusable row groups of the vectors file ``out`` (none when it is missing or
    was computed with another backbone, weights or preprocessing)."""
    if not out.exists():
        return _OldOutput()
    with pq.ParquetFile(out) as pf:
        raw = (pf.schema_arrow.metadata or {}).get(META_KEY)
        n_groups, n_rows = pf.metadata.num_row_groups, pf.metadata.num_rows
    try:
        meta = parse_meta(raw, str(out))
    except VisrecError as exc:
        note(f"{exc}: nothing of it is reused; recomputing")
        return _OldOutput()
    chunks = meta.get("chunks") or []
    if meta.get("key") != key:
        note(
            f"{out}: existing vectors were computed with a different backbone, "
            f"weights or preprocessing ({meta.get('backbone')}, "
            f"{meta.get('weights_id')}); recomputing"
        )
        return _OldOutput()
    if len(chunks) != n_groups:
        return _OldOutput()
    retry = meta.get("retry") or {}
    if not isinstance(retry, dict) or not all(isinstance(v, list) for v in retry.values()):
        note(f"{out}: its list of images to compute again is damaged; recomputing")
        return _OldOutput()
    # files written before per-image retries list such a chunk under another
    # name, which matches no fingerprint: it is computed whole
    retried = sum(1 for fp in chunks if str(fp).startswith(_RETRY))
    if retried:
        note(f"{out}: computing again {retried} chunk(s) with images that had a read error")
    groups = {fp: g for g, fp in enumerate(chunks)}
    engines = meta.get("engines")
    if not isinstance(engines, list) or len(engines) != len(chunks):
        engines = [None] * len(chunks)  # written before engines were recorded
    made_by = [e if isinstance(e, str) else None for e in engines]
    return _OldOutput(
        groups=groups,
        failures={i: r for i, _, r in meta.get("failures", [])},
        chunks=chunks,
        retry={fp: {str(i) for i in ids} for fp, ids in retry.items() if fp in groups and ids},
        engines=dict(zip(chunks, made_by, strict=True)),
        n_rows=n_rows,
    )


#: a parts folder untouched this long belongs to no running embed (a chunk takes seconds)
PARTS_IDLE_S = 120.0


def _drop_idle_parts(parts: Path, note: Callable[[str], None]) -> None:
    """The chunk files of an interrupted run, once the output is up to date without
    them (a run killed after another finished the same output): removed, unless one
    was written lately (a run still going: the output's lock keeps out other runs of
    this version, but not one without it, such as an older visrec or a run where the
    filesystem has no ``flock``)."""
    if not parts.is_dir():
        return
    try:
        newest = max((f.stat().st_mtime for f in parts.iterdir()), default=0.0)
    except OSError:
        return
    if time.time() - newest >= PARTS_IDLE_S:
        shutil.rmtree(parts, ignore_errors=True)
        note(f"{parts}: chunk files of an interrupted run removed (the output is up to date)")


def _finished_parts(
    parts: Path,
    key: str,
    fps: list[str],
    chunks: list[list[tuple[str, str]]],
    note: Callable[[str], None],
) -> tuple[dict[str, Path], dict[str, set[str]]]:
    """Chunk files of an interrupted run that belong to this one (fingerprint -> file),
    and for those holding images whose read error may pass, their ids (fingerprint ->
    ids, computed again); damaged ones are recomputed, those for other images or
    another backbone ignored."""
    found: dict[str, Path] = {}
    retry: dict[str, set[str]] = {}
    if not parts.is_dir():
        return found, retry
    wanted = {fp: k for k, fp in enumerate(fps)}
    stale_key = stale_input = 0
    for f in sorted(parts.glob("chunk-*.parquet")):
        fp = f.stem.removeprefix("chunk-")
        if fp in wanted:
            # Validate now (cheap: ids and errors only) so a damaged file is simply
            # recomputed rather than failing the final assembly.
            table = _read_chunk_file(f, key, fp, ["item_id", "error"])
            ids = None if table is None else table.column("item_id").to_pylist()
            if table is None or ids != [i for i, _ in chunks[wanted[fp]]]:
                note(f"{f}: damaged chunk file, recomputing it")
                continue
            found[fp] = f
            errors = table.column("error").to_pylist()
            again = {i for i, e in zip(ids, errors, strict=True) if is_transient(e)}
            if again:
                retry[fp] = again
            continue
        try:
            m = parse_meta(pq.read_schema(f).metadata.get(META_KEY), str(f))
        except Exception:
            m = {}
        if m.get("key") not in (None, key):
            stale_key += 1
        else:
            stale_input += 1
    if stale_key:
        note(
            f"{parts}: ignoring {stale_key} chunk(s) computed with a different backbone, "
            "weights or preprocessing"
        )
    if stale_input:
        note(f"{parts}: ignoring {stale_input} chunk(s) for other or changed images")
    return found, retry


def _with_kept_rows(
    base: Path | int,
    out: Path,
    old: _OldOutput,
    fp: str,
    ids: list[str],
    redo: list[tuple[str, str]],
    vectors: np.ndarray,
    has: np.ndarray,
    errors: list[str | None],
) -> tuple[np.ndarray, np.ndarray, list[str | None], str | None]:
    """The whole chunk ``fp`` of ``ids``: the rows of ``redo`` just computed
    (``vectors``, ``has``, ``errors``) put among the rows kept from ``base``, a chunk
    file or a row group of the old output; and the engine of the kept rows."""
    columns = ["item_id", "vector", "has_image"]
    if isinstance(base, Path):
        table = pq.read_table(base, columns=[*columns, "error"])
        kept_errors: list[str | None] = table.column("error").to_pylist()
        kept_by = _chunk_engine(table)
        source = str(base)
    else:
        with pq.ParquetFile(out) as pf:
            table = pf.read_row_group(base, columns=columns)
        kept_errors = [old.failures.get(i) for i in ids]
        kept_by = old.engines.get(fp)
        source = str(out)
    kept = table_to_vectors(table.select(columns), source)
    if list(kept.ids) != ids:
        raise VisrecError(f"{source}: a chunk does not hold the images listed for it; re-run")
    row = {i: r for r, i in enumerate(ids)}
    at = [row[i] for i, _ in redo]
    full, full_has = kept.vectors.copy(), kept.has_image.copy()
    full[at], full_has[at] = vectors, has
    for r, err in zip(at, errors, strict=True):
        kept_errors[r] = err
    return full, full_has, kept_errors, kept_by


def _vectors_engine(eng: Any) -> str:
    """The engine recorded for the vectors ``eng`` computes: its name; for the Ray
    pipeline the engine inside its actors, which decides the vectors (``"ray"`` where
    the driver cannot tell: "auto" on a cluster, whose nodes choose for themselves)."""
    name = str(eng.name)
    inner = getattr(eng, "engine", None)  # RayPipeline: "auto", "onnx" or "torch"
    if name != "ray" or inner not in ("auto", "onnx", "torch"):
        return name
    if inner != "auto":
        return str(inner)
    if getattr(eng, "ray_address", None):
        return name
    # a local Ray instance: its actors choose as make_engine's "auto" does here
    from visrec.embed.engines import auto_engine_name, resolve_device

    try:
        return auto_engine_name(resolve_device(getattr(eng, "device", "auto")))
    except VisrecError:
        return name


def _chunk_engine(table: pa.Table) -> str | None:
    """The engine recorded in a chunk file's metadata (None: a file written before
    engines were recorded)."""
    try:
        engine = parse_meta((table.schema.metadata or {}).get(META_KEY), "").get("engine")
    except VisrecError:
        return None
    return engine if isinstance(engine, str) else None


def _engines_of(kept_by: str | None, kept: bool, made_by: str | None, made: bool) -> str | None:
    """The engine entry of a chunk whose rows are kept from an entry ``kept_by``, but for
    those just computed again by ``made_by``: the engines of the vectors it holds now.

    ``kept`` / ``made``: whether the kept rows / the rows computed again hold a vector.
    One name when only one engine made them, ``"onnx+torch"`` when both did (their
    vectors differ by up to ~1e-5), None when one of them is unknown; a chunk with no
    vector at all keeps its entry. No record per image is needed: only images without
    a vector (a read error) are ever computed again into a chunk (one that changed is
    computed whole), so its kept vectors are exactly those ``kept_by`` names.
    """
    if not made:  # failing again: the chunk's vectors are the kept ones
        return kept_by
    if not kept:  # the kept rows are all failures: their engine made none of its vectors
        return made_by
    if kept_by is None or made_by is None:
        return None
    return "+".join(sorted({*kept_by.split("+"), made_by}))


def _assemble(
    out: Path,
    chunks: list[list[tuple[str, str]]],
    fps: list[str],
    part_files: dict[str, Path],
    old: _OldOutput,
    path_of: dict[str, str],
    meta: dict[str, Any],
    bb: Backbone,
    key: str,
) -> list[tuple[str, str, str]]:
    """Write ``out`` from the chunk files and the reused row groups, in input order;
    returns the failures ``(item_id, path, reason)``."""
    failures: list[tuple[str, str, str]] = []
    sources: list[tuple[str, Any]] = []
    listed: list[str] = []  # the fingerprints the next run may reuse, in row-group order
    retry: dict[str, list[str]] = {}  # fingerprint -> ids the next run computes again
    engines: list[str | None] = []  # per chunk, as ``listed``: the engine that made it
    for k, fp in enumerate(fps):
        if fp in part_files:
            table = _read_chunk_file(part_files[fp], key, fp, ["item_id", "error"])
            if table is None:
                raise VisrecError(f"{part_files[fp]}: unreadable chunk; delete it and re-run")
            again: list[str] = []
            for i, err in zip(
                table.column("item_id").to_pylist(), table.column("error").to_pylist(), strict=True
            ):
                if err is not None:
                    failures.append((i, path_of[i], err))
                    if is_transient(err):  # a read error may pass: the next run tries again
                        again.append(i)
            if again:
                retry[fp] = again
            sources.append(("part", part_files[fp]))
            listed.append(fp)
            engines.append(_chunk_engine(table))
        else:
            for i, _ in chunks[k]:
                if i in old.failures:
                    failures.append((i, path_of[i], old.failures[i]))
            sources.append(("old", old.groups[fp]))
            listed.append(fp)
            engines.append(old.engines.get(fp))
    meta = {
        **meta,
        "chunks": listed,
        "engines": engines,
        "retry": retry,
        "failures": [list(f) for f in failures],
        "n": len(path_of),
        "n_ok": len(path_of) - len(failures),
    }
    schema = vectors_schema(bb.dim, meta)
    columns = ["item_id", "vector", "has_image"]
    with contextlib.ExitStack() as stack:
        old_file = None
        if any(kind == "old" for kind, _ in sources):
            old_file = stack.enter_context(pq.ParquetFile(out))
        tmp = stack.enter_context(atomic_path(out, sweep=True))
        # The old output is read while the new one is written next to it: the rename
        # at the end replaces it only once everything is in place.
        with pq.ParquetWriter(tmp, schema) as writer:
            for kind, src in sources:
                if kind == "part":
                    t = pq.read_table(src, columns=columns)
                else:
                    assert old_file is not None
                    t = old_file.read_row_group(src, columns=columns)
                writer.write_table(t.cast(schema), row_group_size=max(1, len(t)))
    return failures


def _engine_for(bb: Backbone, engine: Any, device: str, batch_size: int | None) -> Any:
    """An engine name -> ``make_engine``; an engine object is used as given."""
    if not isinstance(engine, str):
        return engine
    from visrec.embed.engines import make_engine

    return make_engine(bb, engine, device, batch_size=batch_size)


def _progress_bar(total: int, initial: int, enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="img",
        desc=desc,
        disable=not enabled,
        smoothing=0.1,
        file=sys.stderr,
    )


def _embed_in_memory(
    pairs: list[tuple[str, str]],
    chunks: list[list[tuple[str, str]]],
    bb: Backbone,
    meta: dict[str, Any],
    engine: Any,
    device: str,
    batch_size: int | None,
    workers: int | None,
    progress: bool,
    t0: float,
) -> EmbedResult:
    n = len(pairs)
    vectors = np.zeros((n, bb.dim), dtype=np.float32)
    has = np.zeros(n, dtype=bool)
    failures: list[tuple[str, str, str]] = []
    starts = np.cumsum([0] + [len(c) for c in chunks])
    engine_name = "none"
    if n:
        eng = _engine_for(bb, engine, device, batch_size)
        engine_name = eng.name

        def keep(index: int, v: np.ndarray, h: np.ndarray, errors: list[str | None]) -> None:
            s = int(starts[index])
            vectors[s : s + len(v)] = v
            has[s : s + len(v)] = h
            for j, err in enumerate(errors):
                if err is not None:
                    failures.append((pairs[s + j][0], pairs[s + j][1], err))

        bar = _progress_bar(n, 0, progress, f"embed ({eng.name})")
        try:
            _compute_chunks(
                list(enumerate(chunks)), bb, eng, workers or _default_workers(), keep, bar.update
            )
        finally:
            bar.close()
    meta = {k: v for k, v in meta.items() if k != "chunk_size"}
    iv = ItemVectors(
        ids=np.asarray([i for i, _ in pairs], dtype=object),
        vectors=vectors,
        has_image=has,
        meta=meta,
    )
    return EmbedResult(
        ids=[i for i, _ in pairs],
        failures=failures,
        n_reused=0,
        n_computed=n,
        seconds=time.perf_counter() - t0,
        output=None,
        backbone=bb.name,
        engine=engine_name,
        _vectors=iv,
    )


def find_item_images(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """``<item_id>.<ext>`` files in ``folder`` (``visrec.data.images_index.find_images``)."""
    from visrec.data.images_index import find_images

    return find_images(Path(folder))


def embed_folder(
    images_dir: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    **kw: Any,
) -> EmbedResult:
    """``embed_images`` on every ``<item_id>.<ext>`` image in ``images_dir``."""
    from visrec.data.images_index import scan_images

    scan = scan_images(Path(images_dir))
    if not scan.images:
        raise VisrecError(no_images_message(images_dir, scan.skipped_note()))
    result = embed_images(scan.images, output, **kw)
    skipped = scan.skipped_note()
    if skipped:
        result.notes.insert(0, f"{images_dir}: {skipped}")
    return result


def no_images_message(source: str | os.PathLike[str], skipped: str | None) -> str:
    """The error for a folder with no ``<item_id>.<ext>`` image, with what was skipped."""
    from visrec.data.images_index import suffix_list

    msg = f"{source}: no images named <item_id>.<{suffix_list()}> found"
    return f"{msg} ({skipped})" if skipped else msg
