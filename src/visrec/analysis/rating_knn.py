"""The tutorial's rating KNN, with the baseline it left out.

Protocol (the tutorial's, every part configurable): one row per rating, ``X`` = the
image vector of the rated item (or review photo), ``y`` = the star rating as a class;
``train_test_split(test_size=0.2, random_state=1234)``; ``KNeighborsClassifier(k=3)``
(Euclidean distance, uniform vote). The majority class is learned on the *training*
split and scored on the same test rows, so the two accuracies are comparable.

Rating data repeat vectors a lot (every rating of a movie carries the same poster
vector), so neighbours are searched among *distinct* training vectors and expanded to
rows: the result is an exact k-nearest-neighbour vote. Among equidistant training rows
those of one vector come together, earliest first (scikit-learn breaks such ties
arbitrarily; exact ties between different real-valued vectors are rare), and ties in the
vote go to the smallest rating (as scikit-learn's ``predict`` does).
On data without repeated vectors it gives the same predictions as
``KNeighborsClassifier``, and it is far faster when vectors repeat.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from visrec.analysis._args import (
    integer_arg,
    missing_labels,
    row_hashes,
    seed_arg,
    unusable_rows,
    vector_matrix,
)
from visrec.embed.store import UNUSABLE_VALUES
from visrec.errors import TooLittleDataError, VisrecError, agree, counted
from visrec.evaluation.significance import p_said, two_sided_sign_p


def random_split(
    n_rows: int,
    test_size: float,
    random_state: int,
    who: str = "rating KNN",
    unit: str = "rows",
) -> tuple[np.ndarray, np.ndarray]:
    """``train_test_split(arange(n_rows), test_size=..., random_state=...)``, sizes checked.

    scikit-learn holds out ``ceil(test_size * n_rows)`` rows; when that leaves no row to
    train on (or none to test) it fails with a long traceback, so the sizes are checked
    here first and a one-line error names them.

    Parameters
    ----------
    n_rows : int
    test_size : float
        Share of rows held out, strictly between 0 and 1.
    random_state : int
    who : str, default "rating KNN"
        Start of the error message (the caller's name).
    unit : str, default "rows"
        What the rows are, for the error message.

    Returns
    -------
    (train, test) : two ndarrays of int64 row indices
    """
    from sklearn.model_selection import train_test_split

    if not isinstance(test_size, numbers.Real) or isinstance(test_size, bool):
        raise VisrecError(f"{who}: test size must be a number, got {test_size!r}")
    if not 0.0 < test_size < 1.0:
        raise VisrecError(f"{who}: test size must be between 0 and 1, got {test_size}")
    test_size = float(test_size)  # scikit-learn refuses np.float32(0.2)
    n_test = math.ceil(test_size * n_rows)  # scikit-learn's rule
    n_train = n_rows - n_test
    if n_train < 1 or n_test < 1:
        raise TooLittleDataError(
            f"{who}: test size {test_size} of {n_rows:,} {unit} holds out {n_test:,} "
            f"(ceil({test_size} x {n_rows:,})) and leaves {n_train:,} to train on; "
            "need at least one on each side (lower the test size or give more data)"
        )
    tr, te = train_test_split(np.arange(n_rows), test_size=test_size, random_state=random_state)
    return np.asarray(tr), np.asarray(te)


def _unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``x`` (first-appearance order) and each row's group index."""
    x = np.ascontiguousarray(x)
    if x.shape[0] == 0:
        return x, np.zeros(0, dtype=np.int64)
    keys = x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    # np.unique sorts by bytes; renumber groups by first appearance for stable output
    order = np.argsort(first, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    return x[first[order]], remap[inverse.ravel()]


def knn_predict(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, k: int = 3
) -> np.ndarray:
    """Majority vote of the ``k`` nearest training rows (Euclidean) for each test row.

    Parameters
    ----------
    x_train : ndarray of shape (n_train, d)
    y_train : ndarray of shape (n_train,)
        Class labels (e.g. star ratings); ties in the vote go to the smallest label.
    x_test : ndarray of shape (n_test, d)
    k : int, default 3

    Returns
    -------
    ndarray of shape (n_test,)
        Predicted labels, same dtype as ``y_train``.
    """
    x_train = np.asarray(x_train, dtype=np.float32)
    x_test = np.asarray(x_test, dtype=np.float32)
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        # a 1-D array, a width mismatch or no rows failed inside numpy or scikit-learn
        if x.ndim != 2 or x.shape[1] == 0:
            raise VisrecError(f"knn_predict: {name} has shape {x.shape}; expected (n, d), d >= 1")
        # NaN failed inside scikit-learn; a huge value took every neighbourhood
        if where := unusable_rows(x):
            raise VisrecError(f"knn_predict: {name} {where} holds {UNUSABLE_VALUES}")
    if x_train.shape[1] != x_test.shape[1]:
        raise VisrecError(
            f"knn_predict: x_train rows have {x_train.shape[1]} values, x_test rows "
            f"{x_test.shape[1]}; both must come from the same vectors"
        )
    y_train = _labels(y_train, len(x_train), "knn_predict")
    _check_k(len(x_train), k, "knn_predict")
    if len(x_test) == 0:
        return y_train[:0]
    classes, y_code = np.unique(y_train, return_inverse=True)
    u_train, g_train = _unique_rows(x_train)
    u_test, g_test = _unique_rows(x_test)
    out: np.ndarray = classes[_vote(u_train, g_train, y_code, len(classes), u_test, k)[g_test]]
    return out


def knn_predict_items(
    item_vectors: np.ndarray,
    train_items: np.ndarray,
    y_train: np.ndarray,
    test_items: np.ndarray,
    k: int = 3,
) -> np.ndarray:
    """:func:`knn_predict` for rows that are ratings of items: row ``r`` has the vector
    ``item_vectors[train_items[r]]`` (``test_items`` likewise). The same predictions,
    without a vector per rating: with one, ``rating-eval`` on 900,000 ratings of
    20,000 items peaked at 12.5 GB."""
    who = "knn_predict_items"
    item_vectors = np.asarray(item_vectors, dtype=np.float32)
    if item_vectors.ndim != 2 or item_vectors.shape[1] == 0:
        raise VisrecError(
            f"{who}: item_vectors has shape {item_vectors.shape}; expected (n_items, d), d >= 1"
        )
    train_items = _positions(train_items, len(item_vectors), "train_items", who)
    test_items = _positions(test_items, len(item_vectors), "test_items", who)
    y_train = _labels(y_train, len(train_items), who)
    _check_k(len(train_items), k, who)
    if len(test_items) == 0:
        return y_train[:0]
    classes, y_code = np.unique(y_train, return_inverse=True)
    distinct, of_item = _unique_rows(item_vectors)
    # numbered by first appearance in the training rows, as knn_predict numbers them
    # (the nearest-neighbour search breaks distance ties by that order)
    raw = of_item[train_items]
    seen, first = np.unique(raw, return_index=True)
    in_order = seen[np.argsort(first, kind="stable")]
    number = np.full(len(distinct), -1, dtype=np.int64)
    number[in_order] = np.arange(len(in_order))
    wanted, g_test = np.unique(of_item[test_items], return_inverse=True)
    pred = _vote(distinct[in_order], number[raw], y_code, len(classes), distinct[wanted], k)
    out: np.ndarray = classes[pred[g_test.ravel()]]
    return out


def _check_k(n_train: int, k: int, who: str) -> None:
    integer_arg(k, f"{who}: k")  # 2.5 or 0 failed inside scikit-learn
    if k < 1:
        raise VisrecError(f"{who}: k must be at least 1, got {k}")
    if n_train < k:
        raise VisrecError(
            f"{who}: k={k} neighbours but only {counted(n_train, 'training row')}; "
            "lower k or the test size"
        )


def _labels(y: ArrayLike, n_rows: int, who: str) -> np.ndarray:
    """``y`` as one label per training row: a longer one was cut silently (its tail never
    voted), a shorter one failed inside numpy."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a column, as scikit-learn takes it (with a warning)
        y = y.ravel()
    if y.ndim != 1 or len(y) != n_rows:
        raise VisrecError(
            f"{who}: y_train has shape {y.shape} for {counted(n_rows, 'training row')}; "
            "expected one label per row"
        )
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise VisrecError(f"{who}: y_train {unusable_rows(y)} is missing or not finite")
    if y.dtype == object:
        # None was numpy's "'<' not supported between ... 'NoneType'" from np.unique
        gone = missing_labels(y)
        if gone:
            raise VisrecError(
                f"{who}: y_train holds {counted(len(gone), 'missing label')} (None/NaN; "
                f"{agree(len(gone), '', 'the first ')}at position {gone[0]}); drop "
                f"{agree(len(gone), 'that row or give it', 'those rows or give them')} a label"
            )
        try:
            np.unique(y)
        except TypeError:
            kinds = ", ".join(sorted({type(v).__name__ for v in y}))
            raise VisrecError(
                f"{who}: y_train mixes labels of kinds that cannot be ordered ({kinds}); "
                "give labels of one kind (all numbers or all text)"
            ) from None
    return y


def _positions(items: ArrayLike, n_items: int, name: str, who: str) -> np.ndarray:
    """Row positions into the item vectors: -1 would take the last item silently."""
    pos = np.asarray(items)
    if pos.ndim != 1 or (pos.size and pos.dtype.kind not in "iufO"):
        raise VisrecError(f"{who}: {name} must be a 1-D array of item row positions")
    if pos.size and pos.dtype.kind in "fO":
        # 3.0 (a column read as floats) or an object array of ints is a position as good
        # as 3; 2.5, NaN or "a" is none
        as_float = (
            pos.astype(np.float64)
            if pos.dtype.kind == "f"
            else np.array([_as_float(v) for v in pos], dtype=np.float64)
        )
        odd = ~np.isfinite(as_float) | (as_float != np.round(as_float))
        if odd.any():
            j = int(np.flatnonzero(odd)[0])
            bad_value = pos[j].item() if isinstance(pos[j], np.generic) else pos[j]
            raise VisrecError(
                f"{who}: {name} holds {bad_value!r} at index {j}, not an item row position "
                "(a whole number)"
            )
        pos = as_float
    pos = pos.astype(np.int64, copy=False)
    if pos.size and (pos.min() < 0 or pos.max() >= n_items):
        bad = int(pos[(pos < 0) | (pos >= n_items)][0])
        raise VisrecError(
            f"{who}: {name} holds position {bad}, outside the {n_items:,} item vectors"
        )
    return pos


def _as_float(v: Any) -> float:
    """``v`` as a float; NaN when it is not a number (None, "3", True)."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_):
        return float(v)
    return float("nan")


def _vote(
    u_train: np.ndarray,
    g_train: np.ndarray,
    y_code: np.ndarray,
    n_classes: int,
    u_test: np.ndarray,
    k: int,
) -> np.ndarray:
    """The class code each distinct test vector gets: the majority of the ``k`` rows
    nearest to it, where training row ``r`` has the vector ``u_train[g_train[r]]``."""
    from sklearn.neighbors import NearestNeighbors

    # rows of each training group, in training order
    order = np.argsort(g_train, kind="stable")
    starts = np.searchsorted(g_train[order], np.arange(len(u_train) + 1))

    # k distinct vectors always cover at least k rows
    n_groups = min(k, len(u_train))
    nn = NearestNeighbors(n_neighbors=n_groups, algorithm="brute").fit(u_train)
    _, near = nn.kneighbors(u_test)

    votes = np.zeros((len(u_test), n_classes), dtype=np.int64)
    for t in range(len(u_test)):
        need = k
        for g in near[t]:
            rows = order[starts[g] : starts[g + 1]][:need]
            np.add.at(votes[t], y_code[rows], 1)
            need -= len(rows)
            if need == 0:
                break
    best: np.ndarray = votes.argmax(axis=1)  # first maximum = smallest label on ties
    return best


@dataclass
class KnnRatingResult:
    """Outcome of :func:`knn_rating`.

    Attributes
    ----------
    accuracy : float
        Share of test rows whose predicted star equals the true star.
    majority_accuracy : float
        The same for always predicting ``majority_class``.
    majority_class : float
        Most common rating in the training split (smallest on ties).
    mae, majority_mae : float
        Mean absolute error in stars of KNN and of the majority class.
    confusion : DataFrame of shape (n_labels, n_labels)
        Counts on the test split; index = true rating, columns = predicted rating.
    n_train, n_test : int
    labels : list of float
        Rating values seen in the data, ascending.
    k : int
    same_vector_share : float
        Share of the test rows with a picture that have a training row of the very same
        vector (another rating of the same item, or of an identical photo): their
        neighbours are those rows, so the KNN reads those rows' ratings more than the
        picture.
    picture_alone : str
        The caveat's last words, where the picture alone is asked (default: ``visrec
        rating-eval --protocol cold-items``; ``knn-rating`` on review photos adds that
        it takes one vector per item).
    """

    accuracy: float
    majority_accuracy: float
    majority_class: float
    mae: float
    majority_mae: float
    confusion: pd.DataFrame
    n_train: int
    n_test: int
    labels: list[float]
    k: int
    same_vector_share: float = 0.0
    picture_alone: str = "visrec rating-eval --protocol cold-items asks the picture alone"

    def __repr__(self) -> str:  # headline figures, not the confusion matrix
        return (
            f"KnnRatingResult(k={self.k}, {self.n_train:,} train / "
            f"{counted(self.n_test, 'test row')}: accuracy {self.accuracy:.3f} "
            f"(majority class {self.majority_accuracy:.3f}), MAE {self.mae:.3f} "
            f"(majority class {self.majority_mae:.3f}))"
        )

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON types; ``confusion`` is ``{"labels": [...], "counts":
        [[...], ...]}`` with rows = true rating, columns = predicted rating;
        ``against_majority`` is ``{"call": "beats" | "below" | "level", "said": ...}``,
        the McNemar call stdout and the report give."""
        call, said = self.against_majority()
        return {
            "accuracy": float(self.accuracy),
            "majority_accuracy": float(self.majority_accuracy),
            "majority_class": _num(self.majority_class),
            "mae": float(self.mae),
            "majority_mae": float(self.majority_mae),
            "k": int(self.k),
            "n_train": int(self.n_train),
            "n_test": int(self.n_test),
            "labels": [_num(v) for v in self.labels],
            "same_vector_share": float(self.same_vector_share),
            # on_copies: the call is won on test rows whose very picture is in training
            "against_majority": {
                "call": call,
                "said": said,
                "on_copies": call == "beats" and bool(self.on_copies()),
            },
            "confusion": {
                "labels": [_num(v) for v in self.confusion.index],
                "counts": self.confusion.to_numpy(dtype=np.int64).tolist(),
            },
        }

    def same_item_caveat(self) -> str | None:
        """When half the test rows with a picture or more share a training row's vector
        (other ratings of the same item, or one photo copied under several ids): what the
        KNN then measures, in words; else None."""
        if self.same_vector_share < 0.5:
            return None
        return (
            f"{self.same_vector_share:.1%} of the test rows with a picture have a training "
            "row with the very same vector (another rating of the same item, or the same "
            "photo under another id, as Amazon copies a review to each product variant): "
            "their neighbours are those rows, so this KNN reads those rows' ratings more "
            f"than the picture; {self.picture_alone}"
        )

    def on_copies(self) -> str:
        """What qualifies a "beats" when :meth:`same_item_caveat` applies: the win is
        then on test rows whose very picture is in training, not the picture's look."""
        return (
            " (on test rows whose very picture is in training: see the note)"
            if (self.same_item_caveat() is not None)
            else ""
        )

    def against_majority(self) -> tuple[str, str]:
        """Whether KNN's accuracy beats the majority class's beyond chance: ``("beats"
        | "below" | "level", why)``, by McNemar's exact test on the test rows (read from
        the confusion matrix): of the rows only one of the two gets right, how many are
        KNN's, against a fair coin, two-sided, called at p <= 0.05. Exact: the normal
        approximation called 4 rows against 0 a win (z = 2.0), where p is 0.125; and a
        +0.005 on 6,000 rows is level."""
        counts = self.confusion.to_numpy(dtype=np.int64)
        rows = [float(v) for v in self.confusion.index]  # true ratings
        cols = [float(v) for v in self.confusion.columns]  # predicted
        right = [int(counts[i, cols.index(v)]) if v in cols else 0 for i, v in enumerate(rows)]
        maj = float(self.majority_class)
        # KNN right where the majority class is wrong, and the other way round
        only_knn = sum(r for v, r in zip(rows, right, strict=True) if v != maj)
        only_maj = int(counts[rows.index(maj)].sum()) - right[rows.index(maj)] if maj in rows else 0
        p = two_sided_sign_p(only_knn, only_maj)
        why = (
            f"{only_knn:,} test rows only KNN gets right, {only_maj:,} only the majority "
            f"class (McNemar's exact test, two-sided {p_said(p)}; p <= 0.05 to call it"
            # rows of one item share its vector and prediction: not independent trials
            + (
                "; an item's test rows share its vector, so it speaks for these items)"
                if self.same_vector_share > 0
                else ")"
            )
        )
        if p > 0.05:
            return "level", why
        return ("beats" if only_knn > only_maj else "below"), why

    def format(self) -> str:
        """Accuracy always next to the majority-class baseline, then MAE and confusion."""
        diff = self.accuracy - self.majority_accuracy
        call, why = self.against_majority()
        verdict = {
            "beats": "beats",
            "below": "does NOT beat",
            "level": "shows no significant difference from",
        }[call]
        conf = self.confusion.copy()
        conf.index = [f"true {_fmt(v)}" for v in conf.index]
        conf.columns = [f"pred {_fmt(v)}" for v in conf.columns]
        stars = "star" if self.majority_class == 1 else "stars"
        majority = f"majority class ({_fmt(self.majority_class)} {stars}, train)"
        # a half-star majority ("3.5") made this name 33 characters: its figures
        # stood one column right of the header's
        w = max(32, len(majority) + 1)
        lines = [
            f"rating KNN (k={self.k}) on image vectors: "
            f"{self.n_train:,} train / {self.n_test:,} test rows",
            "",
            f"{'':{w}}{'accuracy':>9}{'MAE':>8}",
            f"{'KNN on image vectors':{w}}{self.accuracy:9.3f}{self.mae:8.3f}",
            f"{majority:{w}}{self.majority_accuracy:9.3f}{self.majority_mae:8.3f}",
            "",
            f"KNN {verdict} the majority class: accuracy {diff:+.3f}"
            + (self.on_copies() if call == "beats" else ""),
            f"  {why}",
            "",
            "confusion matrix (test rows; rows = true rating, columns = predicted):",
            conf.to_string(),
        ]
        return "\n".join(lines)


def majority_class(y: np.ndarray) -> float:
    """Most common value of ``y`` (the smallest on ties)."""
    values, counts = np.unique(np.asarray(y, dtype=np.float64), return_counts=True)
    return float(values[int(np.argmax(counts))])


def _num(v: Any) -> int | float:
    f = float(v)
    return int(f) if f.is_integer() else f


def _fmt(v: Any) -> str:
    return str(_num(v))


#: more distinct rating values than this are scores, not classes a KNN can vote for
#: (half-star scales have 10, 1-10 scales 10, 0-10 11)
MAX_CLASSES = 20


def _rating_numbers(ratings: Any) -> np.ndarray:
    """``ratings`` as float64; one that is not a number ('a', None) is refused by its
    row, not with numpy's "could not convert string to float"."""
    try:
        y = np.asarray(ratings, dtype=np.float64)
    except (ValueError, TypeError):
        pass
    else:
        if y.ndim != 1:  # a table of ratings: one per vector row is wanted
            raise VisrecError(
                f"rating KNN: ratings of shape {y.shape}; expected one rating per vector "
                "row (a 1-D sequence)"
            )
        return y
    for n, r in enumerate(np.asarray(ratings, dtype=object).ravel()):
        try:
            float(r)
        except (ValueError, TypeError):
            raise VisrecError(
                f"rating KNN: rating {n} is {r!r}, not a number; ratings must be numbers "
                "(star ratings such as 1-5)"
            ) from None
    raise VisrecError("rating KNN: ratings must be a 1-D sequence of numbers")


def knn_rating(
    vectors: ArrayLike,
    ratings: ArrayLike,
    k: int = 3,
    test_size: float = 0.2,
    random_state: int = 1234,
) -> KnnRatingResult:
    """Predict the star rating from the image vector with KNN, next to the majority class.

    Parameters
    ----------
    vectors : ndarray of shape (n, d)
        The image vector behind each rating row.
    ratings : ndarray of shape (n,)
        Star ratings (used as classes).
    k : int, default 3
        Neighbours in the vote.
    test_size : float, default 0.2
        Share of rows held out (scikit-learn ``train_test_split``).
    random_state : int, default 1234
        Seed of the split (the tutorial's value).

    Returns
    -------
    KnnRatingResult

    Raises
    ------
    TooLittleDataError
        Fewer than 2 rows, one rating value, or a split that leaves fewer training rows
        than ``k`` (the caller, who knows the file, names it).
    """
    x = vector_matrix(vectors, "rating KNN", np.float32)
    y = _rating_numbers(ratings)
    integer_arg(k, "rating KNN: k")
    random_state = seed_arg(random_state, "rating KNN: random_state")
    if x.ndim != 2 or len(x) != len(y):
        raise VisrecError(
            f"rating KNN: vectors of shape {x.shape} and {len(y)} ratings; "
            "expected (n, d) and n ratings"
        )
    if not x.shape[1]:  # scikit-learn's "n_neighbors ... Got 0" said nothing of this
        raise VisrecError("rating KNN: the vectors have width 0: nothing to compare by")
    if not np.isfinite(y).all():
        raise VisrecError(f"rating KNN: ratings {unusable_rows(y)} is missing or not finite")
    if where := unusable_rows(x):
        raise VisrecError(f"rating KNN: vectors {where} holds {UNUSABLE_VALUES}")
    if k < 1:
        raise VisrecError(f"rating KNN: k must be at least 1, got {k}")
    if len(y) < 2:
        raise TooLittleDataError(f"rating KNN: need at least 2 rating rows, got {len(y)}")
    levels = np.unique(y)
    if len(levels) < 2:
        # every model, the majority class too, is right every time: a perfect score
        # that says nothing about the pictures (cluster refuses one label alike)
        raise TooLittleDataError(
            f"rating KNN: all {len(y):,} ratings are {_fmt(levels[0])}: accuracy and MAE "
            "are fixed by construction (every prediction is right); rating prediction "
            "needs at least 2 distinct ratings"
        )
    if len(levels) > MAX_CLASSES:
        # each distinct value would be a class of its own: an accuracy near 0 and a
        # confusion matrix of thousands of cells say nothing about the pictures
        shown = ", ".join(_fmt(v) for v in levels[:4])
        raise VisrecError(
            f"rating KNN: the ratings take {len(levels):,} distinct values ({shown}, ...), "
            f"more than {MAX_CLASSES} rating classes: KNN votes for a class, like the "
            "stars 1-5; for continuous scores use visrec rating-eval (MAE, RMSE)"
        )
    idx_train, idx_test = random_split(len(y), test_size, random_state)
    if len(idx_train) < k:
        raise TooLittleDataError(
            f"rating KNN: test size {test_size} of {len(y):,} rows leaves "
            f"{counted(len(idx_train), 'training row')}, fewer than k={k} neighbours; lower "
            "the test size or k"
        )
    y_train, y_test = y[idx_train], y[idx_test]
    pred = knn_predict(x[idx_train], y_train, x[idx_test], k=k)

    majority = majority_class(y_train)
    labels = sorted(float(v) for v in np.unique(y))
    confusion = (
        pd.crosstab(pd.Series(y_test, name="true"), pd.Series(pred, name="predicted"))
        .reindex(index=labels, columns=labels, fill_value=0)
        .astype(np.int64)
    )
    return KnnRatingResult(
        accuracy=float(np.mean(pred == y_test)),
        majority_accuracy=float(np.mean(y_test == majority)),
        majority_class=majority,
        mae=float(np.mean(np.abs(pred - y_test))),
        majority_mae=float(np.mean(np.abs(majority - y_test))),
        confusion=confusion,
        n_train=len(idx_train),
        n_test=len(idx_test),
        labels=labels,
        k=int(k),
        same_vector_share=_same_vector_share(x, idx_train, idx_test),
    )


def _same_vector_share(x: np.ndarray, idx_train: np.ndarray, idx_test: np.ndarray) -> float:
    """Share of the test rows with a picture whose vector a training row has too (a
    64-bit hash of the row, in blocks: no copy of the matrix). All-zero rows (items
    without a picture, ``--include-missing``) are neither counted nor counted in: 8,000
    of them beside 200 copied photos made the share 2% and hid the caveat."""
    keys = row_hashes(x)
    blank = ~np.asarray(np.any(x, axis=1), dtype=bool)
    train_keys = np.unique(keys[idx_train][~blank[idx_train]])
    test = idx_test[~blank[idx_test]]
    if not len(test):
        return 0.0
    return float(np.isin(keys[test], train_keys).sum() / len(test))
