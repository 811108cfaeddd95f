"""Session 66 mutation audit of the ranking helpers (``_ranking``, ``models._top_n``,
``_holdout``) and of visual-cf's ``profile_weight="auto"`` validation (the fold minimum
size, the folds' share, averaging across folds, the users a fold scores, ``_decide``).

Mutants: 46 (23 in ``_ranking``, 6 in ``models._top_n``, 6 in ``_holdout``, 11 in the
auto validation). Killed before 31 (all holdout ones; the validation ones run against
test_visual_cf_profile's quick auto tests only, the minimum-size one against every auto
and fold test); killed after 42; equivalent 4:
- ``k == 0`` dropped from the early return: k is 0 only with no columns (n is
  positive), and the general path returns the same empty lists then.
- ``masked`` ignored (the mask applied again): the caller already set those entries to
  -inf, so the key is the same.
- ``hits_in_top`` reading the padding's -1 as it is, not as column 0: it reads the last
  column instead, and ``& valid`` clears it either way.
- the CSR read densified with ``todense`` instead of ``toarray``: the same values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from test_visual_cf_profile import AUTO, _shop
from visrec._ranking import recall_rows, top_candidates
from visrec.data.interactions import Interactions
from visrec.models import visual_cf
from visrec.models.visual_cf import MIN_FOLD_ITEMS, PROFILE_WEIGHTS, VisualCF, _decide


def _fake_folds(
    monkeypatch: pytest.MonkeyPatch, per_fold: list[list[float]] | None = None
) -> list[dict[str, Any]]:
    """Replace each fold's BPR refit and scoring by given Recall@20 values (the same
    values for every fold when ``per_fold`` is None), with sign counts that make any
    gain significant; record what each fold was given."""
    calls: list[dict[str, Any]] = []

    def scores(self: VisualCF, *args: Any) -> np.ndarray:
        _, _, _, _, learn, held, inner, test, users = args
        calls.append({"learn": learn.copy(), "held": np.asarray(held), "inner": inner})
        calls[-1].update(test=test, users=np.asarray(users))
        vals = per_fold[len(calls) - 1] if per_fold else [0.2, 0.1, 0.1, 0.1]
        n = len(vals)
        return np.asarray([vals, [0] + [100] * (n - 1), [0] * n], dtype=np.float64)

    monkeypatch.setattr(VisualCF, "_fold_scores", scores)
    return calls


def test_auto_averages_the_three_folds_and_picks_the_better_weight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kills: `recall /= len(folds)` dropped (sums > 1 stored as Recall@20), and
    # `recall += fold` as `recall = fold` (the last fold alone, which favours weight 0)
    folds = [[0.1, 0.1, 0.3, 0.1], [0.1, 0.1, 0.3, 0.1], [0.2, 0.1, 0.1, 0.1]]
    calls = _fake_folds(monkeypatch, folds)
    inter, iv = _shop(visual=True)
    model = VisualCF(**AUTO).fit(inter, iv)
    assert len(calls) == 3
    mean = np.mean(folds, axis=0)
    assert model.profile_validation_ == {
        f"profile_weight={w:g}": round(float(r), 4)
        for w, r in zip(PROFILE_WEIGHTS, mean, strict=True)
    }
    assert model.chosen_profile_weight() == 1.0 and float(model.profile_scale_[0]) > 0


def test_auto_holds_out_a_fifth_of_the_items_per_fold_disjointly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kills: the items split in PROFILE_FOLDS parts (a third held out per fold) instead
    # of fifths of which three are used
    calls = _fake_folds(monkeypatch)
    inter, iv = _shop(visual=True)
    VisualCF(**AUTO).fit(inter, iv)
    n = int(calls[0]["learn"].sum())
    held = [c["held"] for c in calls]
    assert all(n // 5 <= len(h) <= -(-n // 5) for h in held)  # a fifth each
    assert len(np.unique(np.concatenate(held))) == sum(len(h) for h in held)
    assert all(calls[0]["learn"][h].all() for h in held)


def _first_items(n_items: int) -> tuple[Interactions, Any]:
    """The visual shop's interactions with only ``n_items`` of its items taken (the
    catalogue and its pictures kept)."""
    inter, iv = _shop(visual=True)
    frame = inter.to_frame()
    taken = pd.unique(frame["item_id"])[:n_items]
    kept = frame[frame["item_id"].isin(taken)]
    return Interactions.from_frame(kept, item_map=inter.item_map), iv


def test_auto_validates_from_five_times_the_fold_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: the minimum `5 * MIN_FOLD_ITEMS` items as `MIN_FOLD_ITEMS` (folds of fewer
    # than MIN_FOLD_ITEMS candidates, whose Recall@20 says little)
    calls = _fake_folds(monkeypatch)
    least = 5 * MIN_FOLD_ITEMS
    model = VisualCF(**AUTO).fit(*_first_items(least - 1))
    assert calls == [] and model.profile_validation_ == {}
    assert "no validation possible" in (model.profile_note() or "")
    model = VisualCF(**AUTO).fit(*_first_items(least))
    assert len(calls) == 3 and len(model.profile_validation_) == 4


def test_a_fold_scores_only_users_with_another_item_left(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: the fold's users taken as those with a held-out item only (a user all of
    # whose items are held out has no profile: the same recall for every weight, which
    # dilutes the gain the decision compares)
    inter, iv = _shop(visual=True)
    frame = inter.to_frame()
    lone = pd.DataFrame(
        {"user_id": [f"x{i}" for i in range(300)], "item_id": [f"i{i}" for i in range(300)]}
    )
    more = Interactions.from_frame(pd.concat([frame, lone]), item_map=inter.item_map)
    calls = _fake_folds(monkeypatch)
    VisualCF(**AUTO).fit(more, iv)
    assert len(calls) == 3
    for c in calls:
        users = c["users"]
        assert len(users) > 0
        assert (np.diff(c["inner"].indptr)[users] > 0).all()
        assert (np.diff(c["test"].indptr)[users] > 0).all()


def test_decide_keeps_the_first_of_equal_best_weights_and_a_gain_of_exactly_ten_percent() -> None:
    # kills: ties going to the last best weight; `<` as `<=` at the margin
    s = {"profile_weight=0": 0.1, "profile_weight=0.5": 0.2, "profile_weight=1": 0.2}
    assert _decide({**s, "profile_weight=2": 0.1}) == 0.5
    assert _decide({"profile_weight=0": 0.5, "profile_weight=1": 0.55}) == 1.0
    assert _decide({"profile_weight=0": 0.5, "profile_weight=1": 0.5499}) == 0.0
    assert _decide({}) == 0.0
    # no recall at all at weight 0: any weight that finds something is kept
    assert _decide({"profile_weight=0": 0.0, "profile_weight=2": 0.01}) == 2.0
    assert _decide({"profile_weight=0": 0.0, "profile_weight=2": 0.0}) == 0.0


def test_fold_recall_averages_over_users_across_blocks() -> None:
    # kills: `total / len(users)` as `total / len(ub)` (the last block's size): a
    # million held-out items score two users per block
    rng = np.random.default_rng(0)
    n_items, n_users = 1_000_000, 3
    p = rng.normal(size=(n_users, 2)).astype(np.float32)
    mq = rng.normal(size=(n_items, 2)).astype(np.float32)
    mb = np.zeros(n_items, dtype=np.float32)
    pictures = np.zeros((n_items, 2), dtype=np.float32)
    profiles = np.zeros((n_users, 2), dtype=np.float32)
    scores = p @ mq.T
    top, _ = top_candidates(scores, 20)
    # user u's relevant items: its top 20 for user 0, none of them for the others
    rel = np.zeros((n_users, n_items), dtype=bool)
    rel[0, top[0]] = True
    rel[1, top[1][:5]] = True
    rel[2, np.argsort(scores[2])[:10]] = True  # its 10 worst
    want = float(np.nanmean(recall_rows(top, rel)))
    assert want == pytest.approx((1 + 1 + 0) / 3)
    got = visual_cf._fold_recall(
        p, mq, mb, 1.0, profiles, pictures, sp.csr_matrix(rel), np.arange(n_users)
    )
    np.testing.assert_allclose(got[0], [want] * len(PROFILE_WEIGHTS))


def test_padding_is_never_a_hit_in_a_sparse_relevance_matrix() -> None:
    # kills: `& valid` dropped on the CSR path (padding -1 reads column 0 as column 0
    # of a CSR: a hit where item 0 is relevant); the dense path already had a test
    from visrec._ranking import hits_in_top

    rel = np.array([[True, False, True], [True, False, False]])
    top = np.array([[2, -1, -1], [-1, -1, -1]])
    want = [[True, False, False], [False, False, False]]
    assert hits_in_top(top, sp.csr_matrix(rel)).tolist() == want
    assert hits_in_top(top, rel).tolist() == want
    np.testing.assert_array_equal(recall_rows(top, sp.csr_matrix(rel)), [0.5, 0.0])


def test_recall_of_a_single_relevant_item_found_is_one() -> None:
    # kills: the denominator's floor 1 raised to 2 (a user with one test item found
    # counted at recall 0.5)
    rel = np.array([[False, True, False, False], [True, True, True, False]])
    top = np.array([[1, 0], [3, 2]])
    for r in (rel, sp.csr_matrix(rel)):
        np.testing.assert_array_equal(recall_rows(top, r), [1.0, 0.5])


@pytest.mark.parametrize("n", [True, False, np.bool_(True), 2.0, "3"])
def test_a_list_length_that_is_not_an_integer_is_refused(n: object) -> None:
    # kills: the `isinstance(n, bool)` check dropped (True taken as n=1)
    from visrec.errors import VisrecError
    from visrec.models._top_n import check_list_length, top_n

    with pytest.raises(VisrecError, match="n must be a positive integer"):
        check_list_length(n)
    with pytest.raises(VisrecError, match="n must be a positive integer"):
        top_n(np.array([[1.0, 2.0]]), n)  # type: ignore[arg-type]


def test_top_n_keeps_an_infinite_best_score_and_drops_nan() -> None:
    # kills: NaN mapped to -inf by a nan_to_num that also turns +inf into the largest
    # float (the listed score no longer the model's); NaN never takes the top
    from visrec.models._top_n import top_n

    s = np.array([[np.nan, 1.0, np.inf, -np.inf, 2.0]])
    idx, val = top_n(s, 10)
    assert idx.tolist() == [[2, 4, 1, -1, -1]]
    assert val[0, 0] == np.inf and val[0, 1:3].tolist() == [2.0, 1.0]
    assert np.isneginf(val[0, 3:]).all()
