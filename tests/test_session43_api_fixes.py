"""What an outside audit of the Python API from a notebook found (session 43): ``save``
into a folder of the user's own files, a path where an ``ItemVectors`` is wanted, a
pandas column of vectors, numpy values in a vectors file's meta, another model's name
for a hyperparameter, and the frozen containers' arrays after a pickle round trip."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, checkerboard
from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_eval import rating_eval
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.evaluation.runner import run_experiment
from visrec.models.base import Recommender
from visrec.models.registry import make_model
from visrec.search.knn import SimilarItems, similar_items


def test_save_refuses_a_folder_of_other_files_and_keeps_them(tmp_path: Path) -> None:
    inter, _ = checkerboard()
    model = make_model("popularity").fit(inter)
    own = tmp_path / "proj"
    own.mkdir()
    (own / "model.json").write_text('{"my": "own config"}')
    with pytest.raises(VisrecError, match=r"it holds model\.json but no visrec model\.json"):
        model.save(own)
    assert json.loads((own / "model.json").read_text()) == {"my": "own config"}
    assert sorted(p.name for p in own.iterdir()) == ["model.json"]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine")
    with pytest.raises(VisrecError, match=r"'.*notes': it holds keep\.txt but no visrec"):
        model.save(notes)
    assert sorted(p.name for p in notes.iterdir()) == ["keep.txt"]


def test_save_takes_a_new_an_empty_or_an_earlier_model_folder(tmp_path: Path) -> None:
    inter, _ = checkerboard()
    model = make_model("popularity").fit(inter)
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "new", tmp_path / "empty", tmp_path / "new"):  # new twice
        loaded = Recommender.load(model.save(folder))
        np.testing.assert_array_equal(loaded.score([0, 1]), model.score([0, 1]))


def test_a_path_where_item_vectors_are_wanted_is_refused_in_words(tmp_path: Path) -> None:
    inter, iv = checkerboard()
    for given in ("v.parquet", iv.vectors):
        with pytest.raises(VisrecError, match=r"must be an ItemVectors .*read_vectors"):
            similar_items(given, ["i0"])  # type: ignore[arg-type]
        with pytest.raises(VisrecError, match=r"must be an ItemVectors .*read_vectors"):
            SimilarItems(given)  # type: ignore[arg-type]
        with pytest.raises(
            VisrecError, match=r"item_vectors must be an ItemVectors or None .*, got (str|ndarray)"
        ):
            run_experiment(inter.to_frame(), given, "warm", ["popularity"], seeds=1)  # type: ignore[arg-type]


def test_run_experiment_names_a_hyperparameter_the_model_lacks() -> None:
    inter, iv = checkerboard()
    with pytest.raises(
        InvalidParameterError, match=r"model 'bpr' has no hyperparameter 'nope'; known: .*factors"
    ):
        run_experiment(inter.to_frame(), iv, "warm", [("bpr", {"nope": 1})], seeds=1)


def test_item_vectors_from_a_parquet_files_pandas_column(tmp_path: Path) -> None:
    _, iv = checkerboard()
    write_vectors(tmp_path / "v.parquet", iv)
    df = pd.read_parquet(tmp_path / "v.parquet")
    assert df["vector"].dtype == object  # one array per row, as pandas reads the file
    again = ItemVectors(df["item_id"], df["vector"], df["has_image"])
    np.testing.assert_array_equal(again.vectors, iv.vectors)
    assert again.vectors.dtype == np.float32 and again.vectors.flags.c_contiguous


@pytest.mark.parametrize(
    ("vectors", "said"),
    [
        ([["x", "y"], ["1", "2"]], r"could not convert string to float"),
        ([[1.0, 2.0], [3.0]], r"inhomogeneous"),
        (pd.Series([np.ones(2), np.ones(3)]), r"item 'b' has 3 values where the first item has 2"),
        (pd.Series([np.ones(2), None]), r"item 'b' has no vector \(None\)"),
        (pd.Series([np.nan, np.ones(2)]), r"item 'a' has no vector \(nan\)"),
        (np.array([[1 + 2j, 1], [1, 1]]), r"got complex128 values, e\.g\. \(1\+2j\)"),
    ],
)
def test_item_vectors_refuse_what_is_not_numbers_in_words(vectors: object, said: str) -> None:
    with pytest.raises(VisrecError, match=rf"item vectors: vectors must be numbers.*{said}"):
        ItemVectors(["a", "b"], vectors, [True, True])  # type: ignore[arg-type]


def test_write_vectors_takes_numpy_values_in_meta_and_refuses_others(tmp_path: Path) -> None:
    meta = {"backbone": "mine", "scale": np.float32(0.5), "mean": np.arange(3)}
    write_vectors(tmp_path / "v.parquet", ItemVectors(["a"], np.ones((1, 2)), [True], meta=meta))
    back = read_vectors(tmp_path / "v.parquet").meta
    assert (back["scale"], back["mean"], back["backbone"]) == (0.5, [0, 1, 2], "mine")
    bad = ItemVectors(["a"], np.ones((1, 2)), [True], meta={"tags": {"x"}})
    with pytest.raises(VisrecError, match=r"meta must hold JSON values .*set \{'x'\}"):
        write_vectors(tmp_path / "w.parquet", bad)
    assert not (tmp_path / "w.parquet").exists()


def test_the_frozen_containers_arrays_stay_read_only_also_after_pickle() -> None:
    mine = np.ones((2, 3), dtype=np.float32)
    flags = np.array([True, False])
    iv = ItemVectors(["a", "b"], mine, flags)
    assert mine.flags.writeable and flags.flags.writeable  # the caller's arrays: untouched
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"]}))
    for obj in (iv, pickle.loads(pickle.dumps(iv))):
        for arr in (obj.ids, obj.vectors, obj.has_image):
            with pytest.raises(ValueError, match="read-only"):
                arr[0] = arr[1]
    for m in (inter.item_map, pickle.loads(pickle.dumps(inter.item_map))):
        with pytest.raises(ValueError, match="read-only"):
            m.ids[0] = "zz"
    back = pickle.loads(pickle.dumps(inter))
    for arr in (back.user_idx, back.item_idx, back.item_map.ids):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[1]
    assert back.item_map.to_index(["b"]).tolist() == [1] and isinstance(back.item_map, IdMap)


def test_rating_eval_says_ratingmfs_name_for_a_recommenders_hyperparameter() -> None:
    frame = pd.DataFrame(
        {"user_id": ["u", "v"] * 5, "item_id": list("abcdeabcde"), "rating": [1, 5] * 5}
    )
    with pytest.raises(
        InvalidParameterError, match=r"no hyperparameter 'epochs' \(it calls that one 'n_epochs'\)"
    ):
        rating_eval(frame, None, mf_params={"epochs": 3})


def test_cluster_labels_may_be_a_series_but_not_a_table() -> None:
    _, iv = checkerboard()
    labels = pd.Series(["a"] * 10 + ["b"] * 10)
    res = cluster_vs_labels(iv.vectors, labels, k=2)
    assert res.ari == pytest.approx(1.0)
    with pytest.raises(VisrecError, match=r"labels must be 1-D \(one per item\), got shape"):
        cluster_vs_labels(iv.vectors, np.array([labels, labels]).T, k=2)


def test_a_fitted_model_saved_into_its_own_earlier_folder(tmp_path: Path) -> None:
    inter, iv = checkerboard()
    first = make_model("bpr", **FAST["bpr"]).fit(inter, iv).save(tmp_path / "m")
    second = make_model("bpr", **{**FAST["bpr"], "random_state": 5}).fit(inter, iv)
    Recommender.load(second.save(first))  # an earlier model's folder: replaced
    np.testing.assert_array_equal(Recommender.load(first).score([0]), second.score([0]))


def test_item_vectors_take_numbers_in_any_numpy_or_pandas_form() -> None:
    from decimal import Decimal

    want = [[1.0, 2.0], [3.0, 4.0]]
    for given in (
        np.array(want, dtype=object),
        pd.DataFrame(want, dtype=object),
        pd.DataFrame(want).convert_dtypes(),  # nullable Float64/Int64 columns
        [[Decimal(str(v)) for v in row] for row in want],
        [["1", "2"], ["3", "4"]],  # numbers written as text, as numpy reads them
    ):
        assert ItemVectors(["a", "b"], given, [True, True]).vectors.tolist() == want


def test_cluster_labels_may_come_from_any_iterable() -> None:
    _, iv = checkerboard()
    names = {f"i{k}": ("a" if k < 10 else "b") for k in range(20)}
    for labels in (names.values(), (v for v in names.values()), map(str, names.values())):
        assert cluster_vs_labels(iv.vectors, labels, k=2).ari == pytest.approx(1.0)


def test_save_takes_back_a_folder_an_interrupted_save_left(tmp_path: Path) -> None:
    inter, _ = checkerboard()
    model = make_model("popularity").fit(inter)
    folder = tmp_path / "m"
    model.save(folder)
    (folder / "model.json").unlink()  # stopped between its two files
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz"]
    Recommender.load(model.save(folder))
    (folder / ".DS_Store").write_bytes(b"\0")  # hidden: never overwritten
    Recommender.load(model.save(folder))
    mine = tmp_path / "mine"
    mine.mkdir()
    np.savez(mine / "arrays.npz", x=np.ones(3))  # the user's own arrays: no save token
    with pytest.raises(VisrecError, match=r"it holds arrays\.npz but no visrec model\.json"):
        model.save(mine)
    assert np.load(mine / "arrays.npz")["x"].tolist() == [1.0, 1.0, 1.0]


def test_new_items_may_be_a_pandas_column_of_vectors_but_not_a_path() -> None:
    inter, iv = checkerboard()
    model = make_model("vbpr", **FAST["vbpr"]).fit(inter, iv)
    column = pd.Series(list(iv.vectors[:3]))
    np.testing.assert_array_equal(
        model.score_new_items([0], column), model.score_new_items([0], iv.vectors[:3])
    )
    with pytest.raises(VisrecError, match=r"got the path 'v\.parquet'"):
        model.score_new_items([0], "v.parquet")


def test_loaders_given_a_table_in_memory_say_what_to_call(tmp_path: Path) -> None:
    from visrec.data.amazon import load_amazon_reviews
    from visrec.data.tables import load_interactions

    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["a"]})
    with pytest.raises(VisrecError, match=r"got DataFrame \(a table already in memory: "):
        load_interactions(frame)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"a list of them, got DataFrame$"):
        load_amazon_reviews(frame)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"got int among them$"):
        load_amazon_reviews([str(tmp_path / "a.json"), 3])  # type: ignore[list-item]
    path = tmp_path / "Shop_5.json"
    path.write_text('{"reviewerID": "u", "asin": "a", "overall": 5, "unixReviewTime": 1}\n')
    assert len(load_amazon_reviews(p for p in [path]).frame) == 1  # a generator: read once


def test_numpy_numbers_for_k_and_test_size(tmp_path: Path) -> None:
    from visrec.analysis.rating_knn import knn_rating

    inter, iv = checkerboard()
    res = run_experiment(inter.to_frame(), None, "warm", ["popularity"], seeds=1, k=np.int64(5))
    res.to_json(tmp_path / "ev.json")
    assert json.loads((tmp_path / "ev.json").read_text())["k"] == 5
    ratings = np.arange(len(iv.vectors)) % 5 + 1
    assert knn_rating(iv.vectors, ratings, test_size=np.float32(0.25)).n_test == 5
