"""One `visrec embed` per output at a time: a second run on the same output stops at
once with a message naming the first one's pid, instead of reading its chunk files
mid-write (or losing its parts folder) and blaming a chunk file ("unreadable chunk;
delete it")."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import visrec.embed.extract as extract_mod
from test_embed import TinyBackbone
from tiny_embed import embed_tiny, image_folder
from visrec._atomic import STALE_AFTER_S, exclusive_lock, lock_path, sweep_stale
from visrec.cli import main as cli_main
from visrec.embed.extract import EmbedResult, embed_images, parts_dir
from visrec.errors import VisrecError

WHAT = "visrec embed"


# ------------------------------------------------------------------ the helper


def test_a_held_lock_refuses_a_second_taker_until_released(tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    with exclusive_lock(out, WHAT):
        held = json.loads(lock_path(out).read_text())
        assert held["pid"] == os.getpid()
        # a second open file description conflicts for flock, even in this process
        with pytest.raises(VisrecError) as err, exclusive_lock(out, WHAT):
            pass
        msg = str(err.value)
        assert msg.startswith(f"{out} is being written by another {WHAT} (pid {os.getpid()}, ")
        assert "started " in msg and "wait for it to finish, or give another output" in msg
        assert "\n" not in msg
        assert lock_path(out).exists()  # the refused taker removed nothing
    assert not lock_path(out).exists()
    with exclusive_lock(out, WHAT):  # free again
        pass
    assert not lock_path(out).exists()
    assert lock_path(out) == tmp_path / ".v.parquet.lock"  # hidden, beside the output


def test_an_unreadable_lock_record_says_another_process(tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    with exclusive_lock(out, WHAT):
        lock_path(out).write_text("not json")
        with (
            pytest.raises(VisrecError, match=r"another visrec embed \(another process\)"),
            exclusive_lock(out, WHAT),
        ):
            pass


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    lock_path(out).write_text(json.dumps({"pid": 999_999, "started": time.time() - 60}))
    with exclusive_lock(out, WHAT):
        assert json.loads(lock_path(out).read_text())["pid"] == os.getpid()
    assert not lock_path(out).exists()


def test_a_lock_file_unlinked_under_a_waiting_taker_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the holder finishes (unlinks the file) between a taker's open and flock: the
    # taker's flock on the unlinked file succeeds, but it must lock the file the path
    # names, else a third run would create and lock another one beside it
    out = tmp_path / "v.parquet"
    real_flock = fcntl.flock
    calls = 0

    def flock(fd: int, op: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            os.unlink(lock_path(out))
        real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    with exclusive_lock(out, WHAT):
        assert calls == 2 and lock_path(out).exists()
        with (
            pytest.raises(VisrecError, match="is being written by another"),
            exclusive_lock(out, WHAT),
        ):
            pass


def test_the_stale_sweep_never_removes_a_lock_file(tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    with exclusive_lock(out, WHAT):  # a run of hours: the file is not touched meanwhile
        lock = lock_path(out)
        old = time.time() - STALE_AFTER_S - 60
        os.utime(lock, (old, old))
        sweep_stale(tmp_path, f".{out.name}.", r".*")
        assert lock.exists()
        with (
            pytest.raises(VisrecError, match="is being written by another"),
            exclusive_lock(out, WHAT),
        ):
            pass


# ------------------------------------------------------------------ in embed


def test_embed_on_an_output_being_written_stops_and_touches_nothing(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "img", 10)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    image_folder(tmp_path / "img", 14)  # work to do: 4 new images
    parts = parts_dir(out)
    parts.mkdir()
    chunk = parts / "chunk-0123.parquet"  # the other run's, mid-way
    chunk.write_bytes(b"partial")
    before = out.read_bytes()
    with exclusive_lock(out, WHAT):
        with pytest.raises(VisrecError) as err:
            embed_tiny(folder, out)
        assert f"(pid {os.getpid()}, started " in str(err.value)
        assert str(out) in str(err.value)
    assert out.read_bytes() == before
    assert chunk.read_bytes() == b"partial" and sorted(parts.iterdir()) == [chunk]
    res = embed_tiny(folder, out)  # once it is done: a run as any other
    assert res.n == 14 and not parts.exists() and not lock_path(out).exists()


def test_in_memory_embedding_takes_no_lock(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "img", 3)
    res = embed_tiny(folder, None)
    assert res.n == 3
    assert not any(p.name.endswith(".lock") for p in tmp_path.rglob("*"))


def test_cli_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def embed(*args: Any, **kw: Any) -> EmbedResult:
        kw["backbone"] = TinyBackbone()
        return embed_images(*args, **kw)

    monkeypatch.setattr(extract_mod, "embed_images", embed)
    folder = image_folder(tmp_path / "img", 3)
    out = tmp_path / "v.parquet"
    argv = ["embed", str(folder), "-o", str(out), "--engine", "torch", "--quiet"]
    with exclusive_lock(out, WHAT):
        assert cli_main(argv) == 75  # busy: EX_TEMPFAIL, try again later
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: {out} is being written by another visrec embed (pid ")
    assert not out.exists() and not parts_dir(out).exists()
    assert cli_main(argv) == 0 and out.exists()


# ------------------------------------------------------------------ two processes

_HOLDER = """
import sys
from visrec._atomic import exclusive_lock
with exclusive_lock(sys.argv[1], "visrec embed"):
    print("locked", flush=True)
    sys.stdin.read()
"""


def _holder(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "locked\n"
    return proc


def test_another_process_holding_the_output_is_named_then_let_go(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "img", 5)
    out = tmp_path / "v.parquet"
    proc = _holder(out)
    try:
        with pytest.raises(VisrecError, match=rf"another visrec embed \(pid {proc.pid}, "):
            embed_tiny(folder, out)
        assert not out.exists()
    finally:
        proc.communicate("", timeout=30)  # it finishes
    assert proc.returncode == 0 and not lock_path(out).exists()
    assert embed_tiny(folder, out).n == 5


def test_a_killed_holder_leaves_a_lock_file_that_blocks_nobody(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "img", 5)
    out = tmp_path / "v.parquet"
    proc = _holder(out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert lock_path(out).exists()  # no cleanup after kill -9 ...
    assert embed_tiny(folder, out).n == 5  # ... and none needed
    assert not lock_path(out).exists()


def test_two_links_to_one_output_share_its_lock(tmp_path: Path) -> None:
    from visrec._atomic import exclusive_lock

    real = tmp_path / "store" / "v.parquet"
    real.parent.mkdir()
    real.write_bytes(b"")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    a.symlink_to(real)
    b.symlink_to(real)
    with (
        exclusive_lock(a, "visrec embed"),
        pytest.raises(VisrecError, match="being written by another visrec embed"),
        exclusive_lock(b, "visrec embed"),
    ):
        pass


def test_a_filesystem_without_flock_gets_no_lock_and_keeps_no_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def no_flock(fd: int, op: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out = tmp_path / "recs.csv"
    with exclusive_lock(out, "visrec recommend") as held:
        assert held is False
        assert not lock_path(out).exists()  # of no use to anyone there
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    # a lock file that was there already may be another process's, locked where its
    # flock works (ENOLCK: this client's NFS lock manager out of reach): it stays
    lock_path(out).write_text("{}")
    with exclusive_lock(out, "visrec recommend") as held:
        assert held is False
    assert lock_path(out).exists()

    def no_lock_manager(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_lock_manager)
    lock_path(out).unlink()
    with exclusive_lock(out, "visrec recommend") as held:
        assert held is False
    assert lock_path(out).exists()
