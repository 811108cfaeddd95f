"""Session 60: an atomic rewrite keeps the permissions of the file it replaces (a
``chmod 600`` output came back 0644, opened by the umask); a new file still gets the
umask's mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from visrec._atomic import atomic_path, write_text_atomic


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_rewrite_keeps_a_private_files_mode(tmp_path: Path) -> None:
    out = tmp_path / "recs.csv"
    out.write_text("old\n")
    out.chmod(0o600)
    write_text_atomic(out, "new\n")
    assert out.read_text() == "new\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_file_gets_the_umasks_mode(tmp_path: Path) -> None:
    old_mask = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_rewrite_through_a_link_keeps_the_linked_files_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    real.chmod(0o640)
    (tmp_path / "link.json").symlink_to(real)
    write_text_atomic(tmp_path / "link.json", '{"a": 1}')
    assert (tmp_path / "link.json").is_symlink()
    assert real.read_text() == '{"a": 1}'
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
