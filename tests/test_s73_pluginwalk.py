"""A plugin author's walk through docs/models.md "Adding a model": a notebook class
registered and then edited, a plugin whose ``_score`` is wrong, and a class of one's own
named like an installed package's model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from test_s72_extend import _cell
from test_s72_own_model_load import ItemKNN, _train
from test_s73_plugins import _package, _run, _visrec, restore_models
from visrec import Recommender, make_model, register_model
from visrec.errors import VisrecError
from visrec.models.registry import get_model_class

__all__ = ["restore_models"]  # the fixture, used here too (autouse)


@pytest.mark.parametrize("how", ["register_model", "run_experiment"])
def test_a_registered_class_edited_and_run_again_is_the_one_used(how: str, tmp_path: Path) -> None:
    # before: the class registered first (by register_model in another cell, or by
    # run_experiment) stayed in the registry, so make_model and Recommender.load ran the
    # old code after the cell was edited and run again
    old = _cell(0.0)
    if how == "register_model":
        register_model(old)
    else:
        _run([old(k=5)])
    new = _cell(1000.0)  # the same module and qualified name: the cell run again
    assert get_model_class("s72-extend-cell") is new
    assert type(make_model("s72-extend-cell")) is new
    model = new(k=5).fit(_train())
    back = Recommender.load(model.save(tmp_path / "m"))
    assert type(back) is new
    np.testing.assert_array_equal(back.score([0]), model.score([0]))
    _run([new(k=5)])  # and run_experiment takes the new class, as before
    assert get_model_class("s72-extend-cell") is new


class _NarrowKNN(ItemKNN):
    """A model of one's own whose ``_score`` drops the last item's column."""

    name = "s73-narrow-knn"

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return super()._score(user_idx, item_idx)[:, :-1]


def test_a_wrong_score_shape_of_ones_own_model_names_its_class(tmp_path: Path) -> None:
    # before: "... do not fit together (scoring: scores of shape (2, 5), expected
    # (2, 6)); train the model again", which saved the same fault again
    folder = _NarrowKNN(k=2).fit(_train()).save(tmp_path / "m")
    with pytest.raises(VisrecError) as err:
        _NarrowKNN.load(folder)
    n_items = len(_train().item_map)
    assert str(err.value) == (
        f"{folder / 'arrays.npz'}: the saved arrays do not fit together (scoring: scores "
        f"of shape (2, {n_items - 1}), expected (2, {n_items})); train the model again, or "
        "check the code of test_s73_pluginwalk._NarrowKNN (not visrec's), which training "
        "again would not change"
    )


MINE = """\
import numpy as np, pandas as pd
from visrec import run_experiment
from visrec.models.popularity import Popularity

class Mine(Popularity):
    name = "item-knn"

frame = pd.DataFrame({"user_id": np.arange(60) % 12, "item_id": np.arange(60) % 9})
try:
    run_experiment(frame, None, "warm", [Mine()], seeds=[0], progress=False)
except Exception as exc:
    print(exc)
"""


@pytest.mark.parametrize("module", ["from visrec.models.popularity import Popularity\n", "1/0\n"])
def test_a_class_named_like_an_installed_packages_model(module: str, tmp_path: Path) -> None:
    # before: "models: Mine is not the registered 'item-knn' model; ... give your class
    # a name of its own", with the package's import error instead when it was broken;
    # neither said whose the name is, nor that register_model(Mine) lets yours win
    plugin = module + "\nclass ItemKNN(Popularity):\n    name = 'item-knn'\n"
    site = _package(tmp_path / "site", "item-knn = mypkg.knn:ItemKNN\n", module=plugin)
    done = _visrec(site, cwd=tmp_path, code=textwrap.dedent(MINE))
    assert done.stdout == (
        "models: Mine is not the 'item-knn' model, which is given by entry point 'item-knn "
        "= mypkg.knn:ItemKNN' of package mypkg 0.1; run_experiment fits models by name: "
        "register_model(Mine) first to use yours in this process, or give your class a "
        "name of its own (name = '...')\n"
    ), done.stderr
