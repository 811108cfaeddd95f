"""Session 67: mutation audit of ``visrec.evaluation.run_record`` and ``visrec.data.timestamps``.

Modules: ``visrec/evaluation/run_record.py`` (R1-R36: the digests that decide whether a
recorded run matches, reading and writing the record and the earlier ``--json``,
``forget``, the atomic rewrite, the notes) and ``visrec/data/timestamps.py`` (T1-T14).

Mutants: 50. Killed by the existing tests: 22 (R2, R4, R8, R12, R13, R14, R20, R23,
R24, R27, R28, R34; T1, T4, T6, T7, T8, T9, T10, T11, T12, T13). Old tests run: the
resume files (test_s52_evaluate_resume, test_s64_runrecord_mutants, and for R1-R16 also
test_rating_eval_resume, test_s63_resume_mutants, ...) and the timestamps files.
Killed by these tests: all 28 others (each test names its mutants), so 50 of 50.
Equivalent: none. Bugs to catch: a stale, edited or foreign run reused without a word
(R1, R3, R5, R10, R11, R15-R18, R19, R33, R35), a run fitted again that should be reused
(R6, R7, R9, R30), records lost (R21, R25 the non-atomic rewrite, R26, R36), wrong notes (R22,
R29, R31), a crash on another seed's line (R32), time misread (T2, T3, T5, T14).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_s52_evaluate_resume import _frame, _record, _results, _run
from visrec.data.timestamps import _parse_timestamps
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.evaluation import run_record
from visrec.evaluation import runner as R


def _fp_of(frame: pd.DataFrame, iv: ItemVectors | None = None) -> dict[str, Any]:
    return run_record.fingerprint(frame, iv, "warm", 5, 0.2)


def test_a_changed_timestamp_makes_a_time_record_stale(tmp_path: Path) -> None:
    """R1: the timestamp column left out of the interactions digest: a ``time`` run
    recorded before the times changed (which decide each user's held-out item) was
    reused silently."""
    record = tmp_path / "rec.jsonl"
    frame = _frame()
    R.run_experiment(frame, None, "time", ["popularity"], seeds=(0,), k=5, progress=False,
                     resume=record, keep_record=True)  # fmt: skip
    later = frame.copy()
    later.loc[0, "timestamp"] = 10_001  # user u0's first row becomes its last
    notes: list[str] = []
    R.run_experiment(later, None, "time", ["popularity"], seeds=(0,), k=5, progress=False,
                     resume=record, keep_record=True, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: ignoring 1 run recorded in {record} with other inputs (interactions "
        "changed); it is fitted again (and kept in the record until this run completes)"
    ]


def test_the_interactions_digest_reads_the_rating_column() -> None:
    """R2: the rating column left out of the interactions digest: a record made before
    the ratings were edited matched the new file."""
    frame = _frame().assign(rating=[1.0, 2.0, 3.0, 4.0, 5.0, 1.0] * 24)
    edited = frame.copy()
    edited.loc[3, "rating"] = 5.0
    assert _fp_of(frame)["interactions"] != _fp_of(edited)["interactions"]
    assert _fp_of(frame)["interactions"] == _fp_of(frame.copy())["interactions"]


def test_the_interactions_digest_tells_which_column_holds_the_numbers() -> None:
    """R3: the column names and dtypes left out of the interactions digest: the same
    numbers read as timestamps and as ratings (another column mapping) hashed alike,
    since pandas combines the columns' hashes without their names."""
    users, items, values = ["u1", "u2", "u3"], ["i1", "i2", "i1"], [5, 3, 4]
    as_time = pd.DataFrame({"user_id": users, "item_id": items, "timestamp": values})
    as_rating = pd.DataFrame({"user_id": users, "item_id": items, "rating": values})
    assert _fp_of(as_time)["interactions"] != _fp_of(as_rating)["interactions"]


def _vectors(ids: list[str], has_image: list[bool]) -> ItemVectors:
    vecs = np.arange(1, 1 + 2 * len(ids), dtype=np.float32).reshape(len(ids), 2)
    return ItemVectors(np.asarray(ids), vecs, np.asarray(has_image))


def test_the_vectors_digest_reads_the_image_flags_and_the_ids() -> None:
    """R4, R5: the has_image flags (which items a cold-items split may hold out) or the
    ids (which item each vector belongs to) left out of the vectors digest: a record
    made with other flags or with the vectors of swapped items was reused."""
    base = _fp_of(_frame(), _vectors(["i1", "i2"], [True, True]))["vectors"]
    flags = _fp_of(_frame(), _vectors(["i1", "i2"], [True, False]))["vectors"]
    swapped = _fp_of(_frame(), _vectors(["i2", "i1"], [True, True]))["vectors"]
    assert len({base, flags, swapped}) == 3
    assert base == _fp_of(_frame(), _vectors(["i1", "i2"], [True, True]))["vectors"]


def test_a_line_whose_seed_is_json_true_is_no_record(tmp_path: Path) -> None:
    """R10: ``true`` taken for seed 1 (Python's True == 1): a line with a boolean seed,
    its digest made anew, was read as a run of seed 1."""
    record = tmp_path / "rec.jsonl"
    rec = {"fp": {}, "seed": True, "model": "popularity", "params": {}, "split": {}, "row": {}}
    run_record.append_record(record, rec)
    with pytest.raises(VisrecError, match="not a resume record of visrec"):
        run_record.read_record(record)


def test_an_edited_fingerprint_of_earlier_results_is_not_trusted(tmp_path: Path) -> None:
    """R18: the fingerprint left out of each run's digest in the results: results of
    other data, their fingerprint edited to the current data's, were reused as if
    made from it."""
    out, data = _results(tmp_path, ["popularity"])
    later = _frame()
    later.loc[0, "item_id"] = "i17" if later.loc[0, "item_id"] != "i17" else "i16"
    data["resume"]["fingerprint"]["interactions"] = _fp_of(later)["interactions"]
    out.write_text(json.dumps(data))
    notes: list[str] = []
    R.run_experiment(later, None, "warm", ["popularity"], seeds=(0,), k=5, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: 1 run of the earlier results in {out} lacks a field, holds a wrong "
        "value or was edited; it is fitted again"
    ]


def test_a_split_size_that_is_no_whole_number_is_fitted_again(tmp_path: Path) -> None:
    """R35: ``whole`` ignored by ``has_numbers``: a record whose split size reads 100.5
    (its digest made anew) was reused, its split statistics not counts."""
    record = tmp_path / "rec.jsonl"
    (line,) = _record(record, ["popularity"], (0,))
    rec = json.loads(line)
    del rec["digest"]
    rec["split"]["n_train"] += 0.5
    record.unlink()
    run_record.append_record(record, rec)
    notes: list[str] = []
    _run(["popularity"], (0,), resume=record, keep_record=True, note=notes.append)
    assert notes == [
        f"resume: 1 run recorded in {record} lacks a field or holds a wrong value (written "
        "by an older visrec, edited or damaged); it is fitted again"
    ]


def test_a_failed_append_keeps_the_runs_recorded_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R36: the cleanup of a failed append removing the record whatever it held: a full
    disk at the third run deleted the two runs finished before it."""
    record = tmp_path / "rec.jsonl"
    lines = _record(record, ["popularity"], (0, 1))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    rec = {"fp": {}, "seed": 2, "model": "popularity", "params": {}, "split": {}, "row": {}}
    with pytest.raises(OSError):
        run_record.append_record(record, rec)
    assert record.read_text().splitlines()[:2] == lines


def test_a_rewrite_cut_off_by_a_full_disk_leaves_the_record_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R25: the record rewritten in place, not atomically: a full disk halfway through
    ``forget`` left half a record, the other runs' lines lost."""
    record = tmp_path / "rec.jsonl"
    _record(record, ["popularity"], (0, 1, 2))
    before = record.read_bytes()
    write_text = Path.write_text

    def torn(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", torn)
    run_record.forget(record, {(0, "popularity")})
    assert record.read_bytes() == before
    assert os.listdir(tmp_path) == ["rec.jsonl"]


def _other_seed_run(tmp_path: Path, frame: pd.DataFrame, out: Path) -> tuple[list[str], Any]:
    """Seed 1 of popularity on ``frame``, its ``--json`` at ``out`` holding seed 0."""
    notes: list[str] = []
    res = R.run_experiment(frame, None, "warm", ["popularity"], seeds=(1,), k=5,
                           progress=False, earlier=out, note=notes.append)  # fmt: skip
    return notes, res


def test_an_earlier_run_of_other_interactions_is_not_carried(tmp_path: Path) -> None:
    """R15: the interactions taken for a per-run entry of the fingerprint (as the
    vectors are): seed 0 of the earlier results, made from other data, stayed in the new
    results under this data's name, for a later call to reuse."""
    out, _ = _results(tmp_path, ["popularity"])
    later = _frame().iloc[1:].reset_index(drop=True)
    notes, res = _other_seed_run(tmp_path, later, out)
    assert notes == [
        f"resume: 1 other run of the earlier results in {out} is dropped from it "
        "(interactions changed): this command does not make it"
    ]
    assert [r["seed"] for r in res.resume["runs"]] == [1]


def test_an_edited_earlier_run_of_another_seed_is_not_carried(tmp_path: Path) -> None:
    """R16: the digest check of the runs carried for a later call dropped: seed 0 of
    the earlier results, a figure edited by hand, was kept and signed anew, so a later
    call reused the edited figure."""
    out, data = _results(tmp_path, ["popularity"])
    data["resume"]["runs"][0]["row"]["recall"] = 0.999
    out.write_text(json.dumps(data))
    notes, res = _other_seed_run(tmp_path, _frame(), out)
    assert notes == [
        f"resume: 1 other run of the earlier results in {out} is dropped from it "
        "(damaged or edited): this command does not make it"
    ]
    assert [r["seed"] for r in res.resume["runs"]] == [1]


def test_a_carried_run_keeps_its_own_fingerprint_through_the_results(tmp_path: Path) -> None:
    """R17, R33: a run carried under other vectors written, or read back, under the
    results' fingerprint: a picture model's run made with other vectors read as made
    with these, and was reused."""
    now = _fp_of(_frame(), _vectors(["i1", "i2"], [True, True]))
    old = {**now, "vectors": "another digest"}
    run = {"seed": 3, "model": "vbpr", "params": {"epochs": 1}, "split": {"n_train": 9},
           "row": {"seed": 3, "model": "vbpr", "auc": float("nan")}}  # fmt: skip
    section = run_record.results_section(run_record.Resumed(fp=now, carried=[{**run, "fp": old}]))
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"protocol": "warm", "resume": section}))
    (back,) = run_record.earlier_runs(out)
    assert back["fp"] == old and back["intact"] is True
    assert {n: back[n] for n in ("seed", "model", "params", "split")} == {
        n: run[n] for n in ("seed", "model", "params", "split")
    }


# 2020-01-01T00:00:00Z in epoch seconds: 50 years of 365 days and 12 leap days (1972..2016)
_JAN_1_2020 = (50 * 365 + 12) * 86_400
_DAY = 86_400


def test_a_number_among_dates_is_no_date() -> None:
    """T2: ``& bad`` dropped when a column is read as dates: a stray number that pandas
    also reads as a date (``20200101``) was taken as 2020-01-01, not reported as a bad
    time among the dates."""
    secs, bad, beyond, kinds = _parse_timestamps(
        pd.Series(["2020-01-02", "2020-01-03", "20200101"])
    )
    assert kinds.dates
    assert bad.tolist() == [False, False, True] and not beyond.any()
    assert secs[:2].tolist() == [_JAN_1_2020 + _DAY, _JAN_1_2020 + 2 * _DAY]


def test_as_many_dates_as_numbers_leave_a_column_of_numbers() -> None:
    """T3: ``n_dates > n_num`` made ``>=``: one date beside one epoch number turned the
    column into dates, the number the bad value, not the date."""
    secs, bad, _, kinds = _parse_timestamps(pd.Series(["2020-01-02", str(_JAN_1_2020)]))
    assert not kinds.dates and (kinds.n_numbers, kinds.n_dates) == (1, 1)
    assert bad.tolist() == [True, False] and secs[1] == _JAN_1_2020


def test_the_31st_of_a_month_is_a_date() -> None:
    """T5: ``day <= 31`` made ``< 31``: every numeric date on the 31st of a month was
    "not a date", a bad record."""
    secs, bad, _, kinds = _parse_timestamps(pd.Series(["01/31/2020", "02/01/2020"]))
    assert kinds.dates and not bad.any()
    assert secs.tolist() == [_JAN_1_2020 + 30 * _DAY, _JAN_1_2020 + 31 * _DAY]


def test_blank_times_are_not_counted_as_filled_values() -> None:
    """T14: blanks counted as filled: the bad-time message said "2 of 3 filled values"
    for a column of two numbers and one blank."""
    _, bad, _, kinds = _parse_timestamps(pd.Series(["100", "", "200"]))
    assert (kinds.n_filled, kinds.n_numbers) == (2, 2) and not kinds.dates
    assert bad.tolist() == [False, True, False]


def _time_run(record: Path, test_ratio: float, **kw: Any) -> list[str]:
    notes: list[str] = []
    R.run_experiment(_frame(), None, "time", ["popularity"], seeds=(0,), k=5, progress=False,
                     test_ratio=test_ratio, resume=record, keep_record=True,
                     note=notes.append, **kw)  # fmt: skip
    return notes


def test_a_time_run_is_reused_whatever_the_test_ratio(tmp_path: Path) -> None:
    """R6: ``test_ratio`` kept in a ``time`` fingerprint: a time split holds out each
    user's last interaction whatever the ratio, yet no time run was ever reused."""
    record = tmp_path / "rec.jsonl"
    assert _time_run(record, 0.2) == []
    (line,) = record.read_text().splitlines()
    assert json.loads(line)["fp"]["test_ratio"] is None
    assert _time_run(record, 0.3) == [f"resuming: 1 of 1 runs already done ({record})"]


def test_an_empty_exclude_list_still_reuses_the_runs_made_without_one(tmp_path: Path) -> None:
    """R7: an empty ``exclude`` given its own fingerprint entry: a run recorded without
    one was fitted again when an empty list of pairs to leave out was passed."""
    record = tmp_path / "rec.jsonl"
    _record(record, ["popularity"], (0,))
    notes: list[str] = []
    empty = pd.DataFrame({"user_id": pd.Series([], dtype=str), "item_id": pd.Series([], dtype=str)})
    _run(["popularity"], (0,), resume=record, keep_record=True, note=notes.append, exclude=empty)
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_a_time_run_recorded_with_its_ratio_is_still_reused(tmp_path: Path) -> None:
    """R9: ``_as_compared`` dropped: a ``time`` run recorded by a visrec that still kept
    the test ratio in the fingerprint (0.2 there, None now) was fitted again."""
    record = tmp_path / "rec.jsonl"
    _time_run(record, 0.2)
    rec = json.loads(record.read_text())
    del rec["digest"]
    rec["fp"]["test_ratio"] = 0.2
    record.unlink()
    run_record.append_record(record, rec)
    assert _time_run(record, 0.2) == [f"resuming: 1 of 1 runs already done ({record})"]


def test_a_line_without_its_digest_is_not_reused(tmp_path: Path) -> None:
    """R11: a line with no ``digest`` taken as matching: a figure edited by hand, the
    digest deleted with it, was reused as it read."""
    record = tmp_path / "rec.jsonl"
    (line,) = _record(record, ["popularity"], (0,))
    rec = json.loads(line)
    del rec["digest"]
    rec["row"]["recall"] = 0.999
    record.write_text(json.dumps(rec) + "\n")
    notes: list[str] = []
    res = _run(["popularity"], (0,), resume=record, keep_record=True, note=notes.append)
    assert notes == [
        f"{record}: 1 line does not match its digest (changed after it was written): "
        "its runs are fitted again"
    ]
    assert res.runs["recall"].tolist() != [0.999]


def test_infinite_figures_keep_their_sign_through_the_results(tmp_path: Path) -> None:
    """R19: the signs of ``Infinity`` swapped in strict JSON: a run's +inf read back
    from the results as -inf (and -inf as +inf)."""
    run = {"seed": 0, "model": "m", "params": {}, "split": {},
           "row": {"up": float("inf"), "down": float("-inf")}}  # fmt: skip
    resumed = run_record.Resumed(fp={"k": 5}, kept=[run])
    section = run_record.results_section(resumed)
    assert section["runs"][0]["row"] == {"up": "Infinity", "down": "-Infinity"}
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"protocol": "warm", "resume": section}))
    (back,) = run_record.earlier_runs(out)
    assert back["row"] == run["row"] and back["intact"] is True


def test_a_switch_to_the_time_protocol_names_only_the_protocol(tmp_path: Path) -> None:
    """R31: the test ratio named as changed between ``warm`` and ``time``: a time split
    takes no ratio, so the note blamed an option the user had not changed."""
    record = tmp_path / "rec.jsonl"
    _record(record, ["popularity"], (0,))
    assert _time_run(record, 0.2) == [
        f"resume: ignoring 1 run recorded in {record} with other inputs (protocol "
        "changed); it is fitted again (and kept in the record until this run completes)"
    ]


def test_a_record_of_a_torn_line_only_is_rewritten_before_the_first_append(
    tmp_path: Path,
) -> None:
    """R21: the record rewritten only when it held a whole run: a record holding just the
    torn line of a killed append got the next run's line glued onto it, so that run was
    lost and the record read as another file."""
    record = tmp_path / "rec.jsonl"
    record.write_text('{"fp": {"visrec": ')
    _run(["popularity"], (0,), resume=record, keep_record=True)
    assert [(r["seed"], r["model"]) for r in run_record.read_record(record)] == [(0, "popularity")]


def test_runs_both_the_record_and_the_results_hold_are_counted_in_the_record(
    tmp_path: Path,
) -> None:
    """R22: the earlier results searched for the runs the record already gives: the
    note counted each such run twice, "1 in rec.jsonl, 1 in out.json" for one run."""
    record, out = tmp_path / "rec.jsonl", tmp_path / "out.json"
    _run(["popularity"], (0,), resume=record, keep_record=True).to_json(out)
    notes: list[str] = []
    _run(["popularity"], (0,), resume=record, keep_record=True, earlier=out, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_forget_keeps_the_runs_of_other_models_of_the_same_seed(tmp_path: Path) -> None:
    """R26: ``forget`` matching runs by seed alone: completing another model's
    experiment dropped this model's recorded runs of the same seeds."""
    record = tmp_path / "rec.jsonl"
    lines = _record(record, ["popularity"], (0, 1))
    run_record.forget(record, {(0, "bpr"), (1, "bpr")})
    assert record.read_text().splitlines() == lines


def test_an_earlier_entry_whose_seed_is_true_names_no_seed(tmp_path: Path) -> None:
    """R29: ``_key_of`` taking JSON ``true`` for a seed: an entry of the earlier
    results with ``"seed": true`` was said to be a run "this command does not make",
    not one that names no seed."""
    out, data = _results(tmp_path, ["popularity"])
    data["resume"]["runs"].append({"seed": True, "model": "popularity"})
    out.write_text(json.dumps(data))
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [
        f"resume: 1 entry of the earlier results in {out} names no seed and model; "
        "it is dropped from it",
        f"resuming: 1 of 1 runs already done ({out})",
    ]


def test_results_of_exactly_the_size_limit_are_read(tmp_path: Path) -> None:
    """R30: the size limit of the earlier results made exclusive: a results file of
    exactly 64 MiB was said to be "over 64 MB" and none of its runs reused."""
    out, data = _results(tmp_path, ["popularity"])
    body = json.dumps(data).encode()
    limit = 64 * 2**20
    out.write_bytes(body + b" " * (limit - len(body)))  # trailing blanks: still valid JSON
    assert out.stat().st_size == limit
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({out})"]


def test_a_recorded_run_of_another_seed_is_left_alone(tmp_path: Path) -> None:
    """R32: the record's runs of other seeds or models looked at as runs of this call:
    a record of seed 0 failed (or was said stale) when the next call fitted seed 1."""
    record = tmp_path / "rec.jsonl"
    (line,) = _record(record, ["popularity"], (0,))
    notes: list[str] = []
    _run(["popularity"], (1,), resume=record, keep_record=True, note=notes.append)
    assert notes == []
    lines = record.read_text().splitlines()
    assert lines[0] == line and [json.loads(x)["seed"] for x in lines] == [0, 1]
