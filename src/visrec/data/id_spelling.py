"""Ids that differ only in how a whole number is written (``7``, ``007``, ``7.0``).

visrec compares ids as written: an id is a name (``A-007`` is not ``A-7``), and a file
read back must give the ids it was given. So ``007`` in one file and ``7`` in another
are two items, and a judge's ``7.0`` is not the training item ``7``. These helpers
find such pairs, only to say so in the notes that report unmatched ids; nothing is
renamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

# a whole number with leading zeros, a '+', a '.0' tail or spaces around it; the
# number without them (at least one digit: '000' is '0')
_WHOLE = r"^\s*\+?0*(\d+?)(?:\.0*)?\s*$"
# what a plain spelling ('7', '0', 'A-007') never has
_DRESSED = r"^\s|\s$|^\+|^0\d|^\d+\.0*$"

#: ids that pandas, R and spreadsheets read as a missing value
MISSING_WORDS = frozenset(
    {"NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "Null", "None", "none", "#N/A"}
)


def _number(ids: pd.Series) -> pd.Series:
    """Each id's whole number (str), NaN where the id is not one."""
    return ids.str.extract(_WHOLE, expand=False)


def respelt(missing: Iterable[object], reference: Iterable[object]) -> list[tuple[str, str]]:
    """``(id, there)`` for each of the ``missing`` ids (not in ``reference``) that is
    in ``reference`` spelt otherwise as a whole number (``'086'`` / ``'86'``), in the
    order of ``missing``."""
    miss = pd.Series(list(dict.fromkeys(str(i) for i in missing)), dtype=object)
    miss_num = _number(miss)
    if not miss_num.notna().any():  # the usual case: nothing to look up
        return []
    ref = pd.Series(list(dict.fromkeys(str(i) for i in reference)), dtype=object)
    ref_num = _number(ref)
    ok = ref_num.notna()
    there = dict(zip(ref_num[ok], ref[ok], strict=True))
    return [
        (m, there[n])
        for m, n in zip(miss, miss_num, strict=True)
        if isinstance(n, str) and n in there and there[n] != m
    ]


def respelt_hint(pairs: Sequence[tuple[str, str]], where: str, limit: int = 3) -> str:
    """``"; 3 of them are in WHERE spelt otherwise ('086' as '86', ...): ids are
    compared as written"`` ("" without pairs), to end a note on unmatched ids."""
    if not pairs:
        return ""
    shown = ", ".join(f"{a!r} as {b!r}" for a, b in pairs[:limit])
    more = ", ..." if len(pairs) > limit else ""
    n = len(pairs)
    return (
        f"; {n:,} of them {'is' if n == 1 else 'are'} in {where} spelt otherwise "
        f"({shown}{more}): ids are compared as written"
    )


def spelt_two_ways(ids: np.ndarray | Sequence[object]) -> list[list[str]]:
    """Groups of distinct ``ids`` (one file's, unique) that are one whole number spelt
    in more than one way (``['7', '007', '7.0']``): different ids to visrec."""
    s = pd.Series(np.asarray(ids, dtype=object), dtype=object).astype(str)
    dressed = s.str.contains(_DRESSED, regex=True)
    if not dressed.any():
        return []
    num = _number(s)
    wanted = set(num[dressed].dropna())
    groups: dict[str, list[str]] = {}
    for spelling, n in zip(s[num.isin(wanted)], num[num.isin(wanted)], strict=True):
        groups.setdefault(n, []).append(spelling)
    return [g for g in groups.values() if len(g) > 1]


def missing_words(ids: np.ndarray | Sequence[object]) -> list[str]:
    """The ``ids`` that other tools read back as a missing value (``NA``, ``null``)."""
    s = pd.Series(np.asarray(ids, dtype=object), dtype=object)
    return [str(i) for i in s[s.isin(list(MISSING_WORDS))]]
