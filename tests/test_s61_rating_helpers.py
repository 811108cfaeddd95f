"""The documented rating helpers refuse bad arguments with a one-line VisrecError
(session 61; a helper's audit found a bare IndexError / TypeError from inside numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.rating_eval import nearest_level, split_rows
from visrec.errors import VisrecError


def test_nearest_level_with_no_levels_says_so() -> None:
    with pytest.raises(VisrecError, match="levels is empty"):
        nearest_level(np.array([3.2]), np.array([]))
    # a one-level scale still works: everything is that level
    assert nearest_level(np.array([1.0, 9.0]), np.array([4])).tolist() == [4.0, 4.0]


@pytest.mark.parametrize("size", ["0.2", None, True])
def test_split_rows_refuses_a_test_size_that_is_not_a_number(size: Any) -> None:
    frame = pd.DataFrame({"user_id": ["u"] * 4, "item_id": list("abcd"), "rating": [1, 2, 3, 4]})
    with pytest.raises(VisrecError, match="test size must be a number"):
        split_rows(frame, "random", size, seed=0)


def test_split_rows_takes_a_numpy_float() -> None:
    frame = pd.DataFrame({"user_id": ["u"] * 10, "item_id": list("abcdefghij"), "rating": [3] * 10})
    train, test = split_rows(frame, "random", np.float64(0.2), seed=0)
    assert len(train) == 8 and len(test) == 2
