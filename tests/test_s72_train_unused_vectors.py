"""``visrec train --vectors V`` with a model that reads no pictures (popularity, bpr)
reads V's metadata and ids only, not its vectors: a 200 MB file cost 1-2 s for the
note that the model does not use it. A file that is no vectors file is still refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import visrec.embed.store as store
from visrec import ItemVectors, write_vectors
from visrec.cli import main


def _data(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    rows = {(f"u{rng.integers(20)}", f"i{rng.integers(30)}") for _ in range(300)}
    inter = tmp_path / "train.csv"
    inter.write_text("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i in sorted(rows)))
    ids = [f"i{k}" for k in range(30)]
    vecs = tmp_path / "v.parquet"
    write_vectors(
        vecs,
        ItemVectors(ids, rng.standard_normal((30, 8)).astype("float32"), np.ones(30, bool)),
    )
    return inter, vecs


@pytest.mark.parametrize(("model", "reads_vectors"), [("popularity", False), ("vbpr", True)])
def test_only_a_model_that_uses_them_reads_the_vectors(
    model: str,
    reads_vectors: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inter, vecs = _data(tmp_path)
    real = store.read_vectors
    asked: list[Any] = []

    def spy(path: Any, **kw: Any) -> ItemVectors:
        asked.append(kw.get("only"))
        return real(path, **kw)

    monkeypatch.setattr(store, "read_vectors", spy)
    argv = ["train", "--model", model, "--interactions", str(inter), "--vectors", str(vecs)]
    argv += ["-o", str(tmp_path / "m"), "--quiet"]
    if model == "vbpr":
        argv += ["--param", "epochs=1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert asked and all((only is None) == reads_vectors for only in asked)
    assert ("does not use --vectors" in err) != reads_vectors


def test_a_file_that_is_no_vectors_file_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = _data(tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_text("item_id,vector\ni1,0.5\n")
    argv = ["train", "--model", "popularity", "--interactions", str(inter)]
    assert main([*argv, "--vectors", str(bad), "-o", str(tmp_path / "m")]) == 2
    assert "bad.parquet: not a Parquet file" in capsys.readouterr().err
