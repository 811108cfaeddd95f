"""Session 70 tidy-ups: an input path given twice says which file is left unread, for
every optional input (``--interactions`` alone did; ``--vectors A --vectors B`` read B
without a word), and ``visrec train`` checks the vectors' usability once."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import pytest

from visrec.cli import main

#: one command line per command family and input option: A and B are the two values
#: (files that do not exist: the note comes as the line is read, before any file is)
TWICE = {
    "train --vectors": ["train", "--model", "popularity", "-o", "m", "--interactions", "I"],
    "evaluate --vectors": ["evaluate", "--interactions", "I", "--models", "popularity"],
    "rating-eval --vectors": ["rating-eval", "--interactions", "I"],
    "knn-rating --vectors": ["knn-rating", "--interactions", "I"],
    "recommend --items": ["recommend", "M", "-o", "r.csv"],
    "recommend --users": ["recommend", "M", "-o", "r.csv"],
    "recommend --vectors": ["recommend", "M", "-o", "r.csv"],
    "similar --labels": ["similar", "V.parquet", "i"],
    "similar --images": ["similar", "V.parquet", "i"],
    "similar --vectors": ["similar", "i"],
    "cluster --labels": ["cluster", "V.parquet", "--id-col", "item_id", "--label-col", "x"],
    "cluster --images": [
        "cluster",
        "V.parquet",
        "--labels",
        "T",
        "--id-col",
        "item_id",
        "--label-col",
        "x",
    ],
    "cluster --vectors": ["cluster", "--labels", "T", "--id-col", "item_id", "--label-col", "x"],
    "features --vectors": ["features", "T", "--columns", "x", "-o", "f.parquet"],
    "features --like": ["features", "T", "-o", "f.parquet"],
    "embed --manifest": ["embed", "-o", "e.parquet"],
    "demo --data": ["demo"],
}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with contextlib.suppress(SystemExit):  # argparse's usage error (cluster's columns)
        main(argv)
    return capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(TWICE))
def test_an_input_given_twice_names_the_file_left_unread(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # was: the last value read without a word, the first file's data silently lost
    monkeypatch.chdir(tmp_path)
    Path("I").write_text("user_id,item_id,rating\nu,i,5\n")
    Path("T").write_text("item_id,x\ni,1\n")
    option = case.split()[1]
    first, second = str(tmp_path / "a.data"), str(tmp_path / "b.data")
    err = _run([*TWICE[case], option, first, option, second], capsys)
    lines = err.splitlines()
    assert lines[0] == (
        f"note: {option} given twice: {second} is read, {first} is not (the last value given wins)"
    )
    assert first not in "\n".join(lines[1:])  # the first one is not read, nor named again
    # the same path twice loses nothing: nothing said
    err = _run([*TWICE[case], option, first, option, first], capsys)
    assert "given twice" not in err


def test_every_optional_input_path_notes_a_second_value() -> None:
    # a new option reading a file (cli.INPUT_PATHS) says which file it leaves unread
    from visrec.cli import INPUT_PATHS, build_parser
    from visrec.commands._common import LastPathNoted

    plain: list[str] = []
    parsers = [build_parser()]
    while parsers:
        for action in parsers.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += action.choices.values()
            elif action.dest not in INPUT_PATHS or not action.option_strings:
                continue  # not an input, or a positional (given once)
            elif not isinstance(action, LastPathNoted):
                plain.append(f"{action.option_strings[0]} ({action.dest})")
    assert plain == []
