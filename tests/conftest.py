"""Shared test fixtures."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it are skipped with a reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


#: the progress-bar rule every long command shares (``commands/_progress``):
#: ``(flags, stderr is a terminal, bar expected)``
BAR_CASES = [
    ([], False, False),  # `visrec ... > log 2>&1`: no `\r` redraws in the log
    (["--verbose"], False, True),  # forced
    ([], True, True),  # a terminal
    (["--quiet"], True, False),
]


class BarCase(NamedTuple):
    flags: list[str]
    bar: bool  # expected
    tty: bool
    monkeypatch: pytest.MonkeyPatch

    def apply(self) -> None:
        """Make stderr look like a terminal or not. Called from the test body: pytest
        swaps ``sys.stderr`` between fixture setup and the test call."""
        self.monkeypatch.setattr(sys.stderr, "isatty", lambda: self.tty)


@pytest.fixture()
def popularity_dir(tmp_path: Path) -> Path:
    """A popularity model folder: users u1..u9 (user index order u1 < u2 < ... < u9),
    three of items i0..i6 each."""
    import pandas as pd

    from visrec.cli import main

    rows = [(f"u{u}", f"i{(u + k) % 7}") for u in range(1, 10) for k in range(3)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    out = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out


@pytest.fixture()
def visual_cf_dir(tmp_path: Path) -> dict[str, Path]:
    """visual-cf on 12 users x items i0..i5, a vectors file with the unseen 'n0', and a
    candidates file of i0..i5 and n0."""
    import numpy as np
    import pandas as pd

    from visrec.cli import main
    from visrec.embed.store import ItemVectors, write_vectors

    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{(u + k) % 6}") for u in range(12) for k in range(2)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    ids = np.asarray([*(f"i{i}" for i in range(6)), "n0"])
    vectors = tmp_path / "v.parquet"
    write_vectors(
        vectors, ItemVectors(ids, rng.normal(size=(7, 4)).astype(np.float32), np.ones(7, bool))
    )
    cands = tmp_path / "cands.txt"
    cands.write_text("\n".join(ids) + "\n")
    out = tmp_path / "m"
    argv = ["train", "--model", "visual-cf", "--interactions", str(train), "-o", str(out),
            "--vectors", str(vectors), "--param=epochs=3", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    return {"model": out, "vectors": vectors, "cands": cands}


@pytest.fixture(name="csv")
def small_interactions_csv(tmp_path: Path) -> Path:
    """``train.csv``: 20 users x 5 of 20 items (100 rows), a small input for evaluate."""
    rows = [(f"u{u}", f"i{(u * 7 + j * 3) % 20}") for u in range(20) for j in range(5)]
    path = tmp_path / "train.csv"
    path.write_text("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i in rows))
    return path


@pytest.fixture(params=BAR_CASES, ids=["log", "log-verbose", "terminal", "terminal-quiet"])
def bar_case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> BarCase:
    """One case of the shared progress-bar rule; call ``.apply()`` before the command."""
    flags, tty, bar = request.param
    return BarCase(flags, bar, tty, monkeypatch)


# A command run as a subprocess (`python -m visrec ...`) sees none of the in-process
# redirects below: without a VISREC_CACHE of the user's, the session gets one of its
# own (removed at its end), so that no test writes to the user's ~/.cache/visrec
_SESSION_CACHE = None
if not os.environ.get("VISREC_CACHE"):
    _SESSION_CACHE = tempfile.mkdtemp(prefix="visrec-test-cache-")
    os.environ["VISREC_CACHE"] = _SESSION_CACHE
    # the libraries' own caches too: matplotlib's font list, Hypothesis' examples
    # (its .hypothesis/ folder in the working folder)
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(_SESSION_CACHE, "matplotlib"))
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(_SESSION_CACHE, "hypothesis")
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


#: VISREC_CACHE as the run began: a user's (or CI's) setting, or the session's own
_USERS_CACHE = os.environ.get("VISREC_CACHE")
_USERS_XDG_CACHE = os.environ.get("XDG_CACHE_HOME")


@pytest.fixture(autouse=True)
def _evaluate_records_in_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``visrec evaluate`` and ``rating-eval`` without --json keep their resume records in
    the user's cache folder, and embed its ONNX exports (of the tests' toy backbones
    too); tests keep them in a temporary one, shared by the session (one export of
    each model)."""
    import visrec.commands.evaluate as evaluate_cmd
    import visrec.commands.rating_eval as rating_eval_cmd
    from visrec.embed import onnx_engine

    onnx_folder = tmp_path_factory.getbasetemp() / "onnx-cache"

    def onnx_cache(
        real: Callable[[], Path] = onnx_engine.cache_dir, folder: Path = onnx_folder
    ) -> Path:
        set_here = os.environ.get("VISREC_CACHE") not in (None, _USERS_CACHE)
        return (
            real() if set_here or os.environ.get("XDG_CACHE_HOME") != _USERS_XDG_CACHE else folder
        )

    monkeypatch.setattr(onnx_engine, "cache_dir", onnx_cache)

    for cmd, name in ((evaluate_cmd, "evaluate"), (rating_eval_cmd, "rating-eval")):
        folder = tmp_path_factory.getbasetemp() / f"{name}-records"
        real = cmd._cache_dir  # kept where a test sets VISREC_CACHE itself

        def cache_dir(real: Callable[[], Path] = real, folder: Path = folder) -> Path:
            # the user's own VISREC_CACHE (set before the run) is not a test's
            set_here = os.environ.get("VISREC_CACHE") not in (None, _USERS_CACHE)
            return real() if set_here else folder

        monkeypatch.setattr(cmd, "_cache_dir", cache_dir)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that reads ``../shared/data`` (the ``shared_data`` fixture, directly or
    through another fixture) carries the ``realdata`` marker: ``-m realdata`` selects
    them all, and ``-m "not realdata"`` none.

    A test that makes a named pipe gets a 180 s limit (not the suite's 900 s): if the
    code under test stopped skipping the pipe, reading it would wait for ever, and the
    test should fail soon rather than hold CI until its limit."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
        code = getattr(getattr(item, "function", None), "__code__", None)
        if (
            code is not None
            and "mkfifo" in code.co_names
            and not item.get_closest_marker("timeout")
        ):
            item.add_marker(pytest.mark.timeout(180))


def flip_vector_page(path: Path, group: int = 0) -> None:
    """Flip one bit near the end of the ``vector`` column's dictionary page in row group
    ``group`` (visrec's float vectors are dictionary-encoded): without page CRCs the file
    still reads, one vector's value changed (what a flipped disk bit does; checked in
    ``tests/test_session42_fixes.py``); with them, the read fails on the CRC."""
    import pyarrow.parquet as pq

    column = pq.read_metadata(path).row_group(group).column(1)
    assert column.path_in_schema.startswith("vector") and column.has_dictionary_page
    data = bytearray(path.read_bytes())
    data[column.data_page_offset - 2] ^= 0x01  # the last values of the dictionary page
    path.write_bytes(bytes(data))


def signed(rec: dict[str, object]) -> dict[str, object]:
    """``rec`` (a resume-record line as JSON reads it) with the digest of its fields,
    as visrec writes one: for a line the tests edit on purpose."""
    from visrec.evaluation.run_record import _line_digest

    body = {n: v for n, v in rec.items() if n != "digest"}
    return {**body, "digest": _line_digest(body)}


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits image fetching asks for, in order; none is slept."""
    from visrec.images import http_get

    asked: list[float] = []

    def wait(self: http_get.Stop, seconds: float) -> bool:
        asked.append(seconds)
        return False

    monkeypatch.setattr(http_get.Stop, "wait", wait)
    return asked
