"""Second read of session 73's work: what the walks left."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from test_s73_plugins import KNN_MODULE, _run, restore_models
from visrec import make_model, register_model
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models import registry

__all__ = ["restore_models"]  # the fixture, used here too (autouse)


@pytest.fixture()
def reexported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """``s73r_pkg.knn.ItemKNN``, which ``s73r_pkg`` re-exports, as packages do."""
    (tmp_path / "s73r_pkg").mkdir()
    (tmp_path / "s73r_pkg" / "__init__.py").write_text("from s73r_pkg.knn import ItemKNN\n")
    (tmp_path / "s73r_pkg" / "knn.py").write_text(KNN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("s73r_pkg").ItemKNN
    for module in ("s73r_pkg", "s73r_pkg.knn"):
        sys.modules.pop(module, None)


def test_a_class_registered_by_the_string_its_package_exports_is_the_same(
    reexported: type,
) -> None:
    # before: "'item-knn' is already registered to s73r_pkg:ItemKNN; give your class
    # another name", for the class that string names (its module is s73r_pkg.knn)
    register_model("s73r_pkg:ItemKNN", name="item-knn")
    assert type(make_model("item-knn")) is reexported
    result = _run([reexported(k=3)])
    assert sorted(result.runs["model"].unique()) == ["item-knn", "popularity"]
    assert registry.MODELS["item-knn"] is reexported
    register_model("s73r_pkg:ItemKNN", name="item-knn")  # and the string again
    assert registry.get_model_class("item-knn") is reexported


def test_another_class_under_a_registered_string_is_still_refused(reexported: type) -> None:
    register_model("s73r_pkg:ItemKNN", name="item-knn")

    class Other(reexported):  # type: ignore[misc, valid-type]
        name = "item-knn"

    with pytest.raises(VisrecError, match="'item-knn' is already registered to s73r_pkg:Item"):
        register_model(Other)
    register_model("no_such_module_s73r:ItemKNN", name="gone")
    with pytest.raises(VisrecError, match="'gone' is already registered to no_such_module_s73r"):
        register_model(type("ItemKNN", (reexported,), {"name": "gone"}))


def test_vectors_that_do_not_fit_their_ids_without_has_image_say_none_was_given() -> None:
    # before: "3 ids, vectors of shape (2, 3), 3 has_image flags": flags never given
    with pytest.raises(VisrecError) as info:
        ItemVectors(["a", "b", "c"], np.ones((2, 3), np.float32))
    assert str(info.value) == (
        "item vectors: 3 ids, vectors of shape (2, 3), no has_image; expected (n, d) with n = 3"
    )
    with pytest.raises(VisrecError, match=r"\(2, 3\), 3 has_image flags; expected"):
        ItemVectors(["a", "b", "c"], np.ones((2, 3), np.float32), [1, 1, 1])
