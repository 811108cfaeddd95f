"""The benchmarks' line saying the machine their figures were measured on."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_line(threads: str) -> str:
    """``machine: 2 CPUs, load average 1.3 at the start; <threads>``: seconds on a
    shared machine mean little without the load, and the threads each side ran on."""
    load = (
        f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    )
    cpus = usable_cpus()
    return f"machine: {cpus} CPU{'' if cpus == 1 else 's'}{load}; {threads}"
