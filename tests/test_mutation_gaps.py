"""Behaviour a mutation audit of the data, vector-store and search modules found
unpinned: each test fails under a small plausible change to the code it names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.interactions import IdMap, Interactions, timestamp_seconds
from visrec.data.item_tables import load_item_table
from visrec.data.summary import summarize
from visrec.data.tables import load_interactions
from visrec.embed import store, vector_checks
from visrec.embed.store import ItemVectors, check_finite_vectors, write_vectors
from visrec.errors import VisrecError
from visrec.search import knn


# ------------------------------------------------------------------ line numbers
@pytest.mark.parametrize("blank", ["   ", "\t"])
def test_a_line_of_spaces_does_not_shift_the_line_numbers(tmp_path: Path, blank: str) -> None:
    # the fast parser skips such a line without a word: every later line was named
    # one too early ("line 3" for the bad row on line 4)
    path = tmp_path / "r.csv"
    path.write_text(f"user_id,item_id,rating\nu1,a,4\n{blank}\nu2,b,x\nu3,c,5\n")
    res = load_interactions(path)
    assert [(b.line, b.kind) for b in res.bad] == [(4, "non-numeric rating")]
    assert list(res.frame["user_id"]) == ["u1", "u3"]


def test_a_quoted_line_of_spaces_is_blank_not_a_short_row(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"  # quotes: the slow parser reads it
    path.write_text('user_id,item_id,rating\n"u1",a,4\n   \n"u2",b,5\n')
    res = load_interactions(path)
    assert res.bad == [] and len(res.frame) == 2


def test_a_headerless_table_of_five_fields_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text("1\t2\t5\t881250949\t7\n3\t4\t1\t881250950\t7\n")  # all numbers
    with pytest.raises(VisrecError, match="a headerless table needs 2-4 fields"):
        load_interactions(path)


# ------------------------------------------------------------- block-wise loops
def _brute_force(iv: ItemVectors, rows: list[int], n: int) -> list[list[str]]:
    unit = iv.vectors / np.linalg.norm(iv.vectors, axis=1, keepdims=True)
    out = []
    for r in rows:
        sims = unit @ unit[r]
        sims[r] = -np.inf
        order = sorted(range(len(sims)), key=lambda j: (-sims[j], j))[:n]
        out.append([str(iv.ids[j]) for j in order])
    return out


def test_the_index_and_its_queries_past_their_first_block(monkeypatch) -> None:
    # blocks of 3 rows and batches of 2 queries over 11 items: every loop runs past its
    # first block (at the real sizes, 4,096 and 256, a test catalogue never does)
    monkeypatch.setattr(knn, "_NORM_BLOCK", 3)
    monkeypatch.setattr(knn, "_BATCH", 2)
    rng = np.random.default_rng(3)
    ids = np.array([f"i{k}" for k in range(11)])
    iv = ItemVectors(ids, rng.normal(size=(11, 5)).astype(np.float32), np.ones(11, bool))
    index = knn.SimilarItems(iv)
    got = index.query(list(ids), n=4)
    assert len(got) == 11  # every query answered, not only the first batch's
    assert [g.ids for g in got] == _brute_force(iv, list(range(11)), 4)


def test_row_checks_past_their_first_block(monkeypatch) -> None:
    # the row loops live in vector_checks (store re-exports them): patched where read
    monkeypatch.setattr(vector_checks, "ROW_BLOCK", 3)
    vecs = np.ones((10, 2), dtype=np.float32)
    vecs[8, 1] = np.nan  # in the third block
    vecs[9, 0] = 1e20
    assert list(store.finite_rows(vecs)) == [True] * 8 + [False, True]
    assert list(store.usable_rows(vecs)) == [True] * 8 + [False, False]
    assert list(store.nonzero_rows(vecs)) == [True] * 10


def test_scores_of_identical_pictures_stay_within_one() -> None:
    # two items with one photo (ML-100K has three such pairs): float32 rounding made
    # their cosine 1.0000001 in a batch of queries
    rng = np.random.default_rng(3)
    base = (rng.normal(size=(6, 1280)) * rng.uniform(0.1, 100)).astype(np.float32)
    ids = np.array([f"i{k}" for k in range(12)])
    index = knn.SimilarItems(ItemVectors(ids, np.vstack([base, base]), np.ones(12, bool)))
    raw = (index.unit_[:6] @ index.unit_.T).astype(np.float64)
    if max(raw[k, k + 6] for k in range(6)) <= 1.0:  # what the clip is there for
        pytest.skip("this BLAS rounds these duplicates' cosine to at most 1")
    for nb in index.query(list(ids), n=11):
        assert nb.scores.max() <= 1.0 and nb.scores.min() >= -1.0


def test_huge_values_are_refused_as_nan_is(tmp_path: Path, capsys) -> None:
    ids = np.array(["a", "b", "c"])
    vecs = np.eye(3, dtype=np.float32)
    vecs[2] = 1e20  # finite, but its square overflows float32 in every dot product
    iv = ItemVectors(ids, vecs, np.ones(3, bool))
    with pytest.raises(VisrecError, match=r"huge \(beyond ±1e12\) values \('c'\)"):
        check_finite_vectors(iv, ["a", "b", "c"], "v.parquet")
    path = tmp_path / "v.parquet"
    write_vectors(path, iv)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,cat\na,x\nb,y\nc,y\n")
    argv = ["cluster", str(path), "--labels", str(labels), "--id-col", "id", "--label-col", "cat",
            "--k", "2", "-q"]  # fmt: skip
    assert main(argv) == 2
    assert "huge (beyond ±1e12) values ('c')" in capsys.readouterr().err


# ------------------------------------------------------------------ item tables
def test_item_table_ids_are_stripped_as_interaction_ids_are(tmp_path: Path) -> None:
    text = tmp_path / "items.csv"
    text.write_text("id,category\n 12,shoes\n13 ,bags\n")
    assert list(load_item_table(text, label_col="category").frame["item_id"]) == ["12", "13"]
    parquet = tmp_path / "items.parquet"
    pd.DataFrame({"id": [" 12", "13 "], "category": ["shoes", "bags"]}).to_parquet(parquet)
    assert list(load_item_table(parquet).frame["item_id"]) == ["12", "13"]


# ---------------------------------------------------------------- interactions
def test_timestamps_beyond_int64_are_refused_readably() -> None:
    frame = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"], "timestamp": [1e19, 5.0]})
    with pytest.raises(VisrecError) as exc:
        Interactions.from_frame(frame)
    assert "timestamp 1e+19 at position 0" in str(exc.value)
    assert "np." not in str(exc.value)


def test_fractions_of_a_second_are_dropped_toward_the_past() -> None:
    assert list(timestamp_seconds(pd.Series([1.5, -1.5, 2.0]))) == [1, -2, 2]


def test_an_index_one_past_the_map_is_refused() -> None:
    users, items = IdMap(["u"]), IdMap(["a", "b"])
    with pytest.raises(VisrecError, match=r"item_idx holds 2, outside the id map's 0..1"):
        Interactions(users, items, np.array([0]), np.array([2]))
    Interactions(users, items, np.array([0]), np.array([1]))  # the last one is fine


def test_a_float_id_is_looked_up_as_the_loaders_spell_it() -> None:
    assert list(IdMap(["7", "8"]).to_index([7.0, 8.5], missing="minus_one")) == [0, -1]


def test_subset_keeps_ratings_and_times() -> None:
    frame = pd.DataFrame(
        {"user_id": ["u", "u", "v"], "item_id": ["a", "b", "a"], "rating": [1.0, 2.0, 3.0],
         "timestamp": [10, 20, 30]}
    )  # fmt: skip
    sub = Interactions.from_frame(frame).subset(np.array([False, True, True]))
    assert sub.rating is not None and list(sub.rating) == [2.0, 3.0]
    assert sub.timestamp is not None and list(sub.timestamp) == [20, 30]


# --------------------------------------------------------------------- summary
def test_summary_counts_only_has_image_rows_as_huge(tmp_path: Path) -> None:
    vecs = np.ones((3, 2), dtype=np.float32)
    vecs[1] = 1e20
    vecs[2] = 1e20
    path = tmp_path / "v.parquet"
    write_vectors(path, ItemVectors(np.array(["a", "b", "c"]), vecs, np.array([True, True, False])))
    (section,) = summarize([path])
    assert section["huge"] == 1 and section["items_with_image"] == 1


def test_summary_counts_blank_categories_apart(tmp_path: Path) -> None:
    path = tmp_path / "styles.csv"
    path.write_text("id,masterCategory\n1,Apparel\n2,\n3,Apparel\n4, \n")
    (section,) = summarize([path])
    assert section["categories"] == {"Apparel": 2}
    assert section["items_without_category"] == 2


def test_summary_shows_twenty_rating_values_as_a_histogram(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("user_id,item_id,rating\n" + "".join(f"u{k},i{k},{k}\n" for k in range(20)))
    (section,) = summarize([path])
    assert len(section["ratings"]) == 20 and "rating_stats" not in section
    path.write_text("user_id,item_id,rating\n" + "".join(f"u{k},i{k},{k}\n" for k in range(21)))
    (section,) = summarize([path])
    assert "ratings" not in section and section["rating_stats"]["max"] == 20


def test_a_refusal_over_long_ids_stays_short() -> None:
    ids = np.array(["x" * 5_000, "y" * 5_000])
    vecs = np.full((2, 2), np.nan, dtype=np.float32)
    with pytest.raises(VisrecError) as exc:
        check_finite_vectors(ItemVectors(ids, vecs, np.ones(2, bool)), ids, "v.parquet")
    assert len(str(exc.value)) < 300
