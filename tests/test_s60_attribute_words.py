"""Session 60: ``train`` and ``recommend`` word their notes for the vectors they read:
"no vector" and "attributes" on vectors made by ``visrec features`` (an item without
one is missing from the table, not its picture), "no image vector" and "picture" on
image vectors, as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.embed.vector_source import item_vector_word, what_vectors_show


def test_words_follow_the_backbone() -> None:
    assert what_vectors_show("efficientnet-lite0") == "pictures"
    assert what_vectors_show(None) == "pictures"
    assert what_vectors_show("item-features") == "attributes"
    assert what_vectors_show("resnet18+item-features") == "pictures and attributes"
    assert item_vector_word("resnet18") == "image vector"
    assert item_vector_word("item-features") == "vector"
    assert item_vector_word("x+item-features") == "vector"


def _files(tmp_path: Path, backbone: str) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ids = np.array([f"i{k}" for k in range(28)], dtype=object)  # i28, i29: no vector
    vecs = rng.normal(size=(28, 6)).astype(np.float32)
    vpath = tmp_path / f"{backbone}.parquet"
    write_vectors(vpath, ItemVectors(ids, vecs, np.ones(28, bool), {"backbone": backbone}))
    train = tmp_path / "train.csv"
    pd.DataFrame(
        [(f"u{u}", f"i{(u * 7 + k) % 30}") for u in range(20) for k in range(4)],
        columns=["user_id", "item_id"],
    ).to_csv(train, index=False)
    return vpath, train


@pytest.mark.parametrize(
    ("backbone", "lacking"),
    [("item-features", "have no vector"), ("efficientnet-lite0", "have no image vector")],
)
def test_train_and_recommend_notes_name_the_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], backbone: str, lacking: str
) -> None:
    vpath, train = _files(tmp_path, backbone)
    model = tmp_path / "m"
    fast = ["--param=epochs=1", "--param=factors=4"]
    argv = ["train", "--model", "vbpr", "--interactions", str(train), "--vectors", str(vpath)]
    assert main([*argv, "-o", str(model), *fast]) == 0
    err = capsys.readouterr().err
    assert f"2 of 30 training items {lacking} " in err
    # new candidates: two with no vector at all, two with one and the same vector
    new = ItemVectors(
        np.array(["n1", "n2"], dtype=object),
        np.ones((2, 6), np.float32),
        np.ones(2, bool),
        {"backbone": backbone},
    )
    newv = tmp_path / "new.parquet"
    write_vectors(newv, new)
    cands = tmp_path / "cands.txt"
    cands.write_text("n1\nn2\nn3\nn4\n")
    recs = tmp_path / "recs.csv"
    assert main(["recommend", str(model), "--n", "3", "-o", str(recs), "--items", str(cands),
                 "--vectors", str(newv)]) == 0  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert f"2 of 4 candidates unseen in training {lacking} in" in err
    shows = "attributes" if backbone == "item-features" else "pictures"
    assert f"the {shows} cannot tell them apart" in err
