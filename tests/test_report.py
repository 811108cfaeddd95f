"""The self-contained HTML report (visrec.report.html)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_knn import knn_rating
from visrec.report.html import ReportData, render_report, write_report

EVIL = '<script>alert("x")</script>'


@pytest.fixture
def report_data(tmp_path: Path) -> ReportData:
    rng = np.random.default_rng(0)
    # two well separated blobs labelled with names that need escaping
    x = np.vstack([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (10, 3))])
    labels = [EVIL] * 10 + ["Bags & Co"] * 10
    cluster = cluster_vs_labels(x, labels)
    img = tmp_path / "thumb.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(img)
    samples = {0: [(f"{EVIL}-item", img)], 1: [("plain", img), ("broken", tmp_path / "nope")]}
    # ratings that follow the blob: KNN is perfect, the majority class half right
    y = np.array([5.0] * 10 + [1.0] * 10)
    knn = knn_rating(np.repeat(x, 3, axis=0), np.repeat(y, 3), k=3)
    return ReportData(
        title="test report",
        dataset=f"set {EVIL}",
        summary={"items": 20, "note": "a < b & c"},
        cluster=cluster,
        cluster_samples=samples,
        projection=x[:, :2],
        projection_labels=labels,
        knn=knn,
        timings={"embed": 1.25},
    )


def test_sections_and_numbers(report_data: ReportData) -> None:
    html = render_report(report_data)
    for sid in ("summary", "clusters", "cluster-grids", "projection", "knn", "confusion"):
        assert f'<section id="{sid}">' in html
    c, k = report_data.cluster, report_data.knn
    assert c.ari == pytest.approx(1.0)
    assert f'<th>ARI</th><td class="num">{c.ari:.3f}</td>' in html
    assert f'<th>purity</th><td class="num">{c.purity:.3f}</td>' in html
    assert f"{k.accuracy:.3f}" in html and f"{k.majority_accuracy:.3f}" in html
    assert k.accuracy == pytest.approx(1.0)
    assert "KNN beats the majority class" in html
    assert "1.2 s" in html  # timings
    # each blob is one cluster of one label: "mostly" it, escaped
    assert "10 items &middot; mostly Bags &amp; Co (100%)</h3>" in html


def test_cluster_heading_says_mostly_only_for_a_majority() -> None:
    from visrec.report.html import cluster_label

    assert cluster_label(pd.Series({"Shoes": 9, "Bags": 1})) == "mostly Shoes (90%)"
    # a plurality is not "mostly"; a tie is said
    assert cluster_label(pd.Series({"Drama": 39, "Comedy": 39, "Action": 42})) == (
        "most common: Action, 42 of 120 (35%)"
    )
    assert cluster_label(pd.Series({"Comedy": 39, "Drama": 39, "War": 10})) == (
        "most common: Comedy, 39 of 88 (44%), tied with Drama"
    )
    assert cluster_label(pd.Series({"a": 1, "b": 1})) == "most common: a, 1 of 2 (50%), tied with b"


def test_ari_is_read_in_words(report_data: ReportData) -> None:
    from visrec.report.html import ari_reading

    assert "about chance" in ari_reading(0.038)  # no permutation p (a result without one)
    assert "weakly" in ari_reading(0.2) and "in good part" in ari_reading(0.479)
    assert "largely are the categories" in ari_reading(0.779)  # fashion, three categories
    assert "largely are" not in ari_reading(0.9999) and "are the categories" in ari_reading(1.0)
    # with its permutation p: MovieLens posters vs genre are weak but far above chance,
    # and 0.2 on a dozen random items is no finding
    assert ari_reading(0.033, 0.005) == (
        "ARI 0.033: above chance (none reached it, p = 0.005 with the labels shuffled 199 "
        "times); the clusters barely follow the categories."
    )
    assert ari_reading(0.2, 0.12) == (
        "ARI 0.200: not shown to be above chance (labels shuffled 199 times reach it: "
        "p = 0.120); too few items or clusters to tell."
    )
    page = render_report(report_data)
    assert "ARI 1.000: above chance (" in page and "the clusters are the categories." in page


def test_all_text_is_escaped(report_data: ReportData) -> None:
    html = render_report(report_data)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Bags &amp; Co" in html
    assert "a &lt; b &amp; c" in html


def test_self_contained(report_data: ReportData) -> None:
    html = render_report(report_data)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    srcs = re.findall(r'src="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    # 3 plots + 2 readable thumbnails; the unreadable one is a placeholder
    pngs = [s for s in srcs if s.startswith("data:image/png")]
    jpgs = [s for s in srcs if s.startswith("data:image/jpeg")]
    assert len(pngs) == 3 and len(jpgs) == 2
    assert 'class="thumb missing"' in html
    raw = base64.b64decode(pngs[0].split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"


def test_skipped_sections_say_why(tmp_path: Path) -> None:
    data = ReportData(
        title="t",
        dataset="d",
        summary={"items": 3},
        cluster_note="no category labels",
        knn_note="no ratings in this dataset",
    )
    html = render_report(data)
    assert html.count("no ratings in this dataset") == 2  # KNN and confusion sections
    assert "no category labels" in html
    assert "<img" not in html


def test_write_is_atomic_and_creates_folders(report_data: ReportData, tmp_path: Path) -> None:
    target = tmp_path / "report" / "index.html"
    assert write_report(target, report_data) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["index.html"]  # no temp files
    target.write_text("old")
    report_data.summary = {"boom": object()}
    report_data.cluster = "not a cluster result"  # rendering fails half way
    with pytest.raises(AttributeError):
        write_report(target, report_data)
    assert target.read_text() == "old"


def test_confusion_table_matches_knn(report_data: ReportData) -> None:
    html = render_report(report_data)
    conf: pd.DataFrame = report_data.knn.confusion
    assert list(conf.index) == [1.0, 5.0]
    n1 = int(conf.loc[1.0, 1.0])
    assert n1 > 0
    assert f'<th>true 1</th><td class="num">{n1}</td>' in html


def test_ari_not_available() -> None:
    from visrec.report.html import ari_reading

    assert ari_reading(float("nan")) == "ARI n/a."


def test_knn_verdict_states_the_gap_in_percentage_points() -> None:
    # the sentence's number is (accuracy - majority accuracy) x 100
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.analysis.rating_knn import knn_rating
    from visrec.report.html import ReportData, render_report

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (10, 3))])
    y = np.array([5.0] * 10 + [1.0] * 10)
    knn = knn_rating(np.repeat(x, 3, axis=0), np.repeat(y, 3), k=3)
    assert knn.accuracy == pytest.approx(1.0)
    data = ReportData(
        title="t", dataset="d", summary={}, cluster=cluster_vs_labels(x, ["a"] * 10 + ["b"] * 10),
        cluster_samples={}, projection=x[:, :2], projection_labels=["a"] * 10 + ["b"] * 10,
        knn=knn, timings={},
    )  # fmt: skip
    html = render_report(data)
    gap = (1.0 - knn.majority_accuracy) * 100
    assert gap > 20  # the majority class is about half right
    assert f"KNN beats the majority class by {gap:.1f} percentage points of accuracy" in html


def test_ari_reading_bands_are_half_open() -> None:
    # 0.4 is the start of "in good part", not the end of "weakly"
    from visrec.report.html import ari_reading

    assert ari_reading(0.4) == "ARI 0.400: the clusters follow the categories in good part."
    assert ari_reading(0.1) == "ARI 0.100: the clusters follow the categories weakly."
