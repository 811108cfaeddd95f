"""Hyperparameters of estimators, scikit-learn style: ``get_params``/``set_params`` and
``__repr__`` read from the ``__init__`` signature, and type and range checks with
one-line errors that name the model and the parameter."""

from __future__ import annotations

import inspect
import math
import numbers
import types
import typing
from typing import Any, Self

import numpy as np

from visrec.errors import InvalidParameterError, VisrecError

__all__ = ["ParamsMixin"]


class ParamsMixin:
    """``get_params`` and ``__repr__`` read from the ``__init__`` signature, so they can
    never go stale when a hyperparameter is added (``__init__`` stores each one unchanged
    under its own name, scikit-learn style)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (``deep`` is accepted for
        scikit-learn's ``clone``; there are no nested estimators)."""
        sig = inspect.signature(type(self).__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if type(self).__init__ is not object.__init__:  # a class with no __init__ takes none
            # `def __init__(self, epochs=2, **kw)` in a subclass: what **kw passed on was
            # read nowhere, and clone, save and load dropped it silently (scikit-learn
            # refuses *args and ignores **kw)
            var = [
                ("*" if spec.kind is inspect.Parameter.VAR_POSITIONAL else "**") + p
                for p, spec in sig.parameters.items()
                if spec.kind not in kinds and spec.kind is not inspect.Parameter.POSITIONAL_ONLY
            ]
            if var:
                label = getattr(self, "name", type(self).__name__)
                raise VisrecError(
                    f"model {label!r}: {type(self).__name__}.__init__ takes {var[0]}; name "
                    "every hyperparameter in its signature (get_params, clone, save and "
                    "load read them there, and would drop what it passes on)"
                )
        params = {}
        for p, spec in sig.parameters.items():
            if p == "self" or spec.kind not in kinds:
                continue
            if not hasattr(self, p):  # said as AttributeError: 'X' object has no attribute
                label = getattr(self, "name", type(self).__name__)
                raise VisrecError(
                    f"model {label!r}: __init__ takes {p!r} but does not store it as "
                    f"self.{p}; store each hyperparameter unchanged under its own name"
                )
            params[p] = getattr(self, p)
        return params

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters by name (scikit-learn style); checked in ``fit``. An
        unknown name sets none of them: the error must not leave the others changed."""
        known = self.get_params()
        for name in params:
            if name not in known:
                raise InvalidParameterError(
                    f"{type(self).__name__} has no hyperparameter {name!r}; "
                    + (f"known: {', '.join(known)}" if known else "it takes none")
                )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        try:
            params = self.get_params()
        except VisrecError:  # a signature get_params refuses: shown, not raised (fit says why)
            return f"{type(self).__name__}(...)"
        args = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{type(self).__name__}({args})"

    def __sklearn_tags__(self) -> Any:
        """Tags for scikit-learn's helpers (``check_is_fitted``, ``clone``), which ask
        every estimator for them since scikit-learn 1.6: a fitted estimator is one
        with learned attributes (names ending in ``_``)."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    def check_param_types(self) -> None:
        """Check every hyperparameter against the type ``__init__`` declares for it.

        Only plain annotations are checked (``int``, ``float``, ``bool``, ``str`` and
        their ``| None`` forms); others are left to the model. ``int`` rejects bools and
        floats (even ``2.0``), ``float`` accepts ints but not bools and must be finite,
        ``None`` is accepted only where the annotation allows it. NumPy scalars count as
        their Python kinds.

        Raises
        ------
        VisrecError
            One line naming the model, the parameter, the value and the expected type,
            e.g. ``model 'bpr': epochs='abc' must be an integer``.
        """
        try:
            hints = typing.get_type_hints(type(self).__init__)
        except (NameError, TypeError):  # an annotation that does not resolve: unchecked
            return
        for name, value in self.get_params().items():
            allowed = _plain_types(hints.get(name))
            if allowed is None or _is_of(value, allowed):
                continue
            label = getattr(self, "name", type(self).__name__)
            raise InvalidParameterError(
                f"model {label!r}: {name}={value!r} must be {_describe(allowed)}"
            )

    def check_params(self) -> None:
        """Check every hyperparameter's type (``check_param_types``) and value
        (``_validate``). ``fit`` calls it; the CLI calls it before reading any file."""
        self.check_param_types()
        self._validate()

    def _validate(self) -> None:
        """Value checks beyond the types (ranges, choices); models override it."""

    #: integer hyperparameters that set the width of arrays with a row per user and
    #: per item (the factor matrices): checked by ``_check_widths`` once fit knows the
    #: rows; numpy's own error for them was "Maximum allowed dimension exceeded"
    _widths: tuple[str, ...] = ()

    def _check_widths(self, n_rows: int) -> None:
        """Refuse, before anything is allocated, a width (``_widths``) whose arrays of
        ``n_rows`` rows could not fit in this machine's memory even at 4 bytes a value;
        every width a machine can hold passes as it is."""
        memory = _memory_bytes()
        label = getattr(self, "name", type(self).__name__)
        for name in self._widths:
            width = int(getattr(self, name))
            need = n_rows * width * 4
            if need > memory:
                raise InvalidParameterError(
                    f"model {label!r}: {name}={_count_text(width)} is too large: its arrays "
                    f"({n_rows:,} users and items x {name}) need {_bytes_text(need)} or more, "
                    f"beyond this machine's {_bytes_text(memory)} of memory; give a smaller "
                    f"{name}"
                )

    #: integer hyperparameters that count passes over the training rows: checked by
    #: ``_check_epochs`` once fit knows the rows (epochs=10**30 used to run for ever)
    _epochs: tuple[str, ...] = ()

    def _check_epochs(self, n_rows: int) -> None:
        """Refuse, before anything is trained, an epoch count (``_epochs``) whose passes
        over ``n_rows`` training rows could not end within a year even at a billion rows a
        second (far faster than any model here): a slip for a smaller number, not a plan.
        Every count a run could finish passes as it is."""
        label = getattr(self, "name", type(self).__name__)
        for name in self._epochs:
            epochs = int(getattr(self, name))
            if epochs * n_rows > _ROWS_A_YEAR:
                raise InvalidParameterError(
                    f"model {label!r}: {name}={_count_text(epochs)} is too large: that many "
                    f"passes over {n_rows:,} training rows could not end within a year even "
                    f"at a billion rows a second; give a smaller {name}"
                )

    def _check_params(
        self,
        at_least_one: tuple[str, ...] = (),
        non_negative: tuple[str, ...] = (),
        positive: tuple[str, ...] = (),
    ) -> None:
        """Range checks for ``_validate``; ``random_state``, where a model has one, must
        be None or >= 0 (numpy's rule). Errors name the model, like ``check_param_types``."""
        rules: list[tuple[str, str, typing.Callable[[Any], bool]]]
        rules = [(n, ">= 1", lambda v: int(v) >= 1) for n in at_least_one]
        rules += [(n, ">= 0", lambda v: _real(v) >= 0) for n in non_negative]
        rules += [(n, "> 0", lambda v: _real(v) > 0) for n in positive]
        if getattr(self, "random_state", None) is not None:
            rules.append(("random_state", ">= 0 or None", lambda v: int(v) >= 0))
        label = getattr(self, "name", type(self).__name__)
        for name, rule, ok in rules:
            value = getattr(self, name)
            if not ok(value):
                raise InvalidParameterError(
                    f"model {label!r}: {name} must be {rule}, got {value!r}"
                )
        if isinstance(getattr(self, "device", None), str):
            # the form only (whether CUDA is there is the fit's to find): a refit with
            # device="gpu9" is refused before the earlier fit is dropped
            from visrec._device import parse_device

            try:
                parse_device(self.device)  # type: ignore[attr-defined]
            except VisrecError as exc:
                raise InvalidParameterError(f"model {label!r}: {exc}") from None


#: training rows a fit could pass over in a year at a billion a second (``_check_epochs``)
_ROWS_A_YEAR = 10**9 * 365 * 24 * 3600

#: the annotations ``check_param_types`` checks, and how its errors name them
_PLAIN_TYPES: dict[type, str] = {
    int: "an integer",
    float: "a finite number",
    bool: "true or false",
    str: "a string",
    type(None): "null (None)",
}


def _plain_types(annotation: Any) -> tuple[type, ...] | None:
    """``int | None`` -> ``(int, NoneType)``; ``None`` for annotations not checked."""
    if annotation is None:
        return None
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    kinds = typing.get_args(annotation) if union else (annotation,)
    if all(isinstance(k, type) and k in _PLAIN_TYPES for k in kinds):
        return tuple(kinds)
    return None


def _is_of(value: Any, kinds: tuple[type, ...]) -> bool:
    is_bool = isinstance(value, bool | np.bool_)
    for kind in kinds:
        if kind is type(None) and value is None:
            return True
        if kind is bool and is_bool:
            return True
        if kind is int and isinstance(value, numbers.Integral) and not is_bool:
            return True
        if kind is float and isinstance(value, numbers.Real) and not is_bool:
            try:
                if math.isfinite(float(value)):
                    return True
            except OverflowError:  # an int too large for a float
                pass
        if kind is str and isinstance(value, str):
            return True
    return False


def _describe(kinds: tuple[type, ...]) -> str:
    return " or ".join(_PLAIN_TYPES[k] for k in kinds)


def _memory_bytes() -> int:
    """This machine's physical memory; 1 TiB where the system does not say."""
    import os

    try:
        size = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        size = -1
    return size if size > 0 else 2**40


def _bytes_text(n: int) -> str:
    """``n`` bytes in words ("192.0 GiB", "87 TiB"); whole TiB above (a width of 10**400
    is beyond a float)."""
    if n >= 2**40:
        return f"{_count_text(n // 2**40)} TiB"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:,} bytes"


def _count_text(n: int) -> str:
    """``n`` with thousands separators, or as ``1.23e45`` beyond 15 digits (a width of
    10**400 is beyond a float, and 400 digits say no more)."""
    digits = str(n)
    if len(digits) <= 15:
        return f"{n:,}"
    return f"{digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def _real(value: Any) -> Any:
    """``value`` to compare with 0: an int as it is (10**400 is beyond a float)."""
    return value if isinstance(value, numbers.Integral) else float(value)
