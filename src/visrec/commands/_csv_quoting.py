"""How visrec quotes the CSV files it writes, so that they read back as written."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Literal


def csv_quoting(*columns: Iterable[object]) -> Literal[0, 1]:
    """``csv.QUOTE_MINIMAL``, or ``csv.QUOTE_ALL`` when a value of ``columns`` (those a
    file will hold, or just their distinct ids: asked once per file, not per chunk)
    holds a carriage return: with ``"\\n"`` line ends Python's csv module (before 3.13)
    quotes a field holding ``"\\n"`` but not one holding a lone ``"\\r"``, which readers
    take for the end of the line, cutting the row in two (an id from Python)."""
    cr = any("\r" in str(value) for column in columns for value in column)
    return csv.QUOTE_ALL if cr else csv.QUOTE_MINIMAL
