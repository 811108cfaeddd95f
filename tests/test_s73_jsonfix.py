"""Session 73: the same JSON keys from ``visrec rating-eval`` whatever ``--seeds`` (its
``*_std`` were left out with one seed, where ``visrec evaluate`` writes a std of 0), and
``visrec embed``'s rate counting the images embedded, not those that failed to read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from test_analysis_qa_fixes import _tiny
from test_embed import TinyBackbone, _images, _tiny_cli_embed
from test_s68_embedclu_mutants import _fixed
from visrec.cli import main
from visrec.data.images_index import scan_images
from visrec.embed.extract import embed_images

# --- rating-eval --json: one seed or several, the same keys ----------------------------


def _rating_eval_json(tmp_path: Path, seeds: int) -> dict[str, Any]:
    ratings, vectors = _tiny(tmp_path, n_rows=60, n_items=6)
    out = tmp_path / f"re{seeds}.json"
    argv = ["rating-eval", "--interactions", str(ratings), "--vectors", str(vectors)]
    argv += ["--seeds", str(seeds), "--n-epochs", "5", "--json", str(out), "-q"]
    assert main(argv) == 0
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def test_rating_eval_json_has_the_std_keys_with_one_seed_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = _rating_eval_json(tmp_path, 1)
    two = _rating_eval_json(tmp_path, 2)
    capsys.readouterr()
    assert list(one["models"]) == list(two["models"])
    for name, entry in one["models"].items():
        assert sorted(entry) == sorted(two["models"][name]), name
        # one seed: no spread, 0 as in evaluate's summary (not null, not left out)
        for m in ("accuracy", "mae", "rmse", "fit_seconds"):
            assert entry[m + "_std"] == 0.0, (name, m)
    assert any(e["rmse_std"] > 0 for e in two["models"].values())


def test_rating_eval_table_of_one_seed_still_shows_no_plus_minus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the std columns are kept for the JSON; the printed table of one seed is as before
    _rating_eval_json(tmp_path, 1)
    text = capsys.readouterr().out
    assert "random_state 1234" in text and "±" not in text


# --- embed: the rate counts images embedded ---------------------------------------------


def _mostly_broken(folder: Path, good: int = 2, bad: int = 18) -> Path:
    """``good`` JPEGs and ``bad`` files named .jpg that are no image."""
    _images(folder, good)
    for i in range(bad):
        (folder / f"bad{i:02d}.jpg").write_bytes(b"not an image at all")
    return folder


def test_embed_rate_leaves_out_the_images_that_failed(tmp_path: Path) -> None:
    folder = _mostly_broken(tmp_path / "imgs")
    res = embed_images(
        scan_images(folder).images,
        tmp_path / "v.parquet",
        backbone=TinyBackbone(),
        engine="torch",
        progress=False,
    )
    assert res.n_computed == 20 and len(res.failures) == 18
    assert res.n_computed_failed == 18 and res.n_embedded == 2
    assert res.images_per_second == pytest.approx(2 / res.seconds)
    # in memory (no output file) alike
    mem = embed_images(
        scan_images(folder).images, None, backbone=TinyBackbone(), engine="torch", progress=False
    )
    assert mem.n_embedded == 2
    assert mem.images_per_second == pytest.approx(2 / mem.seconds)


def test_embed_rerun_of_an_up_to_date_output_embeds_nothing(tmp_path: Path) -> None:
    folder = _mostly_broken(tmp_path / "imgs", good=2, bad=3)
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": False}
    embed_images(scan_images(folder).images, tmp_path / "v.parquet", **kw)
    again = embed_images(scan_images(folder).images, tmp_path / "v.parquet", **kw)
    assert again.n_reused == 5 and len(again.failures) == 3  # failures kept, not redone
    assert again.n_computed_failed == 0 and again.images_per_second == 0.0


def test_embed_summary_line_and_json_give_the_rate_of_images_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _images(tmp_path / "imgs", 20)
    failures = [(f"{i:03d}", str(folder / f"{i:03d}.jpg"), "not an image") for i in range(18)]
    _fixed(monkeypatch, failures=failures, n_computed=20, n_computed_failed=18, seconds=2.0)
    summary = tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q", "--json", str(summary)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "  ok 2, failed 18, reused 0, computed 20"
    assert lines[2] == "  2.0 s, 1.0 img/s (images embedded this run / wall time)"
    assert json.loads(summary.read_text())["images_per_second"] == 1.0


def test_cli_embed_of_mostly_broken_files_reports_the_rate_of_the_good_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiny_cli_embed(monkeypatch)
    folder = _mostly_broken(tmp_path / "imgs")
    summary = tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q", "--json", str(summary)]
    assert main(argv) == 0
    data = json.loads(summary.read_text())
    assert data["n_ok"] == 2 and data["n_computed"] == 20
    # the rate times the time is the 2 embedded, not the 20 computed (both rounded,
    # the time to the millisecond: the margin is for that)
    assert data["seconds"] > 0 and data["images_per_second"] * data["seconds"] < 10
