"""Behaviour of the reports (report/html.py, plots.py, similar.py, rating.py) and the
similar-items search that a mutation audit found no test checking: each test fails
when the line it names is changed as the audit changed it."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from test_embed_mutation_gaps import figures as figures
from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_knn import knn_rating
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.report import plots
from visrec.report.evaluation import render_evaluation_report
from visrec.report.html import DEMO_INTRO, ReportData, _fmt, _num_cls, render_report
from visrec.report.rating import render_rating_report, write_rating_report
from visrec.report.similar import render_similar_report, write_similar_report
from visrec.search.knn import Neighbours, similar_items

EVIL = '<script>alert("x")</script>'


def _photos(tmp_path: Path) -> dict[str, Path]:
    photos = {}
    for item, colour in (("a", (255, 0, 0)), ("b", (0, 0, 255))):
        photos[item] = tmp_path / f"{item}.jpg"
        Image.new("RGB", (32, 32), colour).save(photos[item])
    return photos


def test_each_repeated_photo_has_a_class_of_its_own_holding_its_picture(tmp_path: Path) -> None:
    photos = _photos(tmp_path)
    res = [Neighbours("a", ["b"], np.array([0.5])), Neighbours("b", ["a"], np.array([0.5]))]
    page = render_similar_report(res, photos, {})
    # tiles in order: query a, its neighbour b, query b, its neighbour a
    assert re.findall(r"thumb shared (p\d+)", page) == ["p0", "p1", "p1", "p0"]
    rules = dict(
        re.findall(r"\.(p\d+)\{background-image:url\(data:image/jpeg;base64,([^)]*)\)", page)
    )
    for item, name in (("a", "p0"), ("b", "p1")):
        jpg = plots.thumbnail_jpeg(photos[item])
        assert jpg is not None and rules[name] == base64.b64encode(jpg).decode("ascii")


def test_the_query_heading_shows_a_bidi_override_escaped() -> None:
    page = render_similar_report([Neighbours("ab\u202ecd", ["x"], np.array([0.5]))], {}, {})
    assert "\u202e" not in page
    assert "<h3>items most like &#x27;ab\\u202ecd&#x27;</h3>" in page


def test_an_id_asked_for_gets_the_spelling_hint_when_that_spelling_has_no_picture() -> None:
    vecs = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)  # "7": no picture
    iv = ItemVectors(ids=["7", "8", "9"], vectors=vecs, has_image=np.ones(3, bool))
    with pytest.raises(VisrecError, match=r"unknown item id '007'.*\(it has '7'; ids are compared"):
        similar_items(iv, ["007"])


def _rating_result(protocol: str) -> dict[str, Any]:
    models = (
        ("item mean", "baseline", 1.0),
        ("KNN k=3 (image)", "picture", 0.9),
        ("biased MF", "ratings", 0.95),
        ("biased MF + visual", "ratings + picture", 0.94),
    )
    runs = [
        {
            "model": m,
            "uses": u,
            "seed": s,
            "rmse": r + s / 100,
            "mae": 0.7,
            "accuracy": 0.4,
            "fit_seconds": 0.1,
        }
        for s in (1, 2, 3)
        for m, u, r in models
    ]
    return {"runs": runs, "n_train": 80, "n_test": 20, "protocol": protocol, "seeds": [1, 2, 3]}


def test_the_rating_report_words_the_protocol_and_keeps_the_notes() -> None:
    cold = render_rating_report({**_rating_result("cold-items"), "notes": ["42 <dropped>"]}, {})
    assert "on the picture alone" in cold and "Every test item is new here" in cold
    assert "42 &lt;dropped&gt;" in cold
    rows = render_rating_report(_rating_result("random"), {})
    assert "mostly other ratings of the same items" in rows
    assert "Every test item is new here" not in rows
    # the seeds listed, not counted
    assert re.search(r"<th>seeds</th><td[^>]*>1, 2, 3</td>", cold)
    # every row of the results table has as many cells as its header (fit s labelled)
    table = cold.split("<th>fit s</th>", 1)[1].split("</table>", 1)[0]
    head = cold.split("<th>fit s</th>", 1)[0].rsplit("<tr>", 1)[1].count("<th>") + 1
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        assert row.count("<th>") + row.count("<td") == head


def test_the_rating_report_escapes_model_names_and_what_they_use() -> None:
    result = _rating_result("random")
    for run in result["runs"]:
        if run["model"] == "item mean":
            run["model"], run["uses"] = "<b>mean", "baseline"
        if run["uses"] == "picture":
            run["model"] = "KNN <i>"
    page = render_rating_report(result, {})
    assert "<b>mean" not in page and "&lt;b&gt;mean" in page
    assert "KNN <i>" not in page and "KNN &lt;i&gt;" in page


@pytest.mark.parametrize("which", ["rating", "similar"])
def test_the_rating_and_similar_reports_are_written_atomically(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.html"
    target.write_text("old report")
    odd = "d/\udcff.csv"  # an undecodable name: write_text would raise and leave '' behind

    def write() -> None:
        if which == "rating":
            write_rating_report(target, _rating_result("random"), {"interactions": odd})
        else:
            res = [Neighbours("a", ["b"], np.array([0.5]))]
            write_similar_report(target, res, {}, {"vectors": odd})

    write()
    assert "\\udcff" in target.read_text(encoding="utf-8")
    target.write_text("old report")
    import visrec._atomic as atomic

    def failing(path: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", failing)
    with pytest.raises((OSError, VisrecError)):
        write()
    assert target.read_text() == "old report"


def _knn_report_data() -> ReportData:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))])
    y = np.array([5.0] * 14 + [1.0] * 6 + [1.0] * 14 + [3.5] * 6)
    return ReportData(title="t", dataset="d", knn=knn_rating(x, y, k=3), parts=("knn",))


def test_the_knn_table_and_bars_give_each_model_its_own_figures(figures: list[Any]) -> None:
    data = _knn_report_data()
    res = data.knn
    assert res.mae != res.majority_mae and res.accuracy != res.majority_accuracy
    html = render_report(data)
    knn_row = re.search(r"<tr><th>KNN \(k=3\) on image vectors[^<]*</th>(.*?)</tr>", html)
    maj_row = re.search(r"<tr><th>majority class[^<]*</th>(.*?)</tr>", html)
    assert knn_row and maj_row
    assert re.findall(r">([\d.]+)<", knn_row.group(1)) == [f"{res.accuracy:.3f}", f"{res.mae:.3f}"]
    assert re.findall(r">([\d.]+)<", maj_row.group(1)) == [
        f"{res.majority_accuracy:.3f}",
        f"{res.majority_mae:.3f}",
    ]
    bars = next(f for f in figures if any(t.get_text() == "KNN on image vectors"
                                          for t in f.axes[0].get_yticklabels()))  # fmt: skip
    ax = bars.axes[0]
    widths = {
        t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches, strict=True)
    }
    assert widths["KNN on image vectors"] == pytest.approx(res.accuracy)
    # its own line break kept (a label's escape is drawn escaped, not this)
    assert widths["always 1 star\n(majority class)"] == pytest.approx(res.majority_accuracy)
    # half stars are labelled as such: "always 3 stars" for 3.5 would be wrong
    assert plots._short(3.5) == "3.5" and plots._short(4.0) == "4"


def test_the_cluster_table_shows_the_chance_levels_it_names() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (10, 3))])
    res = cluster_vs_labels(x, ["a"] * 7 + ["b"] * 3 + ["b"] * 8 + ["a"] * 2, k=2)
    figures = {float(res.nmi), float(res.chance_nmi), float(res.purity), float(res.majority_share),
               float(res.chance_purity)}  # fmt: skip
    assert len({f"{v:.3f}" for v in figures}) == 5  # all told apart
    html = render_report(ReportData(title="t", dataset="d", cluster=res, parts=("clusters",)))
    for name, value in [
        ("NMI with the categories shuffled (chance)", res.chance_nmi),
        ("purity of one cluster (most common category)", res.majority_share),
        ("purity with the categories shuffled (chance)", res.chance_purity),
    ]:
        assert f'<th>{name}</th><td class="num">{float(value):.3f}</td>' in html


def test_captions_titles_and_summary_keys_are_escaped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (4, 3)), rng.normal(5, 0.1, (4, 3))])
    res = cluster_vs_labels(x, ["a"] * 4 + ["b"] * 4, k=2)
    img = tmp_path / "t.png"
    Image.new("RGB", (20, 20), (1, 2, 3)).save(img)
    data = ReportData(
        title=f"t {EVIL}",
        dataset="d",
        summary={f"key {EVIL}": 1},
        cluster=res,
        cluster_samples={0: [("i0", img)], 1: [("i1", img)]},
        item_labels={"i0": EVIL},
        parts=("summary", "clusters"),
    )
    html = render_report(data)
    assert EVIL not in html
    assert (
        f"<br>{EVIL.replace('<', '&lt;').replace('>', '&gt;').replace(chr(34), '&quot;')}" in html
    )
    assert "<title>t &lt;script&gt;" in html and "<th>key &lt;script&gt;" in html
    page = render_evaluation_report(
        {
            "protocol": "warm",
            "k": 10,
            "runs": [
                {
                    "seed": 0,
                    "model": "popularity",
                    "recall": 0.1,
                    "ndcg": 0.1,
                    "auc": 0.6,
                    "fit_s": 0.1,
                }
            ],
        },
        {"interactions": "a<b>&.csv"},
    )
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "a&lt;b&gt;&amp;.csv" in title and "<b>" not in title


def test_own_intro_recommenders_note_fit_seconds_and_corner_label() -> None:
    table = pd.DataFrame({"AUC": [0.61], "fit (s)": [3.93]}, index=pd.Index(["bpr"], name="model"))
    html = render_report(
        ReportData(
            title="t",
            dataset="d",
            intro="My own intro.",
            recommenders=table,
            recommenders_note="Read me.",
            parts=("recommenders",),
        )
    )
    assert "My own intro." in html and DEMO_INTRO not in html
    assert "Read me." in html
    assert '<td class="num">3.9</td>' in html and "3.930" not in html
    assert "<tr><th>model</th><th>AUC</th>" in html


def test_formatting_of_counts_flags_and_missing_values() -> None:
    assert _fmt(1683) == "1,683" and _fmt(np.int64(12000)) == "12,000"
    assert _fmt(True) == "yes" and _fmt(False) == "no"
    assert _fmt(float("nan")) == "n/a" and _num_cls("n/a") == ' class="num"'
    assert _num_cls(True) == "" and _num_cls(3) == ' class="num"' and _num_cls("a path") == ""


def test_an_empty_projection_is_said_not_drawn(figures: list[Any]) -> None:
    data = ReportData(title="t", dataset="d", projection=np.empty((0, 2)), parts=("projection",))
    html = render_report(data)
    assert "no vectors to project" in html and figures == []


def test_the_map_puts_every_point_where_it_is_grey_ones_too(figures: list[Any]) -> None:
    rng = np.random.default_rng(0)
    labels = [f"c{i}" for i in range(10) for _ in range(10 - i)]  # 10 labels: 2 in grey
    xy = rng.random((len(labels), 2))
    plots.projection_png(xy, labels)
    ax = figures[-1].axes[0]
    drawn = np.vstack([c.get_offsets() for c in ax.collections])
    assert len(drawn) == len(xy)
    assert sorted(map(tuple, drawn.round(9))) == sorted(map(tuple, xy.round(9)))
    grey = [c for c in ax.collections if c.get_label().startswith("other")]
    assert len(grey) == 1 and len(grey[0].get_offsets()) == 2 + 1  # c8 (2) and c9 (1)


def test_a_legend_label_in_dollars_is_drawn_as_written() -> None:
    # read as TeX, "$\\foo$" stopped the plot at savefig
    png = plots.projection_png([[0.0, 1.0], [1.0, 2.0]], ["$\\foo$", "b"])
    assert png.startswith(b"\x89PNG")


def test_metric_bars_take_the_finite_seeds_and_colour_by_role(figures: list[Any]) -> None:
    runs = pd.DataFrame({
        "seed": [0, 1, 0, 1, 0, 1],
        "model": ["popularity", "popularity", "bpr", "bpr", "vbpr", "vbpr"],
        "auc": [0.8, np.nan, np.nan, np.nan, 0.4, 0.45],
    })  # fmt: skip
    plots.metric_bars_png(runs, ["popularity", "bpr", "vbpr"], [("auc", "AUC", 0.5)],
                          image_models=["vbpr"])  # fmt: skip
    ax = figures[-1].axes[0]
    bars = ax.patches
    # popularity: its one finite seed; bpr: none, a bar of no width at chance
    assert bars[0].get_x() == 0.5 and bars[0].get_width() == pytest.approx(0.3)
    assert bars[1].get_x() == 0.5 and bars[1].get_width() == 0.0
    assert bars[2].get_x() + bars[2].get_width() == pytest.approx(0.425)
    assert ax.get_xlim()[0] <= 0.4  # an AUC below chance stays on the axis
    colours = [tuple(round(c, 3) for c in b.get_facecolor()[:3]) for b in bars]
    grey, blue = (0.6, 0.6, 0.6), tuple(round(int(plots.PALETTE[0][i:i + 2], 16) / 255, 3)
                                        for i in (1, 3, 5))  # fmt: skip
    assert colours[0] == grey and colours[2] == blue and colours[1] not in (grey, blue)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["popularity", "bpr", "vbpr"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # the first model on top
