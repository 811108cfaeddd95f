"""Mutation audit of reg="auto"'s trials, session 58: their progress lines, the resume of
finished trials, the VBPR / visual-cf grids and the mixin's checks
(src/visrec/models/_auto_reg.py and its users). Each test here failed on a mutant that
tests/test_auto_reg.py and tests/test_s56_auto_reg_mutants.py let through. Equivalent:
np.bool_ dropped from _finite_number (it is no numbers.Real), saved scores kept as ints
(every use reads them as floats do), validation_ahead counting GRID for _auto_grid (both
have three settings). Not pinned: the trials' bar left on screen (tqdm's redraws depend on
timing). Two bugs fixed here: a JSON integer too large for a float in model.json's
penalties or scores was a bare OverflowError on load, and a log was told that reg=auto
fits three models first where no user had a second item (none is fitted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, checkerboard
from visrec import _progress_lines
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models import _auto_reg, _checkpoint
from visrec.models.base import Recommender
from visrec.models.registry import make_model

BPR_AUTO = {**FAST["bpr"], "reg": "auto", "epochs": 2}


def _trial_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if " reg=auto trial " in line]


def _fit_kept(folder: Path, key: str, params: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A BPR fit inside ``checkpointing(folder, key)`` and ``fit_lines``: its notes and
    its trial lines."""
    inter, vec = checkerboard()
    notes: list[str] = []
    lines: list[str] = []
    with (
        _checkpoint.checkpointing(folder, key, every_s=3600, log=notes.append),
        _progress_lines.fit_lines(lines.append),
    ):
        make_model("bpr", **params).fit(inter, vec)
    return notes, _trial_lines(lines)


def test_a_reused_trial_says_the_line_its_fit_said(tmp_path: Path) -> None:
    """Kills mutants of the reused trial's line (its number, its setting, its score's
    digits): it is the line the fitted trial said, marked "(reused)"."""
    _, fitted = _fit_kept(tmp_path, "key", BPR_AUTO)
    assert len(fitted) == 3 and fitted[1].startswith("  bpr reg=auto trial 2/3: reg=0.03 -> ")
    _, reused = _fit_kept(tmp_path, "key", BPR_AUTO)
    assert reused == [f"{line} (reused)" for line in fitted]


def test_a_rerun_records_reused_trials_as_kept_and_resumed(tmp_path: Path) -> None:
    """Kills the reused trial left out of ``Checkpoint.kept`` (train: "interrupted before
    the training state was first saved", while the trials' scores are kept) and out of
    ``Checkpoint.resumed`` (train.json's fit_resumed false, its fit time read as whole)."""
    inter, vec = checkerboard()
    descs = [f"reg-auto-trial-{n}" for n in (1, 2, 3)]
    with _checkpoint.checkpointing(tmp_path, "key", every_s=3600, log=lambda _m: None) as first:
        make_model("bpr", **BPR_AUTO).fit(inter, vec)
    assert first.kept == descs and first.resumed == []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=3600, log=lambda _m: None) as again:
        make_model("bpr", **BPR_AUTO).fit(inter, vec)
    assert again.kept == descs and again.resumed == descs


def _edit(meta: dict[str, Any], how: str) -> None:
    if how == "key":
        meta["key"] += "x"
    elif how == "format":
        meta["format"] += 1
    elif how == "two values":
        meta["values"] = [*meta["values"], 0.5]
    elif how == "nan":
        meta["values"] = [float("nan")]


@pytest.mark.parametrize("how", ["key", "format", "two values", "nan"])
def test_a_trial_record_that_does_not_match_is_refitted(tmp_path: Path, how: str) -> None:
    """Kills load_values' checks dropped (the key, the format, the count, a finite value):
    a trial record kept under another key, format or shape is not reused but refitted
    (with the score a fit gives)."""
    _, fitted = _fit_kept(tmp_path, "key", BPR_AUTO)
    record = tmp_path / "reg-auto-trial-2.json"
    meta = json.loads(record.read_text())
    saved = meta["values"]
    _edit(meta, how)
    record.write_text(json.dumps(meta))
    notes, again = _fit_kept(tmp_path, "key", BPR_AUTO)
    assert notes == [
        f"reusing reg-auto-trial-{n} (from {tmp_path / f'reg-auto-trial-{n}.json'})" for n in (1, 3)
    ]
    assert again == [f"{fitted[0]} (reused)", fitted[1], f"{fitted[2]} (reused)"]
    assert json.loads(record.read_text())["values"] == saved  # kept again, as fitted


def test_records_of_another_key_are_not_reused(tmp_path: Path) -> None:
    """Kills load_values ignoring the key: a folder holding the trials of another fit
    (other data or settings) has every trial refitted."""
    _fit_kept(tmp_path, "key", BPR_AUTO)
    notes, lines = _fit_kept(tmp_path, "other", BPR_AUTO)
    assert notes == [] and len(lines) == 3 and not any("(reused)" in x for x in lines)


def test_a_record_of_another_setting_is_not_reused(tmp_path: Path) -> None:
    """Kills the setting dropped from a trial's key: VBPR with reg fixed tries
    reg_visual alone; under one caller key its first trial must not take the record of
    the first trial with both penalties auto (another setting)."""
    inter, vec = checkerboard()
    base = {**FAST["vbpr"], "epochs": 2, "reg_visual": "auto"}
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=3600, log=notes.append):
        both = make_model("vbpr", **{**base, "reg": "auto"}).fit(inter, vec)
        visual = make_model("vbpr", **{**base, "reg": 0.01}).fit(inter, vec)
    scores = [both.reg_validation_, visual.reg_validation_]  # type: ignore[attr-defined]
    assert [next(iter(s)) for s in scores] == ["reg=0.01, reg_visual=0.001", "reg_visual=0.001"]
    assert not [n for n in notes if n.startswith("reusing")]


def test_a_record_of_another_split_is_not_reused(tmp_path: Path) -> None:
    """Kills the validation split dropped from a trial's key: under one caller key, data
    with another split does not reuse the trials' scores."""
    inter, vec = checkerboard()
    _fit_kept(tmp_path, "key", BPR_AUTO)
    frame = inter.to_frame().iloc[1:]  # one pair fewer: another split
    fewer = Interactions.from_frame(frame)
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=3600, log=notes.append):
        make_model("bpr", **BPR_AUTO).fit(fewer, vec)
    assert notes == []


@pytest.mark.parametrize(
    ("name", "params"),
    [
        # the new-item fit of VBPR asked for explicitly, not FAST's None
        ("vbpr", {"reg_visual": "auto", "new_item_reg": 0.01, "new_item_reg_visual": 1e-3}),
        ("visual-cf", {"map_reg": 0.01, "profile_weight": "auto"}),
    ],
)
def test_trials_fit_the_known_items_model_only(
    name: str, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kills the trial hyperparameters dropped or overridden by the model's own (VBPR's
    new-item fit, visual-cf's map BPR and taste term's own validation in each trial):
    validation ranks known items only, so a trial makes no second fit and validates
    nothing of its own."""
    inter, vec = checkerboard()
    seen: list[tuple[str | None, str | None]] = []
    real = _auto_reg.validation_recall

    def spy(model: Recommender, *a: Any) -> float:
        seen.append((model.new_item_fit(), model.tuned()))
        return real(model, *a)

    monkeypatch.setattr(_auto_reg, "validation_recall", spy)
    m = make_model(name, **{**FAST[name], "epochs": 2, "reg": "auto", **params}).fit(inter, vec)
    assert seen == [(None, None)] * 3
    assert len(m.reg_validation_) == 3  # type: ignore[attr-defined]


def test_a_trial_that_cannot_be_fitted_leaves_no_partial_scores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kills the scores of the trials before a failed one kept: no validation then, the
    dense-data setting, and the note says so instead of a choice among one setting."""
    from visrec.models.bpr import BPR

    inter, vec = checkerboard()
    real = BPR._fit

    def fails_at_003(self: BPR, *a: Any) -> None:
        if self.reg_ == 0.03:
            raise VisrecError("cannot fit this trial")
        real(self, *a)

    monkeypatch.setattr(BPR, "_fit", fails_at_003)
    m = make_model("bpr", **BPR_AUTO).fit(inter, vec)
    assert m.reg_ == 0.01 and m.reg_validation_ == {}  # type: ignore[attr-defined]
    assert m.tuned() is None
    assert "the dense-data setting" in m.fit_notes()[0]


@pytest.mark.parametrize(
    ("reg", "shown"),
    [(float("inf"), "inf"), (10**400, "1" + "0" * 400), (float("nan"), "nan")],
    ids=["inf", "huge-int", "nan"],
)
def test_a_penalty_that_is_no_finite_number_is_one_clear_error(reg: float, shown: str) -> None:
    """Kills _finite_number's isfinite check and its OverflowError answer: reg=inf (a
    fit that would train with it) and an int too large for a float (a bare
    OverflowError later) are refused as the other bad values are."""
    inter, vec = checkerboard()
    with pytest.raises(VisrecError) as err:
        make_model("bpr", **{**BPR_AUTO, "reg": reg}).fit(inter, vec)
    assert str(err.value) == f"model 'bpr': reg={shown} must be a number >= 0 or 'auto'"


def test_a_zero_penalty_trains_saves_and_loads(tmp_path: Path) -> None:
    """Kills `>= 0` as `> 0` in _check_reg and `v < 0` as `v <= 0` in the load check:
    no penalty at all is a valid setting, as documented ("a number >= 0")."""
    inter, vec = checkerboard()
    m = make_model("vbpr", **{**FAST["vbpr"], "epochs": 2, "reg": 0, "reg_visual": 0.0})
    m.fit(inter, vec)
    back = Recommender.load(m.save(tmp_path / "m"))
    assert (back.reg_, back.reg_visual_) == (0.0, 0.0)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(back.score(np.arange(3)), m.score(np.arange(3)))


@pytest.fixture(scope="module")
def auto_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved one-epoch BPR with reg="auto" (validated: 2 pairs per item)."""
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2"], "item_id": ["a", "b", "b", "c"]})
    model = make_model("bpr", epochs=1, random_state=0)
    folder = tmp_path_factory.mktemp("bpr") / "m"
    model.fit(Interactions.from_frame(frame)).save(folder)
    return folder


HUGE = 10**400  # a JSON integer too large for a float


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("penalties", {"reg": True}, "no usable reg (True)"),
        ("reg_validation", {"reg=0.01": True},
         "no usable reg_validation ({'reg=0.01': True}: expected an object of validation "
         "scores by setting)"),
        # the bug fixed in session 58: a bare OverflowError out of load
        ("penalties", {"reg": HUGE}, f"no usable reg ({HUGE!r})"),
        ("reg_validation", {"reg=0.01": HUGE},
         f"no usable reg_validation ({{'reg=0.01': {HUGE!r}}}: expected an object of "
         "validation scores by setting)"),
    ],
    ids=["penalty-true", "score-true", "penalty-huge-int", "score-huge-int"],
)  # fmt: skip
def test_a_value_in_model_json_that_is_no_usable_number_is_refused(
    auto_folder: Path, tmp_path: Path, key: str, value: object, words: str
) -> None:
    """Kills the bool exclusions of _set_extra_state's penalty check and of _real: JSON's
    true is no penalty and no validation score (it would load as reg 1.0, or a
    "Recall" of True). An integer too large for a float (JSON holds any) was a bare
    OverflowError out of ``Recommender.load`` (math.isfinite, float()): refused now, as
    the same number given as ``params.reg`` already was."""
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(auto_folder, folder)
    meta_file = folder / "model.json"
    meta = json.loads(meta_file.read_text())
    assert meta["params"]["reg"] == "auto"
    meta["extra"][key] = value
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(VisrecError) as err:
        Recommender.load(folder)
    assert (
        str(err.value) == f"{folder}: model 'bpr': model.json holds {words}; train the model again"
    )


def test_settings_the_fixed_penalty_makes_equal_are_tried_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kills the grid's deduplication dropped in _before_fit: with one penalty given,
    entries that differ only in it are one setting of the other, fitted once (the
    shipped grids differ in every penalty, so a grid of the mixin's own makes the
    case)."""
    from visrec.models.vbpr import VBPR

    class Pairs(VBPR):
        _auto_grid = (
            {"reg": 0.01, "reg_visual": 1e-3},
            {"reg": 0.01, "reg_visual": 0.03},
            {"reg": 0.1, "reg_visual": 0.1},
        )

    inter, vec = checkerboard()
    tried: list[float] = []

    def spy(model: Recommender, *_a: Any) -> float:
        tried.append(model.reg)  # type: ignore[attr-defined]
        return 0.5

    monkeypatch.setattr(_auto_reg, "validation_recall", spy)
    m = Pairs(**{**FAST["vbpr"], "epochs": 2, "reg": "auto", "reg_visual": 0.03})
    m.fit(inter, vec)
    assert tried == [0.01, 0.1]
    assert m.reg_validation_ == {"reg=0.01": 0.5, "reg=0.1": 0.5}
    assert (m.reg_, m.reg_visual_) == (0.01, 0.03)


def test_a_log_is_not_told_of_trials_when_no_user_has_a_second_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The start line of `visrec train` in a log said "reg=auto first fits 3 models on
    80% of it" on sparse data where every user has one item, then the note said that
    nothing could be held out, and no trial was fitted (validation_ahead's docstring:
    None when it will not validate). Fixed in session 58."""
    from visrec.cli import main

    single = tmp_path / "single.csv"  # 1 pair per item, each user one item
    single.write_text("user_id,item_id\nu1,a\nu2,b\nu3,c\n")
    argv = ["train", "--model", "bpr", "--interactions", str(single), "-o",
            str(tmp_path / "m"), "--param", "epochs=2"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "training bpr on 3 users x 3 items (3 rows) ...\n" in err
    assert "first fits" not in err
    assert "but too little to hold out an inner validation split" in err
    # one user with a second item: the trials run, and the log is told first
    two = tmp_path / "two.csv"
    two.write_text("user_id,item_id\nu1,a\nu1,b\nu2,b\nu3,c\n")
    assert main([*argv[:4], str(two), "-o", str(tmp_path / "m2"), *argv[7:]]) == 0
    err = capsys.readouterr().err
    assert (
        "  sparse data (1.3 pairs per item): reg=auto first fits 3 models on 80% of it to "
        "choose the penalty, then the model (--param reg=... skips that)\n" in err
    )
    assert Recommender.load(tmp_path / "m2").reg_validation_  # type: ignore[attr-defined]
