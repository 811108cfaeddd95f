"""``embed_throughput`` on an IMAGES_DIR it may not list: one ``error:`` line, exit 1
(refused by the system), not a traceback. Tests run as root, which lists any folder,
so the refusal is the system's own PermissionError raised where the folder is read."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from bench_scripts import bench


def test_embed_throughput_says_an_unreadable_images_dir_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    embed_throughput = bench("embed_throughput", monkeypatch)
    folder = tmp_path / "photos"
    folder.mkdir()

    def refused(self: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refused)
    rc = embed_throughput.main([str(folder), "--no-rss"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err == f"error: '{folder}': Permission denied\n"
