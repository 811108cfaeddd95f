"""visrec evaluate on a disk that fills up: a failing append to the resume record is one
note and the run goes on unrecorded, never a lost run or a 0-byte record."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import signed
from visrec.cli import main
from visrec.evaluation import run_record


class _FullDisk:
    """``open`` of a file on a full disk: it opens (creating the file), writes fail."""

    calls = 0

    def __init__(self, path: Any, mode: str = "r", **kwargs: Any) -> None:
        type(self).calls += 1
        self._fh = open(path, mode, **kwargs)  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> type[_FullDisk]:
    _FullDisk.calls = 0
    monkeypatch.setattr(run_record, "open", _FullDisk, raising=False)
    return _FullDisk


def _argv(csv: Path, *flags: str) -> list[str]:
    return ["evaluate", "--interactions", str(csv), "--quiet", "--models", "popularity",
            "--seeds", "2", "--k", "3", *flags]  # fmt: skip


def test_a_full_cache_is_one_note_and_the_run_still_prints_its_results(
    csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    full_disk: type[_FullDisk],
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("VISREC_CACHE", str(cache))
    assert main(_argv(csv)) == 0
    out, err = capsys.readouterr()
    assert "popularity" in out and "AUC" in out  # the table
    notes = [line for line in err.splitlines() if "cannot record" in line]
    assert len(notes) == 1, err
    assert notes[0].startswith("note: cannot record finished runs in ")
    assert "(No space left on device)" in notes[0] and "Traceback" not in err
    assert full_disk.calls == 1  # recording stopped at the first failure
    assert list((cache / "evaluate").iterdir()) == []  # no 0-byte record left


def test_a_full_disk_under_json_leaves_no_empty_partial_record(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], full_disk: type[_FullDisk]
) -> None:
    out = tmp_path / "r.json"
    assert main(_argv(csv, "--json", str(out))) == 0
    assert json.loads(out.read_text())["seeds"] == [0, 1]
    assert not Path(f"{out}.partial.jsonl").exists()
    assert capsys.readouterr().err.count("note: cannot record finished runs in ") == 1


def test_a_failed_append_keeps_the_runs_already_recorded(
    tmp_path: Path, full_disk: type[_FullDisk]
) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text('{"earlier": 1}\n')
    with pytest.raises(OSError, match="No space left"):
        run_record.append_record(path, {"seed": 0})
    assert path.read_text() == '{"earlier": 1}\n'  # not removed: it holds runs
    with pytest.raises(OSError, match="No space left"):
        run_record.append_record(tmp_path / "new.jsonl", {"seed": 0})
    assert not (tmp_path / "new.jsonl").exists()


def test_forget_leaves_a_record_it_cannot_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rec.jsonl"
    recs = [{"fp": {}, "seed": s, "model": "popularity", "params": {}, "split": {}, "row": {}}
            for s in (0, 1)]  # fmt: skip
    path.write_text("".join(json.dumps(signed(r)) + "\n" for r in recs))

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_record, "write_text_atomic", full)
    run_record.forget(path, [(0, "popularity")])  # no error: the runs simply stay
    assert len(run_record.read_record(path)) == 2
