"""Session 52: the resume notes of ``visrec evaluate`` count exactly the runs of this
call that are fitted again.

A line of the record or an entry of the earlier ``--json`` that is not reused is said
"fitted again" only when no other line or entry gives its run, and each run fitted again
is counted once across the notes. Small generated data and popularity (and BPR for two
epochs), so each run takes well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.evaluation import run_record
from visrec.evaluation import runner as R

BPR = ("bpr", {"epochs": 2, "factors": 4})


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [
        (f"u{u}", f"i{i}", int(t))
        for u in range(24)
        for i, t in zip(rng.choice(18, 6, replace=False), rng.integers(1, 10_000, 6), strict=True)
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def _run(models: list[Any], seeds: tuple[int, ...], k: int = 5, **kw: Any) -> Any:
    return R.run_experiment(_frame(), None, "warm", models, seeds=seeds, k=k, progress=False, **kw)


def _record(path: Path, models: list[Any], seeds: tuple[int, ...], k: int = 5) -> list[str]:
    """A record of ``models`` x ``seeds`` at ``path``; its lines."""
    _run(models, seeds, k=k, resume=path, keep_record=True)
    return path.read_text().splitlines()


def _damaged(line: str) -> dict[str, Any]:
    """The record of ``line`` with text where a metric belongs (its digest made anew)."""
    rec = json.loads(line)
    del rec["digest"]
    rec["row"]["auc"] = "oops"
    return dict(rec)


def _altered(line: str) -> str:
    """``line`` with a figure changed and its digest left as it was."""
    rec = json.loads(line)
    rec["row"]["recall"] = 0.999
    return json.dumps(rec)


def _cli(tmp_path: Path, out: Path, *extra: str) -> None:
    csv = tmp_path / "u.csv"
    if not csv.exists():
        _frame().to_csv(csv, index=False)
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "2",
            "--k", "5", "--json", str(out), "--quiet", *extra]  # fmt: skip
    assert main(argv) == 0


def test_a_damaged_copy_of_a_recorded_run_is_not_said_to_be_fitted_again(
    tmp_path: Path,
) -> None:
    record = tmp_path / "rec.jsonl"
    lines = _record(record, ["popularity"], (0, 1))
    run_record.append_record(record, _damaged(lines[0]))
    notes: list[str] = []
    res = _run(["popularity"], (0, 1), resume=record, keep_record=True, note=notes.append)
    assert notes == [f"resuming: 2 of 2 runs already done ({record})"]
    assert "oops" not in record.read_text()  # still dropped from the record
    assert res.runs["auc"].notna().all()


def test_a_damaged_run_no_other_line_gives_is_counted_once(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    lines = _record(record, ["popularity"], (0, 1))
    record.write_text(lines[1] + "\n")
    run_record.append_record(record, _damaged(lines[0]))
    run_record.append_record(record, _damaged(lines[0]))  # two copies, one run
    notes: list[str] = []
    _run(["popularity"], (0, 1), resume=record, note=notes.append)
    assert notes == [
        f"resume: 1 run recorded in {record} lacks a field or holds a wrong value (written "
        "by an older visrec, edited or damaged); it is fitted again",
        f"resuming: 1 of 2 runs already done ({record})",
    ]


def test_altered_lines_are_said_dropped_unless_their_runs_are_fitted_again(
    tmp_path: Path,
) -> None:
    record = tmp_path / "rec.jsonl"
    lines = _record(record, ["popularity", BPR], (0,))  # popularity, then bpr
    # a changed copy of the popularity run (another line gives it) and a changed bpr
    # line (a model this call does not run): nothing of them is fitted
    record.write_text("\n".join([*lines[:1], _altered(lines[0]), _altered(lines[1])]) + "\n")
    notes: list[str] = []
    _run(["popularity"], (0,), resume=record, keep_record=True, note=notes.append)
    assert notes == [
        f"{record}: 2 lines do not match their digest (changed after they were written): "
        "they are dropped",
        f"resuming: 1 of 1 runs already done ({record})",
    ]
    assert record.read_text() == lines[0] + "\n"


def test_altered_lines_count_only_the_runs_fitted_again(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    lines = _record(record, ["popularity", BPR], (0,))
    record.write_text(_altered(lines[0]) + "\n" + _altered(lines[1]) + "\n")
    notes: list[str] = []
    _run(["popularity"], (0,), resume=record, note=notes.append)
    assert notes == [
        f"{record}: 2 lines do not match their digest (changed after they were written): "
        "they are dropped; 1 of their runs is fitted again"
    ]
    notes.clear()
    record.write_text(_altered(lines[0]) + "\n")  # the one run of this call
    _run(["popularity"], (0,), resume=record, note=notes.append)
    assert notes == [
        f"{record}: 1 line does not match its digest (changed after it was written): "
        "its runs are fitted again"
    ]


def test_two_stale_lines_of_one_run_are_one_run_fitted_again(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    five = _record(record, ["popularity"], (0,), k=5)
    record.unlink()
    six = _record(record, ["popularity"], (0,), k=6)
    record.write_text(five[0] + "\n" + six[0] + "\n")
    notes: list[str] = []
    _run(["popularity"], (0,), k=7, resume=record, note=notes.append)
    assert notes == [
        f"resume: ignoring 1 run recorded in {record} with other inputs (k changed); "
        "it is fitted again (and kept in the record until this run completes)"
    ]


def test_the_changes_named_are_those_of_the_runs_fitted_again(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    stale_k = _record(record, [BPR], (0,), k=6)  # popularity is always run too
    record.unlink()
    good = _record(record, [BPR], (0,))
    record.unlink()
    other_params = _record(record, [("bpr", {"epochs": 1, "factors": 4})], (1,))
    # seed 0: a stale bpr line (k) beside a good one; seed 1: bpr of other parameters
    (bpr_k6,) = [line for line in stale_k if '"bpr"' in line]
    record.write_text("\n".join([bpr_k6, *good, *other_params]) + "\n")
    notes: list[str] = []
    _run([BPR], (0, 1), resume=record, keep_record=True, note=notes.append)
    assert notes == [
        f"resume: ignoring 1 run recorded in {record} with other inputs (bpr parameters "
        "changed); it is fitted again (and kept in the record until this run completes)",
        f"resuming: 3 of 4 runs already done ({record})",
    ]


def _record_from_results(out: Path, record: Path) -> None:
    """Append the runs kept in the results JSON ``out`` to ``record``, as lines of it."""
    section = json.loads(out.read_text())["resume"]
    for run in section["runs"]:
        fields = {n: run[n] for n in ("seed", "model", "params", "split", "row")}
        run_record.append_record(record, {"fp": section["fingerprint"], **fields})


def test_a_stale_record_line_of_a_run_the_earlier_json_gives_is_not_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, six = tmp_path / "out.json", tmp_path / "six.json"
    record = tmp_path / "out.json.partial.jsonl"
    _cli(tmp_path, out)  # k=5: both runs kept in out.json
    _cli(tmp_path, six, "--k", "6")
    _record_from_results(six, record)  # k=6 lines of both runs, as a stopped run leaves
    capsys.readouterr()
    _cli(tmp_path, out)
    err = capsys.readouterr().err
    assert "ignoring" not in err and "fitted again" not in err
    assert f"resuming: 2 of 2 runs already done ({out})" in err


def test_a_run_stale_in_the_record_and_the_earlier_json_is_counted_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, six = tmp_path / "out.json", tmp_path / "six.json"
    record = tmp_path / "out.json.partial.jsonl"
    _cli(tmp_path, out)  # k=5 results of seeds 0 and 1
    _cli(tmp_path, six, "--k", "6", "--seeds", "1")
    _record_from_results(six, record)  # a k=6 line of seed 0
    capsys.readouterr()
    _cli(tmp_path, out, "--k", "7")
    err = [line for line in capsys.readouterr().err.splitlines() if "resum" in line]
    assert err == [
        f"resume: ignoring 1 run recorded in {record} with other inputs (k changed); "
        "it is fitted again (and kept in the record until this run completes)",
        f"resume: not reusing 1 run of the earlier results in {out} (k changed); it is "
        "fitted again",
    ]


def _results(tmp_path: Path, models: list[Any]) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "out.json"
    _run(models, (0,)).to_json(out)
    return out, json.loads(out.read_text())


def test_an_earlier_entry_without_its_row_counts_as_fitted_again_only_in_the_plan(
    tmp_path: Path,
) -> None:
    out, data = _results(tmp_path, ["popularity", BPR])
    for run in data["resume"]["runs"]:
        del run["row"]  # neither entry is a run any more
    out.write_text(json.dumps(data))
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [
        f"resume: 1 entry of the earlier results in {out} lacks a field or holds a wrong "
        "value; it is dropped from it (it is not a run this command makes)",
        f"resume: 1 run of the earlier results in {out} lacks a field, holds a wrong value "
        "or was edited; it is fitted again",
    ]


def test_a_broken_earlier_entry_of_a_recorded_run_is_not_counted(tmp_path: Path) -> None:
    out, data = _results(tmp_path, ["popularity"])
    record = tmp_path / "rec.jsonl"
    _record(record, ["popularity"], (0,))
    del data["resume"]["runs"][0]["row"]
    out.write_text(json.dumps(data))
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, resume=record, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_an_intact_earlier_entry_is_reused_beside_an_edited_copy(tmp_path: Path) -> None:
    out, data = _results(tmp_path, ["popularity"])
    (run,) = data["resume"]["runs"]
    edited = {**run, "row": {**run["row"], "recall": 0.999}}
    data["resume"]["runs"] = [run, edited]
    out.write_text(json.dumps(data))
    notes: list[str] = []
    res = _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({out})"]
    assert res.runs["recall"].iloc[0] == run["row"]["recall"] != 0.999


def test_an_earlier_entry_naming_no_run_is_not_said_to_be_no_run_of_this_call(
    tmp_path: Path,
) -> None:
    out, data = _results(tmp_path, ["popularity"])
    data["resume"]["runs"][0]["seed"] = "0"  # this call's run, edited: cannot be told
    out.write_text(json.dumps(data))
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert not any("none is a run" in n for n in notes)
    assert (
        f"resume: 1 entry of the earlier results in {out} names no seed and model; "
        "it is dropped from it"
    ) in notes
