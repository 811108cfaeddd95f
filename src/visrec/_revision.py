"""Which visrec code made a record: the version plus a digest of the package's source.

The version alone stays the same while the code changes (a git checkout, an editable
install), so a resume record or a training checkpoint left by older code would be
reused by newer code that trains or scores differently. Records keyed by
:func:`code_revision` are reused only by the same code; an installed release has one
digest per version, so for it nothing changes.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from visrec import __version__


@functools.lru_cache(maxsize=1)
def code_revision() -> str:
    """``"<version>+<12 hex digits>"``: the version and a hash of every ``.py`` file of
    the package (path and bytes), read once per process (~1.5 MB, a few ms)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    try:
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    except OSError:  # an unreadable install: the version alone, as before
        return __version__
    return f"{__version__}+{digest.hexdigest()[:12]}"


def package_version(name: str) -> str:
    """An installed package's version from its metadata (importing torch costs seconds,
    and a cache hit or a key needs no torch at all); ``"none"`` when not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "none"


@functools.lru_cache(maxsize=1)
def library_versions() -> str:
    """``"torch 2.13.0, numpy 1.26.4"``: the libraries whose version changes what a fit
    draws and computes (torch's initialisation and kernels, numpy's random streams)."""
    return ", ".join(f"{name} {package_version(name)}" for name in ("torch", "numpy"))
