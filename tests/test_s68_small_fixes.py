"""Session 68's small fixes, each with a test that fails on the old source."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_features import _csv, _table
from visrec.cli import main
from visrec.commands._common import check_vectors_match
from visrec.data.id_spelling import ids_as_text, spell_ids
from visrec.data.text_files import decode_text
from visrec.embed.store import ItemVectors, check_some_vector
from visrec.errors import VisrecError, none_of


def _vectors(ids: list[str], has: list[bool]) -> ItemVectors:
    return ItemVectors(
        ids=np.array(ids, dtype=object),
        vectors=np.ones((len(ids), 3), dtype=np.float32),
        has_image=np.array(has),
    )


def test_none_of_reads_for_one_and_for_many() -> None:
    assert none_of(3, "items", "is in it", "is not in it") == "none of the 3 items is in it"
    assert none_of(1, "items", "is in it", "is not in it") == "the only item is not in it"
    assert none_of(0, "rated items", "x", "y") == "none of the 0 rated items x"
    assert none_of(1_200, "item_id values", "x", "y") == "none of the 1,200 item_id values x"


@pytest.mark.parametrize(
    ("ids", "has", "expected"),
    [
        (["a", "b"], [True, True], "V.parquet: the only training item is not in it;"),
        (["x", "b"], [False, True], "V.parquet: the only training item has no image vector"),
    ],
)
def test_one_item_without_a_vector_is_said_in_the_singular(
    ids: list[str], has: list[bool], expected: str
) -> None:
    """The old wording was 'none of the 1 training items is in it'."""
    with pytest.raises(VisrecError) as err:
        check_vectors_match(_vectors(ids, has), ["x"], "V.parquet", "R.csv", noun="training items")
    assert expected in str(err.value)
    assert "none of the 1 " not in str(err.value)


def test_check_some_vector_says_the_only_one() -> None:
    with pytest.raises(VisrecError, match=r"^model 'vbpr': the only training item has no "):
        check_some_vector(_vectors(["a"], [True]), ["z"], "model 'vbpr'", "training items")
    with pytest.raises(VisrecError, match=r"^m: none of the 2 training items has an image "):
        check_some_vector(_vectors(["a"], [True]), ["z", "y"], "m", "training items")


def test_like_names_every_missing_column_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--like` on a table lacking two encoded columns names both, quoted as the
    `--columns` message quotes its name (it said 'no column colour, price')."""
    items = _csv(tmp_path, _table())
    first = tmp_path / "f.parquet"
    assert main(["features", str(items), "--columns", "colour,price", "-o", str(first)]) == 0
    capsys.readouterr()
    new = _csv(tmp_path, _table().drop(columns=["price", "colour"]), "new.csv")
    assert main(["features", str(new), "--like", str(first), "-o", str(tmp_path / "n.pq")]) == 2
    err = capsys.readouterr().err
    assert f"{new}: no columns 'colour', 'price', which {first} encodes (columns: " in err, err


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"item_id,path\r\na,a.jpg\r\nb\x00,b.jpg\r\n", " (a NUL byte on line 3)"),
        (b"item_id,path\ra,a.jpg\rb\x00,b.jpg\r", " (a NUL byte on line 3)"),
        (b"\x00item_id,path\n", " (a NUL byte on line 1)"),
        ("item_id,path\na,a.jpg\n".encode("utf-16"), ""),  # NULs everywhere
        (b"PAR1" + b"\x00\x01\x02" * 100, ""),
    ],
)
def test_a_stray_nul_is_placed_on_its_line(tmp_path: Path, raw: bytes, said: str) -> None:
    """A manifest with one NUL in an id was refused as binary without saying where."""
    f = tmp_path / "m.csv"
    f.write_bytes(raw)
    with pytest.raises(VisrecError) as err:
        decode_text(f)
    assert str(err.value).endswith(f"not a UTF-8 or latin-1 text table{said}")


def test_bytes_in_a_mixed_column_are_their_text_on_every_pandas() -> None:
    """A Parquet object column of bytes and numbers: `astype(str)` wrote b"a" as "b'a'"
    on pandas 2 and failed inside pandas 3 on bytes that are not UTF-8."""
    col = pd.Series([b"a", 7, None, b"caf\xc3\xa9"], name="item_id", dtype=object)
    assert ids_as_text(col, "f.parquet").tolist() == ["a", "7", None, "café"]
    with pytest.raises(VisrecError) as err:
        ids_as_text(pd.Series([b"\xff", 7], name="item_id", dtype=object), "f.parquet")
    assert (
        str(err.value)
        == "f.parquet: column 'item_id': id b'\\xff' is bytes that are not UTF-8 text"
    )


def test_lookups_refuse_bytes_that_are_not_utf8_as_the_loaders_do() -> None:
    """spell_ids wrote b"\\xff" and b"\\xfe" both as "\\ufffd": two items of an
    ItemVectors became one repeated id; a mixed list failed inside pandas."""
    for ids in ([b"\xff", b"\xfe"], [b"\xff", 1.0], b"\xff"):
        with pytest.raises(VisrecError, match=r"^id b'\\xff' is bytes that are not UTF-8 text$"):
            spell_ids(ids)
    with pytest.raises(VisrecError, match="is bytes that are not UTF-8 text"):
        _vectors([b"\xff", b"\xfe"], [True, True])  # type: ignore[list-item]
    assert spell_ids([b"caf\xc3\xa9", 2]) == ["café", "2"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_test_that_makes_a_pipe_fails_soon_rather_than_hangs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """conftest gives it 180 s, not the suite's 900: a pipe read by mistake would
    otherwise hold CI for 15 minutes before failing."""
    os.mkfifo(tmp_path / "p")
    marker = request.node.get_closest_marker("timeout")
    assert marker is not None and marker.args == (180,)


def test_no_bars_on_a_closed_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed stream as sys.stderr raised ValueError from isatty (None was handled),
    and the minute lines of a fit were printed to it."""
    import argparse
    import contextlib
    import io

    from visrec.commands._progress import fit_lines_in_logs, show_progress

    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr("sys.stderr", closed)
    assert show_progress(argparse.Namespace(verbose=True, quiet=False)) is False
    assert show_progress(argparse.Namespace(verbose=False, quiet=False)) is False
    # nor minute lines: they would be printed to the closed stream
    quiet_not = argparse.Namespace(verbose=False, quiet=False)
    assert isinstance(fit_lines_in_logs(quiet_not), contextlib.nullcontext)
