"""Mutation audit (session 63) of ``visrec._device`` and ``visrec._progress_lines``.

Mutants: 56 in all (27 in ``_device``, 29 in ``_progress_lines``); killed by the
earlier tests 33 (19 + 14); killed with this file 54; equivalent 2:

- ``parse_device`` without the ``sep`` check: with no ``:`` the index part is ``""``,
  which ``isdigit()`` refuses, and bare ``"cuda"`` returns before the partition.
- ``cuda_driver_present`` catching ``(OSError, ImportError)``: ``ctypes.CDLL`` raises
  only ``OSError`` for a library it cannot load.

The gaps were the driver library's name per platform and a loaded one answered as
"present", ``torch_device()``'s default, the full advice in both torch messages, and
every timing rule of the progress lines (the interval's boundary and default, when it
restarts, counts and times as said); those are tested here with a hand-moved clock,
never a real GPU (``torch.cuda.is_available`` and ``ctypes.CDLL`` are monkeypatched).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from visrec import _device, _progress_lines
from visrec.errors import VisrecError

# ----------------------------------------------------------------------- _device


def _record_cdll(monkeypatch: pytest.MonkeyPatch, loads: bool) -> list[str]:
    asked: list[str] = []

    def cdll(name: str, *args: object, **kwargs: object) -> object:
        asked.append(name)
        if not loads:
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    return asked


@pytest.mark.parametrize(("os_name", "library"), [("posix", "libcuda.so.1"), ("nt", "nvcuda.dll")])
def test_the_driver_probe_loads_the_platforms_driver_library(
    monkeypatch: pytest.MonkeyPatch, os_name: str, library: str
) -> None:
    # kills: the two names swapped, "libcuda.so" (only the -dev package installs it),
    # and a loaded library answered as "no driver"
    asked = _record_cdll(monkeypatch, loads=True)
    monkeypatch.setattr(_device, "os", SimpleNamespace(name=os_name))
    assert _device.cuda_driver_present() is True
    assert asked == [library]


def test_torch_device_defaults_to_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills a default of "cpu": ``torch_device()`` picks the GPU when torch sees one
    import torch

    monkeypatch.setattr(_device, "cuda_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _device.torch_device() == "cuda"
    assert _device.torch_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _device.torch_device() == "cpu"


def test_both_torch_messages_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: the advice left out of either message, the torch version left out
    import torch

    advice = (
        "use device cpu (device='cpu' in Python; visrec embed --device cpu; a model's "
        "--param device=cpu)"
    )
    monkeypatch.setattr(_device, "cuda_driver_present", lambda: False)
    assert _device.torch_cuda_missing() == (
        f"torch sees no CUDA GPU (no NVIDIA driver found); {advice}"
    )
    monkeypatch.setattr(_device, "cuda_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _device.torch_cuda_missing() == (
        f"torch sees no CUDA GPU (torch {torch.__version__}); {advice}, or install a CUDA "
        "build of torch"
    )
    with pytest.raises(VisrecError) as err:
        _device.torch_device("CUDA")
    assert str(err.value) == f"device 'CUDA' requested but {_device.torch_cuda_missing()}"


# --------------------------------------------------------------- _progress_lines


class _Clock:
    """A ``time.monotonic`` the test moves by hand (whole seconds: exact differences)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Clock]:
    import time

    fake = _Clock(float(int(time.monotonic())) + 1.0)  # just after the real clock
    monkeypatch.setattr(_progress_lines, "time", SimpleNamespace(monotonic=fake))
    yield fake


def test_the_default_interval_is_a_minute_and_a_line_comes_when_it_is_up(
    clock: _Clock,
) -> None:
    # kills: EVERY_S changed, "<" as "<=" (no line exactly every_s after the last)
    t0 = clock.now
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append):
        _progress_lines.fit_started()
        clock.now = t0 + 59
        _progress_lines.epoch_done("bpr", 1, 3, 0.5, t0)
        assert lines == []
        clock.now = t0 + 60
        _progress_lines.epoch_done("bpr", 2, 3, 0.25, t0)
        assert lines == ["  bpr: epoch 2/3, loss 0.2500, 60 s"]


def test_epoch_lines_come_every_interval_and_time_the_whole_fit(clock: _Clock) -> None:
    # kills: the last line's time not kept (a line every epoch) or kept as one interval
    # later, the time since the last line said instead of since the fit's start, the
    # loss to 3 digits
    t0 = clock.now
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=10):
        _progress_lines.fit_started()
        for t, epoch in [(5, 1), (10, 2), (15, 3), (20, 4), (29, 5), (30, 6)]:
            clock.now = t0 + t
            _progress_lines.epoch_done("bpr", epoch, 6, 0.123456, t0 - 100)
    assert lines == [
        "  bpr: epoch 2/6, loss 0.1235, 1.8 min",
        "  bpr: epoch 4/6, loss 0.1235, 2.0 min",
        "  bpr: epoch 6/6, loss 0.1235, 2.2 min",
    ]


def test_step_lines_come_every_interval_between_the_first_and_the_last(
    clock: _Clock,
) -> None:
    # kills: a line at 0 done or at all done, "<" as "<=", the last line's time not
    # kept, counts without thousands separators or off by one, the time since the last
    # line said instead of since the step began
    t0 = clock.now
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=10):
        _progress_lines.fit_started()
        steps = [(9, 1000), (10, 1234), (15, 2000), (20, 0), (30, 5678), (40, 4321)]
        for t, done in steps:
            clock.now = t0 + t
            _progress_lines.step_done("score m", done, 5678, "test users", t0)
    assert lines == [
        "  score m: 1,234 of 5,678 test users, 10 s",
        "  score m: 4,321 of 5,678 test users, 40 s",
    ]


@pytest.mark.parametrize(
    ("seconds", "said"),
    # 89.6 s rounds to 90: minutes, not "90 s" (session 68)
    [
        (59, "59 s"),
        (60, "60 s"),
        (89, "89 s"),
        (89.4, "89 s"),
        (89.6, "1.5 min"),
        (90, "1.5 min"),
        (150, "2.5 min"),
    ],
)
def test_times_under_ninety_seconds_are_seconds_then_minutes(
    clock: _Clock, seconds: float, said: str
) -> None:
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=0):
        _progress_lines.fit_started()
        _progress_lines.epoch_done("bpr", 1, 2, 1.0, clock.now - seconds)
    assert lines == [f"  bpr: epoch 1/2, loss 1.0000, {said}"]


def test_a_fit_waits_an_interval_from_its_own_start_and_from_the_last_said_line(
    clock: _Clock,
) -> None:
    # kills: fit_started not restarting the interval, say() not restarting it
    t0 = clock.now
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=60):
        _progress_lines.fit_started()
        clock.now = t0 + 50
        _progress_lines.fit_started()  # a second fit starts
        clock.now = t0 + 70
        _progress_lines.epoch_done("bpr", 1, 2, 1.0, t0 + 50)
        assert lines == []
        _progress_lines.say("  trial 1 scored")
        clock.now = t0 + 125
        _progress_lines.epoch_done("bpr", 2, 2, 1.0, t0 + 50)
        assert lines == ["  trial 1 scored"]
        clock.now = t0 + 130
        _progress_lines.step_done("x", 1, 2, "u", t0 + 100)
        assert lines == ["  trial 1 scored", "  x: 1 of 2 u, 30 s"]


def test_a_block_starts_its_interval_when_it_is_entered(clock: _Clock) -> None:
    # kills the interval counted from 0 (a line at once, before any fit_started)
    lines: list[str] = []
    with _progress_lines.fit_lines(lines.append, every_s=5):
        _progress_lines.epoch_done("bpr", 1, 2, 1.0, clock.now)
        _progress_lines.step_done("x", 1, 2, "u", clock.now)
    assert lines == []


def test_blocks_nest_and_end(clock: _Clock) -> None:
    # kills a block that leaves its writer, owner or stage behind
    outer: list[str] = []
    inner: list[str] = []
    with _progress_lines.fit_lines(outer.append, every_s=0):
        with _progress_lines.fit_lines(inner.append, every_s=0):
            _progress_lines.say("a")
        _progress_lines.say("b")
        with _progress_lines.owner("visual-cf"), _progress_lines.stage("trial 1/3"):
            assert _progress_lines.fit_name("bpr") == "bpr of visual-cf (trial 1/3)"
        assert _progress_lines.fit_name("bpr") == "bpr"
        with _progress_lines.owner("bpr"):
            assert _progress_lines.fit_name("bpr") == "bpr"
        assert _progress_lines.fit_name("bpr") == "bpr"
    _progress_lines.say("c")
    _progress_lines.epoch_done("bpr", 1, 1, 1.0, clock.now)
    assert (inner, outer) == (["a"], ["b"])
