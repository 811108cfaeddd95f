"""visrec demo (session 52): what results.json and the printed summary hold, the
dataset layouts' notes, and what the command passes on to the pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from visrec.demo.datasets import load_demo_dataset
from visrec.demo.result import DemoResult


def _table() -> pd.DataFrame:
    """A recommenders table as ``_compare_recommenders`` makes it: every figure distinct."""
    table = pd.DataFrame(
        {
            "protocol": ["warm", "cold-items"],
            "AUC": [0.81, 0.5],
            "Recall@10": [0.32, 0.07],
            "NDCG@10": [0.21, 0.04],
            "fit s": [1.25, 0.4],
        },
        index=pd.Index(["vbpr", "bpr"], name="model"),
    )
    return table


def _result(tmp_path: Path, caveat: str | None = None, **kw: Any) -> DemoResult:
    """A result with every section's fields set (stand-ins for the KNN's result)."""
    knn = SimpleNamespace(
        to_dict=lambda: {"accuracy": 0.5},
        format=lambda: "KNN TABLE",
        same_item_caveat=lambda: caveat,
    )
    fields: dict[str, Any] = {
        "dataset": "d",
        "layout": "generic",
        "n_items": 3,
        "n_embedded": 3,
        "failures": [],
        "n_interactions": 9,
        "cluster": None,
        "cluster_note": "every item left to cluster has the category 'a'",
        "knn": knn,
        "knn_note": "2 of 9 rating rows left out: their item has no usable image",
        "recommenders": _table(),
        "recommenders_note": "Top-10 recommendation",
        "vectors_path": tmp_path / "vectors.parquet",
        "report_path": tmp_path / "report.html",
        "results_path": tmp_path / "results.json",
        "timings": {"embed images": 1.234},
        "notes": ["items.csv: 1 row dropped"],
    }
    fields.update(kw)
    return DemoResult(**fields)


def test_results_json_names_each_recommender_figure_by_its_own_metric(tmp_path: Path) -> None:
    rows = _result(tmp_path).to_dict()["recommenders"]
    assert rows[0] == {
        "model": "vbpr", "protocol": "warm", "auc": 0.81, "recall": 0.32, "ndcg": 0.21,
        "fit_s": 1.25, "k": 10,
    }  # fmt: skip
    assert [r["model"] for r in rows] == ["vbpr", "bpr"]


def test_results_json_keeps_the_rating_knn_note_and_the_loader_notes(tmp_path: Path) -> None:
    got = json.loads(json.dumps(_result(tmp_path).to_dict()))
    assert got["knn_note"] == "2 of 9 rating rows left out: their item has no usable image"
    assert got["notes"] == ["items.csv: 1 row dropped"]
    assert got["vectors"] == str(tmp_path / "vectors.parquet")
    assert got["timings"] == {"embed images": 1.23}


def _folder(root: Path, images: str, files: dict[str, str]) -> Path:
    (root / images).mkdir(parents=True)
    (root / images / "1.jpg").write_bytes(b"not decoded here")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_u_data_without_posters_is_said_to_lack_them_not_to_come_second(
    tmp_path: Path,
) -> None:
    # it said "u.data is not read: ... (styles.csv is looked for first)": u.data is looked
    # for first; the MovieLens layout was not taken as there is no posters/ folder
    files = {"u.data": "5\t1\t4\t9\n", "styles.csv": "id,masterCategory\n1,Apparel\n"}
    ds = load_demo_dataset(_folder(tmp_path / "f", "images", files))
    assert ds.layout == "fashion" and ds.interactions is None
    assert ds.notes == [
        "u.data is not read: the folder is read in the fashion layout (the movielens "
        "layout also needs a posters/ folder)"
    ]


def test_a_later_layouts_file_is_said_to_come_second(tmp_path: Path) -> None:
    files = {"u.data": "5\t1\t4\t9\n", "items.csv": "item_id,category\n1,a\n"}
    ds = load_demo_dataset(_folder(tmp_path / "m", "posters", files))
    assert ds.layout == "movielens" and ds.labels == {}
    assert ds.notes == [
        "items.csv is not read: the folder is read in the movielens layout (u.data is "
        "looked for first)"
    ]


def _pipeline_kwargs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *options: str) -> Any:
    """The keyword arguments ``visrec demo OPTIONS`` gives ``run_demo`` (stopped there)."""
    import visrec.demo.pipeline as pipeline
    from visrec.cli import main

    seen: list[dict[str, Any]] = []

    def stop(*a: Any, **kw: Any) -> Any:
        seen.append(kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_demo", stop)
    argv = ["demo", *options, "--out", str(tmp_path / "out"), "--report", str(tmp_path / "r.html")]
    assert main([*argv, "-q"]) == 130
    (kw,) = seen
    return kw


def test_the_demo_passes_its_options_on_to_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kw = _pipeline_kwargs(monkeypatch, tmp_path)
    # --help: --knn-k default 3, --seed default 0, --recommenders by the data's kind
    assert (kw["knn_k"], kw["random_state"], kw["recommenders"]) == (3, 0, None)
    assert kw["resume"] is True
    kw = _pipeline_kwargs(
        monkeypatch, tmp_path, "--seed", "7", "--knn-k", "5", "--no-recommenders", "--no-resume"
    )
    assert (kw["knn_k"], kw["random_state"], kw["recommenders"]) == (5, 7, False)
    assert kw["resume"] is False
    assert _pipeline_kwargs(monkeypatch, tmp_path, "--recommenders")["recommenders"] is True


def test_the_printed_summary_gives_figures_to_three_places_and_seconds_to_one(
    tmp_path: Path,
) -> None:
    table = _table()
    table.loc["bpr", "AUC"] = float("nan")
    text = _result(tmp_path, recommenders=table).format()
    lines = text.split("== recommenders")[1].splitlines()
    assert lines[2].split() == ["vbpr", "warm", "0.810", "0.320", "0.210", "1.2"]
    assert lines[3].split() == ["bpr", "cold-items", "n/a", "0.070", "0.040", "0.4"]
    assert lines[4] == "Top-10 recommendation"


def test_the_printed_summary_says_why_a_section_was_skipped_and_the_knns_caveat(
    tmp_path: Path,
) -> None:
    res = _result(tmp_path, caveat="90.0% of the test rows share a vector")
    text = res.format()
    assert "skipped: every item left to cluster has the category 'a'" in text
    assert "note: 90.0% of the test rows share a vector" in text
    assert res.section_notes() == [
        "note: 90.0% of the test rows share a vector",
        "note: 2 of 9 rating rows left out: their item has no usable image",
    ]
    assert "note: 90.0%" not in res.format(notes=False)


def _fake_runner(
    monkeypatch: pytest.MonkeyPatch, candidates: dict[str, int], auc: dict[str, list[float]]
) -> list[dict[str, Any]]:
    """``run_experiment`` as the comparison calls it, answering at once: per protocol, the
    candidates per test user and one AUC per model (recall, NDCG and seconds derived)."""
    import visrec.evaluation.runner as runner
    from visrec.errors import VisrecError

    calls: list[dict[str, Any]] = []

    def run_experiment(data: Any, iv: Any, protocol: str, **kw: Any) -> Any:
        calls.append({"protocol": protocol, **kw})
        if protocol not in candidates:
            raise VisrecError(f"{protocol} split: too few items")
        models = list(kw["models"])
        a = auc[protocol]
        runs = pd.DataFrame(
            {"model": models, "auc": a, "recall": [x / 2 for x in a],
             "ndcg": [x / 4 for x in a], "fit_s": [10.0 + i for i in range(len(models))]}
        )  # fmt: skip
        info = {"s": {"n_candidates": candidates[protocol]}}
        return SimpleNamespace(runs=runs, info=info)

    monkeypatch.setattr(runner, "run_experiment", run_experiment)
    return calls


def test_the_comparison_passes_its_seed_models_and_k_and_keeps_each_metric(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.demo.recommenders import _compare_recommenders

    auc = {"warm": [0.6, 0.7, 0.8, 0.9], "cold-items": [0.5, 0.5, 0.62, 0.64]}
    calls = _fake_runner(monkeypatch, {"warm": 50, "cold-items": 20}, auc)
    table, note = _compare_recommenders(pd.DataFrame({"user_id": [], "item_id": []}), None, 7)
    assert [(c["protocol"], c["seeds"], c["k"]) for c in calls] == [
        ("warm", (7,), 10), ("cold-items", (7,), 10)
    ]  # fmt: skip
    assert calls[0]["models"] == ("popularity", "bpr", "vbpr", "visual-cf")
    assert table is not None and "Note:" not in note
    row = table[table.protocol == "cold-items"].loc["visual-cf"]
    assert row.tolist() == ["cold-items", 0.64, 0.32, 0.16, 13.0]


@pytest.mark.parametrize(
    ("warm", "said"),
    [
        # a warm test user's training item is no candidate: 11 items leave 10
        (11, "warm: 10 candidates per test user at most, <= 10: Recall@10 is 1 for any "
             "ranking; compare AUC and NDCG@10"),
        (12, None),
    ],
)  # fmt: skip
def test_the_comparison_says_when_the_top_10_holds_every_candidate(
    monkeypatch: pytest.MonkeyPatch, warm: int, said: str | None
) -> None:
    from visrec.demo.recommenders import _compare_recommenders

    auc = {"warm": [0.6, 0.7, 0.8, 0.9], "cold-items": [0.5, 0.5, 0.62, 0.64]}
    _fake_runner(monkeypatch, {"warm": warm, "cold-items": 10}, auc)
    _, note = _compare_recommenders(pd.DataFrame({"user_id": [], "item_id": []}), None, 0)
    cold = (
        "cold-items: 10 candidates per test user at most, <= 10: Recall@10 is 1 for any "
        "ranking; compare AUC and NDCG@10"
    )
    assert note.split(" Note: ")[1] == "; ".join(c for c in (said, cold) if c) + "."


def test_the_comparison_says_which_aucs_are_undefined_and_keeps_a_protocol_that_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.demo.recommenders import _compare_recommenders

    nan = float("nan")
    _fake_runner(monkeypatch, {"warm": 50}, {"warm": [nan, 0.7, 0.8, 0.9]})
    table, note = _compare_recommenders(pd.DataFrame({"user_id": [], "item_id": []}), None, 0)
    assert table is not None and list(table.protocol) == ["warm"] * 4
    assert "warm: AUC n/a: no test user has a candidate" in note
    assert "every candidate of every test user" not in note
    assert "cold-items: skipped, the protocol failed (cold-items split: too few items)" in note


@pytest.mark.parametrize(
    ("recommenders", "data_dir", "said"),
    [
        (False, None, "not run (--no-recommenders)"),
        (False, "d", "not run (--no-recommenders)"),
        (None, "d", "not run (on by default for the generated catalogue; --recommenders runs "
                    "them here)"),
    ],
)  # fmt: skip
def test_a_demo_told_not_to_compare_recommenders_says_it_was_told(
    recommenders: bool | None, data_dir: str | None, said: str
) -> None:
    from visrec.demo.pipeline import _DemoData, _recommenders
    from visrec.demo.recommenders import _recommenders_wanted

    on, turned_off = _recommenders_wanted(recommenders, data_dir)
    inter = pd.DataFrame({"user_id": ["u"], "item_id": ["i"]})
    data = _DemoData(None, "generic", {}, inter, [], 1, 0, 0.0)  # type: ignore[arg-type]
    table, note = _recommenders(data, None, on=on, turned_off=turned_off, random_state=0,
                                say=lambda _line: None)  # fmt: skip
    assert (table, note) == (None, said)


@pytest.mark.parametrize(("n_missing", "more"), [(5, ""), (6, " and 1 more")])
def test_items_without_an_image_are_named_five_at_most(
    tmp_path: Path, n_missing: int, more: str
) -> None:
    rows = "".join(f"{i},a\n" for i in range(1, n_missing + 2))
    files = {"items.csv": f"item_id,category\n{rows}"}
    ds = load_demo_dataset(_folder(tmp_path / "g", "images", files))
    (note,) = ds.notes
    assert note.startswith(f"{n_missing} items of items.csv have no image in images/")
    assert note.endswith(f"('2', '3', '4', '5', '6'{more})")


def test_a_fashion_folder_reads_a_shops_interactions_and_their_ratings(tmp_path: Path) -> None:
    files = {
        "styles.csv": "id,masterCategory\n1,Apparel\n",
        "interactions.csv": "user_id,item_id,rating\nu1,1,4\nu2,1,5\n",
    }
    ds = load_demo_dataset(_folder(tmp_path / "f", "images", files))
    assert ds.interactions is not None and ds.interactions["user_id"].tolist() == ["u1", "u2"]
    assert ds.has_ratings and ds.notes == []


def test_the_current_folder_is_named_by_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder(tmp_path / "shop", "images", {"items.csv": "item_id,category\n1,a\n"})
    monkeypatch.chdir(tmp_path / "shop")
    assert load_demo_dataset(".").name == "shop"


def test_an_unknown_folder_lists_its_first_twelve_entries(tmp_path: Path) -> None:
    from visrec.errors import VisrecError

    for k in range(15):
        (tmp_path / f"f{k:02d}.txt").write_text("x")
    with pytest.raises(VisrecError, match=r"\(found: f00\.txt, .*, f11\.txt and 3 more\);"):
        load_demo_dataset(tmp_path)
