"""Session 69 review of the evaluation side (`visrec evaluate`, `visrec report`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from visrec.evaluation.experiment_result import ExperimentResult
from visrec.report.evaluation import write_evaluation_report
from visrec.report.verdict import verdict

# figures whose exact decimal mean ends in 5 at the 4th place: a groupby mean and a
# Series mean of them differ in the last bit and round to 3 places apart
TIED_RECALLS = [0.15, 0.02, 0.66, 0.06]


def _result() -> ExperimentResult:
    rows = []
    for seed, rec in enumerate(TIED_RECALLS):
        for model, recall in (("popularity", 0.01), ("bpr", 0.02), ("vbpr", rec)):
            rows.append(
                {"seed": seed, "model": model, "auc": 0.8, "recall": recall, "ndcg": 0.1,
                 "hit_rate": 0.5, "coverage": 0.1, "fit_s": 0.5, "score_s": 0.1,
                 "n_test_users": 100, "n_candidates": 50, "tuned": None}
            )  # fmt: skip
    return ExperimentResult(runs=pd.DataFrame(rows), protocol="warm", k=20)


def test_table_json_report_and_verdict_round_a_mean_alike(tmp_path: Path) -> None:
    res = _result()
    table_row = next(line for line in res.table().splitlines() if line.split()[0] == "vbpr")
    in_table = table_row.split()[4]  # model, AUC ± std, then Recall@20
    data = json.loads(res.to_json())
    in_json = f"{data['summary']['vbpr']['recall']['mean']:.3f}"
    page = write_evaluation_report(tmp_path / "r.html", data).read_text(encoding="utf-8")
    cells = re.findall(r'<td class="num">([0-9.]+) ± [0-9.]+</td>', page)
    in_page = cells[6 * 2 + 1].split()[0]  # third model's row, second figure
    said = next(line for line in verdict(data) if line.startswith("Best with pictures"))
    in_words = re.search(r"vbpr, Recall@20 ([0-9.]+)", said)
    assert in_words is not None
    assert in_table == in_json == in_page == in_words.group(1), (
        in_table, in_json, in_page, said,
    )  # fmt: skip


def test_rating_eval_table_and_report_round_a_mean_alike() -> None:
    from visrec.analysis.rating_eval_result import _table
    from visrec.report.evaluation import mean_std

    runs = pd.DataFrame(
        [
            {"seed": seed, "model": "item mean", "accuracy": 0.3, "mae": 0.8, "rmse": rmse,
             "fit_seconds": 0.1}
            for seed, rmse in enumerate([0.43, 0.34, 0.11, 0.47])
        ]
    )  # fmt: skip
    table = _table(runs, 4)
    printed = f"{table.loc['item mean', 'rmse']:.3f} ± {table.loc['item mean', 'rmse_std']:.3f}"
    assert printed == mean_std(runs["rmse"])


def test_the_bar_labels_of_the_report_round_a_mean_as_its_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib.axes import Axes

    from visrec.report import plots
    from visrec.report.evaluation import mean_std

    drawn: list[str] = []
    real = Axes.text

    def text(self: Axes, x: float, y: float, s: str, *args: Any, **kw: Any) -> Any:
        drawn.append(s.strip())
        return real(self, x, y, s, *args, **kw)

    monkeypatch.setattr(Axes, "text", text)
    # np.mean gives 0.3625 (0.362), the terminal table 0.36250000000000004 (0.363)
    recalls = [0.645, 0.56, 0.055, 0.19]
    rows = [
        {"seed": seed, "model": "bpr", "auc": 0.8, "recall": recall, "ndcg": 0.1,
         "hit_rate": 0.5, "coverage": 0.1, "fit_s": 0.5}
        for seed, recall in enumerate(recalls)
    ]  # fmt: skip
    runs = pd.DataFrame(rows)
    table = ExperimentResult(runs=runs, protocol="warm", k=20).table()
    in_table = table.splitlines()[1].split()[4]  # model, AUC ± std, then Recall@20
    plots.metric_bars_png(runs, ["bpr"], [("recall", "Recall@20", 0.0)])
    assert drawn == [in_table] == [mean_std(runs["recall"]).split()[0]]


def test_a_seed_line_says_n_a_for_a_metric_no_user_defines_as_the_table_does() -> None:
    from visrec.evaluation.runner import _run_line

    row = {"auc": float("nan"), "recall": 1.0, "ndcg": 1.0, "fit_s": 0.01}
    assert _run_line(row, 20) == "AUC n/a Recall@20 1.000 NDCG@20 1.000 fit 0.0s"


def test_a_json_of_the_other_command_is_said_as_such_not_as_changed_inputs(
    tmp_path: Path,
) -> None:
    """`evaluate --json` naming a rating-eval result (and the other way round) said its
    runs were dropped because "interactions, k, protocol, visrec changed"."""
    from visrec.evaluation import run_record

    fp = {"visrec": "0.1.0", "interactions": "abc", "protocol": "random", "k": 3}
    resume = {"fingerprint": fp, "runs": [{"seed": 0}]}
    rating = {"n_train": 8, "n_test": 2, "seeds": [0], "protocol": "random", "models": {},
              "runs": [], "resume": resume}  # fmt: skip
    evaluate = {"format": 1, "protocol": "warm", "k": 20, "seeds": [0], "summary": {},
                "runs": [], "resume": resume}  # fmt: skip
    not_of = "--json`, not of `visrec"
    for name, data, what, says in (
        ("r.json", rating, "runs", f"a result of `visrec rating-eval {not_of} evaluate`"),
        ("e.json", evaluate, "seeds", f"a result of `visrec evaluate {not_of} rating-eval`"),
    ):
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        notes: list[str] = []
        mine = {**fp, "interactions": "def"}
        resumed = run_record.open_record(
            None, mine, {(0, "popularity"): {}}, notes.append, what=what, earlier=path
        )
        assert not resumed.done
        assert len(notes) == 1 and says in notes[0], notes
