"""Session 71: a vectors file may mark an item without a picture by ``has_image`` false
and no vector (null), as a left join or another tool writes it; read as zeros. A null
where a picture is claimed (or with no ``has_image`` column) is still refused, naming
the first such item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.embed.store import read_vectors
from visrec.errors import VisrecError


def _write(
    path: Path, vectors: list[list[float] | None], flags: list[bool] | None, **kw: int
) -> Path:
    ids = [chr(ord("a") + k) for k in range(len(vectors))]
    fixed = kw.pop("fixed", 0)
    kind = pa.list_(pa.float32(), fixed) if fixed else pa.list_(pa.float32())
    cols = {"item_id": ids, "vector": pa.array(vectors, type=kind)}
    if flags is not None:
        cols["has_image"] = flags
    pq.write_table(pa.table(cols), path, **kw)
    return path


@pytest.mark.parametrize("fixed", [0, 2])
def test_no_vector_where_has_image_is_false_reads_as_zeros(tmp_path: Path, fixed: int) -> None:
    vecs = [[1.0, 2.0], None, [0.5, 0.25], None, [3.0, 4.0]]
    flags = [True, False, True, False, True]
    path = tmp_path / "v.parquet"
    if fixed:
        # older pyarrow (15-18) cannot write, or read back, a null in a fixed-size list
        try:
            _write(path, vecs, flags, fixed=fixed, row_group_size=2)
            pq.read_table(path)
        except pa.ArrowException as exc:
            pytest.skip(f"pyarrow {pa.__version__} keeps no null fixed-size list in Parquet: {exc}")
    _write(path, vecs, flags, fixed=fixed, row_group_size=2)
    iv = read_vectors(path)
    assert list(iv.ids) == ["a", "b", "c", "d", "e"]
    expected = np.array([[1, 2], [0, 0], [0.5, 0.25], [0, 0], [3, 4]], dtype=np.float32)
    assert np.array_equal(iv.vectors, expected)
    assert iv.has_image.tolist() == [True, False, True, False, True]
    some = read_vectors(path, only=["e", "b"])  # the rows read batch by batch
    assert dict(zip(some.ids, some.vectors.tolist(), strict=True)) == {
        "b": [0.0, 0.0],
        "e": [3.0, 4.0],
    }


def test_a_null_where_a_picture_is_claimed_is_refused_naming_it(tmp_path: Path) -> None:
    # 'b' (has_image false) is fine; 'c' claims a picture and has none
    path = _write(tmp_path / "v.parquet", [[1.0], None, None, [2.0]], [True, False, True, True])
    with pytest.raises(VisrecError) as e:
        read_vectors(path)
    assert str(e.value).startswith(
        f"{path}: item 'c' has no vector (null) (1 of 4 rows with has_image true); "
    )


def test_a_null_without_has_image_is_still_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "v.parquet", [[1.0], None, None], None)
    with pytest.raises(VisrecError, match=r"item 'b' has no vector \(null\) \(2 of 3 rows\); "):
        read_vectors(path)


def test_lengths_are_judged_on_the_vectors_there(tmp_path: Path) -> None:
    # the nulls' length 0 is no vector length: 'd' is the odd one, named by its own row
    vecs: list[list[float] | None] = [[1.0, 2.0], None, None, [1.0], [3.0, 4.0]]
    path = _write(tmp_path / "v.parquet", vecs, [True, False, False, True, True])
    with pytest.raises(
        VisrecError, match=r"item 'd' has length 1 where 2 of 3 items have length 2"
    ):
        read_vectors(path)
