"""RatingMF.fit refuses what the recommenders refuse: item vectors without any image,
or with NaN / infinite / huge values, and a fit that diverged; a Fraction
hyperparameter trains like the float it stands for."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models.rating_mf import RatingMF


def _inter(n_users: int = 12, n_items: int = 8) -> Interactions:
    rng = np.random.default_rng(0)
    uu, ii = np.nonzero(rng.random((n_users, n_items)) < 0.6)
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in uu], "item_id": [f"i{i}" for i in ii]})
    frame["rating"] = rng.integers(1, 6, size=len(uu)).astype(float)
    return Interactions.from_frame(frame)


def _vectors(n: int, d: int = 4) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, d))


def test_vectors_without_any_image_are_refused_not_fitted_without_the_visual_term() -> None:
    inter = _inter()
    n = inter.n_items
    # all-zero rows are "no picture": the fit used to train a model with a dead visual term
    with pytest.raises(
        VisrecError,
        match=r"^RatingMF: none of the 8 items has an image vector \(every row is all zeros\)"
        r"; use visual=False",
    ):
        RatingMF(n_epochs=2).fit(inter, np.zeros((n, 4)))
    # every row non-finite but flagged as no image: the same
    with pytest.raises(VisrecError, match=r"every row has has_image false\); use visual=False"):
        RatingMF(n_epochs=2).fit(inter, np.full((n, 4), np.nan), np.zeros(n, dtype=bool))
    # an ItemVectors whose ids are spelt otherwise aligns to no row: named as the
    # recommenders name it
    ids = np.array([f"{i}.0" for i in inter.item_map.ids], dtype=object)
    iv = ItemVectors(ids, _vectors(n).astype(np.float32), np.ones(n, dtype=bool))
    with pytest.raises(VisrecError, match=r"vectors' ids look like 'i\d\.0'.*the items' like"):
        RatingMF(n_epochs=2).fit(inter, iv)
    # visual=False never reads them
    assert RatingMF(visual=False, n_epochs=2).fit(inter, np.zeros((n, 4))).item_visual_ is None


@pytest.mark.parametrize("value", [1e13, -1e13, np.inf, np.nan])
def test_an_image_row_with_huge_or_non_finite_values_is_refused_naming_the_item(
    value: float,
) -> None:
    inter = _inter()
    v = _vectors(inter.n_items)
    v[[3, 5], 1] = value
    model = RatingMF(n_epochs=2).fit(inter, _vectors(inter.n_items))
    with pytest.raises(
        VisrecError,
        match=rf"^RatingMF: the vector of item {inter.item_map.ids[3]!r} \(row 3\) holds NaN, "
        r"infinite or huge \(beyond ±1e12\) values \(2 items in all\); re-embed",
    ):
        model.fit(inter, v)
    assert hasattr(model, "global_mean_")  # refused before the earlier fit is dropped
    # marked as no image, the rows are not read
    has = np.ones(inter.n_items, dtype=bool)
    has[[3, 5]] = False
    fitted = RatingMF(n_epochs=2).fit(inter, v, has)
    assert fitted.item_visual_ is not None and np.isfinite(fitted.item_visual_).all()
    np.testing.assert_array_equal(fitted.item_visual_[[3, 5]], 0.0)


@pytest.mark.parametrize("visual", [False, True])
def test_a_diverged_fit_is_refused_with_the_lr_advice(visual: bool) -> None:
    inter = _inter()
    model = RatingMF(visual=visual, n_epochs=3, lr=1e300)
    vectors = _vectors(inter.n_items) if visual else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said in words, not numpy's overflow warnings
        with pytest.raises(
            VisrecError,
            match=r"^model 'RatingMF': the fit diverged \(\w+_ holds NaN, infinite or huge "
            r"\(beyond ±1e12\) values\); lower lr or raise reg$",
        ):
            model.fit(inter, vectors)
    assert not hasattr(model, "global_mean_")  # a failed fit leaves it unfitted
    # finite but beyond ±1e12 (Adam's steps are about lr each): refused the same way
    with pytest.raises(VisrecError, match=r"the fit diverged \(\w+_ holds"):
        RatingMF(visual=visual, n_epochs=3, lr=1e12).fit(inter, vectors)


def test_fraction_hyperparameters_train_like_their_floats() -> None:
    inter = _inter()
    v = _vectors(inter.n_items)
    as_float = RatingMF(n_epochs=5, lr=0.01, reg=0.1, reg_visual=0.01, init_scale=0.1)
    as_fraction = RatingMF(
        n_epochs=5,
        lr=Fraction(1, 100),
        reg=Fraction(1, 10),
        reg_visual=Fraction(1, 100),
        init_scale=Fraction(1, 10),
    )
    a = as_float.fit(inter, v).predict([0, 1, 2], [0, 1, 2])
    b = as_fraction.fit(inter, v).predict([0, 1, 2], [0, 1, 2])
    np.testing.assert_allclose(b, a)
    assert as_fraction.user_factors_.dtype == np.float64
