"""Mutation audit (session 66) of rating prediction evaluation: ``analysis/rating_eval.py``
(the split, ``nearest_level``, ``rating_metrics``, the mean baselines, seeds and sizes),
``analysis/rating_eval_result.py`` (mean and spread over seeds, the JSON),
``analysis/rating_eval_inputs.py`` (the checks and cleaning) and
``evaluation/significance.py`` (the exact sign test and how its p is written).

Mutants: 46 run (12 of significance.py S02-S13, 18 of rating_eval.py R01-R18, 10 of
rating_eval_result.py T01-T10, 6 of rating_eval_inputs.py I01-I06). Killed before: 43
(35 by the rating and sign-test files that name these modules; T03, T05, T06, I01-I05
only by older fix files: analysis_qa, option_review, session44/47, s63/s64,
python_api). Killed after: 46. Equivalent: 0.
The 3 real survivors, killed here: S02 (``n > 1000`` -> ``>=``: scipy's tail at 1,000
pairs is off in the last digits, not the correctly rounded k / 2**n); R04
(``nearest_level`` without ``np.unique``: unsorted levels break searchsorted); R18 (new
users counted as ``test_u <= 0`` on the path with vectors: user index 0 counted too).
Only the tests that kill one of these three are kept.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd

from visrec.analysis.rating_eval import nearest_level, rating_eval
from visrec.embed.store import ItemVectors
from visrec.evaluation.significance import sign_p


def _exact_tail(wins: int, n: int) -> float:
    """P(at least ``wins`` of ``n`` fair flips), as the correctly rounded float."""
    return float(Fraction(sum(math.comb(n, j) for j in range(wins, n + 1)), 2**n))


def test_sign_p_is_the_exact_integer_sum_at_1000_pairs() -> None:
    # Kills S02 (``n > 1000`` -> ``n >= 1000``): scipy's tail is off in the last digits
    # at 1,000 pairs, where the docstring promises the correctly rounded k / 2**n
    for wins in (500, 520, 560, 600):
        assert sign_p(wins, 1000 - wins) == _exact_tail(wins, 1000), wins


def test_nearest_level_by_hand_with_unsorted_repeated_levels() -> None:
    # Kills R04 (levels not sorted and deduplicated before searchsorted)
    got = nearest_level(np.array([1.5, 2.4, 2.6, 0.0, 9.0, 3.0]), np.array([3, 1, 2, 2]))
    np.testing.assert_array_equal(got, [2.0, 2.0, 3.0, 1.0, 3.0, 3.0])  # 1.5: tie goes up


def _hand_frame() -> pd.DataFrame:
    # train_test_split(arange(10), test_size=0.2, random_state=1234) holds out rows 7
    # and 2 and trains on 9, 1, 0, ...: the first training row makes "ub" user index 0
    rows = [
        ("u1", "ib", 3.0),
        ("u2", "ib", 3.0),
        ("ub", "ib", 1.0),  # test: user "ub" (index 0) is known
        ("u3", "i3", 1.0),
        ("u3", "i4", 3.0),
        ("u4", "i3", 1.0),
        ("u4", "i4", 3.0),
        ("un", "ia", 2.0),  # test: a new user
        ("ub", "i2", 1.0),
        ("ub", "i1", 1.0),
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def test_new_users_counted_with_vectors_too() -> None:
    ids = np.array(["ib", "i3", "i4", "ia", "i2", "i1"], dtype=object)
    iv = ItemVectors(
        ids=ids,
        vectors=np.arange(12, dtype=np.float32).reshape(6, 2),
        has_image=np.ones(6, dtype=bool),
    )
    res = rating_eval(_hand_frame(), iv, mf_params={"n_epochs": 2})
    # Kills R18 (``test_u <= 0``: the known user of index 0 counted as new)
    assert any(n.startswith("1 test rating (last split) is by a user absent") for n in res.notes)


def test_two_new_users_test_ratings_are_counted_in_the_plural() -> None:
    frame = _hand_frame()
    frame.loc[2, "user_id"] = "un2"  # the other held-out row: a second new user
    res = rating_eval(frame, None, mf_params={"n_epochs": 2})
    said = [n for n in res.notes if "absent from training" in n]
    assert said == [
        "2 test ratings (last split) are by users absent from training: the models' "
        "fallbacks (mean, item mean, global mean for the user mean, item bias + visual "
        "term) score them"
    ]
