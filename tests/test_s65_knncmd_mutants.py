"""Mutation audit (session 65) of ``visrec.commands.knn_rating`` (``visrec knn-rating``)
and the parts of ``visrec.analysis.rating_knn`` it runs.

Mutants: 46 written, 28 run (all in knn_rating.py; time ran out before the rest).
Killed before: 22 (by the knn tests of the files that call knn-rating, pytest -k "knn or
rating_results or rating_commands"; the first 5 also under -k "knn or rating").
Killed after: 28. Equivalent: 0.
The 6 new kills: the report's "neighbours k" and "test share" rows (C16, C17); an
infinite rating left out as no rating (C21); review ids that match no vector called
"review_id values" (C29); --report naming a folder refused before any work (C04);
--json onto the --vectors file refused as an input (C05, with the vectors under a .json
name, else the suffix check refuses it first).
C04 was run again against the 49 files unfiltered (902 tests) and survived them too.
A later pass ran C14, C26, C31, R01-R15 and 4 more of rating_knn.py (22): older tests
kill 19; R01, R09 and R12 are equivalent (n_test >= 1 whenever rows exist; a blank
vector never equals a non-blank one; every line shares one column width). 14 further
rating_knn.py mutants (A02, A04, A05, ...) were written but not run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_rating_knn import _cli_fixture
from visrec.cli import main
from visrec.commands.knn_rating import ratings_with_vectors
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def _files(tmp_path: Path) -> tuple[str, str]:
    """30 items in 3 blobs, 3 ratings each (by u0, u1, u2); 'i0' has no image, 'ghost'
    no vector: 91 rows, 87 of them with a picture."""
    r, v = _cli_fixture(tmp_path)  # type: ignore[no-untyped-call]
    return str(r), str(v)


def _vectors(tmp_path: Path, vecs: np.ndarray, name: str = "v.parquet") -> str:
    ids = np.array([f"i{j}" for j in range(len(vecs))], dtype=object)
    path = tmp_path / name
    write_vectors(path, ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(len(vecs), bool)))
    return str(path)


def _summary_cell(html: str, label: str) -> str:
    m = re.search(rf"<th>{re.escape(label)}</th><td[^>]*>([^<]*)</td>", html)
    assert m, label
    return m.group(1)


def test_the_report_carries_the_options_the_notes_and_the_data_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r, v = _files(tmp_path)
    page = tmp_path / "knn.html"
    out = tmp_path / "knn.json"
    argv = ["knn-rating", "--interactions", r, "--vectors", v, "--k", "2"]
    argv += ["--test-size", "0.25", "--report", str(page), "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    # one "wrote" line per output, the report's too
    assert text.rstrip().endswith(f"wrote {out}\nwrote {page}")
    html = page.read_text()
    assert "<title>visrec knn-rating: r.csv" in html
    assert _summary_cell(html, "neighbours k") == "2"
    assert _summary_cell(html, "test share") == "0.250"
    assert _summary_cell(html, "rating rows used") == "87"
    # the rows left out, named, are said beside the figures
    assert "left out 4 of 91 rows whose item_id has no image" in html
    assert json.loads(out.read_text())["n_test"] == 22  # ceil(0.25 x 87)


def test_an_infinite_rating_is_left_out_as_no_rating(tmp_path: Path) -> None:
    v = _vectors(tmp_path, np.eye(3, 4, dtype=np.float32))
    frame = pd.DataFrame(
        {"user_id": ["u0", "u1", "u2"], "item_id": ["i0", "i1", "i2"], "rating": [4, np.inf, 3]}
    )
    kept, vecs, _, notes = ratings_with_vectors(frame, v, "item_id", False)
    assert notes == ["left out 1 row with no rating"]
    assert kept["rating"].tolist() == [4.0, 3.0] and vecs.shape == (2, 4)


def test_review_ids_that_match_no_vector_are_called_review_id_values(tmp_path: Path) -> None:
    v = _vectors(tmp_path, np.eye(3, 4, dtype=np.float32))
    frame = pd.DataFrame(
        {"user_id": ["u0", "u1"], "item_id": ["i0", "i1"], "review_id": ["r0", "r1"]}
    ).assign(rating=[4.0, 3.0])
    with pytest.raises(VisrecError) as err:
        ratings_with_vectors(frame, v, "review_id", False)
    assert "review_id values" in str(err.value)
    assert "item_id values" not in str(err.value)


def test_a_report_path_that_is_a_folder_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r, v = _files(tmp_path)
    folder = tmp_path / "pages"
    folder.mkdir()
    out = tmp_path / "knn.json"
    argv = ["knn-rating", "--interactions", r, "--vectors", v, "--json", str(out)]
    assert main([*argv, "--report", str(folder)]) == 2
    got = capsys.readouterr()
    assert "--report: output path" in got.err and "is a directory" in got.err
    # refused at startup: no figures printed, no JSON written
    assert "rating KNN" not in got.out and not out.exists()


def test_json_onto_the_vectors_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r, v = _files(tmp_path)
    vec_json = tmp_path / "vectors.json"  # Parquet under a .json name
    vec_json.write_bytes(Path(v).read_bytes())
    before = vec_json.read_bytes()
    argv = ["knn-rating", "--interactions", r, "--vectors", str(vec_json)]
    assert main([*argv, "--json", str(vec_json)]) == 2
    assert "--vectors" in capsys.readouterr().err
    assert vec_json.read_bytes() == before
