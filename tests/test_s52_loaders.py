"""Session 52, interaction-table loaders: a NUL byte past the start a binary check
reads, a separator at every line's end, and behaviour a mutation audit of the loaders
(separator sniffing, blank lines, line numbers, time columns) found no test pinning."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.data.tables import load_interactions


def _rows(n: int, sep: str = ",") -> str:
    return "".join(f"{i}{sep}{i}{sep}3\n" for i in range(n))


@pytest.mark.parametrize(
    ("name", "sep", "quoted"), [("r.tsv", "\t", False), ("r.csv", ",", False), ("q.csv", ",", True)]
)
def test_a_nul_byte_past_the_sniffed_start_is_a_bad_record_naming_its_line(
    tmp_path: Path, name: str, sep: str, quoted: bool
) -> None:
    # 8 KiB of clean rows first: the binary check reads no further
    head = f"user_id{sep}item_id{sep}rating\n" + ('"u"' + f"{sep}i{sep}1\n" if quoted else "")
    body = _rows(2000, sep)
    p = tmp_path / name
    p.write_bytes((head + body + f"5\x006{sep}7{sep}3\n8{sep}9{sep}4\n").encode())
    res = load_interactions(p)
    line = head.count("\n") + 2001
    assert [(b.line, b.kind) for b in res.bad] == [(line, "NUL in user id")]
    assert str(res.bad[0]) == (
        f"{p}:{line}: user id '5\\x006' holds a NUL byte, which no id can (a damaged file?)"
    )
    assert not res.frame["user_id"].str.contains("\x00").any()
    assert res.frame["user_id"].iloc[-1] == "8"


def test_a_nul_byte_in_an_item_id_of_a_parquet_file_is_a_bad_row(tmp_path: Path) -> None:
    import pandas as pd

    p = tmp_path / "r.parquet"
    pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x\x00", "y"]}).to_parquet(p)
    res = load_interactions(p)
    assert res.frame["item_id"].tolist() == ["y"]
    assert [(b.line, b.kind) for b in res.bad] == [(1, "NUL in item id")]
    assert res.bad[0].reason.startswith("row 1: item id 'x\\x00' holds a NUL byte")


def test_a_separator_at_each_line_end_is_said_in_the_field_count_reason(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,rating\n1,2,3,\n2,3,4, ,\n3,4,5,x\n")
    res = load_interactions(p)
    assert [str(b) for b in res.bad] == [
        f"{p}:2: expected 3 fields, got 4 (the extra field empty: a separator at the end "
        "of the line?)",
        f"{p}:3: expected 3 fields, got 5 (the extra fields empty: a separator at the end "
        "of the line?)",
        f"{p}:4: expected 3 fields, got 4",
    ]


def test_a_csv_is_split_at_commas_even_when_its_first_line_holds_a_tab(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,note\t(free text)\nu1,i1,a\tb\n")
    res = load_interactions(p)
    assert res.formats[str(p)].endswith("sep ','")
    assert res.frame[["user_id", "item_id"]].values.tolist() == [["u1", "i1"]]
    q = tmp_path / "r.txt"  # no .csv suffix: a tab in the first line wins
    q.write_text("user_id\titem_id\tnote,x\nu1\ti1\ta,b\n")
    assert load_interactions(q).formats[str(q)].endswith("sep '\\t'")


def test_ids_joined_by_their_spaces_are_named_in_every_spelling(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id\nsp,1\n sp ,2\nother,3\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["sp", "sp", "other"]
    [note] = res.warnings
    assert (note.line, note.kind) == (2, "user ids joined")
    assert note.reason == (
        "1 user id written with and without spaces around it ('sp', ' sp '): spaces "
        "around ids are dropped, so such spellings are one user"
    )


def test_a_file_named_u_data_is_headerless_whatever_its_ids(tmp_path: Path) -> None:
    p = tmp_path / "u.data"
    p.write_text("u1\ti1\t3\t881250949\nu2\ti2\t4\t881250950\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["u1", "u2"]
    assert res.formats == {str(p): "MovieLens u.data, sep '\\t'"}


def test_a_headerless_tab_table_of_three_fields_is_not_called_u_data(tmp_path: Path) -> None:
    p = tmp_path / "r.tsv"
    p.write_text("1\t2\t3\n4\t5\t1\n")
    res = load_interactions(p)
    assert res.formats == {str(p): "headerless table, sep '\\t'"}
    assert res.frame["rating"].tolist() == [3.0, 1.0]


def test_a_header_with_one_number_among_names_gets_the_rename_advice(tmp_path: Path) -> None:
    from visrec.data.tables import NoIdColumnError

    p = tmp_path / "r.csv"
    p.write_text("user_id,product_name,2024\nu,x,1\n")
    with pytest.raises(NoIdColumnError, match=r"rename that column in the header to item_id") as e:
        load_interactions(p)
    assert "looks like data" not in str(e.value)


def test_a_line_of_spaces_in_a_ratings_dat_is_blank(tmp_path: Path) -> None:
    p = tmp_path / "ratings.dat"
    p.write_text("1::2::3::881250949\n   \n4::5::1::881250950\n")
    res = load_interactions(p)
    assert res.bad == []
    assert res.frame["user_id"].tolist() == ["1", "4"]


def test_a_rating_beyond_float32_is_out_of_range_not_kept(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,rating\nu,i,1e39\nv,j,4\n")
    res = load_interactions(p)
    assert [(b.line, b.kind) for b in res.bad] == [(2, "rating out of range")]
    assert res.frame["rating"].tolist() == [4.0]


def test_movielens_era_seconds_beside_milliseconds_are_a_units_warning(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,timestamp\na,1,881250949\nb,2,891717742\nc,3,881250949000\n")
    res = load_interactions(p)
    [note] = res.warnings
    assert (note.line, note.kind) == (4, "timestamp units")
    assert note.reason.startswith(
        "timestamp '881250949000' looks like milliseconds (1 such value) where 2 look like seconds"
    )


def test_a_headerless_column_of_numbers_alone_is_refused_naming_line_one(tmp_path: Path) -> None:
    from visrec.errors import VisrecError

    p = tmp_path / "r.csv"
    p.write_text("196\n186\n")
    with pytest.raises(VisrecError) as e:
        load_interactions(p)
    assert str(e.value) == (
        f"{p} line 1: a headerless table needs 2-4 fields (user item [rating [timestamp]]), got 1"
    )
