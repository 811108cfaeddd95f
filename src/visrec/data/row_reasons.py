"""Why a row of a text table, or an id in it, is refused: the words every loader
(interactions, item tables, image manifests, ``recommend``'s id lists) shares.

Kept apart from the pandas-based parsers so that the light loaders (a manifest, an id
list) can say a reason without importing pandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def spaced_ids_note(counts: Sequence[tuple[int, str]], example: tuple[str, str]) -> str | None:
    """``"3 user ids and 1 item id had spaces around them, removed (' u1' is read as
    'u1')"``: what every loader says once per file when ids lost the white space around
    them (the rule, docs/data.md; said so that a file whose ids were written padded is
    not read otherwise unseen). ``counts``: (number of distinct ids so written, their
    label), ``example``: one such id as written and as read. None when none was."""
    parts = [f"{n:,} {label} {agree(n, 'id', 'ids')}" for n, label in counts if n]
    if not parts:
        return None
    total = sum(n for n, _ in counts)
    raw, bare = (r if len(r) <= 40 else r[:37] + "..." for r in example)
    return (
        f"{' and '.join(parts)} had spaces around {agree(total, 'it', 'them')}, removed "
        f"({raw!r} is read as {bare!r})"
    )


def spaced_note(label: str, ids: Iterable[object]) -> str | None:
    """:func:`spaced_ids_note` of one kind of id (``label``: "item") from ``ids``, the
    ids as read: those with white space around them counted once each."""
    spaced = list(dict.fromkeys(s for s in map(str, ids) if s != s.strip()))
    if not spaced:
        return None
    return spaced_ids_note([(len(spaced), label)], (spaced[0], spaced[0].strip()))
