"""What `visrec train` / `visrec recommend` promise and a mutation audit found unpinned:
paths recorded absolute, the folder's mode, the resume key, the seeded tie order, the
scores' digits, the vectors' width, ids that only Python strings can hold."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.commands.train import _fit_key
from visrec.embed.store import ItemVectors, write_vectors
from visrec.models.base import Recommender
from visrec.models.model_folder import MODEL_JSON, is_model_folder, pack_ids, unpack_ids

FAST = ["--param=epochs=5", "--param=factors=4", "--param=batch_size=16"]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(30) for i in rng.integers(0, 20, size=5)}
    folder = tmp_path / "shop"
    folder.mkdir()
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(
        folder / "train.csv", index=False
    )
    ids = np.array([f"i{k}" for k in range(20)] + ["new1", "new2"])
    write_vectors(
        folder / "v.parquet",
        ItemVectors(ids, rng.normal(size=(22, 6)).astype(np.float32), np.ones(22, bool)),
    )
    (folder / "cands.txt").write_text("new1\nnew2\ni3\n")
    return folder


def test_paths_are_recorded_absolute_so_recommend_finds_them_anywhere(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(shop)
    argv = ["train", "--model", "vbpr", "--interactions", "train.csv", "--vectors", "v.parquet"]
    assert main([*argv, "-o", "m", *FAST, "-q"]) == 0
    recorded = json.loads((shop / "m" / "train.json").read_text())
    assert recorded["vectors"] == str(shop / "v.parquet")
    assert recorded["interactions"] == str(shop / "train.csv")
    monkeypatch.chdir(tmp_path)  # elsewhere: the relative names would point nowhere
    capsys.readouterr()
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(shop / "m"), "--n", "2", "-o", str(out)]
    assert main([*argv, "--items", str(shop / "cands.txt"), "-q"]) == 0
    assert "does not exist" not in capsys.readouterr().err
    recs = pd.read_csv(out)
    assert np.isfinite(recs["score"]).all()  # the new items scored from their vectors


def test_a_model_folder_is_readable_by_others_as_a_file_would_be(
    shop: Path, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        argv = ["train", "--model", "popularity", "--interactions", str(shop / "train.csv")]
        assert main([*argv, "-o", str(tmp_path / "m"), "-q"]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755  # mkdtemp made it 0o700


def test_the_resume_key_changes_with_min_rating_and_the_vectors(shop: Path, tmp_path: Path) -> None:
    args = argparse.Namespace(
        model="bpr", interactions=str(shop / "train.csv"), vectors=None, min_rating=None
    )
    base = _fit_key(args, {"factors": 4})
    assert _fit_key(args, {"factors": 4}) == base
    assert _fit_key(argparse.Namespace(**{**vars(args), "min_rating": 4.0}), {"factors": 4}) != base
    with_v = argparse.Namespace(**{**vars(args), "vectors": str(shop / "v.parquet")})
    key_v = _fit_key(with_v, {"factors": 4})
    assert key_v != base
    other = tmp_path / "w.parquet"  # another vectors file: another fit
    other.write_bytes((shop / "v.parquet").read_bytes() + b"")
    assert (
        _fit_key(argparse.Namespace(**{**vars(with_v), "vectors": str(other)}), {"factors": 4})
        != key_v
    )


def test_the_order_of_unscorable_candidates_follows_the_models_seed(
    shop: Path, tmp_path: Path
) -> None:
    cands = tmp_path / "cands.txt"
    cands.write_text("".join(f"x{k}\n" for k in range(8)))  # unseen, no vectors: unscored
    orders = []
    for seed in ("7", "8"):
        model = tmp_path / f"m{seed}"
        argv = ["train", "--model", "bpr", "--interactions", str(shop / "train.csv")]
        assert main([*argv, "-o", str(model), "--seed", seed, *FAST, "-q"]) == 0
        out = tmp_path / f"r{seed}.csv"
        argv = ["recommend", str(model), "--n", "8", "-o", str(out), "--items", str(cands), "-q"]
        assert main(argv) == 0
        recs = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
        orders.append(list(recs[recs["user_id"] == "u0"]["item_id"]))
    assert sorted(orders[0]) == sorted(orders[1]) == [f"x{k}" for k in range(8)]
    assert orders[0] != orders[1]


def test_scores_are_written_with_the_digits_a_float32_needs(shop: Path, tmp_path: Path) -> None:
    model = tmp_path / "m"
    argv = ["train", "--model", "bpr", "--interactions", str(shop / "train.csv")]
    assert main([*argv, "-o", str(model), *FAST, "-q"]) == 0
    out = tmp_path / "r.csv"
    assert main(["recommend", str(model), "--n", "3", "-o", str(out), "-q"]) == 0
    recs = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    fitted = Recommender.load(model)
    users = fitted.user_map_.to_index(recs["user_id"])
    items = fitted.item_map_.to_index(recs["item_id"])
    want = np.array([np.ravel(fitted.score(u, [i]))[0] for u, i in zip(users, items, strict=True)])
    # read back, each score is its float32 (to the last bit the one-user product may
    # round otherwise than the batched one); six digits were off by several bits
    got = recs["score"].to_numpy().astype(np.float32)
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=2e-7, atol=0)


def test_a_wider_vectors_file_is_refused_naming_it(shop: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "m"
    argv = ["train", "--model", "vbpr", "--interactions", str(shop / "train.csv")]
    assert main([*argv, "--vectors", str(shop / "v.parquet"), "-o", str(model), *FAST, "-q"]) == 0
    wide = tmp_path / "wide.parquet"
    ids = np.array(["new1", "new2"])
    write_vectors(wide, ItemVectors(ids, np.ones((2, 9), np.float32), np.ones(2, bool)))
    capsys.readouterr()
    argv = ["recommend", str(model), "-o", str(tmp_path / "r.csv"), "--vectors", str(wide)]
    assert main([*argv, "--items", str(shop / "cands.txt")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {wide}: vectors have dimension 9")


def test_ids_round_trip_whatever_python_holds(tmp_path: Path) -> None:
    ids = ["a\ud800", "b", "é", ""]  # a lone surrogate: from a JSON "\ud800"
    arrays = pack_ids("item_ids", ids)
    assert unpack_ids(tmp_path / "arrays.npz", arrays, "item_ids").ids.tolist() == ids


def test_only_a_folder_visrec_saved_counts_as_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / MODEL_JSON).write_text(json.dumps({"model": "other-tool"}))
    assert not is_model_folder(tmp_path)  # train -o would have replaced it whole
    (tmp_path / MODEL_JSON).write_text(json.dumps({"model": "bpr", "visrec_version": "0.1"}))
    assert is_model_folder(tmp_path)
