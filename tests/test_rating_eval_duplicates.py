"""rating-eval's note on repeated (user, item) ratings names the row it kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from visrec.analysis.rating_eval import rating_eval


def _twice(with_time: bool) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6)), 100 + i)
            for u in range(20) for i in rng.choice(15, size=5, replace=False)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    twice = pd.concat([frame, frame.iloc[:7]], ignore_index=True)
    return twice if with_time else twice.drop(columns="timestamp")


def test_note_says_latest_with_timestamps_and_last_row_without() -> None:
    timed = rating_eval(_twice(True), None, random_state=0).notes
    untimed = rating_eval(_twice(False), None, random_state=0).notes
    assert "7 repeated (user, item) ratings collapsed to one (the latest) before splitting" in timed
    assert ("7 repeated (user, item) ratings collapsed to one (the last row) before "
            "splitting") in untimed  # fmt: skip


def test_repeats_are_collapsed_before_the_split_so_none_is_on_both_sides() -> None:
    # 100 distinct pairs and 7 repeats: the split must see 100 rows, or a repeated
    # rating can sit in train and test at once (the note alone would not tell)
    for with_time in (True, False):
        res = rating_eval(_twice(with_time), None, random_state=0)
        assert (res.n_train, res.n_test) == (80, 20)
