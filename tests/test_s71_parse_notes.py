"""Session 71: a note found while parsing (an input path given twice) is said once the
command line parsed, not above the usage error that ends it."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.cli import main


def _err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's usage error
        status = int(e.code or 0)
    return status, capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--bogus"], ["--n"]])
def test_no_note_above_a_usage_error(
    bad: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "note: --vectors given twice ..." first, then argparse's usage and error
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    argv = ["recommend", str(tmp_path), "-o", str(tmp_path / "r.csv")]
    status, err = _err([*argv, "--vectors", a, "--vectors", b, *bad], capsys)
    assert status == 2
    assert "error:" in err
    assert "given twice" not in err


def test_the_note_still_comes_first_when_the_line_parses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    argv = ["recommend", str(tmp_path / "none"), "-o", str(tmp_path / "r.csv")]
    status, err = _err([*argv, "--vectors", a, "--vectors", b], capsys)
    assert status != 0  # no such model folder
    lines = err.splitlines()
    assert lines[0] == (
        f"note: --vectors given twice: {b} is read, {a} is not (the last value given wins)"
    )
    assert sum("given twice" in line for line in lines) == 1
