"""Session 65 mutation audit of ``visrec.models.visual_cf`` (parameter checks, fit, the
scoring of image-only and new items, save/load, the auto taste-weight validation), on
top of the session 50-53 audits. Gaps covered here: negative ``alpha`` / ``bias_weight``
accepted, the map of a two-BPR model learning the known items' BPR terms, the taste
term's components learned from image-only items too, a set weight that does nothing on
pictures all alike left unnoted, an infinite validated weight accepted from model.json,
a two-BPR folder without ``image_user_factors_`` loaded silently, ``new_item_fit``.

Mutants: 42 run (of 48 written; 6 auto-validation ones left unrun for time); killed
before 32 (one of them, new_item_fit always None, only by test_auto_reg's train test,
outside the files run; also killed here); killed after 40 (the last, the validation
folds' map ignoring bias_weight, by test_profile_fold_statistics.py's bias_weight
test); equivalent 2:
- the has_image mask on the taste pictures ``g`` dropped: FeatureScaler.transform
  already zeroes the rows without an image, and ``_unit`` keeps zero rows zero.
- a fold's profiles built with the held-out items' pictures too: ``inner`` has no
  interaction with them, so they add nothing to any user's mean picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from small_vectors import item_vectors
from test_model_folder_damage import _rewrite
from test_model_mutation_gaps import _learn_rows, _vcf, catalogue
from test_model_params_and_load import _load_error
from test_s52_visual_cf import _copy, _edit_json, saved  # noqa: F401 (the fixture)
from visrec.errors import InvalidParameterError
from visrec.models.visual_cf import VisualCF


@pytest.mark.parametrize("param", ["alpha", "bias_weight"])
def test_a_negative_ridge_penalty_or_bias_weight_is_refused_before_fitting(param: str) -> None:
    # kills: "alpha" / "bias_weight" dropped from _validate's non_negative checks (a
    # negative ridge penalty, or a bias weight that ranks unpopular-looking items first)
    inter, iv, _ = catalogue(16)
    with pytest.raises(InvalidParameterError, match=rf"{param} must be >= 0, got -1"):
        VisualCF(**_vcf(**{param: -1.0})).fit(inter, iv)
    if param == "bias_weight":  # 0 is allowed: image-only items ranked by taste alone
        m = VisualCF(**_vcf(bias_weight=0.0)).fit(inter, iv)
        assert np.isfinite(m.score_new_items(np.arange(3), iv.vectors[20:23])).all()


def test_the_map_of_a_two_bpr_model_learns_the_map_bprs_terms() -> None:
    # kills: the ridge's targets taken from the known items' BPR (reg) instead of the
    # map's BPR (map_reg): each BPR fit is BPR(reg=...)'s with the same seed, so the map
    # of reg=0.5, map_reg=0.01 is that of a one-BPR model at reg 0.01
    inter, iv, _ = catalogue(16)
    two = VisualCF(**_vcf(reg=0.5, map_reg=0.01)).fit(inter, iv)
    one = VisualCF(**_vcf(reg=0.01)).fit(inter, iv)
    np.testing.assert_allclose(two.image_user_factors_, one.user_factors_, rtol=1e-6)
    np.testing.assert_allclose(two.map_weights_, one.map_weights_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(two.map_intercept_, one.map_intercept_, rtol=1e-5, atol=1e-7)
    # unlike the map a reg=0.5 BPR would give (the penalties differ visibly here)
    assert not np.allclose(
        two.map_intercept_, VisualCF(**_vcf(reg=0.5)).fit(inter, iv).map_intercept_
    )
    # new_item_fit names the second fit (kills: new_item_fit always None)
    assert two.new_item_fit() == "reg=0.01"
    assert one.new_item_fit() is None


def test_the_taste_terms_components_are_those_of_the_trained_items_pictures() -> None:
    # kills: _profile_components fitted on every item with an image (the image-only ones,
    # which look unlike the trained ones, too) instead of the items the map learns from.
    # profile_dim 4 < 16 dimensions: principal components, not the identity
    inter, iv, learn = catalogue(16)
    m = VisualCF(**_vcf(profile_weight=1.0, profile_dim=4)).fit(inter, iv)
    assert m.profile_components_.shape == (4, 16)
    rows, mean, scale = _learn_rows(iv, learn)
    feats = (rows - mean) / scale
    _, _, vt = np.linalg.svd(feats - feats.mean(axis=0), full_matrices=False)
    c = m.profile_components_.astype(np.float64)
    # the same subspace (signs and order within it aside): equal projections
    np.testing.assert_allclose(c.T @ c, vt[:4].T @ vt[:4], atol=1e-3)


def test_an_infinite_validated_weight_in_model_json_is_refused(
    saved: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    # kills: _is_number accepting inf (only NaN refused): "profile_weight=inf" loaded as a
    # weight the auto validation could have chosen, and scored with an infinite term
    folder = _copy(saved, "one", tmp_path)

    def change(meta: dict[str, Any]) -> None:
        meta["params"]["reg"] = meta["params"]["profile_weight"] = "auto"
        meta["extra"]["profile_validation"] = {"profile_weight=0": 0.1, "profile_weight=inf": 0.5}

    _edit_json(folder, change)
    msg = _load_error(folder)
    assert "model.json holds no usable profile_validation (" in msg


def test_a_set_weight_on_pictures_all_alike_is_noted_as_doing_nothing() -> None:
    # kills: profile_note's "set weight, scale 0" branch dropped (a weight the user set
    # silently adding nothing: every picture the same, cosines that do not vary)
    inter, iv, _ = catalogue(16)
    same = np.where(iv.has_image[:, None], 1.0, 0.0) * np.ones((1, 16))
    alike = item_vectors(list(iv.ids), same.tolist(), iv.has_image.tolist())
    m = VisualCF(**_vcf(profile_weight=1.5)).fit(inter, alike)
    assert float(m.profile_scale_[0]) == 0
    note = m.profile_note()
    assert note is not None and note.startswith("profile_weight=1.5: the pictures' cosines")
    assert note in m.fit_notes()
    # a weight whose term varies: no note
    assert VisualCF(**_vcf(profile_weight=1.5)).fit(inter, iv).profile_note() is None


def test_a_two_bpr_folder_without_the_map_users_is_refused_not_scored_with_the_others(
    saved: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    # kills: _check_left_out's map_reg != reg check dropped (the folder loaded, its
    # image-only and new items scored with the known items' BPR users)
    folder = _copy(saved, "two", tmp_path)

    def change(arrays: dict[str, np.ndarray]) -> None:
        del arrays["image_user_factors_"]

    npz = _rewrite(folder, change)
    msg = _load_error(folder)
    assert msg.startswith(f"{folder}: {npz.name} lacks image_user_factors_, which a model with")
    assert "map_reg 0.01 (not reg 0.05) saves: the folder is damaged" in msg
