"""Where the benchmarks find the workplace's shared data: ``../shared/data`` beside
the repository (read-only, never copied into it)."""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
