"""Session 72: docs/data.md checked against the program. ``visrec data summary`` says,
as every command that reads the file does, that ids lost the spaces around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.cli import main
from visrec.data.summary import summarize


def test_summary_of_interactions_notes_ids_stripped_of_spaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "data.csv"
    p.write_text("user_id,item_id\n u1,i1\nu2 , i2\nu3,i1\n", encoding="utf-8")
    (section,) = summarize([p])
    spaced = [n for n in section["id_notes"] if "spaces around" in n]
    assert spaced == [
        "2 user ids and 1 item id had spaces around them, removed (' u1' is read as 'u1')"
    ]
    assert main(["data", "summary", str(p)]) == 0
    assert "note: 2 user ids and 1 item id had spaces around them" in capsys.readouterr().out


def test_summary_of_an_item_table_notes_ids_stripped_of_spaces(tmp_path: Path) -> None:
    p = tmp_path / "styles.csv"
    p.write_text("id,masterCategory\n a ,Apparel\nb,Footwear\n", encoding="utf-8")
    (section,) = summarize([p])
    assert section["kind"] == "item table"
    assert section["id_notes"] == ["1 item id had spaces around it, removed (' a ' is read as 'a')"]


def test_summary_without_spaced_ids_has_no_such_note(tmp_path: Path) -> None:
    p = tmp_path / "data.csv"
    p.write_text("user_id,item_id\nu1,i1\nu2,i2\n", encoding="utf-8")
    (section,) = summarize([p])
    assert section["id_notes"] == []
