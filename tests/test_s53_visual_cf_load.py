"""A saved visual-cf folder whose ``extra.penalties`` disagree with a numeric penalty in
its params (session 53): the model was scored with one value while a refit or the
notes would use the other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_model_params_and_load import _load_error
from test_s52_visual_cf import _copy, _edit_json, saved  # noqa: F401 (fixture)
from visrec.models.base import Recommender


def test_a_penalty_unlike_the_numeric_param_is_refused(
    saved: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = _copy(saved, "two", tmp_path)

    def change(meta: dict[str, Any]) -> None:
        assert meta["params"]["reg"] == meta["extra"]["penalties"]["reg"] == 0.05
        meta["extra"]["penalties"]["reg"] = 0.5

    _edit_json(folder, change)
    assert _load_error(folder) == (
        f"{folder}: model 'visual-cf': model.json's params give reg=0.05 but its "
        "penalties say the model was trained with 0.5; train the model again"
    )


def test_a_chosen_penalty_loads_whatever_auto_chose(
    saved: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = _copy(saved, "two", tmp_path)

    def change(meta: dict[str, Any]) -> None:
        meta["params"]["reg"] = "auto"
        meta["extra"]["penalties"]["reg"] = 0.5

    _edit_json(folder, change)
    assert Recommender.load(folder).reg_ == 0.5
