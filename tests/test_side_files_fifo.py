"""Side files visrec reads back on a rerun (evaluate's resume record, train's saved
validation folds and its earlier model's model.json) that are no regular file: a named
pipe there with no writer made the command wait for ever. It is now refused in one line
(the resume record), or redone like a damaged file (a saved fold), before it is opened.
A pipe given as an input (``--interactions <(cat f)``) is still read."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from visrec.cli import main
from visrec.errors import VisrecError
from visrec.evaluation import run_record
from visrec.evaluation.runner import run_experiment
from visrec.models import _checkpoint

UNJAM_AFTER_S = 10.0


@contextlib.contextmanager
def unjammed(fifo: Path) -> Iterator[list[bool]]:
    """Run the block; should it still be running after ``UNJAM_AFTER_S``, open ``fifo``
    at both ends over and over (``O_RDWR`` never blocks on Linux), so that whatever waits
    on it returns and the test fails on its assertions instead of hanging. The list it
    yields is non-empty when that was needed."""
    stop = threading.Event()
    jammed: list[bool] = []

    def unjam() -> None:
        if stop.wait(UNJAM_AFTER_S):
            return
        jammed.append(True)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
            stop.wait(0.05)

    thread = threading.Thread(target=unjam, daemon=True)
    thread.start()
    try:
        yield jammed
    finally:
        stop.set()
        thread.join()


def _evaluate(interactions: Path | str, out: Path, *flags: str) -> list[str]:
    return ["evaluate", "--interactions", str(interactions), "--quiet", "--models",
            "popularity", "--seeds", "1", "--k", "3", "--json", str(out), *flags]  # fmt: skip


def _refused_as_a_pipe(argv: list[str], record: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``visrec ARGV`` stops at once with one line, not reading the pipe ``record``."""
    with unjammed(record) as jammed:
        rc = main(argv)
    assert not jammed, "evaluate waited on the pipe"
    captured = capsys.readouterr()
    assert (rc, captured.out) == (2, "")
    assert captured.err == (
        f"error: {record} is not a regular file (a pipe): remove it, visrec keeps its "
        "resume record there\n"
    )


# ------------------------------------------------------------ evaluate's resume record
@pytest.mark.parametrize("flags", [(), ("--no-resume",)])
def test_a_pipe_as_the_resume_record_is_one_line_not_a_hang(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...]
) -> None:
    out = tmp_path / "o.json"
    record = tmp_path / "o.json.partial.jsonl"
    os.mkfifo(record)
    _refused_as_a_pipe(_evaluate(csv, out, *flags), record, capsys)
    assert not out.exists()  # stopped before any fit: nothing written
    assert record.exists() and not record.is_file()  # not ours to delete


def _make_socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.mkdir(), "a folder"),
        (_make_socket, "a socket"),
        (lambda p: p.symlink_to(os.devnull), "a device"),  # appends would go nowhere
        (lambda p: p.symlink_to(p.name), "a symlink loop"),
    ],
)
def test_other_things_in_the_records_place_are_one_line(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, kind: str
) -> None:
    out = tmp_path / "o.json"
    record = tmp_path / "o.json.partial.jsonl"
    make(record)
    assert main(_evaluate(csv, out)) == 2
    assert capsys.readouterr().err == (
        f"error: {record} is not a regular file ({kind}): remove it, visrec keeps its "
        "resume record there\n"
    )
    assert not out.exists()


def _keep_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Completed runs stay in the record, as they do after an interrupt."""
    monkeypatch.setattr(run_record, "forget", lambda path, plan: None)


def test_a_record_in_the_cache_that_is_a_pipe_is_refused_too(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    argv = ["evaluate", "--interactions", str(csv), "--quiet", "--models", "popularity",
            "--seeds", "1", "--k", "3"]  # fmt: skip
    _keep_records(monkeypatch)
    assert main(argv) == 0  # no --json: the record is in the cache, named after the inputs
    capsys.readouterr()
    (record,) = (tmp_path / "cache" / "evaluate").iterdir()
    record.unlink()
    os.mkfifo(record)
    _refused_as_a_pipe(argv, record, capsys)


def test_a_symlink_to_a_record_is_followed(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    record = tmp_path / "o.json.partial.jsonl"
    argv = _evaluate(csv, out, "--seeds", "2")
    with monkeypatch.context() as m:
        _keep_records(m)
        assert main(argv) == 0
    full = json.loads(out.read_text())
    # the record of seed 0 only, behind a link: the rerun reuses it and fits seed 1
    elsewhere = tmp_path / "kept.jsonl"
    seed0 = [x for x in record.read_text().splitlines() if json.loads(x)["seed"] == 0]
    elsewhere.write_text(seed0[0] + "\n")
    record.unlink()
    record.symlink_to(elsewhere)
    out.unlink()
    capsys.readouterr()
    assert main(argv) == 0
    assert f"resuming: 1 of 2 runs already done ({record})" in capsys.readouterr().err
    got = json.loads(out.read_text())
    assert got["seeds"] == [0, 1]
    metrics = ("seed", "model", "auc", "recall", "ndcg", "hit_rate", "coverage")
    assert [{m: r[m] for m in metrics} for r in got["runs"]] == [
        {m: r[m] for m in metrics} for r in full["runs"]
    ]


def test_run_experiment_refuses_a_pipe_as_resume(tmp_path: Path) -> None:
    record = tmp_path / "r.jsonl"
    os.mkfifo(record)
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "item_id": ["x", "y", "x", "z"]})
    with unjammed(record) as jammed, pytest.raises(VisrecError) as err:
        run_experiment(frame, None, "warm", ["popularity"], seeds=[0], k=2,
                       progress=False, resume=record)  # fmt: skip
    assert not jammed
    assert str(err.value) == (
        f"{record} is not a regular file (a pipe): remove it, visrec keeps its resume record there"
    )


def test_a_pipe_given_as_interactions_is_still_read(csv: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "in.fifo"
    os.mkfifo(pipe)
    text = csv.read_text()

    def feed() -> None:
        with open(pipe, "w") as fh:  # as `<(cat train.csv)` does
            fh.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = tmp_path / "o.json"
    assert main(_evaluate(pipe, out)) == 0
    writer.join(5)
    assert json.loads(out.read_text())["seeds"] == [0]


# ------------------------------------------------------------- train's side files
def test_a_saved_fold_that_is_a_pipe_is_redone_like_a_damaged_one(tmp_path: Path) -> None:
    notes: list[str] = []
    ckpt = _checkpoint.Checkpoint(tmp_path, "key", 0.0, notes.append)
    fold = tmp_path / "profile-fold-1.json"
    os.mkfifo(fold)
    with unjammed(fold) as jammed:
        got = _checkpoint.load_values(ckpt, "profile-fold-1", 2)
    assert not jammed, "load_values waited on the pipe"
    assert got is None
    assert notes == [f"note: {fold}: not a regular file (a pipe), redoing profile-fold-1"]
    assert not os.path.lexists(fold)  # out of the way: the redone fold is kept this time
    _checkpoint.save_values(ckpt, "profile-fold-1", [0.5, 0.25])
    assert ckpt.resumed == []
    assert _checkpoint.load_values(ckpt, "profile-fold-1", 2) == [0.5, 0.25]
    assert ckpt.resumed == ["profile-fold-1"]  # train then says its fit time is partial


def test_a_saved_fold_that_is_a_folder_is_redone_and_left(tmp_path: Path) -> None:
    notes: list[str] = []
    ckpt = _checkpoint.Checkpoint(tmp_path, "key", 0.0, notes.append)
    (tmp_path / "f.json").mkdir()
    assert _checkpoint.load_values(ckpt, "f", 1) is None
    assert notes == [f"note: {tmp_path / 'f.json'}: not a regular file (a folder), redoing f"]
    assert (tmp_path / "f.json").is_dir()


def test_train_into_a_folder_whose_model_json_is_a_pipe_is_refused_at_once(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m"
    out.mkdir()
    os.mkfifo(out / "model.json")
    argv = ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(out),
            "--quiet"]  # fmt: skip
    with unjammed(out / "model.json") as jammed:
        rc = main(argv)
    assert not jammed, "train waited on the pipe"
    assert rc == 2
    assert capsys.readouterr().err == (
        f"error: {out} exists and is not a visrec model folder (no visrec model.json in "
        "it); name a new or empty folder, or an earlier model folder to replace\n"
    )
    assert not (out / "model.json").is_file()  # the user's folder is left as it was


def test_a_training_state_that_is_a_pipe_is_replaced_by_the_fits_own(tmp_path: Path) -> None:
    # bpr.pt as a pipe: the fit started over, silently, and could never save its state
    # there (the atomic write does not replace a pipe), so no interruption could resume
    import numpy as np
    import pandas as pd

    from visrec.data.interactions import Interactions
    from visrec.models.registry import make_model

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 30, 600), "item_id": rng.integers(0, 20, 600)}
    ).astype(str)
    inter = Interactions.from_frame(frame.drop_duplicates())
    state = tmp_path / "bpr.pt"
    os.mkfifo(state)
    notes: list[str] = []
    # torch loaded first: its first import alone took 6 s of the 10 of UNJAM_AFTER_S on
    # a loaded machine, with this file run alone
    model = make_model("bpr", epochs=3, batch_size=64, reg=0.01).load_fit_backend()
    with (
        unjammed(state) as jammed,
        _checkpoint.checkpointing(tmp_path, "key", every_s=0, log=notes.append),
    ):
        model.fit(inter)
    assert not jammed
    assert notes == [f"note: {state}: not a regular file (a pipe), starting over"]
    assert state.is_file()  # the fit's own state, saved after its epochs
