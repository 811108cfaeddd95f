"""The verdict's sentences where a model has no figure or is unknown, and its calls at
the edges of the sign test (ties, one seed, a pick of several models, the cold-start
count), and RatingMF's reading of image rows (a zero row flagged as an image, an unrated
item's picture), as a mutation audit of visrec.report.verdict and rating_mf found them
unpinned."""

from __future__ import annotations

from typing import Any

import numpy as np

from test_evaluation_report import _result
from test_rating_models import planted
from visrec.data.interactions import Interactions
from visrec.models.rating_mf import RatingMF
from visrec.report.verdict import Picks, seeds_for_call, sign_test_said, verdict


def _no_figure(res: dict[str, Any], model: str, *seeds: int) -> dict[str, Any]:
    """``res`` with ``model``'s Recall, NDCG and HitRate null on ``seeds`` (all if none)."""
    for run in res["runs"]:
        if run["model"] == model and (not seeds or run["seed"] in seeds):
            run["recall"] = run["ndcg"] = run["hit_rate"] = None
    return res


def test_a_baseline_without_figures_is_named_not_silently_dropped() -> None:
    res = _no_figure(_result("warm", {"bpr": [0.3, 0.31, 0.32], "vbpr": [0.4, 0.41, 0.42]}), "bpr")
    assert verdict(res) == [
        "bpr ran but has no Recall@20 on any seed (no user with a test item could be scored).",
        "Best with pictures: vbpr, Recall@20 0.410.",
    ]


def test_popularity_is_not_called_the_best_without_pictures_unsaid() -> None:
    many = {"popularity": [0.1, 0.1, 0.1], "bpr": [0.3, 0.31, 0.32], "vbpr": [0.4, 0.41, 0.42]}
    lines = verdict(_no_figure(_result("warm", many), "bpr"))
    assert lines[0].startswith("bpr ran but has no Recall@20 on any seed")
    assert lines[1].startswith("Best with pictures: vbpr, Recall@20 0.410; best without: popul")


def test_models_with_and_without_pictures_lacking_figures_are_named_in_run_order() -> None:
    res = _result("warm", {"bpr": [0.3, 0.31], "popularity": [0.1, 0.1], "vbpr": [0.4, 0.41]})
    res = _no_figure(_no_figure(res, "vbpr"), "bpr")
    assert verdict(res) == [
        "bpr, vbpr ran but have no Recall@20 on any seed (no user with a test item could be "
        "scored)."
    ]


def test_a_plain_model_without_figures_still_gets_the_add_a_picture_model_advice() -> None:
    res = _no_figure(_result("warm", {"bpr": [0.3, 0.31], "popularity": [0.1, 0.1]}), "bpr")
    lines = verdict(res)
    assert lines[0].startswith("bpr ran but has no Recall@20")
    assert lines[1].startswith("No model that reads pictures ran: give --vectors and add ")
    assert len(lines) == 2  # no popularity line: no other model has a figure


def test_an_unknown_model_is_not_said_to_read_no_pictures() -> None:
    res = _result("warm", {"cornac-vbpr": [0.4, 0.41, 0.42], "bpr": [0.3, 0.31, 0.32]})
    lines = verdict(res)
    assert lines[0].startswith("Not classed (unknown to visrec")
    assert lines[1].startswith("No model known to read pictures ran: give --vectors and add ")
    known = verdict(_result("warm", {"bpr": [0.3, 0.31, 0.32]}))
    assert known[0].startswith("No model that reads pictures ran: ")


def test_one_seed_each_way_and_level() -> None:
    up = verdict(_result("warm", {"bpr": [0.3], "vbpr": [0.4]}))
    assert up[1] == "+0.1000 Recall@20 on one seed: run --seeds 3 or more."
    # the best of two picture models needs a fourth seed for a call up, not one down
    two = {"bpr": [0.4], "vbpr": [0.3], "vbpr@x": [0.2]}
    assert verdict(_result("warm", two))[1] == (
        "-0.1000 Recall@20 on one seed: run --seeds 3 or more."
    )
    two_up = {"bpr": [0.3], "vbpr": [0.4], "vbpr@x": [0.35]}
    assert verdict(_result("warm", two_up))[1] == (
        "+0.1000 Recall@20 on one seed: run --seeds 4 or more."
    )
    level = verdict(_result("warm", {"bpr": [0.4], "vbpr": [0.4]}))
    assert level[1] == "No difference: vbpr and bpr have the same Recall@20 on every seed."


def test_a_tie_below_the_threshold_is_no_seed_either_way() -> None:
    res = _result("warm", {"bpr": [0.3, 0.31, 0.32], "vbpr": [0.3 + 5e-10, 0.41, 0.42]})
    assert (
        "better on 2 of 3 seeds, equal on 1; sign test p = 0.250; run --seeds 4"
        in (verdict(res)[1])
    )


def test_a_significant_call_over_eight_seeds_is_not_weak() -> None:
    call = verdict(_result("warm", {"bpr": [0.3] * 8, "vbpr": [0.31] * 8}))[1]
    assert call == (
        "Pictures help here: +0.0100 Recall@20 (+3.3%) on average, better on 8 of 8 seeds; "
        "sign test p = 0.004. (bpr itself moves 0.0000 (std) between the splits.)"
    )


def test_a_call_down_smaller_than_the_spread_is_by_little() -> None:
    res = _result("warm", {"bpr": [0.3, 0.35, 0.4], "vbpr": [0.299, 0.349, 0.399]})
    assert verdict(res)[1].startswith(
        "Pictures do not help here, by little: -0.0010 Recall@20 (-0.3%) on average, "
        "better on 0 of 3 seeds; sign test p = 0.125. Weak evidence (0.250 two-sided"
    )


def test_seeds_for_a_call_count_ties_and_the_pick() -> None:
    assert seeds_for_call(2, 0, 1) == 4
    assert seeds_for_call(2, 0, 1, Picks(up=2)) == 5
    assert seeds_for_call(0, 2, 0, Picks(up=2)) == 3  # a call down needs no pick's allowance
    assert seeds_for_call(1, 1, 1) == 7


def test_cold_auc_level_on_every_split_is_at_chance() -> None:
    res = _result("cold-items", {"popularity": [0.1] * 3, "vbpr": [0.1] * 3},
                  {"popularity": [0.5] * 3, "vbpr": [0.5] * 3})  # fmt: skip
    assert verdict(res)[1] == (
        "Best with pictures: vbpr, AUC 0.500 (at chance), Recall@20 0.100, about that of a "
        "random order (0.100)."
    )


def test_cold_auc_with_a_split_missing_says_how_many_have_it() -> None:
    res = _result("cold-items", {"popularity": [0.1] * 3, "vbpr": [0.2] * 3},
                  {"popularity": [0.5] * 3, "vbpr": [0.7, 0.6, 0.8]})  # fmt: skip
    res["runs"][4]["auc"] = None
    assert verdict(res)[1] == (
        "Best with pictures: vbpr, AUC 0.750 (too few seeds to call: above 0.5 on 2 of 2 "
        "splits of this data; sign test p = 0.250; only 2 of the 3 seeds have its AUC (a "
        "call needs 3): see why a model has none on the others), Recall@20 0.200, 2.0 times "
        "that of a random order (0.100)."
    )


def test_no_relative_change_is_said_against_a_baseline_of_zero() -> None:
    res = _result("warm", {"bpr": [0.0, 0.0, 0.0], "vbpr": [0.1, 0.1, 0.1]})
    assert verdict(res)[1].startswith(
        "Pictures help here: +0.1000 Recall@20 on average, better on 3 of 3 seeds; "
    )


def test_a_level_count_quotes_the_pick_of_the_picture_side() -> None:
    picks = Picks(up=2, down=1, up_what="picture models", down_what="models without")
    assert sign_test_said(1, 1, picks) == (
        "; sign test p = 0.750, 1.000 for the best of 2 picture models, picked on these seeds"
    )


def _small_visual_fit(
    vectors: np.ndarray, has_image: np.ndarray | None = None, extra: tuple[str, ...] = ()
) -> np.ndarray:
    """A short visual RatingMF fit on a planted fixture: its predictions of the training
    pairs."""
    frame, _ = planted(n_users=40, n_items=30, visual=True, seed=3)
    inter = Interactions.from_frame(frame, extra_items=list(extra))
    model = RatingMF(visual=True, n_epochs=5).fit(inter, vectors, has_image)
    return model.predict(inter.user_idx, inter.item_idx)


def _aligned(extra_rows: int = 0) -> np.ndarray:
    frame, f = planted(n_users=40, n_items=30, visual=True, seed=3)
    ids = Interactions.from_frame(frame).item_map.ids
    rows = f[[int(i[1:]) for i in ids]].astype(np.float64)
    return np.vstack([rows, np.zeros((extra_rows, f.shape[1]))])


def test_rating_mf_a_zero_row_flagged_as_an_image_is_no_image() -> None:
    rows = _aligned()
    rows[2] = 0.0
    flagged = np.ones(len(rows), dtype=bool)
    unflagged = flagged.copy()
    unflagged[2] = False
    np.testing.assert_array_equal(
        _small_visual_fit(rows, flagged), _small_visual_fit(rows, unflagged)
    )


def test_rating_mf_an_unrated_items_picture_does_not_move_the_scaling() -> None:
    a, b = _aligned(1), _aligned(1)
    a[-1], b[-1] = 50.0, -7.0  # "x_only"'s picture: in the map, never rated
    np.testing.assert_array_equal(
        _small_visual_fit(a, extra=("x_only",)), _small_visual_fit(b, extra=("x_only",))
    )
