"""Ids compared as written, and said so: a whole number spelt two ways ('086' / '86',
'150.0' / '150'), ids other tools read as missing ('NA'), a latin-1 training file, and
users whose list is shorter than --n."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.id_spelling import (
    examples,
    missing_words,
    respelt,
    respelt_hint,
    spelt_two_ways,
)
from visrec.embed.store import ItemVectors, write_vectors

FAST = ["--param=epochs=3", "--param=factors=4", "--param=batch_size=16"]


def test_respelt_pairs_whole_numbers_first() -> None:
    missing = ["086", "150.0", " 7 ", "+9", "A-007", "0.5", "000", "12"]
    reference = ["86", "150", "7", "9", "A-7", "0", "x"]
    assert respelt(missing, reference) == [
        ("086", "86"),
        ("150.0", "150"),
        (" 7 ", "7"),
        ("+9", "9"),
        ("000", "0"),
    ]
    assert respelt(["abc", "12"], reference) == []  # nothing number-like to look up
    hint = respelt_hint(respelt(["086", "150.0"], reference), "v.parquet")
    assert hint == (
        "; 2 of them are in v.parquet spelt otherwise ('086' as '86', '150.0' as '150'): "
        "ids are compared as written"
    )
    assert respelt_hint([], "v.parquet") == ""


def test_respelt_finds_letter_case_unicode_form_and_image_extensions() -> None:
    reference = ["SKU-017087", "Et\u00e9", "SKU-015736", "0042"]
    missing = ["sku-017087", "Ete\u0301", "SKU-015736.JPG", " sku-015736 ", "42", "zzz"]
    assert respelt(missing, reference) == [
        ("sku-017087", "SKU-017087"),
        ("Ete\u0301", "Et\u00e9"),  # as macOS writes a file name (NFD) vs typed (NFC)
        ("SKU-015736.JPG", "SKU-015736"),
        (" sku-015736 ", "SKU-015736"),
        ("42", "0042"),  # the number, as before
    ]
    # two Unicode forms print alike: the note shows their code points
    assert examples(respelt(["Ete\u0301"], reference)) == "'Ete\\u0301' as 'Et\\xe9'"
    # nothing is renamed: the lookup still tells the ids apart
    assert respelt(["SKU-017087"], reference) == []


def test_spelt_two_ways_groups_and_missing_words() -> None:
    groups = spelt_two_ways(["7", "007", "7.0", "8", "A-007", "A-7", "70", "9"])
    assert groups == (1, [["7", "007", "7.0"]])
    assert spelt_two_ways(["1", "2", "10", "A-007"]) == (0, [])  # plain spellings only
    # zero-padded SKUs used consistently are no group; the count goes past the shown
    assert spelt_two_ways([f"{i:05d}" for i in range(50)]) == (0, [])
    n, shown = spelt_two_ways([*(f"{i:03d}" for i in range(10)), *(str(i) for i in range(5))])
    assert n == 5 and shown == [["000", "0"], ["001", "1"], ["002", "2"]]
    assert missing_words(["a", "NA", "null", "None2", "nan"]) == ["NA", "null", "nan"]


@pytest.fixture()
def shop(tmp_path: Path) -> dict[str, Path]:
    """Ten users x items 1..8 written plain, vectors keyed the same."""
    rows = [(u, 1 + (u + k) % 8) for u in range(10) for k in range(3)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    ids = np.asarray([str(i) for i in range(1, 11)])  # 9 and 10 are unseen in training
    vec = np.random.default_rng(0).normal(size=(len(ids), 4)).astype(np.float32)
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(ids, vec, np.ones(len(ids), bool)))
    return {"train": train, "vectors": vectors, "dir": tmp_path}


def _train(shop: dict[str, Path], model: str, train: Path | None = None) -> Path:
    out = shop["dir"] / f"m_{model}"
    argv = ["train", "--model", model, "--interactions", str(train or shop["train"])]
    if model != "popularity":
        argv += ["--vectors", str(shop["vectors"]), *FAST]
    assert main([*argv, "-o", str(out)]) == 0
    return out


def _padded(shop: dict[str, Path], also: tuple[str, str] | None = None) -> Path:
    """The training file with items 3 and 4 written '003', '004' (plus row ``also``)."""
    padded = shop["dir"] / "padded.csv"
    frame = pd.read_csv(shop["train"], dtype=str)
    frame.loc[frame.item_id.isin(["3", "4"]), "item_id"] = frame.item_id.str.zfill(3)
    if also is not None:
        frame.loc[len(frame)] = list(also)
    frame.to_csv(padded, index=False)
    return padded


def test_train_names_zero_padded_ids_found_in_vectors(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    padded = _padded(shop)
    capsys.readouterr()
    _train(shop, "visual-cf", padded)
    err = capsys.readouterr().err
    # a warning: a likely mistake (the model has no pictures for them), not a photo gap
    assert re.search(r"^warning: .+: 2 of 8 training items have no image vector", err, re.M)
    assert "2 of them are in the vectors file spelt otherwise ('003' as '3', '004' as '4')" in err


def test_train_refusal_names_the_other_spelling(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    floats = shop["dir"] / "floats.csv"
    frame = pd.read_csv(shop["train"], dtype=str)
    frame["item_id"] = frame.item_id + ".0"
    frame.to_csv(floats, index=False)
    argv = ["train", "--model", "vbpr", "--interactions", str(floats)]
    argv += ["--vectors", str(shop["vectors"]), "-o", str(shop["dir"] / "m"), *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "none of the 8 training items is in it" in err
    assert (
        "8 of them are in it spelt otherwise ('1.0' as '1', '2.0' as '2', '3.0' as '3', ...)" in err
    )


def test_train_notes_one_number_spelt_two_ways_and_missing_words(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = shop["dir"] / "mixed.csv"
    mixed.write_text("user_id,item_id\n1,7\n1,007\n2,7.0\nNA,7\n3,null\n")
    _train(shop, "popularity", mixed)
    err = capsys.readouterr().err
    assert (
        f"note: {mixed}: 1 item id spelt in more than one way ('7', '007', '7.0'); "
        "each spelling is a different item, as written"
    ) in err
    assert f"note: {mixed}: user id that other tools read as a missing value is kept" in err
    assert "('NA')" in err and "('null')" in err
    assert "user id spelt" not in err and "user ids spelt" not in err


def test_recommend_says_candidates_are_training_items_spelt_otherwise(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = _train(shop, "visual-cf")
    cands = shop["dir"] / "c.txt"
    cands.write_text("1.0\n2.0\n3.0\n")  # training items 1-3, none has a vector so spelt
    recs = shop["dir"] / "r.csv"
    capsys.readouterr()
    assert main(["recommend", str(model), "--n", "3", "-o", str(recs), "--items", str(cands)]) == 0
    err = capsys.readouterr().err
    assert (
        f"note: {cands}: 3 candidates unseen in training may be training items spelt "
        "otherwise ('1.0' as '1', '2.0' as '2', '3.0' as '3'); ids are compared as "
        "written, so they are new items here"
    ) in err
    assert "warning: no candidate can be scored" in err
    # the spelling is named once, not again in the note on missing vectors
    assert err.count("'1.0' as '1'") == 1
    # a candidate that is scored keeps the warning away
    cands.write_text("1.0\n9\n")
    assert main(["recommend", str(model), "--n", "2", "-o", str(recs), "--items", str(cands)]) == 0
    err = capsys.readouterr().err
    assert "1 candidate unseen in training may be a training item spelt otherwise" in err
    assert "warning" not in err
    assert set(pd.read_csv(recs, dtype=str).groupby("user_id").item_id.first()) == {"9"}


def test_recommend_counts_users_with_short_lists(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = _train(shop, "popularity")
    cands = shop["dir"] / "c.txt"
    cands.write_text("1\n2\n3\n4\n")
    recs = shop["dir"] / "r.csv"
    capsys.readouterr()
    assert main(["recommend", str(model), "--n", "3", "-o", str(recs), "--items", str(cands)]) == 0
    out = capsys.readouterr().out
    got = pd.read_csv(recs, dtype=str).groupby("user_id").size()
    train = pd.read_csv(shop["train"], dtype=str)
    left = {u: 4 - len(set(g.item_id) & {"1", "2", "3", "4"}) for u, g in train.groupby("user_id")}
    short = sum(0 < n < 3 for n in left.values())
    assert short > 0  # the fixture must have some
    assert (got.reindex(list(left)).fillna(0) == [min(3, n) for n in left.values()]).all()
    assert (
        f"({short} users with fewer than 3 candidates left once their training items are "
        "out: shorter lists)"
    ) in out
    # fewer candidates than --n: every list is short by construction, and the summary's
    # candidate count says so (counting users there told nothing, on every small shop)
    cands.write_text("1\n2\n")
    assert main(["recommend", str(model), "--n", "3", "-o", str(recs), "--items", str(cands)]) == 0
    out = capsys.readouterr().out
    assert "from 2 candidates" in out and "shorter lists" not in out


def test_latin1_training_file_is_said_to_be_read_as_windows_1252(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    latin = shop["dir"] / "latin.csv"
    latin.write_bytes("user_id,item_id\n1,a\n2,caf\u00e9\n".encode("latin-1"))
    out = _train(shop, "popularity", latin)
    err = capsys.readouterr().err
    assert (
        f"{latin}:3: not valid UTF-8 (first here), so the whole file is read as "
        "Windows-1252 (latin-1); its ids with accents are written out as UTF-8"
    ) in err
    recs = shop["dir"] / "r.csv"
    assert main(["recommend", str(out), "--n", "2", "-o", str(recs)]) == 0
    assert "café" in recs.read_text(encoding="utf-8")
    # an accent only in a column that is not an id changes no id: no warning
    titled = shop["dir"] / "titled.csv"
    titled.write_bytes("user_id,item_id,title\n1,a,x\n2,b,caf\u00e9\n".encode("latin-1"))
    _train(shop, "popularity", titled)
    assert "Windows-1252" not in capsys.readouterr().err


def test_evaluate_notes_ids_spelt_otherwise(
    shop: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # evaluate ran on the rest without a word: the padded items (often the popular,
    # low-numbered ones) were items without a picture
    padded = _padded(shop, also=("0", "3"))  # and one of them spelt both ways
    argv = ["evaluate", "--interactions", str(padded), "--vectors", str(shop["vectors"])]
    capsys.readouterr()
    assert main([*argv, "--models", "popularity", "--seeds", "1", "--quiet"]) == 0
    got = capsys.readouterr()
    assert (
        f"note: {shop['vectors']}: 2 of the 9 items of {padded} have no image vector; 2 of "
        "them are in it spelt otherwise ('003' as '3', '004' as '4'): ids are compared as "
        "written, and they count as items without a picture"
    ) in got.err
    assert f"note: {padded}: 1 item id spelt in more than one way ('003', '3')" in (
        got.out + got.err
    )


def test_a_fractional_float_id_alone_is_not_its_integer_part() -> None:
    # 8.5 is item "8.5", never item "8"
    from visrec.data.id_spelling import find_ids, spell_ids

    assert spell_ids(8.5) == ["8.5"]
    assert find_ids({"8": 0, "8.5": 1}, 8.5) == [1]
    iv = ItemVectors(ids=["8", "8.5"], vectors=np.eye(2, dtype=np.float32), has_image=[1, 0])
    assert iv.has_image_for(8.5).tolist() == [False]
