"""What the evaluation may know: pairs rated below --min-rating are left out of the
candidates only when a model could know them at the test time (never on cold-items,
not after the user's test item on time); a call on the best of several models allows
for the pick (tests/test_evaluation_report.py); a mean over fewer seeds than the
table's header says so; one rating split names no winner by a gap it cannot judge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, checkerboard
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.evaluation.protocols import known_at_test
from visrec.evaluation.runner import ExperimentResult, run_experiment
from visrec.report.rating import rating_verdict


def test_known_at_test_keeps_what_a_model_could_know_at_the_test_time() -> None:
    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b", "b"], "item_id": ["1", "2", "1", "3"],
         "timestamp": [1, 5, 2, 3]}
    )  # fmt: skip
    below = pd.DataFrame(
        {"user_id": ["a", "a", "b", "b", "c"], "item_id": ["3", "4", "2", "4", "1"],
         "timestamp": [5, 6, 3, 4, 9]}
    )  # fmt: skip
    # a's test time is 5, b's 3: (a, 4) at 6 and (b, 4) at 4 are the future
    got = known_at_test(below, frame, "time")
    assert list(zip(got["user_id"], got["item_id"], strict=True)) == [
        ("a", "3"), ("b", "2"), ("c", "1")
    ]  # fmt: skip
    assert len(known_at_test(below, frame, "warm")) == 5
    assert len(known_at_test(below, frame, "cold-items")) == 0
    assert len(known_at_test(below.drop(columns="timestamp"), frame, "time")) == 5
    dates = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="D"))
    later = below.assign(timestamp=pd.to_datetime(below["timestamp"], unit="D"))
    assert len(known_at_test(later, dates, "time")) == 3


def _low_ratings_of_the_held_out_items(frame: pd.DataFrame) -> pd.DataFrame:
    # every user "rated low" every item they did not pick: on a cold split those are
    # the held-out items' negatives, which a leak would take out of the candidates
    items = frame["item_id"].unique()
    seen = set(zip(frame["user_id"], frame["item_id"], strict=True))
    rows = [(u, i) for u in frame["user_id"].unique() for i in items if (u, i) not in seen]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def test_cold_items_figures_do_not_use_who_rated_a_new_item_low() -> None:
    inter, iv = checkerboard()
    frame = inter.to_frame()
    below = _low_ratings_of_the_held_out_items(frame)
    spec = [("visual-cf", FAST["visual-cf"])]
    args = {"models": spec, "seeds": [0, 1], "progress": False}
    plain = run_experiment(frame, iv, "cold-items", **args).runs
    told = run_experiment(frame, iv, "cold-items", exclude=below, **args).runs
    cols = ["auc", "recall", "ndcg"]
    assert np.allclose(told[cols].to_numpy(), plain[cols].to_numpy())
    # on warm the share of them the split keeps for training is known and left out; the
    # rest are among the held-out rows: candidates, so negatives are left to rank
    warm = run_experiment(frame, iv, "warm", exclude=below, **args).runs
    assert warm["auc"].notna().all()
    every = run_experiment(frame, iv, "warm", exclude=below, **args, test_ratio=1e-9).runs
    assert every["auc"].isna().all()  # all of them known: no negative left


def _ratings_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for u in range(30):
        for t, i in enumerate(rng.choice(40, 8, replace=False)):
            rows.append((f"u{u}", f"i{i}", int(rng.integers(1, 6)), t))
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).to_csv(
        path, index=False
    )
    return path


@pytest.mark.parametrize(
    ("protocol", "said"),
    [
        ("warm", "are neither hits nor misses: left out of that user's candidates"),
        ("time", "stay candidates (not known at that time)"),
        ("cold-items", "are not left out of the candidates (those on a held-out item"),
    ],
)
def test_evaluate_says_under_quiet_what_min_rating_does_to_the_candidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: str, said: str
) -> None:
    path = _ratings_csv(tmp_path)
    ids = np.array([f"i{i}" for i in range(40)], dtype=object)
    vecs = np.random.default_rng(1).normal(size=(40, 4)).astype(np.float32)
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, vecs, np.ones(40, dtype=bool)))
    args = ["evaluate", "--interactions", str(path), "--models", "popularity", "--seeds", "1"]
    args += ["--vectors", str(tmp_path / "v.parquet")]
    args += ["--protocol", protocol, "--min-rating", "4", "-q", "--json", str(tmp_path / "e.json")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert said in err
    notes = json.loads((tmp_path / "e.json").read_text())["notes"]
    assert any(said in n for n in notes)


def test_a_mean_over_fewer_seeds_than_the_header_says_so() -> None:
    runs = pd.DataFrame(
        {"seed": [0, 1, 2, 0, 1, 2], "model": ["a"] * 3 + ["b"] * 3,
         "auc": [0.7, np.nan, np.nan, 0.6, 0.62, 0.64], "recall": [0.1, 0.2, 0.3] * 2,
         "ndcg": [0.1] * 6, "hit_rate": [0.2] * 6, "coverage": [0.5] * 6, "fit_s": [1.0] * 6}
    )  # fmt: skip
    res = ExperimentResult(runs=runs, protocol="cold-items", k=20)
    table = res.table()
    assert "0.700 (1 of 3 seeds)" in table and "0.620 ± 0.020" in table
    assert "0.700 ± 0.000" not in table and "(3 of 3" not in table
    assert res.to_dict()["summary"]["a"]["auc"] == {"mean": 0.7, "std": None}
    single = ExperimentResult(runs=runs[runs["seed"] == 0], protocol="warm", k=20)
    assert single.summary().loc["a", ("auc", "std")] == 0.0


def test_one_rating_split_names_no_winner_by_a_gap_it_cannot_judge() -> None:
    runs = pd.DataFrame(
        {"model": ["biased MF", "biased MF + visual"], "uses": ["ratings", "ratings + picture"],
         "seed": [0, 0], "rmse": [0.926, 0.925]}
    )  # fmt: skip
    first = rating_verdict(runs)[0]
    assert first == (
        "Lowest RMSE: biased MF + visual, 0.925 stars (biased MF next at 0.926: a gap of "
        "0.0010 that one split cannot judge; --seeds 3 or more can)."
    )


def test_known_at_test_compares_zoned_times_and_names_a_mismatch() -> None:
    from visrec.errors import VisrecError

    days = {"user_id": ["a", "a"], "item_id": ["1", "2"], "timestamp": [1, 5]}
    frame = pd.DataFrame(days).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"], unit="D").dt.tz_localize("UTC")
    )
    below = pd.DataFrame({"user_id": ["a", "a"], "item_id": ["3", "4"], "timestamp": [4, 6]})
    zoned = below.assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"], unit="D").dt.tz_localize("UTC")
    )
    assert known_at_test(zoned, frame, "time")["item_id"].tolist() == ["3"]
    naive = below.assign(timestamp=lambda d: pd.to_datetime(d["timestamp"], unit="D"))
    for other in (naive, below):
        with pytest.raises(VisrecError, match=r"cannot be compared .* give both alike"):
            known_at_test(other, frame, "time")


def test_on_time_the_pairs_rated_after_the_test_item_change_nothing() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for u in range(30):
        items = rng.choice(40, 10, replace=False)
        rows += [(f"u{u}", f"i{i}", t, int(rng.integers(1, 6))) for t, i in enumerate(items)]
    data = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "rating"])
    kept, below = data[data["rating"] >= 3], data[data["rating"] < 3]
    test_time = kept.groupby("user_id")["timestamp"].max()
    after = below[below["timestamp"] > below["user_id"].map(test_time)]
    before = below.drop(after.index)
    assert len(after) and len(before)

    def recall(exclude: pd.DataFrame | None) -> list[float]:
        res = run_experiment(kept, None, "time", ["popularity"], seeds=[0], progress=False,
                             exclude=exclude)  # fmt: skip
        return res.runs[["auc", "recall", "ndcg"]].iloc[0].tolist()

    assert recall(after) == recall(None)
    assert recall(below) == recall(before) != recall(None)


def test_the_min_rating_note_counts_distinct_pairs_known_at_the_test_time() -> None:
    from visrec.commands.evaluate import _below_note

    kept = pd.DataFrame(
        {"user_id": ["a", "a", "b", "b"], "item_id": ["1", "2", "1", "3"],
         "timestamp": [1, 5, 2, 3]}
    )  # fmt: skip
    below = pd.DataFrame(  # (a, 3) twice; (a, 4) and (b, 4) after their user's test item
        {"user_id": ["a", "a", "a", "b", "b"], "item_id": ["3", "3", "4", "2", "4"],
         "timestamp": [4, 5, 6, 3, 4]}
    )  # fmt: skip
    rated = "(user, item) pairs rated below --min-rating 4"
    assert _below_note(kept, below, 4, "time") == [
        f"2 {rated} are neither hits nor misses: left out of that user's candidates, as a "
        "model trained with --min-rating never recommends them; the 2 rated after their "
        "user's test item stay candidates (not known at that time)"
    ]
    assert _below_note(kept, below, 4, "warm") == [
        f"4 {rated}: on each seed a random 80% of them (the share the split keeps for "
        "training) are neither hits nor misses: left out of that user's candidates, as a "
        "model trained with --min-rating never recommends them; the others fall among the "
        "held-out rows and stay candidates (a miss when ranked high)"
    ]
    assert _below_note(kept, below, 4, "cold-items")[0].startswith(
        f"4 {rated} are not left out of the candidates"
    )
    assert _below_note(kept, below.iloc[:0], 4, "warm") == []


def test_warm_knows_the_share_of_low_rated_pairs_the_split_keeps_for_training() -> None:
    from visrec.evaluation.protocols import warm_known

    pairs = pd.DataFrame({"user_id": [f"u{k % 50}" for k in range(2000)],
                          "item_id": [f"i{k}" for k in range(2000)]})  # fmt: skip
    known = warm_known(pairs, seed=3, test_ratio=0.2)
    assert 0.75 < len(known) / len(pairs) < 0.85
    assert known.equals(warm_known(pairs, seed=3, test_ratio=0.2))  # the seed decides
    assert not known.index.equals(warm_known(pairs, seed=4, test_ratio=0.2).index)
    # a stream of its own, not the split's (the seed's own draws): its picks must not
    # follow the order in which the split drew the positives
    split_stream = np.random.default_rng(3).random(len(pairs)) >= 0.2
    assert not known.index.equals(pairs[split_stream].index)


def test_evaluate_random_state_picks_splits_no_default_was_chosen_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _ratings_csv(tmp_path)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--interactions", str(path), "--models", "popularity", "--quiet"]
    assert main([*argv, "--seeds", "2", "--random-state", "100", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["seeds"] == [100, 101]
    assert sorted({r["seed"] for r in res["runs"]}) == [100, 101]
    capsys.readouterr()
    assert main([*argv, "--seeds", "3", "--random-state", str(2**32 - 2)]) == 2
    assert "--random-state must be between 0 and 4294967293" in capsys.readouterr().err
