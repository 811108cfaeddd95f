"""Mutation audit of reg="auto" (src/visrec/models/_auto_reg.py), session 56 task B.

Task B (7 mutants M1-M7 of the small helpers) and a second round R1-R15 on the choice,
the validation users and recall, the note and the load checks, run against
tests/test_auto_reg.py and the three load-test files. Killed here and not before: M1, M6,
R3, R8, R11, R14 (and M2, M3 unmeasured before). Equivalent: R9 (the split's seed stream
0xA7 as 0xA8: any fixed stream of its own is as valid), R15 (NaN recalls kept as 0: every
user validation ranks has a held-out item, so none is NaN). Not pinned: the grid order (M4)
and VALID_RATIO (M5), killed only by a test of the constants' values, dropped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models import _auto_reg as ar
from visrec.models.base import Recommender
from visrec.models.registry import make_model


def _seen(rows: list[int], cols: list[int], n_items: int) -> sp.csr_matrix:
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(max(rows) + 1, n_items))


def test_pairs_per_item_ignores_untrained_items() -> None:
    """Kills `> 0` -> `>= 0` in pairs_per_item (would count empty items)."""
    seen = _seen([0, 0, 1, 1], [0, 1, 0, 1], n_items=10)
    assert ar.pairs_per_item(seen) == 2.0


def test_threshold_is_inclusive() -> None:
    """Kills `per_item >= DENSE` -> `>` in _sparse_auto (and a threshold other than 40):
    exactly 40 pairs per item is dense, 39 sparse."""

    class M:
        reg = "auto"

        def _penalties(self) -> tuple[str, ...]:
            return ("reg",)

    rows = list(range(40))
    dense = _seen(rows, [0] * 40, n_items=1)
    assert ar.pairs_per_item(dense) == 40.0
    assert ar._sparse_auto(M(), dense) is None
    sparse = _seen(rows[:39], [0] * 39, n_items=1)
    assert ar._sparse_auto(M(), sparse) == (["reg"], 39.0)


def test_label_and_digits() -> None:
    """Kills mutants of label's separator/format and distinct_digits' range."""
    assert ar.label({"reg": 0.1, "reg_visual": 0.03}) == "reg=0.1, reg_visual=0.03"
    assert ar.distinct_digits([0.1, 0.2]) == 3
    assert ar.distinct_digits([0.1381, 0.1384]) == 4
    assert ar.distinct_digits([0.10001, 0.10002]) == 5
    assert ar.distinct_digits([0.1, 0.1 + 1e-9]) == 6


class _Fitted:
    """What auto_note reads of a fitted BPR-family model: one auto penalty, the data it
    was fitted on (sparse: 2 pairs per item) and the validation scores."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.seen_ = _seen([0, 0, 1, 1], [0, 1, 0, 1], n_items=2)
        self.reg_validation_ = scores
        self.reg_ = 0.01 if not scores else float(max(scores, key=scores.__getitem__)[4:])

    def _penalties(self) -> tuple[str, ...]:
        return ("reg",)

    def fitted_param(self, name: str) -> str:
        return "auto"

    def new_item_fit(self) -> None:
        return None


def test_one_validated_setting_is_no_tie() -> None:
    """Kills `len(scores) > 1 and` dropped in auto_note: one setting tried is a choice
    of one, not "could not tell the settings apart"."""
    note = ar.auto_note(_Fitted({"reg=0.03": 0.25}))
    assert note == (
        "reg=auto: sparse data (2.0 distinct interactions per item, under 40), so the "
        "penalties were chosen on an inner validation split (Recall@20: reg=0.03 -> "
        "0.250): reg=0.03"
    )
    tie = ar.auto_note(_Fitted({"reg=0.01": 0.25, "reg=0.03": 0.25}))
    assert tie is not None and "could not tell the settings apart" in tie
    assert tie.endswith("so the weakest was kept: reg=0.01")


def test_one_user_over_the_cap_is_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills `len(users) > VALID_USERS` as `> VALID_USERS + 1`: one user over the cap is
    already a sample of VALID_USERS."""
    monkeypatch.setattr(ar, "VALID_USERS", 3)
    valid = _seen([0, 1, 2, 3], [0, 0, 0, 0], n_items=1)
    some = ar.validation_users(valid, np.random.default_rng(0))
    assert len(some) == 3 and set(some) <= {0, 1, 2, 3}
    monkeypatch.setattr(ar, "VALID_USERS", 4)
    assert ar.validation_users(valid, np.random.default_rng(0)).tolist() == [0, 1, 2, 3]


def test_validation_with_no_held_out_item_scores_nan() -> None:
    """Kills `np.empty(0)` as `np.zeros(1)` in validation_recall: with no user to rank,
    the recall is unknown (NaN), not 0."""

    class Never:
        def score(self, u: np.ndarray) -> np.ndarray:
            raise AssertionError("no user to score")

    train = _seen([0, 1], [0, 1], n_items=2)
    valid = sp.csr_matrix((2, 2), dtype=np.float32)
    assert np.isnan(ar.validation_recall(Never(), train, valid))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bpr_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved one-epoch BPR trained with reg=0.05 (a number, not "auto")."""
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2"], "item_id": ["a", "b", "b", "c"]})
    model = make_model("bpr", epochs=1, reg=0.05, random_state=0)
    folder = tmp_path_factory.mktemp("bpr") / "m"
    model.fit(Interactions.from_frame(frame)).save(folder)
    return folder


@pytest.mark.parametrize(
    ("saved", "words"),
    [
        # R11: the check of the number given against the one trained with
        (0.5, "model.json's params give reg=0.05 but its penalties say the model was "
         "trained with 0.5"),
        # R12: `math.isfinite` dropped, a NaN penalty loaded
        (float("nan"), "model.json holds no usable reg (nan)"),
        (-1.0, "model.json holds no usable reg (-1.0)"),
    ],
)  # fmt: skip
def test_a_bpr_folder_whose_penalty_is_not_the_trained_one_is_refused(
    bpr_folder: Path, tmp_path: Path, saved: float, words: str
) -> None:
    """Kills R11 (`given != AUTO and float(given) != float(v)` never true) and R12 (a
    non-finite penalty accepted) in AutoRegMixin._set_extra_state: the BPR folder's
    model.json edited as visual-cf's is in test_s53_visual_cf_load."""
    folder = tmp_path / "m"
    shutil.copytree(bpr_folder, folder)
    meta_file = folder / "model.json"
    meta = json.loads(meta_file.read_text())
    assert meta["params"]["reg"] == meta["extra"]["penalties"]["reg"] == 0.05
    meta["extra"]["penalties"]["reg"] = saved
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(VisrecError) as err:
        Recommender.load(folder)
    assert str(err.value) == f"{folder}: model 'bpr': {words}; train the model again"
