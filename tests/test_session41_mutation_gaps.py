"""Pins for mutants a mutation audit found surviving (session 41).

Each test below fails when one specific change is made to the code (named in its
comment) and passes on the code as it is. The expected values are worked out by hand
from the small inputs the tests build, never taken from the code under test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from test_evaluation_report import _result
from visrec.cli import main


def _row_cells(page: str, section: str, name: str) -> list[str]:
    """The ``<td>`` texts of the row headed ``name`` in the report's section ``section``."""
    body = page[page.index(f'<section id="{section}">') :]
    body = body[: body.index("</section>")]
    row = re.search(rf"<tr><th>{re.escape(name)}</th>(.*?)</tr>", body)
    assert row is not None, name
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


# --------------------------------------------------------------- data summary
def test_summary_counts_items_per_user_and_users_per_item_each_their_own_way(
    tmp_path: Path,
) -> None:
    # summary.py: ("items_per_user", USER) and ("users_per_item", ITEM) swapped
    from visrec.data.summary import summarize

    f = tmp_path / "r.csv"
    # u1 rated a, b, c; u2 rated a, d, e: 3 items each. a has 2 users, b-e one each
    f.write_text("user_id,item_id,rating\nu1,a,5\nu1,b,4\nu1,c,3\nu2,a,2\nu2,d,1\nu2,e,5\n")
    (s,) = summarize([f])
    assert s["items_per_user"] == {"mean": 3.0, "median": 3.0, "min": 3, "max": 3}
    # 6 pairs over 5 items: mean 1.2, median 1
    assert s["users_per_item"] == {"mean": 1.2, "median": 1.0, "min": 1, "max": 2}


def test_summary_counts_review_photo_urls_and_the_items_that_have_them(tmp_path: Path) -> None:
    # summary.py: image lists counted by .map(bool) (reviews, not URLs), and the items
    # with a photo review counted by .size (reviews, not distinct items)
    from visrec.data.summary import format_summary, summarize

    recs = [
        {"reviewerID": "A1", "asin": "B1", "image": ["https://x/1.jpg", "https://x/2.jpg"]},
        {"reviewerID": "A2", "asin": "B1", "image": ["https://x/3.jpg"]},
        {"reviewerID": "A3", "asin": "B2"},
    ]
    common = {"overall": 5.0, "reviewText": "ok", "summary": "ok"}
    lines = [json.dumps({**r, **common, "unixReviewTime": 100 + i}) for i, r in enumerate(recs)]
    f = tmp_path / "Shop_5.json"
    f.write_text("\n".join(lines) + "\n")
    (s,) = summarize([f])
    assert (s["reviews_with_photos"], s["photo_urls"]) == (2, 3)
    assert (s["items_with_review_photos"], s["items"]) == (1, 2)  # B1 alone, of B1 and B2
    assert re.search(r"items with any review photo +1  \(50\.0%\)", format_summary([s]))


# --------------------------------------------------------------- rating report
def test_rating_report_results_row_of_each_model_shows_its_own_figures() -> None:
    # report/rating.py: every row made from runs[runs["model"] == models[0]]
    from visrec.report.rating import render_rating_report

    figures = {  # model: (uses, rmse, mae, accuracy, fit seconds), one value per seed
        "item mean": ("baseline", [1.0, 1.1, 1.2], [0.8, 0.9, 1.0], [0.3, 0.4, 0.5], [1, 2, 3]),
        "biased MF": ("ratings", [0.9, 0.92, 0.94], [0.7, 0.75, 0.8], [0.5, 0.6, 0.7], [4, 5, 6]),
    }
    keys = ("rmse", "mae", "accuracy", "fit_seconds")
    runs = [
        {"seed": s, "model": m, "uses": u, **{k: v[s] for k, v in zip(keys, vs, strict=True)}}
        for m, (u, *vs) in figures.items()
        for s in range(3)
    ]
    page = render_rating_report({"runs": runs, "n_train": 80, "n_test": 20}, {})
    # uses, accuracy, MAE, RMSE, fit s: mean ± sample std (ddof 1) by hand
    assert _row_cells(page, "results", "item mean") == [
        "baseline", "0.400 ± 0.100", "0.900 ± 0.100", "1.100 ± 0.100", "2.0 ± 1.0",
    ]  # fmt: skip
    assert _row_cells(page, "results", "biased MF") == [
        "ratings", "0.600 ± 0.100", "0.750 ± 0.050", "0.920 ± 0.020", "5.0 ± 1.0",
    ]  # fmt: skip


# --------------------------------------------------------------- cluster sample
def test_sample_per_cluster_draws_each_cluster_from_its_own_members() -> None:
    # analysis/cluster.py: members of cluster (c + 1) % n_clusters drawn for cluster c
    from visrec.analysis.cluster import sample_per_cluster

    assignments = np.array([0, 1, 0, 1, 2, 2])
    ids = np.array([f"p{i}" for i in range(6)])
    # five per cluster: more than any has, so each cluster's whole membership
    got = sample_per_cluster(assignments, ids, 5, np.random.default_rng(0))
    assert got == {0: ["p0", "p2"], 1: ["p1", "p3"], 2: ["p4", "p5"]}
    one = sample_per_cluster(assignments, ids, 1, np.random.default_rng(0))
    assert all(assignments[int(i[1:])] == c for c, picked in one.items() for i in picked)


# --------------------------------------------------------------- evaluation report
def test_evaluation_report_splits_table_shows_the_counts_as_given() -> None:
    # report/evaluation.py _count: f"{int(v) - 1:,}"
    from visrec.report.evaluation import render_evaluation_report

    page = render_evaluation_report(_result("cold-items", {"bpr": [0.1, 0.2, 0.3]}))
    assert _row_cells(page, "splits", "train rows") == ["800", "801", "802"]
    assert _row_cells(page, "splits", "test rows") == ["200", "200", "200"]
    assert _row_cells(page, "splits", "candidates") == ["50", "50", "50"]


def test_evaluation_report_counts_and_lists_every_seed() -> None:
    # report/evaluation.py: seeds = sorted({...})[:1]
    from visrec.report.evaluation import render_evaluation_report

    page = render_evaluation_report(_result("cold-items", {"bpr": [0.1, 0.2, 0.3]}))
    assert "<h2>Results (mean ± std over 3 seeds)</h2>" in page
    assert re.search(r"<tr><th>seeds</th><td[^>]*>0, 1, 2</td></tr>", page)


# --------------------------------------------------------------- cluster command
def test_cluster_counts_an_item_without_image_or_label_once_as_without_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # commands/cluster.py: `& ~no_image` dropped from no_label
    from visrec.embed.store import ItemVectors, write_vectors

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (5, 3)), rng.normal(5, 0.1, (5, 3))]).astype(np.float32)
    x[9] = 0.0  # p9: no image (and no label below)
    has_image = np.arange(10) != 9
    ids = [f"p{i}" for i in range(10)]
    write_vectors(tmp_path / "V.parquet", ItemVectors(ids=ids, vectors=x, has_image=has_image))
    # p8 has an image but no label; p9 has neither
    labels = ["item_id,cat", *[f"p{i},{'shoe' if i < 5 else 'bag'}" for i in range(8)]]
    (tmp_path / "L.csv").write_text("\n".join(labels) + "\n")
    argv = ["cluster", str(tmp_path / "V.parquet"), "--labels", str(tmp_path / "L.csv")]
    assert main([*argv, "--id-col", "item_id", "--label-col", "cat", "--k", "2"]) == 0
    out, err = capsys.readouterr()
    assert (
        "10 items; left out 1 without an image (has_image false, or an all-zero vector) "
        "and 1 without a label" in err
    )
    assert out.startswith("K-means with k=2 on 8 items")  # 1 + 1 + 8 = 10


# --------------------------------------------------------------- fetch sources
def test_fetch_keeps_the_first_url_of_a_key_given_twice() -> None:
    # commands/fetch.py _add_first_urls: `if k not in out.urls:` -> `if True:`.
    # The Amazon loaders already drop (meta) or rename (reviews: B1_A1_100_2) a repeated
    # key before this, so the helper is called directly with one.
    from visrec.commands.fetch import Sources, _add_first_urls

    out = Sources()
    n = _add_first_urls(
        out,
        ["B1", "B2", "B1"],
        [["https://x/first.jpg", "https://x/other.jpg"], [], ["https://x/second.jpg"]],
        ["m.json line 1", "m.json line 2", "m.json line 3"],
    )
    assert n == 2  # the records with at least one URL
    assert out.urls == {"B1": "https://x/first.jpg"}
    assert out.where == {"B1": "m.json line 1"}
