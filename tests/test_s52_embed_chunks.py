"""An interrupted embed resumed with another chunk size (session 52): the images its
chunk files finished are reused, whatever the cut, as long as they are unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import flip_vector_page
from test_embed import TinyBackbone
from test_embed_retry_rows import Flaky
from tiny_embed import embed_tiny, image_folder, stopped_before_output
from visrec.embed.chunk_files import (
    backbone_key,
    chunk_engine,
    fingerprint,
    finished_parts,
    read_chunk_file,
    write_chunk,
)
from visrec.embed.extract import cut_chunks, parts_dir
from visrec.embed.store import read_vectors, read_vectors_meta
from visrec.images.decode import RETRY_PREFIX

N = 40


@pytest.fixture
def stopped(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Embed a folder into an output with chunks of 4, stopped before the output."""

    def run(folder: Path, out: Path, **kw: object) -> None:
        stopped_before_output(monkeypatch, lambda: embed_tiny(folder, out, chunk_size=4, **kw))

    return run


def _fresh(folder: Path, chunk_size: int | None) -> np.ndarray:
    return embed_tiny(folder, None, chunk_size=chunk_size or 512).vectors.vectors


def test_a_run_cut_with_chunks_of_4_resumed_with_the_default_size_reuses_every_image(
    tmp_path: Path, stopped: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = image_folder(tmp_path / "imgs", N)
    out = tmp_path / "v.parquet"
    stopped(folder, out)  # `visrec embed --chunk-size 4`, Ctrl-C'd before the output
    flaky = Flaky(monkeypatch, set())
    res = embed_tiny(folder, out, chunk_size=None)  # the same command without the option
    assert (res.n_reused, res.n_computed) == (N, 0)
    assert sum(flaky.seen.values()) == 0
    got = read_vectors(out)
    assert list(got.ids) == [f"{i:03d}" for i in range(N)] and got.has_image.all()
    assert np.allclose(got.vectors, _fresh(folder, None), atol=1e-5)
    assert read_vectors_meta(out)["chunk_size"] == 512
    assert read_vectors_meta(out)["engines"] == ["torch"]
    assert not any("for other or changed images" in n for n in res.notes)
    (said,) = [n for n in res.notes if "cut otherwise" in n]
    assert said == (
        f"{parts_dir(out)}: chunk files of an interrupted run whose chunks were cut otherwise "
        f"(another chunk size, or images added since): {N} of their images reused"
    )
    assert not parts_dir(out).exists()
    again = embed_tiny(folder, out, chunk_size=None)
    assert (again.n_reused, again.n_computed) == (N, 0)


def test_only_the_chunks_of_the_new_cut_wholly_finished_are_reused(
    tmp_path: Path, stopped: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = image_folder(tmp_path / "imgs", N)
    out = tmp_path / "v.parquet"
    stopped(folder, out)
    ids = [f"{i:03d}" for i in range(N)]
    pairs = [(i, "") for i in ids]
    old_cut = cut_chunks(pairs, 4)
    kept_chunks = len(old_cut) // 2  # the run was stopped half way through
    finished = {i for chunk in old_cut[:kept_chunks] for i, _ in chunk}
    for f in parts_dir(out).glob("chunk-*.parquet"):
        table = read_chunk_file(f, backbone_key(TinyBackbone()), f.stem.removeprefix("chunk-"))
        assert table is not None
        if not set(table.column("item_id").to_pylist()) <= finished:
            f.unlink()
    new_cut = cut_chunks(pairs, 8)
    whole = [c for c in new_cut if {i for i, _ in c} <= finished]
    n_whole = sum(len(c) for c in whole)
    assert 0 < n_whole < len(finished)  # some reused, some finished images lost
    flaky = Flaky(monkeypatch, set())
    res = embed_tiny(folder, out, chunk_size=8)
    assert (res.n_reused, res.n_computed) == (n_whole, N - n_whole)
    assert sum(flaky.seen.values()) == N - n_whole
    reused = {i for c in whole for i, _ in c}
    assert not any(flaky.seen[f"{i}.jpg"] for i in reused)
    (said,) = [n for n in res.notes if "cut otherwise" in n]
    assert said.endswith(
        f": {n_whole} of their images reused; {len(finished) - n_whole} computed again, as "
        "their chunks here are only part done"
    )
    got = read_vectors(out)
    assert list(got.ids) == ids and got.has_image.all()
    assert np.allclose(got.vectors, _fresh(folder, 8), atol=1e-5)


def test_a_changed_image_is_not_given_its_old_vector_under_another_cut(
    tmp_path: Path, stopped: Callable[..., None]
) -> None:
    folder = image_folder(tmp_path / "imgs", N)
    out = tmp_path / "v.parquet"
    stopped(folder, out)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(folder / "007.jpg")  # replaced since
    res = embed_tiny(folder, out, chunk_size=8)
    assert 0 < res.n_reused < N
    assert any("for other or changed images" in n for n in res.notes)
    got = read_vectors(out)
    assert np.allclose(got.vectors, _fresh(folder, 8), atol=1e-5)


def test_a_read_error_of_the_interrupted_run_is_retried_alone_under_another_cut(
    tmp_path: Path, stopped: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = image_folder(tmp_path / "imgs", N)
    out = tmp_path / "v.parquet"
    flaky = Flaky(monkeypatch, {"003.jpg"})
    stopped(folder, out)
    flaky.failing.clear()  # readable again
    flaky.seen.clear()
    res = embed_tiny(folder, out, chunk_size=None)
    assert dict(flaky.seen) == {"003.jpg": 1}
    assert (res.n_reused, res.n_computed, res.failures) == (N - 1, 1, [])
    assert any(n.endswith(f": {N - 1} of their images reused") for n in res.notes)
    got = read_vectors(out)
    assert got.has_image.all()
    assert np.allclose(got.vectors, _fresh(folder, None), atol=1e-5)


# ------------------------------------------------ finished_parts on hand-made chunk files


def _files(parts: Path, key: str, halves: list[tuple[list[str], str | None, bool]]) -> None:
    """A chunk file per (ids, engine, has_image) of images that are not there."""
    for k, (ids, engine, has) in enumerate(halves):
        fp = fingerprint(key, [(i, f"/nowhere/{i}.jpg") for i in ids])
        vectors = np.arange(len(ids) * 2, dtype=np.float32).reshape(-1, 2) + 10 * k
        errors = [None if has else "not an image"] * len(ids)
        write_chunk(parts, key, fp, k, engine, ids, vectors, np.full(len(ids), has), errors)


def _one_chunk(ids: list[str]) -> tuple[list[str], list[list[tuple[str, str]]]]:
    chunk = [(i, f"/nowhere/{i}.jpg") for i in ids]
    return [fingerprint("K", chunk)], [chunk]


def test_a_chunk_put_together_from_two_engines_files_names_both(tmp_path: Path) -> None:
    _files(tmp_path, "K", [(["a", "b"], "onnx", True), (["c", "d"], "torch", True)])
    fps, chunks = _one_chunk(["a", "b", "c", "d"])
    notes: list[str] = []
    found, retry = finished_parts(tmp_path, "K", fps, chunks, notes.append)
    assert list(found) == fps and retry == {}
    table = read_chunk_file(found[fps[0]], "K", fps[0])
    assert table is not None
    assert table.column("item_id").to_pylist() == ["a", "b", "c", "d"]
    vectors = np.asarray(table.column("vector").to_pylist())
    assert vectors.tolist() == [[0, 1], [2, 3], [10, 11], [12, 13]]
    assert chunk_engine(table) == "onnx+torch"


def test_an_engine_of_rows_without_a_vector_is_not_named(tmp_path: Path) -> None:
    _files(tmp_path, "K", [(["a", "b"], "onnx", False), (["c", "d"], "torch", True)])
    fps, chunks = _one_chunk(["a", "b", "c", "d"])
    found, _ = finished_parts(tmp_path, "K", fps, chunks, [].append)
    table = read_chunk_file(found[fps[0]], "K", fps[0])
    assert table is not None and chunk_engine(table) == "torch"
    assert table.column("error").to_pylist() == ["not an image"] * 2 + [None] * 2
    assert table.column("has_image").to_pylist() == [False, False, True, True]


def test_a_chunk_the_output_holds_is_not_put_together_again(tmp_path: Path) -> None:
    _files(tmp_path, "K", [(["a", "b"], "torch", True), (["c", "d"], "torch", True)])
    fps, chunks = _one_chunk(["a", "b", "c", "d"])
    found, _ = finished_parts(tmp_path, "K", fps, chunks, [].append, held={fps[0]})
    assert found == {} and len(list(tmp_path.glob("chunk-*.parquet"))) == 2


def test_rows_of_another_key_are_not_reused(tmp_path: Path) -> None:
    _files(tmp_path, "OTHER", [(["a", "b"], "torch", True), (["c", "d"], "torch", True)])
    fps, chunks = _one_chunk(["a", "b", "c", "d"])
    notes: list[str] = []
    found, _ = finished_parts(tmp_path, "K", fps, chunks, notes.append)
    assert found == {}
    assert any("2 chunks computed with a different backbone" in n for n in notes)


def test_a_row_without_a_read_error_is_preferred_to_one_with(tmp_path: Path) -> None:
    flaky_err = RETRY_PREFIX + "I/O error"

    def fp(ids: list[str]) -> str:
        return fingerprint("K", [(i, f"/nowhere/{i}.jpg") for i in ids])

    # file names sort by fingerprint: for "a" the file with its read error comes
    # last, for "b" first, so neither "the first row found" nor "the last" passes
    assert fp(["a", "a2"]) > fp(["a"]) and fp(["b", "b2"]) < fp(["b"])
    for n in ("a", "b"):
        write_chunk(tmp_path, "K", fp([n, n + "2"]), 0, "torch", [n, n + "2"], np.ones((2, 2)),
                    np.array([False, True]), [flaky_err, None])  # fmt: skip
        write_chunk(tmp_path, "K", fp([n]), 1, "torch", [n], np.ones((1, 2)), np.array([True]),
                    [None])  # fmt: skip
    fps, chunks = _one_chunk(["a", "a2", "b", "b2"])
    found, retry = finished_parts(tmp_path, "K", fps, chunks, [].append)
    assert list(found) == fps and retry == {}
    table = read_chunk_file(found[fps[0]], "K", fps[0])
    assert table is not None and table.column("has_image").to_pylist() == [True] * 4
    assert table.column("error").to_pylist() == [None] * 4


def test_chunk_files_holding_an_image_removed_since_are_not_reused(
    tmp_path: Path, stopped: Callable[..., None]
) -> None:
    folder = image_folder(tmp_path / "imgs", N)
    out = tmp_path / "v.parquet"
    stopped(folder, out)
    (folder / "007.jpg").unlink()
    res = embed_tiny(folder, out, chunk_size=8)
    assert 0 < res.n_reused < N - 1
    assert any("1 chunk for other or changed images" in n for n in res.notes)
    got = read_vectors(out)
    assert "007" not in list(got.ids) and got.has_image.all()
    assert np.allclose(got.vectors, _fresh(folder, 8), atol=1e-5)


def test_the_chunks_the_output_holds_are_not_written_again_from_chunk_files(
    tmp_path: Path, stopped: Callable[..., None]
) -> None:
    folder = image_folder(tmp_path / "imgs", N)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out, chunk_size=8)  # finished
    image_folder(tmp_path / "more", N + 1)
    (tmp_path / "more" / f"{N:03d}.jpg").rename(folder / f"{N:03d}.jpg")  # one more image
    stopped(folder, out)  # then a run with chunks of 4, interrupted before its last one
    key = backbone_key(TinyBackbone())
    for f in parts_dir(out).glob("chunk-*.parquet"):
        table = read_chunk_file(f, key, f.stem.removeprefix("chunk-"))
        assert table is not None
        if f"{N:03d}" in table.column("item_id").to_pylist():
            f.unlink()
    res = embed_tiny(folder, out, chunk_size=None)  # 8, the output's
    last = cut_chunks([(f"{i:03d}", "") for i in range(N + 1)], 8)[-1]
    assert len(last) >= 2
    assert (res.n_reused, res.n_computed) == (N + 1 - len(last), len(last))
    (said,) = [n for n in res.notes if "cut otherwise" in n]
    assert said.endswith(
        f": 0 of their images reused; {len(last) - 1} computed again, as their chunks here "
        "are only part done"
    )


def test_a_chunk_of_a_file_of_unknown_engine_has_an_unknown_engine(tmp_path: Path) -> None:
    _files(tmp_path, "K", [(["a", "b"], None, True), (["c", "d"], "torch", True)])
    fps, chunks = _one_chunk(["a", "b", "c", "d"])
    found, _ = finished_parts(tmp_path, "K", fps, chunks, [].append)
    table = read_chunk_file(found[fps[0]], "K", fps[0])
    assert table is not None and chunk_engine(table) is None


def test_images_with_a_read_error_are_not_counted_as_finished(tmp_path: Path) -> None:
    flaky_err = RETRY_PREFIX + "I/O error"
    for k, (i, err) in enumerate([("a", flaky_err), ("b", None)]):
        fp = fingerprint("K", [(i, f"/nowhere/{i}.jpg")])
        write_chunk(tmp_path, "K", fp, k, "torch", [i], np.ones((1, 2)),
                    np.array([err is None]), [err])  # fmt: skip
    fps, chunks = _one_chunk(["a", "b", "c"])  # "c" not finished
    notes: list[str] = []
    found, _ = finished_parts(tmp_path, "K", fps, chunks, notes.append)
    assert found == {}
    assert notes == [
        f"{tmp_path}: chunk files of an interrupted run whose chunks were cut otherwise "
        "(another chunk size, or images added since): 0 of their images reused; 1 computed "
        "again, as their chunks here are only part done"
    ]


def test_a_chunk_file_damaged_on_disk_is_not_used_to_put_a_chunk_together(
    tmp_path: Path,
) -> None:
    _files(tmp_path, "K", [(["a", "b"], "torch", True), (["c", "d"], "torch", True)])
    cd = tmp_path / f"chunk-{fingerprint('K', [(i, f'/nowhere/{i}.jpg') for i in 'cd'])}.parquet"
    flip_vector_page(cd)  # the vectors, not the ids: found only by the page CRC
    fps, chunks = _one_chunk(["a", "b", "c", "d"])
    notes: list[str] = []
    found, _ = finished_parts(tmp_path, "K", fps, chunks, notes.append)
    assert found == {}
    assert notes[-1].endswith(
        ": 0 of their images reused; 4 computed again, as their chunks here are only part done"
    )
