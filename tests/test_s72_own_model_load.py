"""A model class of the user's own (docs/models.md, "Adding a model"), defined in a
notebook or script and not in the registry, saves and loads: ``ItemKNN.load(folder)``
and ``Recommender.load(folder)`` find the class, and a subclass of a registered model
loads as itself, not as the registered class. Before, both loads said "unknown model
... (saved by a newer visrec? upgrade it)", and a class without a name of its own
saved a folder nothing could load."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from visrec import Interactions, Recommender
from visrec.errors import VisrecError
from visrec.models.popularity import Popularity


class ItemKNN(Recommender):
    """The docs' minimal model."""

    name = "s72-item-knn"
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {"sim_": ("items", "items")}
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)

    def __init__(self, k: int = 20) -> None:
        self.k = k

    def _validate(self) -> None:
        self._check_params(at_least_one=("k",))

    def _fit(
        self, interactions: Interactions, vectors: np.ndarray | None, has_image: np.ndarray | None
    ) -> None:
        x = self.seen_.astype(np.float64)
        co = (x.T @ x).toarray()
        norm = np.sqrt(np.diag(co))
        sim = co / (np.outer(norm, norm) + 1e-12)
        np.fill_diagonal(sim, 0.0)
        cut = np.sort(sim, axis=1)[:, [-min(self.k, sim.shape[1])]]
        self.sim_ = np.where(sim >= cut, sim, 0.0).astype(np.float32)

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        s = np.asarray(self.seen_[user_idx] @ self.sim_, dtype=np.float32)
        s[:, np.asarray(self.seen_.sum(axis=0)).ravel() == 0] = -np.inf
        return s


class ShiftedPopularity(Popularity):
    """A registered model's subclass with its own scoring, keeping the name."""

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return -super()._score(user_idx, item_idx)  # least popular first


class Nameless(ItemKNN):
    name = "base"  # as a subclass of Recommender that forgot to set one


def _train() -> Interactions:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 40, 600).astype(str),
            "item_id": rng.integers(0, 60, 600).astype(str),
        }
    ).drop_duplicates()
    return Interactions.from_frame(frame)


def test_an_unregistered_model_loads_through_its_class_and_recommender(tmp_path: Path) -> None:
    model = ItemKNN(k=5).fit(_train())
    model.save(tmp_path / "m")
    want = model.recommend(np.arange(10), n=5)
    for loader in (ItemKNN, Recommender):
        back = loader.load(tmp_path / "m")
        assert type(back) is ItemKNN and back.k == 5
        got = back.recommend(np.arange(10), n=5)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1])


def test_a_registered_models_subclass_loads_as_itself(tmp_path: Path) -> None:
    model = ShiftedPopularity().fit(_train())
    model.save(tmp_path / "m")
    back = ShiftedPopularity.load(tmp_path / "m")
    assert type(back) is ShiftedPopularity
    np.testing.assert_array_equal(
        back.recommend(np.arange(5), n=5)[0], model.recommend(np.arange(5), n=5)[0]
    )
    # Recommender.load goes by the registry: the registered class of that name
    assert type(Recommender.load(tmp_path / "m")) is Popularity


def test_a_model_of_no_class_defined_here_says_how_to_load_it(tmp_path: Path) -> None:
    ItemKNN(k=5).fit(_train()).save(tmp_path / "m")
    mj = tmp_path / "m" / "model.json"
    mj.write_text(mj.read_text().replace("s72-item-knn", "s72-not-defined"))
    with pytest.raises(VisrecError, match="define or import that class first") as err:
        Recommender.load(tmp_path / "m")
    assert "s72-not-defined" in str(err.value) and "model.json" in str(err.value)


def test_another_class_cannot_load_it(tmp_path: Path) -> None:
    ItemKNN(k=5).fit(_train()).save(tmp_path / "m")
    with pytest.raises(VisrecError, match="holds a 's72-item-knn' model, not 'popularity'"):
        Popularity.load(tmp_path / "m")


def test_a_class_without_a_name_of_its_own_is_refused_at_save(tmp_path: Path) -> None:
    model = Nameless(k=5).fit(_train())
    with pytest.raises(VisrecError, match=r"Nameless\.save: the class has no model name"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
