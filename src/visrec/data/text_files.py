"""Reading text tables: decoding, separator sniffing, row splitting, dataset folders.

Shared by the interactions loader (:mod:`visrec.data.tables`), the item-table loader
(:mod:`visrec.data.item_tables`), the Amazon loader and ``visrec recommend --items``, so
that every file is decoded and split the same way.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec.errors import VisrecError, agree, counted, read_error

if TYPE_CHECKING:
    from _csv import Reader as _csv_reader

PathLike = str | Path


@dataclass(frozen=True)
class DecodedText:
    """A text file as the table loaders read it (see :func:`decode_text`).

    Attributes
    ----------
    text : str
        The decoded text, line ends made ``\\n``, a BOM dropped.
    encoding : str
        ``"utf-8"`` (or the encoding asked for), or ``"cp1252"`` when the file was
        read as Windows-1252 (:func:`decode_8bit`).
    warning : tuple of (int, str), optional
        ``(line, message)`` when the file mixes encodings: a UTF-8 file with lines that
        are not (read as Windows-1252), or a Windows-1252 file with lines of valid
        UTF-8 (garbled now); the line is the first that is not UTF-8.
    first_8bit : int, optional
        With ``encoding`` ``"cp1252"``: the first line that is not valid UTF-8.
    joined : tuple of (int, int), optional
        ``(first line, count)`` of lines after the first that began with a BOM (files
        joined with ``cat``), the BOM dropped there too.
    sep : str, optional
        The separator a spreadsheet's ``sep=;`` first line names; that line is made
        blank (line numbers stay those of the file).
    """

    text: str
    encoding: str
    warning: tuple[int, str] | None = None
    first_8bit: int | None = None
    joined: tuple[int, int] | None = None
    sep: str | None = None


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """A whole text file as the table loaders read it: the text of :func:`decode_text`."""
    return decode_text(path, encoding).text


_LINE_END = re.compile(rb"\r\n|\r|\n")


def decode_text(path: PathLike, encoding: str = "utf-8") -> DecodedText:
    """A whole text file as the table loaders read it: gzip, bzip2 or xz decompressed
    (known by their magic bytes whatever the name), ``encoding`` (a BOM dropped, also
    at the start of a later line: files joined), line ends made ``\\n``, an Excel
    ``sep=;`` first line taken as the separator.

    A file that is not valid UTF-8 is read line by line: when most of its non-ASCII
    lines are valid UTF-8, those stay UTF-8 and the others are read as Windows-1252
    (:func:`decode_8bit`), with a
    ``warning`` naming them (one bad byte must not turn ``café`` into ``cafÃ©`` in the
    whole file, nor drop a review over a stray byte in its text); otherwise the file is
    read as Windows-1252 (MovieLens and other older sets; every byte decodes),
    with a ``warning`` when some of its lines were valid UTF-8. Given another
    ``encoding`` that the bytes do not fit, the whole file is read as latin-1 (every
    byte decodes), without a warning.

    Raises
    ------
    VisrecError
        ``path`` is a folder, not valid gzip (bzip2, xz), zip- or zstd-compressed (not
        read: one error saying so), or a binary (or UTF-16) file.
    LookupError
        ``encoding`` names no codec Python knows.
    ReadError
        The system would not let it be read (no permission, an I/O error).
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise VisrecError(f"{path}: is a folder, expected a file") from None
    except FileNotFoundError:  # the caller's to word (an InputNotFoundError, its hint)
        raise
    except OSError as exc:  # no permission, an I/O error: one line, as Parquet's say it
        raise read_error(f"{path}: cannot read ({exc.strerror or exc})", exc, path) from exc
    raw = _decompressed(path, raw)
    head = raw[:8192]
    if _looks_binary(head):
        # such bytes would reach the CSV reader and come back as garbled column names
        raise VisrecError(
            f"{path}: looks like a binary file (or UTF-16 text), not a UTF-8 or latin-1 "
            f"text table{_stray_nul(head)}"
        )
    try:
        out = DecodedText(raw.decode(encoding), encoding)
    except UnicodeDecodeError:
        if codecs.lookup(encoding).name != "utf-8":
            out = DecodedText(raw.decode("latin-1"), "latin-1")
        else:
            out = _decode_mixed(raw)
    text = out.text
    if "\r" in text:  # Windows and old Mac line ends; the CSV reader wants "\n" only
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    joined = None
    if "\n\ufeff" in text:
        # a second file's BOM (cat a.csv b.csv): left, it would make "\ufeff196" a user
        # of its own beside "196"
        at = text.index("\n\ufeff")
        joined = (text.count("\n", 0, at) + 2, text.count("\n\ufeff"))
        text = text.replace("\n\ufeff", "\n")
    sep = None
    excel = _EXCEL_SEP.match(text)
    if excel:  # Excel's "sep=;" line; blank, so every later line keeps its number
        sep = excel.group(1)
        text = text[excel.end() :]  # its trailing blanks too: a tab there is two fields
    return DecodedText(text, out.encoding, out.warning, out.first_8bit, joined, sep)


#: the first line Excel writes (and reads) to name a CSV's separator
_EXCEL_SEP = re.compile(r"sep=([,;|\t])[ \t]*(?=\n|$)")

#: magic bytes of compressions the loaders do not read, and how to undo them
_UNREAD_COMPRESSIONS = (
    (b"PK\x03\x04", "a zip archive", "unzip it"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "zstd -d it"),
)


#: the compressions the loaders read: magic bytes ("BZh", the block size, then a
#: block's or the end's magic: not a text's "BZh"), suffix, name, module
_COMPRESSIONS = (
    (rb"\x1f\x8b", ".gz", "gzip", "gzip"),
    (rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)", ".bz2", "bzip2", "bz2"),
    (rb"\xfd7zXZ\x00", ".xz", "xz", "lzma"),
)


def _compression(path: Path, start: bytes) -> tuple[str, Any] | None:
    """``(name, module)`` of the compression of a file named ``path`` that starts with
    ``start`` (by magic bytes, whatever the name: a gzip file named .GZ, or with no .gz
    at all, is no binary), None for none."""
    import importlib

    suffix = path.suffix.lower()
    for magic, ext, name, module in _COMPRESSIONS:
        if suffix == ext or re.match(magic, start):
            return name, importlib.import_module(module)
    return None


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` as :func:`decode_text` reads it (gzip,
    bzip2 or xz decompressed), without reading the rest: a sniff of a large file."""
    with path.open("rb") as fh:
        start = fh.read(16)
    packed = _compression(path, start)
    if packed is None:
        with path.open("rb") as fh:
            return fh.read(size)
    with packed[1].open(path, "rb") as fh:
        head: bytes = fh.read(size)
        return head


def _decompressed(path: Path, raw: bytes) -> bytes:
    """``raw`` decompressed when it is gzip, bzip2 or xz (:func:`_compression`); a
    one-line error for a broken one, and for a zip or zstd file (read as text, it would
    be "binary")."""
    import lzma
    import zlib

    packed = _compression(path, raw[:16])
    if packed is not None:
        name, module = packed
        try:
            out: bytes = module.decompress(raw)
            return out
        # zlib.error (a damaged deflate stream: "invalid distance too far back") is no
        # OSError, unlike gzip's own checks
        except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
            raise VisrecError(f"{path}: not a valid {name} file ({exc})") from None
    for magic, what, undo in _UNREAD_COMPRESSIONS:
        if raw.startswith(magic):
            raise VisrecError(
                f"{path}: {what}; tables are read as text, .gz, .bz2 or .xz: {undo} first"
            )
    return raw


def _undefined_as_latin1(exc: UnicodeError) -> tuple[str, int]:
    # the five bytes Windows-1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d)
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("visrec-latin1", _undefined_as_latin1)


def decode_8bit(raw: bytes) -> str:
    """Text that is not UTF-8, as Windows-1252: latin-1 but for 0x80-0x9f, where
    latin-1 has invisible control characters and Windows files have '€', '“', '’' ...
    (an id 'café €1' saved by Excel must not become 'café \\x801'). Every byte decodes."""
    return raw.decode("cp1252", errors="visrec-latin1")


def _decode_mixed(raw: bytes) -> DecodedText:
    """A file that is not valid UTF-8: UTF-8 line by line when most of its non-ASCII
    lines are (the others as a whole-file Windows-1252 reading gives them), else
    Windows-1252."""
    lines = _LINE_END.split(raw)  # line k of the text is lines[k - 1]
    n_utf8 = 0
    first_utf8 = 0
    invalid: dict[int, str] = {}
    for k, ln in enumerate(lines, start=1):
        if ln.isascii():
            continue
        try:
            ln.decode("utf-8")
        except UnicodeDecodeError as exc:
            invalid[k] = f"byte 0x{ln[exc.start]:02x} at column {exc.start + 1}"
        else:
            n_utf8 += 1
            first_utf8 = first_utf8 or k
    if n_utf8 > len(invalid):
        text = "\n".join(
            decode_8bit(ln) if k in invalid else ln.decode("utf-8")
            for k, ln in enumerate(lines, start=1)
        )
        first = min(invalid)
        return DecodedText(
            text,
            "utf-8",
            (
                first,
                f"{counted(len(invalid), 'line')} not valid UTF-8 "
                f"({agree(len(invalid), '', 'first: ')}{invalid[first]}), read as Windows-1252 "
                "(latin-1), the rest of the file as UTF-8; save the file as UTF-8",
            ),
        )
    warning = None
    if n_utf8:
        first = min(invalid)
        warning = (
            first,
            "not valid UTF-8 here, so the file is read as Windows-1252 (latin-1), but "
            f"{counted(n_utf8, 'line')} of it {agree(n_utf8, 'is', 'are')} valid UTF-8 "
            f"({agree(n_utf8, '', 'first: ')}line {first_utf8}), now garbled "
            "('é' read as 'Ã©'); save the file as UTF-8",
        )
    return DecodedText(decode_8bit(raw), "cp1252", warning, min(invalid, default=None))


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or over 5% control characters other than tab, line and form feeds."""
    if b"\x00" in head:
        return True
    control = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return control > 0.05 * len(head)


def _stray_nul(head: bytes) -> str:
    """Where a text with a few NUL bytes (one in an id, say) has its first: ``" (a NUL
    byte on line 3)"``; nothing for UTF-16 or a real binary, whose NULs are many."""
    n = head.count(b"\x00")
    if not n or n > max(1, len(head) // 100):
        return ""
    before = head[: head.index(b"\x00")].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    line = before.count(b"\n") + 1
    return f" (a NUL byte on line {line:,})"


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


#: the longest field :func:`csv_reader` reads: the csv module's default, 131,072
#: characters, stopped a long quoted value (a URL, an id, a description) with "field
#: larger than field limit". Not ``sys.maxsize``: the limit is a C ``long``, 32 bits on
#: Windows, where that overflows.
FIELD_LIMIT = 2**31 - 1


def csv_reader(lines: Iterable[str], sep: str = ",", **options: Any) -> _csv_reader:
    """``csv.reader(lines, delimiter=sep, **options)`` that reads a field of any length
    (:data:`FIELD_LIMIT`): every CSV reader of the package is made by it. The limit is
    the csv module's, for the whole process: it is only ever raised."""
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    return csv.reader(lines, delimiter=sep, **options)


def text_lines(text: str) -> list[str]:
    """The lines of ``text``, broken at ``\\n``, ``\\r\\n`` and ``\\r`` only, as the csv reader
    counts them: ``str.splitlines`` also breaks at U+2028, form feeds and other
    characters that may sit inside an id."""
    if "\r" in text:  # decode_text's output never holds one: no copies of a big file
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


#: a line of empty fields only: blank, or quoted blank (``""``, ``" "``), between
#: separators (``,,,``: a spreadsheet's empty first row; ``"",""``). Never a header:
#: :func:`header_row` skips such rows. A space before a quote makes the quotes part of
#: the field (`` ""`` is a field holding ``""``): that line has content.
_EMPTY_FIELD = r'(?:"[ \t]*"[ \t]*|[ \t]*)'
_NO_CONTENT = re.compile(rf"{_EMPTY_FIELD}(?:[,;|\t]{_EMPTY_FIELD})*\r?")


def first_text_line(text: str) -> str:
    """The first line of ``text`` that is not blank, "" for none, found without
    splitting the whole file (``text`` as :func:`decode_text` gives it: ``\\n`` ends).
    A line of empty fields only (``""``, ``,,,``) counts as blank, as
    :func:`header_row` skips it: otherwise the layout would be read from it and the
    header from the next row."""
    start = 0
    while True:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip() and not _NO_CONTENT.fullmatch(line):
            return line.rstrip("\r")
        if end < 0:
            return ""
        start = end + 1


def no_first_line(p: Path, text: str, expected: str) -> VisrecError:
    """The error for a table with no line :func:`first_text_line` takes: an empty file,
    or one of blank lines and empty fields only (as :func:`header_row` says it)."""
    if text.strip():
        return VisrecError(f"{p}: no header line: every line is blank or holds only empty fields")
    return VisrecError(f"{p}: file is empty, expected {expected}")


def split_rows(
    text: str, sep: str, where: str, multiline: list[tuple[int, int]] | None = None
) -> Iterable[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for non-blank rows.

    A record whose quoted field holds line breaks spans several lines: its first and
    last line are appended to ``multiline`` when given. A quote left open to the end of
    the file is an error naming its line: every row after it would be one field.
    """
    if len(sep) == 1:
        reader = csv_reader(io.StringIO(text), sep, skipinitialspace=False)
        start = 1
        last_span: tuple[int, int] | None = None
        try:
            for row in reader:
                # A blank line gives [] (or [""] / ["  "]); multi-field rows are never blank.
                if len(row) > 1 or (row and row[0].strip()):
                    last_span = None
                    if reader.line_num > start and any("\n" in f or "\r" in f for f in row):
                        last_span = (start, reader.line_num)
                        if multiline is not None:
                            multiline.append(last_span)
                    yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise VisrecError(f"{where} line {start}: not readable as a table ({exc})") from None
        # only the last record can hold a quote left open: it swallowed the rest
        if last_span is not None and _open_to_the_end(text, sep, last_span[0]):
            first, end = last_span
            raise VisrecError(
                f'{where} line {first}: a quote (") opened here is never closed, so the '
                f"rest of the file ({end - first + 1:,} lines) would be one field; close "
                'it, or write a quote inside a quoted field as two ("")'
            )
    else:
        for i, line in enumerate(text_lines(text), start=1):
            if line.strip():
                yield i, line.split(sep)


def header_row(rows: Iterator[tuple[int, list[str]]], where: str) -> list[str]:
    """The first row :func:`split_rows` yields that holds a name, its fields stripped:
    the header. Rows of empty fields only before it (``,,,``, a spreadsheet's empty
    first row) are skipped, as :func:`first_text_line` skips them. A file of no other
    rows has no header: one error line, not a ``StopIteration`` from the loader."""
    for _, fields in rows:
        header = [h.strip() for h in fields]
        if any(header):
            return header
    raise VisrecError(f"{where}: no header line: every line is blank or holds only empty fields")


def _open_to_the_end(text: str, sep: str, line: int) -> bool:
    """Whether a quoted field opened on ``line`` (1-based) runs to the end of ``text``:
    the lenient reader takes that silently, the strict one says so."""
    tail = "".join(itertools.islice(io.StringIO(text), line - 1, None))
    try:
        for _ in csv_reader(io.StringIO(tail), sep, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


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
        return next(csv_reader([line], sep))
    return line.split(sep)
