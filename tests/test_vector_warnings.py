"""Vectors a model would fit silently and learn nothing from: all one vector, or a few
far longer than the rest (vbpr scales every vector by one typical length)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, spread_notes, write_vectors


def _store(n: int = 40, d: int = 6, seed: int = 0) -> ItemVectors:
    rng = np.random.default_rng(seed)
    return ItemVectors([f"i{k}" for k in range(n)], rng.random((n, d)), [True] * n)


def test_normal_vectors_give_no_warning() -> None:
    iv = _store()
    assert spread_notes(iv, iv.ids, "v.parquet") == []


def test_one_vector_for_every_item_is_said() -> None:
    iv = _store()
    same = ItemVectors(iv.ids, np.tile(iv.vectors[:1], (len(iv), 1)), iv.has_image)
    (text,) = spread_notes(same, same.ids, "v.parquet", "training item", False)
    assert text.startswith("v.parquet: the 40 training items' vectors are all the same")
    # only the items asked about count: two of them with other vectors break the tie
    assert spread_notes(iv, iv.ids[:2], "v.parquet") == []
    assert len(spread_notes(same, same.ids[:2], "v.parquet")) == 1


def test_far_longer_vectors_are_named_where_length_matters() -> None:
    iv = _store()
    vecs = iv.vectors.copy()
    vecs[[3, 7]] *= 1000.0
    long = ItemVectors(iv.ids, vecs, iv.has_image)
    (text,) = spread_notes(long, long.ids, "v.parquet")
    assert "2 item vectors are over 100 times as long as the median one ('i3', 'i7')" in text
    assert spread_notes(long, long.ids, "v.parquet", length_matters=False) == []
    # items without an image are not looked at, nor items outside the ones asked about
    hidden = ItemVectors(iv.ids, vecs, [k not in (3, 7) for k in range(len(iv))])
    assert spread_notes(hidden, hidden.ids, "v.parquet") == []
    assert spread_notes(long, long.ids[10:], "v.parquet") == []


def test_train_and_evaluate_warn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{i}") for u in range(30) for i in rng.choice(40, 6, replace=False)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    iv = _store()
    vecs = iv.vectors.copy()
    vecs[5] *= 1e4
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, ItemVectors(iv.ids, vecs, iv.has_image))
    fast = ["--param=epochs=2", "--param=factors=4"]
    base = ["--interactions", str(train), "--vectors", str(vpath)]
    assert main(["train", "--model", "vbpr", *base, "-o", str(tmp_path / "m"), *fast]) == 0
    err = capsys.readouterr().err
    assert f"warning: {vpath}: 1 training item vector is over 100 times" in err
    assert "('i5')" in err
    # visual-cf normalises every vector: their length does not matter to it
    assert main(["train", "--model", "visual-cf", *base, "-o", str(tmp_path / "p"), *fast]) == 0
    assert "warning" not in capsys.readouterr().err
    argv = ["evaluate", *base, "--protocol", "warm", "--models", "popularity,vbpr",
            "--seeds", "1", "--param", "vbpr.epochs=2", "-q"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "1 item vector is over 100 times as long" in captured.out + captured.err


def test_recommend_names_new_candidates_far_longer_than_the_training_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    rows = [(f"u{u}", f"i{i}") for u in range(30) for i in rng.choice(40, 6, replace=False)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    iv = _store(42)
    vecs = iv.vectors.copy()
    vecs[41] *= 1e4  # a new item whose vector is another scale altogether
    ids = [*iv.ids[:40], "n1", "n2"]
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, ItemVectors(ids, vecs, iv.has_image))
    (tmp_path / "c.txt").write_text("n1\nn2\ni0\n")
    for name in ("vbpr", "visual-cf"):
        model = tmp_path / name
        argv = ["train", "--model", name, "--interactions", str(train), "--vectors",
                str(vpath), "-o", str(model), "--param=epochs=2", "--param=factors=4"]  # fmt: skip
        assert main(argv) == 0
        argv = ["recommend", str(model), "-o", str(tmp_path / "r.csv"), "--items",
                str(tmp_path / "c.txt"), "--vectors", str(vpath)]  # fmt: skip
        capsys.readouterr()
        assert main(argv) == 0
        err = capsys.readouterr().err
        said = "1 of 2 candidates unseen in training has a vector far from the training items'"
        # visual-cf scores a unit-length version of every vector: nothing to say
        assert (said in err) is (name == "vbpr"), err
        if name == "vbpr":
            assert "vbpr's scores for it follow the vector's size" in err and "'n2'" in err


def test_a_float64_vector_beyond_float32_reads_as_inf_without_numpy_warnings(
    tmp_path: Path,
) -> None:
    import warnings

    import pyarrow as pa
    import pyarrow.parquet as pq

    from visrec.embed.store import read_vectors, usable_rows

    vector = pa.array([[1e300, 1.0], [1.0, 2.0]], type=pa.list_(pa.float64()))
    path = tmp_path / "f64.parquet"
    pq.write_table(pa.table({"item_id": ["a", "b"], "vector": vector}), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" reached users
        iv = read_vectors(path)
    assert np.isposinf(iv.vectors[0, 0]) and usable_rows(iv.vectors).tolist() == [False, True]
