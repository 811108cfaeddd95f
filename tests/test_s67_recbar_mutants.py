"""Session 67 mutation audit (recbar) of commands/recommend.py (progress bar, batch and
popular-list writing, closing line, --unknown-users, recorded_paths), embed/engines.py
(auto_engine_name, make_engine, _deterministic_cudnn, TorchEngine), models/_auto_reg.py
(BPR/VBPR reg="auto" checks and grid) and _holdout.py.

50 mutants. The older tests killed 40; 6 of the other 10 are killed only by the tests
below (a resumed run's bar ``initial``, the bar's name, the log lines' total, the popular
rows' count, ``reraise_if_pressed`` in the auto fallback, repeated grid values fitted
twice; the last was judged by reading the older tests, not by a full run). Equivalent:
- train.json's path "" kept as "" instead of None: every reader tests truthiness.
- ``_progress_lines.fit_started()`` dropped in ``_write_batches``: the fit_lines block
  was opened just before, so its clock already starts then.
- TorchEngine's empty-batch early return dropped: torch's eval forward of a
  (0, 3, H, W) batch returns (0, dim) float32 itself.
- per_user_holdout's ``counts >= 2`` as ``>= 1``: a one-row user's ``min(n, 0)`` is 0
  anyway.
Two tests that killed only mutants the older tests kill too (nested cuDNN passes, reg=0
refused) were left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from test_recommend_resume import _stop_after
from test_s61_recommend_mutants import _run
from visrec.commands import _recs_progress
from visrec.embed import engines

# ------------------------------------------------------------------ recommend.py


def _record_bars_and_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[Any], list[tuple[str, int, int, str]]]:
    """Records every progress bar ``_write_lists`` makes (its keyword arguments and the
    bar) and every ``_progress_lines.step_done`` call's (desc, done, total, unit)."""
    import visrec._bars as bars
    import visrec._progress_lines as lines

    made: list[Any] = []
    steps: list[tuple[str, int, int, str]] = []
    real_bar = bars.progress_bar

    def bar(*a: Any, **kw: Any) -> Any:
        made.append((kw, real_bar(*a, **kw)))
        return made[-1][1]

    def step(desc: str, done: int, total: int, unit: str, started: float) -> None:
        steps.append((desc, done, total, unit))

    monkeypatch.setattr(bars, "progress_bar", bar)
    monkeypatch.setattr(lines, "step_done", step)
    return made, steps


def test_a_resumed_run_s_bar_and_log_lines_start_from_the_users_already_done(
    popularity_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches the bar built with ``initial=0`` (a resumed run's bar restarted at 0 of
    9 and ended at 3 of 9), a bar named other than ``recommend``, ``done = len(u)``
    (the count of users done, recorded for a resume and said in the log lines, was
    the last batch's size), and the log lines' total taken from the rows written
    instead of the users asked for."""
    monkeypatch.setattr(_recs_progress, "SAVE_EVERY_S", 0.0)
    out = tmp_path / "recs.csv"
    argv = ("--n", "2", "--batch-users", "3")
    # one run: 9 users in blocks of 3
    made, steps = _record_bars_and_steps(monkeypatch)
    assert _run(popularity_dir, tmp_path / "ref.csv", *argv) == 0
    ((kw, bar),) = made
    assert (kw["desc"], kw["unit"], kw["total"], kw["initial"]) == ("recommend", "user", 9, 0)
    assert bar.n == 9
    assert steps == [("recommend", d, 9, "users") for d in (3, 6, 9)]
    # stopped after 2 blocks (6 users recorded), then resumed: the last block only
    with monkeypatch.context() as m:
        _stop_after(m, 2)
        assert _run(popularity_dir, out, *argv) == 130
    made.clear()
    steps.clear()
    assert _run(popularity_dir, out, *argv) == 0
    ((kw, bar),) = made
    assert (kw["total"], kw["initial"]) == (9, 6)
    assert bar.n == 9
    assert steps == [("recommend", 9, 9, "users")]
    assert out.read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_popular_lists_of_several_new_users_are_one_whole_list_each(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the new users' ids tiled instead of repeated (with two new users their
    ids alternated row by row, so each 'list' held ranks 1 and 2 of two users) and the
    row count set to the popular rows instead of adding them to the known users'."""
    users = tmp_path / "users.txt"
    users.write_text("u3\nnew1\nnew2\n")
    out = tmp_path / "recs.csv"
    argv = ["--n", "2", "--users", str(users), "--unknown-users", "popular"]
    assert _run(popularity_dir, out, *argv) == 0
    recs = pd.read_csv(out, dtype=str)
    assert recs["user_id"].tolist() == ["u3", "u3", "new1", "new1", "new2", "new2"]
    assert recs["rank"].tolist() == ["1", "2"] * 3
    # the same popular list for both new users
    new1 = recs[recs["user_id"] == "new1"]["item_id"].tolist()
    assert new1 == recs[recs["user_id"] == "new2"]["item_id"].tolist()
    assert ": 6 rows in " in capsys.readouterr().out


# ------------------------------------------------------------------ embed/engines.py


def test_a_ctrl_c_during_the_onnx_setup_stops_auto_instead_of_falling_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Catches ``engine="auto"`` without ``reraise_if_pressed``: a Ctrl-C that reached
    the ONNX export as some other error (here a RuntimeError) was taken for a missing
    engine, warned about, and the run went on with torch."""
    from test_embed import TinyBackbone
    from visrec import _interrupt

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("interrupted inside the exporter")

    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "onnx")
    monkeypatch.setattr(engines, "_make_onnx", failing)
    _interrupt.mark()
    try:
        with pytest.raises(KeyboardInterrupt) as got:
            engines.make_engine(TinyBackbone(), "auto", "cpu")
    finally:
        _interrupt.clear()
    assert isinstance(got.value.__cause__, RuntimeError)
    # without the Ctrl-C, the same error is a fallback to torch
    with pytest.warns(RuntimeWarning, match="interrupted inside the exporter"):
        assert isinstance(engines.make_engine(TinyBackbone(), "auto", "cpu"), engines.TorchEngine)


# ------------------------------------------------------------------ models/_auto_reg.py


def test_a_grid_repeating_a_value_of_the_auto_penalty_fits_it_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Catches the grid of the penalties left auto built without dropping repeats: a
    grid whose settings share a ``reg_visual`` fitted that same trial again for each
    (and listed it twice) when only ``reg_visual`` was auto."""
    from test_auto_reg import fast
    from test_models import checkerboard
    from visrec.models import _auto_reg

    model = fast("vbpr", reg=0.05)
    grid = (
        {"reg": 0.01, "reg_visual": 1e-3},
        {"reg": 0.03, "reg_visual": 1e-3},
        {"reg": 0.1, "reg_visual": 0.1},
    )
    monkeypatch.setattr(type(model), "_auto_grid", grid)
    tried: list[tuple[float, float]] = []

    def spy(trial: Any, *_a: Any) -> float:
        tried.append((trial.reg, trial.reg_visual))
        return 0.5 if trial.reg_visual == 0.1 else 0.1

    monkeypatch.setattr(_auto_reg, "validation_recall", spy)
    inter, vec = checkerboard()
    m = model.fit(inter, vec)
    assert tried == [(0.05, 1e-3), (0.05, 0.1)]
    assert list(m.reg_validation_) == ["reg_visual=0.001", "reg_visual=0.1"]  # type: ignore[attr-defined]
    assert m.reg_visual_ == 0.1  # type: ignore[attr-defined]
