"""Read-only arrays for the frozen containers (``IdMap``, ``Interactions``,
``ItemVectors``): their checks hold only while nobody writes into their arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def read_only(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr``: the caller's own array (which it may be) stays
    writable, and no copy is made (a catalogue's vectors can be gigabytes)."""
    view = arr.view()
    view.setflags(write=False)
    return view


def restore_read_only(obj: object, state: dict[str, Any]) -> None:
    """``__setstate__`` for a frozen dataclass: pickle makes arrays anew, writable, so
    an unpickled map whose ids were edited would look ids up by the old spelling."""
    for name, value in state.items():
        if isinstance(value, np.ndarray):
            state[name] = read_only(value)
    obj.__dict__.update(state)
