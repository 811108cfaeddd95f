"""``visrec data summary``: a file named twice is counted once."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from visrec.cli import main


def _reviews(path: Path) -> Path:
    recs = [
        {"overall": 5.0, "reviewerID": "U1", "asin": "B1", "unixReviewTime": 1},
        {"overall": 4.0, "reviewerID": "U2", "asin": "B1", "unixReviewTime": 2},
        {"overall": 3.0, "reviewerID": "U2", "asin": "B2", "unixReviewTime": 3},
    ]
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in recs).encode()))
    return path


def test_a_file_given_twice_is_counted_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _reviews(tmp_path / "AMAZON_FASHION_5.json.gz")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "s.json"
    # the same file under two spellings, as two overlapping shell globs would give it
    assert main(["data", "summary", str(f), "./AMAZON_FASHION_5.json.gz", "--json", str(out)]) == 0
    text = capsys.readouterr().err
    assert "note: ./AMAZON_FASHION_5.json.gz was given more than once; counted once" in text
    (section,) = json.loads(out.read_text())["sections"]
    assert section["rows"] == 3 and section["files"] == [str(f)]


def test_an_image_folder_summary_names_what_embed_would_skip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    folder = tmp_path / "imgs"
    (folder / "more").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "a.jpg")
    Image.new("RGB", (8, 8)).save(folder / "more" / "b.jpg")
    (folder / "c.bin").write_bytes(b"x")
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(folder), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "images in imgs/" in text
    note = "skipped 2 entries: c.bin (not an image extension visrec reads); more/ (a subfolder"
    assert note in text
    (section,) = json.loads(out.read_text())["sections"]
    assert section["images_found"] == 1 and section["images_skipped"].startswith(note)


def test_summary_json_never_replaces_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `data summary rr.csv --json rr.csv` replaced the user's table with the counts
    # (today the .csv name is refused for JSON first: a name without that tell)
    table = tmp_path / "rr.txt"
    table.write_text("user_id,item_id,rating\nu1,i1,5\n")
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "u.data").write_text("1\t2\t3\t881250949\n")
    for argv in (
        ["data", "summary", str(table), "--json", str(table)],
        ["data", "summary", str(folder), "--json", str(folder / "u.data")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --json: ") and "is the PATH file" in err, err
    assert table.read_text() == "user_id,item_id,rating\nu1,i1,5\n"
    assert (folder / "u.data").read_text() == "1\t2\t3\t881250949\n"


def test_an_empty_folder_is_said_to_be_empty(tmp_path, capsys) -> None:
    from visrec.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["data", "summary", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.endswith("or images here (the folder is empty)\n")


def test_a_table_without_users_is_not_told_to_rename_a_column(tmp_path, capsys) -> None:
    from visrec.cli import main

    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,x.jpg\n")
    assert main(["data", "summary", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {manifest}: no user column, so not an interactions table")
    assert "rename" not in err and "visrec embed --manifest" in err


def test_a_vectors_file_of_no_items_has_no_dangling_share(tmp_path, capsys) -> None:
    # "items with an image  0" ended in two spaces: the share was left out, its gap not
    import numpy as np

    from visrec.embed.store import ItemVectors, write_vectors

    v = tmp_path / "v.parquet"
    write_vectors(v, ItemVectors(np.array([], dtype=object), np.zeros((0, 4)), np.zeros(0, bool)))
    assert main(["data", "summary", str(v)]) == 0
    out = capsys.readouterr().out
    assert "items with an image" in out
    assert all(line == line.rstrip() for line in out.splitlines()), out
