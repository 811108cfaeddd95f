"""``embed -o`` over an empty file (``touch``, ``mktemp``) writes the vectors there, as
every other output does, without ``--overwrite``: it holds nothing to lose. Before, it
was refused as "not a visrec vectors file". A file with bytes that is not a vectors
file is still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_embed import _foreign_outputs, _images, _run, _tiny_cli_embed
from visrec.cli import main as cli_main
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError


def test_the_library_writes_over_an_empty_file(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 4)
    out = tmp_path / "v.parquet"
    out.touch()
    result = _run(folder, out)
    assert result.n == 4 and not any("not a visrec vectors file" in n for n in result.notes)
    assert len(read_vectors(out).ids) == 4


def test_the_command_writes_over_an_empty_file_without_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_cli_embed(monkeypatch)
    folder = _images(tmp_path / "imgs", 3)
    out = tmp_path / "v.parquet"
    out.touch()
    assert cli_main(["embed", str(folder), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "not a visrec vectors file" not in err
    assert sorted(read_vectors(out).ids) == ["000", "001", "002"]


def test_a_file_with_bytes_is_still_refused(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 2)
    for out in _foreign_outputs(tmp_path):
        with pytest.raises(VisrecError, match="not a visrec vectors file"):
            _run(folder, out)
