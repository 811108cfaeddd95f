"""Small mends: a one-seed difference below the shown digits said with its digits, not
as "0.0000"; RatingMF's text vectors refused in words and its all-zero rows read as no
picture; SimilarItems answers a repeated id once per time it is given; an epoch count no
run could finish refused before training; a save whose way is blocked by a file names
that file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_evaluation_report import _result
from test_s49_rating_mf import _inter, _vectors
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import ArgumentTypeError, InvalidParameterError, VisrecError
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import make_model
from visrec.report.evaluation import verdict
from visrec.report.rating import _visual_term
from visrec.report.verdict import signed_figure
from visrec.search.knn import SimilarItems

# -- 1. a one-seed figure below 0.0001 ------------------------------------------------


def test_signed_figure_gives_one_seeds_tiny_difference_its_digits() -> None:
    # 0.00003 to 4 decimals is 0.0000; one seed's difference is no tie: its first digit
    assert signed_figure(0.00003, ".4f", one=True) == "+0.00003"
    assert signed_figure(-0.00003, ".4f", one=True) == "-0.00003"
    assert signed_figure(-0.0000004, ".4f", one=True) == "-0.0000004"
    assert signed_figure(-0.00003, ".1%", one=True) == "-0.003%"  # 0.003 percent
    # exactly 0 and figures the spec shows are as before
    assert signed_figure(0.0, ".4f", one=True) == "0.0000"
    assert signed_figure(0.00016, ".4f", one=True) == "+0.0002"
    # a mean (several seeds) that rounds to 0 stays level at the shown digits
    assert signed_figure(0.00003, ".4f") == "0.0000"


def test_a_one_seed_verdict_says_a_tiny_gain_or_loss_with_its_sign() -> None:
    up = verdict(_result("warm", {"bpr": [0.30], "vbpr": [0.30003]}))[1]
    assert up == "+0.00003 Recall@20 on one seed: run --seeds 3 or more."
    down = verdict(_result("warm", {"bpr": [0.30], "vbpr": [0.29996]}))[1]
    assert down.startswith("-0.00004 Recall@20 on one seed")
    level = verdict(_result("warm", {"bpr": [0.30], "vbpr": [0.30]}))[1]
    assert level == "No difference: vbpr and bpr have the same Recall@20 on every seed."


def test_the_rating_reports_one_split_says_a_tiny_rmse_change_with_its_digits() -> None:
    runs = pd.DataFrame(
        {"seed": [0, 0], "model": ["mf", "vmf"], "rmse": [0.95, 0.95002]},
    )
    said = _visual_term(runs, "mf", "vmf")
    assert "+0.00002 RMSE on one seed (negative is better)" in said


# -- 2. RatingMF's vectors ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [str, object])
def test_rating_mf_refuses_vectors_that_are_not_numbers_in_words(dtype: type) -> None:
    inter = _inter()
    vectors = np.full((inter.n_items, 4), "a", dtype=dtype)
    with pytest.raises(
        ArgumentTypeError, match=r"^RatingMF: item vectors: vectors must be numbers.*'a'"
    ):
        RatingMF(n_epochs=2).fit(inter, vectors)
    # a TypeError too, as Python's own for a wrong kind of argument
    with pytest.raises(TypeError):
        RatingMF(n_epochs=2).fit(inter, vectors)


def test_rating_mf_reads_a_zero_row_as_no_picture_whatever_its_flag() -> None:
    # ItemVectors' rule: a row of zeros has no image. Standardised as an image, it got
    # the mean image's term (minus the mean over the spread): a picture it never had
    inter = _inter()
    v = _vectors(inter.n_items)
    v[2] = 0.0
    flags = np.ones(inter.n_items, dtype=bool)
    model = RatingMF(n_epochs=2).fit(inter, v, flags)
    assert model.item_visual_ is not None
    np.testing.assert_array_equal(model.item_visual_[2], 0.0)
    assert np.abs(model.item_visual_[[0, 1, 3]]).sum() > 0
    # the same fit as with the row flagged false
    flags[2] = False
    again = RatingMF(n_epochs=2).fit(inter, v, flags)
    np.testing.assert_array_equal(again.item_visual_, model.item_visual_)
    # every row zero though flagged: no image at all, said as both ways it can be
    with pytest.raises(
        VisrecError,
        match=r"none of the 8 items has an image vector \(every row has has_image false or "
        r"is all zeros\); use visual=False",
    ):
        RatingMF(n_epochs=2).fit(inter, np.zeros((inter.n_items, 4)), np.ones(8, dtype=bool))


# -- 3. SimilarItems and a repeated id -----------------------------------------------


def test_similar_items_answers_a_repeated_id_each_time_in_query_order() -> None:
    # kills the mutation "each distinct id once" in query(): the list lines up with
    # the ids given (zip(ids, result)), as the docstring says
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    iv = ItemVectors(np.array(["a", "b", "c", "d"]), vectors, np.ones(4, dtype=bool))
    got = SimilarItems(iv).query(["c", "a", "c"], n=1)
    assert [(r.query, r.ids) for r in got] == [("c", ["d"]), ("a", ["b"]), ("c", ["d"])]


# -- 4. an epoch count no run could finish --------------------------------------------


def _interactions() -> Interactions:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 20, 120), "item_id": rng.integers(0, 15, 120)}
    ).astype(str)
    return Interactions.from_frame(frame.drop_duplicates())


@pytest.mark.parametrize(
    ("name", "param"),
    [("bpr", "epochs"), ("vbpr", "epochs"), ("vbpr", "finetune_epochs"), ("visual-cf", "epochs")],
)
def test_an_epoch_count_no_run_could_finish_is_refused_before_training(
    name: str, param: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter = _interactions()
    ids = np.asarray(inter.item_map.ids)
    iv = ItemVectors(ids, _vectors(len(ids)).astype(np.float32), np.ones(len(ids), dtype=bool))
    model = make_model(name, **{param: 10**30})

    def trained(*_: object) -> None:  # it ran on for ever: fail instead of hanging
        raise AssertionError("training started")

    monkeypatch.setattr(type(model), "_fit_all", trained)
    with pytest.raises(
        InvalidParameterError,
        match=rf"^model '{name}': {param}=1\.00e30 is too large: that many passes over "
        rf"{len(inter)} training rows could not end within a year even at a billion rows "
        rf"a second; give a smaller {param}$",
    ):
        model.fit(inter, iv)


def test_rating_mf_refuses_an_epoch_count_no_run_could_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inter = _inter()
    model = RatingMF(visual=False, n_epochs=10**30)

    def trained(*_: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(RatingMF, "_fit_all", trained)
    with pytest.raises(InvalidParameterError, match=r"n_epochs=1\.00e30 is too large"):
        model.fit(inter)


def test_the_epoch_limit_is_a_year_of_a_billion_rows_a_second() -> None:
    year = 10**9 * 365 * 24 * 3600  # rows a year at a billion a second, by hand
    make_model("bpr", epochs=year // 1000)._check_epochs(1000)  # exactly a year: passes
    with pytest.raises(InvalidParameterError, match=r"epochs=31,536,000,000,001 is too large"):
        make_model("bpr", epochs=year // 1000 + 1)._check_epochs(1000)


# -- 5. a save blocked by a file ------------------------------------------------------


@pytest.mark.parametrize("below", ["model", "sub/model"])
def test_a_save_whose_way_a_file_blocks_names_that_file(tmp_path: Path, below: str) -> None:
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame))
    blocker = tmp_path / "f"
    blocker.write_text("a file")
    out = blocker / below
    with pytest.raises(VisrecError) as caught:
        model.save(out)
    assert str(caught.value) == (
        f"cannot save the model to {str(out)!r}: {str(blocker)!r} is a file, not a folder"
    )
    assert blocker.read_text() == "a file"
