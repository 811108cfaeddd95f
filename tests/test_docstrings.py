"""Docstrings agree with the code: every Parameters section names exactly the
signature's parameters, and every estimator documents the ``name_`` attributes its
``fit`` leaves (numpydoc sections, checked without numpydoc)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import visrec
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.models.base import Recommender
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import make_model

_RULE = re.compile(r"-{3,}")


def sections(doc: str) -> dict[str, list[str]]:
    """A numpydoc docstring's sections: heading -> its lines."""
    lines = inspect.cleandoc(doc).splitlines()
    out: dict[str, list[str]] = {}
    current: str | None = None
    for i, line in enumerate(lines):
        if line.strip() and i + 1 < len(lines) and _RULE.fullmatch(lines[i + 1].strip()):
            current = line.strip()
            out[current] = []
        elif current is not None and not _RULE.fullmatch(line.strip()):
            out[current].append(line)
    return out


def entry_names(lines: list[str]) -> list[str]:
    """Names of a section's entries: the unindented lines, ``a, b : type`` -> a, b."""
    names = []
    for line in lines:
        if line and not line[0].isspace():
            head = line.split(" : ")[0].rstrip("\\").strip()
            names += [n.strip().lstrip("*") for n in head.split(",") if n.strip()]
    return names


def parameter_mismatch(doc: str | None, fn: Callable[..., Any]) -> str | None:
    """What a Parameters section gets wrong about ``fn``'s signature, or None."""
    secs = sections(doc or "")
    if "Parameters" not in secs:
        return None  # a one-line helper described in prose
    documented = entry_names(secs["Parameters"])
    params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
    missing = [p for p in params if p not in documented]
    unknown = [d for d in documented if d not in params]
    if not missing and not unknown:
        return None
    return f"undocumented {missing}, not parameters {unknown}"


def public_callables() -> Iterator[tuple[str, str | None, Callable[..., Any]]]:
    """(name, docstring, callable) of every public function, class and method of the
    package (a class's docstring documents its ``__init__``)."""
    for module in public_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj.__doc__, obj
            elif inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj.__doc__, obj.__init__
                for meth_name, meth in vars(obj).items():
                    if inspect.isfunction(meth) and not meth_name.startswith("_"):
                        yield f"{module.__name__}.{name}.{meth_name}", meth.__doc__, meth


def public_modules() -> Iterator[Any]:
    for info in pkgutil.walk_packages(visrec.__path__, "visrec."):
        if not info.name.endswith("__main__"):  # importing it runs the CLI
            yield importlib.import_module(info.name)


def test_checker_catches_a_wrong_parameters_section() -> None:
    def f(a: int, b: int = 2, *, c: int = 3) -> int:
        """Add.

        Parameters
        ----------
        a, b : int
        d : int, default 3

        Returns
        -------
        int
        """
        return a + b + c

    assert parameter_mismatch(f.__doc__, f) == "undocumented ['c'], not parameters ['d']"
    assert parameter_mismatch("One line.", f) is None


def test_every_parameters_section_matches_its_signature() -> None:
    wrong = [
        f"{name}: {why}"
        for name, doc, fn in public_callables()
        if (why := parameter_mismatch(doc, fn)) is not None
    ]
    assert not wrong, "\n".join(wrong)


def test_every_documented_dataclass_lists_exactly_its_fields() -> None:
    wrong, checked = [], 0
    for module in public_modules():
        for name, obj in vars(module).items():
            if not (
                inspect.isclass(obj)
                and dataclasses.is_dataclass(obj)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                continue
            secs = sections(obj.__doc__ or "")
            documented = set(entry_names(secs.get("Attributes", []) + secs.get("Parameters", [])))
            if not documented:
                continue  # an internal record described in prose
            fields = {f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")}
            checked += 1
            if documented != fields:
                wrong.append(f"{module.__name__}.{name}: {fields ^ documented}")
    assert checked >= 15  # the result types (ItemVectors, Split, ExperimentResult...)
    assert not wrong, "\n".join(wrong)


def _documented_attributes(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        names |= set(entry_names(sections(klass.__doc__ or "").get("Attributes", [])))
    return names


def _fitted_attributes(model: object) -> set[str]:
    return {k for k in vars(model) if k.endswith("_") and not k.startswith("_")}


@pytest.fixture(scope="module")
def data() -> tuple[Interactions, ItemVectors]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user_id": rng.integers(0, 40, 600), "item_id": rng.integers(0, 30, 600)})
    ids = np.array([str(i) for i in range(31)])  # item 30: not in the interactions
    vectors = rng.normal(size=(31, 8)).astype(np.float32)
    inter = Interactions.from_frame(frame.drop_duplicates().astype(str))
    return inter, ItemVectors(ids, vectors, np.ones(31, dtype=bool))


@pytest.mark.parametrize("name", ["popularity", "bpr", "vbpr", "visual-cf"])
def test_recommenders_document_what_fit_leaves(
    name: str, data: tuple[Interactions, ItemVectors]
) -> None:
    inter, vectors = data
    params = {} if name == "popularity" else {"epochs": 2}
    if name == "vbpr":
        params["finetune_epochs"] = 1
    model = make_model(name, **params)
    model.fit(inter, vectors)
    documented = _documented_attributes(type(model))
    assert _fitted_attributes(model) <= documented
    # each documented attribute is one the model has (vector_meta_ only with vectors)
    assert documented - _fitted_attributes(model) == set()
    assert issubclass(type(model), Recommender)


def test_rating_mf_documents_what_fit_leaves(data: tuple[Interactions, ItemVectors]) -> None:
    inter, vectors = data
    rng = np.random.default_rng(1)
    frame = inter.to_frame()
    frame["rating"] = rng.integers(1, 6, len(frame)).astype(float)
    model = RatingMF(n_factors=4, n_epochs=2, visual_dim=4)
    model.fit(Interactions.from_frame(frame), vectors)
    documented = _documented_attributes(RatingMF)
    assert _fitted_attributes(model) == documented
