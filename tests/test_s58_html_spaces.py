"""Ids whose spaces a browser would fold (a run of them, or one at either end) keep
them on a page: ``"a  b"`` and ``"a b"`` must not read alike."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report.html import id_html

PRE = '<span style="white-space:pre-wrap">'


@pytest.mark.parametrize(
    ("item_id", "as_escapes", "expected"),
    [
        ("a b", False, "a b"),
        ("a  b", False, f"{PRE}a  b</span>"),
        (" a", False, f"{PRE} a</span>"),
        ("a ", False, f"{PRE}a </span>"),
        ("<a>  &", False, f"{PRE}&lt;a&gt;  &amp;</span>"),
        # in quotes a lone space at an end sits between characters: nothing folds
        (" a", True, "&#x27; a&#x27;"),
        ("a  b", True, f"{PRE}&#x27;a  b&#x27;</span>"),
        ("a\tb", False, "&#x27;a\\tb&#x27;"),
    ],
)
def test_spaces_a_browser_would_fold_are_kept(
    item_id: str, as_escapes: bool, expected: str
) -> None:
    assert id_html(item_id, as_escapes) == expected


def test_similar_report_keeps_a_run_of_spaces_in_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["a  b", "a b", "c"]
    vecs = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    v = tmp_path / "v.parquet"
    write_vectors(v, ItemVectors(ids, vecs, np.ones(3, dtype=bool)))
    out = tmp_path / "s.html"
    assert main(["similar", str(v), "a  b", "--n", "2", "--report", str(out)]) == 0
    capsys.readouterr()
    page = out.read_text()
    assert f"<h3>items most like {PRE}a  b</span></h3>" in page
    captions = re.findall(r"<figcaption>(.*?)<br>", page)
    assert captions == [f"{PRE}a  b</span>", "a b", "c"]
