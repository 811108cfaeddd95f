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
     f"--vectors: {SAID} a vectors file, or leave it out"),
    (["train", "--model", "bpr", "--interactions", "{t}", "-o", "{o}", "--vectors", ""],
     f"--vectors: {SAID} a vectors file, or leave it out"),
    (["rating-eval", "--interactions", "{t}", "--vectors", ""],
     f"--vectors: {SAID} a vectors file, or leave it out"),
    (["embed", "-o", "{o}", "--manifest", ""],
     f"--manifest: {SAID} a manifest file, or leave it out"),
    (["demo", "--out", "{o}", "--data", ""], f"--data: {SAID} a dataset folder, or leave it out"),
    # required: there is no leaving it out
    (["knn-rating", "--interactions", "{t}", "--vectors", ""], f"--vectors: {SAID} a vectors file"),
    (["evaluate", "--interactions", ""], f"--interactions: {SAID} an interactions file"),
    # positionals, one of several too
    (["report", "", "-o", "{o}"], f"RESULT.json: {SAID} a results file"),
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


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["data", "summary", "{t}", "--json", ""], "--json: output path is empty; name a file"),
        # Path("") is the current folder: the demo was written there
        (["demo", "--out", ""], "--out: output path is empty; name a folder, e.g. --out demo-out"),
    ],
)
def test_outputs_keep_the_writers_words(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an empty output is refused where it is written, naming the option already
    t = tmp_path / "t.csv"
    t.write_text("user_id,item_id,rating\nu,i,5\n")
    assert main([a.format(t=t) for a in argv]) == 2
    assert capsys.readouterr().err == f"error: {said}\n"


#: every other argument of every command: not a path read (an output, a number, a name)
NOT_READ = {
    "backbone", "batch_size", "batch_users", "cache", "chunk_size", "columns", "device", "engine",
    "id_col", "image_size", "item_col", "item_ids", "json", "k", "keep", "key_col", "knn_k",
    "label_col", "map", "max_bytes", "max_items", "max_levels", "max_time", "min_rating",
    "model", "models",
    "n", "n_epochs", "n_factors", "n_items", "n_users", "new_slots", "out", "output", "param",
    "protocol", "random_state", "rating_col", "ray_address", "reg", "reg_visual", "report",
    "retries", "seed", "seeds", "sep", "test_ratio", "test_size", "time_col", "timeout",
    "title", "top_labels", "unknown_users", "user_col", "weight", "what", "workers",
}  # fmt: skip


def test_every_argument_is_an_input_path_or_known_not_to_be() -> None:
    # a new option that reads a file is added to INPUT_PATHS (or here, if it reads none)
    import argparse

    from visrec.cli import INPUT_PATHS, build_parser

    dests: set[str] = set()
    parsers = [build_parser()]
    while parsers:
        for action in parsers.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += action.choices.values()
            elif isinstance(action, argparse._StoreAction | argparse._AppendAction):
                dests.add(action.dest)
    assert sorted(dests - set(INPUT_PATHS) - NOT_READ) == []
    assert set(INPUT_PATHS) <= dests and not NOT_READ & set(INPUT_PATHS)


def test_a_path_left_out_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # only values given are looked at: a missing file is what is said
    t = tmp_path / "missing.csv"
    assert main(["evaluate", "--interactions", str(t)]) == 2
    err = capsys.readouterr().err
    assert "is empty" not in err and str(t) in err
