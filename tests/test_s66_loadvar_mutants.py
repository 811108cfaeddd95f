"""Mutation audit (s66) of ``visrec.data.load_result`` (``LoadResult``, ``BadRecord``,
``encoding_warnings``) and ``visrec.data.variants`` (``count_variant_copies``,
``variant_copy_note``, ``take_copy_note``, ``merge_variants``).

Mutants: 41 in total (18 in ``load_result``, 23 in ``variants``). Killed before
(existing tests): 35. Killed after (with this file): 38. Equivalent: 3.

- V10 (``transform("first")`` -> ``"last"`` for the hub of a review's edges):
  equivalent, a star from any one row of a review joins the same items, so the
  connected components are the same.
- V12 (no ``np.unique`` of the edge list): equivalent, the matrix is ``bool`` and
  scipy sums duplicate boolean entries as a logical or, so repeated edges stay ``True``
  (the ``unique`` only guards a small integer type, and saves memory).
- V19 (``loose = review_code[kept]``, reviews with text counted too): equivalent, a
  review with text listed under several items links them into one product, so it is
  kept once; ``review_has_text`` is a function of the digest, so no review key mixes
  rows with and without text.
"""

from __future__ import annotations

import pandas as pd

from visrec.data.load_result import LoadResult
from visrec.data.variants import count_variant_copies, merge_variants


def _reviews(rows: list[tuple[object, str, int, bool]]) -> pd.DataFrame:
    """(user, item, digest, has_text) rows with fixed stars and time."""
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "rating": [5.0] * len(rows),
            "timestamp": [100] * len(rows),
            "review_digest": pd.Series([r[2] for r in rows], dtype="int64"),
            "review_has_text": pd.Series([r[3] for r in rows], dtype=bool),
        }
    )


def test_an_empty_load_result_read_nothing() -> None:
    # L18: the default n_read is 0, not a sentinel (kept + bad <= read)
    res = LoadResult(frame=pd.DataFrame({"user_id": [], "item_id": []}))
    assert res.n_read == 0
    assert res.n_rows == 0 and res.n_bad == 0
    assert res.n_read >= res.n_rows + res.n_bad
    assert res.describe_bad() == "bad records: 0"
    assert res.report_lines("x.csv") == []


def test_copies_counted_per_review_not_per_reviewer_and_item() -> None:
    # V3: u wrote review 1 of X, and review 2 listed under X and Y: one copy; keying the
    # pairs on (user, item) loses review 2's row under X and counts none
    frame = _reviews([("u", "X", 1, True), ("u", "X", 2, True), ("u", "Y", 2, True)])
    assert count_variant_copies(frame) == 1
    merged = merge_variants(frame)
    assert merged.variant_copies == 1
    assert len(merged.frame) == 2 and merged.n_products == 1


def test_reviews_of_a_missing_user_stay_apart() -> None:
    # V20: rows with no user id (a frame from another source) and distinct digests are
    # distinct reviews; grouping with dropna=True would fold them all into one and drop
    # rows silently
    frame = _reviews([(None, "A", 1, True), (None, "A", 2, True), (None, "B", 3, True)])
    merged = merge_variants(frame)
    assert len(merged.frame) == 3
    assert merged.n_products == 2 and merged.n_merged == 0
    assert merged.items["reviews"].tolist() == [2, 1]
    assert merged.variant_copies == 0 and merged.repeats == 0
