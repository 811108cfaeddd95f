"""Mutation audit of ``visrec.commands.data`` (``visrec data summary`` and
``visrec data merge-variants``).

Mutants: 60 in total; 43 killed by the suite before this file, 57 after it; the other
3 are equivalent:

- ``if p.is_dir()`` -> ``if p.exists()`` before ``p.rglob("*")``: ``rglob`` on a plain
  file yields nothing, so the same files are looked at.
- ``" (all N record(s) were skipped)" if loaded.n_bad else ""`` -> always the first: the
  frame is empty only when every record was skipped (an empty file, a folder without
  review files or a file that is not one are refused before loading), so n_bad > 0.
- ``quoting = csv_quoting(...)`` -> ``csv.QUOTE_MINIMAL``: the columns written are ids,
  stars and times, and the loader refuses an id holding a line break ("holds a line
  break or NUL"), so no value holds the carriage return that needs QUOTE_ALL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from test_session40_mutation_gaps import _review, _write
from visrec.cli import main


def _plain(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _two_reviews(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "Two_5.json.gz", [_review("u1", "A", 1, 5.0, "a"), _review("u2", "B", 2, 4.0)]
    )


def _dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "u.data").write_text("1\t2\t3\t881250949\n")
    return folder


def _symlink(link: Path, target: Path) -> None:
    try:
        link.symlink_to(target)
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"symlinks are not available here: {exc}")


# --- data summary --json -------------------------------------------------------------


def test_summary_json_never_replaces_a_data_file_in_a_subfolder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a dataset folder's subfolders are looked into (rglob, not glob), and what is found
    # there is checked against --json
    folder = _dataset(tmp_path)
    (folder / "sub").mkdir()
    kept = _plain(folder / "sub" / "All_Beauty_5.json", [_review("u1", "A", 1, 5.0)])
    before = kept.read_text()
    assert main(["data", "summary", str(folder), "--json", str(kept)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --json: ") and "is the PATH file" in err, err
    assert kept.read_text() == before


def test_summary_json_through_a_link_to_a_meta_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the link's own name says nothing; what it leads to (an Amazon meta file) does
    folder = _dataset(tmp_path)
    (folder / "sub").mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    meta = outside / "meta_Beauty.json"
    meta.write_text('{"asin": "A", "title": "x"}\n')
    link = folder / "sub" / "counts.json"
    _symlink(link, meta)
    assert main(["data", "summary", str(folder), "--json", str(link)]) == 2
    err = capsys.readouterr().err
    assert "is the PATH file" in err, err
    assert meta.read_text() == '{"asin": "A", "title": "x"}\n'


def test_summary_json_through_a_review_named_link_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the link is named as a review file, its target is not: the link's name counts
    folder = _dataset(tmp_path)
    (folder / "sub").mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    blob = _plain(outside / "blob", [_review("u1", "A", 1, 5.0)])
    before = blob.read_text()
    link = folder / "sub" / "All_Beauty_5.json"
    _symlink(link, blob)
    assert main(["data", "summary", str(folder), "--json", str(link)]) == 2
    assert "is the PATH file" in capsys.readouterr().err
    assert blob.read_text() == before


def test_summary_json_is_indented_ends_in_a_newline_and_says_how_it_was_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _two_reviews(tmp_path)
    js = tmp_path / "s.json"
    assert main(["data", "summary", str(src), "--json", str(js)]) == 0
    capsys.readouterr()
    text = js.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "sections": ')
    doc = json.loads(text)
    assert "data" in doc["run"]["command"] and "summary" in doc["run"]["command"]


def test_summary_counts_a_file_and_a_link_to_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _two_reviews(tmp_path)
    link = tmp_path / "Link_5.json.gz"
    _symlink(link, src)
    js1, js2 = tmp_path / "one.json", tmp_path / "two.json"
    assert main(["data", "summary", str(src), "--json", str(js1)]) == 0
    capsys.readouterr()
    assert main(["data", "summary", str(src), str(link), "--json", str(js2)]) == 0
    err = capsys.readouterr().err
    assert f"note: {link} was given more than once; counted once" in err
    assert json.loads(js1.read_text())["sections"] == json.loads(js2.read_text())["sections"]


# --- data merge-variants ----------------------------------------------------------


def test_merge_reads_a_file_and_a_link_to_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _two_reviews(tmp_path)
    link = tmp_path / "Link_5.json.gz"
    _symlink(link, src)
    out = tmp_path / "m.csv"
    assert main(["data", "merge-variants", str(src), str(link), "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert f"note: {link} was given more than once; counted once" in cap.err
    assert "2 rows of 2 items" in cap.out
    assert len(out.read_text().splitlines()) == 3


def test_merge_refuses_an_existing_json_file_as_its_csv_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _two_reviews(tmp_path)
    old = tmp_path / "old.json"
    old.write_text('{"kept": true}\n')
    for option in ("-o", "--map"):
        argv = ["data", "merge-variants", str(src), "-o", str(tmp_path / "m.csv")]
        argv = [*argv[:-2], "-o", str(old)] if option == "-o" else [*argv, "--map", str(old)]
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert f"{option}: " in err and "visrec writes CSV there" in err, err
        assert old.read_text() == '{"kept": true}\n'


def test_merge_names_one_review_file_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    src = _two_reviews(folder)
    out = tmp_path / "m.csv"
    assert main(["data", "merge-variants", str(folder), str(src), "-o", str(out)]) == 0
    assert "1 review file: 2 rows of 2 items" in capsys.readouterr().out


def test_merge_lists_the_first_three_bad_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [_review("u0", "A", 1, 5.0)] + [_review(f"u{i}", "B", i, None) for i in range(1, 6)]
    src = _write(tmp_path / "Bad_5.json.gz", rows)
    assert main(["data", "merge-variants", str(src), "-o", str(tmp_path / "m.csv")]) == 0
    err = capsys.readouterr().err
    shown = [n for n in (2, 3, 4, 5, 6) if f"Bad_5.json.gz:{n}: 'overall' is null" in err]
    assert shown == [2, 3, 4], err


def test_merge_of_thousands_of_bad_records_counts_them_with_separators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "Bad_5.json.gz", [_review(f"u{i}", "A", i, None) for i in range(1000)])
    assert main(["data", "merge-variants", str(src), "-o", str(tmp_path / "m.csv")]) != 0
    assert "no usable reviews (all 1,000 records were skipped)" in capsys.readouterr().err


def test_merge_json_says_how_it_was_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _two_reviews(tmp_path)
    js = tmp_path / "c.json"
    argv = ["data", "merge-variants", str(src), "-o", str(tmp_path / "m.csv"), "--json", str(js)]
    assert main(argv) == 0
    capsys.readouterr()
    doc = json.loads(js.read_text())
    assert "merge-variants" in doc["run"]["command"]
    assert doc["rows_in"] == 2


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null on this system")
def test_merge_calls_a_device_not_a_review_file_rather_than_an_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "merge-variants", "/dev/null", "-o", str(tmp_path / "m.csv")]) != 0
    err = capsys.readouterr().err
    assert "/dev/null: not an Amazon review file" in err, err
