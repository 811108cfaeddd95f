"""Session 61 mutation audit of ``visrec.data.summary`` (``visrec data summary``).

55 hand-written mutants of ``src/visrec/data/summary.py`` (counts, distributions, rating
labels, shares, category and image coverage, bad-record lines, section layout): 31 killed
by the existing tests, 24 survived, all 24 killed by the tests here, none equivalent.
Every number here is counted by hand on a few generated rows; each test names the
mutant(s) it kills. Two bugs fixed with tests (last two tests): ratings that print alike
under ``{:g}`` shared one key (a count lost), and a category column of blanks only
printed no category line.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visrec.cli import main
from visrec.data.summary import _num, format_summary, summarize


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _one(paths: list[Path]) -> tuple[dict[str, Any], list[str]]:
    """The one section of ``paths`` and its printed lines."""
    (section,) = summarize(paths)
    return section, format_summary([section]).splitlines()


# u1 rates i1..i4 (and i1 again), u2 rates i1, u3 rates i5: 7 rows, 6 distinct pairs.
# items per user [4, 1, 1]: mean 2.0, median 1, 1-4
# users per item [2, 1, 1, 1, 1]: mean 1.2, median 1, 1-2
# ratings 5 3 4 2 5 4 1: {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}, mean 24 / 7 = 3.428571...
_ROWS = ["u1,i1,5", "u1,i2,3", "u1,i3,4", "u1,i4,2", "u1,i1,5", "u2,i1,4", "u3,i5,1"]


def test_the_counts_of_a_small_table_are_the_hand_counted_ones(tmp_path: Path) -> None:
    # kills swap-users-items-count, dup-pairs-user-only, pairs-no-dedup,
    # per-user-per-item-swapped, mean-round-0, median-is-mean, min-is-max,
    # rating-mean-round1
    s, _ = _one([_csv(tmp_path / "r.csv", "user_id,item_id,rating", _ROWS)])
    assert (s["rows"], s["users"], s["items"], s["duplicate_pairs"]) == (7, 3, 5, 1)
    assert s["items_per_user"] == {"mean": 2.0, "median": 1.0, "min": 1, "max": 4}
    assert s["users_per_item"] == {"mean": 1.2, "median": 1.0, "min": 1, "max": 2}
    assert s["ratings"] == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 2}
    assert s["rating_mean"] == 3.4286


def test_the_printed_lines_of_a_small_table(tmp_path: Path) -> None:
    # kills mean-2dp, pct-0dp, dup-line-no-share, ratings-mean-raw,
    # ratings-share-of-users, minmax-swapped, row-no-thousands (below)
    _, lines = _one([_csv(tmp_path / "r.csv", "user_id,item_id,rating", _ROWS)])
    assert lines[2:] == [
        "   rows (interactions)                      7",
        "   users                                    3",
        "   items                                    5",
        "   items per user                  mean 2, median 1, 1-4",
        "   users per item                  mean 1.2, median 1, 1-2",
        "   rows repeating a user-item pair          1  (14.3%)",
        "   ratings (mean 3.429)",
        "     1                                      1  (14.3%)",
        "     2                                      1  (14.3%)",
        "     3                                      1  (14.3%)",
        "     4                                      2  (28.6%)",
        "     5                                      2  (28.6%)",
        "   bad records (not kept): 0",
    ]


def test_counts_of_a_thousand_or_more_have_a_thousands_separator(tmp_path: Path) -> None:
    # kills row-no-thousands
    rows = [f"u{i},i{i % 7}" for i in range(1234)]
    _, lines = _one([_csv(tmp_path / "r.csv", "user_id,item_id", rows)])
    assert "   rows (interactions)                  1,234" in lines
    assert "   users                                1,234" in lines


def test_one_row_has_its_distribution_and_no_repeat_line(tmp_path: Path) -> None:
    # kills sparsity-needs-2-rows (one row: no "items per user" line), dup-line-always
    # ("rows repeating a user-item pair 0  (0.0%)" for a table without repeats)
    s, lines = _one([_csv(tmp_path / "one.csv", "user_id,item_id", ["u1,i1"])])
    assert s["items_per_user"] == {"mean": 1.0, "median": 1.0, "min": 1, "max": 1}
    assert "   items per user                  mean 1, median 1, 1-1" in lines
    assert not any("repeating" in line for line in lines)
    assert not any("ratings" in line for line in lines)  # no rating column: none shown


def test_an_empty_table_has_counts_of_zero_and_no_distributions(tmp_path: Path) -> None:
    s, lines = _one([_csv(tmp_path / "e.csv", "user_id,item_id,rating", [])])
    assert (s["rows"], s["users"], s["items"], s["duplicate_pairs"]) == (0, 0, 0, 0)
    assert "items_per_user" not in s and "ratings" not in s and "rating_stats" not in s
    assert lines[2:] == [
        "   rows (interactions)                      0",
        "   users                                    0",
        "   items                                    0",
        "   bad records (not kept): 0",
    ]


def test_twenty_rating_values_are_listed_and_more_are_summed_up(tmp_path: Path) -> None:
    # kills ratings-lt-20 (20 values: still listed), rating-stats-median-mean,
    # rating-stats-max-min
    twenty = [f"u{v},i1,{v}" for v in range(1, 21)]
    s, _ = _one([_csv(tmp_path / "a.csv", "user_id,item_id,rating", twenty)])
    assert len(s["ratings"]) == 20 and "rating_stats" not in s
    # 1..20 and 100: median 11, mean 310 / 21 = 14.7619...
    more = [*twenty, "u99,i1,100"]
    s, lines = _one([_csv(tmp_path / "b.csv", "user_id,item_id,rating", more)])
    assert "ratings" not in s
    assert s["rating_stats"]["median"] == 11.0 and s["rating_stats"]["max"] == 100.0
    assert "   ratings: min 1, median 11, mean 14.762, max 100" in lines


def test_a_half_star_rating_keeps_its_half(tmp_path: Path) -> None:
    # kills num-no-integer-check (4.5 was listed as "4")
    rows = ["u1,i1,4.5", "u2,i1,4", "u3,i1,4.5"]
    s, lines = _one([_csv(tmp_path / "r.csv", "user_id,item_id,rating", rows)])
    assert s["ratings"] == {"4": 1, "4.5": 2}
    assert "     4.5                                    2  (66.7%)" in lines


def test_a_rating_of_sixteen_digits_is_written_with_an_exponent() -> None:
    # kills num-le-exponent: 1e15 (16 digits written out) is where the exponent starts
    assert _num(1e15) == "1e+15"
    assert _num(999_999_999_999_999.0) == "999999999999999"


def _reviews(path: Path, recs: list[dict[str, Any]]) -> Path:
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in recs).encode()))
    return path


def _review(item: str, user: str, t: int, image: list[str] | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"overall": 5.0, "reviewerID": user, "asin": item, "unixReviewTime": t}
    if image is not None:
        rec["image"] = image
    return rec


def test_review_photos_are_counted_by_review_url_and_item(tmp_path: Path) -> None:
    # kills photo-urls-is-reviews, photo-items-are-users, rows-reviews-label
    f = _reviews(
        tmp_path / "Shoes_5.json.gz",
        [
            _review("B1", "U1", 1, ["http://x/1.jpg", "http://x/2.jpg"]),
            _review("B1", "U2", 2, ["http://x/3.jpg"]),
            _review("B2", "U2", 3),
            _review("B3", "U3", 4, []),
        ],
    )
    s, lines = _one([f])
    assert (s["reviews_with_photos"], s["photo_urls"], s["items_with_review_photos"]) == (2, 3, 1)
    assert "   rows (reviews)                           4" in lines
    assert "   reviews with photo URLs                  2  (50.0%)" in lines
    assert "   photo URLs                               3" in lines
    assert "   items with any review photo              1  (33.3%)" in lines


def test_two_review_files_are_one_section_with_each_format_said_once(tmp_path: Path) -> None:
    # kills fmts-not-deduped ("Amazon reviews; json lines, json lines")
    a = _reviews(tmp_path / "Shoes_5.json.gz", [_review("B1", "U1", 1)])
    b = _reviews(tmp_path / "Hats_5.json.gz", [_review("B2", "U1", 2)])
    s, lines = _one([a, b])
    assert s["rows"] == 2 and s["categories"] == {"Shoes": 1, "Hats": 1}
    (fmt,) = set(s["formats"].values())
    assert lines[1] == f"   Amazon reviews; {fmt}"


def _meta(path: Path, recs: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    return path


def test_metadata_counts_items_with_image_urls_and_named_main_categories(
    tmp_path: Path,
) -> None:
    # kills meta-image-urls-ge0, meta-main-cat-empty-kept, meta-img-no-share
    f = _meta(
        tmp_path / "meta_Shoes.json",
        [
            {"asin": "B1", "main_cat": "Shoes", "imageURL": ["http://s/1.jpg"]},
            {"asin": "B2", "main_cat": "", "imageURL": []},
            {"asin": "B3", "main_cat": "Shoes"},
            {"asin": "B4", "main_cat": "Boots"},
        ],
    )
    s, lines = _one([f])
    assert s["items"] == 4 and s["items_with_image_urls"] == 1
    assert s["main_cat"] == {"Shoes": 2, "Boots": 1}
    assert "   items with image URLs                    1  (25.0%)" in lines


def test_metadata_shows_the_ten_largest_main_categories(tmp_path: Path) -> None:
    # kills meta-main-cat-head5
    recs = [{"asin": f"B{i}", "main_cat": f"C{i:02d}"} for i in range(12)]
    s, _ = _one([_meta(tmp_path / "meta_X.json", recs)])
    assert len(s["main_cat"]) == 10


def test_item_table_categories_are_shares_of_all_items(tmp_path: Path) -> None:
    # kills items-blank-category-counted (a blank category is "(no category)", not a
    # category named ""), items-cat-total-shown, cat-lines-total-sum (shares of the 4
    # items, not of the 3 with a category), items-cat-no-break (category, not genre)
    f = _csv(
        tmp_path / "items.csv",
        "item_id,category,genre",
        ["i1,A,x", "i2,B,y", "i3,  ,z", "i4,A,x"],
    )
    s, lines = _one([f])
    assert s["category_column"] == "category"
    assert s["categories"] == {"A": 2, "B": 1} and s["items_without_category"] == 1
    assert lines[2:] == [
        "   items                                    4",
        "   categories (category)",
        "     A                                      2  (50.0%)",
        "     B                                      1  (25.0%)",
        "     (no category)                          1  (25.0%)",
        "   bad records (not kept): 0",
    ]


@pytest.mark.parametrize(("n", "not_shown"), [(20, None), (23, 3)])
def test_item_table_shows_twenty_categories_and_counts_the_rest(
    tmp_path: Path, n: int, not_shown: int | None
) -> None:
    # kills items-cat-ge-20 (20 categories: no "... and 0 more"), cat-more-dropped
    f = _csv(tmp_path / "items.csv", "item_id,category", [f"i{i},c{i:02d}" for i in range(n)])
    s, lines = _one([f])
    assert len(s["categories"]) == 20 and s.get("categories_not_shown") == not_shown
    more = [line for line in lines if line.strip().startswith("...")]
    assert more == ([] if not_shown is None else [f"     ... and {not_shown} more"])


def test_a_padded_item_table_header_still_finds_the_id_column(tmp_path: Path) -> None:
    # kills header-no-strip ("item_id " is the id column item_id)
    f = _csv(tmp_path / "items.csv", "item_id , category", ["i1,A", "i2,B"])
    s, _ = _one([f])
    assert s["items"] == 2


@pytest.mark.parametrize(("n_bad", "more"), [(2, None), (5, None), (7, 2)])
def test_bad_records_show_five_and_count_the_rest(
    tmp_path: Path, n_bad: int, more: int | None
) -> None:
    # kills bad-more-ge ("... and 0 more"), bad-more-count, max-bad-3
    rows = ["u0,i0,5"] + [f"u{i},i{i},x{i}" for i in range(1, n_bad + 1)]
    f = _csv(tmp_path / "r.csv", "user_id,item_id,rating", rows)
    s, lines = _one([f])
    assert s["rows"] == 1 and s["bad"]["count"] == n_bad
    assert len(s["bad"]["first"]) == min(n_bad, 5)
    start = lines.index(f"   bad records (not kept): {n_bad} (non-numeric rating {n_bad})")
    shown = lines[start + 1 :]
    assert shown[: min(n_bad, 5)] == [
        f"     {f}:{i + 2}: rating 'x{i}' is not a number" for i in range(1, min(n_bad, 5) + 1)
    ]
    assert shown[min(n_bad, 5) :] == ([] if more is None else [f"     ... and {more} more"])


def test_a_latin1_file_says_its_warning_and_id_notes(tmp_path: Path) -> None:
    # kills warnings-dropped, id-note-prefix
    f = tmp_path / "w.csv"
    f.write_bytes(b"user_id,item_id\nu\xe9,i1\nu2,007\nu3,7\n")
    s, lines = _one([f])
    assert s["bad"]["repaired"] == 1
    assert "   warnings (rows kept): 1" in lines
    assert any(line.startswith(f"     {f}:2: not valid UTF-8") for line in lines)
    assert (
        "   note: 1 item id spelt in more than one way ('007', '7'); each spelling "
        "is a different item, as written" in lines
    )


def _folder(tmp_path: Path, images: list[str], sub: str = "images") -> Path:
    folder = tmp_path / "shop"
    (folder / sub).mkdir(parents=True)
    for name in images:
        (folder / sub / name).write_bytes(b"x")
    return folder


def test_a_folder_counts_items_and_rows_with_an_image(tmp_path: Path) -> None:
    # kills rows-on-img-items, unmatched-all-images, more-ge-3 ("and 0 more"),
    # img-base-catalogue-first (the share is of the 3 rated items, not the 5 listed)
    folder = _folder(tmp_path, ["i1.jpg", "x1.jpg", "x2.jpg", "x3.jpg"])
    _csv(folder / "ratings.csv", "user_id,item_id", ["u1,i1", "u2,i1", "u1,i2", "u3,i3"])
    _csv(folder / "items.csv", "item_id,category", ["i1,A", "i2,A", "i3,B", "i4,B", "i5,B"])
    s, lines = _one([folder])
    assert (s["images_found"], s["items_with_image"], s["images_without_item"]) == (4, 1, 3)
    assert s["rows_on_items_with_image"] == 2 and s["catalogue_items"] == 5
    assert lines[-7:] == [
        "   items in the item table                  5",
        "   images in images/                        4",
        "   items with an image                      1  (33.3%)",
        "   images matching no item                  3",
        "     'x1', 'x2', 'x3'",
        "   rows on items with an image              2  (50.0%)",
        "   bad records (not kept): 0",
    ]


def test_an_item_table_folder_has_no_catalogue_line(tmp_path: Path) -> None:
    # kills catalogue-without-inter (the item table said twice: "items" and "items in
    # the item table")
    folder = _folder(tmp_path, ["i1.jpg"])
    _csv(folder / "items.csv", "item_id", ["i1", "i2"])
    s, lines = _one([folder])
    assert "catalogue_items" not in s
    assert not any("items in the item table" in line for line in lines)
    assert "   items with an image                      1  (50.0%)" in lines


def test_images_with_an_upper_case_suffix_make_an_image_folder(tmp_path: Path) -> None:
    # kills image-suffix-case
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "A.JPG").write_bytes(b"x")
    s, _ = _one([folder])
    assert s["kind"] == "image folder" and s["image_folder"] == str(folder)


def test_the_image_folder_read_is_not_listed_as_not_read(tmp_path: Path) -> None:
    # kills unread-lists-read-dir
    folder = _folder(tmp_path, ["i1.jpg"], sub="posters")
    (folder / "images").mkdir()
    _csv(folder / "u.csv", "user_id,item_id", ["u1,i1"])
    (folder / "u.csv").rename(folder / "ratings.csv")
    s, lines = _one([folder])
    assert s["files_not_read"] == ["images/"]
    assert "   not read: images/ (read: ratings.csv, posters/)" in lines


def test_images_beside_metadata_are_summarised_too(tmp_path: Path) -> None:
    # kills only-meta-ignores-images (the images were left out without a word)
    folder = _folder(tmp_path, ["B1.jpg"])
    _meta(folder / "meta_Shoes.json", [{"asin": "B1"}])
    kinds = [s["kind"] for s in summarize([folder])]
    assert kinds == ["image folder", "Amazon metadata"]


def test_sections_are_separated_by_a_blank_line(tmp_path: Path) -> None:
    # kills blocks-single-newline
    a = _csv(tmp_path / "a.csv", "user_id,item_id", ["u1,i1"])
    b = _csv(tmp_path / "b.csv", "user_id,item_id", ["u1,i1"])
    text = format_summary(summarize([a, b]))
    assert "   bad records (not kept): 0\n\n== " in text


def test_a_nan_vector_is_not_also_counted_as_huge(tmp_path: Path) -> None:
    # kills huge-counts-nan
    from visrec.embed.store import ItemVectors, write_vectors

    v = np.ones((3, 4))
    v[1, 0] = np.nan
    v[2, 0] = 1e13
    f = tmp_path / "v.parquet"
    write_vectors(f, ItemVectors(np.array(["a", "b", "c"], dtype=object), v, np.ones(3, bool)))
    s, lines = _one([f])
    assert (s["items_with_image"], s["not_finite"], s["huge"]) == (1, 1, 1)
    assert "   has_image rows with NaN or infinite values (refused by the recommenders): 1" in lines


def test_a_folder_of_no_data_lists_its_first_ten_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills listing-3
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(12):
        (folder / f"n{i:02d}.txt").write_text("x", encoding="utf-8")
    assert main(["data", "summary", str(folder)]) == 2
    err = capsys.readouterr().err
    listed = ", ".join(f"n{i:02d}.txt" for i in range(10))
    assert f"contents: {listed})" in err and "n10.txt" not in err


def test_ratings_that_print_alike_keep_their_own_counts(tmp_path: Path) -> None:
    # BUG fixed: 0.3 and 0.30000000000000004 (0.1 + 0.2 written by a script), or 4.0000001
    # and 4.0000002, both printed "0.3" / "4" under "{:g}", so one dict key took the
    # count of the other: 5 rows listed as 3, in the text and in --json alike
    rows = ["u1,i1,0.3", "u2,i1,0.30000000000000004", "u3,i1,0.30000000000000004"]
    rows += ["u4,i2,4.0000001", "u5,i2,4.0000002"]
    s, lines = _one([_csv(tmp_path / "r.csv", "user_id,item_id,rating", rows)])
    assert s["ratings"] == {"0.3": 1, "0.30000000000000004": 2, "4.0000001": 1, "4.0000002": 1}
    assert sum(s["ratings"].values()) == s["rows"] == 5
    assert "     0.30000000000000004                    2  (40.0%)" in lines
    # labels still short where six digits are exact
    assert (_num(0.25), _num(1e-07), _num(1e20), _num(3.0)) == ("0.25", "1e-07", "1e+20", "3")


def test_a_category_column_of_blanks_is_said_not_left_out(tmp_path: Path) -> None:
    # BUG fixed: items.csv whose category column is all blank printed no category line at
    # all (as if it had no such column); --json had items_without_category 2
    (tmp_path / "ib").mkdir()
    f = _csv(tmp_path / "ib" / "items.csv", "item_id,category", ["i1,", "i2, "])
    s, lines = _one([f])
    assert s["categories"] == {} and s["items_without_category"] == 2
    assert lines[2:] == [
        "   items                                    2",
        "   categories (category)",
        "     (no category)                          2  (100.0%)",
        "   bad records (not kept): 0",
    ]
