"""Similar items by image vector: exact cosine neighbours (visrec.search.knn, visrec similar)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.search.knn import SimilarItems, similar_items


@pytest.fixture
def vectors() -> ItemVectors:
    # a, b, c on the unit circle at 0, 10 and 90 degrees; d opposite a; e has no image;
    # f is scaled a (cosine 1 with a, so it must rank first for a despite its length).
    deg = np.radians
    rows = [
        [1.0, 0.0],
        [math.cos(deg(10)), math.sin(deg(10))],
        [0.0, 1.0],
        [-1.0, 0.0],
        [0.0, 0.0],
        [5.0, 0.0],
    ]
    return ItemVectors(
        ids=np.array(["a", "b", "c", "d", "e", "f"], dtype=object),
        vectors=np.array(rows, dtype=np.float32),
        has_image=np.array([True, True, True, True, False, True]),
        meta={"backbone": "test"},
    )


def test_neighbours_in_cosine_order_without_self(vectors: ItemVectors) -> None:
    (res,) = similar_items(vectors, ["a"], n=3)
    assert res.query == "a"
    assert res.ids == ["f", "b", "c"]
    np.testing.assert_allclose(res.scores, [1.0, math.cos(math.radians(10)), 0.0], atol=1e-6)


def test_item_without_image_is_neither_indexed_nor_returned(vectors: ItemVectors) -> None:
    index = SimilarItems(vectors)
    assert len(index) == 5
    (res,) = index.query(["c"], n=10)
    # everything but c itself and e (no image); d is at 90 degrees like a and f -> ties
    # keep store order
    assert res.ids == ["b", "a", "d", "f"]
    assert "e" not in res.ids and "c" not in res.ids
    np.testing.assert_allclose(res.scores[1:], [0.0, 0.0, 0.0], atol=1e-6)
    assert res.scores[0] == pytest.approx(math.sin(math.radians(10)), abs=1e-6)


def test_opposite_vector_is_last(vectors: ItemVectors) -> None:
    (res,) = similar_items(vectors, ["d"], n=4)
    assert res.ids[-1] in ("a", "f")
    assert res.scores[-1] == pytest.approx(-1.0, abs=1e-6)


def test_several_queries_keep_order(vectors: ItemVectors) -> None:
    out = similar_items(vectors, ["b", "a"], n=1)
    assert [r.query for r in out] == ["b", "a"]
    assert [r.ids for r in out] == [["a"], ["f"]]  # a and f tie for b; a comes first


def test_unknown_id_is_named(vectors: ItemVectors) -> None:
    with pytest.raises(VisrecError, match="'zz'"):
        similar_items(vectors, ["a", "zz"], n=2)


def test_item_without_image_is_an_error(vectors: ItemVectors) -> None:
    with pytest.raises(VisrecError, match="'e' has no usable image"):
        similar_items(vectors, ["e"], n=2)


def test_item_with_a_nan_vector_is_neither_indexed_nor_queryable(vectors: ItemVectors) -> None:
    vecs = vectors.vectors.copy()
    vecs[1, 0] = np.nan  # b
    bad = ItemVectors(ids=vectors.ids, vectors=vecs, has_image=vectors.has_image)
    (res,) = similar_items(bad, ["a"], n=10)
    assert "b" not in res.ids and np.isfinite(res.scores).all()
    with pytest.raises(VisrecError, match=r"'b' has no usable image .*not finite"):
        similar_items(bad, ["b"], n=2)


def test_n_must_be_positive(vectors: ItemVectors) -> None:
    with pytest.raises(VisrecError, match=r"^n must be positive, got 0$"):
        similar_items(vectors, ["a"], n=0)


def test_cli_prints_and_writes_json(
    vectors: ItemVectors, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, vectors)
    out = tmp_path / "sim.json"
    assert main(["similar", str(vpath), "a", "c", "--n", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "5 of 6 items have an image" in printed
    assert "items most like a:" in printed
    data = json.loads(out.read_text())
    assert [d["item_id"] for d in data] == ["a", "c"]
    assert [n["item_id"] for n in data[0]["neighbours"]] == ["f", "b"]
    assert data[0]["neighbours"][0]["rank"] == 1
    assert data[0]["neighbours"][0]["score"] == pytest.approx(1.0, abs=1e-6)


def test_cli_report_with_a_folder_holding_none_of_the_photos(
    vectors: ItemVectors, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --images was given: the page must not tell the reader to give it
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, vectors)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "zz.png").write_bytes(b"not these items")
    page = tmp_path / "sim.html"
    argv = ["similar", str(vpath), "a", "--report", str(page), "--images", str(tmp_path / "imgs")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "holds no <item_id>.<ext> image of the items shown" in err
    text = page.read_text(encoding="utf-8")
    assert "give --images DIR" not in text
    assert "holds no &lt;item_id&gt;.&lt;ext&gt; image of these items" in text


def test_cli_explains_an_empty_neighbour_list(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    # "a" is the only item with an image: nothing to compare with, and the output says so
    iv = ItemVectors(
        ids=np.array(["a", "b"], dtype=object),
        vectors=np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32),
        has_image=np.array([True, False]),
    )
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, iv)
    assert main(["similar", str(vpath), "a"]) == 0
    printed = capsys.readouterr().out
    assert "1 of 2 items has an image" in printed
    assert "items most like a:\n  (none: no other item in the file has a usable image" in printed


def test_cli_unknown_id_exit_2(
    vectors: ItemVectors, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, vectors)
    assert main(["similar", str(vpath), "nope"]) == 2
    assert capsys.readouterr().err == (
        f"error: {vpath}: unknown item id 'nope': not in the vectors file\n"
    )
    numbered = tmp_path / "n.parquet"
    vecs = np.eye(2, dtype=np.float32)
    write_vectors(numbered, ItemVectors(np.asarray(["7", "8"]), vecs, np.ones(2, bool)))
    assert main(["similar", str(numbered), "007"]) == 2
    assert capsys.readouterr().err == (
        f"error: {numbered}: unknown item id '007': not in the vectors file (it has '7'; "
        "ids are compared as written)\n"
    )


def test_real_fashion_neighbours_share_category(shared_data, tmp_path) -> None:
    """On 3 real product photos per kind, a shoe's nearest neighbours are shoes."""
    import pandas as pd

    from visrec.embed.extract import embed_images

    folder = shared_data / "fashion-products"
    styles = pd.read_csv(folder / "styles.csv")
    picks = []
    for cat in ("Footwear", "Apparel", "Accessories"):
        ids = styles.loc[styles.masterCategory == cat, "id"].astype(str).tolist()[:4]
        picks += [(i, cat) for i in ids]
    items = {i: folder / "images" / f"{i}.jpg" for i, _ in picks}
    iv = embed_images(items, None, progress=False).vectors
    cat_of = dict(picks)
    shoes = [i for i, c in picks if c == "Footwear"]
    for res in similar_items(iv, shoes, n=2):
        assert [cat_of[i] for i in res.ids] == ["Footwear", "Footwear"], res


def test_has_image_false_row_is_never_indexed_even_with_a_nonzero_vector() -> None:
    # "b" has a stale, non-zero vector but has_image False: never a neighbour
    iv = ItemVectors(
        ids=["a", "b", "c"],
        vectors=np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]], dtype=np.float32),
        has_image=[True, False, True],
    )
    index = SimilarItems(iv)
    assert len(index) == 2
    (res,) = index.query("a", n=5)
    assert res.ids == ["c"]


def test_nan_row_without_image_is_not_named_as_not_finite() -> None:
    # a has_image=False row is left out for having no image, not for its NaN
    iv = ItemVectors(
        ids=["a", "b", "c"],
        vectors=np.array([[1.0, 0.0], [np.nan, 0.0], [0.0, 1.0]], dtype=np.float32),
        has_image=[True, False, True],
    )
    assert SimilarItems(iv).not_finite_.tolist() == []


def test_similar_cli_ranks_start_at_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    iv = ItemVectors(
        ids=["a", "b", "c"],
        vectors=np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]], dtype=np.float32),
        has_image=[True, True, True],
    )
    write_vectors(tmp_path / "v.parquet", iv)
    assert main(["similar", str(tmp_path / "v.parquet"), "a", "--n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("items most like a:")
    assert lines[at + 1].split() == ["1", "b", f"{1 / math.sqrt(1.01):.3f}"]
    assert lines[at + 2].split() == ["2", "c", "0.000"]


def _label_files(vectors: ItemVectors, tmp_path: Path, table_text: str) -> tuple[Path, Path]:
    """``v.parquet`` holding ``vectors`` and ``items.csv`` holding ``table_text``."""
    vpath, table = tmp_path / "v.parquet", tmp_path / "items.csv"
    write_vectors(vpath, vectors)
    table.write_text(table_text)
    return vpath, table


def test_cli_labels_are_shown_beside_the_ids(
    vectors: ItemVectors, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # c has no title; a line break in d's would cut the listing: escaped
    vpath, table = _label_files(
        vectors, tmp_path, 'sku,title\na,Red shirt\nb,Red dress\nd,"dark\nnight"\nf,Big red\n'
    )
    out, page = tmp_path / "s.json", tmp_path / "s.html"
    argv = ["similar", str(vpath), "a", "--n", "3", "--labels", str(table), "--id-col", "sku",
            "--label-col", "title", "--json", str(out), "--report", str(page)]  # fmt: skip
    assert main(argv) == 0
    got = capsys.readouterr()
    lines = got.out.splitlines()
    assert "items most like a (Red shirt):" in lines
    rows = [ln.split(maxsplit=3) for ln in lines if ln.startswith("    ")]
    assert rows == [["1", "f", "1.000", "Big red"], ["2", "b", "0.985", "Red dress"],
                    ["3", "c", "0.000"]]  # c has no label: nothing after the score  # fmt: skip
    assert f"note: 1 of the 4 items shown has no 'title' in {table} ('c')" in got.err
    data = json.loads(out.read_text())
    assert data[0]["item_id"] == "a" and data[0]["label"] == "Red shirt"
    assert [(n["item_id"], n["label"]) for n in data[0]["neighbours"]] == [
        ("f", "Big red"), ("b", "Red dress"), ("c", None)
    ]  # fmt: skip
    html = page.read_text()
    assert "items most like a (Red shirt)" in html and "Big red · 1. cosine 1.000" in html
    labels = ["--labels", str(table), "--id-col", "sku", "--label-col", "title"]
    assert main(["similar", str(vpath), "d", *labels]) == 0
    assert "items most like d ('dark\\nnight'):" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--label-col", "title"], "error: --label-col goes with --labels TABLE, which is missing"),
        (["--id-col", "a", "--label-col", "t"], "--id-col and --label-col go with --labels TABLE"),
        (
            ["--labels", "items.csv", "--label-col", "t"],
            "error: --labels needs --id-col: the column",
        ),
        (["--labels", "items.csv", "--id-col", "sku", "--label-col", "colour"], "colour"),
    ],
)
def test_cli_labels_options_are_checked_before_the_search(
    vectors: ItemVectors,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    write_vectors(tmp_path / "v.parquet", vectors)
    (tmp_path / "items.csv").write_text("sku,title\na,Red shirt\n")
    flags = [str(tmp_path / f) if f == "items.csv" else f for f in flags]
    assert main(["similar", str(tmp_path / "v.parquet"), "a", *flags]) == 2
    got = capsys.readouterr()
    assert message in got.err and got.out == ""


def test_cli_labels_say_ids_spelt_otherwise_and_keep_unicode_spaces(
    vectors: ItemVectors, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # f's title holds a no-break space (text, not escaped); b is 'B' in the table
    vpath, table = _label_files(
        vectors, tmp_path, "sku,title\na,Red shirt\nB,Red dress\nf,Big\u00a0red\nc,\n"
    )
    argv = ["similar", str(vpath), "a", "--n", "2", "--labels", str(table), "--id-col", "sku",
            "--label-col", "title"]  # fmt: skip
    assert main(argv) == 0
    got = capsys.readouterr()
    assert "    1  f                        1.000  Big\u00a0red" in got.out.splitlines()
    assert (
        f"note: 1 of the 3 items shown has no 'title' in {table} ('b'); 1 of them is in "
        "it spelt otherwise ('b' as 'B'): ids are compared as written"
    ) in got.err
