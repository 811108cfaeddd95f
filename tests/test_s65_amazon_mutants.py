"""Session 65 mutation audit of ``visrec.data.amazon`` (Amazon Review Data 2018/2023
review and meta files), aimed at code earlier audits (s59, s45, s40) left untested.

60 hand-written mutants: 31 killed by the tests that existed, 27 more by the tests
below (each names its mutant: an unclosed array's line, the exported-table refusal
needing user and item, the layout counting record lines, 2023 milliseconds (negative,
the 1e11 edge), medium photo URLs, large float ids, CR/Infinity/true ids, the time
repair warning, int64 edges, the 40-character shown value, a bytes path, keep_time and
review_digest refusals, blank text, review id skipping, float verified, NaN ratings,
meta blank hi-res URLs, null titles, indented or single-quoted HTML main_cat, meta id
kinds, a top-level true), and 2 are equivalent:

- E4 ``int(t)`` instead of ``int(t.strip())`` for a string time: ``int`` strips
  whitespace itself;
- K2 ``first_seen.setdefault`` instead of assignment in the meta loader: a repeat either
  ``continue``s before it or (``keep_repeats``) never reads ``first_seen``.

Mutants C7 onward were run against the 8 Amazon-focused test files only (time), so
"killed before" is a lower bound. No bug was found.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visrec.data.amazon import iter_json_records, load_amazon_meta, load_amazon_reviews
from visrec.data.tables import BadRecord
from visrec.errors import VisrecError


def _review(user: str, item: str = "B1", t: int = 1_500_000_000, **extra: object) -> str:
    rec: dict[str, object] = {"reviewerID": user, "asin": item, "overall": 5.0}
    rec["unixReviewTime"] = t
    rec.update(extra)
    return json.dumps(rec)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# A7: an unclosed array is reported on the line that opens it (not the next one)
def test_an_unclosed_array_is_named_on_its_own_line() -> None:
    text = _review("U1") + "\n[" + _review("U2") + ",\n" + _review("U3") + "\n"
    out = list(iter_json_records(text, "f.json"))
    bad = [(line, rec) for line, rec in out if isinstance(rec, BadRecord)]
    assert [(line, rec.line) for line, rec in bad] == [(2, 2)]
    assert "not closed" in bad[0][1].reason
    assert [rec["reviewerID"] for _, rec in out if isinstance(rec, dict)] == ["U1", "U2", "U3"]


# B2: a 2023 review with a user_id but no parent_asin first is one bad record of an
# Amazon file, not the whole file refused as an exported table (that needs user AND item)
def test_a_first_2023_review_without_an_item_is_a_bad_record(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "Shop.jsonl",
        [
            json.dumps({"user_id": "U1", "rating": 4.0, "timestamp": 1_600_000_000_000}),
            json.dumps(
                {
                    "user_id": "U2",
                    "parent_asin": "P1",
                    "rating": 5.0,
                    "timestamp": 1_600_000_000_000,
                }
            ),
        ],
    )
    res = load_amazon_reviews(f)
    assert res.frame["user_id"].tolist() == ["U2"]
    assert [(b.line, b.kind) for b in res.bad] == [(1, "missing parent_asin")]


# B5: the layout counts the lines records start on, not the records: an array of
# records over two lines is no JSON lines file
def test_an_array_over_two_lines_is_not_called_json_lines(tmp_path: Path) -> None:
    text = "[" + ", ".join(_review(f"U{i}") for i in range(3)) + ",\n" + _review("U9") + "]\n"
    f = tmp_path / "a.json"
    f.write_text(text, encoding="utf-8")
    res = load_amazon_reviews(f)
    assert res.n_rows == 4 and res.bad == []
    assert res.formats[str(f)].startswith("concatenated")


# C2: a 2023 timestamp is milliseconds when its magnitude is 1e11 or more, negative too
def test_a_negative_2023_millisecond_timestamp_becomes_seconds(tmp_path: Path) -> None:
    rec = {"user_id": "U1", "parent_asin": "P1", "rating": 5.0, "timestamp": -1_500_000_000_000}
    f = _write(tmp_path / "Shop.jsonl", [json.dumps(rec)])
    res = load_amazon_reviews(f)
    assert res.frame["timestamp"].tolist() == [-1_500_000_000]


# C3: 1e11 is where seconds end: 5e11 (1985 in milliseconds) is milliseconds
def test_a_2023_timestamp_just_over_1e11_is_milliseconds(tmp_path: Path) -> None:
    recs = [
        {"user_id": "U1", "parent_asin": "P1", "rating": 5.0, "timestamp": 500_000_000_000},
        {"user_id": "U2", "parent_asin": "P1", "rating": 5.0, "timestamp": 99_999_999_999},
    ]
    f = _write(tmp_path / "Shop.jsonl", [json.dumps(r) for r in recs])
    assert load_amazon_reviews(f).frame["timestamp"].tolist() == [500_000_000, 99_999_999_999]


# C5: a 2023 review photo with only a medium_image_url keeps that URL
def test_a_2023_review_photo_falls_back_to_its_medium_url(tmp_path: Path) -> None:
    photos = [
        {"medium_image_url": "https://x/m.jpg"},
        {"large_image_url": "https://x/l.jpg", "medium_image_url": "https://x/s.jpg"},
    ]
    rec = {"user_id": "U1", "parent_asin": "P1", "rating": 5.0, "timestamp": 1_600_000_000_000}
    rec["images"] = photos
    f = _write(tmp_path / "Shop.jsonl", [json.dumps(rec)])
    assert load_amazon_reviews(f).frame["image"].tolist() == [
        ["https://x/m.jpg", "https://x/l.jpg"]
    ]


# D1: a whole-number float id beyond 2**53 (still within int64) is its digits, not "1e+17"
def test_a_large_whole_float_id_is_written_in_digits(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "a.json",
        ['{"reviewerID": 1e17, "asin": "B1", "overall": 5, "unixReviewTime": 1}'],
    )
    assert load_amazon_reviews(f).frame["user_id"].tolist() == ["100000000000000000"]


# D4, D5, D6: a carriage return, an infinite number and true are no ids (a bad record
# each, not the ids "U\r1", "inf" and "True")
def test_ids_with_a_carriage_return_infinity_or_true_are_bad_records(tmp_path: Path) -> None:
    lines = [
        json.dumps({"reviewerID": "U\r1", "asin": "B1", "overall": 5, "unixReviewTime": 1}),
        '{"reviewerID": Infinity, "asin": "B1", "overall": 5, "unixReviewTime": 1}',
        '{"reviewerID": "U3", "asin": true, "overall": 5, "unixReviewTime": 1}',
        '{"reviewerID": NaN, "asin": "B1", "overall": 5, "unixReviewTime": 1}',
        _review("U5"),
    ]
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines))
    assert res.frame["user_id"].tolist() == ["U5"]
    assert [(b.line, b.kind) for b in res.bad] == [
        (1, "bad reviewerID"),
        (2, "bad reviewerID"),
        (3, "bad asin"),
        (4, "bad reviewerID"),
    ]
    assert "line break or NUL" in res.bad[0].reason
    assert res.bad[1].reason == "'reviewerID' is Infinity, expected a string id"
    assert res.bad[2].reason == "'asin' is true, expected a string id"


# E2: a review kept with its reviewTime's day because unixReviewTime is unusable is a
# warning (a repair), not kept silently
def test_a_review_time_repair_is_a_warning(tmp_path: Path) -> None:
    rec = {"reviewerID": "U1", "asin": "B1", "overall": 5.0, "unixReviewTime": "soon",
           "reviewTime": "09 1, 2016"}  # fmt: skip
    f = _write(tmp_path / "a.json", [json.dumps(rec)])
    res = load_amazon_reviews(f)
    assert res.frame["timestamp"].tolist() == [1472688000] and res.bad == []
    assert [(w.line, w.kind) for w in res.warnings] == [(1, "unreadable unixReviewTime")]
    assert '"soon"' in res.warnings[0].reason


# E3: int64's own bounds are whole seconds: -2**63 is kept, 2**63 is not
def test_the_int64_bounds_of_a_review_time(tmp_path: Path) -> None:
    lines = [_review("U1", t=-(2**63)), _review("U2", t=2**63 - 1), _review("U3", t=2**63)]
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines))
    assert res.frame["timestamp"].tolist() == [-(2**63), 2**63 - 1]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "missing time")]


# F2, F3: a wrong path argument is named by its own type ("bytes", not the ints a bytes
# object iterates to), "among them" when it is one of several
def test_a_wrong_path_argument_is_named_by_its_type(tmp_path: Path) -> None:
    with pytest.raises(VisrecError) as err:
        load_amazon_reviews(b"Shop_5.json")  # type: ignore[arg-type]
    assert str(err.value).endswith("got bytes")
    good = _write(tmp_path / "a.json", [_review("U1")])
    with pytest.raises(VisrecError) as err:
        load_amazon_reviews([good, 3])  # type: ignore[list-item]
    assert str(err.value).endswith("got int among them")


# E5: a bad value is shown whole up to 40 characters as written, shortened past that
def test_a_bad_time_is_shown_whole_up_to_40_characters(tmp_path: Path) -> None:
    lines = [
        json.dumps({"reviewerID": "U1", "asin": "B1", "overall": 5, "unixReviewTime": "a" * 38}),
        json.dumps({"reviewerID": "U2", "asin": "B1", "overall": 5, "unixReviewTime": "b" * 39}),
    ]
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines))
    assert [b.kind for b in res.bad] == ["missing time", "missing time"]
    assert f'is "{"a" * 38}", expected' in res.bad[0].reason
    assert f'is "{"b" * 36}..., expected' in res.bad[1].reason


# G1: keep_time alone (without ids_only) is refused, as keep_rating is
def test_keep_time_without_ids_only_is_refused(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.json", [_review("U1")])
    with pytest.raises(VisrecError, match="keep_time only applies with ids_only"):
        load_amazon_reviews(f, keep_time=True)


# G2: the review digest is no column of the photos' table: asked for both, refused
def test_review_digest_with_for_photos_is_refused(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.json", [_review("U1")])
    with pytest.raises(VisrecError, match="review_digest is not a column"):
        load_amazon_reviews(f, for_photos=True, review_digest=True)


# H2: a summary of spaces is no text: the review's digest cannot tell a copy
def test_a_blank_summary_is_no_review_text(tmp_path: Path) -> None:
    lines = [_review("U1", summary="   ", reviewText="\n"), _review("U2", summary=" ok ")]
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines), review_digest=True)
    assert res.frame["review_has_text"].tolist() == [False, True]


# H3: a repeat's number skips an id already given to another review: user "U_5" at time
# 2 is "A_U_5_2", so user "U"'s second review at time 5 is "A_U_5_3"
def test_a_repeat_review_id_skips_one_already_issued(tmp_path: Path) -> None:
    lines = [_review("U", "A", 5), _review("U_5", "A", 2), _review("U", "A", 5)]
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines))
    assert res.frame["review_id"].tolist() == ["A_U_5", "A_U_5_2", "A_U_5_3"]
    photos = load_amazon_reviews(_write(tmp_path / "a.json", lines), for_photos=True)
    assert photos.frame["review_id"].tolist() == ["A_U_5", "A_U_5_2", "A_U_5_3"]


# I1: verified written as the numbers 1.0 and 0.0 is true and false, without a warning
def test_verified_as_a_float_one_or_zero(tmp_path: Path) -> None:
    lines = [_review("U1", verified=1.0), _review("U2", verified=0.0)]
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines))
    assert res.frame["verified"].tolist() == [True, False]
    assert res.warnings == []


# J3: a NaN rating is no number, not a rating out of the 1 to 5 stars
def test_a_nan_rating_is_non_numeric(tmp_path: Path) -> None:
    lines = ['{"reviewerID": "U1", "asin": "B1", "overall": NaN, "unixReviewTime": 1}']
    res = load_amazon_reviews(_write(tmp_path / "a.json", lines))
    assert [(b.kind, b.reason) for b in res.bad] == [
        ("non-numeric rating", "'overall' is nan, expected a finite number")
    ]


# K3: high-resolution URLs that are all blank fall back to imageURL; K5: a null title is
# an empty title, not "None"
def test_meta_blank_hires_urls_fall_back_and_a_null_title_is_empty(tmp_path: Path) -> None:
    lines = [
        json.dumps({"asin": "B1", "title": None, "imageURLHighRes": ["  ", ""],
                    "imageURL": ["https://x/1.jpg"]}),
        json.dumps({"asin": "B2", "title": "Hat", "imageURLHighRes": ["https://x/2.jpg"],
                    "imageURL": ["https://x/2s.jpg"]}),
    ]  # fmt: skip
    frame = load_amazon_meta(_write(tmp_path / "meta_Shop.json", lines)).frame
    assert frame["image_urls"].tolist() == [["https://x/1.jpg"], ["https://x/2.jpg"]]
    assert frame["title"].tolist() == ["", "Hat"]


# K7, K8: an HTML main_cat after a space, or with its alt text in single quotes, is its
# alt text
def test_an_html_main_cat_after_a_space_or_in_single_quotes(tmp_path: Path) -> None:
    lines = [
        json.dumps({"asin": "B1", "main_cat": ' <img src="x.png" alt="AMAZON FASHION"/>'}),
        json.dumps({"asin": "B2", "main_cat": "<img src='x.png' alt='All Beauty'/>"}),
    ]
    frame = load_amazon_meta(_write(tmp_path / "meta_Shop.json", lines)).frame
    assert frame["main_cat"].tolist() == ["AMAZON FASHION", "All Beauty"]


# K9: in metadata too, the asin 7 and the asin "7" are one id as text: refused
def test_meta_asins_of_two_kinds_spelt_alike_are_refused(tmp_path: Path) -> None:
    lines = [json.dumps({"asin": 7, "title": "a"}), json.dumps({"asin": "7", "title": "b"})]
    with pytest.raises(VisrecError, match="are both the id '7' as text"):
        load_amazon_meta(_write(tmp_path / "meta_Shop.json", lines))


# L1: a top-level true is named as JSON names it
def test_a_top_level_true_is_named_true_or_false(tmp_path: Path) -> None:
    res = load_amazon_reviews(_write(tmp_path / "a.json", [_review("U1"), "true"]))
    assert [(b.line, b.reason) for b in res.bad] == [
        (2, "expected a JSON object, got true or false")
    ]
