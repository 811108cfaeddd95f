"""The demo/cluster/knn-rating HTML page (visrec.report.html), read back as a browser
would (html.parser), not as strings: a missing value says n/a, an empty table says so,
and the knn-rating page shows paths as the terminal does. Tests that name a mutant kill
that mutant of html.py, which the older tests let through."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_report import EVIL, report_data  # noqa: F401  (the fixture)
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report.html import ReportData, render_report

Row = list[tuple[str, str]]  # (tag, text) per cell


class _Page(HTMLParser):
    """Per section id: its tables (rows of (tag, text) cells), its paragraphs as
    (class, text), its headings, and its images' attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[Row]]] = {}
        self.paras: dict[str, list[tuple[str, str]]] = {}
        self.heads: dict[str, list[str]] = {}
        self.imgs: dict[str, list[dict[str, str | None]]] = {}
        self.captions: list[list[str]] = []  # per figcaption: its lines (<br>)
        self.title = ""
        self.h1 = ""
        self._sid = ""
        self._in: list[str] = []  # open text-holding tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._sid = a.get("id") or ""
        elif tag == "table":
            self.tables.setdefault(self._sid, []).append([])
        elif tag == "tr":
            self.tables[self._sid][-1].append([])
        elif tag in ("td", "th") and self._in[-1:] != ["h"]:
            self.tables[self._sid][-1][-1].append((tag, ""))
            self._in.append(tag)
        elif tag == "p":
            self.paras.setdefault(self._sid, []).append((a.get("class") or "", ""))
            self._in.append("p")
        elif tag in ("h1", "h2", "h3", "title"):
            if tag in ("h2", "h3"):
                self.heads.setdefault(self._sid, []).append("")
            self._in.append(tag)
        elif tag == "img":
            self.imgs.setdefault(self._sid, []).append(a)
        elif tag == "figcaption":
            self.captions.append([""])
            self._in.append(tag)
        elif tag == "br" and self._in[-1:] == ["figcaption"]:
            self.captions[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag == "section":
            self._sid = ""

    def handle_data(self, data: str) -> None:
        if not self._in:
            return
        top = self._in[-1]
        if top in ("td", "th"):
            row = self.tables[self._sid][-1][-1]
            row[-1] = (row[-1][0], row[-1][1] + data)
        elif top == "p":
            cls, text = self.paras[self._sid][-1]
            self.paras[self._sid][-1] = (cls, text + data)
        elif top in ("h2", "h3"):
            self.heads[self._sid][-1] += data
        elif top == "figcaption":
            self.captions[-1][-1] += data
        elif top == "title":
            self.title += data
        elif top == "h1":
            self.h1 += data


def _page(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    p.close()
    return p


def _kv(page: _Page, sid: str, table: int = 0) -> dict[str, str]:
    """A two-column table of a section as {header: value}."""
    return {r[0][1]: r[1][1] for r in page.tables[sid][table]}


def _grid(page: _Page, sid: str, table: int = 0) -> tuple[list[str], dict[str, list[str]]]:
    """A grid table of a section as (header cells, {row name: its cells})."""
    head, *rows = page.tables[sid][table]
    return [t for _, t in head], {r[0][1]: [t for _, t in r[1:]] for r in rows}


def _render(**kw: object) -> _Page:
    base: dict[str, object] = {"title": "t", "dataset": "d"}
    return _page(render_report(ReportData(**{**base, **kw})))  # type: ignore[arg-type]


# --- missing values and empty tables ----------------------------------------------------


def test_a_missing_value_reads_n_a_however_it_is_missing() -> None:
    # None and pd.NA read "None" and "<NA>" (as if the data said so), NaT "NaT"; a NaN
    # already read n/a
    page = _render(
        parts=("summary", "recommenders"),
        summary={"none": None, "na": pd.NA, "nat": pd.NaT, "nan": float("nan"), "n": 3},
        recommenders=pd.DataFrame(
            {"ndcg": pd.array([0.25, pd.NA], dtype="Float64"), "tuned": ["reg=0.1", None]},
            index=pd.Index(["bpr", "vbpr"], name="model"),
        ),
    )
    assert _kv(page, "summary") == {
        "none": "n/a",
        "na": "n/a",
        "nat": "n/a",
        "nan": "n/a",
        "n": "3",
    }
    head, rows = _grid(page, "recommenders")
    assert head == ["model", "ndcg", "tuned"]
    assert rows == {"bpr": ["0.250", "reg=0.1"], "vbpr": ["n/a", "n/a"]}


def test_a_numpy_yes_or_no_reads_as_python_s_does() -> None:
    page = _render(parts=("summary",), summary={"a": np.True_, "b": np.False_, "c": True})
    assert _kv(page, "summary") == {"a": "yes", "b": "no", "c": "yes"}


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"ndcg": [], "recall": []}),  # no models
        pd.DataFrame(index=["popularity", "bpr"]),  # no metrics
        pd.DataFrame(),
    ],
    ids=["no-rows", "no-columns", "nothing"],
)
def test_an_empty_results_table_says_so_instead_of_showing_its_headers(
    frame: pd.DataFrame,
) -> None:
    page = _render(parts=("recommenders",), recommenders=frame, recommenders_note="3 seeds")
    assert "recommenders" not in page.tables  # no table of headers only
    paras = page.paras["recommenders"]
    assert ("skipped", "no models or no metrics in the results table") in paras
    assert ("explain", "3 seeds") in paras  # the caller's note is kept


def test_an_empty_summary_says_so_instead_of_an_empty_table() -> None:
    page = _render(parts=("summary",))
    assert "summary" not in page.tables
    assert page.paras["summary"] == [("skipped", "no summary given")]
    # one row is a table
    assert _kv(_render(parts=("summary",), summary={"items": 0}), "summary") == {"items": "0"}


# --- the knn-rating page: paths as the terminal shows them -----------------------------


def test_knn_rating_page_shows_paths_as_the_terminal_does(tmp_path: Path, capsys) -> None:
    # a bidi override in a file name was put on the page as it is: the browser obeys it
    # and the name reads reversed (`visrec cluster` has shown it quoted since session 49)
    rng = np.random.default_rng(0)
    ids = [f"i{i}" for i in range(40)]
    vecs = rng.normal(size=(40, 4)).astype(np.float32)
    vectors = tmp_path / "v\u202e.parquet"
    write_vectors(vectors, ItemVectors(ids, vecs, np.ones(40, dtype=bool)))
    rows = ["user_id,item_id,rating"]
    rows += [f"u{u},i{i},{1 + (u + i) % 5}" for u in range(30) for i in range(0, 40, 3)]
    ratings = tmp_path / "r\u202e.csv"
    ratings.write_text("\n".join(rows) + "\n")
    out = tmp_path / "k.html"
    argv = ["knn-rating", "--interactions", str(ratings), "--vectors", str(vectors),
            "--report", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    text = out.read_text(encoding="utf-8")
    assert "\u202e" not in text
    page = _page(text)
    assert page.h1 == page.title == "visrec knn-rating: 'r\\u202e.csv'"
    intro = page.paras[""][0][1]
    assert f"Dataset: {str(ratings)!r}, vectors {str(vectors)!r}." in intro


# --- mutants the older tests let through -----------------------------------------------


def test_row_names_of_the_results_table_are_escaped_and_shown() -> None:
    # kills m12: `<th>{idx}</th>` instead of `<th>{id_html(idx)}</th>` in _table
    frame = pd.DataFrame({"ndcg": [0.5, 0.25]}, index=["<b>bpr</b> & co", "v\u202ebpr"])
    page = _render(parts=("recommenders",), recommenders=frame)
    _, rows = _grid(page, "recommenders")
    assert rows == {"<b>bpr</b> & co": ["0.500"], "'v\\u202ebpr'": ["0.250"]}


def test_a_fit_time_that_is_missing_reads_n_a_not_nan() -> None:
    # kills m25: the NaN test dropped from the rounding of the "fit" columns ("nan")
    frame = pd.DataFrame({"fit s": [3.93, float("nan")]}, index=["bpr", "vbpr"])
    page = _render(parts=("recommenders",), recommenders=frame)
    assert _grid(page, "recommenders")[1] == {"bpr": ["3.9"], "vbpr": ["n/a"]}


def test_photo_captions_show_labels_as_the_terminal_does(report_data: ReportData) -> None:  # noqa: F811
    # kills m16: _label_of returning the label as it is; a bidi override in it would
    # reverse the caption (the id above it is shown quoted already)
    report_data.item_labels = {"plain": "Bags\u202e & Co"}
    page = _page(render_report(report_data))
    caps = {lines[0]: lines[1:] for lines in page.captions}
    assert caps["plain"] == ["'Bags\\u202e & Co'"]
    assert caps["broken"] == []  # no label: no second line


def test_a_stage_that_took_no_time_is_a_time() -> None:
    # kills m29: `float(v) > 0`, which refused a stage timed at 0 s (a cached step)
    page = _render(parts=(), timings={"load": 0.0, "embed": 1.25})
    assert _kv(page, "timings") == {"load": "0.0 s", "embed": "1.2 s", "total": "1.2 s"}


def test_a_cluster_without_a_sampled_photo_says_so(report_data: ReportData) -> None:  # noqa: F811
    # kills m40: the "(no images)" fallback dropped, leaving an empty row of tiles
    report_data.cluster_samples = {0: report_data.cluster_samples[0]}
    page = _page(render_report(report_data))
    assert page.paras["cluster-grids"].count(("", "(no images)")) == 1
    assert len(page.heads["cluster-grids"]) == 3  # the section's title, one per cluster
