"""Session 63 mutation audit of ``analysis/rating_eval_inputs.py`` and
``analysis/rating_eval_result.py`` (the inputs and the result object of
``visrec rating-eval``).

59 hand-made mutants (36 in the inputs: argument types and bounds, the random_state
range, the MF name hint, the rating and timestamp cleaning, the duplicate and vector
notes, the cold-items eligibility; 23 in the result: run keys, sizes, the JSON's keys,
types and copies, the table's order and spread, the text layout). Mutants 0-31 were run
against eight existing rating-eval test files (test_python_api_fixes, test_rating_models,
test_rating_eval_duplicates, test_s61_rating_mutants, test_s50_rating_mutants,
test_analysis_reports, test_cli_option_ranges, test_rating_eval_resume): 11 killed, 21
survived (among them every boundary of test_size, n_seeds, knn_k and random_state, the
bool refusals, the infinite-rating filter and the 10-rating minimum); 32-58 were not run
against them for lack of time. With this file 58 of 59 are killed; 1 is equivalent:
``_table``'s ``.reindex(order)`` dropped: ``groupby(sort=False)`` already keeps the
models in the order of their first run.

Bug fixed: a ``datetime64`` timestamp column's ``NaT`` was read as a time (int64's
minimum), so a copy without a time counted as the earliest; it now counts as "no usable
time", as a NaN does (test_clean_ratings_takes_a_datetime_columns_nat_as_no_usable_time).

The tests below call the helpers directly on tiny generated tables, so each boundary and
each note is pinned by value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.rating_eval_inputs import (
    _check_args,
    _check_mf_params,
    _check_vectors,
    _clean_ratings,
)
from visrec.analysis.rating_eval_result import (
    MAJORITY,
    RECORD_MODEL,
    RatingEvalResult,
    _table,
    format_sizes,
    majority_label,
)
from visrec.embed.store import ItemVectors
from visrec.errors import InvalidParameterError, VisrecError

TOP = 2**32 - 1


def _frame(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{i % 4}" for i in range(n)],
            "item_id": [f"i{i}" for i in range(n)],
            "rating": [1 + i % 5 for i in range(n)],
        }
    )


def _args(**kw: object) -> None:
    base: dict[str, object] = dict(
        frame=_frame(),
        item_vectors=None,
        protocol="random",
        n_seeds=1,
        test_size=0.2,
        knn_k=3,
        random_state=1234,
    )
    base.update(kw)
    _check_args(**base)  # type: ignore[arg-type]


# ---------------------------------------------------------------- _check_args


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"frame": [1, 2]}, "must be a DataFrame"),
        ({"item_vectors": np.zeros((2, 2))}, "item_vectors must be an ItemVectors or None"),
        ({"n_seeds": True}, "n_seeds must be an integer"),
        ({"knn_k": True}, "knn_k must be an integer"),
        ({"random_state": 5.0}, "random_state must be an integer"),
        ({"random_state": False}, "random_state must be an integer"),
        ({"protocol": "cold"}, "protocol 'cold'"),
        ({"n_seeds": 0}, "n_seeds must be at least 1, got 0"),
        ({"test_size": True}, "test size must be a number"),
        ({"test_size": 0.0}, "between 0 and 1, got 0.0"),
        ({"test_size": 1.0}, "between 0 and 1, got 1.0"),
        ({"knn_k": 0}, "knn_k must be at least 1, got 0"),
        ({"frame": _frame().drop(columns="rating")}, "no 'rating' column"),
        ({"frame": _frame().drop(columns="user_id")}, "no 'user_id' column"),
    ],
)
def test_check_args_refuses_each_bad_value(kw: dict[str, object], match: str) -> None:
    with pytest.raises(VisrecError, match=match):
        _args(**kw)


def test_check_args_refuses_a_repeated_column() -> None:
    f = _frame()
    f = pd.concat([f, f[["rating"]]], axis=1)
    with pytest.raises(VisrecError):
        _args(frame=f)


def test_check_args_random_state_range_is_exact() -> None:
    _args(random_state=0)
    _args(random_state=TOP)
    _args(n_seeds=3, random_state=TOP - 2)  # seeds TOP-2, TOP-1, TOP: all valid
    with pytest.raises(VisrecError) as one:
        _args(random_state=-1)
    assert str(one.value) == f"rating-eval: random_state must be between 0 and {TOP}, got -1"
    with pytest.raises(VisrecError) as three:
        _args(n_seeds=3, random_state=TOP - 1)
    assert str(three.value) == (
        f"rating-eval: random_state must be between 0 and {TOP - 2} (with 3 seeds, the "
        f"last is random_state + 2), got {TOP - 1}"
    )


# ---------------------------------------------------------------- _check_mf_params


def test_check_mf_params_names_the_unknown_one_and_its_spelling() -> None:
    _check_mf_params(None)
    _check_mf_params({"n_factors": 4, "n_epochs": 2})
    with pytest.raises(InvalidParameterError, match=r"'factors' \(it calls that one 'n_factors'\)"):
        _check_mf_params({"factors": 4})
    with pytest.raises(InvalidParameterError) as e:
        _check_mf_params({"zzz": 1})
    assert "'zzz'; known: " in str(e.value) and "it calls" not in str(e.value)


# ---------------------------------------------------------------- _clean_ratings


def test_clean_ratings_leaves_out_nan_text_and_infinite_ratings() -> None:
    f = _frame(14).astype({"rating": object})
    f.loc[0, "rating"] = np.nan
    f.loc[1, "rating"] = "x"
    f.loc[2, "rating"] = np.inf
    f.loc[3, "rating"] = -np.inf
    df, notes = _clean_ratings(f)
    assert notes == ["left out 4 rows without a numeric rating"]
    assert list(df.columns) == ["user_id", "item_id", "rating"]
    assert list(df["item_id"]) == [f"i{i}" for i in range(4, 14)]
    assert np.isfinite(df["rating"]).all()


def test_clean_ratings_keeps_the_latest_copy_when_every_row_is_timed() -> None:
    f = _frame(11)
    f.loc[11] = pd.Series(
        {"user_id": "u0", "item_id": "i0", "rating": 5}
    )  # a second, earlier copy of (u0, i0): rated 1 later
    f["timestamp"] = [100] * 11 + [50]
    df, notes = _clean_ratings(f)
    assert list(df.columns) == ["user_id", "item_id", "rating"]
    assert len(df) == 11
    assert df.loc[df["item_id"] == "i0", "rating"].tolist() == [1.0]
    assert notes == [
        "1 repeated (user, item) rating collapsed to one (the latest) before splitting"
    ]


def test_clean_ratings_without_usable_times_keeps_the_last_row_and_says_why() -> None:
    f = _frame(11)
    f.loc[11] = pd.Series({"user_id": "u0", "item_id": "i0", "rating": 5})
    f["timestamp"] = [100.0] * 10 + [np.nan, 50.0]
    df, notes = _clean_ratings(f)
    assert list(df.columns) == ["user_id", "item_id", "rating"]
    assert df.loc[df["item_id"] == "i0", "rating"].tolist() == [5.0]
    assert notes == [
        "1 repeated (user, item) rating collapsed to one (the last row; 1 row has no "
        "usable time, so no time is used) before splitting"
    ]


def test_clean_ratings_takes_a_datetime_columns_nat_as_no_usable_time() -> None:
    # a bug this audit found: pd.to_numeric turns NaT into int64's minimum, a finite
    # number, so the copy without a time was taken as the earliest and the other kept
    f = _frame(11)
    f.loc[11] = pd.Series({"user_id": "u0", "item_id": "i0", "rating": 5})
    f["timestamp"] = pd.to_datetime([1_000] * 11 + [None], unit="s")
    assert f["timestamp"].dtype.kind == "M" and f["timestamp"].isna().sum() == 1
    df, notes = _clean_ratings(f)
    assert df.loc[df["item_id"] == "i0", "rating"].tolist() == [5.0]
    assert notes == [
        "1 repeated (user, item) rating collapsed to one (the last row; 1 row has no "
        "usable time, so no time is used) before splitting"
    ]
    f["timestamp"] = pd.to_datetime([1_000] * 11 + [500], unit="s")  # every row timed
    df, notes = _clean_ratings(f)
    assert df.loc[df["item_id"] == "i0", "rating"].tolist() == [1.0]
    assert notes[0].endswith("(the latest) before splitting")


def test_clean_ratings_without_a_time_column_says_the_last_row() -> None:
    f = _frame(11)
    f.loc[11] = pd.Series({"user_id": "u0", "item_id": "i0", "rating": 5})
    df, notes = _clean_ratings(f)
    assert df.loc[df["item_id"] == "i0", "rating"].tolist() == [5.0]
    assert notes == [
        "1 repeated (user, item) rating collapsed to one (the last row) before splitting"
    ]
    _, none = _clean_ratings(_frame(10))
    assert none == []


def test_clean_ratings_needs_ten_rows_and_two_ratings() -> None:
    assert len(_clean_ratings(_frame(10))[0]) == 10
    with pytest.raises(VisrecError, match="need at least 10 ratings, got 9"):
        _clean_ratings(_frame(9))
    same = _frame(10).assign(rating=4)
    with pytest.raises(VisrecError, match="all 10 ratings are 4: accuracy"):
        _clean_ratings(same)


# ---------------------------------------------------------------- _check_vectors


def _vectors(bad: bool = False) -> ItemVectors:
    ids = np.array([f"i{i}" for i in range(12)], dtype=object)
    vecs = np.ones((12, 2), dtype=np.float32)
    has = np.ones(12, dtype=bool)
    has[[3, 7]] = False  # i3 and i7 have no picture
    vecs[[3, 7]] = 0.0
    if bad:
        vecs[5, 0] = np.nan
    return ItemVectors(ids, vecs, has)


def test_check_vectors_none_is_a_note() -> None:
    df, _ = _clean_ratings(_frame())
    assert _check_vectors(df, None, "random", "v") == (
        None,
        ["no item vectors: the KNN and the visual MF were skipped"],
    )


def test_check_vectors_eligible_items_and_the_note_on_missing_pictures() -> None:
    f = pd.concat([_frame(), _frame().iloc[[3]].assign(user_id="u9")], ignore_index=True)
    df, _ = _clean_ratings(f)  # i3 is rated twice, i7 once: 3 of 13 ratings
    eligible, notes = _check_vectors(df, _vectors(), "cold-items", "v")
    assert eligible is not None
    assert sorted(eligible) == sorted(f"i{i}" for i in range(12) if i not in (3, 7))
    assert notes == [
        "3 of 13 ratings are of items without an image: zero vector for the KNN (the "
        "tutorial's behaviour), no visual term for the MF"
    ]
    random_eligible, _ = _check_vectors(df, _vectors(), "random", "v")
    assert random_eligible is None
    pictured = _frame(12).drop(index=[3, 7])  # only the 10 items with a picture
    with_all, none = _check_vectors(_clean_ratings(pictured)[0], _vectors(), "random", "v")
    assert with_all is None and none == []


def test_check_vectors_refuses_a_nan_vector_of_a_rated_item() -> None:
    df, _ = _clean_ratings(_frame())
    with pytest.raises(VisrecError, match=r"v\.parquet: 1 item vector"):
        _check_vectors(df, _vectors(bad=True), "random", "v.parquet")


# ---------------------------------------------------------------- the result


def _runs(classes: tuple[float, float] = (4.0, 5.0)) -> pd.DataFrame:
    rows = []
    for s, cls in zip((7, 8), classes, strict=True):
        rows += [
            # "zeta" first: the table keeps run order, not the alphabet
            dict(
                seed=s,
                model="zeta",
                uses="ratings",
                accuracy=0.5,
                mae=1.0 + s - 7,
                rmse=2.0,
                fit_seconds=0.25,
                **{"class": np.nan},
            ),
            dict(
                seed=s,
                model=MAJORITY,
                uses="baseline",
                accuracy=0.25,
                mae=1.5,
                rmse=1.75,
                fit_seconds=0.0,
                **{"class": cls},
            ),
        ]
    return pd.DataFrame(rows)


def _result(runs: pd.DataFrame, seeds: list[int], **kw: object) -> RatingEvalResult:
    return RatingEvalResult(
        table=_table(runs, len(seeds)),
        runs=runs,
        n_train=80,
        n_test=20,
        seeds=seeds,
        **kw,  # type: ignore[arg-type]
    )


def test_table_is_in_run_order_with_sample_std() -> None:
    t = _table(_runs(), 2)
    assert list(t.index) == ["zeta", "majority class (4 or 5, by split)"]
    assert t.loc["zeta", "mae"] == pytest.approx(1.5)
    assert t.loc["zeta", "mae_std"] == pytest.approx(math.sqrt(0.5))  # ddof=1 of 1, 2
    assert _table(_runs()[_runs()["seed"] == 7], 1).loc["zeta", "mae_std"] == 0.0


def test_majority_label_lists_the_classes_in_order() -> None:
    assert majority_label(_runs((5.0, 5.0))) == "majority class (5)"
    assert majority_label(_runs((5.0, 4.0))) == "majority class (4 or 5, by split)"
    assert majority_label(_runs().drop(columns="class")) == MAJORITY


def test_to_dict_keys_types_and_copies() -> None:
    resume = {"seeds": {"7": {"a": [1]}}}
    res = _result(
        _runs((5.0, 4.0)),
        [7, 8],
        notes=["n1"],
        protocol="cold-items",
        sizes=[(80, 20), (78, 22)],
        resume=resume,
    )
    out = res.to_dict()
    assert list(out["models"]) == ["zeta", MAJORITY]
    maj = out["models"][MAJORITY]
    assert maj["classes"] == [4, 5] and all(type(c) is int for c in maj["classes"])
    assert out["sizes"] == [[80, 20], [78, 22]]
    assert out["seeds"] == [7, 8] and out["protocol"] == "cold-items"
    assert out["notes"] == ["n1"]
    zeta_run = out["runs"][0]
    assert "class" not in zeta_run and zeta_run["model"] == "zeta" and zeta_run["seed"] == 7
    assert type(out["runs"][1]["class"]) is int and out["runs"][1]["class"] == 5
    out["resume"]["seeds"]["7"]["a"].append(2)
    assert resume == {"seeds": {"7": {"a": [1]}}}  # a deep copy, not the object kept


def test_to_dict_std_of_one_seed_is_null_and_half_stars_stay() -> None:
    both = _runs((4.5, 4.5))
    runs = both.loc[both["seed"] == 7]
    table = _table(runs, 1)
    table["mae_std"] = np.nan
    res = RatingEvalResult(table=table, runs=runs, n_train=8, n_test=2, seeds=[7])
    out = res.to_dict()
    assert out["models"]["zeta"]["mae_std"] is None
    assert out["models"][MAJORITY]["classes"] == [4.5]


def test_run_keys_and_size_text() -> None:
    res = _result(_runs(), [7, 8], sizes=[(80_154, 20), (81_020, 20), (80_500, 20)])
    assert res.run_keys() == [(7, RECORD_MODEL), (8, RECORD_MODEL)]
    assert RECORD_MODEL == "rating-eval"
    assert res.size_text() == "80,154-81,020 train / 20 test"
    assert _result(_runs(), [7, 8]).size_text() == "80 train / 20 test"
    assert format_sizes([(5, 9), (3, 1), (4, 2)]) == "3-5 train / 1-9 test"


def test_format_two_seeds_layout_and_notes() -> None:
    runs = _runs()
    runs.loc[runs["model"] == "zeta", "rmse"] = [123456.0, 123458.0]
    res = _result(runs, [7, 8], notes=["NOTE-ONE"])
    text = res.format()
    lines = text.splitlines()
    assert lines[0].endswith("2 seeds (7, 8), mean ± std")
    label = "majority class (4 or 5, by split)"
    width = len(label) + 2
    header = lines[2]
    assert header.startswith("model".ljust(width) + " ")
    rmse_cell = "123457.000 ± 1.414"
    zeta = lines[3]
    assert zeta.startswith("zeta".ljust(width))
    assert f"  {rmse_cell}" in zeta  # each column as wide as its widest cell, plus 2
    assert len(header) == len(zeta)
    assert lines[4].startswith(label + "  ")
    assert lines[-1] == "NOTE-ONE"
    assert "NOTE-ONE" not in res.format(notes=False)
    assert "NOTE-ONE" not in repr(res)
    assert repr(res).startswith("RatingEvalResult(protocol='random')\n")


def test_format_one_seed_has_no_spread() -> None:
    both = _runs()
    runs = both.loc[both["seed"] == 7]
    res = RatingEvalResult(table=_table(runs, 1), runs=runs, n_train=8, n_test=2, seeds=[7])
    text = res.format(notes=False)
    assert "random_state 7" in text and "±" not in text
    lines = text.splitlines()
    # the name column is the longest name plus 2; each figure column its widest cell + 2
    assert lines[2] == "model" + " " * 15 + "  accuracy" + "    MAE" + "   RMSE" + "  fit s"
    assert lines[4] == "majority class (4)  " + "     0.250" + "  1.500" + "  1.750" + "    0.0"
