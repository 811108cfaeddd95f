"""Session 68 mutation audit (helper amznew) of ``visrec.data.amazon`` (the Amazon
Review Data 2018/2023 loaders) and ``visrec.commands._new_items`` (candidates unseen in
training, for ``visrec recommend``), aimed at what the s59/s65 (amazon) and s58/s64
(new items) audits left out. Each test names the mutants it kills.

48 hand-written mutants (30 in amazon, A1-A30; 18 in _new_items, N1-N18), run with
``-x`` against the nearest older tests (amazon: test_data_amazon, test_s59/s65 amazon
mutants, test_amazon_paths, test_loader_robustness, test_s60_json_array,
test_s61_json_comma_first; new items: test_s58_new_items_mutants, test_s64_newitems_mutants,
test_session46_fixes, test_registry_wording, test_s66_recsio_mutants).
Killed by the older tests: 32 (A 20, N 12). Survived: 16 (A2, A6, A12, A17, A19, A20,
A21, A25, A27, A30; N4, N6, N7, N8, N14, N18). Killed after the tests below: all 14
that are not equivalent. Equivalent (2):

- A30 ``item in first_seen`` -> ``... and item != ""`` in the meta loader: ``_as_id``
  never returns an empty id (a blank one is ``None``, a "missing asin" before this);
- N4 ``broken = has & ~usable_rows(vecs)`` -> ``~usable_rows(vecs)``: ``ItemVectors.align``
  zeroes every row without ``has``, and a zero row is usable, so both masks agree.

Which test kills which: an image object A2; meta ``_where``/``_line`` A6; id problems'
order and blank ids A12; a true or "" time A17; invalid JSON's column and a top-level
float A19, A20; a negative id of two kinds A21; "" verified A25; ids_only keep_time A27;
the none-scored warning N6; a pipe N7; a folder as --vectors N8; a recorded path that
is a folder N18; the spelling warning's ids N14. Tests the helper wrote that only
killed mutants the older tests kill too were dropped.
No bug was found in the source.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from test_s64_newitems_mutants import _Model, _unseen, _vectors
from visrec.commands._new_items import (
    not_a_file,
    say_none_scored,
    unseen_vectors,
    vectors_file_meta,
)
from visrec.data.amazon import load_amazon_meta, load_amazon_reviews
from visrec.errors import VisrecError


def _rec(user: object = "U1", item: object = "B1", **extra: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "reviewerID": user,
        "asin": item,
        "overall": 5.0,
        "unixReviewTime": 1_500_000_000,
    }
    rec.update(extra)
    return rec


def _write(path: Path, recs: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path


def _bad(result: object) -> list[tuple[int, str, str]]:
    return [(b.line, b.kind, b.reason) for b in result.bad]  # type: ignore[attr-defined]


# A2: an ``image`` that is an object is no list of photos (its keys are no URLs)
def test_an_image_object_is_no_photos(tmp_path: Path) -> None:
    f = _write(tmp_path / "Shop_5.json", [_rec(image={"http://a/1.jpg": 1})])
    assert load_amazon_reviews(f).frame["image"].tolist() == [[]]
    assert load_amazon_reviews(f, for_photos=True).frame["image"].tolist() == [[]]


# A6: the meta table's ``_where`` and ``_line`` name the line the record starts on
def test_meta_where_names_the_records_line(tmp_path: Path) -> None:
    f = _write(tmp_path / "meta_Shop.json", [{"asin": "B1"}, {"asin": "B2"}])
    frame = load_amazon_meta(f, with_lines=True).frame
    assert frame["_line"].tolist() == [1, 2]
    assert frame["_where"].tolist() == [f"{f} line 1", f"{f} line 2"]


# A12, A13: with both ids missing, the reviewerID is named; a blank id is "missing"
def test_id_problems_name_the_reviewer_first_and_a_blank_id_as_missing(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "Shop_5.json",
        [{"overall": 5.0, "unixReviewTime": 1}, _rec("U1", item="  ")],
    )
    assert _bad(load_amazon_reviews(f, ids_only=True)) == [
        (1, "missing reviewerID", "no 'reviewerID' field"),
        (2, "missing asin", "'asin' is null or empty"),
    ]


# A15, A17: a unixReviewTime of true or "" is no time; the reason quotes it
def test_a_true_or_empty_review_time_is_no_time(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "Shop_5.json",
        [_rec("U1", unixReviewTime=True), _rec("U2", unixReviewTime="")],
    )
    result = load_amazon_reviews(f)
    assert result.frame.empty
    reasons = [reason for _, _, reason in _bad(result)]
    assert reasons == [
        "'unixReviewTime' is true, expected whole seconds within int64, and no usable reviewTime",
        "'unixReviewTime' is \"\", expected whole seconds within int64, and no usable reviewTime",
    ]


# A19, A20: invalid JSON on the record's own line says the column only; a float
# top-level value is "a number"
def test_invalid_json_reason_and_a_top_level_float(tmp_path: Path) -> None:
    f = tmp_path / "Shop_5.json"
    f.write_text('2.5\n{"reviewerID": }\n' + json.dumps(_rec()) + "\n")
    bad = _bad(load_amazon_reviews(f))
    assert bad[0] == (1, "not an object", "expected a JSON object, got a number")
    assert bad[1][:2] == (2, "invalid JSON")
    assert bad[1][2] == "invalid JSON: Expecting value (column 16)"


# A21: a negative number and a negative string id are refused as two kinds of one id
def test_a_negative_id_as_number_and_as_string_is_refused(tmp_path: Path) -> None:
    f = _write(tmp_path / "Shop_5.json", [_rec(-5), _rec("-5", item="B2")])
    with pytest.raises(VisrecError, match=r"are both the id '-5' as text"):
        load_amazon_reviews(f)


# A24, A25: "false" and "" are readable verified values (False, no warning)
def test_false_words_for_verified_are_read_without_a_warning(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "Shop_5.json",
        [_rec("U1", verified="False"), _rec("U2", verified=""), _rec("U3", verified="TRUE")],
    )
    result = load_amazon_reviews(f)
    assert result.frame["verified"].tolist() == [False, False, True]
    assert result.warnings == []


# A26, A27: ids_only with keep_time drops a record without a time as a bad record, and
# warns of one whose time came from reviewTime
def test_ids_only_keep_time_reports_missing_and_repaired_times(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "Shop_5.json",
        [
            _rec("U1", unixReviewTime=None),
            _rec("U2", unixReviewTime="soon", reviewTime="09 1, 2016"),
        ],
    )
    result = load_amazon_reviews(f, ids_only=True, keep_time=True)
    assert result.frame["user_id"].tolist() == ["U2"]
    assert _bad(result) == [(1, "missing time", "no usable unixReviewTime or reviewTime")]
    assert [(w.line, w.kind) for w in result.warnings] == [(2, "unreadable unixReviewTime")]


# N6, N15: the all-unscored warning names the vectors file, or the model that cannot score
def test_the_none_scored_warning_names_the_file_or_the_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    say_none_scored(_Model(), "v.parquet")  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "every one is unseen in training, and none has a usable image vector in v.parquet)" in (
        err
    )
    say_none_scored(SimpleNamespace(name="pop", scores_new_items=False), None)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "and model 'pop' cannot score new items; " in err
    assert "every list is in the same arbitrary order" in err


# N7: a pipe given as the vectors file is said to be one, not to be missing
def test_a_pipe_is_no_vectors_file(tmp_path: Path) -> None:
    pipe = tmp_path / "v.parquet"
    os.mkfifo(pipe)
    assert not_a_file(pipe) == "is a pipe, not a regular file; give the .parquet file"


# N8: a folder given as --vectors is refused as a folder before it is read
def test_a_folder_given_as_vectors_is_refused_as_a_directory(tmp_path: Path) -> None:
    with pytest.raises(VisrecError) as exc:
        vectors_file_meta(str(tmp_path))
    assert str(exc.value) == f"vectors file {str(tmp_path)!r} is a directory, not a file"


# N18: a recorded vectors path that is now a folder is a note, and the candidates last
def test_a_recorded_vectors_path_that_is_a_folder_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _unseen(_Model(), ["n0"], str(tmp_path))[0] is None
    err = capsys.readouterr().err
    assert f"({tmp_path} is a directory, not a file); pass --vectors" in err


# N14: the spelling warning shows the unseen candidates' ids, not the seen ones'
def test_the_spelling_warning_shows_only_unseen_candidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", {"X1": [1, 0, 0, 0], "X2": [0, 1, 0, 0]})
    raw = np.array(["t0", "n0"], dtype=object)
    got = unseen_vectors(_Model(), raw, np.array([1]), v, "c.txt")  # type: ignore[arg-type]
    assert got[0] is None
    line = next(x for x in capsys.readouterr().err.splitlines() if "holds none" in x)
    assert "the candidates' like 'n0')" in line
    assert "'t0'" not in line
