"""Session 50, ``except OSError`` sites: visrec's own errors that are OSErrors (a
``WriteError``, a ``ReadError``, the ``OutputPathError`` of an output path that is a
folder) must not be caught and worded again as if the system had failed; and reads and
writes the system refuses keep their errno (exit status 1) where they were still said
as damage (exit status 2, "train the model again")."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from visrec._atomic import atomic_path, write_text_atomic
from visrec.data.interactions import Interactions
from visrec.embed import onnx_engine
from visrec.errors import ReadError, VisrecError, WriteError
from visrec.models import model_folder
from visrec.models.base import Recommender
from visrec.models.popularity import Popularity


def _popularity() -> Popularity:
    rows = [("a", "x"), ("a", "y"), ("b", "x")]
    return Popularity().fit(
        Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    )


def _refused(path: object) -> PermissionError:
    return PermissionError(errno.EACCES, "Permission denied", str(path))


# --- 1. something not a file at the ONNX cache's names ---------------------------


@pytest.fixture
def cache_export(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The export replaced by its writes alone (the model's file, then its digest), as
    the real one makes them: the paths it was asked to write."""
    asked: list[Path] = []

    def export(backbone: Any, path: Path) -> Path:
        asked.append(path)
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"onnx")
        write_text_atomic(path.with_suffix(".sha256"), "digest\n")
        return path

    monkeypatch.setattr(onnx_engine, "export_onnx", export)
    return asked


def _cache_file(folder: Path) -> Path:
    from visrec.embed.backbones import get_backbone

    return folder / f"{onnx_engine.export_key(get_backbone('efficientnet-lite0'))}.onnx"


def _cached(folder: Path) -> Path:
    from visrec.embed.backbones import get_backbone

    return onnx_engine.cached_onnx_path(get_backbone("efficientnet-lite0"), folder)


def test_a_folder_at_the_onnx_cache_file_is_said_once_in_the_caches_words(
    tmp_path: Path, cache_export: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the write's OutputPathError (an OSError) was caught by the export's `except
    # OSError` and worded again: "cannot write the ONNX model cache X (output path 'X'
    # is a directory; name a file)", advice for an output the user names
    monkeypatch.delenv("VISREC_CACHE", raising=False)  # the folder named in its words
    target = _cache_file(tmp_path)
    target.mkdir()
    with pytest.raises(onnx_engine.CacheUnwritable) as caught:
        _cached(tmp_path)
    said = str(caught.value)
    assert said == (
        f"the cache folder: '{target}' is a folder, where the ONNX export keeps a file; "
        "remove it or set VISREC_CACHE to another folder"
    )
    assert cache_export == []  # refused before any export
    assert caught.value.exit_status == 2  # a wrong thing in the way, not a refusal


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_at_the_onnx_caches_digest_is_a_cache_error_before_the_export(
    tmp_path: Path, cache_export: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # was a plain VisrecError from the digest's write, after the export: no
    # CacheUnwritable, so engine "auto" failed instead of running torch
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path))
    digest = _cache_file(tmp_path).with_suffix(".sha256")
    os.mkfifo(digest)
    with pytest.raises(onnx_engine.CacheUnwritable, match=r"^VISREC_CACHE: '.*\.sha256' is a pipe"):
        _cached(tmp_path)
    assert cache_export == []


def test_a_free_onnx_cache_is_exported_into(tmp_path: Path, cache_export: list[Path]) -> None:
    # the check above refuses only what is in the way
    assert _cached(tmp_path) == _cache_file(tmp_path) == cache_export[0]


# --- 2. a vectors file recommend may not read ---------------------------------------


def test_a_vectors_file_recommend_may_not_read_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.embed.store as store
    from visrec.commands._new_items import vectors_file_meta

    path = tmp_path / "v.parquet"
    path.write_bytes(b"PAR1 damaged")

    # a damaged file stays a bad input (exit 2)
    with pytest.raises(VisrecError, match=r"cannot be read as Parquet") as damaged:
        vectors_file_meta(str(path))
    assert not isinstance(damaged.value, OSError) and damaged.value.exit_status == 2

    def refused(p: Any) -> None:
        raise _refused(p)

    # pyarrow's PermissionError (as root, chmod refuses nothing: its error stood in for)
    monkeypatch.setattr(store, "read_vectors_meta", refused)
    with pytest.raises(ReadError) as caught:
        vectors_file_meta(str(path))
    err = caught.value
    assert str(err).startswith(f"vectors file {str(path)!r} cannot be read as Parquet (")
    assert err.errno == errno.EACCES and err.exit_status == 1


# --- 3. a model folder save may not list ------------------------------------------


def test_a_model_folder_save_may_not_list_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    listing = Path.iterdir

    def iterdir(self: Path) -> Any:
        if self == folder:
            raise _refused(self)
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(WriteError) as caught:
        _popularity().save(folder)
    err = caught.value
    assert str(err) == f"cannot save the model to {str(folder)!r}: Permission denied"
    assert err.errno == errno.EACCES and err.exit_status == 1


# --- 4. a model's arrays load may not open ----------------------------------------


def test_model_arrays_load_may_not_open_are_a_read_error_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _popularity().save(tmp_path / "m")
    npz = folder / "arrays.npz"

    def opened(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path) == npz:
            raise _refused(path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(model_folder, "open", opened, raising=False)
    with pytest.raises(ReadError) as caught:
        Recommender.load(folder)
    err = caught.value
    # was "unreadable or corrupt (PermissionError: ...); train the model again", exit 2
    assert str(err) == f"{npz}: cannot be read (Permission denied)"
    assert err.errno == errno.EACCES and err.exit_status == 1
