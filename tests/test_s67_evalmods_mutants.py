"""Mutation audit (session 67) of ``visrec.evaluation.model_specs``,
``visrec.evaluation.experiment_result`` and ``visrec.evaluation.model_scoring`` (how
``visrec evaluate`` parses model specs, scores models and builds its table and JSON).

59 hand-made mutants (16 in model_specs, 25 in experiment_result, 18 in
model_scoring), each run against the files covering its module (model_specs:
test_s65_evalmods_mutants, test_s62_params_mutants, test_s60_runner_mutants,
test_runner; experiment_result: test_s63_output_mutants, test_s54_output_failures,
test_s60_runner_mutants, test_s49_metrics_io, test_runner, test_session47_api_checks,
test_honest_evaluation_fixes, and test_auto_reg for R18; model_scoring:
test_s65_evalmods_mutants, test_s63_scoring_mutants, test_s50_eval_mutants,
test_s49_scoring_checks, test_s49_scoring_mutants, test_evaluation_mutation_gaps,
test_evaluation_audit_fixes, test_runner). Killed by the old tests: 50. Killed by these
tests: the other 6 (S10, S16, R18, R28, R31, R34). Equivalent: 3.

Equivalent:
- R16 (``summary`` returns ``out`` instead of ``out.loc[order]``): ``groupby(sort=False)``
  already keeps the models in the order first seen.
- C3 (``k_list = min(k, n_cand)``, no ``max(.., 1)``): n_cand = 0 means no test row, so
  no user is scored and top_k is never called; otherwise the two are the same.
- C5 (``if listed`` instead of ``if n_cand and listed``): no candidate means no test
  user, so ``listed`` is empty anyway.

Each test's docstring names the mutant it kills.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from test_s63_output_mutants import _runs
from visrec.errors import InvalidParameterError, VisrecError
from visrec.evaluation import experiment_result as E
from visrec.evaluation.model_specs import _make, model_class, parse_model_specs


def test_unknown_hyperparameters_are_named_first_in_sorted_order() -> None:
    """S10: the message names the last sorted unknown name instead of the first."""
    # sorted({"zeta", "alpha"}) == ["alpha", "zeta"]: "alpha" is the one named
    with pytest.raises(InvalidParameterError, match=r"has no hyperparameter 'alpha';"):
        _make("bpr", {"zeta": 1, "alpha": 2}, 0)


def test_an_empty_model_name_without_at_is_an_unknown_model() -> None:
    """S16: a blank name with no '@' was told to "give a model name before '@'"."""
    # a list keeps an empty name (only "a,b" text drops empties), so it reaches
    # model_class; no '@' was written, so the advice must not be about one
    assert parse_model_specs([""]) == [("popularity", {}), ("", {})]
    with pytest.raises(VisrecError) as info:
        model_class("")
    assert str(info.value).startswith("unknown model ''")
    assert "@" not in str(info.value)


def test_no_tuned_note_when_no_run_tuned_anything() -> None:
    """R18: a tuned column of None alone gives an empty "validation chose ()" note."""
    runs = pd.concat([_runs([0, 1], model="bpr"), _runs([0, 1])], ignore_index=True)
    assert runs["tuned"].isna().all()
    assert E.ExperimentResult(runs=runs, protocol="warm", k=3).tuned_note() is None


def test_the_json_is_indented_for_reading(tmp_path: Path) -> None:
    """R28: the JSON written on one line (no indent), unreadable in an editor."""
    res = E.ExperimentResult(runs=_runs([0, 1]), protocol="warm", k=3)
    path = tmp_path / "r.json"
    text = res.to_json(path)
    assert path.read_text() == text + "\n"
    lines = text.splitlines()
    # one key a line, two spaces deep: the first key of to_dict is "format"
    assert lines[0] == "{" and lines[1] == '  "format": 1,'
    assert json.loads(text)["seeds"] == [0, 1]


def test_editing_the_dict_leaves_the_result_notes_alone() -> None:
    """R31: to_dict handing out the result's own notes list (an edit changed both)."""
    res = E.ExperimentResult(runs=_runs([0]), protocol="warm", k=3, notes=["one"])
    d = res.to_dict()
    d["notes"].append("two")
    assert res.notes == ["one"]
    assert res.to_dict()["notes"] == ["one"]


def test_tuned_note_lists_models_in_the_order_they_ran() -> None:
    """R34: the tuned note's models sorted by name instead of kept in run order."""
    # "bpr@z" ran first; sorted by name "bpr" would come first
    runs = pd.concat([_runs([0], model="bpr@z"), _runs([0], model="bpr")], ignore_index=True)
    runs["tuned"] = ["reg=0.1", "reg=0.01"]
    note = E.ExperimentResult(runs=runs, protocol="warm", k=3).tuned_note()
    assert note is not None
    assert note.splitlines()[1:] == ["  bpr@z: reg=0.1 (1 run)", "  bpr: reg=0.01 (1 run)"]
