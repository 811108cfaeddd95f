"""top_n: the ranking primitive every model's recommend uses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from visrec.errors import VisrecError
from visrec.evaluation import metrics as M
from visrec.models.base import top_n


def test_hand_computed() -> None:
    s = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, -np.inf, 1.0, 2.0]])
    idx, val = top_n(s, 3)
    # ties (0.9, 0.9) break by lower index
    assert idx.tolist() == [[1, 3, 2], [0, 3, 2]]
    assert val[0].tolist() == [0.9, 0.9, 0.5]


def test_minus_inf_never_returned_and_padding() -> None:
    s = np.array([[-np.inf, 2.0, -np.inf]])
    idx, val = top_n(s, 5)  # as wide as the candidates, padded
    assert idx.tolist() == [[1, -1, -1]]
    assert val[0, 0] == 2.0 and np.isneginf(val[0, 1:]).all()


def test_rejects_bad_n() -> None:
    with pytest.raises(VisrecError, match="n must be positive, got 0"):
        top_n(np.zeros((1, 3)), 0)


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 30)),
        elements=st.floats(-5, 5, allow_nan=False),
    ),
    st.integers(1, 35),
)
def test_matches_full_sort(scores: np.ndarray, n: int) -> None:
    idx, _ = top_n(scores, n)
    for row in range(scores.shape[0]):
        order = sorted(range(scores.shape[1]), key=lambda j: (-scores[row, j], j))[:n]
        k = len(order)
        assert idx[row, :k].tolist() == order
        assert (idx[row, k:] == -1).all()


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 20)),
        elements=st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0]),
    ),
    st.integers(1, 25),
)
def test_is_top_k_with_minus_inf_as_the_exclusion(scores: np.ndarray, n: int) -> None:
    # one ranking rule: top_n drops -inf entries, metrics.top_k drops exactly `exclude`
    # and ranks -inf candidates last
    idx, val = top_n(scores, n)
    assert idx.tolist() == M.top_k(scores, n, np.isneginf(scores)).tolist()
    kept = M.top_k(scores, n)
    n_finite = np.isfinite(scores).sum(axis=1)
    for row in range(scores.shape[0]):
        m = min(n_finite[row], n)
        assert kept[row, :m].tolist() == idx[row, :m].tolist()
        assert np.isneginf(scores[row, kept[row, m : scores.shape[1]]]).all()
        assert np.array_equal(val[row, :m], scores[row, idx[row, :m]])


def test_nan_scores_never_take_a_place() -> None:
    # a fit that partly diverged: NaN must not rank first (argpartition puts it there)
    nan = np.nan
    idx, val = top_n(np.array([[0.5, nan, 0.2, 0.9, nan]]), 2)
    assert idx.tolist() == [[3, 0]] and val.tolist() == [[0.9, 0.5]]
    idx, _ = top_n(np.array([[nan, nan, 0.1]]), 3)
    assert idx.tolist() == [[2, -1, -1]]
