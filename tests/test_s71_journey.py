"""A small shop's walk through visrec (session 71): the rough edges it hit.

- ``--images`` of ``cluster`` / ``similar`` given the `visrec fetch` cache whose manifest
  ``fetch -o`` wrote elsewhere: the report showed grey tiles with no word of the
  manifest, which holds the item ids.
- ``recommend --unknown-users popular`` with candidates nobody took in training (the new
  products): the new users' lists were an arbitrary order scored -inf, while the note
  said they got "the candidates most taken in training".
- ``demo --data`` on a shop folder: ``items.csv`` keyed by ``sku`` was refused ("no id
  column 'item_id'") while its ``interactions.csv`` keyed by ``sku`` was read.
- ``similar vectors.parquet 17570`` where the ids are ``SKU-17570``: "not in the vectors
  file", with no word of the id that ends in it.
- ``recommend --items`` with new products that none of the lists took (visual-cf ranks
  them below what people bought): nothing said so, nor that ``--new-slots`` keeps places.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_recommend_users import model_dir as model_dir
from test_s69_s69new_mutants import _cache
from test_train_recommend_cli import _train
from test_train_recommend_cli import files as files
from visrec.cli import main
from visrec.embed.store import ItemVectors, read_vectors, write_vectors


def test_a_fetch_cache_without_its_manifest_names_the_manifest_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands._common import scan_photos

    cache = _cache(tmp_path, ["shoe", "bag", "hat"], [], manifest=False)
    scan_photos(str(cache), str(tmp_path / "r.html"), {})
    err = capsys.readouterr().err
    assert f"{cache} looks like a visrec fetch cache: 3 of 3 files" in err
    assert "--images MANIFEST.csv" in err


def test_a_folder_named_by_id_says_nothing_of_a_fetch_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands._common import scan_photos

    cache = _cache(tmp_path, [], ["shoe", "bag"], manifest=False)
    assert sorted(scan_photos(str(cache), str(tmp_path / "r.html"), {}) or {}) == ["bag", "shoe"]
    assert "fetch cache" not in capsys.readouterr().err


def _popular(model_dir: Path, tmp_path: Path, cands: list[str], n: int) -> list[float]:
    """The scores of the list of a new user, given the candidates ``cands``."""
    users, items = tmp_path / "users.txt", tmp_path / "cands.txt"
    users.write_text("u1\nnewbie\n")
    items.write_text("".join(f"{c}\n" for c in cands))
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(model_dir), "-o", str(out), "--n", str(n), "--quiet"]
    assert (
        main([*argv, "--users", str(users), "--items", str(items), "--unknown-users", "popular"])
        == 0
    )
    got = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    return list(got.loc[got["user_id"] == "newbie", "score"])


def test_popular_lists_of_only_new_candidates_say_they_are_unranked(
    model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    scores = _popular(model_dir, tmp_path, ["new1", "new2", "new3"], 2)
    assert scores == [float("-inf")] * 2
    err = capsys.readouterr().err
    assert (
        "none of the 3 candidates was taken in training, so the new users' lists are in a "
        "seeded random order (score -inf)"
    ) in err


def test_popular_lists_say_how_many_candidates_end_them_unranked(
    model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    scores = _popular(model_dir, tmp_path, ["i0", "new1", "new2", "new3"], 3)
    assert scores[1:] == [float("-inf")] * 2 and scores[0] > 0
    err = capsys.readouterr().err
    assert "only 1 of the 4 candidates was taken in training" in err
    assert "end with 2 candidates in a seeded random order" in err


def test_popular_lists_of_taken_candidates_add_no_note(
    model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    scores = _popular(model_dir, tmp_path, ["i0", "i1", "i2", "new1"], 3)
    assert all(s > 0 for s in scores)
    assert "seeded random order" not in capsys.readouterr().err


def _shop_folder(tmp_path: Path, header: str) -> Path:
    """A generic demo folder: items.csv under ``header`` (id, category) and two photos."""
    from PIL import Image

    (tmp_path / "images").mkdir()
    for sku in ("SKU-1", "SKU-2"):
        Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "images" / f"{sku}.jpg")
    (tmp_path / "items.csv").write_text(f"{header}\nSKU-1,Shoes,x\nSKU-2,Bags,y\n")
    return tmp_path


def test_demo_reads_a_shops_items_table_by_its_sku_column(tmp_path: Path) -> None:
    # the orders' 'sku' is taken for the item: the catalogue's is too
    from visrec.demo.datasets import load_demo_dataset

    ds = load_demo_dataset(_shop_folder(tmp_path, "sku,category,name"))
    assert ds.layout == "generic"
    assert ds.labels == {"SKU-1": "Shoes", "SKU-2": "Bags"}


def test_demo_prefers_an_item_id_column_and_names_it_when_none_is_there(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset
    from visrec.errors import VisrecError

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    folder = _shop_folder(tmp_path / "a", "sku,category,item_id")
    assert load_demo_dataset(folder).labels == {"x": "Shoes", "y": "Bags"}
    with pytest.raises(VisrecError, match="no id column 'item_id'"):
        load_demo_dataset(_shop_folder(tmp_path / "b", "code,category,name"))


@pytest.mark.parametrize(
    ("asked", "hint"),
    [
        ("17570", " (it has 'SKU-17570': ids are compared whole)"),
        ("7570", ""),  # a part of the number: no id ends in it after a separator
        ("Blue", ""),  # no id ends in it
    ],
)
def test_an_id_asked_without_the_shops_prefix_names_the_prefixed_one(asked: str, hint: str) -> None:
    from small_vectors import item_vectors
    from visrec.errors import VisrecError
    from visrec.search.knn import SimilarItems

    index = SimilarItems(item_vectors(["SKU-17570", "SKU-2"], [[1, 0], [0, 1]]))
    with pytest.raises(VisrecError) as err:
        index.query(asked)
    assert str(err.value) == f"unknown item id {asked!r}: not in the vectors file{hint}"


def test_several_prefixed_ids_are_all_named_a_few_at_most() -> None:
    from small_vectors import item_vectors
    from visrec.errors import VisrecError
    from visrec.search.knn import SimilarItems

    ids = ["A-7", "B-7", "C/7", "D_7", "E7"]
    index = SimilarItems(item_vectors(ids, [[1, 0]] * 5))
    with pytest.raises(VisrecError) as err:
        index.query("7")
    assert str(err.value).endswith("(it has 'A-7', 'B-7', 'C/7', ...: ids are compared whole)")


def test_recommend_says_when_no_new_candidate_made_any_list(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a shop's 20 new products among its 300: visual-cf scores them from their photos,
    # yet none reaches a top 10 and nothing said so, nor that --new-slots is the way
    folder = _train(files, tmp_path, "visual-cf")
    # 'new' looks like no group: what its picture predicts is below each user's best
    iv = read_vectors(files["vectors"])
    arr = np.array(iv.vectors)
    arr[list(iv.ids).index("new")] = 0.05
    write_vectors(tmp_path / "v2.parquet", ItemVectors(iv.ids, arr, iv.has_image))
    cands = tmp_path / "mixed.txt"
    cands.write_text("\n".join([f"m{i}" for i in range(12)] + ["new"]) + "\n")
    out = tmp_path / "recs.csv"
    said: dict[tuple[int, int], bool] = {}
    errs: dict[tuple[int, int], str] = {}
    for n, slots in [(1, 0), (2, 0), (13, 0), (1, 1)]:
        capsys.readouterr()
        argv = ["recommend", str(folder), "--n", str(n), "--items", str(cands), "-o", str(out)]
        argv += ["--vectors", str(tmp_path / "v2.parquet")]
        assert main([*argv, "--new-slots", str(slots), "--quiet"]) == 0
        err = errs[n, slots] = capsys.readouterr().err
        said[n, slots] = "the only candidate unseen in training is in no list" in err
        has_new = "new" in set(pd.read_csv(out, dtype=str)["item_id"])
        assert said[n, slots] == (not has_new), (n, slots, err)
    assert said[1, 0] and not said[13, 0] and not said[1, 1], said
    assert (
        "note: the only candidate unseen in training is in no list: a new item's score is what "
        "its picture alone predicts, and the items people took rank above it; --new-slots K "
        "keeps K places of each list for the best-scored new items"
    ) in errs[1, 0]
