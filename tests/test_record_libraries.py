"""Resumed evaluations reuse a run only when torch and numpy are the versions it was
fitted under: a seed fitted before an upgrade draws and rounds otherwise, and a table
mixing the two would hide it (training checkpoints were already keyed so)."""

from __future__ import annotations

from pathlib import Path

import pytest

import visrec.evaluation.run_record as run_record
from test_runner import _earlier_results, _test_registry  # noqa: F401  (registers 'oracle')
from visrec.evaluation import runner as R


def test_runs_fitted_under_other_library_versions_are_fitted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, iv, out = _earlier_results(tmp_path, seeds=(0,))
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [f"resuming: 2 of 2 runs already done ({out})"]
    # the same inputs after `pip install -U numpy`
    monkeypatch.setattr(run_record, "library_versions", lambda: "torch 2.13.0, numpy 9.9")
    notes.clear()
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: not reusing 2 runs of the earlier results in {out} (libraries "
        "changed); they are fitted again"
    ]


def test_library_versions_names_torch_and_numpy() -> None:
    import numpy as np

    from visrec._revision import library_versions

    said = library_versions()
    assert said.startswith("torch ") and f", numpy {np.__version__}" in said
