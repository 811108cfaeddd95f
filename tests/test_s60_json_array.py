"""A file of Amazon reviews saved as one pretty-printed JSON array with a broken element
(session 60): the array is read element by element, so only the broken review is a bad
record; before, the whole array was one bad record and every good review in it was lost."""

from __future__ import annotations

import json
from pathlib import Path

from visrec.data.amazon import iter_json_records
from visrec.data.tables import BadRecord, load_interactions


def _review(asin: str, user: str, t: int) -> dict[str, object]:
    return {"overall": 5.0, "reviewerID": user, "asin": asin, "unixReviewTime": t}


def test_pretty_array_with_a_broken_review_keeps_the_others(tmp_path: Path) -> None:
    good = [_review("B01", "U1", 100), _review("B02", "U2", 101), _review("B03", "U3", 102)]
    parts = [json.dumps(r, indent=2) for r in good]
    parts.insert(2, '{\n  "overall": 4.0,\n  "reviewerID": "U9"\n  "asin": "B09"\n}')
    text = "[\n" + ",\n".join(parts) + "\n]\n"
    f = tmp_path / "reviews.json"
    f.write_text(text)
    res = load_interactions(f)
    assert sorted(res.frame["user_id"]) == ["U1", "U2", "U3"]
    assert res.n_bad == 1
    bad_line = text.splitlines().index('  "asin": "B09"')  # the record starts 3 lines up
    (bad,) = [b for b in res.bad if isinstance(b, BadRecord)]
    assert bad.line == bad_line - 2 and bad.kind == "invalid JSON"


def test_unclosed_array_is_said_once_and_its_records_kept() -> None:
    got = list(iter_json_records('[{"a": 1},\n {"a": 2}\n', "f"))
    assert got[:2] == [(1, {"a": 1}), (2, {"a": 2})]
    (line, bad) = got[2]
    assert line == 1 and isinstance(bad, BadRecord) and "not closed" in bad.reason
    assert len(got) == 3


def test_broken_array_of_numbers_stays_one_bad_record() -> None:
    # not a batch of records: one bad value, as a broken line of a JSON-lines file
    got = list(iter_json_records('{"a": 1}\n[1, 2\n{"b": 3}\n', "f"))
    assert [o for _, o in got if not isinstance(o, BadRecord)] == [{"a": 1}, {"b": 3}]
    assert [ln for ln, o in got if isinstance(o, BadRecord)] == [2]


def test_a_closing_bracket_outside_any_array_is_a_bad_record() -> None:
    got = list(iter_json_records('{"a": 1}\n]\n{"b": 2}\n', "f"))
    assert [o for _, o in got if not isinstance(o, BadRecord)] == [{"a": 1}, {"b": 2}]
    assert [ln for ln, o in got if isinstance(o, BadRecord)] == [2]


def test_a_broken_last_element_is_one_bad_record_not_two() -> None:
    # the resume after the broken element skips past the "]": no "not closed" too
    got = list(iter_json_records('[\n {"a": 1},\n {"a": 2,,}\n]\n', "f"))
    assert got[0] == (2, {"a": 1})
    assert [ln for ln, o in got if isinstance(o, BadRecord)] == [3]
