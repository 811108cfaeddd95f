"""What the analysis commands print, pinned where a mutation audit found it loose: the
KNN's k and MAE, the multi-seed mean ± std, accuracy on a half-star scale, the MF's
penalties and defaults, cluster's chance levels and NMI, the visual-term sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score

from test_analysis_reports import _rating_runs
from test_rating_models import _star_fixture
from visrec.analysis import rating_knn
from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_eval import MAJORITY, nearest_level, rating_eval, split_rows
from visrec.analysis.rating_knn import _same_vector_share, knn_predict, knn_rating, random_split
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models.rating_mf import RatingMF
from visrec.report.rating import rating_verdict


def test_rating_eval_runs_the_knn_with_the_k_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    frame, iv = _star_fixture()
    asked: list[int] = []
    real = rating_knn.knn_predict_items

    def spy(*args, k: int, **kwargs):
        asked.append(k)
        return real(*args, k=k, **kwargs)

    monkeypatch.setattr(rating_knn, "knn_predict_items", spy)
    res = rating_eval(frame, iv, knn_k=1, mf_params={"n_epochs": 2})
    assert asked == [1] and "KNN k=1 (image)" in res.table.index


def test_the_multi_seed_table_is_the_mean_and_sample_std_of_the_runs() -> None:
    frame, iv = _star_fixture()
    res = rating_eval(frame, iv, n_seeds=3, mf_params={"n_epochs": 20})
    runs = res.runs.assign(model=res.runs["model"].replace({MAJORITY: res.table.index[0]}))
    for m in ("accuracy", "mae", "rmse"):
        by = runs.groupby("model", sort=False)[m]
        np.testing.assert_allclose(res.table[m], by.mean().reindex(res.table.index))
        np.testing.assert_allclose(res.table[m + "_std"], by.std(ddof=1).reindex(res.table.index))


def test_accuracy_on_a_half_star_scale_rounds_to_the_levels_seen() -> None:
    frame, _ = _star_fixture()
    frame = frame.assign(rating=frame["rating"] / 2)  # 0.5 .. 2.5
    res = rating_eval(frame, None, mf_params={"n_epochs": 2})
    tr, te = split_rows(frame, "random", 0.2, 1234)
    y_tr, y_te = frame["rating"].to_numpy()[tr], frame["rating"].to_numpy()[te]
    mu = np.full(len(te), y_tr.mean())
    want = float(np.mean(nearest_level(mu, np.unique(y_tr)) == y_te))
    assert want != float(np.mean(np.round(mu) == y_te))  # whole stars would differ
    assert res.table.loc["global mean", "accuracy"] == pytest.approx(want)


def test_knn_ratings_mae_is_the_knns_and_printed_in_its_row() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = rng.integers(1, 6, size=300).astype(float)
    res = knn_rating(x, y, k=3)
    tr, te = random_split(len(y), 0.2, 1234)
    pred = knn_predict(x[tr], y[tr], x[te], k=3)
    assert res.mae == pytest.approx(float(np.mean(np.abs(pred - y[te]))))
    assert res.mae != pytest.approx(res.majority_mae)
    knn_line = next(s for s in res.format().splitlines() if s.startswith("KNN on image"))
    assert knn_line.endswith(f"{res.accuracy:9.3f}{res.mae:8.3f}")


def test_twenty_rating_classes_are_taken_and_twenty_one_refused() -> None:
    x = np.arange(84, dtype=np.float32).reshape(42, 2)
    knn_rating(x[:40], np.repeat(np.arange(20.0), 2), k=1)
    with pytest.raises(VisrecError, match="more than 20 rating classes"):
        knn_rating(x, np.repeat(np.arange(21.0), 2), k=1)


def test_the_same_item_share_leaves_out_rows_without_a_picture() -> None:
    # 4 test rows: one shares its vector with a training row, one is all zeros (no
    # picture) in both splits and is neither a match nor counted, two are new
    x = np.array([[1, 0], [0, 0], [2, 2], [1, 0], [0, 0], [3, 1], [4, 4]], dtype=np.float32)
    share = _same_vector_share(x, np.array([0, 1, 2]), np.array([3, 4, 5, 6]))
    assert share == pytest.approx(1 / 3)
    # many rows without a picture (--include-missing) do not hide copied photos
    blank = np.zeros((1000, 2), dtype=np.float32)
    x = np.vstack([x[:4], blank])
    share = _same_vector_share(x, np.array([0, 1, 2]), np.arange(3, len(x)))
    assert share == pytest.approx(1.0)
    assert _same_vector_share(x, np.array([0, 1]), np.arange(4, len(x))) == 0.0


def test_the_mf_penalties_pull_every_factor_to_zero() -> None:
    frame, iv = _star_fixture()
    inter = Interactions.from_frame(frame)
    vecs, has = iv.align(inter.item_map.ids)
    plain = RatingMF(visual=False, reg=100.0).fit(inter)
    assert np.abs(plain.user_factors_).max() < 1e-3 and np.abs(plain.item_factors_).max() < 1e-3
    loose = RatingMF(visual=True).fit(inter, vecs, has)
    tight = RatingMF(visual=True, reg_visual=100.0).fit(inter, vecs, has)
    assert np.abs(loose.visual_bias_).mean() > 0.05  # the picture says something ...
    assert np.abs(tight.visual_bias_).max() < 1e-3  # ... until its penalty silences it
    assert np.abs(tight.visual_projection_).max() < 1e-3


def test_rating_mf_defaults_are_the_documented_ones() -> None:
    # docs/analysis.md, "Defaults"
    assert RatingMF().get_params() == {
        "n_factors": 32, "visual": True, "reg": 0.1, "reg_visual": 0.01, "n_epochs": 150,
        "lr": 0.04, "init_scale": 0.1, "visual_dim": 128, "random_state": 0,
    }  # fmt: skip


def test_cluster_prints_each_chance_level_beside_its_own_score() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 5)) * 3
    sizes = [100, 60, 40, 20]
    x = np.vstack([c + rng.normal(size=(s, 5)) for c, s in zip(centres, sizes, strict=True)])
    labels = np.repeat(["a", "b", "c", "a"], sizes)  # 3 labels, 4 clusters: k != labels
    res = cluster_vs_labels(x.astype(np.float32), labels, k=4)
    # the arithmetic-mean NMI, as its shuffled level is computed
    assert res.nmi == pytest.approx(normalized_mutual_info_score(labels, res.assignments))
    lines = res.format().splitlines()
    nmi = next(s for s in lines if s.startswith("NMI"))
    purity = next(s for s in lines if s.startswith("purity"))
    assert nmi.endswith(f"(labels shuffled: {res.chance_nmi:.3f})")
    assert purity.endswith(f"labels shuffled: {res.chance_purity:.3f})")
    assert f"{res.chance_nmi:.3f}" != f"{res.chance_purity:.3f}"


def test_the_visual_term_sentence_measures_by_the_plain_models_spread() -> None:
    # the plain MF moves 0.03 between splits, the visual one 0.02: a 0.025 gain is
    # "by little" against the former (not the latter), and the figure said is its spread
    plain, visual = [0.90, 0.93, 0.96], [0.885, 0.905, 0.925]
    line = rating_verdict(_rating_runs(plain, visual))[-1]
    spread = pd.Series(plain).std(ddof=1)
    assert "helps the MF, by little" in line
    assert f"(biased MF itself moves {spread:.4f} between the splits)" in line
    # two seeds: the sign test is still said
    two = rating_verdict(_rating_runs(plain[:2], visual[:2]))[-1]
    assert "sign test p = 0.250" in two
