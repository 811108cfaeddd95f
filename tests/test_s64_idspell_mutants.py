"""Session 64 mutation audit of ``visrec.data.id_spelling`` (second pass, after
tests/test_s56_timestamps_ids_mutants.py).

60 mutants, none repeating session 56's I-mutants: the whole-number and "dressed"
patterns, zero-width and dash classes, quoted ids, the ranking of reference spellings,
folding, look-alike finders, ``ids_as_text`` on text with gaps and on mixed columns,
bytes ids, and the float look-ups of ``find_ids``. Run against the id test files
(test_id_*, test_odd_ids, test_s49_id_notes, test_s51_spelling, test_s56_*ids*,
test_s56_similar_look_alikes, test_s60_missing_words, test_session42/reader gaps).

Counts: 60 total; 42 killed before; 52 killed after (the tests below); 8 equivalent:
- ``len(miss) == 0`` early return dropped in ``respelt``: an empty ``miss`` finds no
  key in ``_matches`` and no quoted id, so the result is [] either way.
- ``value != text`` dropped in ``_unquoted``: a string literal's value never equals its
  own source (the quotes are not part of the value).
- ASCII shortcut dropped in ``look_alike``: ASCII is unchanged by NFC, so ``_alike``
  finds nothing anyway (a speed path).
- ``NFC`` -> ``NFD`` in ``look_alike``: two strings share an NFC form exactly when they
  share an NFD form (both canonical), so the groups are the same.
- ``not pc.any(changed)`` early return dropped in ``_alike``: no changed id means no key
  passes the ``near`` filter, so no group.
- ``near`` filter dropped in ``_alike``: of distinct ids (the contract; ``id_notes``
  passes ``unique()``), two unchanged by the form cannot share it.
- ``pd.Series(ids)`` -> ``list(ids)`` for an ExtensionArray or Index in ``_texts``:
  the same values become the same text (the Series is a speed path).
- ``& pd.notna(ref_key)`` dropped in ``_matches``: the wanted keys are never null, so
  ``isin`` never matches a null key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visrec.data.id_spelling import (
    find_ids,
    ids_as_text,
    shown_as,
    spell_ids,
    spelt_two_ways,
)
from visrec.errors import VisrecError


def test_trailing_space_is_a_second_spelling_of_a_number() -> None:
    """M6 (``\\s$`` dropped from ``_DRESSED``): '7 ' beside '7' is one number twice."""
    assert spelt_two_ways(["7", "7 "]) == (1, [["7", "7 "]])


def test_point_zero_is_a_second_spelling_of_a_number() -> None:
    """M7 (``^-?\\d+\\.0*$`` dropped from ``_DRESSED``): '7.0' beside '7'."""
    assert spelt_two_ways(["7", "7.0", "8"]) == (1, [["7", "7.0"]])
    assert spelt_two_ways(["-3", "-3.00"]) == (1, [["-3", "-3.00"]])


def test_shown_as_needs_the_quote_first() -> None:
    """M16 (``given[:1]`` quote check dropped): an id that Python reads as a string
    but is not as a note shows it (a space before the quote, a ``u`` prefix, brackets)
    is not a pasted id."""
    assert shown_as("'a\\tb'", "a\tb")
    assert not shown_as(" 'a'", "a")
    assert not shown_as("u'a'", "a")
    assert not shown_as("('a')", "a")


def test_text_column_with_a_gap_gives_none_in_an_object_column() -> None:
    """M41 (a ``string`` column returned as it is even with a gap): the gap is None
    in an object column, not ``pd.NA`` in a string column."""
    col = pd.Series(["a", None, "c"], dtype="string", name="item_id")
    out = ids_as_text(col)
    assert out.dtype == object
    assert out.tolist() == ["a", None, "c"]
    assert out[1] is None


def test_merged_ids_without_a_column_name_name_no_column() -> None:
    """M46 (``col.name is not None`` check dropped): a list of ids to look up has no
    column; the error must not say ``column 'None'``."""
    with pytest.raises(VisrecError) as err:
        ids_as_text(pd.Series([7, "7"], dtype=object))
    msg = str(err.value)
    assert "column" not in msg
    assert msg.startswith("ids 7 and '7' (int and str) are both the id '7' as text")
    assert "give the ids one kind of value" in msg


def test_bytes_is_one_id_spelt_as_its_text() -> None:
    """M47 (bytes not one id: iterated as ints) and M49 (bytes as ``str``: "b'x1'")."""
    assert spell_ids(b"x1") == ["x1"]
    assert find_ids({"x1": 4}, b"x1") == [4]


def test_mixed_bytes_and_text_are_each_spelt_as_text() -> None:
    """M48 (``str(v)`` instead of ``_spell_one``) and M49: bytes in an object
    sequence without floats are their UTF-8 text."""
    assert spell_ids([b"x1", "y", 7]) == ["x1", "y", "7"]
    assert find_ids({"x1": 0, "7": 2}, [b"x1", 7]) == [0, 2]


def test_whole_float_beside_a_fraction_finds_the_integer_spelling() -> None:
    """M51 (the ``_spell_one`` look-up dropped): in a float sequence with a fraction
    7.0 is spelt '7.0', but a map built from the integer column holds '7'."""
    assert spell_ids([7.0, 8.5]) == ["7.0", "8.5"]
    assert find_ids({"7": 0, "8.5": 1}, [7.0, 8.5]) == [0, 1]
    assert find_ids({"7.0": 3}, [7.0, 8.5]) == [3, None]


def test_numpy_bytes_array_is_not_text() -> None:
    """M53 (``_is_text`` takes a ``S`` array for text): a numpy bytes array's ids are
    their UTF-8 text, not "b'x1'"."""
    arr = np.array([b"x1", b"y"])
    assert spell_ids(arr) == ["x1", "y"]
    assert find_ids({"x1": 0, "y": 1}, arr) == [0, 1]
