"""Findings of an audit of the evaluation: pairs rated below --min-rating are neither
hits nor misses (as in the lists `visrec recommend` writes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec import make_split
from visrec.cli import main
from visrec.evaluation import metrics as M
from visrec.evaluation.runner import evaluate_model, run_experiment
from visrec.models.popularity import Popularity


def _ratings(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, 31)
    rows = [
        (f"u{u}", f"i{int(i)}", int(rng.integers(1, 6)))
        for u in range(40)
        for i in rng.choice(30, size=10, replace=False, p=p / p.sum())
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def test_excluded_pairs_are_left_out_of_the_candidates_like_training_items() -> None:
    df = _ratings()
    kept, below = df[df.rating >= 4], df[df.rating < 4]
    split = make_split(kept, "warm", seed=0)
    model = Popularity().fit(split.train)
    got = evaluate_model(model, split, k=5, exclude=below)
    # the same by hand: training items and the pairs below, one mask
    users = np.unique(split.test.user_idx)
    scores = model.score(users)
    full = split.train.to_csr().toarray().astype(bool)
    u = split.test.user_map.to_index(below.user_id, missing="minus_one")
    i = split.test.item_map.to_index(below.item_id, missing="minus_one")
    full[u[(u >= 0) & (i >= 0)], i[(u >= 0) & (i >= 0)]] = True
    mask = full[users]
    relevant = split.test.to_csr().toarray().astype(bool)[users] & ~mask
    top = M.top_k(scores, 5, mask)
    assert got["recall"] == pytest.approx(M.mean(M.recall_at_k(top, relevant)))
    assert got["auc"] == pytest.approx(M.mean(M.auc(scores, relevant, mask)))
    plain = evaluate_model(model, split, k=5)
    assert got["recall"] != pytest.approx(plain["recall"])  # the pairs made a difference


def test_a_pair_also_rated_above_the_threshold_stays_a_positive() -> None:
    df = _ratings()
    kept, below = df[df.rating >= 4], df[df.rating < 4]
    twice = kept.assign(rating=1)  # every kept pair once more, rated low
    run = {"protocol": "warm", "models": ["popularity"], "seeds": [0], "progress": False}
    only_below = run_experiment(kept, None, exclude=below, **run)
    with_twice = run_experiment(kept, None, exclude=pd.concat([below, twice]), **run)
    plain = run_experiment(kept, None, **run)
    cols = ["recall", "ndcg", "auc"]
    assert with_twice.runs[cols].equals(only_below.runs[cols])  # the repeats change nothing
    assert not only_below.runs[cols].equals(plain.runs[cols])  # the pairs below do
    # evaluate_model alone keeps a test positive too
    split = make_split(kept, "warm", seed=0)
    model = Popularity().fit(split.train)
    a = evaluate_model(model, split, k=5, exclude=twice)
    b = evaluate_model(model, split, k=5)
    assert [a[m] for m in cols] == [b[m] for m in cols] and a["recall"] > 0


def test_a_model_fitted_on_all_the_data_is_refused_even_with_the_same_maps() -> None:
    df = pd.DataFrame(
        {"user_id": ["u0"] * 3 + ["u1"] * 3 + ["u2"] * 3, "item_id": list("abccabbca"),
         "timestamp": [1, 2, 3] * 3}
    )  # fmt: skip
    split = make_split(df, "time", seed=0)
    from visrec.data.interactions import Interactions
    from visrec.errors import VisrecError

    everything = Popularity().fit(Interactions.from_frame(df))
    assert everything.item_map_ == split.train.item_map  # the maps alone cannot tell
    with pytest.raises(VisrecError, match="was not fitted on this split's training rows"):
        evaluate_model(everything, split, k=1)
    assert evaluate_model(Popularity().fit(split.train), split, k=1)["n_test_users"] == 3


def test_evaluate_min_rating_says_so_and_keeps_it_in_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "ratings.csv"
    _ratings().to_csv(f, index=False)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--interactions", str(f), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "--min-rating", "4", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "are neither hits nor misses: left out of that user's candidates" in err
    notes = json.loads(out.read_text())["notes"]
    assert any("rated below --min-rating 4: on each seed a random 80% of them" in n for n in notes)


def test_knn_rating_says_how_many_test_rows_share_a_training_vector() -> None:
    from visrec.analysis.rating_knn import knn_rating

    rng = np.random.default_rng(0)
    items = rng.normal(size=(20, 4)).astype(np.float32)
    which = rng.integers(0, 20, size=400)  # 400 ratings of 20 items: shared vectors
    ratings = rng.integers(1, 6, size=400).astype(float)
    shared = knn_rating(items[which], ratings, k=3, test_size=0.2, random_state=1)
    assert shared.same_vector_share == 1.0
    assert shared.to_dict()["same_vector_share"] == 1.0
    own = knn_rating(rng.normal(size=(400, 4)), ratings, k=3, test_size=0.2, random_state=1)
    assert own.same_vector_share == 0.0 and own.same_item_caveat() is None
    # the report says it next to the verdict, and labels the row
    from visrec.report.html import ReportData, _knn_sections

    page = "".join(_knn_sections(ReportData(title="t", dataset="d", knn=shared)))
    assert (
        '<p class="warn">Caveat: 100.0% of the test rows with a picture have a training row' in page
    )
    assert "on image vectors (the same items are in training)" in page
    assert "Caveat" not in "".join(_knn_sections(ReportData(title="t", dataset="d", knn=own)))


def test_rating_mf_learns_its_vector_scaling_from_rated_items_only() -> None:
    from visrec.data.interactions import Interactions
    from visrec.models.rating_mf import RatingMF

    df = _ratings()
    inter = Interactions.from_frame(df, extra_items=["new1", "new2"])  # in the map, unrated
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(inter.n_items, 6))
    a = RatingMF(visual=True, visual_dim=3, n_epochs=2).fit(inter, vectors)
    shifted = vectors.copy()
    shifted[-2:] *= 1000.0  # the unrated items' vectors decide nothing of the scaling
    b = RatingMF(visual=True, visual_dim=3, n_epochs=2).fit(inter, shifted)
    assert np.allclose(a.item_visual_[:-2], b.item_visual_[:-2])
    assert not np.allclose(a.item_visual_[-2:], b.item_visual_[-2:])


def test_evaluate_cli_min_rating_leaves_the_pairs_below_out_of_the_candidates(
    tmp_path: Path,
) -> None:
    # the CLI's figures are run_experiment's with exclude=the rows below
    from visrec.evaluation.runner import run_experiment

    df = _ratings()
    f = tmp_path / "ratings.csv"
    df.to_csv(f, index=False)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--interactions", str(f), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "--min-rating", "4", "--k", "5", "--json", str(out), "--no-resume"]) == 0
    got = json.loads(out.read_text())
    kept, below = df[df.rating >= 4], df[df.rating < 4]
    run = {"protocol": "warm", "models": ["popularity"], "seeds": [0], "progress": False, "k": 5}
    want = run_experiment(kept, None, exclude=below, **run).runs
    plain = run_experiment(kept, None, **run).runs
    assert want["recall"].iloc[0] != pytest.approx(plain["recall"].iloc[0])
    recall = [r["recall"] for r in got["runs"] if r["model"] == "popularity"]
    assert recall == [pytest.approx(want["recall"].iloc[0])]


def test_evaluate_min_rating_note_counts_pairs_not_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a pair rated low twice is one (user, item) pair in the note
    df = _ratings()
    low = df[df.rating < 4]
    df = pd.concat([df, low.iloc[:1]], ignore_index=True)  # the first low pair, again
    f = tmp_path / "ratings.csv"
    df.to_csv(f, index=False)
    argv = ["evaluate", "--interactions", str(f), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "--min-rating", "4", "--no-resume"]) == 0
    err = capsys.readouterr().err
    assert f"note: {len(low)} (user, item) pairs rated below --min-rating 4" in err
    assert f"({len(low) + 1} below the threshold dropped)" in err
