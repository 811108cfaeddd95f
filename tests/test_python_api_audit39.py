"""What an outside audit of the Python API against the conventions found (session 39):
a refit refused for its device keeps the earlier fit; ``set_params`` after a fit does
not change that fit's scores, and ``save`` refuses to describe arrays by values they
were not learned with; ``RatingMF`` checks its vectors and ``has_image`` as the
recommenders do, before dropping an earlier fit; ``Interactions`` and ``ItemVectors``
refuse what would fail far away, and ``ItemVectors`` cannot be changed after its checks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from test_models import FAST, checkerboard
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.models.base import Recommender
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import make_model


@pytest.mark.parametrize("name", ["bpr", "vbpr", "visual-cf"])
def test_a_refit_on_an_unknown_device_is_refused_before_the_fit_is_dropped(name: str) -> None:
    inter, iv = checkerboard()
    model = make_model(name, **FAST[name]).fit(inter, iv)
    before = model.score([0, 5])
    model.set_params(device="gpu9")
    with pytest.raises(InvalidParameterError, match=rf"model '{name}': unknown device 'gpu9'"):
        model.fit(inter, iv)
    np.testing.assert_array_equal(model.score([0, 5]), before)


def test_save_refuses_hyperparameters_changed_after_the_fit(tmp_path: Path) -> None:
    inter, iv = checkerboard()
    model = make_model("bpr", **FAST["bpr"]).fit(inter, iv)
    factors = model.factors
    model.set_params(factors=factors * 2)
    with pytest.raises(
        VisrecError, match=rf"set_params changed factors {factors} -> {factors * 2}"
    ):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()  # nothing written, no empty folder
    # verbose and device do not shape what was learned
    model.set_params(factors=factors, verbose=True, device="cpu")
    loaded = Recommender.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.score([0, 3]), model.score([0, 3]))
    assert loaded.fit_params_["factors"] == factors


def test_visual_cf_scores_new_items_with_the_values_it_was_fitted_with(tmp_path: Path) -> None:
    inter, iv = checkerboard()
    params = {**FAST["visual-cf"], "profile_weight": 0}
    model = make_model("visual-cf", **params).fit(inter, iv)
    new = iv.vectors[:4] * 3.0
    before = model.score_new_items([0, 13], new)
    model.set_params(feature_norm="none", bias_weight=0.0)
    np.testing.assert_array_equal(model.score_new_items([0, 13], new), before)
    with pytest.raises(VisrecError, match=r"bias_weight 1\.0 -> 0\.0"):
        model.save(tmp_path / "m")
    # the next fit takes them
    model.fit(inter, iv)
    assert not np.allclose(model.score_new_items([0, 13], new), before)
    assert model.fit_params_["feature_norm"] == "none"


def _rated() -> tuple[Interactions, ItemVectors]:
    inter, iv = checkerboard()
    ratings = np.arange(len(inter)) % 5 + 1.0
    rated = Interactions(
        inter.user_map, inter.item_map, inter.user_idx, inter.item_idx,
        rating=ratings.astype(np.float32),
    )  # fmt: skip
    return rated, iv


def test_rating_mf_reads_has_image_as_the_recommenders_do() -> None:
    rated, iv = _rated()
    n = rated.n_items
    model = RatingMF(n_factors=2, n_epochs=3, visual=True, random_state=0)
    model.fit(rated, iv.vectors, np.ones(n, dtype=bool))
    before = model.predict([0, 1], [0, 2])
    # bool("False") is True: strings are refused, naming has_image
    with pytest.raises(VisrecError, match="RatingMF: item vectors: has_image must be"):
        model.fit(rated, iv.vectors, np.array(["False"] * n))
    np.testing.assert_array_equal(model.predict([0, 1], [0, 2]), before)  # fit kept


def test_rating_mf_does_not_read_the_vectors_of_items_without_an_image() -> None:
    rated, iv = _rated()
    has = np.ones(rated.n_items, dtype=bool)
    has[3] = False
    filled, holed = iv.vectors.copy(), iv.vectors.copy()
    filled[3] = 0.0
    holed[3] = np.nan
    a = RatingMF(n_factors=2, n_epochs=3, visual=True, random_state=0).fit(rated, filled, has)
    b = RatingMF(n_factors=2, n_epochs=3, visual=True, random_state=0).fit(rated, holed, has)
    np.testing.assert_array_equal(a.predict([0, 1, 2], [3, 4, 5]), b.predict([0, 1, 2], [3, 4, 5]))
    # without has_image a NaN row is neither "no image" nor usable: refused, named
    with pytest.raises(VisrecError, match=r"the vector of item 'i3' \(row 3\) holds NaN"):
        RatingMF(n_factors=2, n_epochs=3, visual=True).fit(rated, holed)


def test_interactions_refuse_what_would_fail_far_away() -> None:
    idx = np.array([0, 1])
    with pytest.raises(VisrecError, match=r"user_map must be an IdMap .* got list"):
        Interactions(["a", "b"], IdMap(["x", "y"]), idx, idx)  # type: ignore[arg-type]
    users, items = IdMap(["a", "b"]), IdMap(["x", "y"])
    with pytest.raises(VisrecError, match="rating must be a 1-D array of numbers, got str"):
        Interactions(users, items, idx, idx, rating=np.array(["1", "x"]))
    with pytest.raises(VisrecError, match="rating holds NaN or infinite values"):
        Interactions(users, items, idx, idx, rating=np.array([np.nan, 2.0]))
    with pytest.raises(VisrecError, match="timestamp must be a 1-D array of integers"):
        Interactions(users, items, idx, idx, timestamp=np.array([1.5, 2.0]))
    ok = Interactions(users, items, idx, idx, rating=np.array([1, 5]), timestamp=np.array([3, 4]))
    assert ok.rating is not None and ok.rating.tolist() == [1, 5]


def test_item_vectors_cannot_be_changed_after_their_checks() -> None:
    iv = ItemVectors(np.array(["a", "b"]), np.ones((2, 3)), np.array([True, False]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.has_image = np.array(["False", "False"])  # type: ignore[misc]
    assert iv.align(["a", "b"])[1].tolist() == [True, False]
