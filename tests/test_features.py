"""``visrec features``: an item table's attributes as vectors (visrec.data.item_features
and visrec.commands.features), on small generated tables and MovieLens' u.item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.item_features import (
    OTHER,
    encode,
    feature_names,
    fit_encoding,
    parse_columns,
)
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError

ML = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-100k-posters"


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d", "e", "f"],
            "colour": ["red", "blue", "red", "", "green", "red"],
            "tags": ["x|y", "y", "", "x", "z|x", "y"],
            "price": ["10", "20", "", "40", "50", "60"],
            "released": ["2001-01-01", "2002-07-02", "2003-01-01", "", "2004-01-01", "2005-01-01"],
        }
    )


def test_each_kind_is_encoded_as_documented() -> None:
    frame = _table()
    codes = fit_encoding(frame, parse_columns("colour,tags,price,released"))
    assert [c.kind for c in codes] == ["category", "multi", "number", "date"]
    # most common first, then by name
    assert codes[0].levels == ["red", "blue", "green"] and codes[1].levels == ["x", "y", "z"]
    x = encode(frame, codes)
    names = feature_names(codes)
    assert x.shape == (6, len(names)) and x.dtype == np.float32
    col = {n: x[:, j] for j, n in enumerate(names)}
    # a category: one flag per value, an empty cell all zeros
    assert (col["colour=red"] > 0).tolist() == [True, False, True, False, False, True]
    assert not any(col[f"colour={v}"][3] for v in ("red", "blue", "green"))
    # multi: every listed value
    assert (col["tags=x"] > 0).tolist() == [True, False, False, True, True, False]
    assert (col["tags=z"] > 0).tolist() == [False, False, False, False, True, False]
    # a number: standardised over the cells that have one, a missing flag, deciles
    price = np.array([10, 20, 40, 50, 60], float)
    z = (price - price.mean()) / price.std()
    scale = codes[2].scale / 2.0  # four columns: each block over sqrt(4)
    np.testing.assert_allclose(col["price"][[0, 1, 3, 4, 5]], z * scale, rtol=1e-5)
    assert col["price"][2] == 0
    np.testing.assert_allclose(col["price:missing"], [0, 0, scale, 0, 0, 0], rtol=1e-6)
    assert all(n.startswith("price>=") for n in names if "price>" in n)
    # a date: its year with the fraction
    assert codes[3].lo == pytest.approx(2001.0) and codes[3].hi == pytest.approx(2005.0)
    assert col["released:year"][1] > col["released:year"][0]
    # every column has the same say: mean squared row norm 1/4 per block, 1 in all
    assert float((x.astype(float) ** 2).sum(axis=1).mean()) == pytest.approx(1.0, rel=1e-5)


def test_a_value_the_fit_did_not_see_is_other_or_nothing() -> None:
    frame = pd.DataFrame({"c": [f"v{i % 4}" for i in range(12)], "t": ["a|b"] * 12})
    codes = fit_encoding(frame, [("c", None), ("t", None)], max_levels=3)
    assert codes[0].levels == ["v0", "v1", "v2", OTHER]  # v3 is beyond the 3 kept
    later = pd.DataFrame({"c": ["v9", "v0"], "t": ["q", "b|q"]})
    x = encode(later, codes)
    names = feature_names(codes)
    assert x[0, names.index(f"c={OTHER}")] > 0 and x[0, names.index("c=v0")] == 0
    assert not x[0, names.index("t=a")] and not x[0, names.index("t=b")]  # q: no column
    assert x[1, names.index("t=b")] > 0


def test_the_kind_is_guessed_and_a_title_is_refused() -> None:
    frame = pd.DataFrame(
        {
            "month": ["May", "June", "May", "July"],  # words: not dates of this year
            "n": ["1", "2.5", "3", "4"],
            "when": ["01/02/2001", "2002-03-04", "2003", "1999-12-31"],
            "title": [f"film {i}" for i in range(4)],
        }
    )
    kinds = [c.kind for c in fit_encoding(frame, [("month", None), ("n", None), ("when", None)])]
    assert kinds == ["category", "number", "date"]
    with pytest.raises(VisrecError, match=r"column 'title' has 4 distinct values in 4 rows"):
        fit_encoding(frame, [("title", None)], max_levels=2)
    with pytest.raises(VisrecError, match=r"column 'month': 4 values are not a number"):
        fit_encoding(frame, [("month", "number")])


def test_parse_columns() -> None:
    assert parse_columns("a, b:multi ,c:d") == [("a", None), ("b", "multi"), ("c:d", None)]
    with pytest.raises(VisrecError, match="named twice"):
        parse_columns("a,a:category")
    with pytest.raises(VisrecError, match="an empty column name"):
        parse_columns("a,,b")


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "items.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_the_command_writes_a_vectors_file_others_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = _csv(tmp_path, _table())
    out = tmp_path / "f.parquet"
    rc = main(["features", str(items), "--columns", "colour,tags,price", "-o", str(out)])
    said = capsys.readouterr().out
    assert rc == 0
    assert said.startswith(f"wrote {out}: 6 items x ") and "colour: category, 3 levels" in said
    iv = read_vectors(out)
    assert list(iv.ids) == ["a", "b", "c", "d", "e", "f"] and iv.has_image.all()
    assert iv.meta["backbone"] == "item-features"
    assert iv.meta["feature_names"][:3] == ["colour=red", "colour=blue", "colour=green"]
    assert iv.vectors.shape == (6, len(iv.meta["feature_names"]))
    assert len(iv.meta["preprocessing"]["item_features"]) == 12


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--columns", "size"], "no column 'size' to encode (columns: colour, tags, price"),
        (["--columns", "item_id"], "no column 'item_id' to encode"),
        ([], "give --columns (which attributes to encode) or --like"),
        (["--columns", "colour", "--weight", "2"], "--weight weighs the attributes against"),
        (["--columns", "colour", "--max-levels", "0"], "--max-levels must be at least 1, got 0"),
        (["--columns", "colour", "--like", "x.parquet"], "--columns and --like both say"),
    ],
)
def test_bad_options_are_one_line_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    items = _csv(tmp_path, _table())
    out = tmp_path / "f.parquet"
    assert main(["features", str(items), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def _images(tmp_path: Path) -> Path:
    ids = ["a", "b", "c", "g", "h"]
    vec = np.arange(1, 21, dtype=np.float32).reshape(5, 4)
    has = np.array([True, True, False, True, False])
    path = tmp_path / "img.parquet"
    write_vectors(path, ItemVectors(np.asarray(ids), vec, has, {"backbone": "tiny"}))
    return path


def test_next_to_image_vectors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = _csv(tmp_path, _table())
    img = _images(tmp_path)
    out = tmp_path / "both.parquet"
    argv = ["features", str(items), "--columns", "colour", "--vectors", str(img), "-o", str(out)]
    assert main([*argv, "--weight", "2"]) == 0
    said = capsys.readouterr().out
    assert "4 of the table's items have no image" in said  # c (flag off), d, e, f
    assert "1 item with an image is not in the table" in said  # g; h has no image
    iv = read_vectors(out)
    assert list(iv.ids) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    # d has neither an image nor a colour: a row of zeros, no vector (as everywhere)
    assert iv.has_image.tolist() == [True, True, True, False, True, True, True, False]
    assert iv.meta["backbone"] == "tiny+item-features" and iv.vectors.shape == (8, 4 + 3)
    # the image part at RMS row norm 1 over a, b, g; the table's part times --weight
    rows = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [13, 14, 15, 16]], float)
    scale = 1 / np.sqrt((rows**2).sum(axis=1).mean())
    np.testing.assert_allclose(iv.vectors[[0, 1, 6], :4], rows * scale, rtol=1e-5)
    assert not iv.vectors[2:6, :4].any() and not iv.vectors[6, 4:].any()
    alone = encode(pd.read_csv(items, dtype=str, keep_default_na=False),
                   fit_encoding(pd.read_csv(items, dtype=str), [("colour", None)]))  # fmt: skip
    np.testing.assert_allclose(iv.vectors[:6, 4:], 2 * alone, rtol=1e-5)


def test_like_encodes_new_items_the_same_way_and_models_tell_encodings_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    n = 40
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n)],
            "kind": rng.choice(["shoe", "bag", "hat"], n),
            "price": rng.integers(5, 100, n).astype(str),
        }
    )
    old, new = items.iloc[:30], items.iloc[30:]
    first = tmp_path / "f.parquet"
    assert main(["features", str(_csv(tmp_path, old)), "--columns", "kind,price", "-o",
                 str(first)]) == 0  # fmt: skip
    later = tmp_path / "new.parquet"
    new_csv = _csv(tmp_path, new, "new.csv")
    assert main(["features", str(new_csv), "--like", str(first), "-o", str(later)]) == 0
    a, b = read_vectors(first), read_vectors(later)
    assert a.meta["preprocessing"] == b.meta["preprocessing"]
    assert a.meta["item_features"] == b.meta["item_features"]
    again = encode(new, fit_encoding(old, [("kind", None), ("price", None)]))
    np.testing.assert_allclose(b.vectors, again, rtol=1e-6)
    # refitted on the new rows alone: another encoding, and a model trained on the first
    # refuses it, though of the same width
    refit = tmp_path / "refit.parquet"
    assert main(["features", str(new_csv), "--columns", "kind,price", "-o", str(refit)]) == 0
    assert read_vectors(refit).vectors.shape[1] == a.vectors.shape[1]
    train = tmp_path / "train.csv"
    pd.DataFrame(
        [(f"u{u}", f"i{(u * 7 + k) % 30}") for u in range(20) for k in range(4)],
        columns=["user_id", "item_id"],
    ).to_csv(train, index=False)
    model = tmp_path / "m"
    fast = ["--param=epochs=2", "--param=factors=4"]
    assert main(["train", "--model", "visual-cf", "--interactions", str(train), "--vectors",
                 str(first), "-o", str(model), *fast]) == 0  # fmt: skip
    cands = tmp_path / "cands.txt"
    cands.write_text("i0\ni31\ni32\n")
    capsys.readouterr()
    recs = tmp_path / "recs.csv"
    base = ["recommend", str(model), "--n", "3", "-o", str(recs), "--items", str(cands)]
    assert main([*base, "--vectors", str(later)]) == 0
    got = pd.read_csv(recs, dtype=str)
    assert set(got["item_id"]) >= {"i31", "i32"}
    assert main([*base, "--vectors", str(refit)]) == 2
    assert "other weights or preprocessing" in capsys.readouterr().err


def test_like_with_another_image_backbone_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = _csv(tmp_path, _table())
    img = _images(tmp_path)
    first = tmp_path / "both.parquet"
    argv = ["features", str(items), "--vectors", str(img)]
    assert main([*argv, "--columns", "colour", "-o", str(first)]) == 0
    other = tmp_path / "other.parquet"
    iv = read_vectors(img)
    write_vectors(other, ItemVectors(iv.ids, iv.vectors, iv.has_image, {"backbone": "big"}))
    out = tmp_path / "new.parquet"
    rc = main(["features", str(items), "--vectors", str(other), "--like", str(first), "-o",
               str(out)])  # fmt: skip
    assert rc == 2 and "'big+item-features', the --like file holds 'tiny+item-features'" in (
        capsys.readouterr().err
    )
    assert main(["features", str(items), "--like", str(first), "-o", str(out)]) == 2
    assert "made with image vectors: give --vectors too" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.skipif(not (ML / "u.item").exists(), reason="../shared/data MovieLens absent")
def test_movielens_genres_and_release_date(tmp_path: Path) -> None:
    out = tmp_path / "ml.parquet"
    assert main(["features", str(ML / "u.item"), "--columns", "genres,release_date", "-o",
                 str(out)]) == 0  # fmt: skip
    iv = read_vectors(out)
    names = iv.meta["feature_names"]
    assert len(iv) == 1682 and names[0] == "genres=Drama"  # the most common genre
    assert sum(n.startswith("genres=") for n in names) == 19
    assert "release_date:missing" in names  # one film has no date
    star_wars = iv.vectors[list(iv.ids).index("50")]
    assert (
        star_wars[names.index("genres=Sci-Fi")] > 0 and not star_wars[names.index("genres=Drama")]
    )


def test_evaluate_on_attribute_vectors_speaks_of_attributes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # items of kind "hit" are what every user takes: attributes alone find them cold
    n_items = 40
    kind = ["hit" if i % 4 == 0 else "dud" for i in range(n_items)]
    items = _csv(tmp_path, pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                                         "kind": kind}))  # fmt: skip
    feats = tmp_path / "f.parquet"
    assert main(["features", str(items), "--columns", "kind", "-o", str(feats)]) == 0
    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{i}") for u in range(30) for i in range(n_items)
            if rng.random() < (0.8 if kind[i] == "hit" else 0.05)]  # fmt: skip
    inter = tmp_path / "inter.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(inter, index=False)
    capsys.readouterr()
    report = tmp_path / "r.html"
    fast = ["--param", "visual-cf.epochs=3", "--param", "visual-cf.factors=4"]
    argv = ["evaluate", "--interactions", str(inter), "--vectors", str(feats), "--protocol",
            "cold-items", "--models", "popularity,visual-cf", "--seeds", "2", *fast,
            "--report", str(report)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\ndo attributes help here?\n" in out and "Best with attributes: visual-cf" in out
    assert "pictures" not in out.partition("do attributes help here?")[2]
    page = report.read_text()
    assert "Do attributes help here?" in page and "item-features" in page


@pytest.mark.parametrize(
    ("made_by", "said"),
    [
        (None, "the best of 2 picture models; Best with pictures: vbpr"),
        ("efficientnet-lite0", "the best of 2 picture models; Best with pictures: vbpr"),
        ("item-features", "the best of 2 models with attributes; Best with attributes: vbpr"),
        (
            "efficientnet-lite0+item-features",
            "the best of 2 models with pictures and attributes; Best with pictures and "
            "attributes: vbpr",
        ),
    ],
)
def test_the_verdict_names_what_the_vectors_describe(made_by: str | None, said: str) -> None:
    from visrec.report.verdict import in_words_of

    inputs = {} if made_by is None else {"vectors made by": made_by}
    line = "the best of 2 picture models; Best with pictures: vbpr"
    assert in_words_of({"inputs": inputs}, line) == said
