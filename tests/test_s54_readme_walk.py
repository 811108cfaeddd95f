"""Found walking README's "On real data" and "Python API" as a new user: arguments of
``embed_images`` that iterate into something else than (item_id, path) pairs, and a
file that holds no JSON at all read as Amazon reviews (an empty table, not an error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from test_embed import TinyBackbone
from tiny_embed import image_folder
from visrec import embed_images, load_amazon_reviews, load_interactions
from visrec.cli import main
from visrec.errors import ArgumentTypeError, VisrecError


def tiny(items: Any) -> Any:
    return embed_images(items, None, backbone=TinyBackbone(), engine="torch", progress=False)


def test_embed_images_of_a_dataframe_is_refused_not_read_as_its_column_names(
    tmp_path: Path,
) -> None:
    # before: the columns 'id' and 'fn' unpacked as items 'i' (path 'd') and 'f' (path 'n')
    folder = image_folder(tmp_path / "img", 2)
    df = pd.DataFrame({"id": ["a", "b"], "fn": [str(folder / "000.jpg"), str(folder / "001.jpg")]})
    with pytest.raises(ArgumentTypeError, match=r"DataFrame.*zip\(df\['item_id'\]"):
        tiny(df)


def test_embed_images_takes_a_series_as_a_mapping(tmp_path: Path) -> None:
    # before: a Series iterated into its paths, each refused as no (item_id, path) pair
    folder = image_folder(tmp_path / "img", 2)
    series = pd.Series([str(folder / "000.jpg"), str(folder / "001.jpg")], index=["a", "b"])
    res = tiny(series)
    assert list(res.vectors.ids) == ["a", "b"]
    assert res.vectors.has_image.all()


@pytest.mark.parametrize("kind", [str, Path])
def test_embed_images_of_a_folder_path_points_to_embed_folder(tmp_path: Path, kind: Any) -> None:
    # before: a str gave "items[0]: expected an (item_id, path) pair, got '/'"; a Path,
    # Python's "'PosixPath' object is not iterable"
    folder = image_folder(tmp_path / "img", 2)
    with pytest.raises(ArgumentTypeError, match=r"got the path .*embed_folder\(folder, output\)"):
        tiny(kind(folder))


def test_embed_images_of_a_number_is_an_argument_type_error() -> None:
    # before: Python's "'int' object is not iterable" from inside the library
    with pytest.raises(ArgumentTypeError, match="sequence of \\(item_id, path\\) pairs, got int"):
        tiny(42)


def test_embed_images_two_letter_strings_are_no_pairs(tmp_path: Path) -> None:
    # before: "ab" unpacked as item "a" at path "b" (a failed image, no error)
    with pytest.raises(
        VisrecError, match=r"items\[0\]: expected an \(item_id, path\) pair, got 'ab'"
    ):
        tiny(["ab", "cd"])


def csv_named_json(tmp_path: Path, name: str = "reviews.json") -> Path:
    p = tmp_path / name
    p.write_text("user_id,item_id,rating\n" + "".join(f"u{i},i{i},5\n" for i in range(30)))
    return p


def test_load_amazon_reviews_of_a_csv_is_an_error_not_an_empty_table(tmp_path: Path) -> None:
    # before: an empty table and one "invalid JSON" bad record for all 31 lines
    p = csv_named_json(tmp_path)
    with pytest.raises(
        VisrecError, match=r"reviews\.json: no JSON object in it \(it starts 'user_id,item_id"
    ):
        load_amazon_reviews(p)
    with pytest.raises(VisrecError, match=r"needs another name, e\.g\. \.csv"):
        load_interactions(p)


def test_data_summary_of_a_csv_named_json_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: exit 0, "Amazon reviews; concatenated JSON objects (pretty-printed)", 0 rows
    p = csv_named_json(tmp_path)
    assert main(["data", "summary", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no JSON object" in err and err.count("\n") == 1


def test_a_json_file_of_broken_records_keeps_them_as_bad_records(tmp_path: Path) -> None:
    """The refusal is for files with no JSON at all; records cut short stay bad records,
    each with its line (kills the mutant that refuses every file without a good record)."""
    p = tmp_path / "r.json"
    p.write_text('{"reviewerID": "u1", "asin": \n{"reviewerID": "u2", "asin": "a2"\n')
    res = load_amazon_reviews(p)
    assert res.frame.empty
    assert [(b.line, b.kind) for b in res.bad] == [(1, "invalid JSON"), (2, "invalid JSON")]
