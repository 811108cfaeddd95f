"""The checks and cleaning of :func:`visrec.analysis.rating_eval.rating_eval`'s inputs.

The arguments' types and ranges, the MF hyperparameters' names, the rating rows (rows
without a numeric rating left out, repeated ``(user, item)`` rows collapsed) and the
rated items' vectors (finite; which items a cold-items split may hold out), each with
the notes on what was left out or filled in.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER, check_columns_once, id_column
from visrec.embed.store import ItemVectors, check_finite_vectors, check_some_vector
from visrec.errors import (
    ArgumentTypeError,
    InvalidParameterError,
    TooLittleDataError,
    VisrecError,
    agree,
    counted,
    names_text,
)
from visrec.evaluation.protocols import collapse_duplicates

PROTOCOLS = ("random", "cold-items")


def _check_args(
    frame: object,
    item_vectors: object,
    protocol: str,
    n_seeds: int,
    test_size: float,
    knn_k: int,
    random_state: object,
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(
            "rating-eval: the ratings must be a DataFrame (user_id, item_id, rating) or "
            f"an Interactions, got {type(frame).__name__}"
        )
    if item_vectors is not None and not isinstance(item_vectors, ItemVectors):
        raise VisrecError(
            "rating-eval: item_vectors must be an ItemVectors or None, got "
            f"{type(item_vectors).__name__}"
        )
    for name, value in (("n_seeds", n_seeds), ("knn_k", knn_k), ("random_state", random_state)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            # a numpy Generator would be drawn from once per split: not reproducible
            raise VisrecError(f"rating-eval: {name} must be an integer, got {value!r}")
    check_columns_once(frame, "rating-eval: the ratings table")
    for col in (USER, ITEM, RATING):
        if col not in frame.columns:
            raise VisrecError(
                f"rating-eval: the ratings have no {col!r} column "
                f"(columns: {names_text(frame.columns)})"
            )
    if protocol not in PROTOCOLS:
        raise VisrecError(f"rating-eval: protocol {protocol!r}; expected one of {PROTOCOLS}")
    if n_seeds < 1:
        raise VisrecError(f"rating-eval: n_seeds must be at least 1, got {n_seeds}")
    if not isinstance(test_size, numbers.Real) or isinstance(test_size, bool):
        raise VisrecError(f"rating-eval: test size must be a number, got {test_size!r}")
    if not 0.0 < test_size < 1.0:
        raise VisrecError(f"rating-eval: test size must be between 0 and 1, got {test_size}")
    if knn_k < 1:
        raise VisrecError(f"rating-eval: knn_k must be at least 1, got {knn_k}")
    # split s uses random_state + s, as scikit-learn takes it: outside 0 .. 2**32 - 1 its
    # own error came out, after the seeds before it were fitted
    top = 2**32 - 1 - (int(n_seeds) - 1)
    if not 0 <= int(random_state) <= top:
        extra = f" (with {n_seeds} seeds, the last is random_state + {n_seeds - 1})"
        raise VisrecError(
            f"rating-eval: random_state must be between 0 and {top}"
            f"{extra if n_seeds > 1 else ''}, got {random_state}"
        )


def _check_mf_params(mf_params: dict[str, Any] | None) -> None:
    from visrec.models.rating_mf import RatingMF

    known = RatingMF().get_params()
    unknown = sorted(set(mf_params or {}) - set(known))
    if unknown:
        # the recommenders' names for the two: RatingMF's predate them
        said = {"factors": "n_factors", "epochs": "n_epochs"}.get(unknown[0])
        hint = f" (it calls that one {said!r})" if said else ""
        raise InvalidParameterError(
            f"rating-eval: RatingMF has no hyperparameter {unknown[0]!r}{hint}; known: "
            f"{', '.join(known)}"
        )


def _clean_ratings(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``user_id, item_id, rating`` as strings and floats: rows without a numeric
    rating left out and repeated ``(user, item)`` rows collapsed, each counted in a
    note."""
    notes: list[str] = []
    rating = pd.to_numeric(frame[RATING], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(rating)
    if bad.any():
        notes.append(f"left out {counted(int(bad.sum()), 'row')} without a numeric rating")
    df = pd.DataFrame(
        {
            # spelt as every loader and the vectors spell ids (7.0 -> "7")
            USER: id_column(frame, USER)[~bad],
            ITEM: id_column(frame, ITEM)[~bad],
            RATING: rating[~bad],
        }
    )
    untimed = 0
    if TIMESTAMP in frame.columns:
        ts = pd.to_numeric(frame[TIMESTAMP], errors="coerce").to_numpy()[~bad]
        # a datetime column's NaT becomes int64's minimum, a finite number: ask pandas
        missing = frame[TIMESTAMP].isna().to_numpy()[~bad] | ~np.isfinite(ts)
        if not missing.any():
            df[TIMESTAMP] = ts
        else:  # one rule for all rows: a time for some would order only those
            untimed = int(missing.sum())
    # A review listed twice (Amazon's 5-core files repeat them) must not be split into
    # a training rating and its own copy as a test rating: only MF could look it up.
    kept = "the latest" if TIMESTAMP in df.columns else "the last row"
    if untimed:
        kept += (
            f"; {counted(untimed, 'row')} {agree(untimed, 'has', 'have')} no usable time, so "
            "no time is used"
        )
    df, n_dup = collapse_duplicates(df)
    df = df[[USER, ITEM, RATING]]
    if n_dup:
        notes.append(
            f"{counted(n_dup, 'repeated (user, item) rating')} collapsed to one ({kept}) before "
            "splitting"
        )
    if len(df) < 10:
        raise TooLittleDataError(f"rating-eval: need at least 10 ratings, got {len(df)}")
    if df[RATING].nunique() < 2:  # every model scores 0 error: a table that means nothing
        raise TooLittleDataError(
            f"rating-eval: all {len(df):,} ratings are {df[RATING].iloc[0]:g}: accuracy, "
            "MAE and RMSE are fixed by construction (the global mean is never wrong); "
            "rating prediction needs at least 2 distinct ratings"
        )
    return df, notes


def _check_vectors(
    df: pd.DataFrame, item_vectors: ItemVectors | None, protocol: str, source: str
) -> tuple[np.ndarray | None, list[str]]:
    """Check the rated items' vectors; returns the items a cold-items split may hold
    out (those with an image; None: any) and notes on what the vectors leave out."""
    if item_vectors is None:
        return None, ["no item vectors: the KNN and the visual MF were skipped"]
    notes = []
    codes, rated = pd.factorize(df[ITEM])
    # none: an "image" KNN on zero vectors and a visual MF equal to the plain one,
    # refused as `visrec rating-eval` refuses the file
    has = check_some_vector(
        item_vectors,
        list(rated),
        f"rating-eval ({source})",
        "rated items",
        "; pass item_vectors=None for the models without images",
    )
    # the KNN would fail inside sklearn, the MF turn NaN: refused as every command does
    check_finite_vectors(item_vectors, rated, source)
    eligible = None
    if protocol == "cold-items":  # as visrec evaluate: new items have a picture
        eligible = np.asarray(rated)[has]
    has_row = has[codes]  # per rating, from the one alignment of its items
    if (~has_row).any():
        n_bare = int((~has_row).sum())
        notes.append(
            f"{n_bare:,} of {len(df):,} ratings {agree(n_bare, 'is', 'are')} of items "
            "without an "
            "image: zero vector for the KNN (the tutorial's behaviour), no visual term "
            "for the MF"
        )
    return eligible, notes
