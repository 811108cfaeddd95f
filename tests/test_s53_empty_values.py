"""An input path given as "" (an unset shell variable, ``--vectors "$V"``) is refused
before the command runs (session 53): read as false it meant the option left out, so
``evaluate --vectors ""`` compared the models with no pictures and exited 0, and a
positional "" was read as the current folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.cli import main

SAID = "path is empty (an unset shell variable?); name"
CASES = [
    (["evaluate", "--interactions", "{t}", "--vectors", ""],
     f"--vectors: {SAID} V, or leave the option out"),
    (["train", "--model", "bpr", "--interactions", "{t}", "-o", "{o}", "--vectors", ""],
     f"--vectors: {SAID} V.parquet, or leave the option out"),
    (["rating-eval", "--interactions", "{t}", "--vectors", ""],
     f"--vectors: {SAID} V, or leave the option out"),
    (["embed", "-o", "{o}", "--manifest", ""], f"--manifest: {SAID} CSV, or leave the option out"),
    (["demo", "--out", "{o}", "--data", ""], f"--data: {SAID} DIR, or leave the option out"),
    # required: there is no leaving it out
    (["knn-rating", "--interactions", "{t}", "--vectors", ""], f"--vectors: {SAID} V"),
    # positionals, one of several too
    (["report", "", "-o", "{o}"], f"RESULT.json: {SAID} a file or folder"),
    (["data", "summary", "{t}", ""], f"PATH: {SAID} a file or folder"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(a[:2]) for a, _ in CASES])
def test_an_empty_input_path_is_refused_before_the_command_runs(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = tmp_path / "t.csv"
    t.write_text("user_id,item_id,rating\nu,i,5\n")
    paths = {"t": str(t), "o": str(tmp_path / "out")}
    assert main([a.format(**paths) for a in argv]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_outputs_keep_the_writers_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an empty output is refused where it is written, naming the option already
    t = tmp_path / "t.csv"
    t.write_text("user_id,item_id,rating\nu,i,5\n")
    assert main(["data", "summary", str(t), "--json", ""]) == 2
    assert capsys.readouterr().err == "error: --json: output path is empty; name a file\n"


def test_a_path_left_out_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # only values given are looked at: a missing file is what is said
    t = tmp_path / "missing.csv"
    assert main(["evaluate", "--interactions", str(t)]) == 2
    err = capsys.readouterr().err
    assert "is empty" not in err and str(t) in err
