"""Session 44's audit fixes: a replaced file keeps neither its old vector, training key,
recommend key nor thumbnail when only its size and modification time stay the same
(``cp -p``); a model that splits new-item scoring into terms loads back."""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tiny_embed import embed_tiny
from visrec.commands._recs_progress import model_key
from visrec.commands.train import _fit_key
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, read_vectors
from visrec.models.base import Recommender
from visrec.report.plots import thumbnail_jpeg


def _bmp(path: Path, seed: int) -> None:
    """A 32x32 BMP: every one has the same byte count, whatever its pixels."""
    arr = np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format="BMP")


def _same_size_same_time(src: Path, dst: Path) -> None:
    """``cp -p src dst``: other bytes, the same size and modification time as ``dst``."""
    before = os.stat(dst)
    shutil.copyfile(src, dst)
    os.utime(dst, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(dst)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_embed_resume_embeds_again_a_picture_replaced_by_cp_p(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, name in enumerate("abc"):
        _bmp(folder / f"{name}.bmp", i)
    _bmp(tmp_path / "other.bmp", 99)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out, chunk_size=1)  # one picture a chunk: reuse is per picture
    old = read_vectors(out)

    _same_size_same_time(tmp_path / "other.bmp", folder / "a.bmp")
    res = embed_tiny(folder, out, chunk_size=1)
    assert (res.n_reused, res.n_computed) == (2, 1)
    again = read_vectors(out)
    fresh = embed_tiny(folder, tmp_path / "fresh.parquet")
    assert fresh.n_reused == 0
    want = read_vectors(tmp_path / "fresh.parquet")
    row = list(again.ids).index("a")
    np.testing.assert_array_equal(again.vectors, want.vectors)
    assert not np.array_equal(again.vectors[row], old.vectors[row])

    # the same bytes under another inode, change time or mode: the vectors are kept
    for path in folder.iterdir():
        path.chmod(0o600)
        path.chmod(0o644)
    copy = tmp_path / "copied"
    shutil.copytree(folder, copy, copy_function=shutil.copy2)  # cp -a
    res = embed_tiny(folder, out, chunk_size=1)
    assert (res.n_reused, res.n_computed) == (3, 0)
    res = embed_tiny(copy, out, chunk_size=1)
    assert (res.n_reused, res.n_computed) == (3, 0)


@pytest.mark.parametrize("in_folder", [False, True], ids=["file", "dataset-folder"])
def test_train_key_sees_a_same_size_same_time_replacement(tmp_path: Path, in_folder: bool) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    data = folder / "u.data"  # named alone, or read from its dataset folder
    data.write_text("1\t10\t5\t100\n2\t20\t4\t200\n")
    other = tmp_path / "other.data"
    other.write_text("1\t20\t5\t100\n2\t10\t4\t200\n")
    named = folder if in_folder else data
    args = argparse.Namespace(model="bpr", interactions=str(named), vectors=None, min_rating=None)
    before = _fit_key(args, {"epochs": 3})
    assert _fit_key(args, {"epochs": 3}) == before  # nothing changed: the same key
    data.chmod(0o600)  # the same bytes and times: the same key
    assert _fit_key(args, {"epochs": 3}) == before
    _same_size_same_time(other, data)
    assert _fit_key(args, {"epochs": 3}) != before


def test_recommend_key_sees_arrays_rewritten_at_the_same_size_and_time(tmp_path: Path) -> None:
    from visrec.models.popularity import Popularity

    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"]})
    folder = tmp_path / "m"
    Popularity().fit(Interactions.from_frame(frame)).save(folder)
    before = model_key(str(folder))
    assert model_key(str(folder)) == before
    arrays = folder / "arrays.npz"
    arrays.chmod(0o600)  # the same bytes and times: the same model
    assert model_key(str(folder)) == before
    data = bytearray(arrays.read_bytes())
    data[len(data) // 2] ^= 0xFF  # small: every byte is in the digest
    copy = tmp_path / "arrays-copy.npz"
    copy.write_bytes(bytes(data))
    _same_size_same_time(copy, arrays)
    assert model_key(str(folder)) != before


def test_report_thumbnail_of_a_photo_replaced_by_cp_p_is_decoded_again(tmp_path: Path) -> None:
    photo, other = tmp_path / "p.bmp", tmp_path / "o.bmp"
    _bmp(photo, 1)
    _bmp(other, 2)
    first = thumbnail_jpeg(photo)
    # a kernel without fine-grained change times (before Linux 6.13) gives two writes
    # a millisecond apart one change time, a tick's: the cp -p comes a tick later
    time.sleep(0.02)
    _same_size_same_time(other, photo)
    second = thumbnail_jpeg(photo)
    assert first is not None and second is not None and first != second
    assert second == thumbnail_jpeg(other)


class _MeanLook(Recommender):
    """The README's extension point for new items: ``_new_terms`` + ``_score_terms``
    only, no ``_score_new`` of its own."""

    name = "mean-look-test"
    uses_vectors = True
    scores_new_items = True
    _array_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "profile_": ("users", "vector_dim"),
        "item_vec_": ("items", "vector_dim"),
    }
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)

    def __init__(self) -> None:
        pass

    def _fit(self, interactions: Any, vectors: Any, has_image: Any) -> None:
        self.item_vec_ = np.asarray(vectors, dtype=np.float32)
        self.profile_ = np.asarray(self.seen_ @ self.item_vec_, dtype=np.float32)

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        v = self.item_vec_ if item_idx is None else self.item_vec_[item_idx]
        return np.asarray(self.profile_[user_idx] @ v.T)

    def vector_dim(self) -> int:
        return int(self.item_vec_.shape[1])

    def _new_terms(self, vectors: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.asarray(vectors, dtype=np.float32),)

    def _score_terms(self, user_idx: np.ndarray, terms: tuple[np.ndarray, ...]) -> np.ndarray:
        return np.asarray(self.profile_[user_idx] @ terms[0].T)


def test_a_model_scoring_new_items_through_terms_only_loads_back(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from visrec.models import registry

    monkeypatch.setitem(registry.MODELS, _MeanLook.name, f"{__name__}:_MeanLook")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 20, 200).astype(str),
            "item_id": rng.integers(0, 30, 200).astype(str),
        }
    )
    ids = np.array([str(i) for i in range(30)], dtype=object)
    vectors = ItemVectors(ids, rng.normal(size=(30, 8)).astype(np.float32), np.ones(30, bool))
    model = _MeanLook().fit(Interactions.from_frame(frame), vectors)
    new = rng.normal(size=(3, 8)).astype(np.float32)
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    users = np.arange(len(model.user_map_))
    np.testing.assert_array_equal(
        loaded.score_new_items(users, new), model.score_new_items(users, new)
    )


def test_analysis_api_refuses_huge_vector_values_as_the_cli_does() -> None:
    import pytest

    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.analysis.rating_knn import knn_rating
    from visrec.errors import VisrecError

    x = np.random.default_rng(0).normal(size=(20, 4))
    x[3, 1] = 3e38  # finite in float32, yet it made a cluster of its own
    with pytest.raises(VisrecError, match=r"cluster: vectors row 3 holds .*huge"):
        cluster_vs_labels(x, ["a", "b"] * 10, k=2)
    with pytest.raises(VisrecError, match=r"rating KNN: vectors row 3 holds .*huge"):
        knn_rating(x, np.arange(20) % 5 + 1, k=3)
    x[3, 1] = 1e6  # large but plausible: accepted
    assert cluster_vs_labels(x, ["a", "b"] * 10, k=2) is not None


def _bpr(seed: int) -> Recommender:
    """A small BPR on 400 random pairs of 30 users and 40 items."""
    from visrec.models.bpr import BPR

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 30, 400).astype(str),
            "item_id": rng.integers(0, 40, 400).astype(str),
        }
    )
    return BPR(epochs=3, random_state=0).fit(Interactions.from_frame(frame))


def test_similar_items_in_blocks_equals_one_block(monkeypatch: Any) -> None:
    from visrec.models import base

    model = _bpr(1)
    items = np.arange(len(model.item_map_))
    whole = model.similar_items(items, n=5)
    monkeypatch.setattr(base, "RECOMMEND_BLOCK", 2 * len(items))  # two queries a block
    shapes: list[tuple[int, ...]] = []
    real_top_n = base.top_n

    def recorded(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        shapes.append(np.shape(scores))
        return real_top_n(scores, n)

    monkeypatch.setattr(base, "top_n", recorded)
    blocks = model.similar_items(items, n=5)
    assert shapes == [(2, len(items))] * (len(items) // 2)  # never all queries at once
    np.testing.assert_array_equal(blocks[0], whole[0])
    # the same products, but BLAS may sum another shape in another order: last digits
    np.testing.assert_allclose(blocks[1], whole[1], rtol=1e-12)
    ids, sims = model.similar_items([], n=5)
    assert ids.shape == (0, 5) and sims.shape == (0, 5)


def test_a_missing_time_is_named_at_its_place_in_the_table_whatever_the_seed() -> None:
    import pytest

    from visrec.errors import VisrecError
    from visrec.evaluation.protocols import make_split

    frame = pd.DataFrame(
        {
            "user_id": list("aaaaabbbbb"),
            "item_id": list("vwxyzvwxyz"),
            "timestamp": [1, 2, 3, 4, 5, 6, 7, np.nan, 9, 10],
        }
    )
    said = r"1 of 10 timestamp values is missing: position 7 \(user 'b', item 'x'\)"
    for protocol in ("warm", "cold-items"):
        for seed in range(4):  # in the part it fell in, it was named otherwise, or not at all
            with pytest.raises(VisrecError, match=said):
                make_split(frame, protocol, seed=seed, test_ratio=0.4)
    ratings = frame.assign(timestamp=range(10), rating=[5, 4, 3, np.nan, 1, 2, 3, 4, 5, 1])
    with pytest.raises(VisrecError, match="1 of 10 rating values is missing: position 3"):
        make_split(ratings, "warm", seed=1, test_ratio=0.4)
    complete = make_split(ratings.dropna(), "warm", seed=1, test_ratio=0.4)
    assert len(complete.train) + len(complete.test) + complete.n_dropped_items == 9


def test_a_list_of_ids_is_no_column_in_the_mixed_kinds_error() -> None:
    import pytest

    from visrec.errors import VisrecError
    from visrec.models.popularity import Popularity

    frame = pd.DataFrame({"user_id": ["1", "2"], "item_id": ["a", "b"]})
    model = Popularity().fit(Interactions.from_frame(frame))
    with pytest.raises(VisrecError) as err:
        model.user_map_.to_index([1, "1", 2.0])
    assert "column" not in str(err.value) and "give the ids one kind of value" in str(err.value)


def _train_vbpr(path: Path, vectors: Path, out: Path) -> list[str]:
    """``visrec train`` of a fast VBPR on ``path`` with ``vectors`` into ``out``."""
    return ["train", "--model", "vbpr", "--interactions", str(path), "--vectors",
            str(vectors), "-o", str(out), "--param=epochs=2", "--param=factors=4"]  # fmt: skip


def _rated(tmp_path: Path, rating: Any) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i}") for u in range(30) for i in rng.choice(20, 6, replace=False)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    frame["rating"] = rating(len(frame), rng)
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    ids = np.array([f"i{i}" for i in range(20)], dtype=object)
    vpath = tmp_path / "v.parquet"
    from visrec.embed.store import write_vectors

    vecs = rng.normal(size=(20, 8)).astype(np.float32)
    write_vectors(vpath, ItemVectors(ids, vecs, np.ones(20, bool)))
    return path, vpath


def test_one_rating_value_is_refused_as_a_score_fixed_by_construction(
    tmp_path: Path, capsys: Any
) -> None:
    from visrec.cli import main

    path, vpath = _rated(tmp_path, lambda n, rng: np.full(n, 4))
    base = ["--interactions", str(path), "--vectors", str(vpath)]
    assert main(["knn-rating", *base]) == 2
    assert "all 180 ratings are 4: accuracy and MAE are fixed by construction" in (
        capsys.readouterr().err
    )
    assert main(["rating-eval", *base, "--no-resume", "--seeds", "1", "-q"]) == 2
    assert "rating-eval: all 180 ratings are 4" in capsys.readouterr().err
    # two values are enough to ask the question
    path, vpath = _rated(tmp_path, lambda n, rng: rng.choice([4, 5], n))
    assert main(["knn-rating", "--interactions", str(path), "--vectors", str(vpath)]) == 0


def test_evaluate_with_nothing_to_rank_draws_no_verdict(tmp_path: Path, capsys: Any) -> None:
    from visrec.cli import main

    rows = [(f"u{u}", f"i{i}") for u in range(20) for i in range(5)]  # all rated all
    path = tmp_path / "same.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(path, index=False)
    argv = ["evaluate", "--interactions", str(path), "--models", "popularity,bpr",
            "--seeds", "2", "--no-resume", "-q", "--param", "bpr.epochs=2"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "No verdict: nothing to rank: every candidate of every test user" in text
    assert "compare AUC" not in text and "compare NDCG" not in text and "No difference" not in text


def test_demo_comparison_keeps_the_warm_table_when_the_cold_split_is_impossible() -> None:
    from visrec.demo.recommenders import _compare_recommenders

    rng = np.random.default_rng(0)
    rows = [(f"u{u}", f"i{i}") for u in range(30) for i in rng.choice(4, 2, replace=False)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    ids = np.array([f"i{i}" for i in range(4)], dtype=object)
    iv = ItemVectors(ids, rng.normal(size=(4, 8)).astype(np.float32), np.ones(4, bool))
    table, note = _compare_recommenders(frame, iv, 0)
    assert table is not None and set(table["protocol"]) == {"warm"}
    assert len(table) == 4  # popularity, bpr, vbpr, visual-cf
    assert "cold-items: skipped, the protocol failed (cold-items split: 4 eligible items" in note


def test_identical_vectors_are_said_by_knn_rating_similar_and_recommend(
    tmp_path: Path, capsys: Any
) -> None:
    from visrec.cli import main
    from visrec.embed.store import write_vectors

    path, _ = _rated(tmp_path, lambda n, rng: rng.integers(1, 6, n))
    ids = np.array([f"i{i}" for i in range(20)] + ["n1", "n2", "n3"], dtype=object)
    same = np.tile(np.arange(8, dtype=np.float32), (23, 1))
    vpath = tmp_path / "same.parquet"
    write_vectors(vpath, ItemVectors(ids, same, np.ones(23, bool)))
    said = "vectors are all the same: the pictures cannot tell these items apart, so"
    assert main(["knn-rating", "--interactions", str(path), "--vectors", str(vpath)]) == 0
    assert f"{said} KNN's neighbours are picked by row order" in capsys.readouterr().err
    assert main(["similar", str(vpath), "i0", "--n", "3"]) == 0
    assert f"{said} every similarity is 1" in capsys.readouterr().err

    rng = np.random.default_rng(4)
    varied = rng.normal(size=(23, 8)).astype(np.float32)
    varied[20:] = varied[20]  # three new items, one picture
    mixed = tmp_path / "mixed.parquet"
    write_vectors(mixed, ItemVectors(ids, varied, np.ones(23, bool)))
    model = tmp_path / "m"
    argv = _train_vbpr(path, mixed, model)
    assert main(argv) == 0
    (tmp_path / "c.txt").write_text("n1\nn2\nn3\ni0\n")
    capsys.readouterr()
    argv = ["recommend", str(model), "-o", str(tmp_path / "recs.csv"), "--items",
            str(tmp_path / "c.txt"), "--vectors", str(mixed)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "the 3 candidates unseen in training that have a vector all have the same one" in err
    (tmp_path / "c.txt").write_text("n1\ni0\n")  # one new item: nothing to tell apart
    assert main(argv) == 0
    assert "all have the same one" not in capsys.readouterr().err


def test_an_all_zero_vector_is_no_picture_for_knn_rating_and_new_items(
    tmp_path: Path, capsys: Any
) -> None:
    from visrec.cli import main
    from visrec.embed.store import write_vectors

    path, _ = _rated(tmp_path, lambda n, rng: rng.integers(1, 6, n))
    rng = np.random.default_rng(5)
    ids = np.array([f"i{i}" for i in range(20)] + ["n1", "n2", "n3"], dtype=object)
    vecs = rng.normal(size=(23, 8)).astype(np.float32)
    vecs[[3, 20]] = 0.0  # i3 and the new n1: another tool's "no picture" rows
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, ItemVectors(ids, vecs, np.ones(23, bool)))  # no flag says so
    frame = pd.read_csv(path)
    n_i3 = int((frame["item_id"] == "i3").sum())
    assert n_i3 > 0
    assert main(["knn-rating", "--interactions", str(path), "--vectors", str(vpath)]) == 0
    err = capsys.readouterr().err
    assert f"left out {n_i3:,} of {len(frame):,} rows whose item_id has no image" in err

    zero = tmp_path / "zero.parquet"
    write_vectors(zero, ItemVectors(ids, np.zeros_like(vecs), np.ones(23, bool)))
    assert main(["knn-rating", "--interactions", str(path), "--vectors", str(zero)]) == 2
    err = capsys.readouterr().err
    assert "has_image false or a vector of zeros: no picture" in err
    assert "are all the same" not in err  # no picture is not one picture
    argv = _train_vbpr(path, zero, tmp_path / "z")
    assert main(argv) == 2  # nothing to learn the picture terms from: said, not fitted
    assert "none of the 20 training items has an image vector" in capsys.readouterr().err

    model = tmp_path / "m"
    argv = _train_vbpr(path, vpath, model)
    assert main(argv) == 0
    (tmp_path / "c.txt").write_text("n1\nn2\nn3\n")
    capsys.readouterr()
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(model), "-o", str(out), "--items", str(tmp_path / "c.txt"),
            "--vectors", str(vpath)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "1 of 3 candidates unseen in training has no image vector" in err and "'n1'" in err
    assert "all have the same one" not in err  # n2 and n3 differ
    recs = pd.read_csv(out)
    assert (recs.loc[recs["item_id"] == "n1", "rank"] == 3).all()
    assert np.isneginf(recs.loc[recs["item_id"] == "n1", "score"]).all()
    assert np.isfinite(recs.loc[recs["item_id"] != "n1", "score"]).all()


def test_recommend_warns_when_the_file_holds_only_its_header(tmp_path: Path, capsys: Any) -> None:
    from visrec.cli import main

    rows = [(f"u{u}", f"i{i}") for u in range(5) for i in range(4)]  # all rated all
    path = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(path, index=False)
    model, out = tmp_path / "m", tmp_path / "recs.csv"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(path), "-o", str(model)]) == 0
    )
    capsys.readouterr()
    assert main(["recommend", str(model), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {out} holds no recommendation, only its header" in err
    assert out.read_text().strip() == "user_id,item_id,rank,score"
    pd.DataFrame(rows[1:], columns=["user_id", "item_id"]).to_csv(path, index=False)
    assert (
        main(["train", "--model", "popularity", "--interactions", str(path), "-o", str(model)]) == 0
    )
    assert main(["recommend", str(model), "-o", str(out)]) == 0
    assert "holds no recommendation" not in capsys.readouterr().err


def test_knn_predict_refuses_unusable_vectors_and_time_split_names_a_missing_rating() -> None:
    import pytest

    from visrec.analysis.rating_knn import knn_predict
    from visrec.errors import VisrecError
    from visrec.evaluation.protocols import make_split

    x = np.random.default_rng(0).normal(size=(10, 3))
    y = np.arange(10) % 3
    for bad in (np.nan, 3e38):
        broken = x.copy()
        broken[4, 0] = bad
        with pytest.raises(VisrecError, match=r"knn_predict: x_train row 4 holds NaN, inf"):
            knn_predict(broken, y, x[:2])
        with pytest.raises(VisrecError, match=r"knn_predict: x_test row 4 holds NaN, inf"):
            knn_predict(x, y, broken)
    assert knn_predict(x, y, x[:2]).shape == (2,)

    frame = pd.DataFrame(
        {
            "user_id": list("aaabbb"),
            "item_id": list("xyzxyz"),
            "timestamp": [1, 2, 3, 4, 5, 6],
            "rating": [5, 4, 3, 2, np.nan, 1],  # b's y: a training row of the time split
        }
    )
    with pytest.raises(VisrecError, match="1 of 6 rating values is missing: position 4"):
        make_split(frame, "time")


def test_an_all_zero_row_has_no_image_whatever_its_flag() -> None:
    vecs = np.ones((4, 3), dtype=np.float32)
    vecs[1] = 0.0
    iv = ItemVectors(np.array(["a", "b", "c", "d"], dtype=object), vecs, np.ones(4, bool))
    assert iv.has_image.tolist() == [True, False, True, True]
    assert iv.align(["b", "a"])[1].tolist() == [False, True]
    ids_only = ItemVectors(np.array(["a"], dtype=object), np.zeros((1, 0)), np.ones(1, bool))
    assert ids_only.has_image.tolist() == [True]  # no vector at all is not a zero vector
    mixed = ItemVectors(iv.ids, vecs, np.array([True, True, False, True]))
    assert mixed.has_image.tolist() == [True, False, False, True]  # flags false elsewhere too


def test_the_api_says_when_every_listed_item_has_no_picture() -> None:
    import pytest

    from visrec.embed.store import check_some_vector
    from visrec.errors import VisrecError

    iv = ItemVectors(np.array(["a", "b"], dtype=object), np.zeros((2, 3)), np.ones(2, bool))
    with pytest.raises(VisrecError) as caught:
        check_some_vector(iv, ["a", "b"], "model 'vbpr'", "training items")
    said = str(caught.value)
    assert "the vectors list each of them with has_image false or a vector of zeros" in said
    assert "look like" not in said  # no spelling complaint: the ids match


def test_embed_names_an_image_whose_vector_comes_out_all_zeros(tmp_path: Path) -> None:
    from visrec.embed.compute import ZERO_VECTOR
    from visrec.embed.extract import embed_images

    class ZeroForDark:
        """An engine whose vector of a dark picture is all zeros (a ReLU net can)."""

        name = "zero-for-dark"
        batch_size = 4

        def __call__(self, batch: np.ndarray) -> np.ndarray:
            bright = batch.reshape(len(batch), -1).mean(axis=1) > -1.0
            return np.where(bright[:, None], 1.0, 0.0).astype(np.float32) * np.ones((1, 8))

    from test_embed import TinyBackbone

    items = []
    for i, colour in enumerate([(0, 0, 0), (250, 250, 250), (255, 255, 255)]):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (30, 30), colour).save(p)
        items.append((f"item{i}", str(p)))
    for out in (None, tmp_path / "v.parquet"):  # in memory, and through the chunk files
        res = embed_images(items, out, backbone=TinyBackbone(), engine=ZeroForDark(),
                           progress=False)  # fmt: skip
        assert [(i, r) for i, _, r in res.failures] == [("item0", ZERO_VECTOR)]
        assert res.vectors.has_image.tolist() == [False, True, True]
        if out is not None:  # the file's own flag is false too, not only as read back
            import pyarrow.parquet as pq

            assert pq.read_table(out, columns=["has_image"]).column(0).to_pylist() == [
                False,
                True,
                True,
            ]


def test_a_missing_time_on_a_repeated_pair_is_counted_in_the_whole_table() -> None:
    import pytest

    from visrec.errors import VisrecError
    from visrec.evaluation.protocols import make_split

    frame = pd.DataFrame(
        {
            "user_id": list("aaaaabbbbbb"),
            "item_id": list("vwxyzvwxyzz"),  # b rated z twice: the second has no time
            "timestamp": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan],
        }
    )
    for protocol in ("warm", "cold-items"):  # not dropped as a duplicate, not recounted
        with pytest.raises(VisrecError, match="1 of 11 timestamp values is missing: position 10"):
            make_split(frame, protocol, seed=0, test_ratio=0.4)


def test_similar_items_in_blocks_keeps_unscorable_items_out(monkeypatch: Any) -> None:
    from visrec.models import base

    model = _bpr(2)
    n = len(model.item_map_)
    scorable = np.ones(n, dtype=bool)
    scorable[[1, 5, 6, 30]] = False
    monkeypatch.setattr(model, "_scorable_items", lambda: scorable)
    whole = model.similar_items(np.arange(n), n=5)
    monkeypatch.setattr(base, "RECOMMEND_BLOCK", 3 * n)  # three queries a block
    ids, _ = model.similar_items(np.arange(n), n=5)
    np.testing.assert_array_equal(ids, whole[0])
    assert (ids[~scorable] == -1).all()  # an unscorable query: a row of padding
    assert not np.isin(ids, np.flatnonzero(~scorable)).any()


def test_demo_comparison_when_both_protocols_fail_or_nothing_is_left_to_rank() -> None:
    from visrec.demo.recommenders import _compare_recommenders

    rng = np.random.default_rng(0)
    ids = np.array([f"i{i}" for i in range(5)], dtype=object)
    iv = ItemVectors(ids, rng.normal(size=(5, 8)).astype(np.float32), np.ones(5, bool))
    lonely = pd.DataFrame({"user_id": ["u0", "u1", "u2"], "item_id": ["i0", "i1", "i2"]})
    table, note = _compare_recommenders(lonely, iv, 0)
    assert table is None and note.startswith("skipped: warm protocol failed (")
    assert "cold-items protocol failed (" in note and note.count("skipped") == 1

    everyone = pd.DataFrame([(f"u{u}", f"i{i}") for u in range(20) for i in range(5)],
                            columns=["user_id", "item_id"])  # fmt: skip
    table, note = _compare_recommenders(everyone, iv, 0)
    assert table is not None and table["AUC"].isna().all()
    assert "warm: nothing to rank: every candidate of every test user" in note
    assert "compare AUC" not in note and "AUC n/a: no test user" not in note


def test_demo_rating_knn_skips_one_rating_value(tmp_path: Path) -> None:
    from visrec.demo.datasets import DemoDataset
    from visrec.demo.pipeline import _rating_knn

    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{i}", 4.0) for u in range(30) for i in rng.choice(6, 3, replace=False)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    ids = np.array([f"i{k}" for k in range(6)], dtype=object)
    iv = ItemVectors(ids, rng.normal(size=(6, 4)).astype(np.float32), np.ones(6, bool))
    ds = DemoDataset(
        name="t", layout="test", root=tmp_path, images={}, labels={}, label_name="x",
        interactions=frame,
    )  # fmt: skip
    knn, note = _rating_knn(ds, frame, iv, 0, knn_k=3, test_size=0.2, say=lambda _: None)
    assert knn is None and note is not None
    assert "every rating is 4: rating KNN skipped" in note


def test_one_model_without_an_auc_still_gets_a_verdict() -> None:
    from visrec.report.evaluation import verdict

    def result(vbpr_auc: float | None) -> dict[str, Any]:
        runs = [(s, "bpr", 0.4, 0.9) for s in range(3)]
        runs += [(s, "vbpr", 0.45, vbpr_auc if s else None) for s in range(3)]
        return {
            "protocol": "warm", "k": 20, "seeds": [0, 1, 2], "splits": {},
            "runs": [{"seed": s, "model": m, "recall": r, "ndcg": r, "auc": a, "tuned": None}
                     for s, m, r, a in runs],
        }  # fmt: skip

    lines = verdict(result(0.91))
    assert not any("nothing to rank" in line for line in lines)
    assert any("vbpr" in line for line in lines)


def test_rating_eval_says_identical_vectors_on_stderr_and_in_its_json(
    tmp_path: Path, capsys: Any
) -> None:
    import json

    from visrec.cli import main
    from visrec.embed.store import write_vectors

    path, _ = _rated(tmp_path, lambda n, rng: rng.integers(1, 6, n))
    ids = np.array([f"i{i}" for i in range(20)], dtype=object)
    same = tmp_path / "same.parquet"
    write_vectors(same, ItemVectors(ids, np.ones((20, 8), np.float32), np.ones(20, bool)))
    out = tmp_path / "r.json"
    argv = ["rating-eval", "--interactions", str(path), "--vectors", str(same), "--seeds", "1",
            "--no-resume", "-q", "--json", str(out), "--n-epochs", "2"]  # fmt: skip
    assert main(argv) == 0
    said = "the 20 rated items' vectors are all the same: the pictures cannot tell these"
    err = capsys.readouterr().err
    assert err.count(said) == 1
    assert any(said in n for n in json.loads(out.read_text())["notes"])
    varied = tmp_path / "varied.parquet"
    vecs = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    write_vectors(varied, ItemVectors(ids, vecs, np.ones(20, bool)))
    assert main([*argv[:4], str(varied), *argv[5:]]) == 0
    assert "are all the same" not in capsys.readouterr().err


def test_a_picture_away_for_a_moment_is_embedded_once_it_is_back(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import visrec.embed.extract as ex

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, name in enumerate("abc"):
        _bmp(folder / f"{name}.bmp", i)
    away = folder / "b.bmp"
    real = ex.fingerprint

    def moved_after_keying(key: str, chunk: Any) -> str:
        fp = real(key, chunk)
        if any(p == str(away) for _, p in chunk) and away.exists():
            away.rename(tmp_path / "b.away")  # moved off after its key was taken
        return fp

    monkeypatch.setattr(ex, "fingerprint", moved_after_keying)
    out = tmp_path / "v.parquet"
    first = embed_tiny(folder, out, chunk_size=1)
    said = [(i, r) for i, _, r in first.failures]
    assert said == [("b", "read error, retried next run: file not found")]
    monkeypatch.setattr(ex, "fingerprint", real)
    (tmp_path / "b.away").rename(away)  # back, unchanged
    again = embed_tiny(folder, out, chunk_size=1)
    assert again.failures == [] and (again.n_reused, again.n_computed) == (2, 1)
    assert read_vectors(out).has_image.all()


def test_content_stamp_reads_the_end_of_a_large_file(tmp_path: Path) -> None:
    from visrec._atomic import STAMP_BYTES, content_stamp

    big, other = tmp_path / "big.bin", tmp_path / "other.bin"
    data = bytearray(np.random.default_rng(0).integers(0, 255, 5 * STAMP_BYTES, np.uint8))
    big.write_bytes(bytes(data))
    data[-1] ^= 0xFF  # only the last byte differs
    other.write_bytes(bytes(data))
    before = content_stamp(big)
    _same_size_same_time(other, big)
    assert content_stamp(big) != before


def test_ids_spelt_otherwise_beside_one_zero_row_are_still_named(
    tmp_path: Path, capsys: Any
) -> None:
    import pytest

    from visrec.cli import main
    from visrec.embed.store import write_vectors
    from visrec.errors import VisrecError
    from visrec.models.registry import make_model

    rng = np.random.default_rng(6)
    rows = [(u, i, int(rng.integers(1, 6))) for u in range(30) for i in rng.choice(20, 6) + 1]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(path, index=False)
    ids = np.array([f"{i:05d}" for i in range(1, 21)] + ["1"], dtype=object)
    vecs = rng.normal(size=(21, 4)).astype(np.float32)
    vecs[-1] = 0.0  # '1' is there, without a picture; the rest are spelt '00002'...
    vpath = tmp_path / "padded.parquet"
    write_vectors(vpath, ItemVectors(ids, vecs, np.ones(21, bool)))
    assert main(["knn-rating", "--interactions", str(path), "--vectors", str(vpath)]) == 2
    err = capsys.readouterr().err
    assert "1 is in it without a picture (has_image false or a vector of zeros) and" in err
    assert "spelt otherwise ('9' as '00009'" in err
    frame = pd.read_csv(path, dtype=str)
    with pytest.raises(VisrecError) as caught:
        make_model("vbpr").fit(Interactions.from_frame(frame), read_vectors(vpath))
    said = str(caught.value)
    assert "list 1 of them without a picture" in said and "as '000" in said


def test_chunks_and_outputs_of_an_older_image_key_are_said_to_be_older(tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    from visrec.embed.chunk_files import IMAGE_KEY
    from visrec.embed.extract import parts_dir
    from visrec.embed.store import META_KEY

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, name in enumerate("abcd"):
        _bmp(folder / f"{name}.bmp", i)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out, chunk_size=1)

    def older(path: Path, dest: Path) -> None:
        """``path`` as the visrec before the key change wrote it: no image_key."""
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[META_KEY])
        assert meta.pop("image_key") == IMAGE_KEY
        table = table.replace_schema_metadata({META_KEY: json.dumps(meta)})
        pq.write_table(table, dest, row_group_size=1)  # a row group per chunk, as written

    older(out, out)
    res = embed_tiny(folder, out, chunk_size=1)
    assert any("made by an older visrec, which keyed the images another way" in n
               for n in res.notes), res.notes  # fmt: skip

    # an interrupted run's chunk file of the older key, under a fingerprint not wanted now
    from visrec.embed.chunk_files import write_chunk

    key = json.loads(pq.read_schema(out).metadata[META_KEY])["key"]
    out.unlink()
    parts = parts_dir(out)
    parts.mkdir()

    made = write_chunk(parts, key, "0" * 24, 0, "onnx", ["a"], np.ones((1, 8), np.float32),
                       np.ones(1, bool), [None])  # fmt: skip
    older(made, made)
    res = embed_tiny(folder, out, chunk_size=1)
    assert any("1 chunk made by an older visrec" in n for n in res.notes), res.notes


def test_a_pipe_or_device_named_as_an_image_is_said_to_be_one(tmp_path: Path) -> None:
    import pytest

    from visrec.images.decode import BadImageError, load_image

    fifo = tmp_path / "p.jpg"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(BadImageError, match=r"not a regular file \(a pipe or device\)"):
            load_image(path)
    with pytest.raises(BadImageError, match="a folder, not a file"):
        load_image(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(BadImageError, match="empty file"):
        load_image(tmp_path / "empty.jpg")


def test_content_stamp_of_a_pipe_does_not_wait_and_small_or_middle_edits_are_seen(
    tmp_path: Path,
) -> None:
    import threading

    from visrec._atomic import STAMP_BYTES, content_stamp

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    got: list[str | None] = []
    reader = threading.Thread(target=lambda: got.append(content_stamp(fifo)), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive() and got and got[0] is not None  # size and time alone

    # between one and two ends' worth: the whole file is digested, its tail too
    mid = tmp_path / "mid.bin"
    data = bytearray(np.random.default_rng(1).integers(0, 255, int(2.5 * STAMP_BYTES), np.uint8))
    mid.write_bytes(bytes(data))
    before = content_stamp(mid)
    data[-1] ^= 0xFF
    other = tmp_path / "other.bin"
    other.write_bytes(bytes(data))
    _same_size_same_time(other, mid)
    assert content_stamp(mid) != before
    # a large file edited in its middle in place: seen by its modification time
    big = tmp_path / "big.bin"
    data = bytearray(np.random.default_rng(2).integers(0, 255, 6 * STAMP_BYTES, np.uint8))
    big.write_bytes(bytes(data))
    before = content_stamp(big)
    with open(big, "r+b") as fh:
        fh.seek(3 * STAMP_BYTES)
        fh.write(b"\x00")
    os.utime(big, ns=(os.stat(big).st_atime_ns, os.stat(big).st_mtime_ns + 1_000_000))
    assert content_stamp(big) != before


def test_a_picture_missing_from_the_start_stays_not_found_and_others_keep_theirs(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import visrec.embed.extract as ex
    from test_embed import TinyBackbone
    from visrec.embed.extract import embed_images

    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in "ac":
        _bmp(folder / f"{name}.bmp", ord(name))
    (folder / "bad.bmp").write_bytes(b"%PDF-1.4 not a picture")
    items = [("a", str(folder / "a.bmp")), ("gone", str(folder / "gone.bmp")),
             ("bad", str(folder / "bad.bmp"))]  # fmt: skip
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": False}
    res = embed_images(items, out, chunk_size=8, **kw)
    reasons = {i: r for i, _, r in res.failures}
    assert reasons["gone"] == "file not found"  # for good: reused until it appears
    assert not reasons["bad"].startswith("read error")

    # c goes away after the key of its chunk is taken: only it is retried, not 'bad'
    real = ex.fingerprint
    away = folder / "c.bmp"

    def moved(key: str, chunk: Any) -> str:
        fp = real(key, chunk)
        if away.exists() and any(p == str(away) for _, p in chunk):
            away.rename(tmp_path / "c.away")
        return fp

    monkeypatch.setattr(ex, "fingerprint", moved)
    items2 = [*items, ("c", str(away))]
    res = embed_images(items2, tmp_path / "w.parquet", chunk_size=8, **kw)
    reasons = {i: r for i, _, r in res.failures}
    assert reasons["c"] == "read error, retried next run: file not found"
    assert reasons["gone"] == "read error, retried next run: file not found"  # same chunk
    assert not reasons["bad"].startswith("read error")


def test_data_summary_counts_rows_a_file_calls_images_that_are_zeros(
    tmp_path: Path, capsys: Any
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from visrec.cli import main

    table = pa.table(
        {
            "item_id": ["a", "b", "c", "d"],
            "vector": pa.array([[1, 2], [0, 0], [0, 0], [3, 4]], type=pa.list_(pa.float32(), 2)),
            "has_image": [True, True, False, True],
        }
    )
    path = tmp_path / "v.parquet"
    pq.write_table(table, path)
    assert main(["data", "summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "items with an image                      2  (50.0%)" in out
    assert "has_image rows with all zeros (counted as no image): 1" in out
