"""``KEY=VALUE`` hyperparameter overrides on the command line (``--param``): their
values (:func:`parse_param`), per model (``bpr.epochs=20``), their names checked against
the model (:func:`check_param_names`), and a model's ``device`` checked before any file
is read (:func:`check_model_device`).

:mod:`visrec.commands._common` re-exports the public names; the commands import them
from there. The leading underscore keeps this module out of
``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from visrec.errors import VisrecError


def parse_param(
    item: str, *, option: str = "--param", expected: str = "KEY=VALUE"
) -> tuple[str, Any]:
    """``"factors=32"`` -> ``("factors", 32)``.

    The value is parsed as JSON (numbers, ``true``, lists, quoted strings), or as a
    number JSON has no spelling for (``.01``, ``8.``, ``+3``); any other value is taken
    as a string, so ``device=cpu`` works unquoted.
    ``expected`` is the form named in the error for a missing ``=`` or an empty key.
    """
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise VisrecError(f"{option} {item!r}: expected {expected}")
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON: the text itself
        value = raw
        # numbers JSON has no spelling for: lr=.01, factors=8., +3 (ASCII digits only, as
        # the table loaders take them; a few dozen at most: int() refuses 4,300)
        number = r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"
        if len(raw) <= 64 and re.fullmatch(number, raw):
            value = float(raw) if re.search(r"[.eE]", raw) else int(raw)
    return key, value


def parse_params(items: Sequence[str], *, option: str = "--param") -> dict[str, Any]:
    """``["factors=32", "device=cpu"]`` -> ``{"factors": 32, "device": "cpu"}``
    (see :func:`parse_param`; a repeated key keeps its last value, with a note)."""
    out: dict[str, Any] = {}
    for item in items:
        key, value = parse_param(item, option=option)
        _set_once(out, key, value, f"{option} {key}")
    return out


def _set_once(out: dict[str, Any], key: str, value: Any, what: str) -> None:
    """``out[key] = value``; a second, different value wins, as a later option
    overrides an earlier one (a script's defaults, then the user's), with a note."""
    if key in out and out[key] != value:
        print(
            f"note: {what} is given twice ({json.dumps(out[key])}, then "
            f"{json.dumps(value)}): the last, {json.dumps(value)}, is used",
            file=sys.stderr,
        )
    out[key] = value


def parse_model_params(
    items: Sequence[str], models: Sequence[str], *, option: str = "--param"
) -> dict[str, dict[str, Any]]:
    """``["vbpr.epochs=30"]`` -> ``{"vbpr": {"epochs": 30}}``, values as in
    :func:`parse_param`; the model must be one of ``models``."""
    expected = "MODEL.NAME=VALUE, e.g. bpr.epochs=20"
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, value = parse_param(item, option=option, expected=expected)
        model, dot, name = key.rpartition(".")  # a variant label may hold a dot (bpr@0.1)
        if not dot or not model or not name:
            raise VisrecError(f"{option} {item!r}: expected {expected}")
        if model not in models:
            raise VisrecError(
                f"{option} {item!r}: model {model!r} is not in --models ({', '.join(models)})"
            )
        _set_once(out.setdefault(model, {}), name, value, f"{option} {key}")
    return out


def check_model_device(model: Any, label: str | None = None) -> None:
    """The model's ``device`` hyperparameter as its fit would resolve it
    (``visrec.models._train.fit_device`` is ``torch_device``): an unknown string, or
    CUDA where torch sees no GPU, is an error before any file is read, not at the fit.
    ``"auto"`` and ``"cpu"`` need no probe (and no torch import). Not part of
    ``check_params``: a model trained on a GPU must still load on a CPU machine."""
    from visrec._device import parse_device, torch_device

    device = model.get_params().get("device")
    if device is None:
        return
    try:
        if parse_device(device)[0] == "cuda":
            torch_device(device)
    except VisrecError as exc:
        raise VisrecError(f"model {label or model.name!r}: {exc}") from exc


def check_param_names(
    klass: Any, params: Mapping[str, Any], label: str, item_form: str = "{name}=VALUE"
) -> None:
    """Unknown hyperparameter names in ``params`` are one error listing the model's
    names (with the closest as a suggestion), instead of Python's ``__init__() got an
    unexpected keyword argument``. ``item_form`` says how a name is written on this
    command line (``train``: ``epochs=5``; ``evaluate``: ``bpr.epochs=5``)."""
    import difflib

    known = list(klass().get_params())
    for name in params:
        if name in known:
            continue
        base = name.rpartition(".")[2]  # `train --param bpr.epochs=5`: evaluate's form
        guess = [base] if base in known else difflib.get_close_matches(base, known, n=1)
        hint = f"; did you mean {item_form.format(name=guess[0])}?" if guess else ""
        listed = f"its hyperparameters: {', '.join(known)}" if known else "it has none"
        raise VisrecError(f"model {label!r} has no hyperparameter {name!r}{hint} ({listed})")
