"""Extending visrec from one's own script (docs/models.md "Adding a model", docs/embed.md
"A backbone of your own", docs/evaluation.md "Python API"), as a user who does not edit
visrec: a notebook cell defining a model class run again, a model class of one's own
handed to ``run_experiment``, a registered model's subclass that changes a default
through ``**kwargs``, and a backbone name the process never registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone

from test_s72_own_model_load import ItemKNN, _train
from visrec import Recommender
from visrec.errors import VisrecError
from visrec.evaluation.model_specs import parse_model_specs
from visrec.models.bpr import BPR
from visrec.models.popularity import Popularity


def _cell(shift: float) -> type[ItemKNN]:
    """The class a notebook cell defines: same module, same qualified name each run."""

    class Cell(ItemKNN):
        name = "s72-extend-cell"

        def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
            return super()._score(user_idx, item_idx) + np.float32(shift)

    return Cell


def test_a_notebook_cell_run_again_loads_as_its_newest_class(tmp_path: Path) -> None:
    # before: Recommender.load walked the subclasses from the back, so the first run's
    # (older) class won over the cell run again, and its scores came back silently
    old = _cell(0.0)
    new = _cell(1000.0)
    assert old.__qualname__ == new.__qualname__ and old is not new
    model = new(k=5).fit(_train())
    model.save(tmp_path / "m")
    back = Recommender.load(tmp_path / "m")
    assert type(back) is new
    np.testing.assert_allclose(back.recommend([0], n=3)[1], model.recommend([0], n=3)[1])


def test_run_experiment_takes_a_model_class_of_ones_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # before: the registry's "unknown model 's72-item-knn'; choose from: ..." from deep
    # inside, as if the name were mistyped; since session 73 the class is registered
    # (register_model), as runs and reports find a model's class by its name
    from visrec.models import registry

    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))  # undone after
    assert parse_model_specs([BPR(epochs=2), ItemKNN(k=5)]) == [
        ("popularity", {}),
        ("bpr", {"epochs": 2}),
        ("s72-item-knn", {"k": 5}),
    ]
    assert registry.MODELS["s72-item-knn"] is ItemKNN
    # registered estimators still stand for their name and changed settings
    assert parse_model_specs([BPR(epochs=2)]) == [("popularity", {}), ("bpr", {"epochs": 2})]


class KwargsBPR(BPR):
    """A changed default the short way: the other hyperparameters through **kw."""

    def __init__(self, epochs: int = 2, **kw: Any) -> None:
        super().__init__(epochs=epochs, **kw)


def test_a_subclass_passing_hyperparameters_through_kwargs_is_refused() -> None:
    # before: get_params read only `epochs`, so clone gave factors=64 for factors=8 and
    # save/load wrote and read back only epochs, silently
    model = KwargsBPR(factors=8)
    with pytest.raises(VisrecError, match=r"KwargsBPR.__init__ takes \*\*kw; name every"):
        model.get_params()
    with pytest.raises(VisrecError, match="takes \\*\\*kw"):
        clone(model)


def test_classes_without_var_arguments_keep_their_params() -> None:
    class NoInit(Popularity):
        pass

    class Bare(ItemKNN):  # a model of one's own with no __init__ at all takes none
        __init__ = object.__init__  # type: ignore[assignment]

    assert NoInit().get_params() == {}
    assert Bare().get_params() == {}
    assert clone(BPR(factors=8)).factors == 8


def test_an_unknown_backbone_says_how_to_make_one_known() -> None:
    from visrec.embed.backbones import get_backbone

    with pytest.raises(VisrecError) as info:
        get_backbone("lite0-max")
    text = str(info.value)
    assert text.startswith("unknown backbone 'lite0-max'; available: efficientnet-lite0")
    assert "register_backbone" in text and "docs/embed.md" in text


def test_a_backbone_of_ones_own_is_not_advised_as_a_plain_embed_command() -> None:
    # before: "embed the new items with `visrec embed --backbone lite0-max`", a command
    # that answers "unknown backbone" where the backbone was registered by a script
    from visrec.commands._new_items import check_same_backbone

    with pytest.raises(VisrecError) as info:
        check_same_backbone(
            "v.parquet", {"backbone": "efficientnet-lite0"}, {"backbone": "lite0-max"}, "vbpr"
        )
    text = str(info.value)
    assert "`visrec embed --backbone" not in text
    assert "the lite0-max backbone (register_backbone it" in text
    # a built-in one keeps the command
    with pytest.raises(VisrecError, match="`visrec embed --backbone resnet18`"):
        check_same_backbone(
            "v.parquet", {"backbone": "efficientnet-lite0"}, {"backbone": "resnet18"}, "vbpr"
        )
