"""The one way visrec reads and writes Parquet files (vectors, chunk parts,
interactions and item tables): pages written with a CRC and checked when read, so a
flipped bit in a vectors file is an error, not a wrong vector used from then on."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq


def read_columns(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """``columns`` (None: all) of the Parquet file ``path`` (an error if one is missing), on one
    thread: pyarrow 14's threaded scan of damaged pages crashed the process now and then
    (a segfault) where one thread raises the error the callers handle. (pyarrow is
    imported here, not at import: the command line starts without it.)"""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns, use_threads=False, page_checksum_verification=True)


def open_parquet(path: str | os.PathLike[str], **options: Any) -> pq.ParquetFile:
    """``pyarrow.parquet.ParquetFile`` checking the pages' CRC where the file has them
    (files written by other tools mostly have none: read as they are)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(os.fspath(path), page_checksum_verification=True, **options)


def write_table(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """``table`` written to ``path`` with a CRC on every page."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, write_page_checksum=True)


def parquet_writer(path: str | os.PathLike[str], schema: pa.Schema) -> pq.ParquetWriter:
    """A ``ParquetWriter`` putting a CRC on every page."""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(path, schema, write_page_checksum=True)
