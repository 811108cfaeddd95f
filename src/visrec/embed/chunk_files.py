"""The chunks of an embed run and their files in the parts folder.

Items are cut into chunks with content-defined boundaries (``cut_chunks``); each chunk
has a fingerprint of the key (backbone, weights, preprocessing) and of its items' ids
and file signatures, and is saved as ``OUT.parts/chunk-<fingerprint>.parquet`` once
computed, so an interrupted run resumes from the chunks it finished, also when it is
resumed with another chunk size (``finished_parts``: a chunk whose images all lie in
chunk files of another cut is put together from their rows).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from visrec._atomic import atomic_path, content_stamp, side_prefix
from visrec._parquet import read_columns, write_table
from visrec.embed.backbones import Backbone
from visrec.embed.store import META_KEY, parse_meta
from visrec.errors import VisrecError, counted
from visrec.images.decode import is_transient

Chunk = list[tuple[str, str]]

__all__ = [
    "CHUNK_FORMAT",
    "PARTS_IDLE_S",
    "backbone_key",
    "chunk_engine",
    "cut_chunks",
    "drop_idle_parts",
    "fingerprint",
    "finished_parts",
    "parts_dir",
    "read_chunk_file",
    "remove_parts",
    "vectors_engine",
    "write_chunk",
]

CHUNK_FORMAT = "visrec-embed-chunks/1"
#: how the chunk fingerprints key an image file (:func:`_signature`), recorded in the
#: chunk files and the output: one made with another can only be said to be older
IMAGE_KEY = "size-mtime-ends16k"


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


def chunk_files_in(parts: Path) -> list[Path]:
    """The finished chunk files in ``parts`` (``chunk-<fingerprint>.parquet``), sorted;
    none when it is no folder."""
    return sorted(parts.glob("chunk-*.parquet")) if parts.is_dir() else []


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
    # the ends' bytes too: ``cp -p`` of another picture over one keeps its size and
    # modification time (same-sized BMPs), and its old vector must not be reused
    return content_stamp(path) or "missing"


def fingerprint(key: str, chunk: Sequence[tuple[str, str]], unread: Container[str] = ()) -> str:
    """The chunk's key on disk; ``unread``: ids keyed as a file that could not be read
    (the key an earlier run gave a chunk whose images it could not open then)."""
    h = hashlib.sha256(key.encode())
    for item_id, path in chunk:
        sig = "missing" if item_id in unread else _signature(path)
        h.update(f"\n{item_id}\t{sig}".encode())
    return h.hexdigest()[:24]


#: the columns of every chunk file (chunk_table's), checked when one is read back
_CHUNK_COLUMNS = ("item_id", "vector", "has_image", "error")


def chunk_table(
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


def write_chunk(
    parts: Path,
    key: str,
    fp: str,
    index: int,
    engine: str | None,
    ids: Sequence[str],
    vectors: np.ndarray,
    has_image: np.ndarray,
    errors: Sequence[str | None],
) -> Path:
    """Save chunk ``index`` (fingerprint ``fp``) atomically in ``parts``; returns its file.
    ``engine`` is the engine that made its vectors, recorded in the file's metadata."""
    meta = {
        "format": CHUNK_FORMAT,
        "key": key,
        "fingerprint": fp,
        "index": index,
        "engine": engine,
        "image_key": IMAGE_KEY,
    }
    table = chunk_table(ids, vectors, has_image, errors).replace_schema_metadata(
        {META_KEY: json.dumps(meta, sort_keys=True).encode()}
    )
    dest = parts / f"chunk-{fp}.parquet"
    with atomic_path(dest) as tmp:
        write_table(table, tmp)
    return dest


def read_chunk_file(
    path: Path, key: str, fp: str, columns: list[str] | None = None
) -> pa.Table | None:
    """The chunk's table, or None when it is unreadable or not for (key, fingerprint)."""
    try:
        table = read_columns(path, columns)
        meta = parse_meta((table.schema.metadata or {}).get(META_KEY), str(path))
    except Exception:
        return None
    if meta.get("key") != key or meta.get("fingerprint") != fp:
        return None
    # a column missing (a hand-made file, another format) is a damaged chunk, recomputed,
    # not a KeyError when its rows are read
    if not set(columns or _CHUNK_COLUMNS) <= set(table.column_names):
        return None
    return table


#: a parts folder untouched this long belongs to no running embed (a chunk takes seconds)
PARTS_IDLE_S = 120.0


def drop_idle_parts(parts: Path, note: Callable[[str], None]) -> None:
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
        remove_parts(parts, note)
        note(f"{parts}: chunk files of an interrupted run removed (the output is up to date)")


def remove_parts(parts: Path, note: Callable[[str], None]) -> None:
    """Remove the chunk files (and their temporary files) in ``parts``, then the folder
    if that leaves it empty: a file embed did not write there is the user's, kept with
    a note, never removed with the folder."""
    if not parts.is_dir():
        return
    for f in [*chunk_files_in(parts), *parts.glob(".chunk-*.tmp")]:
        with contextlib.suppress(OSError):  # gone already (another run): nothing to do
            f.unlink()
    try:
        parts.rmdir()
    except OSError:
        others = sorted(f.name for f in parts.iterdir()) if parts.is_dir() else []
        if others:
            shown = ", ".join(repr(n) for n in others[:3])
            more = f" and {len(others) - 3:,} more" if len(others) > 3 else ""
            note(f"{parts}: kept, it holds files embed did not write ({shown}{more})")


def finished_parts(
    parts: Path,
    key: str,
    fps: list[str],
    chunks: list[list[tuple[str, str]]],
    note: Callable[[str], None],
    held: Container[str] = (),
) -> tuple[dict[str, Path], dict[str, set[str]]]:
    """Chunk files of an interrupted run that belong to this one (fingerprint -> file),
    and for those holding images whose read error may pass, their ids (fingerprint ->
    ids, computed again); damaged ones are recomputed, those for other images or
    another backbone ignored.

    A chunk of this run that an interrupted run cut otherwise (another chunk size)
    but finished every image of, in chunk files whose images are all unchanged, is
    put together from their rows into a chunk file of its own (:func:`_recut`), unless
    ``held`` (the fingerprints the existing output holds) lists it."""
    found: dict[str, Path] = {}
    retry: dict[str, set[str]] = {}
    if not parts.is_dir():
        return found, retry
    wanted = {fp: k for k, fp in enumerate(fps)}
    stale_key = older = damaged = 0
    others: list[Path] = []
    for f in chunk_files_in(parts):
        fp = f.stem.removeprefix("chunk-")
        if fp in wanted:
            # Validate now, every page (their CRC: a chunk is small), so a damaged file
            # is simply recomputed rather than failing the final assembly or kept.
            table = read_chunk_file(f, key, fp)
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
        if not m.get("key"):  # not Parquet, or no chunk metadata: not "an older visrec"'s
            damaged += 1
        elif m.get("key") != key:
            stale_key += 1
        elif m.get("image_key") != IMAGE_KEY:
            older += 1
        else:
            others.append(f)
    rows, n_unchanged = _rows_of(others, key, chunks)
    stale_input = len(others) - n_unchanged
    reused, lost = _recut(parts, key, fps, chunks, rows, held, found, retry)
    if reused or lost:
        but = f"; {lost:,} computed again, as their chunks here are only part done" if lost else ""
        note(
            f"{parts}: chunk files of an interrupted run whose chunks were cut otherwise "
            f"(another chunk size, or images added since): {reused:,} of their images "
            f"reused{but}"
        )
    # removed with the folder once this run is done: said, as the run they came from
    # (another command into the same output) will then start over
    gone = "not used, and removed when this run completes"
    if stale_key:
        note(
            f"{parts}: {counted(stale_key, 'chunk')} computed with a different backbone, "
            "weights or "
            f"preprocessing: {gone}"
        )
    if stale_input:
        note(f"{parts}: {counted(stale_input, 'chunk')} for other or changed images: {gone}")
    if damaged:
        note(f"{parts}: {counted(damaged, 'damaged or unreadable chunk file')}: {gone}")
    if older:
        note(
            f"{parts}: {counted(older, 'chunk')} made by an older visrec, which keyed the images "
            f"another way (size and time alone): computed again once; {gone}"
        )
    return found, retry


@dataclass
class _Row:
    """Where an image's row is in a chunk file of another cut, and whether its read
    failed with an error that may pass."""

    file: Path
    at: int
    transient: bool


def _rows_of(files: list[Path], key: str, chunks: list[Chunk]) -> tuple[dict[str, _Row], int]:
    """The rows of the chunk files ``files`` (for this key, not this run's chunks) whose
    images are all in this run and unchanged, by item id: such a file's fingerprint is
    the one of its items as they are now. Also how many of the files are so."""
    path_of = {i: p for chunk in chunks for i, p in chunk}
    rows: dict[str, _Row] = {}
    n_unchanged = 0
    for f in files:
        fp = f.stem.removeprefix("chunk-")
        table = read_chunk_file(f, key, fp, ["item_id", "error"])
        if table is None:
            continue
        ids = table.column("item_id").to_pylist()
        if not all(i in path_of for i in ids):  # an image gone: not one to tell unchanged
            continue
        if fingerprint(key, [(i, path_of[i]) for i in ids]) != fp:
            continue
        n_unchanged += 1
        for r, (i, err) in enumerate(zip(ids, table.column("error").to_pylist(), strict=True)):
            if i not in rows or (rows[i].transient and not is_transient(err)):
                rows[i] = _Row(f, r, is_transient(err))
    return rows, n_unchanged


@dataclass
class _Rows:
    """A chunk file's columns as arrays (``_recut`` reads each file once or twice)."""

    vectors: np.ndarray
    has_image: np.ndarray
    errors: list[str | None]
    engine: str | None


def _read_rows(f: Path, key: str) -> _Rows | None:
    table = read_chunk_file(f, key, f.stem.removeprefix("chunk-"))
    if table is None:  # damaged since: its images are computed
        return None
    n = table.num_rows
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return _Rows(
        vectors=np.asarray(flat, dtype=np.float32).reshape(n, -1),
        has_image=np.asarray(table.column("has_image").to_pylist(), dtype=bool),
        errors=table.column("error").to_pylist(),
        engine=chunk_engine(table),
    )


def _recut(
    parts: Path,
    key: str,
    fps: list[str],
    chunks: list[Chunk],
    rows: dict[str, _Row],
    held: Container[str],
    found: dict[str, Path],
    retry: dict[str, set[str]],
) -> tuple[int, int]:
    """Write a chunk file for each chunk of this run (not ``held``, nor in ``found``)
    whose every image has a row in ``rows``, from those rows; add it to ``found`` (and
    its images whose read error may pass to ``retry``). Returns the images so reused,
    and those of ``rows`` left to compute, their chunk having images without one."""
    reused = lost = 0
    cache: dict[Path, _Rows | None] = {}  # the last chunk's files: chunks come in order
    for k, (fp, chunk) in enumerate(zip(fps, chunks, strict=True)):
        ids = [i for i, _ in chunk]
        have = [rows[i] for i in ids if i in rows]
        if not have or fp in held or fp in found:
            continue
        if len(have) < len(ids):
            lost += sum(not row.transient for row in have)
            continue
        cache = {f: cache[f] if f in cache else _read_rows(f, key) for f in {r.file for r in have}}
        got = [cache[row.file] for row in have]
        if any(g is None for g in got):
            lost += sum(not row.transient for row in have)
            continue
        src = [(g, row.at) for g, row in zip(got, have, strict=True) if g is not None]
        vectors = np.stack([g.vectors[r] for g, r in src])
        has = np.array([g.has_image[r] for g, r in src], dtype=bool)
        errors = [g.errors[r] for g, r in src]
        found[fp] = write_chunk(parts, key, fp, k, _engine_of_rows(src), ids, vectors, has, errors)
        again = {i for i, e in zip(ids, errors, strict=True) if is_transient(e)}
        if again:
            retry[fp] = again
        reused += len(ids) - len(again)
    return reused, lost


def _engine_of_rows(src: list[tuple[_Rows, int]]) -> str | None:
    """The engine entry of a chunk of rows from chunk files ``src`` (file, row): the
    engines of those with a vector (:func:`~visrec.embed.output.engines_of`'s spelling;
    None when one is unknown), else the first file's."""
    made = [g.engine for g, r in src if g.has_image[r]]
    if not made:
        return src[0][0].engine
    if None in made:
        return None
    return "+".join(sorted({part for e in made if e is not None for part in e.split("+")}))


def vectors_engine(eng: Any) -> str:
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
    from visrec._device import torch_device
    from visrec.embed.engines import auto_engine_name

    try:
        return auto_engine_name(torch_device(getattr(eng, "device", "auto")))
    except VisrecError:
        return name


def chunk_engine(table: pa.Table) -> str | None:
    """The engine recorded in a chunk file's metadata (None: a file written before
    engines were recorded)."""
    try:
        engine = parse_meta((table.schema.metadata or {}).get(META_KEY), "").get("engine")
    except VisrecError:
        return None
    return engine if isinstance(engine, str) else None
