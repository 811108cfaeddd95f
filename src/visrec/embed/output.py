"""The vectors file an embed run writes: what an existing one offers for reuse, what
replacing it would drop, and assembling the new one from chunk files and old row
groups (one Parquet row group per chunk, written to a temporary file then renamed)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from visrec._atomic import atomic_path
from visrec._parquet import open_parquet, parquet_writer, read_columns
from visrec.data.id_spelling import shown_ids
from visrec.embed.backbones import Backbone
from visrec.embed.chunk_files import IMAGE_KEY, chunk_engine, read_chunk_file
from visrec.embed.store import (
    META_KEY,
    is_foreign_file,
    parquet_read_error,
    parse_meta,
    table_to_ids,
    table_to_vectors,
    vectors_schema,
)
from visrec.errors import VisrecError, counted
from visrec.images.decode import is_transient

__all__ = [
    "OldOutput",
    "assemble",
    "check_dropped",
    "dropped_items",
    "engines_of",
    "holding_their_chunks",
    "old_output",
    "with_kept_rows",
]

# in the list of chunks of an output written before per-image retries (the ``retry``
# field): a chunk holding a failure that may pass (a read error), computed whole again
OLD_RETRY_CHUNK = "retry-"


@contextlib.contextmanager
def _reading(path: str | os.PathLike[str]) -> Iterator[None]:
    """A failed read of the existing output or a chunk file ``path`` said as one
    (:func:`~visrec.embed.store.parquet_read_error`: a ``ReadError`` when the system
    refused, else a damaged file), not an ``OSError`` a caller would word as the
    failed write of the output."""
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise parquet_read_error(path, exc) from exc


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
        cannot be read (a damaged file; one the system will not let visrec read is
        ``is_foreign_file``'s ``ReadError``).
    """
    if not os.path.isfile(output) or is_foreign_file(output):
        return 0, []
    try:
        old = read_columns(output, ["item_id"]).column("item_id").to_pylist()
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
        lost = (
            "1 item, not in this run; it would be dropped"
            if n_old == 1
            # more than half of two or more items: at least two
            else f"{n_old:,} items, {len(gone):,} of them not in this run; they would be dropped"
        )
        raise VisrecError(f"{output} holds {lost}: {advice}")
    example = shown_ids(gone) + (", ..." if len(gone) > 3 else "")
    if len(gone) == n_old:  # another dataset's file, replaced as asked: no loss in this run
        return (
            f"{output} held another run's {n_old:,} items, none of them in this one "
            f"({example}); it is replaced"
        )
    verb = "is" if len(gone) == 1 else "are"
    return (
        f"{output}: {len(gone):,} of its {n_old:,} items {verb} not in this run and "
        f"{verb} dropped from it ({example})"
    )


@dataclass
class OldOutput:
    """What an existing vectors file at the output path offers for reuse."""

    groups: dict[str, int] = field(default_factory=dict)  # chunk fingerprint -> row group
    failures: dict[str, str] = field(default_factory=dict)  # item id -> reason
    chunks: list[str] = field(default_factory=list)
    # fingerprint -> ids of the chunk whose read error may pass: computed again
    retry: dict[str, set[str]] = field(default_factory=dict)
    # fingerprint -> the engine that computed the chunk (None: unknown, an older file)
    engines: dict[str, str | None] = field(default_factory=dict)
    n_rows: int = 0


def chunk_size_of(out: Path) -> int | None:
    """The chunk size the vectors file ``out`` was cut with (None: no such file, not a
    visrec vectors file, or one that does not say): a run that is not given one cuts
    as it did, so its chunks, not the whole file, are reused."""
    try:
        if not out.is_file():
            return None
        with open_parquet(out) as pf:
            raw = (pf.schema_arrow.metadata or {}).get(META_KEY)
        size = parse_meta(raw, str(out)).get("chunk_size")
    # not a Parquet file, or a damaged one: said, and refused or recomputed, by the run
    except (OSError, VisrecError, pa.ArrowException):
        return None
    ok = isinstance(size, int) and not isinstance(size, bool) and size >= 1
    return size if ok else None


def old_output(out: Path, key: str, note: Callable[[str], None]) -> OldOutput:
    """The reusable row groups of the vectors file ``out`` (none when it is missing or
    was computed with another backbone, weights or preprocessing)."""
    if not out.exists():
        return OldOutput()
    with _reading(out), open_parquet(out) as pf:
        raw = (pf.schema_arrow.metadata or {}).get(META_KEY)
        n_groups, n_rows = pf.metadata.num_row_groups, pf.metadata.num_rows
    try:
        meta = parse_meta(raw, str(out))
    except VisrecError as exc:
        note(f"{exc}: nothing of it is reused; recomputing")
        return OldOutput()
    chunks = meta.get("chunks") or []
    if meta.get("key") != key:
        note(
            f"{out}: existing vectors were computed with a different backbone, "
            f"weights or preprocessing ({meta.get('backbone')}, "
            f"{meta.get('weights_id')}); recomputing"
        )
        return OldOutput()
    if len(chunks) != n_groups:
        return OldOutput()
    if chunks and meta.get("image_key") != IMAGE_KEY:
        note(
            f"{out}: made by an older visrec, which keyed the images another way (size "
            "and time alone): its vectors are computed again, once"
        )
    retry = meta.get("retry") or {}
    if not isinstance(retry, dict) or not all(isinstance(v, list) for v in retry.values()):
        note(f"{out}: its list of images to compute again is damaged; recomputing")
        return OldOutput()
    # files written before per-image retries list such a chunk under another
    # name, which matches no fingerprint: it is computed whole
    retried = sum(1 for fp in chunks if str(fp).startswith(OLD_RETRY_CHUNK))
    if retried:
        note(
            f"{out}: computing again {counted(retried, 'chunk')} with images that had a read error"
        )
    groups = {fp: g for g, fp in enumerate(chunks)}
    engines = meta.get("engines")
    if not isinstance(engines, list) or len(engines) != len(chunks):
        engines = [None] * len(chunks)  # written before engines were recorded
    made_by = [e if isinstance(e, str) else None for e in engines]
    return OldOutput(
        groups=groups,
        failures={i: r for i, _, r in meta.get("failures", [])},
        chunks=chunks,
        retry={fp: {str(i) for i in ids} for fp, ids in retry.items() if fp in groups and ids},
        engines=dict(zip(chunks, made_by, strict=True)),
        n_rows=n_rows,
    )


def holding_their_chunks(
    out: Path,
    old: OldOutput,
    fps: Sequence[str],
    chunks: Sequence[Sequence[tuple[str, str]]],
    note: Callable[[str], None],
) -> OldOutput:
    """``old`` without the row groups that do not hold their chunk's images, in order.

    Such a file was rewritten by another tool that kept its metadata (pyarrow does, when
    rows are filtered out or another file's rows added): reusing a group on its
    fingerprint alone would lose or keep items without a word. Their chunks are
    computed again."""
    wanted = {fp: [i for i, _ in chunk] for fp, chunk in zip(fps, chunks, strict=True)}
    used = [(fp, g) for fp, g in old.groups.items() if fp in wanted]
    if not used:
        return old
    try:
        with open_parquet(out) as pf:
            if "item_id" not in pf.schema_arrow.names:  # renamed by another tool
                note(f"{out}: no item_id column: nothing of it is reused; recomputing")
                return OldOutput()
            damaged: list[str] = []
            why = ""
            bad = []
            for fp, g in used:
                try:
                    ids = _group_ids(pf, g)
                except (OSError, pa.ArrowException) as exc:  # a page's CRC or encoding
                    damaged.append(fp)
                    why = why or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    continue
                if ids != wanted[fp]:
                    bad.append(fp)
    except (OSError, pa.ArrowException) as exc:  # damaged pages: its metadata read fine
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        note(f"{out}: unreadable ({first}): nothing of it is reused; recomputing")
        return OldOutput()
    if damaged:
        note(
            f"{out}: {len(damaged):,} of its row groups cannot be read back intact ({why}); "
            "those images are computed again"
        )
        for fp in damaged:
            del old.groups[fp]
            old.retry.pop(fp, None)
    if bad:
        verb = "does" if len(bad) == 1 else "do"
        note(
            f"{out}: {len(bad):,} of its row groups {verb} not hold the images its "
            "metadata lists for it (rewritten by another tool?); those images are "
            "computed again"
        )
        for fp in bad:
            del old.groups[fp]
            old.retry.pop(fp, None)
    return old


def _group_ids(pf: pq.ParquetFile, group: int) -> list[str]:
    """The item ids of a row group, spelt as ``read_vectors`` spells them (ids stored
    as numbers are the same items). Its other columns are read too, so that a damaged
    page (its CRC) is found now, while its images can still be computed again."""
    table = pf.read_row_group(group)
    return [str(i) for i in table_to_ids(table.column("item_id"), "")]


def with_kept_rows(
    base: Path | int,
    out: Path,
    old: OldOutput,
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
        with _reading(base):
            table = read_columns(base, [*columns, "error"])
        kept_errors: list[str | None] = table.column("error").to_pylist()
        kept_by = chunk_engine(table)
        source = str(base)
    else:
        with _reading(out), open_parquet(out) as pf:
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


def engines_of(kept_by: str | None, kept: bool, made_by: str | None, made: bool) -> str | None:
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


def assemble(
    out: Path,
    chunks: list[list[tuple[str, str]]],
    fps: list[str],
    part_files: dict[str, Path],
    old: OldOutput,
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
            table = read_chunk_file(part_files[fp], key, fp, ["item_id", "error"])
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
            engines.append(chunk_engine(table))
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
        # entered first, left last: the old output is closed before the rename replaces
        # it (Windows refuses to replace a file that is open; Arrow opens it so)
        tmp = stack.enter_context(atomic_path(out, sweep=True))
        old_file = None
        if any(kind == "old" for kind, _ in sources):
            with _reading(out):
                old_file = stack.enter_context(open_parquet(out))
        # The old output is read while the new one is written next to it: the rename
        # at the end replaces it only once everything is in place. A failed read is a
        # read error (_reading); only a failed write is left to be said as one.
        with parquet_writer(tmp, schema) as writer:
            for kind, src in sources:
                if kind == "part":
                    with _reading(src):
                        t = read_columns(src, columns)
                else:
                    assert old_file is not None
                    with _reading(out):
                        t = old_file.read_row_group(src, columns=columns)
                writer.write_table(t.cast(schema), row_group_size=max(1, len(t)))
    return failures
