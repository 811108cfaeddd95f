"""Session 50: the lead's own small mends."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.errors import read_error
from visrec.evaluation import run_record


def test_forget_leaves_a_record_it_may_no_longer_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the experiment is done: a record the system refuses to read now is left as it is
    # (as one it cannot rewrite), not an error after every figure was computed
    path = tmp_path / "runs.jsonl"
    path.write_text("x\n", encoding="utf-8")

    def refused(p: Path) -> list[dict[str, object]]:
        raise read_error(f"{p}: cannot read (Permission denied)", PermissionError(13, "no", str(p)))

    monkeypatch.setattr(run_record, "read_record", refused)
    run_record.forget(path, {(0, "bpr")})
    assert path.read_text(encoding="utf-8") == "x\n"
