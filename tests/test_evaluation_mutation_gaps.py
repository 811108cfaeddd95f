"""Gaps a mutation audit of the evaluation found: what a resume fingerprint holds, a
record a torn line does not eat, cold lists as long as the candidates, one excluded
pair, undated excluded pairs on ``time``, index bounds of the metrics, the test share,
the last of untimed duplicates and the pairs a warm seed holds out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import signed
from test_evaluation_audit_fixes import _ratings
from test_models import FAST, checkerboard
from visrec import make_split
from visrec.errors import VisrecError
from visrec.evaluation import metrics as M
from visrec.evaluation.protocols import collapse_duplicates, known_at_test, warm_split
from visrec.evaluation.run_record import read_record
from visrec.evaluation.runner import evaluate_model, run_experiment
from visrec.models.popularity import Popularity


def _timed(n_users: int = 8, n_items: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [
        (f"u{u}", f"i{int(i)}", 10 * u + t)
        for u in range(n_users)
        for t, i in enumerate(rng.choice(n_items, size=6, replace=False))
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def _run(frame: pd.DataFrame, protocol: str, record: Path, seeds: tuple[int, ...],
         notes: list[str]) -> pd.DataFrame:  # fmt: skip
    res = run_experiment(frame, None, protocol, ["popularity"], seeds=seeds, k=3,
                         progress=False, resume=record, keep_record=True,
                         note=notes.append)  # fmt: skip
    return res.runs


@pytest.mark.parametrize(
    ("change", "what"),
    [
        # other times decide another time split: the recorded figures are not its own
        (lambda f: f.assign(timestamp=f["timestamp"][::-1].to_numpy()), "interactions"),
        (None, "protocol"),
    ],
)
def test_a_record_of_other_times_or_another_protocol_is_not_reused(
    tmp_path: Path, change: object, what: str
) -> None:
    frame = _timed()
    record = tmp_path / "rec.jsonl"
    notes: list[str] = []
    first = _run(frame, "warm" if what == "protocol" else "time", record, (0,), notes)
    assert notes == [] and len(read_record(record)) == 1
    again = frame if change is None else change(frame)  # type: ignore[operator]
    fresh = run_experiment(again, None, "time", ["popularity"], seeds=(0,), k=3,
                           progress=False)  # fmt: skip
    got = _run(again, "time", record, (0,), notes)
    assert len(notes) == 1 and f"({what} changed)" in notes[0], notes
    cols = ["auc", "recall", "ndcg"]
    assert got[cols].equals(fresh.runs[cols])
    assert not got[cols].equals(first[cols])  # the stale figures would have shown


def test_a_time_record_is_reused_whatever_the_test_ratio(tmp_path: Path) -> None:
    # a time split holds out each user's last interaction whatever the ratio (evaluate
    # says --test-size has no effect there), so another ratio must not refit every run
    frame = _timed()
    record = tmp_path / "rec.jsonl"
    notes: list[str] = []
    kw = {"seeds": (0,), "k": 3, "progress": False, "resume": record, "keep_record": True}
    first = run_experiment(frame, None, "time", ["popularity"], test_ratio=0.3,
                           note=notes.append, **kw)  # fmt: skip
    again = run_experiment(frame, None, "time", ["popularity"], test_ratio=0.2,
                           note=notes.append, **kw)  # fmt: skip
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]
    assert again.runs.equals(first.runs)
    # a record of an earlier visrec holds the ratio in its time fingerprint: reused too
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    for line in lines:
        line["fp"]["test_ratio"] = 0.3
    # edited on purpose: signed again, so the fingerprint, not the digest, is tested
    record.write_text("".join(json.dumps(signed(line)) + "\n" for line in lines))
    run_experiment(frame, None, "time", ["popularity"], note=notes.append, **kw)
    assert notes[1:] == notes[:1]
    kw["resume"] = tmp_path / "warm.jsonl"
    run_experiment(frame, None, "warm", ["popularity"], test_ratio=0.3, **kw)
    run_experiment(frame, None, "warm", ["popularity"], test_ratio=0.2,
                   note=notes.append, **kw)  # fmt: skip
    assert "(test_ratio changed)" in notes[-1], notes  # warm splits do depend on it


def test_evaluate_keeps_one_time_record_whatever_the_test_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the record's file name hashed --test-size too: a rerun with another one started a
    # second record beside the first, so the fingerprint's leniency never came into play
    from visrec.cli import build_parser
    from visrec.commands import evaluate as evaluate_cmd

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path))
    (tmp_path / "r.csv").write_text("user_id,item_id\nu,i\n")

    def path(protocol: str, *more: str) -> Path | None:
        argv = ["evaluate", "--interactions", str(tmp_path / "r.csv"), "--protocol", protocol]
        return evaluate_cmd._record_path(build_parser().parse_args([*argv, *more]))

    assert path("time", "--test-size", "0.3") == path("time") is not None
    assert path("warm", "--test-size", "0.3") != path("warm")
    # the name an earlier visrec gave a time record (its key held the default 0.2):
    # an interrupted run of it still resumes after an upgrade
    from visrec.commands import _resume

    key = [str((tmp_path / "r.csv").resolve()), None, "time", 20, 0.2, None]
    cache = evaluate_cmd._cache_dir()
    assert path("time") == _resume.record_path(None, str(tmp_path / "r.csv"), key, cache)


def test_a_torn_last_line_does_not_swallow_the_next_finished_run(tmp_path: Path) -> None:
    frame = _timed()
    record = tmp_path / "rec.jsonl"
    notes: list[str] = []
    _run(frame, "warm", record, (0,), notes)
    with record.open("a") as fh:
        fh.write('{"fp": {"visrec": "0.')  # a kill during the append
    _run(frame, "warm", record, (0, 1, 2), notes)
    assert sorted(r["seed"] for r in read_record(record)) == [0, 1, 2]
    assert record.read_text().endswith("\n") and '"0.\n' not in record.read_text()


def test_the_resume_note_counts_only_the_runs_asked_for(tmp_path: Path) -> None:
    frame = _timed()
    record = tmp_path / "rec.jsonl"
    notes: list[str] = []
    _run(frame, "warm", record, (0, 1, 2), notes)
    _run(frame, "warm", record, (0,), notes)
    assert notes == [f"resuming: 1 of 1 runs already done ({record})"]


def test_a_cold_list_as_long_as_the_candidates_finds_every_held_out_item() -> None:
    inter, iv = checkerboard()
    frame = inter.to_frame()
    spec = [("popularity", {}), ("visual-cf", FAST["visual-cf"])]
    first = run_experiment(frame, iv, "cold-items", spec, seeds=(0,), k=3, progress=False)
    n_cand = int(first.runs["n_candidates"].iloc[0])
    assert 3 < n_cand < 20
    for k in (n_cand, 10**6):
        res = run_experiment(frame, iv, "cold-items", spec, seeds=(0,), k=k, progress=False)
        for m in ("recall", "hit_rate", "coverage"):
            assert res.runs[m].tolist() == [1.0, 1.0], (k, m)


def test_one_excluded_pair_is_left_out_like_many() -> None:
    split = make_split(_ratings(), "warm", seed=0)
    model = Popularity().fit(split.train)
    plain = evaluate_model(model, split, k=3)
    test_users = split.test.user_map.to_list()
    stranger = pd.DataFrame({"user_id": ["nobody"], "item_id": ["i0"]})
    found = 0
    for user in test_users[:3]:
        for item in split.test.item_map.to_list()[:8]:
            one = pd.DataFrame({"user_id": [user], "item_id": [item]})
            got = evaluate_model(model, split, k=3, exclude=one)
            both = evaluate_model(model, split, k=3, exclude=pd.concat([one, stranger]))
            assert (got["auc"], got["recall"]) == (both["auc"], both["recall"]), (user, item)
            found += got["auc"] != plain["auc"]
    assert found  # a single unseen item out of a user's candidates moves their AUC


def test_an_excluded_pair_without_a_time_stays_out_on_time() -> None:
    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b", "b"], "item_id": ["1", "2", "1", "3"],
         "timestamp": [1, 5, 2, 3]}
    )  # fmt: skip
    below = pd.DataFrame(
        {"user_id": ["a", "b", "b"], "item_id": ["3", "2", "4"], "timestamp": [np.nan, 9.0, 3.0]}
    )
    got = known_at_test(below, frame, "time")
    assert list(zip(got["user_id"], got["item_id"], strict=True)) == [("a", "3"), ("b", "4")]


def test_an_index_one_past_the_candidates_is_refused() -> None:
    rel = np.array([[True, False, True]])
    with pytest.raises(VisrecError, match=r"row 0 holds 2, not a candidate index \(0\.\.1"):
        M.coverage(np.array([[0, 2]]), 2)
    for metric in (M.recall_at_k, M.ndcg_at_k, M.hit_rate_at_k):
        with pytest.raises(VisrecError, match=r"row 0 holds 3, not a candidate index"):
            metric(np.array([[0, 3]]), rel)
    assert M.coverage(np.array([[0, 1]]), 2) == 1.0  # the last index is one


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_a_test_share_of_none_or_all_is_refused(ratio: float) -> None:
    df = _timed()
    with pytest.raises(VisrecError, match=r"test_ratio must be in \(0, 1\)"):
        make_split(df, "warm", test_ratio=ratio)
    with pytest.raises(VisrecError, match=r"test_ratio must be in \(0, 1\)"):
        make_split(df, "cold-items", test_ratio=ratio)


def test_untimed_duplicates_keep_the_last_row_in_file_order() -> None:
    df = pd.DataFrame(
        {"user_id": ["a", "a", "b", "a"], "item_id": ["x", "x", "y", "x"],
         "rating": [1.0, 5.0, 3.0, 4.0]}
    )  # fmt: skip
    out, n = collapse_duplicates(df)
    assert n == 2 and out.to_dict("list") == {
        "user_id": ["b", "a"], "item_id": ["y", "x"], "rating": [3.0, 4.0]
    }  # fmt: skip
    # a timestamp column with a gap cannot order them: file order decides too
    timed = df.assign(timestamp=[4.0, np.nan, 1.0, 2.0])
    assert collapse_duplicates(timed)[0]["rating"].tolist() == [3.0, 4.0]


def test_the_pairs_a_warm_seed_holds_out_stay_the_same() -> None:
    """A regression pin: the documented figures over seeds 0-2 and any user's
    ``--seeds`` rerun rest on each seed holding out the same pairs across versions."""
    df = pd.DataFrame(
        [(f"u{u}", f"i{i}") for u in range(4) for i in range(6)], columns=["user_id", "item_id"]
    )
    held = {}
    for seed in (0, 1):
        test = warm_split(df, 0.3, seed=seed).test.to_frame()
        held[seed] = sorted(u[1:] + i[1:] for u, i in zip(test.user_id, test.item_id, strict=True))
    assert held == {
        0: ["02", "03", "12", "15", "21", "23", "32", "33"],
        1: ["02", "04", "11", "13", "22", "24", "30", "31"],
    }


@pytest.mark.parametrize(
    "damage",
    [
        lambda rec: rec["split"].pop("n_train"),  # read by the seed's log line
        lambda rec: rec["split"].update(n_test=True),
        lambda rec: rec["split"].update(n_test=8.0),  # a size is a whole number
        lambda rec: rec["row"].update(auc="0.5"),  # text: no mean over seeds
        lambda rec: rec["row"].update(model="bpr"),
    ],
)
def test_a_damaged_recorded_run_is_fitted_again_and_dropped(tmp_path: Path, damage: Any) -> None:
    frame = _timed()
    record = tmp_path / "rec.jsonl"
    ref = _run(frame, "warm", record, (0,), [])
    rec = json.loads(record.read_text())
    damage(rec)
    # edited on purpose: signed again, so the field check, not the digest, is tested
    record.write_text(json.dumps(signed(rec)) + "\n")
    notes: list[str] = []
    log: list[str] = []
    got = run_experiment(frame, None, "warm", ["popularity"], seeds=(0,), k=3,
                         progress=False, resume=record, keep_record=True,
                         note=notes.append, log=log.append)  # fmt: skip
    assert notes == [
        f"resume: 1 run recorded in {record} lacks a field or holds a wrong value "
        "(written by an older visrec, edited or damaged); it is fitted again"
    ]
    assert "(reused)" not in log[-1]
    pd.testing.assert_frame_equal(got.runs.drop(columns=["fit_s", "score_s"]),
                                  ref.drop(columns=["fit_s", "score_s"]))  # fmt: skip
    assert [json.loads(line)["row"]["auc"] for line in record.read_text().splitlines()] == [
        ref["auc"].iloc[0]
    ]


def test_a_recorded_run_changed_after_writing_is_fitted_again(tmp_path: Path) -> None:
    # its digest no longer matches: the figure is not reused as it reads
    frame = _timed()
    record = tmp_path / "rec.jsonl"
    ref = _run(frame, "warm", record, (0,), [])
    rec = json.loads(record.read_text())
    rec["row"]["auc"] = 0.999
    record.write_text(json.dumps(rec) + "\n")
    notes: list[str] = []
    got = run_experiment(frame, None, "warm", ["popularity"], seeds=(0,), k=3,
                         progress=False, resume=record, keep_record=True,
                         note=notes.append)  # fmt: skip
    assert notes == [
        f"{record}: 1 line does not match its digest (changed after it was written): "
        "its runs are fitted again"
    ]
    assert got.runs["auc"].iloc[0] == ref["auc"].iloc[0] != 0.999
