"""Model specs of an experiment: names, ``(name, params)`` pairs and estimators.

:func:`parse_model_specs` normalises what ``run_experiment(models=...)`` and ``visrec
evaluate --models`` take to ``[(name, params), ...]`` with the popularity baseline
first; :func:`model_class` finds the class of a name (``NAME@LABEL`` for a variant of
a registered model); ``_make`` builds the estimator of one run for its seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from visrec.errors import ArgumentTypeError, InvalidParameterError, VisrecError
from visrec.models import registry
from visrec.models.base import Recommender

ModelSpec = str | tuple[str, dict[str, Any]] | Recommender
# what parse_model_specs and run_experiment take: "a,b", one estimator, or a list of
# specs (a pair may be a list, as JSON reads it back)
ModelSpecs = str | Recommender | Sequence[ModelSpec | list[Any]]
BASELINE = "popularity"

__all__ = ["BASELINE", "ModelSpec", "ModelSpecs", "model_class", "parse_model_specs"]


def parse_model_specs(models: ModelSpecs) -> list[tuple[str, dict[str, Any]]]:
    """Normalise ``"a,b"`` / ``["a", ("b", {...}), BPR(factors=32)]`` to
    ``[(name, params), ...]`` with the popularity baseline first when it was not listed.
    An estimator instance stands for its name and the hyperparameters it sets away
    from their defaults (it is not fitted itself: each seed fits a fresh one); one of an
    unregistered class of the user's own registers that class (:func:`register_model`),
    as runs and reports find a model's class by its name."""
    if isinstance(models, Mapping):  # its keys alone would be read: params lost
        raise ArgumentTypeError(
            "models must be a list, not a dict: give (name, params) pairs, e.g. "
            "list(models.items())"
        )
    if not isinstance(models, str | Recommender | Iterable):
        raise ArgumentTypeError(
            "models must be a name ('bpr'), 'name,name', or a list of names, (name, "
            f"params dict) pairs and estimators, got {models!r}"
        )
    listed = isinstance(models, str)  # "a,b": --models, and the advice is its form
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    elif isinstance(models, Recommender):
        models = [models]
    out: list[tuple[str, dict[str, Any]]] = []
    for spec in models:
        if isinstance(spec, str):
            out.append((spec, {}))
        elif isinstance(spec, Recommender):
            _register_own(spec)
            defaults = type(spec)().get_params()
            changed = {k: v for k, v in spec.get_params().items() if v != defaults.get(k)}
            out.append((spec.name, changed))
        elif (
            isinstance(spec, tuple | list)  # a list: the pair as read back from JSON
            and len(spec) == 2
            and isinstance(spec[0], str)
            and isinstance(spec[1], Mapping)
        ):
            out.append((spec[0], dict(spec[1])))
        else:
            raise VisrecError(
                f"models: {spec!r} is not a model; give a name ('bpr'), a (name, params "
                "dict) pair ('bpr', {'factors': 32}) or an estimator (BPR(factors=32))"
            )
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        base = dup.partition("@")[0]
        other = (
            f"{base},{base}@b, with --param {base}@b.KEY=VALUE for its settings"
            if listed
            else f"('{base}@b', {{...its params}})"
        )
        raise VisrecError(
            f"model {dup!r} is listed twice; to compare two settings of one model, label "
            f"the other one: {other}"
        )
    if BASELINE not in names:
        out.insert(0, (BASELINE, {}))
    return out


def _register_own(spec: Recommender) -> None:
    """Registers the class of ``spec`` when it is the user's own: its name free, or held
    by an older definition of it (a notebook cell run again). Refuses a class whose name
    another class holds: the runs would fit that one instead."""
    klass = type(spec)
    refused = registry.registration_refused(klass, by_name=True)
    if refused:  # said as run_experiment's, not as a register_model call's
        raise VisrecError(f"models: {refused}")
    # registry.MODELS read now, not bound at import: a test may swap the dict
    if klass.name in registry.MODELS or not registry.is_model_name(klass.name):
        registry.register_model(klass)  # an installed package's own class stays its entry


def model_class(spec: str) -> type[Recommender]:
    """The class of a model spec name: a registered name, or ``NAME@LABEL`` for a
    variant of it (``bpr@strong`` with its own ``--param bpr@strong.reg=0.1``), so that
    one table can compare settings of the same model."""
    from visrec.models.registry import get_model_class

    name, at, label = spec.partition("@")
    if at and not name.strip():
        raise VisrecError(f"model {spec!r}: give a model name before '@', e.g. bpr{spec}")
    if at and not label.strip():
        raise VisrecError(f"model {spec!r}: give a label after '@', e.g. {name}@strong")
    if "=" in label:  # --param NAME@LABEL.KEY=VALUE could never address it
        raise VisrecError(f"model {spec!r}: a label cannot hold '=', e.g. {name}@strong")
    return get_model_class(name)


def _make(name: str, params: dict[str, Any], seed: int) -> Recommender:
    klass = model_class(name)
    known = klass().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:  # e.g. a typo, or another model's name for it: make_model's message
        raise InvalidParameterError(
            f"model {name!r} has no hyperparameter {unknown[0]!r}; "
            f"known: {', '.join(known) or 'none'}"
        )
    kwargs = dict(params)
    # the hyperparameter names come from get_params() of a default instance (cheap:
    # __init__ only stores its arguments), the one list save() and `visrec train` use
    if "random_state" not in kwargs and "random_state" in known:
        kwargs["random_state"] = seed
    return klass(**kwargs)
