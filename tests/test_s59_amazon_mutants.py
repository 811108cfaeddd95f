"""Tests a mutation audit of ``visrec.data.amazon`` found missing (session 59): the
Amazon Review Data 2018/2023 loaders (JSON lines and pretty-printed files, gzip or
plain, bad records, empty files, the columns produced).

63 hand-written mutants were tried (60 of the module, 3 of the fix below): 48 were
killed by the existing tests, 13 more by the tests below, and 2 are equivalent (the
resume position after a parse error landing on the newline rather than after it; the
line count taken one character further, over a character that is never a newline).
One bug was fixed: after an unparsable record, reading resumed only at a line starting
with ``{`` in its first column, so in a file whose records are indented
(`` {"reviewerID": ...}``) every record after a broken one was dropped without a count.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from visrec.data.amazon import (
    category_from_filename,
    is_meta_file,
    iter_json_records,
    load_amazon_meta,
    load_amazon_reviews,
)
from visrec.data.tables import BadRecord
from visrec.errors import VisrecError


def _review(user: str, item: str = "B1", t: int = 1_500_000_000, **extra: object) -> str:
    rec: dict[str, object] = {
        "reviewerID": user,
        "asin": item,
        "overall": 5.0,
        "unixReviewTime": t,
    }
    rec.update(extra)
    return json.dumps(rec)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# mutant: an array on the first line of a file counts as "the whole file" even when more
# lines follow ((pos == start) without end == stop): its numbers became two bad records
def test_an_array_first_line_followed_by_records_is_one_bad_record(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.json", ["[1, 2]", _review("U1")])
    res = load_amazon_reviews(f)
    assert res.frame["user_id"].tolist() == ["U1"]
    assert [(b.line, b.kind, b.reason) for b in res.bad] == [
        (1, "not an object", "expected a JSON object, got an array")
    ]
    assert res.n_read == 2


# mutant: "asin" left out of the Amazon field names that keep a file from being refused as
# an exported table: a 2023 record with user_id and asin but no parent_asin is a bad
# record of an Amazon file, not the whole file refused
def test_a_first_record_with_user_id_and_asin_is_read_as_amazon(tmp_path: Path) -> None:
    first = json.dumps(
        {"user_id": "U1", "asin": "V1", "rating": 4.0, "timestamp": 1_600_000_000_000}
    )
    good = json.dumps(
        {
            "user_id": "U2",
            "asin": "V2",
            "parent_asin": "P2",
            "rating": 5.0,
            "timestamp": 1_600_000_000_000,
        }
    )
    res = load_amazon_reviews(_write(tmp_path / "r.jsonl", [first, good]))
    assert res.frame[["user_id", "item_id", "timestamp"]].values.tolist() == [
        ["U2", "P2", 1_600_000_000]
    ]
    assert [(b.line, b.kind) for b in res.bad] == [(1, "missing parent_asin")]


# mutant: an empty file's layout reported as "JSON lines" (data summary shows it)
def test_an_empty_file_beside_a_good_one_is_labelled_empty(tmp_path: Path) -> None:
    good = _write(tmp_path / "Good_5.json", [_review("U1")])
    empty = tmp_path / "Empty_5.json.gz"
    empty.write_bytes(gzip.compress(b""))
    res = load_amazon_reviews([good, empty])
    assert res.formats == {str(good): "JSON lines", str(empty): "empty"}
    assert len(res.frame) == 1 and res.n_read == 1 and res.bad == []
    assert list(res.frame.columns) == [
        "review_id",
        "user_id",
        "item_id",
        "rating",
        "timestamp",
        "verified",
        "image",
        "category",
    ]


# mutant: blank image URLs kept in the list (a photo fetch would try "")
def test_blank_image_urls_are_left_out_and_a_single_url_is_a_list(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "r.json",
        [
            _review("U1", image=["  ", " http://x/a.jpg ", "", 7]),
            _review("U2", image="http://x/b.jpg"),
        ],
    )
    assert load_amazon_reviews(f).frame["image"].tolist() == [
        ["http://x/a.jpg"],
        ["http://x/b.jpg"],
    ]


# mutant: no error for an empty list of paths (an empty table instead)
def test_no_paths_is_an_error_not_an_empty_table() -> None:
    with pytest.raises(VisrecError, match="no input files given"):
        load_amazon_reviews([])
    with pytest.raises(VisrecError, match="no input files given"):
        load_amazon_meta([])


# mutant: the folder check dropped (the reading then says only "expected a file")
def test_a_folder_is_refused_naming_the_amazon_files_expected(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match=r"is a folder, expected an Amazon \.json or \.json\.gz"):
        load_amazon_reviews(tmp_path)


# mutant: a record without a "category" list gets ["None"] as its breadcrumb
def test_meta_without_a_category_list_has_no_categories(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "meta_X.json",
        [
            json.dumps({"asin": "A1", "title": "a"}),
            json.dumps({"asin": "A2", "category": ["Shoes", 3]}),
        ],
    )
    assert load_amazon_meta(f).frame["categories"].tolist() == [[], ["Shoes", "3"]]


# mutant: is_meta_file takes any name holding "meta_" (a review file "old_meta_x.json")
def test_only_a_meta_prefix_makes_a_meta_file() -> None:
    assert is_meta_file("meta_All_Beauty.json.gz")
    assert not is_meta_file("Beauty_meta_backup.json")


# mutant: a long bad value shown whole in the bad record's reason (not shortened)
def test_a_long_bad_time_is_shortened_in_the_reason(tmp_path: Path) -> None:
    f = _write(tmp_path / "r.json", [_review("U1", t="x" * 100)])  # type: ignore[arg-type]
    res = load_amazon_reviews(f)
    assert res.frame.empty
    (bad,) = res.bad
    assert bad.kind == "missing time"
    assert f"'unixReviewTime' is \"{'x' * 36}..., expected whole seconds" in bad.reason


# mutant: "_\d+" stripped anywhere in the name, not only a trailing 5-core's "_5"
@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Cell_Phones_2019_5.json.gz", "Cell_Phones_2019"),
        ("meta_All_Beauty.json", "All_Beauty"),
    ],
)
def test_category_from_filename(name: str, category: str) -> None:
    assert category_from_filename(name) == category


# the fix: after a broken record, reading resumes at the next record even when records
# are indented, and no record after it is dropped uncounted
def test_indented_records_after_a_broken_one_are_read(tmp_path: Path) -> None:
    lines = [
        " " + _review("U1"),
        ' {"reviewerID": "U2", broken',
        " " + _review("U3"),
        " " + _review("U4"),
    ]
    res = load_amazon_reviews(_write(tmp_path / "r.json", lines))
    assert res.frame["user_id"].tolist() == ["U1", "U3", "U4"]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "invalid JSON")]
    assert res.n_read == 4


def test_a_broken_pretty_printed_record_does_not_resume_inside_the_next(tmp_path: Path) -> None:
    # the nested objects of a pretty-printed record start indented lines with "{": the
    # reader must not take them for records after a broken one
    recs = [
        {
            "user_id": f"U{i}",
            "parent_asin": "P",
            "rating": 4.0,
            "timestamp": 1_600_000_000_000,
            "images": [{"large_image_url": f"http://x/{i}.jpg"}],
        }
        for i in range(3)
    ]
    text = "\n".join(json.dumps(r, indent=2) for r in recs).replace('"U1",', '"U1"', 1)
    got = list(iter_json_records(text, "f"))
    bad = [rec for _, rec in got if isinstance(rec, BadRecord)]
    assert [rec["user_id"] for _, rec in got if isinstance(rec, dict)] == ["U0", "U2"]
    assert len(bad) == 1 and bad[0].kind == "invalid JSON"
