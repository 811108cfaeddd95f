"""The benchmarks' peak-memory figure, on Linux, macOS and Windows."""

from __future__ import annotations

import sys
from pathlib import Path


def ru_maxrss_kb() -> int:
    """getrusage's peak RSS in kB: macOS reports bytes, Windows has no ``resource``
    (0 there)."""
    try:
        import resource
    except ImportError:
        return 0
    peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak // 1024 if sys.platform == "darwin" else peak


def peak_rss_kb() -> int:
    """This process's peak RSS in kB.

    VmHWM where there is one (Linux), not ``getrusage(...).ru_maxrss``: Linux carries
    ru_maxrss across fork + exec, so a benchmark started by a big parent (a notebook, a
    test run, a driver script) would report the parent's size as its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return ru_maxrss_kb()
