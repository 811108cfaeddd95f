"""Session 50: a review without summary or text (stars on a day) links no variants.

One reviewer's 5 stars for two products on one day, without words, is no sign that the
two are variants of one product: ``merge_variants`` must not merge them, and
``count_variant_copies`` (``data summary``, ``evaluate``'s note) must not count them."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.tables import load_interactions
from visrec.data.variants import (
    count_variant_copies,
    merge_variants,
    take_copy_note,
    variant_copy_note,
)
from visrec.errors import VisrecError


def _review(user: str, asin: str, t: int, stars: float, text: str | None) -> dict[str, object]:
    rec: dict[str, object] = {"reviewerID": user, "asin": asin, "overall": stars,
                              "unixReviewTime": t}  # fmt: skip
    if text is not None:
        rec["reviewText"] = text
    return rec


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def _frame(rows: list[dict[str, object]], tmp_path: Path) -> pd.DataFrame:
    path = _write(tmp_path / "Shop_5.json.gz", rows)
    return load_amazon_reviews(path, review_digest=True).frame


# u1 gave A and B 5 stars on day 100 without a word: two reviews for all we know
NO_TEXT = [_review("u1", "A", 100, 5, None), _review("u1", "B", 100, 5, None)]


def test_the_loaders_say_which_reviews_have_text(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {"reviewerID": "u", "asin": "A", "overall": 5, "unixReviewTime": 1},
        {"reviewerID": "u", "asin": "B", "overall": 5, "unixReviewTime": 1, "summary": " ",
         "reviewText": ""},  # blank: no text
        {"reviewerID": "u", "asin": "C", "overall": 5, "unixReviewTime": 1, "summary": None,
         "reviewText": 5},  # a number is no text
        {"reviewerID": "u", "asin": "D", "overall": 5, "unixReviewTime": 1, "summary": "ok"},
        {"reviewerID": "u", "asin": "E", "overall": 5, "unixReviewTime": 1, "reviewText": "x"},
        # the 2023 release's title alone
        {"user_id": "u", "parent_asin": "F", "rating": 5, "timestamp": 1000, "title": "t"},
        {"user_id": "u", "parent_asin": "G", "rating": 5, "timestamp": 1000, "text": " "},
    ]  # fmt: skip
    path = tmp_path / "Shop.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    want = [False, False, False, True, True, True, False]
    full = load_amazon_reviews(path, review_digest=True).frame
    assert full["review_has_text"].tolist() == want
    assert full["review_has_text"].dtype == bool
    ids = load_amazon_reviews(path, ids_only=True, keep_time=True, review_digest=True).frame
    assert ids.columns.tolist() == [
        "user_id", "item_id", "timestamp", "review_digest", "review_has_text"
    ]  # fmt: skip
    assert ids["review_has_text"].tolist() == want
    # load_interactions (evaluate, rating-eval) forwards it
    assert load_interactions(path, review_digest=True).frame["review_has_text"].tolist() == want
    assert "review_has_text" not in load_amazon_reviews(path).frame.columns


def test_a_review_without_text_under_two_items_links_nothing_and_loses_no_row(
    tmp_path: Path,
) -> None:
    frame = _frame(NO_TEXT, tmp_path)
    assert count_variant_copies(frame) == 0
    m = merge_variants(frame)
    assert m.items["product_id"].tolist() == ["A", "B"]
    assert m.frame.values.tolist() == [["u1", "A", 5.0, 100], ["u1", "B", 5.0, 100]]
    assert (m.n_merged, m.variant_copies, m.repeats, m.no_text_listed_again) == (0, 0, 0, 1)
    # evaluate's and rating-eval's note: no copies to speak of; both columns dropped
    assert variant_copy_note(frame, "Shop_5.json.gz") is None
    rest, note = take_copy_note(frame, "Shop_5.json.gz")
    assert note is None
    assert "review_digest" not in rest.columns and "review_has_text" not in rest.columns


def test_a_review_with_text_still_links_and_a_textless_one_keeps_its_rows(
    tmp_path: Path,
) -> None:
    rows = [
        *NO_TEXT,
        _review("u1", "A", 100, 5, None),  # the same line twice under A: a repeat
        _review("u2", "A", 200, 4, "soft"),  # one review under A and B: one product
        _review("u2", "B", 200, 4, "soft"),
    ]
    frame = _frame(rows, tmp_path)
    m = merge_variants(frame)
    # A and B have 2 distinct reviews each (u1's and u2's): A, first in text order
    assert dict(zip(m.items["item_id"], m.items["product_id"], strict=True)) == {
        "A": "A",
        "B": "A",
    }
    # u2's review once; u1's once too: A and B are one product (through u2's review), so
    # u1's row under B is a copy, not a second interaction with the product
    assert m.frame.values.tolist() == [["u1", "A", 5.0, 100], ["u2", "A", 4.0, 200]]
    assert (m.rows_in, m.variant_copies, m.repeats, m.no_text_listed_again) == (5, 2, 1, 0)
    assert m.rows_in == len(m.frame) + m.variant_copies + m.repeats
    # what data summary counts before merging: the copy of the review with text only
    assert count_variant_copies(frame) == 1


def _products_by_text(rows: list[dict[str, object]]) -> dict[str, set[str]]:
    """Each asin's group of asins linked through reviews with text: a union-find of its
    own, to check merge_variants against."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    first: dict[tuple[object, ...], str] = {}
    for r in rows:
        asin = str(r["asin"])
        find(asin)
        if r.get("reviewText"):
            key = (r["reviewerID"], r["unixReviewTime"], r["overall"], r["reviewText"])
            parent[find(asin)] = find(first.setdefault(key, asin))
    groups: dict[str, set[str]] = {}
    for a in parent:
        groups.setdefault(find(a), set()).add(a)
    return {a: groups[find(a)] for a in parent}


def test_generated_reviews_merge_only_through_text_and_agree_with_the_count(
    tmp_path: Path,
) -> None:
    rng = random.Random(50)
    rows: list[dict[str, object]] = []
    for i in range(300):
        # few users, days and stars: many same-day, same-stars reviews without text
        text = rng.choice([None, None, "", f"w{rng.randrange(40)}"])
        rec = _review(f"u{rng.randrange(6)}", f"I{rng.randrange(40)}", rng.randrange(3),
                      rng.randrange(4, 6), text)  # fmt: skip
        rows.append(rec)
        if i % 3 == 0:  # listed under another item too, or the same one again
            rows.append({**rec, "asin": f"I{rng.randrange(40)}"})
    frame = _frame(rows, tmp_path)
    m = merge_variants(frame)
    groups = _products_by_text(rows)
    product = dict(zip(m.items["item_id"], m.items["product_id"], strict=True))
    for asin, group in groups.items():
        assert {a for a in groups if product[a] == product[asin]} == group
    assert m.no_text_listed_again > 0 and m.n_merged > 0  # both cases are in the data
    texted = frame[frame["review_has_text"]]
    assert count_variant_copies(frame) == count_variant_copies(texted) <= m.variant_copies
    assert m.rows_in == len(m.frame) + m.variant_copies + m.repeats
    # each review: one row per product it was listed under
    cols = ["user_id", "item_id", "rating", "timestamp"]
    want = frame.assign(item_id=frame["item_id"].map(product))
    want = want.drop_duplicates(["user_id", "review_digest", "item_id"])
    # reviews without text still under two products: what the merge says it kept
    loose = want[~want["review_has_text"]]
    assert m.no_text_listed_again == len(loose) - len(
        loose.drop_duplicates(["user_id", "review_digest"])
    )
    want = want[cols]
    assert sorted(map(tuple, m.frame.values.tolist())) == sorted(map(tuple, want.values.tolist()))


def test_cli_says_what_reviews_without_text_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "Shop_5.json.gz", NO_TEXT)
    out, js = tmp_path / "m.csv", tmp_path / "m.json"
    assert main(["data", "merge-variants", str(src), "-o", str(out), "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[:4] == [
        f"{src}: 2 rows of 2 items",
        "  no review with a summary or text is listed under two items: no variants to merge",
        "  1 row listed a review without summary or text under another product too: kept, "
        "as stars on a day link no items",
        "  2 rows written: each review once per product it is under",
    ]
    assert out.read_text().splitlines() == [
        "user_id,item_id,rating,timestamp",
        "u1,A,5.0,100",
        "u1,B,5.0,100",
    ]
    counts = json.loads(js.read_text())
    assert (counts["rows_out"], counts["variant_copies"], counts["items_merged"]) == (2, 0, 0)
    assert counts["no_text_listed_again"] == 1
    # data summary counts no copies either
    assert main(["data", "summary", str(src)]) == 0
    assert "copies of another item's review" not in capsys.readouterr().out


def test_a_frame_without_the_text_flag_is_refused_naming_the_load() -> None:
    frame = pd.DataFrame(
        {"user_id": ["u", "u"], "item_id": ["A", "B"], "rating": [5.0, 5.0],
         "timestamp": [1, 1], "review_digest": [7, 7]}
    )  # fmt: skip
    said = (
        r"needs the column review_has_text \(load the reviews with "
        r"load_amazon_reviews\(\.\.\., review_digest=True\)\)"
    )
    with pytest.raises(VisrecError, match=rf"^merge_variants {said}$"):
        merge_variants(frame)
    with pytest.raises(VisrecError, match=rf"^count_variant_copies {said}$"):
        count_variant_copies(frame)
    with pytest.raises(VisrecError, match=r"^merge_variants needs the columns rating, review_has"):
        merge_variants(frame.drop(columns="rating"))
    # other tables (no digest) have no copies to count, as before
    assert count_variant_copies(frame.drop(columns="review_digest")) == 0
