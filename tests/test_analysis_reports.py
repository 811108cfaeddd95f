"""`visrec cluster --report` and `visrec knn-rating --report`: the demo's report sections
for one command's result, with photos per cluster from --images."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_cluster import _write_fixture
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report.html import ReportData, render_report


def _sections(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def test_cluster_report_with_photos_of_each_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v, labels = _write_fixture(tmp_path)
    images = tmp_path / "imgs"
    images.mkdir()
    colours = {"p1": (200, 0, 0), "p25": (0, 200, 0), "p45": (0, 0, 200)}
    for item, rgb in colours.items():  # one photo in each blob; the rest have none
        Image.new("RGB", (30, 20), rgb).save(images / f"{item}.jpg")
    out = tmp_path / "c.html"
    argv = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col",
            "kind", "--report", str(out), "--images", str(images), "--json",
            str(tmp_path / "c.json")]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(f"wrote {tmp_path / 'c.json'}\nwrote {out}\n")
    page = out.read_text()
    assert _sections(page) == ["summary", "clusters", "cluster-grids", "projection"]
    assert "<script" not in page and "knn" not in _sections(page)
    # The three photos, each under its own cluster (the blobs are the clusters).
    grids = page[page.index('id="cluster-grids"') : page.index('id="projection"')]
    per_cluster = re.split(r"<h3>", grids)[1:]
    assert len(per_cluster) == 3
    shown = [re.findall(r'<figure title="([^"]+)">', block) for block in per_cluster]
    assert sorted(i for ids in shown for i in ids) == sorted(colours)
    assert all(len(ids) == 1 for ids in shown)
    assert len(re.findall(r"data:image/jpeg;base64", grids)) == 3
    # The PCA map is a PNG; the summary counts what was left out.
    png = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(png) == 1 and base64.b64decode(png[0]).startswith(b"\x89PNG")
    assert "left out: no image" in page and "items clustered" in page


def test_cluster_report_without_images_says_how_to_get_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v, labels = _write_fixture(tmp_path)
    out = tmp_path / "c.html"
    base = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    assert main([*base, "--report", str(out)]) == 0
    assert "give --images DIR" in out.read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "zzz.jpg").write_bytes(b"")
    assert main([*base, "--report", str(out), "--images", str(empty)]) == 0
    assert "no image in" in out.read_text()
    capsys.readouterr()
    # --images alone, or not a folder: errors before any clustering.
    assert main([*base, "--images", str(empty)]) == 2
    assert "give --report HTML too" in capsys.readouterr().err
    assert main([*base, "--report", str(out), "--images", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_knn_rating_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    n_items = 40
    ids = [f"i{i}" for i in range(n_items)]
    vecs = rng.normal(size=(n_items, 4)).astype(np.float32)
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, vecs, np.ones(n_items, dtype=bool)))
    rows = ["user_id,item_id,rating"]
    rows += [f"u{u},i{i},{1 + (u + i) % 5}" for u in range(30) for i in range(0, n_items, 3)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "k.html"
    argv = ["knn-rating", "--interactions", str(tmp_path / "r.csv"), "--report", str(out),
            "--vectors", str(tmp_path / "v.parquet"), "--random-state", "1234"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(f"\nwrote {out}\n")
    page = out.read_text()
    assert _sections(page) == ["summary", "knn", "confusion"]
    assert re.search(r"KNN (beats|does not beat|ties with) the majority class", page)
    assert '<td class="num">1234</td>' in page  # a seed, not a count: no thousands comma
    assert len(re.findall(r"data:image/png;base64", page)) == 2  # the bars, the matrix


def test_report_parts_must_be_known() -> None:
    with pytest.raises(ValueError, match="unknown report parts"):
        render_report(ReportData(title="t", dataset="d", parts=("summary", "nope")))
