"""Sentences and cells of the evaluation report and its verdict that a mutation audit
found unpinned (the NDCG switch's wording, the one-seed advice, the sign test on two
seeds, the defaults' and device's lines, the cold wording, the legend, the checks, the
per-seed tables, the hyperparameters, the seeds row, the time note), and four small
bugs: "-0.0000 (-0.0%)", "count as a model" for several, a seed with no AUC dropped
from its table, a mapping that is no dict refused."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_evaluation_report import _result
from visrec.errors import VisrecError
from visrec.report.evaluation import mean_std, render_evaluation_report, verdict


def _section(page: str, sid: str) -> str:
    (found,) = re.findall(rf'<section id="{sid}">.*?</section>', page, flags=re.S)
    return str(found)


# -- bugs -------------------------------------------------------------------------------


def test_a_difference_that_rounds_to_zero_is_said_without_a_sign() -> None:
    # vbpr 0.00001 up on one seed, 0.00002 down on another: the mean, -0.0000033, is
    # level at 4 decimals; "-0.0000 (-0.0%)" read as a (tiny) loss
    res = _result("warm", {"bpr": [0.30, 0.30, 0.30], "vbpr": [0.30001, 0.29998, 0.30]})
    assert verdict(res)[1] == (
        "Too few seeds to call: 0.0000 Recall@20 (0.0%) on average, better on 1 of 3 "
        "seeds, worse on 1, equal on 1; sign test p = 0.750; run --seeds 7 or more. "
        "(bpr itself moves 0.0000 (std) between the splits.)"
    )


def test_models_using_pictures_only_for_new_items_count_as_models_without() -> None:
    many = {"bpr": [0.30, 0.31], "visual-cf": [0.30, 0.31], "visual-cf@t": [0.30, 0.31],
            "vbpr": [0.40, 0.41]}  # fmt: skip
    assert verdict(_result("warm", many))[0] == (
        "visual-cf, visual-cf@t use pictures only for items nobody interacted with; every "
        "candidate here has interactions, so they rank them without pictures (visual-cf "
        "as BPR does) and count as models without pictures."
    )
    one = {"bpr": [0.30, 0.31], "visual-cf": [0.30, 0.31], "vbpr": [0.40, 0.41]}
    assert verdict(_result("warm", one))[0] == (
        "visual-cf uses pictures only for items nobody interacted with; every candidate "
        "here has interactions, so it ranks them without pictures (visual-cf as BPR does) "
        "and counts as a model without pictures."
    )


def test_a_seed_with_no_auc_on_any_model_keeps_its_column() -> None:
    # seed 1's AUC undefined on every model: its column must show, as n/a, not vanish
    # (the seed-by-seed table would then read as if seed 1 never ran)
    res = _result("warm", {"vbpr": [0.40, 0.41], "bpr": [0.30, 0.31]})
    for run in res["runs"]:
        if run["seed"] == 1:
            run["auc"] = None
    auc = _section(render_evaluation_report(res), "seeds").split("<h3>AUC</h3>")[1]
    assert "<th>seed 0</th><th>seed 1</th>" in auc
    assert (
        '<tr><th>vbpr</th><td class="num">0.9000</td><td class="num">n/a</td></tr>'
        '<tr><th>bpr</th><td class="num">0.9000</td><td class="num">n/a</td></tr>'
    ) in auc


def test_verdict_and_report_take_any_mapping() -> None:
    # verdict(result: Mapping) refused a read-only mapping as "not a result"
    res = _result("warm", {"vbpr": [0.40, 0.41, 0.42], "bpr": [0.30, 0.31, 0.32]})
    assert verdict(MappingProxyType(res)) == verdict(res)

    # the footer's "generated" minute may turn between the two renderings
    def body(html: str) -> str:
        return re.sub(r"<footer>.*?</footer>", "", html)

    assert body(render_evaluation_report(MappingProxyType(res))) == body(
        render_evaluation_report(res)
    )
    with pytest.raises(VisrecError, match=r"^result: not a result .*\(expected a JSON object\)"):
        verdict([res])  # type: ignore[arg-type]


# -- verdict.py survivors ---------------------------------------------------------------


def test_a_filled_list_says_it_compares_on_ndcg() -> None:
    res = _result("warm", {"bpr": [1.0] * 3, "vbpr": [1.0] * 3}, n_candidates=21)
    assert verdict(res)[0] == (
        "Recall@20 is 1 for any ranking here (no test user has more candidates than 20), "
        "so models are compared on NDCG@20."
    )


def test_one_seed_advice_counts_the_seeds_the_way_it_went() -> None:
    # the best of 2 picture models against 1 without: a call up needs 4 seeds (p x 2),
    # a call down 3; the one seed's sign picks which
    down = _result("warm", {"bpr": [0.40], "vbpr": [0.30], "vbpr@b": [0.35]})
    assert verdict(down)[1] == "-0.0500 Recall@20 on one seed: run --seeds 3 or more."
    up = _result("warm", {"bpr": [0.30], "vbpr": [0.40], "vbpr@b": [0.35]})
    assert verdict(up)[1] == "+0.1000 Recall@20 on one seed: run --seeds 4 or more."


def test_two_seeds_get_the_sign_test() -> None:
    res = _result("warm", {"bpr": [0.30, 0.31], "vbpr": [0.40, 0.41]})
    assert verdict(res)[1] == (
        "Too few seeds to call: +0.1000 Recall@20 (+32.8%) on average, better on 2 of 2 "
        "seeds; sign test p = 0.250; run --seeds 3 or more. (bpr itself moves 0.0071 "
        "(std) between the splits.)"
    )


def test_a_device_setting_is_not_said_to_be_away_from_the_defaults() -> None:
    # where a model ran is no setting of the answer (bpr's default device is None)
    res = _result("warm", {"bpr": [0.30, 0.31], "vbpr": [0.40, 0.41]})
    res["params"] = {"bpr": {"epochs": 5, "device": "cuda"}, "vbpr": {"device": "cpu"}}
    assert verdict(res)[-1] == (
        "Settings away from this visrec's defaults: bpr epochs=5 (default 80); the answer "
        "is for these (the file does not record the defaults it ran with, which an older "
        "visrec may have had)."
    )


def test_recorded_defaults_must_cover_every_model_with_params() -> None:
    # the file records bpr's defaults but not vbpr's: vbpr's are today's, which an
    # older visrec may not have had, so the line must say so
    res = _result("warm", {"bpr": [0.30, 0.31], "vbpr": [0.40, 0.41]})
    res["params"] = {"bpr": {"epochs": 5}, "vbpr": {"epochs": 7}}
    res["defaults"] = {"bpr": {"epochs": 80}}
    assert verdict(res)[-1] == (
        "Settings away from this visrec's defaults: bpr epochs=5 (default 80); vbpr "
        "epochs=7 (default 80); the answer is for these (the file does not record the "
        "defaults it ran with, which an older visrec may have had)."
    )
    res["defaults"]["vbpr"] = {"epochs": 40}
    assert verdict(res)[-1] == (
        "Settings away from the defaults: bpr epochs=5 (default 80); vbpr epochs=7 "
        "(default 40); the answer is for these."
    )


def test_picture_models_alone_are_said_to_three_decimals() -> None:
    res = _result("warm", {"vbpr": [0.41234, 0.41234]})
    assert verdict(res) == ["Best with pictures: vbpr, Recall@20 0.412."]


def test_cold_start_sentences_at_chance() -> None:
    res = _result(
        "cold-items",
        {"bpr": [0.1] * 3, "vbpr": [0.2] * 3},
        {"bpr": [0.5] * 3, "vbpr": [0.5] * 3},
    )
    assert verdict(res) == [
        "Cold start: the candidates are items nobody interacted with in training. Models "
        "without pictures (bpr) score every new item alike, so their AUC is 0.5 and any "
        "AUC above 0.5 is what the pictures know; their Recall@20, NDCG@20, HitRate@20 "
        "and coverage are those of one random order of the new items, the same list for "
        "every user (chance, not a ranking).",
        "Best with pictures: vbpr, AUC 0.500 (at chance), Recall@20 0.200, 2.0 times that "
        "of a random order (0.100).",
    ]


# -- evaluation.py survivors ------------------------------------------------------------


def test_the_bar_plot_note_gives_the_colours() -> None:
    page = render_evaluation_report(_result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]}))
    assert (
        '<p class="explain">Bars: the mean over seeds (AUC bars start at 0.5, chance); black '
        "dots: each seed; line: from the lowest to the highest seed. Blue: models that read "
        "pictures; orange: models that do not; grey: the popularity baseline.</p>"
    ) in page


@pytest.mark.parametrize("value", [1.0000000000000002, 1.0])
def test_a_float_sum_just_over_1_is_taken(value: float) -> None:
    res = _result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    res["runs"][0]["hit_rate"] = value
    assert verdict(res)  # no error


def test_a_share_over_1_by_more_than_rounding_is_refused() -> None:
    res = _result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    res["runs"][0]["hit_rate"] = 1.00000001
    with pytest.raises(VisrecError) as err:
        verdict(res)
    assert str(err.value) == "result: runs[0] (vbpr): hit_rate 1.00000001 is not between 0 and 1"


def test_a_run_of_a_seed_the_result_does_not_list_is_refused() -> None:
    res = _result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    res["seeds"] = [0]
    with pytest.raises(VisrecError) as err:
        verdict(res)
    assert str(err.value) == "result: runs[1] (vbpr) has seed 1, which 'seeds' does not list"


def test_a_metric_undefined_on_every_seed_is_n_a_in_the_results_table() -> None:
    res = _result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    for run in res["runs"]:
        if run["model"] == "bpr":
            run["coverage"] = None
    table = _section(render_evaluation_report(res), "results")
    (row,) = re.findall(r"<tr><th>bpr</th>.*?</tr>", table)
    assert row.endswith('<td class="num">n/a</td><td class="num">1.5 ± 0.0</td></tr>')
    assert mean_std(pd.Series([np.nan, np.nan])) == "n/a"


def test_seed_by_seed_rows_keep_the_models_order() -> None:
    # the run's order (vbpr first), as in the results table, not pivot_table's a-z
    res = _result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    recall = _section(render_evaluation_report(res), "seeds").split("<h3>AUC</h3>")[0]
    assert recall.index("<th>vbpr</th>") < recall.index("<th>bpr</th>")


def test_hyperparameters_are_shown_as_json() -> None:
    # "auto" quoted, true and null as the --json file and the CLI flags write them
    res = _result("warm", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    res["params"] = {"vbpr": {"reg": "auto", "fast": True, "x": None}}
    params = _section(render_evaluation_report(res), "params")
    assert (
        "<tr><th>reg</th><td>&quot;auto&quot;</td></tr><tr><th>fast</th><td>true</td></tr>"
        "<tr><th>x</th><td>null</td></tr>"
    ) in params


def _time_result_on_seeds_10_and_3() -> dict[str, Any]:
    res = _result("time", {"vbpr": [0.4, 0.41], "bpr": [0.3, 0.31]})
    for run in res["runs"]:
        run["seed"] = {0: 10, 1: 3}[run["seed"]]
    res["seeds"] = [10, 3]
    res["splits"] = {"10": {"n_candidates": 50}, "3": {"n_candidates": 50}}
    return res


def test_the_seeds_row_is_sorted() -> None:
    # {10, 3} iterates 10 first: the row must read in order
    page = render_evaluation_report(_time_result_on_seeds_10_and_3())
    assert "<tr><th>seeds</th><td>3, 10</td></tr>" in page


def test_the_seed_by_seed_note_on_time_says_only_the_randomness_moves() -> None:
    page = render_evaluation_report(_time_result_on_seeds_10_and_3())
    assert (
        '<p class="explain">Every model of a seed is fitted and scored on the same split, '
        "so compare models within a column; the time split is the same for every seed, so "
        "the columns show how much the models&#x27; randomness (their initialisation, the "
        "inner split reg=auto validates on) moves the figures.</p>"
    ) in _section(page, "seeds")
