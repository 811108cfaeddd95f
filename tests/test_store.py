"""The vectors Parquet file: schema, metadata, alignment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.embed.store import (
    ItemVectors,
    check_finite_vectors,
    read_vector_ids,
    read_vectors,
    read_vectors_meta,
    write_vectors,
)
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
    with pytest.raises(VisrecError, match=r"junk.parquet: not a Parquet file \(it looks like text"):
        read_vectors(junk)
    # what a wrong file given as vectors is, said instead of pyarrow's "magic bytes"
    for content, kind in (
        (b"item_id,label\n1,a\n", "it looks like a CSV/TSV table"),
        (b'{"asin": "B0"}\n', "it looks like JSON"),
        (b"\x1f\x8b\x08\x00rest", "it is gzip-compressed"),
        (b"\xff\xd8\xff\xe0JFIF", "it is an image"),
        (b"", "it is empty"),
    ):
        junk.write_bytes(content)
        with pytest.raises(VisrecError, match=re.escape(f"not a Parquet file ({kind})")):
            read_vectors(junk)
    # a character cut by the 512 bytes looked at is no matter
    for pad in range(4):
        junk.write_bytes(("x" * pad + "id,name\n" + "1,é\n" * 200).encode())
        with pytest.raises(VisrecError, match="it looks like a CSV/TSV table"):
            read_vectors(junk)
    # a pipe is not opened (that would wait for a writer): refused at once
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(VisrecError, match="is not a regular file"):
        read_vectors(fifo)
    # a Parquet file cut short starts as one: pyarrow's reason is passed on
    whole = tmp_path / "whole.parquet"
    write_vectors(whole, ItemVectors(ids=["a"], vectors=np.ones((1, 2)), has_image=[True]))
    junk.write_bytes(whole.read_bytes()[:40])
    with pytest.raises(VisrecError, match="cannot read as Parquet"):
        read_vectors(junk)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    with pytest.raises(VisrecError, match="not a visrec vectors file"):
        read_vectors(other)


def _write(path: Path, ids: list[str | None], vectors: pa.Array, has: list[Any]) -> Path:
    pq.write_table(pa.table({"item_id": ids, "vector": vectors, "has_image": has}), path)
    return path


def test_plain_list_vectors_are_read(tmp_path: Path) -> None:
    # a vectors file written by other tools (pandas: variable-length lists, float64)
    rows = [[0.5, 1.0], [2.0, -1.0], [0.0, 0.0]]
    path = _write(tmp_path / "v.parquet", ["x", "y", "z"], pa.array(rows), [True, True, False])
    back = read_vectors(path)
    assert back.vectors.dtype == np.float32 and back.ids.tolist() == ["x", "y", "z"]
    np.testing.assert_array_equal(back.vectors, np.asarray(rows, dtype=np.float32))


@pytest.mark.parametrize(
    ("ids", "vectors", "has", "message"),
    [
        (
            ["x", "y", "z"],
            pa.array([[0.5], [2.0, 1.0], [1.0, 1.0]]),
            [True, True, True],
            r"v\.parquet: vectors of different lengths: item 'x' has length 1 where 2 of 3 "
            r"items have length 2; all vectors need one length$",
        ),
        (
            ["x", "y"],
            pa.array([["a", "b"], ["c", "d"]]),
            [True, True],
            r"v\.parquet: column 'vector' must hold lists of numbers, not lists of string",
        ),
        (["x", "y"], pa.array(["1,2", "3,4"]), [True, True], r"not string"),
        (["x", "y"], pa.array([[1.0], None]), [True, True], r"item 'y' has no vector"),
        (["x", None], pa.array([[1.0], [2.0]]), [True, True], r"row 2 has no item_id"),
        (["x", "y"], pa.array([[1.0], [2.0]]), [True, None], r"row 2 has no has_image"),
        (
            ["x", "y"],
            pa.array([[1.0], [2.0]]),
            ["false", "true"],
            r"column 'has_image' must hold true/false \(or 1/0\), not string",
        ),
        (["x", "y"], pa.array([[1.0], [2.0]]), [1, 2], r"'has_image' must hold 1 or 0"),
        (
            ["x", "y", "x", "y", "z"],
            pa.array([[1.0], [2.0], [3.0], [4.0], [5.0]]),
            [True] * 5,
            r"v\.parquet: item vectors: item id 'x' has 2 rows \(1, 3, counting from 1; 2 ids "
            r"repeated\)",
        ),
    ],
)
def test_malformed_vectors_are_one_line_errors(
    tmp_path: Path, ids: list[str | None], vectors: pa.Array, has: list[Any], message: str
) -> None:
    path = _write(tmp_path / "v.parquet", ids, vectors, has)
    with pytest.raises(VisrecError, match=message) as err:
        read_vectors(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("ids", "kind"),
    [
        (pa.array([["x"], ["y"]]), "list<element: string>"),
        (pa.array([{"k": "x"}, {"k": "y"}]), "struct<k: string>"),
    ],
)
def test_nested_ids_are_refused_not_read_as_their_python_text(
    tmp_path: Path, ids: pa.Array, kind: str
) -> None:
    # each id was Python's text of its list ("['x']"): no query or label matched it
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table({"item_id": ids, "vector": pa.array([[1.0], [2.0]]), "has_image": [True] * 2}),
        path,
    )
    with pytest.raises(VisrecError) as err:
        read_vectors(path)
    assert str(err.value) == (
        f"{path}: column 'item_id' must hold text or whole numbers, not {kind}"
    )
    # whole-number decimals are whole numbers (a DECIMAL(10,0) column of a database)
    from decimal import Decimal

    whole = pa.array([Decimal(7), Decimal(12)], pa.decimal128(10, 0))
    pq.write_table(
        pa.table({"item_id": whole, "vector": pa.array([[1.0], [2.0]]), "has_image": [1, 1]}),
        path,
    )
    assert read_vectors(path).ids.tolist() == ["7", "12"]
    # dictionary-encoded text is text
    coded = pa.array(["x", "y"]).dictionary_encode()
    pq.write_table(
        pa.table({"item_id": coded, "vector": pa.array([[1.0], [2.0]]), "has_image": [1, 1]}),
        path,
    )
    assert read_vectors(path).ids.tolist() == ["x", "y"]


def test_integer_has_image_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "v.parquet", ["x", "y"], pa.array([[1.0], [2.0]]), [1, 0])
    assert read_vectors(path).has_image.tolist() == [True, False]


def test_repeated_ids_are_refused_in_memory() -> None:
    # align() keeps one row per id, so a repeated id would silently lose a vector
    with pytest.raises(VisrecError, match=r"item id 'a' has 2 rows"):
        ItemVectors(ids=["a", "b", "a"], vectors=np.eye(3), has_image=[True] * 3)


def test_check_finite_vectors_names_the_used_items_with_a_broken_vector() -> None:
    ids = [f"i{k}" for k in range(9)]
    v = np.ones((9, 2), dtype=np.float32)
    v[[1, 2, 3, 4, 5, 6, 7], 0] = [np.nan, np.inf, -np.inf, np.nan, np.nan, np.nan, np.nan]
    has = np.ones(9, dtype=bool)
    has[2] = False  # no image: its row is not looked at
    iv = ItemVectors(ids, v, has)
    used = ["i8", "i7", "i6", "i5", "i4", "i3", "i2", "i1", "i0"]
    with pytest.raises(VisrecError) as err:
        check_finite_vectors(iv, used, "v.parquet", noun="training item")
    assert str(err.value) == (
        "v.parquet: 6 training item vectors hold NaN, infinite or huge "
        "(beyond ±1e12) values ('i1', 'i3', "
        "'i4', 'i5', 'i6' and 1 more); re-embed those images or mark them has_image=false"
    )
    check_finite_vectors(iv, ["i0", "i2", "i8", "zz"], "v.parquet")  # none used is broken


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"{not json", "not JSON: "),
        (b"\xff\xfe", "not JSON: "),
        (b"[1, 2]", "a JSON list, not an object"),
        (b'{"backbone": 5}', "backbone 5 is not a name"),
        (b'{"backbone": "x", "dim": "wide"}', "dim 'wide' is not a width"),
    ],
)
def test_damaged_metadata_is_one_error_in_every_command(
    raw: bytes, detail: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main
    from visrec.embed.store import META_KEY, vectors_to_table

    # a vectors file whose schema metadata was edited: tracebacks in train and evaluate
    # before, and {"backbone": 5} silently skipped recommend's backbone check
    table = vectors_to_table(_iv())
    path = tmp_path / "v.parquet"
    pq.write_table(table.replace_schema_metadata({META_KEY: raw}), path)
    want = f"{path}: the visrec metadata in its Parquet schema is damaged ({detail}"
    for read in (read_vectors, read_vectors_meta):
        with pytest.raises(VisrecError) as info:
            read(path)
        assert str(info.value).startswith(want)
    inter = tmp_path / "t.csv"
    inter.write_text("user_id,item_id\n" + "".join(f"u{u},{i}\n" for u in range(4) for i in "abd"))
    for argv in (
        ["train", "--model", "vbpr", "--interactions", str(inter), "-o", str(tmp_path / "m")],
        ["evaluate", "--interactions", str(inter), "--models", "popularity", "--seeds", "1"],
    ):
        capsys.readouterr()
        assert main([*argv, "--vectors", str(path), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {want}") and err.count("\n") == 1, err


def test_swapped_or_folder_paths_are_named_for_what_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    vec = tmp_path / "v.parquet"
    write_vectors(vec, _iv())
    inter = tmp_path / "t.csv"
    inter.write_text("user_id,item_id\nu,a\nu,b\nw,a\n")
    # the vectors file given as --interactions: not a header-renaming lecture
    argv = ["train", "--model", "bpr", "--interactions", str(vec), "-o", str(tmp_path / "m")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: {vec} is an item vectors file (from visrec embed), not interactions: give "
        "it as --vectors, and the user-item table as --interactions\n"
    )
    # a folder as --vectors: not pyarrow's dataset message about some file inside
    with pytest.raises(VisrecError, match=r"is a directory, not a file \(vectors of a folder"):
        read_vectors(tmp_path)


def test_vectors_of_other_tools_without_has_image_are_read(tmp_path: Path) -> None:
    # a judge's own file: int ids, double vectors, no has_image, no metadata
    path = tmp_path / "theirs.parquet"
    pq.write_table(
        pa.table({"item_id": [7, 8], "vector": [[0.5, 1.0, 2.0], [1.0, 0.0, -1.0]]}), path
    )
    iv = read_vectors(path)
    assert list(iv.ids) == ["7", "8"] and iv.has_image.tolist() == [True, True]
    np.testing.assert_array_equal(iv.vectors[1], np.array([1.0, 0.0, -1.0], np.float32))
    assert iv.meta == {}


def test_duplicate_groups_are_exact_and_largest_first() -> None:
    from visrec.embed.store import duplicate_groups

    rng = np.random.default_rng(0)
    v = rng.normal(size=(9, 5)).astype(np.float32)
    v[4] = v[1]
    v[7] = v[1]
    v[6] = v[2]
    v[8] = v[3]
    v[8, 0] = np.nextafter(v[3, 0], np.float32(np.inf))  # one ulp apart: not the same
    usable = np.ones(9, dtype=bool)
    groups = duplicate_groups(v, usable)
    assert [g.tolist() for g in groups] == [[1, 4, 7], [2, 6]]
    usable[6] = False  # e.g. has_image false: never counted
    assert [g.tolist() for g in duplicate_groups(v, usable)] == [[1, 4, 7]]
    assert duplicate_groups(v[:1], usable[:1]) == []


def test_duplicate_groups_check_values_not_only_the_projection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.embed import store, vector_checks

    # every row gets the same key: only the value-by-value check tells them apart
    # (duplicate_groups lives in vector_checks, re-exported by store: patched where read)
    monkeypatch.setattr(
        vector_checks, "_row_keys", lambda block, coef: np.zeros(len(block), np.uint64)
    )
    v = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4]], dtype=np.float32)
    groups = store.duplicate_groups(v, np.ones(5, dtype=bool))
    assert [g.tolist() for g in groups] == [[0, 2], [1, 4]]


@pytest.mark.parametrize("dim", [1280, 5])
def test_identical_rows_are_one_group_wherever_they_sit(dim: int) -> None:
    from visrec.embed.store import distinct_rows, duplicate_groups

    # a float projection keyed rows by a matrix product, which rounds a row by its place
    # in the block: six copies of one 1280-d vector came out as groups of 4 and 2
    rng = np.random.default_rng(1)
    v = np.repeat(rng.standard_normal((1, dim)).astype(np.float32), 6, axis=0)
    assert [g.tolist() for g in duplicate_groups(v, np.ones(6, dtype=bool))] == [list(range(6))]
    distinct, inverse = distinct_rows(v)
    assert distinct.shape == (1, dim) and inverse.tolist() == [0] * 6


def test_duplicate_groups_compare_bytes_in_float16_and_float64() -> None:
    from visrec.embed.store import duplicate_groups

    for dtype in (np.float16, np.float64, np.complex128):
        v = np.zeros((4, 3), dtype=dtype)
        v[1, 0] = -0.0  # equal as a value, another vector as bytes (as the check compares)
        v[3] = 1
        assert [g.tolist() for g in duplicate_groups(v, np.ones(4, dtype=bool))] == [[0, 2]]


@pytest.fixture
def ten_in_batches_of_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ItemVectors:
    """Ten 2-d vectors (i7 without an image) written to v.parquet, read 3 rows a batch."""
    import visrec.embed.store as store

    monkeypatch.setattr(store, "_READ_BATCH", 3)
    n = 10
    iv = ItemVectors(
        ids=[f"i{k}" for k in range(n)],
        vectors=np.arange(n * 2, dtype=np.float32).reshape(n, 2),
        has_image=[k != 7 for k in range(n)],
        meta={"backbone": "b"},
    )
    write_vectors(tmp_path / "v.parquet", iv)
    return iv


def test_read_vectors_across_several_read_batches(
    tmp_path: Path, ten_in_batches_of_3: ItemVectors
) -> None:
    # the vector column is decoded a batch at a time; each batch lands on its rows
    back = read_vectors(tmp_path / "v.parquet")
    assert back.ids.tolist() == [f"i{k}" for k in range(10)]
    np.testing.assert_array_equal(back.vectors, ten_in_batches_of_3.vectors)


def test_only_the_rows_asked_for_are_read_across_batches(
    tmp_path: Path, ten_in_batches_of_3: ItemVectors
) -> None:
    # recommend --items reads only the new candidates' rows out of a catalogue's file
    import visrec.embed.store as store

    iv = ten_in_batches_of_3
    vecs = iv.vectors
    some = read_vectors(tmp_path / "v.parquet", only={"i8", "i2", "i7", "nope", "i3"})
    assert some.ids.tolist() == ["i2", "i3", "i7", "i8"]  # file order
    np.testing.assert_array_equal(some.vectors, vecs[[2, 3, 7, 8]])
    assert some.has_image.tolist() == [True, True, False, True] and some.meta["backbone"] == "b"
    assert len(read_vectors(tmp_path / "v.parquet", only=[])) == 0
    # one id given as a string is one id, not one per character
    assert read_vectors(tmp_path / "v.parquet", only="i8").ids.tolist() == ["i8"]
    listed = read_vector_ids(tmp_path / "v.parquet")
    assert (
        listed.ids.tolist() == iv.ids.tolist()
        and listed.has_image.tolist() == iv.has_image.tolist()
    )
    assert listed.dim == 0 and listed.meta["backbone"] == "b"
    # integer ids of a file made by other tools are matched as text
    pq.write_table(
        pa.table({"item_id": [5, 6], "vector": [[1.0, 2.0], [3.0, 4.0]]}), tmp_path / "o.parquet"
    )
    other = read_vectors(tmp_path / "o.parquet", only=["6"])
    assert other.ids.tolist() == ["6"] and other.vectors.tolist() == [[3.0, 4.0]]
    # float ids keep the spelling of a whole read: "1.0" beside 2.5, not "1"
    pq.write_table(
        pa.table({"item_id": [1.0, 2.5], "vector": [[1.0], [2.0]]}), tmp_path / "f.parquet"
    )
    assert read_vectors(tmp_path / "f.parquet").ids.tolist() == ["1.0", "2.5"]
    assert read_vectors(tmp_path / "f.parquet", only=["1.0"]).ids.tolist() == ["1.0"]
    assert store.vector_width(tmp_path / "f.parquet") == 1
    assert store.vector_width(tmp_path / "v.parquet") == 2
    # a file with no vector column is named for what it is, by either reader
    pq.write_table(pa.table({"item_id": ["a"]}), tmp_path / "x.parquet")
    for read in (read_vector_ids, lambda f: read_vectors(f, only=["a"])):
        with pytest.raises(VisrecError, match=r"not a visrec vectors file \(no 'vector' column"):
            read(tmp_path / "x.parquet")


def test_written_dim_is_the_vectors_width_not_a_stale_meta_value(tmp_path: Path) -> None:
    # meta carried over from a wider file must not overwrite the real dim
    iv = ItemVectors(
        ids=["a"], vectors=np.ones((1, 2), np.float32), has_image=[True],
        meta={"backbone": "x", "dim": 1280},
    )  # fmt: skip
    write_vectors(tmp_path / "v.parquet", iv)
    assert read_vectors(tmp_path / "v.parquet").meta["dim"] == 2
