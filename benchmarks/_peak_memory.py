"""The benchmarks' peak-memory figure, on Linux, macOS and Windows."""

from __future__ import annotations

import sys


def ru_maxrss_kb() -> int:
    """getrusage's peak RSS in kB: macOS reports bytes, Windows has no ``resource``
    (0 there)."""
    try:
        import resource
    except ImportError:
        return 0
    peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak // 1024 if sys.platform == "darwin" else peak
