"""What a mutation audit of the reports and the rating analysis found untested: the
user mean's fallback for new users, k checked by the KNN helpers, the verdicts'
divisions by a zero baseline, ties with popularity, the KNN sentences' signs, escaping
in the similar-items page, notes at their boundaries (one new user, half the vectors
shared, one cluster), the figure's AUC floor and the split table's counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_evaluation_report import _result
from test_verdict_mutation_gaps import _fz, _rr
from visrec.errors import VisrecError
from visrec.report.evaluation import verdict


def _ratings(users: list[str], items: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"user_id": users, "item_id": items, "rating": rng.integers(1, 6, len(users))}
    )
    return frame.astype({"rating": float}).drop_duplicates(["user_id", "item_id"])


def test_the_user_mean_predicts_the_global_mean_for_a_user_new_to_the_test() -> None:
    from visrec.analysis.rating_eval import rating_eval

    # one rating per user: every test user is new, so the user mean is the global mean
    frame = _ratings([f"u{i}" for i in range(300)], [f"i{i % 10}" for i in range(300)])
    runs = rating_eval(frame, None).runs.set_index("model")
    assert runs.loc["user mean", "rmse"] == pytest.approx(runs.loc["global mean", "rmse"])
    assert runs.loc["user mean", "mae"] == pytest.approx(runs.loc["global mean", "mae"])


def test_one_new_user_in_the_test_split_is_said_too() -> None:
    from visrec.analysis.rating_eval import rating_eval

    rng = np.random.default_rng(0)
    users = [f"u{i}" for i in range(40) for _ in range(6)] + ["solo"]
    frame = _ratings(users, [f"i{rng.integers(20)}" for _ in users])
    said = [
        n
        for seed in range(12)
        for n in rating_eval(frame, None, random_state=seed).notes
        if "absent from training" in n
    ]
    # "solo" (one rating) falls in the test part of some splits, nobody else's six do
    assert said and all(n.startswith("1 test rating (last split) is by a user") for n in said)


def test_rating_eval_reports_the_last_splits_sizes() -> None:
    from visrec.analysis.rating_eval import rating_eval

    rng = np.random.default_rng(1)
    users = [f"u{rng.integers(30)}" for _ in range(400)]
    items = [f"i{int(rng.zipf(1.5)) % 40}" for _ in range(400)]  # items of unequal sizes
    res = rating_eval(_ratings(users, items), None, protocol="cold-items", n_seeds=2)
    assert len(res.sizes) == 2 and res.sizes[0] != res.sizes[1]
    assert (res.n_train, res.n_test) == res.sizes[-1]


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_the_knn_helpers_check_k(k: Any) -> None:
    from visrec.analysis.rating_knn import knn_predict, knn_predict_items, knn_rating

    x = np.random.default_rng(0).normal(size=(10, 3))
    y = np.arange(10) % 3
    with pytest.raises(VisrecError, match="knn_predict: k must be"):
        knn_predict(x, y, x[:3], k=k)
    with pytest.raises(VisrecError, match="knn_predict_items: k must be"):
        knn_predict_items(x, np.arange(5), y[:5], np.arange(5, 8), k=k)
    with pytest.raises(VisrecError, match="rating KNN: k must be"):
        knn_rating(x, y + 1, k=k)


def test_a_zero_baseline_gives_no_infinite_percentage() -> None:
    runs = [(s, "bpr", 0.0, 0.6) for s in range(3)]
    runs += [(s, "vbpr", [0.01, 0.02, 0.01][s], 0.7) for s in range(3)]
    text = " ".join(verdict(_fz(runs, 3)))
    assert "+0.0133 Recall@20 on average" in text and "inf" not in text


def test_a_random_order_that_hits_nothing_gives_no_infinite_ratio() -> None:
    runs = [(s, m, 0.0, 0.5) for s in range(3) for m in ("popularity", "bpr")]
    runs += [(s, "vbpr", 0.05, 0.7) for s in range(3)]
    line = verdict(_fz(runs, 3, "cold-items"))[1]
    assert "Recall@20 0.050" in line and "inf" not in line and "times" not in line


def test_seeds_level_with_popularity_are_no_wins() -> None:
    line = verdict(_result("warm", {"popularity": [0.2] * 3, "bpr": [0.2] * 3}))[-1]
    assert line.endswith("better on 0 of 3 seeds, equal on 3.")


def _knn_below_and_level() -> tuple[Any, Any]:
    from visrec.analysis.rating_knn import knn_rating

    rng = np.random.default_rng(0)
    base = knn_rating(rng.normal(size=(200, 4)), rng.integers(1, 4, 200).astype(float))

    def with_counts(counts: list[list[int]]) -> Any:
        table = pd.DataFrame(counts, index=[1.0, 3.0], columns=[1.0, 3.0])
        n = int(table.to_numpy().sum())
        return dataclasses.replace(
            base,
            confusion=table,
            majority_class=3.0,
            accuracy=(counts[0][0] + counts[1][1]) / n,
            majority_accuracy=sum(counts[1]) / n,
            same_vector_share=0.0,
            n_test=n,
        )

    # 40 rows only the majority gets right, 10 only KNN: KNN 30 points below
    # 3 rows only KNN gets right, 1 only the majority: level, +3.7 points
    return with_counts([[10, 0], [40, 50]]), with_counts([[3, 0], [1, 50]])


def test_the_knn_sentences_carry_the_right_signs() -> None:
    from visrec.report.html import ReportData, _knn_sections

    below, level = _knn_below_and_level()
    page = "".join(_knn_sections(ReportData(title="t", dataset="d", knn=below)))
    assert "it is 30.0 percentage points of accuracy below it" in page
    page = "".join(_knn_sections(ReportData(title="t", dataset="d", knn=level)))
    assert "+3.7 percentage points of accuracy on 54 test rows" in page


def test_the_similar_page_escapes_a_query_id_and_names_the_folder_without_photos() -> None:
    from visrec.report.similar import render_similar_report
    from visrec.search.knn import Neighbours

    res = [Neighbours(query="<b>q", ids=["x"], scores=[0.5])]
    page = render_similar_report(res, None, {"images": "imgs"})
    assert "items most like &lt;b&gt;q" in page and "<b>q" not in page
    assert "imgs holds no &lt;item_id&gt;.&lt;ext&gt; image of these items" in page
    assert "give --images DIR" not in page


def test_the_caveat_starts_at_half_the_vectors_shared() -> None:
    below, _ = _knn_below_and_level()
    assert dataclasses.replace(below, same_vector_share=0.5).same_item_caveat() is not None
    assert dataclasses.replace(below, same_vector_share=0.49).same_item_caveat() is None


def test_one_cluster_has_a_chance_nmi_of_zero() -> None:
    from visrec.analysis.cluster import cluster_vs_labels

    x = np.random.default_rng(0).normal(size=(30, 4))
    res = cluster_vs_labels(x, np.array(["a", "b", "c"] * 10), k=1)
    assert res.chance_nmi == 0.0


def test_the_ari_sentences_at_their_thresholds() -> None:
    from visrec.report.html import _num_cls, ari_reading

    assert ari_reading(0.15, 0.2).endswith("; too few items or clusters to tell.")
    assert ari_reading(0.05, 0.2).endswith("times reach it: p = 0.200).")
    # 0.9992 prints as 0.999: not "are the categories", which 1.000 earns
    assert "the clusters largely are the categories" in ari_reading(0.9992, 0.005)
    assert "the clusters are the categories" in ari_reading(0.9996, 0.005)
    assert _num_cls("45%") == ' class="num"' and _num_cls("a 45%") == ""


def test_split_counts_read_as_whole_numbers_and_the_auc_panel_starts_at_chance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.report import plots
    from visrec.report.evaluation import _count, render_evaluation_report

    assert _count(1234.0) == "1,234" and _count(0.5) == "0.5"
    seen: list[Any] = []
    real = plots.metric_bars_png

    def spy(runs: Any, models: Any, panels: Any, **kw: Any) -> bytes:
        seen.append(panels)
        return real(runs, models, panels, **kw)

    monkeypatch.setattr(plots, "metric_bars_png", spy)
    render_evaluation_report(_result("warm", {"bpr": [0.2] * 3, "vbpr": [0.3] * 3}))
    assert seen and ("auc", "AUC", 0.5) in seen[0]


def test_a_rating_table_with_plain_mf_alone_has_no_picture_sentence() -> None:
    from visrec.report.rating import rating_verdict

    runs = _rr([0.92] * 3, [0.91] * 3)
    alone = runs[runs["model"] != "biased MF + visual"]
    lines = rating_verdict(alone)
    assert not any("picture in the MF" in line for line in lines)


def test_a_result_with_k_true_or_a_nameless_model_is_refused(tmp_path: Path) -> None:
    import json

    from visrec.report.evaluation import read_result

    base = _result("warm", {"bpr": [0.2] * 3})
    bad_k = {**base, "k": True}  # JSON's true is no K, though Python's bool is an int
    nameless = {**base, "runs": [{**base["runs"][0], "model": ""}]}
    for name, res, said in (
        ("k.json", bad_k, "('k' is True, not a positive integer)"),
        ("m.json", nameless, "runs[0]: model '' is not a name"),
    ):
        path = tmp_path / name
        path.write_text(json.dumps(res), encoding="utf-8")
        with pytest.raises(VisrecError) as info:
            read_result(path)
        assert said in str(info.value)
