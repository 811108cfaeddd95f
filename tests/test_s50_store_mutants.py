"""Session 50: tests that kill mutation-audit survivors in the vector store
(visrec.embed.store), the embed chunk files and the resume of an embed run. Each test
names the mutation it kills (the ids of the audit's table)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from small_vectors import item_vectors as _iv
from visrec.embed import store
from visrec.embed.store import (
    check_some_vector,
    read_vectors,
    write_vectors,
)
from visrec.errors import VisrecError


def test_no_items_to_check_is_no_error() -> None:
    # S12 (an empty list of items refused as "none of the 0 items has an image vector")
    iv = _iv(["a"], [[1, 0]])
    assert check_some_vector(iv, [], "train", "items").tolist() == []


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # S25 (written in place, not to a temporary file renamed over it)
    path = tmp_path / "v.parquet"
    write_vectors(path, _iv(["a"], [[1, 2]]))

    def disk_full(table: Any, dest: Any) -> None:
        Path(dest).write_bytes(b"PAR1 cut short")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "write_table", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_vectors(path, _iv(["b"], [[3, 4]]))
    assert read_vectors(path).ids.tolist() == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["v.parquet"]  # no temporary file left


def test_a_dim_below_one_in_the_metadata_is_damage() -> None:
    # S30 (dim 0 taken as a width)
    with pytest.raises(VisrecError, match=r"v\.parquet: .*damaged \(dim 0 is not a width\)"):
        store.parse_meta(b'{"dim": 0}', "v.parquet")
    assert store.parse_meta(b'{"dim": 1}', "v.parquet") == {"dim": 1}


def test_the_meta_dim_read_is_the_columns_width(tmp_path: Path) -> None:
    # S31 (the metadata's own "dim" believed over the schema's fixed width)
    schema = store.vectors_schema(3).with_metadata({store.META_KEY: b'{"dim": 5}'})
    flat = pa.array([1.0, 2.0, 3.0], pa.float32())
    table = pa.table(
        [pa.array(["a"]), pa.FixedSizeListArray.from_arrays(flat, 3), pa.array([True])],
        schema=schema,
    )
    pq.write_table(table, tmp_path / "v.parquet")
    assert store.read_vectors_meta(tmp_path / "v.parquet")["dim"] == 3


def test_vector_width_of_a_file_whose_first_vector_is_null(tmp_path: Path) -> None:
    # S35 (a null first vector given a width): a null vector tells no width (has_image
    # false: an item without a picture, session 71); the first vector does, and a file
    # of null vectors only has none
    vec = pa.array([None, [1.0, 2.0]], pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ["a", "b"], "vector": vec}), tmp_path / "n.parquet")
    assert store.vector_width(tmp_path / "n.parquet") == 2
    vec = pa.array([None], pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ["a"], "vector": vec}), tmp_path / "z.parquet")
    assert store.vector_width(tmp_path / "z.parquet") is None
    vec = pa.array([[1.0, 2.0, 3.0]], pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ["a"], "vector": vec}), tmp_path / "v.parquet")
    assert store.vector_width(tmp_path / "v.parquet") == 3


def test_a_float_id_column_reads_its_whole_numbers_as_integers(tmp_path: Path) -> None:
    # S37 (a float item_id column read as Python writes floats: '7.0', no item '7')
    vec = pa.array([[1.0], [2.0]], pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": [7.0, 8.0], "vector": vec}), tmp_path / "v.parquet")
    assert read_vectors(tmp_path / "v.parquet").ids.tolist() == ["7", "8"]


def test_a_chunk_file_is_read_only_for_its_own_key_and_fingerprint(tmp_path: Path) -> None:
    # C03 (the backbone key not compared: only the fingerprint, which an embed run
    # derives from the key, guarded a chunk of another backbone)
    from visrec.embed.chunk_files import read_chunk_file, write_chunk

    made = write_chunk(
        tmp_path, "K1", "fp", 0, "torch", ["a"], np.ones((1, 2)), np.ones(1, bool), [None]
    )
    assert read_chunk_file(made, "K1", "fp") is not None
    assert read_chunk_file(made, "K2", "fp") is None
    assert read_chunk_file(made, "K1", "fp2") is None


def test_a_chunk_file_holding_other_items_is_computed_again(tmp_path: Path) -> None:
    # C04 (a chunk file reused on its name alone: items 'a', 'b' put in the place of
    # 'a', 'c', so 'c' would get the vector of 'b')
    from visrec.embed.chunk_files import finished_parts, write_chunk

    write_chunk(
        tmp_path, "K", "fp0", 0, "torch", ["a", "b"], np.eye(2), np.ones(2, bool), [None] * 2
    )
    notes: list[str] = []
    found, _ = finished_parts(tmp_path, "K", ["fp0"], [[("a", "x"), ("c", "y")]], notes.append)
    assert found == {}
    assert notes == [f"{tmp_path / 'chunk-fp0.parquet'}: damaged chunk file, recomputing it"]
    found, _ = finished_parts(tmp_path, "K", ["fp0"], [[("a", "x"), ("b", "y")]], notes.append)
    assert list(found) == ["fp0"]


def test_a_chunk_file_keeps_each_rows_has_image_flag(tmp_path: Path) -> None:
    # C07 (every row of a chunk written as having an image: read by visrec, a failed
    # image's row of zeros still says no picture, but pandas or DuckDB read True)
    from visrec.embed.chunk_files import write_chunk

    made = write_chunk(
        tmp_path, "K", "fp", 0, "torch", ["a", "b"], np.array([[1, 2], [0, 0]]),
        np.array([True, False]), [None, "unreadable image"],
    )  # fmt: skip
    assert pq.read_table(made).column("has_image").to_pylist() == [True, False]


def test_only_idle_parts_are_removed(tmp_path: Path) -> None:
    # C08 (the parts folder of a run still writing its chunks removed under it)
    from visrec.embed.chunk_files import PARTS_IDLE_S, drop_idle_parts

    parts = tmp_path / "v.parquet.parts"
    parts.mkdir()
    chunk = parts / "chunk-fp.parquet"
    chunk.write_bytes(b"PAR1")
    notes: list[str] = []
    drop_idle_parts(parts, notes.append)  # written just now: a run still going
    assert chunk.exists() and notes == []
    old = time.time() - PARTS_IDLE_S - 10
    os.utime(chunk, (old, old))
    drop_idle_parts(parts, notes.append)
    assert not parts.exists()
    assert notes == [
        f"{parts}: chunk files of an interrupted run removed (the output is up to date)"
    ]


def test_an_old_row_group_holding_other_items_is_not_reused(tmp_path: Path) -> None:
    # O03 (a row group of the old output reused on its fingerprint alone, after another
    # tool rewrote the file keeping its metadata: 'c' would get the vector of 'b')
    from visrec.embed.output import OldOutput, holding_their_chunks

    out = tmp_path / "v.parquet"
    write_vectors(out, _iv(["a", "b"], [[1, 0], [0, 1]]))
    notes: list[str] = []
    old = holding_their_chunks(
        out, OldOutput(groups={"fp0": 0}), ["fp0"], [[("a", "x"), ("c", "y")]], notes.append
    )
    assert old.groups == {}
    assert len(notes) == 1 and "1 of its row groups does not hold the images" in notes[0]
    old = holding_their_chunks(
        out, OldOutput(groups={"fp0": 0}), ["fp0"], [[("a", "x"), ("b", "y")]], notes.append
    )
    assert old.groups == {"fp0": 0}
