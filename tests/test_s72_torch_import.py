"""A Ctrl-C while the command line imports torch, wherever in the code that import is
(models, checkpoints, the device probe, backbones: about twenty sites), is raised once
the import is over: raised into PyTorch's import it aborted the process now and then
(SIGABRT, status 134). Session 71 held it in the embed engine's import only."""

from __future__ import annotations

import builtins
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from visrec import _interrupt, cli


@pytest.fixture(autouse=True)
def _default_handler() -> Iterator[None]:
    # as in a terminal, also when pytest runs as a background job that ignores SIGINT
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A package whose import is hit by a Ctrl-C half-way, then imports a submodule."""
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            import os, signal
            os.kill(os.getpid(), signal.SIGINT)
            from . import part
            DONE = True
            """
        )
    )
    (pkg / "part.py").write_text("VALUE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in (name, f"{name}.part"):
        monkeypatch.delitem(sys.modules, mod, raising=False)


def test_a_ctrl_c_inside_a_held_import_is_raised_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(tmp_path, monkeypatch, "visrec_s72_held_pkg")
    real_import = builtins.__import__
    with pytest.raises(KeyboardInterrupt), _interrupt.imports_held(("visrec_s72_held_pkg",)):
        import visrec_s72_held_pkg  # noqa: F401
    mod = sys.modules["visrec_s72_held_pkg"]
    assert mod.DONE is True and mod.part.VALUE == 3  # the whole import ran
    assert builtins.__import__ is real_import  # put back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_the_hold_the_ctrl_c_cuts_the_import_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what the hold is for: the interrupt lands inside the package's own code
    _package(tmp_path, monkeypatch, "visrec_s72_free_pkg")
    with pytest.raises(KeyboardInterrupt):
        import visrec_s72_free_pkg  # noqa: F401
    assert "visrec_s72_free_pkg" not in sys.modules


def test_other_imports_and_known_modules_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(tmp_path, monkeypatch, "visrec_s72_other_pkg")
    real_import = builtins.__import__
    # not held: raised inside, as before
    with _interrupt.imports_held(("visrec_s72_not_this",)), pytest.raises(KeyboardInterrupt):
        import visrec_s72_other_pkg  # noqa: F401
    assert "visrec_s72_other_pkg" not in sys.modules
    with _interrupt.imports_held(("os",)):  # imported already: nothing to hold
        assert builtins.__import__ is real_import


def test_the_command_line_holds_torch_for_the_whole_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, ...]] = []
    steps: list[str] = []

    @contextlib.contextmanager
    def recording(names: tuple[str, ...]) -> Iterator[None]:
        calls.append(tuple(names))
        steps.append("held")
        yield
        steps.append("released")

    monkeypatch.setattr(_interrupt, "imports_held", recording)
    with cli._ctrl_c_seen():
        steps.append("command")
    assert calls == [("torch",)]
    assert steps == ["held", "command", "released"]


def test_real_torch_imported_under_a_ctrl_c_ends_with_the_interrupt() -> None:
    pytest.importorskip("torch")
    # a Ctrl-C when torch's import reaches its submodules; the import completes, then
    # the KeyboardInterrupt comes, and torch works
    script = textwrap.dedent(
        """
        import os, signal, sys
        from visrec import _interrupt

        class CtrlC:
            sent = False
            def find_spec(self, name, path, target=None):
                if name.startswith("torch.") and not self.sent:
                    self.sent = True
                    os.kill(os.getpid(), signal.SIGINT)
                return None

        sys.meta_path.insert(0, CtrlC())
        try:
            with _interrupt.imports_held(("torch",)):
                import torch
        except KeyboardInterrupt:
            import torch
            print("interrupted after", torch.ones(2).sum().item())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(_interrupt.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "interrupted after 2.0"
