"""Mended in the forty-eighth session."""

from __future__ import annotations

import math

import numpy as np
import pytest

from visrec.report.html import ReportData, render_report


@pytest.mark.parametrize("bad", ["1.5 s", None, math.nan, -1.0, True, math.inf])
def test_a_report_timing_that_is_not_seconds_is_named(bad: object) -> None:
    data = ReportData(title="t", dataset="d", timings={"embed": 1.0, "cluster": bad})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"timings: 'cluster' is .*number of seconds"):
        render_report(data)


def test_report_timings_take_numpy_and_integer_seconds() -> None:
    page = render_report(
        ReportData(title="t", dataset="d", timings={"embed": np.float32(1.25), "knn": 2})
    )
    assert "1.2 s" in page and "2.0 s" in page and "3.2 s" in page  # the total row


def _small_data() -> tuple[object, object]:
    import pandas as pd

    from visrec import Interactions, ItemVectors

    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in range(30) for _ in range(8)],
            "item_id": [f"i{i}" for i in rng.integers(0, 40, 240)],
        }
    )
    inter = Interactions.from_frame(df)
    ids = list(inter.item_map.ids)
    vec = rng.normal(size=(len(ids), 8)).astype("float32")
    meta = {"backbone": "test", "preprocessing": {"mean": np.array([0.5, 0.5, 0.5])}}
    return inter, ItemVectors(ids=ids, vectors=vec, has_image=np.ones(len(ids), bool), meta=meta)


def test_a_save_that_cannot_be_written_leaves_the_earlier_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fractions import Fraction

    from visrec import Recommender, make_model
    from visrec.errors import VisrecError

    inter, iv = _small_data()
    folder = tmp_path / "m"
    # numpy arrays in the vectors' metadata (write_vectors takes them) are saved as lists
    first = make_model("visual-cf", epochs=2).fit(inter, iv)
    first.save(folder)
    before = Recommender.load(folder).score(np.arange(3))
    bad = make_model("bpr", epochs=2, lr=Fraction(1, 200)).fit(inter)
    with pytest.raises(VisrecError, match=r"value JSON cannot hold.*nothing was written"):
        bad.save(folder)
    again = Recommender.load(folder)  # still the first save, whole
    assert again.name == "visual-cf"
    np.testing.assert_array_equal(again.score(np.arange(3)), before)


def test_top_labels_ties_keep_the_same_labels_in_any_row_order(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from visrec.cli import main
    from visrec.embed.store import ItemVectors, write_vectors

    labels = ["C"] * 20 + ["B"] * 20 + ["A"] * 20 + ["D"] * 5
    ids = [f"i{n}" for n in range(len(labels))]
    pd.DataFrame({"id": ids, "cat": labels}).to_csv(tmp_path / "t.csv", index=False)
    vec = np.random.default_rng(0).normal(size=(len(ids), 6)).astype("float32")
    kept = []
    for name, order in (("v", slice(None)), ("r", slice(None, None, -1))):
        path = tmp_path / f"{name}.parquet"
        sel = np.arange(len(ids))[order]
        write_vectors(
            path,
            ItemVectors(
                ids=[ids[i] for i in sel],
                vectors=vec[sel],
                has_image=np.ones(len(ids), bool),
                meta={"backbone": "test"},
            ),
        )
        args = ["cluster", str(path), "--labels", str(tmp_path / "t.csv"), "--id-col", "id"]
        assert main([*args, "--label-col", "cat", "--top-labels", "2"]) == 0
        err = capsys.readouterr().err
        kept.append([ln for ln in err.splitlines() if "kept labels" in ln])
    assert kept[0] == kept[1] and "kept labels A, B;" in kept[0][0]


def test_cluster_refuses_k_zero_in_one_line() -> None:
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.errors import VisrecError

    x = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(VisrecError, match="k must be at least 1, got 0"):
        cluster_vs_labels(x, ["a", "b"] * 10, k=0)


def test_a_small_real_win_on_every_seed_is_not_a_tie() -> None:
    from test_evaluation_report import _result
    from visrec.report.evaluation import verdict

    last = verdict(_result("warm", {"bpr": [0.4] * 3, "vbpr": [0.4005] * 3}))[-1]
    assert last.startswith(
        "Pictures help here: +0.0005 Recall@20 (+0.1%) on average, better on 3 of 3 seeds"
    )


def test_the_popularity_check_names_the_best_model() -> None:
    from test_evaluation_report import _result
    from visrec.report.evaluation import verdict

    res = _result("warm", {"popularity": [0.2] * 3, "bpr": [0.4] * 3, "bpr@b": [0.3] * 3})
    assert verdict(res)[-1] == (
        "Against the popularity baseline: bpr Recall@20 0.400 vs 0.200, better on 3 of 3 seeds."
    )
