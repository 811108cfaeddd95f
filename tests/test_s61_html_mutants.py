"""Mutation audit (session 61) of visrec.report.html and visrec.report.plots: the
self-contained HTML report (escaping, figures and numbers shown, atomic writing, no data,
one seed).

34 hand-made mutants (33 planned, plus m23b: m23's in-place write after making the
folder): 29 killed by the existing tests; 2 equivalent (m10: the cluster number in a
heading is an int, which escaping leaves as it is; m33: ``_short`` on ``float(str(v))``
writes every float rating as ``float(v)`` does); 3 killed only by these tests (m17, m29,
m31). m23b was killed only through the wording of a failed folder (test_s54): the test
of it here pins the atomicity itself (the old page is kept when the write fails)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.report import html as report_html
from visrec.report import plots
from visrec.report.html import ReportData, write_report


# m17: one seed read "mean ± std over 1 seeds"
def test_results_title_says_one_seed_plainly() -> None:
    assert report_html.results_title(1) == "Results (1 seed)"
    assert report_html.results_title(3) == "Results (mean ± std over 3 seeds)"


# m23b (folder made, page written in place): a failed write lost the old page
def test_a_failed_write_leaves_the_old_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report" / "index.html"
    write_report(out, ReportData(title="first", dataset="d", parts=()))
    old = out.read_text(encoding="utf-8")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_report(out, ReportData(title="second", dataset="d", parts=()))
    assert out.read_text(encoding="utf-8") == old
    assert [p.name for p in out.parent.iterdir()] == ["index.html"]


# m29: more labels than points were passed without a word
def test_projection_refuses_more_labels_than_points() -> None:
    from visrec.errors import VisrecError

    with pytest.raises(VisrecError, match="3 labels for 2 points"):
        plots.projection_png(np.zeros((2, 2)), ["a", "b", "c"])
    # session 61: one label is said in the singular ("1 labels" before)
    with pytest.raises(VisrecError, match="projection: 1 label for 3 points; expected"):
        plots.projection_png(np.zeros((3, 2)), ["a"])


# m31: the bar showed the median of the seeds, not their mean
def test_metric_bars_label_the_mean_over_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.axes import Axes

    said: list[str] = []
    real = Axes.text

    def spy(self: Axes, x: float, y: float, s: str, *a: Any, **k: Any) -> Any:
        said.append(s.strip())
        return real(self, x, y, s, *a, **k)

    monkeypatch.setattr(Axes, "text", spy)
    runs = pd.DataFrame({"model": ["m"] * 3, "seed": [0, 1, 2], "auc": [0.6, 0.6, 0.9]})
    plots.metric_bars_png(runs, ["m"], [("auc", "AUC", 0.5)])
    assert said == ["0.700"]
