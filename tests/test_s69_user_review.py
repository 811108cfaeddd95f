"""Session 69, a new user's review of the commands on small real-shaped inputs: each
test fails on the source before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


def _items(tmp_path: Path) -> Path:
    path = tmp_path / "styles.csv"
    pd.DataFrame({"id": ["10001", "10002", "10003"], "colour": ["red", "blue", "red"]}).to_csv(
        path, index=False
    )
    return path


def _vectors(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "img.parquet"
    vec = np.arange(1, 4 * len(ids) + 1, dtype=np.float32).reshape(len(ids), 4)
    write_vectors(path, ItemVectors(np.asarray(ids), vec, np.ones(len(ids), bool), {}))
    return path


def test_features_refuses_image_vectors_of_other_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``features --vectors`` of another dataset (or ids spelt otherwise) joined nothing:
    it wrote every table item with a zero image part and every image item with a zero
    attribute part, exit 0, as train, evaluate, rating-eval and knn-rating refuse."""
    items = _items(tmp_path)
    img = _vectors(tmp_path, ["1", "2", "3"])
    out = tmp_path / "both.parquet"
    argv = ["features", str(items), "--id-col", "id", "--columns", "colour"]
    assert main([*argv, "--vectors", str(img), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "img.parquet" in err and "styles.csv" in err and "'10001'" in err, err
    assert not out.exists()
    # some shared ids: written as before
    img = _vectors(tmp_path, ["10001", "9"])
    assert main([*argv, "--vectors", str(img), "-o", str(out)]) == 0
    assert out.exists()


def test_report_reads_a_result_saved_with_a_bom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A result opened and saved in an editor that writes a UTF-8 BOM (Windows Notepad):
    `evaluate --json` reads it back for its resume, `report` said 'not JSON (line 1:
    Unexpected UTF-8 BOM (decode using utf-8-sig))'."""
    from test_evaluation_report import _result

    res = _result("warm", {"popularity": [0.2, 0.21], "bpr": [0.4, 0.42]})
    path = tmp_path / "ev.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(res).encode())
    html = tmp_path / "ev.html"
    assert main(["report", str(path), "-o", str(html)]) == 0, capsys.readouterr().err
    assert html.exists() and "bpr" in html.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        # a kind misspelt: the error only listed the columns, price among them
        ("price:numeric", "'numeric' after ':' is no kind (category, multi, number, date)"),
        # a column whose name holds ':' read as column 'rel' of kind 'date'
        (
            "rel:date",
            "a name holding ':' takes its kind after one more (--columns 'rel:date:KIND')",
        ),
    ],
)
def test_features_says_what_a_colon_in_columns_was_taken_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], columns: str, words: str
) -> None:
    items = tmp_path / "items.csv"
    items.write_text("item_id,rel:date,price\n1,2001-01-01,3\n2,2002-01-01,4\n3,,5\n")
    out = tmp_path / "f.parquet"
    assert main(["features", str(items), "--columns", columns, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    # the spelling the hint gives works
    assert main(["features", str(items), "--columns", "rel:date:date,price:number",
                 "-o", str(out)]) == 0  # fmt: skip


def test_a_model_folder_given_as_vectors_names_the_vectors_it_was_trained_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`similar MODEL_DIR`, `recommend M --vectors M`: the advice was to embed the model
    folder as a folder of images (`visrec embed m1 -o vectors.parquet`)."""
    img = _vectors(tmp_path, ["a", "b", "c"])
    train = tmp_path / "train.csv"
    train.write_text("user_id,item_id\nu1,a\nu1,b\nu2,b\nu2,c\n")
    model = tmp_path / "m1"
    assert main(["train", "--model", "popularity", "--interactions", str(train),
                 "--vectors", str(img), "-o", str(model), "-q"]) == 0  # fmt: skip
    capsys.readouterr()
    for argv in (
        ["similar", str(model), "a"],
        ["recommend", str(model), "--vectors", str(model), "-o", str(tmp_path / "r.csv")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "a model folder (visrec train -o)" in err and str(img) in err, err
        assert "visrec embed" not in err and len(err.strip().splitlines()) == 1, err
