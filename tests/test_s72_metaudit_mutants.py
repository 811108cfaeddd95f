"""Session 72 mutation audit of the evaluation core: ``evaluation.metrics`` (AUC,
Recall@K, NDCG@K, HitRate@K, Coverage@K, ``mean``, ``top_k`` and the input checks),
``_ranking`` and ``models._indices``.

Mutants: 49 (38 in ``metrics``, 6 in ``_ranking``, 4 in ``_indices``; run against
test_metrics, s49 metrics io, evaluation mutation gaps, evaluation audit fixes, s50 eval
mutants and s69 s69new mutants for ``metrics``; s56 ranking helpers, top_n, test_metrics,
s49 and s66 ranking for ``_ranking``; s56, s69 s69new, s69 small fixes, s67 protocols and
python api fixes for ``_indices``). Killed by the old tests: 39. Survived 10: 5 gaps, all
killed here (killed after: 44 of 49), and 5 equivalents:

- AUC ranking against the whole sorted row instead of its first ``n_cand`` entries: the
  excluded entries are NaN, sorted last, and a searchsorted of a number (never NaN)
  lands before them either way.
- AUC without the ``(n_pos > 0) & (n_neg > 0)`` mask: U is then exactly 0 (mid-ranks
  are halves) and 0 / 0 is nan anyway.
- AUC without the zero-size early return: the general path gives nan per user (0 / 0)
  or an empty array for no user.
- NDCG's discount ``1 / ln`` for ``1 / log2``: a constant factor, cancelled by the ideal
  DCG.
- ``_ranking``'s tie redo with the lexsort keys swapped (score first, then the exclusion
  flag): excluded entries are -inf in the key, so both orders list the finite scores,
  then the -inf candidates, then the excluded, each by index.

Gaps and the tests that kill them:

- ``recall_at_k``'s user-count check dropped (numpy's own error):
  test_lists_and_relevance_of_different_user_counts_are_refused;
- ``top_k`` taking ``k=True``: test_k_true_is_refused;
- the NaN message naming the column, not the row: test_nan_scores_name_their_row;
- list indices below -1 taken: test_a_list_index_below_minus_one_is_refused;
- a relevance value 2 read as True: test_a_relevance_value_other_than_0_or_1_is_refused.

The metric definitions themselves were all killed by the old tests already (ties in
AUC, both recall denominators, NDCG's discount and ideal DCG, training items excluded,
users without a test item, coverage's denominator, ``mean``); the tests here pin them
again on tiny fixtures against plain-Python references written from the definitions
(``_auc_ref`` by pair count, ``_recall_ref``, ``_ndcg_ref``) and hand computations in
comments, and kill 34 of those 39 on their own: the AUC tests (ties counted 1 or 0, the
searchsorted sides, U's offset, excluded items as negatives or ranked, the relevant
training item kept, users with one positive skipped), the batch recall test (the
``min``/``test`` denominators swapped, ``min`` over users not K, users without a test
item at 0, hits counted once, HitRate's ``all`` and no nan, ``mean`` over all users),
the NDCG test (discount from rank 2, ``1 / rank``, reversed discounts, ideal over K or
one hit too few, 0 for no test item), K beyond the candidates (``top_k`` as wide as
``k``, the exclusion lost), coverage (item 0 not counted, slots or repeats counted),
the mean of nothing, ``recall_rows`` over CSR (padding read as column 0, the ``min``
denominator), ``among`` and ``as_indices`` (2-D, whole floats, a bool).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from visrec._ranking import recall_rows
from visrec.errors import VisrecError
from visrec.evaluation import metrics as M
from visrec.models._indices import among, as_indices

# ---------------------------------------------------------------------------
# plain-Python references, straight from the definitions in metrics.py's docstring
# ---------------------------------------------------------------------------


def _auc_ref(scores: list[float], rel: list[bool], exc: list[bool]) -> float:
    """Pairs (positive, negative) over the non-excluded candidates; a tie counts 0.5.
    A training item (excluded) is never a positive, even when marked relevant."""
    pos = [s for s, r, e in zip(scores, rel, exc, strict=True) if r and not e]
    neg = [s for s, r, e in zip(scores, rel, exc, strict=True) if not r and not e]
    if not pos or not neg:
        return math.nan
    won = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return won / (len(pos) * len(neg))


def _dcg_ref(listed: list[int], rel: set[int]) -> float:
    return sum(1 / math.log2(rank + 1) for rank, c in enumerate(listed, 1) if c in rel)


def _ndcg_ref(listed: list[int], rel: set[int]) -> float:
    if not rel:
        return math.nan
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(listed), len(rel)) + 1))
    return _dcg_ref(listed, rel) / ideal


def _recall_ref(listed: list[int], rel: set[int], denominator: str = "min") -> float:
    if not rel:
        return math.nan
    hits = len(set(listed) & rel)
    return hits / (min(len(listed), len(rel)) if denominator == "min" else len(rel))


def _same(got: np.ndarray, want: list[float]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got.tolist(), want, strict=True):
        if math.isnan(w):
            assert math.isnan(g)
        else:
            assert g == pytest.approx(w)


# ---------------------------------------------------------------------------
# AUC
# ---------------------------------------------------------------------------


def test_auc_counts_ties_half_against_the_pair_count() -> None:
    # positives 3 and 2; negatives 2, 2, 1.
    # pos 3 beats all three: 3; pos 2 ties 2, ties 2, beats 1: 0.5 + 0.5 + 1 = 2.
    # AUC = 5 / (2 * 3) = 5/6 (ties as wins: 1; ties as losses: 4/6)
    scores = [3.0, 2.0, 2.0, 2.0, 1.0]
    rel = [True, True, False, False, False]
    exc = [False] * 5
    assert _auc_ref(scores, rel, exc) == pytest.approx(5 / 6)
    _same(M.auc(np.array([scores]), np.array([rel])), [5 / 6])


def test_auc_leaves_a_relevant_training_item_out_of_the_positives() -> None:
    # c0 is relevant but excluded (the user trained on it): not a positive. The one
    # positive c2 (1.0) loses to both negatives c1 (4.0) and c3 (3.0): AUC 0 / 2 = 0.
    scores = [5.0, 4.0, 1.0, 3.0]
    rel = [True, False, True, False]
    exc = [True, False, False, False]
    assert _auc_ref(scores, rel, exc) == 0.0
    _same(M.auc(np.array([scores]), np.array([rel]), np.array([exc])), [0.0])


def test_auc_of_users_with_one_positive_or_none_or_no_negative() -> None:
    # row 0: one positive (2.0) over negatives 1.0, 3.0, 0.0 -> 2 of 3 pairs
    # row 1: no positive -> nan; row 2: every candidate left is a positive -> nan
    # row 3: excluded c3 high; positive 2.0 beats 1.0 and ties 2.0 -> 1.5 / 2
    scores = [
        [2.0, 1.0, 3.0, 0.0],
        [2.0, 1.0, 3.0, 0.0],
        [1.0, 2.0, 0.0, 0.0],
        [2.0, 1.0, 2.0, 9.0],
    ]
    rel = [[True, False, False, False], [False] * 4, [True, True, False, False],
           [True, False, False, False]]  # fmt: skip
    exc = [[False] * 4, [False] * 4, [False, False, True, True], [False, False, False, True]]
    want = [_auc_ref(s, r, e) for s, r, e in zip(scores, rel, exc, strict=True)]
    assert want[0] == 2 / 3 and math.isnan(want[1]) and math.isnan(want[2]) and want[3] == 0.75
    _same(M.auc(np.array(scores), np.array(rel), np.array(exc)), want)


@pytest.mark.parametrize("seed", range(6))
def test_auc_matches_the_pair_count_with_exclusions_and_ties(seed: int) -> None:
    # small integer scores give many ties; exclusions on every row
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(5, 9)).astype(float)
    rel = rng.random((5, 9)) < 0.4
    exc = rng.random((5, 9)) < 0.3
    want = [_auc_ref(s, r, e) for s, r, e in
            zip(scores.tolist(), rel.tolist(), exc.tolist(), strict=True)]  # fmt: skip
    _same(M.auc(scores, rel, exc), want)


# ---------------------------------------------------------------------------
# Recall@K, HitRate@K, NDCG@K
# ---------------------------------------------------------------------------


def test_recall_divides_by_min_k_test_per_user_in_a_batch() -> None:
    # K = 2, four users over 5 candidates (lists given by hand):
    # u0: test {0, 1, 2}, listed [0, 1]: 2 hits / min(2, 3) = 1   ("test": 2/3)
    # u1: test {4}, listed [4, 0]: 1 / min(2, 1) = 1               ("test": 1)
    # u2: test {1, 3, 4}, listed [0, 3]: 1 / 2                      ("test": 1/3)
    # u3: no test item: nan
    top = np.array([[0, 1], [4, 0], [0, 3], [1, 2]])
    rel = np.zeros((4, 5), dtype=bool)
    tests = [{0, 1, 2}, {4}, {1, 3, 4}, set()]
    for u, items in enumerate(tests):
        rel[u, sorted(items)] = True
    listed = top.tolist()
    want_min = [_recall_ref(li, t) for li, t in zip(listed, tests, strict=True)]
    want_test = [_recall_ref(li, t, "test") for li, t in zip(listed, tests, strict=True)]
    assert want_min[:3] == [1.0, 1.0, 0.5] and math.isnan(want_min[3])
    assert want_test[:3] == pytest.approx([2 / 3, 1.0, 1 / 3])
    _same(M.recall_at_k(top, rel), want_min)
    _same(M.recall_at_k(top, rel, denominator="test"), want_test)
    _same(recall_rows(top, rel), want_min)
    # HitRate: u0..u2 have a hit, u3 nan; the mean skips u3: 1.0
    _same(M.hit_rate_at_k(top, rel), [1.0, 1.0, 1.0, math.nan])
    assert M.mean(M.hit_rate_at_k(top, rel)) == 1.0


def test_hit_rate_is_one_for_one_hit_of_several_slots_and_zero_for_none() -> None:
    # u0: test {2}, listed [0, 2]: one of two slots hits -> 1; u1: test {1}, [0, 2] -> 0
    top = np.array([[0, 2], [0, 2]])
    rel = np.array([[False, False, True], [False, True, False]])
    _same(M.hit_rate_at_k(top, rel), [1.0, 0.0])


def test_lists_and_relevance_of_different_user_counts_are_refused() -> None:
    with pytest.raises(VisrecError, match="top-k lists have 2 users, relevance has 3"):
        M.recall_at_k(np.array([[0], [1]]), np.ones((3, 2), dtype=bool))


def test_ndcg_uses_the_log2_discount_and_the_ideal_of_min_k_test_hits() -> None:
    # K = 3 over 6 candidates:
    # u0: test {0, 5}, listed [0, 1, 5]: DCG = 1/log2(2) + 1/log2(4) = 1.5;
    #     ideal = 2 hits at the top = 1 + 1/log2(3)
    # u1: test {1, 2, 3, 4, 5}, listed [0, 2, 1]: DCG = 1/log2(3) + 1/log2(4);
    #     ideal = min(3, 5) = 3 hits = 1 + 1/log2(3) + 1/2
    # u2: test {4}, listed [0, 1, 4]: DCG = 1/2, ideal = 1 -> 0.5
    # u3: test {}, nan
    top = np.array([[0, 1, 5], [0, 2, 1], [0, 1, 4], [0, 1, 2]])
    tests = [{0, 5}, {1, 2, 3, 4, 5}, {4}, set()]
    rel = np.zeros((4, 6), dtype=bool)
    for u, items in enumerate(tests):
        rel[u, sorted(items)] = True
    want = [_ndcg_ref(li, t) for li, t in zip(top.tolist(), tests, strict=True)]
    assert want[0] == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert want[1] == pytest.approx((1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3) + 0.5))
    assert want[2] == 0.5 and math.isnan(want[3])
    _same(M.ndcg_at_k(top, rel), want)


def test_k_beyond_the_candidates_after_exclusion() -> None:
    # 5 candidates, c0 and c3 training items (excluded), test items c2 and c4.
    # scores: c0 9, c1 1, c2 5, c3 8, c4 3 -> candidates left ranked c2, c4, c1.
    # K = 10: the list is 5 wide (the candidates), [2, 4, 1, -1, -1].
    # Recall = 2 hits / min(5, 2) = 1; NDCG = (1 + 1/log2(3)) / (1 + 1/log2(3)) = 1;
    # Coverage = {1, 2, 4} / 5 candidates = 0.6
    scores = np.array([[9.0, 1.0, 5.0, 8.0, 3.0]])
    exc = np.array([[True, False, False, True, False]])
    rel = np.array([[False, False, True, False, True]])
    top = M.top_k(scores, 10, exc)
    assert top.tolist() == [[2, 4, 1, -1, -1]]
    _same(M.recall_at_k(top, rel), [1.0])
    _same(M.ndcg_at_k(top, rel), [1.0])
    _same(M.hit_rate_at_k(top, rel), [1.0])
    assert M.coverage(top, 5) == pytest.approx(3 / 5)
    # K = 1: the list [2] hits, 1 / min(1, 2) = 1 (Cornac's 1 / 2); K = 2: [2, 4], 2 / 2
    _same(M.recall_at_k(M.top_k(scores, 1, exc), rel), [1.0])
    _same(M.recall_at_k(M.top_k(scores, 1, exc), rel, denominator="test"), [0.5])
    _same(M.recall_at_k(M.top_k(scores, 2, exc), rel), [1.0])


# ---------------------------------------------------------------------------
# coverage and mean
# ---------------------------------------------------------------------------


def test_coverage_divides_by_the_candidates_not_the_list_slots() -> None:
    # two users, K = 1, both listed c0 of 4 candidates: {0} / 4 = 0.25 (of slots: 0.5)
    assert M.coverage(np.array([[0], [0]]), 4) == 0.25
    # one user, K = 2 of 8 candidates: {3, 5} / 8
    assert M.coverage(np.array([[3, 5]]), 8) == pytest.approx(2 / 8)
    # candidate 0 counts like any other: {0, 1} of 2 -> 1.0
    assert M.coverage(np.array([[0, 1], [1, 0]]), 2) == 1.0


def test_the_mean_of_no_defined_user_is_nan_not_zero() -> None:
    assert math.isnan(M.mean(np.array([math.nan, math.nan])))
    assert math.isnan(M.mean(np.array([])))
    # defined users only: (1 + 0.5) / 2, the nan user not counted as 0
    assert M.mean(np.array([1.0, math.nan, 0.5])) == 0.75


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------


def test_k_true_is_refused() -> None:
    with pytest.raises(VisrecError, match="k must be an integer, got True"):
        M.top_k(np.zeros((1, 3)), True)


def test_nan_scores_name_their_row() -> None:
    scores = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, np.nan]])
    with pytest.raises(VisrecError, match=r"first in row 1\)"):
        M.auc(scores, np.ones((2, 3), dtype=bool))


def test_a_list_index_below_minus_one_is_refused() -> None:
    with pytest.raises(VisrecError, match="row 0 holds -2, not a candidate index"):
        M.recall_at_k(np.array([[0, -2]]), np.array([[True, False, False]]))


def test_float_lists_are_refused() -> None:
    with pytest.raises(VisrecError, match="integer candidate indices, not float64"):
        M.hit_rate_at_k(np.array([[0.0, 1.0]]), np.array([[True, False]]))


# ---------------------------------------------------------------------------
# _ranking and models._indices
# ---------------------------------------------------------------------------


def test_recall_rows_reads_a_csr_padding_slot_as_no_hit() -> None:
    import scipy.sparse as sp

    # listed [1, -1]; the only test item is c0 (the column a padding slot is read at):
    # 0 hits / min(2, 1) = 0, not 1
    rel = sp.csr_matrix(np.array([[True, False, False]]))
    _same(recall_rows(np.array([[1, -1]]), rel), [0.0])
    # listed [0, -1]: 1 hit / min(2, 1) = 1
    _same(recall_rows(np.array([[0, -1]]), rel), [1.0])


def test_among_finds_every_item_of_the_subset_in_the_block() -> None:
    # block columns hold items [3, 0, 1, 5]; the subset {1, 3} sits at columns 0 and 2
    cols, items = among(np.array([1, 3]), np.array([3, 0, 1, 5]))
    assert cols.tolist() == [0, 2] and items.tolist() == [3, 1]


def test_as_indices_refuses_a_nested_list_whole_floats_and_a_bool() -> None:
    with pytest.raises(VisrecError, match=r"1-D list of them, got shape \(1, 2\)"):
        as_indices([[1, 2]], "user")
    with pytest.raises(VisrecError, match=r"got 2\.0 at position 0"):
        as_indices(np.array([2.0, 3.0]), "item")
    with pytest.raises(VisrecError, match="got True at position 1"):
        as_indices([1, True], "user")


def test_a_relevance_value_other_than_0_or_1_is_refused() -> None:
    # 2 is no true/false: an array of item indices given as the mask
    with pytest.raises(VisrecError, match=r"true/false mask .* got the value 2"):
        M.recall_at_k(np.array([[0]]), np.array([[2, 0]]))
