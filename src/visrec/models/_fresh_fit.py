"""A fresh fit: what every ``fit`` does before and around learning. It checks that it
was given an ``Interactions`` (and ``ItemVectors``), not a DataFrame or a bare array
(:func:`check_fit_inputs`), and starts from scratch: nothing of an earlier fit survives,
and a fit that fails leaves the model unfitted (:func:`fit_from_scratch`,
:func:`forget_fit`). ``Recommender.fit`` and ``RatingMF.fit`` use them; they are
importable from ``visrec.models.base`` as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import ArgumentTypeError, VisrecError

_T = TypeVar("_T")


def forget_fit(estimator: object) -> None:
    """Drop every learned attribute (public names ending in ``_``, as scikit-learn's
    ``check_is_fitted`` reads them), leaving the hyperparameters."""
    for name in [k for k in vars(estimator) if k.endswith("_") and not k.startswith("_")]:
        delattr(estimator, name)


def check_fit_inputs(name: str, interactions: object, item_vectors: object = None) -> None:
    """One line naming what was passed to ``fit`` when it is not an ``Interactions`` /
    ``ItemVectors`` (a DataFrame, a bare array), not an AttributeError from inside."""
    if not isinstance(interactions, Interactions):
        hint = (
            ": build one with Interactions.from_frame(df)"
            if isinstance(interactions, pd.DataFrame)
            else ""
        )
        raise ArgumentTypeError(
            f"model {name!r}: fit takes an Interactions, got {type(interactions).__name__}{hint}"
        )
    if item_vectors is not None and not isinstance(item_vectors, ItemVectors):
        raise ArgumentTypeError(
            f"model {name!r}: item_vectors must be an ItemVectors (ids, vectors, has_image; "
            f"visrec.read_vectors reads one), got {type(item_vectors).__name__}"
        )
    if item_vectors is not None and len(item_vectors) and not item_vectors.dim:
        # read_vector_ids gives such a store (ids only); a model would fit without images
        raise VisrecError(
            f"model {name!r}: the item vectors have width 0 (ids only, as read_vector_ids "
            "reads them); pass vectors read with read_vectors"
        )


def fit_from_scratch(estimator: object, fit: Callable[[], _T]) -> _T:
    """Run ``fit`` on a clean ``estimator``: nothing of an earlier fit survives, and a
    fit that fails leaves it unfitted rather than old arrays under new id maps."""
    forget_fit(estimator)
    try:
        return fit()
    except BaseException:
        forget_fit(estimator)
        raise
