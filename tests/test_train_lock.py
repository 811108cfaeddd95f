"""One `visrec train` per model folder at a time: a second one on the same -o stops,
naming the first, before it touches the saved training state or the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from visrec._atomic import exclusive_lock, lock_path
from visrec.cli import main


def _ratings(tmp_path: Path) -> Path:
    rows = [f"u{u},i{(u + k) % 9}" for u in range(12) for k in range(4)]
    path = tmp_path / "t.csv"
    path.write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
    return path


def test_a_second_train_on_the_same_folder_stops_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    argv = ["train", "--model", "bpr", "--interactions", str(_ratings(tmp_path)), "-o",
            str(out), "--param", "epochs=2", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    with exclusive_lock(out, "visrec train"):  # a fit in progress
        assert main([*argv, "--seed", "1"]) == 75  # busy: EX_TEMPFAIL, try again later
        err = capsys.readouterr().err
    assert err.startswith(
        f"error: {out} is being written by another visrec train (pid {os.getpid()}"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not (tmp_path / ".model.checkpoint").exists()
    assert main([*argv, "--seed", "1"]) == 0  # once it is let go
    assert not lock_path(out).exists()
