"""Session 72, docs/embed.md checked against the program: a file that could not be
opened at all (``chmod 000``; root is not refused, so the refusal is simulated) is
computed again alone once it can be read, its chunk's other vectors reused, as the
"Bad images" section says."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_embed_retry_rows import Flaky, _embed, _meta
from tiny_embed import image_folder
from visrec import _atomic
from visrec.embed.store import read_vectors


def _locked(monkeypatch: pytest.MonkeyPatch, flaky: Flaky) -> None:
    """Opening the files named in ``flaky.failing`` fails with EACCES everywhere, the
    chunk fingerprints' reads too, as after ``chmod 000``."""

    def fake_open(path: Any, *args: Any, **kw: Any) -> Any:
        if Path(path).name in flaky.failing:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return open(path, *args, **kw)

    monkeypatch.setattr(_atomic, "open", fake_open, raising=False)


def test_a_file_that_could_not_be_opened_is_computed_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = image_folder(tmp_path / "imgs", 20)
    clean = _embed(folder, tmp_path / "clean.parquet")
    out = tmp_path / "v.parquet"
    flaky = Flaky(monkeypatch, {"002.jpg", "011.jpg"})
    _locked(monkeypatch, flaky)
    first = _embed(folder, out)
    reasons = sorted(r for _, _, r in first.failures)
    assert len(reasons) == 2 and all(r.startswith("read error, retried next run:") for r in reasons)
    assert sorted(i for ids in _meta(out)["retry"].values() for i in ids) == ["002", "011"]

    flaky.failing.clear()  # chmod 644: the files' bytes and times as they were
    flaky.seen.clear()
    capsys.readouterr()
    second = _embed(folder, out, progress=True)
    assert flaky.seen == {"002.jpg": 1, "011.jpg": 1}
    assert second.n_computed == 2 and second.n_reused == 18
    assert "computing again 2 images that had a read error" in capsys.readouterr().err
    got = read_vectors(out)
    assert list(got.ids) == list(clean.vectors.ids)
    assert np.array_equal(got.vectors, clean.vectors.vectors)
    assert second.failures == clean.failures == []
    assert _meta(out)["retry"] == {}
    assert _meta(out)["chunks"] == _meta(tmp_path / "clean.parquet")["chunks"]
    assert _meta(out)["engines"] == _meta(tmp_path / "clean.parquet")["engines"]
