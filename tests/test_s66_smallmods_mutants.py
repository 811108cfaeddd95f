"""Session 66 mutation audit of the small modules ``commands/_csv_quoting``,
``embed/vector_source``, ``images/pillow_warnings``, ``_blas_threads``, ``_revision`` and
``_frozen``.

Mutants: 25 in all; 21 killed by the tests before, 23 after these; 2 equivalent:

* ``[Cc]orrupt EXIF`` -> ``Corrupt EXIF`` in quiet_pillow_warnings: ``warnings``
  matches a filter's message case-insensitively, so the character class adds nothing.
* ``_limiter = None`` dropped after the outermost one_blas_thread block: the next
  outermost block assigns a new limiter before it reads it; only a reference to the
  spent one stays alive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from visrec import __version__
from visrec._frozen import read_only
from visrec.embed.store import ItemVectors


def test_read_only_is_a_view_of_the_callers_array_not_a_copy() -> None:
    # a catalogue's vectors can be gigabytes: freezing them must not copy them
    mine = np.arange(6, dtype=np.float32).reshape(2, 3)
    frozen = read_only(mine)
    assert np.shares_memory(frozen, mine)
    assert not frozen.flags.writeable and mine.flags.writeable
    mine[0, 0] = 7.0  # the caller may still write its own array: the view sees it
    assert frozen[0, 0] == 7.0
    iv = ItemVectors(np.array(["a", "b"], dtype=object), mine, np.array([True, False]))
    assert np.shares_memory(iv.vectors, mine)


def test_code_revision_of_an_unreadable_install_is_the_version_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec import _revision

    def unreadable(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    _revision.code_revision.cache_clear()
    try:
        monkeypatch.setattr(Path, "read_bytes", unreadable)
        assert _revision.code_revision() == __version__
        monkeypatch.undo()
        _revision.code_revision.cache_clear()
        readable = _revision.code_revision()
        assert readable.startswith(f"{__version__}+") and readable != __version__
    finally:
        monkeypatch.undo()
        _revision.code_revision.cache_clear()
