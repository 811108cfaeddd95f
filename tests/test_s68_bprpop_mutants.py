"""Session 68 mutation audit of BPR (models/bpr.py), Popularity (models/popularity.py)
and the rating-eval report (report/rating.py), after session 62's (B01-B12, P01-P08,
the RR/L/V/E ids of test_s62_reports*_mutants.py).

50 hand-made mutants (17 BPR, 11 Popularity, 22 report/rating). Old tests (BPR /
popularity: test_models TestBPR/TestPopularity, test_model_mutation_gaps,
test_s62_ratingmf_mutants, test_old_model_folders, test_s50_save_load_mutants,
test_s60_candidates_mutants, test_model_folder_damage, test_s62_params_mutants;
report: the 14 files naming rating_verdict / render_rating_report, -k rating/rmse):
36 run within the time (2 shared, overloaded cores), 29 killed, 7 survived (B07
device, B09 batch size, B11 lr check, R03/R05 the plot's colours and panels, R09 the
majority label, R14). Not run against the old tests (14): B18, B19, P07-P09, R04
(its run was cut off), R17-R25 (R25, ``_e`` for ``id_html`` on what a model uses, is
session 62's RR2, which its test kills).
Killed after (this file): all but the 3 equivalents and R18.

Equivalent:
- P08 (``same_scores_for_every_user`` dropped): candidates rank by the block path
  instead, by the same rule (score, position, unscorable last): slower only.
- P09 (no float32 cast of the score row): numpy 2 keeps float32 (``-np.inf`` is a
  weak Python scalar) and ``score`` casts to float32 anyway.
- R14 (``gap >= 0`` for ``> 0`` choosing "worse"): a gap of 0 is within TIE, said
  as "the same as" before the word is chosen.
Left open: R18 (no ``isfinite`` check of the KNN's RMSE) survived
test_a_model_without_rmse_leaves_the_others_judged; not resolved in the time.

Which tests kill which: trains_with_its_own_settings B05 B06 B08 B09 B10 B18 (and
B04); saved_arrays_dot_products B15; hands_its_device B07; refuses_a_zero_lr B11
B19; defaults B16 B17; similar_items B14; popularity_names P06 P07; plot R03 R04
R05; page_shows R07 R08 R10; majority R09; atomically R11; model_without_rmse R12;
without_vectors R13; lowest_baseline R15 R20; cold_items R16; one_shared_split R17;
three_way_tie R21; runner_up R22; empty_run_list R23 R24.
No bug found in the source.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.bpr import BPR
from visrec.models.popularity import Popularity
from visrec.report import plots
from visrec.report.rating import rating_verdict, render_rating_report, write_rating_report

# ---------------------------------------------------------------------------- data

#: who took what: "w" is in the item map with no pair, "x" has 3 users, "y" 2, "z" 1
PAIRS = [("a", "x"), ("a", "y"), ("b", "y"), ("b", "z"), ("c", "x"), ("d", "x")]
ITEMS = ["x", "y", "z", "w"]


def _inter() -> Interactions:
    frame = pd.DataFrame(PAIRS, columns=["user_id", "item_id"])
    return Interactions.from_frame(frame, item_map=IdMap(np.asarray(ITEMS)))


def _bpr(**kw: Any) -> BPR:
    settings: dict[str, Any] = {
        "factors": 3,
        "epochs": 2,
        "lr": 0.03,
        "reg": 0.02,
        "batch_size": 2,
        "init_std": 0.05,
        "device": "cpu",
        "random_state": 5,
    }
    return BPR(**{**settings, **kw})


# ---------------------------------------------------------------------------- BPR


def test_bpr_trains_with_its_own_settings_and_seed() -> None:
    """B04-B06, B08-B10, B18: the seed, lr/reg (swapped), epochs, init_std,
    batch_size or factors not handed to the fit, or the biases dropped: the model's
    arrays are those of fit_bpr_factors called with the model's settings."""
    from visrec.models._fit_torch import fit_bpr_factors

    m = _bpr().fit(_inter())
    p, q, b = fit_bpr_factors(
        m.seen_,
        factors=3,
        epochs=2,
        lr=0.03,
        reg=0.02,
        batch_size=2,
        init_std=0.05,
        device="cpu",
        rng=np.random.default_rng(5),
    )
    np.testing.assert_array_equal(m.user_factors_, p)
    np.testing.assert_array_equal(m.item_factors_, q)
    np.testing.assert_array_equal(m.item_bias_, b)
    assert m.user_factors_.shape == (4, 3) and np.abs(b).max() > 0


def test_bpr_scores_are_the_saved_arrays_dot_products(tmp_path: Path) -> None:
    """B15 (item_bias_ not saved) and the score rule: a loaded model's scores are
    p_u . q_i + b_i of the arrays in the folder, by the saved id map; the item no one
    took scores -inf."""
    folder = _bpr().fit(_inter()).save(tmp_path / "m")
    loaded = Recommender.load(folder)
    with np.load(folder / "arrays.npz") as z:
        p, q, b = z["user_factors_"], z["item_factors_"], z["item_bias_"]
    meta = json.loads((folder / "model.json").read_text())
    assert meta["params"]["random_state"] == 5 and meta["n_items"] == 4
    ids = loaded.item_map_.to_list()
    assert ids == ITEMS
    expected = p.astype(np.float64) @ q.T.astype(np.float64) + b
    got = loaded.score(np.arange(4))
    trained = [i != "w" for i in ids]
    np.testing.assert_allclose(got[:, trained], expected[:, trained], rtol=1e-5, atol=1e-7)
    assert np.isneginf(got[:, ids.index("w")]).all()


def test_bpr_hands_its_device_to_the_fit() -> None:
    """B07 (device=None in the fit): a device the machine lacks is refused, not
    trained on whatever device auto picks."""
    with pytest.raises(VisrecError, match="cuda:99"):
        _bpr(device="cuda:99").fit(_inter())


@pytest.mark.parametrize(
    ("kw", "said"),
    [({"lr": 0.0}, "lr must be > 0"), ({"reg": -1.0}, "reg must be a number >= 0")],
)
def test_bpr_refuses_a_zero_lr_and_a_negative_reg(kw: dict[str, Any], said: str) -> None:
    """B11 (lr not checked positive), B19 (reg not checked)."""
    with pytest.raises(VisrecError, match=said):
        _bpr(**kw).fit(_inter())


def test_bpr_defaults_are_the_documented_ones() -> None:
    """B16 (random_state default None), B17 (lr default 0.05): the defaults the class
    docstring states, and two default-seeded fits agree."""
    assert BPR().get_params() == {
        "factors": 64,
        "epochs": 80,
        "lr": 0.005,
        "reg": "auto",
        "batch_size": 1024,
        "init_std": 0.01,
        "device": None,
        "random_state": 0,
        "verbose": False,
    }
    kw: dict[str, Any] = {"factors": 2, "epochs": 1, "reg": 0.01, "device": "cpu"}
    a = BPR(**kw).fit(_inter()).score([0])
    b = BPR(**kw).fit(_inter()).score([0])
    np.testing.assert_array_equal(a, b)


def test_bpr_similar_items_never_name_an_untrained_item() -> None:
    """B14 (_scorable_items None): the item no one took holds its random start
    factors; it is never a neighbour and, asked about, gets a row of padding."""
    m = _bpr().fit(_inter())
    w = ITEMS.index("w")
    ids, sims = m.similar_items([0, 1, w], n=3)
    assert w not in ids[:2]
    assert (ids[2] == -1).all() and np.isneginf(sims[2]).all()


# ---------------------------------------------------------------------- Popularity


def test_popularity_names_the_first_damaged_item_and_its_real_count(tmp_path: Path) -> None:
    """P06 (the count said is the saved one, not the item's training pairs), P07 (the
    last damaged item named, not the first)."""
    model = Popularity().fit(_inter())
    folder = model.save(tmp_path / "m")
    npz = folder / "arrays.npz"
    with np.load(npz) as z:
        kept = {k: z[k] for k in z.files}
    counts = kept["item_counts_"].copy()
    counts[[1, 2]] = 7.0  # y and z: more users than they have
    np.savez(npz, **{**kept, "item_counts_": counts})
    users_of_y = len({u for u, i in PAIRS if i == "y"})
    with pytest.raises(VisrecError) as err:
        Recommender.load(folder)
    assert f"item_counts_ says 7 for item 'y', which has {users_of_y} training pairs" in str(
        err.value
    )


# ------------------------------------------------------------------ rating report


def _runs(models: list[tuple[str, str, list[float]]], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "model": m,
            "uses": u,
            "seed": s,
            "rmse": r,
            "mae": 0.7,
            "accuracy": 0.4,
            "fit_seconds": 0.1,
            **extra,
        }
        for m, u, rmses in models
        for s, r in enumerate(rmses)
    ]


FOUR = [
    ("global mean", "baseline", [1.10, 1.11, 1.12]),
    ("knn", "picture", [1.00, 1.01, 1.02]),
    ("biased MF", "ratings", [0.95, 0.96, 0.97]),
    ("biased MF + visual", "ratings + picture", [0.94, 0.95, 0.96]),
]


def _result(runs: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {"runs": runs, "n_train": 80, "n_test": 20, "protocol": "random", **kw}


def test_the_plot_gets_every_panel_and_colours_by_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """R03 (MF + visual not coloured as a picture model), R04 (no baselines grey),
    R05 (the accuracy panel dropped)."""
    seen: list[dict[str, Any]] = []

    def fake(runs: pd.DataFrame, models: list[str], panels: Any, **kw: Any) -> bytes:
        seen.append({"models": list(models), "cols": [p[0] for p in panels], **kw})
        return b""

    monkeypatch.setattr(plots, "metric_bars_png", fake)
    render_rating_report(_result(_runs(FOUR)))
    (call,) = seen
    assert call["models"] == [m for m, _, _ in FOUR]
    assert sorted(call["cols"]) == ["accuracy", "mae", "rmse"]
    assert call["image_models"] == ["knn", "biased MF + visual"]
    assert call["baselines"] == ["global mean"]


def test_the_page_shows_its_inputs_notes_and_the_seed_table() -> None:
    """R07 (an input path shown raw), R08 (the result's notes dropped), R10 (the seed
    by seed table of MAE under the RMSE title)."""
    runs = _runs(FOUR)
    for r in runs:
        r["mae"] = 0.5 + r["rmse"] / 10
    page = render_rating_report(
        _result(runs, notes=["ids <respelt> here"]), {"interactions": "d/a\nb.csv"}
    )
    assert "<td>&#x27;d/a\\nb.csv&#x27;</td>" in page or "<td>'d/a\\nb.csv'</td>" in page
    assert "d/a\nb.csv" not in page
    assert "ids &lt;respelt&gt; here" in page
    seeds = page.split('<section id="seeds">', 1)[1]
    for m, _, rmses in FOUR:
        row = "".join(f'<td class="num">{v:.4f}</td>' for v in rmses)
        assert f"<tr><th>{m}</th>{row}</tr>" in seeds


def test_the_majority_baseline_is_named_by_its_class() -> None:
    """R09: the majority class's runs named with the class they predict."""
    from visrec.analysis.rating_eval import MAJORITY

    runs = _runs([(MAJORITY, "baseline", [1.3, 1.3]), *FOUR[2:]])
    for r in runs:
        r["class"] = 4.0 if r["model"] == MAJORITY else None
    page = render_rating_report(_result(runs))
    assert f"<tr><th>{MAJORITY} (4)</th><td>baseline</td>" in page


def test_the_report_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """R11 (written in place): a write that fails at the rename leaves the old page."""
    target = tmp_path / "r.html"
    target.write_text("old page")

    def refuse(*a: Any, **k: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_rating_report(target, _result(_runs(FOUR)))
    assert target.read_text() == "old page"
    monkeypatch.undo()
    assert write_rating_report(target, _result(_runs(FOUR))) == target
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_model_without_rmse_leaves_the_others_judged() -> None:
    """R12 (any model without an RMSE taken for none having one), R18 (a KNN with no
    RMSE still compared with the baseline)."""
    nan = float("nan")
    runs = pd.DataFrame(_runs([*FOUR[:1], ("knn", "picture", [nan] * 3), *FOUR[2:]]))
    lines = rating_verdict(runs)
    assert lines[0].startswith("Lowest RMSE: biased MF + visual, 0.950 stars")
    assert not any("The tutorial's KNN" in line for line in lines)


def test_without_vectors_the_note_comes_first() -> None:
    """R13: the no-vectors sentence leads."""
    lines = rating_verdict(pd.DataFrame(_runs([FOUR[0], FOUR[2]])))
    assert lines[0].startswith("No item vectors were given (--vectors)")
    assert lines[1].startswith("Lowest RMSE: biased MF, 0.960 stars")


def test_the_knn_is_compared_with_the_lowest_baseline() -> None:
    """R15 (the highest baseline taken as the best)."""
    runs = _runs([("item mean", "baseline", [1.05, 1.05, 1.05]), *FOUR])
    line = next(x for x in rating_verdict(pd.DataFrame(runs)) if "tutorial's KNN" in x)
    gap = np.mean([1.05 - r for r in FOUR[1][2]])
    assert f"{gap:.3f} better than the best baseline (item mean, 1.050), on 3 of 3" in line


def test_cold_items_without_a_plain_mf_add_no_sentence_on_it() -> None:
    """R16: the cold-items sentence names the plain MF; without one it is left out
    (the mutant failed on plain[0])."""
    lines = rating_verdict(pd.DataFrame(_runs([FOUR[0], FOUR[1], FOUR[3]])), "cold-items")
    assert not any("Every test item is new" in line for line in lines)
    assert any("The tutorial's KNN on the picture alone" in line for line in lines)


def test_one_shared_split_compares_the_knn_by_its_means() -> None:
    """R17: with one split both ran, the gap is of the two means (a mean over one
    split is no paired gap)."""
    nan = float("nan")
    runs = _runs([("global mean", "baseline", [0.9, nan]), ("knn", "picture", [1.0, 0.5])])
    line = next(x for x in rating_verdict(pd.DataFrame(runs)) if "tutorial's KNN" in x)
    assert "0.150 better than the best baseline (global mean, 0.900)" in line


def test_a_three_way_tie_names_both_others() -> None:
    """R21: every model level with the best is named."""
    runs = _runs([(m, u, [1.0, 1.0, 1.0]) for m, u, _ in FOUR[:1] + FOUR[2:]])
    lines = rating_verdict(pd.DataFrame(runs))
    said = next(x for x in lines if x.startswith("Lowest RMSE"))
    assert said.count(", ") >= 2 and "tied with" in said
    for m in ("global mean", "biased MF", "biased MF + visual"):
        assert m in said


def test_an_empty_run_list_and_a_missing_figure() -> None:
    """R23 (an empty list of runs let through to another message), R24 (one run
    without fit_seconds refused, though others have it)."""
    with pytest.raises(VisrecError, match="'runs' is empty"):
        render_rating_report({"runs": [], "n_train": 1, "n_test": 1})
    runs = _runs(FOUR)
    del runs[0]["fit_seconds"]
    page = render_rating_report(_result(runs))
    assert "global mean" in page


def test_a_runner_up_level_on_the_shared_splits_is_not_said_lower() -> None:
    """R22 (``gaps.mean() <= 0``): a runner-up whose paired gap to the best is exactly
    0 over the splits both ran is level with it, not "lower on" them."""
    nan = float("nan")
    runs = _runs([("A", "ratings", [1.0, 1.5, 0.25]), ("B", "baseline", [1.25, 1.25, nan])])
    said = rating_verdict(pd.DataFrame(runs))[-1]
    assert said.startswith("Lowest RMSE: A, ")
    assert ", level with B (1.250: lower than it on 1 of 2 splits" in said
    assert "is lower on" not in said
