"""How visrec quotes the CSV files it writes, so that they read back as written."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd


def csv_quoting(frame: pd.DataFrame) -> Literal[0, 1]:
    """``csv.QUOTE_MINIMAL``, or ``csv.QUOTE_ALL`` when a text field holds a carriage
    return: with ``"\\n"`` line ends Python's csv module (before 3.13) quotes a field
    holding ``"\\n"`` but not one holding a lone ``"\\r"``, which readers take for the
    end of the line, cutting the row in two (an id from Python or an Amazon file)."""
    for col in frame.columns:
        values = frame[col]
        numbers = getattr(values.dtype, "kind", "O") in "biufcmM"
        # object or str dtype (pandas 3 makes text columns str)
        if not numbers and "\r" in "".join(map(str, values)):
            return csv.QUOTE_ALL
    return csv.QUOTE_MINIMAL
