"""Image files -> item vectors: streaming, parallel, crash-safe and resumable.

How a run works (``embed_images(items, "vectors.parquet")``):

1. Items are cut into chunks of about ``chunk_size`` (default 512) consecutive items,
   with content-defined boundaries (a hash of the ids), so adding an image changes one
   or two chunks, not every chunk after it. Each chunk gets a fingerprint: a hash of
   the *key* (backbone name, weights id, preprocessing) and of every item's id, file
   size and modification time.
2. Chunks already computed -- files ``vectors.parquet.parts/chunk-<fingerprint>.parquet``
   left by an interrupted run, or row groups of an existing ``vectors.parquet`` whose
   metadata lists that fingerprint -- are reused; so is a chunk whose images all lie
   in chunk files of another cut (another ``chunk_size``) that are unchanged, put
   together from their rows into a chunk file of its own. A changed backbone, weights,
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

The steps live in ``chunk_files`` (1, and the chunk files of 2-3), ``compute`` (3) and
``output`` (the reused row groups of 2, and 4); this module runs them in order.
"""

from __future__ import annotations

import contextlib
import inspect
import numbers
import os
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec import __version__, _progress_lines
from visrec._atomic import (
    check_output_path,
    exclusive_lock,
    shown_path,
    sweep_temp_files,
    utf8_path,
)
from visrec._output_names import check_output_suffix
from visrec.data.id_spelling import is_one_id, spell_ids
from visrec.embed.backbones import DEFAULT_BACKBONE, Backbone, get_backbone
from visrec.embed.chunk_files import (
    IMAGE_KEY,
    backbone_key,
    cut_chunks,
    drop_idle_parts,
    fingerprint,
    finished_parts,
    parts_dir,
    remove_parts,
    vectors_engine,
    write_chunk,
)
from visrec.embed.compute import compute_chunks, default_workers
from visrec.embed.output import (
    OldOutput,
    assemble,
    check_dropped,
    chunk_size_of,
    engines_of,
    holding_their_chunks,
    old_output,
    with_kept_rows,
)
from visrec.embed.store import ItemVectors, is_foreign_file, read_vectors
from visrec.errors import (
    ArgumentTypeError,
    VisrecError,
    a_or_an,
    agree,
    counted,
    not_utf8_hint,
)
from visrec.images.decode import RETRY_PREFIX, is_transient

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
    n_computed_failed : int, default 0
        Of ``n_computed``, the items that failed (a zero vector): the rate leaves them out.
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
    n_computed_failed: int = 0
    _vectors: ItemVectors | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # counts, not every id and failure
        return (
            f"EmbedResult({counted(len(self.ids), 'item')}: {self.n_computed:,} computed, "
            f"{self.n_reused:,} reused, {len(self.failures):,} failed; {self.seconds:.1f} s, "
            f"backbone={self.backbone!r}, engine={self.engine!r}, output={self.output!r})"
        )

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
        """Items asked for (with and without a usable picture)."""
        return len(self.ids)

    @property
    def n_ok(self) -> int:
        """Items with a vector: those not in ``failures``."""
        return self.n - len(self.failures)

    @property
    def n_embedded(self) -> int:
        """Items this run gave a vector: computed (not reused) and not failed."""
        return self.n_computed - self.n_computed_failed

    @property
    def images_per_second(self) -> float:
        """Images embedded in this run (:attr:`n_embedded`) per second; 0 when none was.
        Failures are left out: a missing or corrupt file fails at once, and counted, a
        run where most images failed reported a high rate."""
        return self.n_embedded / self.seconds if self.seconds > 0 else 0.0


def _normalise_items(items: ItemsArg) -> list[tuple[str, str]]:
    _check_items_kind(items)
    given: Any = items
    # a Series maps item id -> path as a dict does; iterated, it gives only the paths
    pairs = list(given.items()) if isinstance(given, Mapping | pd.Series) else list(given)
    ids: list[object] = []
    paths: list[str] = []
    for k, entry in enumerate(pairs):
        if isinstance(entry, str | bytes):  # "ab" would unpack as item "a" at path "b"
            raise VisrecError(f"items[{k}]: expected an (item_id, path) pair, got {entry!r}")
        try:
            item_id, path = entry
        except (TypeError, ValueError):
            raise VisrecError(
                f"items[{k}]: expected an (item_id, path) pair, got {entry!r}"
            ) from None
        if isinstance(item_id, np.ndarray) and item_id.ndim == 0:
            item_id = item_id.item()  # np.array(7.0), as indexing an array gives one
        if not is_one_id(item_id):  # a tuple or list: no one id (spelt, its first part)
            kind = type(item_id).__name__
            raise VisrecError(
                f"items[{k}]: item id {item_id!r} is {a_or_an(kind)} {kind}, not one id "
                "(text or a number)"
            )
        if bool(pd.isna(item_id)):  # spelt, the item 'nan' or 'None'
            raise VisrecError(f"items[{k}]: item id {item_id!r} is missing; give it an id")
        if not isinstance(path, str | os.PathLike):  # None or a number: os.fspath's TypeError
            raise VisrecError(
                f"items[{k}]: the location of item {item_id!r} is {path!r}, not a path"
            )
        ids.append(item_id)
        paths.append(os.fspath(path))
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    # all at once, as ItemVectors spells them: floats all whole -> "7", else "7.0", "8.5"
    for k, (sid, path) in enumerate(zip(spell_ids(ids), paths, strict=True)):
        if not sid.strip():
            raise VisrecError(f"items[{k}]: item id {sid!r} is blank; give it an id")
        try:
            sid.encode("utf-8")
        except UnicodeEncodeError:  # a file name's undecodable bytes: Parquet needs UTF-8
            raise VisrecError(
                f"item id {sid!r} (position {k}) is not valid UTF-8; rename its file"
            ) from None
        if sid in seen:
            raise VisrecError(f"item id {sid!r} is listed twice (second at position {k})")
        seen.add(sid)
        out.append((sid, path))
    return out


def _check_items_kind(items: object) -> None:
    """An ``items`` that iterates into something else than (id, path) pairs: a folder's
    path (its characters), a DataFrame (its column names, a two-letter one read as a
    pair), a number."""
    usage = "items must be a mapping item_id -> path or a sequence of (item_id, path) pairs"
    if isinstance(items, str | bytes | os.PathLike):
        raise ArgumentTypeError(
            f"embed_images: {usage}, got the path {os.fsdecode(items)!r}; for a folder of "
            "<item_id>.<ext> images use embed_folder(folder, output)"
        )
    if isinstance(items, pd.DataFrame):
        raise ArgumentTypeError(
            f"embed_images: {usage}, got a DataFrame (iterated, it gives its column names); "
            "pass its id and path columns as pairs, e.g. zip(df['item_id'], df['path'])"
        )
    if not isinstance(items, Iterable):
        raise ArgumentTypeError(f"embed_images: {usage}, got {type(items).__name__}")


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
    chunk_size: int | None = None,
    ray_address: str | None = None,
    overwrite: bool = False,
) -> EmbedResult:
    """Embed item images into vectors, streaming to ``output`` and resuming if possible.

    Parameters
    ----------
    items : mapping of item_id -> path, or sequence of (item_id, path)
        Output rows follow this order. ``http(s)://`` locations are reported as
        failures. A pandas Series (index item_id, values path) counts as a mapping; a
        folder's path, a DataFrame or a non-iterable raises ``ArgumentTypeError`` (for a
        folder: :func:`embed_folder`).
    output : path, optional
        Parquet file (``visrec.embed.store`` format). With an output the run is
        chunked, crash-safe and resumable; without one everything stays in memory.
        One run per output at a time: while another holds it (``exclusive_lock``),
        ``VisrecError`` is raised at once, naming the other's pid.
    backbone : str or Backbone, default "efficientnet-lite0"
    engine : {"auto", "torch", "onnx", "ray"}, default "auto"
        ``"auto"`` uses ONNX Runtime when available (see ``engines.make_engine``), else
        PyTorch. ``"ray"`` runs the
        same extraction as a Ray Data pipeline (``visrec.embed.ray_engine``).
        An engine object (e.g. ``ray_engine.RayPipeline``) is used as given.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default "auto"
        ``"auto"`` takes the GPU when the engine can use one; ``"cuda:N"`` the N-th GPU.
    batch_size : int, optional
        Default: the engine's preferred batch (on CPU 4 for ONNX Runtime, 16 for torch).
    workers : int, optional
        Decode threads; default min(4, number of CPUs). Does not change the result.
    progress : bool, default True
        tqdm progress bar and notes on stderr.
    chunk_size : int, optional
        Mean images per resumable chunk (and per Parquet row group); chunks hold
        between ``chunk_size // 4`` and ``2 * chunk_size`` images (see ``cut_chunks``).
        Default: the one ``output`` was made with, when it is a vectors file that says
        (reuse of it is by chunk: another size recomputes every image), else 512. The
        images an interrupted run finished are reused under any size: a chunk they
        cover whole is put together from its chunk files (``finished_parts``).
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
    # the size an existing output was cut with: the default, and a note when another is given
    made = None if output is None else chunk_size_of(Path(output))
    if chunk_size is None:
        chunk_size = made or DEFAULT_CHUNK_SIZE
    # 2.5 was kept in the metadata and no later run reused a chunk; "2" failed deep inside
    chunk_size = _count_arg(chunk_size, "chunk size")
    workers = None if workers is None else _count_arg(workers, "workers")
    batch_size = None if batch_size is None else _count_arg(batch_size, "batch size")
    if not isinstance(backbone, str | Backbone):
        raise VisrecError(_not_a_backbone(backbone))
    if isinstance(engine, str) and engine.strip().lower() == "ray":
        return _embed_with_ray(
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

    bb = get_backbone(backbone) if isinstance(backbone, str) else backbone
    key = backbone_key(bb)
    meta = _vectors_meta(bb, key, chunk_size)
    chunks = cut_chunks(pairs, chunk_size)
    if output is None:
        return _embed_in_memory(
            pairs, chunks, bb, meta, engine, device, batch_size, workers, progress, t0
        )

    out = Path(output)
    run = _Run(out, _check_output(out), bb, key, meta, pairs, chunks, progress, t0)
    # One run per output: a second one would read this one's chunk files mid-write, or
    # lose its parts folder when this one removes it, and fail with a wrong hint.
    with exclusive_lock(out, "visrec embed") as held:
        foreign, dropped = _claim_output(run, held, overwrite)
        fps = [fingerprint(key, c) for c in chunks]

        # --- what can be reused -------------------------------------------------------
        old = _what_to_reuse(run, fps, foreign, dropped)
        if made is not None and made != chunk_size and not foreign:
            alike = sum(f in old.groups for f in fps)
            run.note(
                f"{out}: made with a chunk size of {made}, this run's is {chunk_size}: "
                f"reuse is by chunk, so only the chunks both cut alike are reused ({alike:,} "
                f"of {len(fps):,}); with chunk size {made} each unchanged image would be"
            )
        if _up_to_date(old, fps, len(pairs)):
            return _reused_whole(run, old)
        part_files, part_retry = finished_parts(
            run.parts, key, fps, chunks, run.note, held=old.groups
        )

        # --- compute what is missing --------------------------------------------------
        todo, partial, n_reused = _plan(fps, chunks, old, part_files, part_retry, key)
        _tell_plan(run, partial, n_reused)
        engine_name = "reused"
        if todo:
            job = _Job(out, run.parts, bb, key, fps, chunks, old, part_files, partial)
            engine_name = _compute_missing(
                job, todo, engine, device, batch_size, workers, progress, len(pairs), n_reused
            )

        # --- assemble -----------------------------------------------------------------
        failures = assemble(out, chunks, fps, part_files, old, run.path_of, meta, bb, key)
        remove_parts(run.parts, run.note)
        computed = {i for _, items in todo for i, _ in items}
        return run.result(failures, n_reused, engine_name, computed)


#: the failure of a picture that is not there (images.decode.os_failure)
NOT_FOUND = "file not found"


def _embed_with_ray(
    pairs: list[tuple[str, str]], output: str | os.PathLike[str] | None, **options: Any
) -> EmbedResult:
    """``embed_images`` with ``engine="ray"``: the same run as a Ray Data pipeline."""
    try:
        from visrec.embed.ray_engine import embed_with_ray
    except ModuleNotFoundError as exc:
        raise VisrecError(f"engine 'ray' is not available ({exc})") from exc
    result: EmbedResult = embed_with_ray(pairs, output, **options)
    return result


@dataclass
class _Run:
    """One run of ``embed_images`` to an output file: what its steps share, and its notes."""

    out: Path
    parts: Path
    bb: Backbone
    key: str
    meta: dict[str, Any]
    pairs: list[tuple[str, str]]
    chunks: list[Chunk]
    progress: bool
    t0: float
    notes: list[str] = field(default_factory=list)
    ids: list[str] = field(init=False)
    path_of: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        """Index ``pairs``: the ids in input order, and each id's path."""
        self.ids = [i for i, _ in self.pairs]
        self.path_of = dict(self.pairs)

    def note(self, msg: str) -> None:
        """Keep ``msg`` for the result's notes and, with progress on, print it now."""
        self.notes.append(msg)
        if self.progress:  # as it happens, above the bar
            print(f"note: {msg}", file=sys.stderr)

    def result(
        self,
        failures: list[tuple[str, str, str]],
        n_reused: int,
        engine: str,
        computed: Collection[str] = (),
    ) -> EmbedResult:
        """The run's ``EmbedResult``, timed now; the items not reused count as computed,
        the ``failures`` among ``computed`` (this run's items) as computed and failed."""
        return EmbedResult(
            ids=self.ids,
            failures=failures,
            n_reused=n_reused,
            n_computed=len(self.pairs) - n_reused,
            seconds=time.perf_counter() - self.t0,
            output=self.out,
            backbone=self.bb.name,
            engine=engine,
            notes=self.notes,
            n_computed_failed=sum(i in computed for i, _, _ in failures),
        )


def _claim_output(run: _Run, held: bool, overwrite: bool) -> tuple[bool, str | None]:
    """Sweep a killed run's temporary files and refuse an output that must not be
    replaced; returns whether it is a foreign file, and ``check_dropped``'s note."""
    out = run.out
    if held:  # no other writer: a temp file of the output is a killed run's, maybe
        # as big as the output itself; without the lock the hour-old rule stands
        # beside the file a symlinked output names: where atomic_path writes
        sweep_temp_files(os.path.realpath(out), max_age=0.0)
    foreign = is_foreign_file(out)
    # an empty file (touch, mktemp) holds nothing to lose: replaced, as every output is
    if foreign and not overwrite and not empty_file(out):
        raise VisrecError(
            f"{out} exists and is not a visrec vectors file; give another output, or "
            "overwrite=True to replace it"
        )
    dropped = None if foreign else check_dropped(out, run.ids, overwrite)
    return foreign, dropped


def empty_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file of no bytes."""
    try:
        return os.path.isfile(path) and os.path.getsize(path) == 0
    except OSError:
        return False


def _what_to_reuse(run: _Run, fps: list[str], foreign: bool, dropped: str | None) -> OldOutput:
    """The row groups of the existing output that hold chunks of this run (with notes)."""
    if foreign:
        if not empty_file(run.out):
            run.note(f"{run.out}: existing file is not a visrec vectors file; it will be replaced")
        old = OldOutput()
    else:
        old = holding_their_chunks(
            run.out, old_output(run.out, run.key, run.note), fps, run.chunks, run.note
        )
    if dropped:
        run.note(dropped)
    return old


def _up_to_date(old: OldOutput, fps: list[str], n_items: int) -> bool:
    """Whether the old output holds every chunk, each whole, and no image to read again."""
    # A read error that may pass is retried whether or not the file lists it under
    # ``retry``: a visrec from before per-image retries rewrites the file without it.
    pending = bool(old.retry) or any(is_transient(r) for r in old.failures.values())
    whole = old.chunks == fps and len(old.groups) == len(fps)  # each group its chunk
    return bool(old.groups) and whole and old.n_rows == n_items and not pending


def _reused_whole(run: _Run, old: OldOutput) -> EmbedResult:
    """The result of a run whose output is up to date: its failures kept, nothing computed."""
    kept = [(i, run.path_of[i], r) for i, r in old.failures.items() if i in run.path_of]
    if run.progress:
        print(f"{run.out}: up to date, reused {counted(len(run.pairs), 'vector')}", file=sys.stderr)
    drop_idle_parts(run.parts, run.note)
    return run.result(kept, len(run.pairs), "reused")


def _tell_plan(run: _Run, partial: dict[int, tuple[Path | int, Chunk]], n_reused: int) -> None:
    """Note the images computed again among kept rows; say what a resumed run reuses."""
    if partial:
        n_again = sum(len(redo) for _, redo in partial.values())
        run.note(
            f"{run.out}: computing again {counted(n_again, 'image')} that had a read error "
            f"(the other vectors of {agree(n_again, 'its', 'their')} "
            f"{counted(len(partial), 'chunk')} are reused)"
        )
    if n_reused and run.progress:
        print(
            f"resuming: reused {counted(n_reused, 'vector')}, "
            f"{len(run.pairs) - n_reused} to compute",
            file=sys.stderr,
        )


def _vectors_meta(bb: Backbone, key: str, chunk_size: int) -> dict[str, Any]:
    """The schema metadata a vectors file records about how it was made."""
    return {
        "backbone": bb.name,
        "dim": bb.dim,
        "preprocessing": bb.preprocessing,
        "weights_id": bb.weights_id,
        "visrec_version": __version__,
        "key": key,
        "chunk_size": chunk_size,
        "image_key": IMAGE_KEY,
    }


@dataclass
class _Job:
    """What one resumable run to ``out`` writes chunk files against."""

    out: Path
    parts: Path
    bb: Backbone
    key: str
    fps: list[str]
    chunks: list[Chunk]
    old: OldOutput
    part_files: dict[str, Path]
    partial: dict[int, tuple[Path | int, Chunk]]


def _compute_missing(
    job: _Job,
    todo: list[tuple[int, Chunk]],
    engine: str | Any,
    device: str,
    batch_size: int | None,
    workers: int | None,
    progress: bool,
    n_total: int,
    n_reused: int,
) -> str:
    """Embed the chunks ``todo``, writing each as a chunk file under ``job.parts`` (its
    path recorded in ``job.part_files``); returns the engine's name."""
    bb, fps, chunks, partial, out, old = job.bb, job.fps, job.chunks, job.partial, job.out, job.old
    eng = _engine_for(bb, engine, device, batch_size)
    made_by_eng = vectors_engine(eng)
    job.parts.mkdir(parents=True, exist_ok=True)

    def save_chunk(
        index: int, vectors: np.ndarray, has: np.ndarray, errors: list[str | None]
    ) -> None:
        fp = fps[index]
        ids = [i for i, _ in chunks[index]]
        if NOT_FOUND in errors and fingerprint(job.key, chunks[index]) != fp:
            # a picture went away while the run read them (moved, being restored): kept
            # under the key of the file as it was, "not found" would stay for good
            # once it came back unchanged; retried next run instead
            errors = [RETRY_PREFIX + e if e == NOT_FOUND else e for e in errors]
        made_by: str | None = made_by_eng
        if index in partial:  # the images computed again, among the kept rows
            base, redo = partial[index]
            computed = bool(np.asarray(has).any())  # failing again: no vector
            vectors, has, errors, kept_by = with_kept_rows(
                base, out, old, fp, ids, redo, vectors, has, errors
            )
            redone = {i for i, _ in redo}
            kept_any = any(h for i, h in zip(ids, has, strict=True) if i not in redone)
            made_by = engines_of(kept_by, kept_any, made_by, computed)
        job.part_files[fp] = write_chunk(
            job.parts, job.key, fp, index, made_by, ids, vectors, has, errors
        )

    bar = _progress_bar(n_total, n_reused, progress, f"embed ({eng.name})")
    try:
        compute_chunks(
            todo, bb, eng, workers or default_workers(), save_chunk, _counted(bar, n_reused)
        )
    except BaseException:
        # failed (a full disk, Ctrl-C) before its first chunk was saved: the empty
        # folder is junk. One holding chunk files is the resume: rmdir keeps it.
        with contextlib.suppress(OSError):
            if not job.parts.is_symlink():
                job.parts.rmdir()
        raise
    finally:
        bar.close()
    return str(eng.name)


def check_utf8_output(out: str | os.PathLike[str], label: str = "output") -> None:
    """Refuse a Parquet output name that is not valid UTF-8 (or that Python holds as
    surrogates, under ``LC_ALL=C`` with ``PYTHONUTF8=0``): pyarrow would refuse it only
    at the first chunk's write."""
    if not utf8_path(out):
        raise VisrecError(
            f"{label} '{shown_path(out)}': the name is not valid UTF-8, which Parquet files "
            f"need; rename it{not_utf8_hint()}"
        )


def _check_output(out: Path) -> Path:
    """Refuse an output path that cannot work, before any model is loaded; returns the
    parts folder of its chunk files."""
    if out.is_dir():
        raise VisrecError(f"output {out} is a folder; expected a .parquet file path")
    check_output_path(out)  # not a pipe or device: reading it for reuse would block
    check_output_suffix(out, "output", "Parquet")  # "v.csv" would hold Parquet, as the CLI says
    check_utf8_output(out)
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
    return parts


Chunk = list[tuple[str, str]]


def _plan(
    fps: list[str],
    chunks: list[Chunk],
    old: OldOutput,
    part_files: dict[str, Path],
    part_retry: dict[str, set[str]],
    key: str,
) -> tuple[list[tuple[int, Chunk]], dict[int, tuple[Path | int, Chunk]], int]:
    """What to compute: ``(todo, partial, n_reused)``.

    ``todo`` lists (chunk index, items) to embed. A chunk file or row group holding
    images whose read error may pass has only those images computed again, into the
    chunk's other rows: ``partial`` maps its index to where its rows are kept (a chunk
    file, or a row group of the old output) and the items computed again. A chunk file
    that the old output holds whole is dropped from ``part_files``.
    """
    todo: list[tuple[int, Chunk]] = []
    partial: dict[int, tuple[Path | int, Chunk]] = {}
    n_reused = 0
    # once, not per chunk: every chunk misses when the image list changed
    retried: set[str] = set().union(*old.retry.values()) if old.retry else set()
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
        elif (alt := _unread_then(key, chunk, old, retried)) is not None:
            # its images that could not be opened then (chmod) are readable now: the
            # chunk changed key, not content; only those are computed again
            base, again = old.groups[alt], old.retry[alt]
            old.engines.setdefault(fp, old.engines.get(alt))
        else:
            todo.append((k, chunk))
            continue
        redo = [item for item in chunk if item[0] in again]
        if redo:
            partial[k] = (base, redo)
            todo.append((k, redo))
        n_reused += len(chunk) - len(redo)
    return todo, partial, n_reused


def _unread_then(key: str, chunk: Chunk, old: OldOutput, retried: set[str]) -> str | None:
    """The fingerprint of the old output's row group that holds ``chunk`` as keyed when
    its images listed under ``retry`` (``retried``: all of them) could not be read
    (None: no such group)."""
    unread = {i for i, _ in chunk if i in retried}
    if not unread:
        return None
    alt = fingerprint(key, chunk, unread)
    return alt if alt in old.groups and unread <= old.retry.get(alt, set()) else None


def _count_arg(value: object, what: str) -> int:
    """``value`` as a count of at least 1: an int, not a float or a bool."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise VisrecError(f"{what} must be an integer, got {value!r}")
    if value < 1:
        raise VisrecError(f"{what} must be >= 1, got {value}")
    return int(value)


def _not_a_backbone(value: object) -> str:
    """Why ``value`` is no ``backbone`` argument (a name or a Backbone instance)."""
    if isinstance(value, type) and issubclass(value, Backbone):
        return (
            f"backbone: {value.__name__} is a Backbone class; pass an instance "
            f"({value.__name__}()) or a registered name"
        )
    return f"backbone must be a name or a Backbone instance, got {value!r}"


def _engine_for(bb: Backbone, engine: Any, device: str, batch_size: int | None) -> Any:
    """An engine name -> ``make_engine``; an engine object is used as given."""
    if not isinstance(engine, str):
        return engine
    from visrec.embed.engines import make_engine

    return make_engine(bb, engine, device, batch_size=batch_size)


def _progress_bar(total: int, initial: int, enabled: bool, desc: str) -> Any:
    """A tqdm bar of images on stderr (``initial`` of them already done)."""
    from visrec._bars import progress_bar

    return progress_bar(
        total=total,
        initial=initial,
        unit="img",
        desc=desc,
        show=enabled,
        smoothing=0.1,
        file=sys.stderr,
    )


def _counted(bar: Any, done: int) -> Callable[[int], None]:
    """``bar.update``, which also writes a line a minute where no bar shows (a log file,
    in ``visrec embed``'s ``fit_lines`` block): an hour of embedding was silent there."""
    _progress_lines.fit_started()
    begun, total = time.monotonic(), int(bar.total or 0)

    def update(k: int) -> None:
        nonlocal done
        done += k
        bar.update(k)
        _progress_lines.step_done("embed", done, total, "images", begun)

    return update


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
    """``embed_images`` with no output file: every vector in memory, nothing to resume."""
    n = len(pairs)
    vectors = np.zeros((n, bb.dim), dtype=np.float32)
    has = np.zeros(n, dtype=bool)
    failures: list[tuple[str, str, str]] = []
    starts = np.cumsum([0] + [len(c) for c in chunks])
    engine_name = "none"
    if n:
        eng = _engine_for(bb, engine, device, batch_size)
        engine_name = str(eng.name)

        def keep(index: int, v: np.ndarray, h: np.ndarray, errors: list[str | None]) -> None:
            s = int(starts[index])
            vectors[s : s + len(v)] = v
            has[s : s + len(v)] = h
            for j, err in enumerate(errors):
                if err is not None:
                    failures.append((pairs[s + j][0], pairs[s + j][1], err))

        bar = _progress_bar(n, 0, progress, f"embed ({eng.name})")
        try:
            compute_chunks(
                list(enumerate(chunks)), bb, eng, workers or default_workers(), keep,
                _counted(bar, 0),
            )  # fmt: skip
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
        n_computed_failed=len(failures),
        _vectors=iv,
    )


#: embed_images' keyword-only arguments, which embed_folder passes on
EMBED_OPTIONS = frozenset(
    name
    for name, param in inspect.signature(embed_images).parameters.items()
    if param.kind is inspect.Parameter.KEYWORD_ONLY
)


def embed_folder(
    images_dir: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    recursive: bool = False,
    **kw: Any,
) -> EmbedResult:
    """Embed every ``<item_id>.<ext>`` image in ``images_dir`` (``visrec embed DIR``).

    Parameters
    ----------
    images_dir : str or path-like
        A folder of images named by item id.
    output : str or path-like, optional
        The vectors ``.parquet`` file; with one the run is chunked and resumable.
    recursive : bool, default False
        Also read the images in its subfolders (``visrec embed --recursive``).
    **kw
        The other arguments of :func:`embed_images` (``backbone``, ``engine``,
        ``device``, ``batch_size``, ``workers``, ``progress``, ``chunk_size``,
        ``ray_address``, ``overwrite``).

    Returns
    -------
    EmbedResult
        Counts, failures and notes; what was skipped in the folder comes first in
        ``notes``.
    """
    from visrec.data.images_index import scan_images

    unknown = sorted(set(kw) - EMBED_OPTIONS)
    if unknown:  # before a big folder is listed, and in this function's name
        raise ArgumentTypeError(
            f"embed_folder() got an unexpected keyword argument {unknown[0]!r}; it takes "
            f"{', '.join(sorted(EMBED_OPTIONS))} (those of embed_images)"
        )
    scan = scan_images(Path(images_dir), recursive=recursive)
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
