"""Session 67 mutation audit of ``visrec.data.interaction_rows``,
``visrec.data.row_reasons`` and ``visrec.data.column_names`` (after sessions 59 and 65:
tests/test_s59_interactions_mutants.py, tests/test_s65_introws_mutants.py).

51 hand-written mutants (9 in row_reasons, 29 in interaction_rows, 13 in column_names),
each run against 12 loader test files (test_s65_introws_mutants, test_s59_interactions_mutants,
test_s53_loaders, test_s52_loaders, test_s53_review, test_s53_manifest, test_s53_recs_inputs,
test_data_tables, test_input_formats, test_input_edge_fixes, test_reader_mutation_gaps,
test_s59_tables_mutants). The old tests killed 35; of the 16 survivors the tests here kill
10 (r01, r03, r10, r14, r22, r25, r29, c03, c09, c12, named in each test's docstring) and
6 are equivalent:
- w01 / w09 (field_count_hint's ``len(fields) > n`` made ``>=``; ``0 < n - len`` made
  ``0 <=``): every caller asks only for a row whose field count is not ``n``.
- r05 (the fast path's "text starts with a space or tab" guard dropped): a first line of
  only blanks is then caught by the separator total or the line count check after it.
- r06 (``skip and`` dropped before the empty-first-row check): a headerless table's first
  line is numbers, never a row of only separators; either way the slow path decides.
- r24 (a blank line inside looked for as ``\n\n\n``): pandas skips a single blank line,
  and the line count check then hands the file to the slow path all the same.
- r28 (the repeated-header check without ``& keep``): the rows refused before it have an
  empty or NUL id, which neither a loader alias nor a header name holds.
One bug is fixed in ``column_names._match_columns``: two names given for two roles that
find one column only by its spelling-free key (``user_col="a", item_col="A"``) passed
``tables._refuse_shared_columns`` (which compares the names as given), and that column
became both the user and the item: now refused with the same words.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_s65_introws_mutants import _bad, _load
from visrec.errors import VisrecError


def test_a_line_break_in_a_text_value_may_be_a_quote_left_open(tmp_path: Path) -> None:
    """r01: ``_parse_rows``'s ``quoted`` default made False: a text file's line break in
    a value no longer blamed on a quote left open (only Parquet's must not be)."""
    r = _load(tmp_path, 'user_id,item_id,rating\n"a\nb",i1,4\nu1,i1,3\n')
    assert _bad(r) == [(2, "line break in a value")]
    assert r.bad[0].reason.endswith("which no id, rating or time can (or a quote was left open)")


@pytest.mark.parametrize("col", ["rating", "timestamp"])
def test_a_line_break_in_a_rating_or_time_is_refused(tmp_path: Path, col: str) -> None:
    """r29: only the id fields looked at for a line break: a quoted ``"4\\n"`` would be
    stripped to a valid number and the quote left open pass unseen."""
    r = _load(tmp_path, f'user_id,item_id,{col}\nu1,i1,"1700000000\n"\nu2,i2,1700000000\n')
    assert _bad(r) == [(2, "line break in a value")]
    assert r.bad[0].reason.startswith(f"the {col} field holds a line break")
    assert r.frame["user_id"].tolist() == ["u2"]


def test_the_largest_float32_rating_is_kept(tmp_path: Path) -> None:
    """r10: the float32 range check ``> max`` made ``>= max``: float32's own largest
    value (finite there) refused as out of range."""
    top = float(np.finfo(np.float32).max)
    r = _load(tmp_path, f"user_id,item_id,rating\nu1,i1,{top!r}\nu2,i2,3.5e38\n")
    assert _bad(r) == [(3, "rating out of range")]
    assert r.frame["rating"].tolist() == [top]


def test_joined_ids_are_said_before_mixed_time_units(tmp_path: Path) -> None:
    """r14: the warnings of ids joined by spaces put after the time-units one (the
    ids' notes come first, as the loader has always listed them)."""
    r = _load(
        tmp_path,
        "user_id,item_id,timestamp\nu1,i1,1700000000\n u1 ,i2,1700000001\nu2,i3,1700000000000\n",
    )
    assert [(w.line, w.kind) for w in r.warnings] == [
        (2, "user ids joined"),
        (4, "timestamp units"),
    ]


def test_the_time_units_warning_says_a_time_split_misorders(tmp_path: Path) -> None:
    """r22: the warning's word "misorders" (what a user must act on) changed."""
    r = _load(tmp_path, "user_id,item_id,timestamp\nu1,i1,1700000000\nu2,i2,1700000000000\n")
    (w,) = r.warnings
    assert w.reason.endswith(
        "they are taken as written, so what goes by time (--protocol time) misorders them: "
        "convert one kind"
    )


def test_the_joined_ids_line_is_of_a_row_kept(tmp_path: Path) -> None:
    """r25: the first line of ids joined looked for among refused rows too (line 2,
    refused for its rating, named instead of line 3, the first kept row joined)."""
    r = _load(tmp_path, "user_id,item_id,rating\n sp ,i1,x\nsp,i1,3\n sp ,i2,4\n")
    assert _bad(r) == [(2, "non-numeric rating")]
    assert [(w.line, w.kind) for w in r.warnings] == [(3, "user ids joined")]


def test_a_first_line_of_text_ids_and_a_number_looks_like_data(tmp_path: Path) -> None:
    """c03: ``headless`` asked that every field be a number (never so there: such a file
    is read without a header), so a headerless file of text ids got the rename advice."""
    with pytest.raises(VisrecError) as e:
        _load(tmp_path, "u1,i10,3\nu2,i11,4\n")
    msg = str(e.value)
    assert "its first line looks like data, not a header (a number among the names)" in msg
    assert "rename that column" not in msg


def test_the_rename_advice_lists_every_alias(tmp_path: Path) -> None:
    """c09: the advice's list of names the loader takes cut short."""
    from visrec.data.column_names import ALIASES

    with pytest.raises(VisrecError) as e:
        _load(tmp_path, "who,item_id\nu1,i1\n")
    assert f"(or one of {', '.join(ALIASES['user_id'])}; case, spaces" in str(e.value)
    assert "shopperid" in str(e.value)  # the last alias


def test_a_line_of_spaces_keeps_later_line_numbers_exact(tmp_path: Path) -> None:
    """r03: the fast path's check that no line of only spaces or tabs was skipped
    dropped: pandas' C parser skips it, so every later line is named one too early."""
    r = _load(tmp_path, "user_id,item_id\nu1,i1\n \t \nu2,i2\nu3,\n")
    assert _bad(r) == [(5, "empty item id")]
    assert r.frame["user_id"].tolist() == ["u1", "u2"]


@pytest.mark.parametrize(
    "name",
    [
        "ordered_at",
        "order_date",
        "order_time",
        "created_at",
        "purchased_at",
        "purchase_date",
        "event_time",
        "timestamp_utc",
    ],
)
def test_each_shop_time_name_is_read_when_the_time_is_needed(tmp_path: Path, name: str) -> None:
    """c12: a shop's time name (here ``purchase_date``) dropped from those taken where
    the time is needed (the docs' ``ordered_at``, ``order_date``, ``created_at``, ...)."""
    r = _load(tmp_path, f"user_id,item_id,{name}\na,i1,5\nb,i2,7\n", ids_only=True, keep_time=True)
    assert r.frame["timestamp"].tolist() == [5, 7]
    assert r.bad == []


def test_two_spellings_of_one_column_for_two_roles_are_refused(tmp_path: Path) -> None:
    """Bug fixed here: ``user_col="a", item_col="A"`` passed the check of one name given
    for two roles (it compares the names as given), then both found column ``a``: every
    user became an item of the same id, silently."""
    with pytest.raises(VisrecError, match=r"column 'a' is named for both user_col \('a'\) and "):
        _load(tmp_path, "a,b,c\nu1,i1,3\n", user_col="a", item_col="A")
    # columns that differ in case stay two columns when each is named exactly
    r = _load(tmp_path, "a,A\nu1,i1\n", user_col="a", item_col="A")
    assert r.frame[["user_id", "item_id"]].values.tolist() == [["u1", "i1"]]
