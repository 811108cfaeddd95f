"""The shared progress-bar rule of train, evaluate and rating-eval (``commands/_progress``):
a bar only when stderr is a terminal, ``--verbose`` forces it, ``--quiet`` hides it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from visrec.cli import main

CASES = [
    ([], False, False),  # `visrec ... > log 2>&1`: no `\r` redraws in the log
    (["--verbose"], False, True),  # forced
    ([], True, True),  # a terminal
    (["--quiet"], True, False),
]


@pytest.fixture
def ratings_csv(tmp_path: Path) -> Path:
    """8 users x 6 items, every pair rated 1-5: tiny, so each command runs in a blink."""
    path = tmp_path / "r.csv"
    rows = [f"u{u},i{i},{1 + (u + i) % 5}" for u in range(8) for i in range(6)]
    path.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    return path


def _bar_shown(
    argv: list[str], tty: bool, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> bool:
    mp.setattr(sys.stderr, "isatty", lambda: tty)
    assert main(argv) == 0
    return "\r" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "tty", "bar"), CASES)
def test_train_bar_only_on_a_terminal(
    flags: list[str], tty: bool, bar: bool, ratings_csv: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    argv = ["train", "--model", "bpr", "--interactions", str(ratings_csv), "--param",
            "epochs=2", "-o", str(tmp_path / "m"), *flags]  # fmt: skip
    assert _bar_shown(argv, tty, capsys, monkeypatch) is bar


@pytest.mark.parametrize(("flags", "tty", "bar"), CASES)
def test_evaluate_bar_only_on_a_terminal(
    flags: list[str], tty: bool, bar: bool, ratings_csv: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    argv = ["evaluate", "--interactions", str(ratings_csv), "--models", "popularity",
            "--seeds", "1", "--k", "2", *flags]  # fmt: skip
    assert _bar_shown(argv, tty, capsys, monkeypatch) is bar


def test_evaluate_quiet_also_hides_the_per_seed_lines(
    ratings_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "--interactions", str(ratings_csv), "--models", "popularity",
            "--seeds", "1", "--k", "2"]  # fmt: skip
    assert main(argv) == 0
    assert "popularity" in capsys.readouterr().err  # a per-seed line, no bar (not a tty)
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit):
        main([*argv, "--verbose", "--quiet"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "tty", "bar"), CASES)
def test_rating_eval_bar_only_on_a_terminal(
    flags: list[str], tty: bool, bar: bool, ratings_csv: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    argv = ["rating-eval", "--interactions", str(ratings_csv), "--n-epochs", "2", *flags]
    assert _bar_shown(argv, tty, capsys, monkeypatch) is bar
