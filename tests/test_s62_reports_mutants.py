"""Mutation audit of the rating-eval and evaluate reports (``report/rating.py`` and
``report/evaluation.py``): the RMSE verdict's sentences, the tables' figures and
order, escaping, the info rows.

94 mutants written; the time limit let 31 run against the existing tests (the 197
tests that name these modules): 27 killed before, 4 survived. Of those 4, the tests
here kill 3 (the runner-up's "other N splits" / "--seeds 3" advice on one shared
split, twice; the seed-by-seed columns sorted by seed), and 1 is equivalent:
weak_evidence(lower, higher, len(gaps)) for (..., lower + higher): its n_seeds only
decides "few" against "unclear", both no call, so the words are the same (the
same holds for the visual term's weak_evidence(wins, losses, wins + losses)).
28 more were run only against this file, and it kills each of them: the spread's
ddof, by-little measured on the visual MF, tied seeds in the seeds a call needs,
"only 2 of the 4 seeds have both figures", "moves 0.0000", the rating page's digits,
seeds order, title, empty inputs, protocol passed on, the splits table's order,
thousands separator and blank cells, the evaluation page's title argument, input
precedence, command and version rows, K, the Recall bound, the plot's picture
models, the tuned table and mean_std's "(1 of 3 seeds)". The rest were not run.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from visrec.report.rating import rating_verdict, render_rating_report

NAN = float("nan")


def _two(a: list[float], b: list[float]) -> pd.DataFrame:
    """A (an MF) and B (a baseline), seed by seed; NaN: no RMSE on that split."""
    rows = []
    for seed, (x, y) in enumerate(zip(a, b, strict=True)):
        rows += [
            {"seed": seed, "model": "A", "uses": "ratings", "rmse": x},
            {"seed": seed, "model": "B", "uses": "baseline", "rmse": y},
        ]
    return pd.DataFrame(rows)


def _mf(plain: list[float], visual: list[float]) -> pd.DataFrame:
    rows = []
    for seed, (a, b) in enumerate(zip(plain, visual, strict=True)):
        rows += [
            {"seed": seed, "model": "item mean", "uses": "baseline", "rmse": 1.03},
            {"seed": seed, "model": "biased MF", "uses": "ratings", "rmse": a},
            {"seed": seed, "model": "biased MF + visual", "uses": "ratings + picture", "rmse": b},
        ]
    return pd.DataFrame(rows)


def test_one_shared_split_says_the_gap_and_why_no_more_splits_judge_it() -> None:
    # two seeds run, B has an RMSE on one: the advice is more seeds
    two = rating_verdict(_two([0.90, 0.92], [0.95, NAN]))
    assert two[-1] == (
        "Lowest RMSE: A, 0.910 stars (B next at 0.950: a gap of 0.0400 that one split "
        "cannot judge; --seeds 3 or more can)."
    )
    # three run: the other two splits lack B's RMSE (not "the other 3")
    three = rating_verdict(_two([0.90, 0.92, 0.93], [0.95, NAN, NAN]))
    assert three[-1] == (
        "Lowest RMSE: A, 0.917 stars (B next at 0.950: a gap of 0.0333 that one split "
        "cannot judge; the other 2 splits lack one of the two)."
    )


def test_a_steady_plain_mf_is_said_to_move_nothing() -> None:
    six = rating_verdict(_mf([0.92] * 6, [0.91] * 6))
    assert six[1] == (
        "The picture helps the MF: -0.0100 RMSE on average (negative is better), better on "
        "6 of 6 seeds; sign test p = 0.016 (biased MF itself moves 0.0000 between the splits)."
    )


def test_too_few_shared_seeds_say_so_rather_than_ask_for_more_seeds() -> None:
    lines = rating_verdict(_mf([0.92] * 4, [0.91, 0.91, NAN, NAN]))
    assert lines[1].endswith(
        "better on 2 of 2 seeds; sign test p = 0.250; only 2 of the 4 seeds have both "
        "figures (a call needs 3): see why a model has none on the others."
    )


def test_a_tied_seed_counts_in_the_seeds_a_call_needs() -> None:
    lines = rating_verdict(_mf([0.92, 0.92], [0.91, 0.92]))
    assert lines[1].endswith(
        "better on 1 of 2 seeds, equal on 1; sign test p = 0.500; run --seeds 4 or more to call it."
    )


def test_by_little_is_measured_by_the_plain_mf_not_the_visual_one() -> None:
    # the plain MF moves 0.05 between splits, the visual one 0.023: a 0.033 gain is
    # little next to the plain MF's spread
    lines = rating_verdict(_mf([0.90, 0.95, 0.85], [0.88, 0.88, 0.84]))
    assert lines[1].startswith("The picture helps the MF, by little: -0.0333 RMSE")
    # the sample std of 0.90, 0.95, 0.85 (0.0408 with ddof=0)
    assert "(biased MF itself moves 0.0500 between the splits)" in lines[1]


def _eval_result() -> dict[str, Any]:
    from test_evaluation_report import _result

    res = _result("warm", {"popularity": [0.1, 0.12, 0.11], "bpr": [0.2, 0.21, 0.22]})
    res["splits"]["0"]["n_train"] = 12345
    res["splits"]["1"]["n_dropped_users"] = 3  # a field only seed 1 has
    # the file's own order of fields is not the page's
    res["splits"] = {s: dict(reversed(v.items())) for s, v in res["splits"].items()}
    res["run"] = {"command": "visrec evaluate a\nb", "created": "2026-01-01T00:00", "visrec": "9.9"}
    res["inputs"] = {"interactions": "data/old.csv"}
    res["runs"][0]["fit_s"] = 1234.56
    return res


def test_the_evaluation_page_info_rows_title_and_splits() -> None:
    from visrec.report.evaluation import render_evaluation_report

    page = render_evaluation_report(_eval_result(), {"interactions": "data/ml.csv"})
    # the inputs given now win over those recorded in the file, and name the page
    assert "<title>visrec evaluate: warm protocol on ml.csv</title>" in page
    assert "<tr><th>interactions</th><td>data/ml.csv</td></tr>" in page
    assert "old.csv" not in page
    assert '<tr><th>list length K</th><td class="num">20</td></tr>' in page
    # the command as the terminal shows it (its line break said), the version
    assert "<tr><th>command</th><td>&#x27;visrec evaluate a\\nb&#x27;</td></tr>" in page
    assert "<tr><th>run</th><td>visrec 9.9, 2026-01-01T00:00</td></tr>" in page
    splits = page.split('<section id="splits">', 1)[1].split("</section>", 1)[0]
    assert (
        '<tr><th>train rows</th><td class="num">12,345</td><td class="num">801</td>'
        '<td class="num">802</td></tr>'
    ) in splits
    assert (
        '<tr><th>test rows of unknown users (dropped)</th><td class="num"></td>'
        '<td class="num">3</td><td class="num"></td></tr>'
    ) in splits
    # rows in the order of the names, whatever order the file has them in
    assert re.findall(r"<tr><th>([^<]*)</th>", splits.split("<tbody>", 1)[1]) == [
        "train rows",
        "test rows",
        "candidates",
        "test rows of unknown users (dropped)",
    ]
    results = page.split('<section id="results">', 1)[1].split("<img", 1)[0]
    assert (
        '<tr><th>popularity</th><td>no</td><td class="num">0.900 ± 0.000</td>'
        '<td class="num">0.110 ± 0.010</td><td class="num">0.055 ± 0.005</td>'
        '<td class="num">0.220 ± 0.020</td><td class="num">0.500 ± 0.000</td>'
        '<td class="num">412.5 ± 711.9</td></tr>'
    ) in results


def test_the_rating_page_rows_seeds_and_title() -> None:
    models = (
        ("item mean", "baseline", 1.0),
        ("biased MF", "ratings", 0.95),
        ("biased MF + visual", "ratings + picture", 0.94),
    )
    runs = [
        {
            "model": m,
            "uses": u,
            "seed": s,
            "rmse": r + 3 * s / 1000,
            "mae": 0.7,
            "accuracy": 0.4,
            "fit_seconds": 0.25 * s,
        }
        for s in (3, 1, 2)  # the file's order of seeds is not the page's
        for m, u, r in models
    ]
    result = {"runs": runs, "n_train": 1200, "n_test": 300, "protocol": "cold-items"}
    page = render_rating_report(result, {"interactions": "d/ml.csv", "vectors": ""})
    assert "<title>visrec rating-eval: who rated, what it looks like, and the baselines " in page
    assert "baselines (ml.csv)</title>" in page
    assert "<h2>Results (mean ± std over 3 seeds)</h2>" in page
    assert "<tr><th>seeds</th><td>1, 2, 3</td></tr>" in page
    assert "<tr><th>ratings</th><td>1,200 train / 300 test</td></tr>" in page
    assert "<th>vectors</th>" not in page  # an input not given is not listed
    results = page.split('<section id="results">', 1)[1].split("<img", 1)[0]
    assert (
        '<tr><th>item mean</th><td>baseline</td><td class="num">0.400 ± 0.000</td>'
        '<td class="num">0.700 ± 0.000</td><td class="num">1.006 ± 0.003</td>'
        '<td class="num">0.5 ± 0.2</td></tr>'
    ) in results
    # the cold-items protocol reaches the verdict
    assert "The tutorial's KNN" not in page and "Every test item is new here" in page


def test_the_evaluation_page_takes_a_title_and_says_how_recall_is_bounded() -> None:
    from visrec.report.evaluation import render_evaluation_report

    page = render_evaluation_report(_eval_result(), title="my <run>")
    assert "<title>my &lt;run&gt;</title>" in page and "warm protocol" not in page
    assert "Recall@20: hits in the top 20 / min(20, the user&#x27;s held-out items)" in page


def test_the_plots_colour_the_models_by_what_they_use(monkeypatch: Any) -> None:
    from visrec.report import plots
    from visrec.report.evaluation import render_evaluation_report

    seen: list[dict[str, Any]] = []

    def fake(runs: pd.DataFrame, models: list[str], panels: Any, **kw: Any) -> bytes:
        seen.append({"models": list(models), **kw})
        return b""

    monkeypatch.setattr(plots, "metric_bars_png", fake)
    from test_evaluation_report import _result

    res = _result("warm", {"popularity": [0.1, 0.1], "bpr": [0.2, 0.2], "vbpr": [0.3, 0.3]})
    render_evaluation_report(res)
    assert seen[-1]["models"] == ["popularity", "bpr", "vbpr"]
    assert seen[-1]["image_models"] == ["vbpr"]


def test_the_seed_by_seed_and_tuned_tables_of_the_evaluation_page() -> None:
    from visrec.report.evaluation import render_evaluation_report

    res = _eval_result()
    res["runs"] = sorted(res["runs"], key=lambda r: -r["seed"])  # seed 2 first
    res["runs"][0]["recall"] = 0.12345
    res["runs"][0]["tuned"] = "reg=<0.1>"  # one run tuned, the others not
    page = render_evaluation_report(res)
    seeds = page.split('<section id="seeds">', 1)[1].split("</section>", 1)[0]
    assert (
        "<h3>Recall@20</h3>"
        '<div class="scroll"><table class="grid"><thead><tr><th>model</th><th>seed 0</th>'
        "<th>seed 1</th><th>seed 2</th></tr></thead><tbody><tr><th>popularity</th>"
        '<td class="num">0.1000</td><td class="num">0.1200</td><td class="num">0.1235</td>'
    ) in seeds
    tuned = page.split('<section id="tuned">', 1)[1].split("</section>", 1)[0]
    assert "<tr><th>popularity</th><td>reg=&lt;0.1&gt;</td></tr>" in tuned


def test_a_mean_over_fewer_seeds_than_ran_says_how_many() -> None:
    from visrec.report.evaluation import mean_std

    assert mean_std(pd.Series([0.7, NAN, NAN])) == "0.700 (1 of 3 seeds)"
    assert mean_std(pd.Series([0.7, 0.8, NAN]), 2) == "0.75 ± 0.07 (2 of 3 seeds)"
    assert mean_std(pd.Series([0.7, 0.8])) == "0.750 ± 0.071"


def test_a_result_without_the_optional_metrics_has_no_columns_for_them() -> None:
    # hit rate, coverage and the fit time are optional in a result file
    from test_evaluation_report import _result
    from visrec.report.evaluation import render_evaluation_report

    res = _result("warm", {"popularity": [0.1, 0.12], "bpr": [0.2, 0.21]})
    for run in res["runs"]:
        del run["hit_rate"], run["coverage"], run["fit_s"]
    page = render_evaluation_report(res)
    assert (
        "<thead><tr><th>model</th><th>uses pictures</th><th>AUC</th><th>Recall@20</th>"
        "<th>NDCG@20</th></tr></thead>"
    ) in page
