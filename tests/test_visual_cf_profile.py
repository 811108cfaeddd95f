"""visual-cf's opt-in taste term (``profile_weight``): new items that look like what a
user took rank higher for that user, scored the same through every path, and saved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, N_ITEMS, checkerboard, group_vectors
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.visual_cf import VisualCF


def _fit(weight: float, inter: Interactions | None = None) -> VisualCF:
    data, iv = checkerboard()
    params = {**FAST["visual-cf"], "profile_weight": weight, "profile_dim": 4}
    return VisualCF(**params).fit(inter or data, iv)


def _new_items() -> tuple[np.ndarray, np.ndarray]:
    """Vectors of 10 new items, the first 5 looking like group A, the rest like group B."""
    is_b = np.arange(10) >= 5
    return group_vectors(is_b, np.random.default_rng(7)), is_b


def _group_margin(model: VisualCF) -> float:
    """Mean score of own-group new items minus other-group ones, over all users."""
    vecs, is_b = _new_items()
    s = model.score_new_items(np.arange(24), vecs)
    user_b = np.arange(24) >= 12
    own = np.where(user_b[:, None] == is_b[None, :], s, np.nan)
    other = np.where(user_b[:, None] != is_b[None, :], s, np.nan)
    return float(np.nanmean(own) - np.nanmean(other))


def test_the_taste_term_ranks_new_items_like_the_users_own_higher() -> None:
    margins = [_group_margin(_fit(w)) for w in (0.0, 1.0, 4.0)]
    assert margins[0] < margins[1] < margins[2]
    strong = _fit(4.0)
    vecs, is_b = _new_items()
    top = strong.score_new_items(np.arange(24), vecs).argmax(axis=1)
    # every user's best new item is one of their own group's
    assert (is_b[top] == (np.arange(24) >= 12)).all()


def test_weight_zero_saves_no_taste_arrays(tmp_path: Path) -> None:
    model = _fit(0.0)
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "arrays.npz") as npz:
        assert not any(k.startswith(("profile", "user_profiles", "image_only_prof")) for k in npz)
    loaded = Recommender.load(tmp_path / "m")
    vecs, _ = _new_items()
    np.testing.assert_array_equal(
        loaded.score_new_items([0, 13], vecs), model.score_new_items([0, 13], vecs)
    )


def test_taste_round_trips_and_image_only_items_score_like_new_ones(tmp_path: Path) -> None:
    data, iv = checkerboard()
    # two items in the id map with an image but no interaction: scored as new ones
    items = IdMap([*data.item_map.ids, "x0", "x1"])
    inter = Interactions(data.user_map, items, data.user_idx, data.item_idx)
    vecs, _ = _new_items()
    iv2 = ItemVectors(
        np.asarray([*iv.ids, "x0", "x1"]),
        np.vstack([iv.vectors, vecs[[0, 9]]]),
        np.ones(N_ITEMS + 2, dtype=bool),
    )
    params = {**FAST["visual-cf"], "profile_weight": 2.0, "profile_dim": 4}
    model = VisualCF(**params).fit(inter, iv2)
    in_map = model.score(np.arange(24), [N_ITEMS, N_ITEMS + 1])
    as_new = model.score_new_items(np.arange(24), vecs[[0, 9]])
    np.testing.assert_allclose(in_map, as_new, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.score(np.arange(24)), model.score(np.arange(24)))
    np.testing.assert_array_equal(
        loaded.score_new_items(np.arange(24), vecs), model.score_new_items(np.arange(24), vecs)
    )


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [("profile_weight", -1.0, "profile_weight"), ("profile_dim", 0, "profile_dim")],
)
def test_bad_taste_params_are_refused(param: str, value: float, match: str) -> None:
    data, iv = checkerboard()
    with pytest.raises(VisrecError, match=match):
        VisualCF(**{**FAST["visual-cf"], param: value}).fit(data, iv)


@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a.__setitem__("user_profiles_", a["user_profiles_"][:, :2]),
        lambda a: a.__setitem__("profile_components_", a["profile_components_"][:, :3]),
        lambda a: a.__setitem__("user_profiles_", a["user_profiles_"][:-1]),
    ],
    ids=["profile width", "component width", "one user short"],
)
def test_a_damaged_taste_array_is_refused_on_load(tmp_path: Path, damage) -> None:
    folder = _fit(1.0).save(tmp_path / "m")
    npz = folder / "arrays.npz"
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    damage(arrays)
    np.savez(npz, **arrays)
    with pytest.raises(VisrecError, match=r"arrays\.npz: .*train the model again"):
        Recommender.load(folder)


def _shop(visual: bool, seed: int = 0) -> tuple[Interactions, ItemVectors]:
    """800 users x 1,000 items. ``visual``: 100 looks of 10 items (a random direction
    per look plus noise), each user takes 8 items of their 2 looks, by popularity: more
    tastes than the 4-factor map can carry. Else: vectors are noise and users take
    items by popularity alone."""
    rng = np.random.default_rng(seed)
    look = np.arange(1000) % 100
    vec = rng.normal(0, 0.5, (1000, 32)).astype(np.float32)
    if visual:
        vec += 2.0 * rng.normal(0, 1, (100, 32)).astype(np.float32)[look]
    pop = rng.lognormal(0, 1.0, 1000)
    rows = []
    for u in range(800):
        liked = [u % 100, (7 * u + 3) % 100]
        pool = np.flatnonzero(np.isin(look, liked)) if visual else np.arange(1000)
        p = pop[pool] / pop[pool].sum()
        rows += [(f"u{u}", f"i{i}") for i in rng.choice(pool, 8, replace=False, p=p)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id"])
    items = IdMap([f"i{i}" for i in range(1000)])
    inter = Interactions.from_frame(df, item_map=items)
    return inter, ItemVectors(np.asarray(items.ids), vec, np.ones(1000, dtype=bool))


AUTO = {**FAST["visual-cf"], "batch_size": 256, "profile_weight": "auto", "profile_dim": 8}


def test_auto_turns_the_taste_term_on_where_people_choose_by_look() -> None:
    inter, iv = _shop(visual=True)
    model = VisualCF(**AUTO).fit(inter, iv)
    val = model.profile_validation_
    assert set(val) == {f"profile_weight={w:g}" for w in (0, 0.5, 1, 2)}
    best = max(val, key=val.get)
    assert best != "profile_weight=0" and val[best] >= 1.1 * val["profile_weight=0"]
    assert float(model.profile_scale_[0]) > 0
    # the chosen weight is the one a fixed weight gives: same scores
    chosen = float(best.split("=")[1])
    assert model.chosen_profile_weight() == chosen
    assert model.profile_note().startswith("profile_weight=auto: validation Recall@20 on 3 ")
    assert model.profile_note().endswith(f": {chosen:g}")
    fixed = VisualCF(**{**AUTO, "profile_weight": chosen}).fit(inter, iv)
    vecs = iv.vectors[:10]
    np.testing.assert_allclose(
        model.score_new_items(np.arange(5), vecs), fixed.score_new_items(np.arange(5), vecs)
    )


def test_auto_keeps_it_off_where_the_look_says_nothing(tmp_path: Path) -> None:
    inter, iv = _shop(visual=False)
    model = VisualCF(**AUTO).fit(inter, iv)
    val = model.profile_validation_
    assert len(val) == 4 and max(val.values()) < 1.1 * val["profile_weight=0"]
    assert float(model.profile_scale_[0]) == 0 and model.chosen_profile_weight() == 0
    assert model.profile_note().endswith(": 0 (none gains 10% over 0)")
    plain = VisualCF(**{**AUTO, "profile_weight": 0.0}).fit(inter, iv)
    vecs = iv.vectors[:10]
    np.testing.assert_array_equal(
        model.score_new_items(np.arange(5), vecs), plain.score_new_items(np.arange(5), vecs)
    )
    # the validation is kept with the model
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.profile_validation_ == val


def test_auto_on_too_few_items_is_off_without_validation() -> None:
    model = VisualCF(**{**AUTO}).fit(*checkerboard())
    assert model.profile_validation_ == {} and float(model.profile_scale_[0]) == 0


def test_train_prints_what_auto_chose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from visrec.cli import main
    from visrec.embed.store import write_vectors

    inter, iv = _shop(visual=True)
    train = tmp_path / "train.csv"
    pd.DataFrame(
        {
            "user_id": inter.user_map.to_raw(inter.user_idx),
            "item_id": inter.item_map.to_raw(inter.item_idx),
        }
    ).to_csv(train, index=False)
    write_vectors(tmp_path / "v.parquet", iv)
    params = [f"--param={k}={json.dumps(v)}" for k, v in AUTO.items()]
    argv = ["train", "--model", "visual-cf", "--interactions", str(train)]
    argv += ["--vectors", str(tmp_path / "v.parquet"), "-o", str(tmp_path / "m"), *params]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "profile_weight=auto: validation Recall@20 on 3 folds of held-out items (0 -> " in err
    loaded = Recommender.load(tmp_path / "m")
    assert loaded.chosen_profile_weight() > 0


def test_evaluate_records_the_chosen_weight() -> None:
    from visrec.evaluation.runner import run_experiment

    inter, iv = _shop(visual=True)
    res = run_experiment(
        inter, iv, "cold-items", models=["popularity", ("visual-cf", AUTO)], seeds=(0,),
        progress=False,
    )  # fmt: skip
    tuned = res.runs.set_index("model")["tuned"]
    assert tuned["visual-cf"].startswith("profile_weight=") and tuned["visual-cf"] != (
        "profile_weight=0"
    )
    assert "  visual-cf: profile_weight=" in res.tuned_note()


def _count_bpr_fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of visual-cf's BPR fits from now on, in order."""
    fits: list[str] = []
    real = VisualCF._bpr

    def counted(self: VisualCF, seen: object, reg: float, desc: str) -> object:
        fits.append(desc)
        return real(self, seen, reg, desc)

    monkeypatch.setattr(VisualCF, "_bpr", counted)
    return fits


def test_reg_auto_trials_do_not_validate_the_taste_term(monkeypatch: pytest.MonkeyPatch) -> None:
    inter, iv = _shop(visual=True)  # 8 items per user: sparse, so reg=auto validates
    fits = _count_bpr_fits(monkeypatch)
    model = VisualCF(**{**AUTO, "reg": "auto"}).fit(inter, iv)
    assert model.reg_validation_  # the trials ran
    assert [d for d in fits if d.startswith("profile-fold")] == [
        "profile-fold-1",
        "profile-fold-2",
        "profile-fold-3",
    ]


def test_an_interrupted_validation_resumes_its_fold_and_skips_finished_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_train_checkpoint import _fit_interrupted
    from visrec.models import _checkpoint

    inter, iv = _shop(visual=True)
    params = {**AUTO, "epochs": 4}
    whole = VisualCF(**params).fit(inter, iv)
    # epochs: the model's BPR 1-4, the map's BPR (another reg) 5-8, fold 1's 9-12,
    # fold 2's 13-16: stop at fold 2's 3rd
    notes: list[str] = []
    _fit_interrupted(monkeypatch, tmp_path, "k", 15, "visual-cf", params, inter, iv)
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == [
        "bpr-map.pt",
        "bpr.pt",
        "profile-fold-1.json",
        "profile-fold-1.pt",
        "profile-fold-2.pt",
    ]
    fits = _count_bpr_fits(monkeypatch)
    with _checkpoint.checkpointing(tmp_path, "k", every_s=0, log=notes.append):
        resumed = VisualCF(**params).fit(inter, iv)
    # fold 1 is not refitted
    assert fits == ["bpr", "bpr-map", "profile-fold-2", "profile-fold-3"]
    assert notes[2] == f"reusing profile-fold-1 (from {tmp_path / 'profile-fold-1.json'})"
    assert notes[3].startswith("resuming profile-fold-2 at epoch 3 of 4")
    assert resumed.profile_validation_ == whole.profile_validation_
    for attr in resumed._array_attrs:
        np.testing.assert_array_equal(getattr(resumed, attr), getattr(whole, attr))
    # another key (other data or settings) reuses nothing
    fits.clear()
    with _checkpoint.checkpointing(tmp_path, "other", every_s=0, log=notes.append):
        VisualCF(**params).fit(inter, iv)
    assert fits == ["bpr", "bpr-map", "profile-fold-1", "profile-fold-2", "profile-fold-3"]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("off", r"profile_weight must be a number >= 0 or 'auto', got 'off'"),
        ("Auto", r"profile_weight must be a number >= 0 or 'auto', got 'Auto'"),
        (-0.5, r"profile_weight must be a number >= 0 or 'auto', got -0\.5"),
        (float("inf"), r"profile_weight=inf must be a finite number"),
    ],
)
def test_a_bad_profile_weight_is_one_clear_error(value: object, match: str) -> None:
    with pytest.raises(VisrecError, match=match):
        VisualCF(**{**FAST["visual-cf"], "profile_weight": value}).fit(*checkerboard())


def test_auto_without_any_user_to_validate_on_is_off() -> None:
    # every user has one item: nobody has a held-out item and another one
    rng = np.random.default_rng(0)
    items = IdMap([f"i{i}" for i in range(600)])
    df = pd.DataFrame(
        {"user_id": [f"u{u}" for u in range(1200)], "item_id": [f"i{u % 600}" for u in range(1200)]}
    )
    inter = Interactions.from_frame(df, item_map=items)
    iv = ItemVectors(
        np.asarray(items.ids), rng.normal(size=(600, 8)).astype(np.float32), np.ones(600, bool)
    )
    model = VisualCF(**AUTO).fit(inter, iv)
    assert model.profile_validation_ == {} and model.chosen_profile_weight() == 0
    assert "no validation possible" in model.profile_note()


def test_auto_keeps_a_taste_weight_only_for_a_ten_percent_gain() -> None:
    from visrec.models.visual_cf import _decide

    scores = {
        "profile_weight=0": 0.20,
        "profile_weight=0.5": 0.21,
        "profile_weight=1": 0.19,
        "profile_weight=2": 0.10,
    }
    assert _decide(scores) == 0.0  # +5 %
    assert _decide({**scores, "profile_weight=0.5": 0.23}) == 0.5  # +15 %
