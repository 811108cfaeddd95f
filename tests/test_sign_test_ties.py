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
