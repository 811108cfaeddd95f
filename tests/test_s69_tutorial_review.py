"""The tutorial flow on Amazon review files, as a new user runs it (session 69): an
asin spelt in lower case beside its upper-case spelling is said, and the tutorial's
63.5 % is put beside the majority class it lacked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from visrec.data.amazon import load_amazon_reviews

REPO = Path(__file__).resolve().parents[1]


def _review(user: str, asin: str, stars: float = 5.0) -> str:
    return json.dumps(
        {
            "overall": stars,
            "verified": True,
            "reviewerID": user,
            "asin": asin,
            "unixReviewTime": 1500000000,
            "style": {"Size:": " Small"},
            "reviewText": "Très bien ☕",
        },
        ensure_ascii=False,
    )


def _file(tmp_path: Path, asins: list[str]) -> Path:
    p = tmp_path / "All_Beauty_5.json"
    lines = [_review(f"U{i}", a) for i, a in enumerate(asins)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_lower_case_asin_beside_its_upper_case_spelling_is_a_warning(tmp_path: Path) -> None:
    p = _file(tmp_path, ["B0000530HU", "B000FI4S1E", "b0000530hu", "b0000530hu"])
    res = load_amazon_reviews([p])
    # kept as written: two items, every row kept
    assert res.n_rows == 4 and res.n_bad == 0
    assert sorted(res.frame["item_id"].unique()) == ["B0000530HU", "B000FI4S1E", "b0000530hu"]
    lower = [w for w in res.warnings if w.kind == "asin in lower case"]
    assert len(lower) == 1
    assert lower[0].line == 3  # the first row of the lower-case spelling
    assert "'b0000530hu'" in lower[0].reason and "'B0000530HU'" in lower[0].reason
    # the commands' id-only load says it too (evaluate, rating-eval)
    ids = load_amazon_reviews([p], ids_only=True, keep_rating=True)
    assert [w.kind for w in ids.warnings] == ["asin in lower case"]


def test_lower_case_asin_alone_or_mixed_digits_is_no_warning(tmp_path: Path) -> None:
    # no upper-case twin: nothing to confuse it with (a join says so by itself)
    p = _file(tmp_path, ["b0000530hu", "B000FI4S1E", "0976925524"])
    assert load_amazon_reviews([p]).warnings == []


def test_lower_case_asin_is_said_by_data_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    p = _file(tmp_path, ["B0000530HU", "b0000530hu"])
    assert main(["data", "summary", str(p)]) == 0
    out = capsys.readouterr().out
    assert "warnings (rows kept): 1" in out and "in lower case" in out


def test_the_tutorials_63_5_percent_is_put_beside_the_majority_class(shared_data: Path) -> None:
    # the README's "always 5 stars" share, computed from the two files it names
    amazon = shared_data / "amazon"
    res = load_amazon_reviews(
        [amazon / "AMAZON_FASHION_5.json.gz", amazon / "All_Beauty_5.json.gz"]
    )
    share = f"{(res.frame['rating'] == 5).mean():.1%}".replace("%", " %")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    para = readme[readme.index("63.5 %") : readme.index("## Quick start")]
    assert re.search(r"always 5\s+stars", para) and share in para
    analysis = (REPO / "docs" / "analysis.md").read_text(encoding="utf-8")
    knn = analysis[analysis.index("## `visrec knn-rating`") :]
    assert "63.5 %" in knn[: knn.index("* The **majority class")] and share in knn
