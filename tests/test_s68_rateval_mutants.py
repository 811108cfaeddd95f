"""Mutation audit (session 68) of ``analysis/rating_eval.py`` (``rating_metrics`` and
``nearest_level``, the majority / global / item / user mean baselines, the KNN's k and its
fewer-than-k refusal, the seeds and per-seed sizes, which items the map holds, the split's
own checks, timing, ``mf_params``), ``analysis/rating_eval_result.py`` (mean and spread
over seeds, JSON types, size ranges, repr) and ``analysis/rating_eval_inputs.py`` (notes
and refusals). Mutants not repeated from sessions 61, 63 and 66 where their docstrings
name them.

Mutants written: 50 (34 of rating_eval.py V01-V34, 12 of the result T01-T12, 4 of the
inputs I01-I04). Run against the 7 nearest files (test_s61_rating_mutants,
test_s66_ratan_mutants, test_rating_models, test_s63_ratingio_mutants,
test_rating_eval_duplicates, test_s61_rating_helpers, test_rating_eval_resume):
killed by old tests 37 (V15 only by the shared-MovieLens test); survived 13.
Killed after this file: 48. Equivalent: 2.

Equivalent:
* V06 ``searchsorted(..., side="right")`` in ``nearest_level``: the sides differ only for
  a prediction equal to a level, which both then map to that level (clipping included).
* V22 the vectors' unrated items left out of the item map: they are in no train or test
  row, and the visual MF's fit does not depend on extra items (checked: every metric
  equal with and without 6 extra vectors, random and cold-items;
  test_the_visual_map_starts_alike_whatever_other_items_the_map_holds pins the MF side).

Which test kills which survivor:
* test_mean_and_majority_baselines_recomputed_from_the_split: V14 (group sums of
  rounded ratings: half stars lost), V15 (an item / user with one training rating
  given the global mean; before only the shared-data test killed it).
* test_accuracy_rounds_to_the_training_levels_on_any_scale: V09 (predictions clipped
  to 1-5 before rounding).
* test_knn_uses_the_given_k_recomputed_by_hand: V33 (KNN fitted with k=3 always).
* test_knn_needs_k_training_ratings_exactly_and_only_with_vectors: V23 (``<=`` k),
  V24 (refused without vectors too), V30 (the message gives the test rows as training).
* test_visual_in_mf_params_is_dropped_for_both_models: V20 (``visual`` not popped).
* test_cold_items_sizes_are_per_seed_and_the_last_is_n_train: V21 (n_train / n_test of
  the first seed); also kills T07, T08.
* test_cold_items_split_refuses_a_test_size_outside_0_1_itself: V28.
* test_table_is_the_mean_and_sample_std_of_three_seeds: T02 (median for mean); T01 too.
* test_json_types_seeds_and_classes: T06 (the run's seed written as a float); T09 too.
* test_every_run_is_timed pins fit_seconds > 0 (V25, before killed only by a resume test).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from visrec.analysis.rating_eval import rating_eval, rating_metrics, split_rows
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError

_FAST = {"n_epochs": 2}


def _nearest_by_hand(pred: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each prediction's closest level by brute force, the higher one on a tie."""
    lv = np.unique(levels)
    out = []
    for p in pred:
        d = np.abs(lv - p)
        out.append(lv[np.flatnonzero(d == d.min())].max())
    return np.array(out)


def _metrics_by_hand(
    pred: np.ndarray, truth: np.ndarray, levels: np.ndarray
) -> tuple[float, float, float]:
    err = np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)
    acc = float(np.mean(_nearest_by_hand(pred, levels) == truth))
    return acc, float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2)))


def _half_star_frame(seed: int = 3) -> pd.DataFrame:
    """Half-star ratings, one per (user, item): popular items and items rated once or
    twice, so some test items have one training rating or none."""
    rng = np.random.default_rng(seed)
    pairs = [(f"u{u}", f"i{i}") for u in range(14) for i in range(5) if rng.random() < 0.7]
    pairs += [(f"u{u}", f"rare{u % 9}") for u in range(14)]  # 9 items, 1-2 ratings each
    frame = pd.DataFrame(pairs, columns=["user_id", "item_id"])
    frame["rating"] = rng.choice(np.arange(1.0, 5.01, 0.5), size=len(frame))
    return frame


def test_mean_and_majority_baselines_recomputed_from_the_split() -> None:
    # Kills V14 (item / user sums of rounded ratings: half stars lost) and V15 (an item
    # or user with one training rating given the global mean), V10, V11, V16 too
    frame = _half_star_frame()
    res = rating_eval(frame, None, mf_params=_FAST)
    tr, te = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=1234)
    train, test = frame.iloc[tr], frame.iloc[te]
    y_tr, y_te = train["rating"].to_numpy(), test["rating"].to_numpy()
    levels = np.unique(y_tr)
    mu = y_tr.mean()
    item_means = train.groupby("item_id")["rating"].mean()
    user_means = train.groupby("user_id")["rating"].mean()
    counts = train["item_id"].value_counts()
    # the fixture must reach the cases: a test item rated once in training, and one never
    assert (test["item_id"].map(counts) == 1).any() and test["item_id"].map(counts).isna().any()
    vals, cnt = np.unique(y_tr, return_counts=True)
    majority = vals[np.flatnonzero(cnt == cnt.max())].min()
    preds = {
        "global mean": np.full(len(te), mu),
        "item mean": test["item_id"].map(item_means).fillna(mu).to_numpy(),
        "user mean": test["user_id"].map(user_means).fillna(mu).to_numpy(),
        "majority class": np.full(len(te), majority),
    }
    runs = res.runs.set_index("model")
    for model, pred in preds.items():
        acc, mae, rmse = _metrics_by_hand(pred, y_te, levels)
        assert runs.loc[model, "accuracy"] == pytest.approx(acc), model
        assert runs.loc[model, "mae"] == pytest.approx(mae), model
        assert runs.loc[model, "rmse"] == pytest.approx(rmse), model
    assert runs.loc["majority class", "class"] == majority
    assert json.loads(json.dumps(res.to_dict()))["runs"][0]["class"] == majority


def test_accuracy_rounds_to_the_training_levels_on_any_scale() -> None:
    # Kills V09 (predictions clipped to 1-5 stars before rounding): a 0-10 scale
    pred = np.array([0.0, 0.4, 9.0, 6.0, 0.9])
    truth = np.array([0.0, 0.0, 10.0, 6.0, 2.0])
    levels = np.array([0.0, 2.0, 6.0, 10.0])
    got = rating_metrics(pred, truth, levels)
    acc, mae, rmse = _metrics_by_hand(pred, truth, levels)
    assert got == pytest.approx({"accuracy": acc, "mae": mae, "rmse": rmse})
    assert acc == pytest.approx(4 / 5)  # the last rounds to 0, not 2


def _vectors(ids: list[str], seed: int = 0) -> ItemVectors:
    rng = np.random.default_rng(seed)
    return ItemVectors(
        ids=np.array(ids, dtype=object),
        vectors=rng.normal(size=(len(ids), 4)).astype(np.float32),
        has_image=np.ones(len(ids), dtype=bool),
    )


def _one_rating_per_item(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "user_id": [f"u{k % 4}" for k in range(n)],
            "item_id": [f"i{k}" for k in range(n)],
            "rating": rng.integers(1, 6, size=n).astype(float),
        }
    )


def test_knn_uses_the_given_k_recomputed_by_hand() -> None:
    # Kills V33 (the KNN fitted with k=3 whatever knn_k says): 1-NN by hand
    frame = _one_rating_per_item()
    iv = _vectors(list(frame["item_id"]))
    res = rating_eval(frame, iv, knn_k=1, mf_params=_FAST)
    tr, te = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=1234)
    vec = dict(zip(iv.ids, iv.vectors, strict=True))
    x_tr = np.stack([vec[i] for i in frame["item_id"].iloc[tr]])
    x_te = np.stack([vec[i] for i in frame["item_id"].iloc[te]])
    y_tr, y_te = frame["rating"].to_numpy()[tr], frame["rating"].to_numpy()[te]
    nearest = ((x_te[:, None, :] - x_tr[None, :, :]) ** 2).sum(-1).argmin(axis=1)
    acc, mae, rmse = _metrics_by_hand(y_tr[nearest], y_te, np.unique(y_tr))
    row = res.table.loc["KNN k=1 (image)"]
    assert (row["accuracy"], row["mae"], row["rmse"]) == pytest.approx((acc, mae, rmse))


def test_knn_needs_k_training_ratings_exactly_and_only_with_vectors() -> None:
    frame = _one_rating_per_item(10)
    iv = _vectors(list(frame["item_id"]))
    # test size 0.7 of 10 ratings holds out ceil(7) and trains on 3
    # Kills V23 (``<=``): k equal to the training ratings is enough
    res = rating_eval(frame, iv, test_size=0.7, knn_k=3, mf_params=_FAST)
    assert (res.n_train, res.n_test) == (3, 7)
    # Kills V30 (the test rows named as the training ones)
    with pytest.raises(VisrecError) as err:
        rating_eval(frame, iv, test_size=0.7, knn_k=4, mf_params=_FAST)
    assert str(err.value) == (
        "rating-eval: the random split with test size 0.7 leaves 3 training ratings of "
        "10, fewer than the KNN's k=4; lower the test size or k"
    )
    # Kills V24: without vectors there is no KNN, so no k to satisfy
    res = rating_eval(frame, None, test_size=0.7, knn_k=4, mf_params=_FAST)
    assert "KNN" not in " ".join(res.table.index)


def test_every_run_is_timed() -> None:
    # Kills V25 (fit_seconds always 0): the MF's fit takes time
    res = rating_eval(_half_star_frame(), None, mf_params=_FAST)
    mf = res.runs[res.runs["model"] == "biased MF"]["fit_seconds"]
    assert (mf > 0).all() and (res.runs["fit_seconds"] >= 0).all()


def test_visual_in_mf_params_is_dropped_for_both_models() -> None:
    # Kills V20 (``visual`` passed on as well: RatingMF(visual=False, visual=...))
    frame = _half_star_frame()
    plain = rating_eval(frame, None, mf_params=_FAST)
    given = rating_eval(frame, None, mf_params={**_FAST, "visual": True})
    cols = ["accuracy", "mae", "rmse"]
    got = given.table.loc["biased MF", cols].to_numpy(dtype=float)
    np.testing.assert_array_equal(got, plain.table.loc["biased MF", cols].to_numpy(dtype=float))


def test_cold_items_sizes_are_per_seed_and_the_last_is_n_train() -> None:
    # Kills V21 (n_train / n_test of the first seed), T07 and T08 (the size ranges)
    frame = _half_star_frame()
    res = rating_eval(frame, None, protocol="cold-items", n_seeds=4, mf_params=_FAST)
    want = []
    for seed in res.seeds:
        tr, te = split_rows(frame, "cold-items", 0.2, seed)
        want.append((len(tr), len(te)))
    assert res.sizes == want and len(set(want)) > 1
    assert (res.n_train, res.n_test) == want[-1]
    lo_tr, hi_tr = min(a for a, _ in want), max(a for a, _ in want)
    lo_te, hi_te = min(b for _, b in want), max(b for _, b in want)
    assert res.size_text() == f"{lo_tr}-{hi_tr} train / {lo_te}-{hi_te} test"
    assert res.to_dict()["sizes"] == [list(p) for p in want]


def test_cold_items_split_refuses_a_test_size_outside_0_1_itself() -> None:
    # Kills V28 (split_rows' own range check dropped: the cold-items draw said otherwise)
    frame = _half_star_frame()
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(VisrecError, match="test size must be between 0 and 1"):
            split_rows(frame, "cold-items", bad, 0)


def test_table_is_the_mean_and_sample_std_of_three_seeds() -> None:
    # Kills T02 (median for mean: equal on two seeds, not on three) and T01 (ddof=0)
    res = rating_eval(_half_star_frame(), None, n_seeds=3, mf_params=_FAST)
    for model in res.table.index:
        name = "majority class" if model.startswith("majority class") else model
        runs = res.runs[res.runs["model"] == name]
        assert len(runs) == 3
        for m in ("accuracy", "mae", "rmse", "fit_seconds"):
            vals = runs[m].to_numpy()
            assert res.table.loc[model, m] == pytest.approx(vals.mean()), (model, m)
            assert res.table.loc[model, m + "_std"] == pytest.approx(vals.std(ddof=1))


def test_json_types_seeds_and_classes() -> None:
    # Kills T04 (a whole-star class written 4.0), T05 (classes repeated per split),
    # T06 (the seed written as a float) and T09 (the repr carrying the notes)
    rows = [(f"u{u}", f"i{i}") for u in range(12) for i in range(10)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    frame["rating"] = [4.0, 5.0] * 60
    res = rating_eval(frame, None, n_seeds=4, mf_params=_FAST)
    out = json.loads(json.dumps(res.to_dict()))
    picked = res.runs.loc[res.runs["model"] == "majority class", "class"]
    assert out["models"]["majority class"]["classes"] == sorted({int(v) for v in picked})
    for run in out["runs"]:
        assert type(run["seed"]) is int
        if "class" in run:
            assert type(run["class"]) is int
    assert res.notes and not any(n in repr(res) for n in res.notes)
    assert all(n in res.format() for n in res.notes)
