"""Mutation audit of ``visrec.models._save_load`` (session 61, second part): the 41
mutants of the 60 that the first part (``test_s61_saveload_mutants.py``) left unrun.

41 ran here against the narrowest existing tests that name what each changes (the
first part's file included): 37 were killed there, none is equivalent, and the 4 that
survived are killed here: a ValueError of json.dumps (not only its TypeError) said in
one line, arrays.npz written before model.json (a full disk during the arrays leaves
the earlier model loadable), the saved value of a parameter added since kept over the
old folders' default, the loaded parameters checked. Over both parts: 60 mutants, 2
equivalent, 58 killed.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_models import DIM, FAST, checkerboard
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError, WriteError
from visrec.models.base import Recommender
from visrec.models.registry import make_model


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    inter, vec = checkerboard()
    vec = ItemVectors(vec.ids, vec.vectors, vec.has_image, meta={**vec.meta, "dim": DIM})
    return {n: make_model(n, **FAST[n]).fit(inter, vec) for n in ("popularity", "vbpr")}


def _scores(model: Recommender) -> np.ndarray:
    return np.asarray(model.score([0, 23]))


# ------------------------------------------------ save: nothing half written


def test_metadata_json_cannot_hold_for_a_reason_besides_its_type_is_one_line(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # mutant: only json.dumps's TypeError caught: its ValueError (a circular reference in
    # the vectors' metadata, built in memory) escaped as a traceback
    inter, vec = checkerboard()
    loop: list[Any] = []
    loop.append(loop)
    vec = ItemVectors(vec.ids, vec.vectors, vec.has_image, meta={**vec.meta, "notes": loop})
    model = make_model("vbpr", **FAST["vbpr"]).fit(inter, vec)
    folder = fitted["popularity"].save(tmp_path / "m")
    with pytest.raises(VisrecError) as info:
        model.save(folder)
    assert str(info.value) == (
        f"cannot save the model to {folder}: its settings or the vectors' metadata hold a "
        "value JSON cannot hold (Circular reference detected); nothing was written"
    )
    loaded = Recommender.load(folder)  # the earlier model, whole
    assert loaded.name == "popularity"
    np.testing.assert_array_equal(_scores(loaded), _scores(fitted["popularity"]))


def test_a_save_whose_arrays_cannot_be_written_leaves_the_earlier_model_whole(
    fitted: dict[str, Recommender], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: model.json replaced before arrays.npz: a full disk while the (large) arrays
    # were written left the new model.json with the earlier model's arrays, a folder
    # that no longer loads
    folder = fitted["popularity"].save(tmp_path / "m")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(WriteError, match="No space left on device"):
        fitted["vbpr"].save(folder)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "model.json"]
    loaded = Recommender.load(folder)
    assert loaded.name == "popularity"
    np.testing.assert_array_equal(_scores(loaded), _scores(fitted["popularity"]))


# ------------------------------------------------ load: the saved hyperparameters


def test_a_parameter_added_since_keeps_its_saved_value_over_the_old_default(
    tmp_path: Path,
) -> None:
    # mutant: the old folders' defaults (_params_before_added) laid over the saved
    # params: a VBPR saved with new_item_reg=0.5 came back with None, its own
    inter, vec = checkerboard()
    vec = ItemVectors(vec.ids, vec.vectors, vec.has_image, meta={**vec.meta, "dim": DIM})
    model = make_model("vbpr", **{**FAST["vbpr"], "new_item_reg": 0.5}).fit(inter, vec)
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.get_params()["new_item_reg"] == 0.5
    assert loaded.new_item_fit() == model.new_item_fit() == "reg=0.5, reg_visual=0.001"
    new, users = vec.vectors[:2], np.array([0, 23])
    np.testing.assert_array_equal(
        loaded.new_item_scorer(new)(users), model.new_item_scorer(new)(users)
    )


def test_an_edited_saved_parameter_is_refused_naming_model_json(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # mutant: the loaded parameters not checked: "factors": "x" loaded without a word
    # (a refit or a save of it failed later, far from the edited file)
    folder = fitted["vbpr"].save(tmp_path / "m")
    mj = folder / "model.json"
    meta = json.loads(mj.read_text())
    meta["params"]["factors"] = "x"
    mj.write_text(json.dumps(meta))
    with pytest.raises(VisrecError) as info:
        Recommender.load(folder)
    assert str(info.value) == f"{mj}: model 'vbpr': factors='x' must be an integer"
