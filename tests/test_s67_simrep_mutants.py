"""Session 67 (simrep): mutation audit of ``visrec.commands.similar`` (the ``visrec
similar`` command), ``visrec.commands.report`` and ``visrec.commands._resume`` (resume
records, the lock, Ctrl-C and failure lines shared by evaluate and rating-eval).

52 mutants: 34 in similar, 5 in report, 13 in _resume. Old tests (every test file that runs
``visrec similar``, the report command's tests, and the resume / interrupt tests) killed
39 (one, kept_runs reading a pipe, by hanging until the timeout); these tests kill the
other 13, so 52 of 52 killed. Equivalent: none.

The 13 gaps: "--labels needs --id-col and --label-col" ('or' for 'and'); the unlabelled
note's count of items shown (the table's rows, or an item shown twice counted twice);
every note on the label table said, not only the first; the cache record keeping a long
data name (cut at 10 bytes) and its 16-digit digest; the kept-runs line joining records
with 'and' and skipping empty ones; the report's rerun advice after --no-resume; 'no new
run' when --json OUT is as it was; the kept-runs line on a failed body; --no-resume
deleting the record (not emptying it); a report gone since the start counted as not
written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from small_vectors import item_vectors
from test_s63_resume_mutants import _interrupt, _record
from visrec.cli import main
from visrec.commands import _resume
from visrec.embed.store import write_vectors


def _vectors(
    tmp_path: Path, ids: list[str], rows: list[list[float]], has: list[bool] | None = None
) -> str:
    path = tmp_path / "v.parquet"
    write_vectors(path, item_vectors(ids, rows, has))
    return str(path)


def _similar(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    assert main(["similar", *argv]) == 0
    got = capsys.readouterr()
    return got.out, got.err


def test_one_label_option_alone_goes_with_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The verb agreeing with two options when one was given."""
    v = _vectors(tmp_path, ["a", "b"], [[1, 0], [0, 1]])
    assert main(["similar", v, "a", "--id-col", "id"]) == 2
    assert "--id-col goes with --labels TABLE, which is missing" in capsys.readouterr().err


def test_labels_without_both_columns_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'or' in place of 'and' when both column options are missing."""
    v = _vectors(tmp_path, ["a", "b"], [[1, 0], [0, 1]])
    table = tmp_path / "t.csv"
    table.write_text("id,title\na,A\n")
    assert main(["similar", v, "a", "--labels", str(table)]) == 2
    assert "--labels needs --id-col and --label-col: the column of" in capsys.readouterr().err


def test_the_unlabelled_note_counts_each_item_shown_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Counting an item shown under two queries twice, or the table's rows, or the verb
    swapped: 3 items shown (a, b, c), of which c has no title."""
    v = _vectors(tmp_path, ["a", "b", "c"], [[1, 0], [1, 0.2], [0, 1]])
    table = tmp_path / "t.csv"
    table.write_text("id,title\na,Apple\nb,Banana\n")
    _, err = _similar(
        capsys, v, "a", "b", "--n", "2",
        "--labels", str(table), "--id-col", "id", "--label-col", "title",
    )  # fmt: skip
    assert "note: 1 of the 3 items shown has no 'title' in" in err


def test_the_cache_record_keeps_a_long_data_name_and_a_16_digit_digest(tmp_path: Path) -> None:
    """The data file's name cut short (10 bytes, not 100), or a shorter digest."""
    import re

    name = "ratings_from_the_big_survey_2024.csv"  # 36 bytes
    path = _resume.record_path(None, f"data/{name}", [name, 3], tmp_path / "cache")
    assert path is not None
    assert re.fullmatch(re.escape(name) + r"-[0-9a-f]{16}\.jsonl", path.name)


def test_kept_runs_names_every_record_holding_runs_and_skips_empty_ones(
    tmp_path: Path,
) -> None:
    """Another joiner between two records, an empty file counted as a record holding
    runs, or the --no-resume advice swapped."""
    one = _record(tmp_path / "one.jsonl")
    two = _record(tmp_path / "two.jsonl", (0, 1))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert _resume.kept_runs([one, empty, two], unit="seeds") == (
        f"finished seeds are kept in {one} and {two}; run the same command again to resume"
    )
    assert _resume.kept_runs(empty) == ""
    assert _resume.kept_runs(one, resume=False).endswith(
        "run the command without --no-resume again to resume"
    )


def test_every_note_on_the_label_table_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the first of the label table's notes said: here a duplicate id and one label
    in two Unicode forms."""
    v = _vectors(tmp_path, ["a", "b", "c"], [[1, 0], [0, 1], [1, 1]])
    table = tmp_path / "t.csv"
    table.write_text("id,title\na,X\na,Y\nb,caf\u00e9\nc,cafe\u0301\n")
    _, err = _similar(
        capsys, v, "a", "--labels", str(table), "--id-col", "id", "--label-col", "title"
    )
    assert "(duplicate item id 1)" in err
    assert "1 label written in two Unicode forms that print alike" in err


def test_ctrl_c_after_the_results_with_no_resume_advises_dropping_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report's rerun advice saying 'the same command' after --no-resume, which
    would fit every run again."""
    from visrec._atomic import write_text_atomic

    out, report = tmp_path / "ev.json", tmp_path / "ev.html"

    def stopped_before_the_report(record: Path | None) -> None:
        write_text_atomic(out, "{}\n")
        raise KeyboardInterrupt

    rc = _resume.run_resumable(
        "evaluate", str(out), None, False, stopped_before_the_report, report=str(report)
    )
    assert rc == 130
    assert capsys.readouterr().err == (
        f"interrupted: the results were written to {out}, not yet the report {report}; run "
        "the command without --no-resume again to write it (the finished runs are reused)\n"
    )


def test_ctrl_c_leaving_earlier_results_says_no_new_run_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dropping 'new' when --json OUT holds an earlier run's results, as it was."""
    out = tmp_path / "ev.json"
    out.write_text("{}\n")
    rc = _resume.run_resumable("evaluate", str(out), None, True, _interrupt)
    assert rc == 130
    assert capsys.readouterr().err == f"interrupted: {out} is as it was; no new run had finished\n"


def test_a_failed_body_says_where_its_finished_runs_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kept-runs line left out when a fit or a write fails."""
    record = _record(tmp_path / "r.jsonl")

    def fails(rec: Path | None) -> None:
        raise RuntimeError("fit failed")

    with pytest.raises(RuntimeError, match="fit failed"):
        _resume.run_resumable("evaluate", None, record, True, fails)
    assert capsys.readouterr().err == (
        f"finished runs are kept in {record}; run the same command again to resume\n"
    )


def test_no_resume_deletes_the_record(tmp_path: Path) -> None:
    """--no-resume emptying the record in place of deleting it (an empty file left)."""
    record = _record(tmp_path / "r.jsonl")
    assert _resume.start_over(record) == record
    assert not record.exists()


def test_a_report_gone_since_the_start_is_said_not_yet_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only an unchanged report counted as not written: one that existed and is gone
    after a Ctrl-C is not there either."""
    from visrec._atomic import write_text_atomic

    out, report = tmp_path / "ev.json", tmp_path / "ev.html"
    report.write_text("<html>old</html>\n")

    def replaced_then_stopped(record: Path | None) -> None:
        report.unlink()  # as a write that failed half-way through a replace could
        write_text_atomic(out, "{}\n")
        raise KeyboardInterrupt

    rc = _resume.run_resumable(
        "evaluate", str(out), None, True, replaced_then_stopped, report=str(report)
    )
    assert rc == 130
    assert f"not yet the report {report}; run the same command again" in capsys.readouterr().err
