"""What a mutation audit of the data loaders, rating prediction, recommend and the demo
found no test for (session 42): each test fails on the one-line change named in it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import Interactions
from visrec.data.tables import load_interactions, unread_interaction_files
from visrec.demo.pipeline import _DemoData
from visrec.embed.store import ItemVectors
from visrec.models.rating_mf import RatingMF


@pytest.mark.parametrize("variant", ["plain", "quoted", "crlf"])
def test_a_row_with_too_many_fields_is_a_bad_row(tmp_path: Path, variant: str) -> None:
    # `!= n_expected` made `<`: the row-by-row parser kept the long row
    text = "user_id,item_id,rating\nu1,i1,5\nu2,i2,4,EXTRA\nu3,i3,3\n"
    if variant == "quoted":  # a quote sends it through the row-by-row parser
        text = text.replace("u1,i1", '"u1",i1')
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode())
    res = load_interactions(path)
    assert list(res.frame["user_id"]) == ["u1", "u3"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "wrong field count")]


def test_a_folder_prefers_its_interactions_table_to_review_files(tmp_path: Path) -> None:
    # the check for a table made `True`: the reviews were read instead of u.data
    (tmp_path / "u.data").write_text("1\t10\t5\t100\n2\t10\t4\t101\n")
    review = '{"reviewerID": "r", "asin": "A", "overall": 5.0, "unixReviewTime": 1}\n'
    (tmp_path / "Beauty_5.json").write_text(review)
    res = load_interactions(tmp_path)
    assert res.files == [str(tmp_path / "u.data")]
    assert len(res.frame) == 2
    assert unread_interaction_files(tmp_path) == [tmp_path / "Beauty_5.json"]


def test_a_null_id_stays_null_as_text() -> None:
    # `text[null] = None` dropped: pandas 2 writes the string "None" (pandas 3 NaN)
    from visrec.data.id_spelling import ids_as_text

    assert ids_as_text(pd.Series(["a", None], dtype=object)).iloc[1] is None
    assert ids_as_text(pd.Series([7, pd.NA], dtype="Int64")).tolist() == ["7", None]
    assert ids_as_text(pd.Series([1.0, np.nan])).tolist() == ["1", None]


def _ratings(n_users: int = 12, n_items: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u}", f"i{i}") for u in range(n_users) for i in range(n_items) if rng.random() < 0.7
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    frame["rating"] = rng.integers(1, 6, size=len(frame)).astype(float)
    return frame


def test_a_user_in_the_map_without_ratings_gets_the_global_mean() -> None:
    # the user_mean_ fallback `mu` made 0.0: the cold user's prediction went to the floor
    frame = _ratings()
    inter = Interactions.from_frame(frame)
    u0 = inter.user_map.to_index(["u0"])[0]
    kept = inter.subset(np.asarray(inter.user_idx) != u0)  # the id maps are kept
    model = RatingMF(visual=False, n_epochs=3).fit(kept)
    assert model.user_mean_[u0] == pytest.approx(model.global_mean_)
    # an item nobody rated either: the user's mean, which is the global mean
    fresh = Interactions.from_frame(frame, extra_items=["fresh"])
    f = fresh.item_map.to_index(["fresh"])[0]
    u = fresh.user_map.to_index(["u0"])[0]
    cold = RatingMF(visual=False, n_epochs=3).fit(fresh.subset(np.asarray(fresh.user_idx) != u))
    assert cold.predict([u], [f])[0] == pytest.approx(cold.global_mean_)


def test_all_zero_rows_are_no_image_when_has_image_is_not_given() -> None:
    # `> 0` made `>= 0`: a zero row became a standardised, non-zero visual vector
    frame = _ratings()
    inter = Interactions.from_frame(frame, extra_items=["fresh"])
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(inter.n_items, 8))
    f = inter.item_map.to_index(["fresh"])[0]
    vectors[f] = 0.0
    model = RatingMF(visual=True, n_epochs=3, visual_dim=None).fit(inter, vectors)
    assert model.item_visual_ is not None
    assert not model.item_visual_[f].any()
    u = inter.user_map.to_index(["u1"])[0]
    assert model.predict([u], [f])[0] == pytest.approx(
        np.clip(model.user_mean_[u], model.rating_min_, model.rating_max_)
    )


def test_rating_eval_counts_test_users_absent_from_training_without_vectors() -> None:
    # `return records, int((test_u < 0).sum())` made `0` on the path without vectors
    from visrec.analysis.rating_eval import _eval_split

    frame = _ratings()
    train = frame[frame["user_id"] != "u0"]
    test = pd.concat([frame[frame["user_id"] == "u0"], train.iloc[:3]])
    _, n_cold = _eval_split(train, test, None, 3, {"n_epochs": 2}, lambda _: None)
    assert n_cold == int((frame["user_id"] == "u0").sum()) > 0


def test_rating_accuracy_rounds_to_the_levels_seen_in_training_only() -> None:
    # levels from train and test: a 3 seen only in the test rows made the global
    # mean (3.0, between the training levels 1 and 5) an exact hit
    from visrec.analysis.rating_eval import _eval_split

    train = pd.DataFrame(
        {
            "user_id": [f"u{k % 4}" for k in range(8)],
            "item_id": [f"i{k % 3}" for k in range(8)],
            "rating": [1.0, 5.0] * 4,
        }
    )
    test = pd.DataFrame({"user_id": ["u0", "u1"], "item_id": ["i0", "i1"], "rating": [3.0, 3.0]})
    records, _ = _eval_split(train, test, None, 3, {"n_epochs": 2}, lambda _: None)
    mean = next(r for r in records if r["model"] == "global mean")
    assert mean["mae"] == 0.0  # predicted 3.0 exactly
    assert mean["accuracy"] == 0.0  # rounded to 5 (of 1 and 5; ties go up), never 3


def test_popular_lists_put_candidates_nobody_took_last_at_minus_infinity() -> None:
    # `score[score == 0] = -inf` dropped: an item in the map nobody took scored 0,
    # ahead of candidates unseen in training
    from visrec.commands.recommend import popular_list
    from visrec.models.registry import make_model

    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame, extra_items=["fresh"]))
    raw = np.array(["new", "fresh", "y", "x"])
    known = model.item_map_.to_index(raw, missing="minus_one")
    top, score = popular_list(model, raw, known, n=4)
    assert [raw[t] for t in top[:2]] == ["x", "y"]
    assert score.tolist()[:2] == [2.0, 1.0] and np.isneginf(score[2:]).all()


def test_the_demo_rating_knn_uses_only_rows_whose_item_has_an_image(tmp_path: Path) -> None:
    # `inter = inter[has_vec]` dropped: rows of an item without an image were used
    # (as zero vectors) while the note said they were left out
    from visrec.demo.datasets import DemoDataset
    from visrec.demo.pipeline import _rating_knn

    frame = _ratings(n_users=30, n_items=6)
    ids = np.array([f"i{k}" for k in range(6)])
    has = np.ones(6, bool)
    has[5] = False  # i5: no usable image
    iv = ItemVectors(ids, np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32), has)
    ds = DemoDataset(
        name="t", layout="test", root=tmp_path, images={}, labels={}, label_name="x",
        interactions=frame,
    )  # fmt: skip
    knn, note = _rating_knn(ds, frame, iv, 0, knn_k=3, test_size=0.2, say=lambda _: None)
    with_image = int((frame["item_id"] != "i5").sum())
    assert knn is not None and knn.n_train + knn.n_test == with_image < len(frame)
    assert note == (
        f"{len(frame) - with_image} of {len(frame)} rating rows left out: their item has no "
        "usable image ('i5')"
    )


def test_a_category_of_exactly_the_minimum_share_is_clustered(tmp_path: Path) -> None:
    # `counts < share * n` made `<=`: a category right at the share was left out
    from visrec.demo.datasets import DemoDataset
    from visrec.demo.pipeline import _clusters

    ids = np.array([f"i{k:03d}" for k in range(100)])
    labels = {i: ("A" if k < 49 else "B" if k < 98 else "C") for k, i in enumerate(ids)}
    iv = ItemVectors(ids, np.random.default_rng(4).normal(size=(100, 8)).astype(np.float32),
                     np.ones(100, bool))  # fmt: skip
    ds = DemoDataset(
        name="t", layout="test", root=tmp_path, images={}, labels=labels, label_name="category",
    )  # fmt: skip
    images = {i: tmp_path / f"{i}.jpg" for i in ids}
    got = _clusters(ds, iv, images, 3, 0.02, 0, np.random.default_rng(0), lambda _: None)
    assert got.note is None and got.projection_labels.count("C") == 2
    fewer = _clusters(ds, iv, images, 3, 0.021, 0, np.random.default_rng(0), lambda _: None)
    assert fewer.note is not None and "C 2" in fewer.note and "C" not in fewer.projection_labels


def load_stub_data(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    frame: pd.DataFrame,
    items: list[str],
    max_items: int,
) -> _DemoData:
    """The demo's ``_load_data`` on a stand-in dataset: ``items`` with an image each
    (never read here), ``frame`` as the interactions, no labels."""
    from visrec.demo import pipeline
    from visrec.demo.datasets import DemoDataset

    ds = DemoDataset(
        name="t", layout="test", root=tmp_path, images={i: tmp_path / f"{i}.jpg" for i in items},
        labels={}, label_name="x", interactions=frame,
    )  # fmt: skip
    monkeypatch.setattr(pipeline, "load_demo_dataset", lambda _: ds)
    return pipeline._load_data(
        tmp_path, "data", n_items=0, n_users=0, image_size=32, max_items=max_items,
        random_state=0, rng=np.random.default_rng(0), say=lambda _: None, tell=lambda _: None,
    )  # fmt: skip


def test_the_demo_counts_only_rated_rows_outside_its_item_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rated & ~in_sample` made `~in_sample`: unrated rows outside the sample counted
    # as rating rows left out
    items = [f"i{k}" for k in range(10)]
    frame = pd.DataFrame(
        {"user_id": [f"u{k % 4}" for k in range(40)], "item_id": [items[k % 10] for k in range(40)]}
    )
    frame["rating"] = [np.nan if k % 3 == 0 else 4.0 for k in range(40)]
    data = load_stub_data(tmp_path, monkeypatch, frame, items, max_items=4)
    outside = ~frame["item_id"].isin(list(data.images))
    assert data.n_rated_outside == int((outside & frame["rating"].notna()).sum())
    assert data.n_rated_outside < int(outside.sum())
