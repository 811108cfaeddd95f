"""A vectors file of another dataset (no id in common with the interactions) is one
early error naming both files in every command that reads both, not figures from
zero vectors (rating-eval, knn-rating --include-missing) or a late, vague failure
(evaluate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    rows = [(f"u{u}", f"{i}", int(rng.integers(1, 6))) for u in range(30) for i in range(12)]
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("user_id,item_id,rating\n" + "".join(f"{u},{i},{r}\n" for u, i, r in rows))
    ids = np.asarray([f"1000{i}" for i in range(12)])  # another catalogue's ids
    vec = tmp_path / "other.parquet"
    write_vectors(vec, ItemVectors(ids, rng.random((12, 4), dtype=np.float32), np.ones(12, bool)))
    return ratings, vec


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--models", "popularity,vbpr", "--seeds", "1", "--quiet"],
        ["evaluate", "--protocol", "cold-items", "--seeds", "1", "--quiet"],
        ["rating-eval", "--seeds", "1"],
        ["train", "--model", "vbpr", "-o", "{tmp}/m"],
    ],
)
def test_every_command_refuses_vectors_of_another_dataset(
    argv: list[str],
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    ratings, vec = files
    full = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    full += ["--interactions", str(ratings), "--vectors", str(vec)]
    assert main(full) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {vec}: none of the 12 ") and err.count("\n") == 1, err
    assert f"item ids must be spelt the same in both files ({ratings} ('0', '1', '2'" in err
    assert f"{vec} ('10000', '10001', '10002'" in err
    assert not (tmp_path / "cache").exists()  # no resume record of a run that cannot work


@pytest.mark.parametrize("extra", [[], ["--include-missing"]])
def test_knn_rating_refuses_them_with_include_missing_too(
    extra: list[str], files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # --include-missing ran on all-zero vectors and printed a verdict
    ratings, vec = files
    assert main(["knn-rating", "--interactions", str(ratings), "--vectors", str(vec), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {vec}: none of the 12 item_id values is in it")


def test_knn_rating_names_the_file_without_ratings(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, vec = files
    bare = tmp_path / "bare.csv"
    bare.write_text("user_id,item_id\nu,10001\n")
    assert main(["knn-rating", "--interactions", str(bare), "--vectors", str(vec)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: {bare}: no rating column, which knn-rating needs; a rating column of another "
        "name is read with --rating-col NAME"
    )


def test_cluster_and_knn_rating_name_the_item_whose_vector_is_not_finite(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # they said "vectors contain NaN or infinite values", naming neither file nor item
    ratings, _ = files
    rng = np.random.default_rng(1)
    ids = np.asarray([str(i) for i in range(12)])
    vecs = rng.random((12, 4), dtype=np.float32)
    vecs[5, 2] = np.nan
    vec = tmp_path / "nan.parquet"
    write_vectors(vec, ItemVectors(ids, vecs, np.ones(12, bool)))
    labels = tmp_path / "labels.csv"
    labels.write_text("id,kind\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(12)))
    want = (
        f"error: {vec}: 1 item vector holds NaN, infinite or huge "
        f"(beyond ±1e12) values ('5'); re-embed"
    )
    for argv in (
        ["cluster", str(vec), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"],
        ["knn-rating", "--interactions", str(ratings), "--vectors", str(vec)],
    ):
        assert main(argv) == 2
        *notes, last = capsys.readouterr().err.splitlines()  # notes on the input first
        assert last.startswith(want) and not any(n.startswith("error:") for n in notes)
