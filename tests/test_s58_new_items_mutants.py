"""Gaps a mutation audit of ``visrec.commands._new_items`` found (session 58): how
``visrec recommend`` treats candidates unseen in training, pinned on small generated files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, read_vectors, write_vectors

DIM = 4
FAST = ["--param=epochs=3", "--param=factors=4", "--param=batch_size=16"]


@pytest.fixture()
def shop(tmp_path: Path) -> dict[str, Path]:
    """Eight users x items i0..i5; vectors (no backbone said) for i0..i5 and the unseen
    n0, n1, which share one vector, and n2, another; 'ghost' has none anywhere."""
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{(u + k) % 6}") for u in range(8) for k in range(3)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    ids = [f"i{i}" for i in range(6)] + ["n0", "n1", "n2"]
    vec = np.abs(rng.normal(size=(len(ids), DIM))).astype(np.float32)
    vec[7] = vec[6]  # n1 has n0's vector
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(np.asarray(ids), vec, np.ones(len(ids), bool)))
    return {"train": train, "vectors": vectors, "dir": tmp_path}


def _train(shop: dict[str, Path], model: str = "vbpr") -> Path:
    out = shop["dir"] / f"m_{model}"
    argv = ["train", "--model", model, "--interactions", str(shop["train"]), "-o", str(out)]
    if model != "popularity":
        argv += ["--vectors", str(shop["vectors"]), *FAST]
    assert main(argv) == 0
    return out


def _recommend(
    model: Path, cands: list[str], *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    items = model.parent / "cands.txt"
    items.write_text("".join(f"{c}\n" for c in cands))
    capsys.readouterr()
    rc = main(["recommend", str(model), "-o", str(model.parent / "r.csv"), "--items",
               str(items), *extra])  # fmt: skip
    got = capsys.readouterr()
    return rc, got.out, got.err


def test_a_model_trained_on_vectors_that_name_no_backbone_takes_any_backbone(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # nothing to check the file against: not refused as "trained on None vectors"
    model = _train(shop)
    iv = read_vectors(shop["vectors"])
    named = shop["dir"] / "named.parquet"
    write_vectors(named, ItemVectors(iv.ids, iv.vectors, iv.has_image, {"backbone": "x-net"}))
    rc, _, err = _recommend(model, ["i0", "n2"], "--vectors", str(named), capsys=capsys)
    assert rc == 0, err
    assert "error" not in err and "backbone" not in err
    recs = pd.read_csv(shop["dir"] / "r.csv", dtype=str)
    assert np.isfinite(recs[recs.item_id == "n2"].score.astype(float)).all()


def test_a_vectors_file_of_no_rows_and_no_fixed_width_is_no_width_mismatch(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # made outside visrec embed: no metadata, a vector column of no fixed width, no row;
    # its width is unknown, which is nothing to refuse (the file holds no items)
    model = _train(shop)
    empty = shop["dir"] / "empty.parquet"
    table = pa.table(
        {
            "item_id": pa.array([], type=pa.string()),
            "vector": pa.array([], type=pa.list_(pa.float32())),
        }
    )
    pq.write_table(table, empty)
    rc, _, err = _recommend(model, ["i0", "n2"], "--vectors", str(empty), capsys=capsys)
    assert rc == 0, err
    assert f"warning: {empty} holds no items, so the 1 candidate unseen in training" in err
    assert "dimension" not in err


def test_the_closing_line_counts_zero_users_in_the_plural(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # every user trained on the one candidate: nobody gets a row
    rows = [(f"u{u}", "i0") for u in range(3)] + [("u0", "i1")]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(shop["train"], index=False)
    model = _train(shop, "popularity")
    rc, out, _ = _recommend(model, ["i0"], capsys=capsys)
    assert rc == 0
    assert "recommended for 0 users (3 users with no candidate left" in out
    assert "from 1 candidate (0 unseen in training)" in out


def test_the_note_on_one_shared_vector_names_only_the_candidates_that_have_it(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = _train(shop)
    rc, _, err = _recommend(model, ["n0", "ghost", "n1", "i2"], capsys=capsys)
    assert rc == 0
    items = shop["dir"] / "cands.txt"
    (note,) = [line for line in err.splitlines() if "all have the same one" in line]
    assert note.startswith("note: the 2 candidates unseen in training that have a vector")
    assert note.endswith(f"({items}: 'n0', 'n1')"), note
    # 'ghost' is named once, in the note on candidates with no vector
    assert err.count("'ghost'") == 1


def test_the_respelling_hint_on_candidates_without_a_vector_skips_ids_with_no_picture(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # 'q8' has a picture and 'p7' none: only 'Q8' would get a vector if spelt as the file
    # spells it, so only it is worth a hint
    model = _train(shop)
    iv = read_vectors(shop["vectors"])
    ids = [*iv.ids[:6], "p7", "q8"]
    vecs = np.vstack([iv.vectors[:6], np.zeros((1, DIM)), iv.vectors[8:9]]).astype(np.float32)
    other = shop["dir"] / "other.parquet"
    write_vectors(other, ItemVectors(np.asarray(ids), vecs, np.asarray([True] * 6 + [False, True])))
    rc, _, err = _recommend(model, ["P7", "Q8", "i1"], "--vectors", str(other), capsys=capsys)
    assert rc == 0
    (note,) = [line for line in err.splitlines() if "no image vector in" in line]
    assert note.startswith(
        f"note: 2 of 2 candidates unseen in training have no image vector in {other}"
    )
    assert note.endswith(
        "; 1 of them is in it spelt otherwise ('Q8' as 'q8'): ids are compared as written"
    ), note


def test_the_far_vector_note_names_the_far_candidate_behind_one_without_a_vector(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = _train(shop)
    iv = read_vectors(shop["vectors"])
    vecs = iv.vectors.copy()
    vecs[8] *= 1e4  # n2: another scale altogether
    far = shop["dir"] / "far.parquet"
    write_vectors(far, ItemVectors(iv.ids, vecs, iv.has_image))
    rc, _, err = _recommend(model, ["ghost", "n2", "i3"], "--vectors", str(far), capsys=capsys)
    assert rc == 0
    items = shop["dir"] / "cands.txt"
    (note,) = [line for line in err.splitlines() if "far from the training items'" in line]
    assert note.startswith("note: 1 of 2 candidates unseen in training has a vector far")
    assert note.endswith(f"follow the vector's size more than the picture ({items}: 'n2')"), note


def test_one_pasted_id_among_respelt_candidates_gets_the_pasting_hint(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = _train(shop, "popularity")
    rc, _, err = _recommend(model, ["I2", "'i1'", "i3"], capsys=capsys)
    assert rc == 0
    items = shop["dir"] / "cands.txt"
    (note,) = [line for line in err.splitlines() if "may be training items" in line]
    assert note.startswith(f"note: {items}: 2 candidates unseen in training may be training")
    assert note.endswith(
        "they are new items here; notes and listings show an id as Python writes it (in "
        "quotes, a tab or line break in it escaped): pass the id itself"
    ), note
