"""The vectors Parquet file: schema, metadata, alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.embed.store import ItemVectors, read_vectors, read_vectors_meta, write_vectors
from visrec.errors import VisrecError


def _iv() -> ItemVectors:
    v = np.arange(12, dtype=np.float32).reshape(4, 3)
    v[2] = 0
    return ItemVectors(
        ids=["a", "b", "c", "d"],
        vectors=v,
        has_image=[True, True, False, True],
        meta={"backbone": "test", "preprocessing": {"size": 3}},
    )


def test_roundtrip_schema_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    write_vectors(path, _iv())
    schema = pq.read_schema(path)
    assert schema.field("item_id").type == pa.string()
    assert pa.types.is_fixed_size_list(schema.field("vector").type)
    assert schema.field("vector").type.value_type == pa.float32()
    assert schema.field("has_image").type == pa.bool_()
    back = read_vectors(path)
    np.testing.assert_array_equal(back.vectors, _iv().vectors)
    assert back.ids.tolist() == ["a", "b", "c", "d"]
    assert back.has_image.tolist() == [True, True, False, True]
    assert back.meta["backbone"] == "test" and back.meta["dim"] == 3
    assert read_vectors_meta(path)["preprocessing"] == {"size": 3}
    assert not list(tmp_path.glob("*.tmp")), "no temp file left behind"


def test_align_never_borrows_rows() -> None:
    vec, has = _iv().align(["d", "zz", "a", "c"])
    np.testing.assert_array_equal(vec[0], [9, 10, 11])
    np.testing.assert_array_equal(vec[1], [0, 0, 0])
    np.testing.assert_array_equal(vec[2], [0, 1, 2])
    assert has.tolist() == [True, False, True, False]


def test_shape_mismatch_is_reported() -> None:
    with pytest.raises(VisrecError, match="expected"):
        ItemVectors(ids=["a", "b"], vectors=np.zeros((3, 2)), has_image=[True, True])


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match="does not exist"):
        read_vectors(tmp_path / "nope.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(VisrecError, match="cannot read as Parquet"):
        read_vectors(junk)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    with pytest.raises(VisrecError, match="not a visrec vectors file"):
        read_vectors(other)
