"""evaluate_model / run_experiment / make_model argument checks (session 49): the
backbone of cold-items vectors, NaN named by id, arguments of the wrong kind named,
hyperparameters checked before any fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, checkerboard
from visrec.embed.store import ItemVectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.evaluation.protocols import cold_items_split, make_split
from visrec.evaluation.runner import evaluate_model, run_experiment
from visrec.models.registry import make_model


@pytest.fixture(scope="module")
def cold() -> tuple[object, object, ItemVectors]:
    """A cold-items split of the checkerboard and visual-cf fitted on its training rows
    with vectors of the backbone 'test'."""
    inter, iv = checkerboard()
    split = cold_items_split(inter, seed=0)
    model = make_model("visual-cf", **FAST["visual-cf"]).fit(split.train, iv)
    return split, model, iv


@pytest.fixture(scope="module")
def warm() -> tuple[object, object]:
    inter, _ = checkerboard()
    split = make_split(inter.to_frame(), "warm", seed=0)
    return split, make_model("popularity").fit(split.train)


def test_evaluate_refuses_cold_vectors_of_another_backbone(cold) -> None:
    split, model, iv = cold
    assert np.isfinite(evaluate_model(model, split, k=5, item_vectors=iv)["auc"])
    other = ItemVectors(iv.ids, iv.vectors, iv.has_image, meta={"backbone": "resnet18"})
    # the same width: before, scored as if they were the fit's vectors
    with pytest.raises(VisrecError, match="from 'resnet18', the model was trained on 'test'"):
        evaluate_model(model, split, k=5, item_vectors=other)


def test_evaluate_names_a_broken_candidate_vector_by_item_id(cold) -> None:
    split, model, iv = cold
    held = str(split.test.item_map.ids[1])
    v = iv.vectors.copy()
    v[list(iv.ids).index(held)] = np.nan
    broken = ItemVectors(iv.ids, v, iv.has_image, iv.meta)
    with pytest.raises(VisrecError, match=rf"1 candidate item vector holds NaN.*'{held}'"):
        evaluate_model(model, split, k=5, item_vectors=broken)


def test_evaluate_names_a_nan_score_by_user_and_item_id(warm, monkeypatch) -> None:
    split, model = warm
    test = split.test
    users = np.unique(np.asarray(test.user_idx))

    def score(u, item_idx=None):
        s = np.zeros((len(u), test.n_items), dtype=np.float32)
        if users[2] in u:
            s[list(u).index(users[2]), 3] = np.nan
        return s

    monkeypatch.setattr(model, "score", score)
    uid, iid = test.user_map.ids[users[2]], test.item_map.ids[3]
    with pytest.raises(VisrecError, match=rf"NaN for user '{uid}' and item '{iid}'"):
        evaluate_model(model, split, k=5, batch_size=2)  # the user is row 0 of its block


@pytest.mark.parametrize(
    ("args", "kw", "message"),
    [
        (("MODEL", [1, 2]), {}, "split must be a Split"),
        (([1], "SPLIT"), {}, "model must be a fitted Recommender"),
        (("MODEL", "SPLIT"), {"exclude": [("u1", "i2")]}, "exclude must be None or a DataFrame"),
        (
            ("MODEL", "SPLIT"),
            {"exclude": pd.DataFrame({"user": ["u1"]})},
            r"user_id and item_id columns, got the columns \['user'\]",
        ),
        (("MODEL", "SPLIT"), {"item_vectors": [[1.0]]}, "item_vectors must be an ItemVectors"),
        (("MODEL", "SPLIT"), {"k": "5"}, "k must be an integer, got '5'"),
    ],
)
def test_evaluate_names_an_argument_of_the_wrong_kind(warm, args, kw, message) -> None:
    split, model = warm
    args = tuple(
        {"MODEL": model, "SPLIT": split}.get(a, a) if isinstance(a, str) else a for a in args
    )
    with pytest.raises(TypeError, match=message) as info:
        evaluate_model(*args, **kw)
    assert isinstance(info.value, VisrecError)  # said in one line by the CLI


def test_run_experiment_checks_hyperparameters_before_any_fit() -> None:
    inter, _ = checkerboard()
    lines: list[str] = []
    with pytest.raises(InvalidParameterError, match="model 'bpr': factors must be >= 1"):
        run_experiment(
            inter, None, "warm", [("bpr", {"factors": 0})], seeds=1, progress=False,
            log=lines.append,
        )  # fmt: skip
    assert lines == []  # no split made, no popularity fitted first
    # a seed < 0 is said as one, not as the random_state bpr would get from it
    with pytest.raises(VisrecError, match="seed must be an integer >= 0, got -1"):
        run_experiment(inter, None, "warm", ["bpr"], seeds=[-1], progress=False)


@pytest.mark.parametrize("models", [None, 3, {"bpr": {"factors": 8}}])
def test_run_experiment_names_models_of_the_wrong_kind(models) -> None:
    inter, _ = checkerboard()
    with pytest.raises(TypeError, match="models must be") as info:
        run_experiment(inter, None, "warm", models, seeds=1, progress=False)
    assert isinstance(info.value, VisrecError)


@pytest.mark.parametrize("name", [["bpr"], None, 3])
def test_make_model_names_a_name_that_is_no_string(name) -> None:
    with pytest.raises(TypeError, match="the model name must be a string such as 'bpr'") as info:
        make_model(name)
    assert isinstance(info.value, VisrecError)
    assert ("make one model per name" in str(info.value)) == isinstance(name, list)


def test_run_experiment_names_data_and_seeds_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="data must be a DataFrame or Interactions, got list"):
        run_experiment([("u", "i")], None, "warm", seeds=1, progress=False)
    inter, _ = checkerboard()
    # a seed of the wrong kind is named, not hidden behind "seeds must be..."
    with pytest.raises(TypeError, match=r"seed must be an integer, got 1\.5"):
        run_experiment(inter, None, "warm", seeds=[1.5], progress=False)


def test_an_empty_exclude_frame_excludes_nothing_with_or_without_columns(warm) -> None:
    split, model = warm
    plain = evaluate_model(model, split, k=5)
    for empty in (pd.DataFrame(), pd.DataFrame(columns=["user_id", "item_id"])):
        assert evaluate_model(model, split, k=5, exclude=empty)["recall"] == plain["recall"]
