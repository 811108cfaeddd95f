"""Files of other tools read by visrec, and visrec's files read by other tools
(session 69's interop review)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.cli import main
from visrec.embed.store import read_vector_ids, read_vectors
from visrec.errors import VisrecError


def test_vectors_spread_over_number_columns_are_refused_in_one_short_line(
    tmp_path: Path,
) -> None:
    """pandas writes a DataFrame of a (n, 512) array as 512 columns f0..f511: the error
    says so and how to make the one list column, not a 3,000-character column list."""
    path = tmp_path / "wide.parquet"
    values = np.random.default_rng(0).normal(size=(4, 512))
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(512)])
    frame.insert(0, "item_id", ["a", "b", "c", "d"])
    frame.to_parquet(path)
    for read in (read_vectors, read_vector_ids):
        with pytest.raises(VisrecError) as e:
            read(path)
        text = str(e.value)
        assert "\n" not in text and len(text) < 400, text
        assert "no 'vector' column" in text and "(513 columns)" in text
        assert "spread over 512 number columns (f0 ... f511)" in text
        assert "list column 'vector'" in text


def test_a_missing_vector_column_beside_one_number_column_gets_no_spread_hint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "emb.parquet"
    pd.DataFrame({"item_id": ["a"], "emb": [[1.0, 2.0]], "year": [1999]}).to_parquet(path)
    with pytest.raises(VisrecError) as e:
        read_vectors(path)
    assert str(e.value) == (
        f"{path}: not a visrec vectors file (no 'vector' column; columns: item_id, emb, year)"
    )


def test_a_null_vector_is_refused_saying_how_a_missing_picture_is_written(
    tmp_path: Path,
) -> None:
    """A left join's missing row (pandas writes None/NaN as null): the line says how
    visrec reads an item without a picture, not only that the vector is null."""
    path = tmp_path / "joined.parquet"
    catalogue = pd.DataFrame({"item_id": ["a", "b", "c"]})
    found = pd.DataFrame({"item_id": ["a", "c"], "vector": [np.ones(3), np.full(3, 2.0)]})
    catalogue.merge(found, how="left").to_parquet(path)
    with pytest.raises(VisrecError) as e:
        read_vectors(path)
    assert str(e.value) == (
        f"{path}: item 'b' has no vector (null) (1 of 3 rows); an item without a picture "
        "is written with has_image false (and a vector of zeros, or none), or left out"
    )


def _strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_nan_and_infinity_in_a_vectors_files_metadata_keep_model_json_strict(
    tmp_path: Path,
) -> None:
    """Python's json writes NaN / Infinity into a file's metadata (and reads 1e999 as
    inf); the model.json that carries the meta writes them as null, so it is JSON that
    jq, JavaScript or any strict reader takes. The vectors' own meta keeps them, so a
    damaged value is still seen as one (a features file's NaN weight)."""
    path = tmp_path / "v.parquet"
    ids = [f"i{k}" for k in range(12)]
    vectors = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    table = pa.table({"item_id": ids, "vector": [list(v) for v in vectors]})
    meta = (
        '{"backbone": "clip", "temperature": NaN, "big": 1e999, '
        '"preprocessing": {"mean": [0.5, -Infinity]}}'
    )
    pq.write_table(table.replace_schema_metadata({"visrec": meta}), path)
    read = read_vectors(path).meta
    assert math.isnan(read["temperature"]) and read["big"] == math.inf
    rows = [(f"u{u}", ids[(u * 5 + k) % 12], 5) for u in range(6) for k in range(4)]
    inter = tmp_path / "inter.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(inter, index=False)
    out = tmp_path / "model"
    argv = ["train", "--model", "vbpr", "--interactions", str(inter), "--vectors", str(path)]
    assert main([*argv, "-o", str(out), "-q", "--param", "epochs=1"]) == 0
    saved = _strict((out / "model.json").read_text(encoding="utf-8"))
    assert saved["vector_meta"]["backbone"] == "clip"
    assert saved["vector_meta"]["temperature"] is None and saved["vector_meta"]["big"] is None
    assert saved["vector_meta"]["preprocessing"] == {"mean": [0.5, None]}


def test_another_tools_fixed_size_list_vectors_are_not_replaced_by_embed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vectors file without visrec's metadata whose column is a fixed-size list (as
    other tools write embeddings) is someone else's data, as a plain-list one is:
    ``embed -o`` over it is refused without --overwrite, not recomputed over it."""
    from PIL import Image

    from visrec.embed.store import ItemVectors, is_foreign_file, write_vectors

    theirs = tmp_path / "clip.parquet"
    flat = pa.array(np.ones(2 * 8, np.float32))
    table = pa.table({"item_id": ["a", "b"], "vector": pa.FixedSizeListArray.from_arrays(flat, 8)})
    pq.write_table(table, theirs)
    before = theirs.read_bytes()
    assert is_foreign_file(theirs) is True
    ours = tmp_path / "ours.parquet"
    write_vectors(ours, ItemVectors(ids=["a"], vectors=[[1.0, 2.0]], has_image=[True]))
    assert is_foreign_file(ours) is False  # visrec's own file, even with no backbone
    images = tmp_path / "imgs"
    images.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (8, 8), (200, 10, 10)).save(images / f"{name}.png")
    assert main(["embed", str(images), "-o", str(theirs), "-q"]) == 2
    assert "exists and is not a visrec vectors file" in capsys.readouterr().err
    assert theirs.read_bytes() == before


def test_a_folder_of_parquet_part_files_is_told_to_be_joined_not_embedded(
    tmp_path: Path,
) -> None:
    """Spark and Dask write one table as a folder of part files named like a file
    (``vectors.parquet/part-00000.snappy.parquet``, ``_SUCCESS``): the error says so
    and how to join them, not that its images are to be embedded."""
    folder = tmp_path / "vectors.parquet"
    folder.mkdir()
    for k in range(2):
        part = pd.DataFrame(
            {"item_id": [f"{k}{i}" for i in range(3)], "vector": list(np.ones((3, 4)))}
        )
        part.to_parquet(folder / f"part-0000{k}.snappy.parquet")
    (folder / "_SUCCESS").touch()
    (folder / ".part-00000.snappy.parquet.crc").touch()
    with pytest.raises(VisrecError) as e:
        read_vectors(folder)
    assert str(e.value) == (
        f"vectors file {str(folder)!r} is a directory, not a file: a folder of 2 Parquet part "
        "files (one table, as Spark or Dask write it); join them into one file, e.g. with "
        f"pyarrow.parquet: write_table(read_table({str(folder)!r}), 'vectors.parquet')"
    )
    images = tmp_path / "imgs"
    images.mkdir()
    (images / "a.jpg").touch()
    (images / "vectors.parquet").touch()  # an -o inside the images folder
    with pytest.raises(VisrecError, match=r"\(vectors of a folder of images: visrec embed"):
        read_vectors(images)
