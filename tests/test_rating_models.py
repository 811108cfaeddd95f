"""Rating models (biased MF with a visual term) and the rating-eval comparison."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from visrec.analysis.rating_eval import nearest_level, rating_eval, rating_metrics, split_rows
from visrec.cli import main
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import NotFittedError, VisrecError
from visrec.evaluation.protocols import cold_items_split
from visrec.models.rating_mf import RatingMF


def planted(
    n_users: int = 150,
    n_items: int = 120,
    rank: int = 3,
    density: float = 0.5,
    noise: float = 0.1,
    seed: int = 0,
    d: int = 10,
    visual: bool = False,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Ratings ``3.5 + b_u + b_i + p_u . q_i + noise`` on a random half of the matrix.

    With ``visual=True`` the item bias and factors are linear in the item's vector
    (``b_i = w . f_i``, ``q_i = A f_i``), so an item's picture predicts its ratings.
    Returns the rating frame (ids ``u<k>`` / ``i<k>``) and the item vectors (n_items, d).
    """
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n_items, d))
    if visual:
        bi = f @ rng.normal(scale=0.25, size=d)
        q = f @ rng.normal(scale=0.35, size=(d, rank))
    else:
        bi = rng.normal(scale=0.5, size=n_items)
        q = rng.normal(scale=0.8, size=(n_items, rank))
    bu = rng.normal(scale=0.3, size=n_users)
    p = rng.normal(scale=0.8, size=(n_users, rank))
    truth = 3.5 + bu[:, None] + bi[None, :] + p @ q.T
    uu, ii = np.nonzero(rng.random((n_users, n_items)) < density)
    r = truth[uu, ii] + rng.normal(scale=noise, size=len(uu))
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in uu], "item_id": [f"i{i}" for i in ii]})
    frame["rating"] = r
    return frame, f.astype(np.float32)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def item_mean_pred(train: Interactions, test_items: np.ndarray) -> np.ndarray:
    assert train.rating is not None
    s = np.bincount(train.item_idx, weights=train.rating, minlength=train.n_items)
    c = np.bincount(train.item_idx, minlength=train.n_items)
    means = np.where(c > 0, s / np.maximum(c, 1), float(train.rating.mean()))
    return means[test_items]


# ---------------------------------------------------------------------- RatingMF
def test_recovers_planted_low_rank_ratings():
    frame, _ = planted()
    inter = Interactions.from_frame(frame)
    tr, te = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=0)
    train, test = inter.subset(tr), inter.subset(te)
    m = RatingMF(visual=False).fit(train)
    got = rmse(m.predict(test.user_idx, test.item_idx), test.rating)
    baseline = rmse(item_mean_pred(train, test.item_idx), test.rating)
    assert baseline > 1.0  # users and their tastes matter in this fixture
    assert got < 0.35 * baseline
    assert got < 0.4  # noise is 0.1; what is left is shrinkage


def test_visual_term_scores_items_unseen_in_training():
    frame, f = planted(n_users=200, n_items=150, visual=True, seed=1)
    inter = Interactions.from_frame(frame)
    # items 0..29 of the item map have all their ratings held out
    cold = inter.item_idx < 30
    train, test = inter.subset(~cold), inter.subset(cold)
    vectors = f[[int(i[1:]) for i in inter.item_map.ids]]
    plain = RatingMF(visual=False).fit(train)
    vis = RatingMF(visual=True).fit(train, vectors)
    assert not vis.item_seen_[:30].any() and vis.item_seen_[30:].all()
    e_plain = rmse(plain.predict(test.user_idx, test.item_idx), test.rating)
    e_vis = rmse(vis.predict(test.user_idx, test.item_idx), test.rating)
    # plain MF can only say the user's mean for a new item; the picture carries b_i, q_i
    assert e_vis < 0.6 * e_plain
    # with a weak penalty on E and w the linear map is recovered almost to the noise
    # (0.1); the default penalty is set for real posters, which say far less
    loose = RatingMF(visual=True, reg_visual=1e-4).fit(train, vectors)
    assert rmse(loose.predict(test.user_idx, test.item_idx), test.rating) < 0.35
    # and for such an item plain MF's prediction is exactly that fallback: the user's
    # mean training rating (by hand), not mu + b_u
    u, i = test.user_idx[:5], test.item_idx[:5]
    by_user = pd.Series(train.rating).groupby(train.user_idx).mean()
    np.testing.assert_allclose(
        plain.predict(u, i), np.clip(by_user[u].to_numpy(), plain.rating_min_, plain.rating_max_)
    )
    mu_bu = plain.global_mean_ + plain.user_bias_[u]
    assert not np.allclose(plain.predict(u, i), np.clip(mu_bu, 1, 5))
    # a known item still starts from mu + b_u + b_i
    w = train.item_idx[:3]
    wu = train.user_idx[:3]
    expected = (
        plain.global_mean_
        + plain.user_bias_[wu]
        + plain.item_bias_[w]
        + (plain.user_factors_[wu] * plain.item_factors_[w]).sum(axis=1)
    )
    np.testing.assert_allclose(
        plain.predict(wu, w), np.clip(expected, plain.rating_min_, plain.rating_max_)
    )


def test_explicit_fallbacks_for_unknown_users_and_items():
    frame, f = planted(n_users=40, n_items=30, seed=2, visual=True)
    inter = Interactions.from_frame(frame)
    vectors = f[[int(i[1:]) for i in inter.item_map.ids]]
    m = RatingMF(visual=True, n_epochs=50).fit(inter, vectors)
    # unknown user: no bias, no taste; the item's bias and visual bias remain
    assert m.visual_bias_ is not None
    expected = m.global_mean_ + m.item_bias_[3] + m.item_visual_[3] @ m.visual_bias_
    got = m.predict(np.array([-1]), np.array([3]))[0]
    assert got == pytest.approx(np.clip(expected, m.rating_min_, m.rating_max_))
    # unknown user and unknown item: the global mean
    assert m.predict([-1], [-1])[0] == pytest.approx(m.global_mean_)
    with pytest.raises(VisrecError, match="item index 30 out of range"):
        m.predict([0], [30])
    with pytest.raises(VisrecError, match="user index -2"):
        m.predict([-2], [0])


def test_predictions_clipped_deterministic_and_from_scratch():
    frame, _ = planted(n_users=60, n_items=40, seed=3)
    frame["rating"] = frame["rating"].round().clip(1, 5)
    inter = Interactions.from_frame(frame)
    m = RatingMF(visual=False, n_epochs=60, random_state=7)
    users = np.repeat(np.arange(inter.n_users), inter.n_items)
    items = np.tile(np.arange(inter.n_items), inter.n_users)
    a = m.fit(inter).predict(users, items)
    assert a.min() >= 1.0 and a.max() <= 5.0
    b = m.fit(inter).predict(users, items)  # refit: no warm start
    np.testing.assert_array_equal(a, b)
    c = RatingMF(visual=False, n_epochs=60, random_state=8).fit(inter).predict(users, items)
    assert not np.array_equal(a, c)
    assert m.get_params()["random_state"] == 7 and m.get_params()["n_epochs"] == 60


def test_errors_before_fit_and_on_bad_input():
    frame, _ = planted(n_users=20, n_items=10, seed=4)
    inter = Interactions.from_frame(frame)
    with pytest.raises(NotFittedError):
        RatingMF().predict([0], [0])
    with pytest.raises(VisrecError, match="vectors"):
        RatingMF(visual=True).fit(inter)
    with pytest.raises(VisrecError, match=r"the vector of item '.+' \(row 0\) holds NaN"):
        RatingMF(visual=True).fit(inter, np.full((10, 4), np.nan))
    with pytest.raises(VisrecError, match=r"\(10, d\)"):
        RatingMF(visual=True).fit(inter, np.zeros((9, 4)))
    # width 0 (ids only) gave numpy's divide-by-zero warning, then a fit on nothing
    with pytest.raises(VisrecError, match=r"of shape \(10, 0\), expected \(10, d\) .*d >= 1"):
        RatingMF(visual=True).fit(inter, np.zeros((10, 0)))
    ids_only = ItemVectors(inter.item_map.ids, np.zeros((10, 0)), np.ones(10, bool))
    with pytest.raises(VisrecError, match=r"width 0 \(ids only, as read_vector_ids reads"):
        RatingMF(visual=True).fit(inter, ids_only)
    no_ratings = Interactions(
        user_map=IdMap.from_values(["a"]),
        item_map=IdMap.from_values(["x"]),
        user_idx=np.array([0]),
        item_idx=np.array([0]),
    )
    with pytest.raises(VisrecError, match="ratings"):
        RatingMF(visual=False).fit(no_ratings)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_epochs": "abc"}, "n_epochs='abc' must be an integer"),
        ({"n_factors": 2.0}, "n_factors=2.0 must be an integer"),
        ({"reg": "0.1"}, "reg='0.1' must be a finite number"),
        ({"visual_dim": "4"}, r"visual_dim='4' must be an integer or null \(None\)$"),
        # values out of range, e.g. a negative penalty, which used to train silently
        ({"reg": -1.0}, r"reg must be >= 0, got -1\.0$"),
        ({"reg_visual": -0.1}, r"reg_visual must be >= 0, got -0\.1$"),
        ({"n_epochs": 0}, r"n_epochs must be >= 1, got 0$"),
        ({"lr": 0.0}, r"lr must be > 0, got 0\.0$"),
        ({"visual_dim": 0}, r"visual_dim must be >= 1, got 0$"),
    ],
)
def test_fit_rejects_a_bad_hyperparameter_in_one_line(params, message):
    frame, _ = planted(n_users=20, n_items=10, seed=4)
    inter = Interactions.from_frame(frame)
    with pytest.raises(VisrecError, match=f"^model 'RatingMF': {message}") as info:
        RatingMF(visual=True, **params).fit(inter, np.ones((inter.n_items, 4)))
    assert "\n" not in str(info.value)
    # through the comparison's Python API too (the CLI's --n-epochs etc. are typed)
    with pytest.raises(VisrecError, match=f"^model 'RatingMF': {message}"):
        rating_eval(frame, None, mf_params=params)


# ---------------------------------------------------------------------- rating_eval
def test_nearest_level_and_metrics_by_hand():
    levels = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    got = nearest_level(np.array([0.4, 1.5, 2.49, 4.7, 9.0]), levels)
    np.testing.assert_array_equal(got, [1, 2, 2, 5, 5])  # halves round up
    np.testing.assert_array_equal(nearest_level(np.array([3.2, 3.3]), [3.0, 3.5]), [3.0, 3.5])
    m = rating_metrics(np.array([1.0, 2.2, 4.0]), np.array([1.0, 3.0, 3.0]), levels)
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["mae"] == pytest.approx((0 + 0.8 + 1.0) / 3)
    assert m["rmse"] == pytest.approx(np.sqrt((0.64 + 1.0) / 3))


def _star_fixture(seed: int = 5):
    frame, f = planted(n_users=100, n_items=80, seed=seed, visual=True, density=0.6)
    frame["rating"] = frame["rating"].round().clip(1, 5)
    ids = [f"i{k}" for k in range(80)]
    iv = ItemVectors(ids=ids, vectors=f, has_image=np.ones(80, dtype=bool))
    return frame, iv


def test_rating_eval_compares_every_model_on_one_split():
    frame, iv = _star_fixture()
    res = rating_eval(frame, iv, n_seeds=1)
    # the majority class, recomputed by hand on the same split
    tr, te = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=1234)
    y_tr, y_te = frame["rating"].to_numpy()[tr], frame["rating"].to_numpy()[te]
    vals, counts = np.unique(y_tr, return_counts=True)
    maj = int(vals[np.argmax(counts)])
    name = f"majority class ({maj})"
    assert list(res.table.index) == [
        name,
        "global mean",
        "item mean",
        "user mean",
        "KNN k=3 (image)",
        "biased MF",
        "biased MF + visual",
    ]
    t = res.table
    assert t.loc[name, "accuracy"] == pytest.approx(np.mean(y_te == maj))
    assert t.loc[name, "mae"] == pytest.approx(np.mean(np.abs(y_te - maj)))
    assert t.loc["global mean", "rmse"] == pytest.approx(
        rmse(np.full(len(y_te), y_tr.mean()), y_te)
    )
    # user mean by hand: each test row's user's mean training rating (all users train)
    users = frame["user_id"].to_numpy()
    ratings = frame["rating"].to_numpy()
    by_user = pd.Series(ratings[tr]).groupby(users[tr]).mean()
    assert set(users[te]) <= set(by_user.index)
    assert t.loc["user mean", "rmse"] == pytest.approx(rmse(by_user[users[te]].to_numpy(), y_te))
    assert res.n_train == len(tr) and res.n_test == len(te)
    assert t.loc["biased MF", "rmse"] < 0.8 * t.loc["item mean", "rmse"]
    assert t.loc["item mean", "rmse"] < t.loc["global mean", "rmse"]
    assert t.loc["biased MF", "accuracy"] > t.loc[name, "accuracy"]
    text = res.format()
    assert name in text and "RMSE" in text


def test_rating_eval_seeds_report_spread():
    frame, _ = _star_fixture(seed=6)
    res = rating_eval(frame, None, n_seeds=2, random_state=10, mf_params={"n_epochs": 40})
    assert res.seeds == [10, 11]
    assert len(res.runs) == 2 * 5  # no vectors: no KNN, no visual MF
    assert "rmse_std" in res.table.columns
    assert (res.table["rmse_std"] >= 0).all()
    assert any("no item vectors" in n for n in res.notes)
    out = res.to_dict()
    assert set(out["models"]["biased MF"]) >= {"accuracy", "mae", "rmse", "rmse_std"}
    json.dumps(out)
    # fit seconds carry their spread too, as every other cell (and the HTML report's)
    fits = res.runs[res.runs["model"] == "biased MF"]["fit_seconds"]
    assert res.table.loc["biased MF", "fit_seconds_std"] == pytest.approx(fits.std(ddof=1))
    row = next(line for line in res.format().splitlines() if line.startswith("biased MF"))
    assert row.count("±") == 4


def test_cli_rating_eval_writes_json(tmp_path, capsys: pytest.CaptureFixture[str]):
    frame, iv = _star_fixture(seed=7)
    frame.to_csv(tmp_path / "r.csv", index=False)
    write_vectors(tmp_path / "v.parquet", iv)
    out = tmp_path / "re.json"
    rc = main(
        [
            "rating-eval",
            "--interactions",
            str(tmp_path / "r.csv"),
            "--vectors",
            str(tmp_path / "v.parquet"),
            "--n-epochs",
            "60",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    assert "biased MF + visual" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert len(data["models"]) == 7 and data["seeds"] == [1234]
    assert data["n_train"] + data["n_test"] == len(frame)
    assert data["models"]["biased MF"]["rmse"] < data["models"]["item mean"]["rmse"]
    # keyed as the runs name the models, whatever the data's majority rating
    assert set(data["models"]) == {r["model"] for r in data["runs"]}
    (majority,) = [r for r in data["runs"] if r["model"] == "majority class"]
    assert data["models"]["majority class"]["classes"] == [majority["class"]]
    assert isinstance(majority["class"], int)  # 5, as the ratings spell it, not 5.0


def test_cli_rating_eval_refuses_a_nan_vector_naming_the_item(
    tmp_path, capsys: pytest.CaptureFixture[str]
):
    # the KNN used to fail deep inside sklearn ("Input X contains NaN")
    frame, iv = _star_fixture(seed=7)
    frame.to_csv(tmp_path / "r.csv", index=False)
    vecs = iv.vectors.copy()
    rated = set(frame["item_id"].astype(str))
    row = next(k for k, i in enumerate(iv.ids) if str(i) in rated)
    vecs[row, 0] = np.nan
    write_vectors(tmp_path / "v.parquet", ItemVectors(iv.ids, vecs, iv.has_image))
    argv = ["rating-eval", "--interactions", str(tmp_path / "r.csv"),
            "--vectors", str(tmp_path / "v.parquet"), "--n-epochs", "5"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    # worded as every command words it, naming the file
    assert err == (f"error: {tmp_path / 'v.parquet'}: 1 item vector holds NaN, infinite or "
                   f"huge (beyond ±1e12) values ({str(iv.ids[row])!r}); re-embed that image "
                   "or mark it has_image=false\n")  # fmt: skip


@pytest.mark.slow
def test_real_movielens_mf_beats_item_mean(shared_data):
    from visrec.commands.knn_rating import load_interactions_frame

    frame = load_interactions_frame(str(shared_data / "movielens-100k-posters" / "u.data"))
    res = rating_eval(frame, None)
    t = res.table
    assert res.n_train == 80_000 and res.n_test == 20_000
    # the baselines, worked out here on the same split (the default seed, 1234)
    tr, te = split_rows(frame, "random", 0.2, 1234)
    train, test = frame.iloc[tr], frame.iloc[te]
    assert train.rating.mode()[0] == 4
    assert t.loc["majority class (4)", "accuracy"] == pytest.approx((test.rating == 4).mean())
    item_mean = test.item_id.map(train.groupby("item_id").rating.mean())
    guess = item_mean.fillna(train.rating.mean())
    rmse = float(np.sqrt(((guess - test.rating) ** 2).mean()))
    assert t.loc["item mean", "rmse"] == pytest.approx(rmse, abs=1e-6)
    # who rated, not only what: MF beats every mean (1.029 for the item mean)
    assert t.loc["user mean", "rmse"] > t.loc["biased MF", "rmse"]
    assert t.loc["biased MF", "rmse"] < 0.94


def test_cold_items_split_holds_out_whole_items():
    frame, iv = _star_fixture(seed=8)
    from visrec.analysis.rating_eval import split_rows

    tr, te = split_rows(frame, "cold-items", 0.25, seed=3)
    assert len(tr) + len(te) == len(frame)
    train_items = set(frame["item_id"].iloc[tr])
    test_items = set(frame["item_id"].iloc[te])
    assert not train_items & test_items
    assert len(test_items) == 20  # 25% of 80 items

    res = rating_eval(frame, iv, protocol="cold-items", test_size=0.25, random_state=3)
    t = res.table
    assert res.protocol == "cold-items" and res.n_test == len(te)
    # every test item is new: the item mean can only fall back to the global mean
    assert t.loc["item mean", "rmse"] == pytest.approx(t.loc["global mean", "rmse"])
    # ratings here follow the pictures, so the visual term carries what ids cannot
    assert t.loc["biased MF + visual", "rmse"] < 0.85 * t.loc["biased MF", "rmse"]
    with pytest.raises(VisrecError, match="protocol"):
        rating_eval(frame, iv, protocol="by-time")


def test_cold_items_holds_out_only_items_with_a_picture():
    # a new item is known by its picture: one without was scored on a zero vector
    frame, iv = _star_fixture(seed=8)
    has = np.arange(80) % 2 == 0  # half the items have an image
    half = ItemVectors(ids=iv.ids, vectors=iv.vectors, has_image=has)
    with_image = set(np.asarray(iv.ids)[has])
    from visrec.analysis.rating_eval import split_rows

    for seed in range(3):
        tr, te = split_rows(
            frame, "cold-items", 0.25, seed, eligible=np.asarray(sorted(with_image))
        )
        test_items = set(frame["item_id"].iloc[te])
        assert test_items <= with_image and len(test_items) == 10  # 25% of the 40
        assert not test_items & set(frame["item_id"].iloc[tr])
    res = rating_eval(frame, half, protocol="cold-items", test_size=0.25, random_state=0)
    _, te = split_rows(frame, "cold-items", 0.25, 0, eligible=np.asarray(sorted(with_image)))
    assert res.n_test == len(te)
    # without vectors any item may be held out, as before
    _, te_all = split_rows(frame, "cold-items", 0.25, 0)
    assert not set(frame["item_id"].iloc[te_all]) <= with_image
    with pytest.raises(VisrecError, match="no rated item has an image"):
        split_rows(frame, "cold-items", 0.25, 0, eligible=np.asarray(["nope"]))


# ---------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(
    preds=st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=30),
    levels=st.sets(st.integers(-4, 12).map(lambda v: v / 2), min_size=1, max_size=8),
)
def test_nearest_level_picks_a_closest_level(preds, levels):
    lv = np.array(sorted(levels))
    got = nearest_level(np.array(preds), lv)
    for p, g in zip(preds, got, strict=True):
        assert g in levels
        assert abs(p - g) <= np.min(np.abs(lv - p)) + 1e-12


@settings(max_examples=30, deadline=None)
@given(
    items=st.lists(st.integers(0, 15), min_size=4, max_size=60),
    share=st.floats(0.05, 0.6),
    seed=st.integers(0, 1000),
)
def test_cold_items_split_partitions_rows_by_item(items, share, seed):
    from visrec.analysis.rating_eval import split_rows

    # one row per user: no repeated pair to collapse (rating_eval collapses before it splits)
    frame = pd.DataFrame({"user_id": [f"u{k}" for k in range(len(items))],
                          "item_id": [str(i) for i in items]})  # fmt: skip
    n_items = len(set(items))
    expected = int(np.floor(share * n_items))  # as visrec evaluate's cold-items split
    if not 1 <= expected < n_items:
        with pytest.raises(VisrecError, match=f"gives {expected} held-out items"):
            split_rows(frame, "cold-items", share, seed)
        return
    tr, te = split_rows(frame, "cold-items", share, seed)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(items)))
    test_items = set(frame["item_id"].iloc[te])
    assert not test_items & set(frame["item_id"].iloc[tr])
    assert len(test_items) == expected
    # the very items visrec evaluate holds out with this ratio and seed
    split = cold_items_split(frame, test_ratio=share, seed=seed)
    assert test_items == set(split.test.item_map.ids)


def test_get_params_follows_the_signature():
    m = RatingMF(n_factors=4, visual_dim=None)
    params = m.get_params()
    assert list(params) == [
        "n_factors", "visual", "reg", "reg_visual", "n_epochs", "lr", "init_scale",
        "visual_dim", "random_state",
    ]  # fmt: skip
    assert params["n_factors"] == 4 and params["visual_dim"] is None
    assert RatingMF(**params).get_params() == params
    assert repr(m).startswith("RatingMF(n_factors=4, visual=True, ")

    class Wider(RatingMF):  # a new hyperparameter shows up without touching get_params
        def __init__(self, n_factors: int = 32, extra: int = 3):
            super().__init__(n_factors=n_factors)
            self.extra = extra

    assert Wider(extra=5).get_params() == {"n_factors": 32, "extra": 5}


def test_visual_features_standardised():
    frame, f = planted(n_users=40, n_items=30, seed=6, visual=True, d=10)
    inter = Interactions.from_frame(frame)
    vectors = f[[int(i[1:]) for i in inter.item_map.ids]]
    has = np.ones(inter.n_items, dtype=bool)
    has[[2, 5]] = False
    m = RatingMF(visual=True, n_epochs=2, visual_dim=4).fit(inter, vectors, has)
    fv = m.item_visual_
    assert fv is not None and fv.shape == (inter.n_items, 4)
    np.testing.assert_array_equal(fv[~has], 0.0)  # no image: the neutral row
    np.testing.assert_allclose(fv[has].mean(axis=0), 0.0, atol=1e-12)
    assert np.sqrt((fv[has] ** 2).sum(axis=1).mean()) == pytest.approx(1.0)
    # no image anywhere: refused (tests/test_s49_rating_mf.py), not a fit on zero rows
    with pytest.raises(VisrecError, match="none of the 30 items has an image vector"):
        RatingMF(visual=True, n_epochs=2, visual_dim=4).fit(
            inter, vectors, np.zeros(inter.n_items, dtype=bool)
        )


def test_knn_rating_keeps_rows_whose_unused_timestamp_is_bad(
    tmp_path, capsys: pytest.CaptureFixture[str]
):
    # knn-rating never uses the time: a blank or malformed one costs no row (it did:
    # the full load dropped them as bad records). rating-eval reads it only to keep the
    # latest of repeated (user, item) rows: it reads the file again without it and
    # keeps those rows too, with a note.
    frame, iv = _star_fixture(seed=3)
    frame = frame.assign(timestamp=np.arange(len(frame)).astype(str))
    frame.loc[::7, "timestamp"] = ""
    frame.loc[3::7, "timestamp"] = "yesterday"
    frame.to_csv(tmp_path / "r.csv", index=False)
    write_vectors(tmp_path / "v.parquet", iv)
    data = ["--interactions", str(tmp_path / "r.csv"), "--vectors", str(tmp_path / "v.parquet")]
    n = len(frame)
    n_test = int(np.ceil(0.2 * n))
    assert main(["knn-rating", *data, "--json", str(tmp_path / "k.json")]) == 0
    out = capsys.readouterr()
    assert "skipped" not in out.err and "bad record" not in out.err
    assert f"{n - n_test:,} train / {n_test:,} test rows" in out.out
    assert main(["rating-eval", *data, "--n-epochs", "2", "--quiet"]) == 0
    n_bad = len(frame.loc[::7]) + len(frame.loc[3::7])
    said, err = capsys.readouterr()
    assert n_bad > 1
    assert f"{n_bad:,} rows have no usable time" in err and "skipped" not in err
    assert f"{n - n_test:,} train / {n_test:,} test ratings" in said


def test_majority_class_is_one_row_when_the_splits_disagree(tmp_path):
    import json

    from visrec.report.rating import render_rating_report

    # items alternate 4 and 5 stars: which is the most common depends on the split
    rows = [(f"u{u}", f"i{i}") for u in range(12) for i in range(10)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    frame["rating"] = [4.0, 5.0] * 60
    res = rating_eval(frame, None, n_seeds=4, mf_params={"n_epochs": 2})
    majority = res.runs[res.runs["model"] == "majority class"]
    assert sorted(set(majority["class"])) == [4.0, 5.0] and len(majority) == 4
    assert res.table.index[0] == "majority class (4 or 5, by split)"
    assert np.isfinite(res.table.iloc[0]["accuracy_std"])  # over 4 seeds, not "± nan"
    data = res.to_dict()
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN
    assert [r.get("class") for r in data["runs"][:2]] == [5.0, None]
    page = render_rating_report(data, {})
    assert "<th>majority class (4 or 5, by split)</th>" in page
    text = re.sub(r"data:[^\"']*", "", page)  # embedded plots may spell "nan" in base64
    assert re.search(r"\bnan\b", text, re.IGNORECASE) is None


def test_rating_eval_seeds_each_splits_mf(monkeypatch: pytest.MonkeyPatch):
    # every split's MF starts from that split's seed (the spread includes the random
    # start); a random_state the caller gives is kept on every split
    from visrec.models import rating_mf

    seen: list[int | None] = []
    real_fit = rating_mf.RatingMF.fit

    def spy(self, *args, **kwargs):
        seen.append(self.random_state)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(rating_mf.RatingMF, "fit", spy)
    rows = [(f"u{u}", f"i{i}", float(1 + (u * i) % 5)) for u in range(12) for i in range(10)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    rating_eval(frame, None, n_seeds=3, random_state=7, mf_params={"n_epochs": 2})
    assert seen == [7, 8, 9]
    seen.clear()
    rating_eval(frame, None, n_seeds=2, mf_params={"n_epochs": 2, "random_state": 3})
    assert seen == [3, 3]


def test_mean_baselines_give_an_unknown_user_the_global_mean() -> None:
    from visrec.analysis.rating_eval import _group_mean

    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"], "rating": [5.0, 5.0, 1.0]}
    )
    inter = Interactions.from_frame(frame)
    got = _group_mean(inter.user_idx, inter, np.array([-1, 0, 1]), mu=11 / 3)
    np.testing.assert_allclose(got, [11 / 3, 5.0, 1.0])


def test_rating_mf_learns_user_biases() -> None:
    # user A rates everything 5, user B everything 1; items alike. Only the user bias
    # can tell them apart (no factors): A's predictions ~5, B's ~1, not both ~3.
    from visrec.data.interactions import Interactions
    from visrec.models.rating_mf import RatingMF

    rows = [("A", f"i{j}", 5.0) for j in range(4)] + [("B", f"i{j}", 1.0) for j in range(4)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    inter = Interactions.from_frame(df)
    m = RatingMF(n_factors=0, visual=False, reg=0.0, n_epochs=300, lr=0.1).fit(inter)
    ua, ub = m.user_map_.to_index(np.array(["A", "B"], dtype=object))
    pred = m.predict([ua, ub], [0, 0])
    assert pred[0] > 4.5 and pred[1] < 1.5


def test_the_visual_map_starts_alike_whatever_other_items_the_map_holds():
    # rating-eval's item map also lists the test items and every vector's item: one
    # more of them must not change the fit on the same training rows
    frame, f = planted(n_users=60, n_items=40, visual=True, seed=2)
    d = f.shape[1]
    extra = [f"x{k}" for k in range(3)]
    fits = []
    for more in ([], ["zzz_test_only"]):
        inter = Interactions.from_frame(frame, extra_items=extra + more)
        rows = np.zeros((len(inter.item_map), d))
        known = [int(i[1:]) if i.startswith("i") else -1 for i in inter.item_map.ids]
        rows[[j for j, k in enumerate(known) if k >= 0]] = f[[k for k in known if k >= 0]]
        fits.append(RatingMF(visual=True, n_epochs=5).fit(inter, rows))
    a, b = fits
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
