"""Session 51: ids and labels written with a dash that looks like '-', labels with a
zero-width character, and ``visrec similar`` on an id in two Unicode forms."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from small_vectors import item_vectors
from visrec.cli import main
from visrec.commands._labels import read_label_table
from visrec.data.id_spelling import id_notes, respelt, respelt_hint
from visrec.embed.store import write_vectors

# hyphen, non-breaking hyphen, figure/en/em dash, horizontal bar, minus sign, small and
# full-width hyphen-minus: what a word processor or a web page writes for a typed '-'
DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\ufe63", "\uff0d"]
NFC, NFD = "caf\u00e9", "cafe\u0301"


@pytest.mark.parametrize("dash", DASHES)
def test_an_id_written_with_a_dash_that_looks_like_hyphen_is_noticed(dash: str) -> None:
    odd = f"A{dash}007"
    frame = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["A-007", odd]})
    assert id_notes(frame) == [
        f"1 item id written with '-' and with a dash that looks like it ('A-007', "
        f"{odd!a}); each spelling is a different item, as written"
    ]
    # an unmatched id that is a known one with a plain '-': the hint names it, as escapes
    # (printed as they are, the two would read alike)
    pairs = respelt([odd, "B-1"], ["A-007", "B-2"])
    assert pairs == [(odd, "A-007")]
    assert respelt_hint(pairs, "the model") == (
        f"; 1 of them is in the model spelt otherwise ({odd!a} as 'A-007'): ids are "
        "compared as written"
    )
    # one spelling only, or two that a reader tells apart: nothing to say
    assert id_notes(pd.DataFrame({"user_id": ["u"], "item_id": [odd]})) == []
    assert respelt(["A_007"], ["A-007"]) == []


def test_label_notes_find_what_id_notes_find(tmp_path: Path) -> None:
    table = tmp_path / "items.csv"
    # 'Beauty' pasted with a zero-width space, 'Sci-Fi' with a non-breaking hyphen: four
    # categories a table or a plot shows as two
    table.write_text(
        "item_id,category\na,Beauty\nb,Beauty\u200b\nc,Sci-Fi\nd,Sci\u2011Fi\ne,Toys\n",
        encoding="utf-8",
    )
    _, labels, notes = read_label_table(str(table), "item_id", "category")
    assert labels.nunique() == 5  # kept as written: two labels each
    assert notes == [
        f"{table}: 1 label written with and without a character that prints as nothing "
        "('Beauty', 'Beauty\\u200b'): two labels, as written; write it one way",
        f"{table}: 1 label written with '-' and with a dash that looks like it "
        "('Sci-Fi', 'Sci\\u2011Fi'): two labels, as written; write it one way",
    ]


def test_similar_says_an_id_in_another_unicode_form_alike_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    # the vectors hold 'café' as macOS writes file names (NFD); the label table and the
    # photo folder as typed (NFC)
    vpath, page, imgs, table = (
        tmp_path / "v.parquet",
        tmp_path / "s.html",
        tmp_path / "imgs",
        tmp_path / "t.csv",
    )
    write_vectors(vpath, item_vectors([NFD, "b"], [[1.0, 0.0], [0.9, 0.1]]))
    table.write_text(f"item_id,title\n{NFC},Cafe\nb,Bee\n", encoding="utf-8")
    imgs.mkdir()
    for i in (NFC, "b"):
        Image.new("RGB", (8, 8), (200, 0, 0)).save(imgs / f"{i}.jpg")
    argv = ["similar", str(vpath), NFD, "--n", "1", "--report", str(page), "--images"]
    labelled = ["--labels", str(table), "--id-col", "item_id", "--label-col", "title"]
    assert main([*argv, str(imgs), *labelled]) == 0
    err = capsys.readouterr().err
    hint = "; 1 of them is in it spelt otherwise ('cafe\\u0301' as 'caf\\xe9')"
    # the photo note says what the label note says: the same id, the other form
    assert f"note: 1 of the 2 items shown has no 'title' in {table} ('{NFD}'){hint}" in err
    assert f"note: 1 of the 2 items shown has no image in {imgs} and shows as grey " in err
    assert f"grey tiles: '{NFD}'{hint}: ids are compared as written\n" in err
    assert hint.replace("'", "&#x27;") in page.read_text(encoding="utf-8")
    # asked in the other form: the error shows both as escapes, not as one word twice
    assert main(["similar", str(vpath), NFC]) == 2
    assert capsys.readouterr().err == (
        f"error: {vpath}: unknown item id 'caf\\xe9': not in the vectors file (it has "
        "'cafe\\u0301'; ids are compared as written)\n"
    )


def test_label_notes_count_every_group_and_list_the_first_three(tmp_path: Path) -> None:
    # kills: "; and N more" counting all groups, or listing only the first group
    table = tmp_path / "items.csv"
    rows = [f"{k}{i},Cat{k}\u2011{i}\n{k}{i}x,Cat{k}-{i}\n" for k in "abcd" for i in (1,)]
    table.write_text("item_id,category\n" + "".join(rows), encoding="utf-8")
    _, _, notes = read_label_table(str(table), "item_id", "category")
    assert notes == [
        f"{table}: 4 labels written with '-' and with a dash that looks like it "
        "('Cata\\u20111', 'Cata-1'; 'Catb\\u20111', 'Catb-1'; 'Catc\\u20111', 'Catc-1'; "
        "and 1 more): two labels, as written; write each one way"
    ]


def test_similar_unknown_long_id_is_named_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the error's ids cut to 40 characters (shown_pair's show= ignored or dropped)
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, item_vectors(["7", "8"], [[1.0, 0.0], [0.0, 1.0]]))
    padded = "0" * 50 + "7"
    assert main(["similar", str(vpath), padded]) == 2
    assert capsys.readouterr().err == (
        f"error: {vpath}: unknown item id '{padded}': not in the vectors file (it has '7'; "
        "ids are compared as written)\n"
    )
