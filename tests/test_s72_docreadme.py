"""docs/scale.md, checked against the program (session 72, docreadme).

"Ray starts nothing until the cluster holds what is asked for, so actors x CPUs per
actor ... plus one CPU for decoding must fit: on the local instance a plan that does not
is an error before any work, on a joined cluster a warning (an autoscaler may add the
nodes)." A run joining a cluster through ``ray_address`` (``--ray-address``) also calls
``ray.init``, and was treated as the local instance it starts: an error, where the
cluster may grow.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from visrec.embed import ray_engine
from visrec.embed.backbones import get_backbone
from visrec.embed.ray_engine import RayPipeline
from visrec.errors import VisrecError


class _Stop(Exception):
    """Raised where the pipeline would start its Ray Data work: the plan is checked."""


class _FakeRay:
    """The part of ``ray`` a run touches before its pipeline: a 2-CPU cluster."""

    def __init__(self) -> None:
        self.inits: list[dict[str, Any]] = []
        self.data = SimpleNamespace(from_items=self._from_items)

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)

    def shutdown(self) -> None:
        pass

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    @staticmethod
    def _from_items(*args: Any, **kwargs: Any) -> None:
        raise _Stop


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **kw: Any) -> _FakeRay:
    fake = _FakeRay()
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(ray_engine, "_quiet_ray_data", lambda ray: contextlib.nullcontext())
    pipe = RayPipeline(get_backbone(), "cpu", num_actors=3, **kw)
    todo = [(0, [("a", tmp_path / "a.jpg")])]
    pipe.compute_chunks(todo, lambda *a: None, lambda n: None)
    return fake


def test_joined_cluster_too_small_warns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with (
        pytest.warns(RuntimeWarning, match=r"has 2 CPUs, and 3 actors .* need 4: the run waits"),
        pytest.raises(_Stop),
    ):
        fake = _run(monkeypatch, tmp_path, ray_address="10.0.0.1:6379")
        assert fake.inits[0]["address"] == "10.0.0.1:6379"


def test_local_instance_too_small_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(VisrecError, match=r"need 4: it would wait for them for ever"):
        _run(monkeypatch, tmp_path)
