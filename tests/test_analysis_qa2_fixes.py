"""What a second review of the analysis commands found: a demo stopped by a single
category, NaN in the demo's JSON, legend labels matplotlib hid, outputs naming the
demo's folder, a dataset named "", tie wording in the rating verdict, and vectors
`similar` left out without a word."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from test_demo import _colour_embedder
from visrec.cli import main
from visrec.demo.pipeline import run_demo
from visrec.embed import extract
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report.plots import _text
from visrec.report.rating import rating_verdict


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """embed_images replaced by test_demo's colour stand-in (no model)."""
    calls: list[int] = []
    monkeypatch.setattr(extract, "embed_images", _colour_embedder(calls))
    return calls


def _shop(root: Path, categories: dict[str, int]) -> Path:
    """A generic layout: images/, items.csv (item_id, category), interactions.csv."""
    (root / "images").mkdir(parents=True)
    items, rows = [], []
    k = 0
    for cat, count in categories.items():
        for _ in range(count):
            colour = (k * 37 % 255, k * 91 % 255, k * 13 % 255)
            Image.new("RGB", (16, 16), colour).save(root / "images" / f"i{k}.jpg")
            items.append({"item_id": f"i{k}", "category": cat})
            k += 1
    for u in range(12):
        for j in range(0, k, 2):
            rows.append(
                {"user_id": f"u{u}", "item_id": f"i{(j + u) % k}", "rating": 1 + (j + u) % 5}
            )
    pd.DataFrame(items).to_csv(root / "items.csv", index=False)
    pd.DataFrame(rows).to_csv(root / "interactions.csv", index=False)
    return root


def test_demo_with_one_category_left_skips_clustering_and_goes_on(
    tmp_path: Path,
    stand_in: list[int],
) -> None:
    folder = _shop(tmp_path / "shop", {"A": 30, "B": 1})  # B is under 2%... of 31: 3.2%
    res = run_demo(
        tmp_path / "out", folder, report_path=tmp_path / "r.html", min_label_share=0.05,
        progress=False, echo=None,
    )  # fmt: skip
    assert res.cluster is None
    assert "every item left to cluster has the category 'A', so no clustering" in (
        res.cluster_note or ""
    )
    assert res.knn is not None  # the later steps ran
    assert (tmp_path / "r.html").is_file() and res.results_path.is_file()


def test_demo_metrics_without_negatives_are_null_and_n_a(
    tmp_path: Path,
    stand_in: list[int],
) -> None:
    res = run_demo(
        tmp_path / "out", report_path=tmp_path / "r.html", n_items=12, n_users=6,
        image_size=32, recommenders=True, progress=False, echo=None,
    )  # fmt: skip
    assert res.recommenders is not None and res.recommenders["AUC"].isna().any()
    text = res.results_path.read_text()
    assert "NaN" not in text
    saved = json.loads(text)
    assert any(row["auc"] is None for row in saved["recommenders"])
    note = res.recommenders_note or ""
    for protocol, auc in res.recommenders.groupby("protocol")["AUC"]:
        # a protocol with no AUC at all has nothing to rank: said as such, not as "n/a"
        said = "nothing to rank" if auc.isna().all() else "AUC n/a: no test user has a candidate"
        assert f"{protocol}: {said}" in note
    assert " n/a " in res.format()
    assert '<td class="num">n/a</td>' in (tmp_path / "r.html").read_text()


def test_legend_labels_starting_with_an_underscore_are_kept() -> None:
    from matplotlib.figure import Figure  # no pyplot: the backend stays the host's

    ax = Figure().subplots()
    ax.scatter([0], [0], label=_text("_hidden (3)"))
    ax.scatter([1], [1], label=_text("$5 off"))
    legend = ax.legend()
    assert [t.get_text() for t in legend.get_texts()] == ["\u200b_hidden (3)", r"\$5 off"]


@pytest.mark.parametrize("option", ["--report", "--json"])
def test_demo_output_naming_the_out_folder_fails_before_any_work(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert main(["demo", "--out", str(out), option, str(out), "--quiet"]) == 2
    assert f"error: {option} {out} is the --out folder; name a file" in capsys.readouterr().err
    assert not out.exists()


def test_demo_data_dot_is_named_after_the_folder(
    tmp_path: Path,
    stand_in: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _shop(tmp_path / "my-shop", {"A": 6, "B": 6})
    monkeypatch.chdir(folder)
    res = run_demo(
        tmp_path / "out", ".", report_path=tmp_path / "r.html", progress=False, echo=None
    )
    assert res.dataset == "my-shop"


def test_rating_verdict_on_an_exact_tie_names_no_winner() -> None:
    names = ["majority class", "item mean", "KNN k=3 (image)", "biased MF", "MF + visual"]
    uses = ["baseline", "baseline", "picture", "ratings", "ratings + picture"]
    runs = pd.DataFrame({"model": names, "uses": uses, "seed": 0, "rmse": 0.0})
    lines = rating_verdict(runs, "cold-items")
    assert lines[0] == (
        "Lowest RMSE: majority class, 0.000 stars, tied with item mean, KNN k=3 (image), "
        "biased MF, MF + visual."
    )
    assert lines[1] == (
        "The tutorial's KNN on the picture alone: RMSE 0.000, the same as the best baseline "
        "(majority class)."
    )


def test_similar_names_the_vectors_it_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    vec[2, 1] = np.nan
    path = tmp_path / "v.parquet"
    write_vectors(path, ItemVectors(np.asarray([f"a{i}" for i in range(6)]), vec, np.ones(6, bool)))
    assert main(["similar", str(path), "a0", "--n", "2"]) == 0
    captured = capsys.readouterr()
    assert "5 of 6 items have an image" in captured.out
    assert "1 item whose vector holds NaN or infinite values is left out ('a2')" in captured.err


def test_demo_items_below_the_categories_is_an_option_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["demo", "--items", "2", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        "error: --items must be at least 4 (one item per category of the generated "
        "catalogue), got 2\n"
    )


def test_items_without_an_image_file_are_named(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset

    folder = _shop(tmp_path / "shop", {"A": 3, "B": 3})
    items = pd.read_csv(folder / "items.csv")
    extra = pd.DataFrame({"item_id": ["zz1", "zz2"], "category": ["A", "B"]})
    pd.concat([items, extra]).to_csv(folder / "items.csv", index=False)
    ds = load_demo_dataset(folder)
    assert len(ds.images) == 6
    assert (
        "2 items of items.csv have no image in images/, so they are not embedded, "
        "clustered or used by the rating KNN ('zz1', 'zz2')" in ds.notes
    )


def test_demo_with_data_notes_the_generated_catalogue_options_it_does_not_use(
    tmp_path: Path, stand_in: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _shop(tmp_path / "shop", {"A": 12, "B": 12})
    argv = ["demo", "--data", str(folder), "--report", str(tmp_path / "r.html"), "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "o1"), "--items", "50", "--users", "7"]) == 0
    assert (
        "note: --items, --users shape the generated catalogue, not used with --data; "
        "--max-items N takes a sample of N items of a real dataset"
    ) in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "o2")]) == 0
    assert "generated catalogue" not in capsys.readouterr().err


def test_demo_results_json_says_how_it_was_made_as_the_json_copy_does(
    tmp_path: Path, stand_in: list[int]
) -> None:
    folder = _shop(tmp_path / "shop", {"A": 12, "B": 12})
    copy = tmp_path / "copy.json"
    argv = [
        "demo",
        "--data",
        str(folder),
        "--out",
        str(tmp_path / "o"),
        "--quiet",
        "--report",
        str(tmp_path / "r.html"),
    ]  # not report/index.html in the cwd
    assert main([*argv, "--json", str(copy)]) == 0
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["run"]["command"].startswith("visrec demo --data ")
    assert results == json.loads(copy.read_text())
