"""Whether Ctrl-C was pressed in this command, for code that must not mistake it.

A KeyboardInterrupt raised inside compiled code, an import of a C extension for
example, can come out as another exception (an ``ImportError`` from ONNX Runtime's
module initialisation). Code that falls back on such an exception (``engine="auto"``
trying ONNX Runtime, then torch) asks :func:`pressed` first, so an interrupted run
stops instead of carrying on with the fallback. ``visrec.cli`` marks the press.
"""

from __future__ import annotations

import signal

_pressed = False
#: the signal that ended the command, when not a Ctrl-C: SIGTERM or SIGHUP (0: none)
_signum = 0


class Terminated(KeyboardInterrupt):
    """A SIGTERM (``kill``, ``timeout``, ``docker stop``, a batch scheduler) or a SIGHUP
    (the terminal or SSH session went away), raised as a Ctrl-C is: every cleanup and
    resume note a Ctrl-C gets runs for it too."""


def mark(*, signum: int = 0) -> None:
    """Note a Ctrl-C (called by the CLI's SIGINT handler), or the ending signal
    ``signum`` (SIGTERM, SIGHUP). The first such signal is the one reported."""
    global _pressed, _signum
    _pressed = True
    _signum = _signum or signum


def clear() -> None:
    """Forget it (a new command starts)."""
    global _pressed, _signum
    _pressed = False
    _signum = 0


def exit_status() -> int:
    """128 + the ending signal, as a shell reports a process it killed: 143 for a
    SIGTERM, 129 for a SIGHUP; 130 for a Ctrl-C."""
    return 128 + (_signum or int(signal.SIGINT))


def ending_signal() -> int:
    """The signal that ended the command when not a Ctrl-C (SIGTERM, SIGHUP); 0: none."""
    return _signum


def pressed() -> bool:
    """Whether Ctrl-C was pressed since the command started."""
    return _pressed


def reraise_if_pressed(exc: BaseException) -> None:
    """Raise ``KeyboardInterrupt`` from ``exc`` when Ctrl-C was pressed: ``exc`` is
    what the interrupt became on its way out of compiled code."""
    if _pressed:
        raise KeyboardInterrupt from exc
