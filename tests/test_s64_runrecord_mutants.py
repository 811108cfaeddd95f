"""Session 64: mutation audit of the resume record's edges (``evaluation/run_record.py``).

Audited: the torn last line and blank lines of a record (read side), the empty file a
failed append removes, the Recorder stopping after a failed append, the ``{`` and
byte-order-mark checks of the earlier results' head and body, and ``forget`` / the
rewrite keeping only the runs of other experiments.

Mutants: 18 in all (T1-T3 reading, U1-U3 failed append, R1-R2 recorder, H1-H2 head,
B1-B2 byte-order mark, F1-F4 forget and rewrite, A1 append mode, P1 rewrite on open).
Killed before: 13 (every test file reaching run_record). Killed after: 17. Equivalent: 1:
- B2 the body's BOM not removed before ``json.loads``: it is given bytes, and json
  detects a UTF-8 BOM on bytes and decodes them as utf-8-sig, so they parse the same.
The 4 new kills: T2, U3, H1, H2 (each test names its mutant).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from test_s52_evaluate_resume import _results, _run
from visrec.evaluation import run_record


def test_a_record_of_blank_lines_only_is_empty_not_another_file(tmp_path: Path) -> None:
    """Kills T2 (blank lines read as lines: a record holding only newlines, as
    ``echo > rec.jsonl`` makes, was "not a resume record of visrec")."""
    record = tmp_path / "rec.jsonl"
    record.write_text("\n  \n\n")
    assert run_record.read_record(record) == []
    notes: list[str] = []
    res = _run(["popularity"], (0,), resume=record, keep_record=True, note=notes.append)
    assert notes == [] and len(res.runs) == 1
    assert [r["model"] for r in run_record.read_record(record)] == ["popularity"]


def test_a_failed_first_append_raises_its_own_error_not_the_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kills U3 (the stat of the cleanup not guarded): an append refused before the file
    was made (a read-only disk) raised "No such file or directory" from the stat, so
    the recorder's note named the wrong cause."""
    path = tmp_path / "rec.jsonl"

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(run_record, "open", refused, raising=False)
    rec = {"fp": {}, "seed": 0, "model": "popularity", "params": {}, "split": {}, "row": {}}
    with pytest.raises(OSError) as info:
        run_record.append_record(path, rec)
    assert info.value.errno == errno.EROFS
    notes: list[str] = []
    recorder = run_record.Recorder(path, {}, notes.append)
    recorder.add(0, "popularity", {}, {}, {})
    recorder.add(1, "popularity", {}, {}, {})
    assert len(notes) == 1 and "(Read-only file system)" in notes[0]
    assert not path.exists()


def test_a_text_file_quoting_a_results_key_is_not_parsed_nor_noted(tmp_path: Path) -> None:
    """Kills H1 (the ``{`` check of the head dropped): a file that is no JSON object but
    quotes ``"protocol":`` near its start (notes, a log) was parsed as visrec results,
    and its parse error said as "cannot read the earlier results ... repair it"."""
    other = tmp_path / "notes.md"
    other.write_text('Ran it with\n\n    {"protocol": "warm", "k": 5}\n\nlooks fine.\n')
    notes: list[str] = []
    res = _run(["popularity"], (0,), earlier=other, note=notes.append)
    assert notes == [] and len(res.runs) == 1
    assert run_record.earlier_runs(other) == []


def test_results_with_leading_blank_lines_are_reused(tmp_path: Path) -> None:
    """Kills H2 (the head's leading whitespace kept): results an editor saved with a
    blank line before the ``{`` (valid JSON) were taken for another file and every run
    fitted again."""
    out, data = _results(tmp_path, ["popularity"])
    out.write_text("\n  \n" + json.dumps(data))
    assert [r["intact"] for r in run_record.earlier_runs(out)] == [True]
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({out})"]
