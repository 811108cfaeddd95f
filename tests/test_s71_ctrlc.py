"""A Ctrl-C while ``import torch`` runs is raised once the import is over, not inside it:
raised into PyTorch's import it aborted the process now and then (SIGABRT, status 134,
no "interrupted" line), seen in about 1 of 100 `visrec embed --engine torch` runs."""

from __future__ import annotations

import builtins
import os
import signal
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from visrec import _interrupt


@pytest.fixture(autouse=True)
def _default_handler() -> Iterator[None]:
    # as in a terminal, also when pytest runs as a background job that ignores SIGINT
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_a_ctrl_c_in_a_held_block_is_raised_when_it_ends() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with _interrupt.held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")
        steps.append("after the block")  # not reached: raised as the block ends
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_held_block_without_a_signal_changes_nothing() -> None:
    with _interrupt.held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_torch_engine_imports_torch_with_ctrl_c_held(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    from visrec.embed.engines import TorchEngine

    real_import = builtins.__import__
    imported = []

    def import_with_ctrl_c(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch" and not imported:
            os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C in the middle of the import
            imported.append(name)  # the import went on to its end
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_with_ctrl_c)
    backbone = SimpleNamespace(name="fake", dim=3, build_model=lambda: torch.nn.Identity())
    with pytest.raises(KeyboardInterrupt):
        TorchEngine(backbone, "cpu")  # type: ignore[arg-type]
    assert imported == ["torch"]
