"""Which files of a folder ``load_interactions`` reads: JSON files that are not Amazon
reviews (a model's ``model.json``, an ``evaluate --json`` result) are not review files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from visrec.cli import main
from visrec.data.tables import amazon_review_files, interaction_sources, load_interactions
from visrec.errors import VisrecError


def _reviews(path: Path, users: int = 4) -> Path:
    recs = [
        {"overall": 5.0, "reviewerID": f"A{u}", "asin": f"B{(u + k) % 3}",
         "unixReviewTime": 1_400_000_000 + 86_400 * (u + k)}
        for u in range(users) for k in range(2)
    ]  # fmt: skip
    text = "".join(json.dumps(r) + "\n" for r in recs)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_other_json_files_beside_review_files_are_not_read(tmp_path: Path) -> None:
    shop = _reviews(tmp_path / "Shop_5.json.gz")
    (tmp_path / "results.json").write_text(json.dumps({"protocol": "warm", "rows": [1, 2]}))
    (tmp_path / "config.json").write_text("[]")
    assert amazon_review_files(tmp_path) == [shop]
    res = load_interactions(tmp_path, ids_only=True)
    assert res.files == [str(shop)] and res.n_bad == 0 and len(res.frame) == 8


def test_a_pretty_printed_review_file_is_a_review_file(tmp_path: Path) -> None:
    rec = {"overall": 4.0, "reviewerID": "A1", "asin": "B1", "unixReviewTime": 7}
    path = tmp_path / "Pretty.json"
    path.write_text(json.dumps(rec, indent=2) + "\n" + json.dumps(rec, indent=2) + "\n")
    assert interaction_sources(tmp_path) == [path]


def test_a_model_folder_as_interactions_says_it_has_no_interactions_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = _reviews(tmp_path / "Shop_5.json")
    model = tmp_path / "model"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(model)]
    assert main(argv) == 0
    capsys.readouterr()
    argv = [
        "train",
        "--model",
        "popularity",
        "--interactions",
        str(model),
        "-o",
        str(tmp_path / "m2"),
    ]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "folder has no interactions file" in err and "reviewerID" not in err, err
    with pytest.raises(VisrecError, match="folder has no interactions file"):
        interaction_sources(model)


def test_keep_time_needs_ids_only_on_a_folder_too(tmp_path: Path) -> None:
    _reviews(tmp_path / "Shop_5.json")
    with pytest.raises(VisrecError, match="keep_time only applies with ids_only"):
        load_interactions(tmp_path, keep_time=True)


def test_fetch_from_a_folder_reads_only_its_amazon_files(tmp_path: Path) -> None:
    from visrec.commands.fetch import read_sources, source_files

    rec = {"overall": 5.0, "reviewerID": "A1", "asin": "B1", "unixReviewTime": 1_400_025_600,
           "image": ["https://x/r.jpg"]}  # fmt: skip
    (tmp_path / "Shop_5.json").write_text(json.dumps(rec) + "\n")
    (tmp_path / "meta_Shop.json").write_text(json.dumps({"asin": "B1", "imageURL": []}) + "\n")
    (tmp_path / "results.json").write_text(json.dumps({"protocol": "warm"}))
    got = read_sources(source_files([str(tmp_path)], None), None)
    urls, notes = got.urls, got.notes
    assert urls == {"B1_A1_1400025600": "https://x/r.jpg"}
    assert not any("bad records" in n for n in notes), notes
