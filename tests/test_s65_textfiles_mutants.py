"""Mutation audit (s65) of :mod:`visrec.data.text_files`: how text tables are read
(compression by magic bytes or suffix, encodings and their warnings, BOMs, line ends,
Excel's ``sep=`` line, the binary sniff, separator sniffing, row splitting and the errors
that name a file and line). Earlier audits (s55, s63) covered the binary sniff's 8 KiB
reach past 512 bytes, joined files, zip refusal, ties of UTF-8 and other lines and the
resume record; this one targets what they left.

Mutants: 57 in total. Killed before (by the 8 test files that import the module:
test_s55_text_progress_mutants, test_data_tables, test_loader_robustness,
test_s49_long_fields, test_s51_read_write_errors, test_cleanup_mutation_gaps,
test_coverage_gaps40, test_session43_audit_fixes): 38. The 19 survivors were run against
10 more loader test files only for the first (the 4 KiB sniff: it survived them too).
Killed after (with this file): 56. Equivalent: 1.

- sniff_sep returning the most frequent separator even at a count of 0 (no ``","``
  fallback): equivalent, the counts dict starts with ``","`` and ``max`` keeps the first
  of equal keys, so a line with no separator still gives ``","``.

Gaps closed: the sniff's 8 KiB (not 4), ``encoding="UTF8"`` (an alias) still read as
UTF-8 line by line, ``sep=;`` alone in a file, zstd refusal, ``BZh9`` text not bzip2,
an empty bzip2 file and xz known by magic, the ``.BZ2`` suffix in any case, read_head's
size for a plain file, a truncated gzip (EOFError), zip magic only at the start, an
empty decompressed text not binary (5% is ``>``), ``.tab``, blank lines of ``;``/``|``
separated empty fields, a ``\r`` inside a one-line field, resolve_folder's order and
``is_file``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
from pathlib import Path

import pytest

from visrec.data.text_files import (
    FIELD_LIMIT,
    csv_reader,
    decode_8bit,
    decode_text,
    first_text_line,
    header_row,
    read_head,
    resolve_folder,
    sniff_sep,
    split_first,
    split_rows,
)
from visrec.errors import VisrecError

ROWS = b"user_id,item_id\n" + b"".join(b"u%d,i%d\n" % (k, k) for k in range(400))


# --- compression ---------------------------------------------------------------------


def test_a_nul_past_4_kib_still_makes_the_file_binary(tmp_path: Path) -> None:
    """The sniff reads the first 8 KiB, not 4: a NUL at byte ~6000 is found."""
    f = tmp_path / "t.csv"
    body = b"user_id,item_id\n" + b"u1,i1\n" * 1000
    f.write_bytes(body + b"u\x00\x002\n")
    assert 4096 < len(body) < 8000
    with pytest.raises(VisrecError, match="looks like a binary file"):
        decode_text(f)


def test_a_zstd_file_is_refused_with_how_to_undo_it(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)
    with pytest.raises(VisrecError) as info:
        decode_text(f)
    assert str(info.value) == (
        f"{f}: zstd-compressed; tables are read as text, .gz, .bz2 or .xz: zstd -d it first"
    )


def test_zip_magic_inside_a_text_is_no_zip(tmp_path: Path) -> None:
    """Only a file that *starts* with the zip magic is a zip archive."""
    f = tmp_path / "t.csv"
    text = b"user_id,item_id\nPK\x03\x04," + b"x" * 100 + b"\n"
    f.write_bytes(text)
    assert decode_text(f).text == text.decode()


def test_a_text_that_starts_with_bzh_is_text(tmp_path: Path) -> None:
    """ "BZh9" alone is no bzip2 magic: a header of that name is read as text."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"BZh9,item\nu1,i1\n")
    assert decode_text(f).text == "BZh9,item\nu1,i1\n"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (bz2.compress(b""), "bzip2 of nothing"),
        (bz2.compress(ROWS), "bzip2"),
        (lzma.compress(ROWS), "xz"),
        (gzip.compress(ROWS), "gzip"),
    ],
)
def test_compressed_files_are_known_by_magic_whatever_their_name(
    tmp_path: Path, data: bytes, name: str
) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(data)
    expected = "" if name == "bzip2 of nothing" else ROWS.decode()
    assert decode_text(f).text == expected
    assert read_head(f, 30) == expected.encode()[:30]


def test_a_broken_file_named_bz2_in_capitals_is_an_error(tmp_path: Path) -> None:
    """The suffix counts too (in any case): a cut-short ``.BZ2`` with no block magic
    is a broken bzip2 file, not text that starts with ``BZh9``."""
    for name in ("t.csv.BZ2", "t.csv.bz2"):
        f = tmp_path / name
        f.write_bytes(bz2.compress(ROWS)[:4])
        with pytest.raises(VisrecError) as info:
            decode_text(f)
        assert str(info.value).startswith(f"{f}: not a valid bzip2 file (")


def test_a_truncated_gzip_is_one_error_line(tmp_path: Path) -> None:
    """gzip's EOFError (the stream cut short) becomes a VisrecError naming gzip."""
    f = tmp_path / "t.csv.gz"
    f.write_bytes(gzip.compress(ROWS)[:-20])
    with pytest.raises(VisrecError) as info:
        decode_text(f)
    assert str(info.value).startswith(f"{f}: not a valid gzip file (Compressed file ended")


def test_a_damaged_deflate_stream_is_one_error_line(tmp_path: Path) -> None:
    """zlib.error (no OSError) becomes a VisrecError too."""
    raw = bytearray(gzip.compress(ROWS))
    for i in range(20, 40):
        raw[i] ^= 0xFF
    f = tmp_path / "t.csv.gz"
    f.write_bytes(bytes(raw))
    with pytest.raises(VisrecError) as info:
        decode_text(f)
    assert str(info.value).startswith(f"{f}: not a valid gzip file (Error -3")


def test_read_head_reads_only_size_bytes(tmp_path: Path) -> None:
    plain = tmp_path / "t.csv"
    plain.write_bytes(ROWS)
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(ROWS))
    assert read_head(plain, 10) == ROWS[:10]
    assert read_head(packed, 10) == ROWS[:10]


# --- encodings ------------------------------------------------------------------------


def test_an_alias_of_utf8_still_reads_mixed_lines(tmp_path: Path) -> None:
    """``encoding="UTF8"`` is UTF-8: a file mostly UTF-8 keeps its UTF-8 lines rather
    than falling back to latin-1 as another encoding would."""
    f = tmp_path / "t.csv"
    f.write_bytes("id\ncafé\nthé\n".encode() + b"cr\xe8me\n")
    got = decode_text(f, "UTF8")
    assert got.text == "id\ncafé\nthé\ncrème\n"
    assert got.encoding == "utf-8"
    assert got.warning is not None and got.warning[0] == 4


def test_windows_1252_bytes_it_leaves_undefined_are_kept_as_latin1() -> None:
    """0x81 (undefined in Windows-1252) decodes as U+0081, the next byte kept."""
    assert decode_8bit(b"a\x81b\x80c\x9dd") == "a\x81b€c\x9dd"


def test_the_mixed_warning_counts_bad_lines_and_names_the_first_bytes(tmp_path: Path) -> None:
    """The warning of a mostly-UTF-8 file: the count of bad lines (not of good ones),
    the first bad byte in hex and its 1-based column."""
    f = tmp_path / "t.csv"
    good = "é".encode()
    f.write_bytes(b"id\n" + b"\n".join([good] * 5) + b"\nab\xe9\nx\xe8y\n")
    got = decode_text(f)
    assert got.encoding == "utf-8"
    assert got.first_8bit is None
    assert got.warning == (
        7,
        "2 lines not valid UTF-8 (first: byte 0xe9 at column 3), read as Windows-1252 "
        "(latin-1), the rest of the file as UTF-8; save the file as UTF-8",
    )
    # an undefined byte in a bad line stays itself (decode_8bit, not plain latin-1 '\x80')
    assert got.text.splitlines()[-2:] == ["abé", "xèy"]


def test_a_bad_line_of_a_mostly_utf8_file_reads_the_euro_sign(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes("id\né\né\n".encode() + b"\x80 1\n")
    assert decode_text(f).text == "id\né\né\n€ 1\n"


def test_the_windows_1252_warning_counts_utf8_lines_and_names_the_first_bad_one(
    tmp_path: Path,
) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"id\nx\xe9\n\xe8\n\xe0\n" + "é".encode() + b"\n")
    got = decode_text(f)
    assert got.encoding == "cp1252"
    assert got.first_8bit == 2
    assert got.warning is not None
    assert got.warning[0] == 2
    assert "but 1 line of it is valid UTF-8 (line 5)" in got.warning[1]


def test_ascii_lines_do_not_count_as_utf8(tmp_path: Path) -> None:
    """Many ASCII lines beside one bad line: a Windows-1252 file, no warning."""
    f = tmp_path / "t.csv"
    f.write_bytes(ROWS + b"caf\xe9,x\n")
    got = decode_text(f)
    assert (got.encoding, got.warning, got.first_8bit) == ("cp1252", None, 402)
    assert got.text.endswith("café,x\n")


# --- line ends, BOM, Excel's sep= -------------------------------------------------------


def test_windows_line_ends_make_no_blank_lines_and_a_bom_is_dropped(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r")
    assert decode_text(f).text == "a,b\n1,2\n3,4\n"


def test_old_mac_line_ends_are_not_binary(tmp_path: Path) -> None:
    """A carriage return is a line end, no control character, however short the lines."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"a\r1\r2\r3\r4\r")
    assert decode_text(f).text == "a\n1\n2\n3\n4\n"


@pytest.mark.parametrize(
    ("raw", "sep", "text"),
    [
        (b"sep=; \t\na;b\n", ";", "\na;b\n"),
        (b"sep=;", ";", ""),
        (b"sep=|\r\na|b\r\n", "|", "\na|b\n"),
    ],
)
def test_excel_sep_lines(tmp_path: Path, raw: bytes, sep: str, text: str) -> None:
    """The ``sep=`` line with blanks after it, alone in the file, or ``|``."""
    f = tmp_path / "t.csv"
    f.write_bytes(raw)
    got = decode_text(f)
    assert (got.sep, got.text) == (sep, text)


# --- the binary sniff -------------------------------------------------------------------


def test_five_percent_control_characters_is_still_text(tmp_path: Path) -> None:
    """Over 5% is binary; exactly 5% is not (nor is 6% by a 50% threshold)."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"\x01" * 5 + b"a" * 95)
    assert len(decode_text(f).text) == 100
    g = tmp_path / "u.csv"
    g.write_bytes(b"\x01" * 6 + b"a" * 94)
    with pytest.raises(VisrecError, match="looks like a binary file"):
        decode_text(g)


# --- separators, fields ------------------------------------------------------------------


def test_sniff_sep_tab_suffix_pipe_and_default() -> None:
    assert sniff_sep("a,b", ".tab") == "\t"
    assert sniff_sep("a|b|c,d", ".txt") == "|"
    assert sniff_sep("a;b;c,d", ".txt") == ";"
    assert sniff_sep("single", ".txt") == ","


def test_csv_reader_never_lowers_a_higher_field_limit() -> None:
    before = csv.field_size_limit()
    try:
        csv.field_size_limit(FIELD_LIMIT + 10)
        csv_reader(["a"])
        assert csv.field_size_limit() == FIELD_LIMIT + 10
        csv.field_size_limit(1000)
        assert next(csv_reader(["x" * 5000])) == ["x" * 5000]
        assert csv.field_size_limit() == FIELD_LIMIT
    finally:
        csv.field_size_limit(before)


@pytest.mark.parametrize("line", [";;;", "|", '" ";" "', '" " ,""'])
def test_lines_of_empty_fields_by_any_separator_are_blank(line: str) -> None:
    assert first_text_line(f"{line}\nuser;item\n") == "user;item"


def test_split_rows_keeps_a_space_before_a_quote() -> None:
    """``a, "b,c"``: the space makes the quote part of the field, as the csv module
    reads it without ``skipinitialspace``; so ``split_first`` splits it too."""
    rows = list(split_rows('h\na, "b,c"\n', ",", "w"))
    assert rows == [(1, ["h"]), (2, ["a", ' "b', 'c"'])]
    assert split_first('a,"b,c"', ",") == ["a", "b,c"]
    assert split_first("a::b::c", "::") == ["a", "b", "c"]


def test_a_carriage_return_inside_one_line_field_is_no_multiline_record() -> None:
    spans: list[tuple[int, int]] = []
    rows = list(split_rows('h,i\n"a\rb",c\n', ",", "w", spans))
    assert rows == [(1, ["h", "i"]), (2, ["a\rb", "c"])]
    assert spans == []


def test_a_csv_error_names_its_line() -> None:
    with pytest.raises(VisrecError) as info:
        list(split_rows("h\nok\nx\ra,b\n", ",", "f.csv"))
    assert str(info.value).startswith("f.csv line 3: not readable as a table (")


def test_an_open_quote_counts_the_lines_it_swallows() -> None:
    text = 'h,i\n1,2\n"3,4\n5,6\n7,8\n'
    with pytest.raises(VisrecError) as info:
        list(split_rows(text, ",", "f.csv"))
    assert str(info.value).startswith(
        'f.csv line 3: a quote (") opened here is never closed, so the rest of the file '
        "(3 lines) would be one field;"
    )


def test_a_quote_closed_on_the_last_line_is_no_error() -> None:
    """A record that spans to the end but closes its quote there is read: the strict
    reader is only asked whether the quote was left open, from that record's line."""
    spans: list[tuple[int, int]] = []
    text = 'h,i\n"1\n2",3\n'
    assert list(split_rows(text, ",", "w", spans)) == [(1, ["h", "i"]), (2, ["1\n2", "3"])]
    assert spans == [(2, 3)]


def test_a_record_before_a_quote_error_line_does_not_shift_the_check() -> None:
    """The strict check starts at the record's own line: started one line later it
    would begin inside the field and read its closing quote as an opening one."""
    text = 'h,i\n"a\nb",c\nd,e\n'
    assert list(split_rows(text, ",", "w")) == [
        (1, ["h", "i"]),
        (2, ["a\nb", "c"]),
        (4, ["d", "e"]),
    ]
    text2 = 'h,i\nx,"a\nb"\n'
    assert list(split_rows(text2, ",", "w")) == [(1, ["h", "i"]), (2, ["x", "a\nb"])]


def test_a_multi_character_separator_skips_blank_lines() -> None:
    assert list(split_rows("a::b\n\n  \n1::2\n", "::", "w")) == [(1, ["a", "b"]), (4, ["1", "2"])]


def test_the_header_is_stripped() -> None:
    rows = iter([(1, [" a ", "b\t"])])
    assert header_row(rows, "w") == ["a", "b"]


def test_resolve_folder_takes_the_first_name_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").mkdir()
    (tmp_path / "ratings.csv").write_text("x")
    (tmp_path / "u.data").write_text("x")
    got = resolve_folder(tmp_path, ["ratings.dat", "ratings.csv", "u.data"], "ratings")
    assert got == tmp_path / "ratings.csv"
