"""visrec demo (session 52b): a failed or interrupted write leaves no earlier run's
outputs beside this run's (results.json beside the report, the catalogue's CSVs)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import visrec.demo.pipeline as pipeline
import visrec.demo.synth as synth
import visrec.embed.extract as extract
from test_demo import _colour_embedder
from visrec.cli import main
from visrec.demo.datasets import load_demo_dataset
from visrec.demo.pipeline import run_demo
from visrec.demo.synth import make_catalogue
from visrec.errors import VisrecError

SMALL = {"n_items": 8, "n_users": 4, "image_size": 32}


def _fail_on(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """Make ``module.write_text_atomic`` fail with a full disk for a file called ``name``."""
    real = module.write_text_atomic

    def writer(path: Any, text: str) -> None:
        if Path(path).name == name:
            raise OSError(28, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(module, "write_text_atomic", writer)


def test_a_failed_results_write_leaves_the_new_report_and_no_earlier_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    out, report = tmp_path / "out", tmp_path / "r.html"
    run_demo(out, report_path=report, recommenders=False, progress=False, **SMALL)
    assert json.loads((out / "results.json").read_text())["n_items"] == 8
    old_report = report.read_text()
    _fail_on(monkeypatch, pipeline, "results.json")
    with pytest.raises(OSError, match=r"No space left"):
        run_demo(
            out, report_path=report, recommenders=False, progress=False, random_state=1,
            **{**SMALL, "n_items": 12},
        )  # fmt: skip
    assert report.read_text() != old_report  # this run's report
    assert not (out / "results.json").exists()


def test_a_cli_demo_whose_results_fail_exits_1_without_the_earlier_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    out, report = tmp_path / "out", tmp_path / "r.html"
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--no-recommenders",
            "--quiet", "--out", str(out), "--report", str(report)]  # fmt: skip
    assert main(argv) == 0
    old_report = report.read_text()
    first = json.loads((out / "results.json").read_text())
    assert first["n_items"] == 8 and "run" in first
    _fail_on(monkeypatch, pipeline, "results.json")
    capsys.readouterr()
    assert main([*argv, "--items", "12"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"error: '{out / 'results.json'}': No space left on device" in err
    assert not (out / "results.json").exists()
    assert report.read_text() != old_report


def test_a_results_json_link_keeps_its_link_across_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    out, kept = tmp_path / "out", tmp_path / "kept.json"
    out.mkdir()
    kept.write_text("{}")
    (out / "results.json").symlink_to(kept)
    run_demo(out, report_path=tmp_path / "r.html", recommenders=False, progress=False, **SMALL)
    assert (out / "results.json").is_symlink()
    assert json.loads(kept.read_text())["n_items"] == 8


@pytest.mark.parametrize("failing", ["users.csv", "interactions.csv", "items.csv"])
def test_a_failed_catalogue_write_leaves_no_mix_of_two_catalogues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    root = tmp_path / "catalogue"
    make_catalogue(root, random_state=0, **SMALL)
    assert len(load_demo_dataset(root).interactions) == 4 * 8
    _fail_on(monkeypatch, synth, failing)
    with pytest.raises(OSError, match=r"No space left"):
        make_catalogue(root, random_state=1, **{**SMALL, "n_users": 6})
    assert not (root / "items.csv").exists()
    with pytest.raises(VisrecError, match=r"not a dataset folder visrec demo recognises"):
        load_demo_dataset(root)


def test_an_interrupt_while_drawing_images_leaves_no_earlier_items_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "catalogue"
    make_catalogue(root, random_state=0, **SMALL)
    drawn: list[str] = []
    real = synth.render_product

    def render(*args: Any, **kw: Any) -> Any:
        if len(drawn) == 3:
            raise KeyboardInterrupt
        drawn.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(synth, "render_product", render)
    with pytest.raises(KeyboardInterrupt):
        make_catalogue(root, random_state=1, **SMALL)
    # three images are the new catalogue's: the old items.csv would label them wrongly
    assert sorted(os.listdir(root)) == ["images"]


def test_a_catalogue_drawn_again_holds_the_whole_new_set(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    make_catalogue(root, random_state=0, **SMALL)
    cat = make_catalogue(root, random_state=1, **{**SMALL, "n_users": 6})
    ds = load_demo_dataset(root)
    assert cat.n_interactions == len(ds.interactions) == 6 * 8
    assert len((root / "users.csv").read_text().splitlines()) == 1 + 6


def test_a_folder_at_results_json_is_refused_as_a_folder_not_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    out = tmp_path / "out"
    (out / "results.json").mkdir(parents=True)
    with pytest.raises(VisrecError, match=r"results\.json' is a directory; name a file"):
        run_demo(out, report_path=tmp_path / "r.html", recommenders=False, progress=False, **SMALL)
    assert (out / "results.json").is_dir()


def test_an_interrupt_just_after_the_report_leaves_no_earlier_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.report.html as html

    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    out, report = tmp_path / "out", tmp_path / "r.html"
    run_demo(out, report_path=report, recommenders=False, progress=False, **SMALL)
    real = html.write_report

    def write_then_interrupted(*args: Any, **kw: Any) -> None:
        real(*args, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(html, "write_report", write_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_demo(out, report_path=report, recommenders=False, progress=False, random_state=1,
                 **SMALL)  # fmt: skip
    assert report.exists() and not (out / "results.json").exists()
