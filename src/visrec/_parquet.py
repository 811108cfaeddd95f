"""The one way visrec reads whole columns of a Parquet file (vectors, chunk parts,
interactions and item tables)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def read_columns(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """``columns`` (None: all) of the Parquet file ``path`` (an error if one is missing), on one
    thread: pyarrow 14's threaded scan of damaged pages crashed the process now and then
    (a segfault) where one thread raises the error the callers handle. (pyarrow is
    imported here, not at import: the command line starts without it.)"""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns, use_threads=False)
