"""``ray_available`` answers without importing Ray (and without Ray installed)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from visrec.embed.ray_engine import ray_available


def fake_ray(root: Path, with_data: bool) -> None:
    """A ``ray`` package on ``root`` whose import fails, so any import of it shows."""
    pkg = root / "ray"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('ray was imported')\n")
    if with_data:
        (pkg / "data").mkdir()
        (pkg / "data" / "__init__.py").write_text("")


@pytest.fixture
def shadow_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put ``tmp_path`` first on ``sys.path`` with no imported Ray in the way."""
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


@pytest.mark.parametrize("with_data", [True, False])
def test_checks_the_subpackage_without_importing_ray(shadow_ray: Path, with_data: bool) -> None:
    fake_ray(shadow_ray, with_data)
    assert ray_available() is with_data
    assert "ray" not in sys.modules


def test_false_when_ray_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # how Python marks a blocked import
    assert ray_available() is False


def test_true_with_the_real_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install -e '.[ray]')")
    assert ray_available() is True


@pytest.mark.parametrize("with_data", [True, False])
def test_after_ray_was_imported(shadow_ray: Path, with_data: bool) -> None:
    fake_ray(shadow_ray, with_data)
    (shadow_ray / "ray" / "__init__.py").write_text("")
    importlib.import_module("ray")
    assert ray_available() is with_data
