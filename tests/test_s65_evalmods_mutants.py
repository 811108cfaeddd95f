"""Mutation audit (session 65) of ``visrec.evaluation.model_scoring`` (``evaluate_model``
and its checks), ``visrec.evaluation.model_specs`` (``parse_model_specs``,
``model_class``, ``_make``) and ``visrec.evaluation.experiment_result`` (summary, table,
tuned note, JSON), aimed at what the session 50/60/62/63 audits left open.

60 hand-made mutants (30 in model_scoring, 14 in model_specs, 16 in
experiment_result), each run against the files that cover its module (model_scoring:
test_s63_scoring_mutants, test_s50_eval_mutants, test_s60_runner_mutants, test_runner;
model_specs: test_s62_params_mutants, test_s60_runner_mutants, test_runner;
experiment_result: those two plus test_s63_output_mutants, test_s54_output_failures,
test_s49_metrics_io). Total 60; killed before 45 (all 16 experiment_result and 13 of 14
model_specs mutants were already held); killed after 60 (these tests kill the other 15:
14 in model_scoring, 1 in model_specs); equivalent 0.

The gaps closed: k = 0 on a split without test users (metrics.top_k refuses it only
when a batch is scored), the backbone and NaN checks of the candidates' vectors, the
shape check of the scores, an exclude frame missing a column, the first NaN score
named by user and item, exclude pairs of the first user and of unknown items, a model
fitted on renamed items, a test item that is also a training item (hand-made splits
only: make_split keeps a pair once), the split / item_vectors type checks, and a
(name, params) pair whose params are no mapping.

Each test names the mutant(s) it kills. Fixtures are tiny generated splits and frames;
every figure asserted is worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_s63_scoring_mutants import _DESC, ITEMS, _cold, _Fixed, _fixed, _warm
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import ArgumentTypeError, VisrecError
from visrec.evaluation.model_scoring import _pairs_matrix
from visrec.evaluation.model_specs import parse_model_specs
from visrec.evaluation.protocols import Split
from visrec.evaluation.runner import evaluate_model
from visrec.models.popularity import Popularity


class _Pictures(Popularity):
    """Scores a new item by its vector's first coordinate, the same for every user; the
    backbone check is the base class's."""

    scores_new_items = True

    def new_item_scorer(self, vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda u: np.tile(vectors[:, 0].astype(np.float32), (len(u), 1))


def _vectors(first: list[float], backbone: str = "test") -> ItemVectors:
    return ItemVectors(
        ids=np.array(["c0", "c1", "c2"]),
        vectors=np.array([[x, 0.0] for x in first], dtype=np.float32),
        has_image=np.array([True, True, True]),
        meta={"backbone": backbone},
    )


# --- model_scoring -------------------------------------------------------------------


def test_k_of_zero_is_refused_before_any_user_is_scored() -> None:
    # M2: "k <= 0" -> "k < 0": metrics.top_k refuses k = 0 in the first batch, but a
    # split without test users has no batch, and k = 0 went through with NaN figures
    split = _warm()
    with pytest.raises(VisrecError, match=r"^k must be positive, got 0$"):
        evaluate_model(_fixed(split), split, k=0)
    empty = Interactions.from_frame(
        pd.DataFrame({"user_id": [], "item_id": []}, dtype=object),
        user_map=split.train.user_map,
        item_map=split.train.item_map,
    )
    with pytest.raises(VisrecError, match=r"^k must be positive, got 0$"):
        evaluate_model(_fixed(split), Split("warm", split.train, empty), k=0)
    with pytest.raises(VisrecError, match=r"^k must be positive, got -3$"):
        evaluate_model(_fixed(split), split, k=-3)


def test_vectors_of_another_backbone_are_refused_on_cold_items() -> None:
    # M8: dropping model.check_vector_meta(item_vectors.meta): the aligned arrays carry
    # no backbone, so the pictures of another network were scored as this one's
    split = _cold()
    model = _Pictures().fit(split.train)
    model.vector_meta_ = {"backbone": "resnet50"}
    with pytest.raises(VisrecError, match=r"the vectors are from 'clip'.*'resnet50'"):
        evaluate_model(model, split, k=1, item_vectors=_vectors([1.0, 2.0, 3.0], "clip"))
    # the same backbone is scored: c2 tops both lists (a and b miss)
    got = evaluate_model(model, split, k=1, item_vectors=_vectors([1.0, 2.0, 3.0], "resnet50"))
    assert (got["recall"], got["hit_rate"], got["coverage"]) == (0.0, 0.0, 1 / 3)
    assert got["auc"] == 0.25  # a: c0 loses to c1, c2 (0); b: c1 beats c0, not c2 (1/2)


def test_a_candidate_vector_holding_nan_is_refused_by_its_item_id() -> None:
    # M9: dropping _check_usable: the NaN vector reached the model and came back as a
    # NaN score (or, for a model without a NaN check, a silent rank)
    split = _cold()
    with pytest.raises(VisrecError, match=r"^item_vectors: 1 candidate item vector holds .*c1"):
        evaluate_model(
            _Pictures().fit(split.train), split, k=1, item_vectors=_vectors([1.0, np.nan, 3.0])
        )


def test_scores_of_the_wrong_shape_are_refused_naming_both_shapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # M17: dropping the shape check: a model returning a column short was ranked over
    # 4 of the 5 candidates (or failed in the metrics without naming the model)
    split = _warm()
    model = _fixed(split)
    monkeypatch.setattr(model, "score", lambda u, item_idx=None: _DESC[u][:, :4])
    with pytest.raises(
        VisrecError,
        match=r"^model 'popularity' returned scores of shape \(3, 4\), expected \(3, 5\)$",
    ):
        evaluate_model(model, split, k=2)


@pytest.mark.parametrize("columns", [["user_id"], ["item_id"], ["user", "item"]])
def test_an_exclude_frame_lacking_a_column_is_refused_naming_its_columns(
    columns: list[str],
) -> None:
    # M23: "{USER, ITEM} <= columns" -> "{USER} <= columns": a frame of user ids alone
    # failed later with a KeyError on item_id
    split = _warm()
    exclude = pd.DataFrame({c: ["a"] for c in columns})
    with pytest.raises(
        ArgumentTypeError,
        match=r"^exclude must be None or a DataFrame with user_id and item_id columns, "
        rf"got the columns \[{', '.join(repr(c) for c in columns)}\]$",
    ):
        evaluate_model(_fixed(split), split, k=2, exclude=exclude)
    with pytest.raises(ArgumentTypeError, match=r"item_id columns, got list$"):
        evaluate_model(_fixed(split), split, k=2, exclude=[("a", "i1")])  # type: ignore[arg-type]


def test_a_nan_score_names_the_first_user_and_item_holding_one() -> None:
    # M26 ('"fc"' -> '"c"': float scores skip the check, the metrics refuse a row of the
    # block without ids), M27 (the last NaN named, not the first), M28 (row and column
    # swapped: user 'c' and item 'i1' would be named as item 'i2' and user 'b')
    split = _warm()
    table = _DESC.copy()
    table[1, 2] = np.nan  # user b, item i2: the first NaN in row-major order
    table[2, 1] = np.nan  # user c, item i1
    with pytest.raises(
        VisrecError,
        match=r"^model 'popularity' scored NaN for user 'b' and item 'i2' \(2 NaN scores "
        r"among 3 users\); did its fit diverge\?",
    ):
        evaluate_model(_fixed(split, table), split, k=2)


def test_excluded_pairs_of_the_first_user_count_and_unknown_ids_are_dropped() -> None:
    # M31 ("ok = u >= 0": a known user's pair with an unknown item kept at column -1)
    # and M32 ("u > 0": the pairs of the user at index 0 dropped).
    # Hand-ranked split (i4 > i3 > ... for all), k = 2, exclude (a, i4): a's top
    # becomes [i3, i2] (i0 trained), b's stays [i4, i3], c's [i3, i1] (i2, i4 trained):
    # coverage i1..i4 = 4/5 (3/5 without the pair). a's AUC stays 0 (i1 below i2, i3),
    # so the other figures are those without exclusions.
    split = _warm()
    exclude = pd.DataFrame({"user_id": ["a", "zz", "b"], "item_id": ["i4", "i0", "nope"]})
    mask = _pairs_matrix(exclude, split.test).toarray()
    want = np.zeros((3, 5), dtype=np.float32)
    want[0, 4] = 1.0
    np.testing.assert_array_equal(mask, want)
    got = evaluate_model(_fixed(split), split, k=2, exclude=exclude)
    plain = evaluate_model(_fixed(split), split, k=2)
    assert got["coverage"] == 4 / 5
    assert plain["coverage"] == 3 / 5
    for key in ("auc", "recall", "ndcg", "hit_rate"):
        assert got[key] == plain[key], key


def test_a_model_fitted_on_other_item_ids_of_the_same_shape_is_refused() -> None:
    # M34: dropping "model.item_map_ == train.item_map": the same users and the same
    # pattern of pairs, but every item renamed, so its score columns are other items
    split = _warm()
    frame = split.train.to_frame()
    frame["item_id"] = frame["item_id"].astype(str) + "-other"
    items = IdMap(np.array([f"{i}-other" for i in ITEMS], dtype=object))
    renamed = Interactions.from_frame(frame, user_map=split.train.user_map, item_map=items)
    other = _Fixed(_DESC).fit(renamed)
    assert (other.seen_ != split.train.to_csr("binary")).nnz == 0
    with pytest.raises(
        VisrecError,
        match=r"^model 'popularity' was not fitted on this split's training rows \(its 3 "
        r"users x 5 items and 4 pairs are not split.train's 3 x 5 and 4\); fit it on",
    ):
        evaluate_model(other, split, k=2)


# --- model_specs ---------------------------------------------------------------------


@pytest.mark.parametrize("params", ["ab", [("factors", 8)], None, 3])
def test_a_pair_whose_params_are_no_mapping_is_refused_in_words(params: Any) -> None:
    # S7: dropping "isinstance(spec[1], Mapping)": dict("ab") raised Python's ValueError,
    # dict(None) a TypeError, and dict([("factors", 8)]) passed as if it were a dict
    with pytest.raises(
        VisrecError,
        match=r"^models: \('bpr', .*\) is not a model; give a name \('bpr'\), a \(name, params "
        r"dict\) pair",
    ):
        parse_model_specs([("bpr", params)])


# --- model_scoring, continued -----------------------------------------------------------


def test_a_test_item_also_trained_is_no_hit_and_no_miss() -> None:
    # M18: dropping "relevant &= ~mask": a hand-made split whose user a trained on i0 and
    # i2 and is tested on i0 and i1 (make_split never does this: it keeps a pair once).
    # Scores i0 > i1 > i2 > i3 > i4, k = 2: i0 and i2 are left out, top [i1, i3], one
    # hit of the one candidate positive i1: recall 1, NDCG 1, hit 1; AUC i1 beats i3, i4.
    # Kept as positive, i0 would halve Recall (1 of min(2, 2)) and cut NDCG to
    # 1 / (1 + 1/log2 3).
    users = IdMap(np.array(["a"], dtype=object))
    items = IdMap(np.array(ITEMS, dtype=object))
    train = Interactions.from_frame(
        pd.DataFrame({"user_id": ["a", "a"], "item_id": ["i0", "i2"]}),
        user_map=users,
        item_map=items,
    )
    test = Interactions.from_frame(
        pd.DataFrame({"user_id": ["a", "a"], "item_id": ["i0", "i1"]}),
        user_map=users,
        item_map=items,
    )
    split = Split(protocol="warm", train=train, test=test)
    table = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
    got = evaluate_model(_fixed(split, table), split, k=2)
    assert (got["auc"], got["recall"], got["ndcg"], got["hit_rate"]) == (1.0, 1.0, 1.0, 1.0)
    assert got["coverage"] == 2 / 5


def test_a_split_or_vectors_of_the_wrong_kind_are_named() -> None:
    # M38 (no Split check: AttributeError on .test) and M37 (no ItemVectors check: a
    # path given for the vectors went unnoticed on a warm split, which reads none)
    split = _warm()
    model = _fixed(split)
    with pytest.raises(
        ArgumentTypeError,
        match=r"^split must be a Split \(make_split\(data, protocol\)\), got tuple$",
    ):
        evaluate_model(model, (split.train, split.test), k=2)  # type: ignore[arg-type]
    with pytest.raises(
        ArgumentTypeError, match=r"^item_vectors must be an ItemVectors or None .*got str$"
    ):
        evaluate_model(model, split, k=2, item_vectors="vectors.parquet")  # type: ignore[arg-type]
