"""An output option naming one of the command's own input files is refused before any
work: `--report u.data` used to replace the ratings with HTML, `--json v.parquet` the
vectors (hours of embedding)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_runner import checkerboard, write_case
from visrec.cli import main


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    csv, vec = write_case(tmp_path, *checkerboard())
    frame = csv.read_text().splitlines()
    # a rating column for the rating commands: every row 1..5
    rows = [frame[0] + ",rating"] + [f"{r},{1 + i % 5}" for i, r in enumerate(frame[1:])]
    csv.write_text("\n".join(rows) + "\n")
    return csv, vec


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], victim: Path) -> str:
    before = victim.read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert victim.read_bytes() == before  # untouched
    assert err.count("\n") == 1
    return err


def test_evaluate_outputs_are_not_its_inputs(
    case: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = case
    base = ["evaluate", "--interactions", str(csv), "--vectors", str(vec), "--quiet"]
    err = _refused([*base, "--report", str(csv)], capsys, csv)
    assert f"--report: {str(csv)!r} is the --interactions file; writing it would replace it" in err
    assert "--json" in _refused([*base, "--json", str(vec)], capsys, vec)
    # A symlink to the vectors is the vectors.
    link = tmp_path / "link.parquet"
    os.symlink(vec, link)
    assert "is the --vectors file" in _refused([*base, "--report", str(link)], capsys, vec)
    same = tmp_path / "same.out"
    err = _refused([*base, "--json", str(same), "--report", str(same)], capsys, csv)
    assert "--report and --json name the same file" in err


def test_analysis_commands_outputs_are_not_their_inputs(
    case: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = case
    knn = ["knn-rating", "--interactions", str(csv), "--vectors", str(vec)]
    assert "is the --interactions file" in _refused([*knn, "--json", str(csv)], capsys, csv)
    rating = ["rating-eval", "--interactions", str(csv), "--vectors", str(vec), "--quiet"]
    assert "is the --vectors file" in _refused([*rating, "--report", str(vec)], capsys, vec)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,kind\n" + "".join(f"i{i},k{i % 2}\n" for i in range(20)))
    cluster = ["cluster", str(vec), "--labels", str(labels), "--id-col", "id", "--label-col",
               "kind"]  # fmt: skip
    assert "is the VECTORS file" in _refused([*cluster, "--report", str(vec)], capsys, vec)
    assert "is the --labels file" in _refused([*cluster, "--json", str(labels)], capsys, labels)
    similar = ["similar", str(vec), "i1", "--json", str(vec)]
    assert "is the VECTORS file" in _refused(similar, capsys, vec)


def test_recommend_output_is_not_its_candidates_or_vectors(
    case: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = case
    model = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(model)]
    assert main(argv) == 0
    capsys.readouterr()
    items = tmp_path / "items.txt"
    items.write_text("i1\ni2\n")
    rec = ["recommend", str(model), "--n", "2", "--items", str(items), "--vectors", str(vec)]
    assert "is the --items file" in _refused([*rec, "-o", str(items)], capsys, items)
    assert "is the --vectors file" in _refused([*rec, "-o", str(vec)], capsys, vec)
    out = tmp_path / "recs.csv"
    assert main([*rec, "-o", str(out)]) == 0  # a fresh file is fine
    assert any(line.startswith("u0,") for line in out.read_text().splitlines())


def test_recommend_output_is_not_a_file_of_the_model(
    case: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, _ = case
    model = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(csv), "-o", str(model)]) == 0
    )
    capsys.readouterr()
    for name in ("model.json", "train.json"):
        err = _refused(["recommend", str(model), "-o", str(model / name)], capsys, model / name)
        assert f"is the model folder's {name} file" in err
    # Next to the model's files is fine.
    assert main(["recommend", str(model), "-o", str(model / "recs.csv")]) == 0
    assert main(["recommend", str(model), "-o", str(tmp_path / "again.csv")]) == 0
