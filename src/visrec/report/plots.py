"""Plots for the HTML report, each returned as PNG bytes (matplotlib, without pyplot).

Nothing here touches the screen or global matplotlib state: the figures are
``matplotlib.figure.Figure`` objects drawn straight to PNG, so the backend a host
program chose (a notebook's) stays its own.
"""

from __future__ import annotations

import io
import os
import re
import textwrap
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from visrec._atomic import file_version
from visrec.errors import VisrecError, agree, counted

# A colour-blind-safe qualitative palette (Okabe & Ito); projection_png draws labels
# beyond the eighth in grey as "other".
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
#: the characters per line of a legend entry of the map (a longer label is wrapped)
LEGEND_WIDTH = 40
# ... and a shape for each, so colour is not the only way to tell the labels apart
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def projection_legend(labels: Sequence[object]) -> list[str]:
    """The legend of :func:`projection_png` as text ("Apparel (1,683)", ..., "other: 3
    more labels (40)"), for the plot and for the page's alt text and caption: one entry
    per coloured label (:func:`label_order`), then the grey rest. A label is shown whole
    as the terminal shows it (:func:`visrec.errors.shown`): a line break in it would
    read as two entries, a tab or a bidi override would hide where one ends."""
    from visrec.errors import shown

    counts = _label_counts(labels)
    out = [f"{shown(str(lab))} ({n:,})" for lab, n in counts.iloc[: len(PALETTE)].items()]
    rest = counts.iloc[len(PALETTE) :]
    if len(rest):
        s = "s" if len(rest) > 1 else ""
        out.append(f"other: {len(rest)} more label{s} ({int(rest.sum()):,})")
    return out


def label_order(labels: Sequence[object]) -> list[str]:
    """The labels as text, most frequent first, ties by name: as the cluster table
    orders them (pandas' own order of ties changed between versions)."""
    return list(_label_counts(labels).index)


def _label_counts(labels: Sequence[object]) -> pd.Series:
    counts = pd.Series([str(v) for v in labels]).value_counts()
    return counts.loc[sorted(counts.index, key=lambda lab: (-counts[lab], lab))]


def _text(s: str) -> str:
    """``s`` drawn as written: matplotlib reads text between two ``$`` as TeX math (a
    label "$10-$20" would be set in italics, "$\\foo$" would stop the plot), and leaves
    a legend label that starts with ``_`` out of the legend (a zero-width space keeps it).
    A control character is drawn escaped, as the terminal shows it (matplotlib has no
    glyph for it and warns). A label from the data is passed through ``shown`` first
    (:func:`_label_text`), whole: here a line break is taken as the caller's."""
    from visrec.errors import shown

    # line by line: a title's or bar name's own line break is kept
    s = "\n".join(shown(line) for line in s.split("\n")).replace("$", r"\$")
    return "\u200b" + s if s.startswith("_") else s


def _label_text(s: object) -> str:
    """A label from the data drawn as :func:`_text` draws it, its line breaks escaped
    with the rest (not kept as lines), as the page and the terminal show it."""
    from visrec.errors import shown

    return _text(shown(str(s)))


def _subplots(nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Any, Any]:
    """A figure and its axes, as ``pyplot.subplots`` gives, without pyplot: no backend
    is chosen and no figure is registered, so a host program's plots (a notebook's
    inline backend, its open figures) are left as they are, and threads may draw at
    once (matplotlib's pattern for web servers)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=kw.pop("figsize", None))
    return fig, fig.subplots(nrows, ncols, **kw)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # matplotlib warns once per character its font lacks (a label in Chinese: dozens
    # of lines); said here once, naming them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")  # sharp on HiDPI
    missing: dict[str, None] = {}
    for w in caught:
        m = _NO_GLYPH.match(str(w.message))
        if m is not None:
            missing[chr(int(m.group(1)))] = None
        else:  # not ours to judge: passed on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        chars = "".join(list(missing)[:10]) + (" ..." if len(missing) > 10 else "")
        warnings.warn(
            f"the plot's font has no glyph for {len(missing)} character"
            f"{agree(len(missing), '', 's')} of the labels ({chars}); they are drawn "
            "as boxes there (the page's text shows them as written)",
            UserWarning,
            stacklevel=3,
        )
    return buf.getvalue()


#: matplotlib's warning for a character its font cannot draw
_NO_GLYPH = re.compile(r"Glyph (\d+) .*missing from (current )?font")


def projection_png(
    coords: np.ndarray,
    labels: Sequence[str],
    title: str = "PCA of the image vectors",
    explained: tuple[float, float] | None = None,
) -> bytes:
    """Scatter of 2-D ``coords`` (n, 2) coloured by ``labels`` (most frequent first),
    with each axis's share of the variance (``explained``) in its label when given.

    Labels beyond the eighth most frequent are drawn in grey as "other".
    """
    coords = np.asarray(coords, dtype=float)
    # a third column was dropped silently, unequal lengths failed inside numpy
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise VisrecError(f"projection: coordinates of shape {coords.shape}; expected (n, 2)")
    if len(labels) != len(coords):
        raise VisrecError(
            f"projection: {counted(len(labels), 'label')} for "
            f"{counted(len(coords), 'point')}; expected one each"
        )
    labs = pd.Series([str(v) for v in labels])
    shown = label_order(labels)[: len(PALETTE)]
    legend = projection_legend(labels)  # the same words as the page's caption
    fig, ax = _subplots(figsize=(6.4, 4.8))
    rest = ~labs.isin(shown).to_numpy()
    if rest.any():
        ax.scatter(coords[rest, 0], coords[rest, 1], s=8, c="#BBBBBB", label=legend[-1], alpha=0.6)
    for lab, entry, colour, marker in zip(shown, legend, PALETTE, MARKERS, strict=False):
        m = (labs == lab).to_numpy()
        ax.scatter(
            coords[m, 0],
            coords[m, 1],
            s=14,
            c=colour,
            marker=marker,
            # a long label wrapped, not cut: two that start alike stay apart, and the
            # legend does not shrink the map to a strip beside it
            label=_text(textwrap.fill(entry, LEGEND_WIDTH, break_on_hyphens=False)),
            alpha=0.85,
            # a dark rim: the light colours (yellow, sky blue) stand out from white
            edgecolors="#333333",
            linewidths=0.3,
        )
    ax.set_title(_text(title))
    shares = (
        ("", "") if explained is None else tuple(f" ({v:.0%} of the variance)" for v in explained)
    )
    ax.set_xlabel(f"component 1{shares[0]}")
    ax.set_ylabel(f"component 2{shares[1]}")
    # beside the map, not over its points
    ax.legend(
        fontsize=8, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False
    )
    return _png(fig)


def knn_bar_png(accuracy: float, majority_accuracy: float, majority_class: str) -> bytes:
    """Two bars: KNN accuracy and the majority-class baseline on the same test rows."""
    from visrec.errors import shown

    fig, ax = _subplots(figsize=(5.0, 3.2))
    names = [
        "KNN on image vectors",
        _text(
            f"always {shown(majority_class)} {'star' if majority_class == '1' else 'stars'}"
            "\n(majority class)"
        ),
    ]
    vals = [accuracy, majority_accuracy]
    bars = ax.barh(names, vals, color=[PALETTE[0], "#999999"])
    for b, v in zip(bars, vals, strict=True):
        ax.text(v + 0.01, b.get_y() + b.get_height() / 2, f"{v:.3f}", va="center")
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("accuracy on the test rows")
    ax.invert_yaxis()
    return _png(fig)


def confusion_png(confusion: pd.DataFrame) -> bytes:
    """Heatmap of a true x predicted count table, each cell annotated with its count."""
    counts = confusion.to_numpy(dtype=np.int64)
    fig, ax = _subplots(figsize=(4.6, 4.0))
    top = counts.max() if counts.size else 0
    # from 0: a scale from the smallest count makes 600 vs 685 look like none vs many
    im = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(top), 1))
    ticks = [_short(v) for v in confusion.columns]
    ax.set_xticks(range(len(ticks)), [_label_text(t) for t in ticks])
    ax.set_yticks(range(len(confusion.index)), [_label_text(_short(v)) for v in confusion.index])
    ax.set_xlabel("predicted rating")
    ax.set_ylabel("true rating")
    for (r, c), v in np.ndenumerate(counts):
        ax.text(
            c,
            r,
            f"{v:,}",  # as the tables write counts
            ha="center",
            va="center",
            color=ink_on(im.cmap(im.norm(v))),
            fontsize=9,
        )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="test rows")
    return _png(fig)


def _luminance(rgb: Sequence[float]) -> float:
    """WCAG relative luminance of an sRGB colour (components 0..1)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def ink_on(rgb: Sequence[float]) -> str:
    """ "black" or "white", whichever contrasts more with the background ``rgb``."""
    lum = _luminance(rgb)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def _short(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def thumbnail_jpeg(path: str | os.PathLike[str], size: int = 72) -> bytes | None:
    """A small JPEG of the image at ``path`` (longest side ``size``), or None if unreadable."""
    # the file's version in the key: a replaced photo (even by ``cp -p``) is decoded again
    version = file_version(path)
    if version is None:
        return None
    return _thumbnail(os.fspath(path), size, version)


@lru_cache(maxsize=1024)  # cluster --report decodes its samples for a note, then the page
def _thumbnail(path: str, size: int, version: tuple[int, int, int, int]) -> bytes | None:
    from visrec.images.decode import load_image

    try:
        # embed's decoder: EXIF orientation, 16-bit and float pixels scaled (a plain
        # convert("RGB") clips them to white), transparency on white, the pixel limit
        im = load_image(path, draft_size=(size, size))
        im.thumbnail((size, size))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=80)
        return buf.getvalue()
    except Exception:  # any undecodable file just shows as a blank tile
        return None


def metric_bars_png(
    runs: pd.DataFrame,
    models: Sequence[str],
    metrics: Sequence[tuple[str, str, float]],
    image_models: Sequence[str] = (),
    baselines: Sequence[str] = ("popularity",),
) -> bytes:
    """One panel per ``(column, title, chance)`` in ``metrics``: a bar per model from
    ``chance`` (0, or 0.5 for AUC) to the mean over seeds, a line for the spread (min to
    max) and a dot per seed.

    ``runs`` has one row per (seed, model) with the metric columns. Models in
    ``image_models`` are drawn in blue, ``baselines`` in grey, the rest in orange, so
    "with pictures" and "without" read at a glance.
    """
    from visrec.evaluation.experiment_result import seed_mean

    fig, axes = _subplots(
        1, len(metrics), figsize=(3.3 * len(metrics), 0.6 + 0.42 * len(models)), squeeze=False
    )
    image = set(image_models)
    colours = [
        "#999999" if m in baselines else PALETTE[0] if m in image else PALETTE[1] for m in models
    ]
    ys = np.arange(len(models))
    for ax, (col, title, chance) in zip(axes[0], metrics, strict=True):
        values = [runs.loc[runs["model"] == m, col].to_numpy(dtype=float) for m in models]
        values = [v[np.isfinite(v)] for v in values]
        means = np.array([seed_mean(v) for v in values])  # as the tables round them
        shown = np.nan_to_num(means, nan=chance)
        ax.barh(ys, shown - chance, left=chance, color=colours, alpha=0.85)
        for y, v, mu in zip(ys, values, means, strict=True):
            if v.size > 1:
                ax.plot([v.min(), v.max()], [y, y], color="#222222", lw=1)
            ax.scatter(v, np.full(v.size, y), s=12, color="#222222", zorder=3)
            if np.isfinite(mu):  # past the bar's end: left of a bar below chance
                left = mu < chance
                label = f"{mu:.3f} " if left else f" {mu:.3f}"
                ax.text(mu, y + 0.3, label, fontsize=8, va="center", ha="right" if left else "left")
        seen = [float(x) for v in values for x in v]
        top = max([*seen, chance + 1e-6])
        low = min([*seen, chance])  # an AUC below chance stays on the axis
        pad = 0.05 if chance or low < chance else 0.0
        ax.set_xlim(low - pad, top + (top - low) * 0.2)
        ax.set_yticks(ys, [_label_text(m) for m in models])
        ax.set_ylim(len(models) - 0.4, -0.6)  # top to bottom, no blank margin
        ax.set_title(_text(title), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        if ax is not axes[0][0]:
            ax.tick_params(labelleft=False)
    return _png(fig)
