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


def test_top_level_help_says_demo_reads_real_data_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "demo run the whole pipeline (generated catalogue, or --data DIR)" in text


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
    out, err = capsys.readouterr()
    assert "usage" in err and out == ""  # a usage error: nothing on stdout
    assert main(["data"]) == 2  # a command group without its subcommand
    out, err = capsys.readouterr()
    assert "usage: visrec data" in err and out == ""


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


def test_a_closed_pipe_ends_quietly() -> None:
    """`visrec ... | head`: the reader leaves early; no traceback, exit 141 like a shell."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from visrec import cli\n"
        "def run(args):\n"
        "    for _ in range(200_000):\n"
        "        print('x' * 80)\n"
        "    return 0\n"
        "build = cli.build_parser\n"
        "def parser():\n"
        "    p = build()\n"
        "    p.set_defaults(func=run)\n"
        "    return p\n"
        "cli.build_parser = parser\n"
        "sys.exit(cli.main([]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()  # the reader goes away mid-output
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_help_prose_fits_an_80_column_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the texts were laid out for about 88 columns: a terminal of 80 cut them mid-word
    # (example commands are kept as written)
    monkeypatch.setenv("COLUMNS", "80")
    commands = ["demo", "fetch", "embed", "cluster", "knn-rating", "rating-eval", "train",
                "recommend", "evaluate", "report", "similar"]  # fmt: skip
    for argv in ([], ["data", "summary"], *([c] for c in commands)):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        text = capsys.readouterr().out
        long = [
            line
            for line in text.splitlines()
            if len(line) > 80 and not line.lstrip().startswith(("visrec ", "--"))
        ]
        assert long == [], (argv, long)
        assert "interactions file layout:" in text or argv[:1] not in (["train"], ["evaluate"])
