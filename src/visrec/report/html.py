"""A single self-contained HTML report (``report/index.html``) of a visrec run.

Plots are PNGs and thumbnails are JPEGs, both embedded as base64 ``data:`` URIs; there
are no scripts and no links to anything outside the file, so it can be mailed or opened
offline. Every piece of text that comes from data (item ids, labels, file names) is
escaped with ``html.escape``. The file is written atomically.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec import __version__
from visrec._atomic import write_text_atomic
from visrec.errors import counted
from visrec.report import plots


@dataclass
class ReportData:
    """Everything the report shows; sections whose data is None say why they are empty.

    Attributes
    ----------
    title : str
    dataset : str
        Dataset name shown in the heading (e.g. ``generated catalogue``).
    summary : mapping of str to object
        Dataset summary rows (label -> value), shown as a two-column table.
    cluster : ClusterResult, optional
        From :func:`visrec.analysis.cluster.cluster_vs_labels`.
    cluster_samples : mapping of int to list of (item_id, image path)
        Sample items per cluster for the image grids.
    cluster_note : str, optional
        Why the clustering section is empty, or a caveat about it.
    item_labels : mapping of str to str
        Each item's category, shown under its photo in the cluster grids.
    projection : ndarray of shape (n, 2), optional
        2-D coordinates of the items.
    projection_labels : sequence of str
        The items' categories (n,), to colour the map by.
    projection_method : str, default "PCA"
        How the map was made, named in its caption.
    projection_explained : (float, float), optional
        The share of the variance each axis of the map holds (PCA), when known.
    knn : KnnRatingResult, optional
        From :func:`visrec.analysis.rating_knn.knn_rating`.
    knn_note : str, optional
        Why the rating section is empty (e.g. "no ratings in this dataset").
    recommenders : DataFrame, optional
        A model x metric table.
    recommenders_note : str, optional
        What the table shows, or why it is absent.
    timings : mapping of str to float
        Seconds per stage; with two or more (and none named "total"), a total row.
    parts : tuple of str
        The sections to show, of ``PARTS`` (``visrec cluster --report`` shows only the
        clusters and the map; the demo shows all).
    intro : str, optional
        The paragraph under the heading (default: the demo's).
    images_note : str, optional
        Shown instead of the cluster image grids when there are no samples.
    """

    title: str
    dataset: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    cluster: Any = None
    cluster_samples: Mapping[int, Sequence[tuple[str, str | os.PathLike[str]]]] = field(
        default_factory=dict
    )
    cluster_note: str | None = None
    item_labels: Mapping[str, str] = field(default_factory=dict)
    projection: np.ndarray | None = None
    projection_labels: Sequence[str] = ()
    projection_method: str = "PCA"
    projection_explained: tuple[float, float] | None = None
    knn: Any = None
    knn_note: str | None = None
    recommenders: pd.DataFrame | None = None
    recommenders_note: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    parts: tuple[str, ...] = ("summary", "clusters", "projection", "knn", "recommenders")
    intro: str | None = None
    images_note: str | None = None


PARTS = ("summary", "clusters", "projection", "knn", "recommenders")
DEMO_INTRO = (
    "Items are turned into vectors by a pretrained image network; the sections below ask "
    "whether those vectors know what a product is (clusters vs categories), whether "
    "they say anything about how people rate it (rating KNN vs a baseline) and, when "
    "the recommenders ran, whether they help recommend, new items included."
)


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def id_html(item_id: object, as_escapes: bool = False) -> str:
    """An id or label escaped for the page, as the terminal shows it: a line break, a
    NUL or a bidi override in quotes with escapes (a browser would fold, drop or obey
    them, and two ids would read alike); all of it as escapes (``ascii``) with
    ``as_escapes``, for an id that prints like another one on the page. An id with a
    run of spaces, or one at either end, keeps them (``pre-wrap``): a browser folds
    them into one or none, and ``"a  b"`` would read as ``"a b"``."""
    from visrec.errors import shown

    text = ascii(str(item_id)) if as_escapes else shown(str(item_id))
    if _FOLDED_SPACES.search(text):
        return f'<span style="white-space:pre-wrap">{_e(text)}</span>'
    return _e(text)


#: spaces a browser would fold: a run of them, or one at the start or end
_FOLDED_SPACES = re.compile(r"^ | $|  ")


def _img(png: bytes, alt: str, mime: str = "image/png", cls: str = "plot") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{_e(alt)}" src="data:{mime};base64,{data}">'


def _missing(v: object) -> bool:
    """None, pd.NA or a NaT: read as a NaN is ("None" or "<NA>" would be taken for data)."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, np.datetime64) and np.isnat(v))


def _fmt(v: object) -> str:
    if _missing(v):
        return "n/a"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        return "n/a" if v != v else f"{float(v):.3f}"  # NaN: a metric with nothing to rank
    return str(v)


def _num_cls(v: object) -> str:
    """Right-aligned for numbers only: a path or a sentence reads from the left."""
    number = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
    written = isinstance(v, str) and re.fullmatch(r"[-+]?[\d,]*\.?\d+%?|n/a", v.strip())
    return ' class="num"' if number or written or _missing(v) else ""


def scrolling(table: str) -> str:
    """``table`` in a box that scrolls sideways when it is wider than the page (the
    table itself keeps its display, so screen readers still read it as a table)."""
    return f'<div class="scroll">{table}</div>'


def grid_table(head: str, rows: Iterable[str]) -> str:
    """A data table: ``head`` its header cells, ``rows`` its ``<tr>`` rows, in the
    sideways-scrolling box (:func:`scrolling`)."""
    return scrolling(
        f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def header_row(names: Sequence[str]) -> str:
    """A table's header cells, shown as :func:`id_html` shows ids (the names are often
    labels from the data); an empty one (the corner above the row names) is a plain
    cell, not a header a screen reader announces as blank."""
    return "".join(f"<th>{id_html(n)}</th>" if n else "<td></td>" for n in names)


def _table(frame: pd.DataFrame, index_name: str = "", total: bool = False) -> str:
    """An escaped HTML table of ``frame`` (values formatted with ``_fmt``)."""
    from visrec.analysis.cluster import total_name
    from visrec.errors import shown

    # the total's name is kept apart from the labels as the page shows them
    cols = [shown(str(c)) for c in frame.columns]
    head = header_row([index_name, *cols, *([total_name(cols)] if total else [])])
    rows = []
    for idx, row in frame.iterrows():
        cells = "".join(f"<td{_num_cls(v)}>{_e(_fmt(v))}</td>" for v in row.to_list())
        if total:
            cells += f'<td class="num total">{_e(_fmt(row.sum()))}</td>'
        rows.append(f"<tr><th>{id_html(idx)}</th>{cells}</tr>")
    return grid_table(head, rows)


def _kv_table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{_e(k)}</th><td{_num_cls(v)}>{_e(_fmt(v))}</td></tr>" for k, v in rows.items()
    )
    return scrolling(f'<table class="kv"><tbody>{body}</tbody></table>')


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _note(text: str | None, cls: str = "note") -> str:
    return f'<p class="{cls}">{_e(text)}</p>' if text else ""


def _label_of(labels: Mapping[str, str], item_id: str) -> str | None:
    """An item's label for a caption, shown as :func:`id_html` shows ids."""
    from visrec.errors import shown

    label = labels.get(item_id)
    return None if label is None else shown(str(label))


def photo_tile(
    item_id: str,
    photo: str | os.PathLike[str] | None,
    caption: str | None = None,
    cls: str | None = None,
    as_escapes: bool = False,
) -> str:
    """A small embedded photo captioned with the item id (and ``caption`` under it); a
    grey "?" tile when there is no photo or it cannot be decoded. ``cls`` marks the tile
    (``"query"``: outlined); ``as_escapes``: the id as :func:`id_html` writes it so."""
    jpg = plots.thumbnail_jpeg(photo) if photo is not None else None
    inner = (
        _img(jpg, "photo", mime="image/jpeg", cls="thumb")  # the caption names the item
        if jpg
        else '<span class="thumb missing" role="img" aria-label="no photo">?</span>'
    )
    under = f"<br>{_e(caption)}" if caption else ""
    marked = f' class="{cls}"' if cls else ""
    caption_html = f"<figcaption>{id_html(item_id, as_escapes)}{under}</figcaption>"
    return f"<figure{marked}>{inner}{caption_html}</figure>"


def _cluster_sections(data: ReportData) -> list[str]:
    res = data.cluster
    if res is None:
        msg = data.cluster_note or "clustering was not run"
        return [_section("clusters", "Clusters vs categories", _note(msg, "skipped"))]
    table = res.table.copy()
    table.index = [str(c) for c in table.index]
    body = [
        f"<p>K-means with k = {res.k} on {res.n:,} item vectors, compared with the "
        "item categories (rows: clusters, columns: categories, cells: item counts).</p>",
        _table(table, "cluster", total=True),
        _kv_table(
            {
                "ARI": float(res.ari),
                "NMI": float(res.nmi),
                "NMI with the categories shuffled (chance)": float(res.chance_nmi),
                "purity": float(res.purity),
                "purity of one cluster (most common category)": res.majority_share,
                "purity with the categories shuffled (chance)": float(res.chance_purity),
            }
        ),
        '<p class="explain">ARI (adjusted Rand index) is 1 when the clusters are exactly '
        "the categories and about 0 when they are no better than chance; NMI measures the "
        "same agreement as shared information (0 to 1), but is above 0 by chance alone "
        "with few items per cluster. Purity is the share of items whose cluster's most "
        "common category is their own: it rises with more clusters, and one cluster of "
        "everything already scores the most common category's share. So both are shown "
        "next to their value with the categories shuffled against the same clusters (the "
        "mean of 20 shuffles: what pictures that know nothing of the category score); "
        "read them against it and together with ARI.</p>",
        f"<p><strong>{_e(ari_reading(float(res.ari), float(res.ari_p)))}</strong></p>",
        _note(data.cluster_note),
    ]
    sections = [_section("clusters", "Clusters vs categories", "\n".join(body))]
    if not data.cluster_samples:
        note = data.images_note or "no images to show"
        sections.append(
            _section("cluster-grids", "What each cluster looks like", _note(note, "skipped"))
        )
        return sections

    grids = []
    for c in res.table.index:
        # keyed by the cluster number, as an int or as text ("0" from a JSON file)
        samples = data.cluster_samples.get(int(c)) or data.cluster_samples.get(str(c), [])  # type: ignore[call-overload]
        # each photo's own label: a mixed cluster shows which of its items are which
        tiles = [photo_tile(i, path, _label_of(data.item_labels, i)) for i, path in samples]
        n_c = int(res.table.loc[c].sum())
        grids.append(
            f'<div class="cluster"><h3>cluster {_e(c)} &middot; {counted(n_c, "item")} &middot; '
            f"{_e(cluster_label(res.table.loc[c]))}</h3>"
            f'<div class="tiles">{"".join(tiles) or "<p>(no images)</p>"}</div></div>'
        )
    sections.append(
        _section(
            "cluster-grids",
            "What each cluster looks like",
            '<p class="explain">A sample of items from each cluster. If the image vectors '
            "capture what a product is, each row shows one kind of product.</p>\n"
            + "\n".join(grids),
        )
    )
    return sections


def _projection_section(data: ReportData) -> str:
    if data.projection is None or len(data.projection) == 0:
        return _section(
            "projection", "2-D map of the image vectors", _note("no vectors to project", "skipped")
        )
    png = plots.projection_png(
        np.asarray(data.projection),
        data.projection_labels,
        title=f"{data.projection_method} of the image vectors, coloured by category",
        explained=data.projection_explained,
    )
    legend = "; ".join(plots.projection_legend(data.projection_labels))
    body = (
        _img(png, f"{data.projection_method} scatter, one colour and shape per category: {legend}")
        + f'<p class="explain">Categories (items): {_e(legend)}.</p>'
        + f'<p class="explain">Each dot is an item, placed by a {_e(data.projection_method)} '
        "projection of its image vector to two dimensions. Categories that form separate "
        "clouds are easy to tell apart from pictures alone; overlapping clouds are not "
        "(a 2-D map loses information, so the cluster scores above are the firmer "
        "measure).</p>"
    )
    return _section("projection", "2-D map of the image vectors", body)


def _knn_sections(data: ReportData) -> list[str]:
    from visrec.report.verdict import signed_figure

    res = data.knn
    if res is None:
        msg = data.knn_note or "rating KNN was not run"
        return [
            _section("knn", "Rating KNN vs the majority-class baseline", _note(msg, "skipped")),
            _section("confusion", "Rating confusion matrix", _note(msg, "skipped")),
        ]
    maj = plots._short(res.majority_class)
    diff = res.accuracy - res.majority_accuracy
    call, why = res.against_majority()
    if call == "beats":
        verdict = (
            f"KNN beats the majority class by {diff * 100:.1f} percentage points of "
            f"accuracy{res.on_copies()}: {why}."
        )
    elif call == "level":
        verdict = (
            f"No significant difference between KNN and the majority class: "
            f"{signed_figure(diff * 100, '.1f')} percentage points of accuracy on {res.n_test:,} "
            "test rows: "
            f"{why}."
        )
    else:
        verdict = (
            f"KNN does not beat the majority class: it is {-diff * 100:.1f} percentage "
            f"points of accuracy below it: {why}."
        )
    caveat = res.same_item_caveat()
    knn_label = f"KNN (k={res.k}) on image vectors" + (
        " (the same items are in training)" if caveat else ""
    )
    numbers = pd.DataFrame(
        {
            "accuracy": [res.accuracy, res.majority_accuracy],
            "MAE (stars)": [res.mae, res.majority_mae],
        },
        index=[knn_label, f"majority class (always {maj} {'star' if maj == '1' else 'stars'})"],
    )
    body = "\n".join(
        [
            f"<p>Each rating row's image vector predicts its star rating: "
            f"{res.n_train:,} training rows, {res.n_test:,} test rows.</p>",
            _table(numbers, "model"),
            _img(
                plots.knn_bar_png(res.accuracy, res.majority_accuracy, maj),
                "bar chart of KNN accuracy and majority-class accuracy",
            ),
            f'<p class="verdict">{_e(verdict)}</p>',
            _note(caveat and f"Caveat: {caveat}.", "warn"),
            '<p class="explain">The majority-class baseline always predicts the most common '
            "rating of the training rows. A rating model is only useful if it beats it; "
            "an accuracy reported without this baseline says little, because ratings are "
            "usually skewed towards the top stars. MAE is the mean distance in stars "
            "between the prediction and the true rating (lower is better).</p>",
            _note(data.knn_note),
        ]
    )
    conf = res.confusion.copy()
    conf.index = [f"true {plots._short(v)}" for v in conf.index]
    conf.columns = [f"pred {plots._short(v)}" for v in conf.columns]
    conf_body = "\n".join(
        [
            _img(plots.confusion_png(res.confusion), "confusion matrix heatmap"),
            _table(conf, "true \\ predicted"),
            '<p class="explain">Rows are the true ratings of the test rows, columns what '
            "KNN predicted; counts on the diagonal are correct predictions. Mass far from "
            "the diagonal means large errors.</p>",
        ]
    )
    return [
        _section("knn", "Rating KNN vs the majority-class baseline", body),
        _section("confusion", "Rating confusion matrix", conf_body),
    ]


def _recommender_section(data: ReportData) -> str:
    if data.recommenders is None:
        return _section(
            "recommenders",
            "Recommenders: popularity vs BPR vs VBPR vs visual-cf",
            _note(data.recommenders_note or "not run", "skipped"),
        )
    if data.recommenders.empty:  # no models or no metrics: a table of headers only
        return _section(
            "recommenders",
            "Recommenders: popularity vs BPR vs VBPR vs visual-cf",
            _note("no models or no metrics in the results table", "skipped")
            + _note(data.recommenders_note, "explain"),
        )
    table = data.recommenders.copy()
    for col in [c for c in table.columns if str(c).startswith("fit")]:
        # seconds to a tenth: 3.930 read like a metric
        table[col] = [v if not isinstance(v, float) or v != v else f"{v:.1f}" for v in table[col]]
    return _section(
        "recommenders",
        "Recommenders: popularity vs BPR vs VBPR vs visual-cf",
        _table(table, str(data.recommenders.index.name or ""))
        + _note(data.recommenders_note, "explain"),
    )


#: h3 and .explain break a word wider than the page (a 300-character label) instead
#: of widening it
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1000px;
color:#222;background:#fff;padding:0 1em;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.8em}h3{font-size:1em;margin:.8em 0 .3em;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.6em 0}th,td{padding:.25em .7em;border:1px solid #ddd}
thead th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.total{color:#666}table.kv th{text-align:left;background:#fafafa}
.explain{color:#444;font-size:.95em;max-width:48em;overflow-wrap:anywhere}
.skipped{color:#8a5a00;background:#fff6e0;padding:.5em .8em;border-radius:4px}
.verdict{font-weight:600}
.note{color:#555;font-size:.95em;border-left:3px solid #ccc;padding-left:.6em}
.warn{color:#7a2a00;background:#fff0e6;padding:.5em .8em;border-radius:4px}
.scroll{max-width:100%;overflow-x:auto}
img.plot{max-width:100%;height:auto;display:block;margin:.5em 0}
.tiles{display:flex;flex-wrap:wrap;gap:6px}.tiles figure{margin:0;width:92px;text-align:center}
.tiles figcaption{font-size:.75em;color:#666;overflow-wrap:anywhere}
.tiles figure.query{outline:2px solid #1f6feb;outline-offset:2px}
img.thumb{width:72px;height:72px;object-fit:contain;border:1px solid #eee;
background:#fff}.missing{display:inline-block;width:72px;height:72px;background:#eee}
.thumb.shared{display:inline-block;width:72px;height:72px;border:1px solid #eee;
background-color:#fff;background-repeat:no-repeat;background-position:center;
background-size:contain;-webkit-print-color-adjust:exact;print-color-adjust:exact}
footer{margin-top:2em;color:#666;font-size:.85em}
"""


def data_name(path: object) -> str:
    """The file name a report's title shows for an input ("u.csv"), as the terminal
    shows it (:func:`visrec.errors.shown`: callers need not quote it again); empty for
    a pipe or device (``<(...)`` is /dev/fd/63: "63" would name nothing)."""
    from visrec.errors import shown

    text = str(path or "")
    if not text or text.startswith(("/dev/", "/proc/")):
        return ""
    # a line break or a bidi override would be folded or obeyed by the browser
    return shown(Path(text).name)


def page_head(title: str, css: str = "") -> list[str]:
    """The opening lines of a report page: doctype, head with the style (and the page's
    own ``css`` rules), the heading."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}{css}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]


def verdict_section(question: str, sentences: Sequence[str]) -> str:
    """The section that answers a report's question in plain sentences."""
    body = "".join(f'<p class="verdict">{_e(s)}</p>' for s in sentences)
    return _section("verdict", question, body)


def results_title(n_seeds: int) -> str:
    return f"Results (mean ± std over {n_seeds} seeds)" if n_seeds > 1 else "Results (1 seed)"


def page_foot() -> list[str]:
    """The closing lines of a report page: the version and the time it was made."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"<footer>visrec {_e(__version__)} &middot; generated {_e(now)}</footer>",
        "</body></html>\n",
    ]


def _is_seconds(v: object) -> bool:
    real = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
    return real and math.isfinite(float(v)) and float(v) >= 0  # type: ignore[arg-type]


def render_report(data: ReportData) -> str:
    """The report as an HTML string (see :func:`write_report`)."""
    parts = [
        *page_head(data.title),
        f'<p class="explain">Dataset: <b>{_e(data.dataset)}</b>. '
        f"{_e(data.intro or DEMO_INTRO)}</p>",
    ]
    # one name is one part, not one per letter
    wanted = (data.parts,) if isinstance(data.parts, str) else tuple(data.parts)
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown report parts {unknown}; known: {', '.join(PARTS)}")
    data = replace(data, parts=wanted)
    bad = {k: v for k, v in data.timings.items() if not _is_seconds(v)}
    if bad:
        k, v = next(iter(bad.items()))
        raise ValueError(
            f"timings: {k!r} is {v!r}; each stage's time must be a number of seconds, at least 0"
        )
    if "summary" in data.parts:
        # a table with no rows would say nothing, not even that it is empty
        summary = _kv_table(data.summary) if data.summary else _note("no summary given", "skipped")
        parts.append(_section("summary", "Dataset summary", summary))
    if "clusters" in data.parts:
        parts += _cluster_sections(data)
    if "projection" in data.parts:
        parts.append(_projection_section(data))
    if "knn" in data.parts:
        parts += _knn_sections(data)
    if "recommenders" in data.parts:
        parts.append(_recommender_section(data))
    if data.timings:
        rows = {k: f"{v:.1f} s" for k, v in data.timings.items()}
        if len(rows) > 1 and "total" not in rows:
            rows["total"] = f"{sum(data.timings.values()):.1f} s"
        parts.append(
            _section(
                "timings",
                "Run time",
                _kv_table(rows)
                # the page cannot time its own writing: the demo's results.json has it
                + '<p class="explain">Not counting the writing of this report.</p>',
            )
        )
    parts += page_foot()
    return "\n".join(parts)


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Render ``data`` and write it to ``path`` atomically; returns the path.

    Parameters
    ----------
    path : path
        Usually ``.../report/index.html``; parent folders are created.
    data : ReportData
    """
    target = Path(path)
    write_text_atomic(target, render_report(data))
    return target


def cluster_label(counts: pd.Series) -> str:
    """What a cluster holds, in words: "mostly X (90%)" only for a majority, else the most
    common category with its share ("most common: Drama, 39 of 120 (33%), tied with
    Comedy")."""
    from visrec.errors import shown

    total = int(counts.sum())
    top = counts.sort_values(ascending=False, kind="stable")
    # the labels as the table above shows them: a tab or a bidi override in quotes
    first, n = shown(str(top.index[0])), int(top.iloc[0])
    share = f"{n / total:.0%}" if total else "0%"
    if total and n * 2 > total:
        return f"mostly {first} ({share})"
    tied = [shown(str(x)) for x, v in top.items() if int(v) == n][1:]
    tail = f", tied with {', '.join(tied)}" if tied else ""
    return f"most common: {first}, {n:,} of {total:,} ({share}){tail}"


def ari_reading(ari: float, p: float = float("nan")) -> str:
    """ARI in words, so a score near chance is not read as a finding: first whether it
    is above chance at all (``p``, the labels-shuffled permutation p: 0.03 is, on a
    large catalogue; 0.2 may not be, on 12 items), then how much."""
    from visrec.analysis.cluster import ARI_SHUFFLES, ari_p_said

    if not np.isfinite(ari):
        return "ARI n/a."
    if np.isfinite(p) and p > 0.05:
        # a want of evidence, not a proof that there is none: 3 items in 2 clusters
        # agree perfectly as often as shuffled labels do
        return (
            f"ARI {ari:.3f}: not shown to be above chance (labels shuffled {ARI_SHUFFLES} "
            f"times reach it: {ari_p_said(p)})"
            + ("; too few items or clusters to tell." if ari >= 0.1 else ".")
        )
    if ari < 0.1:
        how = "barely follow the categories"
    elif ari < 0.4:
        how = "follow the categories weakly"
    elif ari < 0.7:
        how = "follow the categories in good part"
    elif ari >= 0.9995:  # prints as 1.000
        how = "are the categories"
    else:
        how = "largely are the categories"
    if np.isfinite(p):
        return (
            f"ARI {ari:.3f}: above chance ({ari_p_said(p)} with the labels shuffled "
            f"{ARI_SHUFFLES} times); the clusters {how}."
        )
    if ari < 0.1:  # no p: a result saved without one
        return f"ARI {ari:.3f}: about chance; the clusters {how}."
    return f"ARI {ari:.3f}: the clusters {how}."
