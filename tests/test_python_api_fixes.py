"""The Python API as a notebook uses it: one id given as a string, float id columns,
wrong argument types, models fitted on another split, scikit-learn's helpers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from visrec import make_split
from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_eval import rating_eval
from visrec.analysis.rating_knn import knn_rating
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import NotFittedError, VisrecError
from visrec.evaluation import metrics as M
from visrec.evaluation.protocols import cold_items_split
from visrec.evaluation.runner import evaluate_model, run_experiment, seed_list
from visrec.models.bpr import BPR
from visrec.models.popularity import Popularity
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import make_model
from visrec.models.visual_cf import VisualCF


def _frame(n_users: int = 30, n_items: int = 12, seed: int = 0) -> pd.DataFrame:
    """Every user rates 6 items, skewed to the low ids (so popularity has a signal)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1)
    rows = [
        (u, int(i), int(rng.integers(1, 6)))
        for u in range(n_users)
        for i in rng.choice(n_items, size=6, replace=False, p=p / p.sum())
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def _vectors(n_items: int = 12, d: int = 4) -> ItemVectors:
    rng = np.random.default_rng(1)
    return ItemVectors(
        ids=[str(i) for i in range(n_items)],
        vectors=rng.normal(size=(n_items, d)).astype(np.float32),
        has_image=[True] * n_items,
    )


# ---------------------------------------------------------------- ids


def test_one_id_given_as_a_string_is_one_id() -> None:
    m = IdMap.from_values(["1", "9", "6", "196"])
    assert m.to_index("196").tolist() == [3]  # not the ids '1', '9', '6'
    assert m.to_index(196).tolist() == [3]
    assert "196" in m and 196 in m and 196.0 in m
    with pytest.raises(VisrecError, match="unknown id '12'"):
        m.to_index("12")
    vecs = ItemVectors(
        ids=["ab", "a", "b"], vectors=np.eye(3, dtype=np.float32), has_image=[1, 1, 1]
    )
    rows, has = vecs.align("ab")
    assert rows.tolist() == [[1.0, 0.0, 0.0]] and has.tolist() == [True]
    assert vecs.has_image_for("ab").tolist() == [True]


def test_float_ids_are_spelt_as_the_map_spells_them() -> None:
    df = pd.DataFrame({"user_id": [1.0, 2.0], "item_id": [10, 11]})  # a column with a gap
    inter = Interactions.from_frame(df)
    assert inter.user_map.ids.tolist() == ["1", "2"]
    assert inter.user_map.to_index(df["user_id"]).tolist() == [0, 1]
    # the column rule of every loader: whole floats become integers only when all are
    assert IdMap.from_values([1.0, 2.0]).ids.tolist() == ["1", "2"]
    assert IdMap.from_values([1.0, 2.5, "x"]).ids.tolist() == ["1.0", "2.5", "x"]
    vecs = ItemVectors(ids=["10", "11"], vectors=np.eye(2, dtype=np.float32), has_image=[1, 1])
    assert vecs.align(np.array([11.0]))[0].tolist() == [[0.0, 1.0]]
    # a column with a fraction keeps '7.0'; either spelling finds it
    mixed = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": [7.0, 8.5, 7.0]})
    inter = Interactions.from_frame(mixed)
    assert inter.item_map.ids.tolist() == ["7.0", "8.5"]
    assert inter.item_map.to_index(mixed["item_id"]).tolist() == [0, 1, 0]
    assert inter.item_map.to_index([7.0]).tolist() == [0] and 7.0 in inter.item_map
    floats = ItemVectors(ids=[7.0, 8.5], vectors=np.eye(2), has_image=[1, 1])
    assert floats.align([7.0, 8.5])[1].tolist() == [True, True]
    assert IdMap(np.array([7.0, 8.5])).to_index([7.0]).tolist() == [0]


def test_id_map_options_and_equality() -> None:
    m = IdMap.from_values(["a", "b"])
    assert ["a", "zzz"] not in m and [] not in m  # a list is no id
    with pytest.raises(VisrecError, match="unknown id 'zzz' "):  # not np.str_('zzz')
        m.to_index(np.array(["a", "zzz"]))
    with pytest.raises(VisrecError, match="missing='drop'; expected 'error'"):
        m.to_index(["a", "z"], missing="drop")  # type: ignore[arg-type]
    assert m.to_index(["a", "z"], missing="minus_one").tolist() == [0, -1]
    assert m == IdMap.from_values(["a", "b"]) and m != IdMap.from_values(["b", "a"])
    assert hash(m) == hash(IdMap.from_values(["a", "b"]))
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u"], "item_id": ["a"]}))
    assert inter == inter and len({inter, inter}) == 1  # identity: no array truth value
    with pytest.raises(VisrecError, match="values='ratings'; expected 'binary' or 'rating'"):
        inter.to_csr("ratings")  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="extra_items only apply"):
        Interactions.from_frame(
            pd.DataFrame({"user_id": ["u"], "item_id": ["a"]}), item_map=m, extra_items=["c"]
        )


def test_cold_split_takes_one_eligible_id_as_one_id() -> None:
    df = _frame().astype({"user_id": str, "item_id": str})
    # "10" must not become the items '1' and '0'
    split = cold_items_split(df, test_ratio=0.5, seed=0, eligible_items=["10", "11"])
    assert set(split.candidate_ids) == {"10"}
    with pytest.raises(VisrecError, match=r"1 eligible item \(of the 12 items"):
        cold_items_split(df, test_ratio=0.5, seed=0, eligible_items="10")


# ---------------------------------------------------------------- fitting


def test_fit_names_a_wrong_argument_type() -> None:
    df = _frame()
    inter = Interactions.from_frame(df)
    with pytest.raises(VisrecError, match="fit takes an Interactions, got DataFrame: build"):
        make_model("bpr").fit(df)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"item_vectors must be an ItemVectors .* got ndarray"):
        make_model("vbpr").fit(inter, np.zeros((12, 4)))  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="needs item vectors: pass item_vectors"):
        make_model("vbpr").fit(inter)
    with pytest.raises(VisrecError, match="has no hyperparameter 'factorz'; known: factors"):
        make_model("bpr", factorz=3)


def test_a_bad_hyperparameter_leaves_an_earlier_fit_in_place() -> None:
    inter = Interactions.from_frame(_frame())
    model = make_model("bpr", epochs=2).fit(inter)
    before = model.recommend(0, n=3)
    with pytest.raises(VisrecError, match="lr must be > 0"):
        model.set_params(lr=-1.0).fit(inter)
    after = model.recommend(0, n=3)
    assert np.array_equal(before[0], after[0])


def test_score_new_items_takes_a_0_1_mask_like_item_vectors() -> None:
    inter = Interactions.from_frame(_frame().astype({"item_id": str}))
    model = VisualCF(factors=4, epochs=2, reg=0.01, profile_weight=0.0).fit(inter, _vectors())
    v = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    as_ints = model.score_new_items(np.array([0, 1]), v, np.array([1, 0, 1]))
    as_bools = model.score_new_items(np.array([0, 1]), v, np.array([True, False, True]))
    assert np.array_equal(as_ints, as_bools)
    with pytest.raises(VisrecError, match="has_image must have shape \\(3,\\)"):
        model.score_new_items(np.array([0]), v, np.array([1, 0]))
    with pytest.raises(VisrecError, match="true/false"):
        model.score_new_items(np.array([0]), v, np.array([2, 0, 1]))


def test_rating_mf_takes_item_vectors() -> None:
    inter = Interactions.from_frame(_frame().astype({"item_id": str}))
    iv = _vectors()
    a = RatingMF(visual=True, n_epochs=3).fit(inter, iv)
    rows, has = iv.align(inter.item_map.ids)
    b = RatingMF(visual=True, n_epochs=3).fit(inter, rows, has)
    assert np.allclose(a.predict([0, 1], [0, 1]), b.predict([0, 1], [0, 1]))
    # raw ids -> indices through the model's own maps, as for the recommenders
    users, items = a.user_map_.to_index(["3", "4"]), a.item_map_.to_index(["0", "1"])
    assert a.predict(users, items).shape == (2,) and a.item_map_ is inter.item_map
    with pytest.raises(VisrecError, match="brings its own has_image"):
        RatingMF(visual=True).fit(inter, iv, has)
    with pytest.raises(VisrecError, match="fit takes an Interactions"):
        RatingMF().fit(_frame())  # type: ignore[arg-type]


def test_save_onto_a_file_is_one_line(tmp_path: Path) -> None:
    model = Popularity().fit(Interactions.from_frame(_frame()))
    target = tmp_path / "afile"
    target.write_text("x")
    with pytest.raises(VisrecError, match="it is a file, not a folder"):
        model.save(target)
    assert target.read_text() == "x"


def test_load_returns_the_class_it_is_called_on(tmp_path: Path) -> None:
    model = BPR(epochs=2).fit(Interactions.from_frame(_frame()))
    model.save(tmp_path / "m")
    loaded = BPR.load(tmp_path / "m")
    assert isinstance(loaded, BPR) and loaded.user_factors_.shape == model.user_factors_.shape
    with pytest.raises(VisrecError, match="holds a 'bpr' model, not 'popularity'"):
        Popularity.load(tmp_path / "m")


# ---------------------------------------------------------------- scikit-learn


def test_scikit_learn_helpers_work_on_every_estimator() -> None:
    inter = Interactions.from_frame(_frame())
    for est in (Popularity(), BPR(epochs=1), RatingMF(visual=False, n_epochs=1)):
        with pytest.raises(SklearnNotFitted):
            check_is_fitted(est)
        est.fit(inter)
        check_is_fitted(est)
        twin = clone(est)
        assert twin.get_params() == est.get_params() and twin is not est
        with pytest.raises(SklearnNotFitted):
            check_is_fitted(twin)
    with pytest.raises(ValueError, match="not fitted yet"):  # as scikit-learn's
        BPR().recommend(0)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


# ---------------------------------------------------------------- evaluation


def test_evaluate_model_refuses_a_model_fitted_on_other_rows() -> None:
    df = _frame()
    split0, split1 = make_split(df, "warm", seed=0), make_split(df, "warm", seed=1)
    right = Popularity().fit(split0.train)
    assert 0.0 < evaluate_model(right, split0, k=5)["recall"] <= 1.0
    for wrong in (Popularity().fit(split1.train), Popularity().fit(Interactions.from_frame(df))):
        if wrong.user_map_ == split0.train.user_map and wrong.item_map_ == split0.train.item_map:
            continue  # the same maps by chance: nothing to tell apart
        with pytest.raises(VisrecError, match="was not fitted on this split's training rows"):
            evaluate_model(wrong, split0, k=5)
    with pytest.raises(NotFittedError):
        evaluate_model(Popularity(), split0)
    with pytest.raises(VisrecError, match=r"k must be an integer, got 2\.5"):
        evaluate_model(right, split0, k=2.5)  # type: ignore[arg-type]


def test_run_experiment_takes_estimators_and_checks_its_arguments() -> None:
    df = _frame()
    by_name = run_experiment(df, None, "warm", [("bpr", {"epochs": 2})], seeds=[0], progress=False)
    by_estimator = run_experiment(df, None, "warm", [BPR(epochs=2)], seeds=1, progress=False)
    assert by_estimator.params["bpr"] == by_name.params["bpr"]
    assert by_estimator.params["bpr"]["epochs"] == 2
    cols = ["model", "recall", "ndcg", "auc"]
    assert by_name.runs[cols].equals(by_estimator.runs[cols])  # same seed, same fit

    class MyPopularity(Popularity):
        pass

    with pytest.raises(VisrecError, match="MyPopularity is not the registered 'popularity'"):
        run_experiment(df, None, "warm", [MyPopularity()], seeds=[0], progress=False)
    for models, match in (
        ([("bpr", "epochs=3")], "is not a model; give a name"),
        ([3], "is not a model"),
    ):
        with pytest.raises(VisrecError, match=match):
            run_experiment(df, None, "warm", models, seeds=[0], progress=False)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="seed 0 is listed twice"):
        run_experiment(df, None, "warm", ["popularity"], seeds=[0, 0], progress=False)
    with pytest.raises(VisrecError, match="k must be an integer"):
        run_experiment(df, None, "warm", ["popularity"], seeds=[0], k=10.0, progress=False)  # type: ignore[arg-type]
    assert seed_list(3) == [0, 1, 2] and seed_list(np.arange(2)) == [0, 1]
    for bad, match in (
        (0, "seeds=0: need at least one seed"),
        (True, "seeds must be a number or a list of ints, got True"),
        ([1.5], "seed must be an integer, got 1.5"),
        ("01", "seeds must be a number or a list of ints, got '01'"),
    ):
        with pytest.raises(VisrecError, match=re.escape(match)):
            seed_list(bad)  # type: ignore[arg-type]


def test_metrics_refuse_index_arrays_as_masks() -> None:
    topk = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    as_ints = M.recall_at_k(topk, np.array([[1, 0, 0, 1], [0, 0, 0, 1]]))
    as_bools = M.recall_at_k(topk, np.array([[1, 0, 0, 1], [0, 0, 0, 1]], dtype=bool))
    assert as_ints.tolist() == as_bools.tolist() == [1.0, 1.0]
    with pytest.raises(VisrecError, match=r"relevant must be a true/false mask .* got the value 3"):
        M.recall_at_k(topk, np.array([[0, 3, 0, 0], [2, 0, 0, 0]]))
    with pytest.raises(VisrecError, match=r"k must be an integer, got 2\.5"):
        M.top_k(np.zeros((2, 3)), 2.5)  # type: ignore[arg-type]
    # pandas' nullable booleans are a mask; a missing value in one is named
    nullable = pd.DataFrame([[True, False, False, True]]).astype("boolean").to_numpy()
    assert M.recall_at_k(topk[:1], nullable).tolist() == [1.0]
    with pytest.raises(VisrecError, match="got the value <NA>"):
        M.recall_at_k(
            topk[:1], pd.DataFrame([[True, None, False, True]]).astype("boolean").to_numpy()
        )


def test_rating_eval_checks_its_arguments() -> None:
    df = _frame()
    res = rating_eval(Interactions.from_frame(df), None, n_seeds=1, mf_params={"n_epochs": 2})
    assert "global mean" in res.table.index
    assert any(m.startswith("majority class") for m in res.table.index)
    with pytest.raises(VisrecError, match="random_state must be an integer, got Generator"):
        rating_eval(df, None, random_state=np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="RatingMF has no hyperparameter 'epochs'"):
        rating_eval(df, None, mf_params={"epochs": 5})
    with pytest.raises(VisrecError, match="item_vectors must be an ItemVectors or None"):
        rating_eval(df, np.zeros((12, 4)))  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="ratings must be a DataFrame"):
        rating_eval(df.to_numpy(), None)  # type: ignore[arg-type]


def test_float_ids_find_their_vectors_in_rating_eval() -> None:
    df = _frame().astype({"item_id": float})  # 3.0 is the item "3" of the vectors
    res = rating_eval(df, _vectors(), n_seeds=1, mf_params={"n_epochs": 2})
    assert not any("no image" in n for n in res.notes)
    assert "biased MF + visual" in set(res.table.index)


def test_analysis_functions_name_wrong_arguments() -> None:
    iv = _vectors()
    labels = ["a", "b"] * 6
    with pytest.raises(VisrecError, match="cluster: pass the \\(n, d\\) array"):
        cluster_vs_labels(iv, labels)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"cluster: k must be an integer, got 2\.5"):
        cluster_vs_labels(iv.vectors, labels, k=2.5)  # type: ignore[arg-type]
    ratings = np.arange(12) % 5 + 1
    with pytest.raises(VisrecError, match="rating KNN: pass the \\(n, d\\) array"):
        knn_rating(iv, ratings)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="rating KNN: k must be an integer"):
        knn_rating(iv.vectors, ratings, k=2.5)  # type: ignore[arg-type]


def test_index_errors_say_text_not_numpy_dtype_names() -> None:
    model = Popularity().fit(Interactions.from_frame(_frame()))
    with pytest.raises(VisrecError, match=r"got '196' at position 0 \(text\)"):
        model.recommend("196")  # type: ignore[arg-type]


def test_frames_expected_where_other_types_are_named(tmp_path: Path) -> None:
    frame = _frame()
    with pytest.raises(VisrecError, match="expected a DataFrame or Interactions to split, got"):
        make_split(frame.to_numpy(), "warm")  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match="from_frame takes a DataFrame, got list"):
        Interactions.from_frame(frame.values.tolist())  # type: ignore[arg-type]
    iv = _vectors()
    out = tmp_path / "v.parquet"
    with pytest.raises(VisrecError, match="iv must be an ItemVectors, got ndarray"):
        write_vectors(out, iv.vectors)  # type: ignore[arg-type]
    assert not out.exists()
    write_vectors(out, iv)  # the right order still writes
    ids_only = ItemVectors(["a", "b"], np.zeros((2, 0)), [True, True])  # read_vector_ids'
    with pytest.raises(VisrecError, match="have width 0 \\(ids only\\): no vectors to write"):
        write_vectors(tmp_path / "w.parquet", ids_only)
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"]}))
    for name in ("vbpr", "visual-cf"):
        with pytest.raises(VisrecError, match=f"model '{name}': the item vectors have width 0"):
            make_model(name).fit(inter, ids_only)
    assert read_vectors(out).ids.tolist() == iv.ids.tolist()
