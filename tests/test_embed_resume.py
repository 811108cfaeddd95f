"""`visrec embed` survives ``kill -9``: the resumed file equals an uninterrupted run's."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from visrec.cli import main as cli_main
from visrec.embed.extract import parts_dir
from visrec.embed.store import read_vectors

N_IMAGES = 60
CHUNK = 4


def _make_images(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(N_IMAGES):
        arr = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:03d}.jpg", quality=90)
    (folder / "001.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")  # a bad file in chunk 0


@pytest.mark.slow
def test_kill_9_then_resume_equals_uninterrupted(tmp_path: Path, capsys: Any) -> None:
    images = tmp_path / "imgs"
    _make_images(images)
    # The default engine (ONNX Runtime when installed): the command users run.
    args = [
        "embed",
        str(images),
        "--batch-size",
        "2",
        "--chunk-size",
        str(CHUNK),
        "--workers",
        "2",
        "--quiet",
    ]
    out = tmp_path / "vectors.parquet"
    parts = parts_dir(out)

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "visrec", *args, "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 180
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if parts.is_dir() and any(parts.glob("chunk-*.parquet")):
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (
        f"the run was not killed mid-way (exit {proc.returncode}): {err.decode()[-2000:]}"
    )
    assert not out.exists()
    done = sorted(parts.glob("chunk-*.parquet"))
    n_done = sum(pq.read_metadata(f).num_rows for f in done)
    assert 0 < n_done < N_IMAGES

    # Resume with the same command: only the missing chunks are computed.
    assert cli_main([*args, "-o", str(out)]) == 0
    text, err = capsys.readouterr()
    m = re.search(r"reused (\d+), computed (\d+)", text)
    assert m is not None, text
    assert int(m.group(1)) == n_done and int(m.group(2)) == N_IMAGES - n_done
    assert "001.jpg (item 001): not an image (PDF document)" in err
    assert not parts.exists()

    # The reference: the same command, never interrupted.
    ref = tmp_path / "reference.parquet"
    assert cli_main([*args, "-o", str(ref)]) == 0
    capsys.readouterr()
    a, b = read_vectors(out), read_vectors(ref)
    assert list(a.ids) == list(b.ids) == [f"{i:03d}" for i in range(N_IMAGES)]
    assert np.array_equal(a.has_image, b.has_image) and not a.has_image[1]
    assert np.array_equal(a.vectors, b.vectors)
    assert pq.read_table(out).equals(pq.read_table(ref), check_metadata=True)
