"""Mutation audit (session 66) of ``visrec.commands._common`` (argument checks, error
wording, the interactions loader's notes) and ``visrec.demo.pipeline`` (the demo's
steps), run against the fast tests that call them directly (test_s64_common_mutants,
test_commands_common, test_cli_parsing, test_shared_wording, test_session39_mutation_gaps;
test_s62_demo_mutants, test_session42_mutation_gaps, test_s62_demo_rating_knn_bounds).

Mutants: 43 in all (26 in _common, 17 in pipeline); 26 killed before (a lower bound:
the slow whole-demo and other CLI tests were not run against them), 42 after this file,
1 equivalent:

- ``has.any() and not has.all() and respelt_note`` -> ``has.any() and respelt_note``:
  with every id having a vector, ``ids[~has]`` is empty, ``respelt`` finds nothing and
  ``respelt_hint`` is "", so no note is made either way.

Each test below names the one-line change it fails on.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_session42_mutation_gaps import load_stub_data
from visrec.commands import _common
from visrec.demo import pipeline
from visrec.demo.datasets import DemoDataset
from visrec.demo.recommenders import record_paths
from visrec.errors import VisrecError
from visrec.report import html as report_html


def _quiet(_line: str) -> None:
    pass


# --- _common: argument types and layout --------------------------------------------------


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_min_rating_must_be_a_finite_number(text: str) -> None:
    # `if not math.isfinite(value)` made `if False`: nan kept no row without a word
    with pytest.raises(argparse.ArgumentTypeError, match="finite"):
        _common.finite_number(text)
    assert _common.finite_number("3.5") == 3.5


@pytest.mark.parametrize(("sep", "want"), [("\\t", "\t"), ("tab", "\t"), (";", ";"), (None, None)])
def test_layout_args_spell_tab_and_pass_the_time_column(sep: str | None, want: str | None) -> None:
    # the `{"\\t": "\t", "tab": "\t"}` lookup dropped; `timestamp_col` made None
    args = argparse.Namespace(sep=sep, user_col="u", item_col="i", rating_col="r", time_col="t")
    got = _common.layout_args(args)
    assert got == {
        "sep": want,
        "user_col": "u",
        "item_col": "i",
        "rating_col": "r",
        "timestamp_col": "t",
    }
    assert _common.layout_args(argparse.Namespace())["timestamp_col"] is None


# --- _common: a named column this load does not read ------------------------------------


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "shop.csv"
    path.write_text("customer,sku,stars\nu1,a,5\nu2,b,4\n")
    return path


def test_a_misspelt_unread_rating_column_is_still_an_error(tmp_path: Path) -> None:
    # `if loaded.columns and column_key(col) not in ...` made `if False`: a typo in
    # --rating-col passed silently where the rating is not read
    lines: list[str] = []
    with pytest.raises(VisrecError, match=r"no column 'starz' \(--rating-col; columns: "):
        _common.load_interactions_frame(
            _csv(tmp_path), ids_only=True, rating_col="starz", log=lines.append,
            user_col="customer", item_col="sku",
        )  # fmt: skip


def test_an_unread_column_named_on_the_command_line_is_said_once(tmp_path: Path) -> None:
    # `if c not in named` dropped: the column was also listed as "not read" as if unnamed
    # ("qty", unlike "stars", is no rating alias: the loader lists it as unread)
    path = tmp_path / "shop.csv"
    path.write_text("customer,sku,qty,when_x\nu1,a,5,1\nu2,b,4,2\n")
    lines: list[str] = []
    frame = _common.load_interactions_frame(
        path, ids_only=True, rating_col="qty", log=lines.append,
        user_col="customer", item_col="sku",
    )  # fmt: skip
    assert len(frame) == 2
    assert lines[0] == "note: --rating-col qty is not read here (only with --min-rating)"
    unread = [line for line in lines if "not read:" in line]
    assert len(unread) == 1 and "column 'when_x' not read" in unread[0], lines


# --- pipeline: step 1 --------------------------------------------------------------------


def test_max_items_equal_to_the_item_count_samples_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `max_items < len(images)` made `<=`: a "random sample of 4 of 4 items" note
    items = [f"i{k}" for k in range(4)]
    frame = pd.DataFrame({"user_id": ["u"] * 4, "item_id": items, "rating": [1.0] * 4})
    data = load_stub_data(tmp_path, monkeypatch, frame, items, max_items=4)
    assert data.notes == [] and sorted(data.images) == items


# --- pipeline: step 2 --------------------------------------------------------------------


def _fake_embed(monkeypatch: pytest.MonkeyPatch, n_failures: int, notes: list[str]) -> None:
    from visrec.embed import extract

    fails = [(f"i{k}", f"/p/i{k}.jpg", "broken") for k in range(n_failures)]
    monkeypatch.setattr(
        extract,
        "embed_images",
        lambda *a, **kw: SimpleNamespace(vectors="V", failures=fails, notes=notes),
    )


@pytest.mark.parametrize("progress", [True, False])
def test_embedding_notes_go_to_tell_only_without_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, progress: bool
) -> None:
    # `if not progress` made `if progress`: the notes were said twice or never
    _fake_embed(monkeypatch, 0, ["recomputing"])
    told: list[str] = []
    iv, failures = pipeline._embed(
        {}, tmp_path / "v.parquet", backbone="b", engine="auto", batch_size=None,
        workers=None, progress=progress, say=_quiet, tell=told.append,
    )  # fmt: skip
    assert iv == "V" and failures == []
    assert told == ([] if progress else ["note: recomputing"])


@pytest.mark.parametrize(("n", "listed", "more"), [(10, 10, False), (11, 10, True)])
def test_ten_failed_images_are_listed_and_the_rest_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int, listed: int, more: bool
) -> None:
    # `len(failures) > 10` made `>=`; `failures[:10]` made `[:11]`
    _fake_embed(monkeypatch, n, [])
    told: list[str] = []
    _, failures = pipeline._embed(
        {}, tmp_path / "v.parquet", backbone="b", engine="auto", batch_size=None,
        workers=None, progress=True, say=_quiet, tell=told.append,
    )  # fmt: skip
    assert len(failures) == n
    assert told[0] == f"{n} images could not be used (zero vector, has_image=false):"
    assert sum(line.startswith("  i") for line in told) == listed
    tail = [line for line in told if line.startswith("  ... and")]
    assert tail == (["  ... and 1 more (all listed in results.json)"] if more else [])


# --- pipeline: step 3 --------------------------------------------------------------------


def _cluster(tmp_path: Path, labels: dict[str, str], n: int) -> Any:
    from visrec.embed.store import ItemVectors

    ids = np.array([f"i{k}" for k in range(n)])
    iv = ItemVectors(ids, np.random.default_rng(1).normal(size=(n, 4)).astype(np.float32),
                     np.ones(n, bool))  # fmt: skip
    ds = DemoDataset(name="t", layout="test", root=tmp_path, images={}, labels=labels,
                     label_name="category")  # fmt: skip
    images = {i: tmp_path / f"{i}.jpg" for i in ids}
    return pipeline._clusters(ds, iv, images, None, 0.0, 0, np.random.default_rng(0), _quiet)


def test_one_labelled_item_is_too_few_to_cluster(tmp_path: Path) -> None:
    # `use.sum() < 2` made `< 1`: it went on to the one-label message instead
    got = _cluster(tmp_path, {"i0": "A"}, 3)
    assert got.cluster is None
    assert got.note == "2 embedded items have no category; too few items"


def test_one_label_left_is_no_clustering(tmp_path: Path) -> None:
    # `len(left) < 2` made `< 1`: K-means against a single label
    got = _cluster(tmp_path, {f"i{k}": "A" for k in range(5)}, 5)
    assert got.cluster is None
    assert got.note is not None and "every item left to cluster has the category 'A'" in got.note


def test_embedded_items_without_a_label_are_counted(tmp_path: Path) -> None:
    # `if (~labelled).sum()` made `if False`: the unlabelled items went unsaid
    labels = {f"i{k}": "AB"[k % 2] for k in range(8)}
    got = _cluster(tmp_path, labels, 10)
    assert got.cluster is not None
    assert got.note == "2 embedded items have no category"


# --- pipeline: step 4 --------------------------------------------------------------------


def test_exactly_max_classes_rating_levels_still_run_knn(tmp_path: Path) -> None:
    # `n_levels > MAX_CLASSES` made `>=`: 20 star levels were called scores
    from visrec.analysis.rating_knn import MAX_CLASSES

    n = MAX_CLASSES * 3
    items = [f"i{k}" for k in range(n)]
    frame = pd.DataFrame(
        {
            "user_id": [f"u{k}" for k in range(n)],
            "item_id": items,
            "rating": [float(k % MAX_CLASSES) for k in range(n)],
        }
    )
    from visrec.embed.store import ItemVectors

    iv = ItemVectors(np.array(items), np.random.default_rng(2).normal(size=(n, 4)).astype(
        np.float32), np.ones(n, bool))  # fmt: skip
    ds = DemoDataset("d", "generic", tmp_path, {}, {}, "category", interactions=frame)
    knn, note = pipeline._rating_knn(ds, frame, iv, 0, knn_k=3, test_size=0.2, say=_quiet)
    assert note is None and knn is not None


# --- pipeline: the report's numbers ------------------------------------------------------


@pytest.mark.parametrize(("v", "want"), [(4.0, "4"), (3.5, "3.5"), (1000000.0, "1000000")])
def test_rating_values_are_printed_whole_or_short(v: float, want: str) -> None:
    # the two branches of `_num` swapped
    assert pipeline._num(v) == want


# --- pipeline: run_demo's end ------------------------------------------------------------


def _stub_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["a"]})
    ds = DemoDataset("t", "generic", tmp_path, {"a": tmp_path / "a.jpg"}, {}, "category",
                     interactions=frame)  # fmt: skip
    data = pipeline._DemoData(ds, "generic", dict(ds.images), frame, [], 1, 0, 0.0)
    iv = SimpleNamespace(has_image=np.ones(1, bool), meta={}, dim=4)
    monkeypatch.setattr(pipeline, "_load_data", lambda *a, **kw: data)
    monkeypatch.setattr(pipeline, "_embed", lambda *a, **kw: (iv, []))
    monkeypatch.setattr(pipeline, "_clusters", lambda *a, **kw: pipeline._Clusters(note="c"))
    monkeypatch.setattr(pipeline, "_rating_knn", lambda *a, **kw: (None, "k"))
    monkeypatch.setattr(pipeline, "_recommenders", lambda *a, **kw: (None, "r"))


def test_the_resume_records_are_dropped_once_the_results_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if recommenders_on: drop_records(out)` at the end made `if False`
    _stub_steps(tmp_path, monkeypatch)
    monkeypatch.setattr(report_html, "write_report", lambda path, data: Path(path).write_text("r"))
    out = tmp_path / "out"
    out.mkdir()
    records = record_paths(out)
    for record in records:
        record.write_text("{}\n")
    result = pipeline.run_demo(
        out, report_path=tmp_path / "r.html", recommenders=True, progress=False
    )
    assert result.results_path.is_file()
    assert not any(record.exists() for record in records)


def test_an_earlier_results_json_is_gone_when_the_report_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `remove_output(results_path)` dropped: the old figures stayed beside a failed run
    _stub_steps(tmp_path, monkeypatch)

    def broken(path: Any, data: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_html, "write_report", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text('{"old": true}')
    with pytest.raises(OSError, match="disk full"):
        pipeline.run_demo(out, report_path=tmp_path / "r.html", recommenders=False, progress=False)
    assert not (out / "results.json").exists()
