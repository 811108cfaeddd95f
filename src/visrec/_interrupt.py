"""Whether Ctrl-C was pressed in this command, for code that must not mistake it.

A KeyboardInterrupt raised inside compiled code, an import of a C extension for
example, can come out as another exception (an ``ImportError`` from ONNX Runtime's
module initialisation). Code that falls back on such an exception (``engine="auto"``
trying ONNX Runtime, then torch) asks :func:`pressed` first, so an interrupted run
stops instead of carrying on with the fallback. ``visrec.cli`` marks the press.
"""

from __future__ import annotations

_pressed = False
_terminated = False


class Terminated(KeyboardInterrupt):
    """A SIGTERM (``kill``, ``timeout``, ``docker stop``, a batch scheduler), raised
    as a Ctrl-C is: every cleanup and resume note a Ctrl-C gets runs for it too."""


def mark(*, term: bool = False) -> None:
    """Note a Ctrl-C (called by the CLI's SIGINT handler), or a SIGTERM."""
    global _pressed, _terminated
    _pressed = True
    _terminated = _terminated or term


def clear() -> None:
    """Forget it (a new command starts)."""
    global _pressed, _terminated
    _pressed = _terminated = False


def terminated() -> bool:
    """Whether the interrupt was a SIGTERM (exit status 143, not 130)."""
    return _terminated


def pressed() -> bool:
    """Whether Ctrl-C was pressed since the command started."""
    return _pressed


def reraise_if_pressed(exc: BaseException) -> None:
    """Raise ``KeyboardInterrupt`` from ``exc`` when Ctrl-C was pressed: ``exc`` is
    what the interrupt became on its way out of compiled code."""
    if _pressed:
        raise KeyboardInterrupt from exc
