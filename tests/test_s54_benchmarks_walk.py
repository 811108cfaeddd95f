"""The benchmark scripts' refusals: one ``error:`` line, the convention's exit status,
and before any minutes of work (session 54's walk through benchmarks/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from bench_scripts import bench

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "movielens-100k-posters"


def test_train_scale_refuses_a_models_list_that_names_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: the data drawn, nothing timed, nothing printed, exit 0
    train_scale = bench("train_scale", monkeypatch)
    rc = train_scale.main(["--models", " , ", "--users", "20", "--items", "10", "--pairs", "50"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert err.startswith("error: --models names no model")
    assert "data:" not in out


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs Linux's /sys")
def test_train_scale_says_a_refused_json_folder_with_exit_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kills ``return 2`` for every VisrecError: the system's refusal is exit status 1."""
    train_scale = bench("train_scale", monkeypatch)
    rc = train_scale.main(["--json", "/sys/s54-bench.json", "--users", "20", "--items", "10"])
    err = capsys.readouterr().err
    assert err.startswith("error: --json: cannot write") and err.count("\n") == 1
    assert rc == 1


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_embed_throughput_says_a_wrong_images_dir_as_bad_input(
    folder: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # was: SystemExit("error: ..."), exit status 1, where bad input is 2
    pytest.importorskip("onnxruntime")
    embed_throughput = bench("embed_throughput", monkeypatch)
    (tmp_path / "empty").mkdir()
    rc = embed_throughput.main([str(tmp_path / folder), "--no-rss"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert str(tmp_path / folder) in err


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--k", "0", "--k must be at least 1, got 0"),
        ("--epochs", "0", "--epochs must be at least 1, got 0"),
        ("--visual-dim", "-3", "--visual-dim must be at least 0, got -3"),
    ],
)
def test_vbpr_vs_cornac_checks_its_options_before_loading_anything(
    option: str,
    value: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # was: the data loaded and the posters embedded (minutes) before the model said it,
    # by its own parameter names ("factors must be >= 1")
    vbpr_vs_cornac = bench("vbpr_vs_cornac", monkeypatch)
    real = importlib.util.find_spec

    def cornac_there(name: str, *args: Any) -> Any:
        return object() if name == "cornac" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", cornac_there)
    rc = vbpr_vs_cornac.main(["--data", str(tmp_path / "no-such-folder"), option, value])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"error: {said}\n"


@pytest.mark.skipif(not (ML100K / "u.data").is_file(), reason="no ../shared/data")
def test_sparse_cuts_finds_its_data_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: --data defaulted to "../shared/..." from the working folder, so run from
    # benchmarks/ (or anywhere but the checkout's root) it said u.data was not found
    sparse_cuts = bench("sparse_cuts", monkeypatch)
    monkeypatch.chdir(tmp_path)
    rc = sparse_cuts.main(["-o", "cuts"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert sorted(p.name for p in (tmp_path / "cuts").iterdir()) == [
        "first12.csv",
        "rand12.csv",
        "rand35.csv",
        "rand4to8.csv",
    ]
    assert "rand4to8.csv:" in out  # a line of figures per file
