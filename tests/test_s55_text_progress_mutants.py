"""Session 55 mutation audit of :mod:`visrec.data.text_files` (how text tables are
opened, decoded and sniffed) and :mod:`visrec.commands._recs_progress` (the resume
record of ``visrec recommend``): tests that kill the mutants the existing tests let
live. Each test names the mutant(s) it kills (ids of the audit's report)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from visrec.commands import _recs_progress
from visrec.data.text_files import (
    decode_text,
    first_text_line,
    header_row,
    no_first_line,
    read_head,
    read_text,
    resolve_folder,
    sniff_sep,
    split_rows,
    text_lines,
)
from visrec.errors import VisrecError

# --- text_files -------------------------------------------------------------------


def test_a_nul_past_the_first_512_bytes_still_makes_the_file_binary(tmp_path: Path) -> None:
    """T03 (only the first 512 bytes sniffed) and T04 (the message without its UTF-16
    hint): the sniff reads 8 KiB, and the error names the file in full words."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"user_id,item_id\n" + b"u1,i1\n" * 200 + b"u2,i\x00\x00\x002\n")
    assert f.stat().st_size > 1000
    with pytest.raises(VisrecError) as info:
        decode_text(f)
    assert str(info.value) == (
        f"{f}: looks like a binary file (or UTF-16 text), not a UTF-8 or latin-1 text table "
        "(a NUL byte on line 202)"
    )


def test_another_encoding_that_fails_falls_back_to_latin1_not_windows_1252(
    tmp_path: Path,
) -> None:
    """T05: with an encoding asked for that is not UTF-8, undecodable bytes are read as
    latin-1 (0x80 stays U+0080, not cp1252's euro sign) and the encoding says so."""
    f = tmp_path / "t.txt"
    f.write_bytes(b"caf\xe9 \x80\n")
    got = decode_text(f, "ascii")
    assert (got.text, got.encoding, got.warning) == ("café \x80\n", "latin-1", None)
    assert read_text(f, "ascii") == "café \x80\n"


def test_files_joined_with_cat_name_the_first_joined_line_and_count_them(
    tmp_path: Path,
) -> None:
    """T08 (the first joined line off by one) and T09 (the count of joined files taken
    as 1): three files with BOMs joined, the later BOMs on lines 3 and 5."""
    f = tmp_path / "t.csv"
    bom = b"\xef\xbb\xbf"
    f.write_bytes(bom + b"a,b\n1,2\n" + bom + b"a,b\n3,4\n" + bom + b"a,b\n5,6\n")
    got = decode_text(f)
    assert got.joined == (3, 2)
    assert got.text == "a,b\n1,2\na,b\n3,4\na,b\n5,6\n"


def test_an_excel_tab_separator_line_is_blanked_and_taken(tmp_path: Path) -> None:
    """T10 (``sep=`` of a tab not recognised) and T11 (the ``sep=`` line removed, not
    blanked: every later line number would be one less than the file's)."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"sep=\t\r\nuser_id\titem_id\r\nu1\ti1\r\n")
    got = decode_text(f)
    assert (got.sep, got.text) == ("\t", "\nuser_id\titem_id\nu1\ti1\n")
    f.write_bytes(b"sep=; \nuser_id;item_id\n")
    got = decode_text(f)
    assert (got.sep, got.text) == (";", "\nuser_id;item_id\n")


def test_a_zip_archive_is_refused_with_how_to_undo_it(tmp_path: Path) -> None:
    """T12: the hint names the command that undoes the zip."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"PK\x03\x04" + b"\x14\x00" * 20)
    with pytest.raises(VisrecError) as info:
        decode_text(f)
    assert str(info.value) == (
        f"{f}: a zip archive; tables are read as text, .gz, .bz2 or .xz: unzip it first"
    )


def test_read_head_decompresses_a_gzip_file_known_by_its_magic_bytes(tmp_path: Path) -> None:
    """T14: the sniff reads 16 bytes to know a compression whatever the file's name
    (one byte cannot tell gzip's two-byte magic)."""
    f = tmp_path / "t.csv"  # no .gz
    f.write_bytes(gzip.compress(b"user_id,item_id\nu1,i1\n"))
    assert read_head(f, 7) == b"user_id"
    assert read_text(f) == "user_id,item_id\nu1,i1\n"


def test_a_tie_of_utf8_and_other_lines_is_read_as_windows_1252(tmp_path: Path) -> None:
    """T16: UTF-8 line by line only when *most* non-ASCII lines are UTF-8; one of each
    is Windows-1252, with the warning that names the garbled UTF-8 line."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"id\ncaf\xc3\xa9\ncaf\xe9\n")
    got = decode_text(f)
    assert (got.text, got.encoding, got.first_8bit) == ("id\ncafÃ©\ncafé\n", "cp1252", 3)
    assert got.warning == (
        3,
        "not valid UTF-8 here, so the file is read as Windows-1252 (latin-1), but 1 "
        "line of it is valid UTF-8 (line 2), now garbled ('é' read as 'Ã©'); "
        "save the file as UTF-8",
    )


def test_a_mostly_utf8_file_names_its_first_bad_line(tmp_path: Path) -> None:
    """T19: the warning of a UTF-8 file with two Windows-1252 lines names the first of
    them (line 5, its byte and column), not the last."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"id\n\xc3\xa91\n\xc3\xa92\n\xc3\xa93\ncaf\xe9\n\xc3\xa94\nx\xff\n\xc3\xa95\n")
    got = decode_text(f)
    assert got.encoding == "utf-8" and got.text.split("\n")[4:7] == ["café", "é4", "xÿ"]
    assert got.warning == (
        5,
        "2 lines not valid UTF-8 (first: byte 0xe9 at column 4), read as Windows-1252 "
        "(latin-1), the rest of the file as UTF-8; save the file as UTF-8",
    )


def test_a_windows_1252_file_names_its_first_utf8_line(tmp_path: Path) -> None:
    """T20: of two valid UTF-8 lines in a Windows-1252 file, the warning names the
    first (line 3), not the last (line 5)."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"id\nx\xe9\n\xc3\xa9\ny\xe9\n\xc3\xa8\nz\xe9\n")
    got = decode_text(f)
    assert got.encoding == "cp1252" and got.first_8bit == 2
    assert got.warning is not None and got.warning[0] == 2
    assert "but 2 lines of it are valid UTF-8 (first: line 3)," in got.warning[1]


def test_a_csv_file_keeps_its_commas_beside_a_tab() -> None:
    """T25: a ``.csv`` is never taken for tab-separated by a tab in its first line; any
    other suffix is."""
    assert sniff_sep("user\tid,item,rating", ".csv") == ","
    assert sniff_sep("user\tid,item,rating", ".txt") == "\t"


def test_line_breaks_are_those_of_the_csv_reader() -> None:
    """T27 (text_lines breaking at ``\n`` only) and T28 (the first line keeping its
    ``\r``): Windows and old Mac line ends end a line too, and are no part of it."""
    assert text_lines("a\r\nb\rc\n") == ["a", "b", "c", ""]
    assert first_text_line("\r\n,,\r\nuser_id,item_id\r\nu1,i1") == "user_id,item_id"


def test_an_empty_file_and_one_of_empty_fields_are_told_apart(tmp_path: Path) -> None:
    """T29: a file of blank lines and empty fields has content, but no header line."""
    f = tmp_path / "t.csv"
    assert str(no_first_line(f, "", "a header line")) == (
        f"{f}: file is empty, expected a header line"
    )
    assert str(no_first_line(f, ",,\n\n", "a header line")) == (
        f"{f}: no header line: every line is blank or holds only empty fields"
    )


def test_a_folder_without_the_file_lists_its_first_ten_names(tmp_path: Path) -> None:
    """T34: the refusal lists up to ten of the folder's names, sorted."""
    for k in range(12):
        (tmp_path / f"f{k:02d}.txt").write_text("x", encoding="utf-8")
    with pytest.raises(VisrecError) as info:
        resolve_folder(tmp_path, ["u.data", "ratings.csv"], "ratings")
    listing = ", ".join(f"f{k:02d}.txt" for k in range(10))
    assert str(info.value) == (
        f"{tmp_path}: folder has no ratings file (looked for u.data, ratings.csv; found: {listing})"
    )


def test_rows_of_blanks_are_skipped_and_a_header_needs_a_name() -> None:
    """T36 (a row of one blank field yielded), T37 (the header error's words) and T38
    (a row of empty fields taken for the header)."""
    assert list(split_rows("a\n  \n\nb\n", ",", "w")) == [(1, ["a"]), (4, ["b"])]
    rows = iter([(1, ["", " "]), (2, [" user_id", "item_id "])])
    assert header_row(rows, "w") == ["user_id", "item_id"]
    with pytest.raises(VisrecError) as info:
        header_row(iter([(1, ["", ""])]), "t.csv")
    assert str(info.value) == (
        "t.csv: no header line: every line is blank or holds only empty fields"
    )


def test_a_closed_quote_with_text_after_it_is_not_an_open_quote() -> None:
    """T40: a quoted field closed rows later, with text after its closing quote, is read
    leniently; only a quote never closed ("unexpected end of data") is refused."""
    text = 'id,title\n1,"two\nlines"x\n'
    assert list(split_rows(text, ",", "w")) == [(1, ["id", "title"]), (2, ["1", "two\nlinesx"])]
    with pytest.raises(VisrecError, match=r"^w line 2: a quote \(\"\) opened here is never"):
        list(split_rows('id,title\n1,"two\nlines\n', ",", "w"))


# --- _recs_progress ----------------------------------------------------------------

FP: dict[str, Any] = {"visrec": "test", "model": "m", "n": 5}
COUNTS = {"n_rows": 10, "n_empty": 0, "n_short": 1}


def _notes() -> tuple[list[str], Any]:
    said: list[str] = []
    return said, said.append


def test_a_folder_where_the_resume_record_goes_is_refused(tmp_path: Path) -> None:
    """P02: the record's side file (OUT.partial.json) is checked as the rows' is."""
    target = tmp_path / "recs.csv"
    state = tmp_path / "recs.csv.partial.json"
    state.mkdir()
    with pytest.raises(VisrecError) as info:
        _recs_progress.check_side_files(target)
    assert str(info.value) == (
        f"{state} is not a regular file (a folder): remove it, visrec keeps its resume record there"
    )


def test_a_model_folder_without_its_model_json_matches_no_record(tmp_path: Path) -> None:
    """P03: with model.json gone (a train swapping it in), the key is random, never the
    key of the arrays alone (which a record could match)."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "arrays.npz").write_bytes(b"arrays")
    assert _recs_progress.model_key(str(folder)) != _recs_progress.model_key(str(folder))
    (folder / "model.json").write_text("{}", encoding="utf-8")
    assert _recs_progress.model_key(str(folder)) == _recs_progress.model_key(str(folder))


def test_the_fingerprint_holds_the_new_users(tmp_path: Path) -> None:
    """P06: other new users (``--new-users``) are other rows: another fingerprint."""
    cands = SimpleNamespace(
        raw_ids=["i1", "i2"], known_idx=np.array([0, 1]), new_pos=None, new_vectors=None
    )
    users = np.array([0, 1])
    one = _recs_progress.fingerprint("m", cands, users, ["n1"], {"n": 5})  # type: ignore[arg-type]
    other = _recs_progress.fingerprint("m", cands, users, ["n2"], {"n": 5})  # type: ignore[arg-type]
    assert one["users"] != other["users"]
    assert one == _recs_progress.fingerprint("m", cands, users, ["n1"], {"n": 5})  # type: ignore[arg-type]


def test_a_record_restarts_the_clock_to_the_next(tmp_path: Path) -> None:
    """P11: after a record, the next block within SAVE_EVERY_S records nothing (every
    block would otherwise sync the file and rewrite the record)."""
    assert _recs_progress.SAVE_EVERY_S == 5.0
    rows, state = _recs_progress.side_files(tmp_path / "recs.csv")
    prog = _recs_progress.Progress(rows, state, FP, saved_at=time.monotonic() - 10)
    with prog.open() as fh:
        fh.write("u1,i1,1,0.5\n")
        prog.block_done(fh, 1, COUNTS)
        assert json.loads(state.read_text(encoding="utf-8"))["users_done"] == 1
        fh.write("u2,i1,1,0.5\n")
        prog.block_done(fh, 2, COUNTS)
    rec = json.loads(state.read_text(encoding="utf-8"))
    assert (rec["users_done"], rec["offset"]) == (1, len(_recs_progress.HEADER) + 12)
    assert (prog.users_done, prog.offset) == (1, rec["offset"])


def test_nothing_is_said_kept_when_no_user_was_recorded(tmp_path: Path) -> None:
    """P16: a progress that recorded no user keeps nothing, even with a record file
    there."""
    rows, state = _recs_progress.side_files(tmp_path / "recs.csv")
    rows.write_text(_recs_progress.HEADER, encoding="utf-8")
    state.write_text("{}", encoding="utf-8")
    assert _recs_progress.Progress(rows, state, FP).kept(40) == ""
    done = _recs_progress.Progress(rows, state, FP, users_done=6)
    assert done.kept(40) == (
        f"6 of 40 users' lists are kept in {rows}; run the same command again to resume"
    )


def test_a_rows_file_cut_while_hashed_is_an_error(tmp_path: Path) -> None:
    """P17: bytes asked for past the end of the file are an OSError naming the shortfall,
    never a digest of fewer bytes that passes for the recorded ones."""
    f = tmp_path / "rows"
    f.write_bytes(b"abcdefgh")
    digest = hashlib.sha256()
    with pytest.raises(OSError, match=f"^{f} ended 3 bytes early$"):
        _recs_progress._hash_bytes(digest, f, 2, 11)
    whole = hashlib.sha256()
    _recs_progress._hash_bytes(whole, f, 2, 8)
    assert whole.hexdigest() == hashlib.sha256(b"cdefgh").hexdigest()


def test_no_resume_removes_an_earlier_record(tmp_path: Path) -> None:
    """P19: ``--no-resume`` drops the earlier run's record: left, it would describe a
    rows file this run writes over (and say its rows were kept)."""
    target = tmp_path / "recs.csv"
    rows, state = _recs_progress.side_files(target)
    rows.write_text(_recs_progress.HEADER + "u1,i1,1,0.5\n", encoding="utf-8")
    state.write_text(json.dumps({"format": 1, "fp": FP}), encoding="utf-8")
    said, note = _notes()
    prog = _recs_progress.start(target, FP, 40, False, note)
    assert not state.exists() and said == []
    assert (prog.users_done, prog.offset, prog.resumable) == (0, 0, True)


def test_an_empty_rows_file_without_a_record_is_started_over(tmp_path: Path) -> None:
    """P22 (an empty rows file refused as not visrec's) and P23 (the refusal without
    its second way out): a run killed between creating the file and writing its header
    leaves it empty; a file of other content is refused in full words."""
    target = tmp_path / "recs.csv"
    rows, _ = _recs_progress.side_files(target)
    rows.write_bytes(b"")
    said, note = _notes()
    _recs_progress.start(target, FP, 40, True, note)
    assert said == [
        f"resume: {rows} has no resume record (its run stopped before the first); starting over"
    ]
    rows.write_text("id,score\n", encoding="utf-8")
    with pytest.raises(VisrecError) as info:
        _recs_progress.start(target, FP, 40, True, note)
    assert str(info.value) == (
        f"{rows}: not the rows of a visrec recommend run (no resume record, and it does "
        "not start with the header user_id,item_id,rank,score); name another -o, or "
        "delete this file"
    )
    assert os.path.exists(rows)


def test_form_feeds_in_a_text_are_no_sign_of_a_binary_file(tmp_path: Path) -> None:
    """T23: form feeds (a page break pasted into a title) count as text like tabs and
    line ends, however many there are."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"user_id,item_id\n" + b"u1,a\x0cb\n" * 50)
    assert decode_text(f).text == "user_id,item_id\n" + "u1,a\x0cb\n" * 50


def _recorded_run(tmp_path: Path, **changes: Any) -> tuple[Path, Path, Path]:
    """Output ``recs.csv`` with rows of 2 users and a record of them (``changes``
    replacing its fields); returns the output, rows file and record."""
    target = tmp_path / "recs.csv"
    rows, state = _recs_progress.side_files(target)
    data = (_recs_progress.HEADER + "u1,i1,1,0.5\nu2,i1,1,0.5\n").encode()
    rows.write_bytes(data)
    rec = {"format": 1, "fp": FP, "users_done": 2, "offset": len(data),
           "sha256": hashlib.sha256(data).hexdigest(), "counts": COUNTS}  # fmt: skip
    state.write_text(json.dumps({**rec, **changes}), encoding="utf-8")
    return target, rows, state


@pytest.mark.parametrize(
    "changes",
    [
        {"users_done": 0},  # P24: a record of no user is none
        {"offset": 0, "sha256": hashlib.sha256(b"").hexdigest()},  # P24
        {"counts": {"n_rows": 10}},  # P25: counts the closing line cannot use
        {"counts": {**COUNTS, "n_other": 1}},  # P25
        {"sha256": 5},  # P33: a digest that is no string
    ],
)
def test_a_record_of_no_rows_or_other_counts_is_damaged(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    """P24 (``users_done``/``offset`` of 0 taken), P25 (the counts' names not checked)
    and P33 (a ``sha256`` that is no string): such a record is damaged, and the run
    starts over saying so; the same record whole resumes."""
    target, rows, state = _recorded_run(tmp_path, **changes)
    said, note = _notes()
    prog = _recs_progress.start(target, FP, 40, True, note)
    assert said == [f"resume: {state} is damaged; starting over"]
    assert prog.users_done == 0 and not state.exists()
    target, rows, state = _recorded_run(tmp_path)
    said, note = _notes()
    prog = _recs_progress.start(target, FP, 40, True, note)
    assert said == [f"resuming: 2 users' lists already written ({rows})"]
    assert (prog.users_done, prog.counts) == (2, COUNTS)


def test_a_record_of_other_settings_only_says_settings_changed(tmp_path: Path) -> None:
    """P26: a record whose fingerprint differs only in a field this run does not have
    (an older visrec's option) names no input: it says the settings changed."""
    target, rows, _ = _recorded_run(tmp_path, fp={**FP, "batch_users": 6})
    said, note = _notes()
    _recs_progress.start(target, FP, 40, True, note)
    assert said == [
        f"resume: {rows} was written with other inputs (settings changed); starting over"
    ]
    target, rows, _ = _recorded_run(tmp_path, fp={**FP, "n": 10})
    said, note = _notes()
    _recs_progress.start(target, FP, 40, True, note)
    assert said == [f"resume: {rows} was written with other inputs (n changed); starting over"]


def test_a_record_of_every_user_resumes(tmp_path: Path) -> None:
    """P28: a run killed after its last block but before the rename recorded every
    user: it resumes (to the rename), it is not 'more users than there are'."""
    target, rows, state = _recorded_run(tmp_path)
    said, note = _notes()
    prog = _recs_progress.start(target, FP, 2, True, note)
    assert said == [f"resuming: 2 users' lists already written ({rows})"]
    assert prog.users_done == 2
    target, rows, state = _recorded_run(tmp_path)
    said, note = _notes()
    _recs_progress.start(target, FP, 1, True, note)
    assert said == [f"resume: {state} records more users than there are (2 of 1); starting over"]


def test_start_checks_the_side_files_again(tmp_path: Path) -> None:
    """P31: a symlink put where the rows go after the command's first check is refused
    when the progress starts (the rows would be written through it)."""
    target = tmp_path / "recs.csv"
    rows, _ = _recs_progress.side_files(target)
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text(_recs_progress.HEADER, encoding="utf-8")
    rows.symlink_to(elsewhere)
    said, note = _notes()
    with pytest.raises(VisrecError) as info:
        _recs_progress.start(target, FP, 40, True, note)
    assert str(info.value).startswith(f"{rows} is a symlink: remove it, visrec keeps the rows")
    assert said == []


def test_a_rows_file_the_system_will_not_read_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P34: a rows file with no record that cannot be read (no permission: chmod 000,
    which root would read anyway) is a ReadError naming it, not written over unseen."""
    import errno

    from visrec.errors import ReadError

    target = tmp_path / "recs.csv"
    rows, _ = _recs_progress.side_files(target)
    rows.write_text("someone else's\n", encoding="utf-8")

    def refused(path: Any, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(_recs_progress, "open", refused, raising=False)
    said, note = _notes()
    with pytest.raises(ReadError) as info:
        _recs_progress.start(target, FP, 40, True, note)
    assert str(info.value) == f"{rows}: cannot be read (Permission denied)"
    assert said == [] and rows.read_text(encoding="utf-8") == "someone else's\n"
