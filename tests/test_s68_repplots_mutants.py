"""Mutation audit (session 68) of visrec.report.evaluation (the HTML page of a
``visrec evaluate`` result) and of visrec.report.plots.metric_bars_png (its bar plot).

45 hand-made mutants (31 in evaluation.py, E01-E32 without E04; 14 in plots.py,
P01-P14), run against the evaluation-report tests (test_evaluation_report,
test_s62_reports*_mutants, test_s49_verdict_mutants; E01-E08 also
test_report_accessibility, test_s49_report_edges, test_evaluate_qa_fixes and others;
P* against test_s61_html_mutants, test_s66_report_mutants, test_s62_reports_mutants,
test_evaluation_report): 20 killed before, 45 killed after (these tests kill the other
25), none equivalent. The tables are parsed with html.parser and compared with the mean
and sample std computed here from the input runs; the plot is read from its Figure.

Survivors and the tests here that kill them:
- E11 title counting runs not seeds: test_the_page_states_the_seeds_and_counts_them
- E16 visual-cf on a warm split drawn as a picture model:
  test_the_plot_colours_only_the_models_that_read_pictures_here
- E18 the AUC panel from 0 not chance (0.5):
  test_the_auc_panel_starts_at_chance_and_stays_with_one_auc_missing
- E21 a null split field written "None", E22 a share 0.25 written "0":
  test_the_splits_table_writes_null_blank_and_fractions_whole
- E25 a model with no hyperparameters said nothing: test_the_hyperparameters_are_shown_as_json
- E26 an empty Notes section, E27 an input given empty listed, E28 a run record without a
  version a KeyError: test_sections_and_rows_only_for_what_the_result_has
- E29 the page written in place: test_the_evaluation_report_is_written_atomically
- E31 a negative fit time accepted: test_the_result_checks_at_their_edges
- P01 NaN seeds kept (dots, spread, mean), P02 a model with no figure drawn from 0,
  P07/P08 baseline and picture colours, P09 bar width from 0:
  test_each_model_is_a_bar_from_chance_to_its_mean (P01 also the next test)
- P03 no spread line for two seeds, P04 the line from the mean, P05 every dot on the
  first row: test_dots_per_seed_and_a_line_for_the_spread
- P06 the mean's label on the wrong side, P10 an AUC below chance off the axis:
  test_mean_labels_and_the_axis_take_in_a_mean_below_chance
- P11 tick names reversed, P12 the first model at the bottom, P13 panel titled by the
  column, P14 names on the wrong panel: test_rows_titles_and_names_of_the_panels
The results-table, per-seed and panel tests kill E01-E03, E05-E10, E12-E14, E17, E19,
E24, E30 and E32 too (killed before by older tests). No bug found in the source.
"""

from __future__ import annotations

import os
import statistics
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.colors as mcolors
import pytest

from test_evaluation_report import _result
from visrec.errors import VisrecError
from visrec.report import plots
from visrec.report.evaluation import (
    picture_roles,
    read_result,
    render_evaluation_report,
    write_evaluation_report,
)

NAN = float("nan")


class _Tables(HTMLParser):
    """Every table of a page (or a part of one) as rows of cell texts, unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(page: str, section: str | None = None) -> list[list[list[str]]]:
    if section is not None:
        page = page.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def _spread(values: list[float | None], ran: int) -> str:
    """What the table should say of a metric's ``values`` over ``ran`` seeds."""
    defined = [v for v in values if v is not None]
    if not defined:
        return "n/a"
    if len(defined) == 1:
        text = f"{defined[0]:.3f}"
    else:
        text = f"{statistics.mean(defined):.3f} ± {statistics.stdev(defined):.3f}"
    return text + (f" ({len(defined)} of {ran} seeds)" if len(defined) < ran else "")


def _uneven() -> dict[str, Any]:
    """Three seeds, models in no sorted order, a NaN AUC, bpr absent on seed 2, and
    vbpr's hit rate never computed; the runs listed seed 2 first."""
    res = _result(
        "warm",
        {"vbpr": [0.31, 0.36, 0.29], "popularity": [0.1, 0.14, 0.11], "bpr": [0.2, 0.27, 0.22]},
    )
    res["runs"] = [r for r in res["runs"] if (r["model"], r["seed"]) != ("bpr", 2)]
    for r in res["runs"]:
        r["auc"] = round(0.6 + r["recall"], 4)
        if r["model"] == "vbpr":
            r["hit_rate"] = None
        if (r["model"], r["seed"]) == ("popularity", 1):
            r["auc"] = None
    res["runs"].sort(key=lambda r: -r["seed"])  # stable: vbpr before popularity
    return res


# E01 E02 E03 E05 E06 E07 E08 E09: every model in the file's order, each cell the mean
# ± sample std of its defined seeds, "(n of m seeds)" only when fewer, "n/a" for none
def test_the_results_table_is_the_mean_and_spread_of_each_models_runs() -> None:
    res = _uneven()
    page = render_evaluation_report(res)
    table = _tables(page, "results")[0]
    assert table[0] == [
        "model",
        "uses pictures",
        "AUC",
        "Recall@20",
        "NDCG@20",
        "HitRate@20",
        "Coverage@20",
        "fit s",
    ]
    models = list(dict.fromkeys(r["model"] for r in res["runs"]))
    assert [row[0] for row in table[1:]] == models == ["vbpr", "popularity", "bpr"]
    roles = picture_roles(models, "warm")
    for row in table[1:]:
        mine = [r for r in res["runs"] if r["model"] == row[0]]
        assert row[1] == roles[row[0]]
        want = [
            _spread([r[key] for r in mine], len(mine))
            for key in ("auc", "recall", "ndcg", "hit_rate", "coverage")
        ]
        assert row[2:7] == want
    by_model = {row[0]: row for row in table[1:]}
    assert by_model["vbpr"][5] == "n/a"
    assert by_model["popularity"][2].endswith(" (2 of 3 seeds)")
    assert "of" not in by_model["bpr"][2]  # bpr ran on 2 seeds and has both
    assert "(" not in by_model["vbpr"][3]


# E10 E11: the seeds sorted under the heading; the title counts seeds, not runs
def test_the_page_states_the_seeds_and_counts_them() -> None:
    res = _uneven()
    page = render_evaluation_report(res)
    info = {row[0]: row[1] for row in _tables(page)[0]}
    seeds = sorted({r["seed"] for r in res["runs"]})
    assert info["seeds"] == ", ".join(map(str, seeds))
    assert info["list length K"] == str(res["k"])
    assert f"<h2>Results (mean ± std over {len(seeds)} seeds)</h2>" in page


# E12 E13: the per-seed tables keep the models' order and say n/a for a model absent
# on a seed, the others' figures to 4 decimals
def test_the_per_seed_tables_follow_the_runs() -> None:
    res = _uneven()
    page = render_evaluation_report(res)
    recall, auc = _tables(page, "seeds")
    seeds = sorted({r["seed"] for r in res["runs"]})
    assert recall[0] == ["model", *(f"seed {s}" for s in seeds)]
    figures = {(r["model"], r["seed"]): r for r in res["runs"]}
    for table, key in ((recall, "recall"), (auc, "auc")):
        assert [row[0] for row in table[1:]] == ["vbpr", "popularity", "bpr"]
        for row in table[1:]:
            for s, cell in zip(seeds, row[1:], strict=True):
                run = figures.get((row[0], s))
                value = None if run is None else run[key]
                assert cell == ("n/a" if value is None else f"{value:.4f}")
    assert recall[3][3] == "n/a" and auc[2][2] == "n/a"


def _panels(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake(runs: Any, models: Any, panels: Any, **kw: Any) -> bytes:
        seen.append({"models": list(models), "panels": list(panels), **kw})
        return b""

    monkeypatch.setattr(plots, "metric_bars_png", fake)
    return seen


# E16: blue only for the models that read pictures on these candidates; visual-cf on a
# warm split reads them for new items only, which a warm split has none of
def test_the_plot_colours_only_the_models_that_read_pictures_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _panels(monkeypatch)
    models = {"popularity": [0.1, 0.1], "visual-cf": [0.2, 0.2], "vbpr": [0.3, 0.3]}
    render_evaluation_report(_result("warm", models))
    roles = picture_roles(list(models), "warm")
    assert roles["visual-cf"] != "yes"
    assert seen[-1]["image_models"] == [m for m in models if roles[m] == "yes"] == ["vbpr"]


# E17 E18 E19: an AUC panel from chance (0.5) as long as any run has an AUC; the
# caption names each panel
def test_the_auc_panel_starts_at_chance_and_stays_with_one_auc_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _panels(monkeypatch)
    res = _result("warm", {"popularity": [0.1, 0.12], "bpr": [0.2, 0.21]})
    res["runs"][0]["auc"] = None
    page = render_evaluation_report(res)
    assert seen[-1]["panels"] == [
        ("auc", "AUC", 0.5),
        ("recall", "Recall@20", 0.0),
        ("ndcg", "NDCG@20", 0.0),
    ]
    assert 'alt="AUC, Recall@20 and NDCG@20 per model, one dot per seed"' in page
    assert "(AUC bars start at 0.5, chance)" in page


# E21 E22: a split field null on a seed is a blank cell, a share is written as it is
def test_the_splits_table_writes_null_blank_and_fractions_whole() -> None:
    res = _result("warm", {"popularity": [0.1, 0.12], "bpr": [0.2, 0.21]})
    res["splits"]["0"]["n_test"] = None
    res["splits"]["0"]["split"] = "by user"  # a text field: the seed's column stays as read
    res["splits"]["1"]["test_share"] = 0.25
    table = _tables(render_evaluation_report(res), "splits")[0]
    rows = {row[0]: row[1:] for row in table[1:]}
    assert rows["test rows"] == ["", str(res["splits"]["1"]["n_test"])]
    assert rows["test_share"] == ["", "0.25"]
    assert rows["split"] == ["by user", ""]


# E24 E25: hyperparameters as JSON (a string quoted, true in lower case); a model
# without any says "(none)"
def test_the_hyperparameters_are_shown_as_json() -> None:
    res = _result("warm", {"popularity": [0.1, 0.12], "bpr": [0.2, 0.21]})
    res["params"] = {"popularity": {}, "bpr": {"reg": "auto", "bias": True, "factors": 8}}
    section = render_evaluation_report(res).split('<section id="params">', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "<summary>popularity</summary>(none)</details>" in section
    rows = {row[0]: row[1] for row in _tables(section)[0]}
    assert rows == {"reg": '"auto"', "bias": "true", "factors": "8"}


# E26 E27 E28: the notes section only with notes, an input given empty not listed, a
# run record without a version says "?"
def test_sections_and_rows_only_for_what_the_result_has() -> None:
    res = _result("warm", {"popularity": [0.1, 0.12], "bpr": [0.2, 0.21]})
    res["run"] = {"command": "visrec evaluate x", "created": "2026-02-03T04:05"}
    page = render_evaluation_report(res, {"interactions": "d/x.csv", "vectors": ""})
    assert '<section id="notes">' not in page
    info = {row[0]: row[1] for row in _tables(page)[0]}
    assert "vectors" not in info and info["interactions"] == "d/x.csv"
    assert info["run"] == "visrec ?, 2026-02-03T04:05"
    res["notes"] = ["a <note>"]
    noted = render_evaluation_report(res)
    assert '<section id="notes"><h2>Notes</h2>\n<p class="explain">a &lt;note&gt;</p>' in noted


# E29: a failed write keeps the old report whole and leaves nothing beside it
def test_the_evaluation_report_is_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.html"
    write_evaluation_report(out, _result("warm", {"popularity": [0.1], "bpr": [0.2]}))
    old = out.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_evaluation_report(out, _result("time", {"popularity": [0.3], "bpr": [0.4]}))
    assert out.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# E30 E31 E32: a float sum just over 1 is read; a negative fit time and a seed the
# seeds list does not have are refused, naming the run
def test_the_result_checks_at_their_edges(tmp_path: Path) -> None:
    import json

    def check(res: dict[str, Any]) -> dict[str, Any]:
        path = tmp_path / "r.json"
        path.write_text(json.dumps(res), encoding="utf-8")
        return read_result(path)

    res = _result("warm", {"popularity": [0.1, 0.12], "bpr": [0.2, 0.21]})
    res["runs"][0]["recall"] = 1.0000000000000002  # a float sum of shares
    assert check(res)["runs"][0]["recall"] == res["runs"][0]["recall"]
    res["runs"][0]["recall"] = 0.1
    res["runs"][1]["fit_s"] = -0.5
    with pytest.raises(VisrecError, match=r"runs\[1\] \(popularity\): fit_s -0.5 is not at least"):
        check(res)
    res["runs"][1]["fit_s"] = 1.0
    res["seeds"] = [0]
    with pytest.raises(VisrecError, match=r"runs\[1\] \(popularity\) has seed 1, which 'seeds'"):
        check(res)


# --- the bar plot itself, read from its figure --------------------------------------


def _figure(monkeypatch: pytest.MonkeyPatch, runs: Any, models: list[str], **kw: Any) -> Any:
    figs: list[Any] = []

    def keep(fig: Any) -> bytes:
        figs.append(fig)
        return b""

    monkeypatch.setattr(plots, "_png", keep)
    panels = kw.pop("panels", [("auc", "AUC", 0.5), ("recall", "Recall@20", 0.0)])
    plots.metric_bars_png(runs, models, panels, **kw)
    return figs[0]


def _runs() -> Any:
    import pandas as pd

    rows = [
        ("popularity", 0, 0.55, 0.10),
        ("popularity", 1, 0.57, 0.14),
        ("bpr", 0, 0.40, 0.20),  # an AUC below chance
        ("bpr", 1, 0.46, 0.26),
        ("vbpr", 0, 0.80, 0.30),
        ("vbpr", 1, NAN, 0.33),
        ("vbpr", 2, 0.86, 0.35),
        ("ghost", 0, NAN, 0.05),  # no AUC at all
    ]
    return pd.DataFrame(rows, columns=["model", "seed", "auc", "recall"])


MODELS = ["popularity", "bpr", "vbpr", "ghost"]


def _finite(runs: Any, model: str, col: str) -> list[float]:
    return [float(v) for v in runs.loc[runs["model"] == model, col] if v == v]


# P01 P02 P09 P07 P08: a bar per model from chance to the mean of its defined seeds
# (none: no bar), grey for the baseline, blue for picture models, orange for the rest
def test_each_model_is_a_bar_from_chance_to_its_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _runs()
    fig = _figure(monkeypatch, runs, MODELS, image_models=["vbpr"])
    for ax, (col, chance) in zip(fig.axes, (("auc", 0.5), ("recall", 0.0)), strict=True):
        bars = ax.patches
        assert len(bars) == len(MODELS)
        for y, (bar, model) in enumerate(zip(bars, MODELS, strict=True)):
            seeds = _finite(runs, model, col)
            mean = statistics.mean(seeds) if seeds else chance
            assert bar.get_x() == pytest.approx(chance)
            assert bar.get_x() + bar.get_width() == pytest.approx(mean)
            assert bar.get_y() + bar.get_height() / 2 == pytest.approx(y)
        colours = [mcolors.to_hex(b.get_facecolor()[:3]) for b in bars]
        assert colours == ["#999999", plots.PALETTE[1].lower(), plots.PALETTE[0].lower(), "#e69f00"]


# P01 P03 P04 P05: a dot per defined seed on the model's row, a line from its lowest to
# its highest seed when it has two or more
def test_dots_per_seed_and_a_line_for_the_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _runs()
    fig = _figure(monkeypatch, runs, MODELS)
    for ax, col in zip(fig.axes, ("auc", "recall"), strict=True):
        dots = sorted(
            (round(float(y), 6), round(float(x), 6))
            for c in ax.collections
            for x, y in c.get_offsets()
        )
        want = sorted(
            (float(y), round(v, 6)) for y, m in enumerate(MODELS) for v in _finite(runs, m, col)
        )
        assert dots == want
        lines = sorted(
            (*map(float, line.get_ydata()), *(round(float(x), 6) for x in line.get_xdata()))
            for line in ax.lines
        )
        spread = []
        for y, m in enumerate(MODELS):
            seeds = _finite(runs, m, col)
            if len(seeds) > 1:
                spread.append((float(y), float(y), round(min(seeds), 6), round(max(seeds), 6)))
        assert lines == sorted(spread)


# P06 P10: the mean written past the bar's end (left of a bar below chance), and the
# axis reaching down to an AUC below chance
def test_mean_labels_and_the_axis_take_in_a_mean_below_chance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = _runs()
    fig = _figure(monkeypatch, runs, MODELS)
    auc = fig.axes[0]
    said = {t.get_text().strip(): t.get_horizontalalignment() for t in auc.texts}
    for model in MODELS:
        seeds = _finite(runs, model, "auc")
        if not seeds:
            continue
        mean = statistics.mean(seeds)
        assert said[f"{mean:.3f}"] == ("right" if mean < 0.5 else "left")
    assert len(said) == 3
    low = min(v for m in MODELS for v in _finite(runs, m, "auc"))
    assert auc.get_xlim()[0] < low


# P11 P12 P13 P14: the models named top to bottom in their order on the first panel only,
# each panel titled with its metric
def test_rows_titles_and_names_of_the_panels(monkeypatch: pytest.MonkeyPatch) -> None:
    fig = _figure(monkeypatch, _runs(), MODELS)
    first, second = fig.axes
    assert [t.get_text() for t in first.get_yticklabels()] == MODELS
    bottom, top = first.get_ylim()
    assert bottom > top  # inverted: the first model at the top
    assert [ax.get_title() for ax in fig.axes] == ["AUC", "Recall@20"]
    assert all(t.get_visible() for t in first.get_yticklabels())
    assert first.yaxis.get_tick_params()["labelleft"] is not False
    assert second.yaxis.get_tick_params()["labelleft"] is False
