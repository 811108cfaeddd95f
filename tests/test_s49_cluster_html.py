"""`visrec cluster --report` shows category labels from the data as the terminal shows
them (``visrec.errors.shown``: a tab or a line break in quotes with escapes) and
HTML-escaped, in the table's header, each cluster's heading, the map's alt text, its
caption and its legend."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report import plots
from visrec.report.html import cluster_label, render_report

SCRIPT = "<script>x</script>"
LONG = "L" * 300
LABELS = [SCRIPT, "a&b", "tab\there", LONG]
#: each label as the page must show it: escaped, the tab as Python writes it
ON_PAGE = {
    SCRIPT: "&lt;script&gt;x&lt;/script&gt;",
    "a&b": "a&amp;b",
    "tab\there": "&#x27;tab\\there&#x27;",
    LONG: LONG,
}


def _cluster_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The page `visrec cluster --report` writes for four far-apart blobs of 10 items,
    one label each (so each cluster is "mostly" its label)."""
    rng = np.random.default_rng(0)
    vecs = np.vstack([rng.normal(20 * b, 0.1, (10, 3)) for b in range(4)]).astype(np.float32)
    ids = [f"p{i}" for i in range(40)]
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, vecs, np.ones(40, dtype=bool)))
    # a CSV field in quotes holds the tab and the markup as written
    rows = [f'{i},"{LABELS[n // 10]}"' for n, i in enumerate(ids)]
    (tmp_path / "l.csv").write_text("id,kind\n" + "\n".join(rows) + "\n")
    out = tmp_path / "c.html"
    argv = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "l.csv"),
            "--id-col", "id", "--label-col", "kind", "--report", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    return out.read_text()


def test_cluster_page_shows_labels_escaped_in_header_heading_caption_and_alt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _cluster_page(tmp_path, capsys)
    assert "<script" not in page
    assert "\t" not in page  # the tab would read as a space: "tab here"
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", page, re.S)
    assert head is not None
    cells = re.findall(r"<th>(.*?)</th>", head.group(1))
    assert sorted(cells) == sorted(["cluster", *ON_PAGE.values(), "total"])
    alt = re.search(r'<img class="plot" alt="([^"]*)"', page)
    caption = re.search(r"Categories \(items\): (.*?)\.</p>", page)
    assert alt is not None and caption is not None
    for text in (alt.group(1), caption.group(1)):
        for label, shown in ON_PAGE.items():
            assert f"{shown} (10)" in text, (label, text)


def test_cluster_headings_show_labels_escaped(tmp_path: Path) -> None:
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.report.html import ReportData

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(20 * b, 0.1, (10, 3)) for b in range(4)])
    labels = [lab for lab in LABELS for _ in range(10)]
    res = cluster_vs_labels(x, labels)
    img = tmp_path / "missing.jpg"  # a "?" tile: the heading is what is tested
    samples = {c: [(f"i{c}", img)] for c in range(4)}
    data = ReportData(
        title="t", dataset="d", cluster=res, cluster_samples=samples, parts=("clusters",)
    )
    page = render_report(data)
    h3 = re.findall(r"<h3>cluster \d+ &middot; 10 items &middot; (.*?)</h3>", page)
    assert sorted(h3) == sorted(f"mostly {s} (100%)" for s in ON_PAGE.values())
    assert "<script" not in page and "\t" not in page


def test_cluster_label_names_the_tied_labels_as_shown() -> None:
    said = cluster_label(pd.Series({"tab\there": 2, "line\nbreak": 2, "<b>x</b>": 1}))
    assert said == "most common: 'tab\\there', 2 of 5 (40%), tied with 'line\\nbreak'"
    assert html.escape(cluster_label(pd.Series({"<b>x</b>": 3, "y": 1}))) == (
        "mostly &lt;b&gt;x&lt;/b&gt; (75%)"
    )


def test_table_total_is_named_on_the_shown_labels() -> None:
    from visrec.report.html import _table

    # "total" is a label: the sums column is "(total)"; a label with a line break is
    # one header, shown in quotes, not two lines the browser folds into "a b"
    frame = pd.DataFrame({"total": [1], "a\nb": [2], "&amp;": [3]}, index=[0])
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", _table(frame, "cluster", total=True))
    assert head is not None
    assert re.findall(r"<th>(.*?)</th>", head.group(1)) == [
        "cluster", "total", "&#x27;a\\nb&#x27;", "&amp;amp;", "(total)",
    ]  # fmt: skip


def test_projection_legend_shows_each_label_whole() -> None:
    legend = plots.projection_legend(["a\nb", "a\nb", "tab\there", "<b>x</b>"])
    assert legend == ["'a\\nb' (2)", "<b>x</b> (1)", "'tab\\there' (1)"]


def test_map_legend_draws_labels_shown_whole_and_wraps_long_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    figures: list[Any] = []

    def keep(fig: Any) -> bytes:
        figures.append(fig)
        return b""

    monkeypatch.setattr(plots, "_png", keep)
    long = "word " * 30 + "end"
    labels = ["a\nb", "tab\there", "$1-$2", long]
    plots.projection_png(np.arange(8.0).reshape(4, 2), labels)
    texts = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    # the line break and the tab as the page shows them, on one line; "$" not TeX
    assert "'a\\nb' (1)" in texts and "'tab\\there' (1)" in texts
    assert "\\$1-\\$2 (1)" in texts
    (wrapped,) = [t for t in texts if t.startswith("word")]
    lines = wrapped.split("\n")
    assert len(lines) > 1 and all(len(line) <= plots.LEGEND_WIDTH for line in lines)
    assert " ".join(lines) == f"{long} (1)"  # wrapped, nothing cut


def test_plot_ticks_escape_data_labels_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    figures: list[Any] = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or b"")
    runs = pd.DataFrame({"model": ["two\nlines", "plain"], "auc": [0.6, 0.7]})
    plots.metric_bars_png(runs, ["two\nlines", "plain"], [("auc", "AUC", 0.5)])
    ticks = [t.get_text() for t in figures[0].axes[0].get_yticklabels()]
    assert ticks == ["'two\\nlines'", "plain"]


def test_kept_labels_are_said_as_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    vecs = np.vstack([rng.normal(20 * b, 0.1, (10, 3)) for b in range(3)]).astype(np.float32)
    ids = [f"p{i}" for i in range(30)]
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, vecs, np.ones(30, dtype=bool)))
    kinds = ["tab\there", "<b>x</b>", "z"]
    rows = [f'{i},"{kinds[n // 10]}"' for n, i in enumerate(ids)]
    (tmp_path / "l.csv").write_text("id,kind\n" + "\n".join(rows) + "\n")
    out = tmp_path / "c.html"
    argv = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "l.csv"),
            "--id-col", "id", "--label-col", "kind", "--top-labels", "2", "--report",
            str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "kept labels <b>x</b>, 'tab\\there';" in err and "\t" not in err
    page = out.read_text()
    assert "<td>&lt;b&gt;x&lt;/b&gt;, &#x27;tab\\there&#x27;</td>" in page
    assert "<b>x</b>" not in page
