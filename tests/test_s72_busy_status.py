"""An output another visrec run is writing at that moment ends the second run with exit
status 75 (``EX_TEMPFAIL`` of sysexits.h: try again later), not 2 (bad input: the same
command fails again), so a scheduler retries it. The message is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec._atomic import exclusive_lock
from visrec.cli import main


def test_a_second_run_on_one_output_exits_75(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter = tmp_path / "t.csv"
    inter.write_text("user_id,item_id\n" + "".join(f"u{k % 7},i{k % 11}\n" for k in range(60)))
    out = tmp_path / "ev.json"
    argv = ["evaluate", "--interactions", str(inter), "--models", "popularity", "--json", str(out)]
    with exclusive_lock(out, "visrec evaluate"):
        assert main([*argv, "--quiet"]) == 75
    err = capsys.readouterr().err
    assert "is being written by another visrec evaluate" in err
    assert len(err.strip().splitlines()) == 1
    assert main([*argv, "--quiet"]) == 0  # once the other run is over, the same command runs
