"""What a notebook user of the Python API met: float ids spelt two ways, a rating_eval
on vectors that match nothing, run_demo printing on stdout, hyperparameter errors that
were no ValueError, frames with a column twice, and reprs thousands of characters long."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.rating_eval import rating_eval
from visrec.data.interactions import IdMap, Interactions
from visrec.demo.pipeline import run_demo
from visrec.embed.extract import EmbedResult
from visrec.embed.store import ItemVectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.evaluation.protocols import make_split
from visrec.evaluation.runner import run_experiment
from visrec.models.bpr import BPR
from visrec.models.registry import make_model
from visrec.models.vbpr import VBPR


def _ratings(n_users: int = 30, n_items: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (f"u{u}", i, int(rng.integers(1, 6)))
        for u in range(n_users)
        for i in range(n_items)
        if rng.random() < 0.6
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def test_vectors_keyed_by_a_float_column_match_the_interactions() -> None:
    # pandas makes an id column with a gap float: 7.0 is item "7" in the id map, and now
    # in the vectors too (it was "7.0", so nothing matched)
    ids = np.array([1.0, 10.0, 7.0])
    vec = ItemVectors(ids, np.eye(3, 4), np.ones(3, bool))
    assert list(vec.ids) == ["1", "10", "7"]
    frame = pd.DataFrame({"user_id": ["a", "b"], "item_id": [7.0, 10.0]})
    assert list(Interactions.from_frame(frame).item_map.ids) == ["7", "10"]
    assert vec.has_image_for(["7", "10"]).all()
    assert list(ItemVectors(np.array([1.5, 2.0]), np.eye(2), np.ones(2, bool)).ids) == [
        "1.5",
        "2.0",
    ]  # a fraction anywhere: each as Python writes it, as the id map does


def test_rating_eval_refuses_vectors_of_none_of_the_rated_items() -> None:
    frame = _ratings()
    frame["item_id"] = frame["item_id"].map(lambda i: f"{i:03d}")  # '007'
    vec = ItemVectors(
        np.array([str(i) for i in range(12)], dtype=object), np.eye(12), np.ones(12, bool)
    )
    with pytest.raises(VisrecError, match=r"none of the 12 rated items has an image vector"):
        rating_eval(frame, vec)
    with pytest.raises(
        VisrecError, match=r"12 of them are in the vectors spelt otherwise \('001' as '1'"
    ):
        rating_eval(frame, vec)
    frame["item_id"] = frame["item_id"].astype(int).astype(str)
    assert len(rating_eval(frame, vec).runs) > 0  # the same vectors, ids as written


def test_run_demo_prints_on_stderr_with_progress_and_nowhere_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kw = {"n_items": 8, "n_users": 4, "image_size": 32, "recommenders": False}
    run_demo(tmp_path / "a", report_path=tmp_path / "a.html", progress=False, **kw)
    assert capsys.readouterr() == ("", "")
    run_demo(tmp_path / "b", report_path=tmp_path / "b.html", progress=True, **kw)
    out, err = capsys.readouterr()
    assert out == "" and "generating a catalogue of 8 product images" in err
    lines: list[str] = []
    run_demo(
        tmp_path / "c", report_path=tmp_path / "c.html", progress=False, echo=lines.append, **kw
    )
    assert any(line.startswith("embedding 8 images") for line in lines)
    assert capsys.readouterr() == ("", "")


def test_hyperparameter_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="BPR has no hyperparameter 'foo'"):
        BPR().set_params(foo=1)
    with pytest.raises(InvalidParameterError, match="has no hyperparameter 'foo'"):
        make_model("bpr", foo=1)
    frame = Interactions.from_frame(_ratings()[["user_id", "item_id"]].astype(str))
    with pytest.raises(ValueError, match="lr must be"):
        BPR(lr=-1.0, epochs=1).fit(frame)
    with pytest.raises(ValueError, match="must be a number >= 0 or 'auto'"):
        BPR(reg="bogus", epochs=1).fit(frame)
    vec = ItemVectors(
        np.array([str(i) for i in range(12)], dtype=object), np.eye(12), np.ones(12, bool)
    )
    with pytest.raises(ValueError, match=r"item_dropout must be in \[0, 1\)"):
        VBPR(item_dropout=1.5, epochs=1).fit(frame, vec)
    assert issubclass(InvalidParameterError, VisrecError)  # the CLI's one-line error


def test_one_model_twice_says_how_to_label_the_second() -> None:
    frame = _ratings()[["user_id", "item_id"]]
    with pytest.raises(VisrecError, match=r"listed twice.*'bpr@b'"):
        run_experiment(frame, None, "warm", [BPR(epochs=1), BPR(epochs=2)], seeds=1, progress=False)
    res = run_experiment(
        frame,
        None,
        "warm",
        [("bpr", {"epochs": 1}), ("bpr@b", {"epochs": 2})],
        seeds=1,
        progress=False,
    )
    assert list(res.summary().index) == ["popularity", "bpr", "bpr@b"]


@pytest.mark.parametrize("col", ["item_id", "rating"])
def test_a_column_given_twice_is_named(col: str) -> None:
    frame = _ratings()
    twice = pd.concat([frame, frame[[col]]], axis=1)
    calls = [
        lambda: Interactions.from_frame(twice),
        lambda: run_experiment(twice, None, "warm", seeds=1, progress=False),
        lambda: make_split(twice, "warm"),
        lambda: rating_eval(twice, None),
    ]
    for call in calls:
        with pytest.raises(VisrecError, match=f"has 2 columns named '{col}'; keep one"):
            call()


def test_reprs_stay_short_on_large_objects() -> None:
    n = 5000
    ids = np.array([f"item{i}" for i in range(n)], dtype=object)
    idmap = IdMap(ids)
    assert repr(idmap) == "IdMap(5,000 ids: 'item0', 'item1', 'item2', ...)"
    users = np.arange(n) % 2000
    inter = Interactions.from_frame(pd.DataFrame({"user_id": users, "item_id": ids}))
    assert repr(inter) == "Interactions(2,000 users x 5,000 items, 5,000 rows)"
    vec = ItemVectors(ids, np.ones((n, 8)), np.arange(n) % 2 == 0, meta={"backbone": "x"})
    assert repr(vec) == "ItemVectors(5,000 items x 8, 2,500 with an image, backbone='x')"
    res = EmbedResult(list(ids), [("item1", "p", "bad")] * 100, 10, n - 10, 1.25, None, "b", "onnx")
    assert repr(res) == (
        "EmbedResult(5,000 items: 4,990 computed, 10 reused, 100 failed; 1.2 s, "
        "backbone='b', engine='onnx', output=None)"
    )
    split = make_split(_ratings(), "warm")
    assert len(repr(split)) < 400 and "Interactions(30 users" in repr(split)
    exp = run_experiment(_ratings(), None, "warm", seeds=1, progress=False)
    assert repr(exp).splitlines()[0] == "ExperimentResult(protocol='warm', k=20)"
    assert "Recall@20" in repr(exp) and repr(exp).endswith(exp.table())
    ev = rating_eval(_ratings(), None)
    assert repr(ev).startswith("RatingEvalResult(protocol='random')\n") and "global mean" in repr(
        ev
    )
