"""Mended in the forty-eighth session."""

from __future__ import annotations

import math

import numpy as np
import pytest

from visrec.report.html import ReportData, render_report


@pytest.mark.parametrize("bad", ["1.5 s", None, math.nan, -1.0, True, math.inf])
def test_a_report_timing_that_is_not_seconds_is_named(bad: object) -> None:
    data = ReportData(title="t", dataset="d", timings={"embed": 1.0, "cluster": bad})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"timings: 'cluster' is .*number of seconds"):
        render_report(data)


def test_report_timings_take_numpy_and_integer_seconds() -> None:
    page = render_report(
        ReportData(title="t", dataset="d", timings={"embed": np.float32(1.25), "knn": 2})
    )
    assert "1.2 s" in page and "2.0 s" in page and "3.2 s" in page  # the total row
