"""Comma-first JSON (``,{...}`` at the start of each record's line): after a broken
record the reader resumes at the next one (session 61). It used to look only for a
line starting with ``{``, so every good record after the broken one was lost.
"""

from __future__ import annotations

from pathlib import Path

from visrec.data.amazon import iter_json_records, load_amazon_reviews
from visrec.data.tables import BadRecord


def test_an_array_in_comma_first_layout_loses_only_its_broken_element() -> None:
    text = '[ {"a": 1}\n, {"a": 2,,}\n, {"a": 3}\n, {"a": 4}\n]\n'
    got = list(iter_json_records(text, "f.json"))
    assert [(line, r) for line, r in got if not isinstance(r, BadRecord)] == [
        (1, {"a": 1}),
        (3, {"a": 3}),
        (4, {"a": 4}),
    ]
    bad = [(line, r) for line, r in got if isinstance(r, BadRecord)]
    assert len(bad) == 1 and bad[0][0] == 2 and bad[0][1].line == 2


def test_concatenated_comma_first_objects_resume_after_a_broken_one() -> None:
    text = '{"a": 1}\n,{"a": 2,,}\n,{"a": 3}\n  ,  {"a": 5}\n'
    got = list(iter_json_records(text, "f.json"))
    assert [r for _, r in got if not isinstance(r, BadRecord)] == [{"a": 1}, {"a": 3}, {"a": 5}]
    assert [line for line, r in got if isinstance(r, BadRecord)] == [2]


def test_a_nested_comma_first_object_is_not_taken_for_a_record() -> None:
    # the resume still keeps to the broken record's indentation: a deeper ",{" inside a
    # pretty-printed record is not the next record
    text = '{"a": 1,,\n  "b": [\n    {"c": 1}\n    ,{"c": 2}\n  ]}\n{"a": 9}\n'
    got = list(iter_json_records(text, "f.json"))
    assert [r for _, r in got if not isinstance(r, BadRecord)] == [{"a": 9}]
    assert [line for line, r in got if isinstance(r, BadRecord)] == [1]


def test_reviews_in_comma_first_layout_load_around_a_broken_one(tmp_path: Path) -> None:
    recs = [
        '{"reviewerID": "u1", "asin": "i1", "overall": 5.0, "unixReviewTime": 1}',
        '{"reviewerID": "u2", "asin": "i1", "overall": 4.0, "unixReviewTime": 2,,}',
        '{"reviewerID": "u3", "asin": "i2", "overall": 3.0, "unixReviewTime": 3}',
    ]
    path = tmp_path / "Shop_5.json"
    path.write_text("[ " + "\n, ".join(recs) + "\n]\n")
    res = load_amazon_reviews(path)
    assert sorted(res.frame["user_id"]) == ["u1", "u3"]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "invalid JSON")]
