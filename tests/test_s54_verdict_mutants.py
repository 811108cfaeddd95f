"""Verdict and resume-record cases a mutation audit of ``report/verdict.py`` and
``evaluation/run_record.py`` found unpinned; each test names the mutant it kills (the
ids are the audit's; its docstring says what the mutant changed). One is a fix too: an
entry whose seed is JSON true passed as a record and went unsaid."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from test_evaluation_report import _result
from test_s52_evaluate_resume import _frame, _record, _results, _run
from visrec.evaluation import run_record
from visrec.evaluation import runner as R
from visrec.report.evaluation import verdict
from visrec.report.verdict import picture_roles


def test_a_record_holding_only_a_torn_first_line_is_no_error(tmp_path: Path) -> None:
    """Kills R05 (the text after the last newline read as a line: "not a resume
    record") and R38 (a record without a complete line not rewritten: the next line is
    appended to the torn text and lost with it). A kill during the first append leaves
    a torn line alone, which is no sign of another file."""
    record = tmp_path / "rec.jsonl"
    record.write_text('{"fp": {"visrec": "0.')
    notes: list[str] = []
    res = _run(["popularity"], (0,), resume=record, keep_record=True, note=notes.append)
    assert notes == []
    assert len(res.runs) == 1
    assert [r["model"] for r in run_record.read_record(record)] == ["popularity"]


def test_an_exclude_list_with_no_pair_reuses_runs_recorded_without_one(tmp_path: Path) -> None:
    """Kills R09 (an empty ``exclude`` fingerprinted as one): a list excluding no pair
    changes no figure, so the runs recorded without it are reused, not refitted."""
    record = tmp_path / "rec.jsonl"
    _run(["popularity"], (0,), resume=record, keep_record=True)
    notes: list[str] = []
    none = pd.DataFrame({"user_id": pd.Series([], dtype=str), "item_id": pd.Series([], dtype=str)})
    _run(["popularity"], (0,), resume=record, exclude=none, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_most_seeds_worse_but_a_higher_mean_is_no_call_that_pictures_do_not_help() -> None:
    """Kills V13 (``against_the_mean`` checking only an "up" call): vbpr is worse on 5 of
    6 seeds (a "down" call by the sign test) but far better on the sixth, so its mean is
    higher: "Pictures do not help here" would overclaim."""
    res = _result("warm", {"bpr": [0.30] * 6, "vbpr": [0.29] * 5 + [0.50]})
    call = verdict(res)[1]
    assert call.startswith("No clear difference: +0.0250 Recall@20")
    assert "but the mean goes the other way" in call


def test_a_run_both_the_record_and_the_earlier_results_hold_is_said_from_the_record(
    tmp_path: Path,
) -> None:
    """Kills R18 (the earlier results' runs sorted whether or not the record has them):
    the record's run is the later one, so it alone is named as the source."""
    out, _ = _results(tmp_path, ["popularity"])
    record = tmp_path / "rec.jsonl"
    _record(record, ["popularity"], (0,))
    notes: list[str] = []
    _run(["popularity"], (0,), earlier=out, resume=record, note=notes.append)
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_an_intact_earlier_entry_the_caller_cannot_use_is_fitted_again(tmp_path: Path) -> None:
    """Kills R34 (an earlier entry whose digest matches is reused without the caller's
    ``usable`` check): a row that is not the run's own (another seed's figures) is
    refused even where its digest was made anew (a tool, a visrec with a bug)."""
    out, data = _results(tmp_path, ["popularity"])
    section = data["resume"]
    (run,) = section["runs"]
    run["row"]["seed"] = 5
    run["digest"] = run_record._run_digest(section["fingerprint"], run)
    out.write_text(json.dumps(data))
    notes: list[str] = []
    res = _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [
        f"resume: 1 run of the earlier results in {out} lacks a field, holds a wrong value "
        "or was edited; it is fitted again"
    ]
    assert res.runs["seed"].tolist() == [0]


def test_one_cold_split_gets_no_sign_test() -> None:
    """Kills V29 (the sign test quoted for one split): a test of one split is no test."""
    res = _result(
        "cold-items", {"popularity": [0.1], "vbpr": [0.3]}, {"popularity": [0.5], "vbpr": [0.8]}
    )
    assert verdict(res)[1].startswith(
        "Best with pictures: vbpr, AUC 0.800 (too few seeds to call: above 0.5 on 1 of 1 "
        "split of this data; run --seeds 3 or more)"
    )


def test_models_repeating_each_other_with_a_seed_missing_count_once() -> None:
    """Kills V34 (``_distinct`` comparing the seeds' figures with their NaN, never
    equal): vbpr@b repeats vbpr, both lacking seed 3 that vbpr@c has; counted apart,
    the best would be said picked from 3 picture models (p 0.375), not 2 (0.250)."""
    res = _result(
        "warm", {"bpr": [0.3] * 4, "vbpr": [0.4] * 4, "vbpr@b": [0.4] * 4, "vbpr@c": [0.35] * 4}
    )
    for run in res["runs"]:
        if run["model"] in ("vbpr", "vbpr@b") and run["seed"] == 3:
            run["recall"] = None
    assert (
        "sign test p = 0.125, 0.250 for the best of 2 picture models (models repeating "
        "another seed for seed counted once), picked on these seeds" in verdict(res)[1]
    )


def test_visual_cf_on_a_time_split_is_a_model_without_pictures() -> None:
    """Kills V41 (only a warm split taken as one where every candidate has
    interactions): on a time split too visual-cf ranks as BPR, so comparing it with BPR
    would be BPR against itself."""
    assert picture_roles(["visual-cf", "vbpr"], "time") == {
        "visual-cf": "new items only",
        "vbpr": "yes",
    }


def test_hits_equal_to_the_shown_figure_are_about_those_of_a_random_order() -> None:
    """Kills V51 (the ratio alone deciding "about"): 0.0014 against 0.0006 both show
    as 0.001; "2.3 times that of a random order (0.001)" would claim a gain the
    figures shown do not carry."""
    res = _result(
        "cold-items", {"popularity": [0.0006] * 3, "vbpr": [0.0014] * 3},
        {"popularity": [0.5] * 3, "vbpr": [0.8] * 3},
    )  # fmt: skip
    assert "Recall@20 0.001, about that of a random order (0.001)." in verdict(res)[1]


def test_the_same_interactions_under_another_index_reuse_the_recorded_runs(
    tmp_path: Path,
) -> None:
    """Kills R43 (the frame's index in the interactions' digest): rows read another way
    (a filtered or concatenated frame) are the same data: no refit."""
    record = tmp_path / "rec.jsonl"
    _run(["popularity"], (0,), resume=record, keep_record=True)
    frame = _frame()
    frame.index = frame.index + 1000
    notes: list[str] = []
    R.run_experiment(
        frame, None, "warm", ["popularity"], seeds=(0,), k=5, progress=False,
        resume=record, note=notes.append,
    )  # fmt: skip
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_earlier_results_whose_runs_are_no_list_are_fitted_again_with_a_note(
    tmp_path: Path,
) -> None:
    """Kills R47 (the resume section's ``runs`` read without checking it is a list: a
    TypeError from inside on ``null``)."""
    out, data = _results(tmp_path, ["popularity"])
    data["resume"]["runs"] = None
    out.write_text(json.dumps(data))
    notes: list[str] = []
    res = _run(["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == [
        f"resume: {out} holds results without the runs to reuse (written by a visrec "
        "before it kept them): every run is fitted"
    ]
    assert len(res.runs) == 1


def test_an_earlier_entry_with_true_for_its_seed_names_no_seed(tmp_path: Path) -> None:
    """Kills R25 (``_key_of`` taking JSON true for seed 1); failed before the fix, when
    such an entry passed as a record (true is an int in Python) and its run was fitted
    again without a word."""
    out, data = _results(tmp_path, ["popularity"])
    data["resume"]["runs"][0]["seed"] = True
    out.write_text(json.dumps(data))
    notes: list[str] = []
    _run(["popularity"], (1,), earlier=out, note=notes.append)
    assert notes == [
        f"resume: 1 entry of the earlier results in {out} names no seed and model; "
        "it is dropped from it"
    ]
