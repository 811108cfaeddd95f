"""Session 68 mutation audit of ``visrec.demo.pipeline`` (the ``visrec demo`` pipeline).

Audited: src/visrec/demo/pipeline.py (run_demo's order, what it writes where, the
options and seeds passed down to each step, the progress/note streams, the timings, and
the report's data), beyond test_s62_demo_mutants and test_s66_pipecommon_mutants.

Mutants: 44 written. Killed by the old tests: 15 (12 by a fast selection of test_demo,
test_s51/s52/s52b_demo, test_s62_demo_mutants, test_s62_demo_rating_knn_bounds,
test_s66_pipecommon_mutants, test_session42_mutation_gaps; 3 more, the resume flag
flipped, the records not passed on and ``overwrite=False``, only by test_demo's slow
resume / real-backbone / no-bar tests). Killed after this file: 44. Equivalent: 0.

The 29 survivors this file kills (each checked to fail on its mutant):
- run_demo stood in for (``_spy_steps``): say/tell streams (``elif progress`` flipped,
  ``tell`` ignoring ``note``); the records' folder check skipped; DEMO_MARKER not
  written; the default report under --out; the timings' first key swapped and the
  report's renamed; --recommenders on data without interactions not refused; K-means and
  the comparison given seed 0; knn_k / test_size fixed; resume flag flipped; records
  not passed; results.json not written atomically.
- step 1: make_catalogue's seed / image size fixed, the progress line's counts swapped,
  ds.notes aliased, the dataset line counting every row, the notes sent to ``say``, a
  dataset without images let through.
- step 2: ``overwrite=False``, the backbone fixed, the line without the vectors path.
- step 3: ``k`` dropped, 6 sample pictures per cluster instead of 12.
- report data: title test flipped, the name not through ``shown``, item_labels empty,
  notes numbered from 0, histogram shares of the rated rows only, the backbone the
  option's rather than the vectors'.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.demo import pipeline
from visrec.demo.datasets import DemoDataset
from visrec.demo.recommenders import record_paths
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.report import html as report_html


def _quiet(_line: str) -> None:
    pass


# --- run_demo with its steps stood in for ------------------------------------------------


def _spy_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, n_inter_all: int = 1
) -> dict[str, Any]:
    """Replace the five steps and the report writer by recorders; returns what each got."""
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["a"]})
    ds = DemoDataset("t", "generic", tmp_path, {"a": tmp_path / "a.jpg"}, {}, "category",
                     interactions=frame)  # fmt: skip
    data = pipeline._DemoData(ds, "generic", dict(ds.images), frame, [], n_inter_all, 0, 0.0)
    iv = SimpleNamespace(has_image=np.ones(1, bool), meta={}, dim=4)
    got: dict[str, Any] = {}

    def step(name: str, value: Any) -> Any:
        def run(*a: Any, **kw: Any) -> Any:
            got[name] = (a, kw)
            return value

        return run

    def recommenders(*a: Any, **kw: Any) -> Any:
        got["recommenders"] = (a, kw)
        got["records at step 5"] = [p.exists() for p in record_paths(kw["records"][0].parent)]
        return None, "r"

    monkeypatch.setattr(pipeline, "_load_data", step("load", data))
    monkeypatch.setattr(pipeline, "_embed", step("embed", (iv, [])))
    monkeypatch.setattr(pipeline, "_clusters", step("clusters", pipeline._Clusters(note="c")))
    monkeypatch.setattr(pipeline, "_rating_knn", step("knn", (None, "k")))
    monkeypatch.setattr(pipeline, "_recommenders", recommenders)

    def write_report(path: Any, report: Any) -> None:
        got["report"] = (Path(path), report)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("r")

    monkeypatch.setattr(report_html, "write_report", write_report)
    return got


def test_the_seeds_and_options_reach_their_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # K-means, the comparison given seed 0; knn_k / test_size fixed at 3 / 0.2; the
    # resume records not passed to the comparison
    got = _spy_steps(tmp_path, monkeypatch)
    out = tmp_path / "out"
    pipeline.run_demo(
        out, report_path=tmp_path / "r.html", k=5, knn_k=7, test_size=0.3, random_state=11,
        recommenders=True, progress=False, min_label_share=0.1,
    )  # fmt: skip
    a, _ = got["clusters"]
    assert a[3:6] == (5, 0.1, 11)
    _, kw = got["knn"]
    assert (kw["knn_k"], kw["test_size"]) == (7, 0.3)
    _, kw = got["recommenders"]
    assert kw["random_state"] == 11 and kw["on"] is True
    assert kw["records"] == record_paths(out)
    _, kw = got["load"]
    assert kw["random_state"] == 11


def test_progress_lines_go_to_stderr_only_with_progress_and_notes_to_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `elif progress` flipped; `tell = note or say` made `tell = say`
    got = _spy_steps(tmp_path, monkeypatch)
    told: list[str] = []
    pipeline.run_demo(tmp_path / "o1", report_path=tmp_path / "r.html", progress=True,
                      recommenders=False, note=told.append)  # fmt: skip
    _, kw = got["load"]
    assert kw["say"] is pipeline._to_stderr and kw["tell"] == told.append
    pipeline.run_demo(tmp_path / "o2", report_path=tmp_path / "r.html", progress=False,
                      recommenders=False)  # fmt: skip
    _, kw = got["load"]
    assert kw["say"] is pipeline._silent and kw["tell"] is pipeline._silent


@pytest.mark.parametrize(("data_dir", "key"), [(None, "generate catalogue"), ("d", "load data")])
def test_the_timings_name_only_the_steps_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: str | None, key: str
) -> None:
    # the first key swapped; the rating KNN's / comparison's time kept when skipped;
    # the report's time under another name
    _spy_steps(tmp_path, monkeypatch)
    res = pipeline.run_demo(tmp_path / "out", data_dir, report_path=tmp_path / "r.html",
                            progress=False, recommenders=False)  # fmt: skip
    assert list(res.timings) == [key, "embed images", "cluster", "report"]


def test_the_folder_is_marked_and_the_report_goes_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DEMO_MARKER not written; the default report put under the output folder
    got = _spy_steps(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    res = pipeline.run_demo("out", progress=False, recommenders=False)
    assert (tmp_path / "out" / pipeline.DEMO_MARKER).is_file()
    assert got["report"][0] == Path("report") / "index.html" == res.report_path
    assert (tmp_path / "report" / "index.html").is_file()


def test_results_json_is_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `write_text_atomic(...)` made `results_path.write_text(...)`
    _spy_steps(tmp_path, monkeypatch)
    calls: list[Path] = []
    from visrec._atomic import write_text_atomic as real

    def spy(path: Any, text: str, *a: Any, **kw: Any) -> Any:
        calls.append(Path(path))
        return real(path, text, *a, **kw)

    monkeypatch.setattr(pipeline, "write_text_atomic", spy)
    out = tmp_path / "out"
    res = pipeline.run_demo(out, report_path=tmp_path / "r.html", progress=False,
                            recommenders=False)  # fmt: skip
    assert calls == [out / "results.json"] and res.results_path.is_file()


@pytest.mark.parametrize("resume", [True, False])
def test_earlier_runs_are_kept_for_the_comparison_only_with_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    # `if recommenders_on and not resume` made `and resume`
    got = _spy_steps(tmp_path, monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    for record in record_paths(out):
        record.write_text("{}\n")
    pipeline.run_demo(out, report_path=tmp_path / "r.html", progress=False, recommenders=True,
                      resume=resume)  # fmt: skip
    assert got["records at step 5"] == [resume] * len(record_paths(out))


def test_a_folder_at_a_resume_record_is_refused_before_any_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the check_side_file loop made `if False`
    got = _spy_steps(tmp_path, monkeypatch)
    out = tmp_path / "out"
    record_paths(out)[0].mkdir(parents=True)
    with pytest.raises(VisrecError, match="the recommender runs it finished"):
        pipeline.run_demo(out, report_path=tmp_path / "r.html", progress=False,
                          recommenders=True)  # fmt: skip
    assert got == {}


def test_recommenders_asked_for_on_data_without_interactions_is_refused_before_embedding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if recommenders is True and not data.n_inter_all` made `if False`
    got = _spy_steps(tmp_path, monkeypatch, n_inter_all=0)
    with pytest.raises(VisrecError, match="has no interactions to compare recommenders on"):
        pipeline.run_demo(tmp_path / "out", "d", report_path=tmp_path / "r.html",
                          progress=False, recommenders=True)  # fmt: skip
    assert "load" in got and "embed" not in got


# --- step 1 ------------------------------------------------------------------------------


def test_the_generated_catalogue_is_drawn_as_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make_catalogue given a fixed seed, image size or user count; the progress line's
    # counts swapped; the layout not "generated"
    from visrec.demo import synth

    asked: list[dict[str, Any]] = []
    real = synth.make_catalogue

    def spy(root: Path, **kw: Any) -> Any:
        asked.append(kw)
        return real(root, **kw)

    monkeypatch.setattr(synth, "make_catalogue", spy)
    said: list[str] = []
    data = pipeline._load_data(
        tmp_path, None, n_items=12, n_users=5, image_size=32, max_items=None,
        random_state=7, rng=np.random.default_rng(0), say=said.append, tell=_quiet,
    )  # fmt: skip
    assert asked == [dict(n_items=12, n_users=5, image_size=32, random_state=7)]
    assert said[0] == "generating a catalogue of 12 product images and 5 users ..."
    assert data.layout == "generated" and data.ds.name == "generated catalogue"
    assert len(data.images) == 12


def _stub_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: dict[str, Path], notes: list[str]
) -> DemoDataset:
    items = [f"i{k}" for k in range(10)]
    frame = pd.DataFrame(
        {"user_id": [f"u{k % 3}" for k in range(30)], "item_id": [items[k % 10] for k in range(30)]}
    )
    ds = DemoDataset(name="t", layout="test", root=tmp_path, images=images, labels={},
                     label_name="x", interactions=frame, notes=notes)  # fmt: skip
    monkeypatch.setattr(pipeline, "load_demo_dataset", lambda _: ds)
    return ds


def test_the_sample_says_its_rows_and_leaves_the_dataset_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the notes list shared with the dataset (the sample's note appended to ds.notes);
    # the rows not filtered; the dataset line counting every row; notes sent to `say`
    images = {f"i{k}": tmp_path / f"i{k}.jpg" for k in range(10)}
    ds = _stub_dataset(tmp_path, monkeypatch, images, ["loader note"])
    said: list[str] = []
    told: list[str] = []
    data = pipeline._load_data(
        tmp_path, "data", n_items=0, n_users=0, image_size=32, max_items=4, random_state=0,
        rng=np.random.default_rng(0), say=said.append, tell=told.append,
    )  # fmt: skip
    assert ds.notes == ["loader note"]
    assert len(data.images) == 4 and data.interactions is not None
    assert len(data.interactions) == 12 and set(data.interactions["item_id"]) == set(data.images)
    assert data.notes[1] == (
        "random sample of 4 of 10 items (--max-items); 12 of 30 interaction rows are of "
        "sampled items and only those are used"
    )
    assert said == ["dataset: t (4 item images, 12 interaction rows)"]
    assert told == [f"note: {n}" for n in data.notes] and data.n_inter_all == 30


def test_a_dataset_without_images_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if not ds.images` made `if ds.images is None`
    _stub_dataset(tmp_path, monkeypatch, {}, [])
    with pytest.raises(VisrecError, match="no images found, so there is nothing to embed"):
        pipeline._load_data(
            tmp_path, "data", n_items=0, n_users=0, image_size=32, max_items=None,
            random_state=0, rng=np.random.default_rng(0), say=_quiet, tell=_quiet,
        )  # fmt: skip


# --- step 2 ------------------------------------------------------------------------------


def test_the_embedding_gets_the_backbone_and_replaces_a_damaged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `overwrite=True` made False; the backbone not passed on; the line without the path
    from visrec.embed import extract

    asked: list[dict[str, Any]] = []

    def fake(items: Any, output: Any, **kw: Any) -> Any:
        asked.append(dict(kw, output=output))
        return SimpleNamespace(vectors="V", failures=[], notes=[])

    monkeypatch.setattr(extract, "embed_images", fake)
    said: list[str] = []
    out = tmp_path / "v.parquet"
    pipeline._embed(
        {"a": tmp_path / "a.jpg"}, out, backbone="resnet50", engine="torch", batch_size=8,
        workers=2, progress=False, say=said.append, tell=_quiet,
    )  # fmt: skip
    want = {"backbone": "resnet50", "engine": "torch", "batch_size": 8, "workers": 2}
    assert asked == [dict(want, output=out, progress=False, overwrite=True)]
    assert said == [f"embedding 1 images with resnet50 -> {out} ..."]


# --- step 3 ------------------------------------------------------------------------------


def test_k_means_gets_the_asked_k_and_each_cluster_shows_up_to_twelve(tmp_path: Path) -> None:
    # `k=k` made `k=None`; 12 samples per cluster made 6
    n = 40
    ids = np.array([f"i{j}" for j in range(n)])
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 0.1, (20, 4)), rng.normal(5, 0.1, (20, 4))])
    iv = ItemVectors(ids, x.astype(np.float32), np.ones(n, bool))
    labels = {str(i): "AB"[j // 20] for j, i in enumerate(ids)}
    ds = DemoDataset(name="t", layout="test", root=tmp_path, images={}, labels=labels,
                     label_name="category")  # fmt: skip
    images = {str(i): tmp_path / f"{i}.jpg" for i in ids}
    got = pipeline._clusters(ds, iv, images, 3, 0.0, 0, np.random.default_rng(0), _quiet)
    assert got.cluster is not None and got.cluster.k == 3
    sizes = np.bincount(got.cluster.assignments, minlength=3)
    assert sorted(len(v) for v in got.samples.values()) == sorted(min(12, s) for s in sizes)
    assert max(len(v) for v in got.samples.values()) == 12


# --- the report's data -------------------------------------------------------------------


def test_the_report_data_names_the_dataset_safely_and_keeps_its_labels(tmp_path: Path) -> None:
    # the title's test flipped; the name not through `shown`; item_labels left empty;
    # the notes numbered from 0; the backbone the option's, not the vectors'
    from test_s62_demo_mutants import _data

    inter = pd.DataFrame(
        {"user_id": ["u", "w", "v"], "item_id": ["a", "b", "a"], "rating": [5.0, None, 5.0]}
    )
    data = _data(tmp_path, inter, 3)
    data.ds.name = "shop\u202e"
    data.notes = ["n1", "n2"]
    iv = SimpleNamespace(has_image=np.ones(3, bool), meta={"backbone": "clip"}, dim=8)
    sections = pipeline._Sections(
        vectors_path=tmp_path / "v", iv=iv, failures=[], clusters=pipeline._Clusters(),
        knn=None, knn_note="k", rec_table=None, rec_note="r", timings={"cluster": 1.0},
    )  # fmt: skip
    got = pipeline._report_data(data, sections, "efficientnet-lite0")
    assert got.title == "visrec report: 'shop\\u202e'" and got.dataset == "'shop\\u202e'"
    assert got.item_labels == data.ds.labels and got.item_labels
    assert (got.knn_note, got.recommenders_note, got.timings) == ("k", "r", {"cluster": 1.0})
    assert got.summary["backbone"] == "clip"
    assert (got.summary["note 1"], got.summary["note 2"]) == ("n1", "n2")
    assert "note 0" not in got.summary
    # the histogram's shares are of every interaction row, the unrated one included
    assert got.summary["rating histogram"] == "5: 2 (67%)"
    data.layout = "generated"
    assert pipeline._report_data(data, sections, "b").title == "visrec demo report"
