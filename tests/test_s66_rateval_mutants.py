"""Mutation audit (session 66) of ``visrec.analysis.rating_knn`` (the McNemar call, the
majority-class baseline, k and the distance, tie handling, accuracy and MAE) and of the
later half of ``visrec rating-eval`` (``commands/rating_eval.py``: what is passed to the
run, the JSON and report, the resume record and its key).

Mutants: 45 run (27 of rating_knn.py, 18 of commands/rating_eval.py); 14 more written
were not run (time): K07 K22 K26 K31 K32 K33 C02 C06 C15 C16 C20 C22 C25 C26.
Killed before: 42 (rating_knn: all 27 against the 87 test ids that name its functions;
K21 ceil->floor in random_split and K24 ``<=`` for the fewer-than-k refusal only by
test_analysis_qa_fixes; the command: 15 against the 57 rating-eval test ids).
Killed after: 45. Equivalent: 0.
The 3 survivors, killed by the three tests here: C07 the records skipped dropped from the
report's inputs; C19 --random-state not passed on (1234 always); C24 check_seed without
``count=args.seeds`` (a last seed past 2**32 - 1 not refused before the run).
Only these three tests are kept; the rating_knn mutants all die by the older tests.
Not in these modules (so not mutated here): the seeds' mean and spread, RMSE and the
global/item-mean baselines live in analysis/rating_eval.py; the sign test's p in
evaluation/significance.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_interop_fixes import write_rating_case
from visrec.cli import main


def test_the_report_lists_the_records_skipped_among_its_inputs(tmp_path: Path) -> None:
    data, vectors = write_rating_case(tmp_path, {5: "u0,i5,"})  # a missing rating
    page = tmp_path / "re.html"
    args = ["--interactions", str(data), "--vectors", str(vectors), "--n-epochs", "2"]
    assert main(["rating-eval", *args, "--quiet", "--report", str(page)]) == 0
    html = page.read_text()
    assert "records skipped" in html
    assert "missing rating" in html


def test_the_random_state_given_is_the_first_seed_run(tmp_path: Path) -> None:
    data, _ = write_rating_case(tmp_path, {})
    out = tmp_path / "re.json"
    args = ["--interactions", str(data), "--n-epochs", "2", "--seeds", "2", "--quiet"]
    assert main(["rating-eval", *args, "--random-state", "99", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["seeds"] == [99, 100]
    assert {run["seed"] for run in result["runs"]} == {99, 100}


def test_a_first_seed_whose_last_seed_overflows_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-ratings.csv"  # the check comes before the data is read
    args = ["--interactions", str(missing), "--seeds", "2", "--random-state", str(2**32 - 1)]
    assert main(["rating-eval", *args]) != 0
    err = capsys.readouterr().err
    assert "--random-state must be between 0 and 4294967294" in err
    assert "with 2 seeds, the last one is --random-state + 1" in err
