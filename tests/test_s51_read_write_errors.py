"""Failed reads said as reads, failed writes as writes: a text table the system will not
let visrec read (a ReadError naming it, not a bare PermissionError), the reads inside
`visrec embed` (the existing output, a chunk file, the weights; the CLI worded every
OSError as a failed write), and the ONNX cache exported again after onnxruntime could
not load it (a failed write was a raw OSError, not the first export's CacheUnwritable)."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from test_embed import TinyBackbone
from visrec.cli import main
from visrec.errors import ReadError, WriteError

DENIED = "Permission denied"


def _refuse_reading(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """``path.read_bytes()`` refused as ``chmod 000`` refuses it (root reads anyway)."""
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == path:
            raise PermissionError(errno.EACCES, DENIED, str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def _table(path: Path) -> Path:
    rows = [f"u{u},i{(u + j) % 7},{1 + (u + j) % 5}" for u in range(6) for j in range(3)]
    path.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    return path


# --------------------------------------------------- 3. text tables: decode_text


def _load_interactions(p: Path) -> Any:
    from visrec.data.tables import load_interactions

    return load_interactions(p)


def _load_items(p: Path) -> Any:
    from visrec.data.item_tables import load_item_table

    return load_item_table(p)


def _load_manifest(p: Path) -> Any:
    from visrec.data.images_index import load_manifest

    return load_manifest(p)


@pytest.mark.parametrize("load", [_load_interactions, _load_items, _load_manifest])
def test_an_unreadable_text_table_is_a_read_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: Any
) -> None:
    path = tmp_path / "table.csv"
    path.write_text("item_id,path\na,a.jpg\n")
    _refuse_reading(monkeypatch, path)
    with pytest.raises(ReadError) as info:  # was a bare PermissionError
        load(path)
    assert str(info.value) == f"{path}: cannot read ({DENIED})"
    assert info.value.exit_status == 1 and info.value.errno == errno.EACCES
    assert info.value.filename == str(path)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a chmod 000 file"
)
def test_a_chmod_000_table_is_a_read_error(tmp_path: Path) -> None:
    path = _table(tmp_path / "train.csv")
    path.chmod(0)
    try:
        with pytest.raises(ReadError, match=rf"^{path}: cannot read \({DENIED}\)$"):
            _load_interactions(path)
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_train_and_evaluate_say_an_unreadable_table_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    path = _table(tmp_path / "train.csv")
    _refuse_reading(monkeypatch, path)
    argv = [
        command,
        "--interactions",
        str(path),
        "--models" if command == "evaluate" else "--model",
    ]
    argv += ["popularity"]
    if command == "train":
        argv += ["-o", str(tmp_path / "m")]
    assert main(argv) == 1  # the system refused, as for a Parquet file
    # was "error: 'PATH': Permission denied" from the CLI's last-resort handler
    assert capsys.readouterr().err == f"error: {path}: cannot read ({DENIED})\n"
    assert not (tmp_path / "m").exists()


def test_a_folder_given_for_a_table_is_still_said_so(tmp_path: Path) -> None:
    # kills: the new `except OSError` placed before `except IsADirectoryError`
    from visrec.data.text_files import decode_text
    from visrec.errors import VisrecError

    with pytest.raises(VisrecError, match=r": is a folder, expected a file$"):
        decode_text(tmp_path)


# ------------------------------------------------------- 1. the reads of embed


def _images(folder: Path, ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in ids:
        arr = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i}.jpg")
    return folder


@pytest.fixture
def tiny_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`visrec embed` with an 8-d random conv net on torch: milliseconds."""
    import visrec.embed.extract as extract_mod

    real = extract_mod.embed_images

    def embed(*args: Any, **kw: Any) -> Any:
        kw["backbone"], kw["engine"] = TinyBackbone(), "torch"
        return real(*args, **kw)

    monkeypatch.setattr(extract_mod, "embed_images", embed)


def _refused_schema(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    """pyarrow's refusal to open ``out`` (its OSError says the errno in its text too)."""
    import visrec.embed.store as store

    real = store.read_vectors_meta

    def read_meta(path: Any) -> Any:
        if Path(path) == out:
            raise PermissionError(
                errno.EACCES,
                f"Failed to open local file '{out}'. Detail: [errno 13] {DENIED}",
            )
        return real(path)

    monkeypatch.setattr(store, "read_vectors_meta", read_meta)


@pytest.mark.parametrize("overwrite", [False, True])
def test_embed_says_an_unreadable_output_is_unreadable_and_keeps_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_cli: None,
    overwrite: bool,
) -> None:
    # was "exists and is not a visrec vectors file" (exit 2); with --overwrite the file,
    # which may well be the user's vectors, was replaced unread
    folder = _images(tmp_path / "imgs", ["a", "b"])
    out = tmp_path / "v.parquet"
    out.write_bytes(b"PAR1 whatever it holds PAR1")
    _refused_schema(monkeypatch, out)
    argv = ["embed", str(folder), "-o", str(out), "-q", *(["--overwrite"] if overwrite else [])]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out}: cannot read") and err.count("\n") == 1
    assert f"[errno 13] {DENIED}" in err and "not a visrec vectors file" not in err
    assert out.read_bytes() == b"PAR1 whatever it holds PAR1"


def test_a_folder_at_the_output_is_still_foreign_not_unreadable(tmp_path: Path) -> None:
    # kills: is_foreign_file raising for every OSError (pyarrow's "is a directory"
    # has no errno: not a refusal)
    from visrec.embed.store import is_foreign_file

    assert is_foreign_file(tmp_path) is True


def test_a_chunk_file_that_cannot_be_read_back_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.embed.output as output
    from visrec.embed.extract import embed_images

    def failing(path: Any, columns: Any = None) -> Any:
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(output, "read_columns", failing)  # assemble's read of each chunk
    folder = _images(tmp_path / "imgs", ["a", "b"])
    items = {p.stem: p for p in sorted(folder.iterdir())}
    out = tmp_path / "v.parquet"
    with pytest.raises(ReadError) as info:  # was the bare OSError
        embed_images(items, out, backbone=TinyBackbone(), engine="torch", progress=False)
    assert not isinstance(info.value, WriteError)
    assert "v.parquet.parts" in str(info.value) and "chunk-" in str(info.value)
    assert info.value.exit_status == 1 and not out.exists()


def test_a_damaged_chunk_file_is_said_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _reading catching OSError only (pyarrow says a damaged page with an
    # ArrowInvalid, no OSError: it came out of embed_images as it was)
    import pyarrow as pa

    import visrec.embed.output as output
    from visrec.embed.extract import embed_images
    from visrec.errors import VisrecError

    def damaged(path: Any, columns: Any = None) -> Any:
        raise pa.ArrowInvalid("Couldn't deserialize thrift: TProtocolException")

    monkeypatch.setattr(output, "read_columns", damaged)
    folder = _images(tmp_path / "imgs", ["a"])
    with pytest.raises(VisrecError, match=r"chunk-.*: cannot read as Parquet \(Couldn't") as info:
        embed_images(
            {"a": folder / "a.jpg"},
            tmp_path / "v.parquet",
            backbone=TinyBackbone(),
            engine="torch",
            progress=False,
        )
    assert not isinstance(info.value, ReadError) and info.value.exit_status == 2


def test_the_cli_does_not_call_a_failed_chunk_read_a_write(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_cli: None,
) -> None:
    import visrec.embed.output as output

    def failing(path: Any, columns: Any = None) -> Any:
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(output, "read_columns", failing)
    folder = _images(tmp_path / "imgs", ["a", "b"])
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 1
    err = capsys.readouterr().err
    assert ": cannot read as Parquet (" in err and "Input/output error" in err


def test_a_reused_row_group_that_cannot_be_read_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    import visrec.embed.extract as extract_mod
    from visrec.embed.extract import embed_images

    folder = _images(tmp_path / "imgs", ["a", "b", "c"])
    paths = {p.stem: p for p in sorted(folder.iterdir())}
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": False}
    embed_images({i: paths[i] for i in "ab"}, out, chunk_size=1, **kw)  # a chunk each
    before = out.read_bytes()

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EIO, "Input/output error")

    # assemble's read of the old output's row groups (the check of their ids, which
    # reads them too and recomputes a damaged one, left as it was)
    monkeypatch.setattr(extract_mod, "holding_their_chunks", lambda out, old, *a: old)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", failing)
    with pytest.raises(ReadError, match=rf"^{out}: cannot read as Parquet \("):
        embed_images(paths, out, chunk_size=1, **kw)
    assert out.read_bytes() == before  # the old output is kept as it was


def test_an_existing_output_that_cannot_be_opened_for_reuse_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: old_output's open of the existing output left unwrapped (a bare OSError)
    import visrec.embed.output as output
    from visrec.embed.extract import embed_images

    folder = _images(tmp_path / "imgs", ["a", "b"])
    paths = {p.stem: p for p in sorted(folder.iterdir())}
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": False}
    embed_images(paths, out, **kw)

    def refused(path: Any, **options: Any) -> Any:
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(output, "open_parquet", refused)
    with pytest.raises(ReadError, match=rf"^{out}: cannot read as Parquet \(.*Input/output"):
        embed_images(paths, out, **kw)


def test_unreadable_weights_are_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.embed.backbones as backbones

    weights = tmp_path / "w.pth"
    weights.write_bytes(b"weights")

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, DENIED, str(weights))

    monkeypatch.setattr(backbones, "open", refused, raising=False)
    with pytest.raises(ReadError) as info:  # was the bare PermissionError
        _ = backbones.EfficientNetLite0(weights).weights_id
    assert str(info.value) == f"weights file {str(weights)!r}: cannot read ({DENIED})"
    assert info.value.exit_status == 1


# ------------------------------------------------ 2. the ONNX cache exported again


def _unloadable_cache(folder: Path) -> Path:
    """A cached export onnxruntime cannot load, with a digest that matches it (as after
    an onnxruntime upgrade): only the engine's load finds out."""
    from visrec.embed.onnx_engine import export_key

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{export_key(TinyBackbone())}.onnx"
    path.write_bytes(b"not an onnx graph")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".sha256").write_text(digest + "\n")
    return path


def test_a_failed_re_export_is_the_caches_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from visrec.embed import onnx_engine
    from visrec.embed.onnx_engine import CacheUnwritable, OnnxEngine

    path = _unloadable_cache(tmp_path / "cache")

    def refused(backbone: Any, target: Any) -> Any:
        raise PermissionError(errno.EACCES, DENIED, str(target))

    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".sha256":  # a read-only cache refuses its removal too
            raise PermissionError(errno.EACCES, DENIED, str(self))
        real_unlink(self, missing_ok)

    monkeypatch.setattr(onnx_engine, "export_onnx", refused)
    # kills: the digest's removal suppressing FileNotFoundError only (its
    # PermissionError came out instead of the export's message)
    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(CacheUnwritable) as info:  # was the bare PermissionError
        OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path / "cache")
    assert str(info.value).startswith(f"cannot write the ONNX model cache {path} ({DENIED})")
    assert info.value.exit_status == 1


def test_auto_runs_torch_when_the_re_export_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from visrec.embed import onnx_engine
    from visrec.embed.engines import TorchEngine, make_engine

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    path = _unloadable_cache(onnx_engine.cache_dir())

    def full(backbone: Any, target: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(onnx_engine, "export_onnx", full)
    monkeypatch.setattr(onnx_engine, "onnx_available", lambda: True)
    monkeypatch.setattr("visrec.embed.engines.auto_engine_name", lambda dev: "onnx")
    with pytest.warns(RuntimeWarning, match=r"No space left on device\); free space"):
        assert isinstance(make_engine(TinyBackbone(), "auto", "cpu"), TorchEngine)
    # kills: the digest kept: the file onnxruntime cannot load would pass as good
    assert not path.with_suffix(".sha256").exists()


def test_an_unloadable_cache_is_exported_again_and_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from visrec.embed.onnx_engine import OnnxEngine, _cache_valid

    path = _unloadable_cache(tmp_path / "cache")
    with caplog.at_level("WARNING", logger="visrec"):
        eng = OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path / "cache")
    assert path.read_bytes() != b"not an onnx graph" and _cache_valid(path)
    x = np.zeros((2, 3, 32, 32), dtype=np.float32)
    assert eng(x).shape == (2, 8)
    said = [r.getMessage() for r in caplog.records if "exporting again" in r.getMessage()]
    assert len(said) == 1 and "cannot be loaded by onnxruntime" in said[0]
