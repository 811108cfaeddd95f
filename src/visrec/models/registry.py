"""Model registry: name -> "module:Class" (imported lazily) or a class.

Three ways in: a built-in line in ``MODELS`` (one new module, one line here, one test
class: README, "Extending"); :func:`register_model` at run time (a script, a notebook);
or an installed package's entry point in the group ``visrec.models``
(``item-knn = "mypkg.knn:ItemKNN"``), read only when a name is not in ``MODELS`` or the
names are listed, so a built-in model never imports a plugin. A built-in name always
means the built-in model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, TypeVar, cast

from visrec._plugins import NAME as _NAME
from visrec._plugins import TARGET as _TARGET
from visrec._plugins import Plugin, import_target, read_entry_points
from visrec._plugins import target as _target
from visrec.errors import ArgumentTypeError, InvalidParameterError, VisrecError, a_or_an

if TYPE_CHECKING:
    from visrec.models.base import Recommender

MODELS: dict[str, str | type[Recommender]] = {
    "popularity": "visrec.models.popularity:Popularity",
    "bpr": "visrec.models.bpr:BPR",
    "vbpr": "visrec.models.vbpr:VBPR",
    "visual-cf": "visrec.models.visual_cf:VisualCF",
}
BUILTIN_MODELS = tuple(MODELS)
#: the entry-point group an installed package lists its models in
ENTRY_POINT_GROUP = "visrec.models"

_Model = TypeVar("_Model", bound="str | type[Recommender]")

_plugins: dict[str, Plugin] | None = None  # read once per process, on first need


def _installed_plugins() -> dict[str, Plugin]:
    """The ``visrec.models`` entry points of the installed packages (metadata only:
    nothing is imported), read once; one naming a built-in model is left out."""
    global _plugins
    if _plugins is None:
        _plugins = read_entry_points(ENTRY_POINT_GROUP, "model", BUILTIN_MODELS)
    return _plugins


def model_names() -> list[str]:
    """Every model name known here: the built-in and registered ones, then those of
    installed packages (their metadata is read, nothing imported)."""
    return [*MODELS, *(n for n in _installed_plugins() if n not in MODELS)]


def is_model_name(name: str) -> bool:
    """Whether ``name`` is registered (built in, :func:`register_model`, or an installed
    package's entry point)."""
    return name in MODELS or name in _installed_plugins()


def _key(target: str | type) -> str:
    """``module:Class``, for a class or a target string: the same key is the same class
    (a notebook cell run again makes a new class object under the same key)."""
    if isinstance(target, str):
        return target
    return f"{target.__module__}:{target.__qualname__}"


def _same_class(name: str, held: str | type, model: str | type) -> bool:
    """Whether ``held`` (registered under ``name``) and ``model`` are one class: the same
    key, or a class and a string naming it where its package re-exports it
    (``"mypkg:ItemKNN"`` for ``mypkg.knn.ItemKNN``), which only importing tells."""
    if _key(held) == _key(model):
        return True
    target, klass = (held, model) if isinstance(held, str) else (model, held)
    if not (isinstance(target, str) and isinstance(klass, type)):
        return False
    try:  # what get_model_class would import: the user's own registration
        return _import(name, target, f"registered as {_key(target)}") is klass
    except VisrecError:  # it does not import: not the class given
        return False


def register_model(model: _Model, name: str | None = None) -> _Model:
    """Make a model class of your own known by its name to :func:`make_model`,
    ``run_experiment`` and ``Recommender.load`` in this process.

    Parameters
    ----------
    model : Recommender subclass or str
        The class (``@register_model`` over it works too), or ``"module:Class"``,
        imported only when the model is first used.
    name : str, optional
        The class's ``name`` (what ``save`` writes into ``model.json``); required with a
        string, checked against the class when it is imported.

    Returns
    -------
    Recommender subclass or str
        ``model`` itself.

    Raises
    ------
    VisrecError
        Not a Recommender subclass; ``name`` not the class's ``name``; a name that a
        built-in model or another class holds. The same class again, or a class
        redefined under the same module and name (a notebook cell run again), replaces
        the entry.
    """
    refused = registration_refused(model, name)
    if refused:
        raise VisrecError(f"register_model: {refused}")
    stored: str | type[Recommender]
    if isinstance(model, str):  # with its name: refused without one
        name, stored = cast(str, name), _target(model)
    else:
        name, stored = model.name, model
    if name not in BUILTIN_MODELS:  # a built-in's own class again: nothing to change
        MODELS[name] = stored
    return model


def registration_refused(
    model: object, name: str | None = None, *, by_name: bool = False
) -> str | None:
    """Why :func:`register_model` would refuse ``model``; nothing is registered.

    Parameters
    ----------
    model : object
        What :func:`register_model` takes: a Recommender subclass or ``"module:Class"``.
    name : str, optional
        As :func:`register_model`'s ``name``.
    by_name : bool, default False
        The rules of ``run_experiment`` for a class, which it registers for an
        estimator given to it and then fits by its name: a class whose name a built-in
        model or an installed package's model holds is refused (the runs would fit that
        model), where :func:`register_model` lets a class take a package's name.

    Returns
    -------
    str or None
        The reason in words, without the caller's prefix (``register_model: ``); None
        when ``model`` may be registered, or the name holds this class already.
    """
    from visrec.models.base import Recommender

    if isinstance(model, str):
        if not _TARGET.match(_target(model)):
            return f"{model!r} is not 'module:Class', e.g. 'mypkg.knn:ItemKNN'"
        if name is None:
            return (
                f"give the model's name with the string, e.g. register_model({model!r}, "
                "name='item-knn'): it is imported only when the model is used"
            )
        model = _target(model)  # as register_model stores it
    elif isinstance(model, type) and issubclass(model, Recommender):
        own = model.name
        if own == Recommender.name:
            return f"{model.__qualname__} has no name; set a class attribute name = '...'"
        if name is not None and name != own:
            return (
                f"name {name!r} is not {model.__qualname__}'s name {own!r}: save writes the "
                "class's name into model.json and load looks it up; give name="
                f"{own!r} or leave it out"
            )
        name = own
    elif isinstance(model, Recommender):
        kind = type(model).__qualname__
        return f"got {a_or_an(kind)} {kind} instance; give its class: register_model({kind})"
    else:
        return f"expected a Recommender subclass or a 'module:Class' string, got {model!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        return f"model name {name!r}: use letters, digits, '-', '_' and '.', e.g. 'item-knn'"
    held = MODELS.get(name)
    fitted = model if by_name and isinstance(model, type) else None  # run_experiment's
    if held is None:
        return None if fitted is None else _plugin_held(name, fitted)
    if _same_class(name, held, cast("str | type", model)):
        return None
    if name in BUILTIN_MODELS and fitted is not None:
        return (
            f"{fitted.__name__} is not the registered {name!r} model; run_experiment fits "
            "models by name: give your class a name of its own (name = '...'), or fit and "
            "score it with make_split and evaluate_model"
        )
    if name in BUILTIN_MODELS:
        return f"{name!r} is a built-in model ({_key(held)}); give your class another name"
    return f"{name!r} is already registered to {_key(held)}; give your class another name"


def _plugin_held(name: str, klass: type) -> str | None:
    """Why run_experiment refuses ``klass`` where an installed package's model holds
    ``name``: a class registered wins over a package's, which must be said."""
    plugin = _installed_plugins().get(name)
    if plugin is None:
        return None
    try:
        theirs: type | None = get_model_class(name)
    except VisrecError:  # the package's class does not import: yours is not it either
        theirs = None
    if klass is theirs:
        return None
    return (
        f"{klass.__name__} is not the {name!r} model, which is given by {plugin.origin}; "
        f"run_experiment fits models by name: register_model({klass.__name__}) first to use "
        "yours in this process, or give your class a name of its own (name = '...')"
    )


def get_model_class(name: str) -> type[Recommender]:
    """The class registered under ``name``; a clear error lists the known names."""
    if not isinstance(name, str):  # MODELS.get(['bpr']) said only "unhashable type"
        several = isinstance(name, list | tuple) and all(isinstance(n, str) for n in name)
        raise ArgumentTypeError(
            f"the model name must be a string such as 'bpr', got {name!r}"
            + ("; make one model per name" if several and name else "")
        )
    target = MODELS.get(name)
    origin = f"registered as {_key(target)}" if target is not None else ""
    if target is None:
        plugin = _installed_plugins().get(name)
        if plugin is None:
            raise VisrecError(f"unknown model {name!r}; choose from: {', '.join(model_names())}")
        plugin.check_single("model", name)
        target, origin = plugin.target, f"given by {plugin.origin}"
    klass = _newest(name, target) if isinstance(target, type) else _import(name, target, origin)
    own = klass.name
    if own != name and MODELS.get(own) != target:
        # save writes the class's name into model.json and load looks that name up: a
        # class left at "base" saved folders that never loaded, one named after another
        # model loaded as that model (an alias of the same class is fine)
        raise VisrecError(
            f"model {name!r} is {origin}, whose name is {own!r}; set name = {name!r} in the class"
        )
    return klass


def _newest(name: str, klass: type[Recommender]) -> type[Recommender]:
    """The newest class defined under ``klass``'s module and qualified name: a notebook
    cell edited and run again after its class was registered (by ``register_model`` in
    another cell, or by ``run_experiment``) is the code the user means; the registered,
    older class made ``make_model`` and ``Recommender.load`` run the old code."""
    from visrec.models._save_load import _defined_classes

    key = _key(klass)
    newer = [k for k in _defined_classes(klass.name) if _key(k) == key and k is not klass]
    if newer:
        MODELS[name] = klass = newer[-1]
    return klass


def _import(name: str, target: str, origin: str) -> type[Recommender]:
    """The class ``target`` names; a registered or installed one that fails to import is
    one error naming where it came from, not the plugin's traceback."""
    module, _, attr = target.partition(":")
    if name in BUILTIN_MODELS and MODELS.get(name) == target:
        return cast("type[Recommender]", getattr(importlib.import_module(module), attr))
    from visrec.models.base import Recommender

    klass = import_target("model", name, target, origin, "a class as 'module:Class'")
    if not (isinstance(klass, type) and issubclass(klass, Recommender)):
        raise VisrecError(f"model {name!r} ({origin}) is not a Recommender subclass: {klass!r}")
    return klass


def models_that(*flags: str) -> list[str]:
    """The registered names whose class sets every class attribute of ``flags``
    (``"scores_new_items"``, ``"uses_vectors"``), in registry order: messages that
    suggest such a model name every one registered, not only the built-in ones. A
    registered model that cannot be loaded here (a module missing) is left out: the
    message is advice, and must not fail the command that gives it. Installed packages'
    models are not offered: advice given beside a built-in model imports no plugin."""
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
    return get_model_class(base)().get_params() if is_model_name(base) else None


def make_model(name: str, **params: object) -> Recommender:
    """A new, unfitted model.

    Parameters
    ----------
    name : str
        A registered name: ``popularity``, ``bpr``, ``vbpr``, ``visual-cf`` (``MODELS``),
        one given to :func:`register_model`, or an installed package's (entry point
        group ``visrec.models``).
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
