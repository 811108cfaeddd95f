"""Session 61 mutation audit of ``analysis/rating_knn.py`` (``visrec knn-rating``) and
``analysis/rating_eval.py`` (``visrec rating-eval``).

49 hand-made mutants were run against the rating tests: 42 were killed by the existing
tests, 4 are equivalent, and the 3 left (the confusion matrix transposed, the same-vector
caveat's 50% boundary, ``on_copies`` set on a level call) are killed by the first test
below. The second pins the mean baselines by hand on generated data: E15, E17, E26 and
E27 were otherwise killed only by tests of other sessions or of the shared data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.rating_eval import rating_eval
from visrec.analysis.rating_knn import knn_rating

# train_test_split(arange(10), test_size=0.2, random_state=1234) holds out rows 7 and 2
# and trains on 9, 1, 0, 8, 4, 5, 6, 3 (in that order): both tests below are built on it.
_KNN_ROWS = [
    ([10, 0], 5),
    ([10, 1], 5),
    ([19, 19], 1),  # test: nearest is row 9 (rating 5): KNN wrong
    ([0, 10], 2),
    ([5, 5], 1),
    ([0, 11], 1),
    ([1, 10], 1),
    ([5, 5], 1),  # test: the very vector of row 4 (rating 1): KNN right
    ([11, 0], 5),
    ([20, 20], 5),
]


def test_knn_rating_figures_confusion_and_caveat_by_hand() -> None:
    x = np.array([v for v, _ in _KNN_ROWS], dtype=np.float32)
    y = np.array([r for _, r in _KNN_ROWS], dtype=float)
    res = knn_rating(x, y, k=1)
    # train ratings: four 5s, three 1s, one 2 -> majority 5; test truths 1, 1
    assert (res.n_train, res.n_test, res.majority_class) == (8, 2, 5.0)
    assert res.accuracy == 0.5 and res.mae == pytest.approx(2.0)  # preds 1 and 5
    assert res.majority_accuracy == 0.0 and res.majority_mae == pytest.approx(4.0)
    # Kills K36 (crosstab with true and predicted swapped): rows are the true rating
    out = res.to_dict()
    assert out["confusion"] == {"labels": [1, 2, 5], "counts": [[1, 0, 1], [0, 0, 0], [0, 0, 0]]}
    counts = res.confusion.to_numpy()  # labels 1, 2, 5: [true 1, pred 5] is [0, 2]
    assert counts[0, 2] == 1 and counts[2, 0] == 0
    text = res.format()
    assert "true 1       1       0       1" in text
    # Kills K22 (`same_vector_share < 0.5` -> `<= 0.5`): one of the two test rows has
    # its very vector in training, a share of exactly one half, which the caveat covers
    assert res.same_vector_share == 0.5
    caveat = res.same_item_caveat()
    assert caveat is not None and caveat.startswith("50.0% of the test rows")
    # Kills K30 (`on_copies` set without `call == "beats"`): 1 row against 0 is level,
    # so the JSON must not say a win was made on copies
    assert out["against_majority"]["call"] == "level"
    assert out["against_majority"]["on_copies"] is False
    assert "1 test rows only KNN gets right, 0 only the majority class" in text
    assert "shows no significant difference from the majority class: accuracy +0.500" in text


def _hand_frame() -> pd.DataFrame:
    rows = [
        ("u1", "ib", 3.0),
        ("u2", "ib", 3.0),
        ("ub", "ib", 1.0),  # test B: known user (train mean 1), known item (train mean 3)
        ("u3", "i3", 1.0),
        ("u3", "i4", 3.0),
        ("u4", "i3", 1.0),
        ("u4", "i4", 3.0),
        ("un", "ia", 2.0),  # test A: a new user and an item with no training rating
        ("ub", "i2", 1.0),
        ("ub", "i1", 1.0),  # the first training row: user "ub" is user index 0
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def test_rating_eval_baselines_by_hand_on_a_known_split() -> None:
    # training ratings four 1s and four 3s: majority 1 (smallest on a tie), mean 2;
    # accuracy rounds to the training levels {1, 3}, a tie (2) going up to 3
    res = rating_eval(_hand_frame(), None, mf_params={"n_epochs": 2})
    t = res.table
    assert (res.n_train, res.n_test) == (8, 2)
    # truths (A, B) = (2, 1)
    want = {
        "majority class (1)": (0.5, 0.5, np.sqrt(0.5)),  # preds 1, 1
        # Kills E15 too (levels from train + test): 2 is no training level, so the mean's
        # 2 rounds to 3 and is never "right"; with 2 a level A would be right
        "global mean": (0.0, 0.5, np.sqrt(0.5)),  # preds 2, 2
        # Kills E17 (an item without training ratings gets 0, not the global mean) and E27
        # (the means sized by training indices only: the test-only item's is out of range)
        "item mean": (0.0, 1.0, np.sqrt(2.0)),  # preds 2 (unseen item), 3
        # Kills E26 too (a new user read as user index 0, "ub", mean 1, not the global mean)
        "user mean": (0.5, 0.0, 0.0),  # preds 2 (new user), 1
    }
    for model, (acc, mae, rmse) in want.items():
        assert t.loc[model, "accuracy"] == pytest.approx(acc), model
        assert t.loc[model, "mae"] == pytest.approx(mae), model
        assert t.loc[model, "rmse"] == pytest.approx(rmse), model
    # Pins E19 (the count of test rows by new users dropped when there are no vectors)
    assert any(n.startswith("1 test rating (last split) is by a user absent") for n in res.notes)
