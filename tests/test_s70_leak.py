"""Session 70 honesty audit of the evaluation: nothing of the test side reaches a fit,
and one model's figures do not depend on which other models or seeds are run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.analysis import rating_eval as RE
from visrec.embed.store import ItemVectors
from visrec.evaluation.model_specs import _make
from visrec.evaluation.protocols import make_split
from visrec.evaluation.runner import run_experiment
from visrec.models import visual_cf

FAST: dict[str, dict[str, Any]] = {
    "bpr": {"epochs": 2, "factors": 4},
    "vbpr": {"epochs": 2, "factors": 4, "visual_factors": 2},
    "visual-cf": {"epochs": 2, "factors": 4},
}
METRIC_COLS = ["auc", "recall", "ndcg", "hit_rate", "coverage", "n_test_users", "n_candidates"]


def _data(n_users: int = 50, n_items: int = 60, dim: int = 6) -> tuple[pd.DataFrame, ItemVectors]:
    """Interactions with a popularity skew and timestamps, and one vector per item."""
    rng = np.random.default_rng(0)
    weights = np.linspace(3.0, 1.0, n_items)
    rows = []
    for u in range(n_users):
        items = rng.choice(
            n_items, int(rng.integers(4, 12)), replace=False, p=weights / weights.sum()
        )
        rows += [
            (f"u{u}", f"i{i}", float(rng.integers(1, 6)), 100 * u + t) for t, i in enumerate(items)
        ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    vectors = ItemVectors(
        ids=np.array([f"i{i}" for i in range(n_items)], dtype=object),
        vectors=rng.normal(size=(n_items, dim)).astype(np.float32),
        has_image=np.ones(n_items, dtype=bool),
        meta={"backbone": "test"},
    )
    return frame, vectors


def _figures(res: Any, model: str) -> pd.DataFrame:
    runs = res.runs
    return runs[runs["model"] == model][["seed", *METRIC_COLS]].reset_index(drop=True)


@pytest.mark.parametrize("protocol", ["warm", "cold-items"])
def test_a_models_figures_do_not_depend_on_the_other_models_listed(protocol: str) -> None:
    # the split comes from the seed alone and each model's random_state is the seed:
    # adding models before it (which draw random numbers of their own) changes nothing
    frame, vectors = _data()
    alone = run_experiment(
        frame, vectors, protocol, models=[("bpr", FAST["bpr"])], seeds=[0, 1], progress=False
    )
    crowd = run_experiment(
        frame, vectors, protocol, seeds=[0, 1], progress=False,
        models=[("visual-cf", FAST["visual-cf"]), ("vbpr", FAST["vbpr"]), ("bpr", FAST["bpr"])],
    )  # fmt: skip
    for model in ("popularity", "bpr"):
        pd.testing.assert_frame_equal(_figures(alone, model), _figures(crowd, model))
    assert len(_figures(crowd, "vbpr")) == 2


def test_a_seeds_figures_do_not_depend_on_the_other_seeds_run() -> None:
    frame, vectors = _data()
    models = [("vbpr", FAST["vbpr"]), ("bpr", FAST["bpr"])]
    both = run_experiment(frame, vectors, "warm", models=models, seeds=[0, 1], progress=False)
    one = run_experiment(frame, vectors, "warm", models=models, seeds=[1], progress=False)
    for model in ("popularity", "vbpr", "bpr"):
        late = _figures(both, model)
        pd.testing.assert_frame_equal(
            late[late["seed"] == 1].reset_index(drop=True), _figures(one, model)
        )


@pytest.mark.parametrize(
    ("name", "extra"),
    [("vbpr", {}), ("visual-cf", {}), ("visual-cf", {"profile_weight": 1.0})],
)
def test_a_fit_reads_no_vector_of_a_held_out_cold_item(
    name: str, extra: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the vector scaling, the ridge map, reg="auto"'s validation and the profiles (and
    # profile_weight="auto"'s folds) are fitted on training items only: the cold items'
    # vectors (the candidates) may be anything without moving a fitted number
    monkeypatch.setattr(visual_cf, "MIN_FOLD_ITEMS", 2)  # folds on 48 training items
    frame, vectors = _data()
    split = make_split(frame, "cold-items", seed=0, eligible_items=vectors.ids)
    cold = np.isin(vectors.ids, split.candidate_ids)
    assert cold.sum() == len(split.candidate_ids) > 0
    moved = vectors.vectors.copy()
    moved[cold] = 10.0 * np.random.default_rng(5).normal(size=(int(cold.sum()), moved.shape[1])) + 3
    other = ItemVectors(
        ids=vectors.ids, vectors=moved, has_image=vectors.has_image, meta=vectors.meta
    )
    params = {**FAST[name], **extra, "reg": "auto"}
    a = _make(name, params, 0).fit(split.train, vectors)
    b = _make(name, params, 0).fit(split.train, other)
    if name == "visual-cf" and not extra:
        assert a.profile_validation_  # the folds ran
    users = np.arange(split.train.n_users)
    np.testing.assert_array_equal(a.score(users), b.score(users))
    probe = vectors.vectors[cold]
    np.testing.assert_array_equal(a.new_item_scorer(probe)(users), b.new_item_scorer(probe)(users))


@pytest.mark.parametrize("protocol", ["random", "cold-items"])
def test_rating_eval_predictions_read_no_test_rating(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # majority class, global / item / user means, the image KNN and both MFs are fitted
    # on the training ratings: other test ratings change no prediction
    frame, vectors = _data()
    train_idx, test_idx = RE.split_rows(frame, protocol, 0.2, 0, vectors.ids)
    train, test = frame.iloc[train_idx], frame.iloc[test_idx]
    other = test.assign(rating=5.0)  # another mean, another majority, other item means
    assert other["rating"].mean() != test["rating"].mean()
    seen: list[np.ndarray] = []

    def keep(pred: np.ndarray, truth: np.ndarray, levels: np.ndarray) -> dict[str, float]:
        seen.append(np.asarray(pred, dtype=np.float64).copy())
        return {"accuracy": 0.0, "mae": 0.0, "rmse": 0.0}

    monkeypatch.setattr(RE, "rating_metrics", keep)
    mf = {"n_epochs": 5, "n_factors": 2}
    RE._eval_split(train, test, vectors, 3, mf, lambda _n: None)
    first, seen[:] = list(seen), []
    RE._eval_split(train, other, vectors, 3, mf, lambda _n: None)
    assert len(first) == len(seen) == 7
    for a, b in zip(first, seen, strict=True):
        np.testing.assert_array_equal(a, b)
