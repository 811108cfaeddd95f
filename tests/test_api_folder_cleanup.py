"""Folders the Python API makes for a resume record or a model and removes again when
they stay empty: after a completed run, a failed one, or a failed save."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.rating_eval import rating_eval
from visrec.data.interactions import Interactions
from visrec.evaluation.runner import run_experiment
from visrec.models.popularity import Popularity


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [(u, i, int(rng.integers(1, 6))) for u in range(12) for i in range(10) if (u + i) % 3]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def _experiment(record: Path, **kw: object) -> None:
    run_experiment(
        _frame(), None, "warm", "popularity", seeds=1, progress=False, resume=record, **kw
    )  # type: ignore[arg-type]


def test_a_completed_experiment_leaves_no_folder_for_its_record(tmp_path: Path) -> None:
    _experiment(tmp_path / "new" / "deep" / "rec.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_record_kept_for_the_caller_keeps_its_folder(tmp_path: Path) -> None:
    record = tmp_path / "new" / "rec.jsonl"
    _experiment(record, keep_record=True)
    assert record.is_file() and record.read_text().count("\n") == 1


def test_a_failed_experiment_leaves_no_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_a: object) -> None:
        raise RuntimeError("fit failed")

    monkeypatch.setattr(Popularity, "_fit", fail)
    with pytest.raises(RuntimeError, match="fit failed"):
        _experiment(tmp_path / "new" / "rec.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_was_there_is_kept(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    _experiment(tmp_path / "mine" / "rec.jsonl")
    assert (tmp_path / "mine").is_dir() and list((tmp_path / "mine").iterdir()) == []


def test_rating_eval_leaves_no_folder_for_its_record(tmp_path: Path) -> None:
    res = rating_eval(_frame(), None, resume=tmp_path / "new" / "rec.jsonl")
    assert len(res.runs) > 0
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_leaves_no_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Popularity().fit(Interactions.from_frame(_frame()))

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError, match="No space"):
        model.save(tmp_path / "models" / "pop")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    (tmp_path / "kept").mkdir()
    with pytest.raises(OSError):
        monkeypatch.setattr(np, "savez", full)
        model.save(tmp_path / "kept")
    assert (tmp_path / "kept").is_dir()  # the user's folder, there before, stays
    monkeypatch.undo()
    assert (model.save(tmp_path / "models" / "pop") / "model.json").is_file()


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left")])
def test_an_output_whose_write_fails_leaves_no_folder_made_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    # every output goes through atomic_path (reports, JSON, CSV, vectors): a Ctrl-C or a
    # full disk while writing it must not leave the folders made for it behind
    from visrec import _atomic
    from visrec._atomic import write_text_atomic

    (tmp_path / "mine").mkdir()
    target = tmp_path / "mine" / "new" / "deeper" / "r.html"

    def fail(*args: object) -> None:
        raise exc

    monkeypatch.setattr(_atomic.os, "replace", fail)
    with pytest.raises(type(exc)):
        write_text_atomic(target, "<html></html>")
    assert [p.name for p in tmp_path.rglob("*")] == ["mine"]  # the user's folder stays
    monkeypatch.undo()
    write_text_atomic(target, "<html></html>")  # and the next write makes them again
    assert target.read_text() == "<html></html>"


def test_a_folder_that_gets_other_files_meanwhile_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec import _atomic
    from visrec._atomic import write_text_atomic

    target = tmp_path / "new" / "r.json"

    def fail(*args: object) -> None:
        (tmp_path / "new" / "other.txt").write_text("someone else's")
        raise OSError(errno.ENOSPC, "No space left")

    monkeypatch.setattr(_atomic.os, "replace", fail)
    with pytest.raises(OSError):
        write_text_atomic(target, "{}")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["other.txt"]


def test_a_write_whose_folder_another_failed_write_removed_makes_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two writes into one new folder: the first fails and removes the folder it made
    # just before the second creates its temporary file there
    from visrec import _atomic
    from visrec._atomic import write_text_atomic

    target = tmp_path / "new" / "b.json"
    real = _atomic._create_temp
    calls = []

    def create(folder: Path, name: str, suffix: str) -> Path:
        calls.append(folder)
        if len(calls) == 1:
            folder.rmdir()  # the other write's cleanup, in between
        return real(folder, name, suffix)

    monkeypatch.setattr(_atomic, "_create_temp", create)
    write_text_atomic(target, "{}")
    assert target.read_text() == "{}" and len(calls) == 2
