"""Session 62 mutation audit of the honest evaluation: ``evaluation/protocols.py``,
``evaluation/metrics.py`` and ``evaluation/significance.py``.

Every test below asserts a known answer on a hand-built fixture (a split's exact
membership, a metric's exact value, a p-value's exact fraction or figure).

Mutants: 66 in all (32 on the protocols and the per-user hold-out rule they use, 23 on
the metrics, 11 on the significance helpers); 58 killed by the suite before this file,
63 after it; 3 equivalent. Gaps this file closes: ``latest_ties`` sorting by time before
user and counting a one-row user's time against the previous user's; a negative seed
of -1 accepted; text timestamps compared as text; a top-K list naming candidate 0
twice accepted; ``p_figure(0.001)`` written ``"< 0.001"``. Equivalent mutants:

* ``sign_p``: ``wins <= 0`` -> ``wins < 0``: with 0 wins the loop sums every C(n, j),
  2**n, so p is 1.0 either way.
* ``auc``: dropping the ``n_neg > 0`` guard: with no negative every remaining
  candidate is a positive, the mid-ranks sum to ``n_pos (n_pos + 1) / 2``, U is 0 and
  ``0 / 0`` is already nan.
* ``draw_cold_items``: ``n_hold >= len(items)`` -> ``>``: ``n_hold = floor(r * |pool|)``
  with ``r < 1`` and ``pool`` a subset of the items is always below ``len(items)``, so
  neither form ever fires on the upper bound.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from visrec.errors import VisrecError
from visrec.evaluation import metrics
from visrec.evaluation.protocols import (
    cold_items_split,
    collapse_duplicates,
    known_at_test,
    latest_ties,
    make_split,
    split_seed,
    time_split,
    warm_known,
    warm_split,
)
from visrec.evaluation.significance import p_figure, sign_p, two_sided_sign_p


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"].astype(str), frame["item_id"].astype(str), strict=True))


def _counts_per_user(frame: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame.groupby("user_id").size().items()}


# --------------------------------------------------------------------------- protocols


def test_collapse_keeps_rows_in_their_original_order() -> None:
    # the latest (a, x) is row 3; after collapsing, the kept rows stay in table order
    # (not in time order: b's row is the latest of all and comes first)
    df = pd.DataFrame(
        {
            "user_id": ["a", "b", "a", "a"],
            "item_id": ["x", "y", "z", "x"],
            "timestamp": [50, 70, 40, 60],
        }
    )
    out, n = collapse_duplicates(df)
    assert n == 1
    assert list(zip(out["user_id"], out["item_id"], out["timestamp"], strict=True)) == [
        ("b", "y", 70),
        ("a", "z", 40),
        ("a", "x", 60),
    ]


def test_collapse_without_time_keeps_last_row() -> None:
    df = pd.DataFrame({"user_id": ["a", "a", "a"], "item_id": ["x", "x", "y"], "rating": [1, 5, 3]})
    out, n = collapse_duplicates(df)
    assert n == 1
    assert out["rating"].tolist() == [5, 3]


def test_collapse_text_timestamps_compare_as_numbers() -> None:
    # "10" is later than "9"; compared as text it would be earlier
    df = pd.DataFrame(
        {"user_id": ["a", "a"], "item_id": ["x", "x"], "rating": [1, 2], "timestamp": ["10", "9"]}
    )
    out, _ = collapse_duplicates(df)
    assert out["rating"].tolist() == [1]


_SIZES = {"one": 1, "three": 3, "five": 5, "eight": 8, "ten": 10}


def _warm_frame() -> pd.DataFrame:
    """Users with 1, 3, 5, 8 and 10 interactions, plus 10 filler users who rated all 10
    items, so every test item also has training rows and nothing is dropped."""
    sizes = {**_SIZES, **{f"f{k}": 10 for k in range(10)}}
    rows = [(u, f"i{j}") for u, n in sizes.items() for j in range(n)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def _mine(counts: dict[str, int]) -> dict[str, int]:
    return {u: n for u, n in counts.items() if u in _SIZES}


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_warm_split_sizes_per_user(seed: int) -> None:
    split = warm_split(_warm_frame(), test_ratio=0.2, seed=seed)
    test = split.test.to_frame()
    train = split.train.to_frame()
    # round(0.2 * n), at least 1 and at most n - 1; a single-row user stays in training
    assert split.n_dropped_items == 0
    assert _mine(_counts_per_user(test)) == {"three": 1, "five": 1, "eight": 2, "ten": 2}
    assert _mine(_counts_per_user(train)) == {"one": 1, "three": 2, "five": 4, "eight": 6, "ten": 8}
    assert not (_pairs(train) & _pairs(test))  # no leakage
    assert _pairs(train) | _pairs(test) == _pairs(_warm_frame())
    assert split.info == {"seed": seed, "test_ratio": 0.2}


def test_warm_split_seed_decides_membership() -> None:
    rows = [(u, f"i{j}") for u in ("u", "v", "w") for j in range(40)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id"])
    tests = {frozenset(_pairs(warm_split(df, seed=s).test.to_frame())) for s in range(4)}
    assert len(tests) == 4  # 4 seeds, 4 different draws
    again = _pairs(warm_split(df, seed=3).test.to_frame())
    assert again in tests


def test_warm_split_drops_test_items_unseen_in_training() -> None:
    # item z is rated by one user only: when it falls in the test set it has no
    # training row, so it is dropped and counted, never left as a test positive
    df = pd.DataFrame({"user_id": ["a", "a"], "item_id": ["x", "z"]})
    df = pd.concat([df, pd.DataFrame({"user_id": ["b"], "item_id": ["x"]})], ignore_index=True)
    dropped = 0
    for seed in range(20):
        split = warm_split(df, test_ratio=0.5, seed=seed)
        test = split.test.to_frame()
        assert set(test["item_id"]) <= set(split.train.item_map.ids)
        assert len(test) + split.n_dropped_items == 1
        dropped += split.n_dropped_items
    assert 0 < dropped < 20  # both outcomes happen over 20 seeds


def test_ratio_bounds_and_seed_refused() -> None:
    df = _warm_frame()
    for bad in (0.0, 1.0):
        with pytest.raises(VisrecError, match="test_ratio"):
            warm_split(df, test_ratio=bad)
    with pytest.raises(VisrecError, match="seed"):
        warm_split(df, seed=-1)
    with pytest.raises(VisrecError, match="seed"):
        split_seed(-1)


def test_time_split_ties_go_to_the_later_row_and_singletons_stay() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c", "c"],
            "item_id": ["x", "y", "z", "x", "y", "z", "q"],
            "timestamp": [5, 9, 9, 3, 1, 0, 7],
        }
    )
    split = time_split(df)
    # a: y and z tie at 9, z is the later row; b: x (3) is latest; c: q is its latest
    # but nobody trained on q (dropped, counted)
    assert _pairs(split.test.to_frame()) == {("a", "z"), ("b", "x")}
    assert _pairs(split.train.to_frame()) == {("a", "x"), ("a", "y"), ("b", "y"), ("c", "z")}
    assert split.n_dropped_items == 1 and split.n_dropped_users == 0
    # a user with a single row keeps it in training
    one = pd.DataFrame(
        {"user_id": ["a", "a", "s"], "item_id": ["x", "y", "y"], "timestamp": [1, 2, 3]}
    )
    split = time_split(one)
    assert _pairs(split.test.to_frame()) == {("a", "y")}
    assert _pairs(split.train.to_frame()) == {("a", "x"), ("s", "y")}


def test_time_split_text_timestamps_by_value() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b"],
            "item_id": ["x", "y", "x", "y"],
            "timestamp": ["10", "9", "1", "2"],
        }
    )
    assert _pairs(time_split(df).test.to_frame()) == {("a", "x"), ("b", "y")}


def test_time_split_drops_an_item_only_seen_last() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b"],
            "item_id": ["x", "new", "x", "y"],
            "timestamp": [1, 2, 1, 2],
        }
    )
    split = time_split(df)
    # y is b's latest and nobody trained on it either: both test rows dropped
    assert split.n_dropped_items == 2
    assert len(split.test.to_frame()) == 0


def test_make_split_time_is_leave_last_out() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["a"] * 5 + ["b"] * 5,
            "item_id": list("vwxyz") + list("zyxwv"),
            "timestamp": list(range(10)),
        }
    )
    split = make_split(df, "time", seed=3, test_ratio=0.5)
    assert split.protocol == "time"
    assert _pairs(split.test.to_frame()) == {("a", "z"), ("b", "v")}


def test_latest_ties_counts() -> None:
    df = pd.DataFrame(
        {
            # a: tie at its latest time 9; b: tie at 1 but latest 3 is alone;
            # c: one row; d: tie across users at the same time does not count
            "user_id": ["a", "a", "a", "b", "b", "b", "c", "d", "d"],
            "item_id": ["x", "y", "z", "x", "y", "z", "x", "x", "y"],
            "timestamp": [9, 5, 9, 1, 1, 3, 4, 4, 6],
        }
    )
    assert latest_ties(df) == (1, 3)
    # a user whose latest time equals the previous user's last time is not tied
    df2 = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b"],
            "item_id": ["x", "y", "x", "y"],
            "timestamp": [1, 5, 5, 7],
        }
    )
    assert latest_ties(df2) == (0, 2)
    # a tie early in a user's history is no tie at the latest, whatever other users do
    # in between: a ties at 1, b acts at 2, a's latest (3) is alone
    df3 = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "a", "b"],
            "item_id": ["x", "y", "z", "w", "q"],
            "timestamp": [1, 1, 2, 3, 4],
        }
    )
    assert latest_ties(df3) == (0, 2)
    # a one-row user at the previous user's latest time is no tie (and no tested user)
    df4 = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"], "timestamp": [1, 5, 5]}
    )
    assert latest_ties(df4) == (0, 1)


def test_warm_known_keeps_the_training_share() -> None:
    pairs = pd.DataFrame({"user_id": ["u"] * 10_000, "item_id": [f"i{j}" for j in range(10_000)]})
    kept = warm_known(pairs, seed=0, test_ratio=0.2)
    assert 0.78 < len(kept) / len(pairs) < 0.82
    assert kept.equals(warm_known(pairs, seed=0, test_ratio=0.2))


def test_known_at_test_time_protocol() -> None:
    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"], "timestamp": [5, 10, 3]}
    )
    exclude = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "zz"],
            "item_id": ["p", "q", "r", "p", "p"],
            "timestamp": [4, 10, 11, 3, 100],
        }
    )
    kept = known_at_test(exclude, frame, "time")
    # a's test time is its latest, 10: 4 and 10 are known, 11 is the future;
    # b's is 3 (kept at equality); zz is no test user, so its pair stays
    assert _pairs(kept) == {("a", "p"), ("a", "q"), ("b", "p"), ("zz", "p")}
    assert len(known_at_test(exclude, frame, "cold-items")) == 0
    assert len(known_at_test(exclude, frame, "warm")) == 5


def _cold_frame(n_items: int = 10) -> pd.DataFrame:
    rows = [(f"u{u}", f"i{j}") for u in range(3) for j in range(n_items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def test_cold_items_split_holds_out_floor_share_with_all_rows() -> None:
    split = cold_items_split(_cold_frame(10), test_ratio=0.25, seed=0)
    held = set(split.test.item_map.ids)
    assert len(held) == 2  # floor(0.25 * 10), not 3
    assert not held & set(split.train.item_map.ids)
    test = split.test.to_frame()
    assert set(test["item_id"]) == held and len(test) == 6  # all 3 users' rows
    assert split.info["n_candidates"] == 2


def test_cold_items_split_drops_users_without_training_rows() -> None:
    # solo8 / solo9 rated only i8 / i9; exactly one of the two is held out, and its
    # solo user has no training row: dropped and counted, not a test user
    extra = pd.DataFrame({"user_id": ["solo8", "solo9"], "item_id": ["i8", "i9"]})
    df = pd.concat([_cold_frame(10), extra], ignore_index=True)
    for seed in range(4):
        split = cold_items_split(df, test_ratio=0.5, seed=seed, eligible_items=["i8", "i9"])
        (held,) = split.test.item_map.ids
        assert split.n_dropped_users == 1
        assert set(split.test.to_frame()["user_id"]) == {"u0", "u1", "u2"}
        assert "solo" + held[1:] not in set(split.train.user_map.ids)


def test_cold_items_split_eligible_and_seed() -> None:
    eligible = ["i1", "i3", "i5", "i7"]
    drawn = set()
    for seed in range(10):
        split = cold_items_split(
            _cold_frame(10), test_ratio=0.5, seed=seed, eligible_items=eligible
        )
        held = set(split.test.item_map.ids)
        assert len(held) == 2 and held <= set(eligible)
        drawn.add(frozenset(held))
    assert len(drawn) > 2  # the seed draws the items, not the first of the pool


def test_cold_items_candidate_order_is_shuffled() -> None:
    # the candidates' index order is a seeded permutation, not sorted/first-seen order
    orders = [
        tuple(cold_items_split(_cold_frame(40), test_ratio=0.5, seed=s).test.item_map.ids)
        for s in range(5)
    ]
    assert any(list(o) != sorted(o) for o in orders)
    assert any(list(o) != sorted(o, key=lambda v: int(v[1:])) for o in orders)


# --------------------------------------------------------------------------- metrics


def test_top_k_cuts_k_to_the_candidates() -> None:
    out = metrics.top_k(np.array([[0.1, 0.9, 0.5]]), 10)
    assert out.tolist() == [[1, 2, 0]]
    out = metrics.top_k(np.array([[0.1, 0.9, 0.5]]), 10, exclude=np.array([[False, True, False]]))
    assert out.tolist() == [[2, 0, -1]]
    with pytest.raises(VisrecError, match="positive"):
        metrics.top_k(np.array([[0.1]]), 0)


def test_recall_denominators() -> None:
    topk = np.array([[0, 1], [0, 1], [0, 1]])
    relevant = np.array(
        [
            [True, False, True, True, False],  # 3 test items, 1 hit in top-2
            [True, True, True, False, False],  # 3 test items, 2 hits
            [False, False, False, False, False],  # none: undefined
        ]
    )
    got = metrics.recall_at_k(topk, relevant)
    np.testing.assert_allclose(got[:2], [0.5, 1.0])
    assert np.isnan(got[2])
    got = metrics.recall_at_k(topk, relevant, denominator="test")
    np.testing.assert_allclose(got[:2], [1 / 3, 2 / 3])
    assert np.isnan(got[2])


def test_ndcg_known_values() -> None:
    relevant = np.array([[False, True, False, False], [True, True, False, True], [False] * 4])
    topk = np.array([[0, 1, 2], [2, 0, 3], [0, 1, 2]])
    got = metrics.ndcg_at_k(topk, relevant)
    # user 0: one hit at rank 2 -> (1/log2 3) / 1
    assert got[0] == pytest.approx(1 / math.log2(3))
    # user 1: hits at ranks 2 and 3, ideal 3 hits at ranks 1..3
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert got[1] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    assert np.isnan(got[2])


def test_hit_rate_known_values() -> None:
    relevant = np.array([[True, True, False], [False, False, True], [False, False, False]])
    topk = np.array([[0, 2], [0, 1], [0, 1]])
    got = metrics.hit_rate_at_k(topk, relevant)
    assert got[:2].tolist() == [1.0, 0.0]
    assert np.isnan(got[2])


def test_auc_ties_and_exclusions() -> None:
    # all one score: 0.5
    assert metrics.auc(np.zeros((1, 4)), np.array([[True, False, True, False]]))[0] == 0.5
    # positives 0.9, 0.5; negatives 0.5, 0.1 -> pairs: (0.9>0.5) (0.9>0.1) (0.5=0.5) (0.5>0.1)
    s = np.array([[0.9, 0.5, 0.5, 0.1]])
    rel = np.array([[True, True, False, False]])
    assert metrics.auc(s, rel)[0] == pytest.approx(3.5 / 4)
    # excluding the tied negative (a training item) leaves 2 perfect pairs
    exc = np.array([[False, False, True, False]])
    assert metrics.auc(s, rel, exc)[0] == 1.0
    # a high-scoring excluded item is neither a negative nor ranked
    s2 = np.array([[0.5, 0.9, 0.1, 0.99]])
    rel2 = np.array([[True, False, False, False]])
    exc2 = np.array([[False, False, False, True]])
    assert metrics.auc(s2, rel2, exc2)[0] == 0.5  # beats 0.1, loses to 0.9
    # a relevant item that is also excluded is no positive: no positive left
    assert np.isnan(metrics.auc(s2, np.array([[False, False, False, True]]), exc2)[0])
    # no negatives left: undefined
    assert np.isnan(metrics.auc(np.array([[0.3, 0.2]]), np.array([[True, True]]))[0])


def test_coverage_counts_distinct_real_items() -> None:
    topk = np.array([[0, 1, -1], [1, 0, -1], [3, -1, -1]])
    assert metrics.coverage(topk, 5) == pytest.approx(3 / 5)
    with pytest.raises(VisrecError, match="not a candidate index"):
        metrics.coverage(np.array([[0, 5]]), 5)
    with pytest.raises(VisrecError, match="twice"):
        metrics.coverage(np.array([[0, 0]]), 5)


def test_mean_ignores_undefined_users() -> None:
    assert metrics.mean(np.array([1.0, np.nan, 0.5])) == 0.75
    assert math.isnan(metrics.mean(np.array([np.nan])))


# --------------------------------------------------------------------------- significance


def _exact_tail(wins: int, n: int) -> Fraction:
    return Fraction(sum(math.comb(n, j) for j in range(wins, n + 1)), 2**n)


def test_sign_p_exact_values() -> None:
    assert sign_p(3, 0) == 0.125
    assert sign_p(0, 5) == 1.0
    assert sign_p(6, 6) == float(_exact_tail(6, 12))  # 2510 / 4096
    assert sign_p(15, 5) == float(_exact_tail(15, 20))
    # exact, not a float tail: scipy's binomial tail gives 0.4999999999999999 and
    # 0.05923461914062499 here (a p that sits on 0.05 must not move by an ulp)
    assert sign_p(8, 7) == 0.5
    assert sign_p(11, 4) == 0.059234619140625 == float(_exact_tail(11, 15))
    with pytest.raises(ValueError, match="negative"):
        sign_p(3, -1)


def test_sign_p_beyond_the_exact_range() -> None:
    # n > 1000 goes through scipy: P(X >= wins), not P(X > wins)
    assert sign_p(520, 500) == pytest.approx(float(_exact_tail(520, 1020)), rel=1e-9)


def test_two_sided_sign_p() -> None:
    assert two_sided_sign_p(0, 5) == 0.0625
    assert two_sided_sign_p(5, 0) == 0.0625
    assert two_sided_sign_p(3, 3) == 1.0


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0625, "0.063"),  # half up, not half to even
        (0.0496, "0.0496"),  # next to 0.05: four digits
        (0.050016, "0.05002"),  # as many digits as it takes to stay above 0.05
        (0.001, "0.001"),
        (0.0009, "< 0.001"),
        (0.5, "0.500"),
    ],
)
def test_p_figure(p: float, text: str) -> None:
    assert p_figure(p) == text
