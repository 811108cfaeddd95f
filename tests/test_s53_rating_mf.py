"""Session 53 mutation audit of RatingMF (fit / predict). Earlier audits (sessions 39,
42, 49, 50, 52) pinned most of it; these tests hold what no test held, each naming the
mutation of src/visrec/models/rating_mf.py it kills, plus the one bug found: init_scale=0
gave a model whose factors never moved from 0 (a biases-only fit, said nowhere)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import Interactions
from visrec.errors import InvalidParameterError, VisrecError
from visrec.models.rating_mf import RatingMF, _pair_dot


def _ratings(seed: int = 0, n_users: int = 12, n_items: int = 9) -> Interactions:
    """Star ratings of a rank-1 taste plus user and item offsets, on ~60% of the pairs."""
    rng = np.random.default_rng(seed)
    truth = 3.0 + np.outer(rng.normal(size=n_users), rng.normal(size=n_items))
    truth += rng.normal(scale=0.7, size=(n_users, 1)) + rng.normal(scale=0.7, size=n_items)
    uu, ii = np.nonzero(rng.random((n_users, n_items)) < 0.6)
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in uu], "item_id": [f"i{i}" for i in ii]})
    frame["rating"] = np.clip(np.round(truth[uu, ii]), 1, 5)
    return Interactions.from_frame(frame)


@pytest.mark.parametrize("visual", [False, True])
def test_init_scale_zero_with_factors_is_refused_not_a_silent_biases_only_fit(
    visual: bool,
) -> None:
    # Bug: p = q = 0 (and E = 0) is a stationary point of the loss, so with init_scale=0
    # every factor got a zero gradient at every step and the fit was biases (and w) only
    inter = _ratings()
    vectors = np.random.default_rng(1).normal(size=(inter.n_items, 4)) if visual else None
    with pytest.raises(
        InvalidParameterError,
        match=r"^model 'RatingMF': init_scale must be > 0 with n_factors >= 1 \(factors "
        r"that start at 0 never move from it\); n_factors=0 fits the biases only, got 0\.0$",
    ):
        RatingMF(visual=visual, init_scale=0.0, n_epochs=5).fit(inter, vectors)
    # the biases-only model says so itself, and any init_scale then does
    m = RatingMF(visual=visual, n_factors=0, init_scale=0.0, n_epochs=5).fit(inter, vectors)
    assert m.user_factors_.shape == (inter.n_users, 0)
    # a small start grows: the factors learn (what init_scale=0 never did)
    grown = RatingMF(visual=visual, init_scale=1e-6, n_epochs=50).fit(inter, vectors)
    assert np.abs(grown.user_factors_).max() > 1e-2


def test_a_negative_init_scale_is_refused_in_words() -> None:
    # Kills M03 (init_scale dropped from the non-negative checks): numpy's own
    # "ValueError: scale < 0" came out of the random start instead
    with pytest.raises(
        InvalidParameterError, match=r"^model 'RatingMF': init_scale must be >= 0, got -0\.5$"
    ):
        RatingMF(visual=False, init_scale=-0.5).fit(_ratings())


def test_user_and_item_indices_of_different_lengths_are_refused() -> None:
    # Kills M47 (the shape check dropped): one user against three items broadcast, and
    # predict answered user 0 for each item as if three pairs had been asked
    m = RatingMF(visual=False, n_epochs=3).fit(_ratings())
    with pytest.raises(VisrecError, match=r"^predict: \(1,\) user indices vs \(3,\) item indices$"):
        m.predict([0], [0, 1, 2])
    assert m.predict([], []).shape == (0,)  # no pair: no prediction, no error


def test_the_pair_products_of_large_maps_are_those_of_each_pair() -> None:
    # Kills M46 (the einsum path reading b[rows] for b[cols]): _pair_dot takes that path
    # only when users x items passes 2,000,000 (ML-1M and larger), which no fit in the
    # tests reaches; 2,001 x 1,001 does, with a few pairs
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2001, 3)), rng.normal(size=(1001, 3))
    rows, cols = rng.integers(0, 2001, size=50), rng.integers(0, 1001, size=50)
    expected = [float(a[r] @ b[c]) for r, c in zip(rows, cols, strict=True)]
    np.testing.assert_allclose(_pair_dot(a, b, rows, cols), expected, rtol=1e-12)
    # and the small maps' path (one product of the whole matrices) agrees
    np.testing.assert_allclose(
        _pair_dot(a[:100], b[:100], rows % 100, cols % 100),
        [float(a[r % 100] @ b[c % 100]) for r, c in zip(rows, cols, strict=True)],
        rtol=1e-12,
    )
