"""Python API review (session 69): what a notebook user passes by mistake."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.errors import InvalidParameterError, VisrecError
from visrec.evaluation import metrics
from visrec.models.registry import make_model


def _frame(rating: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"user_id": ["u", "v", "w"], "item_id": ["a", "b", "c"], "rating": rating})


def _interactions() -> Interactions:
    users, items = IdMap(["u", "v"]), IdMap(["a", "b", "c"])
    return Interactions(users, items, np.array([0, 1, 1]), np.array([0, 1, 2]))


def test_from_frame_names_a_rating_that_is_no_number() -> None:
    # was pandas' own ValueError ("could not convert string to float: 'five'"), no row
    with pytest.raises(VisrecError, match=r"rating 'five' at position 1 is not a finite number"):
        Interactions.from_frame(_frame([4, "five", 3]))


def test_from_frame_refuses_a_rating_beyond_float32_naming_it() -> None:
    # 1e300 became inf in float32 and was refused as "NaN or infinite", with no value
    with pytest.raises(VisrecError, match=r"rating 1e\+300 at position 2"):
        Interactions.from_frame(_frame([4.0, 5.0, 1e300]))


def test_from_frame_still_reads_ratings_written_as_text() -> None:
    got = Interactions.from_frame(_frame(["4", "5", "3.5"])).rating
    assert got is not None and got.dtype == np.float32 and got.tolist() == [4.0, 5.0, 3.5]


def test_subset_of_no_rows_is_an_empty_interactions() -> None:
    # np.asarray([]) is a float array: numpy refused it as an index
    out = _interactions().subset([])
    assert len(out) == 0 and out.n_items == 3


@pytest.mark.parametrize(
    ("sel", "message"),
    [
        (np.array([True, False]), r"one flag per row, shape \(3,\), got shape \(2,\)"),
        (np.array([0.0, 1.0]), r"row positions \(integers\), got float64"),
        ([0, 7], r"subset row 7 is outside 0\.\.2"),
    ],
)
def test_subset_refuses_a_wrong_selection_in_words(sel: object, message: str) -> None:
    with pytest.raises(VisrecError, match=message):
        _interactions().subset(sel)  # type: ignore[arg-type]


def test_subset_keeps_numpy_semantics_for_good_selections() -> None:
    it = _interactions()
    assert it.subset(np.array([False, True, True])).item_idx.tolist() == [1, 2]
    assert it.subset([-1]).item_idx.tolist() == [2]


def test_metrics_refuse_text_scores_in_words() -> None:
    rel = np.array([[True, False]])
    with pytest.raises(VisrecError, match="scores must be numbers, got str"):
        metrics.auc(np.array([["a", "b"]]), rel)
    with pytest.raises(VisrecError, match="scores must be numbers, got 'a'"):
        metrics.top_k(np.array([["a", 1.0]], dtype=object), 1)
    # complex scores lost their imaginary part with a ComplexWarning
    with pytest.raises(VisrecError, match="scores must be numbers, got complex128"):
        metrics.auc(np.array([[1 + 1j, 0]]), rel)


def test_set_params_with_an_unknown_name_changes_nothing() -> None:
    m = make_model("bpr", factors=8)
    with pytest.raises(InvalidParameterError, match="no hyperparameter 'learning_rate'"):
        m.set_params(factors=32, learning_rate=0.1)
    assert m.get_params()["factors"] == 8


def test_index_arguments_take_generators_and_refuse_sets_in_words() -> None:
    m = make_model("popularity").fit(_interactions())
    ids, _ = m.recommend(i for i in [1, 0])
    assert ids.shape[0] == 2 and ids[0].tolist() == m.recommend([1])[0][0].tolist()
    assert m.score({1: "x"}.keys()).shape == (1, 3)
    with pytest.raises(VisrecError, match="a set has no order"):
        m.recommend({0, 1})


def _items() -> pd.DataFrame:
    return pd.DataFrame({"genres": ["Comedy|Drama", "Drama", "Action"] * 4, "year": ["1995"] * 12})


@pytest.mark.parametrize("kind", ["numeric", "categorical", "Category"])
def test_fit_encoding_refuses_an_unknown_kind(kind: str) -> None:
    from visrec.data.item_features import fit_encoding

    # "categorical" was kept as the kind and encoded as a date; "numeric" read as a date
    with pytest.raises(VisrecError, match=f"unknown kind {kind!r}; expected one of category"):
        fit_encoding(_items(), [("year", kind)])


@pytest.mark.parametrize("columns", [["genres"], "genres", ["yr"]])
def test_fit_encoding_wants_name_kind_pairs(columns: object) -> None:
    from visrec.data.item_features import fit_encoding

    # a bare name unpacked into its letters ("yr": column 'y' of kind 'r') or failed
    # with Python's "too many values to unpack"
    with pytest.raises(VisrecError, match=r"columns must be \(name, kind\) pairs"):
        fit_encoding(_items(), columns)  # type: ignore[arg-type]


def test_fit_encoding_and_encode_name_a_missing_column() -> None:
    from visrec.data.item_features import encode, fit_encoding

    with pytest.raises(VisrecError, match=r"no column 'genre' in the item table \(columns: genres"):
        fit_encoding(_items(), [("genre", None)])
    codes = fit_encoding(_items(), [("genres", None)])
    with pytest.raises(VisrecError, match="no column 'genres' in the item table"):
        encode(_items().drop(columns=["genres"]), codes)
    assert encode(_items(), codes).shape == (12, 3)
