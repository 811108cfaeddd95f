"""Session 50, leftovers: the ONNX cache's failed write is a ``WriteError`` like every
other; a failed rename keeps its second path; ``Recommender.load`` names a file in the
way as ``save`` does; a one-split rating report says no "on average"; and a read the
system refuses is a ``ReadError`` (a ``VisrecError`` and an ``OSError``), as a refused
write is a ``WriteError``."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import visrec._parquet
from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.data.tables import load_interactions
from visrec.embed import onnx_engine, store
from visrec.embed.store import ItemVectors, read_vector_ids, read_vectors, write_vectors
from visrec.errors import (
    InputNotFoundError,
    ReadError,
    VisrecError,
    WriteError,
    read_error,
    write_error,
)
from visrec.models.base import Recommender
from visrec.models.popularity import Popularity
from visrec.report.rating import _visual_term

#: pyarrow's words for a file it may not open (its OSError, errno 13)
ARROW_EACCES = "Failed to open local file '{}'. Detail: [errno 13] Permission denied"


def _popularity() -> Popularity:
    rows = [("a", "x"), ("a", "y"), ("b", "x")]
    return Popularity().fit(
        Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    )


# --- 1. the ONNX cache's failed write is a WriteError ------------------------------


def test_an_onnx_cache_the_system_refuses_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.embed.backbones import get_backbone

    def refused(backbone: Any, path: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(onnx_engine, "export_onnx", refused)
    with pytest.raises(onnx_engine.CacheUnwritable) as caught:
        onnx_engine.cached_onnx_path(get_backbone("efficientnet-lite0"), tmp_path)
    err = caught.value
    # one `except OSError` (or WriteError) catches it as it does any failed write
    assert isinstance(err, WriteError) and isinstance(err, OSError)
    assert err.errno == errno.EACCES and err.exit_status == 1
    assert err.filename is not None and str(err.filename).startswith(str(tmp_path))
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is onnx_engine.CacheUnwritable and str(again) == str(err)
    assert again.exit_status == 1


def test_an_onnx_cache_folder_blocked_by_a_file_is_a_write_error_of_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.embed.backbones import get_backbone

    (tmp_path / "f").write_text("")
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "f"))
    with pytest.raises(WriteError, match=r"^VISREC_CACHE: '.*/f' is a file, not a folder") as info:
        onnx_engine.cached_onnx_path(get_backbone("efficientnet-lite0"))
    assert info.value.exit_status == 2  # a wrong path, no refusal of the system


def test_embed_says_an_onnx_cache_error_in_its_own_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # embed's `except OSError` words a failed write of its output; the cache's error,
    # an OSError now, passes it as it is (kills: dropping VisrecError from its isinstance)
    import visrec.embed.extract as extract

    said = "cannot write the ONNX model cache /c/x.onnx (Permission denied); set VISREC_CACHE"

    def refused(*args: Any, **kwargs: Any) -> None:
        raise onnx_engine.CacheUnwritable(said, errno.EACCES, "Permission denied", "/c/x.onnx")

    monkeypatch.setattr(extract, "embed_images", refused)
    images = tmp_path / "img"
    images.mkdir()
    (images / "a.jpg").write_bytes(b"\xff\xd8\xff")
    out = tmp_path / "v.parquet"
    assert main(["embed", str(images), "-o", str(out), "--engine", "onnx", "--quiet"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {said}"


# --- 2. a failed rename keeps its second path ---------------------------------------


@pytest.mark.parametrize("make", [write_error, read_error])
def test_a_failed_renames_second_path_is_kept_and_pickled(tmp_path: Path, make: Any) -> None:
    a, b = tmp_path / "missing", tmp_path / "b"
    with pytest.raises(OSError) as caught:
        os.rename(a, b)
    err = make("cannot rename", caught.value)
    assert (err.filename, err.filename2) == (str(a), str(b))
    err.add_note("while saving")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and str(again) == "cannot rename"
    assert (again.errno, again.filename, again.filename2) == (errno.ENOENT, str(a), str(b))
    assert again.__notes__ == ["while saving"] and again.exit_status == 2


# --- 3. Recommender.load names a file in the way ------------------------------------


def test_load_under_a_file_names_that_file(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(InputNotFoundError) as caught:
        Recommender.load(f / "model")
    assert str(caught.value) == (
        f"cannot load the model from {str(f / 'model')!r}: {str(f)!r} is a file, not a folder"
    )
    # as save says it (the same words after the colon)
    with pytest.raises(VisrecError) as saved:
        _popularity().save(f / "model")
    assert str(saved.value).endswith(f"{str(f)!r} is a file, not a folder")


# --- 4. a one-split rating report says no "on average" ------------------------------


def test_the_rating_reports_picture_term_on_one_split_says_one_seed() -> None:
    one = pd.DataFrame({"seed": [0, 0], "model": ["mf", "vmf"], "rmse": [0.95, 0.94]})
    # 0.94 - 0.95 on the one seed; a sign test needs 3 seeds of 3 (p = 0.125) to call
    assert _visual_term(one, "mf", "vmf") == (
        "The picture in the MF (vmf vs mf): -0.0100 RMSE on one seed (negative is "
        "better); run --seeds 3 or more to call it."
    )
    two = pd.DataFrame(
        {"seed": [0, 0, 1, 1], "model": ["mf", "vmf"] * 2, "rmse": [0.95, 0.94, 0.95, 0.93]}
    )
    # two seeds: a mean, -0.015, and how each went
    assert "-0.0150 RMSE on average (negative is better), better on 2 of 2 seeds" in (
        _visual_term(two, "mf", "vmf")
    )


# --- 5. a read the system refuses is a ReadError ------------------------------------


def test_read_error_is_an_oserror_with_the_calls_errno() -> None:
    err = read_error("x.json: cannot read", PermissionError(errno.EACCES, "no", "x.json"))
    assert isinstance(err, VisrecError) and isinstance(err, OSError)
    assert not isinstance(err, WriteError)  # `except WriteError` is about outputs
    assert (err.errno, err.filename, err.exit_status) == (errno.EACCES, "x.json", 1)
    assert str(err) == "x.json: cannot read"


def test_a_model_json_the_system_refuses_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _popularity().save(tmp_path / "m")
    mj = folder / "model.json"
    real = Path.read_text

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == mj:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(ReadError) as caught:
        Recommender.load(folder)
    assert str(caught.value) == (
        f"{mj}: cannot be read (Permission denied)"  # the path said once
    )
    assert caught.value.errno == errno.EACCES and caught.value.exit_status == 1


def _vectors(path: Path) -> Path:
    ids = np.array(["a", "b"])
    write_vectors(path, ItemVectors(ids, np.eye(2, 3, dtype=np.float32), np.ones(2, bool)))
    return path


def _arrow_refuses(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    def refused(p: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, ARROW_EACCES.format(p))

    monkeypatch.setattr(module, name, refused)


def test_a_vectors_file_the_system_refuses_is_a_read_error_of_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = str(_vectors(tmp_path / "v.parquet"))
    _arrow_refuses(monkeypatch, store, "_read_table")
    said = f"{p}: cannot read as Parquet ([Errno 13] {ARROW_EACCES.format(p)})"  # as before
    with pytest.raises(ReadError) as caught:
        read_vectors(p)
    assert str(caught.value) == said
    assert caught.value.errno == errno.EACCES and caught.value.exit_status == 1
    # the CLI: a refusal of the system (it was exit 2, as for a damaged file)
    assert main(["similar", p, "a"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {said}"


def test_a_foreign_file_read_for_its_ids_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no vector column: read_vector_ids hands it to read_vectors, whose ReadError (an
    # OSError) is not worded again by read_vector_ids' own `except OSError`
    p = str(tmp_path / "t.parquet")
    pd.DataFrame({"item_id": ["a"]}).to_parquet(p)
    _arrow_refuses(monkeypatch, store, "_read_table")
    with pytest.raises(ReadError) as caught:
        read_vector_ids(p)
    assert str(caught.value).count("cannot read as Parquet") == 1


def test_an_interactions_parquet_the_system_refuses_is_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "i.parquet"
    pd.DataFrame({"user_id": ["u"], "item_id": ["a"]}).to_parquet(p)
    _arrow_refuses(monkeypatch, visrec._parquet, "read_columns")
    with pytest.raises(ReadError) as caught:
        load_interactions(p)
    assert str(caught.value) == (
        f"{p}: cannot read parquet ([Errno 13] {ARROW_EACCES.format(p)})"  # as before
    )
    assert caught.value.exit_status == 1


def test_a_damaged_parquet_file_stays_a_bad_input(tmp_path: Path) -> None:
    # pyarrow's error for the file's bytes carries no errno: the file, not the system
    p = tmp_path / "v.parquet"
    p.write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    for read in (read_vectors, load_interactions):
        with pytest.raises(VisrecError) as caught:
            read(p)
        assert not isinstance(caught.value, OSError) and caught.value.exit_status == 2
