"""Mutation audit (session 62) of ``visrec.demo``: datasets, recommenders, result, synth
and the pure helpers of pipeline (``_summary``, ``_recommenders``, ``_demo_result``).

84 mutants; 49 killed by the existing tests, 76 with these; 6 equivalent; the last 2
(``_rating_knn``'s too-few-rows floor ``max(knn_k + 1, 5)`` and its "and N more" after
3 ids) are killed by test_s62_demo_rating_knn_bounds.py.

Equivalent:
- labels not stripped in ``datasets._labels``: ``load_item_table`` strips them already.
- item ids not cast to str in ``datasets._interactions``: ``load_interactions`` gives str.
- a dataset's name without the ``or abspath(root)`` fallback: only "/" has no name.
- ``_compare_recommenders`` keeping skipped seeds' stats, dropping ``stats and`` before
  the candidates caveat, or ``min`` for ``max`` over them: the demo runs one seed, and
  ``run_experiment`` raises when its only seed is skipped, so ``info`` holds exactly one
  unskipped entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.demo.result import DemoResult
from visrec.demo.synth import (
    CATEGORIES,
    COLOURS,
    PATTERNS,
    make_catalogue,
)
from visrec.errors import VisrecError

# --- the generated catalogue: its planted signal -------------------------------------


@pytest.fixture(scope="module")
def rated(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Every rating of a 160-item, 120-user catalogue, with its item's and user's draws."""
    root = tmp_path_factory.mktemp("cat")
    cat = make_catalogue(root, n_items=160, n_users=120, image_size=32, random_state=1)
    inter = pd.read_csv(cat.interactions_csv)
    frame = inter.merge(pd.read_csv(cat.items_csv), on="item_id")
    frame = frame.merge(pd.read_csv(cat.users_csv), on="user_id")
    assert len(frame) == len(inter) == 120 * 12
    frame["fav"] = frame.category == frame.favourite_category
    frame["disliked"] = frame.colour == frame.disliked_colour
    frame["expected"] = (
        3.0
        + frame.colour.map(lambda c: COLOURS[c][1])
        + frame.pattern.map(PATTERNS)
        + 0.5 * frame.fav  # the module docstring's formula, not the module's constants
        - 0.7 * frame.disliked
    )
    # only ratings the clip to 1..5 cannot have moved: the residual is noise + rounding
    frame["residual"] = frame.rating - frame.expected
    frame.attrs["order"] = inter  # the file's own row order
    return frame


def test_ratings_follow_the_documented_formula(rated: pd.DataFrame) -> None:
    # killed mutants: np.floor for np.rint (every rating half a star low), NOISE_SD 0
    # (ratings a fixed function of the draws), DISLIKED_PENALTY 0 (the disliked colour
    # not felt)
    inner = rated[rated.expected.between(1.6, 4.4)]
    assert len(inner) > 800
    res = inner.residual
    # rint of N(0, 0.4): mean 0, sd sqrt(0.4^2 + 1/12) ~ 0.49; without noise ~ 0.29
    assert abs(res.mean()) < 0.08
    assert 0.42 < res.std() < 0.58
    # the penalty and the bonus are in ``expected``: what is left carries neither
    for flag in ("disliked", "fav"):
        part = inner[inner[flag]].residual
        assert len(part) > 60 and abs(part.mean()) < 0.15, flag
    assert (COLOURS["red"][1], COLOURS["grey"][1]) == (1.5, -1.5)


def test_half_of_each_users_ratings_are_in_the_favourite_category(rated: pd.DataFrame) -> None:
    # killed mutant: per_user // 3 from the favourite category (the docstring says half)
    in_fav = rated.groupby("user_id").fav.sum()
    assert in_fav.min() >= 6
    # the rest is drawn from every item: some of it lands in the favourite category too
    assert in_fav.max() > 6
    assert in_fav.mean() < 6 + 6 * 0.25 + 0.6


def test_users_are_interleaved_in_time(rated: pd.DataFrame) -> None:
    # killed mutant: no permutation (each user's ratings one block, users in id order)
    order = rated.attrs["order"]
    changes = int((order.user_id != order.user_id.shift()).sum())
    assert changes > len(order) * 0.9
    first = order.user_id.head(12)
    assert first.nunique() > 6


def test_item_ids_carry_no_hint_of_the_category(tmp_path: Path) -> None:
    # killed mutant: categories not shuffled (item0001 a t-shirt, item0002 a sneaker, ...)
    cat = make_catalogue(tmp_path, n_items=40, n_users=1, image_size=32, random_state=0)
    items = pd.read_csv(cat.items_csv)
    cycle = [CATEGORIES[i % 4] for i in range(40)]
    same = sum(a == b for a, b in zip(items.category, cycle, strict=True))
    assert same < 20  # a shuffle matches the cycle at about a quarter of the places


def test_about_half_the_items_are_plain(rated: pd.DataFrame) -> None:
    # killed mutant: patterns drawn uniformly (p=[0.5, 0.25, 0.25] dropped)
    items = rated.drop_duplicates("item_id")
    assert len(items) > 140
    share = items.pattern.value_counts(normalize=True)
    assert 0.4 < share["plain"] < 0.6
    assert share["stripes"] < 0.35 and share["dots"] < 0.35


def test_user_ids_are_padded_to_three_digits(tmp_path: Path) -> None:
    # killed mutant: four digits (user0001), not the user001 the catalogue names
    cat = make_catalogue(tmp_path, n_items=4, n_users=2, ratings_per_user=1, image_size=32)
    assert pd.read_csv(cat.users_csv).user_id.tolist() == ["user001", "user002"]
    big = make_catalogue(tmp_path / "b", n_items=4, n_users=1000, ratings_per_user=1,
                         image_size=32)  # fmt: skip
    ids = pd.read_csv(big.users_csv).user_id
    assert (ids.iloc[0], ids.iloc[-1]) == ("user0001", "user1000")


def test_an_image_of_the_same_size_but_other_bytes_is_drawn_again(tmp_path: Path) -> None:
    # killed mutant: _holds comparing sizes only (a same-size file of other bytes kept)
    cat = make_catalogue(tmp_path, n_items=4, n_users=1, image_size=32, random_state=2)
    path = cat.images_dir / "item0001.jpg"
    good = path.read_bytes()
    path.write_bytes(bytes(len(good)))  # same size, all zeros
    make_catalogue(tmp_path, n_items=4, n_users=1, image_size=32, random_state=2)
    assert path.read_bytes() == good


def test_only_item_images_of_an_earlier_catalogue_are_removed(tmp_path: Path) -> None:
    # killed mutant: every *.jpg in images/ removed, a user's own photo too
    make_catalogue(tmp_path, n_items=8, n_users=1, image_size=32)
    (tmp_path / "images" / "logo.jpg").write_bytes(b"mine")
    cat = make_catalogue(tmp_path, n_items=4, n_users=1, image_size=32)
    names = sorted(p.name for p in cat.images_dir.iterdir())
    assert names == ["item0001.jpg", "item0002.jpg", "item0003.jpg", "item0004.jpg", "logo.jpg"]


@pytest.mark.parametrize(
    ("kw", "said"),
    [
        ({"n_users": 0}, "n_users=0, ratings_per_user=12: both must be >= 1"),
        ({"ratings_per_user": 0}, "n_users=150, ratings_per_user=0: both must be >= 1"),
    ],
)
def test_no_users_or_no_ratings_is_refused(tmp_path: Path, kw: dict[str, int], said: str) -> None:
    with pytest.raises(VisrecError, match=said):
        make_catalogue(tmp_path, n_items=4, image_size=32, **kw)
    assert not (tmp_path / "images").exists()


def test_the_size_limits_are_inclusive() -> None:
    # killed mutants: 1024 px or 4 items (one per category) refused
    from visrec.demo.synth import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, _check_catalogue_args

    _check_catalogue_args(len(CATEGORIES), 1, 1, MAX_IMAGE_SIZE)
    _check_catalogue_args(len(CATEGORIES), 1, 1, MIN_IMAGE_SIZE)
    with pytest.raises(VisrecError, match="image_size=1025"):
        _check_catalogue_args(4, 1, 1, MAX_IMAGE_SIZE + 1)
    with pytest.raises(VisrecError, match="image_size=31"):
        _check_catalogue_args(4, 1, 1, MIN_IMAGE_SIZE - 1)


def test_ratings_per_user_is_capped_at_the_item_count(tmp_path: Path) -> None:
    # killed mutant: no cap (a user asked for 12 ratings of 5 items: the draw failed)
    cat = make_catalogue(tmp_path, n_items=5, n_users=3, ratings_per_user=12, image_size=32)
    inter = pd.read_csv(cat.interactions_csv)
    assert cat.n_interactions == len(inter) == 15
    assert inter.groupby("user_id").item_id.nunique().tolist() == [5, 5, 5]


def test_an_unknown_category_is_a_visrec_error() -> None:
    from visrec.demo.synth import render_product

    with pytest.raises(VisrecError, match=r"unknown category 'hat'; expected one of \["):
        render_product("hat", "red", "plain", np.random.default_rng(0), size=32)


# --- dataset folders -------------------------------------------------------------------


def _generic(root: Path, items: str, interactions: str | None = None) -> Path:
    (root / "images").mkdir(parents=True)
    for name in ("1", "007"):
        (root / "images" / f"{name}.jpg").write_bytes(b"not decoded here")
    (root / "items.csv").write_text(items)
    if interactions is not None:
        (root / "interactions.csv").write_text(interactions)
    return root


def test_item_ids_spelt_two_ways_in_the_interactions_are_noted(tmp_path: Path) -> None:
    # killed mutant: the demo's loader dropping what `visrec` says of "7" and "007"
    from visrec.demo.datasets import load_demo_dataset

    inter = "user_id,item_id,rating\nu,007,4\nu,7,3\n"
    ds = load_demo_dataset(_generic(tmp_path / "g", "item_id,category\n1,a\n007,b\n", inter))
    assert ds.interactions is not None
    assert ds.interactions.item_id.tolist() == ["007", "7"]
    assert any(
        n.startswith("interactions.csv: 1 item id spelt in more than one way ('007', '7')")
        for n in ds.notes
    ), ds.notes


@pytest.mark.parametrize(
    ("ratings", "has"), [([float("nan"), 4.0], True), ([float("nan")] * 2, False)]
)
def test_some_rating_is_enough_to_have_ratings(
    tmp_path: Path, ratings: list[float], has: bool
) -> None:
    # killed mutant: every row needing a rating (notna().all())
    from visrec.demo.datasets import DemoDataset

    frame = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["1", "1"], "rating": ratings})
    ds = DemoDataset("d", "generic", tmp_path, {}, {}, "category", interactions=frame)
    assert ds.has_ratings is has


# --- the result: results.json and the printed summary -----------------------------------


def _result(tmp_path: Path, **kw: Any) -> DemoResult:
    fields: dict[str, Any] = {
        "dataset": "shop",
        "layout": "generic",
        "n_items": 7,
        "n_embedded": 5,
        "failures": [("i3", tmp_path / "i3.jpg", "cannot identify image"), ("i4", "x", "empty")],
        "n_interactions": 42,
        "cluster": None,
        "cluster_note": "fewer than 2 categories",
        "knn": None,
        "knn_note": "no ratings in this dataset",
        "recommenders": None,
        "recommenders_note": "skipped: the evaluation runner is not available (no torch)",
        "vectors_path": tmp_path / "v.parquet",
        "report_path": tmp_path / "r.html",
        "results_path": tmp_path / "results.json",
        "label_name": "masterCategory",
    }
    fields.update(kw)
    return DemoResult(**fields)


def test_results_json_counts_and_names_the_failed_images(tmp_path: Path) -> None:
    # killed mutants: n_failures 0, failures [], n_interactions the item count
    got = json.loads(json.dumps(_result(tmp_path).to_dict()))
    assert (got["n_items"], got["n_embedded"], got["n_interactions"]) == (7, 5, 42)
    assert got["n_failures"] == 2
    assert got["failures"] == [
        ["i3", str(tmp_path / "i3.jpg"), "cannot identify image"],
        ["i4", "x", "empty"],
    ]


def test_an_undefined_auc_is_null_in_results_json(tmp_path: Path) -> None:
    # killed mutant: NaN kept (json.dumps writes NaN, which no JSON reader takes)
    table = pd.DataFrame(
        {"protocol": ["warm"], "AUC": [float("nan")], "Recall@10": [1.0],
         "NDCG@10": [1.0], "fit s": [0.5]},
        index=pd.Index(["bpr"], name="model"),
    )  # fmt: skip
    text = json.dumps(_result(tmp_path, recommenders=table).to_dict(), allow_nan=False)
    (row,) = json.loads(text)["recommenders"]
    assert row["auc"] is None and row["recall"] == 1.0


def test_the_summary_names_the_datasets_own_category_and_why_a_section_was_skipped(
    tmp_path: Path,
) -> None:
    # killed mutants: the header always "clusters vs category"; the comparison's reason
    # for being skipped not printed when there is no table
    text = _result(tmp_path).format()
    lines = text.splitlines()
    assert lines[0] == "== clusters vs masterCategory =="
    assert lines[1] == "skipped: fewer than 2 categories"
    assert "skipped: no ratings in this dataset" in lines
    assert lines[-2:] == [
        "== recommenders: popularity vs BPR vs VBPR vs visual-cf ==",
        "skipped: the evaluation runner is not available (no torch)",
    ]


# --- the recommender comparison ----------------------------------------------------------


@pytest.mark.parametrize("progress", [True, False])
def test_the_comparison_passes_its_progress_bars_and_records_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, progress: bool
) -> None:
    # killed mutant: progress=False always (160 s on ML-100K went by in silence)
    import visrec.evaluation.runner as runner
    from visrec.demo.recommenders import _compare_recommenders, record_paths

    calls: list[dict[str, Any]] = []

    def run_experiment(data: Any, iv: Any, protocol: str, **kw: Any) -> Any:
        calls.append({"protocol": protocol, **kw})
        models = list(kw["models"])
        runs = pd.DataFrame({"model": models, "auc": 0.6, "recall": 0.3, "ndcg": 0.2,
                             "fit_s": 1.0})  # fmt: skip
        return SimpleNamespace(runs=runs, info={"0": {"n_candidates": 40}})

    monkeypatch.setattr(runner, "run_experiment", run_experiment)
    records = record_paths(tmp_path)
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["i"]})
    table, _ = _compare_recommenders(frame, None, 3, progress, records=records, tell=print)
    assert table is not None and len(table) == 8
    assert [c["progress"] for c in calls] == [progress, progress]
    assert [c["resume"] for c in calls] == records
    assert [c["note"] for c in calls] == [print, print]
    assert records == [
        tmp_path / ".recommenders-warm.partial.jsonl",
        tmp_path / ".recommenders-cold-items.partial.jsonl",
    ]


# --- the pipeline's pure helpers ---------------------------------------------------------


def _data(tmp_path: Path, inter: pd.DataFrame | None, n_inter_all: int) -> Any:
    from visrec.demo.datasets import DemoDataset
    from visrec.demo.pipeline import _DemoData

    labels = {"a": "red", "b": "red", "c": "blue", "d": "green"}
    ds = DemoDataset("shop", "generic", tmp_path, {}, labels, "colour", interactions=inter)
    images = {i: tmp_path / f"{i}.jpg" for i in ("a", "b", "c")}  # "d": not sampled
    return _DemoData(ds, "generic", images, inter, ["n1"], n_inter_all, 0, 0.0)


def test_the_reports_dataset_table_counts_the_sample(tmp_path: Path) -> None:
    # killed mutants: images embedded = image files; label values of every item, not of
    # the sample's; users counted by item id
    from visrec.demo.pipeline import _summary

    inter = pd.DataFrame(
        {"user_id": ["u", "w", "v"], "item_id": ["a", "b", "a"], "rating": [5.0, 4.0, 5.0]}
    )
    iv = SimpleNamespace(has_image=np.array([True, False, True]), meta={}, dim=8)
    summary = _summary(_data(tmp_path, inter, 3), iv, [("b", "b.jpg", "broken")], "bb")
    assert summary["items with an image file"] == 3
    assert summary["images embedded"] == 2
    assert summary["images that could not be used"] == 1
    assert summary["colour values"] == 2  # red and blue; green is outside the sample
    assert (summary["users"], summary["items rated"]) == (3, 2)
    assert summary["rating histogram"] == "4: 1 (33%), 5: 2 (67%)"


@pytest.mark.parametrize(
    ("n_rows", "n_all", "said"),
    [
        (0, 5, "skipped: no interactions of the --max-items sample"),
        (0, 0, "skipped: no interactions in this dataset"),
        (2, 2, "compared."),
        (2, 5, "compared. On the 2 interaction rows of the 3 sampled items (--max-items)."),
    ],
)
def test_the_comparisons_note_says_whether_the_sample_cut_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n_rows: int, n_all: int, said: str
) -> None:
    # killed mutants: the sample's line added without a sample; the two "no
    # interactions" reasons swapped
    import visrec.demo.pipeline as pipeline

    table = pd.DataFrame({"protocol": ["warm"], "AUC": [0.5]}, index=["popularity"])
    monkeypatch.setattr(pipeline, "_compare_recommenders", lambda *a, **kw: (table, "compared."))
    inter = pd.DataFrame({"user_id": ["u"] * n_rows, "item_id": ["a", "b"][:n_rows]})
    got, note = pipeline._recommenders(
        _data(tmp_path, inter, n_all), None, on=True, turned_off=False, random_state=0,
        say=lambda _line: None,
    )  # fmt: skip
    assert note == said
    assert (got is table) is (n_rows > 0)


def test_the_result_counts_the_vectors_not_the_image_files(tmp_path: Path) -> None:
    # killed mutant: n_embedded = the sample's image files (a broken picture counted)
    from visrec.demo.pipeline import _demo_result

    sections = SimpleNamespace(
        iv=SimpleNamespace(has_image=np.array([True, False, True])),
        failures=[("b", "b.jpg", "broken")],
        clusters=SimpleNamespace(cluster=None, note="n"),
        knn=None, knn_note=None, rec_table=None, rec_note="r",
        vectors_path=tmp_path / "v", timings={},
    )  # fmt: skip
    data = _data(tmp_path, None, 0)
    res = _demo_result(data, sections, report=tmp_path / "r", results_path=tmp_path / "j")  # type: ignore[arg-type]
    assert (res.n_items, res.n_embedded, res.n_interactions) == (3, 2, 0)
    assert (res.layout, res.label_name, res.notes) == ("generic", "colour", ["n1"])
