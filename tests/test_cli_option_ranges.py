"""Numeric options out of range: a one-line ``error:`` naming the option (exit 2), given
before any file is read, never a traceback from scikit-learn/numpy nor a silent run.

The input paths below do not exist on purpose: an option check that ran after loading
would report the missing file instead of the option.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.cli import main
from visrec.commands._checks import SEED_MAX, check_at_least, check_seed
from visrec.errors import VisrecError

CASES = [
    # (command line after the input paths, expected message)
    (["cluster", "{v}", "--labels", "{t}", "--id-col", "id", "--label-col", "c",
      "--random-state", "-1"],
     f"--random-state must be between 0 and {SEED_MAX}, got -1"),
    (["cluster", "{v}", "--labels", "{t}", "--id-col", "id", "--label-col", "c",
      "--random-state", str(SEED_MAX + 1)],
     f"--random-state must be between 0 and {SEED_MAX}, got {SEED_MAX + 1}"),
    (["cluster", "{v}", "--labels", "{t}", "--id-col", "id", "--label-col", "c", "--k", "0"],
     "--k must be at least 1, got 0"),
    (["cluster", "{v}", "--labels", "{t}", "--id-col", "id", "--label-col", "c",
      "--top-labels", "0"],
     "--top-labels must be at least 1, got 0"),
    (["knn-rating", "--interactions", "{t}", "--vectors", "{v}", "--random-state", "-1"],
     f"--random-state must be between 0 and {SEED_MAX}, got -1"),
    (["knn-rating", "--interactions", "{t}", "--vectors", "{v}", "--k", "0"],
     "--k must be at least 1, got 0"),
    (["rating-eval", "--interactions", "{t}", "--random-state", "-1"],
     f"--random-state must be between 0 and {SEED_MAX}, got -1"),
    (["rating-eval", "--interactions", "{t}", "--random-state", str(SEED_MAX), "--seeds", "2"],
     f"--random-state must be between 0 and {SEED_MAX - 1} (with 2 seeds, the last one is "
     f"--random-state + 1), got {SEED_MAX}"),
    # a typo's 10**11 seeds filled memory (evaluate) or overflowed the message (rating-eval)
    (["rating-eval", "--interactions", "{t}", "--seeds", "100000000000"],
     "--seeds must be between 1 and 1000 (each seed is a whole experiment), got 100000000000"),
    (["evaluate", "--interactions", "{t}", "--seeds", "100000000000"],
     "--seeds must be between 1 and 1000 (each seed is a whole experiment), got 100000000000"),
    (["evaluate", "--interactions", "{t}", "--seeds", "0"],
     "--seeds must be between 1 and 1000 (each seed is a whole experiment), got 0"),
    (["rating-eval", "--interactions", "{t}", "--vectors", "{v}", "--k", "0"],
     "--k must be at least 1, got 0"),
    (["rating-eval", "--interactions", "{t}", "--reg", "-0.1"],
     "--reg must be at least 0, got -0.1"),
    (["rating-eval", "--interactions", "{t}", "--reg-visual", "-1"],
     "--reg-visual must be at least 0, got -1"),
    (["rating-eval", "--interactions", "{t}", "--reg", "nan"], "--reg must be at least 0, got nan"),
    (["rating-eval", "--interactions", "{t}", "--n-factors", "-1"],
     "--n-factors must be at least 0, got -1"),
    (["rating-eval", "--interactions", "{t}", "--n-epochs", "0"],
     "--n-epochs must be at least 1, got 0"),
    (["demo", "--seed", "-1", "--out", "{o}"], f"--seed must be between 0 and {SEED_MAX}, got -1"),
    (["demo", "--batch-size", "0", "--out", "{o}"], "--batch-size must be at least 1, got 0"),
    (["demo", "--k", "0", "--out", "{o}"], "--k must be at least 1, got 0"),
    (["demo", "--backbone", "nope", "--out", "{o}"],
     "unknown backbone 'nope'; available: efficientnet-lite0"),
    (["similar", "{v}", "a", "--n", "0"], "--n must be at least 1, got 0"),
    (["fetch", "{t}", "--cache", "{o}", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["fetch", "{t}", "--cache", "{o}", "--retries", "-1"], "--retries must be at least 0, got -1"),
    (["fetch", "{t}", "--cache", "{o}", "--max-bytes", "0"],
     "--max-bytes must be at least 1, got 0"),
    (["fetch", "{t}", "--cache", "{o}", "--timeout", "nan"],
     "--timeout must be more than 0 and at most 86400 seconds (a day), got nan"),
    # inf was beyond time_t: a traceback in every download thread
    (["fetch", "{t}", "--cache", "{o}", "--timeout", "inf"],
     "--timeout must be more than 0 and at most 86400 seconds (a day), got inf"),
    (["fetch", "{t}", "--cache", "{o}", "--max-time", "1e12"],
     "--max-time must be more than 0 and at most 86400 seconds (a day), got 1e+12"),
    (["evaluate", "--interactions", "{t}", "--models", "popularity,bpr",
      "--param", "bpr.bogus=3"],
     "model 'bpr' has no hyperparameter 'bogus' (its hyperparameters: factors, epochs, lr, "),
    (["evaluate", "--interactions", "{t}", "--models", "popularity,bpr",
      "--param", "bpr.epoch=3"],
     "model 'bpr' has no hyperparameter 'epoch'; did you mean bpr.epochs=VALUE? (its "),
    (["train", "--model", "bpr", "--interactions", "{t}", "-o", "{o}",
      "--param", "bpr.epochs=3"],  # evaluate's form
     "model 'bpr' has no hyperparameter 'bpr.epochs'; did you mean epochs=VALUE? (its "),
    # empty or contradictory values, once taken for "unset" (an outside review)
    (["embed", "{t}", "-o", "{o}.parquet", "--device", "gpu"],
     "unknown device 'gpu'; expected auto, cpu, cuda or cuda:N"),
    (["embed", "{t}", "-o", "{o}.parquet", "--engine", "ray", "--ray-address", ""],
     "--ray-address is empty; name the cluster (HOST:PORT) or 'auto'"),
    (["fetch", "{t}", "--cache", ""],
     "--cache: folder path is empty; name the image cache folder"),
    (["fetch", "{t}", "--cache", "{o}", "-o", ""], "-o: output path is empty; name a file"),
    (["train", "--model", "bpr", "--interactions", "{t}", "-o", ""],
     "-o: output path is empty; name a folder, e.g. -o models/bpr"),
    (["train", "--model", "bpr", "--interactions", "{t}", "-o", "{o}", "-q",
      "--param", "verbose=true"],
     "--quiet and --param verbose=true contradict each other; give one of them"),
    (["evaluate", "--interactions", "{t}", "--models", "popularity,bpr", "-q",
      "--param", "bpr.verbose=true"],
     "--quiet and --param bpr.verbose=true contradict each other; give one of them"),
    (["evaluate", "--interactions", "{t}", "--models", "popularity,,bpr"],
     "--models 'popularity,,bpr': an empty name between commas; name every model"),
    (["report", "{t}", "-o", "{o}.html", "--title", " "],
     "--title is empty; leave it out for the default title"),
    # a mistyped value is that, not a contradiction with -q
    (["train", "--model", "bpr", "--interactions", "{t}", "-o", "{o}", "-q",
      "--param", "verbose=no"],
     "model 'bpr': verbose='no' must be true or false"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"), CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES]
)
def test_out_of_range_option_is_a_one_line_error_before_reading(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {"v": str(tmp_path / "missing.parquet"), "t": str(tmp_path / "missing.csv"),
             "o": str(tmp_path / "out")}  # fmt: skip
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written


def test_demo_engine_is_a_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown engine stops at the parser, before the catalogue is generated."""
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--engine", "foo", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "invalid choice: 'foo'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_check_seed_bounds() -> None:
    check_seed(0, "--seed")
    check_seed(SEED_MAX, "--seed")
    check_seed(SEED_MAX - 2, "--seed", count=3)
    with pytest.raises(VisrecError, match="--seed must be between 0 and"):
        check_seed(SEED_MAX - 1, "--seed", count=3)


def test_check_at_least_passes_defaults_and_the_minimum() -> None:
    check_at_least(None, 1, "--k")  # an option left at its default
    check_at_least(1, 1, "--k")
    check_at_least(0.0, 0, "--reg")
    with pytest.raises(VisrecError, match="--k must be at least 1, got 0"):
        check_at_least(0, 1, "--k")
