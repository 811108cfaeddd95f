"""visrec demo: the generated catalogue, dataset folders, and the pipeline end to end."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import visrec.embed.extract as extract
from conftest import signed
from visrec.cli import main
from visrec.demo.datasets import load_demo_dataset
from visrec.demo.pipeline import run_demo
from visrec.demo.synth import CATEGORIES, COLOURS, make_catalogue
from visrec.embed.store import ItemVectors
from visrec.errors import SystemRefusal, VisrecError

if TYPE_CHECKING:
    from conftest import BarCase


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- the generated catalogue -----------------------------------------------------------


def test_catalogue_files_and_counts(tmp_path: Path) -> None:
    cat = make_catalogue(tmp_path, n_items=40, n_users=10, ratings_per_user=6, image_size=48)
    items = pd.read_csv(cat.items_csv)
    users = pd.read_csv(cat.users_csv)
    inter = pd.read_csv(cat.interactions_csv)
    assert (cat.n_items, cat.n_users, cat.n_interactions) == (40, 10, 60)
    assert list(items.columns) == ["item_id", "category", "colour", "pattern", "image"]
    assert list(inter.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(items) == 40 and items.item_id.is_unique
    assert items.category.value_counts().to_dict() == {c: 10 for c in CATEGORIES}
    assert set(items.colour) <= set(COLOURS)
    assert len(users) == 10 and len(inter) == 60
    assert inter.groupby("user_id").size().tolist() == [6] * 10
    assert not inter.duplicated(["user_id", "item_id"]).any()
    assert set(inter.item_id) <= set(items.item_id)
    assert inter.rating.between(1, 5).all() and inter.timestamp.is_monotonic_increasing
    images = sorted(p.name for p in cat.images_dir.iterdir())
    assert images == sorted(f"{i}.jpg" for i in items.item_id)
    with Image.open(cat.images_dir / images[0]) as im:
        assert im.size == (48, 48) and im.mode == "RGB"
        # white-ish studio background in the corner, a coloured product in the middle
        corner = np.asarray(im)[:3, :3].mean()
        assert corner > 235


def test_catalogue_is_deterministic(tmp_path: Path) -> None:
    a = make_catalogue(tmp_path / "a", n_items=12, n_users=5, image_size=40, random_state=3)
    b = make_catalogue(tmp_path / "b", n_items=12, n_users=5, image_size=40, random_state=3)
    c = make_catalogue(tmp_path / "c", n_items=12, n_users=5, image_size=40, random_state=4)
    assert _digest(a.root) == _digest(b.root)
    assert _digest(a.root) != _digest(c.root)


def test_the_same_catalogue_drawn_again_keeps_its_image_files(tmp_path: Path) -> None:
    # unchanged files keep their times, so the embedding of an earlier demo is reused
    import os

    make_catalogue(tmp_path, n_items=8, n_users=3, image_size=32, random_state=5)
    images = sorted((tmp_path / "images").iterdir())
    for p in images:  # as if written an hour ago
        os.utime(p, ns=(p.stat().st_mtime_ns - 3600 * 10**9,) * 2)
    before = {p.name: p.stat().st_mtime_ns for p in images}
    make_catalogue(tmp_path, n_items=8, n_users=3, image_size=32, random_state=5)
    assert {p.name: p.stat().st_mtime_ns for p in images} == before
    digest = _digest(tmp_path)
    make_catalogue(tmp_path, n_items=8, n_users=3, image_size=32, random_state=6)
    assert all(p.stat().st_mtime_ns != before[p.name] for p in images)  # drawn anew
    assert _digest(tmp_path) != digest


def test_smaller_catalogue_replaces_larger(tmp_path: Path) -> None:
    make_catalogue(tmp_path, n_items=12, n_users=3, image_size=32)
    (tmp_path / "images" / "keep-me.png").write_bytes(b"x")  # not ours: left alone
    cat = make_catalogue(tmp_path, n_items=8, n_users=3, image_size=32)
    names = sorted(p.name for p in cat.images_dir.iterdir())
    assert names == sorted([f"item{i:04d}.jpg" for i in range(1, 9)] + ["keep-me.png"])


def test_images_differ_within_a_category(tmp_path: Path) -> None:
    cat = make_catalogue(tmp_path, n_items=16, n_users=2, image_size=64)
    items = pd.read_csv(cat.items_csv)
    shirts = items.loc[items.category == "t-shirt", "item_id"].tolist()
    arrays = [np.asarray(Image.open(cat.images_dir / f"{i}.jpg"), dtype=float) for i in shirts]
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            assert np.abs(arrays[i] - arrays[j]).mean() > 2.0


def test_ratings_depend_on_what_items_look_like(tmp_path: Path) -> None:
    cat = make_catalogue(tmp_path, n_items=160, n_users=120, image_size=32, random_state=1)
    inter = pd.read_csv(cat.interactions_csv).merge(pd.read_csv(cat.items_csv), on="item_id")
    inter = inter.merge(pd.read_csv(cat.users_csv), on="user_id")
    by_colour = inter.groupby("colour").rating.mean()
    # appeal red +1.5, grey -1.5: a 3-star gap before clipping and noise
    assert by_colour["red"] - by_colour["grey"] > 2.2
    assert by_colour.idxmax() == "red"
    assert by_colour.idxmin() == "grey"
    # the favourite-category bonus (+0.5) shows up too
    fav = inter.category == inter.favourite_category
    gap = inter[fav].rating.mean() - inter[~fav].rating.mean()
    assert 0.25 < gap < 0.8
    # the majority class is far from everything: there is something to learn
    assert inter.rating.value_counts(normalize=True).max() < 0.45


def test_catalogue_rejects_bad_sizes(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match="n_items=2"):
        make_catalogue(tmp_path, n_items=2)
    with pytest.raises(VisrecError, match="image_size=8"):
        make_catalogue(tmp_path, image_size=8)
    with pytest.raises(VisrecError, match="image_size=5000: expected 32 to 1024 pixels"):
        make_catalogue(tmp_path, n_items=4, n_users=1, image_size=5000)
    assert not (tmp_path / "images").exists()  # refused before anything was drawn


@pytest.mark.parametrize("size", ["0", "-3", "31", "1025", "5000"])
def test_cli_demo_rejects_bad_image_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str
) -> None:
    out = tmp_path / "out"
    # a tiny catalogue, so that a missing check cannot eat the machine's memory
    argv = ["demo", "--image-size", size, "--items", "4", "--users", "1", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 2
    assert f"--image-size {size}: expected 32 to 1024 pixels" in capsys.readouterr().err
    assert not out.exists()


def test_cli_demo_bar_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bar_case: BarCase
) -> None:
    flags, bar = bar_case.flags, bar_case.bar
    bar_case.apply()
    # the real embedding (its tqdm bar is what is checked) of a tiny catalogue
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--no-recommenders",
            "--out", str(tmp_path / "out"), "--report", str(tmp_path / "r.html")]  # fmt: skip
    assert main([*argv, *flags]) == 0
    captured = capsys.readouterr()
    assert ("\r" in captured.err) is bar, captured.err
    assert "embed (" in captured.err if bar else "embed (" not in captured.err
    # the summary is printed either way
    assert "report:  " in captured.out and "results: " in captured.out


def test_cli_demo_without_bar_still_shows_embedding_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".visrec-demo").touch()  # an earlier demo's folder
    (out / "vectors.parquet").write_text("not parquet")  # replaced, and said so
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--no-recommenders",
            "--out", str(out), "--report", str(tmp_path / "r.html")]  # fmt: skip
    assert main(argv) == 0  # stderr is not a terminal under capsys: no bar
    captured = capsys.readouterr()
    assert "\r" not in captured.err
    assert "note: " in captured.err and "not a visrec vectors file" in captured.err
    # the step lines and the time are on stderr too: stdout holds the results
    assert "embedding 8 images" in captured.err and "time: " in captured.err
    assert "not a visrec vectors file" not in captured.out and "embedding" not in captured.out
    assert "report:  " in captured.out
    # --quiet: no step lines nor time, the notes on the data stay
    (out / "vectors.parquet").write_text("not parquet")
    assert main([*argv, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "not a visrec vectors file" in captured.err
    assert "embedding" not in captured.err and "time: " not in captured.err
    assert "results: " in captured.out


def test_cli_demo_out_below_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # it was "Not a directory" with exit 1, a refusal of the system
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" / "d" / "e"
    assert main(["demo", "--items", "8", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: --out {str(out)!r}: {str(tmp_path / 'f')!r} is a file, not a folder\n"
    )
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")  # was "File exists", exit 1
    out = tmp_path / "gone" / "d"
    assert main(["demo", "--items", "8", "--out", str(out)]) == 2
    assert f"{str(tmp_path / 'gone')!r} is a link to nothing, not a folder\n" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "mine",
    [["vectors.parquet"], ["vectors.parquet", "ratings.csv"], ["vectors.parquet", "results.json"]],
)
def test_cli_demo_refuses_an_out_folder_it_did_not_make(
    mine: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a user's vectors.parquet in --out was cut to the demo's items with only a note
    out = tmp_path / "mine"
    out.mkdir()
    for name in mine:
        (out / name).write_text("the user's")
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--no-recommenders",
            "--out", str(out), "--report", str(tmp_path / "r.html")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    # a results.json of evaluate's (any file of that name let the vectors go, before)
    what = (
        "holds files no demo wrote (ratings.csv)"
        if "ratings.csv" in mine
        else f"holds {', '.join(sorted(mine))} but no sign that a demo wrote them"
    )
    assert err.startswith(f"error: --out {str(out)!r} {what}; ") and err.count("\n") == 1
    assert all((out / name).read_text() == "the user's" for name in mine)
    assert not (tmp_path / "r.html").exists()
    # the same file for two outputs: refused before any work
    argv = ["demo", "--items", "8", "--out", str(tmp_path / "new"), "--report",
            str(tmp_path / "x.out"), "--json", str(tmp_path / "x.out")]  # fmt: skip
    assert main(argv) == 2
    assert "--report and --json name the same file" in capsys.readouterr().err


# --- dataset folders -------------------------------------------------------------------


def _colour_embedder(calls: list[int]):
    """A stand-in for embed_images: mean colour + a coarse 4x4 thumbnail, no model."""

    def embed(items: Mapping[str, Any], output=None, **kw: Any) -> Any:
        calls.append(len(items))
        ids, rows, ok, fails = [], [], [], []
        for iid, path in items.items():
            try:
                with Image.open(path) as im:
                    a = np.asarray(im.convert("RGB").resize((4, 4)), dtype=np.float32) / 255
                rows.append(a.ravel())
                ok.append(True)
            except OSError as exc:
                rows.append(np.zeros(48, np.float32))
                ok.append(False)
                fails.append((iid, str(path), str(exc)))
            ids.append(iid)
        iv = ItemVectors(np.array(ids, dtype=object), np.stack(rows), np.array(ok), {})

        class Result:
            vectors = iv
            failures = fails
            n_reused = 0

        return Result()

    return embed


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(extract, "embed_images", _colour_embedder(calls))
    return calls


def _fashion_like(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    rows = []
    colours = {"Apparel": (200, 0, 0), "Footwear": (0, 0, 200), "Personal Care": (0, 200, 0)}
    n = {"Apparel": 8, "Footwear": 8, "Personal Care": 1}
    k = 0
    for cat, count in n.items():
        for _ in range(count):
            k += 1
            Image.new("RGB", (32, 32), colours[cat]).save(root / "images" / f"{k}.jpg")
            rows.append({"id": k, "gender": "Men", "masterCategory": cat})
    (root / "images" / "99.jpg").write_bytes(b"%PDF-1.4 not an image")
    rows.append({"id": 99, "gender": "Men", "masterCategory": "Apparel"})
    pd.DataFrame(rows).to_csv(root / "styles.csv", index=False)
    return root


def test_cli_demo_refuses_an_out_folder_another_demo_is_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a second demo regenerated the catalogue under the first, which then printed the
    # figures of a mix of the two with exit 0
    import os

    from visrec._atomic import exclusive_lock

    out = tmp_path / "d"
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--no-recommenders",
            "--out", str(out), "--report", str(tmp_path / "r.html")]  # fmt: skip
    with exclusive_lock(out, "visrec demo"):
        assert main(argv) == 75  # busy: EX_TEMPFAIL, try again later
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {out} is being written by another visrec demo (pid {os.getpid()}"
    )
    assert err.rstrip().endswith("give another --out") and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "r.html").exists()


def test_fashion_layout_without_ratings(tmp_path: Path, stand_in: list[int]) -> None:
    folder = _fashion_like(tmp_path / "fashion-products")
    res = run_demo(
        tmp_path / "out", folder, report_path=tmp_path / "r.html", min_label_share=0.1,
        progress=False, echo=None,
    )  # fmt: skip
    assert res.layout == "fashion" and res.n_items == 18 and res.n_embedded == 17
    assert [f[0] for f in res.failures] == ["99"]
    assert res.knn is None and res.knn_note == "no ratings in this dataset"
    # steps that did not run take no time in the timings (the report's Run time table)
    assert "rating KNN" not in res.timings and "recommenders" not in res.timings
    # the 1-item category is left out of K-means and said so
    assert res.cluster.k == 2 and res.cluster.n == 16
    assert res.cluster.ari == pytest.approx(1.0)
    assert (
        "1 item in 1 small category (< 10% of items) left out of clustering: Personal Care 1"
        in (res.cluster_note)
    )
    # no interactions at all: say so, instead of hinting at --recommenders, which
    # could not help
    assert res.recommenders is None
    assert res.recommenders_note == "skipped: no interactions in this dataset"
    html = (tmp_path / "r.html").read_text()
    assert html.count("no ratings in this dataset") == 2
    assert f'<th>ARI</th><td class="num">{res.cluster.ari:.3f}</td>' in html
    saved = json.loads(res.results_path.read_text())
    assert saved["knn_rating"] is None and saved["n_failures"] == 1
    assert saved["cluster"]["ari"] == pytest.approx(res.cluster.ari)


def test_demo_prints_its_section_notes_on_stderr(
    tmp_path: Path, stand_in: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    # README: notes and rows left out go to stderr, so `demo > out` keeps results only;
    # the clusters' left-out note was printed inside the stdout summary
    root = tmp_path / "fashion-products"
    (root / "images").mkdir(parents=True)
    colours = {"Apparel": (200, 0, 0), "Footwear": (0, 0, 200), "Personal Care": (0, 200, 0)}
    cats = ["Apparel"] * 30 + ["Footwear"] * 29 + ["Personal Care"]  # 1 of 60: < 2%
    for k, cat in enumerate(cats):
        Image.new("RGB", (8, 8), colours[cat]).save(root / "images" / f"{k}.jpg")
    pd.DataFrame({"id": range(60), "masterCategory": cats}).to_csv(root / "styles.csv", index=False)
    argv = ["demo", "--data", str(root), "--out", str(tmp_path / "o"), "--quiet"]
    assert main([*argv, "--report", str(tmp_path / "r.html")]) == 0
    out, err = capsys.readouterr()
    note = "note: 1 item in 1 small category (< 2% of items) left out of clustering"
    assert note not in out and f"{note}: Personal Care 1\n" in err
    assert "skipped: no ratings in this dataset" in out  # a skipped section says why there
    res = run_demo(tmp_path / "o2", root, report_path=tmp_path / "r2.html", progress=False)
    assert res.section_notes() == [f"{note}: Personal Care 1"]
    assert note in res.format() and note not in res.format(notes=False)


def test_unrecognised_folder_lists_layouts(tmp_path: Path) -> None:
    (tmp_path / "stuff.txt").write_text("x")
    with pytest.raises(VisrecError) as info:
        load_demo_dataset(tmp_path)
    msg = str(info.value)
    assert "stuff.txt" in msg and "u.data" in msg and "styles.csv" in msg
    assert "items.csv" in msg


def test_cli_demo_bad_folder_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--data", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_generated_demo_with_stand_in(tmp_path: Path, stand_in: list[int]) -> None:
    res = run_demo(
        tmp_path / "out",
        report_path=tmp_path / "report" / "index.html",
        n_items=40,
        n_users=30,
        image_size=48,
        recommenders=False,
        progress=False,
        echo=None,
    )
    assert stand_in == [40]
    assert res.layout == "generated" and res.n_interactions == 360
    assert res.knn is not None and res.knn.n_test == 72
    # every test row's item also has training rows: an exact-duplicate vector, so KNN
    # reads the item's own ratings and must beat always answering the majority class
    assert res.knn.accuracy > res.knn.majority_accuracy
    html = res.report_path.read_text()
    assert f"{res.knn.accuracy:.3f}" in html and f"{res.knn.mae:.3f}" in html
    assert res.recommenders is None and "not run" in (res.recommenders_note or "")


@pytest.mark.slow
def test_recommender_section(tmp_path: Path, stand_in: list[int]) -> None:
    res = run_demo(
        tmp_path / "out", report_path=tmp_path / "r.html", n_items=40, n_users=40,
        image_size=32, progress=False, echo=None,
    )  # fmt: skip
    table = res.recommenders
    assert table is not None, res.recommenders_note
    assert table.groupby("protocol").size().to_dict() == {"cold-items": 4, "warm": 4}
    cold = table[table.protocol == "cold-items"]
    # models that cannot read pictures give every unseen item the same score
    assert cold.loc["popularity", "AUC"] == pytest.approx(0.5)
    assert cold.loc["bpr", "AUC"] == pytest.approx(0.5)
    # the users of the demo choose by colour, which the stand-in vectors hold: the image
    # models rank unseen items better than chance (0.60 and 0.63 with this catalogue)
    assert cold.loc["vbpr", "AUC"] > 0.55 and cold.loc["visual-cf", "AUC"] > 0.55
    html = res.report_path.read_text()
    assert '<section id="recommenders">' in html
    assert f"{cold.loc['vbpr', 'AUC']:.3f}" in html
    assert f"{cold.loc['visual-cf', 'AUC']:.3f}" in html
    # on warm items visual-cf is BPR exactly (the map only serves unseen items)
    warm = table[table.protocol == "warm"]
    assert warm.loc["visual-cf", "AUC"] == pytest.approx(warm.loc["bpr", "AUC"])
    saved = json.loads(res.results_path.read_text())
    assert len(saved["recommenders"]) == 8
    # named as evaluate --json names them: one reader takes both files
    row = next(
        r for r in saved["recommenders"] if r["model"] == "vbpr" and r["protocol"] == "cold-items"
    )
    assert set(row) == {"model", "protocol", "auc", "recall", "ndcg", "fit_s", "k"}
    assert row["auc"] == pytest.approx(cold.loc["vbpr", "AUC"]) and row["k"] == 10
    # the printed table: a header line, then one line per model (no row for the index name)
    text = res.format()
    section = text.split("== recommenders")[1].splitlines()[1:]
    assert section[0].split()[0] == "protocol"
    assert [line.split()[0] for line in section[1:9]] == list(table.index)


@pytest.mark.slow
def test_an_interrupted_recommender_comparison_resumes(
    tmp_path: Path, stand_in: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.evaluation import run_record

    runs: list[str] = []  # (model) of every run recorded, i.e. fitted and scored
    stop_after = [7]  # every warm run, then three of the cold-items protocol
    append = run_record.append_record

    def recording(path: Path, rec: dict[str, Any]) -> None:
        append(path, rec)
        runs.append(rec["model"])
        if len(runs) == stop_after[0]:
            raise KeyboardInterrupt  # a Ctrl-C just after that run was recorded

    monkeypatch.setattr(run_record, "append_record", recording)
    notes: list[str] = []

    def demo(out: str, **kw: Any) -> Any:
        return run_demo(
            tmp_path / out, report_path=tmp_path / out / "r.html", n_items=40, n_users=40,
            image_size=32, progress=False, echo=None, note=notes.append, **kw,
        )  # fmt: skip

    out = tmp_path / "out"
    warm = out / ".recommenders-warm.partial.jsonl"
    cold = out / ".recommenders-cold-items.partial.jsonl"
    with pytest.raises(KeyboardInterrupt):
        demo("out")
    assert len(warm.read_text().splitlines()) == 4
    assert len(cold.read_text().splitlines()) == 3
    assert not (out / "results.json").exists()
    demo("out", recommenders=False)  # a demo without them leaves their records alone
    assert len(cold.read_text().splitlines()) == 3
    runs.clear()
    stop_after[0] = 0
    res = demo("out")
    assert runs == ["visual-cf"]  # only the run the interruption lost is fitted
    assert f"resuming: 4 of 4 runs already done ({warm})" in notes
    assert f"resuming: 3 of 4 runs already done ({cold})" in notes
    assert not warm.exists() and not cold.exists()  # the results are written
    # the figures of an uninterrupted demo
    runs.clear()
    whole = demo("whole")
    assert len(runs) == 8
    cols = ["protocol", "AUC", "Recall@10", "NDCG@10"]
    pd.testing.assert_frame_equal(res.recommenders[cols], whole.recommenders[cols])
    # resume=False fits every run again, records there or not
    runs.clear()
    stop_after[0] = 2
    with pytest.raises(KeyboardInterrupt):
        demo("whole")
    assert (tmp_path / "whole" / ".recommenders-warm.partial.jsonl").exists()
    runs.clear()
    stop_after[0] = 0
    notes.clear()
    demo("whole", resume=False)
    assert len(runs) == 8 and not any("resuming" in n for n in notes)


def test_cli_demo_interrupted_says_what_it_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.commands.demo as demo_cmd

    out = tmp_path / "out"
    argv = ["demo", "--items", "4", "--users", "1", "--out", str(out), "-q"]

    def interrupted(args: Any) -> Any:
        out.mkdir(exist_ok=True)
        if kept:
            record = out / ".recommenders-warm.partial.jsonl"
            run = {"seed": 0, "model": "popularity", "fp": {}, "params": {}, "split": {}}
            record.write_text(json.dumps(signed({**run, "row": {}})) + "\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_cmd, "_run_demo", interrupted)
    kept = False
    assert main(argv) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"
    kept = True
    assert main(argv) == 130
    err = capsys.readouterr().err
    said = (
        f"finished recommender runs are kept in {out}"
        f"/.recommenders-warm.partial.jsonl; run the same command again to resume"
    )
    assert f"interrupted: {said}" in err

    def failed(args: Any) -> Any:  # a later step failed: the runs stay, and it says so
        raise SystemRefusal("cannot write the report")

    monkeypatch.setattr(demo_cmd, "_run_demo", failed)
    assert main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [said, "error: cannot write the report"]

    def refused(args: Any) -> Any:  # bad input, before this run kept anything
        raise VisrecError("--data: no such layout")

    monkeypatch.setattr(demo_cmd, "_run_demo", refused)
    assert main(argv) == 2  # the same command fails again: no resume advice
    assert capsys.readouterr().err.splitlines() == ["error: --data: no such layout"]
    # with --no-resume the same command would drop them: the advice says so
    monkeypatch.setattr(demo_cmd, "_run_demo", interrupted)
    assert main([*argv, "--no-resume"]) == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith("; run the command without --no-resume again to resume")
    # a demo without the recommenders would not resume them: no such advice
    monkeypatch.setattr(demo_cmd, "_run_demo", interrupted)
    assert main([*argv, "--no-recommenders"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"


def test_max_items_samples(tmp_path: Path, stand_in: list[int]) -> None:
    cat = make_catalogue(tmp_path / "cat", n_items=20, n_users=10, image_size=32)
    res = run_demo(
        tmp_path / "out", cat.root, report_path=tmp_path / "r.html", max_items=8,
        progress=False, echo=None,
    )  # fmt: skip
    assert stand_in == [8] and res.n_items == 8
    assert any("random sample of 8 of 20" in n for n in res.notes)
    # rating rows of items outside the sample are counted, not silently used
    said = re.fullmatch(
        r"(\d+) of (\d+) rating rows left out: their item is not in the --max-items sample",
        res.knn_note or "",
    )
    assert said and 0 < int(said[1]) < int(said[2])


def test_max_items_uses_the_sample_everywhere(
    tmp_path: Path, stand_in: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.demo.pipeline as pipeline

    cat = make_catalogue(tmp_path / "cat", n_items=20, n_users=10, image_size=32)
    inter = pd.read_csv(cat.interactions_csv, dtype={"user_id": str, "item_id": str})
    embedded: list[set[str]] = []
    embed = extract.embed_images

    def recording(items: Mapping[str, Any], output: Any = None, **kw: Any) -> Any:
        embedded.append(set(items))
        return embed(items, output, **kw)

    monkeypatch.setattr(extract, "embed_images", recording)
    seen: list[pd.DataFrame] = []

    def compare(
        frame: pd.DataFrame, iv: Any, seed: int, progress: bool = False, **kw: Any
    ) -> tuple[pd.DataFrame, str]:
        seen.append(frame)
        table = pd.DataFrame({"protocol": ["warm"], "AUC": [0.5]}, index=["popularity"])
        return table, "compared."

    monkeypatch.setattr(pipeline, "_compare_recommenders", compare)

    def demo(out: str) -> Any:
        return run_demo(
            tmp_path / out, cat.root, report_path=tmp_path / out / "r.html", max_items=8,
            recommenders=True, progress=False, echo=None,
        )  # fmt: skip

    demo("first")
    sample = embedded[0]
    assert len(sample) == 8
    # one sampled item's picture breaks: its rows are "no usable image", the rows of
    # the 12 items outside the sample are "not in the --max-items sample"
    mine = inter[inter.item_id.isin(sample)]
    broken = mine.item_id.iloc[0]
    (cat.images_dir / f"{broken}.jpg").write_bytes(b"not a jpeg")
    res = demo("second")
    assert embedded[1] == sample  # same seed, same sample
    assert [f[0] for f in res.failures] == [broken]
    n_all, n_mine, n_broken = len(inter), len(mine), int((mine.item_id == broken).sum())
    # the recommenders get the sample's rows, not the whole dataset's
    assert len(seen) == 2 and set(seen[1]["item_id"]) <= sample
    assert len(seen[1]) == n_mine == res.n_interactions < n_all
    note = next(n for n in res.notes if "random sample" in n)
    assert f"{n_mine} of {n_all} interaction rows are of sampled items" in note
    assert res.knn_note == (
        f"{n_all - n_mine} of {n_all} rating rows left out: their item is not in the "
        f"--max-items sample; {n_broken} of {n_all} rating rows left out: their item has "
        f"no usable image ('{broken}')"
    )
    assert res.recommenders_note == (
        f"compared. On the {n_mine} interaction rows of the 8 sampled items (--max-items)."
    )
    html = res.report_path.read_text()
    assert f'<th>interaction rows</th><td class="num">{n_mine}</td>' in html
    assert f'<th>items rated</th><td class="num">{mine.item_id.nunique()}</td>' in html


# --- real model, end to end ------------------------------------------------------------


@pytest.mark.slow
def test_demo_end_to_end_real_backbone(tmp_path: Path) -> None:
    """The real default backbone separates the generated categories perfectly."""
    report = tmp_path / "report" / "index.html"
    res = run_demo(
        tmp_path / "out", report_path=report, n_items=40, n_users=30, image_size=96,
        progress=False, echo=None,
    )  # fmt: skip
    assert res.n_embedded == 40 and not res.failures
    assert res.cluster.k == 4
    assert res.cluster.ari > 0.9 and res.cluster.purity > 0.95
    assert res.knn.accuracy > res.knn.majority_accuracy
    html = report.read_text()
    for sid in ("summary", "clusters", "cluster-grids", "projection", "knn", "confusion"):
        assert f'<section id="{sid}">' in html
    assert f'<th>ARI</th><td class="num">{res.cluster.ari:.3f}</td>' in html
    assert f'<th>NMI</th><td class="num">{res.cluster.nmi:.3f}</td>' in html
    assert f"{res.knn.accuracy:.3f}" in html and f"{res.knn.majority_accuracy:.3f}" in html
    assert html.count('class="thumb"') == 40  # 4 clusters x 10 items, all under 12
    saved = json.loads(res.results_path.read_text())
    assert saved["knn_rating"]["accuracy"] == pytest.approx(res.knn.accuracy)
    assert saved["cluster"]["table"] == res.cluster.to_dict()["table"]


# --- real dataset folders --------------------------------------------------------------


def test_real_movielens_folder(shared_data: Path) -> None:
    ds = load_demo_dataset(shared_data / "movielens-100k-posters")
    assert ds.layout == "movielens" and ds.label_name == "first genre"
    assert len(ds.images) == 1663
    assert ds.interactions is not None and len(ds.interactions) == 100_000
    assert ds.has_ratings
    assert ds.labels["1"] == "Animation"  # Toy Story: Animation|Children's|Comedy
    assert ds.labels["2"] == "Action"


def test_real_fashion_folder(shared_data: Path) -> None:
    ds = load_demo_dataset(shared_data / "fashion-products")
    assert ds.layout == "fashion" and ds.interactions is None and not ds.has_ratings
    assert len(ds.images) == 3000
    counts = pd.Series(list(ds.labels.values())).value_counts()
    assert counts[["Apparel", "Footwear", "Accessories"]].tolist() == [1683, 651, 650]


@pytest.mark.slow
def test_real_fashion_demo_sample(shared_data: Path, tmp_path: Path) -> None:
    """A 120-item sample of the real photos: the three big categories form clusters."""
    res = run_demo(
        tmp_path / "out", shared_data / "fashion-products", report_path=tmp_path / "r.html",
        max_items=120, progress=False, echo=None,
    )  # fmt: skip
    assert res.n_items == 120 and res.n_embedded == 120
    assert res.knn is None and res.knn_note == "no ratings in this dataset"
    assert list(res.cluster.table.columns) == ["Apparel", "Footwear", "Accessories"]
    assert res.cluster.ari > 0.6 and res.cluster.purity > 0.85
    assert '<section id="cluster-grids">' in (tmp_path / "r.html").read_text()


def test_cli_demo_help_names_every_step_and_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "rating KNN vs baseline -> recommenders (popularity, BPR, VBPR, visual-cf)" in text
    assert "also compare popularity, BPR, VBPR and visual-cf" in text
    assert "~15-35 s on 2 cores" in text and "min on 2 cores" not in text


def test_a_folder_of_an_older_demo_is_recognised_by_its_results(tmp_path: Path) -> None:

    from visrec.commands.demo import check_demo_folder

    out = tmp_path / "old-demo"  # from before the marker: vectors and a demo's results
    out.mkdir()
    (out / "vectors.parquet").write_text("x")
    results = {"dataset": "d", "layout": "generated", "n_embedded": 8, "timings": {}}
    (out / "results.json").write_text(json.dumps(results))
    check_demo_folder(out)  # no error
    (out / "results.json").write_text(json.dumps({"summary": {}, "k": 20}))  # evaluate's
    with pytest.raises(VisrecError, match="but no sign that a demo wrote them"):
        check_demo_folder(out)
