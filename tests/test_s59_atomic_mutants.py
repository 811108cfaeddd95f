"""Gaps a mutation audit of ``visrec._atomic`` (session 59) found: 55 hand-made mutants
of the atomic writes (temp file then rename, its clean-up, fsync, modes, the checks of
the output path, the lock and the sweep of leftovers); 41 killed by the existing tests,
13 by these, 1 equivalent. Pinned here: folders made for an output removed again when
its temporary file cannot be made (an error or Ctrl-C), the error naming the output as
given (a symlink, not the file it names), which errors of the body name the output,
UTF-8 whatever the locale, a name too long refused before the work, a name collision
of temporary files, the umask mode of the new file, a folder's fsync and an unwritable
temporary file never failing a write, a symlink never swept, and an fsync error of the
file naming the output (a fix: it named nothing) with the old file left whole."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from visrec import _atomic
from visrec._atomic import atomic_path, sweep_temp_files, write_text_atomic
from visrec.errors import WriteError


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# M10 (no remove_empty when the temporary file cannot be made)
def test_folders_made_for_an_output_go_when_its_temp_file_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(folder: Path, name: str, suffix: str) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied", str(folder / f".{name}.x"))

    monkeypatch.setattr(_atomic, "_create_temp", refuse)
    out = tmp_path / "new" / "deep" / "out.json"
    with pytest.raises(WriteError, match=r"cannot write .*out\.json.*Permission denied"):
        write_text_atomic(out, "{}")
    assert _entries(tmp_path) == []


# M11 (no remove_empty on a Ctrl-C as the temporary file is made)
def test_a_ctrl_c_as_the_temp_file_is_made_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(folder: Path, name: str, suffix: str) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr(_atomic, "_create_temp", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(tmp_path / "new" / "out.json", "{}")
    assert _entries(tmp_path) == []


# M08 (the FileNotFoundError of the last of three tries left naming the temporary file)
def test_a_folder_removed_under_each_try_names_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries = []

    def vanished(folder: Path, name: str, suffix: str) -> Path:
        tries.append(name)
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(folder / ".t"))

    monkeypatch.setattr(_atomic, "_create_temp", vanished)
    out = tmp_path / "new" / "out.json"
    with pytest.raises(WriteError) as err:
        write_text_atomic(out, "{}")
    assert len(tries) == 3
    assert err.value.filename == str(out) and err.value.errno == errno.ENOENT
    assert str(err.value) == f"cannot write {str(out)!r} (No such file or directory)"
    assert _entries(tmp_path) == []


# M12 (the message names the file a symlink leads to, not the output the user named)
def test_a_failed_write_through_a_symlink_names_the_link(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    link = tmp_path / "out.json"
    link.symlink_to("afile/x.json")  # leads below a file
    with pytest.raises(WriteError) as err:
        write_text_atomic(link, "{}")
    assert str(err.value) == f"cannot write {str(link)!r} (Not a directory)"
    assert link.is_symlink() and (tmp_path / "afile").read_text() == ""


# M17 (EDQUOT dropped from WRITE_FULL); each "no room" error names the output
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_write_that_finds_no_room_names_the_output(tmp_path: Path, code: int) -> None:
    out = tmp_path / "out.bin"
    out.write_text("old")
    with pytest.raises(OSError) as err, atomic_path(out) as tmp:
        tmp.write_text("half")
        raise OSError(code, os.strerror(code))  # as a write() through a file object
    assert err.value.filename == str(out)
    assert out.read_text() == "old" and _entries(tmp_path) == ["out.bin"]


# M15 (`and` -> `or`: any error without a name, or one naming another file, renamed)
def test_an_error_of_the_body_about_something_else_is_not_pinned_on_the_output(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jpg"
    with pytest.raises(ConnectionResetError) as err, atomic_path(out):
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert err.value.filename is None  # a download that failed: not the output's fault
    other = str(tmp_path / "cache" / "x")
    with pytest.raises(OSError) as err2, atomic_path(out):
        raise OSError(errno.ENOSPC, "No space left on device", other)
    assert err2.value.filename == other  # the disk of another file that was full
    assert _entries(tmp_path) == []


# M18 (write_text without encoding=: the locale's, ASCII under LC_ALL=C)
def test_write_text_atomic_writes_utf8_under_an_ascii_locale(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    code = (
        "import sys; from visrec._atomic import write_text_atomic; "
        "write_text_atomic(sys.argv[1], 'caf\\u00e9 \\u65e5\\u672c')"
    )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(_atomic.__file__).parents[1]), *sys.path])
    subprocess.run([sys.executable, "-c", code, str(out)], env=env, check=True, timeout=60)
    assert out.read_bytes() == "café 日本".encode()


# M24 (no ENAMETOOLONG check: the rename fails only after all the work)
def test_a_name_too_long_is_refused_before_the_work(tmp_path: Path) -> None:
    out = tmp_path / ("a" * 300 + ".json")
    worked = []
    with pytest.raises(WriteError) as err, atomic_path(out):
        worked.append(True)
    assert not worked and err.value.errno == errno.ENAMETOOLONG
    assert str(err.value).startswith(f"cannot write {str(out)!r} (File name too long")
    assert _entries(tmp_path) == []


# M34 (a temporary file name already there raises instead of drawing another)
def test_a_temporary_file_name_taken_is_drawn_again_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter([b"\0" * 6, b"\1" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    taken = tmp_path / ".out.json.000000000000.tmp"  # another writer's, mid-write
    taken.write_text("theirs")
    write_text_atomic(tmp_path / "out.json", "mine")
    assert (tmp_path / "out.json").read_text() == "mine" and taken.read_text() == "theirs"
    assert _entries(tmp_path) == [taken.name, "out.json"]


# M35 (mknod with 0o600) and M36 (the open(2) fallback with 0o600): the umask decides
@pytest.mark.parametrize("mknod", [True, False])
def test_a_new_output_takes_its_mode_from_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None, mknod: bool
) -> None:
    if not mknod:

        def refused(path: object, mode: int = 0o600, device: int = 0) -> None:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

        monkeypatch.setattr(os, "mknod", refused)  # as on macOS without root
    out = tmp_path / "out.json"
    write_text_atomic(out, "{}")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644 and out.read_text() == "{}"


# M40 (a folder's fsync error fails the write, though the file is in place)
def test_a_folder_that_cannot_be_synced_fails_no_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out.json"
    write_text_atomic(out, "new")
    assert out.read_text() == "new" and _entries(tmp_path) == ["out.json"]


# M41 (a temporary file that cannot be opened to be synced fails the write)
def test_a_temporary_file_the_owner_cannot_write_is_written_anyway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.open

    def no_write_bit(path: object, flags: int, *args: object) -> int:
        if str(path).endswith(".tmp") and flags & os.O_RDWR:  # a umask of 0o277
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_write_bit)
    out = tmp_path / "out.json"
    write_text_atomic(out, "new")
    assert out.read_text() == "new" and _entries(tmp_path) == ["out.json"]


# M47 (the sweep follows a symlink named like a temporary file and removes it)
def test_the_sweep_leaves_a_symlink_named_like_a_temporary_file(tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("keep")
    link = tmp_path / ".out.json.0123456789ab.tmp"
    link.symlink_to(mine.name)
    old = time.time() - 2 * _atomic.STALE_AFTER_S
    os.utime(mine, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    stale = tmp_path / ".out.json.ba9876543210.tmp"  # a real leftover: swept
    stale.write_text("")
    os.utime(stale, (old, old))
    sweep_temp_files(tmp_path / "out.json")
    assert link.is_symlink() and mine.read_text() == "keep" and not stale.exists()


# the fix: an fsync error of the temporary file (EIO on a network disk) named no file;
# it names the output now, and the old file stays whole, no temporary file left
def test_an_fsync_error_names_the_output_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out.json"
    out.write_text("old")
    with pytest.raises(OSError) as err:
        write_text_atomic(out, "new")
    assert err.value.errno == errno.EIO and err.value.filename == str(out)
    assert out.read_text() == "old" and _entries(tmp_path) == ["out.json"]
