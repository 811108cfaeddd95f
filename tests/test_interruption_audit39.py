"""What an outside audit of interruption, resume and atomic writes found (session 39):
a second command on an output named itself, not the command holding it; fetch took no
lock on its manifest; outputs were renamed into place without being synced."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec._atomic import exclusive_lock
from visrec.errors import BusyError, VisrecError


def test_a_held_output_names_the_command_that_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "w.json"
    with (
        exclusive_lock(out, "visrec evaluate"),
        pytest.raises(VisrecError) as exc,
        exclusive_lock(out, "visrec rating-eval"),
    ):
        pass
    assert str(exc.value).startswith(f"{out} is being written by another visrec evaluate (pid ")
    # busy, not bad input: the CLI exits 75 (EX_TEMPFAIL, try again later)
    assert isinstance(exc.value, BusyError) and exc.value.exit_status == 75


def test_fetch_holds_its_manifest_for_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\nA,http://127.0.0.1:9/a.jpg\n")
    cache = tmp_path / "c"
    with exclusive_lock(cache / "manifest.csv", "visrec fetch"):
        assert (
            main(["fetch", str(urls), "--cache", str(cache), "--quiet"]) == 75
        )  # busy: EX_TEMPFAIL, try again later
    err = capsys.readouterr().err
    assert f"{cache / 'manifest.csv'} is being written by another visrec fetch (pid " in err
    assert "give another -o" in err
    assert not (cache / "manifest.csv").exists()


def test_an_atomic_write_is_synced_before_its_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import visrec._atomic as atomic

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    def replace(a: object, b: object) -> None:
        events.append("rename")
        real_replace(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic.write_text_atomic(tmp_path / "out.json", "{}\n")
    assert events == ["file", "rename", "dir"]
    assert (tmp_path / "out.json").read_text() == "{}\n"

    # a write error only the sync reports fails the write, and leaves the old file
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", failing)
    with pytest.raises(OSError):
        atomic.write_text_atomic(tmp_path / "out.json", "new\n")
    assert (tmp_path / "out.json").read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temp file
