"""Product variants of Amazon review files, merged (``visrec data merge-variants``).

The 2018 5-core files list one review under each variant (size, colour) of a product,
as a row per variant's asin: 83% of AMAZON_FASHION_5's rows and most of
All_Beauty_5's are such copies. A split by rows then finds the copy under the "other"
variant, so warm and time figures reward finding the variant, not taste, and a
cold-start item's reviews are in training under its sibling. Merging turns each
product's variants into one item before any split.

Two asins are variants of one product when one review with a summary or text (the
same reviewer, time, stars, summary and text: ``load_amazon_reviews(...,
review_digest=True)``) is listed under both; products are the connected groups of that
relation. A review without either is only a reviewer's stars on a day, which two
unrelated products can share: it links nothing (it stays a row of each product it is
listed under). Each product keeps the id of its variant with the most distinct reviews
(the first in text order on a tie), so vectors keyed by asin still match it, and each
review is one row of its product.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from visrec.data.amazon import REVIEW_HAS_TEXT
from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER
from visrec.errors import VisrecError

#: the columns that say two rows are one review listed twice
REVIEW_KEY = (USER, "review_digest")


def _need_columns(frame: pd.DataFrame, cols: tuple[str, ...], who: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise VisrecError(
            f"{who} needs the column{'s' * (len(missing) > 1)} {', '.join(missing)} "
            "(load the reviews with "
            "load_amazon_reviews(..., review_digest=True))"
        )


def _listed_again(rows: pd.DataFrame) -> int:
    """Rows of ``rows`` that list a review (:data:`REVIEW_KEY`) under a further item."""
    pairs = rows.drop_duplicates([*REVIEW_KEY, ITEM])
    return int(len(pairs) - len(pairs.drop_duplicates(list(REVIEW_KEY))))


def _has_text(frame: pd.DataFrame) -> np.ndarray:
    return frame[REVIEW_HAS_TEXT].to_numpy(dtype=bool)


def count_variant_copies(frame: pd.DataFrame) -> int:
    """Rows that repeat another row's review (reviewer, time, stars, summary and text)
    under another item: Amazon listing one review under each variant (size, colour) of
    a product, where a split by rows finds the "other" variant, and copied photos share
    their vector. As :func:`merge_variants` links items, only a review with a summary
    or text counts (so merging may drop a few more rows: a review without text listed
    under two variants that other reviews merge); a review repeated under its own item
    is not counted here (a repeated pair); 0 without the :data:`REVIEW_KEY` columns
    (other tables)."""
    if not all(c in frame.columns for c in REVIEW_KEY):
        return 0
    _need_columns(frame, (REVIEW_HAS_TEXT,), "count_variant_copies")
    return _listed_again(frame[_has_text(frame)])


def variant_copy_note(frame: pd.DataFrame, source: str | Path) -> str | None:
    """What a split of ``frame`` (rows of Amazon review files loaded with their
    ``review_digest``) should know when some rows copy another item's review: how many,
    and the command that merges them. ``None`` without copies or without the column
    (other tables; the 2023 release's items are products already)."""
    n = count_variant_copies(frame)
    if not n:
        return None
    return (
        f"{n:,} of {len(frame):,} rows ({n / len(frame):.1%}) copy a review under another "
        "item (Amazon lists one review under each variant of a product): a split finds "
        "the copy under the other variant, so these figures reward finding it; merge the "
        f"variants first: visrec data merge-variants {shlex.quote(str(source))} -o merged.csv"
    )


def take_copy_note(frame: pd.DataFrame, source: str | Path) -> tuple[pd.DataFrame, str | None]:
    """``frame`` without its ``review_digest`` and ``review_has_text`` columns, and
    :func:`variant_copy_note` of it: what a command that splits the rows says before it
    does."""
    note = variant_copy_note(frame, source)
    return frame.drop(columns=["review_digest", REVIEW_HAS_TEXT], errors="ignore"), note


@dataclass(frozen=True)
class VariantMerge:
    """What :func:`merge_variants` made.

    Attributes
    ----------
    frame : pandas.DataFrame
        The reviews, one row per review of a product: ``user_id``, ``item_id`` (the
        product's id), ``rating``, ``timestamp``, in the order of their first copy.
    items : pandas.DataFrame
        One row per item of the input, in text order of the id: ``item_id``,
        ``product_id`` (the id it was merged into; its own when it stands alone),
        ``reviews`` (its distinct reviews, which pick the product's id) and ``rows``
        (its rows in the input, a review repeated under it counted each time).
    rows_in : int
        The input's rows.
    item_reviews : int
        The input's distinct (review, item) pairs: rows less the repeats of a review
        under its own item.
    no_text_listed_again : int
        Rows kept that list a review without summary or text under a further product:
        such a review links no items.
    """

    frame: pd.DataFrame
    items: pd.DataFrame
    rows_in: int
    item_reviews: int
    no_text_listed_again: int

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_products(self) -> int:
        return int(self.items["product_id"].nunique())

    @property
    def n_merged(self) -> int:
        """Items merged into another one."""
        return int((self.items["item_id"] != self.items["product_id"]).sum())

    @property
    def variant_copies(self) -> int:
        """Rows that repeated a review under another variant of its product, dropped
        (``visrec data summary`` counts those of reviews with text as copies of another
        item's review)."""
        return self.item_reviews - len(self.frame)

    @property
    def repeats(self) -> int:
        """Rows that repeated a review under its own item (a line given twice)."""
        return self.rows_in - self.item_reviews


def merge_variants(reviews: pd.DataFrame) -> VariantMerge:
    """Merge the variants of each product in ``reviews`` into one item.

    Parameters
    ----------
    reviews : pandas.DataFrame
        ``visrec.data.amazon.load_amazon_reviews(..., review_digest=True).frame``: the
        columns ``user_id``, ``item_id``, ``rating``, ``timestamp``, ``review_digest``,
        ``review_has_text`` (only a review with text links items).

    Returns
    -------
    VariantMerge

    Raises
    ------
    VisrecError
        A column it reads is missing (``item_id``, ``rating``, ``timestamp``,
        ``review_has_text`` or one of :data:`REVIEW_KEY`).
    """
    cols = (ITEM, RATING, TIMESTAMP, *REVIEW_KEY, REVIEW_HAS_TEXT)
    _need_columns(reviews, cols, "merge_variants")
    if not len(reviews):
        # the same column types as a non-empty table's (a caller may concatenate them)
        no_items = pd.DataFrame(
            {
                "item_id": pd.Series([], dtype=str),
                "product_id": pd.Series([], dtype=str),
                "reviews": np.zeros(0, dtype=np.int64),
                "rows": np.zeros(0, dtype=np.int64),
            }
        )
        frame = reviews[[USER, ITEM, RATING, TIMESTAMP]].reset_index(drop=True)
        return VariantMerge(
            frame=frame, items=no_items, rows_in=0, item_reviews=0, no_text_listed_again=0
        )
    # only merging needs the graph routines (summary and evaluate count copies)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    items = reviews[ITEM].astype(str).to_numpy()
    item_ids, item_code = np.unique(items, return_inverse=True)  # text order
    review_code = reviews.groupby(list(REVIEW_KEY), sort=False, dropna=False).ngroup().to_numpy()
    # each review with text links the item of its first row to the items of its other
    # rows (one without is a reviewer's stars on a day, no sign of one product); one
    # edge per linked pair (summed repeats could wrap a small integer type to 0)
    text = _has_text(reviews)
    linking = pd.Series(item_code[text]).groupby(review_code[text])
    first_row = linking.transform("first").to_numpy()
    n = len(item_ids)
    pairs = np.unique(first_row.astype(np.int64) * n + item_code[text])
    graph = coo_matrix((np.ones(len(pairs), dtype=bool), (pairs // n, pairs % n)), shape=(n, n))
    _, group = connected_components(graph, directed=False)
    # distinct reviews per item (a review listed twice under one item counted once)
    own = pd.DataFrame({"review": review_code, "item": item_code}).drop_duplicates()
    counts = np.bincount(own["item"].to_numpy(), minlength=n)
    rows = np.bincount(item_code, minlength=n)
    # the product's id: its item with the most reviews, the first in text order on a
    # tie (lexsort's last key is the primary one; the item codes are in text order)
    order = np.lexsort((np.arange(n), -counts, group))
    head = order[np.r_[True, group[order][1:] != group[order][:-1]]]
    product_of_group = np.empty(group.max() + 1, dtype=np.int64)
    product_of_group[group[head]] = head
    product = product_of_group[group]
    out = reviews[[USER, ITEM, RATING, TIMESTAMP]].copy()
    out[ITEM] = item_ids[product[item_code]]
    # one row per review of a product: a review without text, listed under two variants
    # that other reviews merge, is a copy too
    keep = ~pd.DataFrame({"review": review_code, "product": product[item_code]}).duplicated()
    kept = keep.to_numpy()
    frame = out[kept].reset_index(drop=True)
    # reviews without text still under several products (one row of each)
    loose = review_code[kept & ~text]
    listed_again = len(loose) - len(np.unique(loose))
    table = pd.DataFrame(
        {
            "item_id": pd.Series(item_ids, dtype=str),
            "product_id": pd.Series(item_ids[product], dtype=str),
            "reviews": counts.astype(np.int64),
            "rows": rows.astype(np.int64),
        }
    )
    return VariantMerge(
        frame=frame,
        items=table,
        rows_in=len(reviews),
        item_reviews=len(own),
        no_text_listed_again=listed_again,
    )
