"""Loader robustness (QA findings): values that crashed a loader or were changed
silently are bad records (or reported), with file and line."""

from __future__ import annotations

import json
from pathlib import Path

from visrec.data.amazon import load_amazon_reviews


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    return path


def _review(t: str = "7", **fields: object) -> str:
    rec = {"overall": 4.0, "reviewerID": "U1", "asin": "B1", **fields}
    return json.dumps(rec)[:-1] + f', "unixReviewTime": {t}}}'


# ------------------------------------------------------------ 1. Amazon review times
def test_amazon_time_out_of_range_is_a_bad_record(tmp_path: Path) -> None:
    # Infinity was an OverflowError traceback, 1e30 one from pandas, 1.5 was cut to 1
    f = _jsonl(
        tmp_path / "A_5.json",
        [_review("Infinity"), _review("1e30"), _review("7"), _review("1.5"), _review("true")],
    )
    for res in (
        load_amazon_reviews(f),
        load_amazon_reviews(f, ids_only=True, keep_time=True),
    ):
        assert res.frame["timestamp"].tolist() == [7]
        assert [(b.line, b.kind) for b in res.bad] == [(k, "missing time") for k in (1, 2, 4, 5)]
        assert str(res.bad[0]) == (
            f"{f}:1: 'unixReviewTime' is Infinity, expected whole seconds within int64, "
            "and no usable reviewTime"
        )
        assert "'unixReviewTime' is 1e+30," in str(res.bad[1])
    # a usable reviewTime is the time then, as for an unreadable unixReviewTime
    g = _jsonl(tmp_path / "B_5.json", [_review("Infinity", reviewTime="01 2, 1970")])
    assert load_amazon_reviews(g).frame["timestamp"].tolist() == [86_400]
    # ids only: the time is not read, so the record is kept
    assert load_amazon_reviews(f, ids_only=True).n_rows == 5
