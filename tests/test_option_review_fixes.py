"""Options exercised one by one (an outside review): a column or separator named for a
file that has none to choose, a --time-col naming no column where the time is not
read, and seeds out of range through the Python API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_knn import knn_rating
from visrec.cli import main
from visrec.errors import VisrecError


def test_data_summary_refuses_layout_options_for_amazon_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "Beauty_5.json"
    p.write_text('{"overall": 5.0, "reviewerID": "A1", "asin": "B1", "unixReviewTime": 1}\n')
    assert main(["data", "summary", str(p), "--user-col", "nope", "--sep", ";"]) == 2
    assert (
        "Amazon files have fixed fields; sep=';', user_col='nope' does not apply"
        in capsys.readouterr().err
    )
    assert main(["data", "summary", str(p)]) == 0
    # and for a folder of them, as evaluate --interactions FOLDER refuses it
    assert main(["data", "summary", str(tmp_path), "--sep", ","]) == 2
    assert "Amazon files have fixed fields; sep=','" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_time_column_not_read_must_still_be_a_column(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "c.csv"
    rows = [f"u{u},i{(u * 3 + k) % 12},{4 + k % 2},{100 + k}" for u in range(8) for k in range(6)]
    p.write_text("who,what,stars,when\n" + "\n".join(rows) + "\n")
    base = {
        "train": ["train", "--model", "popularity", "-o", str(tmp_path / "m")],
        "evaluate": ["evaluate", "--models", "popularity", "--seeds", "1"],
    }[command]
    argv = [*base, "--interactions", str(p), "--user-col", "who", "--item-col", "what", "-q"]
    assert main([*argv, "--time-col", "nope"]) == 2
    assert "c.csv: no column 'nope' (--time-col; columns: who, what, stars, when)" in (
        capsys.readouterr().err
    )
    assert main([*argv, "--time-col", "when"]) == 0  # named right: noted as unused, run
    # matched as a read column's name is: case and separators aside
    assert main([*argv, "--time-col", "WHEN"]) == 0


def test_python_api_seeds_out_of_range_are_visrec_errors() -> None:
    x = np.random.default_rng(0).normal(size=(12, 3))
    with pytest.raises(VisrecError, match="cluster: random_state must be between 0 and"):
        cluster_vs_labels(x, ["a", "b"] * 6, k=2, random_state=-1)
    with pytest.raises(VisrecError, match="rating KNN: random_state must be between 0 and"):
        knn_rating(x, [1, 2, 3, 4] * 3, random_state=-1)
    with pytest.raises(VisrecError, match="random_state must be an integer"):
        knn_rating(x, [1, 2, 3, 4] * 3, random_state=1.5)  # type: ignore[arg-type]
