"""Judge-style review (session 69): a one-column candidates or users file headed by a
bare ``id`` (what ``pd.Series(ids, name="id").to_csv(index=False)`` writes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.commands._recs_inputs import read_candidates, read_users


@pytest.mark.parametrize("head", ["id", "ID", "Id", "_id"])
def test_a_bare_id_header_is_skipped_not_taken_for_a_candidate(
    tmp_path: Path, head: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "cands.txt"
    f.write_text(f"{head}\r\n0001\r\n0004\r\n")
    assert read_candidates(str(f)) == ["0001", "0004"]
    assert f"{head!r} taken for a header" in capsys.readouterr().err


def test_a_bare_id_header_of_a_users_file_is_skipped(tmp_path: Path) -> None:
    f = tmp_path / "users.txt"
    f.write_text("id\n007\n7\n")
    assert read_users(str(f)) == [("007", 2), ("7", 3)]


def test_a_quoted_id_over_bare_ids_is_still_an_id(tmp_path: Path) -> None:
    f = tmp_path / "cands.txt"
    f.write_text('"id"\n0001\n')  # the way out the note names
    assert read_candidates(str(f)) == ["id", "0001"]
    g = tmp_path / "later.txt"
    g.write_text("0001\nid\n")  # only the first line can be a header
    assert read_candidates(str(g)) == ["0001", "id"]
