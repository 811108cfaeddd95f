"""Session 69 kill review: what a killed or interrupted long job leaves, and how its
rerun and its final rename behave."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec import _atomic
from visrec.cli import main
from visrec.commands import _recs_progress


def _popularity_model(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(20) for i in rng.integers(0, 15, size=4)}
    train = tmp_path / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(train, index=False)
    out = tmp_path / "pop"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out


def _recommend(model_dir: Path, out: Path) -> int:
    return main(["recommend", str(model_dir), "--n", "3", "-o", str(out), "--quiet"])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_recommend_keeps_the_mode_of_the_recs_file_it_replaces(tmp_path: Path) -> None:
    # recommend renames its own partial rows file onto -o, not through atomic_path: a
    # chmod 600 recs.csv came back 0644, as every other output no longer does
    model_dir = _popularity_model(tmp_path)
    out = tmp_path / "recs.csv"
    out.write_text("user_id,item_id,rank,score\nold\n")  # an earlier list: replaced
    out.chmod(0o600)
    assert _recommend(model_dir, out) == 0
    assert out.read_text().startswith(_recs_progress.HEADER)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_recommend_syncs_the_rows_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the rows after the last resume record were never synced, and the rename not at
    # all: a power cut could leave recs.csv cut short (what "synced to disk, then
    # renamed" promises against)
    model_dir = _popularity_model(tmp_path)
    out = tmp_path / "recs.csv"
    events: list[tuple[str, str]] = []
    real_sync, real_replace = _atomic.sync_path, os.replace

    def sync(path: Path) -> None:
        events.append(("sync", os.fspath(path)))
        real_sync(path)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(("replace", os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(_recs_progress, "sync_path", sync, raising=False)
    monkeypatch.setattr(_atomic, "sync_path", sync)
    monkeypatch.setattr(_recs_progress.os, "replace", replace)
    assert _recommend(model_dir, out) == 0
    rows = os.fspath(_recs_progress.side_files(out)[0])
    i = events.index(("replace", os.fspath(out)))
    assert ("sync", rows) in events[:i]
    assert ("sync", os.fspath(out.parent)) in events[i + 1 :]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_train_over_a_private_model_folder_keeps_its_permissions(tmp_path: Path) -> None:
    # the save swaps in a new folder made with the umask's mode: a `chmod 700` model
    # folder (its users' ids and seen items) came back 0755, its files 0644
    model_dir = _popularity_model(tmp_path)
    model_dir.chmod(0o700)
    (model_dir / "model.json").chmod(0o600)
    _popularity_model(tmp_path)  # the same -o again: replaced
    assert stat.S_IMODE(model_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((model_dir / "model.json").stat().st_mode) == 0o600


def test_recommend_removes_the_temporary_file_of_a_record_write_a_kill_cut_short(
    tmp_path: Path,
) -> None:
    # a `kill -9` while the resume record was written (write_text_atomic) left
    # `.recs.csv.partial.json.<hex>.tmp`; the rerun, holding the output's lock, finished
    # and left it beside recs.csv (swept only by a later run, once an hour old)
    model_dir = _popularity_model(tmp_path)
    out = tmp_path / "recs.csv"
    state = _recs_progress.side_files(out)[1]
    left = state.with_name(f".{state.name}.{'ab' * 6}.tmp")
    left.write_text('{"format": 1, "fp"')
    assert _recommend(model_dir, out) == 0
    assert out.read_text().startswith(_recs_progress.HEADER)
    assert not left.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".recs")) == []
