"""Every command on Amazon-shaped input: asin / reviewerID ids, the 2018 field names,
repeated reviews, headers named after Amazon's fields."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.commands.recommend import read_candidates
from visrec.data.amazon import load_amazon_reviews
from visrec.data.images_index import load_manifest
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors, write_vectors

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon"


def _review(asin: str, user: str, t: int, overall: float = 5.0) -> dict[str, object]:
    day = pd.Timestamp(t, unit="s")
    return {
        "overall": overall,
        "verified": True,
        "reviewTime": f"{day.month:02d} {day.day}, {day.year}",
        "reviewerID": user,
        "asin": asin,
        "style": {"Size:": " Large", "Color:": " Black"},
        "reviewText": "fits well, nice colour",
        "unixReviewTime": t,
        "vote": "1,234",
    }


def _shop(tmp_path: Path, varied: bool = False) -> tuple[Path, Path]:
    """An Amazon review file (8 users x asins B0..B5, times at midnight UTC as in the
    real files, the first five reviews repeated; 5 stars each, or 1-5 when ``varied``)
    and vectors for B0..B5 and unseen B9."""
    recs = []
    for u in range(8):
        for k in range(3):
            stars = float(1 + (u + 2 * k) % 5) if varied else 5.0
            recs.append(_review(f"B{(u + k) % 6}", f"A{u}X", 86_400 * (16_204 + u + k), stars))
    recs += recs[:5]  # the 5-core files repeat reviews
    path = tmp_path / "Shop_5.json.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode()))
    ids = [f"B{i}" for i in range(6)] + ["B9"]
    vec = np.random.default_rng(0).normal(size=(len(ids), 4)).astype(np.float32)
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(np.asarray(ids), vec, np.ones(len(ids), bool)))
    return path, vectors


# ------------------------------------------------------------------ recommend --items
@pytest.mark.parametrize("header", ["asin", "ASIN", "itemId", "product_id", "item_id"])
def test_candidates_file_header_named_after_the_item_column_is_not_an_item(
    tmp_path: Path, header: str
) -> None:
    cands = tmp_path / "c.csv"
    cands.write_text(f"{header}\nB0000530HU\nB00006L9LC\n")
    assert read_candidates(str(cands)) == ["B0000530HU", "B00006L9LC"]


def test_candidates_header_quoted_by_a_csv_writer(tmp_path: Path) -> None:
    cands = tmp_path / "c.csv"
    pd.Series(["B01", "0012"], name="item_id").to_csv(cands, index=False, quoting=1)
    assert read_candidates(str(cands)) == ["B01", "0012"]


def test_candidates_header_only_on_the_first_line(tmp_path: Path) -> None:
    cands = tmp_path / "c.txt"
    cands.write_text("B01\nasin\n")
    assert read_candidates(str(cands)) == ["B01", "asin"]


def test_candidates_header_after_blank_lines_is_still_the_header(tmp_path: Path) -> None:
    # the header test looked at line 1 only: "\nitem_id" made 'item_id' a candidate
    cands = tmp_path / "c.txt"
    cands.write_text("\n  \nitem_id\nB01\nasin\n")
    assert read_candidates(str(cands)) == ["B01", "asin"]


def test_recommend_with_an_asin_headed_candidates_file(tmp_path: Path) -> None:
    reviews, vectors = _shop(tmp_path)
    model, recs = tmp_path / "m", tmp_path / "recs.csv"
    cands = tmp_path / "cands.csv"
    cands.write_text("asin\nB0\nB1\nB9\n")
    args = ["--param=epochs=3", "--param=factors=4"]
    train = ["train", "--model", "visual-cf", "--interactions", str(reviews)]
    assert main([*train, "--vectors", str(vectors), "-o", str(model), *args]) == 0
    assert main(["recommend", str(model), "-o", str(recs), "--items", str(cands)]) == 0
    out = pd.read_csv(recs, dtype={"user_id": str, "item_id": str})
    assert set(out["item_id"]) <= {"B0", "B1", "B9"}
    assert sorted(out["user_id"].unique()) == [f"A{u}X" for u in range(8)]


# ------------------------------------------------------------ reviewTime as the time
def test_review_time_header_is_the_timestamp(tmp_path: Path) -> None:
    reviews, _ = _shop(tmp_path)
    amazon = load_amazon_reviews(reviews).frame
    table = tmp_path / "train.csv"
    pd.DataFrame({
        "reviewerID": amazon["user_id"], "asin": amazon["item_id"],
        "overall": amazon["rating"],
        "reviewTime": [_review("x", "y", int(t))["reviewTime"] for t in amazon["timestamp"]],
    }).to_csv(table, index=False)  # fmt: skip
    frame = load_interactions(table).frame
    assert list(frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert frame["timestamp"].tolist() == amazon["timestamp"].tolist()


def test_unix_review_time_wins_over_review_time(tmp_path: Path) -> None:
    table = tmp_path / "train.csv"
    table.write_text('reviewTime,reviewerID,asin,unixReviewTime\n"09 1, 2016",A1,B1,7\n')
    assert load_interactions(table).frame["timestamp"].tolist() == [7]


# ------------------------------------------------------------------- embed manifest
def test_manifest_keyed_by_asin(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    man = tmp_path / "m.csv"
    man.write_text("asin,path\n0000031852,a.jpg\n")
    assert load_manifest(man) == {"0000031852": str(tmp_path / "a.jpg")}


# ------------------------------------------------------------------ rating-eval
def test_rating_eval_counts_a_repeated_review_once(tmp_path: Path) -> None:
    """The 5-core files hold the same review several times (All_Beauty_5: 1,177 repeated
    (user, asin) pairs); split as rows, a third of the test ratings were copies of
    training ones, which only MF can look up."""
    from visrec.analysis.rating_eval import rating_eval

    rng = np.random.default_rng(0)
    rows = [(f"A{u}", f"B{i}", float(rng.integers(1, 6)), 100 + i) for u in range(30) for i in
            rng.choice(20, size=6, replace=False)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    # every review twice; the repeat of the first one carries a later time and 1 star
    twice = pd.concat([frame, frame], ignore_index=True)
    twice.loc[len(frame), ["rating", "timestamp"]] = [1.0, 999]
    res = rating_eval(twice, None, random_state=0)
    assert res.n_train + res.n_test == len(frame)
    assert any(f"{len(frame):,} repeated" in n for n in res.notes), res.notes
    ref = frame.copy()
    ref.loc[0, ["rating", "timestamp"]] = [1.0, 999]  # the latest copy is the one kept
    expect = rating_eval(ref, None, random_state=0)
    pd.testing.assert_frame_equal(
        res.table.drop(columns="fit_seconds"), expect.table.drop(columns="fit_seconds")
    )


# ------------------------------------------------- a folder of Amazon review files
def _two_categories(tmp_path: Path) -> Path:
    """A folder with two categories' review files (as the tutorial combined), a meta
    file that is not reviews, and the vectors one level up."""
    folder = tmp_path / "amazon"
    folder.mkdir()
    reviews, _ = _shop(tmp_path)
    reviews.rename(folder / "Shop_5.json.gz")
    other = [_review(f"C{i % 3}", f"Z{i}", 86_400 * (16_300 + i)) for i in range(8)]
    (folder / "Other_5.json").write_text("".join(json.dumps(r) + "\n" for r in other))
    (folder / "meta_Shop.json").write_text(json.dumps({"asin": "B0", "title": "t"}) + "\n")
    return folder


@pytest.mark.parametrize("ids_only", [False, True])
def test_folder_of_review_files_is_one_table(tmp_path: Path, ids_only: bool) -> None:
    folder = _two_categories(tmp_path)
    got = load_interactions(folder, ids_only=ids_only)
    files = [folder / "Other_5.json", folder / "Shop_5.json.gz"]
    want = load_amazon_reviews(files, ids_only=ids_only)
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.files == [str(f) for f in files]
    assert len(got.frame) == 8 + 29


def test_folder_without_review_files_still_says_what_it_looked_for(tmp_path: Path) -> None:
    (tmp_path / "meta_Shop.json").write_text(json.dumps({"asin": "B0"}) + "\n")
    with pytest.raises(Exception, match="folder has no interactions file"):
        load_interactions(tmp_path)


def test_commands_on_a_folder_of_review_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _two_categories(tmp_path)
    vectors = tmp_path / "v.parquet"
    assert main(["data", "summary", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Other" in out and "Shop" in out and "37" in out
    model, recs = tmp_path / "m", tmp_path / "recs.csv"
    fast = ["--param=epochs=3", "--param=factors=4"]
    argv = ["train", "--model", "bpr", "--interactions", str(folder), "-o", str(model), *fast]
    assert main(argv) == 0
    assert main(["recommend", str(model), "-o", str(recs)]) == 0
    users = set(pd.read_csv(recs, dtype=str)["user_id"])
    assert users == {f"A{u}X" for u in range(8)} | {f"Z{u}" for u in range(8)}
    ev = ["evaluate", "--interactions", str(folder), "--vectors", str(vectors)]
    assert main([*ev, "--models", "popularity", "--seeds", "1", "--quiet"]) == 0
    assert "protocol warm" in capsys.readouterr().out


def test_train_resume_key_sees_each_review_file_of_a_folder(tmp_path: Path) -> None:
    import argparse
    import os

    from visrec.commands.train import _fit_key

    folder = _two_categories(tmp_path)
    args = argparse.Namespace(model="bpr", interactions=str(folder), vectors=None)
    before = _fit_key(args, {})
    st = (folder / "Other_5.json").stat()
    os.utime(folder / "Other_5.json", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _fit_key(args, {}) != before


# ----------------------------------------------- cluster --labels meta_<Category>.json
def _meta(tmp_path: Path) -> Path:
    rows = [
        {"asin": f"B{i}", "title": f"t{i}", "main_cat": "Beauty" if i % 2 else "Fashion",
         "category": ["Clothing", "Women"] if i % 2 == 0 else [], "imageURL": []}
        for i in range(6)
    ]  # fmt: skip
    rows[3]["main_cat"] = ""
    path = tmp_path / "meta_Shop.json"
    path.write_text("\n".join(json.dumps(r, indent=1) for r in rows) + "\n")
    return path


def test_item_table_from_amazon_metadata(tmp_path: Path) -> None:
    from visrec.data.item_tables import load_item_table

    meta = _meta(tmp_path)
    res = load_item_table(meta, id_col="asin", label_col="main_cat")
    assert res.frame["item_id"].tolist() == ["B0", "B1", "B2", "B4", "B5"]
    assert res.frame["main_cat"].tolist() == ["Fashion", "Beauty", "Fashion", "Fashion", "Beauty"]
    assert res.frame["categories"].tolist() == ["Clothing > Women", "", "Clothing > Women",
                                                "Clothing > Women", ""]  # fmt: skip
    [bad] = res.bad  # B3: empty main_cat, on the line its object starts
    start = meta.read_text().splitlines().index(' "asin": "B3",')  # 0-based: the "{" line
    assert (bad.kind, bad.line, bad.file) == ("empty label", start, str(meta))


def test_item_table_from_amazon_metadata_names_its_id_column(tmp_path: Path) -> None:
    from visrec.data.item_tables import load_item_table
    from visrec.errors import VisrecError

    with pytest.raises(VisrecError, match="keyed by 'asin'"):
        load_item_table(_meta(tmp_path), id_col="id", label_col="main_cat")
    reviews, _ = _shop(tmp_path)
    with pytest.raises(VisrecError, match="review file, not an item table"):
        load_item_table(reviews, id_col="asin", label_col="category")


def test_cluster_with_amazon_metadata_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, vectors = _shop(tmp_path)
    argv = ["cluster", str(vectors), "--labels", str(_meta(tmp_path)), "--id-col", "asin"]
    assert main([*argv, "--label-col", "main_cat", "--k", "2"]) == 0
    out, err = capsys.readouterr()  # the counts of what was left out: on stderr
    assert (
        "left out 0 without an image (has_image false, or an all-zero vector) and 2 without a label"
        in err
    )  # B3 and B9
    assert "Beauty" in out and "Fashion" in out  # the table


# --------------------------------------------------------- fetch SOURCE as a folder
def test_fetch_sources_from_a_folder_of_amazon_files(tmp_path: Path) -> None:
    from visrec.commands.fetch import read_sources, source_files

    def collect_urls(
        sources: list[str], what: str | None = None
    ) -> tuple[dict[str, str], list[str]]:
        got = read_sources(source_files(sources, what), what)
        return got.urls, got.notes

    folder = tmp_path / "amazon"
    folder.mkdir()
    rec = _review("B1", "A1", 86_400 * 16_204)
    rec["image"] = ["https://x/r.jpg"]
    (folder / "Shop_5.json").write_text(json.dumps(rec) + "\n")
    meta = {"asin": "B1", "imageURLHighRes": ["https://x/p.jpg"]}
    (folder / "meta_Shop.json").write_text(json.dumps(meta) + "\n")
    (folder / "notes.txt").write_text("not a source\n")
    urls, _ = collect_urls([str(folder)])
    assert urls == {"B1_A1_1400025600": "https://x/r.jpg", "B1": "https://x/p.jpg"}
    urls, _ = collect_urls([str(folder)], what="product-images")
    assert urls == {"B1": "https://x/p.jpg"}
    with pytest.raises(Exception, match="no Amazon review or meta files"):
        collect_urls([str(tmp_path)])  # holds only the folder


# ------------------------------------------------------ data summary of a vectors file
def test_data_summary_of_a_vectors_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = tmp_path / "v.parquet"
    has = np.array([True, True, False])
    vec = np.ones((3, 5), np.float32) * has[:, None]
    write_vectors(vectors, ItemVectors(np.asarray(["B1", "0012", "B3"]), vec, has,
                                       {"backbone": "efficientnet-lite0"}))  # fmt: skip
    assert main(["data", "summary", str(vectors)]) == 0
    out = capsys.readouterr().out
    assert "item vectors (efficientnet-lite0, 5 dimensions)" in out
    assert "items with an image                      2  (66.7%)" in out


# ------------------------------------------------- evaluate on a small catalogue
def test_evaluate_says_when_k_covers_every_candidate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """AMAZON_FASHION_5 cold-items: 5 candidates, so Recall@20 = HitRate@20 = 1.000 for
    every model, popularity included; the table alone reads as a perfect score."""
    reviews, vectors = _shop(tmp_path)
    argv = ["evaluate", "--interactions", str(reviews), "--vectors", str(vectors)]
    argv += ["--models", "popularity", "--seeds", "1", "--quiet", "--protocol", "cold-items"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    # one candidate, their test item: no ranking to judge at all, said as such
    assert "nothing to rank: every candidate of every test user is one of their test" in err
    assert "<= --k 20" not in err
    # warm: 6 candidates, less the user's own training item(s)
    assert main([*argv, "--protocol", "warm", "--k", "5"]) == 0
    assert "5 candidates per test user at most, <= --k 5" in capsys.readouterr().err
    assert main([*argv, "--protocol", "warm", "--k", "4"]) == 0
    assert "are 1 for any ranking" not in capsys.readouterr().err


# ------------------------------- evaluate --protocol time reads no rating it would drop
def test_time_protocol_keeps_rows_without_a_rating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every row is a positive; the time protocol needs times, not ratings. A blank
    rating in TRAIN.csv (or Amazon's "overall": null) cost the row under --protocol time
    while --protocol warm kept it: 709 of 7,084 rows of a TRAIN.csv with every tenth
    rating blank."""
    table = tmp_path / "train.csv"
    rows = [(f"A{u}", f"B{(u + k) % 6}", "" if (u + k) % 4 == 0 else "5", 100 * u + k)
            for u in range(8) for k in range(3)]  # fmt: skip
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).to_csv(
        table, index=False
    )
    res = load_interactions(table, ids_only=True, keep_time=True)
    assert list(res.frame.columns) == ["user_id", "item_id", "timestamp"]
    assert len(res.frame) == 24 and res.n_bad == 0
    argv = ["evaluate", "--interactions", str(table), "--protocol", "time"]
    assert main([*argv, "--models", "popularity", "--seeds", "1"]) == 0
    out, err = capsys.readouterr()
    assert "skipped" not in err
    assert "protocol time: 16 train / 8 test rows" in out


def test_time_protocol_still_needs_the_time(tmp_path: Path) -> None:
    table = tmp_path / "train.csv"
    table.write_text("user_id,item_id,rating,timestamp\nA1,B1,,7\nA1,B2,5,\n")
    res = load_interactions(table, ids_only=True, keep_time=True)
    assert res.frame["timestamp"].tolist() == [7]
    assert [b.line for b in res.bad] == [3]


def test_amazon_null_overall_is_a_positive_with_its_time(tmp_path: Path) -> None:
    recs = [_review("B1", "A1", 86_400), _review("B2", "A1", 2 * 86_400)]
    recs[1]["overall"] = None
    del recs[0]["unixReviewTime"]  # the reviewTime "01 2, 1970" is the time then
    path = tmp_path / "Shop_5.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = load_interactions(path, ids_only=True, keep_time=True)
    assert res.frame.to_dict("list") == {
        "user_id": ["A1", "A1"], "item_id": ["B1", "B2"], "timestamp": [86_400, 172_800],
    }  # fmt: skip
    assert str(res.frame["timestamp"].dtype) == "int64"
    recs[1].pop("unixReviewTime")
    recs[1].pop("reviewTime")
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = load_interactions(path, ids_only=True, keep_time=True)
    assert [(b.line, b.kind) for b in res.bad] == [(2, "missing time")]


def test_cold_items_with_no_matching_vector_says_why(tmp_path: Path) -> None:
    """Vectors keyed by review_id (review photos) against asins: nothing is eligible."""
    from visrec.errors import VisrecError
    from visrec.evaluation.protocols import cold_items_split

    frame = pd.DataFrame({"user_id": ["A1", "A1", "A2"], "item_id": ["B1", "B2", "B1"]})
    with pytest.raises(VisrecError, match=r"0 eligible items \(of the 2 items, those with an"):
        cold_items_split(frame, eligible_items=["B1_A1_1400025600"])


def test_knn_rating_says_how_many_rows_repeat_a_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews, vectors = _shop(tmp_path, varied=True)  # one rating value is refused
    assert main(["knn-rating", "--interactions", str(reviews), "--vectors", str(vectors)]) == 0
    assert "5 of 29 rows repeat an earlier row's (user, item)" in capsys.readouterr().err
