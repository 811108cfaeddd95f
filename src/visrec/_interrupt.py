"""Whether Ctrl-C was pressed in this command, for code that must not mistake it.

A KeyboardInterrupt raised inside compiled code, an import of a C extension for
example, can come out as another exception (an ``ImportError`` from ONNX Runtime's
module initialisation). Code that falls back on such an exception (``engine="auto"``
trying ONNX Runtime, then torch) asks :func:`pressed` first, so an interrupted run
stops instead of carrying on with the fallback. ``visrec.cli`` marks the press.
"""

from __future__ import annotations

import builtins
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType

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


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Run the block with SIGINT, SIGTERM and SIGHUP noted, not handled; their Python
    handlers run once it ends (a KeyboardInterrupt raised there, then).

    For compiled code a KeyboardInterrupt must not be raised into: a Ctrl-C while
    ``import torch`` ran aborted the process now and then (SIGABRT, status 134, no
    "interrupted" line) instead of ending it with 130. Main thread only (elsewhere no
    handler runs); a signal whose handler is not Python's (ignored, default) is left as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    sigs = [getattr(signal, n) for n in names if hasattr(signal, n)]
    handlers = {s: h for s in sigs if callable(h := signal.getsignal(s))}
    seen: list[int] = []
    for s in handlers:
        signal.signal(s, lambda signum, frame: seen.append(signum))
    try:
        yield
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        for signum in dict.fromkeys(seen):  # each once, in the order they came
            signal.raise_signal(signum)


@contextlib.contextmanager
def imports_held(names: Sequence[str] = ("torch",)) -> Iterator[None]:
    """While the block runs, the first import of each of ``names`` (wherever in the
    code its ``import`` statement is) runs :func:`held`: a Ctrl-C there is raised by
    that statement once the import is over. The command line imports torch at about
    twenty sites (models, checkpoints, the device probe, backbones).

    ``builtins.__import__`` is wrapped, not an import hook added: a KeyboardInterrupt
    raised from a loader, even after the module ran, makes the import system drop the
    module from ``sys.modules`` (its submodules stay, so a second import runs it again
    over them)."""
    waiting = frozenset(n for n in names if n not in sys.modules)
    if not waiting or threading.current_thread() is not threading.main_thread():
        yield
        return
    real = builtins.__import__

    def hold(
        name: str,
        globals: Mapping[str, object] | None = None,
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        top = name.partition(".")[0]
        if level == 0 and top in waiting and top not in sys.modules:
            with held():
                return real(name, globals, locals, fromlist, level)
        return real(name, globals, locals, fromlist, level)

    builtins.__import__ = hold
    try:
        yield
    finally:
        if builtins.__import__ is hold:  # else someone wrapped it after us: theirs stays
            builtins.__import__ = real
