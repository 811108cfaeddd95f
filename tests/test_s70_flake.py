"""Tests that raced a fixed sleep or a short wait, run here as a loaded machine runs them.

CI runs the suite twice on a loaded 2-core machine: a thread started 0.1 s from now may
run a second later. Each test below delays the step its test assumed prompt, past the
old margin, and runs that test (or its helper) as it is.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import test_library_hygiene
import test_s61_saveload_mutants
import test_session43_review_fixes
import test_session44_fixes
from test_s61_saveload_mutants import fitted  # noqa: F401  (a fixture used below)
from visrec.models.base import Recommender

#: longer than load's 0.5 s wait for a save's second file
LATE_S = 0.8


def test_load_between_a_saves_two_files_waits_for_a_late_second_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # _load_while_the_second_file_lands: its thread's 0.1 s sleep ran late
    real_sleep = time.sleep
    slow = SimpleNamespace(sleep=lambda s: real_sleep(s + LATE_S), monotonic=time.monotonic)
    monkeypatch.setattr(test_session43_review_fixes, "time", slow)
    test_session43_review_fixes.test_load_waits_for_a_save_between_its_two_files(tmp_path)


def test_load_waits_for_a_late_timer_of_a_save_in_progress(
    fitted: dict[str, Recommender],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # test_load_waits_for_the_second_file_of_a_save_in_progress: its 0.05 s Timer ran late
    class LateTimer(threading.Timer):
        def __init__(self, interval: float, *args: Any, **kw: Any) -> None:
            super().__init__(interval + LATE_S, *args, **kw)

    monkeypatch.setattr(threading, "Timer", LateTimer)
    test_s61_saveload_mutants.test_load_waits_for_the_second_file_of_a_save_in_progress(
        fitted, tmp_path, monkeypatch
    )


def test_a_second_save_that_comes_late_is_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # test_a_second_save_to_a_folder_being_saved_is_refused_and_the_first_loads: the
    # second save came after the first one's fixed 0.5 s sleep
    real_save = Recommender.save

    def late_in_the_main_thread(self: Recommender, *args: Any, **kw: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            time.sleep(LATE_S)
        return real_save(self, *args, **kw)

    monkeypatch.setattr(Recommender, "save", late_in_the_main_thread)
    test_library_hygiene.test_a_second_save_to_a_folder_being_saved_is_refused_and_the_first_loads(
        tmp_path, monkeypatch
    )


def test_a_thumbnail_replaced_within_one_tick_of_a_coarse_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # test_report_thumbnail_of_a_photo_replaced_by_cp_p_is_decoded_again on a kernel
    # whose change times are a tick's (here 20 ms), not each write's own: the photo's
    # write and its cp -p a millisecond later had one, so one cache key
    from visrec import _atomic
    from visrec.report import plots

    first_seen: dict[str, int] = {}  # ticks counted from a file's first look

    def coarse(path: str | os.PathLike[str]) -> tuple[int, int, int, int] | None:
        v = _atomic.file_version(path)
        if v is None:
            return None
        base = first_seen.setdefault(os.fspath(path), v[3])
        return (v[0], v[1], v[2], (v[3] - base) // (2 * 10**7))

    monkeypatch.setattr(plots, "file_version", coarse)
    test_session44_fixes.test_report_thumbnail_of_a_photo_replaced_by_cp_p_is_decoded_again(
        tmp_path
    )
