"""A manifest row the reader refuses says why where it can (session 53): the header
line ending in its separator, NUL bytes; an item id holding NUL is refused, not kept as
an id no interactions file spells."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.data.images_index import read_manifest_rows
from visrec.errors import VisrecError


def _error(path: Path) -> str:
    with pytest.raises(VisrecError) as info:
        read_manifest_rows(path)
    return str(info.value)


def test_a_header_ending_in_its_separator_is_named(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("item_id,path,\na,a.jpg\n")
    assert _error(m) == (
        f"{m} line 2: expected 3 fields, got 2 (the header's last column has no name: "
        "a separator at the end of the header line?)"
    )


def test_a_short_row_under_a_named_header_has_no_hint(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("item_id,path,note\na,a.jpg\n")
    assert _error(m) == f"{m} line 2: expected 3 fields, got 2"


def test_an_item_id_holding_nul_is_refused_with_its_line(tmp_path: Path) -> None:
    # past the 8 KiB the binary check reads
    rows = "".join(f"i{n},i{n}.jpg\n" for n in range(2000))
    m = tmp_path / "m.csv"
    m.write_text("item_id,path\n" + rows + "5\x006,x.jpg\n")
    assert _error(m) == (
        f"{m} line 2002: item id '5\\x006' holds a NUL byte, which no id can (a damaged file?)"
    )
