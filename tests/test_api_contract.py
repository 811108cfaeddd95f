"""The Python API's contract where a wrong call used to give a silently wrong answer:
raw ids or masks taken as positions, a failed refit leaving old arrays under new id
maps, untrained items as "similar", new items without an image scored as an average
look, one string id split into characters, and shared arrays left writable."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from test_models import FAST, checkerboard
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import NotFittedError, VisrecError
from visrec.evaluation.protocols import cold_items_split
from visrec.evaluation.runner import evaluate_model
from visrec.models.base import top_n
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import MODELS, make_model
from visrec.search.knn import similar_items as knn_similar


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    inter, iv = checkerboard()
    return {name: make_model(name, **FAST[name]).fit(inter, iv) for name in MODELS}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("bad", [["3"], "3", [True, False], np.array([0.0, 1.9]), 1.0], ids=repr)
def test_non_integer_user_indices_are_refused(fitted, name, bad) -> None:
    model = fitted[name]
    with pytest.raises(VisrecError, match=r"user indices must be integer positions .*to_index"):
        model.score(bad)
    with pytest.raises(VisrecError, match="user indices must be integer"):
        model.recommend(bad, n=3)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_non_integer_item_indices_are_refused(fitted, name) -> None:
    model = fitted[name]
    mask = np.zeros(len(model.item_map_), dtype=bool)
    mask[[5, 7]] = True
    for bad in (mask, ["i5", "i7"], np.array([5.0, 7.0])):
        with pytest.raises(VisrecError, match="item indices must be integer"):
            model.recommend(0, n=3, items=bad)
        with pytest.raises(VisrecError, match="item indices must be integer"):
            model.score(0, bad)


def test_the_message_names_the_first_value_that_is_not_an_integer(fitted) -> None:
    model = fitted["bpr"]
    for bad, shown in (([1, None], "None at position 1"), ([0, 1.5], "1.5 at position 1")):
        with pytest.raises(VisrecError, match=f"got {re.escape(shown)} "):
            model.score(bad)
    with pytest.raises(VisrecError, match=r"got 2\.0 at position 0"):
        model.score([2.0, 3.0])  # whole floats are still refused: name the first


def test_integer_like_indices_still_work(fitted) -> None:
    model = fitted["bpr"]
    want = model.score([0, 3])
    for ok in ([0, 3], np.array([0, 3], dtype=np.uint8), pd.Series([0, 3], dtype=object)):
        np.testing.assert_array_equal(model.score(ok), want)
    assert model.score([]).shape == (0, len(model.item_map_))
    ids, _ = model.recommend(np.int32(2), n=3)
    assert ids.shape == (1, 3)


def test_rating_mf_predict_refuses_raw_ids() -> None:
    inter, _ = checkerboard()
    rated = Interactions(
        inter.user_map, inter.item_map, inter.user_idx, inter.item_idx,
        rating=np.linspace(1, 5, len(inter)).astype(np.float32),
    )  # fmt: skip
    model = RatingMF(n_factors=2, n_epochs=2, visual=False, random_state=0).fit(rated)
    assert model.predict([3], [4]).shape == (1,)
    with pytest.raises(VisrecError, match="user indices must be integer"):
        model.predict(["3"], [4])
    with pytest.raises(VisrecError, match="item indices must be integer"):
        model.predict([3], [True])


# ---------------------------------------------------------------- refits


def _other_data(prefix: str) -> tuple[Interactions, ItemVectors]:
    """The checkerboard under other ids, with no item image at all."""
    inter, iv = checkerboard(seed=1)
    users = IdMap([f"{prefix}{u}" for u in inter.user_map.ids])
    items = IdMap([f"{prefix}{i}" for i in inter.item_map.ids])
    inter2 = Interactions(users, items, inter.user_idx, inter.item_idx)
    none = ItemVectors(items.ids, iv.vectors, np.zeros(len(items), dtype=bool), iv.meta)
    return inter2, none


@pytest.mark.parametrize("name", ["vbpr", "visual-cf"])
def test_a_refit_refused_for_its_vectors_keeps_the_earlier_fit(name) -> None:
    # refused before anything is learned (a fit that fails once started leaves the
    # model unfitted: test_model_params_and_load)
    inter, iv = checkerboard()
    model = make_model(name, **FAST[name]).fit(inter, iv)
    before = model.recommend(0, n=3)[0]
    inter2, no_images = _other_data("z")
    with pytest.raises(VisrecError, match=r"none of the .* training items has an image vector"):
        model.fit(inter2, no_images)
    assert model.item_map_ is inter.item_map
    np.testing.assert_array_equal(model.recommend(0, n=3)[0], before)


def test_refit_without_vectors_forgets_the_old_vector_meta() -> None:
    inter, iv = checkerboard()
    model = make_model("bpr", **FAST["bpr"]).fit(inter, iv)
    assert model.vector_meta_["dim"] == iv.dim
    model.fit(inter)
    assert not hasattr(model, "vector_meta_")


def test_a_refused_rating_mf_refit_keeps_the_fit_and_a_failed_one_drops_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inter, iv = checkerboard()
    rated = Interactions(
        inter.user_map, inter.item_map, inter.user_idx, inter.item_idx,
        rating=np.full(len(inter), 4.0, dtype=np.float32),
    )  # fmt: skip
    model = RatingMF(n_factors=2, n_epochs=2, visual=True, random_state=0)
    model.fit(rated, iv.vectors)
    before = model.predict([0, 1], [0, 2])
    # refused for its arguments, as the recommenders are: the earlier fit stays
    with pytest.raises(VisrecError, match=r"vectors of shape \(3, \d+\), expected \(\d+, d\)"):
        model.fit(rated, iv.vectors[:3])  # vectors not aligned to the items
    with pytest.raises(VisrecError, match="needs ratings"):
        model.fit(inter, iv.vectors)
    np.testing.assert_array_equal(model.predict([0, 1], [0, 2]), before)

    # a failure while learning leaves no half-fitted model
    import visrec.models.rating_mf as rmf

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(rmf, "_gradients", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        model.fit(rated, iv.vectors)
    with pytest.raises(NotFittedError):
        model.predict([0], [0])


# ---------------------------------------------------------------- similar items


def _with_untrained_items() -> tuple[Interactions, ItemVectors]:
    """The checkerboard plus 5 items in the id map with no interaction and no image."""
    inter, iv = checkerboard()
    items = IdMap([*inter.item_map.ids, *(f"x{k}" for k in range(5))])
    inter2 = Interactions(inter.user_map, items, inter.user_idx, inter.item_idx)
    return inter2, iv  # the store lacks the x items: no image for them


@pytest.mark.parametrize("name", ["bpr", "vbpr", "visual-cf"])
def test_similar_items_never_returns_items_the_model_cannot_score(name) -> None:
    inter, iv = _with_untrained_items()
    model = make_model(name, **FAST[name]).fit(inter, iv)
    untrained = np.arange(20, 25)
    assert np.isneginf(model.score(0)[0, untrained]).all()
    ids, sims = model.similar_items(np.arange(20), n=24)
    assert not np.isin(ids, untrained).any()
    # 19 scorable others per query: the rest of the row is padding
    assert (ids[:, :19] >= 0).all() and (ids[:, 19:] == -1).all()
    ids, sims = model.similar_items([21, 3], n=4)
    assert (ids[0] == -1).all() and np.isneginf(sims[0]).all()
    assert (ids[1] >= 0).all()


def test_popularity_never_recommends_items_nobody_took() -> None:
    # an item in the id map with no interaction has no popularity: -inf, not a count of
    # 0 that would put it in lists ahead of the padding
    inter, iv = _with_untrained_items()
    model = make_model("popularity").fit(inter, iv)
    untrained = np.arange(20, 25)
    assert np.isneginf(model.score(0)[0, untrained]).all()
    ids, _ = model.recommend(np.arange(inter.n_users), n=25)
    assert not np.isin(ids, untrained).any()


def test_knn_similar_items_takes_one_string_as_one_id() -> None:
    _, iv = checkerboard()
    iv12 = ItemVectors(np.asarray([f"{k}" for k in range(20)]), iv.vectors, iv.has_image)
    (one,) = knn_similar(iv12, "12", n=3)
    assert one.query == "12"
    assert [n.query for n in knn_similar(iv12, ["1", "2"], n=3)] == ["1", "2"]
    # one number is one id too (a MovieLens id typed as an int), with the same answer
    (by_int,) = knn_similar(iv12, np.int64(12), n=3)  # type: ignore[arg-type]
    assert by_int.ids == one.ids
    # and a whole float as the loaders spell it (a pandas id column with a gap), or as
    # Python writes it where the store spells it so
    assert [n.query for n in knn_similar(iv12, 12.0, n=3)] == ["12"]  # type: ignore[arg-type]
    floats = ItemVectors(np.asarray(["8.0", "9.5", "10"]), iv.vectors[:3], iv.has_image[:3])
    assert [n.query for n in knn_similar(floats, 8.0, n=1)] == ["8.0"]  # type: ignore[arg-type]


# ---------------------------------------------------------------- new items


@pytest.mark.parametrize("name", ["vbpr", "visual-cf"])
def test_score_new_items_ranks_items_without_an_image_last(fitted, name) -> None:
    model = fitted[name]
    _, iv = checkerboard(seed=3)
    v = iv.vectors[:4].copy()
    has = np.array([True, False, True, False])
    v[3] = np.nan  # no image: its row is never read
    s = model.score_new_items([0, 1], v, has)
    assert np.isneginf(s[:, [1, 3]]).all() and np.isfinite(s[:, [0, 2]]).all()
    np.testing.assert_array_equal(s[:, [0, 2]], model.score_new_items([0, 1], v[[0, 2]]))
    with pytest.raises(VisrecError, match=r"vectors row 3 holds NaN, .*has_image=False"):
        model.score_new_items([0], v)
    huge = v[[0, 2]].copy()
    huge[1, 0] = 3e38  # finite in float32: it overflowed into inf scores that ranked first
    with pytest.raises(VisrecError, match=r"vectors row 1 holds .*huge \(beyond ±1e12\)"):
        model.score_new_items([0], huge)
    with pytest.raises(VisrecError, match="has_image must have shape"):
        model.score_new_items([0], v, has[:3])


def test_evaluate_cold_items_ranks_a_held_out_item_without_image_last() -> None:
    inter, iv = checkerboard()
    split = cold_items_split(inter, seed=0)
    held = list(split.test.item_map.ids)
    model = make_model("visual-cf", **FAST["visual-cf"]).fit(split.train, iv)
    v, has = iv.vectors.copy(), iv.has_image.copy()
    row = list(iv.ids).index(held[0])
    v[row], has[row] = np.nan, False  # the documented remedy for a broken vector
    broken = ItemVectors(iv.ids, v, has, iv.meta)
    # it is scored -inf for everyone: below every candidate with a picture
    users = np.arange(len(split.train.user_map))
    scores = model.score_new_items(users, *broken.align(held))
    assert np.isneginf(scores[:, 0]).all() and np.isfinite(scores[:, 1:]).all()
    got = evaluate_model(model, split, k=5, item_vectors=broken)
    assert np.isfinite(got["auc"]) and 0.0 <= got["auc"] <= 1.0
    whole = evaluate_model(model, split, k=5, item_vectors=iv)
    assert got["auc"] < whole["auc"]  # the users who had it in their test set lose it


# ---------------------------------------------------------------- shared state


def test_interactions_copy_the_callers_arrays() -> None:
    users, items = IdMap(["a", "b"]), IdMap(["x", "y"])
    base = np.array([0, 1, 0, 1])
    inter = Interactions(users, items, base[:3], np.array([0, 1, 1]))
    base[0] = 1  # the caller's array stays theirs, and writable
    assert inter.user_idx.tolist() == [0, 1, 0]
    assert not inter.user_idx.flags.writeable
    with pytest.raises(ValueError):
        users.ids[0] = "zz"


def test_scikit_learn_clone_and_set_params(fitted) -> None:
    model = fitted["bpr"]
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "item_map_")
    assert copy.set_params(factors=3) is copy and copy.factors == 3
    with pytest.raises(VisrecError, match="has no hyperparameter 'factor'"):
        copy.set_params(factor=3)


def test_to_raw_refuses_padding_floats_and_out_of_range() -> None:
    m = IdMap.from_values(["a", "b", "c"])
    assert m.to_raw(np.array([2, 0])).tolist() == ["c", "a"]
    assert m.to_raw([]).tolist() == []
    with pytest.raises(VisrecError, match=r"index -1 is out of range 0\.\.2 \(-1 pads"):
        m.to_raw([0, -1])  # recommend's padding used to read as the last id, 'c'
    with pytest.raises(VisrecError, match=r"index 5 is out of range 0\.\.2$"):
        m.to_raw([5])
    for bad in ([1.7], [True]):
        with pytest.raises(VisrecError, match="indices must be integers"):
            m.to_raw(bad)


def test_padded_recommendations_are_caught_before_becoming_ids() -> None:
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "c"], "item_id": ["x", "y", "y", "z"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame))
    ids, scores = model.recommend([0], n=4)
    # three items: the list is three wide, and the two the user bought are padding
    assert ids.tolist() == [[2, -1, -1]] and np.isneginf(scores[0, 1:]).all()
    assert model.item_map_.to_raw(ids[0][ids[0] >= 0]).tolist() == ["z"]
    with pytest.raises(VisrecError, match="-1 pads"):
        model.item_map_.to_raw(ids[0])


def test_list_length_and_user_lists_are_checked(fitted) -> None:
    model = fitted["bpr"]
    n_items = len(model.item_map_)
    ids, _ = model.recommend([0, 1], n=10**13)  # "all": no 10**13-wide padding
    assert ids.shape == (2, n_items)
    # no candidates at all: padding over all items, not 10**13 columns (7 TiB)
    ids, scores = model.recommend([0, 1], n=10**13, items=[])
    assert ids.shape == (2, n_items) and (ids == -1).all() and np.isneginf(scores).all()
    for bad in (2.5, True, "3"):
        with pytest.raises(VisrecError, match=rf"^n must be a positive integer, got {bad!r}$"):
            model.recommend([0], n=bad)
    with pytest.raises(VisrecError, match=r"one index or a 1-D list of them, got shape \(1, 2\)"):
        model.recommend([[0, 1]])  # flattened, it answered for two users as if asked so
    assert model.similar_items([0], n=10**13)[0].shape == (1, n_items)
    # an index beyond int64 is an unknown user, not an OverflowError from numpy
    with pytest.raises(VisrecError, match=r"^unknown user index 1180591620717411303424 "):
        model.score([2**70])
    # numpy wraps a uint64 beyond int64 round to a negative index without a word
    with pytest.raises(VisrecError, match=r"^unknown user index 9223372036854775813 "):
        model.score(np.array([2**63 + 5], dtype=np.uint64))


def test_filter_seen_must_be_a_bool(fitted) -> None:
    with pytest.raises(VisrecError, match=r"^filter_seen must be True or False, got 'no'$"):
        fitted["bpr"].recommend([0], filter_seen="no")


def test_vectors_of_none_of_the_training_items_say_how_the_ids_differ() -> None:
    inter = Interactions.from_frame(
        pd.DataFrame({"user_id": list("aabb"), "item_id": ["242", "243", "242", "244"]})
    )
    ids = np.array(["242.0", "243.0", "244.0"], dtype=object)
    iv = ItemVectors(ids, np.ones((3, 4), np.float32), np.ones(3, bool))
    with pytest.raises(VisrecError) as err:
        make_model("vbpr", epochs=1).fit(inter, iv)
    assert str(err.value).startswith(
        "model 'vbpr': none of the 3 training items has an image vector (the vectors' ids "
        "look like '242.0', '243.0', '244.0'; the training items' like '242', '243', '244'); "
        "3 of them are in the vectors spelt otherwise ('242' as '242.0'"
    )


def test_interactions_refuse_indices_outside_their_maps() -> None:
    um, im = IdMap.from_values(["u"]), IdMap.from_values(["i"])
    with pytest.raises(VisrecError, match=r"item_idx holds 3, outside the id map's 0\.\.0"):
        Interactions(user_map=um, item_map=im, user_idx=[0], item_idx=[3])
    with pytest.raises(VisrecError, match="user_idx must be a 1-D array of integers, got float64"):
        Interactions(user_map=um, item_map=im, user_idx=[0.7], item_idx=[0])


def test_from_frame_ids_as_the_loaders_write_them() -> None:
    frame = pd.DataFrame({"user_id": ["u", "v"], "item_id": [7.0, 10.0]})
    assert Interactions.from_frame(frame).item_map.to_list() == ["7", "10"]
    with pytest.raises(VisrecError, match=r"1 of 2 item_id values is missing or empty \(the "):
        Interactions.from_frame(pd.DataFrame({"user_id": ["u", "v"], "item_id": ["7", None]}))
    # an empty string is no id either: every blank cell would be one and the same user
    blank = pd.DataFrame({"user_id": ["u", "", " \t"], "item_id": ["7", "8", "9"]})
    with pytest.raises(VisrecError, match=r"2 of 3 user_id values .* \(the first at position 1\)"):
        Interactions.from_frame(blank)


def test_from_frame_timestamps_are_seconds() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u", "u"],
            "item_id": ["a", "b"],
            "timestamp": pd.to_datetime(["2020-01-02 00:00:00", "2020-01-02 00:00:07"]),
        }
    )
    assert Interactions.from_frame(frame).timestamp.tolist() == [1577923200, 1577923207]
    frame["timestamp"] = frame["timestamp"].dt.tz_localize("Europe/Paris")  # UTC+1
    assert Interactions.from_frame(frame).timestamp.tolist() == [1577919600, 1577919607]
    frame["timestamp"] = ["10", "soon"]
    with pytest.raises(VisrecError, match=r"timestamp 'soon' at position 1 is not a number"):
        Interactions.from_frame(frame)


def test_time_split_orders_text_timestamps_as_numbers() -> None:
    from visrec.evaluation.protocols import collapse_duplicates, time_split

    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b"],
            "item_id": ["x", "y", "x", "y"],
            "timestamp": ["2", "10", "10", "2"],  # as text: "10" sorts before "2"
        }
    )
    test = time_split(frame).test.to_frame()
    assert sorted(zip(test["user_id"], test["item_id"], strict=True)) == [("a", "y"), ("b", "x")]
    twice = pd.DataFrame({"user_id": ["a", "a"], "item_id": ["x", "x"], "timestamp": ["10", "2"]})
    assert collapse_duplicates(twice)[0]["timestamp"].tolist() == [10]


@pytest.mark.parametrize("seed", [-1, "x", 1.5, True])
def test_split_seeds_are_whole_numbers(seed: object) -> None:
    from visrec.evaluation.protocols import warm_split

    frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "item_id": ["x", "y", "x", "y"]})
    with pytest.raises(VisrecError, match=r"^seed must be an integer >= 0, got "):
        warm_split(frame, seed=seed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "flags", [["False", "True"], [1, 2], [[True, True], [True, True]]], ids=repr
)
def test_has_image_takes_only_booleans_or_0_1(flags: object) -> None:
    with pytest.raises(VisrecError, match="has_image must be a 1-D array of true/false"):
        ItemVectors(ids=["a", "b"], vectors=np.ones((2, 2)), has_image=flags)
    ok = ItemVectors(ids=["a", "b"], vectors=np.ones((2, 2)), has_image=[1, 0])
    assert ok.has_image.tolist() == [True, False]


def test_a_float_item_id_column_in_a_vectors_file_reads_as_integers(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from visrec.embed.store import read_vectors

    table = pa.table({"item_id": [7.0, 10.0], "vector": [[1.0, 0.0], [0.0, 1.0]]})
    pq.write_table(table, tmp_path / "v.parquet")
    assert read_vectors(tmp_path / "v.parquet").ids.tolist() == ["7", "10"]


def test_load_names_the_folder_when_given_model_json(fitted, tmp_path) -> None:
    from visrec.models.base import Recommender

    fitted["popularity"].save(tmp_path / "m")
    with pytest.raises(VisrecError, match=r"model\.json is a file; give the model folder"):
        Recommender.load(tmp_path / "m" / "model.json")


def test_set_params_on_a_model_without_hyperparameters() -> None:
    with pytest.raises(VisrecError, match=r"no hyperparameter 'bogus'; it takes none$"):
        make_model("popularity").set_params(bogus=1)


def test_time_split_keeps_fractions_of_a_second_in_order() -> None:
    from visrec.evaluation.protocols import time_split

    # whole seconds tie both users' rows, and the later row in the frame would win
    for times in ([1.7, 1.2, 5.9, 5.1], pd.to_datetime([1700, 1200, 5900, 5100], unit="ms")):
        frame = pd.DataFrame(
            {"user_id": ["a", "a", "b", "b"], "item_id": ["x", "y", "y", "x"], "timestamp": times}
        )
        test = time_split(frame).test.to_frame()
        assert sorted(zip(test["user_id"], test["item_id"], strict=True)) == [
            ("a", "x"),
            ("b", "y"),
        ]


def test_top_level_names_resolve_without_importing_the_heavy_stack() -> None:
    import subprocess
    import sys

    import visrec

    assert sorted(visrec.__all__) == sorted(["__version__", *visrec._EXPORTS])  # for linters
    for name in visrec._EXPORTS:
        value = getattr(visrec, name)
        assert value.__name__ == name and value.__module__ == visrec._EXPORTS[name]
    assert visrec.make_model("popularity").name == "popularity"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        visrec.nothing  # noqa: B018
    code = "import sys, visrec; print(sorted({'numpy', 'pandas', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("popularity", {}),
        ("bpr", {}),
        ("vbpr", {}),
        # image-only items from the second fit's new-item terms
        ("vbpr", {"reg": 0.05, "new_item_reg": 0.01, "new_item_reg_visual": 0.01}),
        ("visual-cf", {}),
        # image-only items scored with the map's own BPR users, plus the taste term
        ("visual-cf", {"reg": 0.05, "map_reg": 0.01, "profile_weight": 1.0}),
    ],
    ids=["popularity", "bpr", "vbpr", "vbpr-two-fits", "visual-cf", "visual-cf-map-taste"],
)
def test_scoring_some_items_equals_their_columns_of_all(name, extra) -> None:
    # score(u, items) computes only those items (a candidate file must not cost the
    # whole catalogue); it must give the columns of the full block (to the last bit or
    # so: BLAS sums a narrower product in another order), for items known only by an
    # image and items that cannot be scored (-inf in both) too
    inter, iv = checkerboard()
    rng = np.random.default_rng(0)
    image_only = [f"y{k}" for k in range(4)]
    no_image = [f"x{k}" for k in range(3)]
    items = IdMap([*inter.item_map.ids, *image_only, *no_image])
    inter2 = Interactions(inter.user_map, items, inter.user_idx, inter.item_idx)
    extra_vecs = iv.vectors[rng.integers(0, 20, 4)] + rng.normal(0, 0.05, (4, iv.vectors.shape[1]))
    iv2 = ItemVectors(
        np.asarray([*iv.ids, *image_only]),
        np.vstack([iv.vectors, extra_vecs.astype(np.float32)]),
        np.ones(24, dtype=bool),
        meta=iv.meta,
    )
    model = make_model(name, **{**FAST[name], **extra}).fit(inter2, iv2)
    users = np.array([0, 5, 13, 23])
    full = model.score(users)
    assert np.isfinite(full[:, 20:24]).all() == (name not in ("popularity", "bpr"))
    for cols in (np.array([23, 0, 21, 26, 21, 7, 20]), np.arange(27)[::-1], np.array([22])):
        np.testing.assert_allclose(model.score(users, cols), full[:, cols], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_recommend_items_scores_only_the_candidates_and_lists_as_over_all(name) -> None:
    # recommend(items=...) ranks the candidates alone; the lists must be what masking
    # every other item out of the full ranking gives (ties, padding and width included)
    inter, iv = checkerboard()
    model = make_model(name, **FAST[name]).fit(inter, iv)
    users = np.arange(inter.n_users)
    full = model.score(users).astype(np.float64)
    rng = np.random.default_rng(1)
    for items in ([3, 12, 12, 0, 19, 7], list(rng.permutation(20)[:9]), [5], []):
        for filter_seen in (True, False):
            masked = np.full_like(full, -np.inf)
            masked[:, items] = full[:, items]
            if filter_seen:
                masked[model.seen_[users].toarray() > 0] = -np.inf
            want_idx, want_val = top_n(masked, 8)
            got_idx, got_val = model.recommend(users, n=8, filter_seen=filter_seen, items=items)
            assert got_idx.shape == (len(users), 8)
            np.testing.assert_array_equal(got_idx, want_idx)
            np.testing.assert_allclose(got_val, want_val, rtol=1e-6)


@pytest.mark.parametrize("name", ["vbpr", "visual-cf"])
def test_score_new_items_takes_item_vectors_of_the_same_backbone(fitted, name) -> None:
    model = fitted[name]
    _, iv = checkerboard(seed=3)
    has = np.array([True, False, True, True])
    new = ItemVectors(iv.ids[:4], iv.vectors[:4], has, meta={"backbone": "test"})
    np.testing.assert_array_equal(
        model.score_new_items([0, 5], new), model.score_new_items([0, 5], new.vectors, has)
    )
    other = ItemVectors(iv.ids[:4], iv.vectors[:4], has, meta={"backbone": "resnet18"})
    with pytest.raises(VisrecError, match="from 'resnet18', the model was trained on 'test'"):
        model.score_new_items([0], other)
    with pytest.raises(VisrecError, match="has_image comes with the ItemVectors"):
        model.score_new_items([0], new, has)
