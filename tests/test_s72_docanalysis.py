"""Session 72, docs/analysis.md and docs/features.md against the program: counts that
read "all 1 items" / "1 numbers", and the rating-eval report's cold-items sentence
that the doc promises with or without --vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.cluster import cluster_vs_labels
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.report.rating import rating_verdict


def _cluster_files(tmp_path: Path) -> tuple[Path, Path]:
    ids = [f"i{j}" for j in range(8)]
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    v = tmp_path / "v.parquet"
    write_vectors(v, ItemVectors(ids=np.array(ids), vectors=x, has_image=np.ones(8, bool)))
    labels = tmp_path / "labels.csv"
    kinds = ["shoe"] + ["bag"] * 7  # one shoe
    pd.DataFrame({"id": ids, "kind": kinds}).to_csv(labels, index=False)
    return v, labels


def test_cluster_one_item_left_is_said_in_the_singular(tmp_path, capsys):
    v, labels = _cluster_files(tmp_path)
    argv = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    assert main([*argv, "--keep", "shoe"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "the only item left to cluster has the label 'shoe' (--keep shoe)" in last
    assert "all 1 items" not in last
    assert main([*argv, "--keep", "bag"]) == 2  # several: the plural as before
    assert "all 7 items left to cluster have the label 'bag'" in capsys.readouterr().err


def test_cluster_vs_labels_one_item_is_said_in_the_singular():
    with pytest.raises(VisrecError, match="cluster: the only item has the label 'a';"):
        cluster_vs_labels(np.ones((1, 2)), ["a"])
    with pytest.raises(VisrecError, match="cluster: all 2 items have the label 'a';"):
        cluster_vs_labels(np.ones((2, 2)), ["a", "a"])


def test_features_one_number_is_said_in_the_singular(tmp_path, capsys):
    table = tmp_path / "items.csv"
    pd.DataFrame({"item_id": ["a", "b", "c"], "brand": ["acme", "acme", "n/a"]}).to_csv(
        table, index=False
    )
    out = tmp_path / "meta.parquet"
    assert main(["features", str(table), "--columns", "brand", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}: 3 items x 1 number (1 from the table: brand:" in said
    one = tmp_path / "one.csv"
    pd.DataFrame({"item_id": ["a"], "brand": ["acme"]}).to_csv(one, index=False)
    assert main(["features", str(one), "--columns", "brand", "-o", str(out)]) == 0
    assert f"wrote {out}: 1 item x 1 number " in capsys.readouterr().out


def _runs(with_picture: bool) -> pd.DataFrame:
    rows = []
    for seed, mf in enumerate([0.92, 0.93, 0.91]):
        rows += [
            {"seed": seed, "model": "item mean", "uses": "baseline", "rmse": 1.03},
            {"seed": seed, "model": "biased MF", "uses": "ratings", "rmse": mf},
        ]
        if with_picture:
            rows += [
                {"seed": seed, "model": "KNN k=3 (image)", "uses": "picture", "rmse": 1.5},
                {
                    "seed": seed,
                    "model": "biased MF + visual",
                    "uses": "ratings + picture",
                    "rmse": mf - 0.01,
                },
            ]
    return pd.DataFrame(rows)


def test_cold_items_verdict_explains_the_new_items_without_vectors_too():
    # docs/analysis.md: "without --vectors it says the picture was not tested; with
    # --protocol cold-items it adds that on new items the item mean is the global mean
    # and the plain MF about the user's mean"
    lines = rating_verdict(_runs(with_picture=False), "cold-items")
    assert lines[0].startswith("No item vectors were given (--vectors)")
    assert lines[-1] == (
        "Every test item is new here: the item mean has no rating of it (it is the global "
        "mean), and biased MF has no item term for it, so it predicts about the user's mean."
    )
    # with the picture, the sentence goes on as before; by rows, it is not said
    pictured = rating_verdict(_runs(with_picture=True), "cold-items")
    assert pictured[-1].endswith(
        "the user's mean; only the picture can move the MF + visual away from that."
    )
    assert not any("Every test item" in s for s in rating_verdict(_runs(False), "random"))
