"""Odd ids pushed through the readers (an outside audit): a first line of a candidates
or users file that looks like a header, numbers and text that are one id as text,
missing or blank ids on the vectors side, ids that are no UTF-8, and respelling notes
that would point at another real item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.commands._recs_inputs import read_candidates, read_users
from visrec.data.id_spelling import respelt
from visrec.data.interactions import Interactions
from visrec.data.tables import load_interactions
from visrec.embed.extract import embed_images
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError


def test_a_header_like_first_id_is_skipped_with_a_note_and_kept_when_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "c.txt"
    p.write_text("Product\nmovie\ni1\n")
    assert read_candidates(str(p)) == ["movie", "i1"]
    assert (
        f"note: {p}:1: 'Product' taken for a header and skipped; if it is an id, quote it "
        '("Product")' in capsys.readouterr().err
    )
    p.write_text('"Product"\nmovie\n')
    assert read_candidates(str(p)) == ["Product", "movie"]
    u = tmp_path / "u.txt"
    u.write_text('"customer"\nu1\n')
    assert [i for i, _ in read_users(str(u))] == ["customer", "u1"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("lines", ["item_id\nB1\n", 'asin\n"B1"\n"B2"\n'])
def test_the_quote_hint_is_given_only_where_quoting_keeps_the_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: str
) -> None:
    # the canonical name, or a file whose other lines are all quoted: quoted, the first
    # line is still a header, so the note does not tell the user to quote it
    p = tmp_path / "c.txt"
    p.write_text(lines)
    read_candidates(str(p))
    err = capsys.readouterr().err
    assert "taken for a header and skipped" in err and "quote it" not in err
    first, rest = lines.split("\n", 1)
    p.write_text(f'"{first}"\n{rest}')
    assert read_candidates(str(p))[0] != first  # quoting it would not have kept it


@pytest.mark.parametrize("pair", [(7, "7"), (b"abc", "abc")])
def test_a_number_and_a_text_that_are_one_id_are_refused(pair: tuple[object, str]) -> None:
    frame = pd.DataFrame(
        {"user_id": ["u1", "u1", "u2"], "item_id": pd.Series([*pair, "x"], dtype=object)}
    )
    with pytest.raises(VisrecError, match=r"column 'item_id': ids .* are both the id"):
        Interactions.from_frame(frame)


def test_numbers_of_two_types_with_one_value_are_one_id() -> None:
    frame = pd.DataFrame(
        {"user_id": ["u1", "u2", "u3"], "item_id": pd.Series([7, np.int64(7), 8], dtype=object)}
    )
    assert list(Interactions.from_frame(frame).item_map.ids) == ["7", "8"]


@pytest.mark.parametrize(
    "ids",
    [
        ["a", None, "b"],
        ["a", float("nan"), "b"],
        pd.Series(["a", pd.NA, "b"], dtype="string"),
        ["a", " ", "b"],
        np.array([1.0, np.nan, 3.0]),
        # iterables read once: a generator, a dict's keys
        (i for i in ["a", " ", "b"]),
        {"a": 1, None: 2, "c": 3}.keys(),
    ],
)
def test_vectors_refuse_a_missing_or_blank_id(ids: object) -> None:
    with pytest.raises(VisrecError, match=r"position 1\) is missing or blank"):
        ItemVectors(ids, np.zeros((3, 2), np.float32), np.ones(3, bool))


def test_vectors_take_ids_from_a_generator_or_a_dicts_keys() -> None:
    for ids in ((i for i in ["a", "b"]), {"a": 0, "b": 1}.keys()):
        iv = ItemVectors(ids, np.zeros((2, 2), np.float32), np.ones(2, bool))
        assert list(iv.ids) == ["a", "b"]


def test_vectors_keep_ids_that_only_look_missing() -> None:
    iv = ItemVectors(["nan", "None", "NA"], np.zeros((3, 2), np.float32), np.ones(3, bool))
    assert list(iv.ids) == ["nan", "None", "NA"]


@pytest.mark.parametrize("bad", [None, float("nan"), "  "])
def test_embed_images_refuses_a_missing_id_before_any_work(tmp_path: Path, bad: object) -> None:
    with pytest.raises(VisrecError, match=r"items\[0\]: item id .* is (missing|blank)"):
        embed_images({bad: tmp_path / "a.jpg"}, tmp_path / "v.parquet", progress=False)
    assert not (tmp_path / "v.parquet").exists()


def test_an_id_that_is_no_utf8_is_one_line(tmp_path: Path) -> None:
    # a lone surrogate (a file name's undecodable byte): no Parquet file can hold it
    with pytest.raises(VisrecError, match="is not valid UTF-8 text"):
        ItemVectors(["u\ud800", "x"], np.zeros((2, 2), np.float32), np.ones(2, bool))


def test_a_respelling_prefers_a_spelling_that_is_no_item_of_its_own() -> None:
    assert respelt(["7"], ["007", "07"], taken=["7", "007"]) == [("7", "07")]
    # when the only spelling is one, it is still named (the file spells one item twice)
    assert respelt(["003"], ["3"], taken=["3", "003"]) == [("003", "3")]


def test_a_quoted_id_with_a_line_break_says_no_id_can_hold_one(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text('user_id,item_id\nu1,"a\nb"\nu2,c\n')
    res = load_interactions(p)
    assert res.frame["item_id"].tolist() == ["c"]
    assert "holds a line break, which no id" in res.bad[0].reason


def test_a_quoted_name_heads_a_file_of_quoted_ids(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    pd.DataFrame({"asin": ["B01", "0012"]}).to_csv(p, index=False, quoting=1)
    assert read_candidates(str(p)) == ["B01", "0012"]


def test_embed_images_refuses_an_id_that_is_no_one_id(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match=r"items\[0\]: item id \('a', 'b'\) is a tuple"):
        embed_images([(("a", "b"), tmp_path / "a.jpg")], tmp_path / "v.parquet", progress=False)


def test_embed_images_spells_ids_as_the_vectors_do(tmp_path: Path) -> None:
    from visrec.embed.extract import _normalise_items

    items = [(7.0, "a.jpg"), (8.5, "b.jpg"), (np.array(9.0), "c.jpg")]
    spelt = [i for i, _ in _normalise_items(items)]
    raw = [7.0, 8.5, 9.0]
    assert spelt == list(ItemVectors(raw, np.zeros((3, 2), np.float32), np.ones(3, bool)).ids)
    assert spelt == ["7.0", "8.5", "9.0"]


def test_a_one_line_quoted_id_file_keeps_its_id(tmp_path: Path) -> None:
    p = tmp_path / "c.txt"
    p.write_text('"Product"\n')
    assert read_candidates(str(p)) == ["Product"]
