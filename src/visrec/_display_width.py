"""Text padded by the columns a terminal gives it: a wide character (CJK, full-width
forms: East Asian width 'W' or 'F') takes two, which ``str.ljust`` and pandas' default
``to_string`` count as one, so a table with one stood a column out."""

from __future__ import annotations

import unicodedata
from contextlib import AbstractContextManager
from typing import Any

import pandas as pd


def display_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: two per wide character, none for a
    combining mark, one for any other."""
    width = 0
    for c in text:
        if unicodedata.combining(c):
            continue
        width += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return width


def ljust_display(text: str, width: int) -> str:
    """``text`` padded with spaces on the right to ``width`` terminal columns."""
    return text + " " * max(0, width - display_width(text))


def wide_aware() -> AbstractContextManager[Any]:
    """The pandas options under which ``to_string`` pads by terminal columns."""
    return pd.option_context("display.unicode.east_asian_width", True)
