"""Ranking metrics: hand-computed rankings and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from visrec.errors import VisrecError
from visrec.evaluation import metrics as M

# One user, 6 candidates. Candidate 0 is a training item (excluded).
# Scores:        c0   c1   c2   c3   c4   c5
SCORES = np.array([[9.0, 5.0, 4.0, 4.0, 2.0, 1.0]])
EXCLUDE = np.array([[True, False, False, False, False, False]])
# Test items: c2 and c5.
RELEVANT = np.array([[False, False, True, False, False, True]])


def test_top_k_excludes_training_items_and_breaks_ties_by_index() -> None:
    # c2 and c3 tie at 4.0: the lower index comes first.
    assert M.top_k(SCORES, 3, EXCLUDE).tolist() == [[1, 2, 3]]
    # more slots than candidates left: as wide as the candidates, padded with -1
    assert M.top_k(SCORES, 7, EXCLUDE).tolist() == [[1, 2, 3, 4, 5, -1]]
    # ties at the k-th place go to the lowest index, even when it is not first in memory
    assert M.top_k(np.array([[1.0, 2.0, 2.0, 2.0]]), 2).tolist() == [[1, 2]]


def test_hand_computed_values() -> None:
    top2 = M.top_k(SCORES, 2, EXCLUDE)  # [c1, c2]: one hit at rank 2
    # Recall@2 = 1 hit / min(2, 2 test items)
    assert M.recall_at_k(top2, RELEVANT).tolist() == [0.5]
    assert M.recall_at_k(top2, RELEVANT, denominator="test").tolist() == [0.5]
    assert M.hit_rate_at_k(top2, RELEVANT).tolist() == [1.0]
    # NDCG@2 = (1/log2(3)) / (1 + 1/log2(3))
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert M.ndcg_at_k(top2, RELEVANT)[0] == pytest.approx(expected)
    # AUC over c1..c5: positives c2 (4.0), c5 (1.0); negatives c1 (5), c3 (4), c4 (2).
    # c2: beats c4, ties c3, loses to c1 -> 1.5; c5: beats none -> 0.  1.5 / 6 = 0.25
    assert M.auc(SCORES, RELEVANT, EXCLUDE).tolist() == [0.25]
    # without the exclusion c0 is a negative that beats both: 1.5 / 8
    assert M.auc(SCORES, RELEVANT).tolist() == [1.5 / 8]
    top5 = M.top_k(SCORES, 5, EXCLUDE)  # [1, 2, 3, 4, 5]: hits at ranks 2 and 5
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    assert M.ndcg_at_k(top5, RELEVANT)[0] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert M.recall_at_k(top5, RELEVANT).tolist() == [1.0]


def test_recall_denominator_is_min_k_test() -> None:
    # 3 test items, K=2, both slots hit: judge's recall 1, Cornac's 2/3
    scores = np.array([[3.0, 2.0, 1.0, 0.0]])
    rel = np.array([[True, True, True, False]])
    top = M.top_k(scores, 2)
    assert M.recall_at_k(top, rel).tolist() == [1.0]
    assert M.recall_at_k(top, rel, denominator="test")[0] == pytest.approx(2 / 3)
    # K above |test|: both positives found; "test" divides by 2, not by K
    two = rel & np.array([True, True, False, False])
    assert M.recall_at_k(M.top_k(scores, 3), two, denominator="test").tolist() == [1.0]
    with pytest.raises(VisrecError, match="denominator"):
        M.recall_at_k(top, rel, denominator="bogus")  # type: ignore[arg-type]


def test_batch_of_users_and_undefined_users() -> None:
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1], [1.0, 1.0, 1.0]])
    rel = np.array([[False, True, False], [False, False, False], [True, False, False]])
    a = M.auc(scores, rel)
    assert a[0] == 1.0
    assert np.isnan(a[1])  # no positive
    assert a[2] == 0.5  # all tied
    top = M.top_k(scores, 1)
    assert top.tolist() == [[1], [0], [0]]
    r = M.recall_at_k(top, rel)
    assert r[0] == 1.0 and np.isnan(r[1]) and r[2] == 1.0
    assert M.mean(r) == 1.0
    # a user without test items is undefined for every metric, not a zero in the mean
    assert np.isnan(M.ndcg_at_k(top, rel)[1]) and np.isnan(M.hit_rate_at_k(top, rel)[1])
    assert M.coverage(top, 3) == pytest.approx(2 / 3)
    # the -1 padding of a short list is no item
    assert M.coverage(np.array([[0, -1], [0, -1]]), 4) == 0.25
    # user whose every candidate is excluded: no negative -> nan AUC, empty top-k
    ex = np.array([[False, False, False], [True, True, True], [False, False, False]])
    assert np.isnan(M.auc(scores, rel, ex)[1])
    assert M.top_k(scores, 2, ex)[1].tolist() == [-1, -1]


def test_constant_scores_give_auc_half_and_first_k() -> None:
    scores = np.zeros((2, 10))
    rel = np.zeros((2, 10), dtype=bool)
    rel[0, [0, 9]] = True
    rel[1, [5]] = True
    assert M.auc(scores, rel).tolist() == [0.5, 0.5]
    top = M.top_k(scores, 3)
    assert top.tolist() == [[0, 1, 2], [0, 1, 2]]
    assert M.recall_at_k(top, rel).tolist() == [0.5, 0.0]


def test_infinite_scores_rank_lowest_but_above_excluded() -> None:
    scores = np.array([[-np.inf, 1.0, -np.inf, 0.0]])
    ex = np.array([[False, False, False, True]])
    rel = np.array([[True, False, False, False]])
    assert M.top_k(scores, 4, ex).tolist() == [[1, 0, 2, -1]]
    # k below the candidates, the k-th place tied at -inf: the excluded item never takes
    # a place from an allowed -inf item (its place would be a -1, the item lost)
    tied = np.array([[1.0, -np.inf, -np.inf, -np.inf]])
    assert M.top_k(tied, 2, np.array([[False, True, False, False]])).tolist() == [[0, 2]]
    # positive c0 (-inf) vs negatives c1 (1.0, loses), c2 (-inf, tie) -> 0.5 / 2
    assert M.auc(scores, rel, ex).tolist() == [0.25]


def test_bad_input() -> None:
    with pytest.raises(VisrecError, match="NaN"):
        M.auc(np.array([[np.nan, 1.0]]), np.array([[True, False]]))
    with pytest.raises(VisrecError, match="shape"):
        M.auc(np.zeros((2, 3)), np.zeros((2, 4), dtype=bool))
    with pytest.raises(VisrecError, match="k must be positive"):
        M.top_k(np.zeros((1, 3)), 0)
    with pytest.raises(VisrecError, match="n_candidates"):
        M.coverage(np.zeros((1, 1), dtype=int), 0)
    assert math.isnan(M.mean(np.array([np.nan])))


# ---------------------------------------------------------------- properties
@st.composite
def ranking_case(
    draw: st.DrawFn, overlap: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores (with ties and -inf, as a model gives an item it cannot score), test
    positives and excluded (training) items; with ``overlap`` a positive may also be
    excluded, which then is no positive."""
    n_users = draw(st.integers(1, 4))
    n_items = draw(st.integers(2, 12))
    finite = st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 1))
    scores = draw(
        hnp.arrays(
            np.float64,
            (n_users, n_items),
            elements=st.one_of(finite, finite, finite, st.just(-np.inf)),
        )
    )
    rel = draw(hnp.arrays(np.bool_, (n_users, n_items)))
    exc = draw(hnp.arrays(np.bool_, (n_users, n_items)))
    return scores, rel, exc if overlap else exc & ~rel


@settings(max_examples=150, deadline=None)
@given(ranking_case(overlap=True))
def test_auc_in_unit_interval_and_matches_pair_count(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    scores, rel, exc = case
    got = M.auc(scores, rel, exc)
    for u in range(scores.shape[0]):
        pos = scores[u][rel[u] & ~exc[u]]  # a training item is no test positive
        neg = scores[u][~rel[u] & ~exc[u]]
        if len(pos) == 0 or len(neg) == 0:
            assert np.isnan(got[u])
            continue
        above = pos[:, None] > neg[None, :]  # compared, not subtracted: -inf - -inf is nan
        tied = pos[:, None] == neg[None, :]
        brute = (above.sum() + 0.5 * tied.sum()) / above.size
        assert 0.0 <= got[u] <= 1.0
        assert got[u] == pytest.approx(brute)


@settings(max_examples=100, deadline=None)
@given(ranking_case(), st.integers(1, 6))
def test_perfect_and_reversed_rankings(
    case: tuple[np.ndarray, np.ndarray, np.ndarray], k: int
) -> None:
    _, rel, exc = case
    perfect = rel.astype(float)  # positives 1, everything else 0
    has_pos = rel.any(axis=1)
    has_neg = (~rel & ~exc).any(axis=1)
    both = has_pos & has_neg
    assert np.all(M.auc(perfect, rel, exc)[both] == 1.0)
    assert np.all(M.auc(-perfect, rel, exc)[both] == 0.0)
    top = M.top_k(perfect, k, exc)
    assert np.all(M.recall_at_k(top, rel)[has_pos] == 1.0)
    assert np.allclose(M.ndcg_at_k(top, rel)[has_pos], 1.0)
    assert np.all(M.hit_rate_at_k(top, rel)[has_pos] == 1.0)
    rev = M.top_k(-perfect, k, exc)
    n_neg = (~rel & ~exc).sum(axis=1)
    # the reversed list only reaches a positive once the negatives run out
    no_room = has_pos & (n_neg >= k)
    assert np.all(M.recall_at_k(rev, rel)[no_room] == 0.0)


@settings(max_examples=100, deadline=None)
@given(ranking_case(), st.integers(1, 6))
def test_invariant_to_monotone_transforms(
    case: tuple[np.ndarray, np.ndarray, np.ndarray], k: int
) -> None:
    scores, rel, exc = case
    transformed = np.exp(scores) * 3.0 - 7.0
    np.testing.assert_array_equal(M.auc(scores, rel, exc), M.auc(transformed, rel, exc))
    np.testing.assert_array_equal(M.top_k(scores, k, exc), M.top_k(transformed, k, exc))


@settings(max_examples=100, deadline=None)
@given(ranking_case(), st.integers(1, 8))
def test_top_k_matches_stable_sort(case: tuple[np.ndarray, np.ndarray, np.ndarray], k: int) -> None:
    scores, _, exc = case
    got = M.top_k(scores, k, exc)
    for u in range(scores.shape[0]):
        allowed = np.flatnonzero(~exc[u])
        ranked = allowed[np.argsort(-scores[u][allowed], kind="stable")][:k]
        expected = np.full(min(k, scores.shape[1]), -1)
        expected[: len(ranked)] = ranked
        assert got[u].tolist() == expected.tolist()


def test_the_shared_hit_rule_never_counts_padding_as_the_last_column() -> None:
    from visrec._ranking import hits_in_top, recall_rows

    # row 0: 2 candidates listed, the rest padding; the last column is relevant and
    # an unmasked -1 would read it
    top = np.array([[0, 1, -1, -1], [3, 2, 1, 0], [0, 1, 2, 3]])
    relevant = np.array([[False, True, False, True], [True, False, False, True], [False] * 4])
    assert hits_in_top(top, relevant).tolist() == [
        [False, True, False, False],
        [True, False, False, True],
        [False] * 4,
    ]
    got = recall_rows(top, relevant)
    np.testing.assert_allclose(got[:2], [1 / 2, 2 / 2])
    assert np.isnan(got[2])
    # recall_rows is the metrics' "min" denominator
    np.testing.assert_allclose(M.recall_at_k(top, relevant)[:2], got[:2])


def test_lists_that_are_no_rankings_are_refused() -> None:
    rel = np.array([[0, 1, 0, 0, 0]], dtype=bool)
    with pytest.raises(VisrecError, match="row 0 lists candidate 1 twice"):
        M.recall_at_k(np.array([[1, 1, 1]]), rel)  # counted three hits: Recall 3.0
    with pytest.raises(VisrecError, match=r"row 0 holds 7, not a candidate index \(0\.\.4"):
        M.ndcg_at_k(np.array([[7, 1]]), rel)
    with pytest.raises(VisrecError, match="integer candidate indices, not float64"):
        M.hit_rate_at_k(np.array([[1.0, 2.0]]), rel)
    with pytest.raises(VisrecError, match=r"row 0 holds 9, not a candidate index \(0\.\.1"):
        M.coverage(np.array([[0, 9]]), 2)
    # padding may repeat
    assert M.recall_at_k(np.array([[1, -1, -1]]), rel).tolist() == [1.0]


def test_padding_slots_never_count_as_candidate_zero() -> None:
    # a user with fewer candidates than K gets -1 slots; candidate 0 relevant must not
    # turn each of them into another hit (Recall 2.0)
    from visrec._ranking import hits_in_top, recall_rows

    assert M.recall_at_k(np.array([[0, -1]]), np.array([[True, False]])).tolist() == [1.0]
    hits = hits_in_top(np.array([[1, -1]]), np.array([[True, True]]))
    assert hits.tolist() == [[True, False]]
    # the validation recall of reg="auto" / profile_weight="auto": hits / min(K, |test|)
    assert recall_rows(np.array([[0, 1]]), np.ones((1, 3), dtype=bool)).tolist() == [1.0]
