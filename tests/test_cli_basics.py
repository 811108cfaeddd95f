"""The CLI shell: help, version, errors as one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from visrec.cli import build_parser, main


def test_help_lists_core_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("demo", "data", "embed", "cluster", "knn-rating"):
        assert cmd in out


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = list(sub.choices)  # type: ignore[attr-defined]
    assert names, "no subcommands registered"
    for name in names:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_console_script_module_entry() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "visrec", "--version"], capture_output=True, text=True
    )
    assert res.returncode == 0 and res.stdout.startswith("visrec ")


def test_command_modules_are_the_public_ones() -> None:
    """Every ``visrec.commands`` module is a registered command, except helpers whose
    name starts with ``_`` (e.g. ``_common``), which have no ``register``."""
    import pkgutil

    import visrec.commands
    from visrec.cli import COMMAND_MODULES

    found = {m.name for m in pkgutil.iter_modules(visrec.commands.__path__)}
    assert "_common" in found
    assert set(COMMAND_MODULES) == {n for n in found if not n.startswith("_")}
