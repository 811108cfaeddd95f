"""Follow-ups from a review of the registry and of a fuzzing run: a model target is
stored as ``module:Class`` once, spaces around its colon gone; one public
``registration_refused`` holds the rules of ``register_model`` and of ``run_experiment``'s
own classes; ``visrec report`` beside a broken plugin; ``visrec rating-eval`` and
``visrec evaluate`` name the interactions file when the table as a whole is too thin; a
``LoadResult`` of no rows reads as words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_s72_own_model_load import ItemKNN
from test_s73_plugins import _package, _visrec, restore_models
from visrec import load_interactions, rating_eval, register_model
from visrec.cli import main
from visrec.data.load_result import LoadResult
from visrec.errors import VisrecError
from visrec.models import registry
from visrec.models.bpr import BPR
from visrec.models.registry import get_model_class

__all__ = ["restore_models"]  # the fixture, used here too (autouse)


def test_a_target_given_with_spaces_is_stored_as_module_colon_class() -> None:
    # before: stored as given, and every reader (the key, the pattern, the import)
    # took the spaces out again
    register_model(" test_s72_own_model_load : ItemKNN ", name="s72-item-knn")
    assert registry.MODELS["s72-item-knn"] == "test_s72_own_model_load:ItemKNN"
    assert get_model_class("s72-item-knn") is ItemKNN
    assert register_model(ItemKNN) is ItemKNN  # the same class: not "already registered"
    with pytest.raises(VisrecError, match=r"'mypkg\. knn:ItemKNN' is not 'module:Class'"):
        register_model("mypkg. knn:ItemKNN", name="x")  # a space inside a name stays wrong


def test_an_entry_point_with_spaces_around_its_colon_is_stored_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _package(tmp_path / "site", "item-knn = tidyspace.knn :  ItemKNN\n", package="tidyspace")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_plugins", None)  # read again, with this site
    plugin = registry._installed_plugins()["item-knn"]
    assert plugin.target == "tidyspace.knn:ItemKNN"  # was "tidyspace.knn :  ItemKNN"
    assert "'item-knn = tidyspace.knn :  ItemKNN'" in plugin.origin  # as the package wrote it
    assert get_model_class("item-knn").__module__ == "tidyspace.knn"


def test_registration_refused_says_why_without_registering() -> None:
    from visrec.models.registry import registration_refused  # one public rule set

    assert registration_refused(ItemKNN) is None
    assert "s72-item-knn" not in registry.MODELS  # asked, not registered
    mine = type("MyBPR", (BPR,), {})
    assert registration_refused(mine) == (
        "'bpr' is a built-in model (visrec.models.bpr:BPR); give your class another name"
    )
    said = registration_refused(mine, by_name=True)  # run_experiment's wording
    assert said is not None and said.startswith(
        "MyBPR is not the registered 'bpr' model; run_experiment fits models by name"
    )
    assert registration_refused(BPR, by_name=True) is None  # the built-in's own class


def test_report_beside_a_broken_plugin_skips_its_default_sentence(tmp_path: Path) -> None:
    site = _package(tmp_path / "site", "item-knn = mypkg.knn:ItemKNN\n")
    rng = np.random.default_rng(3)
    data = tmp_path / "train.csv"
    pd.DataFrame(
        {"user_id": rng.integers(0, 30, 500), "item_id": rng.integers(0, 40, 500)}
    ).drop_duplicates().to_csv(data, index=False)
    result = tmp_path / "eval.json"
    done = _visrec(site, "evaluate", "--interactions", str(data), "--models",
                   "popularity,item-knn", "--param", "item-knn.k=3", "--seeds", "1",
                   "--json", str(result), "-q", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = json.loads(result.read_text())
    assert written["params"]["item-knn"] == {"k": 3}
    del written["defaults"]  # a file written before results recorded their defaults
    result.write_text(json.dumps(written))
    (site / "mypkg" / "knn.py").write_text("1/0\n")  # the package broken since
    html = tmp_path / "r.html"
    done = _visrec(site, "report", str(result), "-o", str(html), cwd=tmp_path)
    # before: "error: model 'item-knn' (given by entry point ...) cannot be imported"
    assert done.returncode == 0, done.stderr
    text = html.read_text()
    assert "item-knn" in text and "Settings away from" not in text


def test_rating_eval_with_too_few_ratings_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "few.csv"
    csv.write_text("user_id,item_id,rating\nu,i,4\n")
    assert main(["rating-eval", "--interactions", str(csv), "--no-resume", "-q"]) == 2
    assert capsys.readouterr().err == (
        f"error: {csv}: rating-eval: need at least 10 ratings, got 1\n"
    )
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["i"], "rating": [4.0]})
    with pytest.raises(VisrecError, match=r"^rating-eval: need at least 10 ratings") as info:
        rating_eval(frame, None)  # the library's own words, unchanged
    assert type(info.value).__name__ == "TooLittleDataError"  # what the command names


def test_evaluate_time_with_no_test_user_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "four.csv"
    csv.write_text("user_id,item_id,timestamp\na,x,1\nb,y,2\nc,z,3\nd,x,4\n")
    argv = ["evaluate", "--interactions", str(csv), "--protocol", "time", "--models",
            "popularity", "--seeds", "1", "-q", "--no-resume"]  # fmt: skip
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: {csv}: protocol 'time' leaves no test user to evaluate: no user has 2 or "
        "more interactions to split (a single one stays in training)\n"
    )


def test_a_load_result_of_no_rows_reads_as_words(tmp_path: Path) -> None:
    # before: "LoadResult(0 rows () from 0 files; ...)"
    assert repr(LoadResult(pd.DataFrame())) == "LoadResult(0 rows; bad records: 0; 0 warnings)"
    path = tmp_path / "header.csv"
    path.write_text("user_id,item_id\n")
    assert repr(load_interactions(path)) == (
        "LoadResult(0 rows (user_id, item_id) from 1 file; bad records: 0; 0 warnings)"
    )
