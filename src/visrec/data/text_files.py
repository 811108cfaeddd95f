"""Reading text tables: decoding, separator sniffing, row splitting, dataset folders.

Shared by the interactions loader (:mod:`visrec.data.tables`), the item-table loader
(:mod:`visrec.data.item_tables`), the Amazon loader and ``visrec recommend --items``, so
that every file is decoded and split the same way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from visrec.errors import VisrecError

PathLike = str | Path


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """A whole text file as the table loaders read it: ``.gz`` decompressed, ``encoding``
    (a BOM dropped) or, when that fails, latin-1 (every byte decodes; nothing lost),
    line ends made ``\\n``.

    Raises
    ------
    VisrecError
        ``path`` is a folder, not valid gzip, or a binary (or UTF-16) file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise VisrecError(f"{path}: is a folder, expected a file") from None
    if path.suffix == ".gz":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise VisrecError(f"{path}: not a valid gzip file ({exc})") from None
    if _looks_binary(raw[:8192]):
        # such bytes would reach the CSV reader and come back as garbled column names
        raise VisrecError(
            f"{path}: looks like a binary file (or UTF-16 text), not a UTF-8 or latin-1 text table"
        )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        # MovieLens and other older sets are latin-1; every byte decodes, nothing lost.
        text = raw.decode("latin-1")
    if "\r" in text:  # Windows and old Mac line ends; the CSV reader wants "\n" only
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.removeprefix("\ufeff")


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or over 5% control characters other than tab, line and form feeds."""
    if b"\x00" in head:
        return True
    control = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return control > 0.05 * len(head)


def sniff_sep(first_line: str, suffix: str) -> str:
    """Field separator of a delimited table, guessed from its first line.

    Parameters
    ----------
    first_line : str
        The file's first line (header or first record).
    suffix : str
        The file's lower-case suffix (``".csv"``, ``".tsv"``, ...).

    Returns
    -------
    str
        ``"::"`` when the line holds it (MovieLens ``.dat``); a tab for ``.tsv``/``.tab``
        or, unless the suffix is ``.csv``, when the line holds one; else the most
        frequent of comma, tab, ``;`` and ``|`` (comma when none occurs).
    """
    if "::" in first_line:
        return "::"
    if suffix in (".tsv", ".tab") or (suffix != ".csv" and "\t" in first_line):
        return "\t"
    counts = {s: first_line.count(s) for s in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def split_rows(text: str, sep: str, where: str) -> Iterable[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for non-blank rows."""
    if len(sep) == 1:
        reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=False)
        start = 1
        try:
            for row in reader:
                # A blank line gives [] (or [""] / ["  "]); multi-field rows are never blank.
                if len(row) > 1 or (row and row[0].strip()):
                    yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise VisrecError(f"{where} line {start}: not readable as a table ({exc})") from None
    else:
        for i, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield i, line.split(sep)


def resolve_folder(path: Path, names: Sequence[str], what: str) -> Path:
    """The first of ``names`` present in the dataset folder ``path``."""
    for name in names:
        if (path / name).is_file():
            return path / name
    listing = ", ".join(sorted(p.name for p in path.iterdir())[:10])
    raise VisrecError(
        f"{path}: folder has no {what} file (looked for {', '.join(names)}; found: {listing})"
    )


def split_first(line: str, sep: str) -> list[str]:
    """Fields of one line as the table reader splits them.

    A one-character ``sep`` follows CSV quoting (``"a,b"`` stays one field); a longer
    one (``"::"``) is a plain split.
    """
    if len(sep) == 1:
        return next(csv.reader([line], delimiter=sep))
    return line.split(sep)
