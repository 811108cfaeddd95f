"""Session 56, task F: mutation audit of the small ranking / holdout helpers
(``_ranking``, ``models._top_n``, ``_holdout``, ``models._indices``,
``evaluation.significance``). Each test names the mutant (F-id) it kills."""

from __future__ import annotations

import numpy as np
import pytest

from visrec._holdout import per_user_holdout
from visrec._ranking import hits_in_top, recall_rows, top_candidates
from visrec.errors import VisrecError
from visrec.evaluation.significance import p_figure, p_said, sign_p, two_sided_sign_p
from visrec.models._indices import among, as_indices
from visrec.models._top_n import top_n


def test_ties_break_by_lower_index_in_partial_and_full_lists() -> None:
    # F1 (stable argsort -> quicksort on tied rows), F2 (`> k` -> `>= k`, harmless),
    # F3 (lexsort keys without `part`: ties by position not index)
    s = np.array([[1.0, 3.0, 3.0, 3.0, 0.0, 3.0, 2.0]])
    idx, val = top_candidates(s, 2)
    assert idx.tolist() == [[1, 2]]
    assert val.tolist() == [[3.0, 3.0]]
    idx, _ = top_candidates(s, 7)
    assert idx.tolist() == [[1, 2, 3, 5, 6, 0, 4]]
    many = np.zeros((3, 40))
    idx, _ = top_candidates(many, 5)
    assert idx.tolist() == [[0, 1, 2, 3, 4]] * 3


def test_minus_inf_is_dropped_and_padded() -> None:
    # F4 (dropped mask ignored), F5 (padding value 0 not -inf), F6 (padding index 0)
    s = np.array([[-np.inf, 2.0, -np.inf]])
    idx, val = top_n(s, 5)
    assert idx.tolist() == [[1, -1, -1]]
    assert val[0, 0] == 2.0 and np.isneginf(val[0, 1:]).all()
    idx, val = top_candidates(s, 5)
    assert idx.tolist() == [[1, -1, -1, -1, -1]]
    assert np.isneginf(val[0, 1:]).all()


def test_nan_never_takes_the_top() -> None:
    # F7 (`np.fmax(..., -inf)` dropped: NaN listed first)
    idx, val = top_n(np.array([[np.nan, 1.0, 0.5]]), 2)
    assert idx.tolist() == [[1, 2]]
    assert val.tolist() == [[1.0, 0.5]]


def test_n_beyond_the_candidates_gives_all_columns_only() -> None:
    # F8 (`min(n, shape[1])` -> `n`: padding columns); zero columns pinned too (F9, the
    # k == 0 shortcut removed, is equivalent: the general path gives (n_rows, 0) as well)
    idx, _ = top_n(np.array([[0.1, 0.3]]), 10**6)
    assert idx.tolist() == [[1, 0]]
    idx, val = top_n(np.zeros((2, 0)), 3)
    assert idx.shape == (2, 0) and val.shape == (2, 0)


def test_exclude_mask_ranks_excluded_below_minus_inf_candidates() -> None:
    # F10 (exclude ignored), F11 (exclusion flag dropped from the final lexsort),
    # F12 (masked=True skips the masking)
    s = np.array([[5.0, -np.inf, 1.0, 4.0]])
    ex = np.array([[True, False, False, True]])
    idx, val = top_candidates(s, 4, ex)
    assert idx.tolist() == [[2, 1, -1, -1]]
    assert val[0, 0] == 1.0 and np.isneginf(val[0, 1:]).all()
    idx, _ = top_candidates(s, 2, ex)
    assert idx.tolist() == [[2, 1]]


def test_hits_and_recall() -> None:
    # F13 (padding -1 counted as a hit), F14 (recall denominator min(n, |rel|) -> |rel|),
    # F15 (no relevant -> 0 instead of NaN)
    rel = np.array([[False, False, True], [True, True, True], [False, False, False]])
    top = np.array([[0, -1], [0, 1], [2, -1]])
    assert hits_in_top(top, rel).tolist() == [[False, False], [True, True], [False, False]]
    r = recall_rows(top, rel)
    assert r[0] == 0.0 and r[1] == 1.0 and np.isnan(r[2])


def test_holdout_sizes_per_user() -> None:
    # F16 (rint -> floor), F17 (min 1 dropped), F18 (counts-1 cap dropped),
    # F19 (`pos < n_out` -> `<=`)
    users = np.repeat(np.arange(5), [1, 2, 3, 5, 10])
    out = per_user_holdout(users, 5, 0.3, np.random.default_rng(0))
    got = np.bincount(users[out], minlength=5).tolist()
    assert got == [0, 1, 1, 2, 3]
    out = per_user_holdout(users, 5, 0.99, np.random.default_rng(0))
    assert np.bincount(users[out], minlength=5).tolist() == [0, 1, 2, 4, 9]


def test_holdout_is_seeded_and_random_within_user() -> None:
    # F20 (random key dropped: always the first rows held out)
    users = np.zeros(50, dtype=np.int64)
    picks = {
        tuple(np.flatnonzero(per_user_holdout(users, 1, 0.1, np.random.default_rng(s))))
        for s in range(4)
    }
    assert len(picks) > 1
    a = per_user_holdout(users, 1, 0.1, np.random.default_rng(7))
    b = per_user_holdout(users, 1, 0.1, np.random.default_rng(7))
    assert (a == b).all()


def test_among_maps_columns() -> None:
    # F21 (among returns item_idx instead of its columns)
    cols, items = among(np.array([3, 5]), np.array([9, 5, 3, 1]))
    assert cols.tolist() == [1, 2] and items.tolist() == [5, 3]


def test_as_indices_words() -> None:
    # F22 (2-D accepted), F23 (float 1.5 passes), F24 (bad position off by one)
    assert as_indices(np.array([1, 2], dtype=np.uint8), "item").tolist() == [1, 2]
    with pytest.raises(VisrecError, match=r"got 1\.0 at position 0 \(float64\)"):
        as_indices([1.0, 2.0], "item")
    with pytest.raises(VisrecError, match=r"got shape \(1, 2\)"):
        as_indices([[1, 2]], "user")
    with pytest.raises(VisrecError, match=r"got 1\.5 at position 1 \(float64\)"):
        as_indices([1.0, 1.5], "item")
    with pytest.raises(VisrecError, match=r"got '196' at position 0 \(text\)"):
        as_indices(["196"], "user")


def test_sign_p_exact_values() -> None:
    # F25 (range from wins+1), F26 (`wins <= 0` -> `< 0`: fine), F27 (n > 1000 path
    # `wins - 1` -> `wins`), F28 (two-sided factor 2 dropped), F29 (max/min swapped)
    assert sign_p(3, 0) == 0.125
    assert sign_p(2, 1) == 0.5
    assert sign_p(0, 5) == 1.0
    assert sign_p(0, 0) == 1.0
    assert sign_p(1200, 0) == pytest.approx(2.0**-1200, rel=1e-6, abs=0)
    assert sign_p(1001, 1) == pytest.approx((1 + 1002) / 2.0**1002, rel=1e-6)
    assert two_sided_sign_p(5, 0) == 0.0625
    assert two_sided_sign_p(0, 5) == 0.0625
    assert two_sided_sign_p(2, 2) == 1.0


def test_sign_p_rejects_bad_counts() -> None:
    # F30 (negative count passes), F31 (bool passes)
    with pytest.raises(ValueError, match="losses must not be negative, got -1"):
        sign_p(3, -1)
    with pytest.raises(ValueError, match="wins must be a whole number of pairs, got True"):
        sign_p(True, 1)
    assert sign_p(3.0, 0) == 0.125


def test_p_figure_words() -> None:
    # F32 (`< 0.001` bound), F33 (half-up -> half-even), F34 (0.05 side digits),
    # F35 (p_said wording)
    assert p_figure(0.0009) == "< 0.001"
    assert p_figure(0.001) == "0.001"
    assert p_figure(0.0625) == "0.063"
    assert p_figure(0.050016) == "0.05002"
    assert p_figure(0.0501) == "0.0501"
    assert p_figure(0.125) == "0.125"
    assert p_said(0.125) == "p = 0.125"
    assert p_said(0.0001) == "p < 0.001"


def test_a_long_tied_row_keeps_the_lowest_indices() -> None:
    # F1 (stable argsort -> quicksort on tied rows: unstable past 16 entries)
    row = np.random.default_rng(0).integers(0, 2, size=300).astype(float)
    idx, _ = top_candidates(row[None, :], 20)
    assert idx[0].tolist() == np.flatnonzero(row == 1.0)[:20].tolist()


def test_ties_inside_the_top_k_by_index_when_the_kth_place_is_not_tied() -> None:
    # F3 (`part` dropped from the final lexsort: argpartition's order of ties kept)
    s = np.array([[1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0]])
    idx, _ = top_candidates(s, 4)
    assert idx.tolist() == [[2, 4, 5, 11]]


def test_padding_is_never_a_hit_even_when_column_0_is_relevant() -> None:
    # F13 (`& valid` dropped: -1 read column 0)
    rel = np.array([[True, False, False]])
    assert hits_in_top(np.array([[1, -1]]), rel).tolist() == [[False, False]]
    assert recall_rows(np.array([[1, -1]]), rel).tolist() == [0.0]


def test_a_small_ratio_still_holds_out_one_row() -> None:
    # F17 (the floor of 1 dropped: rint(0.01 * 3) = 0 rows held out)
    users = np.repeat(np.arange(3), [1, 3, 20])
    out = per_user_holdout(users, 3, 0.01, np.random.default_rng(1))
    assert np.bincount(users[out], minlength=3).tolist() == [0, 1, 1]


def test_sign_p_exact_up_to_1000_pairs_and_the_tail_beyond() -> None:
    # F36 (`n > 1000` -> `n > 10`: scipy's float tail, off in the last digits),
    # F27 (`binom.sf(wins - 1, ...)` -> `wins`: P(more than wins))
    assert sign_p(100, 80) == 0.07826573478907554
    assert sign_p(15, 5) == 0.020694732666015625
    from math import comb

    n, w = 1100, 580
    exact = sum(comb(n, j) for j in range(w, n + 1)) / (1 << n)
    assert sign_p(w, n - w) == pytest.approx(exact, rel=1e-9, abs=0)


def test_p_just_under_005_keeps_four_digits() -> None:
    # F34 (`digits = 3` always: 0.0496 read "0.050")
    assert p_figure(0.0496) == "0.0496"
    assert p_figure(0.0504) == "0.0504"


def test_n_zero_is_refused_in_words() -> None:
    # F37 (`n <= 0` -> `n < 0`: n=0 gave empty lists)
    with pytest.raises(VisrecError, match=r"^n must be positive, got 0$"):
        top_n(np.zeros((1, 3)), 0)
