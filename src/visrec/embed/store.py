"""Item vectors on disk: one Parquet file, ``item_id`` / ``vector`` / ``has_image``.

Schema metadata (key ``visrec``) records the backbone, dim, preprocessing and visrec
version, so vectors from different backbones are never mixed up.

Here: reading a vectors file (:func:`read_vectors`, :func:`read_vector_ids`,
:func:`vector_width`) with its checks and the advice for a file that is no visrec
vectors file (a folder, CSV, vectors spread over number columns...), and writing one
(:func:`write_vectors`). The container :class:`ItemVectors` lives in
:mod:`visrec.embed.item_vectors`; the checks of vector values (NaN, duplicates,
spread) in :mod:`visrec.embed.vector_checks`; the file's metadata in
:mod:`visrec.embed.vectors_meta`. All are importable from here as before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from visrec._atomic import atomic_path, check_input_exists, require_utf8_name
from visrec._parquet import open_parquet, read_columns, write_table
from visrec.data.id_spelling import find_ids, ids_as_text, is_one_id, shown
from visrec.data.row_reasons import spaced_ids_note
from visrec.embed.item_vectors import ItemVectors as ItemVectors
from visrec.embed.item_vectors import image_flags as image_flags
from visrec.embed.item_vectors import vector_rows as vector_rows
from visrec.embed.vector_checks import MAX_ABS_VALUE as MAX_ABS_VALUE
from visrec.embed.vector_checks import OUTLIER_LENGTH as OUTLIER_LENGTH
from visrec.embed.vector_checks import ROW_BLOCK as ROW_BLOCK
from visrec.embed.vector_checks import UNUSABLE_VALUES as UNUSABLE_VALUES
from visrec.embed.vector_checks import check_finite_vectors as check_finite_vectors
from visrec.embed.vector_checks import check_some_vector as check_some_vector
from visrec.embed.vector_checks import distinct_rows as distinct_rows
from visrec.embed.vector_checks import duplicate_groups as duplicate_groups
from visrec.embed.vector_checks import duplicate_note as duplicate_note
from visrec.embed.vector_checks import finite_rows as finite_rows
from visrec.embed.vector_checks import nonzero_rows as nonzero_rows
from visrec.embed.vector_checks import spread_notes as spread_notes
from visrec.embed.vector_checks import usable_rows as usable_rows
from visrec.embed.vector_checks import usable_values as usable_values
from visrec.embed.vectors_meta import EMBED_RUN_KEYS as EMBED_RUN_KEYS
from visrec.embed.vectors_meta import META_KEY as META_KEY
from visrec.embed.vectors_meta import VECTORS_FORMAT as VECTORS_FORMAT
from visrec.embed.vectors_meta import backbone_names as backbone_names
from visrec.embed.vectors_meta import described as described
from visrec.embed.vectors_meta import made_differently as made_differently
from visrec.embed.vectors_meta import parse_meta as parse_meta
from visrec.embed.vectors_meta import read_vectors_meta as read_vectors_meta
from visrec.embed.vectors_meta import vectors_schema as vectors_schema
from visrec.errors import (
    ArgumentTypeError,
    SystemRefusal,
    VisrecError,
    errno_of,
    names_text,
    unreadable_file,
)


def vectors_to_table(iv: ItemVectors) -> pa.Table:
    """``iv`` as an Arrow table with the vectors schema; the meta keeps what the vectors
    are, not an embed run's record of the file they came from (:func:`described`)."""
    flat = pa.array(iv.vectors.reshape(-1), type=pa.float32())
    return pa.Table.from_arrays(
        [
            pa.array(list(iv.ids), type=pa.string()),
            pa.FixedSizeListArray.from_arrays(flat, iv.dim),
            pa.array(iv.has_image, type=pa.bool_()),
        ],
        schema=vectors_schema(iv.dim, described(iv.meta)),
    )


def table_to_vectors(
    table: pa.Table, source: str = "<table>", *, ids_only: bool = False, width: int | None = None
) -> ItemVectors:
    for col in ("item_id", "vector"):
        if col not in table.column_names:
            raise VisrecError(f"{source}: not a visrec vectors file ({_no_column(table, col)})")
    ids = table_to_ids(table.column("item_id"), source)
    # a file made by other tools may list only items that have a vector: all of them
    flags = (
        table.column("has_image")
        if "has_image" in table.column_names
        else pa.chunked_array([pa.array([True] * len(ids), type=pa.bool_())])
    )
    if not (pa.types.is_boolean(flags.type) or pa.types.is_integer(flags.type)):
        # bool("false") is True: a text column would mark every item as having an image
        raise VisrecError(
            f"{source}: column 'has_image' must hold true/false (or 1/0), not {flags.type}"
        )
    flag_values = flags.to_pylist()
    for col, values in (("item_id", ids), ("has_image", flag_values)):
        if None in values:
            raise VisrecError(f"{source}: row {values.index(None) + 1} has no {col}")
    if pa.types.is_integer(flags.type) and not set(flag_values) <= {0, 1}:
        raise VisrecError(f"{source}: column 'has_image' must hold 1 or 0 as integers")
    no_image = ~np.asarray(flag_values, dtype=bool) if "has_image" in table.column_names else None
    vectors = _vector_rows(table.column("vector"), ids, source, ids_only, no_image, width)
    meta = parse_meta((table.schema.metadata or {}).get(META_KEY), source)
    try:
        return ItemVectors(
            ids=np.asarray(ids, dtype=object),
            vectors=vectors,
            has_image=np.asarray(flag_values, dtype=bool),
            meta=meta,
        )
    except VisrecError as exc:
        # a blank id: its row in the file, counted from 1 as the null one above, not
        # ItemVectors' position from 0 (looked for only here, on the way out)
        blank = next((k for k, i in enumerate(ids) if isinstance(i, str) and not i.strip()), None)
        if blank is not None:
            raise VisrecError(
                f"{source}: row {blank + 1} has a blank item_id ({ids[blank]!r}); every "
                "vector needs an item id"
            ) from exc
        raise VisrecError(f"{source}: {exc}") from exc


def _no_column(table: pa.Table, col: str) -> str:
    """Why ``table`` is no vectors file, lacking ``col``: its columns (the first 8 of
    more), and for vectors spread over number columns (``f0 .. f511``, one a value, as
    pandas writes a DataFrame of an array) how to make the one list column read."""
    names = table.column_names
    shown = names_text(names[:8]) + (f", ... ({len(names):,} columns)" if len(names) > 8 else "")
    text = f"no {col!r} column; columns: {shown}"
    numbers = [
        f.name
        for f in table.schema
        if f.name != "item_id" and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
    ]
    if col == "vector" and len(numbers) >= 8:  # not a year and a price beside the ids
        text += (
            f"; the vectors look spread over {len(numbers):,} number columns "
            f"({names_text(numbers[:1])} ... {names_text(numbers[-1:])}): visrec reads one "
            "list column 'vector' (pandas: df['vector'] = list(df[cols].to_numpy('float32')))"
        )
    return text


def table_to_ids(id_col: pa.ChunkedArray, source: str) -> list[Any]:
    """The ``item_id`` column as the ids ``ItemVectors`` keeps (as text there)."""
    # a float column (pandas makes one with a gap) holds 7.0 for the item 7; a binary
    # one (pandas writes bytes so) holds the id's UTF-8 text
    kind = id_col.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_decimal(kind) and kind.scale == 0:  # DECIMAL(10,0): whole numbers
        try:
            id_col = id_col.cast(pa.int64())
        except pa.ArrowInvalid:  # beyond int64: the decimal's own digits
            return [None if d is None else str(d) for d in id_col.to_pylist()]
        kind = pa.int64()
    binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if not (text or binary or pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        # a list or struct column: each id would become Python's text of it ("['7']")
        raise VisrecError(
            f"{source}: column 'item_id' must hold text or whole numbers, not {id_col.type}"
        )
    if pa.types.is_floating(kind) or binary:
        return _stripped(list(ids_as_text(id_col.to_pandas().rename("item_id"), source)), source)
    if text:
        return _stripped(id_col.to_pylist(), source)
    return list(id_col.to_pylist())


#: vectors files whose spaced ids were noted, by :func:`_file_key`: a run reading one
#: file's ids and then its vectors (or some rows of them) says it once; the file
#: rewritten (a notebook saving it again) is another file, noted again
_NOTED: set[tuple[str, int, int, int, int]] = set()


def _file_key(source: str) -> tuple[str, int, int, int, int]:
    """The file ``source`` as it is now: its real path, and its device, inode, size and
    modification time (a rewrite in place or by a rename changes one of them)."""
    try:
        st = os.stat(source)
    except OSError:  # gone meanwhile: the path alone
        return (os.path.realpath(source), -1, -1, -1, -1)
    return (os.path.realpath(source), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _stripped(ids: list[Any], source: str) -> list[Any]:
    """``ids`` without white space around them, as the interactions and every other
    loader reads ids (docs/data.md), so that ``' i1'`` here is the interactions' ``i1``;
    said once per file, and an error naming both when two spellings become one id (one
    spelling written twice is the duplicate check's). The spaced rows are handled
    vectorised: a million of them took 7 s one by one, 1.2 s so."""
    # a blank id stays as it is: the check of blank ids names its row
    moved = [k for k, i in enumerate(ids) if isinstance(i, str) and i != i.strip() and i.strip()]
    if not moved:  # the usual case
        return ids
    import pandas as pd

    raw = pd.Series(ids, dtype=object)
    out = raw.copy()
    out.iloc[moved] = raw.iloc[moved].str.strip().to_numpy()
    joined = out[out.isin(pd.unique(out.iloc[moved].to_numpy()))]
    if joined.duplicated().any():  # rare: looked at closely only then
        spellings = pd.DataFrame({"id": joined, "raw": raw[joined.index]})
        clash = spellings[spellings.groupby("id", sort=False)["raw"].transform("nunique") > 1]
        if len(clash):
            group = clash[clash["id"] == clash["id"].iloc[0]]
            a = int(group.index[0])
            b = int(group.index[(group["raw"] != ids[a]).to_numpy()][0])
            raise VisrecError(
                f"{source}: item ids {shown(str(ids[a]))} (row {a + 1}) and "
                f"{shown(str(ids[b]))} (row {b + 1}) are one id once the spaces around ids "
                "are removed, as every loader removes them; keep one row of that item"
            )
    key = _file_key(source) if source else None  # "": a row group embed checks, no file
    if key is not None and key not in _NOTED:
        _NOTED.add(key)
        written = pd.unique(raw.iloc[moved].to_numpy())
        note = spaced_ids_note([(len(written), "item")], (str(written[0]), str(written[0]).strip()))
        print(f"note: {source}: {note}", file=sys.stderr)
    return list(out.tolist())


def _vector_rows(
    col: pa.ChunkedArray,
    ids: list[Any],
    source: str,
    ids_only: bool = False,
    no_image: np.ndarray | None = None,
    width: int | None = None,
) -> np.ndarray:
    """The ``vector`` column as float32 ``(n, d)``, filled chunk by chunk (no combined
    copy of the column next to the table); a one-line error naming the file and the
    first bad item for anything else (not lists of numbers, a missing vector, rows of
    different lengths). A missing (null) vector is read as zeros where ``no_image``
    (the file's ``has_image`` false) says the item has no picture; ``width``: the
    file's, for rows (some of a file) that all lack one."""
    kind = col.type
    if not (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    ):
        raise VisrecError(f"{source}: column 'vector' must hold lists of numbers, not {kind}")
    value = kind.value_type
    if not (pa.types.is_floating(value) or pa.types.is_integer(value)):
        raise VisrecError(
            f"{source}: column 'vector' must hold lists of numbers, not lists of {value}"
        )
    null = np.zeros(len(col), dtype=bool)
    if col.null_count:
        null = pc.is_null(col).to_numpy(zero_copy_only=False)
        # has_image false with no vector is what other tools write for an item without
        # a picture; a null where a picture is claimed (or no has_image) is a lost row
        lost = null if no_image is None else null & ~no_image
        if lost.any():
            first = int(np.flatnonzero(lost)[0])
            raise VisrecError(
                f"{source}: item {ids[first]!r} has no vector (null) ({int(lost.sum()):,} "
                f"of {len(col):,} rows{'' if no_image is None else ' with has_image true'}); "
                "an item without a picture is written with has_image false (and a vector "
                "of zeros, or none), or left out"
            )
    if pa.types.is_fixed_size_list(kind):
        d = kind.list_size
    else:
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)[~null]
        values, counts = np.unique(lengths, return_counts=True)
        # the usual length; rows without a vector: the file's
        d = int(values[np.argmax(counts)]) if len(values) else (width or 0)
        odd = np.flatnonzero(lengths != d)
        if len(odd):
            at_odd = int(np.flatnonzero(~null)[odd[0]])
            raise VisrecError(
                f"{source}: vectors of different lengths: item {ids[at_odd]!r} has "
                f"length {int(lengths[odd[0]])} where {int(counts.max()):,} of {len(lengths):,} "
                f"items have length {d}; all vectors need one length"
            )
    if d == 0 and len(col) and not ids_only:  # nothing to compare items by
        if null.all():
            raise VisrecError(
                f"{source}: no item has a vector (every row's is null, with has_image "
                "false); give the vectors of the items that have a picture"
            )
        raise VisrecError(f"{source}: every vector has length 0; a vector needs numbers")
    out = (
        np.zeros((len(col), d), dtype=np.float32)
        if null.any()
        else np.empty((len(col), d), np.float32)
    )
    at = 0
    for chunk in col.chunks:
        flat = chunk.flatten().to_numpy(zero_copy_only=False)  # a slice's own values, nulls'
        rows = ~null[at : at + len(chunk)]  # ones left out
        block = out[at : at + len(chunk)]
        # a float64 beyond float32 becomes inf here, which every user of the vectors
        # refuses naming the item (usable_rows), not numpy's warning with a source line
        with np.errstate(over="ignore"):
            if rows.all():  # the usual case: a slice (a masked write took 2-3x as long)
                block[:] = np.asarray(flat).reshape(len(chunk), d)
            else:
                block[rows] = np.asarray(flat).reshape(int(rows.sum()), d)
        at += len(chunk)
    return out


def write_vectors(path: str | os.PathLike[str], iv: ItemVectors) -> None:
    """Write ``iv`` to a Parquet file, atomically (a temporary file, then a rename).

    Parameters
    ----------
    path : str or path-like
        The ``.parquet`` file; replaced when it exists.
    iv : ItemVectors
        Columns ``item_id`` (text), ``vector`` (fixed-size list of float32) and
        ``has_image`` (bool); ``iv.meta`` (backbone, preprocessing...) goes into the
        schema metadata, less an embed run's record of its own file
        (:data:`EMBED_RUN_KEYS`: ``chunks``, ``failures``, ``n``...), which is not true
        of a copy: a later ``visrec embed`` to ``path`` computes every image.
    """
    if not isinstance(iv, ItemVectors):  # e.g. the arguments swapped
        raise ArgumentTypeError(
            f"write_vectors(path, iv): iv must be an ItemVectors, got {type(iv).__name__}"
        )
    if len(iv) and not iv.dim:
        raise VisrecError(
            "write_vectors: the item vectors have width 0 (ids only): no vectors to write"
        )
    table = vectors_to_table(iv)
    with atomic_path(path, sweep=True) as tmp:
        write_table(table, tmp)


def folder_advice(p: str) -> str:
    """What to give instead of the folder ``p`` named as a vectors file when it is a
    model folder (the vectors its train.json names) or a folder of Parquet part files
    (one table as Spark or Dask write it: join them); "" for any other folder."""
    if os.path.isfile(os.path.join(p, "model.json")):  # `visrec train -o`: it read them
        from visrec.models.model_folder import TRAIN_JSON, read_train_json

        try:
            used = read_train_json(Path(p) / TRAIN_JSON).get("vectors")
        except VisrecError:  # unreadable or not an object: advise visrec embed
            used = None
        return ": a model folder (visrec train -o); give the vectors file " + (
            f"it was trained with: {used}" if isinstance(used, str) else "from visrec embed"
        )
    try:  # Spark's _SUCCESS and hidden .crc files, Dask's _metadata beside the parts
        names = [n for n in os.listdir(p) if not n.startswith((".", "_"))]
    except OSError:
        return ""
    if names and all(n.lower().endswith(".parquet") for n in names):
        return (
            f": a folder of {len(names):,} Parquet part files (one table, as Spark or Dask "
            "write it); join them into one file, e.g. with pyarrow.parquet: "
            f"write_table(read_table({p!r}), 'vectors.parquet')"
        )
    return ""


def read_vectors(
    path: str | os.PathLike[str], *, only: Collection[str] | None = None
) -> ItemVectors:
    """Read a vectors Parquet file written by ``write_vectors`` / ``visrec embed``.

    Parameters
    ----------
    path : str or path-like
    only : collection of str, optional
        Keep just the rows of these item ids, in file order; the other rows' vectors
        are decoded a batch at a time and dropped, never held (a candidate file's few
        new items out of a catalogue's vectors: 1.8 GB peak for 100,000 x 1280 read
        whole, 0.4 GB so). Ids keep the spelling a whole read gives them. Ids not in
        the file are left out; :func:`read_vector_ids` lists the file's ids, and
        :func:`vector_width` its width. Only the kept rows are checked.

    Returns
    -------
    ItemVectors
        ``ids`` (n_items,), ``vectors`` float32 (n_items, d), ``has_image`` bool
        (n_items,) and ``meta``; a file made by other tools with ``item_id`` and
        ``vector`` columns is read too (without ``has_image``, every row has an image).

    Raises
    ------
    VisrecError
        A missing (``InputNotFoundError``, also a ``FileNotFoundError``), unreadable or
        non-Parquet file, or rows of unequal width, naming the file (and the item).
    """
    p = os.fspath(path)
    if only is not None and is_one_id(only):  # one id, not one per character; 5 too
        only = [only]  # type: ignore[list-item]
    check_input_exists(p, "vectors file")
    if os.path.isdir(p):  # pyarrow would read it as a dataset of every file inside
        raise VisrecError(
            f"vectors file {p!r} is a directory, not a file"
            + (
                folder_advice(p)
                or f" (vectors of a folder of images: visrec embed {p} -o vectors.parquet)"
            )
        )
    require_utf8_name(p)  # pyarrow encodes the name strictly: said before the content
    if not os.path.isfile(p):  # pyarrow reads a file whole, from its footer: no pipe
        raise VisrecError(
            f"vectors file {p!r} is not a regular file (a pipe or device); give the "
            ".parquet file that visrec embed writes"
        )
    require_parquet(p)
    try:
        table = _read_table(p, only)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise parquet_read_error(p, exc) from exc
    width = None
    vec = table.column("vector") if "vector" in table.column_names else None
    if only is not None and vec is not None and len(vec) and vec.null_count == len(vec):
        width = vector_width(p)  # only items without a picture kept: the file's width
    try:
        return table_to_vectors(table, source=p, width=width)
    finally:
        # Arrow's allocator kept the decoded column's pages (0.6 GB for a 100,000 x
        # 1280 catalogue) for the rest of the process once the table was gone
        del table
        pa.default_memory_pool().release_unused()


def parquet_read_error(path: str | os.PathLike[str], exc: BaseException) -> VisrecError:
    """The one-line error for a Parquet file pyarrow could not read: a damaged or
    foreign file (exit 2), a file the system would not let it read (a
    :class:`~visrec.errors.ReadError`: exit 1 for no permission or an I/O error), or a
    system that would not start pyarrow's reader threads (``ulimit -v``, a thread limit:
    exit 1; the file is not to blame)."""
    if no_reader_threads(exc):
        return SystemRefusal(
            f"{os.fspath(path)}: cannot start the threads that read it ({str(exc).strip()}): the "
            "system's limit on threads or memory is reached; free memory or raise the limit"
        )
    return unreadable_file(f"{os.fspath(path)}: {unreadable_parquet(exc)}", exc, path)


def no_reader_threads(exc: BaseException) -> bool:
    """pyarrow's words for a worker thread the system refused to start."""
    return "Failed to launch worker thread" in str(exc)


def unreadable_parquet(exc: BaseException) -> str:
    """Why a Parquet file could not be read, with what to do when a page's CRC says it
    was damaged on disk (pyarrow's own words say only that the check failed)."""
    if "checksum verification failed" in str(exc):
        return (
            f"damaged on disk (a page's checksum does not match: {exc}); if `visrec embed` "
            "wrote it, run that command again: it computes only the damaged row groups again"
        )
    return f"cannot read as Parquet ({exc})"


def vector_width(path: str | os.PathLike[str]) -> int | None:
    """The width of a vectors file's ``vector`` column without reading it: the schema's
    for a fixed-size list, else the first vector's; None for a file without one."""
    pf = open_parquet(path)
    kind = pf.schema_arrow.field("vector").type
    if pa.types.is_fixed_size_list(kind):
        return int(kind.list_size)
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        # a column of text: len() of its first value raised a TypeError from pyarrow
        raise VisrecError(
            f"{os.fspath(path)}: column 'vector' must hold lists of numbers, not {kind}"
        )
    # the first row that has a vector: a null one (has_image false) tells no width
    for batch in pf.iter_batches(batch_size=1024, columns=["vector"]):
        given = batch.column(0).drop_null()
        if len(given):
            return len(given[0])
    return None


def read_vector_ids(path: str | os.PathLike[str]) -> ItemVectors:
    """The ids and ``has_image`` flags of a vectors file, without its vectors: an
    :class:`ItemVectors` of width 0 (cheap; for the checks that look at every id)."""
    p = os.fspath(path)
    try:
        names = pq.read_schema(p).names
        table = read_columns(p, [c for c in names if c != "vector"]) if "vector" in names else None
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise parquet_read_error(p, exc) from exc
    if table is None:  # not a vectors file: read_vectors says so (after the except: its
        return read_vectors(p)  # ReadError is an OSError, not to be worded twice)
    empty = pa.array([[]] * table.num_rows, type=pa.list_(pa.float32()))
    return table_to_vectors(table.append_column("vector", empty), source=p, ids_only=True)


#: rows of the vector column decoded at a time
_READ_BATCH = 8192


def _read_table(p: str, only: Collection[str] | None = None) -> pa.Table:
    """The file as a table, its ``vector`` column decoded a batch at a time: read whole,
    256 MB of vectors peaked at 1.1 GB, a batch at a time at 0.77 GB. With ``only``,
    just the rows of those ids are kept, batch by batch."""
    # streamed 8 MB at a time: by default a row group's whole column chunk is read into
    # memory first (the size of the file again, for a file written in one row group)
    pf = open_parquet(p, buffer_size=8 << 20, pre_buffer=False)
    schema = pf.schema_arrow
    if "vector" not in schema.names:
        return pf.read()
    table = pf.read(columns=[c for c in schema.names if c != "vector"])
    keep = None
    # a missing id: read whole, so that the full read's check names the row
    if only is not None and "item_id" in table.column_names:
        col = table.column("item_id")
        if not col.null_count:
            # the ids as a whole read spells them (a float column's 1.0 is "1" only
            # when every id of the column is whole), then the rows
            spelt = [str(i) for i in table_to_ids(col, p)]
            # looked up as every other lookup does (3.0 finds "3"), not str(3.0) = "3.0"
            found = find_ids({s: k for k, s in enumerate(spelt)}, only)
            wanted = {spelt[k] for k in found if k is not None}
            keep = np.fromiter((i in wanted for i in spelt), dtype=bool, count=len(spelt))
            at = table.column_names.index("item_id")
            table = table.set_column(at, "item_id", pa.array(spelt, type=pa.string()))
            table = table.filter(pa.array(keep))
    field = schema.field("vector")
    batches = []
    at = 0
    for b in pf.iter_batches(batch_size=_READ_BATCH, columns=["vector"]):
        rows = b.column(0)
        if keep is not None:
            rows = rows.filter(pa.array(keep[at : at + len(b)]))
            at += len(b)
        batches.append(rows)
    return table.append_column(field, pa.chunked_array(batches, type=field.type))


def require_parquet(path: str) -> None:
    """A regular file that does not start as Parquet is an error saying what it looks
    like (pyarrow would say only "magic bytes not found in footer")."""
    kind = not_parquet(path)
    if kind is not None:
        raise VisrecError(
            f"{path}: not a Parquet file ({kind}); vectors are the .parquet file that "
            "visrec embed writes"
        )


def not_parquet(path: str) -> str | None:
    """What the regular file ``path`` looks like when it does not start as a Parquet
    file does (``PAR1``, or ``PARE`` with an encrypted footer), else None (a damaged
    Parquet file is left to pyarrow's own message). Never given a pipe: opening one
    would wait for a writer."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None  # pyarrow says why
    if head[:4] in (b"PAR1", b"PARE"):
        return None
    if not head:
        return "it is empty"
    if head[:2] == b"\x1f\x8b":
        return "it is gzip-compressed"
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
        return "it is an image"
    first = head.split(b"\n", 1)[0]
    if b"\x00" in first:
        return "its first bytes are not Parquet's"
    text = first.decode("utf-8", "ignore").strip()  # a character cut at byte 512 is no matter
    if text[:1] in ("{", "["):
        return "it looks like JSON"
    if "," in text or "\t" in text or ";" in text:
        return "it looks like a CSV/TSV table"
    return "it looks like text"


def is_foreign_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` exists but is not a visrec vectors file (not Parquet, or
    Parquet without visrec metadata): writing vectors there would destroy someone's data.

    Raises
    ------
    ReadError
        The system would not let it be read (no permission, an I/O error): whose it is
        cannot be told, and "not a visrec vectors file" would send the user the wrong way.
    """
    if not os.path.exists(path):
        return False
    try:
        # a dim alone is read from a fixed-size-list column, which other tools write
        # too; visrec's metadata says more (vectors_format, backbone...)
        return not set(read_vectors_meta(path)) - {"dim"}
    except OSError as exc:
        if errno_of(exc) is not None:  # refused by the system (a folder's has no errno)
            raise parquet_read_error(path, exc) from exc
        return True
    except (ValueError, VisrecError):  # not Parquet (ArrowInvalid), damaged meta
        return True
