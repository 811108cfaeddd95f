"""Session 65 mutation audit of ``visrec.data.item_features`` and ``visrec.data.item_tables``.

62 hand-written mutants (45 of the encoder, 17 of the loader) were run against the tests
that reach each module (for the loader, every test file naming it plus
tests/test_cluster.py). 43 were killed by the tests that existed, 1 is equivalent, and
the other 18 are killed by the tests below, each naming its mutant (F: encoder, T:
loader): a list cell taken for an empty one, the 90% of dates a guessed date column
needs, the "not a number" message given where the kind was typed or at exactly 90%
numbers, a constant column's sd, the deciles' order, a saved encoding's name, huge
number, non-mapping encoding, weight true or 0, backbone and numeric levels, the "-" of
a numeric first line, a repeated header with a blank cell, "item_id" as Amazon
metadata's id column and the spellings a label note shows.

Equivalent: T16 (``any(header) and`` dropped before the numeric-header hint): the header
is never empty and a blank name is already "unnamed", so ``any(header)`` is always true.

One bug is fixed: an empty category cell was encoded as ``(other)`` whenever the column
had more than ``--max-levels`` values (``_cells`` gives NaN there, and ``_block`` tested
``is None``), against the documented "an empty cell all zeros"; it also skewed the
block's scale. F45 (the empty check dropped again) was equivalent before the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.item_features import (
    OTHER,
    codes_from_json,
    encode,
    feature_names,
    fit_encoding,
    saved_encoding,
)
from visrec.data.item_tables import label_spelling_notes, load_item_table
from visrec.errors import VisrecError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_list_cell_is_a_value_not_an_empty_cell() -> None:
    # F11: a list cell (a Parquet list column) read as empty: "empty in every row"
    frame = pd.DataFrame({"c": [["a", "b"], ["c", "d"], ["a", "b"]]})
    codes = fit_encoding(frame, [("c", "category")])
    assert codes[0].levels == ["['a', 'b']", "['c', 'd']"]
    x = encode(frame, codes)
    assert (x > 0).tolist() == [[True, False], [False, True], [True, False]]


def test_a_date_column_with_one_bad_cell_in_ten_is_refused_as_not_a_date() -> None:
    # F16: "90% read as dates" -> 99%: the column was taken as a category of 10 values
    dates = [f"200{k}-01-01" for k in range(9)] + ["junk9"]
    with pytest.raises(VisrecError, match=r"1 value is not a date \(e\.g\. 'junk9'\)"):
        fit_encoding(pd.DataFrame({"d": dates}), [("d", None)])


def test_a_column_typed_category_with_too_many_values_is_not_said_to_hold_numbers() -> None:
    # F18: the "value(s) are not a number" message given where the kind was typed too
    cells = [str(k) for k in range(60)] + ["abc"]
    frame = pd.DataFrame({"c": cells})
    with pytest.raises(VisrecError, match="1 value is not a number"):
        fit_encoding(frame, [("c", None)])
    with pytest.raises(VisrecError, match=r"61 distinct values in 61 rows: not a category"):
        fit_encoding(frame, [("c", "category")])


def test_exactly_90_percent_numbers_is_said_to_be_a_number_column() -> None:
    # F19: ">= 90% numbers" -> "> 90%": 54 numbers and 6 words was called free text
    cells = [str(k) for k in range(54)] + [f"w{k}" for k in range(6)]
    with pytest.raises(VisrecError, match=r"6 values are not a number \(e\.g\. 'w0'\)"):
        fit_encoding(pd.DataFrame({"c": cells}), [("c", None)])


def test_a_constant_number_column_has_sd_1_for_new_values() -> None:
    # F23: sd 0 -> 1.0 replaced by a tiny sd: a new item's value 7 (fit on 5s) clipped to 5
    codes = fit_encoding(pd.DataFrame({"x": ["5", "5", "5"]}), [("x", None)])
    assert codes[0].sd == 1.0 and codes[0].cuts == [] and codes[0].scale == 1.0
    x = encode(pd.DataFrame({"x": ["7", "5", "4"]}), codes)
    np.testing.assert_allclose(x[:, 0], [2.0, 0.0, -1.0])


def test_the_cuts_and_their_names_go_up() -> None:
    # F25: the deciles kept in a set's order (1996.98 before 1996.04 for these years)
    years = [1995.5, 1996.1, 1997.2, 1998.3, 1999.9, 2000.4, 2001.6, 2002.7, 2003.2, 2004.8]
    codes = fit_encoding(pd.DataFrame({"x": [str(y) for y in years]}), [("x", "number")])
    cuts = codes[0].cuts
    assert len(cuts) == 9 and cuts == sorted(cuts)
    names = feature_names(codes)
    assert names[:3] == ["x", "x>=1996.04", "x>=1996.98"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": 5}, "kind 'number'"),  # F35: a name not text accepted
        ({"mean": 10**400}, "too large"),  # F36: a huge JSON integer gave a traceback
    ],
)
def test_a_damaged_encoding_is_one_error(change: dict[str, object], words: str) -> None:
    saved = {"name": "x", "kind": "number", "mean": 1.0, "sd": 2.0, **change}
    with pytest.raises(VisrecError, match=f"f\\.parquet: .*{words}"):
        codes_from_json([saved], "f.parquet")


def test_a_first_line_of_negative_numbers_is_said_to_look_like_data(tmp_path: Path) -> None:
    # T05: the '-' of "-3" not stripped: no hint that the header line is missing
    f = write(tmp_path / "items.csv", "-3,7.5\n4,2.5\n")
    with pytest.raises(VisrecError, match=r"no id column 'id'.*looks like data, not a header"):
        load_item_table(f)


def test_a_repeated_header_with_a_blank_cell_is_not_an_item(tmp_path: Path) -> None:
    # T06: blank cells compared too: "id,name," (a header joined on) kept as item 'id'
    f = write(tmp_path / "items.csv", "id,name,note\na,A,x\nid,name,\nb,B,y\n")
    res = load_item_table(f)
    assert res.frame["item_id"].tolist() == ["a", "b"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "header repeated")]


def _meta(**saved: object) -> dict[str, object]:
    column = {"name": "x", "kind": "category", "levels": ["a"]}
    return {"item_features": {"columns": [column], **saved}}


def test_an_encoding_that_is_not_a_mapping_is_not_a_features_file() -> None:
    # F38: only a missing encoding refused: a list one gave an AttributeError
    saved: object
    for saved in ([], "x", 3):
        with pytest.raises(VisrecError, match=r"f\.parquet: not a `visrec features` output"):
            saved_encoding({"item_features": saved}, "f.parquet")


@pytest.mark.parametrize("weight", [True, 0, 0.0])
def test_a_saved_weight_true_or_zero_is_refused(weight: object) -> None:
    # F39: a JSON true read as weight 1.0; F40: a weight of 0 accepted
    with pytest.raises(VisrecError, match=f"cannot be read \\(weight {weight!r}\\)"):
        saved_encoding(_meta(weight=weight), "f.parquet")


def test_a_saved_encoding_is_read_whole() -> None:
    # F41: a backbone that is not text kept (a number where a name is expected)
    meta = {**_meta(weight=2), "image_scale": 0.5, "backbone": "resnet50"}
    got = saved_encoding(meta, "f.parquet")
    assert (got.weight, got.image_scale, got.backbone) == (2.0, 0.5, "resnet50")
    assert [c.levels for c in got.codes] == [["a"]]
    assert saved_encoding({**meta, "backbone": 7}, "f.parquet").backbone is None
    assert saved_encoding(_meta(), "f.parquet")[1:] == (None, None, None)


def test_saved_levels_written_as_numbers_are_read_as_text() -> None:
    # F43: levels [1995, 1996] kept as numbers: no cell (text) matched them, all zeros
    codes = codes_from_json([{"name": "y", "kind": "category", "levels": [1995, 1996]}], "f")
    assert codes[0].levels == ["1995", "1996"]
    x = encode(pd.DataFrame({"y": ["1996", "1995", 1996]}), codes)
    assert (x > 0).tolist() == [[False, True], [True, False], [False, True]]


def test_an_empty_category_cell_is_not_other() -> None:
    # the fix: an empty cell (NaN after _cells, not None) was given the "(other)" column
    # when the levels have one; F45: the empty check dropped again
    frame = pd.DataFrame({"c": ["a", "a", "b", "", "b", "a"]})
    codes = fit_encoding(frame, [("c", None)], max_levels=1)
    assert codes[0].levels == ["a", OTHER]
    assert (encode(frame, codes) > 0).tolist() == [
        [True, False],
        [True, False],
        [False, True],
        [False, False],
        [False, True],
        [True, False],
    ]


def test_amazon_metadata_takes_item_id_as_its_id_column(tmp_path: Path) -> None:
    # T11: id column "item_id" (the name the loader gives the ids) refused for Amazon
    # metadata
    f = tmp_path / "meta_AMAZON_FASHION.json"
    rows = [{"asin": "B1", "main_cat": "Shoes"}, {"asin": "B2", "main_cat": "Hats"}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = load_item_table(f, id_col="item_id", label_col="main_category")
    assert res.frame["item_id"].tolist() == ["B1", "B2"]
    assert res.frame["main_category"].tolist() == ["Shoes", "Hats"]


def test_label_spellings_name_two_labels_written_with_spaces() -> None:
    # T12: only the first label's spellings shown
    raw = pd.Series(["a", " a", "b", "b ", "c"])
    notes = label_spelling_notes("t.csv", raw, raw.str.strip())
    assert notes == [
        "t.csv: 2 labels written with and without spaces around them "
        "('a', ' a', 'b', 'b ') are taken as one each"
    ]
