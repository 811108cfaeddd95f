"""Session 71: ids with spaces around them are said once per file by every loader; a
vectors file's ids are read as the interactions' are; ``train`` says when it counts
low-rated rows as positives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.item_tables import load_item_table
from visrec.data.tables import load_interactions
from visrec.embed.store import read_vector_ids, read_vectors
from visrec.errors import VisrecError

FAST = ["--param", "epochs=2", "--param", "reg=0.01"]


def _vectors(path: Path, ids: list[str]) -> Path:
    vec = np.eye(len(ids), 4, dtype=np.float32) + 0.5
    pd.DataFrame({"item_id": ids, "vector": list(vec), "has_image": [True] * len(ids)}).to_parquet(
        path
    )
    return path


# ------------------------------------------------------------- loaders: one note a file
def test_interactions_say_ids_that_had_spaces(tmp_path: Path) -> None:
    p = tmp_path / "data.csv"
    p.write_text("user_id,item_id\n u1,i1\nu2 ,i2\n u1,i2\nu3,\ti3\n")
    res = load_interactions(p)
    assert list(res.frame.user_id) == ["u1", "u2", "u1", "u3"]
    lines = [ln for ln in res.report_lines(p) if "spaces around" in ln and "removed" in ln]
    assert lines == [
        f"note: {p}: 2 user ids and 1 item id had spaces around them, removed "
        "(' u1' is read as 'u1')"
    ]


def test_one_id_with_spaces_is_said_in_the_singular(tmp_path: Path) -> None:
    p = tmp_path / "data.parquet"
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1 ", "i2"]}).to_parquet(p)
    lines = load_interactions(p).report_lines(p)
    assert lines == [f"note: {p}: 1 item id had spaces around it, removed ('i1 ' is read as 'i1')"]


def test_a_file_without_spaced_ids_says_nothing_new(tmp_path: Path) -> None:
    p = tmp_path / "data.csv"
    p.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i2,1\n")
    assert load_interactions(p).report_lines(p) == []


def test_item_tables_say_spaced_ids(tmp_path: Path) -> None:
    p = tmp_path / "items.csv"
    p.write_text("item_id,genre\n i1,a\ni2,b\n")
    res = load_item_table(p, id_col="item_id", label_col="genre")
    assert list(res.frame.item_id) == ["i1", "i2"]
    assert res.report_lines(p) == [
        f"note: {p}: 1 item id had spaces around it, removed (' i1' is read as 'i1')"
    ]
    q = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": [" i1", "i2 ", "i3"], "genre": ["a", "b", "c"]}).to_parquet(q)
    assert load_item_table(q, id_col="item_id", label_col="genre").notes == [
        "2 item ids had spaces around them, removed (' i1' is read as 'i1')"
    ]


def test_a_manifest_says_spaced_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from visrec.data.images_index import read_manifest_rows

    m = tmp_path / "m.csv"
    m.write_text("item_id,url\n a ,http://x/a.jpg\nb,http://x/b.jpg\n")
    assert [r[0] for r in read_manifest_rows(m)] == ["a", "b"]
    err = capsys.readouterr().err
    assert err.count("spaces around") == 1
    assert "1 item id had spaces around it, removed (' a ' is read as 'a')" in err


def test_a_candidates_file_says_spaced_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands._recs_inputs import read_candidates

    c = tmp_path / "cands.txt"
    c.write_text("i1 \n i2\ni3\n")
    assert read_candidates(str(c)) == ["i1", "i2", "i3"]
    err = capsys.readouterr().err
    assert f"note: {c}: 2 item ids had spaces around them, removed ('i1 ' is read as 'i1')" in err
    c.write_text("i1\ni2\n")
    read_candidates(str(c))
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------- vectors file ids
def test_vector_file_ids_are_read_as_interactions_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", [" i1", "i2 ", "i3"])
    iv = read_vectors(v)
    assert list(iv.ids) == ["i1", "i2", "i3"]
    assert list(iv.positions(["i1", "i2"])) == [0, 1]
    assert list(read_vector_ids(v).ids) == ["i1", "i2", "i3"]
    assert list(read_vectors(v, only=["i2"]).ids) == ["i2"]
    err = capsys.readouterr().err
    assert err.count("spaces around") == 1  # one note for the file, read three ways
    assert f"note: {v}: 2 item ids had spaces around them, removed" in err


def test_vector_ids_made_one_by_stripping_are_refused(tmp_path: Path) -> None:
    v = _vectors(tmp_path / "v.parquet", ["i1", "i2", " i1"])
    with pytest.raises(VisrecError, match=r"'i1' \(row 1\) and ' i1' \(row 3\) are one id"):
        read_vectors(v)


def test_train_matches_spaced_vector_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.csv"
    rows = [f"u{u},i{(u + k) % 4}" for u in range(6) for k in range(2)]
    train.write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
    v = _vectors(tmp_path / "v.parquet", [" i0", " i1", " i2", " i3"])
    argv = ["train", "--model", "vbpr", "--interactions", str(train), "--vectors", str(v)]
    assert main([*argv, "-o", str(tmp_path / "m"), "-q", *FAST]) == 0
    assert "lack" not in capsys.readouterr().err.lower()


# ------------------------------------------------------------- train and low ratings
def _ratings(tmp_path: Path, ratings: list[str]) -> Path:
    p = tmp_path / "train.csv"
    lines = [f"u{k % 5},i{k % 7},{r}" for k, r in enumerate(ratings)]
    p.write_text("user_id,item_id,rating\n" + "\n".join(lines) + "\n")
    return p


def _train_err(p: Path, out: Path, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    capsys.readouterr()
    argv = ["train", "--model", "bpr", "--interactions", str(p), "-o", str(out), "-q"]
    assert main([*argv, *FAST, *more]) == 0
    return capsys.readouterr().err


def test_train_says_low_ratings_are_positives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _ratings(tmp_path, ["1", "2", "2.5", "5", "4", "3", "1", "5"] * 3)
    err = _train_err(p, tmp_path / "m", capsys)
    assert (
        "note: 9 rows are rated 2 or lower; every row counts as a positive "
        "(use --min-rating R to keep only rows rated R or more)"
    ) in err
    assert "rated 2 or lower" not in _train_err(p, tmp_path / "m2", capsys, "--min-rating", "3")


def test_train_low_ratings_note_only_on_a_star_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = _ratings(tmp_path, ["1", "5", "4", "5", "3"] * 2 + ["5"] * 5)
    assert "note: 2 rows are rated 2 or lower" in _train_err(one, tmp_path / "a", capsys)
    ten = _ratings(tmp_path, ["1", "10", "4", "8"] * 3)
    assert "note: 6 rows are rated 4 or lower" in _train_err(ten, tmp_path / "b", capsys)
    counts = _ratings(tmp_path, ["1", "37", "2", "8"] * 3)  # play counts: no scale
    assert "rated" not in _train_err(counts, tmp_path / "c", capsys)


def test_train_keeps_rows_whose_rating_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    p = _ratings(tmp_path, ["1", "x", "5", "", "4"] * 3)
    err = _train_err(p, tmp_path / "m", capsys)
    assert "skipped" not in err and "rated" not in err  # every row a positive, as before
    info = json.loads((tmp_path / "m" / "train.json").read_text())
    assert info["n_rows"] == 15
