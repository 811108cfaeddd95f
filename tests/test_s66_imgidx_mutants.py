"""Mutation audit of ``visrec.data.images_index`` and ``visrec.embed.chunk_files``
(session 66): matching image files and manifest rows to item ids, and the chunk files
that make ``visrec embed`` resumable.

45 hand-made mutants (25 of images_index: hidden and subfolder entries, links, extension
case, id stripping, clashes and their message, sort order, manifest columns, paths and
URLs, line numbers in errors; 20 of chunk_files: cut lengths, fingerprints, atomic
chunk writes, read-back checks, idle parts, temporary files, resume from chunks of
another cut). 42 were killed by the existing tests; the 3 survivors are killed by the
tests here (a manifest named by a relative path gave relative image paths, manifest ids
not stripped, a 255-byte ``OUT.parts`` name replaced by a hidden one): 45 killed after,
none equivalent. Only tests that kill one of
the 3 are kept. No bug found.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from visrec.data.images_index import load_manifest
from visrec.embed.chunk_files import parts_dir
from visrec.errors import VisrecError


def _manifest(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    m = tmp_path / name
    m.write_text(text, encoding="utf-8")
    return m


# --- images_index: manifests ------------------------------------------------------


def test_a_manifest_named_relatively_gives_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant I15_base_unresolved: 'img/a.jpg' returned relative to a relative folder
    _manifest(tmp_path, "item_id,path\na,img/a.jpg\n")
    monkeypatch.chdir(tmp_path)
    got = load_manifest("m.csv")
    assert got == {"a": str(tmp_path.resolve() / "img" / "a.jpg")}
    assert Path(got["a"]).is_absolute()


def test_ids_are_stripped_so_padded_duplicates_are_caught(tmp_path: Path) -> None:
    # mutant I25_id_strip: ' 12 ' kept with its spaces, and a second '12' let through
    m = _manifest(tmp_path, "item_id,path\n 12 ,a.jpg\n12,b.jpg\n")
    with pytest.raises(VisrecError, match="line 3: item '12' listed twice"):
        load_manifest(m)
    m2 = _manifest(tmp_path, "item_id,path\n 12 ,a.jpg\n", "m2.csv")
    assert list(load_manifest(m2)) == ["12"]


def test_a_parts_name_of_exactly_255_bytes_is_kept_plain(tmp_path: Path) -> None:
    # mutant C01_parts_255: a legal 255-byte 'OUT.parts' replaced by a hidden side name
    fits = tmp_path / ("v" * 249)
    assert parts_dir(fits) == tmp_path / ("v" * 249 + ".parts")
    over = tmp_path / ("v" * 250)
    got = parts_dir(over)
    assert got.parent == tmp_path and got.name.startswith(".") and got.name.endswith("parts")
    assert len(os.fsencode(got.name)) <= 255
