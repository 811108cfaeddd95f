"""Seeds on which two models tie tell the sign test nothing: they do not count towards
the seeds a call needs, so a run they leave short is "too few seeds" with how many to
run, not "no clear difference" (an outside check of the statistics found both)."""

from __future__ import annotations

from test_analysis_reports import _rating_runs
from test_evaluation_report import _result
from visrec.report.evaluation import verdict
from visrec.report.rating import rating_verdict


def test_cold_start_split_at_exactly_chance_is_not_counted() -> None:
    # two picture models: 3 of 3 informative splits above chance cannot be called
    res = _result(
        "cold-items",
        {"vbpr": [0.2] * 4, "visual-cf": [0.1] * 4},
        {"vbpr": [0.6, 0.6, 0.6, 0.5], "visual-cf": [0.55] * 4},
    )
    line = verdict(res)[1]
    assert "too few seeds to call: above 0.5 on 3 of 4 splits" in line
    assert "run --seeds 5 or more" in line


def test_rating_visual_term_with_a_tied_split() -> None:
    lines = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.91, 0.92, 0.91]))
    assert "better on 2 of 3 seeds, equal on 1" in lines[2]
    assert lines[2].endswith("run --seeds 4 or more to call it.")


def test_seeds_for_call_counts_what_a_call_still_needs() -> None:
    from visrec.report.verdict import Picks, seeds_for_call

    assert seeds_for_call(3, 0, 0) == 3  # 3 of 3 is a call already
    assert seeds_for_call(2, 0, 0) == 3
    assert seeds_for_call(0, 2, 1) == 4  # the tie stays, one more loss
    assert seeds_for_call(1, 1, 1) == 7  # 5 of 6 untied, and the tie
    assert seeds_for_call(1, 1, 0, Picks(up=2)) == 7  # 6 of 7 for the best of two
    # 1 better, 1 worse, 1 equal: "run --seeds 7", not a count that cannot call
    lines = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.91, 0.94, 0.91]))
    assert lines[2].endswith("run --seeds 7 or more to call it.")


def test_the_lowest_rmse_sentence_says_a_tied_split() -> None:
    lines = rating_verdict(
        _rating_runs([0.92, 0.93, 0.91, 0.94, 0.90], [0.91, 0.92, 0.90, 0.93, 0.90])
    )
    assert lines[0].startswith(
        "Lowest RMSE: biased MF + visual, 0.912 stars (below biased MF, 0.920, on 4 of 5 "
        "splits, equal on 1; sign test p = 0.063). Weak evidence (0.125 two-sided"
    )


def test_the_lowest_rmse_sentence_on_splits_the_best_lacks() -> None:
    import numpy as np

    runs = _rating_runs([0.95, 0.96, 0.97, 0.95, 0.96], [0.90, 0.91, 0.92, np.nan, np.nan])
    assert rating_verdict(runs)[0].startswith(
        "Lowest RMSE: biased MF + visual, 0.910 stars (below biased MF on 3 of the 3 splits "
        "both ran; sign test p = 0.125)"
    )
