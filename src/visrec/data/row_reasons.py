"""Why a row of a text table, or an id in it, is refused: the words every loader
(interactions, item tables, image manifests, ``recommend``'s id lists) shares.

Kept apart from the pandas-based parsers so that the light loaders (a manifest, an id
list) can say a reason without importing pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

from visrec.errors import agree


def field_count_hint(fields: Sequence[str], n_expected: int, names: Sequence[str] = ()) -> str:
    """What a row of ``fields`` (not ``n_expected`` of them) suggests, as `` (...)`` to
    follow "expected N fields, got M", or "" for nothing. Every such row of a file is
    refused, so a cause the whole file shares is said: a separator at each line's end
    (a spreadsheet's export), or at the end of the header line (``names``, the header's
    names as read: blank ones at its end are columns with no name the rows lack). NUL
    bytes are a damaged file's, not a table's."""
    hints = []
    if len(fields) > n_expected and not "".join(fields[n_expected:]).strip():
        extra = agree(len(fields) - n_expected, "field", "fields")
        hints.append(f"the extra {extra} empty: a separator at the end of the line?")
    unnamed = 0
    while unnamed < len(names) and not names[-1 - unnamed].strip():
        unnamed += 1
    if 0 < n_expected - len(fields) <= unnamed:
        which = "last column has" if unnamed == 1 else f"last {unnamed} columns have"
        seps = "a separator" if unnamed == 1 else "separators"
        hints.append(f"the header's {which} no name: {seps} at the end of the header line?")
    if any("\x00" in f for f in fields):
        hints.append("the line holds NUL bytes: a damaged file?")
    return f" ({'; '.join(hints)})" if hints else ""


def nul_id_reason(label: str, value: str) -> str:
    """Why the ``label`` ("user", "item") id ``value`` is refused for holding a NUL
    byte: the words of every loader of interactions and item tables."""
    return f"{label} id {value!r} holds a NUL byte, which no id can (a damaged file?)"
