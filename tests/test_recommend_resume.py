"""`visrec recommend` resumes: rows go to RECS.csv.partial with a record of how far they
reach; after Ctrl-C (or a kill) the same command goes on from there and writes the file
one run writes, byte for byte; other inputs, --no-resume or a damaged record start over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import visrec.models.candidates as candidates
from visrec.cli import main
from visrec.commands import _recs_progress

FAST = ["--param=epochs=5", "--param=factors=4", "--param=batch_size=16", "--param=reg=0.01"]


@pytest.fixture(autouse=True)
def _save_every_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_recs_progress, "SAVE_EVERY_S", 0.0)


def _model(tmp_path: Path, model: str = "bpr") -> Path:
    rng = np.random.default_rng(3)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(40) for i in rng.integers(0, 30, size=6)}
    train = tmp_path / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(train, index=False)
    out = tmp_path / model
    argv = ["train", "--model", model, "--interactions", str(train), "-o", str(out)]
    assert main([*argv, *(FAST if model == "bpr" else []), "--quiet"]) == 0
    return out


def _argv(model_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["recommend", str(model_dir), "--n", "5", "-o", str(out), "--quiet",
            "--batch-users", "6", *extra]  # fmt: skip


def _stop_after(monkeypatch: pytest.MonkeyPatch, n_blocks: int) -> list[int]:
    """Ctrl-C once ``n_blocks`` blocks were yielded; returns the users of each block."""
    real = candidates.iter_recommendations
    seen: list[int] = []

    def iterate(*a: Any, **kw: Any) -> Iterator[tuple[np.ndarray, ...]]:
        for block in real(*a, **kw):
            if len(seen) == n_blocks:
                raise KeyboardInterrupt
            seen.append(len(block[0]))
            yield block

    monkeypatch.setattr(candidates, "iter_recommendations", iterate)
    return seen


def _interrupted(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    n_blocks: int = 2,
    ref_options: tuple[str, ...] = (),
) -> tuple[Path, Path, Path]:
    """A model, the file one run writes with ``ref_options`` (``ref.csv``), and a run
    into ``recs.csv`` stopped by Ctrl-C after ``n_blocks`` blocks of 6 users (recorded:
    ``SAVE_EVERY_S`` is 0); returns the model folder, ref.csv and recs.csv."""
    model_dir = _model(tmp_path)
    ref, out = tmp_path / "ref.csv", tmp_path / "recs.csv"
    assert main(_argv(model_dir, ref, *ref_options)) == 0
    with monkeypatch.context() as m:
        _stop_after(m, n_blocks)
        assert main(_argv(model_dir, out)) == 130
    capsys.readouterr()
    return model_dir, ref, out


@pytest.mark.parametrize("model", ["bpr", "popularity"])
def test_an_interrupted_run_resumes_into_the_file_one_run_writes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    model: str,
) -> None:
    model_dir = _model(tmp_path, model)
    ref, out = tmp_path / "ref.csv", tmp_path / "recs.csv"
    assert main(_argv(model_dir, ref)) == 0
    capsys.readouterr()
    with monkeypatch.context() as m:
        _stop_after(m, 3)
        assert main(_argv(model_dir, out)) == 130
    partial = tmp_path / "recs.csv.partial"
    assert capsys.readouterr().err == (
        f"interrupted: 18 of 40 users' lists are kept in {partial}; run the same command "
        "again to resume\n"
    )
    assert not out.exists() and partial.exists()
    with partial.open("a") as fh:  # a block written after the last record: cut off
        fh.write("u39,i1,1,0.5\nu39,i2")
    blocks = _stop_after(monkeypatch, 100)
    assert main(_argv(model_dir, out)) == 0
    assert blocks == [6, 6, 6, 4]  # users 18-39 only, in the uninterrupted run's blocks
    got = capsys.readouterr()
    assert got.err == f"resuming: 18 users' lists already written ({partial})\n"
    assert "recommended for 40 users" in got.out and "200 rows" in got.out
    assert out.read_bytes() == ref.read_bytes()
    assert sorted(p.name for p in tmp_path.glob("recs.csv*")) == ["recs.csv"]


def test_a_stop_before_the_first_record_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = _model(tmp_path)
    out = tmp_path / "recs.csv"
    capsys.readouterr()
    with monkeypatch.context() as m:
        _stop_after(m, 0)
        assert main(_argv(model_dir, out)) == 130
    assert capsys.readouterr().err == "interrupted: no list was kept\n"
    assert sorted(p.name for p in tmp_path.glob("recs.csv*")) == []  # nothing half-written
    blocks = _stop_after(monkeypatch, 100)
    assert main(_argv(model_dir, out)) == 0
    assert sum(blocks) == 40 and "resuming" not in capsys.readouterr().err


def test_a_stop_before_the_first_record_leaves_no_folder_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import exclusive_lock

    model_dir = _model(tmp_path)
    out = tmp_path / "new" / "sub" / "recs.csv"
    with monkeypatch.context() as m:
        _stop_after(m, 0)
        assert main(_argv(model_dir, out)) == 130
    assert not (tmp_path / "new").exists()  # nothing of it was kept
    with monkeypatch.context() as m:
        _stop_after(m, 2)
        assert main(_argv(model_dir, out)) == 130
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "recs.csv.partial",
        "recs.csv.partial.json",
    ]
    capsys.readouterr()
    # a folder that was there before is never removed, even left empty
    there = tmp_path / "there"
    there.mkdir()
    with pytest.raises(KeyboardInterrupt), exclusive_lock(there / "a" / "x.csv", "test"):
        raise KeyboardInterrupt
    assert there.is_dir() and not (there / "a").exists()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (["--n", "4"], "--n changed"),
        (["--batch-users", "5"], "--batch-users changed"),
        (["--items", "ITEMS"], "candidates changed"),
    ],
)
def test_other_inputs_start_over_with_a_note(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: list[str],
    why: str,
) -> None:
    items = tmp_path / "items.txt"
    items.write_text("\n".join(f"i{k}" for k in range(20)) + "\n")
    change = [str(items) if c == "ITEMS" else c for c in change]
    model_dir, ref, out = _interrupted(tmp_path, monkeypatch, capsys, ref_options=(*change,))
    blocks = _stop_after(monkeypatch, 100)
    assert main(_argv(model_dir, out, *change)) == 0
    assert sum(blocks) == 40
    partial = tmp_path / "recs.csv.partial"
    assert capsys.readouterr().err == (
        f"resume: {partial} was written with other inputs ({why}); starting over\n"
    )
    assert out.read_bytes() == ref.read_bytes()


def test_a_model_saved_again_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.models.base import Recommender

    model_dir, _, out = _interrupted(tmp_path, monkeypatch, capsys)
    Recommender.load(model_dir).save(model_dir)  # the same arrays, another save
    assert main(_argv(model_dir, out)) == 0
    assert "(model changed); starting over" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda state, rows: state.write_text("{"), "cannot be read"),
        (lambda state, rows: state.write_text(json.dumps({"format": 1})), "is damaged"),
        (lambda state, rows: rows.unlink(), "is gone"),
        (lambda state, rows: rows.write_text("user_id"), "is shorter than"),
    ],
)
def test_a_damaged_record_starts_over(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    why: str,
) -> None:
    model_dir, ref, out = _interrupted(tmp_path, monkeypatch, capsys)
    damage(tmp_path / "recs.csv.partial.json", tmp_path / "recs.csv.partial")
    assert main(_argv(model_dir, out)) == 0
    err = capsys.readouterr().err
    assert err.startswith("resume: ") and why in err and err.endswith("; starting over\n")
    assert out.read_bytes() == ref.read_bytes()
    assert not (tmp_path / "recs.csv.partial.json").exists()


def test_no_resume_starts_over_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir, _, out = _interrupted(tmp_path, monkeypatch, capsys)
    blocks = _stop_after(monkeypatch, 100)
    assert main(_argv(model_dir, out, "--no-resume")) == 0
    assert sum(blocks) == 40 and capsys.readouterr().err == ""


def test_a_failed_write_keeps_the_finished_lists_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec.commands.recommend as recommend

    model_dir = _model(tmp_path)
    ref, out = tmp_path / "ref.csv", tmp_path / "recs.csv"
    assert main(_argv(model_dir, ref)) == 0
    capsys.readouterr()
    real, calls = recommend._write_rows, []

    def full_disk(*a: Any) -> int:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(*a)

    with monkeypatch.context() as m:
        m.setattr(recommend, "_write_rows", full_disk)
        assert main(_argv(model_dir, out)) == 1
    partial = tmp_path / "recs.csv.partial"
    err = capsys.readouterr().err
    assert err.startswith(
        f"12 of 40 users' lists are kept in {partial}; run the same command again to resume\n"
    )
    assert "No space left on device" in err
    assert main(_argv(model_dir, out)) == 0
    assert out.read_bytes() == ref.read_bytes()


def test_a_pipe_in_the_partial_file_s_place_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    model_dir = _model(tmp_path)
    out = tmp_path / "recs.csv"
    os.mkfifo(tmp_path / "recs.csv.partial")
    assert main(_argv(model_dir, out)) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'recs.csv.partial'} is not a regular file (a pipe): remove it, "
        "visrec keeps the rows of an interrupted run there\n"
    )


def test_a_second_run_on_the_same_output_stops_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import exclusive_lock

    model_dir = _model(tmp_path)
    out = tmp_path / "recs.csv"
    capsys.readouterr()
    with exclusive_lock(out, "visrec recommend"):  # as a first run holds it
        assert main(_argv(model_dir, out)) == 75  # busy: EX_TEMPFAIL, try again later
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out} is being written by another visrec recommend (pid ")
    assert not list(tmp_path.glob("recs.csv*"))


def test_a_symlink_where_the_partial_file_goes_is_refused_and_its_file_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # written in place and renamed, the rows would overwrite the file the link names,
    # and the link itself would become the output
    model_dir = _model(tmp_path)
    precious = tmp_path / "precious.txt"
    precious.write_text("precious\n")
    (tmp_path / "recs.csv.partial").symlink_to(precious)
    capsys.readouterr()
    assert main(_argv(model_dir, tmp_path / "recs.csv")) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'recs.csv.partial'} is a symlink: remove it, visrec keeps the "
        "rows of an interrupted run there (and would write through the link)\n"
    )
    assert precious.read_text() == "precious\n" and not (tmp_path / "recs.csv").exists()


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        # a line deleted and others added: the size still reaches the record's offset
        (lambda text: text.replace(text.splitlines()[2] + "\n", "") + "junk\n" * 5,
         "was changed after"),
        (lambda text: text.replace("u1,", "u9,", 1), "was changed after"),
    ],
)  # fmt: skip
def test_a_partial_file_changed_since_its_record_starts_over(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: Any,
    why: str,
) -> None:
    model_dir, ref, out = _interrupted(tmp_path, monkeypatch, capsys, n_blocks=3)
    partial = tmp_path / "recs.csv.partial"
    partial.write_text(edit(partial.read_text()))
    assert main(_argv(model_dir, out)) == 0
    err = capsys.readouterr().err
    assert err == (
        f"resume: {partial} was changed after {partial}.json recorded it; starting over\n"
    )
    assert out.read_bytes() == ref.read_bytes()


def test_a_record_of_more_users_than_there_are_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir, ref, out = _interrupted(tmp_path, monkeypatch, capsys, n_blocks=3)
    state = tmp_path / "recs.csv.partial.json"
    rec = json.loads(state.read_text())
    state.write_text(json.dumps({**rec, "users_done": 5000}))
    assert main(_argv(model_dir, out)) == 0
    assert "records more users than there are (5,000 of 40)" in capsys.readouterr().err
    assert out.read_bytes() == ref.read_bytes()


def test_a_ctrl_c_after_the_rename_says_the_output_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = _model(tmp_path)
    ref, out = tmp_path / "ref.csv", tmp_path / "recs.csv"
    assert main(_argv(model_dir, ref)) == 0
    real = _recs_progress.Progress.forget

    def forget(self: _recs_progress.Progress) -> None:
        if not getattr(self, "_pressed", False):
            self._pressed = True  # type: ignore[attr-defined]
            raise KeyboardInterrupt  # between the rename and the record's removal
        real(self)

    monkeypatch.setattr(_recs_progress.Progress, "forget", forget)
    capsys.readouterr()
    assert main(_argv(model_dir, out)) == 130
    assert capsys.readouterr().err == f"interrupted: every list was already in {out}\n"
    assert out.read_bytes() == ref.read_bytes()
    assert sorted(p.name for p in tmp_path.glob("recs.csv*")) == ["recs.csv"]


def test_a_record_that_cannot_be_written_keeps_the_last_one_s_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = _model(tmp_path)
    ref, out = tmp_path / "ref.csv", tmp_path / "recs.csv"
    assert main(_argv(model_dir, ref)) == 0
    real, calls = _recs_progress.write_text_atomic, []

    def full_disk(path: Any, text: str) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, text)

    with monkeypatch.context() as m:
        m.setattr(_recs_progress, "write_text_atomic", full_disk)
        assert main(_argv(model_dir, out)) == 1
    partial = tmp_path / "recs.csv.partial"
    assert capsys.readouterr().err.startswith(f"12 of 40 users' lists are kept in {partial};")
    assert main(_argv(model_dir, out)) == 0
    assert f"resuming: 12 users' lists already written ({partial})" in capsys.readouterr().err
    assert out.read_bytes() == ref.read_bytes()


def test_the_lock_is_taken_before_the_inputs_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import exclusive_lock

    out = tmp_path / "recs.csv"
    with exclusive_lock(out, "visrec recommend"):
        # a model folder that is not there: the lock says so first, before any loading
        assert main(_argv(tmp_path / "no-model", out)) == 75  # busy: EX_TEMPFAIL, try again later
    assert "is being written by another visrec recommend" in capsys.readouterr().err


def test_no_resume_s_lists_say_to_rerun_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the same command would throw the kept lists away again
    model_dir = _model(tmp_path)
    out = tmp_path / "recs.csv"
    with monkeypatch.context() as m:
        _stop_after(m, 2)
        assert main(_argv(model_dir, out, "--no-resume")) == 130
    assert capsys.readouterr().err.endswith(
        f"interrupted: 12 of 40 users' lists are kept in {tmp_path / 'recs.csv.partial'}; run "
        "the command without --no-resume again to resume\n"
    )


def test_without_a_lock_a_run_writes_a_file_of_its_own_and_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Windows, or a filesystem without flock: two runs would write into one partial
    # file, so each writes a temporary file of its own, as before resuming existed
    import contextlib

    import visrec._atomic as atomic

    model_dir, ref, out = _interrupted(tmp_path, monkeypatch, capsys)
    other_run = (tmp_path / "recs.csv.partial").read_bytes()
    record = (tmp_path / "recs.csv.partial.json").read_bytes()

    @contextlib.contextmanager
    def no_lock(*a: Any, **kw: Any) -> Iterator[bool]:
        yield False

    monkeypatch.setattr(atomic, "exclusive_lock", no_lock)
    seen: list[list[str]] = []
    real = _recs_progress.Progress.block_done

    def block_done(self: _recs_progress.Progress, *a: Any) -> None:
        seen.append(sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")))
        real(self, *a)

    monkeypatch.setattr(_recs_progress.Progress, "block_done", block_done)
    with monkeypatch.context() as m:
        _stop_after(m, 2)
        assert main(_argv(model_dir, out)) == 130
    assert capsys.readouterr().err == "interrupted: no list was kept\n"
    assert seen and all(len(names) == 1 and names[0].startswith(".recs.csv.") for names in seen)
    assert main(_argv(model_dir, out)) == 0
    assert "resum" not in capsys.readouterr().err
    assert out.read_bytes() == ref.read_bytes()
    # the other run's partial file and record are left as they were
    assert (tmp_path / "recs.csv.partial").read_bytes() == other_run
    assert (tmp_path / "recs.csv.partial.json").read_bytes() == record
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".recs.csv")]


def test_an_input_where_the_partial_file_goes_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = _model(tmp_path)
    items = tmp_path / "recs.csv.partial"
    items.write_text("i1\ni2\n")
    capsys.readouterr()
    assert main(_argv(model_dir, tmp_path / "recs.csv", "--items", str(items))) == 2
    assert "is the --items file; writing it would replace it" in capsys.readouterr().err
    assert items.read_text() == "i1\ni2\n"


def test_a_killed_lock_less_run_s_file_is_swept_by_a_later_run_once_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from visrec._atomic import STALE_AFTER_S

    model_dir = _model(tmp_path)
    out = tmp_path / "recs.csv"
    old, fresh = tmp_path / ".recs.csv.0123456789ab.tmp", tmp_path / ".recs.csv.ba9876543210.tmp"
    for p in (old, fresh):
        p.write_text("user_id,item_id,rank,score\n")
    past = os.stat(old).st_mtime - STALE_AFTER_S - 60
    os.utime(old, (past, past))
    assert main(_argv(model_dir, out)) == 0
    assert not old.exists() and fresh.exists()  # a fresh one may be a live run's
