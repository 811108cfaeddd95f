"""Session 65: mutation audit of the item-vectors store (visrec.embed.store), aimed at
what the session-50 audit (tests/test_s50_store_mutants.py) left: ItemVectors' checks
and repr, has_image_for, vector_rows / image_flags, check_finite_vectors' message, the
usable-value limit, made_differently / backbone_names, distinct_rows / duplicate_note,
the write-side meta checks (vectors_schema, described), read_vectors' ``only``, null
vectors and ids, not_parquet, the read-error wording, parse_meta's field checks and
vector_width.

Mutants: 58 in total (M01-M58). Killed before: 32 (25 by test_store, test_s50_store_mutants,
test_vector_warnings, test_s51_read_write_errors, test_vectors_of_another_dataset and
test_odd_ids; 7 more -- M12, M34, M47, M48, M52, M54, M55 -- by session42/43 fixes,
test_interop_fixes and test_python_api_fixes; the other survivors were not run against
that wider set). Killed after: 57. Equivalent: 1.
- M40 (read_vectors drops its "one id given as a string" wrap of ``only``): equivalent,
  find_ids wraps a lone id itself, so ``only="ab"`` still finds the item "ab"; the test
  of it is kept as a check of the behaviour.
Limit note: M18 (``<`` for ``<=`` in usable_rows) cannot show on float32 vectors (1e12 is
no float32 value); it is killed through a float64 array, which usable_rows is also given.

Each test names the mutant(s) it kills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from small_vectors import item_vectors as _iv
from visrec.embed.store import (
    ItemVectors,
    backbone_names,
    check_finite_vectors,
    distinct_rows,
    duplicate_note,
    image_flags,
    made_differently,
    not_parquet,
    parse_meta,
    read_vectors,
    read_vectors_meta,
    usable_rows,
    usable_values,
    vector_rows,
    vector_width,
    write_vectors,
)
from visrec.errors import VisrecError


def _one(meta: dict[str, Any] | None = None) -> ItemVectors:
    """The item "a" with the vector [1.0] and ``meta``."""
    return ItemVectors(
        ids=np.array(["a"], dtype=object),
        vectors=np.ones((1, 1), np.float32),
        has_image=np.array([True]),
        meta=meta or {},
    )


def test_a_row_of_zeros_has_no_image_whatever_its_flag() -> None:
    # M04 (a zero row kept has_image=True: another tool's "no picture" row used as a vector)
    iv = _iv(["a", "b"], [[0, 0], [1, 2]])
    assert iv.has_image.tolist() == [False, True]


def test_repr_names_the_backbone() -> None:
    # M07 (the backbone left out of the repr)
    assert repr(_iv(["a", "b"], [[1, 0], [0, 1]], [True, False])) == (
        "ItemVectors(2 items x 2, 1 with an image, backbone='test')"
    )
    plain = _one()
    assert repr(plain) == "ItemVectors(1 item x 1, 1 with an image)"


def test_has_image_for_reads_the_first_row_too() -> None:
    # M08 (row 0 taken as absent: pos > 0)
    iv = _iv(["a", "b", "c"], [[1, 0], [0, 1], [1, 1]], [True, False, True])
    assert iv.has_image_for(["a", "zz", "b", "c"]).tolist() == [True, False, False, True]


def test_a_vector_of_another_length_is_named_by_its_item() -> None:
    # M11 (the row number named instead of the item)
    col = np.empty(2, dtype=object)
    col[0], col[1] = np.array([1.0, 2.0]), np.array([3.0])
    with pytest.raises(VisrecError, match=r"item 'y' has 1 values where the first item has 2"):
        vector_rows(col, np.array(["x", "y"], dtype=object))
    with pytest.raises(VisrecError, match=r"row 1 has 1 values"):
        vector_rows(col)


def test_a_frame_of_times_is_refused_in_words() -> None:
    # M13 (pandas' own words, or times taken as numbers)
    frame = pd.DataFrame({"x": pd.to_datetime(["2020-01-01", "2020-01-02"])})
    with pytest.raises(VisrecError, match=r"vectors must be numbers.*got datetime64"):
        vector_rows(frame)


def test_has_image_flags_take_only_zero_and_one() -> None:
    # M14 (2 taken as a flag: read as True)
    assert image_flags([0, 1, 1]).tolist() == [False, True, True]
    with pytest.raises(VisrecError, match=r"has_image must be a 1-D array of true/false"):
        image_flags([0, 2])


def test_has_image_flags_must_be_one_dimensional() -> None:
    # M15 (a 2-D array of flags taken)
    with pytest.raises(VisrecError, match=r"got bool of shape \(1, 2\)"):
        image_flags([[True, False]])


def test_five_broken_vectors_are_named_with_no_more_said() -> None:
    # M17 (" and 0 more" after exactly five items)
    ids = [f"i{k}" for k in range(6)]
    rows = [[np.nan, 0]] * 5 + [[1, 1]]
    with pytest.raises(VisrecError) as err:
        check_finite_vectors(_iv(ids, rows), ids, "v.parquet")
    assert "5 item vectors" in str(err.value)
    assert "more" not in str(err.value)
    rows = [[np.nan, 0]] * 6
    with pytest.raises(VisrecError, match=r"6 item vectors.* and 1 more\)"):
        check_finite_vectors(_iv(ids, rows), ids, "v.parquet")


def test_a_value_of_exactly_the_limit_is_usable() -> None:
    # M18 / M57 ("beyond ±1e12" is refused, 1e12 itself is not: < for <=)
    assert usable_rows(np.array([[1e12, -1e12], [1e12, 1.5e12]])).tolist() == [True, False]
    assert usable_values(np.array([1e12, -1e12]))
    assert not usable_values(np.array([1e12, np.nextafter(1e12, 2e12)]))


def test_the_same_weights_under_another_file_name_are_the_same() -> None:
    # M20 (the file name part of weights_id compared too)
    assert made_differently({"weights_id": "a.pt:abc"}, {"weights_id": "copy.pt:abc"}) == []
    assert made_differently({"weights_id": "a.pt:abc"}, {"weights_id": "a.pt:def"}) == [
        "weights 'a.pt:abc' vs 'a.pt:def'"
    ]


def test_a_float32_mean_in_memory_matches_the_same_mean_read_back() -> None:
    # M21 (a last-bit difference between float32 and JSON's float called "made differently")
    mean = np.array([0.5, 0.49803922], dtype=np.float32)
    trained = {"preprocessing": {"mean": [0.5, 0.49803922], "interpolation": "bilinear"}}
    given = {"preprocessing": {"mean": mean, "interpolation": "bicubic"}}
    assert made_differently(trained, given) == ["interpolation 'bilinear' vs 'bicubic'"]


def test_an_empty_backbone_name_is_no_name() -> None:
    # M22 ("" read as a backbone, then a mismatch with every named one)
    assert backbone_names({"backbone": ""}, {"backbone": "resnet50"}) == (None, "resnet50")
    assert backbone_names({"backbone": 5}, None) == (None, None)


def test_distinct_rows_of_vectors_with_no_repeat_is_no_copy() -> None:
    # M25 (a copy of a whole catalogue's vectors made when no row repeats)
    v = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    distinct, inverse = distinct_rows(v)
    assert distinct is v
    assert inverse.tolist() == [0, 1, 2]
    v2 = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    distinct, inverse = distinct_rows(v2)
    assert distinct.tolist() == [[1, 0], [0, 1]] and inverse.tolist() == [0, 1, 0]


def test_the_duplicate_note_counts_items_and_marks_a_longer_group() -> None:
    # M26 (", ..." after a group of exactly three), M27 (groups counted as items)
    ids = np.array(["a", "b", "c", "d", "e", "f", "g"], dtype=object)
    note = duplicate_note(ids, [np.array([0, 1, 2]), np.array([3, 4])])
    assert note is not None
    assert note.startswith("5 items share their vector with another item (2 groups")
    assert "the largest, 3 items: 'a', 'b', 'c'):" in note
    note = duplicate_note(ids, [np.array([0, 1, 2, 5])])
    assert note is not None and "4 items: 'a', 'b', 'c', ...):" in note
    assert duplicate_note(ids, []) is None


def test_meta_that_would_read_as_damaged_is_refused_on_write(tmp_path: Path) -> None:
    # M32 (a file written that every later read refuses as damaged)
    path = tmp_path / "v.parquet"
    iv = _one(meta={"backbone": 5})
    with pytest.raises(VisrecError, match=r"item vectors: meta backbone 5 is not a name"):
        write_vectors(path, iv)
    assert not path.exists()


def test_numpy_values_in_meta_are_written_as_json_numbers(tmp_path: Path) -> None:
    # M33 (np.float32 / an array in a meta made in memory refused)
    path = tmp_path / "v.parquet"
    meta = {"backbone": "t", "preprocessing": {"mean": np.array([0.5, 0.25], np.float32),
                                              "size": np.int64(3)}}  # fmt: skip
    write_vectors(path, _one(meta=meta))
    assert read_vectors_meta(path)["preprocessing"] == {"mean": [0.5, 0.25], "size": 3}


def test_the_first_missing_vector_is_named(tmp_path: Path) -> None:
    # M39 (the last null vector named, not the first)
    path = tmp_path / "v.parquet"
    vec = pa.array([[1.0, 2.0], None, [3.0, 4.0], None], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ["a", "b", "c", "d"], "vector": vec}), path)
    with pytest.raises(VisrecError, match=r"v\.parquet: item 'b' has no vector \(null\)"):
        read_vectors(path)


def test_only_one_id_as_a_string_is_that_one_item(tmp_path: Path) -> None:
    # M40 (a string taken as one id per character)
    path = tmp_path / "v.parquet"
    write_vectors(path, _iv(["a", "b", "ab"], [[1, 0], [0, 1], [1, 1]]))
    got = read_vectors(path, only="ab")
    assert got.ids.tolist() == ["ab"]
    assert got.vectors.tolist() == [[1, 1]]


def test_only_finds_ids_as_every_other_lookup_does(tmp_path: Path) -> None:
    # M43 (only's ids looked up as str(): 3.0 -> "3.0", not the item "3")
    path = tmp_path / "v.parquet"
    write_vectors(path, _iv(["3", "4", "5"], [[1, 0], [0, 1], [1, 1]]))
    got = read_vectors(path, only=[3.0, 5])  # type: ignore[list-item]
    assert got.ids.tolist() == ["3", "5"]
    assert got.vectors.tolist() == [[1, 0], [1, 1]]


def test_a_json_list_file_is_said_to_be_json(tmp_path: Path) -> None:
    # M44 ("[" not taken as JSON: a list with commas called a CSV table)
    path = tmp_path / "v.parquet"
    path.write_text('[{"item_id": "a", "vector": [1, 2]}]\n')
    assert not_parquet(str(path)) == "it looks like JSON"
    with pytest.raises(VisrecError, match=r"not a Parquet file \(it looks like JSON\)"):
        read_vectors(path)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"preprocessing": [1, 2]}', r"preprocessing \[1, 2\] is not an object"),  # M50
        (b'{"dim": true}', r"dim True is not a width"),  # M51
    ],
)
def test_damaged_meta_fields_are_named(raw: bytes, problem: str) -> None:
    # M50, M51 (a wrong-typed field taken: a model trained on it refused on load later)
    with pytest.raises(VisrecError, match=rf"v\.parquet: .*is damaged \({problem}\)"):
        parse_meta(raw, "v.parquet")


def test_the_width_of_a_file_without_rows_is_its_schemas(tmp_path: Path) -> None:
    # M53 (the fixed width ignored: None, "unknown", for a file of no rows)
    path = tmp_path / "v.parquet"
    empty = ItemVectors(
        ids=np.array([], dtype=object),
        vectors=np.zeros((0, 3), np.float32),
        has_image=np.array([], dtype=bool),
    )
    write_vectors(path, empty)
    assert vector_width(path) == 3


def test_a_missing_id_is_named_when_only_some_rows_are_read(tmp_path: Path) -> None:
    # M58 (a null id spelt "None" and dropped unseen, or read as an item "None")
    path = tmp_path / "v.parquet"
    vec = pa.array([[1.0, 0.0], [0.0, 1.0]], type=pa.list_(pa.float32(), 2))
    pq.write_table(pa.table({"item_id": pa.array(["a", None]), "vector": vec}), path)
    for only in (["a"], ["None"]):
        with pytest.raises(VisrecError, match=r"v\.parquet: row 2 has no item_id"):
            read_vectors(path, only=only)
