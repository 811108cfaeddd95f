"""Mutation audit of ``visrec.embed.chunk_files`` (session 61): the chunk files of a
resumable ``visrec embed`` (written per chunk, read back on resume, put together into
the output).

52 hand-made mutants (48 of the module, 4 of the fix below): 37 of the 48 were killed
by the existing tests; 9 survivors are killed by the tests here (cut length, the
``chunk-*.parquet`` name, the backbone key's dim and preprocessing, the note on kept
files, a chunk file of this run rewritten from other cuts, the engine of a chunk of
failed images, an engine entry that is no name); 1 is equivalent (the ``index`` in a
chunk file's metadata is never read). One survivor showed a bug, fixed here: a damaged
chunk file (not Parquet, or without chunk metadata) of no chunk of this run was said to
be "made by an older visrec"; it is now said to be damaged or unreadable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from test_embed import TinyBackbone
from tiny_embed import embed_tiny, image_folder, stopped_before_output
from visrec.data.images_index import scan_images
from visrec.embed.chunk_files import (
    backbone_key,
    chunk_engine,
    cut_chunks,
    fingerprint,
    finished_parts,
    parts_dir,
    read_chunk_file,
    remove_parts,
    write_chunk,
)
from visrec.embed.extract import EmbedResult, embed_images
from visrec.embed.store import read_vectors


@pytest.fixture
def stopped(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Embed a folder into an output with chunks of 4, stopped before the output."""

    def run(folder: Path, out: Path, **kw: object) -> None:
        stopped_before_output(monkeypatch, lambda: embed_tiny(folder, out, chunk_size=4, **kw))

    return run


def test_a_chunk_is_cut_once_it_holds_a_quarter_of_the_chunk_size() -> None:
    # mutant cut_min_gt: a cut only after more than ``chunk_size // 4`` items
    pairs = [(f"{i:05d}", "") for i in range(2000)]
    chunks = cut_chunks(pairs, 8)  # between 2 and 16 items
    assert [p for c in chunks for p in c] == pairs
    assert min(len(c) for c in chunks[:-1]) == 2
    assert max(len(c) for c in chunks) <= 16


def test_a_user_file_named_chunk_but_not_parquet_is_kept_with_the_parts_folder(
    tmp_path: Path,
) -> None:
    # mutant glob_any: every ``chunk-*`` taken for a chunk file (and removed)
    parts = tmp_path / "v.parquet.parts"
    parts.mkdir()
    for name in ("chunk-ab12.parquet", "chunk-notes.txt"):
        (parts / name).write_text("x")
    said: list[str] = []
    remove_parts(parts, said.append)
    assert sorted(p.name for p in parts.iterdir()) == ["chunk-notes.txt"]
    assert said == [f"{parts}: kept, it holds files embed did not write ('chunk-notes.txt')"]


class _Wider(TinyBackbone):
    dim = 9


class _Normalized(TinyBackbone):
    mean = (0.4, 0.5, 0.5)


def test_the_backbone_key_changes_with_the_dim_and_the_preprocessing() -> None:
    # mutants bk_no_dim, bk_no_pre: a vector of another size or preprocessing reused
    keys = {backbone_key(b) for b in (TinyBackbone(), _Wider(), _Normalized())}
    assert len(keys) == 3
    assert backbone_key(TinyBackbone()) == backbone_key(TinyBackbone())


def _embed_with(folder: Path, out: Path, backbone: TinyBackbone) -> EmbedResult:
    return embed_images(
        scan_images(folder).images,
        out,
        backbone=backbone,
        engine="torch",
        batch_size=3,
        workers=2,
        progress=False,
        chunk_size=4,
    )


def test_chunks_of_another_preprocessing_are_not_reused_on_resume(
    tmp_path: Path, stopped: Callable[..., None]
) -> None:
    # mutant bk_no_pre: the chunk files of another mean/std resumed as this run's
    folder = image_folder(tmp_path / "imgs", 8)
    out = tmp_path / "v.parquet"
    stopped(folder, out)
    res = _embed_with(folder, out, _Normalized())
    assert (res.n_reused, res.n_computed) == (0, 8)
    assert any("different backbone, weights or preprocessing" in n for n in res.notes)
    fresh = _embed_with(folder, tmp_path / "fresh.parquet", _Normalized())
    assert np.allclose(read_vectors(out).vectors, fresh.vectors.vectors, atol=1e-6)
    assert not parts_dir(out).exists()


def test_a_damaged_chunk_file_of_another_run_is_said_to_be_damaged_not_older(
    tmp_path: Path, stopped: Callable[..., None]
) -> None:
    # bug fixed in session 61: a chunk file that is not Parquet (or has no chunk
    # metadata) and is none of this run's chunks was reported as "made by an older
    # visrec, which keyed the images another way"
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = image_folder(tmp_path / "imgs", 8)
    out = tmp_path / "v.parquet"
    stopped(folder, out)
    parts = parts_dir(out)
    (parts / f"chunk-{'0' * 24}.parquet").write_bytes(b"PAR1 cut short")
    pq.write_table(pa.table({"x": [1]}), parts / f"chunk-{'1' * 24}.parquet")
    res = embed_tiny(folder, out)
    assert (res.n_reused, res.n_computed) == (8, 0)
    assert f"{parts}: 2 damaged or unreadable chunk files: " in "\n".join(res.notes)
    assert not any("older visrec" in n for n in res.notes)
    assert list(read_vectors(out).ids) == [f"{i:03d}" for i in range(8)]
    assert not parts.exists()


@pytest.mark.parametrize("n", [3, 5])
def test_the_files_kept_in_a_parts_folder_are_named_three_at_most(tmp_path: Path, n: int) -> None:
    # mutants rm_shown2 (two named), rm_more_ge ("and 0 more" after three)
    parts = tmp_path / "v.parquet.parts"
    parts.mkdir()
    (parts / "chunk-ab12.parquet").write_text("x")
    for k in range(n):
        (parts / f"note{k}.txt").write_text("x")
    said: list[str] = []
    remove_parts(parts, said.append)
    more = " and 2 more" if n == 5 else ""
    assert said == [
        f"{parts}: kept, it holds files embed did not write "
        f"('note0.txt', 'note1.txt', 'note2.txt'{more})"
    ]
    assert len(list(parts.iterdir())) == n


def _chunk_file(parts: Path, ids: list[str], engine: str | None, has: bool, k: int) -> str:
    """A chunk file (key "K") of images that are not there; its fingerprint."""
    fp = fingerprint("K", [(i, f"/nowhere/{i}.jpg") for i in ids])
    vectors = np.arange(len(ids) * 2, dtype=np.float32).reshape(-1, 2) + 10 * k
    errors = [None if has else "not an image"] * len(ids)
    write_chunk(parts, "K", fp, k, engine, ids, vectors, np.full(len(ids), has), errors)
    return fp


def test_a_chunk_of_failed_images_only_keeps_the_engine_of_its_first_file(
    tmp_path: Path,
) -> None:
    # mutant eng_first_none: such a chunk put together from other files had no engine
    _chunk_file(tmp_path, ["a", "b"], "onnx", False, 0)
    _chunk_file(tmp_path, ["c", "d"], "torch", False, 1)
    chunk = [(i, f"/nowhere/{i}.jpg") for i in "abcd"]
    fps = [fingerprint("K", chunk)]
    notes: list[str] = []
    found, retry = finished_parts(tmp_path, "K", fps, [chunk], notes.append)
    table = read_chunk_file(found[fps[0]], "K", fps[0])
    assert table is not None and chunk_engine(table) == "onnx" and retry == {}
    assert table.column("has_image").to_pylist() == [False] * 4


def test_a_chunk_file_of_this_run_is_not_put_together_again_from_other_cuts(
    tmp_path: Path,
) -> None:
    # mutant rc_no_found: the chunk's own file rewritten from the rows of the other
    # cut, and its images said to be reused from chunks "cut otherwise"
    _chunk_file(tmp_path, ["a", "b"], "torch", True, 0)
    _chunk_file(tmp_path, ["c", "d"], "torch", True, 1)
    fp = _chunk_file(tmp_path, ["a", "b", "c", "d"], "onnx", True, 2)
    own = tmp_path / f"chunk-{fp}.parquet"
    before = own.stat()
    chunk = [(i, f"/nowhere/{i}.jpg") for i in "abcd"]
    notes: list[str] = []
    found, retry = finished_parts(tmp_path, "K", [fp], [chunk], notes.append)
    assert found == {fp: own} and retry == {} and notes == []
    after = own.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    table = read_chunk_file(own, "K", fp)
    assert table is not None and chunk_engine(table) == "onnx"


def test_an_engine_entry_that_is_no_name_is_unknown() -> None:
    # mutant ce_nostr: a number in a chunk file's "engine" taken for an engine's name
    import json

    import pyarrow as pa

    from visrec.embed.store import META_KEY

    table = pa.table({"item_id": ["a"]})
    for engine, expected in ((5, None), (["torch"], None), ("onnx", "onnx"), (None, None)):
        meta = {META_KEY: json.dumps({"key": "K", "engine": engine}).encode()}
        assert chunk_engine(table.replace_schema_metadata(meta)) == expected
    assert chunk_engine(table) is None


def test_a_chunk_file_without_its_error_column_is_recomputed_not_a_traceback(
    tmp_path: Path,
) -> None:
    # a chunk file of this run with valid metadata but no "error" column (hand-made, or
    # a future format) used to end in a KeyError when its rows were read
    import pyarrow.parquet as pq

    from visrec.embed.chunk_files import finished_parts, read_chunk_file, write_chunk

    made = write_chunk(
        tmp_path, "K", "fp0", 0, "torch", ["a", "b"], np.eye(2), np.ones(2, bool), [None] * 2
    )
    table = pq.read_table(made)
    pq.write_table(table.drop_columns(["error"]), made)
    assert read_chunk_file(made, "K", "fp0") is None
    notes: list[str] = []
    found, retry = finished_parts(tmp_path, "K", ["fp0"], [[("a", "x"), ("b", "y")]], notes.append)
    assert found == {} and retry == {}
    assert notes == [f"{made}: damaged chunk file, recomputing it"]
