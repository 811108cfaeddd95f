"""Models of one's own without editing visrec (docs/models.md, "Adding a model"):
``register_model`` in a script or notebook, and an installed package's entry point in
the group ``visrec.models``, which the command line reads. Before, a model joined
``make_model``, ``run_experiment`` and the command line only by a line in visrec's own
``MODELS``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_s72_extend import _cell
from test_s72_own_model_load import ItemKNN, _train
from visrec import Recommender, make_model, register_model, run_experiment
from visrec.errors import VisrecError
from visrec.evaluation.experiment_result import ExperimentResult
from visrec.models import registry
from visrec.models.bpr import BPR
from visrec.models.registry import get_model_class

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(autouse=True)
def restore_models() -> Iterator[None]:
    """The registry as it was: the other tests (every registered model has a contract
    class) must not see the models these tests register."""
    saved = dict(registry.MODELS)
    yield
    registry.MODELS.clear()
    registry.MODELS.update(saved)


def test_a_registered_class_is_known_by_name_everywhere(tmp_path: Path) -> None:
    assert register_model(ItemKNN) is ItemKNN  # usable as a decorator
    assert get_model_class("s72-item-knn") is ItemKNN
    model = make_model("s72-item-knn", k=5)
    assert type(model) is ItemKNN and model.k == 5
    model.fit(_train()).save(tmp_path / "m")
    assert type(Recommender.load(tmp_path / "m")) is ItemKNN
    result = _run(["s72-item-knn"])
    assert sorted(result.runs["model"].unique()) == ["popularity", "s72-item-knn"]


def test_a_module_class_string_is_imported_when_first_used() -> None:
    # a string naming a class whose name is another: said when it is imported
    register_model("test_s72_own_model_load:ItemKNN", name="knn")
    with pytest.raises(VisrecError, match="whose name is 's72-item-knn'; set name = 'knn'"):
        make_model("knn")
    register_model("test_s72_own_model_load:ItemKNN", name="s72-item-knn")
    assert registry.MODELS["s72-item-knn"] == "test_s72_own_model_load:ItemKNN"
    assert get_model_class("s72-item-knn") is ItemKNN
    register_model("no_such_module_s73:Model", name="gone")
    with pytest.raises(VisrecError) as info:
        make_model("gone")
    assert str(info.value) == (
        "model 'gone' (registered as no_such_module_s73:Model) cannot be imported: "
        "ModuleNotFoundError: No module named 'no_such_module_s73'"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((ItemKNN, "item-knn"), "name 'item-knn' is not ItemKNN's name 's72-item-knn'"),
        ((BPR,), None),  # a built-in's own class again: nothing changes
        ((type("MyBPR", (BPR,), {}),), "'bpr' is a built-in model (visrec.models.bpr:BPR)"),
        ((ItemKNN(),), "got an ItemKNN instance; give its class: register_model(ItemKNN)"),
        ((pd.DataFrame,), "expected a Recommender subclass or a 'module:Class' string"),
        (("mypkg.knn.ItemKNN", "x"), "'mypkg.knn.ItemKNN' is not 'module:Class'"),
        (("mypkg.knn:ItemKNN",), "give the model's name with the string"),
        (("mypkg.knn:ItemKNN", "a,b"), "model name 'a,b': use letters, digits"),
    ],
)
def test_what_register_model_refuses(args: tuple[object, ...], said: str | None) -> None:
    before = dict(registry.MODELS)
    if said is None:
        register_model(*args)  # type: ignore[arg-type]
    else:
        with pytest.raises(VisrecError) as info:
            register_model(*args)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"register_model: {said}")
        assert "\n" not in str(info.value)
    assert before == registry.MODELS


def test_a_name_held_by_another_class_is_refused_a_redefined_one_replaces() -> None:
    old = register_model(_cell(0.0))
    new = _cell(1000.0)  # a notebook cell run again: same module and qualified name
    register_model(new)
    assert get_model_class("s72-extend-cell") is new is not old

    class Other(ItemKNN):
        name = "s72-extend-cell"

    with pytest.raises(VisrecError, match="'s72-extend-cell' is already registered to "):
        register_model(Other)
    assert get_model_class("s72-extend-cell") is new


def test_run_experiment_registers_the_class_of_an_estimator_of_ones_own() -> None:
    # before: "ItemKNN ('s72-item-knn') is no registered model; ... fit and score your
    # class with make_split and evaluate_model"
    assert "s72-item-knn" not in registry.MODELS
    result = _run([ItemKNN(k=5), "popularity"])
    assert list(result.runs["model"]) == ["s72-item-knn", "popularity"]
    assert result.params["s72-item-knn"] == {"k": 5}
    assert registry.MODELS["s72-item-knn"] is ItemKNN

    class Other(ItemKNN):  # the name taken by ItemKNN now: its runs would fit ItemKNN
        name = "s72-item-knn"

    with pytest.raises(VisrecError, match=r"^models: 's72-item-knn' is already registered to "):
        _run([Other()])


def _run(models: list[Any]) -> ExperimentResult:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 40, 600), "item_id": rng.integers(0, 60, 600)}
    ).drop_duplicates()
    return run_experiment(frame, None, "warm", models, seeds=[0], progress=False)


# ----------------------------------------------------------------- installed packages

KNN_MODULE = """\
from visrec.models.popularity import Popularity


class ItemKNN(Popularity):
    name = "item-knn"

    def __init__(self, k: int = 20) -> None:
        self.k = k
"""


def _package(
    root: Path,
    entry_points: str,
    module: str = KNN_MODULE,
    package: str = "mypkg",
    group: str = "visrec.models",
    file: str = "knn",
) -> Path:
    """``root`` holding ``package/<file>.py`` and its ``dist-info`` with ``entry_points``
    (lines of the ``[group]`` section), as pip would install them."""
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / f"{file}.py").write_text(module)
    info = root / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n" + textwrap.dedent(entry_points))
    return root


def _visrec(
    site: Path, *args: str, cwd: Path, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}
    command = ["-c", code] if code else ["-m", "visrec", *args]
    return subprocess.run(
        [sys.executable, *command], env=env, cwd=cwd, capture_output=True, text=True, timeout=240
    )


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 30, 500), "item_id": rng.integers(0, 40, 500)}
    ).drop_duplicates()
    frame.to_csv(tmp_path / "train.csv", index=False)
    return tmp_path / "train.csv"


def test_an_installed_plugin_trains_recommends_and_evaluates(tmp_path: Path, data: Path) -> None:
    site = _package(tmp_path / "site", "item-knn = mypkg.knn:ItemKNN\n")
    out = tmp_path / "knn"
    done = _visrec(site, "train", "--model", "item-knn", "--interactions", str(data),
                   "-o", str(out), "--param", "k=7", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"model": "item-knn"' in (out / "model.json").read_text()
    recs = tmp_path / "recs.csv"
    done = _visrec(site, "recommend", str(out), "--n", "3", "-o", str(recs), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(recs)) == 3 * 30
    result = tmp_path / "eval.json"
    done = _visrec(site, "evaluate", "--interactions", str(data), "--models",
                   "popularity,item-knn", "--param", "item-knn.k=3", "--seeds", "1",
                   "--json", str(result), "-q", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "item-knn" in done.stdout and "popularity" in done.stdout
    done = _visrec(site, "train", "--help", cwd=tmp_path)
    shown = "".join(done.stdout.split())  # argparse may wrap after "item-"
    assert "modelname(popularity,bpr,vbpr,visual-cf,item-knn)" in shown
    assert "Models:popularity,bpr,vbpr,visual-cf,item-knn(those" in shown
    # the folder only names the model: without the package, nothing loads it
    done = _visrec(tmp_path / "none", "recommend", str(out), "-o", str(recs), cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown model 'item-knn'; choose from: popularity, bpr, vbpr, visual-cf" in (
        done.stderr
    )


def test_built_in_models_and_help_import_no_plugin(tmp_path: Path) -> None:
    # a plugin that would fail on import: nothing here may import it, nor read the
    # entry points when a built-in model is asked for
    site = _package(tmp_path / "site", "item-knn = mypkg.knn:ItemKNN\n", module="1/0\n")
    code = (
        "import sys; from visrec.cli import build_parser; from visrec.models import registry;"
        "build_parser(); registry.get_model_class('bpr'); registry.make_model('popularity');"
        "assert registry._plugins is None, 'entry points read'; assert 'mypkg' not in "
        "sys.modules; print('ok')"
    )
    done = _visrec(site, cwd=tmp_path, code=code)
    assert done.stdout == "ok\n", done.stderr
    done = _visrec(site, "--help", cwd=tmp_path)
    assert done.returncode == 0 and "fit a recommender (popularity, bpr" in done.stdout
    assert "Traceback" not in done.stderr and "ZeroDivisionError" not in done.stderr


def test_a_broken_plugin_is_one_error_line(tmp_path: Path, data: Path) -> None:
    site = _package(tmp_path / "site", "item-knn = mypkg.knn:ItemKNN\n", module="1/0\n")
    done = _visrec(site, "train", "--model", "item-knn", "--interactions", str(data),
                   "-o", str(tmp_path / "m"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "error: model 'item-knn' (given by entry point 'item-knn = mypkg.knn:ItemKNN' of "
        "package mypkg 0.1) cannot be imported: ZeroDivisionError: division by zero\n"
    )
    # built-in models still train beside it
    done = _visrec(site, "train", "--model", "popularity", "--interactions", str(data),
                   "-o", str(tmp_path / "pop"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0 and "mypkg" not in done.stderr, done.stderr


def test_a_plugin_shadowing_a_built_in_is_refused_with_a_note(tmp_path: Path, data: Path) -> None:
    site = _package(tmp_path / "site", "bpr = mypkg.knn:ItemKNN\nitem-knn = mypkg.knn:ItemKNN\n")
    out = tmp_path / "m"
    done = _visrec(site, "train", "--model", "item-knn", "--interactions", str(data),
                   "-o", str(out), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "note: entry point 'bpr = mypkg.knn:ItemKNN' of package mypkg 0.1 is ignored: 'bpr' "
        "is a built-in model, which wins; the package should give its model another name\n"
    ) in done.stderr
    code = (
        "from visrec.models.registry import get_model_class, model_names;"
        "print(get_model_class('bpr').__module__, model_names())"
    )
    done = _visrec(site, cwd=tmp_path, code=code)
    assert done.stdout == (
        "visrec.models.bpr ['popularity', 'bpr', 'vbpr', 'visual-cf', 'item-knn']\n"
    ), done.stderr


def test_two_packages_giving_one_name_are_refused(tmp_path: Path) -> None:
    site = _package(tmp_path / "site", "item-knn = mypkg.knn:ItemKNN\n")
    _package(site, "item-knn = otherpkg.knn:ItemKNN\n", package="otherpkg")
    code = "from visrec import make_model; make_model('item-knn')"
    done = _visrec(site, cwd=tmp_path, code=code)
    assert "is given by two installed packages (entry point 'item-knn = " in done.stderr
    assert "mypkg 0.1" in done.stderr and "otherpkg 0.1" in done.stderr
