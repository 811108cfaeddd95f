"""Input a QA review found mishandled: a huge --n or factor count, a candidates file of
mixed encodings, dates in one file read in two day/month orders, Amazon ids that are
not text, binary id columns in a vectors file, continuous ratings given to the rating
KNN, and test rows dropped under `evaluate --quiet`."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec import cli
from visrec.analysis.rating_knn import knn_rating
from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.interactions import Interactions
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.registry import make_model


@pytest.fixture()
def train_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(20) for i in rng.integers(0, 15, size=5)}
    path = tmp_path / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(path, index=False)
    return path


def test_recommend_n_beyond_the_catalogue_lists_every_candidate(
    train_csv: Path, tmp_path: Path
) -> None:
    m = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(train_csv), "-o", str(m)])
        == 0
    )
    out = tmp_path / "recs.csv"
    # n x users was allocated up front: 10**12 asked for 160 TB
    assert main(["recommend", str(m), "--n", str(10**12), "-o", str(out), "--quiet"]) == 0
    recs = pd.read_csv(out)
    train = pd.read_csv(train_csv)
    n_items = train["item_id"].nunique()
    per_user = recs.groupby("user_id").size()
    want = n_items - train.groupby("user_id").size()
    assert per_user.sort_index().tolist() == want.sort_index().tolist()


def test_a_width_beyond_memory_is_one_line_before_any_allocation(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # refused by the width check (models/params.py); an allocation that fails anyway is
    # "out of memory", exit 1 (the test below)
    argv = ["train", "--model", "bpr", "--interactions", str(train_csv), "-o", str(tmp_path / "m")]
    argv += ["--param", "factors=100000000000", "--param", "epochs=1", "--param", "reg=0.01"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: model 'bpr': factors=100,000,000,000 is too large: ")
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "m").exists()


def test_torch_allocator_failure_is_out_of_memory_too(capsys: pytest.CaptureFixture[str]) -> None:
    def fails(_args: object) -> int:
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 400000000000 bytes.\nmore detail"
        )

    assert cli.run_command(fails, object()) == 1  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory ([enforce fail")
    assert "more detail" not in err


def test_candidates_of_mixed_encodings_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "t.csv"
    train.write_bytes(b"user_id,item_id\nu1,caf\xc3\xa9\nu2,x\nu3,x\n")
    m = tmp_path / "m"
    assert main(["train", "--model", "popularity", "--interactions", str(train), "-o", str(m)]) == 0
    cands = tmp_path / "c.txt"
    cands.write_bytes(b"caf\xc3\xa9\nth\xe9\n")  # UTF-8, then a Windows-1252 line
    capsys.readouterr()
    out = tmp_path / "r.csv"
    assert main(["recommend", str(m), "--items", str(cands), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {cands}:2: not valid UTF-8" in err


def test_numeric_dates_take_one_day_month_order_per_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "user_id,item_id,timestamp\n"
        "u1,i1,13/01/2020\n"  # only day-first: the column is day-first
        "u1,i2,01/02/2020\n"  # read 1 February (format="mixed" read 2 January)
        "u2,i1,02/03/2020 10:30\n"
        "u2,i3,25/12/19\n"
    )
    res = load_interactions(path)
    got = pd.to_datetime(res.frame["timestamp"], unit="s").dt.strftime("%Y-%m-%d %H:%M")
    assert got.tolist() == [
        "2020-01-13 00:00",
        "2020-02-01 00:00",
        "2020-03-02 10:30",
        "2019-12-25 00:00",
    ]
    assert res.bad == []


def test_a_date_against_the_columns_order_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "user_id,item_id,timestamp\nu1,i1,13/01/2020\nu1,i2,14/01/2020\nu2,i1,01/13/2020\n"
    )
    res = load_interactions(path)
    assert len(res.frame) == 2
    assert [(b.line, b.kind) for b in res.bad] == [(4, "bad timestamp")]
    assert "day/month order" in res.bad[0].reason
    # a date no order reads is not blamed on the order
    path.write_text("user_id,item_id,timestamp\nu1,i1,13/01/2020\nu1,i2,31/02/2020\n")
    res = load_interactions(path)
    assert [b.reason for b in res.bad] == ["timestamp '31/02/2020' is not a number or a date"]


def test_month_first_without_evidence(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("user_id,item_id,timestamp\nu1,i1,01/02/2020\nu1,i2,03/04/2020\n")
    got = pd.to_datetime(load_interactions(path).frame["timestamp"], unit="s")
    assert got.dt.strftime("%m-%d").tolist() == ["01-02", "03-04"]


def test_amazon_ids_that_are_not_text_are_bad_records(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    recs = [
        {"overall": 4, "reviewerID": "A4", "asin": {"a": 1}, "unixReviewTime": 100},
        {"overall": 4, "reviewerID": 15, "asin": "B9", "unixReviewTime": 100},
        {"overall": 4, "reviewerID": True, "asin": "B9", "unixReviewTime": 100},
        {"overall": 4, "reviewerID": "A5", "asin": ["x"], "unixReviewTime": 100},
        {"overall": 4, "reviewerID": "A6", "asin": "B9", "unixReviewTime": 100},
    ]
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    res = load_amazon_reviews(path)
    assert res.frame["user_id"].tolist() == ["15", "A6"]  # a number is an id as written
    assert [(b.line, b.kind) for b in res.bad] == [
        (1, "bad asin"),
        (3, "bad reviewerID"),
        (4, "bad asin"),
    ]
    assert res.bad[0].reason == """'asin' is {"a": 1}, expected a string id"""


def _binary_vectors(path: Path, ids: list[bytes]) -> None:
    vec = pa.array([[float(k), 1.0] for k in range(len(ids))], type=pa.list_(pa.float32(), 2))
    table = pa.table(
        {"item_id": pa.array(ids, type=pa.binary()), "vector": vec, "has_image": [True] * len(ids)}
    )
    pq.write_table(table, path)


def test_binary_item_ids_in_a_vectors_file_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    _binary_vectors(path, [b"i1", "é".encode(), b"i3"])
    assert read_vectors(path).ids.tolist() == ["i1", "é", "i3"]
    bad = tmp_path / "bad.parquet"
    _binary_vectors(bad, [b"i1", b"\xff"])
    with pytest.raises(VisrecError, match=r"bad\.parquet: column .item_id.: id b'\\xff' is bytes"):
        read_vectors(bad)


def test_rating_knn_refuses_continuous_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    with pytest.raises(VisrecError, match=r"ratings take 200 distinct values .*rating-eval"):
        knn_rating(x, rng.uniform(-5, 5, size=200))
    half_stars = rng.integers(1, 11, size=200) / 2  # 10 classes: a scale, still fine
    assert len(knn_rating(x, half_stars).labels) == 10

    ids = [f"i{k}" for k in range(200)]
    vec = tmp_path / "v.parquet"
    write_vectors(vec, ItemVectors(np.asarray(ids), x, np.ones(200, bool)))
    csv = tmp_path / "r.csv"
    frame = pd.DataFrame({"user_id": "u", "item_id": ids, "rating": rng.uniform(0, 1, 200)})
    frame.to_csv(csv, index=False)
    assert main(["knn-rating", "--interactions", str(csv), "--vectors", str(vec)]) == 2
    assert "visrec rating-eval" in capsys.readouterr().err


def test_evaluate_quiet_still_says_test_rows_were_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # u9's items are i90/i91 only: under warm, a test row on i91 has no training row
    rows = [(f"u{u}", f"i{i}") for u in range(8) for i in range(6)]
    rows += [("u9", "i90"), ("u9", "i91")]
    csv = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(csv, index=False)
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "--protocol", "warm", "--quiet", "--k", "3"]) == 0
    err = capsys.readouterr().err
    assert "seed 0:" in err and "of unknown items" in err
    assert "dropped 0 test rows of unknown users, 1 of unknown items" in err


@pytest.mark.parametrize("model", ["popularity", "bpr"])
def test_items_rated_below_min_rating_are_never_recommended_to_that_user(
    tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(4)
    rows = [(f"u{u}", f"i{i}", int(rng.integers(1, 6))) for u in range(30) for i in range(12)]
    rows = [r for r in rows if rng.random() < 0.6]
    csv = tmp_path / "r.csv"
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    frame.to_csv(csv, index=False)
    m = tmp_path / "m"
    argv = ["train", "--model", model, "--interactions", str(csv), "-o", str(m), "--quiet"]
    assert main([*argv, "--min-rating", "4", "--param", "epochs=3"] if model == "bpr" else
                [*argv, "--min-rating", "4"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "rated below it" in err and "never recommended" in err
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(m), "--n", "12", "-o", str(out), "--quiet"]) == 0
    recs = pd.read_csv(out, dtype=str)
    rated = set(zip(frame["user_id"], frame["item_id"], strict=True))
    assert not {(u, i) for u, i in zip(recs["user_id"], recs["item_id"], strict=True)} & rated
    low = frame[frame["rating"] < 4]
    kept_users = set(frame.loc[frame["rating"] >= 4, "user_id"])
    kept_items = set(frame.loc[frame["rating"] >= 4, "item_id"])
    known = low["user_id"].isin(kept_users) & low["item_id"].isin(kept_items)
    provenance = json.loads((m / "train.json").read_text())
    assert provenance["n_excluded_below_min_rating"] == int(known.sum()) > 0


@pytest.mark.parametrize("scale", [0.0, -1.5])
def test_a_feature_scale_edited_to_zero_or_below_is_refused_on_load(
    tmp_path: Path, scale: float
) -> None:

    rng = np.random.default_rng(2)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(20) for i in rng.integers(0, 15, size=5)}

    frame = pd.DataFrame(sorted(rows), columns=["user_id", "item_id"])
    inter = Interactions.from_frame(frame)
    ids = inter.item_map.ids
    iv = ItemVectors(
        ids, rng.normal(size=(len(ids), 6)).astype(np.float32), np.ones(len(ids), bool)
    )
    model = make_model("vbpr", epochs=2, factors=4, visual_dim=4, reg=0.01).fit(inter, iv)
    folder = tmp_path / "m"
    model.save(folder)
    arrays = dict(np.load(folder / "arrays.npz", allow_pickle=False))
    arrays["feature_scale_"] = np.asarray([scale], dtype=np.float32)
    np.savez(folder / "arrays.npz", **arrays)
    with pytest.raises(VisrecError, match=rf"feature_scale_ must be positive, holds {scale}"):
        Recommender.load(folder)


def test_a_profile_weight_too_big_says_which_parameter() -> None:

    rng = np.random.default_rng(5)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(20) for i in rng.integers(0, 15, size=5)}
    inter = Interactions.from_frame(pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]))
    ids = inter.item_map.ids
    iv = ItemVectors(
        ids, rng.normal(size=(len(ids), 6)).astype(np.float32), np.ones(len(ids), bool)
    )
    model = make_model("visual-cf", epochs=2, factors=4, profile_weight=1e300, reg=0.01)
    with pytest.raises(
        VisrecError, match=r"profile_scale_ holds NaN, infinite or huge .*; lower profile_weight$"
    ):
        model.fit(inter, iv)


def test_data_summary_reads_vectors_made_elsewhere_and_counts_unusable_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = np.ones((5, 4), np.float32)
    vec[1] = np.nan
    vec[2] = 0.0
    table = pa.table(
        {
            "item_id": [f"i{k}" for k in range(5)],
            "vector": pa.array(vec.tolist(), type=pa.list_(pa.float32(), 4)),
        }
    )
    path = tmp_path / "v.parquet"
    pq.write_table(table, path)  # no visrec metadata, as other tools write it
    assert main(["data", "summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "item vectors (unknown backbone, 4 dimensions)" in out
    assert "items with an image                      3  (60.0%)" in out
    assert "NaN or infinite values (refused by the recommenders): 1" in out
    assert "has_image rows with all zeros (counted as no image): 1" in out


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Apparel,Footwear, Apparel", ["Apparel", "Footwear"]),
        ('"Clothing, Shoes & Jewelry",Beauty', ["Clothing, Shoes & Jewelry", "Beauty"]),
        ("Clothing, Shoes & Jewelry", ["Clothing, Shoes & Jewelry"]),  # one label present
        ("Beauty, Clothing", ["Beauty", "Clothing"]),
    ],
)
def test_keep_labels_takes_labels_with_commas(text: str, want: list[str]) -> None:
    from visrec.commands.cluster import keep_labels

    present = {"Apparel", "Footwear", "Clothing, Shoes & Jewelry", "Beauty", "Clothing"}
    assert keep_labels(text, present) == want


def test_similar_on_large_but_finite_vectors_ranks_as_on_the_scaled_down_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(6)
    ids = np.asarray([f"i{k}" for k in range(12)])
    vec = rng.normal(size=(12, 8)).astype(np.float32)
    vec /= np.abs(vec).max()
    outs = []
    # 3e38: every value fits float32, the norm does not
    for scale in (1.0, 1e20, 3e38):
        path = tmp_path / f"v{scale:g}.parquet"
        write_vectors(path, ItemVectors(ids, vec * np.float32(scale), np.ones(12, bool)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow on the way
            assert main(["similar", str(path), "i1", "--n", "4"]) == 0
        outs.append(capsys.readouterr().out.splitlines()[-4:])
    assert outs[0] == outs[1] == outs[2]


def test_a_space_separated_table_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "ratings.txt"
    path.write_text("1 2 5 100\n1 3 4 200\n")
    with pytest.raises(VisrecError, match=r"ratings\.txt line 1: fields separated by spaces"):
        load_interactions(path)
    spaced_ids = tmp_path / "ok.csv"
    spaced_ids.write_text("user_id,item_id\nu 1,i 2\n")  # spaces inside ids stay fine
    assert load_interactions(spaced_ids).frame["user_id"].tolist() == ["u 1"]


def test_movielens_item_table_given_as_interactions_says_where_the_ratings_are(
    tmp_path: Path,
) -> None:
    item = tmp_path / "u.item"
    item.write_text("1|Toy Story (1995)|01-Jan-1995||http://imdb|0|0|0\n", encoding="latin-1")
    with pytest.raises(VisrecError, match=r"u\.item: MovieLens' item table, not interactions; "
                       r"the ratings are .*u\.data"):  # fmt: skip
        load_interactions(item)


def test_binary_ids_that_are_not_utf8_name_the_interactions_file(tmp_path: Path) -> None:
    path = tmp_path / "i.parquet"
    table = pa.table(
        {
            "user_id": pa.array([b"u0", b"\xff"], type=pa.binary()),
            "item_id": pa.array([b"i0", b"i1"], type=pa.binary()),
        }
    )
    pq.write_table(table, path)
    with pytest.raises(VisrecError, match=r"i\.parquet: column 'user_id': id b'\\xff' is bytes"):
        load_interactions(path)


def test_exclude_pairs_blocks_recommendations_keeps_training_pairs_and_survives_save(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "c"], "item_id": ["x", "y", "x", "z"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame))
    before = model.seen_.copy()
    a, z, x = model.user_map_.to_index(["a"])[0], *model.item_map_.to_index(["z", "x"])
    # (a, x) is a training pair already: one new pair, counted once though given twice
    assert model.exclude_pairs([a, a, a], [z, z, x]) == 1
    assert (model.seen_ != before).nnz == 0  # the training pairs are untouched
    idx, _ = model.recommend([a], n=3)
    assert [i for i in idx[0] if i >= 0] == []  # x, y trained, z excluded
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    assert loaded.excluded_ is not None and loaded.excluded_.nnz == 1
    np.testing.assert_array_equal(loaded.recommend([a], n=3)[0], idx)
    # a new fit starts with nothing excluded
    model.fit(Interactions.from_frame(frame))
    assert model.excluded_ is None
    assert model.item_map_.ids[model.recommend([a], n=3)[0][0][0]] == "z"
    with pytest.raises(VisrecError, match="as many users as items"):
        model.exclude_pairs([a], [z, x])
    with pytest.raises(VisrecError, match="unknown item index 9"):
        model.exclude_pairs([a], [9])


def test_damaged_excluded_arrays_are_named_on_load(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame))
    model.exclude_pairs([0], [1])
    model.save(tmp_path / "m")
    npz = tmp_path / "m" / "arrays.npz"
    arrays = dict(np.load(npz))
    arrays["excluded_indices"] = np.array([7])
    np.savez(npz, **arrays)
    with pytest.raises(VisrecError, match=r"excluded_indices holds item index 7"):
        Recommender.load(tmp_path / "m")
    del arrays["excluded_indices"]
    np.savez(npz, **arrays)
    with pytest.raises(VisrecError, match=r"missing array excluded_indices"):
        Recommender.load(tmp_path / "m")


@pytest.mark.parametrize("blank", ["", '""', '"  "', '"" '])
def test_a_blank_or_empty_quoted_first_line_is_skipped_alike(tmp_path: Path, blank: str) -> None:
    # the layout (header or not) comes from the first line the reader yields a row for:
    # a `""` line above headerless rows made the first data row the "header"
    from visrec.data.item_tables import load_item_table

    p = tmp_path / "t.csv"
    p.write_text(f"{blank}\n1,10,5\n2,20,4\n")
    got = load_interactions(p)
    assert list(got.formats.values()) == ["headerless table, sep ','"]
    assert got.frame[["user_id", "item_id"]].values.tolist() == [["1", "10"], ["2", "20"]]
    p.write_text(f"{blank}\nid,colour\na,red\n")
    assert load_item_table(p, id_col="id").frame["item_id"].tolist() == ["a"]


@pytest.mark.parametrize("text", ['""\n', '""\r\n\n"  "\n', '\n""'])
def test_a_table_of_only_empty_quoted_fields_is_one_error_line(tmp_path: Path, text: str) -> None:
    # the first line is not blank, but the CSV reader yields no row for `""`: the
    # header was taken with next() and a StopIteration came out of the loaders
    from visrec.data.item_tables import load_item_table

    p = tmp_path / "t.csv"
    p.write_text(text)
    want = f"{p}: no header line: every line is blank or holds only empty fields"
    with pytest.raises(VisrecError, match="no header line") as got:
        load_interactions(p)
    assert str(got.value) == want
    with pytest.raises(VisrecError) as got:
        load_item_table(p, id_col="id")
    assert str(got.value) == want
