"""Reports that read well without sight of colour or of the page: contrast, alt text,
table headers, shapes beside colours, titles that name the data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.axes
import numpy as np
import pandas as pd
import pytest

from test_evaluation_report import _result
from test_rating_models import _star_fixture
from test_report import report_data  # noqa: F401  (the fixture)
from visrec.analysis.rating_eval import rating_eval
from visrec.report import plots
from visrec.report.evaluation import render_evaluation_report
from visrec.report.html import CSS, ReportData, photo_tile, render_report
from visrec.report.rating import render_rating_report
from visrec.report.similar import render_similar_report


def _contrast(a: str, b: str) -> float:
    def lum(hex_colour: str) -> float:
        h = hex_colour.lstrip("#")
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return plots._luminance([int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)])

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_count_labels_are_readable_on_every_shade_of_the_heatmap() -> None:
    cmap = matplotlib.colormaps["Blues"]
    worst = 21.0
    for x in np.linspace(0, 1, 256):
        rgb = cmap(x)[:3]
        ink = plots.ink_on(rgb)
        lum = plots._luminance(rgb)
        ratio = (lum + 0.05) / 0.05 if ink == "black" else 1.05 / (lum + 0.05)
        worst = min(worst, ratio)
    assert worst >= 4.5  # WCAG AA for normal text
    assert plots.ink_on((1.0, 1.0, 1.0)) == "black" and plots.ink_on((0, 0, 0.3)) == "white"


def axes_calls(monkeypatch: pytest.MonkeyPatch, method: str) -> list[dict[str, Any]]:
    """The keyword arguments of each call of ``matplotlib.axes.Axes.<method>`` from now
    on (the real method still draws)."""
    calls: list[dict[str, Any]] = []
    real = getattr(matplotlib.axes.Axes, method)

    def spy(self: Any, *args: Any, **kw: Any) -> Any:
        calls.append(kw)
        return real(self, *args, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, method, spy)
    return calls


def test_the_heatmap_scale_starts_at_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    # near-chance counts must not look like a strong diagonal: 600 vs 685 is not
    # "nothing vs a lot"
    calls = axes_calls(monkeypatch, "imshow")
    conf = pd.DataFrame([[685, 618], [637, 600]], index=[0, 1], columns=[0, 1])
    assert plots.confusion_png(conf)[:4] == b"\x89PNG"
    seen = calls[-1]
    assert seen["vmin"] == 0 and seen["vmax"] == 685


def test_text_colours_of_the_pages_pass_aa_contrast() -> None:
    pairs = re.findall(r"color:(#[0-9a-f]{3,6});background:(#[0-9a-f]{3,6})", CSS)
    pairs += [(c, "#fff") for c in re.findall(r"(?<!-)color:(#[0-9a-f]{3,6})", CSS)]
    assert len(pairs) >= 8
    for fg, bg in pairs:
        assert _contrast(fg, bg) >= 4.5, (fg, bg)
    assert "background:#fff" in CSS.split("body{", 1)[1].split("}", 1)[0]
    # a table keeps its display (display:block loses table semantics in some readers)
    assert not re.search(r"(^|})table\{[^}]*display", CSS)


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.th: list[str] = []
        self.tables_in_scroll = self.tables = 0
        self.imgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables += 1
            self.tables_in_scroll += self.stack[-1:] == ["div.scroll"]
        if tag == "th":
            self.th.append("")
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag in ("div", "table", "th", "tr", "td", "thead", "tbody", "section"):
            cls = dict(attrs).get("class")
            self.stack.append(f"{tag}.{cls}" if cls else tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("div", "table", "th", "tr", "td", "thead", "tbody", "section"):
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "th":
            self.th[-1] += data


def _cells(page: str) -> _Cells:
    p = _Cells()
    p.feed(page)
    return p


def _pages(report_data: ReportData) -> dict[str, str]:  # noqa: F811
    res = _result("warm", {"popularity": [0.2, 0.21], "vbpr": [0.42, 0.43]})
    res["runs"][0]["tuned"] = "reg=0.03"
    frame, _ = _star_fixture(seed=6)
    rating = rating_eval(frame, None, n_seeds=2, mf_params={"n_epochs": 5}).to_dict()
    return {
        "demo": render_report(report_data),
        "evaluate": render_evaluation_report(res, {"interactions": "data/shop.csv"}),
        "rating": render_rating_report(rating, {"interactions": "data/ratings.csv"}),
    }


def test_every_header_cell_says_something_and_every_table_can_scroll(
    report_data: ReportData,  # noqa: F811
) -> None:
    for name, page in _pages(report_data).items():
        cells = _cells(page)
        assert cells.th and all(t.strip() for t in cells.th), (name, cells.th)
        assert cells.tables and cells.tables_in_scroll == cells.tables, name
        assert all(img.get("alt") for img in cells.imgs), name


def test_titles_name_the_data(report_data: ReportData) -> None:  # noqa: F811
    pages = _pages(report_data)
    assert "<title>visrec evaluate: warm protocol on shop.csv</title>" in pages["evaluate"]
    assert re.search(r"<title>visrec rating-eval: [^<]*\(ratings\.csv\)</title>", pages["rating"])
    # a pipe (<(...) is /dev/fd/63) has no name worth showing
    res = _result("warm", {"popularity": [0.2, 0.21]})
    page = render_evaluation_report(res, {"interactions": "/dev/fd/63"})
    assert "<title>visrec evaluate: warm protocol</title>" in page


def test_the_map_is_told_in_words_and_by_shape(report_data: ReportData) -> None:  # noqa: F811
    page = render_report(report_data)
    alt = re.search(r'alt="(PCA scatter[^"]*)"', page)
    assert alt and "Bags &amp; Co (10)" in alt[1] and "&lt;script&gt;" in alt[1]
    labels = [f"type {i}" for i in range(10) for _ in range(10 - i)]
    assert plots.projection_legend(labels) == [
        *(f"type {i} ({10 - i})" for i in range(8)),
        "other: 2 more labels (3)",
    ]
    assert len(set(plots.MARKERS)) == len(plots.PALETTE)


def test_photo_tiles_name_the_item_once_and_a_missing_photo_in_words(tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "p.png"
    Image.new("RGB", (20, 20), (0, 0, 200)).save(img)
    tile = photo_tile("item-7", img, "Shoes")
    assert tile.count("item-7") == 1 and 'alt="photo"' in tile and "Shoes" in tile
    missing = photo_tile("item-8", None)
    assert 'role="img" aria-label="no photo"' in missing and missing.count("item-8") == 1
    page = render_similar_report([], {}, {"vectors": "out/fashion.parquet", "images": ""})
    assert "<title>visrec similar: items that look alike in fashion.parquet</title>" in page


def test_tied_categories_keep_one_order_on_every_pandas() -> None:
    # most frequent first, ties by name, as the cluster table beside the map
    labels = ["b"] * 3 + ["c"] * 2 + ["a"] * 3 + ["d"] * 2 + [f"z{i}" for i in range(20)]
    assert plots.label_order(labels)[:4] == ["a", "b", "c", "d"]
    legend = plots.projection_legend(labels)
    assert legend[:4] == ["a (3)", "b (3)", "c (2)", "d (2)"]
    assert legend[4:8] == ["z0 (1)", "z1 (1)", "z10 (1)", "z11 (1)"]
    assert legend[8] == "other: 16 more labels (16)"


def test_the_map_does_not_mirror_with_the_sign_pca_happens_to_pick() -> None:
    from visrec.analysis.cluster import pca_2d

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) * [5, 3, 1, 1, 1, 1]
    # (scikit-learn >= 1.5 flips signs this way itself: the lowest-versions CI stage,
    # on 1.4, is where this fails without visrec's own rule)
    for data in (x, -x, x[::-1]):  # each axis's sign is a free choice of the solver
        coords, _ = pca_2d(data)
        # the largest loading of each component is positive, so a point's coordinates
        # follow its own values, whichever way the solver turned the axes
        row = int(np.argmax(np.abs(data[:, 0])))
        assert np.sign(coords[row, 0]) == np.sign(data[row, 0] - data[:, 0].mean())
    same, _ = pca_2d(np.ones((5, 3)))  # no variance: zeros, not NaN
    assert np.isfinite(same).all()


def test_luminance_weights_and_the_ink_of_each_drawn_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    # the WCAG weights themselves (the contrast tests above measure with this function)
    assert plots._luminance((0, 1, 0)) == pytest.approx(0.7152)
    assert plots._luminance((0, 0, 1)) == pytest.approx(0.0722)
    # the ink follows the shade the cell is drawn in (the count through the colour
    # scale), not the count read as a shade
    inks: dict[str, Any] = {}
    real = matplotlib.axes.Axes.text

    def spy(self: Any, x: float, y: float, s: str, **kw: Any) -> Any:
        inks[s] = kw.get("color")
        return real(self, x, y, s, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "text", spy)
    plots.confusion_png(pd.DataFrame([[5000, 200], [100, 5000]]))
    assert inks["200"] == "black" and inks["5,000"] == "white"


def test_the_map_draws_a_shape_and_a_rim_per_category(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = axes_calls(monkeypatch, "scatter")
    plots.projection_png(np.random.default_rng(0).normal(size=(6, 2)), list("aabbcc"))
    assert [kw.get("marker") for kw in calls] == list(plots.MARKERS[:3])
    assert all(kw.get("edgecolors") not in (None, "none") for kw in calls)
    assert plots.projection_legend(list("abcdefghi"))[-1] == "other: 1 more label (1)"


def test_the_pieces_of_the_page_that_carry_the_fixes(report_data: ReportData) -> None:  # noqa: F811
    from visrec.report.html import data_name, header_row

    assert ".scroll{max-width:100%;overflow-x:auto}" in CSS
    assert header_row(["", "a"]) == "<td></td><th>a</th>"
    assert data_name("/proc/self/fd/3") == "" and data_name("data/u.csv") == "u.csv"
    page = render_report(report_data)
    for corner in ("<th>cluster</th>", "<th>true \\ predicted</th>", "<th>model</th>"):
        assert corner in page, corner
    assert '<p class="explain">Categories (items): ' in page
