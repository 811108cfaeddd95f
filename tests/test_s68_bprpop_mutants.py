"""Session 68 mutation audit of BPR (models/bpr.py), Popularity (models/popularity.py)
and the rating-eval report (report/rating.py), after session 62's (B01-B12, P01-P08,
the RR/L/V/E ids of test_s62_reports*_mutants.py).

50 hand-made mutants (17 BPR, 11 Popularity, 22 report/rating). Old tests (BPR /
popularity: test_models TestBPR/TestPopularity, test_model_mutation_gaps,
test_s62_ratingmf_mutants, test_old_model_folders, test_s50_save_load_mutants,
test_s60_candidates_mutants, test_model_folder_damage, test_s62_params_mutants;
report: the 16 files naming rating_verdict / render_rating_report). 48 were run
against them (12 by the lead after the helper's time ran out): 34 killed, 14 survived
(B07 device, B09 batch size, B11 lr check, B19 reg check, P07 the first damaged item,
R03/R04/R05 the plot's colours and panels, R09 the majority label, R14, R17 one shared
split, R22 a runner-up level, R23 an empty run list, R25 ``_e`` for ``id_html`` on what
a model uses). All but R14 are killed by this file. Not run (equivalent): P08, P09.

Equivalent:
- P08 (``same_scores_for_every_user`` dropped): candidates rank by the block path
  instead, by the same rule (score, position, unscorable last): slower only.
- P09 (no float32 cast of the score row): numpy 2 keeps float32 (``-np.inf`` is a
  weak Python scalar) and ``score`` casts to float32 anyway.
- R14 (``gap >= 0`` for ``> 0`` choosing "worse"): a gap of 0 is within TIE, said
  as "the same as" before the word is chosen.

Which tests kill which: trains_with_its_own_settings B09 (and old kills B05 B06 B08
B10 B18); hands_its_device B07; refuses_a_zero_lr B11 B19; popularity_names P07 (P06);
plot R03 R04 R05; majority R09; one_shared_split R17; runner_up R22; empty_run_list
R23 (R24); what_a_model_uses R25. Tests the helper wrote for old kills only (saved
arrays, defaults, similar_items, the page's inputs, atomic writing, a KNN without
RMSE, the no-vectors note, the lowest baseline, cold items, a three-way tie) were
dropped. No bug found in the source.
"""

from __future__ import annotations

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
from visrec.report.rating import rating_verdict, render_rating_report

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


def test_the_majority_baseline_is_named_by_its_class() -> None:
    """R09: the majority class's runs named with the class they predict."""
    from visrec.analysis.rating_eval import MAJORITY

    runs = _runs([(MAJORITY, "baseline", [1.3, 1.3]), *FOUR[2:]])
    for r in runs:
        r["class"] = 4.0 if r["model"] == MAJORITY else None
    page = render_rating_report(_result(runs))
    assert f"<tr><th>{MAJORITY} (4)</th><td>baseline</td>" in page


def test_one_shared_split_compares_the_knn_by_its_means() -> None:
    """R17: with one split both ran, the gap is of the two means (a mean over one
    split is no paired gap)."""
    nan = float("nan")
    runs = _runs([("global mean", "baseline", [0.9, nan]), ("knn", "picture", [1.0, 0.5])])
    line = next(x for x in rating_verdict(pd.DataFrame(runs)) if "tutorial's KNN" in x)
    assert "0.150 better than the best baseline (global mean, 0.900)" in line


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


def test_what_a_model_uses_is_shown_as_an_id_is() -> None:
    """R25 (``_e`` for ``id_html`` on the "uses" cell): a hand-edited result whose kind
    holds a run of spaces or a line break showed them folded or as a bare break."""
    runs = _runs([("global mean", "base  line", [1.1, 1.1]), ("knn", "pic\nture", [1.0, 1.0])])
    page = render_rating_report(_result(runs))
    assert '<td><span style="white-space:pre-wrap">base  line</span></td>' in page
    assert "<th>knn</th><td>&#x27;pic\\nture&#x27;</td>" in page
