"""A saved visual-cf folder (session 52 audit): what ``load`` refuses in one line naming
the file (edited validation scores in ``model.json``, taste-term arrays that do not fit
the rest) and what it restores exactly (scores of known, image-only and new items)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_model_folder_damage import _rewrite
from test_model_mutation_gaps import N_USERS, _vcf, catalogue
from test_model_params_and_load import _load_error
from visrec.data.interactions import Interactions
from visrec.errors import InvalidParameterError
from visrec.models.base import Recommender
from visrec.models.visual_cf import VisualCF

USERS = np.arange(N_USERS)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One folder each: one BPR without the taste term, and two BPRs (map_reg 0.01, reg
    0.05) with it (weight 1). Item 0 keeps one interaction of its seven: a known item,
    scored by BPR, not by the map."""
    full, iv, _ = catalogue(16)
    keep = (full.item_idx != 0) | (np.arange(len(full.item_idx)) == np.argmax(full.item_idx == 0))
    inter = Interactions(
        user_map=full.user_map,
        item_map=full.item_map,
        user_idx=full.user_idx[keep],
        item_idx=full.item_idx[keep],
    )
    assert (inter.item_idx == 0).sum() == 1
    root = tmp_path_factory.mktemp("s52")
    one = VisualCF(**_vcf()).fit(inter, iv)
    two = VisualCF(**_vcf(map_reg=0.01, profile_weight=1.0)).fit(inter, iv)
    return {
        "one": (one, one.save(root / "one")),
        "two": (two, two.save(root / "two")),
        "new": iv.vectors[20:28] * 1.5 + 0.1,  # pictures unlike any saved row
    }


def _copy(saved: dict[str, Any], which: str, tmp_path: Path) -> Path:
    folder: Path = shutil.copytree(saved[which][1], tmp_path / which)
    return folder


def _edit_json(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    mj = folder / "model.json"
    meta = json.loads(mj.read_text())
    change(meta)
    mj.write_text(json.dumps(meta))


@pytest.mark.parametrize("which", ["one", "two"])
def test_a_loaded_model_scores_every_item_and_new_pictures_as_saved(
    saved: dict[str, Any], which: str
) -> None:
    """Known, image-only and unscorable items, and items scored from vectors, bit for
    bit; the one-BPR folder holds no copy of the user factors or the taste term, the
    two-BPR one both, and neither holds the derived ``image_only_``."""
    model, folder = saved[which]
    loaded = Recommender.load(folder)
    np.testing.assert_array_equal(loaded.score(USERS), model.score(USERS))
    new = saved["new"]
    np.testing.assert_array_equal(
        loaded.score_new_items(USERS, new), model.score_new_items(USERS, new)
    )
    np.testing.assert_array_equal(loaded.image_only_, model.image_only_)
    with np.load(folder / "arrays.npz") as z:
        held = set(z.files)
    extra = {"image_user_factors_", *VisualCF._profile_arrays}
    assert (extra <= held) == (which == "two")
    assert (extra & held) == (set() if which == "one" else extra)
    assert "image_only_" not in held
    assert loaded.fit_notes() == model.fit_notes()
    assert loaded.chosen_profile_weight() == model.chosen_profile_weight()


@pytest.mark.parametrize("which", ["one", "two"])
def test_a_loaded_model_saves_the_same_arrays_again(
    saved: dict[str, Any], which: str, tmp_path: Path
) -> None:
    """One BPR: the loaded model shares the known items' user factors for image-only
    items, as the fitted one does, so a second save holds no copy of them either."""
    _, folder = saved[which]
    loaded = Recommender.load(folder)
    assert (loaded.image_user_factors_ is loaded.user_factors_) == (which == "one")
    again = Recommender.load(loaded.save(tmp_path / "again"))
    with np.load(folder / "arrays.npz") as a, np.load(tmp_path / "again" / "arrays.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            if name != "save_token":
                np.testing.assert_array_equal(a[name], b[name])
    np.testing.assert_array_equal(again.score(USERS), loaded.score(USERS))


def test_a_loaded_two_bpr_model_scores_image_only_items_with_the_map_users(
    saved: dict[str, Any],
) -> None:
    """The second BPR's user factors come back as their own array, not the known items'
    ones: image-only items keep the scores of the map's BPR."""
    model, folder = saved["two"]
    loaded = Recommender.load(folder)
    assert loaded.image_user_factors_ is not loaded.user_factors_
    np.testing.assert_array_equal(loaded.image_user_factors_, model.image_user_factors_)
    assert not np.array_equal(loaded.image_user_factors_, loaded.user_factors_)


def test_image_user_factors_of_another_user_count_are_refused_by_shape(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    folder = _copy(saved, "two", tmp_path)

    def cut(arrays: dict[str, np.ndarray]) -> None:
        arrays["image_user_factors_"] = arrays["image_user_factors_"][:-1]

    npz = _rewrite(folder, cut)
    assert _load_error(folder) == (
        f"{npz}: image_user_factors_ has shape (23, 4), expected (users, factors) with "
        "users = 24 from the user ids (axis 0); train the model again"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reg_validation", {"reg=0.01": "x"}),
        ("reg_validation", {"reg=0.01": 0.1, "reg=0.03": None}),
        ("reg_validation", [0.1]),
        ("profile_validation", {"profile_weight=0": 0.1, "profile_weight=0.5": "x"}),
        ("profile_validation", {"weight": 0.1}),
        ("profile_validation", {"profile_weight=0.5": 0.1}),
        ("profile_validation", {"profile_weight=0": 0.1, "profile_weight=x": 0.2}),
    ],
)
def test_validation_scores_edited_in_model_json_are_refused_naming_it(
    saved: dict[str, Any], tmp_path: Path, key: str, value: object
) -> None:
    """A KeyError out of load, or a model that loaded and failed in ``fit_notes`` /
    ``tuned`` with a bare ValueError or TypeError."""
    folder = _copy(saved, "one", tmp_path)

    def change(meta: dict[str, Any]) -> None:
        meta["params"]["reg"] = meta["params"]["profile_weight"] = "auto"
        meta["extra"][key] = value

    _edit_json(folder, change)
    msg = _load_error(folder)
    assert msg.startswith(f"{folder}: model 'visual-cf': model.json holds no usable {key} (")


def test_validation_scores_saved_in_model_json_come_back(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    """What auto validation writes (NaN for a trial that ranked nobody) loads as saved,
    the notes and ``tuned`` read it, and a save of the loaded model keeps it."""
    folder = _copy(saved, "one", tmp_path)
    reg = {"reg=0.01": 0.1, "reg=0.03": 0.2, "reg=0.1": float("nan")}
    profile = {"profile_weight=0": 0.2, "profile_weight=0.5": 0.1}

    def change(meta: dict[str, Any]) -> None:
        meta["params"]["reg"] = meta["params"]["profile_weight"] = "auto"
        meta["extra"].update(reg_validation=reg, profile_validation=profile)

    _edit_json(folder, change)
    loaded = Recommender.load(folder)
    assert loaded.profile_validation_ == profile
    assert loaded.reg_validation_.keys() == reg.keys()
    assert loaded.tuned() == "reg=0.03, profile_weight=0"
    notes = loaded.fit_notes()
    assert (
        "(Recall@20: reg=0.01 -> 0.100; reg=0.03 -> 0.200; reg=0.1 -> nan): reg=0.03" in (notes[0])
    )
    assert notes[1].endswith("(0 -> 0.200; 0.5 -> 0.100): 0 (none gains 10% over 0)")
    again = Recommender.load(loaded.save(tmp_path / "again"))  # and save writes them again
    assert again.profile_validation_ == profile
    assert again.fit_notes() == notes


@pytest.mark.parametrize(("rows", "n"), [(slice(0, 7), 7), (slice(0, 0), 0), (None, 16)])
def test_image_only_profiles_of_another_row_count_are_refused(
    saved: dict[str, Any], tmp_path: Path, rows: slice | None, n: int
) -> None:
    """One row per item known only by an image: extra rows loaded and scored silently,
    fewer failed as an IndexError inside scoring."""
    folder = _copy(saved, "two", tmp_path)

    def change(arrays: dict[str, np.ndarray]) -> None:
        a = arrays["image_only_profiles_"]
        arrays["image_only_profiles_"] = np.vstack([a, a]) if rows is None else a[rows]

    npz = _rewrite(folder, change)
    assert _load_error(folder) == (
        f"{folder}: {npz.name}: image_only_profiles_ has {n} rows, but the model has 8 "
        "items known only by an image (one row each): the folder is damaged; train the "
        "model again"
    )


def test_a_negative_profile_scale_is_refused(saved: dict[str, Any], tmp_path: Path) -> None:
    """It flipped the taste term: image-only items most like a user's pictures ranked
    last for them."""
    folder = _copy(saved, "two", tmp_path)
    scale = float(saved["two"][0].profile_scale_[0])

    def change(arrays: dict[str, np.ndarray]) -> None:
        arrays["profile_scale_"] = -arrays["profile_scale_"]

    _rewrite(folder, change)
    assert _load_error(folder) == (
        f"{folder}: arrays.npz: profile_scale_ is {-scale:g}, not >= 0 (a weight >= 0 times "
        "a spread): the folder is damaged; train the model again"
    )


def test_taste_arrays_under_a_model_json_weight_of_0_are_refused(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    """The model scored with the taste term while saying it had none, and a save of it
    left the arrays out: the next load scored otherwise."""
    folder = _copy(saved, "two", tmp_path)
    _edit_json(folder, lambda meta: meta["params"].update(profile_weight=0.0))
    assert _load_error(folder) == (
        f"{folder}: arrays.npz holds the taste term's arrays of a model that model.json "
        "says scores with profile_weight 0 (without them): the folder is damaged; train the "
        "model again"
    )


@pytest.mark.parametrize("scale", [0.0, -1.5])
def test_a_feature_scale_of_0_or_below_is_refused(
    saved: dict[str, Any], tmp_path: Path, scale: float
) -> None:
    """It divides the new items' vectors: 0 made their scores NaN, below 0 flipped them."""
    folder = _copy(saved, "one", tmp_path)

    def change(arrays: dict[str, np.ndarray]) -> None:
        arrays["feature_scale_"] = np.asarray([scale], dtype=np.float32)

    npz = _rewrite(folder, change)
    assert _load_error(folder) == (
        f"{npz}: feature_scale_ must be positive, holds {scale}; train the model again"
    )


@pytest.mark.parametrize(
    "name",
    [
        "user_factors_",
        "item_factors_",
        "item_bias_",
        "item_scorable_",
        "map_weights_",
        "map_intercept_",
        "feature_mean_",
        "feature_scale_",
    ],
)
def test_an_array_every_save_writes_is_named_when_missing(
    saved: dict[str, Any], tmp_path: Path, name: str
) -> None:
    """Not an AttributeError out of ``_after_load`` or the new-item probe."""
    folder = _copy(saved, "two", tmp_path)
    npz = _rewrite(folder, lambda arrays: arrays.pop(name))
    assert _load_error(folder) == f"{npz}: missing array {name}; train the model again"


def test_a_penalty_of_0_is_a_penalty_and_below_0_is_refused() -> None:
    """``reg`` is a number >= 0 or "auto": 0 (no penalty) is allowed, as documented."""
    VisualCF(reg=0.0).check_params()
    VisualCF(reg=0).check_params()
    with pytest.raises(InvalidParameterError, match=r"reg must be a number >= 0 or 'auto'"):
        VisualCF(reg=-1e-9).check_params()


def test_a_folder_saved_before_map_reg_loads_as_one_bpr_at_its_reg(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    """Its map learned from the known items' BPR (reg 0.05 here, not 0.01): no second
    BPR is missing from it, and it scores as saved."""
    model, _ = saved["one"]
    folder = _copy(saved, "one", tmp_path)
    _edit_json(folder, lambda meta: meta["params"].pop("map_reg"))
    loaded = Recommender.load(folder)
    assert loaded.reg_ == 0.05 and loaded.get_params()["map_reg"] is None
    assert loaded.new_item_fit() is None
    np.testing.assert_array_equal(loaded.score(USERS), model.score(USERS))
