"""Mutation audit of the rating-eval and evaluate reports, second pass
(``report/rating.py`` and ``report/evaluation.py``): the mutants of the first pass
(``test_s62_reports_mutants.py``, 94 written) that it left unrun, or ran against its
own file alone.

31 mutants run here against the existing tests (those naming these modules, plus
test_s62_reports_mutants.py; for the result checks also the CLI tests of
``visrec report`` the selection missed): E10, E15, E25, E27, E29, E30, E32-E37, E39,
E41, E42 never run before, and L14, H01-H04, V03, V10, RR1, RR2, RR7, RR9, RR12,
E14, E16, E26, E28 that had survived test_s62_reports_mutants.py alone. 28 killed
before, 3 survived; the tests here kill all 3: what a model uses unescaped in the
rating results table (RR2), a split field name the splits table does not know
unescaped (E14), and a complete evaluate result with other keys a rating-eval result
also has (n_train, models) taken for a rating-eval result (E37: no file visrec writes
has them, but the check names another command only when evaluate's keys are
missing). None equivalent here (the first pass's L12 and V09 stay its equivalents).
"""

from __future__ import annotations

from typing import Any

from visrec.report.rating import render_rating_report


def _rating_result() -> dict[str, Any]:
    models = (
        ("item mean", "baseline", 1.0),
        ("biased MF", "ratings <new>", 0.95),
    )
    runs = [
        {
            "model": m,
            "uses": u,
            "seed": s,
            "rmse": r + s / 100,
            "mae": 0.7,
            "accuracy": 0.4,
            "fit_seconds": 0.1,
        }
        for s in (1, 2, 3)
        for m, u, r in models
    ]
    return {"runs": runs, "n_train": 80, "n_test": 20, "protocol": "random"}


def test_the_rating_results_table_escapes_what_a_model_uses() -> None:
    # a hand-edited result may say anything a model uses: the table escapes it
    page = render_rating_report(_rating_result(), {})
    results = page.split('<section id="results">', 1)[1].split("<img", 1)[0]
    assert "<tr><th>biased MF</th><td>ratings &lt;new&gt;</td>" in results
    assert "<new>" not in page


def _eval_result(recalls: dict[str, list[float]]) -> dict[str, Any]:
    from test_evaluation_report import _result

    return _result("warm", recalls)


def test_the_splits_table_escapes_a_field_name_it_does_not_know() -> None:
    from visrec.report.evaluation import render_evaluation_report

    res = _eval_result({"bpr": [0.2, 0.3]})
    res["splits"]["0"]["<b>odd"] = 3  # a hand-edited file: a field no visrec writes
    page = render_evaluation_report(res)
    splits = page.split('<section id="splits">', 1)[1].split("</section>", 1)[0]
    assert '<tr><th>&lt;b&gt;odd</th><td class="num">3</td><td class="num"></td></tr>' in splits
    assert "<b>odd" not in page


def test_an_evaluate_result_with_another_commands_keys_besides_is_read() -> None:
    # every key evaluate needs is there: extra keys a rating-eval result also has
    # do not make it one
    from visrec.report.evaluation import _check, render_evaluation_report

    res = _eval_result({"bpr": [0.2, 0.3]})
    res.update(n_train=5, models=["bpr"])
    _check(res, "r.json")
    assert "<h2>" in render_evaluation_report(res)
