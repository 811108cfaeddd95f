"""Progress of long fits as plain lines, for output that goes to a log file.

A progress bar redraws itself with ``\\r``; in a log file that is thousands of lines, so
``visrec train`` shows no bar there, and a fit on a million pairs then ran for tens of
minutes without a word. Inside a :func:`fit_lines` block, ``fit_pairwise`` writes one
line at most every ``every_s`` seconds (``bpr: epoch 12/80, loss 0.4213, 2.1 min``), and
``reg="auto"`` says which trial an epoch belongs to and what each trial scored. Short
fits write nothing. Outside a block (the Python API, bars on a terminal) this is silent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["epoch_done", "fit_lines", "fit_started", "say", "stage"]


@dataclass
class _Lines:
    write: Callable[[str], None]
    every_s: float
    last: float = field(default_factory=time.monotonic)


_ACTIVE: ContextVar[_Lines | None] = ContextVar("visrec_fit_lines", default=None)
_STAGE: ContextVar[str | None] = ContextVar("visrec_fit_stage", default=None)
_OWNER: ContextVar[str | None] = ContextVar("visrec_fit_owner", default=None)


#: default seconds between two lines
EVERY_S = 60.0


@contextlib.contextmanager
def fit_lines(write: Callable[[str], None], every_s: float | None = None) -> Iterator[None]:
    """Write progress lines of the fits inside the block through ``write``: at most one
    every ``every_s`` (default ``EVERY_S``) seconds, the first of a fit that long after
    it starts (:func:`fit_started`)."""
    token = _ACTIVE.set(_Lines(write, EVERY_S if every_s is None else every_s))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def owner(model: str) -> Iterator[None]:
    """Name the model whose fit runs the fits inside the block: visual-cf's inner BPR
    fits say ``bpr of visual-cf``, not ``bpr`` (a reader took them for BPR refitted)."""
    token = _OWNER.set(model)
    try:
        yield
    finally:
        _OWNER.reset(token)


@contextlib.contextmanager
def stage(label: str) -> Iterator[None]:
    """Name the fits inside the block in their epoch lines (e.g. a ``reg=auto`` trial)."""
    token = _STAGE.set(label)
    try:
        yield
    finally:
        _STAGE.reset(token)


def fit_started() -> None:
    """A fit starts (or resumes): its first line comes ``every_s`` from now, so a fit
    shorter than that says nothing, whatever ran before it in the block."""
    lines = _ACTIVE.get()
    if lines is not None:
        lines.last = time.monotonic()


def step_done(desc: str, done: int, total: int, unit: str, started: float) -> None:
    """After ``done`` of ``total`` ``unit`` of a long step that is no fit (scoring a
    split's test users, writing recommendations) began at ``started`` (``time.monotonic()``, with
    :func:`fit_started` called then): a line, when ``every_s`` have passed."""
    lines = _ACTIVE.get()
    if lines is None or not 0 < done < total:
        return
    now = time.monotonic()
    if now - lines.last < lines.every_s:
        return
    lines.last = now
    lines.write(f"  {desc}: {done:,} of {total:,} {unit}, {_minutes(now - started)}")


def epoch_done(desc: str, epoch: int, epochs: int, loss: float, started: float) -> None:
    """After epoch ``epoch`` (1-based) of ``epochs`` of the fit ``desc`` that began (or
    resumed) at ``started`` (``time.monotonic()``): a line, when ``every_s`` have passed
    since the last line or the fit's start."""
    lines = _ACTIVE.get()
    if lines is None:
        return
    now = time.monotonic()
    if now - lines.last < lines.every_s:
        return
    lines.last = now
    name = fit_name(desc)
    lines.write(f"  {name}: epoch {epoch}/{epochs}, loss {loss:.4f}, {_minutes(now - started)}")


def fit_name(desc: str) -> str:
    """The fit ``desc`` as its lines and bar name it: ``bpr of visual-cf (reg=auto trial
    2/3)`` for an inner fit, ``desc`` alone for a model's own."""
    where, who = _STAGE.get(), _OWNER.get()
    name = f"{desc} of {who}" if who and who != desc else desc
    return f"{name} ({where})" if where else name


def say(line: str) -> None:
    """Write ``line`` now, inside a :func:`fit_lines` block (e.g. a trial's score)."""
    lines = _ACTIVE.get()
    if lines is not None:
        lines.write(line)
        lines.last = time.monotonic()


def _minutes(seconds: float) -> str:
    # rounded first: 89.6 s would print as "90 s" below the switch to minutes
    return f"{seconds:.0f} s" if round(seconds) < 90 else f"{seconds / 60:.1f} min"
