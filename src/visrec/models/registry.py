"""Model registry: name -> "module:Class", imported lazily.

Adding a model: one new module, one line here, one test class (README, "Extending").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from visrec.errors import ArgumentTypeError, InvalidParameterError, VisrecError

if TYPE_CHECKING:
    from visrec.models.base import Recommender

MODELS: dict[str, str] = {
    "popularity": "visrec.models.popularity:Popularity",
    "bpr": "visrec.models.bpr:BPR",
    "vbpr": "visrec.models.vbpr:VBPR",
    "visual-cf": "visrec.models.visual_cf:VisualCF",
}


def get_model_class(name: str) -> type[Recommender]:
    """The class registered under ``name``; a clear error lists the known names."""
    if not isinstance(name, str):  # MODELS.get(['bpr']) said only "unhashable type"
        several = isinstance(name, list | tuple) and all(isinstance(n, str) for n in name)
        raise ArgumentTypeError(
            f"the model name must be a string such as 'bpr', got {name!r}"
            + ("; make one model per name" if several and name else "")
        )
    target = MODELS.get(name)
    if target is None:
        raise VisrecError(f"unknown model {name!r}; choose from: {', '.join(MODELS)}")
    module, _, cls = target.partition(":")
    klass: type[Recommender] = getattr(importlib.import_module(module), cls)
    own = klass.name
    if own != name and MODELS.get(own) != target:
        # save writes the class's name into model.json and load looks that name up: a
        # class left at "base" saved folders that never loaded, one named after another
        # model loaded as that model (an alias of the same class is fine)
        raise VisrecError(
            f"model {name!r} is registered as {target}, whose name is {own!r}; "
            f"set name = {name!r} in the class"
        )
    return klass


def models_that(*flags: str) -> list[str]:
    """The registered names whose class sets every class attribute of ``flags``
    (``"scores_new_items"``, ``"uses_vectors"``), in registry order: messages that
    suggest such a model name every one registered, not only the built-in ones. A
    registered model that cannot be loaded here (a module missing) is left out: the
    message is advice, and must not fail the command that gives it."""
    names = []
    for name in MODELS:
        try:
            klass = get_model_class(name)
        except (ImportError, AttributeError, VisrecError):
            continue
        if all(getattr(klass, flag, False) for flag in flags):
            names.append(name)
    return names


def or_list(names: list[str], none: str = "a model that can") -> str:
    """``"a"``, ``"a or b"``, ``"a, b or c"``; ``none`` for no name."""
    if not names:
        return none
    return " or ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} or {names[-1]}"


def default_params(name: str) -> dict[str, Any] | None:
    """The hyperparameter defaults of the registered model ``name`` (``bpr@b``: bpr's);
    None for a name this version does not register."""
    base = name.partition("@")[0]
    return get_model_class(base)().get_params() if base in MODELS else None


def make_model(name: str, **params: object) -> Recommender:
    """A new, unfitted model.

    Parameters
    ----------
    name : str
        A registered name: ``popularity``, ``bpr``, ``vbpr``, ``visual-cf`` (``MODELS``).
    **params
        Hyperparameters; the model's defaults for the rest.

    Returns
    -------
    Recommender

    Raises
    ------
    VisrecError
        An unknown name (the known ones listed) or hyperparameter (the model's listed);
        a name that is no string (``["bpr"]``) is also a TypeError.
    """
    klass = get_model_class(name)
    unknown = sorted(set(params) - set(klass().get_params()))
    if unknown:
        known = ", ".join(klass().get_params()) or "none"
        raise InvalidParameterError(
            f"model {name!r} has no hyperparameter {unknown[0]!r}; known: {known}"
        )
    return klass(**params)
