"""``visrec train -o LINK``: the summary names the link that was typed (session 61).

The model is swapped into the folder the link names and the link is kept; the
summary used to show only that folder, so a user who typed ``-o models/current`` did
not see the name they typed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.cli import main
from visrec.models.base import Recommender


def test_the_summary_names_the_link_and_the_folder_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("user_id,item_id\nu1,i1\nu1,i2\nu2,i1\n")
    real = tmp_path / "v1"
    real.mkdir()
    link = tmp_path / "current"
    link.symlink_to(real)
    argv = ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(link)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"-> {link} (a link to {real.resolve()})")
    assert link.is_symlink() and Recommender.load(real) is not None


def test_a_plain_folder_is_named_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("user_id,item_id\nu1,i1\nu1,i2\nu2,i1\n")
    out_dir = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(csv), "-o", str(out_dir)])
        == 0
    )
    assert capsys.readouterr().out.rstrip().endswith(f"-> {out_dir}")
