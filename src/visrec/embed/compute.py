"""Images -> vectors in memory, chunk by chunk: decoding threads feed engine batches.

Worker threads decode and preprocess images (JPEG draft mode, bounded prefetch) while
the calling thread runs the engine on batches that never cross a chunk boundary, so a
chunk's vectors do not depend on the number of workers or on which chunks an earlier
run finished. ``visrec.embed.extract`` saves and assembles what this computes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from visrec._interrupt import reraise_if_pressed
from visrec.embed.backbones import Backbone
from visrec.embed.store import nonzero_rows
from visrec.errors import VisrecError
from visrec.images.decode import BadImageError, load_image, os_failure

__all__ = ["Decoder", "compute_chunks", "default_workers"]


class Decoder:
    """Decode + preprocess in worker threads, results in input order, bounded prefetch.

    Pillow's decoders and resizers release the GIL, so threads overlap decoding with
    inference without the cost of pickling arrays between processes.
    """

    def __init__(self, backbone: Backbone, workers: int, max_inflight: int) -> None:
        self.backbone = backbone
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="visrec-decode")
        self.max_inflight = max(1, max_inflight)

    def _one(self, path: str) -> tuple[np.ndarray | None, str | None]:
        # images_index.is_web_url, written out: that module pulls pandas into decoding
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
            reraise_if_pressed(exc)  # but a Ctrl-C met in compiled code ends it: unmarked
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


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _run_batch(
    engine: Any,
    backbone: Backbone,
    rows: list[int],
    arrays: list[np.ndarray],
    vectors: np.ndarray,
    has: np.ndarray,
) -> None:
    dim = backbone.dim
    out = np.asarray(engine(np.stack(arrays)), dtype=np.float32)
    if out.ndim == 2 and out.shape[0] == len(rows) and out.shape[1] != dim:
        # one vector per image, of another width: the backbone's ``dim`` is wrong (a
        # backbone of one's own), not the engine
        raise VisrecError(
            f"backbone {backbone.name!r} returned {out.shape[1]}-d vectors (engine "
            f"{engine.name!r}), its dim says {dim}; set dim = {out.shape[1]} in its class"
        )
    if out.shape != (len(rows), dim):
        raise VisrecError(
            f"engine {engine.name!r} returned shape {out.shape}, expected ({len(rows)}, {dim})"
        )
    vectors[rows] = out
    has[rows] = True


def _check_input(backbone: Backbone, arr: np.ndarray, item: tuple[str, str]) -> None:
    """A preprocessed image of another shape than the backbone's input is its
    ``preprocess``'s mistake (a backbone of one's own), said as such: not numpy's
    "all input arrays must have the same shape" or an engine's traceback, a batch later."""
    want = (3, *backbone.input_size)
    if np.shape(arr) != want:
        raise VisrecError(
            f"backbone {backbone.name!r}: preprocess returned shape {np.shape(arr)} for "
            f"item {item[0]!r} ({item[1]}), expected {want} (channels, then its "
            "input_size (height, width))"
        )


#: the failure of an image whose vector came out all zeros
ZERO_VECTOR = "the backbone gave an all-zero vector (no picture to compare)"


def _zero_vectors_failed(
    on_chunk: Callable[[int, np.ndarray, np.ndarray, list[str | None]], None],
) -> Callable[[int, np.ndarray, np.ndarray, list[str | None]], None]:
    """``on_chunk`` with an all-zero vector made a failure: a row of zeros is no picture
    to every reader (:class:`~visrec.embed.store.ItemVectors`), so it is named as one,
    not counted "ok" and then silently treated as missing."""

    def checked(index: int, vectors: np.ndarray, has: np.ndarray, errors: list[str | None]) -> None:
        zero = np.asarray(has, dtype=bool) & ~nonzero_rows(np.asarray(vectors))
        if zero.any():
            has = np.asarray(has, dtype=bool) & ~zero
            errors = [ZERO_VECTOR if z else e for z, e in zip(zero, errors, strict=True)]
        on_chunk(index, vectors, has, errors)

    return checked


def compute_chunks(
    todo: list[tuple[int, list[tuple[str, str]]]],
    backbone: Backbone,
    engine: Any,
    workers: int,
    on_chunk: Callable[[int, np.ndarray, np.ndarray, list[str | None]], None],
    on_progress: Callable[[int], None],
) -> None:
    """Embed the chunks in ``todo``; ``on_chunk(index, vectors, has_image, errors)``."""
    on_chunk = _zero_vectors_failed(on_chunk)
    pipeline = getattr(engine, "compute_chunks", None)
    if pipeline is not None:  # a pipeline engine (Ray) decodes and infers by itself
        pipeline(todo, on_chunk, on_progress)
        return
    bs = int(engine.batch_size)
    # Engines that can run several batches at once (ONNX on CPU: one single-threaded
    # run per core) get a small pool; results land by row index, so order is unchanged.
    parallel = max(1, int(getattr(engine, "parallel", 1)))
    infer = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="visrec-infer")
    decoder = Decoder(backbone, workers, max_inflight=max(2 * bs * parallel, 4 * workers))
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
        fut = infer.submit(_run_batch, engine, backbone, rows, arrays, vectors, has)
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
                _check_input(backbone, arr, chunk[row])
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
