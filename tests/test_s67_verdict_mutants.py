"""Session 67 mutation audit of ``report/verdict.py`` (after sessions 49, 52, 54, 64).

44 mutants (M01-M44, all in ``report/verdict.py`` but M35, in ``report/html.py``'s
``verdict_section``): the verdict files of the old tests (s49/s54/s64 verdict mutants,
verdict_mutation_gaps, sign_test_ties, session45/46 gaps, s49_report_edges,
evaluation_report) killed 37; 7 survived, 6 of them real gaps that the tests below kill
(M03, M11, M23, M27, M31, M40); with them 43 of 44 are killed. Twenty more tests the
audit wrote pinned mutants the old tests kill already and were left out.
Equivalent:
- M17 (``two_sided >= 0.05`` for ``> 0.05``): twice a sign-test p times a whole number
  of picks is a fraction with a power of 2 below it, never exactly 1/20.

Every expected figure below is worked out by hand from the per-seed figures the test
builds with ``test_evaluation_report._result`` (NDCG is half the recall there)."""

from __future__ import annotations

from typing import Any

from test_evaluation_report import _result
from visrec.report.verdict import verdict


def _drop(res: dict[str, Any], model: str, col: str, seeds: set[int] | None = None) -> None:
    """Blank ``col`` of ``model`` on ``seeds`` (all of them by default)."""
    for run in res["runs"]:
        if run["model"] == model and (seeds is None or run["seed"] in seeds):
            run[col] = None


def test_a_difference_of_float_noise_is_a_tie() -> None:
    """Kills M11 (wins and losses counted at 0, not TIE): 0.1 + 0.2 is 5.6e-17 above
    0.3, which is the same ranking, not a win on every seed."""
    res = _result("warm", {"bpr": [0.3] * 3, "vbpr": [0.1 + 0.2] * 3})
    assert verdict(res)[1] == ("No difference: vbpr and bpr have the same Recall@20 on every seed.")


def test_a_gap_the_size_of_the_spread_is_not_by_little() -> None:
    """Kills M23 (``<=`` for ``<`` in ``by_little``): bpr 0, 0.25, 0.5 has std exactly
    0.25 (ddof 1), and vbpr is exactly 0.25 above on each seed."""
    res = _result("warm", {"bpr": [0.0, 0.25, 0.5], "vbpr": [0.25, 0.5, 0.75]})
    assert verdict(res)[1].startswith("Pictures help here: +0.2500 Recall@20 (+100.0%)")


def test_the_best_other_model_is_held_against_popularity() -> None:
    """Kills M27 (the worst other model taken): bpr (0.3), not nope (0.1)."""
    res = _result("warm", {"popularity": [0.2] * 3, "bpr": [0.3] * 3, "nope": [0.1] * 3})
    assert verdict(res)[-1] == (
        "Against the popularity baseline: bpr Recall@20 0.300 vs 0.200, better on 3 of 3 seeds."
    )


def test_a_cold_model_missing_its_auc_on_a_seed_is_said_so() -> None:
    """Kills M03 (no verdict when any run lacks its AUC, not all), M31 ("both
    figures" for "its AUC"), M38 (the level split left out of the
    seeds a call needs: 3, not 4) and M20 (``>`` for ``>=``: 4 seeds ran, 4 needed).
    vbpr's AUC: 0.6, 0.6, 0.5 and none on seed 3."""
    res = _result(
        "cold-items",
        {"bpr": [0.1] * 4, "vbpr": [0.3] * 4},
        {"bpr": [0.5] * 4, "vbpr": [0.6, 0.6, 0.5, 0.5]},
    )
    _drop(res, "vbpr", "auc", {3})
    assert (
        "(too few seeds to call: above 0.5 on 2 of 3 splits of this data; sign test "
        "p = 0.250; only 3 of the 4 seeds have its AUC (a call needs 4): see why a model "
        "has none on the others)"
    ) in verdict(res)[1]


def test_a_cold_call_below_chance_needs_no_pick() -> None:
    """Kills M40 (a cold call below chance multiplied by the number of picture models):
    the best of two below 0.5 on 3 of 3 splits is p = 1/8, no pick to allow for."""
    res = _result(
        "cold-items",
        {"bpr": [0.1] * 3, "vbpr": [0.1] * 3, "vbpr@b": [0.1] * 3},
        {"bpr": [0.5] * 3, "vbpr": [0.4, 0.41, 0.42], "vbpr@b": [0.3, 0.31, 0.32]},
    )
    assert (
        "AUC 0.410 (below chance, worse than a random order: above 0.5 on 0 of 3 splits "
        "of this data; sign test p = 0.125)"
    ) in verdict(res)[1]
