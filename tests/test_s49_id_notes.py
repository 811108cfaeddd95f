"""Session 49: label-spelling notes in ``visrec demo`` as in ``visrec cluster``; ids
that differ by a zero-width character; an id pasted back as a listing showed it;
merge-variants links no items through a review without text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.commands._labels import read_label_table
from visrec.data.id_spelling import id_notes, respelt, respelt_hint
from visrec.demo.datasets import load_demo_dataset
from visrec.embed.store import ItemVectors, write_vectors


def test_demo_says_of_its_labels_what_cluster_says(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    (root / "images").mkdir(parents=True)
    # 'Café' typed and as macOS writes it: two labels that print alike
    (root / "items.csv").write_text(
        "item_id,category\na,Drama\nb,Caf\u00e9\nc,Cafe\u0301\n", encoding="utf-8"
    )
    for i in "abc":
        (root / "images" / f"{i}.jpg").write_bytes(b"")
    ds = load_demo_dataset(root)
    _, _, cluster_notes = read_label_table(str(root / "items.csv"), "item_id", "category")
    assert cluster_notes == [
        f"{root / 'items.csv'}: 1 label written in two Unicode forms that print alike "
        "('Caf\\xe9', 'Cafe\\u0301'): two labels, as written; write it one way"
    ]
    # the same line, the file named as the demo names its files
    assert [n for n in ds.notes if "1 label " in n] == [
        cluster_notes[0].replace(str(root / "items.csv"), "items.csv")
    ]


@pytest.mark.parametrize("zw", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060"])
def test_ids_differing_by_a_zero_width_character_get_a_note(zw: str) -> None:
    frame = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["sku7", f"sku{zw}7"]})
    assert id_notes(frame) == [
        f"1 item id written with and without a character that prints as nothing "
        f"('sku7', {'sku' + zw + '7'!a}); each spelling is a different item, as written"
    ]
    assert respelt([f"sku{zw}7", "other"], ["sku7"]) == [(f"sku{zw}7", "sku7")]
    # one spelling only: nothing written two ways
    assert id_notes(pd.DataFrame({"user_id": [f"u{zw}1"], "item_id": [f"x{zw}y"]})) == []


def test_an_id_pasted_as_a_listing_showed_it_gets_a_hint() -> None:
    pairs = respelt(["'a\\tb'", '"it\'s"', "'nope'"], ["a\tb", "it's", "zz"])
    assert pairs == [("'a\\tb'", "a\tb"), ('"it\'s"', "it's")]
    assert respelt_hint(pairs[:1], "the model") == (
        "; 1 of them is in the model spelt otherwise (\"'a\\\\tb'\" as 'a\\tb'): ids are "
        "compared as written; notes and listings show an id as Python writes it (in quotes, "
        "a tab or line break in it escaped): pass the id itself"
    )


def test_similar_with_an_id_pasted_as_shown_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vpath = tmp_path / "v.parquet"
    ids = np.asarray(["a\tb", "c"], dtype=object)
    write_vectors(vpath, ItemVectors(ids, np.eye(2, dtype=np.float32), np.ones(2, bool)))
    assert main(["similar", str(vpath), "'a\\tb'"]) == 2
    assert capsys.readouterr().err == (
        f"error: {vpath}: unknown item id \"'a\\\\tb'\": not in the vectors file (did you "
        "mean the id shown as 'a\\tb'? notes and listings show an id as Python writes it "
        "(in quotes, a tab or line break in it escaped): pass the id itself)\n"
    )
    assert main(["similar", str(vpath), "a\tb", "--n", "1"]) == 0  # the id itself is found


def test_recommend_users_file_with_an_id_pasted_as_shown_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.parquet"
    rows = [(u, i) for u in ("u\tx", "v", "w") for i in ("i1", "i2", "i3")]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_parquet(train)
    m = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(m)]
    assert main([*argv, "--quiet"]) == 0
    users = tmp_path / "users.txt"
    users.write_text("v\n'u\\tx'\n")
    out = str(tmp_path / "r.csv")
    assert main(["recommend", str(m), "-o", out, "--users", str(users), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "line 2: user \"'u\\\\tx'\" is not a user the model was trained on" in err
    assert "(\"'u\\\\tx'\" as 'u\\tx'): ids are compared as written; notes and listings" in err


def test_recommend_items_file_with_an_id_pasted_as_shown_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.parquet"
    rows = [(u, i) for u in ("u", "v", "w") for i in ("i\tx", "i2", "i3")]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_parquet(train)
    m = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(m)]
    assert main([*argv, "--quiet"]) == 0
    items = tmp_path / "items.txt"
    items.write_text("i2\n'i\\tx'\n")
    out = str(tmp_path / "r.csv")
    assert main(["recommend", str(m), "-o", out, "--items", str(items), "--quiet"]) == 0
    assert capsys.readouterr().err.startswith(
        f"note: {items}: 1 candidate unseen in training may be a training item spelt "
        "otherwise (\"'i\\\\tx'\" as 'i\\tx'); ids are compared as written, so it is a new "
        "item here; notes and listings show an id as Python writes it (in quotes, a tab or "
        "line break in it escaped): pass the id itself\n"
    )
