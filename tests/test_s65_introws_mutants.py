"""Session 65 mutation audit of ``visrec.data.interaction_rows`` and
``visrec.data.column_names`` (reading interaction rows: column names and aliases, row
checks, bad-record counts and their file:line messages), after session 59's
(tests/test_s59_interactions_mutants.py).

58 hand-written mutants (39 in interaction_rows, 19 in column_names), each named by its
id in the test that kills it. Against 14 loader test files: 33 killed of the 47 run
there (c03, c10-c18 and c20 were checked only against this file, after time ran out;
c13 was also checked and killed by test_data_tables). 56 are killed with this file, 2 are
equivalent:
- r26 (`kinds.numbers[j] and not as_numbers` made `kinds.numbers[j]`): in a column of
  numbers a number is refused only when beyond int64, which the branch before names.
- c12 (the "named for ..._col" note without `explicit.get(other) is not None`): roles
  found by alias hold names of their own role's aliases, and the roles' aliases are
  disjoint, so no alias-found column ever names another role's alias.
One bug is fixed: ids joined by their spaces were looked for before ratings and times
were checked, so a spelling held only by a row refused later was said to be joined.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from visrec.data.load_result import LoadResult
from visrec.data.tables import load_interactions
from visrec.errors import VisrecError


def _load(tmp_path: Path, text: str, name: str = "t.csv", **kw: object) -> LoadResult:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return load_interactions(p, **kw)  # type: ignore[arg-type]


def _bad(r: LoadResult) -> list[tuple[int, str]]:
    return [(b.line, b.kind) for b in r.bad]


# ------------------------------------------------------------------ row-by-row path
def test_too_many_fields_is_refused_on_both_paths(tmp_path: Path) -> None:
    # r01: the field count check `!=` made `<` (a row of too many fields kept)
    for q in ("", '"'):
        r = _load(tmp_path, f"user_id,item_id,rating\n{q}u1{q},i1,3,5\nu2,i2,4\n")
        assert _bad(r) == [(2, "wrong field count")]
        assert r.bad[0].reason == "expected 3 fields, got 4"
        assert str(r.bad[0]) == f"{tmp_path / 't.csv'}:2: expected 3 fields, got 4"
        assert r.frame["user_id"].tolist() == ["u2"]
        assert r.n_read == 2  # r06: the rows of a wrong field count are read too


def test_a_carriage_return_in_a_quoted_id_is_a_line_break(tmp_path: Path) -> None:
    # r04: only "\n" looked for in a value, not "\r"
    r = _load(tmp_path, 'user_id,item_id,rating\n"a\rb",i1,4\nu1,i1,3\n')
    assert [b.kind for b in r.bad] == ["line break in a value"]
    assert "the user_id field holds a line break" in r.bad[0].reason
    assert r.frame["user_id"].tolist() == ["u1"]


def test_bad_records_of_both_kinds_come_in_line_order(tmp_path: Path) -> None:
    # r05: the field-count records put before _validate's, not sorted by line
    text = 'user_id,item_id,rating\n"u1",,4\nu2,i2,4,4\nu3,i3,x\nu4,i4\n'
    r = _load(tmp_path, text)
    assert _bad(r) == [
        (2, "empty item id"),
        (3, "wrong field count"),
        (4, "non-numeric rating"),
        (5, "wrong field count"),
    ]
    assert r.n_read == 4


# ----------------------------------------------------------------------- fast path
def test_blank_lines_at_the_top_count_in_the_line_numbers(tmp_path: Path) -> None:
    # r07 / r09: the fast path's line numbers without the blank lines above the header
    r = _load(tmp_path, "\n\nuser_id,item_id,rating\nu1,i1,4\nu2,i2,x\n")
    assert _bad(r) == [(5, "non-numeric rating")]
    r = _load(tmp_path, "user_id,item_id,rating\nu1,i1,4\nu2,i2,x\n")
    assert _bad(r) == [(3, "non-numeric rating")]


def test_problems_of_one_row_check_come_in_line_order_on_the_fast_path(tmp_path: Path) -> None:
    # r29: _validate's problems (user ids' before item ids') left unsorted
    r = _load(tmp_path, "user_id,item_id,rating\nu1,,4\n,i2,4\nu3,i3,4\n")
    assert _bad(r) == [(2, "empty item id"), (3, "empty user id")]


def test_quotes_in_a_file_are_read_as_quotes_not_kept_in_ids(tmp_path: Path) -> None:
    # r10: a file with quotes given to the C parser, which reads them as text
    r = _load(tmp_path, 'user_id,item_id,rating\n"u1",i1,4\nu2,"i,2",5\n')
    assert r.frame["user_id"].tolist() == ["u1", "u2"]
    assert r.frame["item_id"].tolist() == ["i1", "i,2"]
    assert r.bad == []


# --------------------------------------------------------------- one record a row
def test_a_row_of_two_bad_fields_is_one_bad_record(tmp_path: Path) -> None:
    # r11 / r12 / r23 / r28: a row already refused counted again for a later field
    good = "".join(f"u{k}\ti{k}\t4\t5\n" for k in range(900))  # NUL bytes past the binary check
    text = (
        "user_id\titem_id\trating\ttimestamp\n" + good + "\t\t4\t5\n"  # both ids empty
        "u\x00\ti\x00\t4\t5\n"  # both ids hold a NUL byte
        "\ti3\tx\t5\n"  # empty user and a bad rating
        "\ti4\t4\tsoon\n"  # empty user and a bad time
    )
    r = _load(tmp_path, text, name="t.tsv")
    assert _bad(r) == [
        (902, "empty user id"),
        (903, "NUL in user id"),
        (904, "empty user id"),
        (905, "empty user id"),
    ]
    assert len(r.frame) == 900 and r.n_read == 904


# ------------------------------------------------------------------------ ratings
def test_each_bad_rating_gets_its_own_kind_and_reason(tmp_path: Path) -> None:
    # r18: only ratings above float32's largest refused, not those below its lowest;
    # r19: a blank rating's kind; r20 / r21: 'NaN' and '-nan' not said to be no finite
    # number; r22: the decimal comma hint only for an unsigned number
    text = (
        "user_id;item_id;rating\nu1;i1;-4,5\nu2;i2;-1e39\nu3;i3;NaN\nu4;i4;-nan\nu5;i5;\nu6;i6;4\n"
    )
    r = _load(tmp_path, text)
    assert [(b.line, b.kind, b.reason) for b in r.bad] == [
        (
            2,
            "non-numeric rating",
            "rating '-4,5' is not a number (a decimal comma? write it with a dot: 4.5)",
        ),
        (3, "rating out of range", "rating '-1e39' is out of range (a rating is at most 3.4e38)"),
        (4, "non-numeric rating", "rating 'NaN' is not a finite number"),
        (5, "non-numeric rating", "rating '-nan' is not a finite number"),
        (6, "missing rating", "missing rating"),
    ]
    assert r.frame["rating"].tolist() == [4.0]


# ---------------------------------------------------------------------- timestamps
def test_a_number_in_a_column_of_dates_is_named_so(tmp_path: Path) -> None:
    # r24: a column of dates with a number in it taken for a column of numbers
    text = "user_id,item_id,timestamp\nu1,i1,2020-01-01\nu2,i2,2020-02-03\nu3,i3,1700000000\n"
    r = _load(tmp_path, text)
    assert [(b.line, b.reason) for b in r.bad] == [
        (
            4,
            "timestamp '1700000000' is a number in a column of dates (2 of 3 filled values; "
            "one kind per column)",
        )
    ]


def test_a_date_in_a_column_of_numbers_is_no_number(tmp_path: Path) -> None:
    # r25: an int64 overflow not named; r27: a date that fits the other day/month order
    # blamed on that order in a column of numbers, where no date is taken at all
    text = (
        "user_id,item_id,timestamp\nu1,i1,1700000000\nu2,i2,1700000001\n"
        "u3,i3,01/13/2020\nu4,i4,1e30\n"
    )
    r = _load(tmp_path, text)
    assert [(b.line, b.reason) for b in r.bad] == [
        (
            4,
            "timestamp '01/13/2020' is not a number (the column holds numbers: 3 of 4 filled "
            "values)",
        ),
        (5, "timestamp '1e30' is out of range (int64 seconds)"),
    ]
    assert r.frame["timestamp"].tolist() == [1700000000, 1700000001]


# ------------------------------------------------------------ ids joined by spaces
def test_ids_joined_by_spaces_name_three_groups_and_the_first_line(tmp_path: Path) -> None:
    # r31: the line of the last joined row given; r32 / r34: how many groups are shown
    # and how many more; r35: only the later spelling of each group shown
    text = (
        "user_id,item_id,rating\nz,i1,4\nb,i2,4\n a ,i1,4\na,i2,4\n b,i3,4\n"
        " c,i1,4\nc,i1,4\nd ,i1,4\nd,i1,3\n"
    )
    r = _load(tmp_path, text)
    assert [(w.line, w.kind, w.reason) for w in r.warnings] == [
        (
            3,
            "user ids joined",
            "4 user ids written with and without spaces around them ('b', ' b'; ' a ', 'a'; "
            "' c', 'c'; and 1 more): spaces around ids are dropped, so such spellings are one "
            "user",
        )
    ]


def test_a_spelling_only_on_a_refused_row_joins_nothing(tmp_path: Path) -> None:
    # r30: the spellings of rows refused for an empty user id looked at for items
    r = _load(tmp_path, "user_id,item_id,rating\n, i1 ,4\nu2,i1,4\nu3, i9 ,4\n")
    assert _bad(r) == [(2, "empty user id")]
    assert r.frame["item_id"].tolist() == ["i1", "i9"]
    assert r.warnings == []


def test_a_spelling_only_on_a_row_refused_later_joins_nothing(tmp_path: Path) -> None:
    # bug fixed: ' a ' on a row refused for its rating was said to be joined with 'a'
    # (at the refused row's line), as the ids were compared before the rating was read
    r = _load(tmp_path, "user_id,item_id,rating\n a ,i1,x\na,i2,4\n")
    assert _bad(r) == [(2, "non-numeric rating")]
    assert r.warnings == []
    r = _load(tmp_path, "user_id,item_id,rating\n a ,i1,3\na,i2,4\n")
    assert [(w.line, w.kind) for w in r.warnings] == [(2, "user ids joined")]


# ---------------------------------------------------------------- time units mixed
def _times(tmp_path: Path, *values: str) -> LoadResult:
    rows = "".join(f"u{k},i{k},{v}\n" for k, v in enumerate(values))
    return _load(tmp_path, "user_id,item_id,timestamp\n" + rows)


def test_seconds_start_at_one_hundred_million(tmp_path: Path) -> None:
    # r36: the seconds' lower bound 1e8 made 1e9 (1985's seconds taken for no unit)
    r = _times(tmp_path, "500000000", "1700000000000")
    assert [(w.line, w.kind) for w in r.warnings] == [(3, "timestamp units")]
    assert r.warnings[0].reason.startswith(
        "timestamp '1700000000000' looks like milliseconds (1 such value) where 1 look like seconds"
    )


def test_the_rarer_unit_is_named_at_its_first_line(tmp_path: Path) -> None:
    # r38: of two units equally rare, the larger named; r39: its last line, not its first;
    # r40: "2 such value"
    r = _times(
        tmp_path,
        "1700000000",
        "1700000001000000",
        "1700000002",
        "1700000003000",
        "1700000004000",
        "1700000005000000",
        "1700000006",
    )
    assert [(w.line, w.kind) for w in r.warnings] == [(5, "timestamp units")]
    assert r.warnings[0].reason.startswith(
        "timestamp '1700000003000' looks like milliseconds (2 such values) where 3 look like "
        "seconds"
    )


# ---------------------------------------------------------------- header repeated
def test_only_a_row_of_both_header_names_is_a_header_again(tmp_path: Path) -> None:
    # r14: a row holding either name taken for the header; r16: a user named like the
    # user column with any item taken for a header
    text = "a,b,rating\na,x,3\nx,b,3\na,a,4\na,b,5\nuser,foo,3\nfoo,item,3\n"
    r = _load(tmp_path, text, user_col="a", item_col="b")
    assert _bad(r) == [(5, "header repeated")]
    assert r.bad[0].reason == (
        "a header line again ('a', 'b'): files joined with cat? not an interaction"
    )
    assert list(zip(r.frame["user_id"], r.frame["item_id"], strict=True)) == [
        ("a", "x"),
        ("x", "b"),
        ("a", "a"),
        ("user", "foo"),
        ("foo", "item"),
    ]


def test_a_header_in_another_spelling_is_found_inside_the_table(tmp_path: Path) -> None:
    # r17: the user field looked up among the item names; c02 / c03 / c04: Unicode
    # spaces (no-break, next line, separators) and case not ignored in C as in Python
    text = (
        "userId,movieId,rating\nu1,i1,4\nuser_id,item_id,5\nUserID,ItemID,5\n"
        "user\xa0id,item\xa0id,3\nuser\x85id,item\x1cid,3\nuser,foo,3\n"
    )
    r = _load(tmp_path, text)
    assert _bad(r) == [(k, "header repeated") for k in (3, 4, 5, 6)]
    assert r.frame["user_id"].tolist() == ["u1", "user"]


def test_a_parquet_row_of_column_names_is_kept(tmp_path: Path) -> None:
    # r13: Parquet (whose names are no row) checked for a header line again
    p = tmp_path / "t.parquet"
    pd.DataFrame({"user_id": ["user", "u2"], "item_id": ["item", "i2"]}).to_parquet(p)
    r = load_interactions(p)
    assert r.bad == []
    assert r.frame["user_id"].tolist() == ["user", "u2"]


# -------------------------------------------------------------------- column names
@pytest.mark.parametrize(
    ("header", "kw", "user", "item"),
    [
        # c06: a name given exactly found by its spelling-free key (the first twin)
        ("UserID,user_id,item_id", {"user_col": "user_id"}, "b", "c"),
        # c14: a name given exactly refused for a twin in another spelling
        ("UserID,user_id,item_id", {"user_col": "UserID"}, "a", "c"),
        # c17: 'user' before the canonical 'user_id'
        ("user,user_id,item_id", {}, "b", "c"),
        # c18: an Amazon 2023 variant's asin before its product's parent_asin
        ("asin,parent_asin,user_id", {}, "c", "b"),
        # c20: an alias taking the role of a column named for it
        ("movie,item_id,user_id", {"item_col": "movie"}, "c", "a"),
        # c01: '.' in a name
        ("user.id,x,item.id", {}, "a", "c"),
    ],
)
def test_columns_are_matched_by_name_then_alias(
    tmp_path: Path, header: str, kw: dict[str, str], user: str, item: str
) -> None:
    r = _load(tmp_path, f"{header}\na,b,c\n", **kw)
    assert (r.frame["user_id"].tolist(), r.frame["item_id"].tolist()) == ([user], [item])


def test_a_shop_time_column_is_read_only_when_the_time_is_needed(tmp_path: Path) -> None:
    # c09: created_at read on every load (a blank one then costs its row)
    text = "user_id,item_id,created_at\na,i1,\nb,i2,2020-01-01\n"
    r = _load(tmp_path, text)
    assert r.bad == [] and "timestamp" not in r.frame.columns
    assert r.unread_columns == ["created_at"]
    r = _load(tmp_path, text, ids_only=True, keep_time=True)
    assert _bad(r) == [(2, "bad timestamp")]
    # c10: a shop's name taken before the canonical 'timestamp'
    text = "user_id,item_id,created_at,timestamp\na,i1,2020-01-01,5\n"
    r = _load(tmp_path, text, ids_only=True, keep_time=True)
    assert r.frame["timestamp"].tolist() == [5]


def test_twins_of_a_column_not_read_are_no_error(tmp_path: Path) -> None:
    # c15: the twin check run on columns an ids_only load does not read
    r = _load(tmp_path, "user_id,item_id,rating,Rating\na,b,1,2\n", ids_only=True)
    assert r.frame.columns.tolist() == ["user_id", "item_id"]
    with pytest.raises(
        VisrecError, match=r"names the rating column more than once \('rating', 'Rating'\)"
    ):
        _load(tmp_path, "user_id,item_id,rating,Rating\na,b,1,2\n")


def test_a_header_with_a_number_among_names_gets_the_rename_advice(tmp_path: Path) -> None:
    # c11: "looks like data" said where a column was found by its name
    with pytest.raises(VisrecError) as e:
        _load(tmp_path, "user_id,5,3\na,b,c\n")
    assert "rename that column in the header to item_id" in str(e.value)
    assert "looks like data" not in str(e.value)
    # c07: a header that is only partly numbers is no headerless first line
    with pytest.raises(VisrecError) as e:
        _load(tmp_path, "name,5,item_id\na,b,c\n", user_col="foo")
    assert str(e.value) == f"{tmp_path / 't.csv'}: no column 'foo' (columns: name, 5, item_id)"
    # c05: ... and one of numbers with a decimal point is
    with pytest.raises(VisrecError, match="the first line looks like data, not a header"):
        _load(tmp_path, "1,5,4.5\na,b,c\n", user_col="foo")
