"""What a table loader returns: :class:`LoadResult`, the parsed frame with the
records not kept (:class:`BadRecord`, each with file and line) so that nothing is
dropped silently.

Returned by the interactions loader (:mod:`visrec.data.tables`, which re-exports these
names), the item-table loader (:mod:`visrec.data.item_tables`) and the Amazon loaders
(:mod:`visrec.data.amazon`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from visrec.data.interactions import Interactions
from visrec.data.text_files import DecodedText, PathLike
from visrec.errors import agree, counted


@dataclass(frozen=True)
class BadRecord:
    """One input record that was not kept (or was repaired, see ``LoadResult.warnings``).

    Attributes
    ----------
    file : str
        The file as given by the caller.
    line : int
        1-based line number (for parquet, the 1-based row number; ``reason`` then
        starts with ``row N:``).
    kind : str
        Short category used to group records in summaries, e.g. ``"null rating"``.
    reason : str
        Full explanation naming the bad value and what was expected.
    """

    file: str
    line: int
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def by_kind_text(counts: dict[str, int]) -> str:
    """``"17 (missing rating 14, empty user id 3)"``: records counted by kind
    (:meth:`LoadResult.bad_by_kind`), for a reader."""
    kinds = ", ".join(f"{k} {n:,}" for k, n in counts.items())
    return f"{sum(counts.values()):,} ({kinds})"


@dataclass
class LoadResult:
    """A parsed table and the records that were not kept.

    Attributes
    ----------
    frame : pandas.DataFrame
        The kept rows with canonical column names (see the loader's docstring).
    bad : list of BadRecord
        Records that were dropped, in file/line order.
    warnings : list of BadRecord
        Records that were kept after a repair (e.g. extra unquoted commas merged into
        the last column); reported so the repair is visible.
    files : list of str
        The files read, in order.
    formats : dict of str to str
        Detected layout per file, e.g. ``"JSON lines"`` or ``"MovieLens u.data"``.
    n_read : int
        Records read in total (kept + bad).
    unread_columns : list of str
        Header names of a table that matched none of the columns read or their aliases
        (a quantity, a date under another name): reported, so they are not lost
        unseen.
    columns : list of str
        A table's header names (none for a headerless table or Amazon files): a column
        named but not read (``--time-col`` where the time is not used) is checked
        against them.
    notes : list of str
        Said of the file as a whole, after its name (``"2 user ids had spaces around
        them, removed (...)"``, :func:`~visrec.data.row_reasons.spaced_ids_note`).
    """

    frame: pd.DataFrame
    bad: list[BadRecord] = field(default_factory=list)
    warnings: list[BadRecord] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    n_read: int = 0
    unread_columns: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        # a notebook shows it: counts, not the frame and every record (10,000 bad rows
        # printed a 1.2 MB repr)
        names = [str(c) for c in self.frame.columns]
        cols = ", ".join(names[:8]) + (f", ... ({len(names)} columns)" if len(names) > 8 else "")
        bad = by_kind_text(self.bad_by_kind()) if self.bad else "0"
        # one built by hand, or of no rows: no "()" nor "from 0 files"
        read = f" from {counted(len(self.files), 'file')}" if self.files else ""
        return (
            f"LoadResult({counted(self.n_rows, 'row')}{f' ({cols})' if cols else ''}{read}; "
            f"bad records: {bad}; {counted(len(self.warnings), 'warning')})"
        )

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def n_bad(self) -> int:
        return len(self.bad)

    def bad_by_kind(self) -> dict[str, int]:
        """Counts of dropped records per ``kind``, most frequent first."""
        return dict(Counter(b.kind for b in self.bad).most_common())

    def describe_bad(self, limit: int = 5) -> str:
        """Human-readable lines: counts per kind, then the first ``limit`` records."""
        if not self.bad:
            return "bad records: 0"
        lines = [f"bad records: {by_kind_text(self.bad_by_kind())}"]
        lines += [f"  {b}" for b in self.bad[:limit]]
        if self.n_bad > limit:
            lines.append(f"  ... and {self.n_bad - limit:,} more")
        return "\n".join(lines)

    def report_lines(self, source: PathLike, limit: int = 3) -> list[str]:
        """What a command says about this load: the records skipped (counts per kind,
        the first ``limit``) and the rows kept with a caveat (latin-1 text, merged extra
        fields) and the notes on the file (ids that had spaces around them); empty when
        there is nothing to say."""
        lines = [f"note: {source}: {n}" for n in self.notes]
        if self.bad:
            lines.append(
                f"{source}: skipped {counted(self.n_bad, 'record')}; " + self.describe_bad(limit)
            )
        if self.warnings:
            shown = "; ".join(str(w) for w in self.warnings[:limit])
            more = len(self.warnings) - limit
            lines.append(
                f"{source}: {counted(len(self.warnings), 'warning')}, rows kept: {shown}"
                + (f" ... and {more:,} more" if more > 0 else "")
            )
        return lines

    def to_interactions(self) -> Interactions:
        """Build an :class:`~visrec.data.interactions.Interactions` from ``frame``."""
        return Interactions.from_frame(self.frame)


def encoding_warnings(decoded: DecodedText, where: str) -> list[BadRecord]:
    """``decoded.warning`` (a file mixing UTF-8 and latin-1 lines) and
    ``decoded.joined`` (BOMs inside it) as ``LoadResult.warnings`` entries."""
    out = []
    if decoded.warning is not None:
        line, message = decoded.warning
        out.append(BadRecord(where, line, "mixed encodings", message))
    if decoded.joined is not None:
        line, n = decoded.joined
        out.append(
            BadRecord(
                where,
                line,
                "byte-order mark inside",
                f"{counted(n, 'line')} {agree(n, 'begins', 'begin')} with a byte-order mark "
                f"(files joined with cat?), {agree(n, 'here', 'the first here')}; it was "
                "dropped there, as at the start of the file",
            )
        )
    return out
