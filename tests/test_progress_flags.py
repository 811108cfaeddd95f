"""The shared progress-bar rule of train, recommend, evaluate and rating-eval
(``commands/_progress``): a bar only when stderr is a terminal, ``--verbose`` forces
it, ``--quiet`` hides it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from visrec.cli import main

if TYPE_CHECKING:
    from conftest import BarCase


@pytest.fixture
def ratings_csv(tmp_path: Path) -> Path:
    """8 users x 6 items, every pair rated 1-5: tiny, so each command runs in a blink."""
    path = tmp_path / "r.csv"
    rows = [f"u{u},i{i},{1 + (u + i) % 5}" for u in range(8) for i in range(6)]
    path.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    return path


def _bar_shown(argv: list[str], capsys: pytest.CaptureFixture[str]) -> bool:
    assert main(argv) == 0
    return "\r" in capsys.readouterr().err


def test_train_bar_only_on_a_terminal(
    bar_case: BarCase, ratings_csv: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    argv = ["train", "--model", "bpr", "--interactions", str(ratings_csv), "--param",
            "epochs=2", "-o", str(tmp_path / "m"), *flags]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert ("\r" in err) is bar
    # with no bar, and unless --quiet, one line says that the fit has started
    started = "training bpr on 8 users x 6 items (48 rows) ..." in err
    assert started is (not bar and "--quiet" not in flags)


def test_recommend_bar_only_on_a_terminal(
    bar_case: BarCase, ratings_csv: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    model = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(ratings_csv), "-o", str(model)]
    assert main(argv) == 0
    capsys.readouterr()
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    out = tmp_path / "recs.csv"  # not r.csv: the training data, which -o must not replace
    assert _bar_shown(["recommend", str(model), "--n", "2", "-o", str(out), *flags], capsys) is bar
    assert len(out.read_text().splitlines()) == 1  # every item seen by every user: no rows


def test_evaluate_bar_only_on_a_terminal(
    bar_case: BarCase, ratings_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    argv = ["evaluate", "--interactions", str(ratings_csv), "--models", "popularity",
            "--seeds", "1", "--k", "2", *flags]  # fmt: skip
    assert _bar_shown(argv, capsys) is bar


def test_evaluate_quiet_also_hides_the_per_seed_lines(
    ratings_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "--interactions", str(ratings_csv), "--models", "popularity",
            "--seeds", "1", "--k", "2"]  # fmt: skip
    assert main(argv) == 0
    assert "popularity" in capsys.readouterr().err  # a per-seed line, no bar (not a tty)
    assert main([*argv, "--quiet"]) == 0
    # only what qualifies the figures (here: AUC has no negatives to rank against)
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if not ln.startswith("note: ")] == []
    assert "popularity" not in err
    with pytest.raises(SystemExit):
        main([*argv, "--verbose", "--quiet"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_rating_eval_bar_only_on_a_terminal(
    bar_case: BarCase, ratings_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    argv = ["rating-eval", "--interactions", str(ratings_csv), "--n-epochs", "2", *flags]
    assert _bar_shown(argv, capsys) is bar


@pytest.mark.parametrize("command", ["demo", "fetch"])
def test_no_progress_is_the_older_spelling_of_quiet(command: str) -> None:
    from visrec.cli import build_parser

    extra = ["x", "--cache", "c"] if command == "fetch" else []
    args = build_parser().parse_args([command, *extra, "--no-progress"])
    assert args.quiet is True and args.verbose is False


def test_evaluate_into_a_log_file_says_how_far_scoring_is(
    ratings_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No bar (not a terminal): scoring a split's test users says how far it is now and
    then (every batch with the interval at 0); --quiet hides it."""
    from visrec import _progress_lines

    monkeypatch.setattr(_progress_lines, "EVERY_S", 0.0)
    argv = ["evaluate", "--interactions", str(ratings_csv), "--models", "popularity",
            "--seeds", "1", "--k", "2", "--batch-size", "3"]  # fmt: skip
    assert main(argv) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if "score popularity:" in x]
    assert [x.split(",")[0] for x in lines] == [
        "  score popularity: 3 of 8 test users",
        "  score popularity: 6 of 8 test users",
    ]
    assert main([*argv, "--quiet"]) == 0
    assert "score popularity:" not in capsys.readouterr().err
