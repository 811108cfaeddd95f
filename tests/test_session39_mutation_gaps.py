"""Tests that kill mutants of session 39's change which its own tests let survive
(a mutation audit): each passes on the code as it is and fails on one mutant."""

from __future__ import annotations

import errno
import gzip
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

import visrec._atomic as atomic
from visrec.analysis.rating_knn import knn_rating
from visrec.cli import main
from visrec.errors import VisrecError


def test_a_filesystem_that_cannot_sync_a_file_still_gets_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    atomic.write_text_atomic(tmp_path / "out.json", "{}\n")
    assert (tmp_path / "out.json").read_text() == "{}\n"


def test_a_folder_that_cannot_be_opened_for_its_sync_still_gets_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def fake_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if os.path.isdir(path) and flags == os.O_RDONLY:  # type: ignore[arg-type]
            raise OSError(errno.ENODEV, "No such device")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "open", fake_open)
    atomic.write_text_atomic(tmp_path / "out.json", "{}\n")
    assert (tmp_path / "out.json").read_text() == "{}\n"


@pytest.mark.parametrize("name", ["--n-neighbors", "--n-neighbours"])
def test_scikit_learns_name_for_the_knn_k_gets_the_hint(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:

    with pytest.raises(SystemExit) as exc:
        main(["knn-rating", "--interactions", "x", "--vectors", "v", name, "5"])
    assert exc.value.code == 2
    assert "--k K is the number of KNN neighbours here" in capsys.readouterr().err


def test_no_test_row_with_a_picture_shares_nothing() -> None:
    from visrec.analysis.rating_knn import _same_vector_share

    x = np.vstack([np.ones((2, 3)), np.zeros((3, 3))])
    assert _same_vector_share(x, np.array([0, 1]), np.array([2, 3, 4])) == 0.0


def test_a_knn_that_does_not_beat_the_majority_gets_no_beats_qualifier() -> None:

    rng = np.random.default_rng(0)
    # every photo copied to many rows whose stars do not follow it: the caveat holds,
    # and the KNN does not beat the majority class
    x = np.repeat(rng.normal(size=(10, 4)), 30, axis=0)
    y = rng.choice([1.0, 5.0], size=300, p=[0.3, 0.7])
    res = knn_rating(x, y, k=3, random_state=0)
    assert res.same_item_caveat() is not None
    assert res.against_majority()[0] != "beats"
    line = next(s for s in res.format().splitlines() if "majority class: accuracy" in s)
    assert "very picture" not in line, line


def test_an_ari_p_of_no_structure_does_not_depend_on_the_row_order() -> None:
    from visrec.analysis.cluster import cluster_vs_labels

    # labels that do not follow the vectors: the p-value is mid-range, so each
    # shuffle counts (strongly clustered data gives the floor p in any order)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(90, 3))
    labels = rng.choice(np.array(["a", "b", "c"], dtype=object), size=90)
    base = cluster_vs_labels(x, labels, k=3)
    assert 0.05 < base.ari_p < 0.95
    perm = np.random.default_rng(4).permutation(90)
    res = cluster_vs_labels(x[perm], labels[perm], k=3)
    assert res.ari_p == base.ari_p


def test_the_html_page_qualifies_a_knn_win_on_copied_pictures() -> None:
    from visrec.report.html import ReportData, _knn_sections

    rng = np.random.default_rng(0)
    x = np.repeat(rng.normal(size=(40, 8)), 5, axis=0)
    y = np.repeat(rng.choice([1.0, 5.0], size=40, p=[0.4, 0.6]), 5)
    res = knn_rating(x, y, k=3, random_state=1)
    assert res.against_majority()[0] == "beats" and res.same_item_caveat() is not None
    page = "".join(_knn_sections(ReportData(title="t", dataset="d", knn=res)))
    assert "of accuracy (on test rows whose very picture is in training: see the note):" in page


def test_review_photo_advice_needs_most_of_the_ids_to_be_review_photos_of_these_items() -> None:
    from visrec.commands._common import _keyed_by_review

    items = ["B01", "B02"]
    assert _keyed_by_review(items, ["B01_u1_1", "B02_u2_2", "B01_u3_3"])
    # two review photos among ten ids: not a file of review photos
    assert not _keyed_by_review(items, ["B01_u1_1", "B02_u2_2", *(f"x{n}" for n in range(8))])
    # ids with "_" whose first part is no item of the interactions
    assert not _keyed_by_review(items, ["Z9_u1_1", "Z8_u2_2"])


@pytest.mark.parametrize(
    ("name", "said"),
    [("recs.tsv", ".tsv (tab-separated text)"), ("RECS.PARQUET", ".parquet (Parquet)")],
)
def test_an_output_suffix_of_another_format_is_refused_in_any_case(name: str, said: str) -> None:
    from visrec.commands._output_paths import check_output_suffix

    with pytest.raises(VisrecError, match=rf"ends in {re.escape(said)}, but visrec writes CSV"):
        check_output_suffix(name, "-o", "CSV")


def test_a_photo_shown_twice_is_shared_and_keeps_its_label_and_query_mark(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from PIL import Image

    from visrec.report.similar import render_similar_report

    photos = {}
    for item, colour in (("i0", "red"), ("i1", "blue")):
        photos[item] = tmp_path / f"{item}.jpg"
        Image.new("RGB", (30, 30), colour).save(photos[item])
    results = [
        SimpleNamespace(query="i0", ids=["i1"], scores=[0.5]),
        SimpleNamespace(query="i1", ids=["i0"], scores=[0.5]),
    ]
    page = render_similar_report(results, photos, {}, labels={"i0": "red shirt"})
    body = page.split("</head>")[1]
    assert "data:image/jpeg" not in body  # each shown twice: both in the style
    assert body.count('<figure class="query"><span class="thumb shared p') == 2
    assert "i0<br>red shirt · query</figcaption>" in body
    assert "i0<br>red shirt · 1. cosine 0.500</figcaption>" in body
    # a repeated photo that cannot be read: the grey tile each time, not a failure
    photos["i1"].write_bytes(b"not an image")
    body = render_similar_report(results, photos, {}).split("</head>")[1]
    assert body.count("thumb missing") == 2


def test_variant_copies_need_the_same_review_and_the_digest_column(tmp_path: Path) -> None:
    import gzip
    import json

    from visrec.data.amazon import load_amazon_reviews
    from visrec.data.variants import count_variant_copies

    def rec(asin: str, stars: float, t: int = 100) -> dict[str, object]:
        return {"reviewerID": "u1", "asin": asin, "overall": stars, "unixReviewTime": t,
                "reviewText": "same"}  # fmt: skip

    path = tmp_path / "S_5.json.gz"
    # one reviewer, one day, one text, other stars: two reviews, not one listed twice
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in (rec("A1", 5.0), rec("A2", 4.0)))
    frame = load_amazon_reviews(path, review_digest=True).frame
    assert count_variant_copies(frame) == 0
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in (rec("A1", 5.0), rec("A2", 5.0)))
    frame = load_amazon_reviews(path, review_digest=True).frame
    assert count_variant_copies(frame) == 1
    # without the digest there is nothing to match on
    assert count_variant_copies(frame.drop(columns="review_digest")) == 0


def test_a_review_file_as_labels_points_to_a_review_photo_table(tmp_path: Path) -> None:

    from visrec.data.item_tables import load_item_table

    path = tmp_path / "Shop_5.json.gz"
    review = {"reviewerID": "u1", "asin": "A1", "overall": 5.0, "unixReviewTime": 1}
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(review) + "\n")
    with pytest.raises(VisrecError, match=r"an Amazon review file.*'review_id,category' CSV"):
        load_item_table(path, "asin")
    other = tmp_path / "x.json"
    other.write_text(json.dumps({"a": 1}) + "\n")
    with pytest.raises(VisrecError) as exc:
        load_item_table(other, "asin")
    assert "review_id,category" not in str(exc.value)


def test_fetch_refuses_a_manifest_named_for_another_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\nA,http://127.0.0.1:9/a.jpg\n")
    out = tmp_path / "m.parquet"
    assert main(["fetch", str(urls), "--cache", str(tmp_path / "c"), "-o", str(out)]) == 2
    assert "(Parquet), but visrec writes CSV there" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()  # before any download


def test_a_nan_inside_a_tuple_of_the_resume_record_is_strict_json_too(tmp_path: Path) -> None:

    from visrec.evaluation.run_record import append_record

    path = tmp_path / "ev.json.partial.jsonl"
    rec = {"seed": 0, "model": "popularity", "fp": {}, "params": {},
           "split": {"sizes": (math.nan, 2)}, "row": {"auc": 0.5}}  # fmt: skip

    def refuse(token: str) -> object:
        raise ValueError(f"non-strict token {token}")

    append_record(path, rec)
    parsed = json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
    assert parsed["split"]["sizes"] == ["NaN", 2]


def test_interactions_check_the_item_map_and_the_ratings_shape_and_kind() -> None:
    from visrec.data.interactions import IdMap, Interactions

    idx, users, items = np.array([0, 1]), IdMap(["a", "b"]), IdMap(["x", "y"])
    with pytest.raises(VisrecError, match=r"item_map must be an IdMap .* got list"):
        Interactions(users, ["x", "y"], idx, idx)  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"rating must be a 1-D array of numbers, got float64"):
        Interactions(users, items, idx, idx, rating=np.ones((2, 1)))
    with pytest.raises(VisrecError, match=r"rating must be a 1-D array of numbers, got bool"):
        Interactions(users, items, idx, idx, rating=np.array([True, False]))


def test_rating_mf_refits_without_ratings_or_vectors_are_refused_and_keep_the_fit() -> None:
    from test_models import checkerboard
    from visrec.data.interactions import Interactions
    from visrec.models.rating_mf import RatingMF

    inter, iv = checkerboard()
    rated = Interactions(
        inter.user_map, inter.item_map, inter.user_idx, inter.item_idx,
        rating=np.full(len(inter), 4.0, dtype=np.float32),
    )  # fmt: skip
    empty = Interactions(
        inter.user_map, inter.item_map, inter.user_idx[:0], inter.item_idx[:0],
        rating=np.zeros(0, dtype=np.float32),
    )  # fmt: skip
    model = RatingMF(n_factors=2, n_epochs=2, visual=True, random_state=0).fit(rated, iv.vectors)
    before = model.predict([0, 1], [0, 2])
    with pytest.raises(VisrecError, match="RatingMF: no training ratings"):
        model.fit(empty, iv.vectors)
    with pytest.raises(VisrecError, match=r"RatingMF\(visual=True\) needs item vectors"):
        model.fit(rated)
    with pytest.raises(VisrecError, match=r"RatingMF: has_image has 3 rows, expected \d+"):
        model.fit(rated, iv.vectors, np.ones(3, dtype=bool))
    np.testing.assert_array_equal(model.predict([0, 1], [0, 2]), before)


def test_resnet18_weights_holding_python_objects_fail_in_one_line(tmp_path: Path) -> None:
    import argparse

    import torch

    from visrec.embed.backbones import get_backbone

    path = tmp_path / "objects.pth"
    torch.save({"args": argparse.Namespace(lr=0.1)}, path)  # torch's long weights_only text
    with pytest.raises(VisrecError) as exc:
        get_backbone("resnet18", weights=path).build_model()
    text = str(exc.value)
    assert "cannot load (it holds Python objects besides tensors" in text
    assert "\n" not in text and "weights_only" not in text and "\x1b" not in text


def test_a_json_table_that_is_no_amazon_metadata_is_not_called_one(tmp_path: Path) -> None:
    from visrec.data.tables import load_interactions

    path = tmp_path / "x.json"
    path.write_text(json.dumps({"user_id": "u1", "item_id": "i1"}) + "\n")
    with pytest.raises(VisrecError) as exc:
        load_interactions(path)
    assert "JSON files are read as Amazon reviews only" in str(exc.value)
    assert "Amazon metadata" not in str(exc.value)


def test_a_new_model_folder_name_that_is_taken_is_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = iter(["0000", "0000", "0001"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    assert atomic.create_temp_folder(tmp_path, ".m.") == tmp_path / ".m.0000"
    assert atomic.create_temp_folder(tmp_path, ".m.") == tmp_path / ".m.0001"  # .m.0000 is there
