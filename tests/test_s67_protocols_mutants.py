"""Session 67 mutation audit of ``evaluation/protocols.py`` and ``models/_indices.py``.

Mutants: 57 in all (46 on the split protocols, 11 on the index checks). The existing
suite killed 49 of them; the tests below kill the other 8 (49 + 8 = 57; none were
equivalent):

* ``_check_frame`` returning the caller's index (no ``reset_index``): a frame from
  ``pd.concat`` keeps repeated labels, ``df.loc`` then duplicates rows across train and
  test, and an unsorted index reorders the rows.
* ``time_split`` reporting ``n_duplicates=0``.
* ``make_split`` dropping ``eligible_items`` for cold-items, or the ``seed`` for warm.
* ``_first_non_integer`` without ``~np.isfinite``: ``inf`` is called position 0.
* ``_first_non_integer`` letting ``True`` through an object array.
* ``_kind`` losing the "true/false" word for a bool array.
* the beyond-int64 search using ``<= 2**63``: it names the wrong value.

Source bug fixed in ``models/_indices.py``: ``as_indices([1, True])`` returned
``[1, 1]`` without a word, because ``np.asarray`` makes a mixed int/bool list an int64
array. The docstring names exactly that as the silently wrong answer to refuse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_protocols import _frame, _pairs
from visrec.errors import VisrecError
from visrec.evaluation.protocols import (
    collapse_duplicates,
    make_split,
    time_split,
    warm_split,
)
from visrec.models._indices import as_indices

# ------------------------------------------------------------------- protocols


def test_split_of_a_concatenated_frame_neither_duplicates_nor_leaks_rows() -> None:
    """Catches _check_frame keeping the caller's index: pd.concat repeats labels 0..n-1,
    df.loc then returns every row twice, so test pairs also appear in training."""
    part = _frame(3, 5)  # 15 distinct (user, item) pairs, index 0..14
    a, b = part.iloc[:8], part.iloc[8:].reset_index(drop=True)  # b's index is 0..6 again
    df = pd.concat([a, b])  # index 0..7, 0..6: repeated labels
    kept, n_removed = collapse_duplicates(df)
    assert (len(kept), n_removed) == (15, 0)
    s = warm_split(df, test_ratio=0.2, seed=0)
    # 5 rows per user: round(0.2 * 5) = 1 test row each
    assert (len(s.train), len(s.test)) == (12, 3)
    assert not _pairs(s.train) & _pairs(s.test)


def test_collapse_keeps_row_order_of_a_frame_with_a_reversed_index() -> None:
    """Catches _check_frame keeping the caller's index: the kept rows were sorted by
    label, so a reversed index reversed the rows (and each user's tie order)."""
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u1"],
            "item_id": ["a", "b", "c", "a"],
            "timestamp": [1, 2, 3, 4],
        },
        index=[9, 7, 5, 3],
    )
    kept, n_removed = collapse_duplicates(df)
    # (u1, a) at t=1 loses to (u1, a) at t=4; the other rows keep their order
    assert n_removed == 1
    assert kept["item_id"].tolist() == ["b", "c", "a"]
    assert kept["timestamp"].tolist() == [2, 3, 4]


def test_time_split_reports_the_duplicates_it_collapsed() -> None:
    """Catches time_split passing n_duplicates=0 to the Split."""
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2"],
            "item_id": ["i1", "i2", "i1", "i1", "i2"],
            "timestamp": [1, 2, 3, 1, 2],
        }
    )
    s = time_split(df)
    assert s.n_duplicates == 1  # (u1, i1) twice
    # u1's latest row is (i1, 3), the kept copy; u2's is (i2, 2); both items are in
    # training through the other user, so nothing is dropped
    assert (s.n_dropped_users, s.n_dropped_items) == (0, 0)
    assert _pairs(s.test) == {("u1", "i1"), ("u2", "i2")}
    assert _pairs(s.train) == {("u1", "i2"), ("u2", "i1")}


def test_make_split_cold_items_holds_out_only_eligible_items() -> None:
    """Catches make_split not passing eligible_items on to cold_items_split: items with
    no image vector were held out, and the count came from all items."""
    df = _frame(6, 10)
    eligible = ["i0", "i2", "i4", "i6", "i8"]
    s = make_split(df, "cold-items", seed=0, test_ratio=0.4, eligible_items=eligible)
    # floor(0.4 * 5 eligible) = 2 held-out items (not floor(0.4 * 10) = 4)
    held = set(s.candidate_ids.tolist())
    assert len(held) == 2 and held <= set(eligible)
    assert s.info["n_candidates"] == 2


def test_make_split_warm_uses_the_seed_it_is_given() -> None:
    """Catches make_split dropping the seed for warm: every seed gave seed 0's split."""
    df = _frame(6, 10)
    assert _pairs(warm_split(df, seed=0).test) != _pairs(warm_split(df, seed=3).test)
    s = make_split(df, "warm", seed=3)
    assert s.info["seed"] == 3
    assert _pairs(s.test) == _pairs(warm_split(df, seed=3).test)


# --------------------------------------------------------------------- indices


def test_infinite_index_is_named_at_its_position() -> None:
    """Catches the float check losing ~isfinite: inf equals its own round, so the
    message blamed the valid 1.0 at position 0."""
    with pytest.raises(VisrecError, match=r"got inf at position 1 \(float64\)"):
        as_indices([1.0, np.inf], "item")


def test_true_in_an_object_array_is_refused() -> None:
    """Catches the object-array check accepting bools (True is an int in Python)."""
    with pytest.raises(VisrecError, match=r"got True at position 1 \(objects\)"):
        as_indices(np.array([0, True], dtype=object), "user")


def test_bool_array_is_called_true_false_in_the_message() -> None:
    """Catches _kind losing its bool entry: the message said numpy's 'bool'."""
    with pytest.raises(VisrecError, match=r"got True at position 0 \(true/false\)"):
        as_indices([True, False], "item")


def test_beyond_int64_names_the_first_value_out_of_range() -> None:
    """Catches the overflow search taking 2**63 as in range: it named 2**64 instead."""
    assert np.asarray([2**63, 2**64]).dtype == object  # the OverflowError path
    with pytest.raises(VisrecError, match=rf"unknown item index {2**63} \(beyond int64\)"):
        as_indices([2**63, 2**64], "item")


def test_true_mixed_with_ints_in_a_list_is_refused() -> None:
    """Source bug: np.asarray([1, True]) is an int64 array, so True silently became
    index 1 (the answer the module docstring says must never pass)."""
    with pytest.raises(VisrecError, match=r"got True at position 1"):
        as_indices([1, True], "user")
    with pytest.raises(VisrecError, match=r"got True at position 0"):
        as_indices((np.True_, 2), "item")
    assert as_indices([1, 2], "item").tolist() == [1, 2]
