"""``reg="auto"``: the inner split, when validation runs, what it chooses, and that the
final fit is exactly the fit with the chosen value."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from conftest import signed
from test_models import FAST, checkerboard
from test_train_checkpoint import _fit_interrupted
from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models import _auto_reg, _checkpoint
from visrec.models.base import Recommender
from visrec.models.registry import make_model

AUTO_MODELS = ("bpr", "visual-cf", "vbpr")


def fast(name: str, **kw: Any) -> Recommender:
    auto = {"reg": "auto", "reg_visual": "auto"} if name == "vbpr" else {"reg": "auto"}
    return make_model(name, **{**FAST[name], **auto, **kw})


def grid_of(name: str) -> list[dict[str, float]]:
    return list(type(make_model(name))._auto_grid)  # type: ignore[attr-defined]


def test_inner_split_holds_out_a_fifth_of_each_user_never_all() -> None:
    counts = np.array([1, 2, 3, 5, 10, 11])
    rows = np.repeat(np.arange(len(counts)), counts)
    cols = np.concatenate([np.arange(c) for c in counts])
    seen = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(counts), 11))
    is_val = _auto_reg.inner_split(seen, np.random.default_rng(0))
    per_user = np.add.reduceat(is_val.astype(int), seen.indptr[:-1])
    # round(0.2 n), at least 1, at most n - 1; a user with one item keeps it
    assert per_user.tolist() == [0, 1, 1, 1, 2, 2]
    again = _auto_reg.inner_split(seen, np.random.default_rng(0))
    assert np.array_equal(is_val, again)
    other = [_auto_reg.inner_split(seen, np.random.default_rng(s)) for s in range(1, 6)]
    assert any(not np.array_equal(is_val, o) for o in other), "the held-out items are random"


def test_pairs_per_item_counts_only_items_with_interactions() -> None:
    seen = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]]))
    assert _auto_reg.pairs_per_item(seen) == 2.5  # 5 pairs, 2 of 4 items trained


@pytest.mark.parametrize("name", AUTO_MODELS)
def test_sparse_data_chooses_by_validation_and_refits_with_the_choice(name: str) -> None:
    inter, vec = checkerboard()  # 144 pairs over 20 items: 7.2 per item, sparse
    auto = fast(name).fit(inter, vec)
    scores = auto.reg_validation_  # type: ignore[attr-defined]
    grid = grid_of(name)
    assert list(scores) == [_auto_reg.label(g) for g in grid]
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    best = max(grid, key=lambda g: scores[_auto_reg.label(g)])
    assert {n: getattr(auto, f"{n}_") for n in best} == best
    # the validation fits draw from their own generators: the final model is exactly
    # the one the chosen numbers give
    explicit = fast(name, **best).fit(inter, vec)
    np.testing.assert_array_equal(auto.score(np.arange(inter.n_users)),
                                  explicit.score(np.arange(inter.n_users)))  # fmt: skip
    assert explicit.reg_validation_ == {}  # type: ignore[attr-defined]


def test_verbose_trials_show_their_own_epoch_bars(capsys: pytest.CaptureFixture[str]) -> None:
    # a trial on a large set takes as long as the final fit: each shows its epochs
    inter, vec = checkerboard()
    fast("bpr", epochs=3, verbose=True).fit(inter, vec)
    err = capsys.readouterr().err
    assert "bpr reg=auto" in err
    # each epoch bar's first draw (before a loss): the trials', then the fit's
    assert err.count("0/3 [00:00<?, ?epoch/s]") == len(grid_of("bpr")) + 1
    fast("bpr", epochs=3).fit(inter, vec)
    assert capsys.readouterr().err == ""  # not verbose: no bar at all


def test_validation_scores_print_with_the_digits_that_tell_them_apart() -> None:
    assert _auto_reg.distinct_digits([0.385, 0.399, 0.41]) == 3
    # 0.138 / 0.138 / 0.138 read as a tie resolved to the strongest penalty
    assert _auto_reg.distinct_digits([0.13819, 0.13824, 0.13841]) == 5
    assert _auto_reg.distinct_digits([0.2, 0.2, float("nan")]) == 3  # equal: no more digits


def test_a_log_is_told_that_validation_fits_come_first() -> None:
    # no bars in a log file: the start line says the fit begins with reg=auto's trials
    inter, _ = checkerboard()  # 7.2 pairs per item
    seen = inter.to_csr("binary")
    said = _auto_reg.validation_ahead(fast("bpr"), seen)
    assert said == (
        "sparse data (7.2 pairs per item): reg=auto first fits 3 models on 80% of it to "
        "choose the penalty, then the model (--param reg=... skips that)"
    )
    assert "--param reg=... --param reg_visual=... skips" in str(
        _auto_reg.validation_ahead(fast("vbpr"), seen)
    )
    assert _auto_reg.validation_ahead(fast("bpr", reg=0.03), seen) is None
    assert _auto_reg.validation_ahead(make_model("popularity"), seen) is None
    dense = sp.csr_matrix(np.ones((60, 5)))
    assert _auto_reg.validation_ahead(fast("bpr"), dense) is None


def test_log_lines_name_each_trials_epochs_and_its_score() -> None:
    """Inside fit_lines (visrec train writing to a log file) a fit says how it is going:
    each line names the fit and, for a reg=auto trial, which one; each trial's score is
    said as it comes. Outside the block nothing is written."""
    from visrec._progress_lines import fit_lines

    inter, vec = checkerboard()
    said: list[str] = []
    with fit_lines(said.append, every_s=0):  # a line after every epoch
        m = fast("bpr", epochs=2).fit(inter, vec)
    scores = m.reg_validation_  # type: ignore[attr-defined]
    n = len(scores)
    for t, (lab, score) in enumerate(scores.items(), 1):
        trial = f"bpr (reg=auto trial {t}/{n})"
        at = next(k for k, x in enumerate(said) if x.startswith(f"  {trial}: epoch 1/2, loss "))
        assert said[at + 1].startswith(f"  {trial}: epoch 2/2, loss ")
        assert said[at + 2] == (
            f"  bpr reg=auto trial {t}/{n}: {lab} -> validation Recall@20 {score:.4f}"
        )
    # then the final fit, under its own name
    assert [x.split(",")[0] for x in said[-2:]] == ["  bpr: epoch 1/2", "  bpr: epoch 2/2"]
    assert len(said) == 3 * n + 2
    assert all(x.endswith(" s") for x in said if "epoch" in x)  # elapsed time, short fits

    quiet: list[str] = []
    with fit_lines(quiet.append, every_s=3600):  # no line before an hour has passed
        fast("bpr", epochs=2).fit(inter, vec)
    assert [x for x in quiet if "epoch" in x] == []
    assert len(quiet) == n  # the trials' scores are said at once

    # the interval counts from each fit's start: a short fit after a long wait in the
    # same block (another model, a split) says nothing
    later: list[str] = []
    with fit_lines(later.append, every_s=0.5):
        time.sleep(0.6)
        fast("bpr", epochs=2, reg=0.01).fit(inter, vec)
    assert later == []


def test_vbpr_tunes_only_the_penalties_left_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    tried: list[tuple[float, float]] = []

    def spy(model: Recommender, *_a: Any) -> float:
        tried.append((model.reg, model.reg_visual))  # type: ignore[attr-defined]
        return 0.5 if model.reg_visual == 0.03 else 0.1  # type: ignore[attr-defined]

    monkeypatch.setattr(_auto_reg, "validation_recall", spy)
    m = fast("vbpr", reg=0.05).fit(inter, vec)
    assert tried == [(0.05, 1e-3), (0.05, 0.03), (0.05, 0.1)]
    assert (m.reg_, m.reg_visual_) == (0.05, 0.03)  # type: ignore[attr-defined]
    assert list(m.reg_validation_) == ["reg_visual=0.001", "reg_visual=0.03", "reg_visual=0.1"]  # type: ignore[attr-defined]
    tried.clear()
    m = fast("vbpr", reg=0.05, reg_visual=0.2).fit(inter, vec)  # nothing left auto
    assert tried == [] and (m.reg_, m.reg_visual_) == (0.05, 0.2)  # type: ignore[attr-defined]


def test_validation_scores_are_the_trial_models_recall(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    trials: list[float] = []

    def spy(
        model: Recommender, train: sp.csr_matrix, valid: sp.csr_matrix, users: np.ndarray
    ) -> float:
        # each trial is trained without the validation pairs and scored on them, for
        # every user with validation pairs (under VALID_USERS)
        np.testing.assert_array_equal(users, np.flatnonzero(np.diff(valid.indptr)))
        assert train.multiply(valid).nnz == 0
        assert train.nnz + valid.nnz == model.seen_.nnz + valid.nnz == inter.to_csr().nnz
        trials.append(model.reg)  # type: ignore[attr-defined]
        return {0.01: 0.2, 0.03: 0.5, 0.1: 0.4}[model.reg]  # type: ignore[attr-defined]

    monkeypatch.setattr(_auto_reg, "validation_recall", spy)
    m = fast("bpr").fit(inter, vec)
    assert trials == list(_auto_reg.GRID)
    assert m.reg_ == 0.03  # type: ignore[attr-defined]


def test_dense_data_takes_the_default_without_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 users x 3 items, everyone saw everything: 40 pairs per item
    df = pd.DataFrame([(f"u{u}", f"i{i}") for u in range(40) for i in range(3)],
                      columns=["user_id", "item_id"])  # fmt: skip
    inter = Interactions.from_frame(df)

    def fail(*_a: Any, **_k: Any) -> float:
        raise AssertionError("no validation fit on dense data")

    monkeypatch.setattr(_auto_reg, "validation_recall", fail)
    m = fast("bpr").fit(inter)
    assert m.reg_ == 0.01 and m.reg_validation_ == {}  # type: ignore[attr-defined]


def test_ties_keep_the_weaker_penalty(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    monkeypatch.setattr(_auto_reg, "validation_recall", lambda *_a: 0.25)
    assert fast("bpr").fit(inter, vec).reg_ == 0.01  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", AUTO_MODELS)
def test_save_load_keeps_the_choice(name: str, tmp_path: Path) -> None:
    inter, vec = checkerboard()
    m = fast(name).fit(inter, vec)
    back = Recommender.load(m.save(tmp_path / name))
    assert back.get_params()["reg"] == "auto"
    for n in grid_of(name)[0]:
        assert getattr(back, f"{n}_") == getattr(m, f"{n}_")
    assert back.reg_validation_ == m.reg_validation_  # type: ignore[attr-defined]


def test_model_saved_before_auto_loads_with_its_number(tmp_path: Path) -> None:
    inter, vec = checkerboard()
    folder = fast("bpr", reg=0.05).fit(inter, vec).save(tmp_path / "old")
    mj = folder / "model.json"
    meta = json.loads(mj.read_text())
    meta["extra"] = {}  # what save wrote before reg="auto" existed
    mj.write_text(json.dumps(meta))
    back = Recommender.load(folder)
    assert back.reg_ == 0.05 and back.reg_validation_ == {}  # type: ignore[attr-defined]
    meta["params"]["reg"] = "auto"  # an "auto" model.json must say what it chose
    mj.write_text(json.dumps(meta))
    with pytest.raises(VisrecError, match=r"'bpr': model.json holds no usable reg \('auto'\)"):
        Recommender.load(folder)


@pytest.mark.parametrize(
    ("name", "param", "value", "message"),
    [
        ("bpr", "reg", "fast", "model 'bpr': reg must be a number >= 0 or 'auto', got 'fast'"),
        ("bpr", "reg", -0.1, "model 'bpr': reg must be a number >= 0 or 'auto', got -0.1"),
        ("bpr", "reg", True, "model 'bpr': reg=True must be a number >= 0 or 'auto'"),
        ("vbpr", "reg_visual", "x",
         "model 'vbpr': reg_visual must be a number >= 0 or 'auto', got 'x'"),
    ],
)  # fmt: skip
def test_bad_reg_is_one_clear_error(name: str, param: str, value: Any, message: str) -> None:
    inter, vec = checkerboard()
    with pytest.raises(VisrecError) as err:
        fast(name, **{param: value}).fit(inter, vec)
    assert str(err.value) == message


def test_trial_fits_leave_no_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inter, vec = checkerboard()
    saved: list[str] = []
    real = _checkpoint.save_state

    def spy(ckpt: Any, desc: str, *a: Any, **k: Any) -> bool:
        saved.append(desc)
        return real(ckpt, desc, *a, **k)

    monkeypatch.setattr(_checkpoint, "save_state", spy)
    with _checkpoint.checkpointing(tmp_path / "ck", "key", every_s=0, log=lambda _m: None):
        fast("bpr", epochs=5).fit(inter, vec)
    # the final fit alone: one save after each of its 5 epochs (the last too, as the
    # finished stage of a fit with more would be kept)
    assert saved == ["bpr"] * 5


def test_train_says_what_auto_chose_on_sparse_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = checkerboard()
    csv = tmp_path / "train.csv"
    inter.to_frame().to_csv(csv, index=False)
    argv = ["train", "--model", "bpr", "--interactions", str(csv), "-o", str(tmp_path / "m"),
            "--param", "epochs=3", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    chosen = Recommender.load(tmp_path / "m").reg_  # type: ignore[attr-defined]
    assert "reg=auto: sparse data (7.2 distinct interactions per item, under 40)" in err
    assert err.endswith(f": reg={chosen}\n") and "(Recall@20: reg=0.01 -> " in err
    assert main([*argv, "--param", "reg=0.1"]) == 0
    assert "reg=auto" not in capsys.readouterr().err


def test_interrupted_auto_fit_resumes_to_the_same_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter, vec = checkerboard()
    params = {**FAST["bpr"], "reg": "auto", "epochs": 5}
    whole = make_model("bpr", **params).fit(inter, vec)
    # three validation fits of 5 epochs, then the 4th epoch of the final fit
    _fit_interrupted(monkeypatch, tmp_path, "key", 3 * 5 + 4, "bpr", params, inter, vec)
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=0, log=notes.append):
        resumed = make_model("bpr", **params).fit(inter, vec)
    # the three trials' scores are reused, the final fit resumes where it stopped
    assert notes == [
        *(f"reusing reg-auto-trial-{n} (from {tmp_path / f'reg-auto-trial-{n}.json'})"
          for n in (1, 2, 3)),
        f"resuming bpr at epoch 4 of 5 (from {tmp_path / 'bpr.pt'})",
    ]  # fmt: skip
    assert resumed.reg_validation_ == whole.reg_validation_  # type: ignore[attr-defined]
    for attr in resumed._array_attrs:
        np.testing.assert_array_equal(getattr(resumed, attr), getattr(whole, attr))


def test_a_resumed_auto_fit_refits_only_the_unfinished_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter, vec = checkerboard()
    params = {**FAST["bpr"], "reg": "auto", "epochs": 5}
    whole = make_model("bpr", **params).fit(inter, vec)
    # stopped in the 2nd epoch of the second trial
    _fit_interrupted(monkeypatch, tmp_path, "key", 5 + 2, "bpr", params, inter, vec)
    fitted: list[float] = []
    real_fit = _auto_reg.validation_recall

    def counting(model: Any, *a: Any) -> float:
        fitted.append(model.reg)
        return real_fit(model, *a)

    monkeypatch.setattr(_auto_reg, "validation_recall", counting)
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=0, log=notes.append):
        resumed = make_model("bpr", **params).fit(inter, vec)
    assert notes == [f"reusing reg-auto-trial-1 (from {tmp_path / 'reg-auto-trial-1.json'})"]
    assert fitted == [0.03, 0.1]  # the first trial (0.01) was not fitted again
    assert resumed.reg_validation_ == whole.reg_validation_  # type: ignore[attr-defined]
    np.testing.assert_array_equal(resumed.item_factors_, whole.item_factors_)  # type: ignore[attr-defined]


def test_evaluate_reports_what_auto_chose_per_run() -> None:
    from visrec.evaluation.runner import run_experiment

    inter, _ = checkerboard()
    res = run_experiment(
        inter.to_frame(), None, "warm",
        models=[("bpr", {**FAST["bpr"], "reg": "auto"}), ("bpr@fixed", FAST["bpr"])],
        seeds=[0, 1], progress=False,
    )  # fmt: skip
    tuned = res.runs.set_index(["model", "seed"])["tuned"]
    assert tuned["popularity"].isna().all() and tuned["bpr@fixed"].isna().all()
    assert set(tuned["bpr"]) <= {_auto_reg.label({"reg": r}) for r in _auto_reg.GRID}
    note = res.tuned_note()
    assert note is not None and note.splitlines()[1].startswith("  bpr: reg=")
    # no visual-cf in the run: the heading does not name its profile_weight
    assert note.splitlines()[0] == (
        "validation chose (reg=auto on sparse data), on inner splits of each training set:"
    )
    assert "(2 runs)" in note or note.count("(1 run)") == 2
    assert [r["tuned"] for r in res.to_dict()["runs"]][1] == tuned["bpr"][0]


def test_the_heading_names_reg_auto_when_only_reg_visual_was_chosen() -> None:
    # --param vbpr.reg=0.1 leaves reg_visual="auto": the heading said "validation chose ()"
    from visrec.evaluation.runner import run_experiment

    inter, vec = checkerboard()
    params = {**FAST["vbpr"], "reg": 0.1, "reg_visual": "auto"}
    res = run_experiment(inter.to_frame(), vec, "warm", models=[("vbpr", params)], seeds=[0],
                         progress=False)  # fmt: skip
    note = res.tuned_note()
    assert note is not None and note.splitlines()[0] == (
        "validation chose (reg=auto on sparse data), on inner splits of each training set:"
    )
    assert note.splitlines()[1].startswith("  vbpr: reg_visual=")


def test_no_validation_possible_falls_back_to_the_dense_setting() -> None:
    # every user has one item: nothing to hold out
    single = Interactions.from_frame(pd.DataFrame({"user_id": ["u1", "u2", "u3"],
                                                   "item_id": ["a", "b", "c"]}))  # fmt: skip
    m = fast("bpr", epochs=2).fit(single)
    assert m.reg_ == 0.01 and m.reg_validation_ == {}  # type: ignore[attr-defined]
    # visual-cf needs 2 items with an image and interactions; holding out u1's second
    # item leaves one (c has no image): the full data fits, the 80% would not
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3"], "item_id": ["a", "b", "c", "c"]})
    inter = Interactions.from_frame(frame)
    ids = np.asarray(inter.item_map.ids)
    vec = ItemVectors(ids=ids, vectors=np.eye(3, 4, dtype=np.float32),
                      has_image=ids != "c")  # fmt: skip
    m = fast("visual-cf", epochs=2).fit(inter, vec)
    assert m.reg_ == 0.01 and m.reg_validation_ == {}  # type: ignore[attr-defined]


def test_evaluate_resumes_records_written_before_the_tuned_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.evaluation import runner as R

    inter, _ = checkerboard()
    frame = inter.to_frame()
    record = tmp_path / "out.json.partial.jsonl"
    models = [("bpr", {**FAST["bpr"], "reg": "auto"})]
    real = R.evaluate_model
    calls: list[str] = []

    def stop_at_fourth(model: Recommender, *a: Any, **k: Any) -> Any:
        calls.append(model.name)
        if len(calls) == 4:  # popularity and bpr of seed 0, popularity of seed 1 done
            raise KeyboardInterrupt
        return real(model, *a, **k)

    monkeypatch.setattr(R, "evaluate_model", stop_at_fourth)
    with pytest.raises(KeyboardInterrupt):
        R.run_experiment(frame, None, "warm", models=models, seeds=[0, 1], progress=False,
                         resume=record)  # fmt: skip
    monkeypatch.setattr(R, "evaluate_model", real)
    recs = [json.loads(line) for line in record.read_text().splitlines()]
    assert [r["row"]["tuned"] for r in recs] == [None, recs[1]["row"]["tuned"], None]
    assert recs[1]["row"]["tuned"].startswith("reg=")
    for r in recs:  # what a record written before the field existed holds
        del r["row"]["tuned"]
    # edited on purpose: signed again, so the field check, not the digest, is tested
    record.write_text("".join(json.dumps(signed(r)) + "\n" for r in recs))
    notes: list[str] = []
    res = R.run_experiment(frame, None, "warm", models=models, seeds=[0, 1], progress=False,
                           resume=record, note=notes.append)  # fmt: skip
    assert notes == [f"resuming: 3 of 4 runs already done ({record})"]
    tuned = res.runs.set_index(["model", "seed"])["tuned"]
    assert tuned.drop(("bpr", 1)).isna().all()  # recorded runs: not known
    assert tuned[("bpr", 1)].startswith("reg=")  # fitted now: what it chose
    note = res.tuned_note()
    assert note is not None and note.splitlines()[1] == f"  bpr: {tuned[('bpr', 1)]} (1 run)"
    assert [r["tuned"] for r in json.loads(res.to_json())["runs"]][:3] == [None, None, None]


def test_train_says_when_sparse_data_left_no_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "single.csv"  # every user has one item: nothing to hold out
    pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": ["a", "b", "c"]}).to_csv(
        csv, index=False
    )
    argv = ["train", "--model", "bpr", "--interactions", str(csv), "-o", str(tmp_path / "m"),
            "--param", "epochs=2", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (
        "reg=auto: sparse data (1.0 distinct interactions per item, under 40), but too "
        "little to hold out an inner validation split" in err
    )
    assert "): reg=0.01, the dense-data setting\n" in err
    assert main([*argv, "--param", "reg=0.01"]) == 0  # an explicit penalty: no line
    assert "reg=auto" not in capsys.readouterr().err


def test_train_says_when_validation_could_not_tell_the_settings_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12 items, 4 per user: every trial's top 20 holds every candidate, so every
    # setting scores Recall@20 = 1 and the note must not claim a choice
    rows = [(f"u{u}", f"i{(u + k) % 12}") for u in range(30) for k in range(4)]
    csv = tmp_path / "small.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(csv, index=False)
    argv = ["train", "--model", "bpr", "--interactions", str(csv), "-o", str(tmp_path / "m"),
            "--param", "epochs=2", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (
        "but its inner validation split could not tell the settings apart (Recall@20: "
        "reg=0.01 -> 1.000; reg=0.03 -> 1.000; reg=0.1 -> 1.000, all equal), so the weakest "
        "was kept: reg=0.01\n" in err
    ), err


@pytest.mark.parametrize("name", AUTO_MODELS)
def test_a_stronger_choice_refits_exactly_as_the_explicit_fit(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the checkerboard ties every setting (Recall 1.0), so the weakest wins there; make
    # validation prefer the strongest, so the refit is checked with a value not first
    inter, vec = checkerboard()
    strongest = grid_of(name)[-1]
    monkeypatch.setattr(
        _auto_reg, "validation_recall", lambda m, *_a: float(m.reg == strongest["reg"])
    )
    auto = fast(name).fit(inter, vec)
    assert {n: getattr(auto, f"{n}_") for n in strongest} == strongest
    explicit = fast(name, **strongest).fit(inter, vec)
    for attr in auto._array_attrs:
        np.testing.assert_array_equal(getattr(auto, attr), getattr(explicit, attr))
    weakest = fast(name, **grid_of(name)[0]).fit(inter, vec)
    assert not np.array_equal(auto.score(np.arange(inter.n_users)),
                              weakest.score(np.arange(inter.n_users)))  # fmt: skip


def test_a_rerun_that_chooses_otherwise_does_not_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with random_state=None (or trial fits that are not deterministic) the rerun's
    # validation may choose another penalty: the fit interrupted under 0.1 must not
    # be resumed under 0.01
    inter, vec = checkerboard()
    params = {**FAST["bpr"], "reg": "auto", "epochs": 5}
    prefer: dict[str, float] = {}
    monkeypatch.setattr(_auto_reg, "validation_recall",
                        lambda model, *_a: prefer.get(model.reg, 0.0))  # fmt: skip
    prefer[0.1] = 1.0
    _fit_interrupted(monkeypatch, tmp_path, "key", 3 * 5 + 4, "bpr", params, inter, vec)
    prefer.clear()
    prefer[0.01] = 1.0
    # another validation split (random_state=None): the kept trial scores do not apply
    for kept in tmp_path.glob("reg-auto-trial-*.json"):
        kept.unlink()
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=0, log=notes.append):
        m = make_model("bpr", **params).fit(inter, vec)
    assert m.reg_ == 0.01  # type: ignore[attr-defined]
    assert notes == [f"note: {tmp_path / 'bpr.pt'}: checkpoint of other data or settings, "
                     "starting over"]  # fmt: skip
    explicit = make_model("bpr", **{**params, "reg": 0.01}).fit(inter, vec)
    np.testing.assert_array_equal(m.item_factors_, explicit.item_factors_)  # type: ignore[attr-defined]


def test_validation_recall_is_evaluates_recall() -> None:
    from visrec.evaluation import metrics as M

    rng = np.random.default_rng(4)  # random data: a ranking with hits and misses
    frame = pd.DataFrame({"user_id": rng.integers(0, 30, 400), "item_id": rng.integers(0, 50, 400)})
    inter = Interactions.from_frame(frame.astype(str))
    seen = inter.to_csr("binary")
    is_val = _auto_reg.inner_split(seen, rng)
    coo = seen.tocoo()
    shape = seen.shape
    train = sp.csr_matrix((np.ones((~is_val).sum()), (coo.row[~is_val], coo.col[~is_val])), shape)
    valid = sp.csr_matrix((np.ones(is_val.sum()), (coo.row[is_val], coo.col[is_val])), shape)
    m = make_model("bpr", **{**FAST["bpr"], "epochs": 3}).fit(
        Interactions(inter.user_map, inter.item_map, coo.row[~is_val], coo.col[~is_val])
    )
    users = np.arange(shape[0])
    exclude = train.toarray().astype(bool)
    relevant = valid.toarray().astype(bool)
    expected = M.mean(M.recall_at_k(M.top_k(m.score(users), _auto_reg.K, exclude), relevant))
    assert _auto_reg.validation_recall(m, train, valid) == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected < 1.0  # a real ranking, not a degenerate one


def test_train_line_names_the_second_fit_for_new_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.embed.store import write_vectors

    inter, vec = checkerboard()
    csv, vpath = tmp_path / "train.csv", tmp_path / "v.parquet"
    inter.to_frame().to_csv(csv, index=False)
    write_vectors(vpath, vec)
    # validation prefers the strongest setting: new items then get a second fit
    monkeypatch.setattr(_auto_reg, "validation_recall", lambda model, *_a: model.reg)
    second = {"visual-cf": "reg=0.01", "vbpr": "reg=0.01, reg_visual=0.001", "bpr": None}
    for name, expected in second.items():
        argv = ["train", "--model", name, "--interactions", str(csv), "--vectors", str(vpath),
                "-o", str(tmp_path / name), "--param", "epochs=2", "--quiet"]  # fmt: skip
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert "): reg=0.1" in err
        tail = "; items known only by an image use a second fit at "
        assert (tail + str(expected) + "\n" in err) if expected else tail not in err
        model = Recommender.load(tmp_path / name)
        assert model.new_item_fit() == expected


def test_trial_scores_are_kept_only_when_the_split_repeats(tmp_path: Path) -> None:
    inter, vec = checkerboard()
    params = {**FAST["bpr"], "reg": "auto", "epochs": 2}
    with _checkpoint.checkpointing(tmp_path / "a", "key", every_s=3600, log=lambda _m: None):
        make_model("bpr", **params).fit(inter, vec)
    assert sorted(p.name for p in (tmp_path / "a").glob("reg-auto-trial-*.json")) == [
        "reg-auto-trial-1.json", "reg-auto-trial-2.json", "reg-auto-trial-3.json"
    ]  # fmt: skip
    # random_state=None: a rerun draws another split, so nothing is kept to reuse
    with _checkpoint.checkpointing(tmp_path / "b", "key", every_s=3600, log=lambda _m: None):
        make_model("bpr", **{**params, "random_state": None}).fit(inter, vec)
    assert not list((tmp_path / "b").glob("reg-auto-trial-*.json"))


def test_an_unusable_checkpoint_folder_is_one_note(tmp_path: Path) -> None:
    inter, vec = checkerboard()
    blocked = tmp_path / "ck"
    blocked.write_text("a file where the folder would go")
    notes: list[str] = []
    params = {**FAST["bpr"], "reg": "auto", "epochs": 2}
    with _checkpoint.checkpointing(blocked, "key", every_s=3600, log=notes.append):
        make_model("bpr", **params).fit(inter, vec)
    assert len(notes) == 1 and notes[0].startswith("note: cannot save reg-auto-trial-1 in ")


def test_a_reused_trial_still_prints_its_score_line() -> None:
    from visrec import _progress_lines

    inter, vec = checkerboard()
    params = {**FAST["bpr"], "reg": "auto", "epochs": 2}
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            lines.clear()
            with (
                _checkpoint.checkpointing(Path(tmp), "key", every_s=3600, log=lambda _m: None),
                _progress_lines.fit_lines(lines.append),
            ):
                make_model("bpr", **params).fit(inter, vec)
    trials = [line for line in lines if "reg=auto trial" in line]
    assert len(trials) == 3 and all(line.endswith("(reused)") for line in trials)


def test_log_lines_of_visual_cf_name_its_inner_fits_as_its_own() -> None:
    """visual-cf fits BPR inside: its epoch lines say "bpr of visual-cf", so a log of
    `evaluate` does not read as BPR refitted after the bpr row; BPR's own say "bpr"."""
    from visrec._progress_lines import fit_lines

    inter, vec = checkerboard()
    said: list[str] = []
    with fit_lines(said.append, every_s=0):
        fast("visual-cf", epochs=2, reg=0.01, profile_weight=0).fit(inter, vec)
    lines = [x for x in said if "epoch" in x]
    assert lines and all(x.startswith("  bpr of visual-cf: epoch ") for x in lines)
    said.clear()
    with fit_lines(said.append, every_s=0):
        fast("bpr", epochs=2, reg=0.01).fit(inter, vec)
    assert [x.split(",")[0] for x in said] == ["  bpr: epoch 1/2", "  bpr: epoch 2/2"]


def test_validation_recall_from_sparse_rows_matches_a_dense_reference() -> None:
    """The validation ranks from the sparse training rows (no users x items masks):
    the same Recall@20 as ranking dense arrays, ties and NaN scores included; over
    VALID_USERS users, a seeded sample of them."""
    from visrec._ranking import recall_rows, top_candidates

    rng = np.random.default_rng(5)
    n_users, n_items = 300, 90
    seen = sp.csr_matrix((rng.random((n_users, n_items)) < 0.15).astype(np.float32))
    is_val = _auto_reg.inner_split(seen, rng)
    coo = seen.tocoo()
    train = sp.csr_matrix(
        (np.ones((~is_val).sum(), np.float32), (coo.row[~is_val], coo.col[~is_val])),
        shape=seen.shape,
    )
    valid = sp.csr_matrix(
        (np.ones(is_val.sum(), np.float32), (coo.row[is_val], coo.col[is_val])), shape=seen.shape
    )
    table = rng.integers(0, 6, size=(n_users, n_items)).astype(np.float32)  # many ties
    table[rng.random(table.shape) < 0.02] = np.nan

    class Fixed:
        def score(self, u: np.ndarray) -> np.ndarray:
            return table[u]

    users = np.flatnonzero(np.diff(valid.indptr) > 0)
    exclude = train[users].toarray().astype(bool)
    scores = np.where(np.isnan(table[users]), -np.inf, table[users]).astype(np.float64)
    top, _ = top_candidates(np.where(exclude, -np.inf, scores), 20)
    want = recall_rows(top, valid[users].toarray().astype(bool))
    got = _auto_reg.validation_recall(Fixed(), train, valid)  # type: ignore[arg-type]
    assert got == pytest.approx(float(np.nanmean(want)), abs=1e-12)

    some = _auto_reg.validation_users(valid, np.random.default_rng(0))
    np.testing.assert_array_equal(some, users)  # under the cap: every user
    _old, _auto_reg.VALID_USERS = _auto_reg.VALID_USERS, 50
    try:
        some = _auto_reg.validation_users(valid, np.random.default_rng(0))
        again = _auto_reg.validation_users(valid, np.random.default_rng(0))
    finally:
        _auto_reg.VALID_USERS = _old
    assert len(some) == 50 and set(some) <= set(users) and (np.diff(some) > 0).all()
    np.testing.assert_array_equal(some, again)
    part = _auto_reg.validation_recall(Fixed(), train, valid, some)  # type: ignore[arg-type]
    assert part == pytest.approx(float(np.nanmean(want[np.isin(users, some)])), abs=1e-12)


def test_validation_recall_divides_by_the_list_length_when_more_are_held_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # K=2 and three held-out items: both listed items hit, Recall = 2 / min(2, 3) = 1
    monkeypatch.setattr(_auto_reg, "K", 2)
    frame = pd.DataFrame({"user_id": ["u", "v", "v", "w"], "item_id": ["i0", "i1", "i2", "i1"]})
    inter = Interactions.from_frame(frame, extra_items=["i3"])
    model = make_model("popularity").fit(inter)
    shape = (inter.n_users, inter.n_items)
    train = sp.csr_matrix(([1.0], ([0], [0])), shape=shape)
    valid = sp.csr_matrix(([1.0] * 3, ([0, 0, 0], [1, 2, 3])), shape=shape)
    assert _auto_reg.validation_recall(model, train, valid, np.array([0])) == 1.0
