"""Locale, time zone and terminal encoding: an ASCII stdout of the C locale without
UTF-8 mode prints what it cannot encode escaped (it crashed and lost the --json), a
Retry-After date in asctime form is GMT, a lock's start time is given in UTC, two-digit
years do not hang on the local date, and a name read as 'not UTF-8' says the likelier
cause when Python reads names as ASCII."""

from __future__ import annotations

import email.utils
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.errors import not_utf8_hint
from visrec.images.http_get import retry_after


def _c_locale() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONIO"))}
    return {**env, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}


def test_an_ascii_stdout_prints_a_plus_minus_and_an_accent_escaped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [(f"jos\u00e9{u}", f"i{i}") for u in range(20) for i in rng.choice(30, 6, replace=False)]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "e.json"
    argv = [sys.executable, "-m", "visrec", "evaluate", "--interactions", str(tmp_path / "r.csv")]
    argv += ["--models", "popularity", "--seeds", "2", "-q", "--json", str(out)]
    done = subprocess.run(argv, env=_c_locale(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    assert b"mean \\xb1 std" in done.stdout and out.exists()
    assert json.loads(out.read_text())["protocol"] == "warm"
    helped = subprocess.run(
        [sys.executable, "-m", "visrec", "evaluate", "--help"],
        env=_c_locale(), capture_output=True, timeout=120,
    )  # fmt: skip
    assert helped.returncode == 0 and b"\\xb1" in helped.stdout and helped.stderr == b""


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/St_Johns"])
def test_a_retry_after_date_without_a_zone_is_gmt(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        later = time.time() + 30
        asctime = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(later))
        for value in (
            asctime,
            email.utils.formatdate(later, usegmt=False).replace("+0000", "-0000"),
        ):
            seconds = retry_after(value)
            assert seconds is not None and 25 <= seconds <= 31, (value, seconds)
    finally:  # the zone the process had, for the tests after this one
        monkeypatch.undo()
        time.tzset()


def test_a_lock_holder_is_named_with_a_utc_time(tmp_path: Path) -> None:
    from visrec._atomic import _holder

    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": 42, "started": 0.0, "host": ""}))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _holder(fd) == (None, "pid 42, started 1970-01-01 00:00:00 UTC")
    finally:
        os.close(fd)


def test_a_name_read_as_not_utf8_says_when_python_reads_names_as_ascii(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "utf-8")
    assert not_utf8_hint() == ""
    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "ascii")
    assert not_utf8_hint() == (
        "; or Python reads names as ascii, as under LC_ALL=C with PYTHONUTF8=0: set "
        "PYTHONUTF8=1 or LC_ALL=C.UTF-8"
    )
