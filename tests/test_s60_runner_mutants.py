"""Mutation audit (session 60) of ``visrec.evaluation.runner`` and
``visrec.evaluation.experiment_result``: which seeds and models ``run_experiment``
runs, the mean and spread of its summary and table, what a resume reuses or fits
again, what the results JSON holds and what the errors and notes say.

71 hand-made mutants; the existing tests killed 47 (21 of them tests/test_runner.py),
2 are equivalent, and these tests kill the other 22 (14 checked to survive every test
file that imports the two modules; 8 checked against tests/test_runner.py only). Some
tests also pin mutants other files kill. Each test names the mutant(s) it kills. Small
generated data and the real ``popularity`` and ``bpr`` (one epoch) models keep each test fast.
"""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import signed
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError, WriteError
from visrec.evaluation import experiment_result as E
from visrec.evaluation import runner as R
from visrec.models import registry

BPR = ("bpr", {"epochs": 1, "factors": 4, "reg": 0.01})


def _frame(n_users: int = 12, n_items: int = 15, per_user: int = 5) -> pd.DataFrame:
    rows = [
        (f"u{u}", f"i{(3 * u + j) % n_items}", j) for u in range(n_users) for j in range(per_user)
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def _vectors(
    ids: list[str], has_image: list[bool] | None = None, nan_at: str | None = None
) -> ItemVectors:
    vecs = np.random.default_rng(0).random((len(ids), 3)).astype(np.float32) + 0.1
    if nan_at is not None:
        vecs[ids.index(nan_at)] = np.nan
    shown = np.ones(len(ids), dtype=bool) if has_image is None else np.array(has_image)
    return ItemVectors(np.array(ids), vecs, shown, {"backbone": "test"})


def _run(frame: pd.DataFrame, **kw: Any) -> R.ExperimentResult:
    kw.setdefault("progress", False)
    kw.setdefault("k", 3)
    kw.setdefault("models", ["popularity"])
    kw.setdefault("seeds", (0,))
    vectors = kw.pop("vectors", None)
    protocol = kw.pop("protocol", "warm")
    return R.run_experiment(frame, vectors, protocol, **kw)


def _runs(rows: list[tuple[int, str, float, float]]) -> pd.DataFrame:
    """Runs of (seed, model, auc, recall); the other metrics fixed."""
    return pd.DataFrame(
        [
            {"seed": s, "model": m, "auc": auc, "recall": rec, "ndcg": 0.3, "hit_rate": 0.5,
             "coverage": 0.1, "fit_s": 1.0, "tuned": None}
            for s, m, auc, rec in rows
        ]
    )  # fmt: skip


# --------------------------------------------------------------- seeds and set-up
def test_a_repeated_seed_is_named_and_refused() -> None:
    # R04 (message word), R42 (the duplicate returned without the error)
    with pytest.raises(VisrecError, match=r"^seed 1 is listed twice: one split would count"):
        _run(_frame(), seeds=(1, 2, 1))


def test_an_unknown_protocol_lists_the_choices() -> None:
    # R29: the choices dropped from the message
    with pytest.raises(VisrecError, match=r"unknown protocol 'wram'; choose from: warm, time"):
        _run(_frame(), protocol="wram")


def test_time_ignores_the_test_ratio_and_warm_checks_it_before_the_data() -> None:
    # R06: the ratio checked for time (which ignores it) and not for warm
    res = _run(_frame(), protocol="time", test_ratio=1.5)
    assert list(res.runs["model"]) == ["popularity"]
    with pytest.raises(VisrecError, match="test_ratio"):
        R.run_experiment("not a frame", None, "warm", test_ratio=1.5)  # type: ignore[arg-type]


def test_bad_model_params_are_refused_before_any_fit_or_record(tmp_path: Path) -> None:
    # R40: check_params skipped up front: popularity fitted and recorded, then the error
    record = tmp_path / "rec.jsonl"
    with pytest.raises(VisrecError, match="epochs"):
        _run(_frame(), models=["popularity", ("bpr", {"epochs": -1})], resume=record)
    assert not record.exists()


def test_a_numpy_k_gives_a_json_number() -> None:
    # R07: k kept as np.int64, which json cannot write
    res = _run(_frame(), k=np.int64(3))
    assert json.loads(res.to_json())["k"] == 3 and type(res.k) is int


def test_a_fixed_random_state_is_reported_with_the_params() -> None:
    # R08: random_state dropped from the params even when the caller fixed it
    res = _run(_frame(), models=[("bpr", {**BPR[1], "random_state": 7})])
    assert res.params["bpr"]["random_state"] == 7
    assert "random_state" not in _run(_frame(), models=[BPR]).params["bpr"]


# ------------------------------------------------------------------ item vectors
def test_cold_items_checks_the_vectors_even_for_popularity_alone() -> None:
    # R10 (cold-items no longer reads the vectors), R41 (the check inverted)
    frame = _frame()
    ids = sorted(set(frame["item_id"]))
    iv = _vectors(ids, nan_at="i4")
    with pytest.raises(VisrecError, match=r"v\.npz: 1 item vector holds NaN.*'i4'"):
        _run(frame, protocol="cold-items", vectors=iv, vectors_source="v.npz")


def test_vectors_no_model_reads_are_not_checked_on_warm() -> None:
    # R41: a NaN vector refused though only popularity runs on warm
    frame = _frame()
    ids = sorted(set(frame["item_id"]))
    iv = _vectors(ids, nan_at=ids[0])
    assert len(_run(frame, vectors=iv).runs) == 1


def test_cold_items_candidates_are_the_held_out_items_with_an_image() -> None:
    # R36: n_candidates read from the training items
    frame = pd.DataFrame(
        {"user_id": ["u0", "u1", "u1", "u2", "u2"], "item_id": ["z", "a", "b", "a", "b"]}
    )
    iv = _vectors(["a", "b", "z"], [True, True, False])  # a or b is held out
    res = _run(frame, protocol="cold-items", vectors=iv, test_ratio=0.5)
    assert res.info["0"]["n_candidates"] == 1 and res.info["0"]["n_train_items"] == 2
    assert res.runs["n_candidates"].tolist() == [1]


def test_cold_items_refusal_counts_the_rows_of_users_without_training() -> None:
    # R33: the count of dropped items said as that of users
    frame = pd.DataFrame(
        {"user_id": ["u0", "u1", "u1", "u2", "u2", "u3"], "item_id": ["z", "a", "b", "a", "b", "y"]}
    )
    # z or y is held out: the single item of u0 or u3, who then has no training row
    iv = _vectors(["a", "b", "y", "z"], [False, False, True, True])
    msg = (
        "protocol 'cold-items' leaves no test user to evaluate: every test row was "
        "dropped: 1 by users with no training row"
    )
    with pytest.raises(VisrecError, match=f"^{msg}$"):
        _run(frame, protocol="cold-items", vectors=iv, test_ratio=0.5)


# ------------------------------------------------------------------ skipped seeds
def _one_user_frame() -> pd.DataFrame:
    # seed 0 holds out u0's b (nobody else's item): no test row; seeds 1, 2 hold out a
    return pd.DataFrame({"user_id": ["u0", "u0", "u1"], "item_id": ["a", "b", "a"]})


def test_a_seed_without_test_users_is_left_out_with_a_note_and_info() -> None:
    # R18 (info without "skipped"), R28 (the note lists the skipped seed as used)
    notes: list[str] = []
    res = _run(_one_user_frame(), seeds=(0, 1, 2), note=notes.append)
    assert list(res.runs["seed"]) == [1, 2]
    assert res.info["0"]["skipped"] == "every test row was dropped: 1 on items with no training row"
    assert "skipped" not in res.info["1"]
    assert notes[-1].endswith("; left out: the results are over seeds 1, 2")
    assert notes[-1].startswith("seed 0: no test user (every test row was dropped")


def test_no_test_user_on_any_seed_is_an_error_naming_the_reason() -> None:
    # R26 (no error when every seed was skipped), R27 ("on any seed" for one seed),
    # R34 (time's reason)
    single = pd.DataFrame({"user_id": ["u0", "u1"], "item_id": ["a", "b"], "timestamp": [1, 2]})
    why = "no user has 2 or more interactions to split (a single one stays in training)"
    with pytest.raises(VisrecError) as many:
        _run(single, seeds=(0, 1))
    assert str(many.value) == (
        f"protocol 'warm' leaves no test user to evaluate on any seed: {why}"
    )
    with pytest.raises(VisrecError) as one:
        _run(single, protocol="time")
    assert str(one.value) == f"protocol 'time' leaves no test user to evaluate: {why}"


# ------------------------------------------------------------------ log and notes
def _dropping_frame() -> pd.DataFrame:
    # seed 0 holds out u0's x, an item nobody else has: 1 test row dropped, 3 kept
    rows = [("u0", "a"), ("u0", "x")] + [(f"u{u}", i) for u in (1, 2, 3) for i in "abcde"]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def test_dropped_test_rows_are_said_with_their_kind_even_without_a_log() -> None:
    # R20 (the split line only to the log), R21 (users' count said for the items)
    notes: list[str] = []
    _run(_dropping_frame(), note=notes.append)
    assert notes == [
        "seed 0: 13 train / 3 test rows, 5 candidates; dropped 0 test rows of unknown "
        "users, 1 of unknown items, collapsed 0 duplicates"
    ]


def test_the_run_line_shows_the_runs_own_figures() -> None:
    # R37: Recall@k shows another metric's value
    lines: list[str] = []
    res = _run(_frame(), log=lines.append)
    row = res.runs.iloc[0]
    want = f"AUC {row['auc']:.3f} Recall@3 {row['recall']:.3f} NDCG@3 {row['ndcg']:.3f}"
    assert want in lines[1]
    assert row["recall"] != row["ndcg"]


def test_n_test_users_counts_users_not_rows() -> None:
    # R35: n_test_users counted the test rows
    res = _run(_frame(), test_ratio=0.5)
    info = res.info["0"]
    assert info["n_test"] > info["n_test_users"] == 12
    assert res.runs["n_test_users"].tolist() == [12]


def test_fit_time_leaves_out_loading_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    # R39: load_fit_backend not called first, so the first fit pays the import
    cls = registry.get_model_class("popularity")
    loaded: list[bool] = []
    fit = cls._fit

    def slow_fit(self: Any, *args: Any) -> None:
        if not loaded:  # what fit imports itself when nobody loaded it before
            time.sleep(0.5)
            loaded.append(True)
        fit(self, *args)

    def load(self: Any) -> Any:
        loaded.append(True)
        return self

    monkeypatch.setattr(cls, "load_fit_backend", load)
    monkeypatch.setattr(cls, "_fit", slow_fit)
    assert _run(_frame()).runs["fit_s"].tolist()[0] < 0.4


# ----------------------------------------------------------------------- resume
def test_a_complete_run_removes_the_record_and_the_folders_it_made(tmp_path: Path) -> None:
    # R12: the folders made for the record left behind
    record = tmp_path / "new" / "sub" / "rec.jsonl"
    _run(_frame(), resume=record)
    assert not (tmp_path / "new").exists()


def test_a_reused_run_is_logged_as_reused_and_counted_by_the_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # R23 ("(reused)" dropped from the log line), R17 (the bar starts at 0 on a resume)
    record = tmp_path / "rec.jsonl"
    first = _run(_frame(), resume=record, keep_record=True)
    lines: list[str] = []
    again = _run(_frame(), resume=record, log=lines.append, note=lambda _m: None, progress=True)
    assert lines[-1].endswith("(reused)") and lines[-1].startswith("  popularity: AUC")
    assert again.runs.equals(first.runs)
    err = capsys.readouterr().err
    assert "1/1 runs" in err and "0/1 runs" not in err


def test_a_recorded_row_of_another_seed_is_fitted_again(tmp_path: Path) -> None:
    # R15: a line whose row names another seed than its key reused as it reads
    record = tmp_path / "rec.jsonl"
    _run(_frame(), resume=record, keep_record=True)
    rec = json.loads(record.read_text(encoding="utf-8"))
    rec["row"]["seed"] = 5
    record.write_text(json.dumps(signed(rec)) + "\n", encoding="utf-8")
    notes: list[str] = []
    res = _run(_frame(), resume=record, note=notes.append)
    assert list(res.runs["seed"]) == [0]
    assert not any(n.startswith("resuming:") for n in notes)


def test_cold_items_runs_depend_on_which_items_have_an_image(tmp_path: Path) -> None:
    # R14: the vectors ignored by a popularity run on cold-items (has_image says which
    # items are held out), so a run on other images is reused
    frame = _frame()
    ids = sorted(set(frame["item_id"]))
    record = tmp_path / "rec.jsonl"
    _run(frame, protocol="cold-items", vectors=_vectors(ids), resume=record, keep_record=True)
    fewer = _vectors(ids, [i % 2 == 0 for i in range(len(ids))])
    notes: list[str] = []
    _run(frame, protocol="cold-items", vectors=fewer, resume=record, note=notes.append)
    assert not any(n.startswith("resuming:") for n in notes)


def test_time_protocol_leaves_out_every_known_excluded_pair() -> None:
    # R22: warm's random share of the excluded pairs kept on a time split too
    # u0 trains on a (t=1), is tested on c (t=3); b, the most popular item, rated low by
    # u0 at t=2 is no candidate of u0's: u0's top 1 is c, a hit (y0's and y1's: b, a miss)
    rows = [("u0", "a", 1), ("u0", "c", 3)] + [(f"v{u}", "b", 1) for u in range(5)]
    rows += [(y, item, t) for y in ("y0", "y1") for item, t in (("c", 1), ("a", 2))]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    exclude = pd.DataFrame({"user_id": ["u0"], "item_id": ["b"], "timestamp": [2]})
    for seed in range(4):  # warm_known would drop it on most seeds at this ratio
        res = _run(frame, protocol="time", k=1, exclude=exclude, seeds=(seed,),
                   test_ratio=0.9)  # fmt: skip
        assert res.runs.loc[0, "hit_rate"] == pytest.approx(1 / 3)


# ------------------------------------------------------------- summary and table
def test_a_single_seed_has_spread_zero_in_the_summary_and_json() -> None:
    # E02: the std of a single run left NaN (null in JSON)
    res = E.ExperimentResult(runs=_runs([(0, "popularity", 0.6, 0.4)]), protocol="warm", k=3)
    assert res.summary().loc["popularity", ("auc", "std")] == 0.0
    assert res.to_dict()["summary"]["popularity"]["auc"] == {"mean": 0.6, "std": 0.0}


def test_table_counts_seeds_only_where_a_metric_misses_some() -> None:
    # E06 ("(n of n seeds)" on every cell), E07 ("nan" for "n/a"),
    # E09 ("± nan" when one seed alone defines the metric)
    runs = _runs([(0, "bpr", 0.6, 0.40), (1, "bpr", np.nan, 0.44),
                  (0, "popularity", np.nan, 0.2), (1, "popularity", np.nan, 0.2)])  # fmt: skip
    lines = E.ExperimentResult(runs=runs, protocol="warm", k=3).table().splitlines()
    assert "0.600 (1 of 2 seeds)" in lines[1] and "±  nan" not in lines[1]
    assert "± nan" not in lines[1] and "0.420 ± 0.028 " in lines[1] + " "
    assert lines[1].count("seeds)") == 1
    assert lines[2].split()[1] == "n/a"


def test_table_headers_name_k() -> None:
    # E08: HitRate@20 whatever k
    head = E.ExperimentResult(runs=_runs([(0, "popularity", 0.6, 0.4)]), protocol="warm",
                              k=5).table().splitlines()[0]  # fmt: skip
    assert head.split() == ["model", "AUC", "Recall@5", "NDCG@5", "HitRate@5", "Coverage@5",
                            "fit", "s"]  # fmt: skip


def test_tuned_note_counts_settings_most_chosen_first() -> None:
    # E10 ("1 runs"), E28 (settings in the order met, not by count)
    runs = _runs([(s, "bpr", 0.6, 0.4) for s in range(3)])
    runs["tuned"] = ["reg=0.03", "reg=0.1", "reg=0.1"]
    note = E.ExperimentResult(runs=runs, protocol="warm", k=3).tuned_note()
    assert note == (
        "validation chose (reg=auto on sparse data), on inner splits of each training set:\n"
        "  bpr: reg=0.1 (2 runs), reg=0.03 (1 run)"
    )


def test_tuned_note_names_what_chose_reg_visual_and_profile_weight() -> None:
    # E11 (reg_visual alone not read as reg=auto), E24 (profile_weight not named)
    runs = _runs([(0, "vbpr", 0.6, 0.4), (0, "visual-cf", 0.6, 0.4)])
    runs["tuned"] = ["reg_visual=0.1", "profile_weight=0.5"]
    note = E.ExperimentResult(runs=runs, protocol="warm", k=3).tuned_note()
    assert note is not None and note.startswith(
        "validation chose (reg=auto on sparse data, visual-cf's profile_weight=auto), on"
    )


def test_tuned_note_of_runs_without_the_column_is_none() -> None:
    # E23: runs recorded before the column existed lack it: a KeyError
    runs = _runs([(0, "bpr", 0.6, 0.4)]).drop(columns="tuned")
    assert E.ExperimentResult(runs=runs, protocol="warm", k=3).tuned_note() is None


# ----------------------------------------------------------------------- JSON
def test_to_dict_keeps_defaults_notes_inputs_and_skipped_records() -> None:
    # E15 ("resume": null when none kept), E21 (defaults), E22 (notes), E26
    # (records_skipped), E27 (inputs)
    res = E.ExperimentResult(
        runs=_runs([(0, "popularity", 0.6, 0.4), (0, "bpr", 0.7, 0.5)]), protocol="warm",
        k=3, params={"popularity": {}, "bpr": {"epochs": 1}}, notes=["a note"],
        inputs={"interactions": "r.csv"}, records_skipped={"blank": 2},
    )  # fmt: skip
    d = res.to_dict()
    assert "resume" not in d
    assert d["defaults"]["bpr"]["epochs"] == 80 and d["defaults"]["popularity"] == (
        registry.default_params("popularity")
    )
    assert d["notes"] == ["a note"] and d["inputs"] == {"interactions": "r.csv"}
    assert d["records_skipped"] == {"blank": 2}


def test_to_json_writes_a_whole_line_file(tmp_path: Path) -> None:
    # E16: the file lacks its final newline
    res = E.ExperimentResult(runs=_runs([(0, "popularity", 0.6, 0.4)]), protocol="warm", k=3)
    out = tmp_path / "r.json"
    text = res.to_json(out)
    assert out.read_text(encoding="utf-8") == text + "\n"


def test_to_json_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # E17 (message), E18 (a folder given for the file wrapped in a second message)
    res = E.ExperimentResult(runs=_runs([(0, "popularity", 0.6, 0.4)]), protocol="warm", k=3)
    with pytest.raises(VisrecError) as folder:
        res.to_json(tmp_path)
    assert "is a directory; name a file" in str(folder.value)
    assert "cannot write" not in str(folder.value)

    def full(path: Any, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(E, "write_text_atomic", full)
    out = tmp_path / "r.json"
    with pytest.raises(WriteError, match=r"^cannot write the experiment result to '.*r\.json'"):
        res.to_json(out)
