"""Session 70: the built-in help read as a user reads it (a helper's review by use of
``visrec --help`` and ``visrec COMMAND --help``).

* ``visrec features --help`` listed ``-o FEATURES.parquet`` with no word on it.
* Metavars argparse made from a two-word dest (``--knn-k KNN_K``, ``--n-factors
  N_FACTORS``, ``--max-bytes MAX_BYTES``, ``--id-col ID_COL``) where every other option
  says ``K``, ``N``, ``NAME``.
* Two epilog paragraphs broke a line mid-sentence (``When fewer than --n other items``,
  ``of the built-in ones); defaults``): ragged on a terminal wider than 88 columns.
* ``--engine ray --ray-address auto``, an example of ``visrec embed --help``, failed with
  Ray's own words only, which ask for an ``--address`` flag visrec does not have.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from visrec.cli import build_parser
from visrec.errors import VisrecError


def _parsers(
    parser: argparse.ArgumentParser, name: str = "visrec"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command's parser, with its name (``visrec data summary``)."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, p in action.choices.items():
                yield from _parsers(p, f"{name} {sub}")


PARSERS = list(_parsers(build_parser()))


def _prose(line: str) -> bool:
    """A line of a prose paragraph: text at the margin (examples and tables are indented)."""
    return bool(line.strip()) and not line[:1].isspace()


def test_every_argument_in_help_says_what_it_is() -> None:
    bare = [
        (name, action.option_strings or [action.dest])
        for name, p in PARSERS
        for action in p._actions
        if action.help is None and not isinstance(action, argparse._SubParsersAction)
    ]
    assert bare == []


def test_no_metavar_is_argparse_s_spelling_of_a_two_word_dest() -> None:
    """``--knn-k KNN_K``: argparse's upper-cased dest where the option means K."""
    odd = []
    for name, p in PARSERS:
        for action in p._actions:
            made = action.option_strings and action.nargs != 0 and action.metavar is None
            if made and action.choices is None and "_" in action.dest:
                odd.append((name, action.option_strings[-1], action.dest.upper()))
    assert odd == []
    # the usage the two commands write out themselves says the same
    for command in ("cluster", "similar"):
        usage = dict(PARSERS)[f"visrec {command}"].format_usage()
        assert "--id-col NAME" in usage and "--label-col NAME" in usage
        assert "_COL" not in usage


def test_no_epilog_paragraph_breaks_a_line_mid_sentence() -> None:
    """A prose line that stops well short of its paragraph's width while the next line's
    first word would have fitted: shown as written on a terminal wide enough."""
    ragged = []
    for name, p in PARSERS:
        for text in (p.description or "", p.epilog or ""):
            lines = text.splitlines()
            width = max((len(line) for line in lines if _prose(line)), default=0)
            for line, after in itertools.pairwise(lines):
                fits = _prose(after) and len(line) + 1 + len(after.split()[0]) < 0.75 * width
                if _prose(line) and fits:
                    ragged.append((name, line))
    assert ragged == []


@pytest.mark.parametrize("command", ["similar", "train"])
def test_wide_terminal_shows_the_epilog_paragraphs_whole(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    text = dict(PARSERS)[f"visrec {command}"].format_help()
    short = [line for line in text.splitlines() if line.rstrip().endswith(("items", "defaults"))]
    assert not [line for line in short if len(line) < 40], short


def _examples(text: str) -> list[str]:
    """The ``visrec ...`` command lines of a help text, continuations joined, comments cut."""
    lines, found = text.splitlines(), []
    k = 0
    while k < len(lines):
        line = lines[k].strip()
        if line.startswith("visrec "):
            while line.split(" #")[0].rstrip().endswith("\\"):
                k += 1
                line = line.split(" #")[0].rstrip()[:-1] + " " + lines[k].strip()
            found.append(line.split(" #")[0].strip())
        k += 1
    return found


EXAMPLES = sorted(
    {
        example
        for _, p in PARSERS
        for text in (p.description or "", p.epilog or "")
        for example in _examples(text)
        if not example.endswith("--help")
    }
)


def test_the_help_texts_hold_examples() -> None:
    assert len(EXAMPLES) >= 50  # every command's, the walk above found them


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_in_help_parses(example: str) -> None:
    """Each example a user copies from --help is a command line visrec takes: no option
    that was renamed or dropped, no missing required one."""
    parser = build_parser()
    args, extra = parser.parse_known_args(shlex.split(example)[1:])
    assert extra == []
    assert callable(args.func)


def test_features_example_from_help_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``visrec features styles.csv --id-col id --columns ... -o attrs.parquet`` then the
    same with ``--like``, as the help shows them, on a tiny table."""
    from visrec.cli import main
    from visrec.embed.store import read_vectors

    rows = ["id,masterCategory,baseColour,year"] + [
        f"{k},{'Apparel' if k % 2 else 'Footwear'},{('Red', 'Blue', 'Black')[k % 3]},{2010 + k % 5}"
        for k in range(12)
    ]
    (tmp_path / "styles.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "new_styles.csv").write_text("\n".join([rows[0], *rows[1:4]]) + "\n")
    help_text = dict(PARSERS)["visrec features"].epilog or ""
    wanted = [e for e in _examples(help_text) if "styles.csv" in e]
    assert len(wanted) == 2
    for example in wanted:
        argv = [
            str(tmp_path / a) if a.endswith((".csv", ".parquet")) else a
            for a in shlex.split(example)[1:]
        ]
        assert main(argv) == 0, capsys.readouterr().err
    assert len(read_vectors(tmp_path / "new_attrs.parquet")) == 3


def test_embed_help_says_what_ray_address_auto_joins() -> None:
    embed = dict(PARSERS)["visrec embed"]
    (action,) = [a for a in embed._actions if "--ray-address" in a.option_strings]
    assert action.help is not None and "running" in action.help and "`ray start`" in action.help
    assert "ray start --head" in (embed.epilog or "")


@pytest.mark.parametrize("address", ["auto", "head.example:6379"])
def test_a_ray_cluster_not_joined_says_how_to_do_without_one(address: str) -> None:
    """Ray's message asks for "the `--address` flag"; visrec's option is --ray-address,
    and leaving it out starts a local Ray."""
    from test_s52_ray_engine import BB
    from test_s69_engines3_mutants import _InitRay
    from visrec.embed.ray_engine import RayPipeline

    joining = RayPipeline(BB, "cpu", ray_address=address)
    why = ConnectionError("Could not find any running Ray instance. Please specify the one")
    with pytest.raises(VisrecError) as got:
        joining._start(_InitRay(why))
    said = str(got.value)
    assert said.startswith(f"cannot start/connect Ray ({address}): Could not find any")
    assert said.endswith("leave out --ray-address")
    # a local start that fails has no address to leave out
    local = RayPipeline(BB, "cpu")
    with pytest.raises(VisrecError) as got:
        local._start(_InitRay(OSError("no room")))
    assert "--ray-address" not in str(got.value)
