"""Evaluation-core cases pinned by the session 50 mutation audit (metrics, protocols,
scoring, significance): each test names the mutation it kills; the rest of the ~70
mutations were already killed by existing tests or are equivalent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.evaluation.protocols import Split
from visrec.evaluation.runner import evaluate_model
from visrec.evaluation.significance import p_figure, p_said
from visrec.models.popularity import Popularity


class _FirstCoordinate(Popularity):
    """Scores a new item by its vector's first coordinate (the same for every user)."""

    scores_new_items = True

    def check_vector_meta(self, meta: Any) -> None:
        pass

    def new_item_scorer(self, vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda u: np.tile(vectors[:, 0].astype(np.float32), (len(u), 1))


def test_a_cold_candidate_without_a_picture_ranks_last_not_at_zero() -> None:
    # kills model_scoring.py:146 "-inf -> 0" for cold candidates without an image vector.
    # Held-out c0, c1, c2 score -1, -2 and (no vector) -inf; u0's one test item is c0.
    # Top-1 = [c0]: Recall 1, NDCG 1, coverage 1/3; AUC: c0 beats c1 and c2, 2/2 = 1.
    # Scored 0, c2 would top the list (Recall 0) and tie no one: AUC (1 + 0) / 2 = 0.5.
    train = Interactions.from_frame(
        pd.DataFrame({"user_id": ["u0", "u0", "u1"], "item_id": ["t1", "t2", "t1"]})
    )
    test = Interactions.from_frame(
        pd.DataFrame({"user_id": ["u0"], "item_id": ["c0"]}),
        user_map=train.user_map,
        item_map=IdMap(["c0", "c1", "c2"]),
    )
    split = Split(protocol="cold-items", train=train, test=test)
    iv = ItemVectors(
        ids=np.array(["c0", "c1", "c2"]),
        vectors=np.array([[-1.0, 0.0], [-2.0, 0.0], [0.0, 0.0]], dtype=np.float32),
        has_image=np.array([True, True, False]),
        meta={"backbone": "test"},
    )
    got = evaluate_model(_FirstCoordinate().fit(train), split, k=1, item_vectors=iv)
    assert (got["recall"], got["ndcg"], got["auc"]) == (1.0, 1.0, 1.0)
    assert got["coverage"] == 1 / 3
    assert (got["n_test_users"], got["n_candidates"]) == (1.0, 3.0)


def test_a_p_of_exactly_one_thousandth_is_written_as_a_figure() -> None:
    # kills significance.py:472 "p < 0.001 -> p <= 0.001": 0.001 is not below 0.001
    assert p_figure(0.001) == "0.001"
    assert p_said(0.001) == "p = 0.001"
    assert p_said(0.000999) == "p < 0.001"
