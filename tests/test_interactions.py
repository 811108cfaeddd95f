"""IdMap and Interactions: the one id map and the users x items orientation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from visrec.data.interactions import IdMap, Interactions
from visrec.errors import VisrecError


def test_idmap_first_appearance_order_and_roundtrip() -> None:
    m = IdMap.from_values(["b", "a", "b", "c"])
    assert m.to_list() == ["b", "a", "c"]
    assert m.to_index(["c", "b"]).tolist() == [2, 0]
    assert m.to_raw([1, 2]).tolist() == ["a", "c"]
    assert "a" in m and "z" not in m


def test_idmap_unknown_ids() -> None:
    m = IdMap.from_values(["1", "2"])
    with pytest.raises(VisrecError, match="'9'"):
        m.to_index(["1", "9"])
    assert m.to_index(["1", "9"], missing="minus_one").tolist() == [0, -1]
    assert m.to_index(["9", "2"], missing="ignore").tolist() == [1]


def test_idmap_rejects_duplicates() -> None:
    with pytest.raises(VisrecError, match="duplicate id 'x'"):
        IdMap(np.array(["x", "y", "x"]))


def test_numeric_ids_become_strings() -> None:
    m = IdMap.from_values([10, 2, 10])
    assert m.to_index(["2", 10]).tolist() == [1, 0]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u3", "u2"],
            "item_id": ["i1", "i2", "i1", "i3", "i1"],
            "rating": [5.0, 3.0, 4.0, 1.0, 2.0],
            "timestamp": [1, 2, 3, 4, 5],
        }
    )


def test_from_frame_and_csr_orientation() -> None:
    inter = Interactions.from_frame(_frame(), extra_items=["cold"])
    assert (inter.n_users, inter.n_items, len(inter)) == (3, 4, 5)
    assert inter.item_map.to_list() == ["i1", "i2", "i3", "cold"]
    x = inter.to_csr()
    assert x.shape == (3, 4)
    # duplicates collapse to 1 in the binary matrix
    assert x.toarray().tolist() == [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]]
    # the last rating wins for a repeated (user, item) pair
    assert x.shape == inter.to_csr("rating").shape
    assert inter.to_csr("rating")[1, 0] == 2.0
    assert inter.to_csr("rating")[0, 1] == 3.0


def test_arrays_are_read_only_and_subset_keeps_maps() -> None:
    inter = Interactions.from_frame(_frame())
    with pytest.raises(ValueError):
        inter.user_idx[0] = 2
    sub = inter.subset(np.array([0, 3]))
    assert sub.user_map is inter.user_map and sub.item_map is inter.item_map
    assert sub.to_frame()["item_id"].tolist() == ["i1", "i3"]


def test_from_frame_with_training_maps_rejects_unknown() -> None:
    train = Interactions.from_frame(_frame())
    test = pd.DataFrame({"user_id": ["u9"], "item_id": ["i1"]})
    with pytest.raises(VisrecError, match="'u9'"):
        Interactions.from_frame(test, user_map=train.user_map, item_map=train.item_map)


def test_missing_column_is_named() -> None:
    with pytest.raises(VisrecError, match="'item_id'"):
        Interactions.from_frame(pd.DataFrame({"user_id": ["a"]}))


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=60))
def test_frame_roundtrip_property(pairs: list[tuple[int, int]]) -> None:
    df = pd.DataFrame(pairs, columns=["user_id", "item_id"]).astype(str)
    inter = Interactions.from_frame(df)
    back = inter.to_frame()
    assert back["user_id"].tolist() == df["user_id"].tolist()
    assert back["item_id"].tolist() == df["item_id"].tolist()
    assert inter.to_csr().nnz == len(set(pairs))


def test_missing_ratings_raise_instead_of_dropping_the_column() -> None:
    df = _frame()
    df.loc[[1, 3], "rating"] = np.nan
    with pytest.raises(VisrecError) as info:
        Interactions.from_frame(df)
    msg = str(info.value)
    assert "2 of 5 rating values are missing" in msg
    assert "position 1 (user 'u1', item 'i2')" in msg and "position 3 (user 'u3'" in msg
    # implicit feedback: leaving the column out is the explicit way to drop it
    inter = Interactions.from_frame(df[["user_id", "item_id"]])
    assert inter.rating is None and len(inter) == 5


def test_missing_timestamps_raise_and_long_lists_are_cut() -> None:
    df = pd.DataFrame(
        {"user_id": [f"u{i}" for i in range(9)], "item_id": ["i"] * 9, "timestamp": np.nan}
    )
    with pytest.raises(VisrecError, match=r"9 of 9 timestamp values .* and 4 more"):
        Interactions.from_frame(df)


def test_complete_columns_are_kept() -> None:
    inter = Interactions.from_frame(_frame())
    assert inter.rating is not None and inter.rating.tolist() == [5.0, 3.0, 4.0, 1.0, 2.0]
    assert inter.timestamp is not None and inter.timestamp.tolist() == [1, 2, 3, 4, 5]


def test_rating_matrix_keeps_the_last_rating_of_a_repeated_pair() -> None:
    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["x", "x", "y"], "rating": [1.0, 5.0, 3.0]}
    )
    dense = Interactions.from_frame(frame).to_csr("rating").toarray()
    assert dense.tolist() == [[5.0, 0.0], [0.0, 3.0]]
