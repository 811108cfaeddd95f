"""Model folders saved by an older visrec load with the same scores.

``fixtures/models_0.1.0_d182ed8`` holds tiny popularity / bpr / vbpr / visual-cf folders
saved by commit d182ed8 (the first hours of ``visrec train``), fitted on generated data,
and ``expected.json`` the scores that version gave: for every training user over the
known items, and from five image vectors for new items. A hyperparameter added since
must be listed in the model's ``_params_before_added`` with the value that reproduces
the old behaviour; a folder missing it would load with today's default and score
differently, without a word (visual-cf's ``feature_norm`` did).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visrec.models.base import Recommender
from visrec.models.registry import MODELS, get_model_class

OLD = Path(__file__).parent / "fixtures" / "models_0.1.0_d182ed8"
# the models that existed at d182ed8; one registered later has no old folder to load
NAMES = tuple(n for n in MODELS if (OLD / n).is_dir())


def test_the_built_in_models_have_old_folders() -> None:
    assert NAMES == ("popularity", "bpr", "vbpr", "visual-cf")


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return dict(json.loads((OLD / "expected.json").read_text()))


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_added_since_has_its_old_value(name: str) -> None:
    saved = json.loads((OLD / name / "model.json").read_text())["params"]
    klass = get_model_class(name)
    current = set(klass().get_params())
    assert set(saved) <= current  # none removed: an old folder's params still load
    missing = current - set(saved) - set(klass._params_before_added)
    assert not missing, f"{name}: add {sorted(missing)} to _params_before_added"


@pytest.mark.parametrize("name", NAMES)
def test_an_old_folder_scores_as_it_did(name: str, expected: dict[str, Any]) -> None:
    model = Recommender.load(OLD / name)
    users = np.arange(len(model.user_map_))
    old = expected[name]
    np.testing.assert_allclose(model.score(users), np.array(old["score"]), rtol=1e-5, atol=1e-6)
    if "score_new_items" in old:
        new = np.array(expected["new_vectors"], dtype=np.float32)
        np.testing.assert_allclose(
            model.score_new_items(users, new),
            np.array(old["score_new_items"]),
            rtol=1e-5,
            atol=1e-6,
        )


def test_records_are_keyed_by_the_code_not_only_the_version_number(tmp_path: Path) -> None:
    # the version stayed 0.1.0 through months of changes: a resume record or checkpoint
    # of older code must not be reused by newer code that fits or scores differently
    import subprocess
    import sys

    import visrec
    from visrec._revision import code_revision

    rev = code_revision()
    assert rev.startswith(f"{visrec.__version__}+") and len(rev.split("+")[-1]) == 12
    copy = tmp_path / "visrec"
    src = Path(visrec.__file__).parent
    for path in src.rglob("*.py"):
        (copy / path.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
        (copy / path.relative_to(src)).write_bytes(path.read_bytes())
    code = "from visrec._revision import code_revision; print(code_revision())"

    def revision_of(folder: Path) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
        )
        return done.stdout.strip()

    assert revision_of(tmp_path) == rev  # the same code: the same key
    with (copy / "models" / "bpr.py").open("a") as fh:
        fh.write("\n# changed\n")
    assert revision_of(tmp_path) not in (rev, visrec.__version__)
