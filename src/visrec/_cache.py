"""Where visrec keeps what it can compute again (ONNX exports, resume records)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(sub: str) -> Path:
    """``$VISREC_CACHE/SUB``, else ``$XDG_CACHE_HOME/visrec/SUB``, else
    ``~/.cache/visrec/SUB``. A relative ``XDG_CACHE_HOME`` is ignored, as the XDG base
    directory specification says (it would put a cache in whatever folder a command
    runs from)."""
    root = os.environ.get("VISREC_CACHE")
    if root:
        return Path(root) / sub
    xdg = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(xdg):
        xdg = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "visrec" / sub
