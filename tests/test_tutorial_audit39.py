"""What an outside walk through the tutorial's Amazon data found (session 39): the 5-core
files list one review under each product variant, which no summary said, and a
rating KNN "beat" the majority class on those copies' photos without saying so."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from visrec.analysis.rating_knn import knn_rating
from visrec.cli import main


def _review(user: str, asin: str, t: int, stars: float) -> dict[str, object]:
    return {"reviewerID": user, "asin": asin, "overall": stars, "unixReviewTime": t,
            "reviewText": "ok"}  # fmt: skip


def test_data_summary_counts_a_review_listed_under_other_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        # u1's one review under three variants, and a repeated pair on the first
        _review("u1", "A1", 100, 5), _review("u1", "A2", 100, 5), _review("u1", "A3", 100, 5),
        _review("u1", "A1", 100, 5),
        # u2: two different reviews (other stars, other days): no copies
        _review("u2", "A1", 100, 4), _review("u2", "A2", 200, 4),
    ]  # fmt: skip
    path = tmp_path / "Shop_5.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(path), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rows repeating a user-item pair          1  (16.7%)" in text
    assert "copies of another item's review          2  (33.3%)" in text
    assert "merge the variants before evaluating: visrec data merge-variants" in text
    (section,) = json.loads(out.read_text())["sections"]
    assert section["variant_copies"] == 2


def test_a_knn_win_on_copied_pictures_says_so() -> None:
    rng = np.random.default_rng(0)
    # 40 photos, each copied to 5 rows with its review's one rating: the test rows'
    # neighbours are their own copies
    photos = rng.normal(size=(40, 8)).astype(np.float32)
    stars = rng.choice([1.0, 5.0], size=40, p=[0.4, 0.6])
    x, y = np.repeat(photos, 5, axis=0), np.repeat(stars, 5)
    # and many rows without a picture (--include-missing's zeros), all 5 stars
    x = np.vstack([x, np.zeros((2000, 8), dtype=np.float32)])
    y = np.concatenate([y, np.full(2000, 5.0)])
    res = knn_rating(x, y, k=3, random_state=1)
    assert res.same_vector_share > 0.9  # of the test rows with a picture
    assert res.same_item_caveat() is not None
    assert res.against_majority()[0] == "beats"
    line = next(s for s in res.format().splitlines() if s.startswith("KNN beats"))
    assert line.endswith("(on test rows whose very picture is in training: see the note)")


def test_report_names_the_command_whose_json_it_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    res = knn_rating(rng.normal(size=(60, 4)), rng.choice([1.0, 5.0], size=60), k=3)
    cases = {
        "knn-rating": res.to_dict(),
        "cluster": {"k": 3, "n": 9, "ari": 0.1, "nmi": 0.2, "purity": 0.5, "table": {}},
        "rating-eval": {"n_train": 8, "n_test": 2, "models": {}, "runs": []},
    }
    for command, result in cases.items():
        path = tmp_path / f"{command}.json"
        path.write_text(json.dumps(result))
        assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert (
            f"a result of `visrec {command} --json`, not of `visrec evaluate --json`; "
            f"its report comes from `visrec {command} ... --report HTML`"
        ) in err, err


def test_amazon_metadata_given_as_interactions_is_named_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.data.tables import load_interactions
    from visrec.errors import VisrecError

    meta = tmp_path / "meta_All_Beauty.json.gz"
    with gzip.open(meta, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"asin": "A1", "title": "soap", "imageURL": ["http://x/a.jpg"]}) + "\n")
    with pytest.raises(VisrecError, match=r"Amazon metadata \(one record per item.*not reviews"):
        load_interactions(meta)
    assert main(["evaluate", "--interactions", str(meta), "--models", "popularity"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "<Category>_5.json.gz" in err


def test_review_photo_vectors_given_for_items_say_what_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    table = tmp_path / "r.csv"
    table.write_text("user_id,item_id,rating\nu1,B01,5\nu2,B01,4\nu2,B02,3\nu3,B02,5\n")
    ids = ["B01_u1_100", "B01_u2_100", "B02_u2_200", "B02_u3_300"]
    vectors = tmp_path / "v.parquet"
    pd.DataFrame({"item_id": ids, "vector": [np.full(4, i + 1.0, dtype=np.float32)
                  for i in range(4)], "has_image": True}).to_parquet(vectors)  # fmt: skip
    assert main(["knn-rating", "--interactions", str(table), "--vectors", str(vectors)]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith(
        "the vectors are one per review photo (<asin>_<reviewerID>_<time>, as visrec fetch "
        "names them): give --key-col review_id with the review file"
    ), err
    argv = ["evaluate", "--interactions", str(table), "--vectors", str(vectors), "--models", "vbpr"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "one per item comes from the category's meta file" in err, err
    # vectors of other items entirely: no such advice
    pd.DataFrame({"item_id": ["x1", "x2"], "vector": [np.ones(4, dtype=np.float32)] * 2,
                  "has_image": True}).to_parquet(vectors)  # fmt: skip
    assert main(argv) == 2
    assert "review photo" not in capsys.readouterr().err


def test_demo_with_a_backbone_that_is_not_here_fails_before_the_catalogue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISREC_RESNET18_WEIGHTS", str(tmp_path / "nope.pth"))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--backbone", "resnet18"]) == 2
    err = capsys.readouterr().err
    weights = str(tmp_path / "nope.pth")
    assert err == f"error: --backbone resnet18: resnet18 weights file {weights!r} does not exist\n"
    assert not out.exists()  # no catalogue generated first


def test_knn_on_review_photos_points_to_item_vectors_for_the_picture_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    rng = np.random.default_rng(3)
    rows, ids, vecs = [], [], []
    for n in range(60):  # 60 reviews, each copied to 3 variants with its one photo
        user, t, stars = f"u{n}", 1000 + n, float(rng.choice([1, 5], p=[0.4, 0.6]))
        photo = rng.normal(size=4).astype(np.float32)
        for asin in ("A1", "A2", "A3"):
            rows.append(_review(user, asin, t, stars))
            ids.append(f"{asin}_{user}_{t}")
            vecs.append(photo)
    path = tmp_path / "Shop_5.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    vectors = tmp_path / "v.parquet"
    pd.DataFrame({"item_id": ids, "vector": vecs, "has_image": True}).to_parquet(vectors)
    argv = ["knn-rating", "--interactions", str(path), "--vectors", str(vectors),
            "--key-col", "review_id"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "of the test rows with a picture have a training row with the very same" in err
    assert "rating-eval --protocol cold-items, with one vector per item (the meta file's" in err


def test_data_summary_of_a_folder_of_amazon_metadata_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "meta"
    folder.mkdir()
    for name in ("meta_All_Beauty.json.gz", "meta_AMAZON_FASHION.json.gz"):
        with gzip.open(folder / name, "wt", encoding="utf-8") as fh:
            fh.write(json.dumps({"asin": name[5:8], "imageURL": ["http://x/a.jpg"]}) + "\n")
    assert main(["data", "summary", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Amazon metadata" in out and "items                                    2" in out
    (folder / "notes.txt").write_text("hello\n")  # still metadata alone, beside a note
    assert main(["data", "summary", str(folder)]) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["data", "summary", str(empty)]) == 2  # nothing at all: still an error
    assert "found no interactions" in capsys.readouterr().err
