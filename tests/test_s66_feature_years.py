"""Dates in ``visrec features`` as years with their fraction (``item_features._years``).

Session 66: on pandas 2 (the lowest version pyproject allows) the old code parsed
"<NA>-01-01" for an unreadable date and pandas warned that it "could not infer format"
to the user; the fraction is now counted from the day of the year, with no text parsed.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from visrec.data.item_features import _years


def _by_hand(text: str) -> float:
    day = dt.date.fromisoformat(text[:10])
    return day.year + (day - dt.date(day.year, 1, 1)).days / 365.25


def test_years_with_an_unreadable_date_first_warn_nothing_and_count_whole_days() -> None:
    cells = pd.Series(
        ["not a date", "1995-07-02", "2000-12-31 23:59", "2001-01-01", "", "1996-03-01T06:00"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 2's "Could not infer format" fails here
        got = _years(cells).to_numpy()
    assert np.isnan(got[0]) and np.isnan(got[4])
    for i in (1, 2, 3, 5):
        assert got[i] == _by_hand(cells[i]), cells[i]
    assert got[1] == 1995 + 182 / 365.25  # 1995-07-02: day 183 of the year
