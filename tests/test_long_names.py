"""Outputs whose names are near the system's 255-byte limit: the hidden files beside
them (temporary, probe, lock) get a cut name that is the same on every run, so a killed
write's leftovers are still swept and two writers still exclude each other."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import pytest

from visrec import _atomic
from visrec._atomic import (
    atomic_path,
    exclusive_lock,
    lock_path,
    side_prefix,
    sweep_temp_files,
    write_text_atomic,
)
from visrec.errors import VisrecError

LONG = "a" * 245 + ".json"  # 250 bytes: a legal name
LONG_UTF8 = "中" * 81 + ".json"  # 248 bytes, three per character: cuts split some
UNDECODABLE = os.fsdecode(b"\xff" * 245 + b".json")  # not UTF-8: one byte per character


def _can_store(folder: Path, name: str) -> None:
    if name != UNDECODABLE:
        return
    if sys.getfilesystemencoding() != "utf-8":
        pytest.skip("file names are not read as UTF-8 here")
    try:
        (folder / name).touch()
        (folder / name).unlink()
    except OSError:  # a file system that only stores UTF-8 names (APFS, ZFS utf8only)
        pytest.skip("file system refuses non-UTF-8 names")


def test_short_names_keep_the_plain_prefix() -> None:
    assert side_prefix("v.parquet", 18) == ".v.parquet."
    assert lock_path(Path("d/v.parquet")) == Path("d/.v.parquet.lock")
    # plain as long as the whole side name fits: ".<249-byte name>." (251) + 4 = 255
    assert side_prefix("a" * 244 + ".json", 4) == "." + "a" * 244 + ".json."


@pytest.mark.parametrize("name", [LONG, LONG_UTF8, UNDECODABLE])
@pytest.mark.parametrize("tail", [4, 18, 32])
def test_a_long_name_gets_a_cut_prefix_that_is_stable(name: str, tail: int) -> None:
    prefix = side_prefix(name, tail)
    assert prefix == side_prefix(name, tail)  # the same on every run: the sweep relies on it
    raw = os.fsencode(prefix)
    assert len(raw) + tail <= 255 and len(raw) + tail >= 253  # cut as little as needed
    assert prefix.startswith(".") and prefix.endswith(".")
    if name != UNDECODABLE:  # valid UTF-8 in, valid UTF-8 out: no character split
        assert raw.decode("utf-8").encode("utf-8") == raw
    # another long name with the same start gets another prefix (the digest)
    other = name[:-6] + "b.json"
    assert side_prefix(other, tail) != prefix


@pytest.mark.parametrize("name", [LONG, LONG_UTF8, UNDECODABLE])
def test_a_killed_writes_temporary_file_of_a_long_name_is_swept(tmp_path: Path, name: str) -> None:
    _can_store(tmp_path, name)
    target = tmp_path / name
    write_text_atomic(target, "old")
    # what a kill -9 in the middle of atomic_path leaves: its temporary file, no rename
    left = _atomic._create_temp(tmp_path, name, ".tmp")
    left.write_text("half")
    sweep_temp_files(target)  # too young: another write may still be using it
    assert left.exists()
    old = time.time() - 2 * _atomic.STALE_AFTER_S
    os.utime(left, (old, old))
    sweep_temp_files(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert target.read_text() == "old"


def test_atomic_path_on_a_long_name_sweeps_with_sweep_true(tmp_path: Path) -> None:
    target = tmp_path / LONG
    left = _atomic._create_temp(tmp_path, LONG, ".tmp")
    os.utime(left, (0, 0))
    with atomic_path(target, sweep=True) as tmp:
        tmp.write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [LONG]


@pytest.mark.parametrize("name", [LONG, LONG_UTF8, UNDECODABLE])
def test_two_writers_of_a_long_name_exclude_each_other(tmp_path: Path, name: str) -> None:
    _can_store(tmp_path, name)
    target = tmp_path / name
    with exclusive_lock(target, "visrec embed") as held:
        assert held  # the lock file could be made: its name fits
        assert lock_path(target).exists()
        with (
            pytest.raises(VisrecError, match="being written by another visrec embed"),
            exclusive_lock(target, "visrec embed"),
        ):
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_stale_lock_file_we_cannot_write_is_replaced_by_our_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another user's lock file of a run that died: we may flock it (read-only) but not
    # write our pid into it; a third run must be told our pid, not the dead one's
    target = tmp_path / "v.parquet"
    lock = lock_path(target)
    lock.write_text(json.dumps({"pid": 999_999, "started": time.time() - 60}))
    theirs = os.stat(lock).st_ino
    real_open = os.open

    def open_as_another_user(path: object, flags: int, *args: object) -> int:
        if os.fspath(path) == os.fspath(lock) and flags & os.O_RDWR:
            try:
                if os.stat(lock).st_ino == theirs:
                    raise PermissionError(13, "Permission denied", os.fspath(path))
            except FileNotFoundError:
                pass
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_atomic.os, "open", open_as_another_user)
    with exclusive_lock(target, "visrec embed") as held:
        assert held
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with (
            pytest.raises(VisrecError, match=f"pid {os.getpid()}"),
            exclusive_lock(target, "visrec embed"),
        ):
            pass
    assert not lock.exists()


@pytest.mark.parametrize("name", ["m" * 250, "中" * 83])
def test_train_saves_and_replaces_a_model_folder_with_a_long_name(
    tmp_path: Path, name: str
) -> None:
    # the temporary folder of the save, the parked previous model and the lock all sit
    # beside the model folder with names built from it: all must fit in 255 bytes
    from visrec.cli import main

    data = tmp_path / "t.csv"
    data.write_text("user_id,item_id\nu1,i1\nu1,i2\nu2,i1\nu3,i3\n")
    out = tmp_path / name
    argv = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(out)]
    assert main([*argv, "--quiet"]) == 0
    first = (out / "model.json").read_text()
    data.write_text("user_id,item_id\nu1,i1\nu2,i2\nu3,i2\n")
    assert main([*argv, "--quiet"]) == 0  # over the earlier model: swapped in
    assert (out / "model.json").read_text() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, "t.csv"])


def _ratings(path: Path) -> None:
    rng = random.Random(0)
    rows = {(f"u{rng.randrange(40)}", f"i{rng.randrange(50)}") for _ in range(400)}
    path.write_text("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i in sorted(rows)))


def test_evaluate_records_its_runs_beside_a_long_json_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OUT.partial.jsonl does not fit beside a 250-byte --json OUT: it goes hidden
    from visrec.cli import main
    from visrec.commands import evaluate as evaluate_cmd

    data = tmp_path / "t.csv"
    _ratings(data)
    out = tmp_path / ("e" * 245 + ".json")
    argv = ["evaluate", "--interactions", str(data), "--protocol", "warm"]
    argv += ["--models", "popularity", "--seeds", "1", "--json", str(out)]
    recorded: list[Path] = []
    real = evaluate_cmd._record_path

    def spy(args: object) -> Path | None:
        path = real(args)  # type: ignore[arg-type]
        assert path is not None
        recorded.append(path)
        return path

    monkeypatch.setattr(evaluate_cmd, "_record_path", spy)
    assert main(argv) == 0
    assert out.is_file() and recorded[0].parent == tmp_path
    assert recorded[0].name.startswith(".") and len(os.fsencode(recorded[0].name)) <= 255
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, "t.csv"])


def test_evaluate_without_json_on_a_long_interactions_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the record in the cache folder is named after the interactions file
    from visrec.cli import main

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    data = tmp_path / ("r" * 246 + ".csv")
    _ratings(data)
    argv = ["evaluate", "--interactions", str(data), "--protocol", "warm"]
    assert main([*argv, "--models", "popularity", "--seeds", "1"]) == 0
    # the record was made in the cache folder, and removed once the table was printed
    assert (tmp_path / "cache" / "evaluate").is_dir()
    assert list((tmp_path / "cache" / "evaluate").iterdir()) == []
    # its name: the file's name cut, then the digest of the settings, within 255 bytes
    from visrec.commands import _resume

    record = _resume.record_path(None, str(data), ["a"], tmp_path / "cache" / "evaluate")
    assert record is not None and len(os.fsencode(record.name)) <= 255
    assert record.name.startswith("r" * 50) and record.name.endswith(".jsonl")
    other = _resume.record_path(None, str(data), ["b"], tmp_path / "cache" / "evaluate")
    assert other is not None and other != record


@pytest.mark.parametrize(
    "name",
    [
        "v" * 242 + ".parquet",
        "中" * 75 + ".parquet",
        "中" * 78 + ".parquet",
        "中" * 80 + ".parquet",
    ],
)
def test_embed_resumes_into_a_long_output_name(tmp_path: Path, name: str) -> None:
    # the temporary files (pyarrow refuses a path that is not UTF-8: no character may
    # be split) and, past 249 bytes, the parts folder take cut hidden names
    import numpy as np

    from test_embed import TinyBackbone, _crash_after, _images, _rows_in_parts, _run
    from visrec.embed.extract import parts_dir
    from visrec.embed.store import read_vectors

    folder = _images(tmp_path / "imgs", 14)
    ref = _run(folder, tmp_path / "ref.parquet").vectors
    out = tmp_path / name
    assert parts_dir(out).parent == tmp_path
    assert parts_dir(out).name.startswith(".") == (len(os.fsencode(name)) > 249)
    assert _crash_after(folder, out, TinyBackbone(), n_chunks=2)
    n_files, n_rows = _rows_in_parts(out)
    assert n_files == 2 and 0 < n_rows < 14
    res = _run(folder, out)
    assert res.n_reused == n_rows
    assert np.array_equal(read_vectors(out).vectors, ref.vectors)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["imgs", out.name, "ref.parquet"])


def test_a_lock_file_removed_between_our_two_opens_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another user's lock file (no write access) whose holder removes it just before
    # our read-only open: that is a released lock, not a reason to run unlocked
    target = tmp_path / "v.parquet"
    lock = lock_path(target)
    real_open = os.open
    calls: list[str] = []

    def racing_open(path: object, flags: int, *args: object) -> int:
        if os.fspath(path) == os.fspath(lock) and not calls:
            calls.append("rdwr")
            raise PermissionError(13, "Permission denied", os.fspath(path))
        if os.fspath(path) == os.fspath(lock) and calls == ["rdwr"]:
            calls.append("rdonly")
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_atomic.os, "open", racing_open)
    with exclusive_lock(target, "visrec embed") as held:
        assert held and calls == ["rdwr", "rdonly"]
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_no_lock_in_a_folder_where_no_lock_file_can_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a folder we may not write (as another user): creating the lock file is refused and
    # there is none to open read-only; the run goes on unlocked instead of trying for ever
    lock = lock_path(tmp_path / "v.parquet")
    real_open = os.open
    calls = []

    def read_only_folder(path: object, flags: int, *args: object) -> int:
        if os.fspath(path) == os.fspath(lock):
            calls.append(flags)
            if flags & os.O_CREAT:
                raise PermissionError(13, "Permission denied", os.fspath(path))
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_atomic.os, "open", read_only_folder)
    with exclusive_lock(tmp_path / "v.parquet", "visrec embed") as held:
        assert not held
    assert 2 <= len(calls) <= 10
