"""docs/models.md and docs/scale.md as a new user reads them: the command lines they
show and the option defaults they state are those of the command-line parser."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from visrec.cli import build_parser
from visrec.commands._params import parse_param

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError("no subcommands")


def _option(command: str, flag: str) -> argparse.Action:
    for action in _subparser(command)._actions:
        if flag in action.option_strings:
            return action
    raise AssertionError(f"visrec {command} has no {flag}")


def _doc_commands(doc: str) -> list[str]:
    """The ``visrec ...`` command lines of a doc's fenced code blocks, continuation
    lines (indented, or after a backslash) joined, comments dropped."""
    commands: list[str] = []
    current: str | None = None
    in_block = False
    for line in (DOCS / doc).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
            current = None
            continue
        if not in_block:
            continue
        code = line.split("#", 1)[0].rstrip()
        if code.startswith("visrec "):
            commands.append(code)
            current = code
        elif current is not None and (line[:1].isspace() or current.endswith("\\")) and code:
            commands[-1] = current = current.rstrip("\\") + " " + code.strip()
        else:
            current = None
    return commands


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_param_help_says_a_number_json_cannot_spell_is_a_number(command: str) -> None:
    # docs/models.md: "VALUE parsed as JSON or as a number such as `.01`, else taken as
    # a plain string"; --help said "read as JSON, else as a plain string", which would
    # make reg=.01 the string ".01" (failed before the help was corrected)
    assert parse_param("reg=.01") == ("reg", 0.01)
    help_text = " ".join(_option(command, "--param").help.split())
    assert ".01" in help_text and "number" in help_text


@pytest.mark.parametrize("doc", ["models.md", "scale.md"])
def test_every_option_the_docs_commands_use_exists(doc: str) -> None:
    # kills a renamed or dropped option (mutant: "--new-slots" -> "--new-slot" in
    # commands/recommend.py, "--ray-address" -> "--ray" in commands/embed.py)
    commands = _doc_commands(doc)
    assert commands, f"no visrec command found in docs/{doc}"
    for line in commands:
        sub = line.split()[1]
        known = {flag for a in _subparser(sub)._actions for flag in a.option_strings}
        for flag in re.findall(r"(?<![\w-])--?[a-zA-Z][\w-]*", line):
            assert flag in known, f"docs/{doc}: `{line}` uses {flag}, not an option of visrec {sub}"


def test_documented_defaults() -> None:
    # docs/models.md: "--new-slots K (0 <= K <= n, default 0)"; the examples' --n 20 is
    # the default; docs/scale.md: "--engine auto (default)", "--device auto (default)",
    # the four engines (mutants: new_slots default 1, engine default "onnx", "ray"
    # dropped from the choices)
    parser = build_parser()
    rec = parser.parse_args(["recommend", "M", "-o", "r.csv"])
    assert (rec.n, rec.new_slots) == (20, 0)
    assert set(_option("recommend", "--unknown-users").choices) == {"error", "skip", "popular"}
    emb = parser.parse_args(["embed", "D", "-o", "v.parquet"])
    assert (emb.engine, emb.device) == ("auto", "auto")
    assert set(_option("embed", "--engine").choices) == {"auto", "onnx", "torch", "ray"}
