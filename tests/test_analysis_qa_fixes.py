"""QA fixes: split sizes of rating-eval / knn-rating, the label table's repeated ids, and
clustering against a single label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_eval import rating_eval, split_rows
from visrec.analysis.rating_knn import knn_rating, random_split
from visrec.cli import main
from visrec.data.item_tables import load_item_table
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


# ------------------------------------------------------------------ rating splits
def _tiny(tmp_path: Path, n_rows: int = 17, n_items: int = 6) -> tuple[Path, Path]:
    """``n_rows`` distinct (user, item) ratings and a vector for every item."""
    rows = ["user_id,item_id,rating"]
    rows += [f"u{i},i{i % n_items},{1 + i % 5}" for i in range(n_rows)]
    (tmp_path / "tiny.csv").write_text("\n".join(rows) + "\n")
    vecs = np.random.default_rng(0).random((n_items, 4)).astype(np.float32)
    ids = [f"i{j}" for j in range(n_items)]
    write_vectors(
        tmp_path / "tinyvec.parquet",
        ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(n_items, dtype=bool)),
    )
    return tmp_path / "tiny.csv", tmp_path / "tinyvec.parquet"


@pytest.mark.parametrize("command", ["rating-eval", "knn-rating"])
def test_cli_test_size_leaving_no_training_rows_is_one_line(tmp_path, capsys, command):
    r, v = _tiny(tmp_path)
    rc = main([command, "--interactions", str(r), "--vectors", str(v), "--test-size", "0.99"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    # ceil(0.99 * 17) = 17 held out, 0 left to train on
    assert "test size 0.99 of 17" in err
    assert "holds out 17" in err and "leaves 0 to train on" in err


def test_knn_rating_training_rows_fewer_than_k_names_the_test_size():
    x = np.random.default_rng(0).random((17, 3))
    y = np.arange(17) % 5 + 1.0
    # ceil(0.9 * 17) = 16 held out: one training row for a 3-neighbour vote
    with pytest.raises(VisrecError, match=r"test size 0\.9 of 17 rows leaves 1 training row"):
        knn_rating(x, y, k=3, test_size=0.9)
    assert knn_rating(x, y, k=1, test_size=0.9).n_train == 1


def _frame(n_rows: int, n_items: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n_rows)],
            "item_id": [f"i{i % n_items}" for i in range(n_rows)],
            "rating": [float(1 + i % 5) for i in range(n_rows)],
        }
    )


def _vectors(n_items: int) -> ItemVectors:
    vecs = np.random.default_rng(1).random((n_items, 4)).astype(np.float32)
    return ItemVectors(
        ids=[f"i{j}" for j in range(n_items)],
        vectors=vecs,
        has_image=np.ones(n_items, dtype=bool),
    )


def test_rating_eval_random_split_without_training_rows():
    with pytest.raises(VisrecError, match=r"test size 0\.95 of 12 ratings holds out 12"):
        rating_eval(_frame(12, 4), None, test_size=0.95)


def test_rating_eval_knn_with_fewer_training_ratings_than_k():
    # ceil(0.85 * 10) = 9 held out, 1 rating left for a 3-neighbour KNN
    with pytest.raises(VisrecError, match=r"test size 0\.85 leaves 1 training rating of 10"):
        rating_eval(_frame(10, 5), _vectors(5), test_size=0.85, knn_k=3)


def test_rating_eval_cold_items_with_too_few_items():
    # floor(test_size * n_items) held out, as visrec evaluate's cold-items split
    # 2 items at 0.4: floor(0.8) = 0 held out
    with pytest.raises(VisrecError, match=r"2 eligible items x test size 0\.4 gives 0 held-out"):
        rating_eval(_frame(10, 2), None, test_size=0.4, protocol="cold-items")
    # 2 items at 0.99: floor(1.98) = 1 held out, one left to train on: a valid split
    train, test = split_rows(_frame(10, 2), "cold-items", 0.99, 0)
    assert len(train) == len(test) == 5
    # one item: none to hold out, and none would be left
    with pytest.raises(VisrecError, match=r"gives 0 held-out items; need at least 1 and fewer"):
        rating_eval(_frame(10, 1), None, test_size=0.9, protocol="cold-items")
    # 3 items at 0.5: floor(1.5) = 1 held out
    train, test = split_rows(_frame(12, 3), "cold-items", 0.5, 0)
    assert len(train) == 8 and len(test) == 4


def test_split_rows_checks_its_arguments():
    with pytest.raises(VisrecError, match=r"between 0 and 1, got 1\.5"):
        split_rows(_frame(10, 2), "random", 1.5, 0)
    with pytest.raises(VisrecError, match=r"between 0 and 1, got 0\.0"):
        split_rows(_frame(10, 2), "cold-items", 0.0, 0)
    with pytest.raises(VisrecError, match="'time'"):
        split_rows(_frame(10, 2), "time", 0.2, 0)
    with pytest.raises(VisrecError, match="knn_k must be at least 1, got 0"):
        rating_eval(_frame(10, 2), _vectors(2), knn_k=0)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 60),
    test_size=st.floats(1e-6, 1 - 1e-6, allow_nan=False),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_split_is_train_test_split_or_a_clear_error(n, test_size, seed):
    from sklearn.model_selection import train_test_split

    try:
        expect = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    except ValueError:
        with pytest.raises(VisrecError, match=f"of {n} rows holds out"):
            random_split(n, test_size, seed)
        return
    tr, te = random_split(n, test_size, seed)
    # the same rows as scikit-learn: the documented figures rest on this split
    np.testing.assert_array_equal(tr, expect[0])
    np.testing.assert_array_equal(te, expect[1])
    assert len(te) >= 1 and len(tr) >= 1  # never an empty test (or training) side


# ------------------------------------------------------------------ label table
def test_rejected_row_does_not_shadow_a_later_valid_row(tmp_path):
    f = tmp_path / "lab2.csv"
    f.write_text("id,cat,name\na,x,foo\nc,,baz\nc,x,dup\nd,y,ok\nd,x,again\ne,,none\n")
    res = load_item_table(f, "id", "cat")
    labels = dict(zip(res.frame["item_id"], res.frame["cat"], strict=True))
    # c: line 3 has no label, so line 4 is c's first usable row and is kept
    assert labels == {"a": "x", "c": "x", "d": "y"}
    assert [(b.line, b.kind) for b in res.bad] == [
        (3, "empty label"),
        (6, "duplicate item id"),  # d: both rows valid, the first (line 5) kept
        (7, "empty label"),
    ]
    assert "item 'd' already on line 5 (kept that)" in res.bad[1].reason
    assert "_line" not in res.frame.columns


def test_rejected_parquet_row_does_not_shadow_a_later_valid_row(tmp_path):
    f = tmp_path / "lab.parquet"
    pd.DataFrame({"id": ["c", "c", "a"], "cat": [None, "x", "y"]}).to_parquet(f)
    res = load_item_table(f, "id", "cat")
    assert dict(zip(res.frame["item_id"], res.frame["cat"], strict=True)) == {"c": "x", "a": "y"}
    assert [(b.line, b.kind) for b in res.bad] == [(1, "empty label")]


def test_without_a_label_column_the_first_row_is_kept(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("id,cat\nc,\nc,x\n")
    res = load_item_table(f, "id")
    assert list(res.frame["cat"]) == [""]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "duplicate item id")]


# ------------------------------------------------------------------ cluster
def _cluster_fixture(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (5, 3)), rng.normal(5, 0.1, (5, 3))]).astype(np.float32)
    ids = [f"p{i}" for i in range(10)]
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=x, has_image=np.ones(10, bool))
    )
    labs = ["shoe"] * 6 + ["bag"] * 4
    # p0's first row has an empty label, its second row a valid one
    lines = ["id,kind", "p0,", *[f"{i},{lab}" for i, lab in zip(ids, labs, strict=True)]]
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "v.parquet", tmp_path / "labels.csv"


def test_cli_cluster_keeps_the_valid_row_after_a_rejected_one(tmp_path, capsys):
    v, labels = _cluster_fixture(tmp_path)
    rc = main(["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"])
    assert rc == 0
    out, err = capsys.readouterr()
    assert "labels.csv:2: item 'p0': empty 'kind'" in err and "already on line" not in err
    assert (
        "left out 0 without an image (has_image false, or an all-zero vector) and 0 without a label"
        in err
    )
    assert out.startswith("K-means with k=2 on 10 items")  # the results only


@pytest.mark.parametrize(
    "select", [["--keep", "shoe"], ["--keep", "shoe,shoe"], ["--top-labels", "1"]]
)
@pytest.mark.parametrize("k", [[], ["--k", "3"]])
def test_cli_cluster_refuses_a_single_label(tmp_path, capsys, select, k):
    v, labels = _cluster_fixture(tmp_path)
    base = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    assert main([*base, *select, *k]) == 2
    out, err = capsys.readouterr()
    *notes, last = err.strip().splitlines()  # the notes on the input, then the error
    assert out == "" and not any(n.startswith("error:") for n in notes)
    assert "all 6 items left to cluster have the label 'shoe'" in last
    assert "at least 2 distinct labels" in last
    if select[1] == "shoe,shoe":
        assert "kept labels shoe;" in err  # the repeat is not listed twice


def test_cluster_vs_labels_refuses_a_single_label_and_too_large_k():
    x = np.random.default_rng(0).random((6, 3))
    for k in (None, 1, 3):
        with pytest.raises(VisrecError, match="all 6 items have the label 'a'"):
            cluster_vs_labels(x, ["a"] * 6, k=k)
    with pytest.raises(VisrecError, match="no items"):
        cluster_vs_labels(np.zeros((0, 3)), [])
    with pytest.raises(VisrecError, match=r"6 items cannot form k=7 clusters \(at most 6\)"):
        cluster_vs_labels(x, ["a", "b"] * 3, k=7)
    res = cluster_vs_labels(x, ["a", "b"] * 3, k=6)  # k = n: allowed, purity 1 trivially
    assert res.k == 6 and res.purity == pytest.approx(1.0)


def test_cli_cluster_k_above_the_number_of_items(tmp_path, capsys):
    v, labels = _cluster_fixture(tmp_path)
    base = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    assert main([*base, "--k", "11"]) == 2
    *notes, last = capsys.readouterr().err.strip().splitlines()
    assert not any(n.startswith("error:") for n in notes)
    assert last.startswith("error:") and "10 items cannot form k=11 clusters" in last
