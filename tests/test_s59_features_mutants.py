"""Session 59 mutation audit of ``visrec features`` (visrec.commands.features) and its
encoder (visrec.data.item_features), checked against docs/features.md.

60 hand-made mutants: 32 killed by tests/test_features.py, 60 with this file, none
equivalent. Also pins the fixes of what a user met: a number column holding "inf" (or
"1e999") gave every item a NaN value silently; a mostly-number column with a few cells
of text was refused as "an id, a title or free text"; --weight with --like but no
--vectors was ignored; a --like file with a damaged weight, image scale or levels gave a
traceback or was read wrongly; an empty table said its column was empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.item_features import (
    OTHER,
    codes_from_json,
    codes_to_json,
    encode,
    encoding_digest,
    feature_names,
    fit_encoding,
)
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "items.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {"item_id": ["a", "b", "c", "d"], "colour": ["red", "blue", "red", "green"]}
    )


def _images(
    tmp_path: Path,
    name: str = "img.parquet",
    times: float = 1.0,
    meta: dict[str, Any] | None = None,
) -> Path:
    vec = np.arange(1, 13, dtype=np.float32).reshape(3, 4) * np.float32(times)
    path = tmp_path / name
    iv = ItemVectors(np.asarray(["a", "b", "g"]), vec, np.ones(3, bool), meta or {"backbone": "t"})
    write_vectors(path, iv)
    return path


def test_a_number_is_encoded_by_hand() -> None:
    # kills: 9 deciles -> 8; names' "{:g}" -> "{:.2f}"; the cut at the minimum kept
    frame = pd.DataFrame({"x": [str(v) for v in range(1, 11)] + [""]})
    codes = fit_encoding(frame, [("x", None)])
    q = ["1.9", "2.8", "3.7", "4.6", "5.5", "6.4", "7.3", "8.2", "9.1"]
    assert feature_names(codes) == ["x", *[f"x>={c}" for c in q], "x:missing"]
    v = np.arange(1, 11, dtype=float)
    want = np.zeros((11, 11))
    want[:10, 0] = (v - v.mean()) / v.std()
    for j, c in enumerate(np.quantile(v, np.linspace(0.1, 0.9, 9))):
        want[:10, 1 + j] = v >= c
    want[10, 10] = 1.0
    want /= np.sqrt((want**2).sum(axis=1).mean())
    np.testing.assert_allclose(encode(frame, codes), want, atol=1e-6)


def test_a_value_equal_to_a_cut_is_at_or_above_it_and_outliers_are_clipped() -> None:
    # kills: value >= cut -> value > cut; the clip at 5 sd -> 3 sd
    frame = pd.DataFrame({"x": ["0"] * 5 + ["1"] * 5})
    codes = fit_encoding(frame, [("x", None)])
    assert codes[0].cuts == [0.5, 1.0]
    col = encode(frame, codes)[:, feature_names(codes).index("x>=1")]
    assert (col > 0).tolist() == [False] * 5 + [True] * 5
    far = pd.DataFrame({"x": ["0"] * 99 + ["1000"]})
    codes = fit_encoding(far, [("x", None)])
    assert encode(far, codes)[-1, 0] == pytest.approx(5 * codes[0].scale, rel=1e-5)


def test_the_summary_counts_levels_and_years() -> None:
    # kills: the summary counting (other) as a level; leaving out "+ (other)"; a date's
    # range shown with its fractions
    dates = ["1995-07-02", "2000-08-01", "1996-01-01", "", "1997-01-01", "1998-01-01"]
    frame = pd.DataFrame({"c": ["a", "a", "b", "b", "c", "a"], "d": dates})
    codes = fit_encoding(frame, [("c", None), ("d", None)], max_levels=2)
    assert codes[0].levels == ["a", "b", OTHER]
    assert codes[0].summary() == "c: category, 2 levels + (other)"
    assert codes[1].summary() == "d: date (year 1995-2000)"


def test_a_date_is_its_year_and_the_days_over_365_25() -> None:
    # kills: / 365.25 -> / 365
    codes = fit_encoding(pd.DataFrame({"d": ["1995-07-02", "1996-01-01"]}), [("d", None)])
    assert codes[0].lo == pytest.approx(1995 + 182 / 365.25, abs=1e-9)


def test_none_cells_are_empty_not_the_word_none() -> None:
    # kills: _empty(None) -> False (a None cell read as the level "None")
    frame = pd.DataFrame({"c": ["a", None, "a", "b"]}, dtype=object)
    codes = fit_encoding(frame, [("c", None)])
    assert codes[0].levels == ["a", "b"]
    assert not encode(frame, codes)[1].any()


def test_guesses_a_date_only_where_every_cell_has_a_digit_and_90_percent_read() -> None:
    # kills: "every cell has a digit" -> "some cell"; the 90% -> 50%
    months = pd.DataFrame({"m": ["May", "June", "July"] * 3 + ["2001"]})
    assert fit_encoding(months, [("m", None)])[0].kind == "category"
    junk = pd.DataFrame({"d": ["2001-01-01", "2002-06-01", "junk99", "2004-01-01"]})
    assert fit_encoding(junk, [("d", None)])[0].kind == "category"


def test_levels_of_equal_counts_come_by_name_and_other_only_beyond_max_levels() -> None:
    # kills: the tie-break by name dropped; "(other)" added at exactly --max-levels values
    frame = pd.DataFrame({"c": ["b", "c", "a"]})
    assert fit_encoding(frame, [("c", None)])[0].levels == ["a", "b", "c"]
    assert fit_encoding(frame, [("c", None)], max_levels=3)[0].levels == ["a", "b", "c"]


def test_multi_skips_empty_pieces() -> None:
    # kills: "a||b" giving an empty level
    frame = pd.DataFrame({"t": ["a||b", "a| |c", "b"]})
    codes = fit_encoding(frame, [("t", None)])
    assert codes[0].kind == "multi" and codes[0].levels == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"sd": 0.0}, "not finite"),  # kills: the sd == 0 check dropped
        ({"kind": "colour"}, "kind 'colour'"),  # kills: the kind check dropped
        ({"levels": "abc"}, "not a list"),  # the fix: "abc" read as levels a, b, c
    ],
)
def test_a_damaged_encoding_is_refused(change: dict[str, object], words: str) -> None:
    saved = codes_to_json(fit_encoding(pd.DataFrame({"c": ["a", "b", "a"]}), [("c", None)]))
    with pytest.raises(VisrecError, match=f"f.parquet: its item-features encoding.*{words}"):
        codes_from_json([{**saved[0], **change}], "f.parquet")
    # kills: an encoding naming no column accepted
    with pytest.raises(VisrecError, match="names no column"):
        codes_from_json([], "f.parquet")


def test_the_digest_tells_weights_apart() -> None:
    # kills: the image weight left out of the digest
    codes = fit_encoding(pd.DataFrame({"c": ["a", "b"]}), [("c", None)])
    digests = {encoding_digest(codes, w) for w in (None, 1.0, 2.0)}
    assert len(digests) == 3


@pytest.mark.parametrize("weight", ["0", "nan", "inf"])
def test_a_weight_not_positive_and_finite_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], weight: str
) -> None:
    # kills: --weight 0 accepted; nan and inf accepted
    items, img, out = _csv(tmp_path, _items()), _images(tmp_path), tmp_path / "o.parquet"
    argv = ["features", str(items), "--columns", "colour", "--vectors", str(img)]
    assert main([*argv, "--weight", weight, "-o", str(out)]) == 2
    assert "--weight must be a positive number" in capsys.readouterr().err
    assert not out.exists()


def test_like_output_may_not_be_the_like_file_nor_change_its_weight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items, img = _csv(tmp_path, _items()), _images(tmp_path)
    first = tmp_path / "f.parquet"
    argv = ["features", str(items), "--vectors", str(img)]
    assert main([*argv, "--columns", "colour", "--weight", "2", "-o", str(first)]) == 0
    before = first.read_bytes()
    capsys.readouterr()
    # kills: -o = --like allowed
    assert main([*argv, "--like", str(first), "-o", str(first)]) == 2
    assert "is the --like file" in capsys.readouterr().err and first.read_bytes() == before
    # kills: --weight unlike the --like file's accepted
    out = tmp_path / "o.parquet"
    assert main([*argv, "--like", str(first), "--weight", "3", "-o", str(out)]) == 2
    assert "--weight 3 differs from" in capsys.readouterr().err and not out.exists()
    assert main([*argv, "--like", str(first), "--weight", "2", "-o", str(out)]) == 0


def test_the_default_weight_is_1(tmp_path: Path) -> None:
    # kills: the default weight 1 -> 2
    items, img = _csv(tmp_path, _items()), _images(tmp_path)
    argv = ["features", str(items), "--columns", "colour", "--vectors", str(img), "-o"]
    assert main([*argv, str(tmp_path / "a.parquet")]) == 0
    assert main([*argv, str(tmp_path / "b.parquet"), "--weight", "1"]) == 0
    a, b = read_vectors(tmp_path / "a.parquet"), read_vectors(tmp_path / "b.parquet")
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.meta["item_features"]["weight"] == 1.0


def test_like_keeps_the_first_runs_image_scale(tmp_path: Path) -> None:
    # kills: the image scale not saved; not reused by --like (refitted on the new vectors)
    items = _csv(tmp_path, _items())
    first, later = tmp_path / "f.parquet", tmp_path / "l.parquet"
    img = ["features", str(items), "--vectors"]
    assert main([*img, str(_images(tmp_path)), "--columns", "colour", "-o", str(first)]) == 0
    bigger = _images(tmp_path, "big.parquet", times=10.0)
    assert main([*img, str(bigger), "--like", str(first), "-o", str(later)]) == 0
    a, b = read_vectors(first), read_vectors(later)
    assert b.meta["image_scale"] == pytest.approx(a.meta["image_scale"])
    np.testing.assert_allclose(b.vectors[:2, :4], 10 * a.vectors[:2, :4], rtol=1e-5)


def test_the_image_files_preprocessing_and_weights_are_kept(tmp_path: Path) -> None:
    # kills: the image preprocessing dropped from the output's; weights_id dropped
    meta = {"backbone": "t", "preprocessing": {"resize": 224}, "weights_id": "w1"}
    img = _images(tmp_path, meta=meta)
    out = tmp_path / "o.parquet"
    argv = ["features", str(_csv(tmp_path, _items())), "--columns", "colour"]
    assert main([*argv, "--vectors", str(img), "-o", str(out)]) == 0
    got = read_vectors(out).meta
    assert got["preprocessing"]["resize"] == 224 and len(got["preprocessing"]) == 2
    assert got["weights_id"] == "w1"


def test_errors_name_the_table_and_its_notes_are_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the table's path left out of a column's error; the loader's notes not shown
    frame = pd.DataFrame({"item_id": ["a", "b", "a"], "e": ["", "", ""], "c": ["x", "y", "z"]})
    items = _csv(tmp_path, frame)
    out = tmp_path / "o.parquet"
    assert main(["features", str(items), "--columns", "e", "-o", str(out)]) == 2
    assert f"error: {items}: column 'e' is empty in every row" in capsys.readouterr().err
    assert main(["features", str(items), "--columns", "c", "-o", str(out)]) == 0
    assert "duplicate item id" in capsys.readouterr().err


def test_infinite_numbers_are_not_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the fix: "inf" or "1e999" made the mean inf and every item's value NaN, silently
    frame = pd.DataFrame({"p": ["1", "2", "inf", "4"]})
    with pytest.raises(VisrecError, match=r"1 value is not a number \(e.g. 'inf'\)"):
        fit_encoding(frame, [("p", "number")])
    rows = [str(v) for v in range(100)] + ["1e999"]
    items = _csv(tmp_path, pd.DataFrame({"item_id": [f"i{i}" for i in range(101)], "p": rows}))
    out = tmp_path / "o.parquet"
    assert main(["features", str(items), "--columns", "p", "-o", str(out)]) == 2
    assert (
        "not a number (e.g. '1e999', item 'i100')" in capsys.readouterr().err and not out.exists()
    )
    # encoded --like an earlier file: missing, not NaN
    first = tmp_path / "f.parquet"
    ok = _csv(tmp_path, pd.DataFrame({"item_id": ["a", "b", "c"], "p": ["1", "", "3"]}), "ok.csv")
    assert main(["features", str(ok), "--columns", "p", "-o", str(first)]) == 0
    assert main(["features", str(items), "--like", str(first), "-o", str(out)]) == 0
    iv = read_vectors(out)
    assert np.isfinite(iv.vectors).all()
    assert iv.vectors[-1, iv.meta["feature_names"].index("p:missing")] > 0


def test_a_number_column_with_a_few_words_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the fix: refused as "not a category (an id, a title or free text)"
    price = [str(10 + i) for i in range(100)]
    price[3] = price[50] = "tba"
    items = _csv(tmp_path, pd.DataFrame({"item_id": [f"i{i}" for i in range(100)], "p": price}))
    assert main(["features", str(items), "--columns", "p", "-o", str(tmp_path / "o.parquet")]) == 2
    err = capsys.readouterr().err
    assert "column 'p': 2 values are not a number (e.g. 'tba', item 'i3')" in err
    assert "empty or mend those cells" in err and "free text" not in err


def test_weight_with_like_but_no_vectors_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the fix: --weight was ignored without a word
    items = _csv(tmp_path, _items())
    first, out = tmp_path / "f.parquet", tmp_path / "o.parquet"
    assert main(["features", str(items), "--columns", "colour", "-o", str(first)]) == 0
    assert main(["features", str(items), "--like", str(first), "--weight", "2", "-o",
                 str(out)]) == 2  # fmt: skip
    assert "--weight weighs the attributes against --vectors" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("item_features", "weight", "abc"),
        ("item_features", "weight", float("nan")),
        ("item_features", "weight", -2.0),
        ("meta", "image_scale", "x"),
    ],
)
def test_a_like_file_with_a_damaged_weight_or_scale_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, key: str, value: object
) -> None:
    # the fix: a traceback (text) or NaN vectors (nan, a negative weight)
    items, img = _csv(tmp_path, _items()), _images(tmp_path)
    first = tmp_path / "f.parquet"
    argv = ["features", str(items), "--vectors", str(img)]
    assert main([*argv, "--columns", "colour", "-o", str(first)]) == 0
    iv = read_vectors(first)
    meta = dict(iv.meta)
    if where == "meta":
        meta[key] = value
    else:
        meta["item_features"] = {**meta["item_features"], key: value}
    bad = tmp_path / "bad.parquet"
    write_vectors(bad, ItemVectors(iv.ids, iv.vectors, iv.has_image, meta))
    capsys.readouterr()
    out = tmp_path / "o.parquet"
    assert main([*argv, "--like", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: its item-features encoding cannot be read ({key} " in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_an_empty_table_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the fix: "column 'colour' is empty in every row" (--columns), or 0 items written (--like)
    items = tmp_path / "items.csv"
    items.write_text("item_id,colour\n")
    out = tmp_path / "o.parquet"
    assert main(["features", str(items), "--columns", "colour", "-o", str(out)]) == 2
    assert f"{items}: no items in it: nothing to encode" in capsys.readouterr().err
    first = tmp_path / "f.parquet"
    assert main(["features", str(_csv(tmp_path, _items(), "a.csv")), "--columns", "colour",
                 "-o", str(first)]) == 0  # fmt: skip
    assert main(["features", str(items), "--like", str(first), "-o", str(out)]) == 2
    assert not out.exists()
