"""visrec recommend --items that is no plain file: a pipe is read, a folder is named as
one, an unreadable file is one line (not "does not exist", not a traceback)."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main
from visrec.commands.recommend import read_candidates
from visrec.errors import VisrecError


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe that a thread fills with two ids, as ``--items <(echo ...)`` is."""
    path = tmp_path / "items.fifo"
    os.mkfifo(path)

    def feed() -> None:
        with open(path, "w") as fh:  # blocks until the reader opens it
            fh.write("m1\nm7\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    yield path
    if writer.is_alive():  # nobody read it, or the writer is still ending
        # non-blocking: a blocking open waited for ever when the writer had just closed
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            writer.join(5)  # the writer's open pairs with this one, if it still waits
        finally:
            os.close(fd)
    writer.join(5)


def test_a_pipe_is_read(fifo: Path) -> None:
    assert read_candidates(str(fifo)) == ["m1", "m7"]


def test_ids_keep_unicode_line_separators_as_the_loaders_do(tmp_path: Path) -> None:
    # str.splitlines() split 'a\u2028b' in two where the interactions loaders keep it
    f = tmp_path / "c.txt"
    f.write_text("a\u2028b\nc\n", encoding="utf-8")
    assert read_candidates(str(f)) == ["a\u2028b", "c"]


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match=r"^candidates file '.*' is a folder; name a file"):
        read_candidates(str(tmp_path))


def test_a_missing_file_still_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match="does not exist"):
        read_candidates(str(tmp_path / "nope.txt"))


def test_an_unreadable_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "items.txt"
    path.write_text("m1\n")
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(VisrecError) as info:
        read_candidates(str(path))
    assert str(info.value) == f"{path}: cannot read (Permission denied)"


def test_recommend_reads_items_from_a_pipe(
    fifo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"u{u}", f"m{(u + j) % 9}") for u in range(8) for j in range(3)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    model = tmp_path / "model"
    assert main(["train", "--model", "popularity", "--interactions", str(train),
                 "-o", str(model)]) == 0  # fmt: skip
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(model), "--n", "2", "-o", str(out), "--items", str(fifo)]
    assert main(argv) == 0, capsys.readouterr().err
    recs = pd.read_csv(out, dtype=str)
    assert set(recs["item_id"]) <= {"m1", "m7"} and len(recs)


def _full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")  # as a write() says it: no file


def test_a_full_disk_names_the_output_of_recommend_and_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    train = tmp_path / "train.csv"
    train.write_text("user_id,item_id\nu1,m1\nu1,m2\nu2,m1\n")
    model = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(train), "-o", str(model)])
        == 0
    )
    recs = tmp_path / "recs.csv"
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(pd.DataFrame, "to_csv", _full)
        assert main(["recommend", str(model), "--n", "2", "-o", str(recs)]) == 1
    assert capsys.readouterr().err == f"error: {str(recs)!r}: No space left on device\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "train.csv"]
    # the model's arrays, saved into a hidden folder first: the error names the user's
    monkeypatch.setattr(np, "savez", _full)
    assert (
        main(
            [
                "train",
                "--model",
                "popularity",
                "--interactions",
                str(train),
                "-o",
                str(tmp_path / "m2"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == f"error: {str(tmp_path / 'm2' / 'arrays.npz')!r}: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "train.csv"]
